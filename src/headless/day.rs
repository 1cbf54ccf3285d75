//! `kassa report`: a day's figures from the journal, as text or JSON.

use super::{Exit, fail_usage};
use crate::i18n::Lang;
use crate::journal::Journal;
use crate::report::Report;

/// A date as `YYYY-MM-DD`; none means today (local).
pub fn parse_date(raw: Option<&str>) -> Result<chrono::NaiveDate, &'static str> {
    match raw.map(str::trim) {
        None | Some("") => Ok(chrono::Local::now().date_naive()),
        Some(d) => chrono::NaiveDate::parse_from_str(d, "%Y-%m-%d").map_err(|_| "report.bad_date"),
    }
}

/// `kassa report [--date YYYY-MM-DD] [--json]`
pub fn report(
    lang: Lang,
    journal: &Journal,
    date: Option<&str>,
    till: Option<&str>,
    json_out: bool,
) -> Exit {
    let date = match parse_date(date) {
        Ok(d) => d,
        Err(key) => return fail_usage(lang, json_out, key, &[]),
    };
    let r = match Report::build(journal, date, till) {
        Ok(r) => r,
        Err(e) => {
            let error = e.to_string();
            return fail_usage(lang, json_out, "error.journal_open", &[("error", &error)]);
        }
    };
    if json_out {
        println!("{}", r.to_json());
    } else {
        for line in crate::report::text(lang, &r) {
            println!("{line}");
        }
    }
    Exit::Done
}
