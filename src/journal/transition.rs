//! How a row's state moves: an attempt going out, a reply's transition, the flag that a
//! person must reconcile it and that person's resolution, and an action started on a
//! long-lived row.

use super::db::{Db, Row, args};

use super::{Facts, Journal, JournalError, Operation, State, allowed, now_ms};

/// A re-send that may go out without a write: how long (ms) its lease must still run from
/// the moment the journal looks, and whether the provider dedupes the row as it stands.
type Resend = (i64, fn(&Operation) -> bool);

/// Columns of operation `id` (`sql` selects them `WHERE id = ?1`); not found is an error.
fn row_of(db: &Db, sql: &str, id: &str) -> Result<Row, JournalError> {
    db.query_opt(sql, args![id])?
        .ok_or_else(|| JournalError::NotFound(id.to_string()))
}

/// A row's state and whether it waits for a person, read inside the caller's transaction.
fn state_of(db: &Db, id: &str) -> Result<(State, bool), JournalError> {
    let row = row_of(
        db,
        "SELECT state, needs_reconciliation FROM operations WHERE id = ?1",
        id,
    )?;
    let (state, recon): (String, bool) = (row.get(0)?, row.get(1)?);
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
        self.begin_attempt(id, holder, lease_until).map(|(n, _)| n)
    }

    /// As [`Journal::record_attempt`], and the row as the attempt will send it (an earlier
    /// reply may have given it a provider id), read in the same transaction: a poll's first
    /// of its two.
    pub fn begin_attempt(
        &mut self,
        id: &str,
        holder: &str,
        lease_until: i64,
    ) -> Result<(u32, Operation), JournalError> {
        self.begin_attempt_in(id, holder, lease_until, None)
            .map(|(n, op, _)| (n, op))
    }

    /// As [`Journal::begin_attempt`] for a driver's re-send: when the provider dedupes the
    /// row as it stands (`deduped`), the row is still this holder's under a lease that runs
    /// at least `covers_ms` more when the journal looks, and its last poll changed nothing,
    /// nothing is written: the id went to disk before the first send, and the attempt is
    /// counted with its answer ([`Journal::count_attempt`]). A poll is then one commit.
    /// A row the provider does not dedupe has its `sent` line written before it goes.
    /// The third value says whether the attempt is already counted.
    pub fn begin_resend(
        &mut self,
        id: &str,
        holder: &str,
        lease_until: i64,
        covers_ms: i64,
        deduped: fn(&Operation) -> bool,
    ) -> Result<(u32, Operation, bool), JournalError> {
        self.begin_attempt_in(id, holder, lease_until, Some((covers_ms, deduped)))
    }

    /// Counts attempt `attempt`, sent at `at`, that its start did not count (a re-send
    /// [`Journal::begin_resend`] wrote nothing for): the row's attempts rise to it.
    pub fn count_attempt(&mut self, id: &str, attempt: u32, at: i64) -> Result<(), JournalError> {
        let tx = self.db.begin()?;
        tx.execute(
            "UPDATE operations SET attempts = CASE WHEN attempts < ?2 THEN ?2 ELSE attempts END, \
             updated_at = CASE WHEN attempts < ?2 THEN ?3 ELSE updated_at END WHERE id = ?1",
            args![id, attempt, at],
        )?;
        tx.commit()
    }

    fn begin_attempt_in(
        &mut self,
        id: &str,
        holder: &str,
        lease_until: i64,
        resend: Option<Resend>,
    ) -> Result<(u32, Operation, bool), JournalError> {
        let now = now_ms();
        let tx = self.db.begin()?;
        let row = row_of(
            &tx,
            "SELECT state, lease_holder, lease_until, needs_reconciliation FROM operations \
             WHERE id = ?1",
            id,
        )?;
        let (state, lease_holder, lease, recon): (String, Option<String>, Option<i64>, bool) =
            (row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?);
        let ours = lease_holder.as_deref() == Some(holder);
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
        // A re-send after a poll that changed nothing is told with its answer (which most
        // often changes nothing either, and only counts on): hundreds of rows polling for an
        // afternoon leave a line per run in their trails, not two per poll.
        let quiet = after_quiet_poll(last_event(&tx, id)?.as_ref());
        if let Some((covers_ms, deduped)) = resend
            && quiet
            && ours
            && lease.unwrap_or(0) >= now_ms().saturating_add(covers_ms)
        {
            let mut op = super::read::get_in(&tx, id)?;
            if op.attempts > 0 && deduped(&op) {
                // Nothing was written: the transaction ends without touching the disk.
                tx.commit()?;
                op.attempts = op.attempts.saturating_add(1);
                return Ok((op.attempts, op, false));
            }
        }
        tx.execute(
            "UPDATE operations SET attempts = attempts + 1, lease_holder = ?2, lease_until = ?3, \
             updated_at = ?4 WHERE id = ?1",
            args![id, holder, lease_until, now],
        )?;
        let op = super::read::get_in(&tx, id)?;
        let n = op.attempts;
        // A send the provider would not dedupe is in the trail before it goes, whatever came
        // before it.
        let undeduped = resend.is_some_and(|(_, deduped)| !deduped(&op));
        if !quiet || undeduped {
            tx.execute(
                "INSERT INTO events (op_id, at, kind, detail) VALUES (?1, ?2, 'sent', ?3)",
                args![id, now, sent_words(n, holder)],
            )?;
        }
        tx.commit()?;
        Ok((n, op, true))
    }

    /// A poll's answer that leaves the row in flight (still pending, or issued), with the
    /// trouble met on the way as a note and the sender's lease renewed to cover the wait
    /// before the next attempt, in one transaction: a poll's second of its two. Compare-and-set
    /// on `from`. `None` when the row can no longer be claimed (a person took it over
    /// meanwhile): the move is kept, and the caller stops driving it.
    #[allow(clippy::too_many_arguments)]
    pub fn answer_poll(
        &mut self,
        id: &str,
        holder: &str,
        from: State,
        to: State,
        facts: &Facts,
        trouble: Option<&str>,
        lease_until: i64,
    ) -> Result<Option<Operation>, JournalError> {
        let now = now_ms();
        let tx = self.db.begin()?;
        let last = last_event(&tx, id)?;
        let (attempt, sent_at) = attempt_of(&tx, id)?;
        let unsaid = last_told(&tx, id)? < attempt;
        if let Some(words) = move_in(&tx, id, holder, Some(from), to, facts)? {
            if unsaid && from == to && after_quiet_poll(last.as_ref()) {
                // Nothing moved after a poll that moved nothing: the run's line counts on.
                // The trouble comes first and holds no "; ": the provider's status, last,
                // may say anything without passing for ours.
                let words = match trouble {
                    Some(t) => format!("{TROUBLE}{}; {words}", t.replace("; ", ", ")),
                    None => words,
                };
                count_poll(&tx, id, holder, attempt, last.as_ref(), &words, now)?;
            } else {
                if unsaid {
                    insert_event(&tx, id, sent_at, "sent", &sent_words(attempt, holder))?;
                }
                insert_event(&tx, id, now, "state", &words)?;
                if let Some(detail) = trouble {
                    insert_event(&tx, id, now, "error", detail)?;
                }
            }
        }
        let claimed = super::leases::claim_in(&tx, id, holder, lease_until, now)?;
        let op = super::read::get_in(&tx, id)?;
        tx.commit()?;
        Ok(claimed.then_some(op))
    }

    /// Writes the row's last attempt into its trail if its start did not (a re-send after a
    /// poll that changed nothing): a driver does so before a reply that ends the run of such
    /// polls (a final word, a question for a person) is kept.
    pub fn tell_attempt(&mut self, id: &str, holder: &str) -> Result<(), JournalError> {
        let tx = self.db.begin()?;
        let (attempt, sent_at) = attempt_of(&tx, id)?;
        if last_told(&tx, id)? < attempt {
            insert_event(&tx, id, sent_at, "sent", &sent_words(attempt, holder))?;
        }
        tx.commit()
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
        self.transition_from(id, holder, None, to, facts)
    }

    /// As [`Journal::transition`], compare-and-set: the move is made only while the row is
    /// still in `expect` (the state read when the request went out), so that a late reply
    /// never undoes what happened since (a stale check reopening a capture).
    pub fn transition_from(
        &mut self,
        id: &str,
        holder: &str,
        expect: Option<State>,
        to: State,
        facts: &Facts,
    ) -> Result<Operation, JournalError> {
        self.transitions(id, holder, expect, &[(to, facts)])
    }

    /// Several moves of one row in one transaction (a Wooppay invoice paid, then reported
    /// reversed): all are made or none.
    pub fn transitions(
        &mut self,
        id: &str,
        holder: &str,
        expect: Option<State>,
        moves: &[(State, &Facts)],
    ) -> Result<Operation, JournalError> {
        let tx = self.db.begin()?;
        let mut expect = expect;
        for (to, facts) in moves {
            match transition_in(&tx, id, holder, expect, *to, facts) {
                Ok(_) => {}
                Err(e @ JournalError::IllegalTransition { .. }) if moves.len() == 1 => {
                    // The refusal's anomaly event is kept even though nothing moved.
                    tx.commit()?;
                    return Err(e);
                }
                Err(e @ JournalError::IllegalTransition { .. }) => {
                    // All or none: the moves made so far are undone; the refusal is noted.
                    drop(tx);
                    self.note(id, "anomaly", &format!("refused, nothing moved: {e}"))?;
                    return Err(e);
                }
                Err(e) => return Err(e),
            }
            expect = Some(*to);
        }
        tx.commit()?;
        self.get(id)
    }

    /// Applies an answer that came outside the row's own driver (a status query, a
    /// notification): its notes, the check that the row is still the one asked about, the
    /// moves and, when the answer is for a person, the mark, all in one transaction,
    /// compare-and-set on the state the caller read. The notes are kept whatever happens to
    /// the moves: a row another live process holds is left to it (its own driver reads the
    /// same answer) and returned unmoved; a row that moved since (`Stale`) or a move the
    /// lifecycle refuses (`IllegalTransition`, noted as an anomaly) moves nothing.
    pub fn apply_answer(
        &mut self,
        id: &str,
        holder: &str,
        answer: &Answer<'_>,
    ) -> Result<Operation, JournalError> {
        let now = now_ms();
        let mut tx = self.db.begin()?;
        for (kind, detail) in answer.notes {
            tx.execute(
                "INSERT INTO events (op_id, at, kind, detail) VALUES (?1, ?2, ?3, ?4)",
                args![id, now, kind, detail],
            )?;
        }
        let moved = {
            let sp = tx.savepoint()?;
            let r = moves_in(&sp, id, holder, answer, now);
            if r.is_ok() {
                sp.commit()?;
            }
            r
        };
        match moved {
            Ok(()) => {}
            Err(e @ JournalError::Stale { .. }) => {
                tx.commit()?;
                return Err(e);
            }
            Err(e @ (JournalError::IllegalTransition { .. } | JournalError::LeaseHeld { .. })) => {
                tx.execute(
                    "INSERT INTO events (op_id, at, kind, detail) VALUES (?1, ?2, 'anomaly', ?3)",
                    args![id, now, format!("refused, nothing moved: {e}")],
                )?;
                tx.commit()?;
                return Err(e);
            }
            Err(e) => return Err(e),
        }
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
        let tx = self.db.begin()?;
        mark_in(&tx, id, holder, reason, detail, now_ms())?;
        tx.commit()?;
        Ok(())
    }

    /// Asks a person about a row whatever its state (a final card the provider later
    /// contradicted): the row does not move; it shows as waiting for a person until one
    /// says which word was true.
    pub fn flag_for_person(
        &mut self,
        id: &str,
        reason: &str,
        detail: &str,
    ) -> Result<Operation, JournalError> {
        let now = now_ms();
        let tx = self.db.begin()?;
        let n = tx.execute(
            "UPDATE operations SET needs_reconciliation = 1, recon_reason = ?2, updated_at = ?3 \
             WHERE id = ?1",
            args![id, reason, now],
        )?;
        if n == 0 {
            return Err(JournalError::NotFound(id.to_string()));
        }
        tx.execute(
            "INSERT INTO events (op_id, at, kind, detail) VALUES (?1, ?2, 'reconcile', ?3)",
            args![id, now, format!("{reason}: {detail}")],
        )?;
        tx.commit()?;
        self.get(id)
    }

    /// Starts an action on a long-lived row (capture or cancel of a `held` UPay hold): in
    /// one transaction it checks the row is still `from` and free, writes the action's
    /// params (its PartnerTrxId among them) and makes it `pending` under `holder`'s lease,
    /// before the first byte is sent. Two actions on one row can never run at once: the
    /// second finds it pending, or, should the row read `from` while something still works
    /// on it, leased. A live lease refuses the action whoever holds it, `holder` included:
    /// this process's own driver (an action under way, a create not yet let go) is as busy
    /// as another's. A lease of a process that is gone is freed first by the caller.
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
        let tx = self.db.begin()?;
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
        let lease: Option<String> = tx
            .query_opt(
                "SELECT lease_holder FROM operations WHERE id = ?1 \
             AND lease_holder IS NOT NULL AND lease_until > ?2",
                args![id, now],
            )?
            .map(|r| r.get(0))
            .transpose()?;
        if let Some(h) = lease {
            return Err(JournalError::LeaseHeld {
                id: id.to_string(),
                holder: h,
            });
        }
        tx.execute(
            "UPDATE operations SET state = 'pending', params = ?2, lease_holder = ?3, \
             lease_until = ?4, updated_at = ?5 WHERE id = ?1",
            args![id, params, holder, lease_until, now],
        )?;
        tx.execute(
            "INSERT INTO events (op_id, at, kind, detail) VALUES (?1, ?2, 'action', ?3)",
            args![id, now, format!("{current} -> pending; {what}")],
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
        let tx = self.db.begin()?;
        let (from, recon) = state_of(&tx, id)?;
        // A final row a person was asked about (two words of the provider that disagree)
        // keeps its state: the person's word clears the question, it never moves the row.
        let keeps = from.is_final() && from == to;
        if !recon || !to.is_final() || !(allowed(from, to) || keeps) {
            return Err(JournalError::IllegalTransition {
                id: id.to_string(),
                from,
                to,
            });
        }
        tx.execute(
            "UPDATE operations SET state = ?2, needs_reconciliation = 0, updated_at = ?3, \
             final_at = ?3, lease_holder = NULL, lease_until = NULL, note = ?4 WHERE id = ?1",
            args![id, to.tag(), now, note],
        )?;
        tx.execute(
            "INSERT INTO events (op_id, at, kind, detail) VALUES (?1, ?2, 'manual', ?3)",
            args![id, now, format!("{from} -> {to} by a person: {note}")],
        )?;
        tx.commit()?;
        self.get(id)
    }
}

