//! UPay (document 004) on the worker's side: a card registration sent once (the CVV lives
//! only in memory, so it can never be re-sent), and one journal row per hold for its whole
//! life: created (not safe to repeat: it carries no id of ours), `held` until captured
//! (with a PartnerTrxId committed before sending and reused on every retry), cancelled or
//! expired. A capture and a cancel of one hold never run at once: starting either moves the
//! row from `held` to `pending` in one transaction, and the other then finds it pending.

use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use super::{Ctx, Event, Trouble, Verdict, db};
use crate::journal::{Facts, JournalError, Kind, NewOperation, Operation, State, now_ms};
use crate::money::{Amount, Currency};
use crate::providers::SendError;
use crate::providers::upay::client::UpayClient;
use crate::providers::upay::codec::{CardRequest, CheckBy, HoldRequest, Outcome, Reply};

pub const CURRENCY: Currency = Currency::Uzs;

/// A card as the cashier typed it. The number and CVV are cleared from memory when this
/// is dropped, and never written anywhere but the one request.
#[derive(Clone)]
pub struct CardInput {
    pub number: Zeroizing<String>,
    /// MMYY, as the wire wants it.
    pub expiry: String,
    pub cvv: Zeroizing<String>,
    pub holder: String,
    pub phone: String,
}

impl std::fmt::Debug for CardInput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CardInput")
            .field("number", &mask_pan(&self.number))
            .field("expiry", &self.expiry)
            .field("cvv", &"***")
            .field("holder", &self.holder)
            .field("phone", &self.phone)
            .finish()
    }
}

pub use crate::mask::{pan as mask_pan, token as mask_token};

/// A hold as the cashier confirmed it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HoldInput {
    /// The journal row's id (`--id`); a new one when not given.
    pub id: Option<String>,
    pub card_token: String,
    pub service_id: u64,
    pub account: String,
    pub amount: Amount,
    pub minutes: u64,
}

/// What a card registration row keeps (no number, no CVV).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CardParams {
    pub pan: String,
    pub expiry: String,
    pub holder: String,
    pub phone: String,
}

/// Which request a hold row sends next.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    Create,
    Capture,
    Cancel,
}

/// What a hold row keeps beside the common columns (the HoldId is its provider_ref).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HoldParams {
    pub card_token: String,
    pub service_id: u64,
    pub account: String,
    pub minutes: u64,
    pub phase: Phase,
    #[serde(default)]
    pub partner_trx_id: Option<String>,
}

pub fn hold_params(op: &Operation) -> Option<HoldParams> {
    op.params
        .as_deref()
        .and_then(|p| serde_json::from_str(p).ok())
}

pub fn card_params(op: &Operation) -> Option<CardParams> {
    op.params
        .as_deref()
        .and_then(|p| serde_json::from_str(p).ok())
}

/// When a hold runs out: its row was committed just before the create went out, so this
/// is, if anything, a little early.
pub fn expires_at(op: &Operation) -> Option<i64> {
    let minutes = i64::try_from(hold_params(op)?.minutes).ok()?;
    Some(op.created_at.saturating_add(minutes.saturating_mul(60_000)))
}

/// Whether sending this row's next request again cannot do anything twice: a capture (same
/// PartnerTrxId), a cancel, or a create whose HoldId is known (it becomes a check).
pub fn repeat_safe(op: &Operation) -> bool {
    match op.kind {
        Kind::UpayHold => match hold_params(op).map(|p| p.phase) {
            Some(Phase::Capture | Phase::Cancel) => true,
            Some(Phase::Create) => op.provider_ref.is_some(),
            None => false,
        },
        _ => false,
    }
}

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
    let params = CardParams {
        pan: mask_pan(&card.number),
        expiry: card.expiry.clone(),
        holder: card.holder.clone(),
        phone: card.phone.clone(),
    };
    let Ok(params_json) = serde_json::to_string(&params) else {
        return ctx.emit(Event::Trouble {
            id: None,
            key: "error.not_recorded",
        });
    };
    let (endpoint, identity) = ctx.endpoint_of(Kind::UpayCard);
    let new = NewOperation {
        id: uuid::Uuid::new_v4().to_string(),
        kind: Kind::UpayCard,
        amount: Amount::none(CURRENCY),
        customer: params.pan.clone(),
        customer_name: Some(card.holder.clone()),
        endpoint,
        identity,
        params: Some(params_json),
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
                    detail: reply.field("ConfirmUrl").map(str::to_string),
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
                detail: Some("upay.card_not_sent".into()),
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
    let holder = ctx.holder.clone();
    let rid = id.to_string();
    db(ctx, move |j| {
        j.transition(&rid, &holder, State::Pending, &facts)
            .map(|_| ())
    })
    .await?;
    tracing::warn!(op = %id, %detail, "UPay outcome unknown; needs reconciliation");
    let holder = ctx.holder.clone();
    let rid = id.to_string();
    db(ctx, move |j| {
        j.mark_reconciliation(&rid, &holder, "recon.unknown_outcome", &detail)
    })
    .await?;
    let rid = id.to_string();
    let op = db(ctx, move |j| j.get(&rid)).await?;
    ctx.emit(Event::NeedsReconciliation { op });
    Ok(())
}

