//! The cashier's day on the journal: shifts with their cash count, the figures a report
//! sums, and filtered lists for the journal screen.

use super::db::{Db, Row, Value, args};
use super::schema::{COLUMNS, row_to_op};
use super::{Journal, JournalError, Kind, Operation, State, now_ms};
use crate::money::{Amount, Currency};

/// The currency of the cash drawer: Allpay's tenge.
pub const DRAWER: Currency = Currency::Kzt;

/// The kinds whose completed operations are cash taken at the till.
const CASH_KINDS: [Kind; 2] = [Kind::AllpayCashIn, Kind::AllpayPay];

/// A cashier's shift.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Shift {
    pub id: i64,
    pub opened_at: i64,
    /// Cash in the drawer when the shift opened.
    pub opening: i64,
    pub closed_at: Option<i64>,
    /// Cash counted at the close.
    pub counted: Option<i64>,
    /// Opening plus the cash taken during the shift, as computed at the close.
    pub expected: Option<i64>,
    pub note: Option<String>,
}

impl Shift {
    /// Counted minus expected: positive is a surplus, negative a shortage.
    pub fn difference(&self) -> Option<i64> {
        Some(self.counted? - self.expected?)
    }
}

/// Which rows the journal screen shows.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum StatusFilter {
    #[default]
    All,
    Pending,
    NeedsReconciliation,
    Final,
}

/// A filtered, searched list of operations, newest first.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Query {
    pub status: StatusFilter,
    /// `allpay`, `wooppay`, `upay`, `webmoney`.
    pub provider: Option<String>,
    /// Created in `[from, to)`, Unix ms.
    pub from: Option<i64>,
    pub to: Option<i64>,
    /// Part of the customer, the account, the id, the provider's reference, or an amount
    /// as typed (`1000`, `1 000,50`).
    pub search: Option<String>,
    pub limit: u32,
    /// Only the rows this till recorded.
    pub till: Option<String>,
}

/// One line of a report: how many operations of a kind ended in a state, and their sum.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Total {
    pub kind: Kind,
    pub state: State,
    pub currency: Currency,
    pub count: u32,
    pub minor: i64,
}

fn row_to_shift(r: &Row) -> Result<Shift, JournalError> {
    Ok(Shift {
        id: r.get(0)?,
        opened_at: r.get(1)?,
        opening: r.get(2)?,
        closed_at: r.get(3)?,
        counted: r.get(4)?,
        expected: r.get(5)?,
        note: r.get(6)?,
    })
}

const SHIFT_COLUMNS: &str = "id, opened_at, opening_minor, closed_at, counted_minor, \
                             expected_minor, note";

impl Journal {
    /// The shift now open, if any.
    pub fn current_shift(&self) -> Result<Option<Shift>, JournalError> {
        current_shift_in(&self.db, self.own_till())
    }

    /// The till whose rows are this till's own: on a chain's journal, this till's name;
    /// a till's own journal holds no other till's (and rows from before tills were named),
    /// so none is needed. A shift, its cash and a report by default are this till's.
    pub fn own_till(&self) -> Option<&str> {
        self.is_shared().then_some(self.till.as_str())
    }

    /// The shifts that were open at any time in `[from, to)`, oldest first.
    pub fn shifts_between(&self, from: i64, to: i64) -> Result<Vec<Shift>, JournalError> {
        let sql = format!(
            "SELECT {SHIFT_COLUMNS} FROM shifts WHERE opened_at < ?2 \
             AND (closed_at IS NULL OR closed_at >= ?1) AND (CAST(?3 AS TEXT) IS NULL OR till = ?3) ORDER BY id"
        );
        self.db
            .query(&sql, args![from, to, self.own_till()])?
            .iter()
            .map(row_to_shift)
            .collect()
    }

    /// Opens a shift with `opening` in the drawer; refused while another is open.
    pub fn open_shift(&mut self, opening: i64) -> Result<Shift, JournalError> {
        let till = self.own_till().map(str::to_string);
        let tx = self.db.begin()?;
        if let Some(open) = current_shift_in(&tx, till.as_deref())? {
            return Err(JournalError::ShiftOpen(open.id));
        }
        tx.execute(
            "INSERT INTO shifts (opened_at, opening_minor, currency, till) VALUES (?1, ?2, ?3, ?4)",
            args![now_ms(), opening.max(0), DRAWER.code(), till],
        )?;
        tx.commit()?;
        self.current_shift()?
            .ok_or_else(|| JournalError::Corrupt("the shift just opened is gone".into()))
    }

