//! Driving one pending operation to a final state: claim, send with the same id, judge the
//! reply, wait, repeat; across restarts, because every pending row is resumed on start.
//! Each attempt is a `step`; when the next one runs is `schedule`'s.

use std::time::Duration;

use super::schedule::Permit;
use super::{Ctx, Event, db, db_grouped};
use crate::flows::{Verdict, repeat_safe};
use crate::journal::{Journal, JournalError, Kind, Operation, State, now_ms};
use crate::providers::SendError;

/// How long to wait before re-sending attempt `attempt` (1-based) of an operation created
/// `age` ago: `initial` doubling each attempt up to `max`, times a random factor in
/// [0.8, 1.2] so that many tills do not poll in step; once an operation is 24 hours old,
/// an hour (DESIGN.md "what a waiting command waits for").
pub fn backoff(attempt: u32, initial: Duration, max: Duration, age: Duration) -> Duration {
    if age >= Duration::from_secs(24 * 3600) {
        return Duration::from_secs(3600);
    }
    let shift = attempt.saturating_sub(1).min(20);
    let base = initial.saturating_mul(1u32 << shift).min(max);
    base.mul_f64(0.8 + fastrand::f64() * 0.4)
}

/// Ties the lease to what the attempt may take: the request's timeout, the wait after it
/// and a margin, so that a killed process's rows are free again soon after.
fn lease_until(ctx: &Ctx, wait: Duration) -> i64 {
    lease_from_now(request_span(ctx) + wait + LEASE_MARGIN)
}

/// What a lease keeps beyond the attempt it covers.
const LEASE_MARGIN: Duration = Duration::from_secs(5);

/// What one attempt may take once it starts: the longest request timeout of any provider
/// (a Wooppay attempt may take four requests: login, the call, a re-login, the repeat)
/// and the journal's busy timeout for its answer (a lease's margin outlasts the longest
/// wait inside it).
fn request_span(ctx: &Ctx) -> Duration {
    // A UPay capture or cancel is the action and then a check of the hold.
    let timeout = ctx
        .settings
        .allpay
        .timeout
        .max(ctx.settings.webmoney.timeout)
        .max(ctx.settings.upay.timeout.saturating_mul(2))
        .max(ctx.settings.wooppay.timeout.saturating_mul(4));
    timeout + crate::journal::BUSY_TIMEOUT
}

fn lease_from_now(span: Duration) -> i64 {
    now_ms() + i64::try_from(span.as_millis()).unwrap_or(i64::MAX / 2)
}

/// How long (ms) a lease must still run when the journal looks for a re-send to go out under
/// it without renewing it: what a fresh one would give the attempt. An answer's lease adds
/// one more margin to its wait (`answer_lease`), so a row sent up to that late still goes
/// out without a write.
fn resend_covers(ctx: &Ctx) -> i64 {
    i64::try_from((request_span(ctx) + LEASE_MARGIN).as_millis()).unwrap_or(i64::MAX / 2)
}

/// The lease an answer leaves the row under: the wait to the next attempt, that attempt
/// (see `resend_covers`) and a margin for its lateness.
fn answer_lease(ctx: &Ctx, wait: Duration) -> i64 {
    lease_until(ctx, wait + LEASE_MARGIN)
}

pub fn first_lease(ctx: &Ctx) -> i64 {
    lease_until(ctx, Duration::ZERO)
}

/// An attempt as the calls after its send need it: its number, when it went out, and
/// whether its start counted it in the row (a re-send under a lease that covered it was
/// not, and is counted with its answer).
#[derive(Clone, Copy)]
struct Sent {
    n: u32,
    at: i64,
    counted: bool,
}

impl Sent {
    fn count(self, j: &mut Journal, id: &str) -> Result<(), JournalError> {
        if self.counted {
            Ok(())
        } else {
            j.count_attempt(id, self.n, self.at)
        }
    }
}

/// Marks the row for a person (`reason` is a catalogue key) and tells the UI.
async fn needs_person(
    ctx: &Ctx,
    id: &str,
    reason: &'static str,
    detail: String,
) -> Result<(), JournalError> {
    tracing::warn!(op = %id, reason, %detail, "operation needs reconciliation; not sent");
    let holder = ctx.holder.clone();
    let rid = id.to_string();
    db(ctx, move |j| {
        j.mark_reconciliation(&rid, &holder, reason, &detail)
    })
    .await?;
    let rid = id.to_string();
    let op = db(ctx, move |j| j.get(&rid)).await?;
    ctx.emit(Event::NeedsReconciliation { op });
    Ok(())
}