impl Journal {
    /// A person found the operation at the provider and gives its id: the row comes back
    /// into its lifecycle in state `to` (a UPay hold `held`, a Wooppay invoice `issued`, an
    /// X1 invoice `completed`), with the provider's id, and is followed from there. Only a
    /// row that waits for a person, and only a move its lifecycle allows.
    pub fn resume_with_ref(
        &mut self,
        id: &str,
        to: State,
        provider_ref: &str,
        note: &str,
    ) -> Result<Operation, JournalError> {
        let now = now_ms();
        let tx = self.db.begin()?;
        let (from, recon) = state_of(&tx, id)?;
        if !recon || !allowed(from, to) {
            return Err(JournalError::IllegalTransition {
                id: id.to_string(),
                from,
                to,
            });
        }
        // One provider id names one operation: answers and actions find a row by it.
        let taken: Option<String> = tx
            .query_opt(
                "SELECT id FROM operations WHERE provider_ref = ?2 AND id != ?1 \
                 AND kind = (SELECT kind FROM operations WHERE id = ?1)",
                args![id, provider_ref],
            )?
            .map(|r| r.get(0))
            .transpose()?;
        if let Some(other) = taken {
            return Err(JournalError::DuplicateId(format!(
                "{provider_ref} (row {other})"
            )));
        }
        tx.execute(
            "UPDATE operations SET state = ?2, needs_reconciliation = 0, recon_reason = NULL, \
             provider_ref = ?3, updated_at = ?4, \
             final_at = CASE WHEN ?5 = 1 THEN ?4 ELSE NULL END, \
             lease_holder = NULL, lease_until = NULL, note = ?6 WHERE id = ?1",
            args![id, to.tag(), provider_ref, now, to.is_final(), note],
        )?;
        tx.execute(
            "INSERT INTO events (op_id, at, kind, detail) VALUES (?1, ?2, 'manual', ?3)",
            args![
                id,
                now,
                format!("{from} -> {to} by a person, the provider's id {provider_ref}: {note}")
            ],
        )?;
        tx.commit()?;
        self.get(id)
    }
}

