//! A day's report from the journal: counts and sums per provider, kind and state, summed per
//! currency (tenge, sum and WebMoney purses are never added together; an invoice issued is
//! not money received), takings by hour, open pending items, the cash taken at the till and
//! the shift's cash difference.

use std::collections::BTreeMap;

use serde_json::json;

use crate::format::{amount as display, decimal, local_time, rfc3339};
use crate::i18n::{Lang, t, tf};
use crate::journal::{
    DRAWER, Journal, JournalError, Kind, Operation, Query, Shift, State, StatusFilter, Total,
};
use crate::money::Currency;

/// One local calendar day as Unix ms `[from, to)`.
pub fn day_bounds(date: chrono::NaiveDate) -> (i64, i64) {
    use chrono::TimeZone;
    let start = |d: chrono::NaiveDate| {
        let midnight = d.and_hms_opt(0, 0, 0).unwrap_or_default();
        chrono::Local
            .from_local_datetime(&midnight)
            .earliest()
            .map(|t| t.timestamp_millis())
            .unwrap_or_else(|| midnight.and_utc().timestamp_millis())
    };
    let next = date.succ_opt().unwrap_or(date);
    (start(date), start(next))
}

/// What a report shows.
#[derive(Debug, Clone)]
pub struct Report {
    pub date: chrono::NaiveDate,
    pub totals: Vec<Total>,
    /// Completed money per hour (local), per currency.
    pub by_hour: Vec<(u32, Currency, i64)>,
    /// Rows still pending (the first 50), and how many there are.
    pub pending: Vec<Operation>,
    pub pending_count: usize,
    /// Cash taken at the till (completed Allpay cash-ins and utility payments), tenge.
    pub cash_in: i64,
    pub cash_cash_in: i64,
    pub cash_utility: i64,
    pub shifts: Vec<Shift>,
}

impl Report {
    pub fn build(
        journal: &Journal,
        date: chrono::NaiveDate,
        till: Option<&str>,
    ) -> Result<Report, JournalError> {
        let (from, to) = day_bounds(date);
        let totals = journal.totals(from, to, till)?;
        let by_hour = journal.takings_by_hour(from, to, till)?;
        let pending = journal.query(&Query {
            status: StatusFilter::Pending,
            from: Some(from),
            to: Some(to),
            limit: 10_000,
            till: till.map(str::to_string),
            ..Query::default()
        })?;
        let cash = |kind: Kind| {
            totals
                .iter()
                .filter(|t| t.kind == kind && t.state == State::Completed && t.currency == DRAWER)
                .map(|t| t.minor)
                .sum::<i64>()
        };
        let cash_cash_in = cash(Kind::AllpayCashIn);
        let cash_utility = cash(Kind::AllpayPay);
        let pending_count = pending.len();
        Ok(Report {
            date,
            by_hour,
            pending: pending.into_iter().take(50).collect(),
            pending_count,
            cash_in: cash_cash_in + cash_utility,
            cash_cash_in,
            cash_utility,
            shifts: journal.shifts_between(from, to)?,
            totals,
        })
    }

