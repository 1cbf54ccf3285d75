//! Receipts: the text layout in ru and en on both papers, the ESC/POS bytes of a known
//! receipt read back from a file printed to as a device, the QR code's sequence, printing to
//! a network printer on loopback, and the saved text file.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::Read;
use std::net::TcpListener;

use chrono::FixedOffset;
use kassa::config::{PaperWidth, PrinterSettings, PrinterTarget};
use kassa::i18n::Lang;
use kassa::journal::{Kind, Operation, State};
use kassa::money::{Amount, Currency};
use kassa::receipt::{self, Receipt, ReceiptError};

/// 2026-11-23 14:02:05 in Almaty (+05:00).
const AT: i64 = 1_795_424_525_000;

const ESC: u8 = 0x1b;
const GS: u8 = 0x1d;
/// ESC @ (initialise), ESC t 17 (PC866).
const INIT: &[u8] = &[ESC, b'@', ESC, b't', 17];
/// ESC d 1: print the line and feed one.
const NL: &[u8] = &[ESC, b'd', 1];
const BOLD_ON: &[u8] = &[ESC, b'E', 1];
const BOLD_OFF: &[u8] = &[ESC, b'E', 0];
/// ESC d 3, then GS V A 0: feed to the cutter and cut.
const END: &[u8] = &[ESC, b'd', 3, GS, b'V', b'A', 0];

fn almaty() -> FixedOffset {
    FixedOffset::east_opt(5 * 3600).unwrap()
}

fn cash_in() -> Operation {
    Operation {
        till: None,
        id: "{0f8fad5b-d9cb-469f-a165-70867728950e}".into(),
        kind: Kind::AllpayCashIn,
        state: State::Completed,
        amount: Amount::from_minor(500_000, Currency::Kzt).unwrap(),
        customer: "77072734954".into(),
        customer_name: Some("Иван П. П.".into()),
        endpoint: "http://x/cash-in".into(),
        identity: "72222222221".into(),
        provider_status: Some("COMPLETED".into()),
        provider_message: None,
        provider_ref: Some("981234".into()),
        detail: None,
        needs_reconciliation: false,
        recon_reason: None,
        link: None,
        message_key: None,
        note: None,
        attempts: 1,
        created_at: AT - 3000,
        updated_at: AT,
        final_at: Some(AT),
        params: None,
    }
}

fn receipt<'a>(op: &'a Operation, lang: Lang, link: Option<&'a str>) -> Receipt<'a> {
    Receipt {
        op,
        lang,
        till: "72222222221",
        link,
        offset: almaty(),
    }
}

/// The ESC/POS bytes of `lines` (those starting with `*` in bold), as the receipt should
/// print them, with `qr` between the lines and the cut when given.
fn expected(lines: &[&str], encode: impl Fn(&str) -> Vec<u8>, qr: Option<&[u8]>) -> Vec<u8> {
    let mut out = INIT.to_vec();
    let mut bold = false;
    for l in lines {
        let (want, text) = match l.strip_prefix('*') {
            Some(t) => (true, t),
            None => (false, *l),
        };
        if want != bold {
            out.extend_from_slice(if want { BOLD_ON } else { BOLD_OFF });
            bold = want;
        }
        out.extend(encode(text));
        out.extend_from_slice(NL);
    }
    if bold {
        out.extend_from_slice(BOLD_OFF);
    }
    if let Some(q) = qr {
        out.extend_from_slice(NL);
        out.extend_from_slice(&[ESC, b'a', 1]);
        out.extend_from_slice(q);
        out.extend_from_slice(&[ESC, b'a', 0]);
    }
    out.extend_from_slice(END);
    out
}

fn cp866(s: &str) -> Vec<u8> {
    let (bytes, _, unmappable) = encoding_rs::IBM866.encode(s);
    assert!(!unmappable, "{s}");
    bytes.into_owned()
}

/// Prints through the device path (a file standing in for /dev/usb/lp0) and reads it back.
fn print_to_file(bytes: &[u8]) -> Vec<u8> {
    let dir = tempfile::tempdir().unwrap();
    let device = dir.path().join("lp0");
    std::fs::write(&device, b"").unwrap();
    let printer = PrinterSettings {
        target: PrinterTarget::Device(device.clone()),
        paper: PaperWidth::Mm58,
    };
    receipt::print(&printer, bytes).unwrap();
    std::fs::read(&device).unwrap()
}

