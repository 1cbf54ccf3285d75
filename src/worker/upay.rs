//! UPay (document 004) on the worker's side: a card registration sent once (the CVV lives
//! only in memory, so it can never be re-sent), and one journal row per hold for its whole
//! life: created (not safe to repeat: it carries no id of ours), `held` until captured
//! (with a PartnerTrxId committed before sending and reused on every retry), cancelled or
//! expired. A capture and a cancel of one hold never run at once: starting either moves the
//! row from `held` to `pending` in one transaction, and the other then finds it pending.

use super::{Ctx, Event, Trouble, Verdict, db};
use crate::flows::upay::{
    CURRENCY, CardInput, HoldInput, HoldStatus, Phase, error_facts, hold_params, hold_status,
    judge_cancel, judge_capture, judge_check, judge_create, judge_refused, reply_facts,
};
use crate::journal::{Answer, Facts, JournalError, Kind, Operation, State, now_ms};
use crate::money::Amount;
use crate::providers::SendError;
use crate::providers::upay::client::UpayClient;
use crate::providers::upay::codec::{CardRequest, CheckBy, HoldRequest, Outcome, Reply};

pub use crate::mask::{pan as mask_pan, token as mask_token};

/// The UPay client, built from the config on first use.
async fn client(ctx: &Ctx) -> &Result<UpayClient, String> {
    ctx.upay
        .get_or_init(|| async {
            UpayClient::from_settings(&ctx.settings.upay, ctx.settings.lang.code())
        })
        .await
}

fn not_configured(ctx: &Ctx, id: Option<String>, reason: &str) {
    tracing::error!(%reason, "UPay is not set up; nothing sent");
    ctx.emit(Event::Trouble {
        id,
        key: "upay.not_configured",
    });
}

/// Registers a card: commits the row (masked), sends the request once, and keeps the
/// CardToken and the 3-D Secure link. An unknown outcome needs a person: without the CVV
/// the request can never be repeated.
pub async fn register(ctx: &Ctx, card: CardInput) {
    let upay = match client(ctx).await {
        Ok(c) => c.clone(),
        Err(reason) => return not_configured(ctx, None, reason),
    };
    let new = match card
        .asked(uuid::Uuid::new_v4().to_string())
        .into_new(&ctx.settings)
    {
        Ok(new) => new,
        Err(e) => {
            tracing::error!(error = %e, "cannot write the card's parameters; nothing sent");
            return ctx.emit(Event::Trouble {
                id: None,
                key: "error.not_recorded",
            });
        }
    };
    let id = new.id.clone();
    let holder = ctx.holder.clone();
    let until = super::poll::first_lease(ctx);
    let op = match db(ctx, move |j| j.record_pending(&new, &holder, until)).await {
        Ok(op) => op,
        Err(e) => {
            tracing::error!(error = %e, "recording a card registration failed; nothing sent");
            return ctx.emit(Event::Trouble {
                id: None,
                key: "error.not_recorded",
            });
        }
    };
    ctx.start_driving(&id);
    ctx.emit(Event::Recorded { op });
    let outcome = register_inner(ctx, &upay, &id, &card).await;
    drop(card);
    ctx.stop_driving(&id);
    let holder = ctx.holder.clone();
    let rid = id.clone();
    let _ = db(ctx, move |j| j.release(&rid, &holder)).await;
    if let Err(e) = outcome {
        tracing::error!(op = %id, error = %e, "card registration: journal failed");
        ctx.emit(Event::Trouble {
            id: Some(id),
            key: "error.journal",
        });
    }
    ctx.emit_counts().await;
}