fn reply_facts(reply: &Reply) -> Facts {
    Facts {
        provider_status: Some(reply.code.clone()),
        provider_message: reply.description.clone(),
        provider_ref: reply.hold_id().map(str::to_string),
        detail: reply.errors.clone().filter(|e| !e.is_empty()),
    }
}

fn error_facts(code: &str, reply: &Reply) -> Facts {
    Facts {
        provider_status: Some(code.to_string()),
        ..reply_facts(reply)
    }
}

/// A card registration confirmed (or failed) by its signed notification or by the cashier
/// who saw the customer confirm: `issued` → `completed` | `declined`.
pub async fn confirm_card(ctx: &Ctx, target: CardTarget, confirmed: bool, note: String) {
    // A quick customer's notification can overtake the registration's own reply: give the
    // reply a few seconds to be recorded before calling the card unknown.
    let mut tries = 0;
    let found = loop {
        let t = target.clone();
        let found = db(ctx, move |j| match t {
            CardTarget::Id(id) => j.find(&id),
            CardTarget::Token(t) => j.find_by_ref(Kind::UpayCard, &t),
        })
        .await;
        tries += 1;
        if !matches!(found, Ok(None)) || tries >= 50 || ctx.shutdown.is_cancelled() {
            break found;
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    };
    let op = match found {
        Ok(Some(op)) if op.kind == Kind::UpayCard => op,
        Ok(_) => {
            tracing::warn!("card confirmation for a card not in the journal; ignored");
            return;
        }
        Err(e) => {
            tracing::error!(error = %e, "card confirmation: journal failed");
            return;
        }
    };
    if op.state != State::Issued {
        tracing::info!(op = %op.id, state = %op.state, "card already settled; confirmation noted only");
        let rid = op.id.clone();
        let _ = db(ctx, move |j| j.note(&rid, "notify", &note)).await;
        return;
    }
    let to = if confirmed {
        State::Completed
    } else {
        State::Declined
    };
    let facts = Facts {
        provider_message: Some(note),
        ..Facts::default()
    };
    let holder = ctx.holder.clone();
    let rid = op.id.clone();
    match db(ctx, move |j| j.transition(&rid, &holder, to, &facts)).await {
        Ok(op) => {
            tracing::info!(op = %op.id, state = %op.state, card = %params_mask(&op), "card registration settled");
            ctx.emit(Event::Finished { op });
        }
        Err(e) => tracing::error!(op = %op.id, error = %e, "card confirmation failed"),
    }
    ctx.emit_counts().await;
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
    let params = HoldParams {
        card_token: hold.card_token.clone(),
        service_id: hold.service_id,
        account: hold.account.clone(),
        minutes: hold.minutes,
        phase: Phase::Create,
        partner_trx_id: None,
    };
    let Ok(params_json) = serde_json::to_string(&params) else {
        return ctx.emit(Event::Trouble {
            id: None,
            key: "error.not_recorded",
        });
    };
    let (endpoint, identity) = ctx.endpoint_of(Kind::UpayHold);
    let new = NewOperation {
        id: hold
            .id
            .clone()
            .unwrap_or_else(|| uuid::Uuid::new_v4().to_string()),
        kind: Kind::UpayHold,
        amount: hold.amount,
        customer: hold.account.clone(),
        customer_name: Some(mask_token(&hold.card_token)),
        endpoint,
        identity,
        params: Some(params_json),
    };
    let mut shown = hold;
    shown.id = Some(new.id.clone());
    ctx.emit(Event::HoldNumbered {
        hold: shown.clone(),
    });
    super::commit_and_drive(ctx, new, allow_duplicate, |existing| Event::DuplicateHold {
        hold: shown,
        existing,
    })
    .await;
}

/// Whether two hold rows are the same request (`--id` given twice).
pub fn same_hold(existing: &Operation, asked: &NewOperation) -> bool {
    let a = hold_params(existing);
    let b = asked
        .params
        .as_deref()
        .and_then(|p| serde_json::from_str::<HoldParams>(p).ok());
    match (a, b) {
        (Some(a), Some(b)) => {
            (a.card_token, a.service_id, a.account, a.minutes)
                == (b.card_token, b.service_id, b.account, b.minutes)
        }
        _ => false,
    }
}

/// What the cashier asks of a held hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HoldAction {
    Capture,
    Cancel,
}