const EN_58: &[&str] = &[
    "        TILL 72222222221",
    "      23.11.2026 14:02:05",
    "--------------------------------",
    "*      Allpay wallet top-up",
    "--------------------------------",
    "Customer             77072734954",
    "                      Иван П. П.",
    "*Amount              5 000,00 KZT",
    "Operation",
    "  {0f8fad5b-d9cb-469f-a165-70867",
    "  728950e}",
    "Provider ref.             981234",
    "*Status                 TOPPED UP",
    "--------------------------------",
    "Payment link:",
    "https://p.example/i/34365",
    "--------------------------------",
];

#[test]
fn a_known_receipt_prints_these_exact_bytes_on_58_mm() {
    let op = cash_in();
    let link = "https://p.example/i/34365";
    let r = receipt(&op, Lang::En, Some(link));
    let bytes = receipt::escpos(&r, PaperWidth::Mm58).unwrap();
    // Model 2; module size 8 (a version 2 code, 25 modules, fits 384 dots with room); level
    // M; store 25 bytes (pL = 25 + 3, pH = 0); print.
    let mut qr = vec![GS, b'(', b'k', 4, 0, 49, 65, 50, 0];
    qr.extend_from_slice(&[GS, b'(', b'k', 3, 0, 49, 67, 8]);
    qr.extend_from_slice(&[GS, b'(', b'k', 3, 0, 49, 69, 49]);
    qr.extend_from_slice(&[GS, b'(', b'k', 28, 0, 49, 80, 48]);
    qr.extend_from_slice(link.as_bytes());
    qr.extend_from_slice(&[GS, b'(', b'k', 3, 0, 49, 81, 48]);
    let want = expected(EN_58, cp866, Some(&qr));
    assert_eq!(print_to_file(&bytes), want);
    // The name in Cyrillic is CP866 on paper: И = 0x88, в = 0xA2, а = 0xA0, н = 0xAD.
    let name = [0x88, 0xA2, 0xA0, 0xAD, b' ', 0x8F, b'.', b' ', 0x8F, b'.'];
    assert!(bytes.windows(name.len()).any(|w| w == name));
    // On screen and in a file the tenge sign stays; on paper it is KZT (CP866 has no ₸).
    let text = receipt::text_lines(&r, 32);
    assert_eq!(text[7], "Amount                5 000,00 ₸");
}

#[test]
fn a_russian_receipt_on_80_mm_is_cp866_with_the_same_layout_as_on_screen() {
    let op = cash_in();
    let r = receipt(&op, Lang::Ru, None);
    let lines = receipt::text_lines(&r, 48);
    let want_text = [
        "               КАССА 72222222221",
        "              23.11.2026 14:02:05",
        "------------------------------------------------",
        "           Пополнение кошелька Allpay",
        "------------------------------------------------",
        "Клиент                               77072734954",
        "                                      Иван П. П.",
        "Сумма                                 5 000,00 ₸",
        "Операция  {0f8fad5b-d9cb-469f-a165-70867728950e}",
        "Номер у провайдера                        981234",
        "Статус                                 ЗАЧИСЛЕНО",
        "------------------------------------------------",
    ];
    assert_eq!(lines, want_text);
    assert!(lines.iter().all(|l| l.chars().count() <= 48));
    let printed: Vec<String> = want_text
        .iter()
        .enumerate()
        .map(|(i, l)| {
            let l = l.replace("  5 000,00 ₸", "5 000,00 KZT");
            if matches!(i, 3 | 7 | 10) {
                format!("*{l}")
            } else {
                l
            }
        })
        .collect();
    let printed: Vec<&str> = printed.iter().map(String::as_str).collect();
    let bytes = receipt::escpos(&r, PaperWidth::Mm80).unwrap();
    assert_eq!(print_to_file(&bytes), expected(&printed, cp866, None));
    // "Сумма" in CP866, literally.
    let summa = [0x91, 0xE3, 0xAC, 0xAC, 0xA0];
    assert!(bytes.windows(5).any(|w| w == summa));
    assert!(
        !bytes.windows(2).any(|w| w == [GS, b'(']),
        "no link, no QR code"
    );
}