    /// Completed rows per currency, whatever they are (kept in the JSON as before).
    pub fn completed_by_currency(&self) -> BTreeMap<&'static str, (u32, i64)> {
        self.by_currency(|t| t.state == State::Completed)
    }

    /// Money received per currency: completed rows that took money (a wallet topped up, a
    /// bill paid, a Wooppay invoice paid, a hold captured). An X1 invoice "completed" is an
    /// invoice issued, nobody has paid it yet; a card registration moves no money.
    pub fn received_by_currency(&self) -> BTreeMap<&'static str, (u32, i64)> {
        self.by_currency(|t| {
            t.state == State::Completed && !matches!(t.kind, Kind::WebmoneyInvoice | Kind::UpayCard)
        })
    }

    /// WebMoney invoices issued, per currency.
    pub fn invoices_issued_by_currency(&self) -> BTreeMap<&'static str, (u32, i64)> {
        self.by_currency(|t| t.state == State::Completed && t.kind == Kind::WebmoneyInvoice)
    }

    fn by_currency(&self, take: impl Fn(&Total) -> bool) -> BTreeMap<&'static str, (u32, i64)> {
        let mut out: BTreeMap<&'static str, (u32, i64)> = BTreeMap::new();
        for t in self.totals.iter().filter(|t| take(t)) {
            let e = out.entry(t.currency.code()).or_default();
            e.0 += t.count;
            e.1 += t.minor;
        }
        out
    }

    /// Per provider, kind and state: count and sum, each currency on its own line.
    pub fn to_json(&self) -> serde_json::Value {
        let lines: Vec<_> = self
            .totals
            .iter()
            .map(|t| {
                json!({
                    "provider": t.kind.provider(),
                    "kind": t.kind.tag(),
                    "state": t.state.tag(),
                    "currency": t.currency.code(),
                    "count": t.count,
                    "total": decimal(t.minor),
                })
            })
            .collect();
        let per_currency = |m: BTreeMap<&'static str, (u32, i64)>| {
            m.into_iter()
                .map(|(c, (n, m))| (c.to_string(), json!({"count": n, "total": decimal(m)})))
                .collect::<serde_json::Map<String, serde_json::Value>>()
        };
        let completed = per_currency(self.completed_by_currency());
        let received = per_currency(self.received_by_currency());
        let invoices_issued = per_currency(self.invoices_issued_by_currency());
        let by_hour: Vec<_> = self
            .by_hour
            .iter()
            .map(|(h, c, m)| json!({"hour": h, "currency": c.code(), "total": decimal(*m)}))
            .collect();
        let shifts: Vec<_> = self
            .shifts
            .iter()
            .map(|s| {
                json!({
                    "id": s.id,
                    "opened_at": rfc3339(s.opened_at),
                    "closed_at": s.closed_at.map(rfc3339),
                    "opening": decimal(s.opening),
                    "expected": s.expected.map(decimal),
                    "counted": s.counted.map(decimal),
                    "difference": s.difference().map(decimal),
                })
            })
            .collect();
        json!({
            "date": self.date.to_string(),
            "lines": lines,
            "completed": completed,
            "received": received,
            "invoices_issued": invoices_issued,
            "by_hour": by_hour,
            "pending": self.pending_count,
            "pending_ids": self.pending.iter().map(|o| o.id.clone()).collect::<Vec<_>>(),
            "cash_at_till": {
                "currency": DRAWER.code(),
                "total": decimal(self.cash_in),
                "cash_in": decimal(self.cash_cash_in),
                "utility": decimal(self.cash_utility),
            },
            "shifts": shifts,
        })
    }
}

/// The report as lines a person reads (also what the report screen prints).
pub fn text(lang: Lang, r: &Report) -> Vec<String> {
    let mut out = vec![tf(lang, "report.title", &[("date", &r.date.to_string())])];
    if r.totals.is_empty() {
        out.push(t(lang, "report.empty").to_string());
    }
    for tl in &r.totals {
        // A card registration moves no money: no sum beside it.
        let sum = if tl.kind == Kind::UpayCard {
            "—".to_string()
        } else {
            display(tl.minor, tl.currency)
        };
        out.push(format!(
            "  {:<28} {:<16} {:>5}  {:>18}",
            t(lang, tl.kind.message_key()),
            t(lang, crate::flows::state_key(tl.kind, tl.state)),
            tl.count,
            sum
        ));
    }
    out.push(String::new());
    for (code, (n, minor)) in r.received_by_currency() {
        if let Some(c) = crate::money::Currency::from_code(code) {
            out.push(crate::i18n::tn(
                lang,
                "report.completed",
                n.into(),
                &[("total", &display(minor, c))],
            ));
        }
    }
    for (code, (n, minor)) in r.invoices_issued_by_currency() {
        if let Some(c) = crate::money::Currency::from_code(code) {
            out.push(crate::i18n::tn(
                lang,
                "report.invoices_issued",
                n.into(),
                &[("total", &display(minor, c))],
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
        out.push(format!("    {}", crate::format::describe(lang, op)));
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
