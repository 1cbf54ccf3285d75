//! `kassa report`: a day's figures from the journal, as text or JSON.

use super::{exit, fail_usage, local_time};
use crate::i18n::{Lang, t, tf};
use crate::journal::{DRAWER, Journal};
use crate::report::{Report, display};

/// A date as `YYYY-MM-DD`; none means today (local).
pub fn parse_date(raw: Option<&str>) -> Result<chrono::NaiveDate, &'static str> {
    match raw.map(str::trim) {
        None | Some("") => Ok(chrono::Local::now().date_naive()),
        Some(d) => chrono::NaiveDate::parse_from_str(d, "%Y-%m-%d").map_err(|_| "report.bad_date"),
    }
}

/// `kassa report [--date YYYY-MM-DD] [--json]`
pub fn report(lang: Lang, journal: &Journal, date: Option<&str>, json_out: bool) -> u8 {
    let date = match parse_date(date) {
        Ok(d) => d,
        Err(key) => return fail_usage(lang, json_out, key, &[]),
    };
    let r = match Report::build(journal, date) {
        Ok(r) => r,
        Err(e) => {
            let error = e.to_string();
            return fail_usage(lang, json_out, "error.journal_open", &[("error", &error)]);
        }
    };
    if json_out {
        println!("{}", r.to_json());
    } else {
        for line in text(lang, &r) {
            println!("{line}");
        }
    }
    exit::DONE
}

/// The report as lines a person reads (also what the report screen prints).
pub fn text(lang: Lang, r: &Report) -> Vec<String> {
    let mut out = vec![tf(lang, "report.title", &[("date", &r.date.to_string())])];
    if r.totals.is_empty() {
        out.push(t(lang, "report.empty").to_string());
    }
    for tl in &r.totals {
        out.push(format!(
            "  {:<28} {:<16} {:>5}  {:>18}",
            t(lang, tl.kind.message_key()),
            t(lang, tl.state.message_key()),
            tl.count,
            display(tl.minor, tl.currency)
        ));
    }
    out.push(String::new());
    for (code, (n, minor)) in r.completed_by_currency() {
        if let Some(c) = crate::money::Currency::from_code(code) {
            out.push(tf(
                lang,
                "report.completed",
                &[("n", &n.to_string()), ("total", &display(minor, c))],
            ));
        }
    }
    out.push(tf(
        lang,
        "report.cash_at_till",
        &[
            ("total", &display(r.cash_in, DRAWER)),
            ("cash_in", &display(r.cash_cash_in, DRAWER)),
            ("utility", &display(r.cash_utility, DRAWER)),
        ],
    ));
    out.push(tf(
        lang,
        "report.pending",
        &[("n", &r.pending_count.to_string())],
    ));
    for op in &r.pending {
        out.push(format!("    {}", super::describe(lang, op)));
    }
    for s in &r.shifts {
        let mut line = tf(
            lang,
            "report.shift",
            &[
                ("id", &s.id.to_string()),
                ("opened", &local_time(s.opened_at)),
                ("opening", &display(s.opening, DRAWER)),
            ],
        );
        if let (Some(e), Some(c), Some(d)) = (s.expected, s.counted, s.difference()) {
            line.push_str(&tf(
                lang,
                "report.shift_closed",
                &[
                    ("expected", &display(e, DRAWER)),
                    ("counted", &display(c, DRAWER)),
                    ("difference", &display(d, DRAWER)),
                ],
            ));
        }
        out.push(line);
    }
    out
}
