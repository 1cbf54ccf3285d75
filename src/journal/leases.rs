//! Leases: which process drives a pending row, so that two never send the same one
//! (rule 7), and how the rows of a holder that is gone are freed.

use super::db::{Db, Dialect, args};
use super::{Journal, JournalError, Kind, now_ms};

/// [`Journal::claim`] on `db` (inside a caller's transaction).
pub(super) fn claim_in(
    db: &Db,
    id: &str,
    holder: &str,
    lease_until: i64,
    now: i64,
) -> Result<bool, JournalError> {
    let n = db.execute(
        "UPDATE operations SET \
             lease_until = CASE WHEN lease_holder = ?2 AND COALESCE(lease_until, 0) > ?3 \
                           THEN lease_until ELSE ?3 END, \
             lease_holder = ?2 \
             WHERE id = ?1 AND (state = 'pending' OR (state = 'issued' AND kind = 'wooppay.invoice')) AND needs_reconciliation = 0 \
             AND (lease_holder IS NULL OR lease_holder = ?2 OR lease_until < ?4)",
        args![id, holder, lease_until, now],
    )?;
    Ok(n == 1)
}

impl Journal {
    /// Claims one pending row for `holder` until `lease_until` if nobody else holds it; a
    /// holder's own lease is only ever extended by this, never shortened.
    pub fn claim(
        &mut self,
        id: &str,
        holder: &str,
        lease_until: i64,
    ) -> Result<bool, JournalError> {
        claim_in(&self.db, id, holder, lease_until, now_ms())
    }

    /// Claims every pending row nobody holds (and that does not wait for a person), in one
    /// transaction with the read, so two processes never take the same row (rule 7). Rows
    /// this holder already drives keep their leases. Only their ids and kinds, oldest
    /// first: hundreds of rows are not read whole at once (a row is read when its turn to
    /// be sent comes).
    pub fn claim_pending(
        &mut self,
        holder: &str,
        lease_until: i64,
    ) -> Result<Vec<(String, Kind)>, JournalError> {
        self.claim_pending_mine(holder, lease_until, |_, _, _| true)
    }

    /// As [`Journal::claim_pending`], only the rows `mine` accepts by their kind, endpoint
    /// and identity: on a chain's journal, a till claims the rows its own configuration can
    /// send (the journal's first rule) and leaves another account's alone, unclaimed.
    pub fn claim_pending_mine(
        &mut self,
        holder: &str,
        lease_until: i64,
        mine: impl Fn(Kind, &str, &str) -> bool,
    ) -> Result<Vec<(String, Kind)>, JournalError> {
        let now = now_ms();
        // On a chain, a row another process is claiming this instant is skipped, not waited
        // for; its lease says who drives it once that commits.
        let mut sql = String::from(
            "SELECT id, kind, endpoint, identity FROM operations WHERE (state = 'pending' OR (state = 'issued' AND kind = 'wooppay.invoice')) \
             AND needs_reconciliation = 0 \
             AND (lease_holder IS NULL OR lease_until < ?1) \
             ORDER BY created_at",
        );
        if self.db.dialect() == Dialect::Postgres {
            sql.push_str(" FOR UPDATE SKIP LOCKED");
        }
        let tx = self.db.begin_rows()?;
        let rows = tx.query(&sql, args![now])?;
        let mut claimed = Vec::with_capacity(rows.len());
        for r in rows {
            let (id, kind): (String, String) = (r.get(0)?, r.get(1)?);
            let kind = Kind::from_tag(&kind)
                .ok_or_else(|| JournalError::Corrupt(format!("{id}: unknown kind {kind}")))?;
            if !mine(kind, &r.get::<String>(2)?, &r.get::<String>(3)?) {
                continue;
            }
            tx.execute(
                "UPDATE operations SET lease_holder = ?2, lease_until = ?3 WHERE id = ?1",
                args![&id, holder, lease_until],
            )?;
            claimed.push((id, kind));
        }
        tx.commit()?;
        Ok(claimed)
    }