/// Starts a capture or a cancel of the hold in row `id`: the row must be `held` and free;
/// a capture's PartnerTrxId is taken from the journal's counter and committed with the
/// row's move to `pending`, before the first byte is sent.
pub async fn act(ctx: &Ctx, id: String, action: HoldAction) {
    if let Err(reason) = client(ctx).await {
        return not_configured(ctx, Some(id), reason);
    }
    let holder = ctx.holder.clone();
    let until = super::poll::first_lease(ctx);
    let rid = id.clone();
    let begun = db(ctx, move |j| {
        let op = j.get(&rid)?;
        let mut p = hold_params(&op)
            .ok_or_else(|| JournalError::Corrupt(format!("{rid}: hold params unreadable")))?;
        if op.kind != Kind::UpayHold {
            return Err(JournalError::NotFound(rid));
        }
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
    .await;
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
                JournalError::NeedsReconciliation(_) => "upay.hold_busy",
                JournalError::NotFound(_) => "error.not_found",
                _ => "error.journal",
            };
            tracing::warn!(op = %id, error = %e, ?action, "hold action refused; nothing sent");
            ctx.emit(Event::Trouble { id: Some(id), key });
        }
    }
}

/// The floor of a new PartnerTrxId: yyMMddHHmmss (UTC) and two more digits, so that ids
/// only grow, across restarts and a lost journal counter alike.
fn trx_floor() -> i64 {
    let stamp = chrono::Utc::now().format("%y%m%d%H%M%S").to_string();
    stamp.parse::<i64>().unwrap_or(0).saturating_mul(100)
}

/// What a check says of a hold.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HoldStatus {
    Held,
    Captured,
    Cancelled,
    Expired,
    /// A status nobody documented: the row stays as it is, logged as an anomaly.
    Unknown(String),
}

impl HoldStatus {
    pub fn message_key(&self) -> &'static str {
        match self {
            HoldStatus::Held => "state.held",
            HoldStatus::Captured => "upay.captured",
            HoldStatus::Cancelled => "state.cancelled",
            HoldStatus::Expired => "state.expired",
            HoldStatus::Unknown(_) => "send.unknown_status",
        }
    }
}

/// Reads a check's reply: a `Status` element when there is one (the emulator writes it;
/// document 004 lists none), otherwise a TransactionId or PartnerTrxId means captured
/// and their absence means still held.
pub fn hold_status(reply: &Reply) -> HoldStatus {
    if let Some(s) = reply.field("Status").or_else(|| reply.field("status")) {
        return match s.trim().to_ascii_lowercase().as_str() {
            "held" | "hold" | "active" => HoldStatus::Held,
            "captured" | "paid" | "payed" => HoldStatus::Captured,
            "cancelled" | "canceled" => HoldStatus::Cancelled,
            "expired" => HoldStatus::Expired,
            _ => HoldStatus::Unknown(s.to_string()),
        };
    }
    if reply.field("TransactionId").is_some() || reply.field("PartnerTrxId").is_some() {
        HoldStatus::Captured
    } else {
        HoldStatus::Held
    }
}