#[test]
fn a_long_link_has_the_right_length_bytes_in_its_qr_sequence() {
    let op = cash_in();
    let link = format!("https://pay.example/invoice?data={}", "x".repeat(267));
    assert_eq!(link.len(), 300);
    let r = receipt(&op, Lang::En, Some(&link));
    let bytes = receipt::escpos(&r, PaperWidth::Mm58).unwrap();
    // 300 bytes + 3: pL = 303 - 256 = 47, pH = 1.
    let mut store = vec![GS, b'(', b'k', 47, 1, 49, 80, 48];
    store.extend_from_slice(link.as_bytes());
    store.extend_from_slice(&[GS, b'(', b'k', 3, 0, 49, 81, 48]);
    assert!(bytes.windows(store.len()).any(|w| w == store));
    let size = receipt::qr_module_size(&link, PaperWidth::Mm58).unwrap();
    assert!(
        (1..8).contains(&size),
        "a larger code, smaller modules: {size}"
    );
    let size_cmd = [GS, b'(', b'k', 3, 0, 49, 67, size];
    assert!(bytes.windows(8).any(|w| w == size_cmd));
    // The link printed as text too, cut at the line's end.
    let text = receipt::text_lines(&r, 32);
    let at = text.iter().position(|l| l == "Payment link:").unwrap();
    assert_eq!(text[at + 1..text.len() - 1].concat(), link);
    // Too long for any QR code: the text only.
    let huge = "y".repeat(4000);
    assert_eq!(receipt::qr_module_size(&huge, PaperWidth::Mm80), None);
    let r = receipt(&op, Lang::En, Some(&huge));
    let bytes = receipt::escpos(&r, PaperWidth::Mm80).unwrap();
    assert!(!bytes.windows(3).any(|w| w == [GS, b'(', b'k']));
}

#[test]
fn a_card_registration_shows_the_token_by_its_ends_and_no_amount() {
    let mut op = cash_in();
    op.kind = Kind::UpayCard;
    op.amount = Amount::none(Currency::Uzs);
    op.customer = "860012******2345".into();
    op.customer_name = None;
    op.provider_ref = Some("a1b2c3d4e5f6g7h8i9".into());
    let r = receipt(&op, Lang::Ru, None);
    let text = receipt::text_lines(&r, 32).join("\n");
    assert!(text.contains("a1b2…h8i9"), "{text}");
    assert!(!text.contains("a1b2c3d4e5f6g7h8i9"));
    assert!(text.contains("860012******2345"));
    assert!(!text.contains("Сумма"), "no money moved: {text}");
    let bytes = receipt::escpos(&r, PaperWidth::Mm58).unwrap();
    assert!(bytes.windows(11).any(|w| w == b"a1b2...h8i9"));
    assert!(!bytes.windows(18).any(|w| w == b"a1b2c3d4e5f6g7h8i9"));
}

#[test]
fn anything_but_completed_says_the_payment_is_not_confirmed() {
    let mut op = cash_in();
    op.state = State::Pending;
    op.final_at = None;
    op.needs_reconciliation = true;
    for (lang, words, state) in [
        (
            Lang::En,
            "Payment not confirmed",
            "PENDING, NEEDS RECONCILIATION",
        ),
        (
            Lang::Ru,
            "Оплата не подтверждена",
            "В ОБРАБОТКЕ, НУЖНА СВЕРКА",
        ),
    ] {
        let text = receipt::text_lines(&receipt(&op, lang, None), 48);
        assert!(text.iter().any(|l| l.trim() == words), "{text:#?}");
        assert!(text.iter().any(|l| l.ends_with(state)), "{text:#?}");
        // The time is when it was made: it has no outcome yet.
        assert_eq!(text[1].trim(), "23.11.2026 14:02:02");
    }
    let done = receipt::text_lines(&receipt(&cash_in(), Lang::En, None), 48);
    assert!(!done.iter().any(|l| l.contains("not confirmed")));
}