/// One move inside the caller's transaction, with its event; `Ok(false)` when the row
/// already was in that final state (nothing to do).
pub(super) fn transition_in(
    tx: &Db,
    id: &str,
    holder: &str,
    expect: Option<State>,
    to: State,
    facts: &Facts,
) -> Result<bool, JournalError> {
    match move_in(tx, id, holder, expect, to, facts)? {
        Some(words) => {
            insert_event(tx, id, now_ms(), "state", &words)?;
            Ok(true)
        }
        None => Ok(false),
    }
}

/// [`transition_in`]'s move without its event: the words the event would say (`None` when
/// the row already was in that final state).
fn move_in(
    tx: &Db,
    id: &str,
    holder: &str,
    expect: Option<State>,
    to: State,
    facts: &Facts,
) -> Result<Option<String>, JournalError> {
    let now = now_ms();
    let row = row_of(
        tx,
        "SELECT state, lease_holder, lease_until, provider_ref, amount_minor FROM operations \
         WHERE id = ?1",
        id,
    )?;
    let (state, lease_holder, lease): (String, Option<String>, Option<i64>) =
        (row.get(0)?, row.get(1)?, row.get(2)?);
    let (provider_ref, amount_minor): (Option<String>, i64) = (row.get(3)?, row.get(4)?);
    let from = State::from_tag(&state)
        .ok_or_else(|| JournalError::Corrupt(format!("{id}: unknown state {state}")))?;
    // The same final word again (a repeat, a second path to one answer): nothing to do.
    if from.is_final() && from == to {
        return Ok(None);
    }
    if let Some(expected) = expect.filter(|e| *e != from) {
        // Another reply or action moved the row since this one was asked: its answer
        // is about a state the row no longer has.
        return Err(JournalError::Stale {
            id: id.to_string(),
            expected,
            found: from,
        });
    }
    if !allowed(from, to) {
        tx.execute(
            "INSERT INTO events (op_id, at, kind, detail) VALUES (?1, ?2, 'anomaly', ?3)",
            args![
                id,
                now,
                format!(
                    "refused {from} -> {to}; reply status {}",
                    facts.provider_status.as_deref().unwrap_or("-")
                )
            ],
        )?;
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
    // A poll that changes nothing an index holds (still in flight, no new provider id, the
    // amount known) writes only the row: hundreds of rows polling rewrite no index pages.
    let in_place = from == to
        && !to.is_final()
        && (facts.provider_ref.is_none() || facts.provider_ref == provider_ref)
        && (facts.amount_minor.is_none() || amount_minor != 0);
    if in_place {
        tx.execute(
            "UPDATE operations SET provider_status = COALESCE(?2, provider_status), \
                 provider_message = COALESCE(?3, provider_message), \
                 detail = COALESCE(?4, detail), link = COALESCE(?5, link), \
                 message_key = COALESCE(?6, message_key), updated_at = ?7 \
                 WHERE id = ?1",
            args![
                id,
                &facts.provider_status,
                &facts.provider_message,
                &facts.detail,
                &facts.link,
                &facts.message_key,
                now
            ],
        )?;
    } else {
        let final_at = to.is_final().then_some(now);
        tx.execute(
            "UPDATE operations SET state = ?2, \
                 provider_status = COALESCE(?3, provider_status), \
                 provider_message = CASE WHEN ?9 = 1 THEN ?4 ELSE COALESCE(?4, provider_message) END, \
                 provider_ref = COALESCE(?5, provider_ref), \
                 detail = COALESCE(?6, detail), \
                 link = COALESCE(?10, link), message_key = COALESCE(?11, message_key), \
                 amount_minor = CASE WHEN amount_minor = 0 AND CAST(?12 AS BIGINT) IS NOT NULL THEN CAST(?12 AS BIGINT) ELSE amount_minor END, \
                 updated_at = ?7, final_at = COALESCE(?8, final_at), \
                 lease_holder = CASE WHEN ?9 = 1 THEN NULL ELSE lease_holder END, \
                 lease_until = CASE WHEN ?9 = 1 THEN NULL ELSE lease_until END, \
                 needs_reconciliation = CASE WHEN ?9 = 1 THEN 0 ELSE needs_reconciliation END \
                 WHERE id = ?1",
            args![
                id,
                to.tag(),
                &facts.provider_status,
                &facts.provider_message,
                &facts.provider_ref,
                &facts.detail,
                now,
                final_at,
                to.is_final(),
                &facts.link,
                &facts.message_key,
                facts.amount_minor
            ],
        )?;
    }
    let what = if from == to {
        format!("still {to}")
    } else {
        format!("{from} -> {to}")
    };
    Ok(Some(format!(
        "{what}; status {}",
        facts.provider_status.as_deref().unwrap_or("-")
    )))
}

fn insert_event(tx: &Db, id: &str, at: i64, kind: &str, detail: &str) -> Result<(), JournalError> {
    tx.execute(
        "INSERT INTO events (op_id, at, kind, detail) VALUES (?1, ?2, ?3, ?4)",
        args![id, at, kind, detail],
    )?;
    Ok(())
}

fn sent_words(attempt: u32, holder: &str) -> String {
    format!("attempt {attempt} by {holder}")
}

/// A row's last event: (seq, kind, detail).
type LastEvent = (i64, String, String);

fn last_event(tx: &Db, id: &str) -> Result<Option<LastEvent>, JournalError> {
    tx.query_opt(
        "SELECT seq, kind, detail FROM events WHERE op_id = ?1 ORDER BY seq DESC LIMIT 1",
        args![id],
    )?
    .map(|r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
    .transpose()
}

/// The attempt a poll's answer is for, and when it went out (the attempt's start stamps
/// the row).
fn attempt_of(tx: &Db, id: &str) -> Result<(u32, i64), JournalError> {
    let row = row_of(
        tx,
        "SELECT attempts, updated_at FROM operations WHERE id = ?1",
        id,
    )?;
    let attempts: i64 = row.get(0)?;
    Ok((u32::try_from(attempts).unwrap_or(0), row.get(1)?))
}

/// The last attempt the row's trail tells (a `sent` line or the end of a run of polls);
/// 0 when none. An attempt above it still needs its line, whatever notes came since.
fn last_told(tx: &Db, id: &str) -> Result<u32, JournalError> {
    let row = tx.query_opt(
        "SELECT kind, detail FROM events WHERE op_id = ?1 AND kind IN ('sent', 'polls') \
         ORDER BY seq DESC LIMIT 1",
        args![id],
    )?;
    let Some(row) = row else { return Ok(0) };
    let (kind, detail): (String, String) = (row.get(0)?, row.get(1)?);
    let told = if kind == "polls" {
        polls_run(&detail).map(|r| r.last)
    } else {
        detail
            .strip_prefix("attempt ")
            .and_then(|r| r.split(' ').next())
            .and_then(|n| n.parse().ok())
    };
    Ok(told.unwrap_or(0))
}

/// How a run's words begin when its polls met a trouble ("trouble: timed out; still
/// pending; status -").
pub const TROUBLE: &str = "trouble: ";

/// Whether the row's trail ends with a poll's answer that left it in flight (a still
/// state, its trouble, or a run of such polls): then the next attempt is told with its
/// own answer.
fn after_quiet_poll(last: Option<&LastEvent>) -> bool {
    matches!(last, Some((_, kind, detail))
        if kind == "polls" || kind == "error" || (kind == "state" && detail.starts_with("still ")))
}

/// Counts attempt `attempt`, whose answer said `words` and moved nothing, into the run of
/// such polls the trail ends with (the same holder, the same words), or starts a run.
fn count_poll(
    tx: &Db,
    id: &str,
    holder: &str,
    attempt: u32,
    last: Option<&LastEvent>,
    words: &str,
    now: i64,
) -> Result<(), JournalError> {
    let run = last.and_then(|(seq, kind, detail)| {
        (kind == "polls")
            .then(|| polls_run(detail))
            .flatten()
            .filter(|r| r.holder == holder && r.words == words)
            .map(|r| (*seq, r.first))
    });
    match run {
        Some((seq, first)) => {
            tx.execute(
                "UPDATE events SET at = ?2, detail = ?3 WHERE seq = ?1",
                args![seq, now, polls_words(first, attempt, holder, words)],
            )?;
            Ok(())
        }
        None => insert_event(
            tx,
            id,
            now,
            "polls",
            &polls_words(attempt, attempt, holder, words),
        ),
    }
}

fn polls_words(first: u32, last: u32, holder: &str, words: &str) -> String {
    format!("attempts {first}-{last} by {holder}; {words}")
}

/// A `polls` event read back: attempts `first` to `last` by `holder`, each answered
/// `words` (a still state, its status, the trouble met).
pub struct PollsRun<'a> {
    pub first: u32,
    pub last: u32,
    pub holder: &'a str,
    pub words: &'a str,
}

pub fn polls_run(detail: &str) -> Option<PollsRun<'_>> {
    let rest = detail.strip_prefix("attempts ")?;
    let (range, rest) = rest.split_once(" by ")?;
    let (first, last) = range.split_once('-')?;
    let (holder, words) = rest.split_once("; ")?;
    Some(PollsRun {
        first: first.parse().ok()?,
        last: last.parse().ok()?,
        holder,
        words,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::journal::fixture::{each_journal, new_op};

    /// 2 when every commit waits for the disk: SQLite's synchronous=FULL, PostgreSQL's
    /// synchronous_commit on.
    fn synchronous(j: &Journal) -> i64 {
        match j.db.dialect() {
            crate::journal::db::Dialect::Sqlite => {
                j.db.query_one("PRAGMA synchronous", &[])
                    .and_then(|r| r.get(0))
                    .unwrap_or(-1)
            }
            crate::journal::db::Dialect::Postgres => {
                j.db.query_one("SELECT current_setting('synchronous_commit')", &[])
                    .and_then(|r| r.get::<String>(0))
                    .map_or(-1, |v| if v == "on" { 2 } else { 0 })
            }
        }
    }

    #[test]
    fn a_poll_is_two_commits_and_the_journal_stays_full_after_it() -> Result<(), JournalError> {
        each_journal(|j| {
            j.record_pending(&new_op("{p}", 100), "me", now_ms() + 60_000)?;
            let (n, op) = j.begin_attempt("{p}", "me", now_ms() + 60_000)?;
            assert_eq!((n, op.attempts, op.state), (1, 1, State::Pending));
            let (n, _) = j.begin_attempt("{p}", "me", now_ms() + 60_000)?;
            assert_eq!(n, 2);
            assert_eq!(
                synchronous(j),
                2,
                "every commit of a poll is on disk (FULL)"
            );
            let still = Facts {
                provider_status: Some("PENDING".into()),
                ..Facts::default()
            };
            let op = j.answer_poll(
                "{p}",
                "me",
                State::Pending,
                State::Pending,
                &still,
                Some("timed out"),
                now_ms() + 90_000,
            )?;
            let op = op.expect("still ours");
            assert_eq!(op.provider_status.as_deref(), Some("PENDING"));
            assert_eq!(synchronous(j), 2);
            let kinds: Vec<String> = j.events("{p}")?.into_iter().map(|e| e.kind).collect();
            assert_eq!(kinds, ["created", "sent", "sent", "state", "error"]);
            // Another holder's live lease: the answer is not this process's to apply.
            j.claim("{p}", "me", now_ms() + 90_000)?;
            assert!(matches!(
                j.begin_attempt("{p}", "other", now_ms() + 1000),
                Err(JournalError::LeaseHeld { .. })
            ));
            assert_eq!(synchronous(j), 2, "FULL after a refused poll too");
            // A person took the row over meanwhile: the answer is kept, the lease is not renewed.
            j.mark_reconciliation("{p}", "me", "recon.unknown_outcome", "x")?;
            assert!(
                j.answer_poll(
                    "{p}",
                    "me",
                    State::Pending,
                    State::Pending,
                    &still,
                    None,
                    now_ms() + 90_000
                )?
                .is_none()
            );
            Ok(())
        })
    }

    /// A run of polls that change nothing is one line of the trail that counts on, on both
    /// engines: the first answer is said in full, every later one only extends the run; a
    /// new word (a trouble) starts a run of its own; the attempt whose answer ends the run
    /// is told before that answer.
    #[test]
    fn polls_that_change_nothing_count_on_in_one_line() -> Result<(), JournalError> {
        each_journal(|j| {
            let until = now_ms() + 60_000;
            j.record_pending(&new_op("{q}", 100), "me", until)?;
            let still = Facts {
                provider_status: Some("PENDING".into()),
                ..Facts::default()
            };
            let poll = |j: &mut Journal, trouble: Option<&str>| -> Result<u32, JournalError> {
                let (n, _) = j.begin_attempt("{q}", "me", until)?;
                let facts = if trouble.is_some() {
                    Facts::default()
                } else {
                    still.clone()
                };
                j.answer_poll(
                    "{q}",
                    "me",
                    State::Pending,
                    State::Pending,
                    &facts,
                    trouble,
                    until,
                )?;
                Ok(n)
            };
            for _ in 0..4 {
                poll(j, None)?;
            }
            let trail = |j: &Journal| -> Result<Vec<(String, String)>, JournalError> {
                Ok(j.events("{q}")?
                    .into_iter()
                    .map(|e| (e.kind, e.detail))
                    .collect())
            };
            let seen = trail(j)?;
            let kinds: Vec<&str> = seen.iter().map(|(k, _)| k.as_str()).collect();
            assert_eq!(kinds, ["created", "sent", "state", "polls"]);
            assert_eq!(
                seen[3].1,
                "attempts 2-4 by me; still pending; status PENDING"
            );
            poll(j, Some("timed out"))?;
            poll(j, Some("timed out"))?;
            let seen = trail(j)?;
            assert_eq!(seen.len(), 5);
            assert_eq!(
                seen[4],
                (
                    "polls".to_string(),
                    "attempts 5-6 by me; trouble: timed out; still pending; status -".to_string()
                )
            );
            let (n, _) = j.begin_attempt("{q}", "me", until)?;
            assert_eq!(n, 7);
            // A note written during the send (a WebMoney reqn, a Wooppay record) does not
            // hide the attempt: its line comes before the word that ends the run.
            j.note("{q}", "record", "seen")?;
            j.tell_attempt("{q}", "me")?;
            let done = Facts {
                provider_status: Some("COMPLETED".into()),
                ..Facts::default()
            };
            j.transition_from("{q}", "me", Some(State::Pending), State::Completed, &done)?;
            let seen = trail(j)?;
            let tail: Vec<&str> = seen[5..].iter().map(|(_, d)| d.as_str()).collect();
            assert_eq!(
                tail,
                [
                    "seen",
                    "attempt 7 by me",
                    "pending -> completed; status COMPLETED"
                ]
            );
            // A run read back is what was written.
            let run = crate::journal::polls_run(&seen[3].1).expect("a run");
            assert_eq!((run.first, run.last, run.holder), (2, 4, "me"));
            Ok(())
        })
    }

    /// A re-send the provider dedupes, under this holder's lease that covers its request,
    /// after a poll that changed nothing, writes nothing before it goes (a poll is then one
    /// commit) and is counted with its answer; any other attempt is counted before it goes.
    #[test]
    fn a_deduped_resend_under_a_covering_lease_is_counted_with_its_answer()
    -> Result<(), JournalError> {
        each_journal(|j| {
            let far = now_ms() + 60_000;
            let covers = 30_000;
            let yes: fn(&Operation) -> bool = |_| true;
            let no: fn(&Operation) -> bool = |_| false;
            let still = Facts {
                provider_status: Some("PENDING".into()),
                ..Facts::default()
            };
            let answer = |j: &mut Journal| {
                j.answer_poll(
                    "{r}",
                    "me",
                    State::Pending,
                    State::Pending,
                    &still,
                    None,
                    far,
                )
                .map(|_| ())
            };
            j.record_pending(&new_op("{r}", 100), "me", far)?;
            // The first attempt, one the provider would not dedupe, one whose lease would not
            // cover the request: each counted before it goes.
            for (deduped, covers, n) in [(yes, covers, 1), (no, covers, 2), (yes, 120_000, 3)] {
                let (got, op, counted) = j.begin_resend("{r}", "me", far, covers, deduped)?;
                assert_eq!((got, op.attempts, counted), (n, n, true));
                assert_eq!(j.get("{r}")?.attempts, n);
                answer(j)?;
            }
            // The one the provider would not dedupe is in the trail before it went.
            let sent: Vec<String> = j
                .events("{r}")?
                .into_iter()
                .filter(|e| e.kind == "sent")
                .map(|e| e.detail)
                .collect();
            assert_eq!(sent, ["attempt 1 by me", "attempt 2 by me"]);
            let before = j.get("{r}")?;
            let (n, op, counted) = j.begin_resend("{r}", "me", far, covers, yes)?;
            assert_eq!((n, op.attempts, counted), (4, 4, false));
            let lease = |j: &Journal| -> Result<i64, JournalError> {
                j.db.query_one(
                    "SELECT lease_until FROM operations WHERE id = ?1",
                    args!["{r}"],
                )?
                .get(0)
            };
            let after = j.get("{r}")?;
            assert_eq!(
                (after.attempts, after.updated_at, lease(j)?),
                (3, before.updated_at, far),
                "nothing written before the re-send"
            );
            j.count_attempt("{r}", 4, now_ms())?;
            answer(j)?;
            assert_eq!(j.get("{r}")?.attempts, 4);
            let trail = j.events("{r}")?;
            let last = trail.last().map(|e| e.detail.as_str());
            assert_eq!(
                last,
                Some("attempts 3-4 by me; still pending; status PENDING")
            );
            // Another process finds the row free and the lease not its own: counted first.
            j.release("{r}", "me")?;
            let (n, _, counted) = j.begin_resend("{r}", "other", far, covers, yes)?;
            assert_eq!((n, counted), (5, true));
            Ok(())
        })
    }

    /// A poll that changes nothing an index holds writes only its row and its events; one
    /// that brings what an index holds (a provider id, the amount) still updates the index.
    #[test]
    fn a_poll_that_changes_nothing_indexed_writes_no_index_page() -> Result<(), JournalError> {
        let (dir, mut j) = crate::journal::fixture::journal();
        let until = now_ms() + 60_000;
        for i in 0..2000 {
            j.record_pending(&new_op(&format!("{{{i:05}}}"), 100 + i), "me", until)?;
        }
        j.db.batch("PRAGMA wal_checkpoint(TRUNCATE)")?;
        let wal = dir.path().join("j.db-wal");
        // WAL frames: a 24-byte header and a 4 KiB page.
        let frames = || std::fs::metadata(&wal).map_or(0, |m| m.len() / (24 + 4096));
        let still = Facts {
            provider_status: Some("PENDING".into()),
            ..Facts::default()
        };
        let id = "{01500}";
        let before = frames();
        j.begin_attempt(id, "me", until)?;
        let attempt = frames() - before;
        let before = frames();
        j.answer_poll(
            id,
            "me",
            State::Pending,
            State::Pending,
            &still,
            None,
            until,
        )?;
        let answer = frames() - before;
        // The row's page, the events' page and their index's page, on each commit.
        assert_eq!(
            (attempt, answer),
            (3, 3),
            "pages written by a poll's two commits"
        );
        let op = j.get(id)?;
        assert_eq!(op.provider_status.as_deref(), Some("PENDING"));
        // A provider id while still pending: kept, and found by it.
        let with_ref = Facts {
            provider_ref: Some("H-77".into()),
            ..still.clone()
        };
        j.answer_poll(
            id,
            "me",
            State::Pending,
            State::Pending,
            &with_ref,
            None,
            until,
        )?;
        let found = j.find_by_ref(crate::journal::Kind::AllpayCashIn, "H-77")?;
        assert_eq!(found.map(|o| o.id).as_deref(), Some(id));
        // A later poll without one keeps it, and the words it had.
        j.answer_poll(
            id,
            "me",
            State::Pending,
            State::Pending,
            &Facts::default(),
            None,
            until,
        )?;
        let op = j.get(id)?;
        assert_eq!(
            (op.provider_ref.as_deref(), op.provider_status.as_deref()),
            (Some("H-77"), Some("PENDING"))
        );
        Ok(())
    }

    #[test]
    fn final_states_stay_final() -> Result<(), JournalError> {
        each_journal(|j| {
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
        })
    }

    /// A late answer about a state the row has left is refused, never applied: a check's
    /// "held" that comes back after a capture began cannot reopen it.
    #[test]
    fn a_late_answer_never_undoes_a_move_made_since() -> Result<(), JournalError> {
        each_journal(|j| {
            j.record_pending(&new_op("{cas}", 100), "me", now_ms() + 60_000)?;
            j.transition("{cas}", "me", State::Held, &Facts::default())?;
            // The create's driver lets the row go; the capture begins: held -> pending.
            j.release("{cas}", "me")?;
            j.begin_action(
                "{cas}",
                "me",
                now_ms() + 60_000,
                State::Held,
                "{}",
                "capture",
            )?;
            // The check that went out while the row was held answers "held".
            let late = j.transition_from(
                "{cas}",
                "me",
                Some(State::Held),
                State::Held,
                &Facts::default(),
            );
            assert!(matches!(late, Err(JournalError::Stale { .. })), "{late:?}");
            assert_eq!(j.get("{cas}")?.state, State::Pending);
            // The capture's own answer applies.
            let done = j.transition_from(
                "{cas}",
                "me",
                Some(State::Pending),
                State::Completed,
                &Facts::default(),
            )?;
            assert_eq!(done.state, State::Completed);
            // The same final word again is a no-op, whatever was expected.
            let again = j.transition_from(
                "{cas}",
                "me",
                Some(State::Pending),
                State::Completed,
                &Facts::default(),
            )?;
            assert_eq!(again.state, State::Completed);
            Ok(())
        })
    }

    /// An action never starts on a row whose lease is live, this holder's own included (its
    /// own driver is still at work); once the lease is let go, it starts.
    #[test]
    fn begin_action_refuses_a_live_lease_its_own_included() -> Result<(), JournalError> {
        each_journal(|j| {
            j.record_pending(&new_op("{busy}", 100), "me", now_ms() + 60_000)?;
            j.transition("{busy}", "me", State::Held, &Facts::default())?;
            for holder in ["me", "another"] {
                let r = j.begin_action("{busy}", holder, now_ms() + 60_000, State::Held, "{}", "x");
                assert!(matches!(r, Err(JournalError::LeaseHeld { .. })), "{r:?}");
            }
            assert_eq!(j.get("{busy}")?.state, State::Held);
            j.release("{busy}", "me")?;
            let op = j.begin_action("{busy}", "me", now_ms() + 60_000, State::Held, "{}", "x")?;
            assert_eq!(op.state, State::Pending);
            // A second action finds it pending (and leased).
            let r = j.begin_action("{busy}", "me", now_ms() + 60_000, State::Held, "{}", "y");
            assert!(
                matches!(r, Err(JournalError::IllegalTransition { .. })),
                "{r:?}"
            );
            Ok(())
        })
    }

    /// Two moves in one transaction: both or none (a reversal never leaves "completed").
    #[test]
    fn moves_in_one_transaction_are_all_made_or_none() -> Result<(), JournalError> {
        each_journal(|j| {
            j.record_pending(&new_op("{two}", 100), "me", now_ms() + 60_000)?;
            j.transition("{two}", "me", State::Issued, &Facts::default())?;
            let paid = Facts::default();
            let op = j.transitions(
                "{two}",
                "me",
                Some(State::Issued),
                &[(State::Completed, &paid), (State::Reversed, &paid)],
            )?;
            assert_eq!(op.state, State::Reversed);
            let trail: Vec<String> = j.events("{two}")?.into_iter().map(|e| e.detail).collect();
            assert!(
                trail.iter().any(|d| d.starts_with("issued -> completed")),
                "{trail:?}"
            );
            assert!(
                trail.iter().any(|d| d.starts_with("completed -> reversed")),
                "{trail:?}"
            );
            // An illegal second move undoes the first.
            j.record_pending(&new_op("{bad}", 100), "me", now_ms() + 60_000)?;
            let r = j.transitions(
                "{bad}",
                "me",
                Some(State::Pending),
                &[(State::Declined, &paid), (State::Completed, &paid)],
            );
            assert!(
                matches!(r, Err(JournalError::IllegalTransition { .. })),
                "{r:?}"
            );
            assert_eq!(j.get("{bad}")?.state, State::Pending);
            Ok(())
        })
    }

    /// An answer from outside the driver: its notes stay whatever becomes of its moves; the
    /// row must still be the one asked about; a move and a person's mark are one.
    #[test]
    fn an_answer_keeps_its_notes_and_moves_only_the_row_it_was_asked_about()
    -> Result<(), JournalError> {
        each_journal(|j| {
            j.record_pending(&new_op("{ans}", 100), "me", now_ms() + 60_000)?;
            j.transition("{ans}", "me", State::Held, &Facts::default())?;
            j.release("{ans}", "me")?;
            let facts = Facts::default();
            let notes = [("record", "UPay said held".to_string())];
            // Asked while pending; the row is held now: nothing moves, the note stays.
            let stale = Answer {
                expect: Some(State::Pending),
                notes: &notes,
                moves: &[(State::Completed, &facts)],
                ..Answer::default()
            };
            let r = j.apply_answer("{ans}", "me", &stale);
            assert!(matches!(r, Err(JournalError::Stale { .. })), "{r:?}");
            assert_eq!(j.get("{ans}")?.state, State::Held);
            let noted = |j: &Journal| -> Result<usize, JournalError> {
                Ok(j.events("{ans}")?
                    .iter()
                    .filter(|e| e.detail == "UPay said held")
                    .count())
            };
            assert_eq!(noted(j)?, 1);
            // The row no longer the one asked about (the caller's own test): nothing moves.
            let not_it = |_: &Operation| {
                Err(JournalError::Stale {
                    id: "{ans}".into(),
                    expected: State::Held,
                    found: State::Held,
                })
            };
            let asked = Answer {
                expect: Some(State::Held),
                notes: &notes,
                still: Some(&not_it),
                moves: &[(State::Pending, &facts)],
                person: Some(("recon.other_operation", "another capture")),
            };
            let r = j.apply_answer("{ans}", "me", &asked);
            assert!(matches!(r, Err(JournalError::Stale { .. })), "{r:?}");
            let op = j.get("{ans}")?;
            assert_eq!((op.state, op.needs_reconciliation), (State::Held, false));
            assert_eq!(noted(j)?, 2);
            // Still it: out of held and marked for a person, together.
            let it = |_: &Operation| Ok(());
            let asked = Answer {
                still: Some(&it),
                ..asked
            };
            let op = j.apply_answer("{ans}", "me", &asked)?;
            assert_eq!((op.state, op.needs_reconciliation), (State::Pending, true));
            assert_eq!(op.recon_reason.as_deref(), Some("recon.other_operation"));
            // A row another live process holds is its driver's: left unmoved, the note kept.
            j.record_pending(&new_op("{other}", 100), "another", now_ms() + 60_000)?;
            let busy = Answer {
                expect: Some(State::Pending),
                notes: &notes,
                moves: &[(State::Completed, &facts)],
                ..Answer::default()
            };
            assert_eq!(
                j.apply_answer("{other}", "me", &busy)?.state,
                State::Pending
            );
            assert_eq!(
                j.events("{other}")?
                    .iter()
                    .filter(|e| e.kind == "record")
                    .count(),
                1
            );
            Ok(())
        })
    }
}

/// A test that the row is still the one a question was asked about.
pub type Still = dyn Fn(&Operation) -> Result<(), JournalError>;

/// What an answer from outside a row's driver does to it ([`Journal::apply_answer`]).
#[derive(Default)]
pub struct Answer<'a> {
    /// The state the row had when the question was asked.
    pub expect: Option<State>,
    /// Trail entries kept whatever becomes of the moves: (kind, detail).
    pub notes: &'a [(&'a str, String)],
    /// The answer applies only while this holds of the row (`Err(Stale)` otherwise): a
    /// check about a hold's capture says nothing once another capture was begun.
    pub still: Option<&'a Still>,
    pub moves: &'a [(State, &'a Facts)],
    /// After the moves the row waits for a person: (reason, detail).
    pub person: Option<(&'a str, &'a str)>,
}