    /// Cash taken at the till since `since`: completed Allpay cash-ins and utility payments
    /// in tenge (the only money that passes the drawer).
    pub fn cash_taken(&self, since: i64, until: i64) -> Result<i64, JournalError> {
        cash_taken_in(&self.db, self.own_till(), since, until)
    }

    /// Closes the open shift with the cash `counted`: the expected cash is computed now,
    /// in the same transaction, from the journal.
    pub fn close_shift(&mut self, counted: i64, note: Option<&str>) -> Result<Shift, JournalError> {
        // One transaction: no payment completed between the sum and the close is left out.
        let till = self.own_till().map(str::to_string);
        let tx = self.db.begin()?;
        let Some(shift) = current_shift_in(&tx, till.as_deref())? else {
            return Err(JournalError::NoShift);
        };
        let now = now_ms();
        let taken = cash_taken_in(&tx, till.as_deref(), shift.opened_at, now + 1)?;
        let expected = shift.opening + taken;
        tx.execute(
            "UPDATE shifts SET closed_at = ?2, counted_minor = ?3, expected_minor = ?4, note = ?5 \
             WHERE id = ?1 AND closed_at IS NULL",
            args![shift.id, now, counted.max(0), expected, note],
        )?;
        let sql = format!("SELECT {SHIFT_COLUMNS} FROM shifts WHERE id = ?1");
        let closed = row_to_shift(&tx.query_one(&sql, args![shift.id])?)?;
        tx.commit()?;
        Ok(closed)
    }

    /// Counts and sums of the operations created in `[from, to)`, per kind, state and
    /// currency (currencies are never added together).
    pub fn totals(
        &self,
        from: i64,
        to: i64,
        till: Option<&str>,
    ) -> Result<Vec<Total>, JournalError> {
        let rows = self.db.query(
            "SELECT kind, state, currency, COUNT(*), CAST(COALESCE(SUM(amount_minor), 0) AS BIGINT) \
             FROM operations WHERE created_at >= ?1 AND created_at < ?2 \
             AND (CAST(?3 AS TEXT) IS NULL OR till = ?3) \
             GROUP BY kind, state, currency ORDER BY kind, state, currency",
            args![from, to, till],
        )?;
        let mut out = Vec::new();
        for row in rows {
            let (kind, state, currency, count, minor): (String, String, String, i64, i64) = (
                row.get(0)?,
                row.get(1)?,
                row.get(2)?,
                row.get(3)?,
                row.get(4)?,
            );
            let (Some(kind), Some(state), Some(currency)) = (
                Kind::from_tag(&kind),
                State::from_tag(&state),
                Currency::from_code(&currency),
            ) else {
                return Err(JournalError::Corrupt(format!(
                    "unknown kind, state or currency: {kind} {state} {currency}"
                )));
            };
            out.push(Total {
                kind,
                state,
                currency,
                count: u32::try_from(count).unwrap_or(u32::MAX),
                minor,
            });
        }
        Ok(out)
    }

    /// Completed money per hour of the day (local time) for the operations created in
    /// `[from, to)`: (hour 0-23, currency, minor units).
    pub fn takings_by_hour(
        &self,
        from: i64,
        to: i64,
        till: Option<&str>,
    ) -> Result<Vec<(u32, Currency, i64)>, JournalError> {
        let rows = self.db.query(
            "SELECT created_at, currency, amount_minor FROM operations \
             WHERE created_at >= ?1 AND created_at < ?2 AND state = 'completed' \
             AND amount_minor > 0 AND (CAST(?3 AS TEXT) IS NULL OR till = ?3)",
            args![from, to, till],
        )?;
        let mut sums: std::collections::BTreeMap<(u32, String), i64> = Default::default();
        for row in rows {
            let (at, currency, minor): (i64, String, i64) = (row.get(0)?, row.get(1)?, row.get(2)?);
            let hour = chrono::DateTime::from_timestamp_millis(at)
                .map(|d| {
                    use chrono::Timelike;
                    d.with_timezone(&chrono::Local).hour()
                })
                .unwrap_or(0);
            *sums.entry((hour, currency)).or_default() += minor;
        }
        Ok(sums
            .into_iter()
            .filter_map(|((h, c), m)| Some((h, Currency::from_code(&c)?, m)))
            .collect())
    }

