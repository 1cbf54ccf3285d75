//! The journal as a CSV file a spreadsheet opens (UTF-8 with a BOM, RFC 4180 quoting, CRLF), with a stable set of
//! columns, amounts as decimals with a dot, oldest operation first.

use std::io::Write;
use std::path::{Path, PathBuf};

use chrono::{Local, NaiveDate, TimeZone};

use crate::format::{decimal, local_rfc3339};
use crate::journal::{Journal, JournalError, Operation};

/// The columns, in their order. New columns are only ever added at the end.
pub const COLUMNS: [&str; 15] = [
    "id",
    "created_at",
    "final_at",
    "kind",
    "provider",
    "state",
    "needs_reconciliation",
    "amount",
    "currency",
    "customer",
    "customer_name",
    "provider_status",
    "provider_message",
    "provider_ref",
    "attempts",
];

/// What stopped an export.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error(transparent)]
    Journal(#[from] JournalError),
    #[error("{0}")]
    Write(String),
}

impl From<csv::Error> for ExportError {
    fn from(e: csv::Error) -> ExportError {
        ExportError::Write(e.to_string())
    }
}

impl From<std::io::Error> for ExportError {
    fn from(e: std::io::Error) -> ExportError {
        ExportError::Write(e.to_string())
    }
}

/// The columns that hold a number kassa wrote (an amount may be negative, `-50.50`): they
/// stay numbers. Every other column is text and may hold what a customer, a cashier or a
/// provider typed.
pub const NUMERIC_COLUMNS: [&str; 2] = ["amount", "attempts"];

/// A text cell a spreadsheet would run as a formula (`=`, `+`, `-`, `@`, or a leading tab
/// or carriage return that some strip before looking) gets a leading `'`, so that it is
/// shown as the text it is: a customer's name `=HYPERLINK(...)` or a provider's message
/// `@SUM(...)` does nothing when the file is opened.
pub fn neutralise(cell: String) -> String {
    match cell.chars().next() {
        Some('=' | '+' | '-' | '@' | '\t' | '\r') => format!("'{cell}"),
        _ => cell,
    }
}

/// One operation as a CSV record, in [`COLUMNS`] order, its text cells neutralised.
pub fn record(op: &Operation) -> [String; 15] {
    neutralise_record(raw_record(op))
}

/// The cells of a record with its text cells neutralised and its numbers as they are.
fn neutralise_record(raw: [String; 15]) -> [String; 15] {
    let mut i = 0;
    raw.map(|cell| {
        let numeric = NUMERIC_COLUMNS.contains(&COLUMNS[i]);
        i += 1;
        if numeric { cell } else { neutralise(cell) }
    })
}

/// One operation's cells as they are.
fn raw_record(op: &Operation) -> [String; 15] {
    [
        op.id.clone(),
        local_rfc3339(op.created_at),
        op.final_at.map(local_rfc3339).unwrap_or_default(),
        op.kind.tag().to_string(),
        op.kind.provider().to_string(),
        op.state.tag().to_string(),
        op.needs_reconciliation.to_string(),
        decimal(op.amount.minor()),
        op.amount.currency().code().to_string(),
        op.customer.clone(),
        op.customer_name.clone().unwrap_or_default(),
        op.provider_status.clone().unwrap_or_default(),
        op.provider_message.clone().unwrap_or_default(),
        op.shown_ref().unwrap_or_default(),
        op.attempts.to_string(),
    ]
}

/// Writes the BOM, the header and every operation created in `[from_ms, until_ms)` to `out`,
/// oldest first, row by row; returns how many operations.
pub fn write_csv<W: Write>(
    journal: &Journal,
    mut out: W,
    from_ms: i64,
    until_ms: i64,
) -> Result<u64, ExportError> {
    // The BOM tells a spreadsheet the file is UTF-8 (Cyrillic names, ₸ in texts).
    out.write_all("\u{feff}".as_bytes())?;
    let mut w = csv::WriterBuilder::new()
        .terminator(csv::Terminator::CRLF)
        .quote_style(csv::QuoteStyle::Necessary)
        .from_writer(out);
    w.write_record(COLUMNS)?;
    let n = journal.each_created_between(from_ms, until_ms, |op| {
        w.write_record(record(&op)).map_err(ExportError::from)
    })?;
    w.flush()?;
    Ok(n)
}

/// A `YYYY-MM-DD` date, strictly so (no single-digit months, no time).
pub fn parse_date(text: &str) -> Option<NaiveDate> {
    let t = text.trim();
    let shape = t.len() == 10
        && t.bytes().enumerate().all(|(i, b)| {
            if i == 4 || i == 7 {
                b == b'-'
            } else {
                b.is_ascii_digit()
            }
        });
    if !shape {
        return None;
    }
    NaiveDate::parse_from_str(t, "%Y-%m-%d").ok()
}

/// The first instant of `day` in the till's local time (Unix ms). A midnight that a clock
/// change skips starts the day at the first hour that exists.
pub fn local_day_start(day: NaiveDate) -> Option<i64> {
    let midnight = day.and_hms_opt(0, 0, 0)?;
    (0..=3)
        .find_map(|h| {
            Local
                .from_local_datetime(&(midnight + chrono::Duration::hours(h)))
                .earliest()
        })
        .map(|t| t.timestamp_millis())
}

/// A refusal: the catalogue key of its message and the message's arguments.
pub type Refusal = (&'static str, Vec<(&'static str, String)>);