/// The checks, moves and mark of [`Journal::apply_answer`], inside its transaction.
fn moves_in(
    db: &Db,
    id: &str,
    holder: &str,
    answer: &Answer<'_>,
    now: i64,
) -> Result<(), JournalError> {
    if let Some(still) = answer.still {
        still(&super::read::get_in(db, id)?)?;
    }
    let held_by_another: bool = db
        .query_one(
            "SELECT CASE WHEN lease_holder IS NOT NULL AND lease_holder != ?2 \
             AND lease_until > ?3 THEN 1 ELSE 0 END FROM operations WHERE id = ?1",
            args![id, holder, now],
        )?
        .get(0)?;
    if held_by_another {
        return Ok(());
    }
    let mut from = answer.expect;
    for (to, facts) in answer.moves {
        transition_in(db, id, holder, from, *to, facts)?;
        from = Some(*to);
    }
    if let Some((reason, detail)) = answer.person {
        mark_in(db, id, holder, reason, detail, now)?;
    }
    Ok(())
}

/// Marks `id` for a person inside the caller's transaction (see
/// [`Journal::mark_reconciliation`]).
fn mark_in(
    db: &Db,
    id: &str,
    holder: &str,
    reason: &str,
    detail: &str,
    now: i64,
) -> Result<(), JournalError> {
    let n = db.execute(
        "UPDATE operations SET needs_reconciliation = 1, recon_reason = ?2, updated_at = ?3, \
         lease_holder = NULL, lease_until = NULL WHERE id = ?1 AND (state = 'pending' OR (state = 'issued' AND kind = 'wooppay.invoice')) \
         AND (lease_holder IS NULL OR lease_holder = ?4 OR lease_until < ?3)",
        args![id, reason, now, holder],
    )?;
    if n == 0 {
        return Err(JournalError::LeaseHeld {
            id: id.to_string(),
            holder: "another process, or the row is not pending".into(),
        });
    }
    db.execute(
        "INSERT INTO events (op_id, at, kind, detail) VALUES (?1, ?2, 'reconcile', ?3)",
        args![id, now, format!("{reason}: {detail}")],
    )?;
    Ok(())
}