    /// The journal screen's list: filtered, searched, newest first, at most `limit` rows.
    pub fn query(&self, q: &Query) -> Result<Vec<Operation>, JournalError> {
        let mut sql = format!("SELECT {COLUMNS} FROM operations WHERE 1 = 1");
        let mut args: Vec<Value> = Vec::new();
        match q.status {
            StatusFilter::All => {}
            StatusFilter::Pending => sql.push_str(
                " AND (state = 'pending' OR (state = 'issued' AND kind = 'wooppay.invoice'))",
            ),
            StatusFilter::NeedsReconciliation => sql.push_str(" AND needs_reconciliation = 1"),
            StatusFilter::Final => sql.push_str(
                " AND state IN ('completed','declined','expired','cancelled','rejected','reversed')",
            ),
        }
        if let Some(p) = &q.provider {
            let kinds: Vec<&str> = Kind::ALL
                .iter()
                .filter(|k| k.provider() == p)
                .map(|k| k.tag())
                .collect();
            if kinds.is_empty() {
                return Ok(Vec::new());
            }
            sql.push_str(" AND kind IN (");
            for (i, k) in kinds.iter().enumerate() {
                if i > 0 {
                    sql.push(',');
                }
                args.push((*k).into());
                sql.push_str(&format!("?{}", args.len()));
            }
            sql.push(')');
        }
        if let Some(from) = q.from {
            args.push(from.into());
            sql.push_str(&format!(" AND created_at >= ?{}", args.len()));
        }
        if let Some(to) = q.to {
            args.push(to.into());
            sql.push_str(&format!(" AND created_at < ?{}", args.len()));
        }
        if let Some(s) = q.search.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
            let like = format!(
                "%{}%",
                s.replace('\\', "\\\\")
                    .replace('%', "\\%")
                    .replace('_', "\\_")
            );
            args.push(like.into());
            let n = args.len();
            // Case aside, as SQLite's LIKE does (for ASCII; PostgreSQL's ILIKE for all).
            let like = match self.db.dialect() {
                super::db::Dialect::Sqlite => "LIKE",
                super::db::Dialect::Postgres => "ILIKE",
            };
            sql.push_str(&format!(
                " AND (customer {like} ?{n} ESCAPE '\\' OR id {like} ?{n} ESCAPE '\\' \
                 OR COALESCE(customer_name, '') {like} ?{n} ESCAPE '\\' \
                 OR COALESCE(provider_ref, '') {like} ?{n} ESCAPE '\\'"
            ));
            // An amount as typed matches that amount in any currency.
            if let Ok(a) = Amount::parse(s, Currency::Kzt) {
                args.push(a.minor().into());
                sql.push_str(&format!(" OR amount_minor = ?{}", args.len()));
            }
            sql.push(')');
        }
        if let Some(t) = &q.till {
            args.push(t.into());
            sql.push_str(&format!(" AND till = ?{}", args.len()));
        }
        sql.push_str(" ORDER BY created_at DESC, rowid DESC");
        args.push(i64::from(q.limit.max(1)).into());
        sql.push_str(&format!(" LIMIT ?{}", args.len()));
        self.db.query(&sql, &args)?.iter().map(row_to_op).collect()
    }
}

fn current_shift_in(db: &Db, till: Option<&str>) -> Result<Option<Shift>, JournalError> {
    let sql = format!(
        "SELECT {SHIFT_COLUMNS} FROM shifts WHERE closed_at IS NULL AND (CAST(?1 AS TEXT) IS NULL OR till = ?1) \
         ORDER BY id DESC LIMIT 1"
    );
    db.query_opt(&sql, args![till])?
        .map(|r| row_to_shift(&r))
        .transpose()
}