/// `[from, until)` in Unix ms for the inclusive local dates `--from` and `--to`; a missing
/// bound is open.
pub fn range(from: Option<&str>, to: Option<&str>) -> Result<(i64, i64), Refusal> {
    let day = |flag: &'static str, text: &str| {
        parse_date(text).ok_or((
            "export.bad_date",
            vec![("flag", flag.to_string()), ("date", text.to_string())],
        ))
    };
    let from_day = from.map(|f| day("from", f)).transpose()?;
    let to_day = to.map(|t| day("to", t)).transpose()?;
    if let (Some(f), Some(t)) = (from_day, to_day)
        && f > t
    {
        return Err((
            "export.range",
            vec![("from", f.to_string()), ("to", t.to_string())],
        ));
    }
    let unrepresentable = |d: NaiveDate| {
        (
            "export.bad_date",
            vec![("flag", "to".into()), ("date", d.to_string())],
        )
    };
    let start = match from_day {
        Some(d) => local_day_start(d).ok_or_else(|| unrepresentable(d))?,
        None => i64::MIN,
    };
    let until = match to_day {
        Some(d) => match d.succ_opt() {
            Some(next) => local_day_start(next).ok_or_else(|| unrepresentable(d))?,
            None => i64::MAX,
        },
        None => i64::MAX,
    };
    Ok((start, until))
}

/// Where the file is written before it takes its name: beside it, so that the rename is
/// atomic and a failed export leaves no half file under the name asked for.
fn temp_path(file: &Path) -> Option<PathBuf> {
    let name = file.file_name()?.to_string_lossy();
    let tmp = format!(".{name}.{}.part", std::process::id());
    Some(file.with_file_name(tmp))
}

/// Writes the export to `file` (replacing it) through a temporary file beside it.
pub fn export_to(
    journal: &Journal,
    file: &Path,
    from_ms: i64,
    until_ms: i64,
) -> Result<u64, ExportError> {
    let tmp =
        temp_path(file).ok_or_else(|| ExportError::Write("the path names no file".to_string()))?;
    let result = (|| {
        let f = std::fs::File::create(&tmp)?;
        let mut out = std::io::BufWriter::new(f);
        let n = write_csv(journal, &mut out, from_ms, until_ms)?;
        let f = out
            .into_inner()
            .map_err(|e| ExportError::Write(e.error().to_string()))?;
        f.sync_all()?;
        std::fs::rename(&tmp, file)?;
        Ok(n)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_are_strict() {
        assert_eq!(
            parse_date("2026-11-23"),
            NaiveDate::from_ymd_opt(2026, 11, 23)
        );
        for bad in [
            "2026-1-5",
            "2026-13-01",
            "2026-02-30",
            "23.11.2026",
            "2026-11-23T00",
            "",
        ] {
            assert_eq!(parse_date(bad), None, "{bad}");
        }
    }

    #[test]
    fn the_range_is_whole_local_days_and_checked() {
        let (from, until) = range(Some("2026-11-23"), Some("2026-11-23")).unwrap_or((0, 0));
        let day = NaiveDate::from_ymd_opt(2026, 11, 23);
        let start = day.and_then(local_day_start);
        assert_eq!(Some(from), start);
        // A whole day later, less whatever a clock change takes or gives (at most 2 h).
        assert!((22 * 3_600_000..=26 * 3_600_000).contains(&(until - from)));
        assert_eq!(range(None, None).ok(), Some((i64::MIN, i64::MAX)));
        assert!(matches!(
            range(Some("2026-11-24"), Some("2026-11-23")),
            Err(("export.range", _))
        ));
        assert!(matches!(
            range(Some("x"), None),
            Err(("export.bad_date", _))
        ));
    }

    #[test]
    fn formula_cells_are_neutralised_and_numbers_kept() {
        for (cell, out) in [
            ("=HYPERLINK(\"http://x\")", "'=HYPERLINK(\"http://x\")"),
            ("+7 707 123", "'+7 707 123"),
            ("-2+3", "'-2+3"),
            ("@SUM(A1)", "'@SUM(A1)"),
            ("\t=1", "'\t=1"),
            ("\r=1", "'\r=1"),
            ("Иванов И.", "Иванов И."),
            ("77072734954", "77072734954"),
            ("a=b", "a=b"),
            ("", ""),
        ] {
            assert_eq!(neutralise(cell.to_string()), out, "{cell:?}");
        }
        assert_eq!(
            NUMERIC_COLUMNS
                .iter()
                .filter(|c| COLUMNS.contains(c))
                .count(),
            2
        );
        let at = |name: &str| {
            COLUMNS
                .iter()
                .position(|c| *c == name)
                .unwrap_or(usize::MAX)
        };
        let mut raw: [String; 15] = Default::default();
        raw[at("customer_name")] = "=cmd|' /C calc'!A0".into();
        raw[at("provider_message")] = "-1".into();
        raw[at("customer")] = "+77071234567".into();
        raw[at("amount")] = "-50.50".into();
        raw[at("attempts")] = "3".into();
        let r = neutralise_record(raw);
        assert_eq!(r[at("customer_name")], "'=cmd|' /C calc'!A0");
        assert_eq!(r[at("provider_message")], "'-1");
        assert_eq!(r[at("customer")], "'+77071234567");
        assert_eq!(
            r[at("amount")],
            "-50.50",
            "a negative amount stays a number"
        );
        assert_eq!(r[at("attempts")], "3");
    }

    #[test]
    fn amounts_are_exact_decimals() {
        assert_eq!(decimal(100_050), "1000.50");
        assert_eq!(decimal(7), "0.07");
        assert_eq!(decimal(0), "0.00");
        assert_eq!(decimal(-150), "-1.50");
    }
}
