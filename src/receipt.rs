//! Receipts for an operation, in the cashier's language: plain text lines (for the screen and
//! a text file) and the same lines as ESC/POS bytes for a thermal receipt printer, with a QR
//! code of a payment link where there is one; and the two ways the bytes reach a printer
//! (`[printer]` device = a device file, or tcp = a network printer's raw port).
//!
//! Nothing here reads the journal or a provider: the caller hands over the [`Operation`].
//! Only what may be shown is printed: the customer as the journal keeps it (a UPay card is
//! already masked there), the provider's reference through [`Operation::shown_ref`] (a
//! CardToken by its ends), never a secret. Printing is blocking I/O with a timeout: a screen
//! calls [`print`] off its loop (the worker, or `spawn_blocking`).
//!
//! One file, past 500 lines: a receipt's text, its file and its ESC/POS bytes are one
//! format, written once.

use std::io::Write;
use std::net::{TcpStream, ToSocketAddrs};
use std::path::{Path, PathBuf};
use std::time::Duration;

use chrono::{FixedOffset, Offset, TimeZone};
use escpos::driver::Driver;
use escpos::printer::Printer;
use escpos::printer_options::PrinterOptions;
use escpos::utils::{PageCode, Protocol, QRCodeCorrectionLevel, QRCodeModel, QRCodeOption};

use crate::config::{PaperWidth, PrinterSettings, PrinterTarget, Settings};
use crate::i18n::{Lang, t, tf};
use crate::journal::{Operation, State};

/// How long a network printer may take to accept the connection and the bytes.
pub const PRINT_TIMEOUT: Duration = Duration::from_secs(5);

/// Characters in a line of the receipt font (Font A, 12 dots wide) on each paper.
pub fn chars_per_line(paper: PaperWidth) -> usize {
    match paper {
        PaperWidth::Mm58 => 32,
        PaperWidth::Mm80 => 48,
    }
}

/// Printable dots in a line (203 dpi heads: 48 mm and 72 mm of print width).
fn dots_per_line(paper: PaperWidth) -> usize {
    match paper {
        PaperWidth::Mm58 => 384,
        PaperWidth::Mm80 => 576,
    }
}

/// The narrowest layout kassa draws; a narrower request is widened to it.
const MIN_WIDTH: usize = 16;

/// What a receipt is about and for whom.
#[derive(Debug, Clone)]
pub struct Receipt<'a> {
    pub op: &'a Operation,
    pub lang: Lang,
    /// The till: the agent's login (`[allpay] requester`); empty prints no till line.
    pub till: &'a str,
    /// A link the customer pays by (a Wooppay or WebMoney invoice): printed, and as a QR code.
    pub link: Option<&'a str>,
    /// The time zone the time is printed in: the till's, at the time of the operation.
    pub offset: FixedOffset,
}

impl<'a> Receipt<'a> {
    /// A receipt with the time in the till's local time zone.
    pub fn new(op: &'a Operation, lang: Lang, till: &'a str, link: Option<&'a str>) -> Receipt<'a> {
        let at = op.final_at.unwrap_or(op.created_at);
        let offset = chrono::Local
            .timestamp_millis_opt(at)
            .earliest()
            .map(|d| *d.offset())
            .unwrap_or_else(|| chrono::Utc.fix());
        Receipt {
            op,
            lang,
            till,
            link,
            offset,
        }
    }

    /// A receipt in the settings' language, for their till.
    pub fn for_settings(
        settings: &'a Settings,
        op: &'a Operation,
        link: Option<&'a str>,
    ) -> Receipt<'a> {
        Receipt::new(op, settings.lang, &settings.allpay.requester, link)
    }

    /// The moment the receipt states: when the operation reached its outcome, or when it was
    /// made if it has none yet.
    pub fn at_ms(&self) -> i64 {
        self.op.final_at.unwrap_or(self.op.created_at)
    }

    fn time(&self) -> Option<chrono::DateTime<FixedOffset>> {
        chrono::DateTime::from_timestamp_millis(self.at_ms()).map(|d| d.with_timezone(&self.offset))
    }
}

/// What went wrong making, saving or printing a receipt.
#[derive(Debug, thiserror::Error)]
pub enum ReceiptError {
    #[error("cannot save the receipt to {path}: {error}")]
    Save { path: String, error: String },
    #[error("cannot build the printer commands: {0}")]
    Escpos(String),
    #[error("cannot open the printer {path}: {error}")]
    Open { path: String, error: String },
    #[error("printer address {addr}: {error}")]
    Resolve { addr: String, error: String },
    #[error("no connection to the printer {addr}: {error}")]
    Connect { addr: String, error: String },
    #[error("the printer {target} did not take the receipt: {error}")]
    Write { target: String, error: String },
}