fn cash_taken_in(db: &Db, till: Option<&str>, since: i64, until: i64) -> Result<i64, JournalError> {
    db.query_one(
        "SELECT CAST(COALESCE(SUM(amount_minor), 0) AS BIGINT) FROM operations \
         WHERE created_at >= ?1 AND created_at < ?2 AND state = 'completed' \
         AND currency = ?3 AND kind IN (?4, ?5) AND (CAST(?6 AS TEXT) IS NULL OR till = ?6)",
        args![
            since,
            until,
            DRAWER.code(),
            CASH_KINDS[0].tag(),
            CASH_KINDS[1].tag(),
            till
        ],
    )?
    .get(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::journal::fixture::each_journal;
    use crate::journal::{Facts, NewOperation};

    fn add(j: &mut Journal, id: &str, kind: Kind, minor: i64, to: State) {
        let currency = if matches!(kind, Kind::UpayHold) {
            Currency::Uzs
        } else {
            Currency::Kzt
        };
        let op = NewOperation {
            id: id.into(),
            kind,
            amount: Amount::from_minor(minor, currency).unwrap_or_else(|_| unreachable!()),
            customer: format!("cust-{id}"),
            customer_name: None,
            endpoint: "e".into(),
            identity: "i".into(),
            params: None,
        };
        j.record_pending(&op, "me", 0).expect("recorded");
        if to != State::Pending {
            j.transition(id, "me", to, &Facts::default())
                .expect("moved");
        }
    }

    #[test]
    fn a_shift_expects_the_opening_plus_the_cash_taken() -> Result<(), JournalError> {
        each_journal(|j| {
            assert!(j.current_shift().expect("read").is_none());
            let s = j.open_shift(1_000_000).expect("opened");
            assert!(matches!(
                j.open_shift(5),
                Err(JournalError::ShiftOpen(id)) if id == s.id
            ));
            add(j, "a", Kind::AllpayCashIn, 500_000, State::Completed);
            add(j, "b", Kind::AllpayPay, 25_050, State::Completed);
            add(j, "c", Kind::AllpayPay, 99_900, State::Declined);
            add(j, "d", Kind::AllpayCashIn, 7_700, State::Pending);
            add(j, "e", Kind::WebmoneyInvoice, 1_050, State::Completed);
            add(j, "f", Kind::UpayHold, 100_000, State::Completed);
            let closed = j
                .close_shift(1_520_000, Some("short by 50,50"))
                .expect("closed");
            assert_eq!(closed.expected, Some(1_525_050));
            assert_eq!(closed.difference(), Some(-5_050));
            assert!(j.current_shift().expect("read").is_none());
            assert!(matches!(j.close_shift(1, None), Err(JournalError::NoShift)));
            let totals = j.totals(0, i64::MAX, None).expect("totals");
            let upay: Vec<_> = totals.iter().filter(|t| t.kind == Kind::UpayHold).collect();
            assert_eq!(upay.len(), 1);
            assert_eq!(upay[0].currency, Currency::Uzs);
            Ok(())
        })
    }

    #[test]
    fn queries_filter_and_search() -> Result<(), JournalError> {
        each_journal(|j| {
            add(j, "a1", Kind::AllpayCashIn, 500_000, State::Completed);
            add(j, "p1", Kind::AllpayPay, 25_050, State::Pending);
            add(j, "w1", Kind::WebmoneyInvoice, 1_050, State::Rejected);
            let q = |status, provider: Option<&str>, search: Option<&str>| Query {
                status,
                provider: provider.map(str::to_string),
                search: search.map(str::to_string),
                limit: 100,
                ..Query::default()
            };
            let ids = |v: Vec<Operation>| v.into_iter().map(|o| o.id).collect::<Vec<_>>();
            assert_eq!(
                ids(j.query(&q(StatusFilter::All, None, None)).expect("q")).len(),
                3
            );
            assert_eq!(
                ids(j.query(&q(StatusFilter::Pending, None, None)).expect("q")),
                vec!["p1"]
            );
            assert_eq!(
                ids(j
                    .query(&q(StatusFilter::Final, Some("allpay"), None))
                    .expect("q")),
                vec!["a1"]
            );
            assert_eq!(
                ids(j
                    .query(&q(StatusFilter::All, None, Some("250,50")))
                    .expect("q")),
                vec!["p1"],
                "an amount as typed"
            );
            assert_eq!(
                ids(j
                    .query(&q(StatusFilter::All, None, Some("cust-w")))
                    .expect("q")),
                vec!["w1"]
            );
            assert!(
                j.query(&q(StatusFilter::All, None, Some("100%")))
                    .expect("q")
                    .is_empty(),
                "a % is searched for, not a wildcard"
            );

            j.mark_reconciliation("p1", "me", "recon.unknown_outcome", "lost")
                .expect("marked");
            assert_eq!(
                ids(j
                    .query(&q(StatusFilter::NeedsReconciliation, None, None))
                    .expect("q")),
                vec!["p1"]
            );
            assert!(j.resolve_manually("a1", State::Declined, "no").is_err());
            let op = j
                .resolve_manually("p1", State::Completed, "Allpay support: paid, tx 77")
                .expect("resolved");
            assert_eq!(op.state, State::Completed);
            assert!(!op.needs_reconciliation);
            let trail = j.events("p1").expect("events");
            assert!(
                trail
                    .iter()
                    .any(|e| e.kind == "manual" && e.detail.contains("tx 77"))
            );
            Ok(())
        })
    }
}
