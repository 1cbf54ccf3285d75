//! UPay (document 004), its two operation kinds: a card registration (masked; never re-sent,
//! the CVV is not kept) and a hold (created once, then captured with a PartnerTrxId, safe to
//! repeat, or cancelled). What each row keeps and what each reply means.

use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use super::{Trouble, Verdict};
use crate::journal::{Facts, Operation, State};
use crate::mask::pan as mask_pan;
use crate::money::{Amount, Currency};
use crate::providers::upay::codec::{Outcome, Reply};

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

/// When a hold runs out: its row was committed just before the create went out, so this
/// is, if anything, a little early.
pub fn expires_at(op: &Operation) -> Option<i64> {
    let minutes = i64::try_from(hold_params(op)?.minutes).ok()?;
    Some(op.created_at.saturating_add(minutes.saturating_mul(60_000)))
}

/// Whether sending this row's next request again cannot do anything twice: a capture (same
/// PartnerTrxId), a cancel, or a create whose HoldId is known (it becomes a check).
pub fn hold_repeat_safe(op: &Operation) -> bool {
    match hold_params(op).map(|p| p.phase) {
        Some(Phase::Capture | Phase::Cancel) => true,
        Some(Phase::Create) => op.provider_ref.is_some(),
        None => false,
    }
}

/// A hold row's parameters (none for a row of another kind).
pub fn hold_params(op: &Operation) -> Option<HoldParams> {
    match super::Params::of(op)? {
        super::Params::UpayHold(p) => Some(p),
        _ => None,
    }
}

/// A card row's parameters (none for a row of another kind).
pub fn card_params(op: &Operation) -> Option<CardParams> {
    match super::Params::of(op)? {
        super::Params::UpayCard(p) => Some(p),
        _ => None,
    }
}

pub fn reply_facts(reply: &Reply) -> Facts {
    Facts {
        provider_status: Some(reply.code.clone()),
        provider_message: reply.description.clone(),
        provider_ref: reply.hold_id().map(str::to_string),
        detail: reply.errors.clone().filter(|e| !e.is_empty()),
        link: None,
        message_key: None,
    }
}

pub fn error_facts(code: &str, reply: &Reply) -> Facts {
    Facts {
        provider_status: Some(code.to_string()),
        ..reply_facts(reply)
    }
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
        link: None,
        message_key: None,
    }
}

/// What a check's answer means for the row `op`.
/// `now`: Unix milliseconds, for a hold still held past the minutes it was placed for.
pub fn judge_check(op: &Operation, reply: &Reply, now: i64) -> (Verdict, Facts, Option<Trouble>) {
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
            HoldStatus::Held if expires_at(op).is_some_and(|t| now > t) => {
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

/// What a create's answer means for the row (public for the property tests in
/// `tests/it/fuzz.rs`, like [`judge_check`]).
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

impl CardInput {
    /// The registration as its row keeps it: the card masked, no CVV.
    pub fn asked(&self, id: String) -> super::Asked {
        let params = CardParams {
            pan: crate::mask::pan(&self.number),
            expiry: self.expiry.clone(),
            holder: self.holder.clone(),
            phone: self.phone.clone(),
        };
        super::Asked {
            id,
            amount: Amount::none(CURRENCY),
            customer: params.pan.clone(),
            customer_name: Some(self.holder.clone()),
            params: super::Params::UpayCard(params),
        }
    }
}

impl HoldInput {
    /// The hold's create request under journal id `id`.
    pub fn asked(&self, id: String) -> super::Asked {
        super::Asked {
            id,
            amount: self.amount,
            customer: self.account.clone(),
            customer_name: Some(crate::mask::token(&self.card_token)),
            params: super::Params::UpayHold(HoldParams {
                card_token: self.card_token.clone(),
                service_id: self.service_id,
                account: self.account.clone(),
                minutes: self.minutes,
                phase: Phase::Create,
                partner_trx_id: None,
            }),
        }
    }
}

/// What a capture's reply means for the held row `op`. `Err(code)`: UPay refused it, and
/// only a check can say whether the hold is still held, cancelled or expired.
pub fn judge_capture(
    op: &Operation,
    reply: &Reply,
) -> Result<(Verdict, Facts, Option<Trouble>), String> {
    match reply.outcome() {
        Outcome::Ok => Ok((
            Verdict::Final(State::Completed),
            captured_facts(op, reply),
            None,
        )),
        Outcome::InProcess => Ok((Verdict::Pending, reply_facts(reply), None)),
        // Unknown: the same capture again (same PartnerTrxId) is safe.
        Outcome::Unknown(code) => Ok((
            Verdict::Pending,
            reply_facts(reply),
            Some(Trouble::UnknownStatus(code)),
        )),
        Outcome::Error(code) => Err(code),
    }
}

/// What a cancel's reply means. `Err(code)`: refused, a check decides (as for a capture).
pub fn judge_cancel(reply: &Reply) -> Result<(Verdict, Facts, Option<Trouble>), String> {
    match reply.outcome() {
        Outcome::Ok => Ok((
            Verdict::Final(State::Cancelled),
            Facts {
                provider_ref: None,
                ..reply_facts(reply)
            },
            None,
        )),
        Outcome::InProcess => Ok((Verdict::Pending, reply_facts(reply), None)),
        Outcome::Unknown(code) => Ok((
            Verdict::Pending,
            reply_facts(reply),
            Some(Trouble::UnknownStatus(code)),
        )),
        Outcome::Error(code) => Err(code),
    }
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
