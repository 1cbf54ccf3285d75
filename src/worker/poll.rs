//! Driving one pending operation to a final state: claim, send with the same id, judge the
//! reply, wait, repeat; across restarts, because every pending row is resumed on start.

use std::time::Duration;

use super::{Ctx, Event, db};
use crate::flows::{Verdict, repeat_safe};
use crate::journal::{JournalError, Operation, State, now_ms};
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
    // The longest request timeout of any provider: a lease must outlast the request.
    // A Wooppay attempt may take four requests: login, the call, a re-login, the repeat.
    let timeout = ctx
        .settings
        .allpay
        .timeout
        .max(ctx.settings.webmoney.timeout)
        .max(ctx.settings.upay.timeout)
        .max(ctx.settings.wooppay.timeout.saturating_mul(4));
    // The margin outlasts the longest wait inside a lease: the journal's busy timeout.
    let span = timeout + wait + crate::journal::BUSY_TIMEOUT + Duration::from_secs(5);
    now_ms() + i64::try_from(span.as_millis()).unwrap_or(i64::MAX / 2)
}

pub fn first_lease(ctx: &Ctx) -> i64 {
    lease_until(ctx, Duration::ZERO)
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

/// Drives `op` until it is final, needs a person, another process takes it, or kassa
/// shuts down (then the lease is given back and the row stays pending for the next start).
pub async fn drive(ctx: Ctx, op: Operation) {
    let id = op.id.clone();
    if !ctx.start_driving(&id) {
        return;
    }
    let outcome = drive_inner(&ctx, op).await;
    match outcome {
        Ok(()) => {}
        // The row moved since this attempt went out (a person, another action): the late
        // answer is dropped and the row says what it says now.
        Err(e @ JournalError::Stale { .. }) => {
            tracing::warn!(op = %id, error = %e, "a late answer was not applied");
            let rid = id.clone();
            if let Some(op) = db(&ctx, move |j| j.get(&rid))
                .await
                .ok()
                .filter(|o| !super::driven(o))
            {
                ctx.emit(Event::Finished { op });
            }
        }
        Err(e) => {
            tracing::error!(op = %id, error = %e, "driving an operation failed; it stays pending");
            ctx.emit(Event::Trouble {
                id: Some(id.clone()),
                key: "error.journal",
            });
        }
    }
    let holder = ctx.holder.clone();
    let rid = id.clone();
    if let Err(e) = db(&ctx, move |j| j.release(&rid, &holder)).await {
        tracing::warn!(op = %id, error = %e, "could not release the lease; it expires by itself");
    }
    // Only now: a follower in this process (same holder) must not claim the row while
    // this driver still holds it, or this release would free the lease under its send.
    ctx.stop_driving(&id);
    ctx.emit_counts().await;
}

async fn drive_inner(ctx: &Ctx, op: Operation) -> Result<(), JournalError> {
    let id = op.id.clone();
    // Rule 1: a retry goes to the endpoint and identity the row was committed with.
    let (endpoint, identity) = crate::flows::endpoint(&ctx.settings, op.kind);
    if op.endpoint != endpoint || op.identity != identity {
        let detail = format!(
            "recorded for {} as {}, config now points at {} as {}",
            op.endpoint, op.identity, endpoint, identity
        );
        return needs_person(ctx, &id, "recon.endpoint_changed", detail).await;
    }
    // A card row is never re-sent (poll.rs hands one with attempts to a person), so its
    // parameters are not needed here.
    let unreadable =
        op.kind != crate::journal::Kind::UpayCard && crate::flows::Params::of(&op).is_none();
    if unreadable {
        // Without its request a re-send could not be the same request: a person decides.
        let detail = "the payment's parameters are missing or unreadable".to_string();
        return needs_person(ctx, &id, "recon.unreadable", detail).await;
    }
    if !repeat_safe(&op) && op.attempts > 0 {
        let detail = format!("{} attempt(s) made, outcome unknown", op.attempts);
        return needs_person(ctx, &id, "recon.not_repeatable", detail).await;
    }
    let mut wait = Duration::ZERO;
    // The state a "still in progress" answer keeps (pending, or issued once issued), and
    // the attempt the current phase began with (the backoff starts over when issued).
    let mut current = op.state;
    let mut phase_start = 0u32;
    loop {
        let holder = ctx.holder.clone();
        let until = lease_until(ctx, wait);
        let rid = id.clone();
        let attempt = match db(ctx, move |j| j.record_attempt(&rid, &holder, until)).await {
            Ok(n) => n,
            Err(JournalError::LeaseHeld { holder, .. }) => {
                tracing::info!(op = %id, %holder, "another process is sending this operation");
                return Ok(());
            }
            Err(JournalError::NeedsReconciliation(_)) => {
                tracing::info!(op = %id, "marked for reconciliation meanwhile; not sent");
                return Ok(());
            }
            Err(JournalError::IllegalTransition { from, .. }) if from.is_final() => {
                let op = db(ctx, {
                    let id = id.clone();
                    move |j| j.get(&id)
                })
                .await?;
                ctx.emit(Event::Finished { op });
                return Ok(());
            }
            Err(e) => return Err(e),
        };
        ctx.emit(Event::Progress {
            id: id.clone(),
            kind: op.kind,
            attempt,
            status: None,
            next_retry: None,
            trouble: None,
            trouble_detail: None,
        });
        // The row as it stands now: an earlier reply may have given it a provider id (a
        // UPay HoldId) that changes what the next attempt sends.
        let op = db(ctx, {
            let id = id.clone();
            move |j| j.get(&id)
        })
        .await?;
        let sent = tokio::select! {
            _ = ctx.shutdown.cancelled() => return Ok(()),
            r = super::send_once(ctx, &op) => r,
        };
        let (verdict, facts, trouble) = sent;
        match verdict {
            Verdict::Final(state) => {
                let holder = ctx.holder.clone();
                let rid = id.clone();
                // Compare-and-set on the state this attempt was sent from: a reply never undoes a
                // move made since (rule 4).
                let from = current;
                let op = db(ctx, move |j| {
                    j.transition_from(&rid, &holder, Some(from), state, &facts)
                })
                .await?;
                tracing::info!(
                    op = %id,
                    state = %op.state,
                    status = ?op.provider_status,
                    detail = ?op.detail,
                    "operation final"
                );
                ctx.emit(Event::Finished { op });
                return Ok(());
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
                let rid = id.clone();
                let kept = facts.clone();
                db(ctx, move |j| {
                    j.transition_from(&rid, &holder, Some(State::Pending), State::Pending, &kept)
                        .map(|_| ())
                })
                .await?;
                let detail = trouble
                    .as_ref()
                    .map(ToString::to_string)
                    .unwrap_or_else(|| "no final answer".into());
                return needs_person(ctx, &id, "recon.unknown_outcome", detail).await;
            }
            Verdict::Reconcile(reason, detail) => {
                let holder = ctx.holder.clone();
                let rid = id.clone();
                let kept = facts.clone();
                let from = current;
                db(ctx, move |j| {
                    j.transition_from(&rid, &holder, Some(from), from, &kept)
                        .map(|_| ())
                })
                .await?;
                return needs_person(ctx, &id, reason, detail).await;
            }
            Verdict::Pending | Verdict::Open(_) => {
                let from = current;
                if let Verdict::Open(to) = verdict
                    && to != current
                {
                    current = to;
                    phase_start = attempt.saturating_sub(1);
                }
                let age =
                    Duration::from_millis(u64::try_from(now_ms() - op.created_at).unwrap_or(0));
                let max = if current == State::Issued {
                    ctx.settings
                        .poll_max
                        .min(crate::flows::wooppay::STATUS_POLL_MAX)
                } else {
                    ctx.settings.poll_max
                };
                wait = backoff(
                    attempt - phase_start,
                    ctx.settings.poll_initial.min(max),
                    max,
                    age,
                );
                let holder = ctx.holder.clone();
                let rid = id.clone();
                let status = facts.provider_status.clone();
                let kept = facts.clone();
                let to = current;
                let moved = db(ctx, move |j| {
                    j.transition_from(&rid, &holder, Some(from), to, &kept)
                })
                .await?;
                if matches!(verdict, Verdict::Open(_)) {
                    // Said once, when it opens; every poll after is the debug log's.
                    if from != moved.state {
                        tracing::info!(op = %id, state = %moved.state, "operation open");
                    } else {
                        tracing::debug!(op = %id, state = %moved.state, "operation still open");
                    }
                    ctx.emit(Event::Issued { op: moved });
                }
                if let Some(t) = &trouble {
                    let rid = id.clone();
                    let detail = t.to_string();
                    db(ctx, move |j| j.note(&rid, "error", &detail)).await?;
                }
                // The wait must be covered by the lease, or another process could take the
                // row while this one sleeps and then send it too.
                let holder = ctx.holder.clone();
                let rid = id.clone();
                let until = lease_until(ctx, wait);
                if !db(ctx, move |j| j.claim(&rid, &holder, until)).await? {
                    tracing::info!(op = %id, "lost the row to another process; stopping");
                    return Ok(());
                }
                // A poll where nothing changed is the debug log's (hundreds of rows in
                // flight would fill the log); trouble and the first answer are said.
                let wait_ms = u64::try_from(wait.as_millis()).unwrap_or(u64::MAX);
                let trouble_text = trouble.as_ref().map(ToString::to_string);
                if trouble.is_some() || attempt <= 1 {
                    tracing::info!(op = %id, attempt, status = ?status, detail = ?facts.detail, trouble = ?trouble_text, wait_ms, "still pending");
                } else {
                    tracing::debug!(op = %id, attempt, status = ?status, detail = ?facts.detail, wait_ms, "still pending");
                }
                ctx.emit(Event::Progress {
                    id: id.clone(),
                    kind: op.kind,
                    attempt,
                    status,
                    next_retry: Some(wait),
                    trouble: trouble.as_ref().map(super::Trouble::message_key),
                    trouble_detail: trouble.as_ref().and_then(super::Trouble::provider_words),
                });
                tokio::select! {
                    _ = ctx.shutdown.cancelled() => return Ok(()),
                    _ = tokio::time::sleep(wait) => {}
                }
            }
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