/// What a row's driver carries from one attempt to the next; the row itself is read from
/// the journal at each attempt, so hundreds of rows in flight are hundreds of these.
pub(crate) struct Run {
    pub kind: Kind,
    /// The state a "still in progress" answer keeps (pending, or issued once issued); `None`
    /// until the first step has read the row.
    current: Option<State>,
    /// The attempt the current phase began with (the backoff starts over when issued).
    phase_start: u32,
}

impl Run {
    pub fn new(kind: Kind) -> Run {
        Run {
            kind,
            current: None,
            phase_start: 0,
        }
    }
}

/// What comes after one step of a row.
pub(crate) enum Next {
    /// Poll again after this wait (the lease covers it).
    Again(Duration),
    /// No longer driven here: final, for a person, taken by another process, or kassa
    /// stopping. `released` when the lease is already given back (a final move clears it).
    Done { released: bool },
}

/// Drives `op` until it is final, needs a person, another process takes it, or kassa
/// shuts down (then the lease is given back and the row stays pending for the next start).
/// The row goes on the worker's schedule; this waits for it to be done.
pub async fn drive(ctx: Ctx, op: Operation) {
    if !ctx.start_driving(&op.id) {
        return;
    }
    let (done, wait) = tokio::sync::oneshot::channel();
    ctx.schedule.add(
        op.id,
        Run::new(op.kind),
        tokio::time::Instant::now(),
        Some(done),
    );
    // An error only means the schedule stopped (kassa is stopping): the row stays pending.
    let _ = wait.await;
}

/// Puts a row this process has claimed on the schedule, its first step at `at`, without
/// waiting for it (resuming after a start).
pub(crate) fn resume(ctx: &Ctx, id: String, kind: Kind, at: tokio::time::Instant) {
    if ctx.start_driving(&id) {
        ctx.schedule.add(id, Run::new(kind), at, None);
    }
}

/// A row's driving is over: its lease given back (unless the final move did), the row free
/// for a follower in this process, the counts told.
pub(crate) async fn finish(ctx: &Ctx, id: &str, released: bool) {
    if !released {
        let holder = ctx.holder.clone();
        let rid = id.to_string();
        if let Err(e) = db(ctx, move |j| j.release(&rid, &holder)).await {
            tracing::warn!(op = %id, error = %e, "could not release the lease; it expires by itself");
        }
    }
    // Only now: a follower in this process (same holder) must not claim the row while
    // this driver still holds it, or this release would free the lease under its send.
    ctx.stop_driving(id);
    ctx.emit_counts().await;
}

/// One attempt of row `id`: claim it, send it with the same id, judge the reply, and say
/// when to try again. Two journal transactions when nothing changes (the attempt, the
/// answer); a row's first step reads it once more to check that it may be sent at all.
pub(crate) async fn step(ctx: &Ctx, id: &str, run: &mut Run, permit: Permit) -> Next {
    match step_inner(ctx, id, run, permit).await {
        Ok(next) => next,
        // The row moved since this attempt went out (a person, another action): the late
        // answer is dropped and the row says what it says now.
        Err(e @ JournalError::Stale { .. }) => {
            tracing::warn!(op = %id, error = %e, "a late answer was not applied");
            let rid = id.to_string();
            if let Some(op) = db(ctx, move |j| j.get(&rid))
                .await
                .ok()
                .filter(|o| !super::driven(o))
            {
                ctx.emit(Event::Finished { op });
            }
            Next::Done { released: false }
        }
        Err(e) => {
            tracing::error!(op = %id, error = %e, "driving an operation failed; it stays pending");
            ctx.emit(Event::Trouble {
                id: Some(id.to_string()),
                key: "error.journal",
            });
            Next::Done { released: false }
        }
    }
}

/// Whether a row read before its first attempt may be sent at all; when not, it is marked
/// for a person and `false` is returned.
async fn may_send(ctx: &Ctx, op: &Operation) -> Result<bool, JournalError> {
    let id = &op.id;
    // Rule 1: a retry goes to the endpoint and identity the row was committed with.
    let (endpoint, identity) = crate::flows::endpoint(&ctx.settings, op.kind);
    if op.endpoint != endpoint || op.identity != identity {
        let detail = format!(
            "recorded for {} as {}, config now points at {} as {}",
            op.endpoint, op.identity, endpoint, identity
        );
        needs_person(ctx, id, "recon.endpoint_changed", detail).await?;
        return Ok(false);
    }
    // A card row is never re-sent (the row's first step hands one with attempts to a
    // person), so its parameters are not needed here.
    let unreadable = op.kind != Kind::UpayCard && crate::flows::Params::of(op).is_none();
    if unreadable {
        // Without its request a re-send could not be the same request: a person decides.
        let detail = "the payment's parameters are missing or unreadable".to_string();
        needs_person(ctx, id, "recon.unreadable", detail).await?;
        return Ok(false);
    }
    if !repeat_safe(op) && op.attempts > 0 {
        let detail = format!("{} attempt(s) made, outcome unknown", op.attempts);
        needs_person(ctx, id, "recon.not_repeatable", detail).await?;
        return Ok(false);
    }
    Ok(true)
}