async fn register_inner(
    ctx: &Ctx,
    upay: &UpayClient,
    id: &str,
    card: &CardInput,
) -> Result<(), JournalError> {
    let holder = ctx.holder.clone();
    let until = super::poll::first_lease(ctx);
    let rid = id.to_string();
    let attempt = db(ctx, move |j| j.record_attempt(&rid, &holder, until)).await?;
    ctx.emit(Event::Progress {
        id: id.to_string(),
        kind: crate::journal::Kind::UpayCard,
        attempt,
        status: None,
        next_retry: None,
        trouble: None,
        trouble_detail: None,
    });
    let notify = Some(ctx.settings.upay.notify_url.as_str()).filter(|u| !u.is_empty());
    let request = CardRequest {
        number: &card.number,
        expiry: &card.expiry,
        holder: &card.holder,
        cvv: &card.cvv,
        phone: &card.phone,
        notify_url: notify,
    };
    let sent = upay.register_card(&request).await;
    let (to, facts) = match &sent {
        Ok(reply) => match (reply.outcome(), reply.field("CardToken")) {
            (Outcome::Ok, Some(token)) if reply.field("ConfirmUrl").is_some() => (
                State::Issued,
                Facts {
                    provider_status: Some(reply.code.clone()),
                    provider_message: reply.description.clone(),
                    provider_ref: Some(token.to_string()),
                    detail: None,
                    link: reply.field("ConfirmUrl").map(str::to_string),
                    message_key: None,
                    amount_minor: None,
                },
            ),
            (Outcome::Error(code), _) => (State::Declined, error_facts(&code, reply)),
            // A code nobody documented: a card may exist at UPay.
            // OK without a token or link, or "in process": something may exist at UPay.
            _ => {
                let detail = format!("reply {} without CardToken/ConfirmUrl", reply.code);
                return person(ctx, id, reply_facts(reply), detail).await;
            }
        },
        Err(SendError::NotSent(why)) => (
            State::Cancelled,
            Facts {
                provider_message: Some(format!("not sent: {why}")),
                message_key: Some("upay.card_not_sent".into()),
                ..Facts::default()
            },
        ),
        Err(e) => return person(ctx, id, Facts::default(), e.to_string()).await,
    };
    let holder = ctx.holder.clone();
    let rid = id.to_string();
    let op = db(ctx, move |j| j.transition(&rid, &holder, to, &facts)).await?;
    tracing::info!(op = %id, state = %op.state, card = %params_mask(&op), "card registration answered");
    ctx.emit(Event::Finished { op });
    Ok(())
}

fn params_mask(op: &Operation) -> String {
    op.provider_ref
        .as_deref()
        .map(mask_token)
        .unwrap_or_else(|| "-".into())
}

async fn person(ctx: &Ctx, id: &str, facts: Facts, detail: String) -> Result<(), JournalError> {
    person_for(ctx, id, facts, "recon.unknown_outcome", detail).await
}

