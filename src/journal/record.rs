//! New rows: an operation recorded as pending before its first byte is sent, unless a like
//! one exists (rule 8), and lines added to a row's audit trail.

use super::db::{Db, args};
use super::schema::{COLUMNS, row_to_op};
use super::{Facts, Journal, JournalError, Kind, NewOperation, Operation, Recorded, now_ms};
use crate::money::Amount;

fn duplicate_in(
    db: &Db,
    kind: Kind,
    customer: &str,
    amount: Amount,
    since_ms: i64,
) -> Result<Option<Operation>, JournalError> {
    let sql = format!(
        "SELECT {COLUMNS} FROM operations WHERE kind = ?1 AND customer = ?2 \
         AND amount_minor = ?3 AND currency = ?4 \
         AND ((state = 'pending' OR (state = 'issued' AND kind = 'wooppay.invoice')) OR (state = 'completed' AND created_at >= ?5)) \
         ORDER BY created_at DESC LIMIT 1"
    );
    db.query_opt(
        &sql,
        args![
            kind.tag(),
            customer,
            amount.minor(),
            amount.currency().code(),
            since_ms
        ],
    )?
    .map(|r| row_to_op(&r))
    .transpose()
}

impl Journal {
    /// Commits a new operation as `pending`, claimed by `holder` until `lease_until`, with
    /// its "created" event: the step before the first byte is sent (rule 1).
    pub fn record_pending(
        &mut self,
        op: &NewOperation,
        holder: &str,
        lease_until: i64,
    ) -> Result<Operation, JournalError> {
        match self.record(op, holder, lease_until, None, None)? {
            Recorded::New(o) | Recorded::Duplicate(o) => Ok(o),
        }
    }

    /// As [`Journal::record_pending`], for a row whose provider already knows it (a hold
    /// placed elsewhere, found by UPay's check): the row, its trail note and what the
    /// provider said (its id above all) are one transaction, so no crash leaves a pending
    /// row that names nothing at the provider.
    pub fn record_known(
        &mut self,
        op: &NewOperation,
        holder: &str,
        lease_until: i64,
        note: &str,
        facts: &Facts,
    ) -> Result<Operation, JournalError> {
        match self.record(op, holder, lease_until, None, Some((note, facts)))? {
            Recorded::New(o) | Recorded::Duplicate(o) => Ok(o),
        }
    }

    /// As [`Journal::record_pending`], unless an operation like it (same kind, customer and
    /// amount, pending or completed, created since `since_ms`) exists: the check and the
    /// insert are one transaction, so two processes cannot both pass it (rule 8).
    pub fn record_pending_unless_duplicate(
        &mut self,
        op: &NewOperation,
        holder: &str,
        lease_until: i64,
        since_ms: i64,
    ) -> Result<Recorded, JournalError> {
        self.record(op, holder, lease_until, Some(since_ms), None)
    }

    fn record(
        &mut self,
        op: &NewOperation,
        holder: &str,
        lease_until: i64,
        duplicate_since: Option<i64>,
        known: Option<(&str, &Facts)>,
    ) -> Result<Recorded, JournalError> {
        let now = now_ms();
        let till = self.till.clone();
        let tx = self.db.begin()?;
        let exists = tx.query_opt("SELECT id FROM operations WHERE id = ?1", args![&op.id])?;
        if exists.is_some() {
            return Err(JournalError::DuplicateId(op.id.clone()));
        }
        if let Some(since) = duplicate_since
            && let Some(existing) = duplicate_in(&tx, op.kind, &op.customer, op.amount, since)?
        {
            return Ok(Recorded::Duplicate(existing));
        }
        tx.execute(
            "INSERT INTO operations (id, kind, state, amount_minor, currency, customer, \
             customer_name, endpoint, identity, lease_holder, lease_until, created_at, updated_at, \
             params, till) \
             VALUES (?1, ?2, 'pending', ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?11, ?12, ?13)",
            args![
                &op.id,
                op.kind.tag(),
                op.amount.minor(),
                op.amount.currency().code(),
                &op.customer,
                &op.customer_name,
                &op.endpoint,
                &op.identity,
                holder,
                lease_until,
                now,
                &op.params,
                (!till.is_empty()).then_some(till)
            ],
        )?;
        tx.execute(
            "INSERT INTO events (op_id, at, kind, detail) VALUES (?1, ?2, 'created', ?3)",
            args![
                &op.id,
                now,
                format!(
                    "pending; {} to {} via {}",
                    op.amount.to_wire_decimal(),
                    op.customer,
                    op.endpoint
                )
            ],
        )?;
        if let Some((note, facts)) = known {
            tx.execute(
                "INSERT INTO events (op_id, at, kind, detail) VALUES (?1, ?2, 'action', ?3)",
                args![&op.id, now, note],
            )?;
            super::transition::transition_in(
                &tx,
                &op.id,
                holder,
                Some(super::State::Pending),
                super::State::Pending,
                facts,
            )?;
        }
        tx.commit()?;
        self.get(&op.id).map(Recorded::New)
    }

    /// An operation like this one (same kind, customer, amount) still pending, however old
    /// (a long PENDING may still go through), or completed since `since_ms`: the
    /// accidental double of rule 8.
    pub fn find_duplicate(
        &self,
        kind: Kind,
        customer: &str,
        amount: Amount,
        since_ms: i64,
    ) -> Result<Option<Operation>, JournalError> {
        duplicate_in(&self.db, kind, customer, amount, since_ms)
    }