fn captured_facts(op: &Operation, reply: &Reply) -> Facts {
    let mut detail = Vec::new();
    for name in [
        "TransactionId",
        "ProcessTrxId",
        "PartnerTrxId",
        "PaymentDate",
    ] {
        if let Some(v) = reply.field(name) {
            detail.push(format!("{name} {v}"));
        }
    }
    if let Some(paid) = reply.field("PaymentAmount") {
        detail.push(format!("PaymentAmount {paid}"));
        if paid.trim().parse::<i64>().ok() != Some(op.amount.minor()) {
            // Document 004: a captured amount other than the held one is shown, not hidden.
            tracing::warn!(op = %op.id, held = op.amount.minor(), paid, "captured amount differs from the hold");
            detail.push(format!(
                "ANOMALY: captured {paid} tiyin, held {}",
                op.amount.minor()
            ));
        }
    }
    Facts {
        provider_status: Some(reply.code.clone()),
        provider_message: reply.description.clone(),
        provider_ref: None,
        detail: (!detail.is_empty()).then(|| detail.join("; ")),
    }
}

/// What a check's answer means for the row `op`.
pub fn judge_check(op: &Operation, reply: &Reply) -> (Verdict, Facts, Option<Trouble>) {
    let facts = Facts {
        provider_ref: None,
        ..reply_facts(reply)
    };
    match reply.outcome() {
        Outcome::Ok => match hold_status(reply) {
            HoldStatus::Captured => (
                Verdict::Final(State::Completed),
                captured_facts(op, reply),
                None,
            ),
            HoldStatus::Cancelled => (Verdict::Final(State::Cancelled), facts, None),
            HoldStatus::Expired => (Verdict::Final(State::Expired), facts, None),
            HoldStatus::Held if expires_at(op).is_some_and(|t| now_ms() > t) => {
                (Verdict::Final(State::Expired), facts, None)
            }
            HoldStatus::Held => (Verdict::Final(State::Held), facts, None),
            HoldStatus::Unknown(s) => (Verdict::Pending, facts, Some(Trouble::UnknownStatus(s))),
        },
        Outcome::InProcess => (Verdict::Pending, facts, None),
        Outcome::Error(code) | Outcome::Unknown(code) => {
            (Verdict::Pending, facts, Some(Trouble::UnknownStatus(code)))
        }
    }
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
                return (Verdict::Pending, Facts::default(), Some(Trouble::NoStatus));
            };
            match upay.hold_payment(&hold_id, trx).await {
                Ok(reply) => match reply.outcome() {
                    Outcome::Ok => (
                        Verdict::Final(State::Completed),
                        captured_facts(op, &reply),
                        None,
                    ),
                    Outcome::InProcess => (Verdict::Pending, reply_facts(&reply), None),
                    // Unknown: the same capture again (same PartnerTrxId) is safe.
                    Outcome::Unknown(code) => (
                        Verdict::Pending,
                        reply_facts(&reply),
                        Some(Trouble::UnknownStatus(code)),
                    ),
                    // Refused: the hold may be cancelled, expired or still held; a check
                    // says which (a refused capture leaves it held).
                    Outcome::Error(code) => {
                        refused_then_check(upay, op, &hold_id, &code, &reply).await
                    }
                },
                Err(e) => (Verdict::Pending, Facts::default(), Some(Trouble::Send(e))),
            }
        }
        (Phase::Cancel, Some(hold_id)) => match upay.hold_cancel(&hold_id).await {
            Ok(reply) => match reply.outcome() {
                Outcome::Ok => (
                    Verdict::Final(State::Cancelled),
                    Facts {
                        provider_ref: None,
                        ..reply_facts(&reply)
                    },
                    None,
                ),
                Outcome::InProcess => (Verdict::Pending, reply_facts(&reply), None),
                Outcome::Unknown(code) => (
                    Verdict::Pending,
                    reply_facts(&reply),
                    Some(Trouble::UnknownStatus(code)),
                ),
                Outcome::Error(code) => refused_then_check(upay, op, &hold_id, &code, &reply).await,
            },
            Err(e) => (Verdict::Pending, Facts::default(), Some(Trouble::Send(e))),
        },
        // A capture or cancel without a HoldId cannot be: a person looks.
        (_, None) => (Verdict::Pending, Facts::default(), Some(Trouble::NoStatus)),
    }
}