/// Moves the row to `pending` with the reply's facts and marks it for a person (`reason`
/// is a catalogue key).
async fn person_for(
    ctx: &Ctx,
    id: &str,
    facts: Facts,
    reason: &'static str,
    detail: String,
) -> Result<(), JournalError> {
    let holder = ctx.holder.clone();
    let rid = id.to_string();
    db(ctx, move |j| {
        j.transition(&rid, &holder, State::Pending, &facts)
            .map(|_| ())
    })
    .await?;
    tracing::warn!(op = %id, reason, %detail, "UPay: needs reconciliation");
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

/// A card registration confirmed (or failed) by its signed notification or by the cashier
/// who saw the customer confirm: `issued` → `completed` | `declined`.
pub async fn confirm_card(ctx: &Ctx, target: CardTarget, confirmed: bool, note: String) {
    // A quick customer's notification can overtake the registration's own reply: give the
    // reply a few seconds to be recorded before calling the card unknown.
    for _ in 0..50 {
        if settle_card(ctx, &target, confirmed, note.clone()).await || ctx.shutdown.is_cancelled() {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    tracing::warn!("card confirmation for a card not in the journal; ignored");
}

/// A card registration's signed notification (kept in the journal's inbox first): `false`
/// when the card's row is not in the journal (yet).
pub async fn card_notified(ctx: &Ctx, target: CardTarget, confirmed: bool, note: String) -> bool {
    settle_card(ctx, &target, confirmed, note).await
}

/// The card registration `target` names, if the journal has it.
async fn find_card(ctx: &Ctx, target: &CardTarget) -> Result<Option<Operation>, JournalError> {
    let t = target.clone();
    db(ctx, move |j| match t {
        CardTarget::Id(id) => j.find(&id),
        CardTarget::Token(t) => j.find_by_ref(Kind::UpayCard, &t),
    })
    .await
    .map(|o| o.filter(|o| o.kind == Kind::UpayCard))
}

/// A card notification whose status says nothing readable: the card stays as it is and
/// waits for a person. `false` when the card is not in the journal.
pub async fn card_unread(ctx: &Ctx, target: CardTarget, note: String) -> bool {
    let found = find_card(ctx, &target).await;
    let Ok(Some(op)) = found else {
        return found.is_err();
    };
    tracing::warn!(op = %op.id, "a card notification with an unreadable status; a person decides");
    let rid = op.id.clone();
    if let Ok(op) = db(ctx, move |j| {
        j.flag_for_person(&rid, "recon.upay_card_unreadable", &note)
    })
    .await
    {
        ctx.emit(Event::NeedsReconciliation { op });
    }
    ctx.emit_counts().await;
    true
}

/// Records a card's outcome. The first word decides (the cashier's or a notification's): a
/// card waiting for its customer becomes confirmed or failed; the same word again changes
/// nothing but the trail; a later, different word (the signature covers neither the status
/// nor a time, so it cannot tell which is true) leaves the card as it is and waits for a
/// person. `false` when the card is not in the journal.
async fn settle_card(ctx: &Ctx, target: &CardTarget, confirmed: bool, note: String) -> bool {
    let found = find_card(ctx, target).await;
    let op = match found {
        Ok(Some(op)) if op.kind == Kind::UpayCard => op,
        Ok(_) => return false,
        Err(e) => {
            tracing::error!(error = %e, "card confirmation: journal failed");
            return true;
        }
    };
    let to = if confirmed {
        State::Completed
    } else {
        State::Declined
    };
    if op.state != State::Issued {
        let rid = op.id.clone();
        if op.state == to {
            tracing::info!(op = %op.id, state = %op.state, "card already settled the same way; noted only");
            let _ = db(ctx, move |j| {
                j.note(&rid, "notify", &format!("again: {note}"))
            })
            .await;
        } else {
            tracing::warn!(op = %op.id, state = %op.state, ?to, "a card's later word contradicts its first; a person decides");
            let detail = format!("the card is {}, then: {note}", op.state);
            let flagged = db(ctx, move |j| {
                j.flag_for_person(&rid, "recon.upay_card_contradicted", &detail)
            })
            .await;
            if let Ok(op) = flagged {
                ctx.emit(Event::NeedsReconciliation { op });
            }
        }
        ctx.emit_counts().await;
        return true;
    }
    // Who said so, in kassa's words (a catalogue key from the cashier's screen, or the
    // notification's summary): never UPay's own message, which this is not.
    let said = note.clone();
    let facts = Facts {
        message_key: Some(note),
        ..Facts::default()
    };
    let holder = ctx.holder.clone();
    let rid = op.id.clone();
    match db(ctx, move |j| {
        j.transition_from(&rid, &holder, Some(State::Issued), to, &facts)
    })
    .await
    {
        Ok(op) => {
            tracing::info!(op = %op.id, state = %op.state, card = %params_mask(&op), "card registration settled");
            ctx.emit(Event::Finished { op });
        }
        // Settled meanwhile by another word: that one was first; this one is judged again.
        Err(JournalError::Stale { .. }) => {
            return Box::pin(settle_card(ctx, target, confirmed, said)).await;
        }
        Err(e) => tracing::error!(op = %op.id, error = %e, "card confirmation failed"),
    }
    ctx.emit_counts().await;
    true
}

/// Which card registration a confirmation is for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CardTarget {
    Id(String),
    Token(String),
}

/// Commits a hold as pending (refused when a like one exists, unless `allow_duplicate`)
/// and sends its create once.
pub async fn start_hold(ctx: &Ctx, hold: HoldInput, allow_duplicate: bool) {
    if let Err(reason) = client(ctx).await {
        return not_configured(ctx, hold.id.clone(), reason);
    }
    let asked = hold.asked(
        hold.id
            .clone()
            .unwrap_or_else(|| uuid::Uuid::new_v4().to_string()),
    );
    let mut shown = hold;
    shown.id = Some(asked.id.clone());
    ctx.emit(Event::HoldNumbered {
        hold: shown.clone(),
    });
    super::commit_and_drive(ctx, asked, allow_duplicate, |existing| Event::Duplicate {
        request: crate::flows::Request::Hold(shown),
        existing,
    })
    .await;
}

/// What the cashier asks of a held hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HoldAction {
    Capture,
    Cancel,
}

/// Starts a capture or a cancel of the hold in row `id`: the row must be `held` and free;
/// a capture's PartnerTrxId is taken from the journal's counter and committed with the
/// row's move to `pending`, before the first byte is sent, with the row's attempts so far
/// (the attempts since are this action's sends: a refusal of its only send decides).
pub async fn act(ctx: &Ctx, id: String, action: HoldAction, expected: Option<Amount>) {
    if let Err(reason) = client(ctx).await {
        return not_configured(ctx, Some(id), reason);
    }
    // A HoldId rather than a journal id (`hold capture --hold-id`): its row, or, for a hold
    // placed elsewhere, one journaled once UPay says it knows the hold.
    let rid = id.clone();
    let known = db(ctx, move |j| {
        Ok((j.find(&rid)?, j.find_by_ref(Kind::UpayHold, &rid)?))
    })
    .await;
    let id = match known {
        Ok((Some(op), _)) | Ok((None, Some(op))) => op.id,
        Ok((None, None)) if crate::validate::hold_id(&id).is_ok() => {
            return adopt(ctx, id, action, expected).await;
        }
        Ok((None, None)) => {
            tracing::warn!(op = %id, ?action, "no such hold; nothing sent");
            return ctx.emit(Event::Trouble {
                id: Some(id),
                key: "error.not_found",
            });
        }
        Err(e) => {
            tracing::error!(op = %id, error = %e, "hold action: journal failed; nothing sent");
            return ctx.emit(Event::Trouble {
                id: Some(id),
                key: "error.journal",
            });
        }
    };
    // The command that placed the hold may have exited before giving its lease back: a
    // lease of a process that is gone does not make the hold busy.
    free_dead_leases(ctx).await;
    // This process's own driver may have told of the hold (held) an instant before it lets
    // the row go: the lease is live until then, and the action waits for it, a little. Any
    // other live lease, or a row not held (an action under way), refuses at once.
    let mut tries = 0;
    let begun = loop {
        let begun = begin(ctx, &id, action).await;
        match &begun {
            Err(JournalError::LeaseHeld { holder, .. })
                if *holder == ctx.holder && tries < 120 && !ctx.shutdown.is_cancelled() =>
            {
                tries += 1;
                tokio::time::sleep(std::time::Duration::from_millis(25)).await;
            }
            _ => break begun,
        }
    };

    match begun {
        Ok(op) => {
            tracing::info!(op = %op.id, ?action, "hold action committed; sending");
            ctx.emit(Event::Recorded { op: op.clone() });
            ctx.emit_counts().await;
            super::poll::drive(ctx.clone(), op).await;
        }
        Err(e) => {
            let key = match &e {
                JournalError::IllegalTransition {
                    from: State::Pending,
                    ..
                } => "upay.hold_busy",
                JournalError::IllegalTransition { .. } => "upay.hold_not_held",
                JournalError::NeedsReconciliation(_) | JournalError::LeaseHeld { .. } => {
                    "upay.hold_busy"
                }
                JournalError::NotFound(_) => "error.not_found",
                _ => "error.journal",
            };
            tracing::warn!(op = %id, error = %e, ?action, "hold action refused; nothing sent");
            ctx.emit(Event::Trouble { id: Some(id), key });
        }
    }
}

/// A capture or cancel of a hold placed elsewhere (its HoldId is in no row): UPay is asked
/// first (a check by HoldId); only an OK without a payment (UPay knows the hold, nothing
/// was captured) lets it go on. Then one row is journaled, before the first byte of the
/// action is sent, already `pending` in the action's phase (a capture's PartnerTrxId
/// committed with it), with the HoldId as its reference, and driven once like any other.
/// Its amount is unknown (`Amount::none`): a capture needs none, and its reply's
/// PaymentAmount is what was taken (kept in the row's detail). The hold's card, account and
/// minutes are unknown too: such a row is never expired by kassa's clock. Anything else
/// (UPay does not know the hold, it is captured already, no answer) journals nothing and
/// sends nothing more; the check's answer is told as for any check.
async fn adopt(ctx: &Ctx, hold_id: String, action: HoldAction, expected: Option<Amount>) {
    let upay = match client(ctx).await {
        Ok(c) => c.clone(),
        Err(reason) => return not_configured(ctx, Some(hold_id), reason),
    };
    let reply = match upay.hold_check(CheckBy::HoldId, &hold_id).await {
        Ok(r) => r,
        Err(e) => {
            tracing::warn!(hold = %hold_id, error = %e, "hold placed elsewhere: check failed; nothing sent");
            return ctx.emit(Event::Trouble {
                id: Some(hold_id),
                key: e.message_key(),
            });
        }
    };
    let status = (reply.outcome() == Outcome::Ok).then(|| hold_status(&reply));
    if status != Some(HoldStatus::Known) {
        tracing::warn!(hold = %hold_id, code = %reply.code, ?status, "hold placed elsewhere: UPay's check does not let it go on; nothing journaled or sent");
        let answer = CheckAnswer {
            by: CheckBy::HoldId,
            target: hold_id,
            code: reply.code.clone(),
            description: reply.description.clone(),
            status,
            amount: reply
                .field("PaymentAmount")
                .and_then(|a| a.trim().parse::<i64>().ok())
                .and_then(|m| Amount::from_minor(m, CURRENCY).ok()),
            op: None,
        };
        return ctx.emit(Event::HoldChecked { answer });
    }
    let holder = ctx.holder.clone();
    let until = super::poll::first_lease(ctx);
    let settings = ctx.settings.clone();
    let hid = hold_id.clone();
    let checked = Facts {
        provider_status: Some(reply.code.clone()),
        provider_message: reply.description.clone(),
        provider_ref: Some(hold_id.clone()),
        // UPay's words are its status and message; kassa's own (placed elsewhere) are the
        // trail's note and this key.
        detail: None,
        link: None,
        message_key: Some("upay.placed_elsewhere".into()),
        amount_minor: None,
    };
    let recorded = db(ctx, move |j| {
        // Journaled meanwhile (another process, another press): that row decides.
        let found = j.find_by_ref(Kind::UpayHold, &hid)?;
        if let Some(op) = found {
            return Ok(Err(op.id));
        }
        let (phase, trx, what) = match action {
            HoldAction::Capture => {
                let trx = j.next_counter("upay.partner_trx_id", trx_floor())?;
                (
                    Phase::Capture,
                    Some(trx.to_string()),
                    format!("capture, PartnerTrxId {trx}"),
                )
            }
            HoldAction::Cancel => (Phase::Cancel, None, "cancel".to_string()),
        };
        let asked = crate::flows::Asked {
            // One row per HoldId: the id is the HoldId's own, and the journal refuses an id
            // twice in the insert's transaction, so two processes cannot both adopt it.
            id: format!("hold-{hid}"),
            // A sum the cashier expects, compared with UPay's PaymentAmount when the
            // capture is answered; none, and UPay's word becomes the row's sum.
            amount: expected
                .filter(|_| action == HoldAction::Capture)
                .unwrap_or_else(|| Amount::none(CURRENCY)),
            customer: hid.clone(),
            customer_name: None,
            params: crate::flows::Params::UpayHold(crate::flows::upay::HoldParams {
                card_token: String::new(),
                service_id: settings.upay.service_id,
                account: String::new(),
                minutes: 0,
                phase,
                partner_trx_id: trx,
                sent_before: Some(0),
            }),
        };
        let new = asked
            .into_new(&settings)
            .map_err(|e| JournalError::Corrupt(format!("hold {hid}: {e}")))?;
        let note = format!("placed elsewhere, known to UPay; {what}");
        match j.record_known(&new, &holder, until, &note, &checked) {
            Ok(op) => Ok(Ok(op)),
            Err(JournalError::DuplicateId(id)) => Ok(Err(id)),
            Err(e) => Err(e),
        }
    })
    .await;
    match recorded {
        Ok(Ok(op)) => {
            tracing::info!(op = %op.id, hold = %hold_id, ?action, "hold placed elsewhere journaled; sending");
            ctx.emit(Event::Recorded { op: op.clone() });
            ctx.emit_counts().await;
            super::poll::drive(ctx.clone(), op).await;
        }
        // Its row exists after all: the ordinary way (busy, not held, or begun).
        Ok(Err(id)) => Box::pin(act(ctx, id, action, None)).await,
        Err(e) => {
            tracing::error!(hold = %hold_id, error = %e, "hold placed elsewhere: not journaled; nothing sent");
            ctx.emit(Event::Trouble {
                id: Some(hold_id),
                key: "error.not_recorded",
            });
        }
    }
}

/// One try at beginning `action` on the hold in row `id` (see [`act`]).
async fn begin(ctx: &Ctx, id: &str, action: HoldAction) -> Result<Operation, JournalError> {
    let holder = ctx.holder.clone();
    let until = super::poll::first_lease(ctx);
    let rid = id.to_string();
    db(ctx, move |j| {
        let op = j.get(&rid)?;
        let mut p = hold_params(&op)
            .ok_or_else(|| JournalError::Corrupt(format!("{rid}: hold params unreadable")))?;
        if op.kind != Kind::UpayHold {
            return Err(JournalError::NotFound(rid));
        }
        // Not held (an action under way, or done): refused before a PartnerTrxId is taken.
        // begin_action decides again in its transaction, the lease included.
        if op.state != State::Held {
            return Err(JournalError::IllegalTransition {
                id: rid,
                from: op.state,
                to: State::Pending,
            });
        }
        p.sent_before = Some(op.attempts);
        let what = match action {
            HoldAction::Capture => {
                let trx = j.next_counter("upay.partner_trx_id", trx_floor())?;
                p.phase = Phase::Capture;
                p.partner_trx_id = Some(trx.to_string());
                format!("capture, PartnerTrxId {trx}")
            }
            HoldAction::Cancel => {
                p.phase = Phase::Cancel;
                "cancel".to_string()
            }
        };
        let json =
            serde_json::to_string(&p).map_err(|e| JournalError::Corrupt(format!("{rid}: {e}")))?;
        j.begin_action(&rid, &holder, until, State::Held, &json, &what)
    })
    .await
}

/// Frees the leases of processes that are gone (their rows are not busy any more).
async fn free_dead_leases(ctx: &Ctx) {
    let ours = ctx.holder.clone();
    if let Err(e) = db(ctx, move |j| {
        j.release_dead_leases(|h| super::holder::holder_alive(&ours, h))
    })
    .await
    {
        tracing::warn!(error = %e, "could not look for leases of dead processes");
    }
}

/// The floor of a new PartnerTrxId: yyMMddHHmmss (UTC) and two more digits, so that ids
/// only grow, across restarts and a lost journal counter alike.
fn trx_floor() -> i64 {
    let stamp = chrono::Utc::now().format("%y%m%d%H%M%S").to_string();
    stamp.parse::<i64>().unwrap_or(0).saturating_mul(100)
}

/// Sends the hold row's next request and judges the reply.
pub async fn send(ctx: &Ctx, op: &Operation) -> (Verdict, Facts, Option<Trouble>) {
    let upay = match client(ctx).await {
        Ok(c) => c,
        Err(reason) => {
            return (
                Verdict::Pending,
                Facts::default(),
                Some(Trouble::Send(SendError::NotSent(reason.clone()))),
            );
        }
    };
    let Some(p) = hold_params(op) else {
        return (Verdict::Pending, Facts::default(), Some(Trouble::NoStatus));
    };
    let hold_id = op.provider_ref.clone();
    match (p.phase, hold_id) {
        (Phase::Create, None) => {
            let req = HoldRequest {
                card_token: &p.card_token,
                service_id: p.service_id,
                account: &p.account,
                amount_tiyin: op.amount.minor(),
                minutes: u32::try_from(p.minutes).unwrap_or(u32::MAX),
                notify_url: &ctx.settings.upay.notify_url,
            };
            match upay.hold_create(&req).await {
                Ok(reply) => judge_create(&reply),
                Err(e) => (Verdict::Pending, Facts::default(), Some(Trouble::Send(e))),
            }
        }
        // "In process" came back with its HoldId: ask about that hold until it settles.
        (Phase::Create, Some(hold_id)) => check_row(upay, op, CheckBy::HoldId, &hold_id).await,
        (Phase::Capture, Some(hold_id)) => {
            let Some(trx) = p.partner_trx_id.as_deref() else {
                return no_hold_id(op);
            };
            match upay.hold_payment(&hold_id, trx).await {
                Ok(reply) => match judge_capture(op, &reply) {
                    Ok(judged) => judged,
                    // Refused: a check by the PartnerTrxId (document 004's way to ask about
                    // a payment) says whether an earlier send captured it after all.
                    Err(code) => refused_then_check(upay, op, &hold_id, &code, &reply).await,
                },
                Err(e) => (Verdict::Pending, Facts::default(), Some(Trouble::Send(e))),
            }
        }
        (Phase::Cancel, Some(hold_id)) => match upay.hold_cancel(&hold_id).await {
            Ok(reply) => match judge_cancel(&reply) {
                Ok(judged) => judged,
                Err(code) => refused_then_check(upay, op, &hold_id, &code, &reply).await,
            },
            Err(e) => (Verdict::Pending, Facts::default(), Some(Trouble::Send(e))),
        },
        // A capture or cancel without a HoldId cannot be: a person looks.
        (_, None) => no_hold_id(op),
    }
}

/// A capture or cancel whose row names no HoldId (or a capture no PartnerTrxId): nothing
/// can be sent or asked, so polling it would go on for ever; a person looks.
fn no_hold_id(op: &Operation) -> (Verdict, Facts, Option<Trouble>) {
    let detail = format!(
        "{}: a hold action with no HoldId or PartnerTrxId in the journal; nothing can be sent or asked",
        op.id
    );
    (
        Verdict::Reconcile("recon.unreadable", detail),
        Facts::default(),
        None,
    )
}

async fn check_row(
    upay: &UpayClient,
    op: &Operation,
    by: CheckBy,
    target: &str,
) -> (Verdict, Facts, Option<Trouble>) {
    match upay.hold_check(by, target).await {
        Ok(reply) => judge_check(op, &reply, now_ms()),
        Err(e) => (Verdict::Pending, Facts::default(), Some(Trouble::Send(e))),
    }
}

/// A capture or cancel the provider refused: a check follows, by the row's PartnerTrxId when
/// a capture was ever begun (a payment is checked so, document 004), else by its HoldId;
/// [`judge_refused`] reads the two together.
async fn refused_then_check(
    upay: &UpayClient,
    op: &Operation,
    hold_id: &str,
    code: &str,
    refusal: &Reply,
) -> (Verdict, Facts, Option<Trouble>) {
    let trx = hold_params(op).and_then(|p| p.partner_trx_id);
    let (by, target) = match trx.as_deref() {
        Some(trx) => (CheckBy::PartnerTrxId, trx),
        None => (CheckBy::HoldId, hold_id),
    };
    match upay.hold_check(by, target).await {
        Ok(check) => judge_refused(op, code, refusal, &check),
        Err(e) => (Verdict::Pending, Facts::default(), Some(Trouble::Send(e))),
    }
}

/// What a check's answer is about: the hold row as it was read before the check went out.
#[derive(Debug, Clone)]
struct Asked {
    state: State,
    phase: Option<Phase>,
    partner_trx_id: Option<String>,
    attempts: u32,
}

impl Asked {
    fn of(op: &Operation) -> Asked {
        let p = hold_params(op);
        Asked {
            state: op.state,
            phase: p.as_ref().map(|p| p.phase),
            partner_trx_id: p.and_then(|p| p.partner_trx_id),
            attempts: op.attempts,
        }
    }

    /// `Stale` when the row `now` is no longer the one asked about: another state, or the
    /// same state after an action came and went (another phase, PartnerTrxId or send).
    fn still(&self, now: &Operation) -> Result<(), JournalError> {
        let same = Asked::of(now);
        if same.state == self.state
            && same.phase == self.phase
            && same.partner_trx_id == self.partner_trx_id
            && same.attempts == self.attempts
        {
            Ok(())
        } else {
            Err(JournalError::Stale {
                id: now.id.clone(),
                expected: self.state,
                found: now.state,
            })
        }
    }
}

/// The answer to a cashier's or a notification's check.
#[derive(Debug, Clone)]
pub struct CheckAnswer {
    pub by: CheckBy,
    pub target: String,
    pub code: String,
    pub description: Option<String>,
    pub status: Option<HoldStatus>,
    pub amount: Option<Amount>,
    /// The journal row, after the answer moved it (when it could).
    pub op: Option<Operation>,
}

/// Checks a hold by HoldId or PartnerTrxId and, when the journal has its row and nobody is
/// sending it, moves the row by the answer (a notification is only ever a reason to call
/// this: rule 6).
pub async fn check(ctx: &Ctx, by: CheckBy, target: String) {
    let upay = match client(ctx).await {
        Ok(c) => c.clone(),
        Err(reason) => return not_configured(ctx, None, reason),
    };
    let t = target.clone();
    let row = db(ctx, move |j| match by {
        CheckBy::HoldId => j.find_by_ref(Kind::UpayHold, &t),
        CheckBy::PartnerTrxId => j.find_by_param(Kind::UpayHold, "partner_trx_id", &t),
    })
    .await
    .ok()
    .flatten();
    let reply = match upay.hold_check(by, &target).await {
        Ok(r) => r,
        Err(e) => {
            tracing::warn!(%target, error = %e, "hold check failed");
            return ctx.emit(Event::Trouble {
                id: row.map(|r| r.id),
                key: e.message_key(),
            });
        }
    };
    let status = (reply.outcome() == Outcome::Ok).then(|| hold_status(&reply));
    let mut answer = CheckAnswer {
        by,
        target: target.clone(),
        code: reply.code.clone(),
        description: reply.description.clone(),
        status,
        amount: reply
            .field("PaymentAmount")
            .and_then(|a| a.trim().parse::<i64>().ok())
            .and_then(|m| Amount::from_minor(m, CURRENCY).ok()),
        op: row.clone(),
    };
    if let Some(op) = row.filter(|op| op.state == State::Held) {
        // The command that placed the hold may have exited before giving its lease back:
        // a lease of a process that is gone does not stand in the answer's way.
        free_dead_leases(ctx).await;
        // The answer is about the row as it was read before the check went out (`op`: its
        // state, its phase and PartnerTrxId); it applies only while the row still is so. A
        // capture or cancel begun since owns the row, and a late answer never reopens it.
        let (verdict, facts, _) = judge_check(&op, &reply, now_ms());
        let asked = Asked::of(&op);
        let holder = ctx.holder.clone();
        let rid = op.id.clone();
        let still = move |now: &Operation| asked.still(now);
        let applied = match verdict {
            Verdict::Final(to) => {
                db(ctx, move |j| {
                    let answer = Answer {
                        expect: Some(State::Held),
                        still: Some(&still),
                        moves: &[(to, &facts)],
                        ..Answer::default()
                    };
                    j.apply_answer(&rid, &holder, &answer).map(|_| ())
                })
                .await
            }
            // A capture kassa did not send, or of another sum: a person looks. The move
            // out of held and the mark are one transaction: no capture can be begun on a
            // row between them.
            Verdict::Reconcile(reason, detail) => {
                let d = detail.clone();
                let moved = db(ctx, move |j| {
                    let answer = Answer {
                        expect: Some(State::Held),
                        still: Some(&still),
                        moves: &[(State::Pending, &facts)],
                        person: Some((reason, &d)),
                        ..Answer::default()
                    };
                    j.apply_answer(&rid, &holder, &answer)
                })
                .await;
                match moved {
                    Ok(o) if o.needs_reconciliation => {
                        tracing::warn!(op = %op.id, reason, %detail, "UPay: needs reconciliation");
                        ctx.emit(Event::NeedsReconciliation { op: o });
                        Ok(())
                    }
                    Ok(_) => Ok(()),
                    Err(e) => Err(e),
                }
            }
            _ => Ok(()),
        };
        match applied {
            Ok(()) => {}
            Err(e @ JournalError::Stale { .. }) => {
                tracing::info!(op = %op.id, error = %e, "a check's late answer not applied: the row moved since it was asked");
            }
            Err(e) => tracing::warn!(op = %op.id, error = %e, "check answer not applied"),
        }
        // The row as it is now, never as it was when the check went out: a stale "held"
        // must not be shown over a capture under way.
        let rid = op.id.clone();
        if let Ok(now) = db(ctx, move |j| j.get(&rid)).await {
            tracing::info!(op = %now.id, state = %now.state, "hold after its check");
            answer.op = Some(now);
        }
    } else if let Some(op) = &answer.op {
        let rid = op.id.clone();
        if let Ok(now) = db(ctx, move |j| j.get(&rid)).await {
            answer.op = Some(now);
        }
    }
    ctx.emit(Event::HoldChecked { answer });
    ctx.emit_counts().await;
}