    /// Adds a line to an operation's audit trail.
    pub fn note(&mut self, id: &str, kind: &str, detail: &str) -> Result<(), JournalError> {
        self.db.execute(
            "INSERT INTO events (op_id, at, kind, detail) VALUES (?1, ?2, ?3, ?4)",
            args![id, now_ms(), kind, detail],
        )?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::journal::fixture::{each_journal, each_pair, new_op};
    use crate::journal::{Facts, State};
    use crate::money::Currency;

    /// A row the provider already knows is written with its id at the provider and its
    /// note in the insert's own transaction; an id taken is refused whole.
    #[test]
    fn a_known_row_is_written_with_its_provider_id_at_once() -> Result<(), JournalError> {
        each_journal(|j| {
            let facts = Facts {
                provider_ref: Some("3794392756034717".into()),
                ..Facts::default()
            };
            let op = j.record_known(
                &new_op("hold-1", 100),
                "me",
                now_ms() + 1000,
                "adopted",
                &facts,
            )?;
            assert_eq!(op.state, State::Pending);
            assert_eq!(op.provider_ref.as_deref(), Some("3794392756034717"));
            let kinds: Vec<String> = j.events("hold-1")?.into_iter().map(|e| e.kind).collect();
            assert_eq!(kinds, ["created", "action", "state"]);
            let again = j.record_known(&new_op("hold-1", 100), "you", now_ms() + 1000, "x", &facts);
            assert!(
                matches!(again, Err(JournalError::DuplicateId(_))),
                "{again:?}"
            );
            assert_eq!(j.events("hold-1")?.len(), 3);
            Ok(())
        })
    }

    /// Two tills record the same payment at the same instant under different ids: one row
    /// is written, and the other till is told of it (the duplicate guard across a chain).
    #[test]
    fn two_tills_recording_one_payment_at_once_write_one_row() -> Result<(), JournalError> {
        each_pair(|a, b| {
            for round in 0..20 {
                let since = now_ms() - 600_000;
                let barrier = std::sync::Barrier::new(2);
                let go = |j: &mut Journal, id: String| {
                    let mut op = new_op(&id, 10_000 + round);
                    op.customer = format!("7707{round:07}");
                    barrier.wait();
                    j.record_pending_unless_duplicate(&op, "me", now_ms() + 60_000, since)
                };
                let (ra, rb) = std::thread::scope(|s| {
                    let ta = s.spawn(|| go(a, format!("{{a{round}}}")));
                    let tb = s.spawn(|| go(b, format!("{{b{round}}}")));
                    (ta.join(), tb.join())
                });
                let (Ok(ra), Ok(rb)) = (ra, rb) else {
                    panic!("a till's thread panicked");
                };
                let new = [ra?, rb?]
                    .iter()
                    .filter(|r| matches!(r, Recorded::New(_)))
                    .count();
                assert_eq!(new, 1, "round {round}: exactly one row is written");
            }
            let rows = a.list(&crate::journal::ListFilter::default())?;
            assert_eq!(rows.len(), 20);
            Ok(())
        })
    }

    #[test]
    fn duplicates_and_counts() -> Result<(), JournalError> {
        each_journal(|j| {
            let since = now_ms() - 600_000;
            j.record_pending(&new_op("{d}", 100), "me", now_ms() + 1000)?;
            let a = Amount::from_minor(100, Currency::Kzt)
                .map_err(|e| JournalError::Corrupt(e.to_string()))?;
            let b = Amount::from_minor(200, Currency::Kzt)
                .map_err(|e| JournalError::Corrupt(e.to_string()))?;
            let dup = j.find_duplicate(Kind::AllpayCashIn, "77072734954", a, since)?;
            assert_eq!(dup.map(|o| o.id).as_deref(), Some("{d}"));
            assert!(
                j.find_duplicate(Kind::AllpayCashIn, "77072734954", b, since)?
                    .is_none()
            );
            // However old a pending one is, it still counts: a long PENDING may yet go through.
            let later = now_ms() + 60_000;
            assert!(
                j.find_duplicate(Kind::AllpayCashIn, "77072734954", a, later)?
                    .is_some()
            );
            assert_eq!(j.counts()?, (1, 0));
            assert!(matches!(
                j.record_pending_unless_duplicate(&new_op("{d2}", 100), "me", now_ms(), since)?,
                Recorded::Duplicate(o) if o.id == "{d}"
            ));
            assert!(j.find("{d2}")?.is_none());
            assert!(
                j.mark_reconciliation("{d}", "other", "recon.endpoint_changed", "x")
                    .is_err()
            );
            j.mark_reconciliation("{d}", "me", "recon.endpoint_changed", "x")?;
            assert!(matches!(
                j.record_attempt("{d}", "me", now_ms() + 1000),
                Err(JournalError::NeedsReconciliation(_))
            ));
            assert_eq!(j.counts()?, (1, 1));
            assert!(j.claim_pending("me", now_ms() + 1000)?.is_empty());
            // A real final answer settles the question the flag asked.
            let op = j.transition("{d}", "me", State::Completed, &Facts::default())?;
            assert!(!op.needs_reconciliation);
            assert_eq!(j.counts()?, (0, 0));
            Ok(())
        })
    }
}