async fn step_inner(
    ctx: &Ctx,
    id: &str,
    run: &mut Run,
    permit: Permit,
) -> Result<Next, JournalError> {
    let done = Next::Done { released: false };
    let current = match run.current {
        Some(s) => s,
        None => {
            let rid = id.to_string();
            let op = db(ctx, move |j| j.get(&rid)).await?;
            if !may_send(ctx, &op).await? {
                return Ok(done);
            }
            run.current = Some(op.state);
            op.state
        }
    };
    let holder = ctx.holder.clone();
    let until = lease_until(ctx, Duration::ZERO);
    let rid = id.to_string();
    // The row as it stands now comes with the attempt: an earlier reply may have given it a
    // provider id (a UPay HoldId) that changes what this attempt sends.
    let covers = resend_covers(ctx);
    let begun = db_grouped(ctx, move |j| {
        j.begin_resend(&rid, &holder, until, covers, repeat_safe)
    })
    .await;
    let (attempt, op, counted) = match begun {
        Ok(begun) => begun,
        Err(JournalError::LeaseHeld { holder, .. }) => {
            tracing::info!(op = %id, %holder, "another process is sending this operation");
            return Ok(done);
        }
        Err(JournalError::NeedsReconciliation(_)) => {
            tracing::info!(op = %id, "marked for reconciliation meanwhile; not sent");
            return Ok(done);
        }
        Err(JournalError::IllegalTransition { from, .. }) if from.is_final() => {
            let rid = id.to_string();
            let op = db(ctx, move |j| j.get(&rid)).await?;
            ctx.emit(Event::Finished { op });
            return Ok(done);
        }
        Err(e) => return Err(e),
    };
    ctx.emit(Event::Progress {
        id: id.to_string(),
        kind: op.kind,
        attempt,
        status: None,
        next_retry: None,
        trouble: None,
        trouble_detail: None,
    });
    let sent = Sent {
        n: attempt,
        at: now_ms(),
        counted,
    };
    let reply = tokio::select! {
        _ = ctx.shutdown.cancelled() => {
            // The request may have reached the provider: it is counted and told all the same.
            let rid = id.to_string();
            let holder = ctx.holder.clone();
            db(ctx, move |j| {
                sent.count(j, &rid)?;
                j.tell_attempt(&rid, &holder)
            })
            .await?;
            return Ok(done);
        }
        r = super::send_once(ctx, &op) => r,
    };
    // The request is answered: the provider's place goes to the next row due.
    drop(permit);
    let (verdict, facts, trouble) = reply;
    match verdict {
        Verdict::Final(state) => {
            let holder = ctx.holder.clone();
            let rid = id.to_string();
            // Compare-and-set on the state this attempt was sent from: a reply never undoes a
            // move made since (rule 4).
            let op = db_grouped(ctx, move |j| {
                sent.count(j, &rid)?;
                j.tell_attempt(&rid, &holder)?;
                j.transition_from(&rid, &holder, Some(current), state, &facts)
            })
            .await?;
            tracing::info!(
                op = %id,
                state = %op.state,
                status = ?op.provider_status,
                detail = ?op.detail,
                "operation final"
            );
            // A final move gave the lease back; a hold now held keeps it until released.
            let released = op.state.is_final();
            ctx.emit(Event::Finished { op });
            Ok(Next::Done { released })
        }
        // Connection refused and the like: nothing left the machine, so trying again
        // later is safe even for a kind that must never be sent twice.
        Verdict::Pending
            if !repeat_safe(&with_facts(&op, &facts))
                && !matches!(trouble, Some(super::Trouble::Send(SendError::NotSent(_)))) =>
        {
            // Not safe to repeat (X1 does not deduplicate, a UPay hold create carries no
            // id of ours): record what came back, then a person decides; never a second
            // send (rule 2).
            let holder = ctx.holder.clone();
            let rid = id.to_string();
            let kept = facts.clone();
            db(ctx, move |j| {
                sent.count(j, &rid)?;
                j.tell_attempt(&rid, &holder)?;
                j.transition_from(&rid, &holder, Some(State::Pending), State::Pending, &kept)
                    .map(|_| ())
            })
            .await?;
            let detail = trouble
                .as_ref()
                .map(ToString::to_string)
                .unwrap_or_else(|| "no final answer".into());
            needs_person(ctx, id, "recon.unknown_outcome", detail).await?;
            Ok(done)
        }
        Verdict::Reconcile(reason, detail) => {
            let holder = ctx.holder.clone();
            let rid = id.to_string();
            let kept = facts.clone();
            db(ctx, move |j| {
                sent.count(j, &rid)?;
                j.tell_attempt(&rid, &holder)?;
                j.transition_from(&rid, &holder, Some(current), current, &kept)
                    .map(|_| ())
            })
            .await?;
            needs_person(ctx, id, reason, detail).await?;
            Ok(done)
        }
        Verdict::Pending | Verdict::Open(_) => {
            let from = current;
            if let Verdict::Open(to) = verdict
                && to != current
            {
                run.current = Some(to);
                run.phase_start = attempt.saturating_sub(1);
            }
            let to = run.current.unwrap_or(current);
            let age = Duration::from_millis(u64::try_from(now_ms() - op.created_at).unwrap_or(0));
            let max = if to == State::Issued {
                ctx.settings
                    .poll_max
                    .min(crate::flows::wooppay::STATUS_POLL_MAX)
            } else {
                ctx.settings.poll_max
            };
            let wait = backoff(
                attempt - run.phase_start,
                ctx.settings.poll_initial.min(max),
                max,
                age,
            );
            // The answer, the trouble met and a lease that covers the wait, in one
            // transaction: another process must not take the row while this one waits and
            // then send it too.
            let holder = ctx.holder.clone();
            let rid = id.to_string();
            let status = facts.provider_status.clone();
            let trouble_text = trouble.as_ref().map(ToString::to_string);
            let note = trouble_text.clone();
            let kept = facts.clone();
            let until = answer_lease(ctx, wait);
            let answered = db_grouped(ctx, move |j| {
                sent.count(j, &rid)?;
                j.answer_poll(&rid, &holder, from, to, &kept, note.as_deref(), until)
            })
            .await?;
            let Some(moved) = answered else {
                tracing::info!(op = %id, "lost the row to another process; stopping");
                return Ok(done);
            };
            if matches!(verdict, Verdict::Open(_)) {
                // Said once, when it opens; every poll after is the debug log's.
                if from != moved.state {
                    tracing::info!(op = %id, state = %moved.state, "operation open");
                } else {
                    tracing::debug!(op = %id, state = %moved.state, "operation still open");
                }
                ctx.emit(Event::Issued { op: moved });
            }
            // A poll where nothing changed is the debug log's (hundreds of rows in
            // flight would fill the log); trouble and the first answer are said.
            let wait_ms = u64::try_from(wait.as_millis()).unwrap_or(u64::MAX);
            if trouble.is_some() || attempt <= 1 {
                tracing::info!(op = %id, attempt, status = ?status, detail = ?facts.detail, trouble = ?trouble_text, wait_ms, "still pending");
            } else {
                tracing::debug!(op = %id, attempt, status = ?status, detail = ?facts.detail, wait_ms, "still pending");
            }
            ctx.emit(Event::Progress {
                id: id.to_string(),
                kind: op.kind,
                attempt,
                status,
                next_retry: Some(wait),
                trouble: trouble.as_ref().map(super::Trouble::message_key),
                trouble_detail: trouble.as_ref().and_then(super::Trouble::provider_words),
            });
            Ok(Next::Again(wait))
        }
    }
}

/// The row as it will read once `facts` are kept (a reply's provider id counts).
fn with_facts(op: &Operation, facts: &crate::journal::Facts) -> Operation {
    let mut o = op.clone();
    if facts.provider_ref.is_some() {
        o.provider_ref = facts.provider_ref.clone();
    }
    o
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_to_the_cap_with_jitter() {
        let i = Duration::from_secs(1);
        let m = Duration::from_secs(30);
        let young = Duration::from_secs(5);
        for _ in 0..200 {
            let b1 = backoff(1, i, m, young);
            assert!(b1 >= Duration::from_millis(800) && b1 <= Duration::from_millis(1200));
            let b3 = backoff(3, i, m, young);
            assert!(b3 >= Duration::from_millis(3200) && b3 <= Duration::from_millis(4800));
            let b10 = backoff(10, i, m, young);
            assert!(b10 >= Duration::from_secs(24) && b10 <= Duration::from_secs(36));
            assert!(backoff(u32::MAX, i, m, young) <= Duration::from_secs(36));
        }
        assert_eq!(
            backoff(2, i, m, Duration::from_secs(25 * 3600)),
            Duration::from_secs(3600)
        );
    }
}