#[test]
fn a_providers_text_cannot_smuggle_printer_commands() {
    let mut op = cash_in();
    op.customer_name = Some("Evil\u{1b}@\u{1d}V\u{0}name".into());
    let bytes = receipt::escpos(&receipt(&op, Lang::En, None), PaperWidth::Mm80).unwrap();
    assert!(bytes.windows(4).any(|w| w == b"Evil"));
    // The only ESC @ is the one at the start; the only GS V is the cut at the end.
    let inits = bytes.windows(2).filter(|w| *w == [ESC, b'@']).count();
    let cuts = bytes.windows(2).filter(|w| *w == [GS, b'V']).count();
    assert_eq!((inits, cuts), (1, 1));
    assert!(bytes.windows(13).any(|w| w == b"Evil @ V name"));
}

#[test]
fn saved_receipt_is_a_utf8_file_named_by_date_and_id() {
    let dir = tempfile::tempdir().unwrap();
    let op = cash_in();
    let r = receipt(&op, Lang::Ru, None);
    let into = dir.path().join("receipts");
    let path = receipt::save_text(&into, &r, 32).unwrap();
    assert_eq!(
        path.file_name().and_then(|n| n.to_str()),
        Some("receipt-20261123-140205-0f8fad5b-d9cb-469f-a165-70867728950e.txt")
    );
    let text = std::fs::read_to_string(&path).unwrap();
    assert_eq!(text, receipt::text_lines(&r, 32).join("\n") + "\n");
    assert!(text.contains("5 000,00 ₸") && text.contains("ЗАЧИСЛЕНО"));
    // An id with characters no file system likes becomes a safe name.
    let mut odd = cash_in();
    odd.id = "../../etc/passwd:*?".into();
    let name = receipt::file_name(&receipt(&odd, Lang::En, None));
    assert_eq!(name, "receipt-20261123-140205-etcpasswd.txt");
    // A directory that cannot be made: a message, not a panic.
    let blocker = dir.path().join("file");
    std::fs::write(&blocker, "x").unwrap();
    let err = receipt::save_text(&blocker.join("sub"), &r, 32).unwrap_err();
    assert!(matches!(err, ReceiptError::Save { .. }));
    assert!(
        err.message(Lang::Ru).contains("Не удалось сохранить чек"),
        "{err}"
    );
}

#[test]
fn a_network_printer_gets_the_bytes_over_tcp() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let server = std::thread::spawn(move || {
        let (mut conn, _) = listener.accept().unwrap();
        let mut got = Vec::new();
        conn.read_to_end(&mut got).unwrap();
        got
    });
    let op = cash_in();
    let bytes = receipt::escpos(
        &receipt(&op, Lang::Ru, Some("https://p.example/1")),
        PaperWidth::Mm80,
    )
    .unwrap();
    let printer = PrinterSettings {
        target: PrinterTarget::Tcp(addr.to_string()),
        paper: PaperWidth::Mm80,
    };
    receipt::print(&printer, &bytes).unwrap();
    assert_eq!(server.join().unwrap(), bytes);
}

#[test]
fn a_printer_that_is_not_there_is_a_message() {
    // Nobody listens on a port just given back.
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let printer = PrinterSettings {
        target: PrinterTarget::Tcp(format!("127.0.0.1:{port}")),
        paper: PaperWidth::Mm58,
    };
    let err = receipt::print(&printer, b"x").unwrap_err();
    assert!(matches!(err, ReceiptError::Connect { .. }), "{err}");
    assert!(
        err.message(Lang::Ru).contains("Нет связи с принтером"),
        "{err}"
    );
    assert!(err.message(Lang::En).contains(&port.to_string()));

    let printer = PrinterSettings {
        target: PrinterTarget::Tcp("no-such-printer.invalid:9100".into()),
        paper: PaperWidth::Mm58,
    };
    let err = receipt::print(&printer, b"x").unwrap_err();
    assert!(matches!(err, ReceiptError::Resolve { .. }), "{err}");

    // A device that is not plugged in is not created as a file.
    let dir = tempfile::tempdir().unwrap();
    let device = dir.path().join("usb").join("lp0");
    let printer = PrinterSettings {
        target: PrinterTarget::Device(device.clone()),
        paper: PaperWidth::Mm58,
    };
    let err = receipt::print(&printer, b"x").unwrap_err();
    assert!(matches!(err, ReceiptError::Open { .. }), "{err}");
    assert!(err.message(Lang::En).contains("Cannot open the printer"));
    assert!(!device.exists());
}