    /// Gives back every row `holder` holds (this process stopping): one transaction, however
    /// many rows wait for their next poll.
    pub fn release_all(&mut self, holder: &str) -> Result<usize, JournalError> {
        self.db.execute(
            "UPDATE operations SET lease_holder = NULL, lease_until = NULL WHERE lease_holder = ?1",
            args![holder],
        )
    }

    /// Gives a row back so that another process may take it at once.
    pub fn release(&mut self, id: &str, holder: &str) -> Result<(), JournalError> {
        self.db.execute(
            "UPDATE operations SET lease_holder = NULL, lease_until = NULL \
             WHERE id = ?1 AND lease_holder = ?2",
            args![id, holder],
        )?;
        Ok(())
    }

    /// Frees the leases of holders that `alive` says are gone (a process killed mid-send on
    /// this machine), so their rows are resumed now rather than when the lease runs out. The
    /// row stays as it was: pending, with the same id, sent again only by the rules that
    /// apply to any pending row. Returns how many rows were freed.
    pub fn release_dead_leases(
        &mut self,
        alive: impl Fn(&str) -> bool,
    ) -> Result<usize, JournalError> {
        let now = now_ms();
        let tx = self.db.begin()?;
        let holders = tx
            .query(
                "SELECT DISTINCT lease_holder FROM operations \
                 WHERE lease_holder IS NOT NULL AND lease_until >= ?1",
                args![now],
            )?
            .into_iter()
            .map(|r| r.get::<String>(0))
            .collect::<Result<Vec<_>, _>>()?;
        let mut freed = 0;
        for h in holders.iter().filter(|h| !alive(h)) {
            tx.execute(
                "INSERT INTO events (op_id, at, kind, detail) \
                 SELECT id, CAST(?2 AS BIGINT), 'lease', CAST(?3 AS TEXT) FROM operations \
                 WHERE lease_holder = ?1",
                args![h, now, format!("released: holder {h} is gone")],
            )?;
            freed += tx.execute(
                "UPDATE operations SET lease_holder = NULL, lease_until = NULL \
                 WHERE lease_holder = ?1",
                args![h],
            )?;
        }
        tx.commit()?;
        Ok(freed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::journal::State;
    use crate::journal::fixture::{each_journal, new_op};

    #[test]
    fn a_row_is_pending_and_claimed_before_anything_is_sent() -> Result<(), JournalError> {
        each_journal(|j| {
            let far = now_ms() + 60_000;
            let op = j.record_pending(&new_op("{a}", 500_000), "me", far)?;
            assert_eq!(op.state, State::Pending);
            assert_eq!(j.events("{a}")?.len(), 1);
            assert!(matches!(
                j.record_pending(&new_op("{a}", 1), "me", far),
                Err(JournalError::DuplicateId(_))
            ));
            // Another process cannot take it while the lease runs.
            assert!(!j.claim("{a}", "other", far)?);
            assert!(j.claim_pending("other", far)?.is_empty());
            assert!(matches!(
                j.record_attempt("{a}", "other", far),
                Err(JournalError::LeaseHeld { .. })
            ));
            assert_eq!(j.record_attempt("{a}", "me", far)?, 1);
            j.release("{a}", "me")?;
            assert_eq!(j.claim_pending("other", far)?.len(), 1);
            // A holder's own lease is extended by a claim, never shortened.
            assert!(j.claim("{a}", "other", far + 5_000)?);
            assert!(j.claim("{a}", "other", now_ms() + 1)?);
            assert!(!j.claim("{a}", "third", far)?);
            assert!(
                j.claim_pending("other", far)?.is_empty(),
                "own rows are not re-claimed"
            );
            Ok(())
        })
    }

    #[test]
    fn an_expired_lease_can_be_taken_over() -> Result<(), JournalError> {
        each_journal(|j| {
            j.record_pending(&new_op("{b}", 100), "dead", now_ms() - 1)?;
            let claimed = j.claim_pending("alive", now_ms() + 60_000)?;
            assert_eq!(claimed.len(), 1);
            Ok(())
        })
    }
}