impl ReceiptError {
    /// The message for the cashier, in their language.
    pub fn message(&self, lang: Lang) -> String {
        match self {
            ReceiptError::Save { path, error } => tf(
                lang,
                "receipt.save_failed",
                &[("path", path), ("error", error)],
            ),
            ReceiptError::Escpos(error) => tf(lang, "receipt.escpos_failed", &[("error", error)]),
            ReceiptError::Open { path, error } => tf(
                lang,
                "receipt.printer_open",
                &[("path", path), ("error", error)],
            ),
            ReceiptError::Resolve { addr, error } => tf(
                lang,
                "receipt.printer_resolve",
                &[("addr", addr), ("error", error)],
            ),
            ReceiptError::Connect { addr, error } => tf(
                lang,
                "receipt.printer_connect",
                &[("addr", addr), ("error", error)],
            ),
            ReceiptError::Write { target, error } => tf(
                lang,
                "receipt.printer_write",
                &[("target", target), ("error", error)],
            ),
        }
    }
}

/// How a line is drawn on paper.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Style {
    Plain,
    Bold,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Line {
    text: String,
    style: Style,
}

/// Control characters never reach a line: a provider's text must not carry printer commands.
fn clean(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

/// `text` in characters a CP866 printer has. Cyrillic (with Ё, Є, Ї, Ў), Latin letters,
/// digits, punctuation and `№` stay as they are; Kazakh and Uzbek letters become the Russian
/// letter closest in sound (ә → а, қ → к, ң → н, ө → о, ұ ү → у, һ ҳ → х, і → и, ғ → г);
/// currency signs become their ISO codes (₸ → KZT, ₽ → RUB, € → EUR); typographic quotes and
/// dashes become ASCII ones, `…` three dots, thin and narrow spaces a space; **any other
/// character becomes `?`**, so that a line keeps its meaning and never carries bytes the
/// printer would draw as something else.
pub fn to_cp866(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in clean(text).chars() {
        if c.is_ascii() || encodable_866(c) {
            out.push(c);
            continue;
        }
        let s = match c {
            'ә' => "а",
            'Ә' => "А",
            'ғ' => "г",
            'Ғ' => "Г",
            'қ' => "к",
            'Қ' => "К",
            'ң' => "н",
            'Ң' => "Н",
            'ө' => "о",
            'Ө' => "О",
            'ұ' | 'ү' => "у",
            'Ұ' | 'Ү' => "У",
            'һ' | 'ҳ' => "х",
            'Һ' | 'Ҳ' => "Х",
            'і' => "и",
            'І' => "И",
            '₸' => "KZT",
            '₽' => "RUB",
            '€' => "EUR",
            '«' | '»' | '„' | '“' | '”' => "\"",
            '‘' | '’' | '‚' => "'",
            '–' | '—' | '−' | '‐' => "-",
            '…' => "...",
            '\u{2009}' | '\u{202f}' => " ",
            _ => "?",
        };
        out.push_str(s);
    }
    out
}

fn encodable_866(c: char) -> bool {
    let mut buf = [0u8; 4];
    let (_, _, unmappable) = encoding_rs::IBM866.encode(c.encode_utf8(&mut buf));
    !unmappable
}

/// Words of `text` in lines of at most `width` characters; a word longer than a line (an id,
/// a link) is cut wherever the line ends.
fn wrap(text: &str, width: usize) -> Vec<String> {
    let width = width.max(1);
    let mut lines = Vec::new();
    let mut cur = String::new();
    let mut cur_len = 0usize;
    for word in text.split(' ').filter(|w| !w.is_empty()) {
        let len = word.chars().count();
        if cur_len > 0 && cur_len + 1 + len <= width {
            cur.push(' ');
            cur.push_str(word);
            cur_len += 1 + len;
            continue;
        }
        if cur_len > 0 {
            lines.push(std::mem::take(&mut cur));
            cur_len = 0;
        }
        let chars: Vec<char> = word.chars().collect();
        let mut chunks = chars.chunks(width).peekable();
        while let Some(chunk) = chunks.next() {
            let piece: String = chunk.iter().collect();
            if chunks.peek().is_some() {
                lines.push(piece);
            } else {
                cur_len = chunk.len();
                cur = piece;
            }
        }
    }
    if cur_len > 0 {
        lines.push(cur);
    }
    lines
}

fn center(text: &str, width: usize) -> String {
    let len = text.chars().count();
    let pad = width.saturating_sub(len) / 2;
    format!("{}{text}", " ".repeat(pad))
}

/// `label` on the left and `value` on the right of one line when both fit; otherwise the
/// label on its line and the value under it, indented and wrapped.
fn pair(out: &mut Vec<Line>, label: &str, value: &str, width: usize, style: Style) {
    let (ll, vl) = (label.chars().count(), value.chars().count());
    let push = |out: &mut Vec<Line>, text: String| out.push(Line { text, style });
    if ll + 1 + vl <= width {
        let gap = width - ll - vl;
        push(out, format!("{label}{}{value}", " ".repeat(gap)));
        return;
    }
    if !label.is_empty() {
        push(out, label.to_string());
    }
    for piece in wrap(value, width.saturating_sub(2)) {
        push(out, format!("  {piece}"));
    }
}

/// The receipt's lines. `printable` folds every text to what a CP866 printer has (see
/// [`to_cp866`]) before the layout, so that a line's width is its width on paper.
fn layout(r: &Receipt<'_>, width: usize, printable: bool) -> Vec<Line> {
    let width = width.max(MIN_WIDTH);
    let lang = r.lang;
    let prep = |s: &str| if printable { to_cp866(s) } else { clean(s) };
    let op = r.op;
    let mut out = Vec::new();
    let plain = |out: &mut Vec<Line>, text: String| {
        out.push(Line {
            text,
            style: Style::Plain,
        })
    };
    let rule = "-".repeat(width);

    if !r.till.trim().is_empty() {
        let till = prep(&format!("{} {}", t(lang, "receipt.till"), r.till.trim()));
        for l in wrap(&till, width) {
            plain(&mut out, center(&l, width));
        }
    }
    if let Some(time) = r.time() {
        plain(
            &mut out,
            center(&time.format("%d.%m.%Y %H:%M:%S").to_string(), width),
        );
    }
    plain(&mut out, rule.clone());
    for l in wrap(&prep(t(lang, op.kind.message_key())), width) {
        out.push(Line {
            text: center(&l, width),
            style: Style::Bold,
        });
    }
    plain(&mut out, rule.clone());

    let customer = prep(op.customer.trim());
    pair(
        &mut out,
        &prep(t(lang, "receipt.customer")),
        &customer,
        width,
        Style::Plain,
    );
    if let Some(name) = op.customer_name.as_deref().map(str::trim)
        && !name.is_empty()
    {
        pair(&mut out, "", &prep(name), width, Style::Plain);
    }
    if !op.amount.is_none() {
        let amount = format!(
            "{} {}",
            op.amount.display_number(),
            op.amount.currency().symbol()
        );
        pair(
            &mut out,
            &prep(t(lang, "receipt.amount")),
            &prep(&amount),
            width,
            Style::Bold,
        );
    }
    pair(
        &mut out,
        &prep(t(lang, "receipt.operation")),
        &prep(&op.id),
        width,
        Style::Plain,
    );
    if let Some(reference) = op.shown_ref().filter(|s| !s.trim().is_empty()) {
        pair(
            &mut out,
            &prep(t(lang, "receipt.reference")),
            &prep(reference.trim()),
            width,
            Style::Plain,
        );
    }
    let mut state = t(lang, crate::flows::state_key(op.kind, op.state)).to_uppercase();
    if op.needs_reconciliation {
        state.push_str(&format!(
            ", {}",
            t(lang, "state.needs_recon").to_uppercase()
        ));
    }
    pair(
        &mut out,
        &prep(t(lang, "receipt.state")),
        &prep(&state),
        width,
        Style::Bold,
    );
    if op.state != State::Completed {
        // A receipt of anything but a completed operation must not pass for a proof of payment.
        for l in wrap(&prep(t(lang, "receipt.not_confirmed")), width) {
            out.push(Line {
                text: center(&l, width),
                style: Style::Bold,
            });
        }
    }
    if let Some(link) = r.link.map(str::trim).filter(|l| !l.is_empty()) {
        plain(&mut out, rule.clone());
        plain(&mut out, prep(t(lang, "receipt.link")));
        // A link is cut at the line's end, never at a space it does not have.
        let link = prep(link);
        let chars: Vec<char> = link.chars().collect();
        for chunk in chars.chunks(width) {
            plain(&mut out, chunk.iter().collect());
        }
    }
    plain(&mut out, rule);
    out
}

/// The receipt as lines of at most `width` characters (32 for 58 mm paper, 48 for 80 mm; see
/// [`chars_per_line`]), as it reads on the screen and in a text file.
pub fn text_lines(r: &Receipt<'_>, width: usize) -> Vec<String> {
    layout(r, width, false)
        .into_iter()
        .map(|l| l.text)
        .collect()
}

/// The receipt's file name: its date and time and the operation's id, in characters that are
/// safe in any file system (`receipt-20261123-140205-0f8fad5b-….txt`).
pub fn file_name(r: &Receipt<'_>) -> String {
    let when = r
        .time()
        .map(|t| t.format("%Y%m%d-%H%M%S").to_string())
        .unwrap_or_else(|| "00000000-000000".into());
    let mut id: String =
        r.op.id
            .chars()
            .filter(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
            .take(64)
            .collect();
    if id.is_empty() {
        id.push_str("operation");
    }
    format!("receipt-{when}-{id}.txt")
}

/// Writes the receipt as a UTF-8 text file in `dir` (made if missing) and returns its path.
/// A receipt saved again replaces the file of the same name.
pub fn save_text(dir: &Path, r: &Receipt<'_>, width: usize) -> Result<PathBuf, ReceiptError> {
    let path = dir.join(file_name(r));
    let err = |e: std::io::Error| ReceiptError::Save {
        path: path.display().to_string(),
        error: e.to_string(),
    };
    std::fs::create_dir_all(dir).map_err(err)?;
    let mut text = text_lines(r, width).join("\n");
    text.push('\n');
    std::fs::write(&path, text).map_err(err)?;
    Ok(path)
}

/// The bytes the escpos crate's printer writes, kept in memory.
#[derive(Clone, Default)]
struct Collect(std::rc::Rc<std::cell::RefCell<Vec<u8>>>);

impl Driver for Collect {
    fn name(&self) -> String {
        "memory".into()
    }

    fn write(&self, data: &[u8]) -> escpos::errors::Result<()> {
        self.0.try_borrow_mut()?.extend_from_slice(data);
        Ok(())
    }

    fn read(&self, _buf: &mut [u8]) -> escpos::errors::Result<usize> {
        Ok(0)
    }

    fn flush(&self) -> escpos::errors::Result<()> {
        Ok(())
    }
}

/// The QR module size (dots) that makes the link's code as large as fits the paper, at most
/// 8 dots; `None` when the link is too long for a QR code at level M.
pub fn qr_module_size(link: &str, paper: PaperWidth) -> Option<u8> {
    let code =
        qrcode::QrCode::with_error_correction_level(link.as_bytes(), qrcode::EcLevel::M).ok()?;
    // The printer picks its own version for the data: allow it one version more than the
    // smallest (4 modules) and a quiet zone of 4 modules each side.
    let modules = code.width() + 4 + 8;
    let size = (dots_per_line(paper) / modules).clamp(1, 8);
    u8::try_from(size).ok()
}

/// The receipt as ESC/POS commands: initialise (ESC @), code page CP866 (ESC t 17, Epson's
/// number for "PC866: Cyrillic #2"), the lines for the paper with the title and the amount in
/// bold (ESC E), a QR code of the link if there is one (GS ( k: model 2, module size, level M,
/// store, print), then feed (ESC d) and a full cut (GS V A 0).
pub fn escpos(r: &Receipt<'_>, paper: PaperWidth) -> Result<Vec<u8>, ReceiptError> {
    let e = |e: escpos::errors::PrinterError| ReceiptError::Escpos(e.to_string());
    let sink = Collect::default();
    let options = PrinterOptions::new(
        Some(PageCode::PC866),
        None,
        u8::try_from(chars_per_line(paper)).unwrap_or(u8::MAX),
    );
    let mut p = Printer::new(sink.clone(), Protocol::default(), Some(options));
    p.init().map_err(e)?;
    let mut bold = false;
    for line in layout(r, chars_per_line(paper), true) {
        let want = line.style == Style::Bold;
        if want != bold {
            p.bold(want).map_err(e)?;
            bold = want;
        }
        p.writeln(&line.text).map_err(e)?;
    }
    if bold {
        p.bold(false).map_err(e)?;
    }
    let link = r.link.map(str::trim).filter(|l| !l.is_empty());
    if let Some((link, size)) = link.and_then(|l| Some((l, qr_module_size(l, paper)?))) {
        let option = QRCodeOption::new(QRCodeModel::Model2, size, QRCodeCorrectionLevel::M);
        p.feed()
            .and_then(|p| p.justify(escpos::utils::JustifyMode::CENTER))
            .and_then(|p| p.qrcode_option(link, option))
            .and_then(|p| p.justify(escpos::utils::JustifyMode::LEFT))
            .map_err(e)?;
    }
    p.feeds(3).and_then(|p| p.print_cut()).map_err(e)?;
    drop(p);
    let bytes = sink
        .0
        .try_borrow()
        .map(|b| b.clone())
        .map_err(|err| ReceiptError::Escpos(err.to_string()))?;
    Ok(bytes)
}

/// Sends `bytes` to the printer: written to the device file (it must exist: a printer that
/// is not plugged in is an error, not a new file), or over TCP to `host:port` with
/// [`PRINT_TIMEOUT`] for the connection and the writes. Blocking.
pub fn print(printer: &PrinterSettings, bytes: &[u8]) -> Result<(), ReceiptError> {
    match &printer.target {
        PrinterTarget::Device(path) => {
            let shown = path.display().to_string();
            let mut f = std::fs::OpenOptions::new()
                .write(true)
                .open(path)
                .map_err(|e| ReceiptError::Open {
                    path: shown.clone(),
                    error: e.to_string(),
                })?;
            f.write_all(bytes)
                .and_then(|()| f.flush())
                .map_err(|e| ReceiptError::Write {
                    target: shown,
                    error: e.to_string(),
                })
        }
        PrinterTarget::Tcp(addr) => print_tcp(addr, bytes, PRINT_TIMEOUT),
    }
}

fn print_tcp(addr: &str, bytes: &[u8], timeout: Duration) -> Result<(), ReceiptError> {
    let addrs: Vec<_> = addr
        .to_socket_addrs()
        .map_err(|e| ReceiptError::Resolve {
            addr: addr.to_string(),
            error: e.to_string(),
        })?
        .collect();
    let mut last = None;
    let mut stream = None;
    for a in &addrs {
        match TcpStream::connect_timeout(a, timeout) {
            Ok(s) => {
                stream = Some(s);
                break;
            }
            Err(e) => last = Some(e),
        }
    }
    let Some(mut stream) = stream else {
        return Err(ReceiptError::Connect {
            addr: addr.to_string(),
            error: last.map_or_else(|| "no address".to_string(), |e| e.to_string()),
        });
    };
    let write_err = |e: std::io::Error| ReceiptError::Write {
        target: addr.to_string(),
        error: e.to_string(),
    };
    stream.set_write_timeout(Some(timeout)).map_err(write_err)?;
    stream.write_all(bytes).map_err(write_err)?;
    stream.flush().map_err(write_err)?;
    // The printer prints what it got when the connection ends.
    let _ = stream.shutdown(std::net::Shutdown::Write);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wrap_keeps_words_and_cuts_long_ones() {
        assert_eq!(
            wrap("Иван Петрович Петров", 12),
            ["Иван", "Петрович", "Петров"]
        );
        assert_eq!(wrap("abcdefghij", 4), ["abcd", "efgh", "ij"]);
        assert_eq!(wrap("ab abcdefgh c", 4), ["ab", "abcd", "efgh", "c"]);
        assert!(wrap("", 10).is_empty());
    }

    #[test]
    fn folding_to_cp866_keeps_cyrillic_and_says_what_else_becomes() {
        assert_eq!(to_cp866("Ёлка № 5 сўм"), "Ёлка № 5 сўм");
        assert_eq!(to_cp866("Әсем Қайратқызы"), "Асем Кайраткызы");
        assert_eq!(to_cp866("5 000,00 ₸"), "5 000,00 KZT");
        assert_eq!(to_cp866("«да» — нет…"), "\"да\" - нет...");
        assert_eq!(
            to_cp866("a\u{1b}@b"),
            "a @b",
            "no printer command gets through"
        );
        assert_eq!(to_cp866("日本"), "??");
        for s in ["Әсем Қайратқызы ₸ € ₽ «»—…", "ӘҒҚҢӨҰҮҺІ әғқңөұүһі ҳҲ"]
        {
            let folded = to_cp866(s);
            let (_, _, unmappable) = encoding_rs::IBM866.encode(&folded);
            assert!(!unmappable, "{folded}");
        }
    }
}