/// What a create's answer means for the row (public for the property tests in
/// `tests/fuzz.rs`, like [`judge_check`]).
pub fn judge_create(reply: &Reply) -> (Verdict, Facts, Option<Trouble>) {
    let facts = reply_facts(reply);
    match (reply.outcome(), reply.hold_id()) {
        (Outcome::Ok, Some(_)) => (Verdict::Final(State::Held), facts, None),
        // In process with its HoldId: the next attempt checks it (poll.rs sees the ref).
        (Outcome::InProcess, Some(_)) => (Verdict::Pending, facts, None),
        (Outcome::Error(_), Some(_)) => (
            Verdict::Pending,
            facts,
            Some(Trouble::UnknownStatus(reply.code.clone())),
        ),
        // "ERR – fail": the provider answered and placed nothing.
        (Outcome::Error(_), None) => (Verdict::Final(State::Declined), facts, None),
        // A code of no documented form: nothing is known, a hold may exist.
        (Outcome::Unknown(code), _) => {
            (Verdict::Pending, facts, Some(Trouble::UnknownStatus(code)))
        }
        // OK without a HoldId, or in process without one: a hold may exist that kassa
        // cannot name; never sent again (rule 2).
        (Outcome::Ok | Outcome::InProcess, None) => (
            Verdict::Pending,
            facts,
            Some(Trouble::UnknownStatus(format!(
                "{} without HoldId",
                reply.code
            ))),
        ),
    }
}

async fn check_row(
    upay: &UpayClient,
    op: &Operation,
    by: CheckBy,
    target: &str,
) -> (Verdict, Facts, Option<Trouble>) {
    match upay.hold_check(by, target).await {
        Ok(reply) => judge_check(op, &reply),
        Err(e) => (Verdict::Pending, Facts::default(), Some(Trouble::Send(e))),
    }
}

/// A capture or cancel the provider refused: the hold's own state decides. A check that
/// says "still held" returns the row to `held` with the refusal's words.
async fn refused_then_check(
    upay: &UpayClient,
    op: &Operation,
    hold_id: &str,
    code: &str,
    refusal: &Reply,
) -> (Verdict, Facts, Option<Trouble>) {
    let (verdict, mut facts, trouble) = check_row(upay, op, CheckBy::HoldId, hold_id).await;
    if verdict == Verdict::Final(State::Held) {
        facts = error_facts(code, refusal);
        facts.provider_ref = None;
    }
    (verdict, facts, trouble)
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
        if let (Verdict::Final(to), facts, _) = judge_check(&op, &reply) {
            let holder = ctx.holder.clone();
            let rid = op.id.clone();
            match db(ctx, move |j| j.transition(&rid, &holder, to, &facts)).await {
                Ok(moved) => {
                    tracing::info!(op = %moved.id, state = %moved.state, "hold moved by a check");
                    answer.op = Some(moved);
                }
                Err(e) => tracing::warn!(op = %op.id, error = %e, "check answer not applied"),
            }
        }
    }
    ctx.emit(Event::HoldChecked { answer });
    ctx.emit_counts().await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_check_without_status_reads_transaction_fields() {
        let mut r = Reply {
            code: "OK".into(),
            ..Reply::default()
        };
        assert_eq!(hold_status(&r), HoldStatus::Held);
        r.fields.insert("TransactionId".into(), "14551222".into());
        assert_eq!(hold_status(&r), HoldStatus::Captured);
        r.fields.insert("Status".into(), "Cancelled".into());
        assert_eq!(hold_status(&r), HoldStatus::Cancelled);
        r.fields.insert("Status".into(), "7".into());
        assert_eq!(hold_status(&r), HoldStatus::Unknown("7".into()));
    }

    #[test]
    fn a_create_failure_without_hold_id_is_declined_and_with_one_is_not() {
        let mut r = Reply {
            code: "STPIMS-ERR-020".into(),
            ..Reply::default()
        };
        assert_eq!(judge_create(&r).0, Verdict::Final(State::Declined));
        r.fields.insert("HoldId".into(), "3794392756034717".into());
        assert_eq!(judge_create(&r).0, Verdict::Pending);
        r.code = "OK".into();
        assert_eq!(judge_create(&r).0, Verdict::Final(State::Held));
        r.fields.clear();
        assert_eq!(judge_create(&r).0, Verdict::Pending, "OK without a HoldId");
    }
}
