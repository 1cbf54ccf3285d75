//! How a row's state moves: an attempt going out, a reply's transition, the flag that a
//! person must reconcile it and that person's resolution, and an action started on a
//! long-lived row.

use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};

use super::{Facts, Journal, JournalError, Operation, State, allowed, now_ms};

/// A row's state and whether it waits for a person, read inside the caller's transaction.
fn state_of(conn: &Connection, id: &str) -> Result<(State, bool), JournalError> {
    let (state, recon): (String, bool) = conn
        .query_row(
            "SELECT state, needs_reconciliation FROM operations WHERE id = ?1",
            [id],
            |r| Ok((r.get(0)?, r.get::<_, i64>(1)? != 0)),
        )
        .optional()?
        .ok_or_else(|| JournalError::NotFound(id.to_string()))?;
    let state = State::from_tag(&state)
        .ok_or_else(|| JournalError::Corrupt(format!("{id}: unknown state {state}")))?;
    Ok((state, recon))
}

impl Journal {
    /// Records that attempt `n` is about to go out, renewing the sender's lease.
    pub fn record_attempt(
        &mut self,
        id: &str,
        holder: &str,
        lease_until: i64,
    ) -> Result<u32, JournalError> {
        let now = now_ms();
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let (state, lease_holder, lease, recon): (String, Option<String>, Option<i64>, bool) = tx
            .query_row(
                "SELECT state, lease_holder, lease_until, needs_reconciliation FROM operations \
                 WHERE id = ?1",
                [id],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get::<_, i64>(3)? != 0)),
            )
            .optional()?
            .ok_or_else(|| JournalError::NotFound(id.to_string()))?;
        if let Some(h) = lease_holder.filter(|h| h != holder && lease.unwrap_or(0) > now) {
            return Err(JournalError::LeaseHeld {
                id: id.to_string(),
                holder: h,
            });
        }
        if recon {
            return Err(JournalError::NeedsReconciliation(id.to_string()));
        }
        let from = State::from_tag(&state).unwrap_or(State::Prepared);
        // An issued invoice is polled for its status: an attempt like a pending row's.
        if !matches!(from, State::Pending | State::Issued) {
            return Err(JournalError::IllegalTransition {
                id: id.to_string(),
                from,
                to: State::Pending,
            });
        }
        tx.execute(
            "UPDATE operations SET attempts = attempts + 1, lease_holder = ?2, lease_until = ?3, \
             updated_at = ?4 WHERE id = ?1",
            params![id, holder, lease_until, now],
        )?;
        let n: i64 = tx.query_row("SELECT attempts FROM operations WHERE id = ?1", [id], |r| {
            r.get(0)
        })?;
        tx.execute(
            "INSERT INTO events (op_id, at, kind, detail) VALUES (?1, ?2, 'sent', ?3)",
            params![id, now, format!("attempt {n} by {holder}")],
        )?;
        tx.commit()?;
        Ok(u32::try_from(n).unwrap_or(u32::MAX))
    }

    /// Moves an operation to `to`, keeping the reply's facts, in one transaction with its
    /// audit event. The only way a row's state changes. A repeat of the current final
    /// state is a no-op; any other move out of a final state is refused and noted as an
    /// anomaly (rule 4).
    pub fn transition(
        &mut self,
        id: &str,
        holder: &str,
        to: State,
        facts: &Facts,
    ) -> Result<Operation, JournalError> {
        let now = now_ms();
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let (state, lease_holder, lease): (String, Option<String>, Option<i64>) = tx
            .query_row(
                "SELECT state, lease_holder, lease_until FROM operations WHERE id = ?1",
                [id],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .optional()?
            .ok_or_else(|| JournalError::NotFound(id.to_string()))?;
        let from = State::from_tag(&state)
            .ok_or_else(|| JournalError::Corrupt(format!("{id}: unknown state {state}")))?;
        if from.is_final() && from == to {
            drop(tx);
            return self.get(id);
        }
        if !allowed(from, to) {
            tx.execute(
                "INSERT INTO events (op_id, at, kind, detail) VALUES (?1, ?2, 'anomaly', ?3)",
                params![
                    id,
                    now,
                    format!(
                        "refused {from} -> {to}; reply status {}",
                        facts.provider_status.as_deref().unwrap_or("-")
                    )
                ],
            )?;
            tx.commit()?;
            return Err(JournalError::IllegalTransition {
                id: id.to_string(),
                from,
                to,
            });
        }
        if let Some(h) = lease_holder.filter(|h| h != holder && lease.unwrap_or(0) > now) {
            return Err(JournalError::LeaseHeld {
                id: id.to_string(),
                holder: h,
            });
        }
        let final_at = to.is_final().then_some(now);
        tx.execute(
            "UPDATE operations SET state = ?2, \
             provider_status = COALESCE(?3, provider_status), \
             provider_message = CASE WHEN ?9 THEN ?4 ELSE COALESCE(?4, provider_message) END, \
             provider_ref = COALESCE(?5, provider_ref), \
             detail = COALESCE(?6, detail), \
             link = COALESCE(?10, link), message_key = COALESCE(?11, message_key), \
             updated_at = ?7, final_at = COALESCE(?8, final_at), \
             lease_holder = CASE WHEN ?9 THEN NULL ELSE lease_holder END, \
             lease_until = CASE WHEN ?9 THEN NULL ELSE lease_until END, \
             needs_reconciliation = CASE WHEN ?9 THEN 0 ELSE needs_reconciliation END \
             WHERE id = ?1",
            params![
                id,
                to.tag(),
                facts.provider_status,
                facts.provider_message,
                facts.provider_ref,
                facts.detail,
                now,
                final_at,
                to.is_final(),
                facts.link,
                facts.message_key
            ],
        )?;
        let what = if from == to {
            format!("still {to}")
        } else {
            format!("{from} -> {to}")
        };
        tx.execute(
            "INSERT INTO events (op_id, at, kind, detail) VALUES (?1, ?2, 'state', ?3)",
            params![
                id,
                now,
                format!(
                    "{what}; status {}",
                    facts.provider_status.as_deref().unwrap_or("-")
                )
            ],
        )?;
        tx.commit()?;
        self.get(id)
    }

    /// Marks a row as needing a person to reconcile it; it is not sent again automatically.
    /// `reason` is a catalogue key (shown translated); `detail` the facts, for the trail.
    /// Only the row's holder (or anyone, once its lease ran out) may mark it.
    pub fn mark_reconciliation(
        &mut self,
        id: &str,
        holder: &str,
        reason: &str,
        detail: &str,
    ) -> Result<(), JournalError> {
        let now = now_ms();
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let n = tx.execute(
            "UPDATE operations SET needs_reconciliation = 1, recon_reason = ?2, updated_at = ?3, \
             lease_holder = NULL, lease_until = NULL WHERE id = ?1 AND (state = 'pending' OR (state = 'issued' AND kind = 'wooppay.invoice')) \
             AND (lease_holder IS NULL OR lease_holder = ?4 OR lease_until < ?3)",
            params![id, reason, now, holder],
        )?;
        if n == 0 {
            return Err(JournalError::LeaseHeld {
                id: id.to_string(),
                holder: "another process, or the row is not pending".into(),
            });
        }
        tx.execute(
            "INSERT INTO events (op_id, at, kind, detail) VALUES (?1, ?2, 'reconcile', ?3)",
            params![id, now, format!("{reason}: {detail}")],
        )?;
        tx.commit()?;
        Ok(())
    }

    /// Starts an action on a long-lived row (capture or cancel of a `held` UPay hold): in
    /// one transaction it checks the row is still `from` and free, writes the action's
    /// params (its PartnerTrxId among them) and makes it `pending` under `holder`'s lease,
    /// before the first byte is sent. Two actions on one row can never run at once: the
    /// second finds it pending.
    pub fn begin_action(
        &mut self,
        id: &str,
        holder: &str,
        lease_until: i64,
        from: State,
        params: &str,
        what: &str,
    ) -> Result<Operation, JournalError> {
        let now = now_ms();
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let (current, recon) = state_of(&tx, id)?;
        if recon {
            return Err(JournalError::NeedsReconciliation(id.to_string()));
        }
        if current != from || !allowed(current, State::Pending) {
            return Err(JournalError::IllegalTransition {
                id: id.to_string(),
                from: current,
                to: State::Pending,
            });
        }
        tx.execute(
            "UPDATE operations SET state = 'pending', params = ?2, lease_holder = ?3, \
             lease_until = ?4, updated_at = ?5 WHERE id = ?1",
            params![id, params, holder, lease_until, now],
        )?;
        tx.execute(
            "INSERT INTO events (op_id, at, kind, detail) VALUES (?1, ?2, 'action', ?3)",
            params![id, now, format!("{current} -> pending; {what}")],
        )?;
        tx.commit()?;
        self.get(id)
    }

    /// A person looked a row up with the provider and records what they found: a row that
    /// waits for reconciliation becomes `to` (completed, declined or cancelled), with the
    /// note in its audit trail as a manual resolution.
    pub fn resolve_manually(
        &mut self,
        id: &str,
        to: State,
        note: &str,
    ) -> Result<Operation, JournalError> {
        let now = now_ms();
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let (from, recon) = state_of(&tx, id)?;
        if !recon || !to.is_final() || !allowed(from, to) {
            return Err(JournalError::IllegalTransition {
                id: id.to_string(),
                from,
                to,
            });
        }
        tx.execute(
            "UPDATE operations SET state = ?2, needs_reconciliation = 0, updated_at = ?3, \
             final_at = ?3, lease_holder = NULL, lease_until = NULL, note = ?4 WHERE id = ?1",
            params![id, to.tag(), now, note],
        )?;
        tx.execute(
            "INSERT INTO events (op_id, at, kind, detail) VALUES (?1, ?2, 'manual', ?3)",
            params![id, now, format!("{from} -> {to} by a person: {note}")],
        )?;
        tx.commit()?;
        self.get(id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::journal::fixture::{journal, new_op};

    #[test]
    fn final_states_stay_final() -> Result<(), JournalError> {
        let (_d, mut j) = journal();
        j.record_pending(&new_op("{c}", 100), "me", now_ms() + 60_000)?;
        let facts = Facts {
            provider_status: Some("COMPLETED".into()),
            ..Facts::default()
        };
        let op = j.transition("{c}", "me", State::Completed, &facts)?;
        assert_eq!(op.state, State::Completed);
        assert!(op.final_at.is_some());
        // The same answer again changes nothing; a contradicting one is refused and noted.
        assert_eq!(
            j.transition("{c}", "me", State::Completed, &facts)?.state,
            State::Completed
        );
        assert!(matches!(
            j.transition("{c}", "me", State::Declined, &Facts::default()),
            Err(JournalError::IllegalTransition { .. })
        ));
        assert_eq!(j.get("{c}")?.state, State::Completed);
        assert!(j.events("{c}")?.iter().any(|e| e.kind == "anomaly"));
        assert!(matches!(
            j.record_attempt("{c}", "me", now_ms()),
            Err(JournalError::IllegalTransition { .. })
        ));
        Ok(())
    }
}
