//! Calls from the providers, as the listener hands them over: a UPay notification is kept
//! in the journal's inbox before the listener answers its caller, then acted on (a hold is
//! checked, a card's outcome recorded) and marked handled; one a crash interrupted is acted
//! on at the next start. Wooppay's unsigned requestUrl pings are coalesced into at most one
//! status sweep per `[wooppay] ping_sweep_secs`, however many come in (Wooppay blocks an
//! address that floods it).

use std::time::{Duration, Instant};

use super::protocol::{Ack, Notified};
use super::upay::CardTarget;
use super::{Ctx, db};
use crate::journal::{Notice, NoticeSource};
use crate::providers::upay::codec::CheckBy;

/// The Wooppay sweeps: when the last one started, and whether one is already due.
#[derive(Debug, Default)]
pub struct Sweeps {
    last: Option<Instant>,
    due: bool,
}

/// How long a card's notice waits for the card's row to be journaled, at most, before it
/// is left for the next start: the registration's own reply may come after the customer.
const CARD_ROW_WAIT: Duration = Duration::from_secs(120);

/// A call the listener accepted.
pub async fn received(ctx: &Ctx, call: Notified, ack: Ack) {
    match call {
        Notified::WooppayPing => {
            ack.send(true);
            wooppay_ping(ctx);
        }
        Notified::Upay {
            source,
            target,
            status,
            message,
        } => {
            let kept = db(ctx, move |j| {
                j.record_notice(source, &target, &status, &message)
            })
            .await;
            match kept {
                Ok(notice) => {
                    ack.send(true);
                    act(ctx, notice).await;
                }
                Err(e) => {
                    tracing::error!(error = %e, "a UPay notification could not be kept; the caller is told to send it again");
                    ack.send(false);
                }
            }
        }
    }
}

/// Acts on every notice a previous run kept but did not finish (at start).
pub async fn replay(ctx: &Ctx) {
    match db(ctx, |j| j.open_notices()).await {
        Ok(open) => {
            for n in open {
                tracing::info!(
                    notice = n.id,
                    source = n.source.tag(),
                    "acting on a notification kept by an earlier run"
                );
                let c = ctx.clone();
                tokio::spawn(async move { act(&c, n).await });
            }
        }
        Err(e) => tracing::warn!(error = %e, "could not read the notifications kept"),
    }
}

/// Acts on one kept notice, then marks it handled (unless its row is not there yet).
async fn act(ctx: &Ctx, n: Notice) {
    let done = match n.source {
        NoticeSource::UpayHold => {
            tracing::info!(hold = %n.target, status = %n.status, "UPay hold notification; checking the hold");
            super::upay::check(ctx, CheckBy::HoldId, n.target.clone()).await;
            true
        }
        NoticeSource::UpayCard => {
            // Document 004: status 0 is success; another number is the operation's failure;
            // no number at all says nothing, and a person looks.
            let word = match n.status.trim().parse::<i64>() {
                Ok(0) => Some(true),
                Ok(_) => Some(false),
                Err(_) => None,
            };
            let note = format!("UPay notification: status {}, {}", n.status, n.message);
            let deadline = Instant::now() + CARD_ROW_WAIT;
            loop {
                let target = CardTarget::Token(n.target.clone());
                let acted = match word {
                    Some(confirmed) => {
                        super::upay::card_notified(ctx, target, confirmed, note.clone()).await
                    }
                    None => super::upay::card_unread(ctx, target, note.clone()).await,
                };
                if acted || Instant::now() > deadline || ctx.shutdown.is_cancelled() {
                    break acted;
                }
                tokio::time::sleep(Duration::from_secs(2)).await;
            }
        }
    };
    if done {
        let id = n.id;
        if let Err(e) = db(ctx, move |j| j.notice_handled(id)).await {
            tracing::warn!(notice = id, error = %e, "notification acted on but not marked so; it is acted on again (idempotently) at the next start");
        }
    } else {
        tracing::warn!(
            notice = n.id,
            "UPay notification for a card not in the journal; kept for the next start"
        );
    }
}

/// A Wooppay requestUrl ping: a sweep now if none ran within the interval, else one at the
/// interval's end (only one is ever due).
pub fn wooppay_ping(ctx: &Ctx) {
    let interval = ctx.settings.wooppay.ping_sweep;
    let wait = {
        let Ok(mut s) = ctx.sweeps.lock() else {
            return;
        };
        if s.due {
            tracing::debug!("Wooppay ping: a sweep is already due");
            return;
        }
        let now = Instant::now();
        let wait = s
            .last
            .map(|l| (l + interval).saturating_duration_since(now))
            .unwrap_or_default();
        s.due = true;
        wait
    };
    let c = ctx.clone();
    tokio::spawn(async move {
        if !wait.is_zero() {
            tokio::select! {
                _ = c.shutdown.cancelled() => return,
                _ = tokio::time::sleep(wait) => {}
            }
        }
        if let Ok(mut s) = c.sweeps.lock() {
            s.last = Some(Instant::now());
            s.due = false;
        }
        tracing::info!("Wooppay requestUrl call(s); checking issued invoices");
        super::wooppay::notified(&c).await;
    });
}
