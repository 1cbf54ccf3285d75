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
    /// The row's attempts when its capture or cancel began: the attempts since are that
    /// action's sends (none for a row written before kassa kept it: then the count is
    /// unknown).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sent_before: Option<u32>,
}

/// When a hold runs out: its row was committed just before the create went out, so this
/// is, if anything, a little early.
pub fn expires_at(op: &Operation) -> Option<i64> {
    let minutes = i64::try_from(hold_params(op)?.minutes)
        .ok()
        .filter(|m| *m > 0)?;
    Some(op.created_at.saturating_add(minutes.saturating_mul(60_000)))
}

/// How late after its minutes a hold UPay still knows is taken for expired: the row was
/// committed before the create went out, and UPay's clock is not ours.
pub const EXPIRY_GRACE_MS: i64 = 5 * 60_000;

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
        amount_minor: None,
    }
}

pub fn error_facts(code: &str, reply: &Reply) -> Facts {
    Facts {
        provider_status: Some(code.to_string()),
        ..reply_facts(reply)
    }
}

/// What a check says of a hold. Document 004's check reply has no status field: it either
/// carries the payment's fields (a capture, found by its PartnerTrxId) or only its Result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HoldStatus {
    /// The payment's fields: a TransactionId or a PartnerTrxId.
    Captured,
    /// OK and no payment fields: UPay knows the hold (or the id), nothing more. Enough to go
    /// on with a capture or a cancel, whose own replies decide; never enough to move a row.
    Known,
}

impl HoldStatus {
    pub fn message_key(&self) -> &'static str {
        match self {
            HoldStatus::Captured => "upay.captured",
            HoldStatus::Known => "upay.hold_known",
        }
    }
}

/// Reads an OK check's reply: a TransactionId or a PartnerTrxId means a payment (captured),
/// their absence means only that UPay knows what was asked about.
pub fn hold_status(reply: &Reply) -> HoldStatus {
    if reply.field("TransactionId").is_some() || reply.field("PartnerTrxId").is_some() {
        HoldStatus::Captured
    } else {
        HoldStatus::Known
    }
}

/// The payment's fields of a capture's or a check's reply, for the row's detail.
fn captured_facts(reply: &Reply) -> Facts {
    let detail: Vec<String> = [
        "TransactionId",
        "ProcessTrxId",
        "PartnerTrxId",
        "PaymentDate",
        "PaymentAmount",
    ]
    .into_iter()
    .filter_map(|name| reply.field(name).map(|v| format!("{name} {v}")))
    .collect();
    Facts {
        provider_status: Some(reply.code.clone()),
        provider_message: reply.description.clone(),
        provider_ref: None,
        detail: (!detail.is_empty()).then(|| detail.join("; ")),
        link: None,
        message_key: None,
        amount_minor: None,
    }
}

/// A reply that says the hold `op` was captured (a capture's OK, or a check with the
/// payment's fields): completed only when it is this row's capture of this row's sum,
/// wherever the reply names them. Another PartnerTrxId (or a capture kassa never sent), or
/// a PaymentAmount other than the held one, waits for a person with both side by side.
pub fn judge_captured(op: &Operation, reply: &Reply) -> (Verdict, Facts, Option<Trouble>) {
    let facts = captured_facts(reply);
    let ours = hold_params(op).and_then(|p| p.partner_trx_id);
    let hold = op.provider_ref.as_deref().unwrap_or("-");
    let theirs = reply.field("PartnerTrxId").map(str::trim);
    match (ours.as_deref(), theirs) {
        (Some(ours), Some(theirs)) if theirs == ours => {}
        (Some(ours), theirs) => {
            let detail = format!(
                "hold {hold}: kassa's capture has PartnerTrxId {ours}, UPay's reply names {}",
                theirs.unwrap_or("none")
            );
            return (
                Verdict::Reconcile("recon.other_operation", detail),
                facts,
                None,
            );
        }
        (None, theirs) => {
            let detail = format!(
                "hold {hold}: UPay reports it captured (PartnerTrxId {}), kassa never sent a capture for it",
                theirs.unwrap_or("-")
            );
            return (
                Verdict::Reconcile("recon.other_operation", detail),
                facts,
                None,
            );
        }
    }
    // Document 004's reply always names the sum taken; one that does not (or not as a
    // number) says nothing about this hold's sum.
    let raw = reply.field("PaymentAmount").map(str::trim);
    let paid = raw.and_then(|p| p.parse::<i64>().ok()).filter(|p| *p > 0);
    // A hold placed elsewhere may be journaled without its sum (none is needed to capture
    // it): UPay's PaymentAmount is what was taken, and becomes the row's sum.
    if op.amount.is_none() {
        if let Some(paid) = paid {
            let mut facts = facts;
            facts.amount_minor = Some(paid);
            return (Verdict::Final(State::Completed), facts, None);
        }
        let detail = format!(
            "hold {hold}: UPay reports it captured but names no sum taken ({})",
            raw.unwrap_or("no PaymentAmount")
        );
        return (
            Verdict::Reconcile("recon.upay_captured_other_amount", detail),
            facts,
            None,
        );
    }
    let held = op.amount.minor();
    if paid != Some(held) {
        tracing::warn!(op = %op.id, held, paid = raw.unwrap_or("-"), "captured amount differs from the hold");
        let detail = format!(
            "held {held} tiyin, UPay says captured {}",
            raw.unwrap_or("no PaymentAmount")
        );
        return (
            Verdict::Reconcile("recon.upay_captured_other_amount", detail),
            facts,
            None,
        );
    }
    (Verdict::Final(State::Completed), facts, None)
}

/// Whether a capture or cancel was ever begun for this hold (its phase is no longer the
/// create's). Only a hold without one is expired by its minutes.
fn action_begun(op: &Operation) -> bool {
    hold_params(op).is_none_or(|p| p.phase != Phase::Create)
}

/// What a check's answer means for the row `op`.
/// `now`: Unix milliseconds. A hold past the minutes it was placed for is expired only when
/// no capture or cancel was ever sent for it (kassa's clock decides nothing else).
pub fn judge_check(op: &Operation, reply: &Reply, now: i64) -> (Verdict, Facts, Option<Trouble>) {
    let facts = Facts {
        provider_ref: None,
        ..reply_facts(reply)
    };
    match reply.outcome() {
        Outcome::Ok => match hold_status(reply) {
            HoldStatus::Captured => judge_captured(op, reply),
            HoldStatus::Known if action_begun(op) => (Verdict::Pending, facts, None),
            HoldStatus::Known if expires_at(op).is_some_and(|t| now > t + EXPIRY_GRACE_MS) => {
                (Verdict::Final(State::Expired), facts, None)
            }
            // A create "in process" whose hold UPay knows: whether it is held, no check
            // says. A person looks it up (rule 10 brings it back with its HoldId).
            HoldStatus::Known if op.state == State::Pending => {
                let detail = format!(
                    "UPay knows hold {} (its check answered {} without payment fields), but a check does not say whether it is held",
                    op.provider_ref.as_deref().unwrap_or("-"),
                    reply.code
                );
                (
                    Verdict::Reconcile("recon.upay_hold_unconfirmed", detail),
                    facts,
                    None,
                )
            }
            HoldStatus::Known => (Verdict::Pending, facts, None),
        },
        Outcome::InProcess => (Verdict::Pending, facts, None),
        Outcome::Error(code) | Outcome::Unknown(code) => {
            (Verdict::Pending, facts, Some(Trouble::UnknownStatus(code)))
        }
    }
}

/// What a capture or cancel UPay refused (`code`, in `refusal`) means, given the check that
/// followed it (`check`: by the row's PartnerTrxId when it has one, else by its HoldId).
/// The payment's fields decide as a capture's OK would. Otherwise the refusal decides when
/// it answered the action's only send: the hold stays held, with UPay's words. A refusal of
/// a repeat (an earlier send's reply was lost, it may have done its work) waits for a person.
pub fn judge_refused(
    op: &Operation,
    code: &str,
    refusal: &Reply,
    check: &Reply,
) -> (Verdict, Facts, Option<Trouble>) {
    if check.outcome() == Outcome::Ok && hold_status(check) == HoldStatus::Captured {
        return judge_captured(op, check);
    }
    let p = hold_params(op);
    let sends = p
        .as_ref()
        .and_then(|p| p.sent_before)
        .map(|before| op.attempts.saturating_sub(before));
    if sends == Some(1) {
        let mut facts = error_facts(code, refusal);
        facts.provider_ref = None;
        return (Verdict::Final(State::Held), facts, None);
    }
    let (action, by) = match p.as_ref().map(|p| (p.phase, p.partner_trx_id.as_deref())) {
        Some((Phase::Cancel, Some(trx))) => ("cancel", format!("PartnerTrxId {trx}")),
        Some((Phase::Cancel, None)) => ("cancel", "HoldId".to_string()),
        Some((_, trx)) => ("capture", format!("PartnerTrxId {}", trx.unwrap_or("-"))),
        None => ("action", "HoldId".to_string()),
    };
    let detail = format!(
        "the {action} of hold {} was refused ({code}) on a repeat; an earlier send's reply was lost; UPay's check by {by} answered {} without payment fields",
        op.provider_ref.as_deref().unwrap_or("-"),
        check.code
    );
    let mut facts = error_facts(code, refusal);
    facts.provider_ref = None;
    (
        Verdict::Reconcile("recon.upay_refused_repeat", detail),
        facts,
        None,
    )
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
                sent_before: None,
            }),
        }
    }
}

/// What a capture's reply means for the held row `op`: its OK as [`judge_captured`] reads
/// it. `Err(code)`: UPay refused it; a check by its PartnerTrxId follows ([`judge_refused`]).
pub fn judge_capture(
    op: &Operation,
    reply: &Reply,
) -> Result<(Verdict, Facts, Option<Trouble>), String> {
    match reply.outcome() {
        Outcome::Ok => Ok(judge_captured(op, reply)),
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

    const HELD: i64 = 100_000;

    /// A hold row of 1 000 sum placed at t=0 for 60 minutes, in `phase`, in `state`.
    fn hold_row(state: State, phase: Phase, sent_before: Option<u32>, attempts: u32) -> Operation {
        let trx = (phase == Phase::Capture).then(|| "26120101000000".to_string());
        let params = HoldParams {
            card_token: "60f74ae9c13cfc8s464a5".into(),
            service_id: 628,
            account: "112312".into(),
            minutes: 60,
            phase,
            partner_trx_id: trx,
            sent_before,
        };
        Operation {
            till: None,
            id: "h-1".into(),
            kind: crate::journal::Kind::UpayHold,
            state,
            amount: Amount::from_minor(HELD, CURRENCY).unwrap_or_else(|e| panic!("{e:?}")),
            customer: "112312".into(),
            customer_name: None,
            endpoint: "http://x/".into(),
            identity: "upay-demo".into(),
            provider_status: None,
            provider_message: None,
            provider_ref: Some("3794392756034717".into()),
            detail: None,
            needs_reconciliation: false,
            recon_reason: None,
            link: None,
            message_key: None,
            note: None,
            attempts,
            created_at: 0,
            updated_at: 0,
            final_at: None,
            params: serde_json::to_string(&params).ok(),
        }
    }

    fn ok(fields: &[(&str, &str)]) -> Reply {
        Reply {
            code: "OK".into(),
            fields: fields
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            ..Reply::default()
        }
    }

    fn paid(amount: &str) -> Reply {
        ok(&[
            ("TransactionId", "14551222"),
            ("PartnerTrxId", "26120101000000"),
            ("PaymentAmount", amount),
        ])
    }

    /// Past the hold's 60 minutes.
    const LATE: i64 = 61 * 60_000 + EXPIRY_GRACE_MS;

    #[test]
    fn a_check_reads_payment_fields_and_nothing_else() {
        assert_eq!(hold_status(&ok(&[])), HoldStatus::Known);
        assert_eq!(hold_status(&paid("100000")), HoldStatus::Captured);
        // A Status element is not document 004's: it says nothing.
        assert_eq!(
            hold_status(&ok(&[("Status", "cancelled")])),
            HoldStatus::Known
        );
        assert_eq!(
            hold_status(&ok(&[("Status", "captured")])),
            HoldStatus::Known
        );
    }

    #[test]
    fn a_capture_of_another_sum_waits_for_a_person_with_both_sums() {
        let op = hold_row(State::Pending, Phase::Capture, Some(1), 2);
        let Ok((v, facts, _)) = judge_capture(&op, &paid("100000")) else {
            panic!("an OK is not a refusal")
        };
        assert_eq!(v, Verdict::Final(State::Completed));
        assert!(
            facts
                .detail
                .is_some_and(|d| d.contains("PaymentAmount 100000"))
        );
        for other in ["99900", "100001", "", "abc", "100000 / 99900", "-100000"] {
            let r = if other.is_empty() {
                // Document 004's reply always names the sum: one that does not is no word on it.
                ok(&[("TransactionId", "1"), ("PartnerTrxId", "26120101000000")])
            } else {
                paid(other)
            };
            let Ok((v, _, _)) = judge_capture(&op, &r) else {
                panic!("an OK is not a refusal")
            };
            let shown = r
                .field("PaymentAmount")
                .unwrap_or("no PaymentAmount")
                .to_string();
            assert_eq!(
                v,
                Verdict::Reconcile(
                    "recon.upay_captured_other_amount",
                    format!("held 100000 tiyin, UPay says captured {shown}")
                ),
                "{other}"
            );
        }
        // The same from a check that reads a capture.
        let (v, _, _) = judge_check(&op, &paid("99900"), 0);
        assert!(
            matches!(v, Verdict::Reconcile("recon.upay_captured_other_amount", ref d) if d == "held 100000 tiyin, UPay says captured 99900"),
            "{v:?}"
        );
        let (v, _, _) = judge_refused(&op, "STPIMS-ERR-041", &ok(&[]), &paid("99900"));
        assert!(
            matches!(v, Verdict::Reconcile("recon.upay_captured_other_amount", _)),
            "{v:?}"
        );
        // Another PartnerTrxId is another capture.
        let r = ok(&[
            ("TransactionId", "1"),
            ("PartnerTrxId", "999"),
            ("PaymentAmount", "100000"),
        ]);
        let Ok((v, _, _)) = judge_capture(&op, &r) else {
            panic!("an OK is not a refusal")
        };
        assert!(
            matches!(v, Verdict::Reconcile("recon.other_operation", _)),
            "{v:?}"
        );
        // A capture's OK that names no PartnerTrxId is not shown to be this capture.
        let r = ok(&[("TransactionId", "1"), ("PaymentAmount", "100000")]);
        let Ok((v, _, _)) = judge_capture(&op, &r) else {
            panic!("an OK is not a refusal")
        };
        assert!(
            matches!(v, Verdict::Reconcile("recon.other_operation", ref d) if d.contains("names none")),
            "{v:?}"
        );
    }

    #[test]
    fn a_hold_placed_elsewhere_takes_upays_sum_and_only_a_sum_it_names() {
        let mut op = hold_row(State::Pending, Phase::Capture, Some(0), 1);
        op.amount = Amount::none(CURRENCY);
        let Ok((v, facts, _)) = judge_capture(&op, &paid("250000")) else {
            panic!("an OK is not a refusal")
        };
        assert_eq!(v, Verdict::Final(State::Completed));
        assert_eq!(facts.amount_minor, Some(250_000));
        for no_sum in [
            ok(&[("TransactionId", "1"), ("PartnerTrxId", "26120101000000")]),
            paid("0"),
            paid("abc"),
        ] {
            let Ok((v, facts, _)) = judge_capture(&op, &no_sum) else {
                panic!("an OK is not a refusal")
            };
            assert!(
                matches!(v, Verdict::Reconcile("recon.upay_captured_other_amount", _)),
                "{no_sum:?}: {v:?}"
            );
            assert_eq!(facts.amount_minor, None);
        }
    }

    #[test]
    fn two_codes_that_disagree_are_unknown_whichever_comes_first() {
        let op = hold_row(State::Pending, Phase::Capture, Some(1), 2);
        for codes in [["OK", "STPIMS-ERR-043"], ["STPIMS-ERR-043", "OK"]] {
            let mut r = paid("100000");
            r.code = codes.join(" / ");
            r.codes = codes.iter().map(|c| c.to_string()).collect();
            assert!(matches!(r.outcome(), Outcome::Unknown(_)), "{codes:?}");
            let Ok((v, _, trouble)) = judge_capture(&op, &r) else {
                panic!("{codes:?}: read as a refusal")
            };
            assert_eq!(v, Verdict::Pending, "{codes:?}");
            assert!(
                matches!(trouble, Some(Trouble::UnknownStatus(_))),
                "{codes:?}"
            );
            let (v, _, _) = judge_check(&op, &r, 0);
            assert_eq!(v, Verdict::Pending, "{codes:?}");
            let mut create = r.clone();
            create
                .fields
                .insert("HoldId".into(), "3794392756034717".into());
            assert_eq!(judge_create(&create).0, Verdict::Pending, "{codes:?}");
            assert!(
                judge_cancel(&r).is_ok_and(|j| j.0 == Verdict::Pending),
                "{codes:?}"
            );
        }
        // Two that agree are one.
        let mut r = paid("100000");
        r.codes = vec!["OK".into(), "OK".into()];
        assert_eq!(r.outcome(), Outcome::Ok);
    }

    #[test]
    fn a_hold_id_check_without_payment_fields_moves_no_row() {
        // A held hold, a capture's or cancel's row: never held, never expired by it.
        for (state, phase, sent) in [
            (State::Held, Phase::Create, None),
            (State::Held, Phase::Capture, Some(1)),
            (State::Held, Phase::Cancel, Some(1)),
            (State::Pending, Phase::Capture, Some(1)),
            (State::Pending, Phase::Cancel, Some(1)),
        ] {
            let op = hold_row(state, phase, sent, 2);
            assert_eq!(
                judge_check(&op, &ok(&[]), 0).0,
                Verdict::Pending,
                "{state} {phase:?}"
            );
        }
        // A create "in process": UPay knows the hold; whether it is held, a person finds out.
        let op = hold_row(State::Pending, Phase::Create, None, 2);
        assert!(matches!(
            judge_check(&op, &ok(&[]), 0).0,
            Verdict::Reconcile("recon.upay_hold_unconfirmed", _)
        ),);
        // The payment's fields on a hold kassa never captured: someone else's capture.
        let op = hold_row(State::Held, Phase::Create, None, 1);
        assert!(matches!(
            judge_check(&op, &paid("100000"), 0).0,
            Verdict::Reconcile("recon.other_operation", _)
        ));
    }

    #[test]
    fn only_a_hold_without_a_capture_or_cancel_expires_by_its_minutes() {
        for state in [State::Held, State::Pending] {
            let op = hold_row(state, Phase::Create, None, 1);
            assert_eq!(
                judge_check(&op, &ok(&[]), LATE).0,
                Verdict::Final(State::Expired),
                "{state}"
            );
            assert_ne!(
                judge_check(&op, &ok(&[]), 0).0,
                Verdict::Final(State::Expired)
            );
        }
        for (state, phase) in [
            (State::Held, Phase::Capture),
            (State::Held, Phase::Cancel),
            (State::Pending, Phase::Capture),
            (State::Pending, Phase::Cancel),
        ] {
            let op = hold_row(state, phase, Some(1), 3);
            assert_eq!(
                judge_check(&op, &ok(&[]), LATE).0,
                Verdict::Pending,
                "{state} {phase:?}"
            );
            let (v, _, _) = judge_refused(&op, "STPIMS-ERR-041", &ok(&[]), &ok(&[]));
            assert_ne!(v, Verdict::Final(State::Expired), "{state} {phase:?}");
        }
        // Params that do not read: nothing is known of a capture, so nothing expires.
        let mut op = hold_row(State::Held, Phase::Create, None, 1);
        op.params = Some("{}".into());
        assert_eq!(judge_check(&op, &ok(&[]), LATE).0, Verdict::Pending);
    }

    #[test]
    fn a_refusal_decides_only_for_the_only_send() {
        let refusal = Reply {
            code: "STPIMS-ERR-041".into(),
            ..Reply::default()
        };
        let not_found = Reply {
            code: "STPIMS-ERR-040".into(),
            ..Reply::default()
        };
        for phase in [Phase::Capture, Phase::Cancel] {
            // The action's only send was refused: still held, with UPay's words.
            let op = hold_row(State::Pending, phase, Some(1), 2);
            for check in [&ok(&[]), &not_found] {
                let (v, facts, _) = judge_refused(&op, "STPIMS-ERR-041", &refusal, check);
                assert_eq!(v, Verdict::Final(State::Held), "{phase:?}");
                assert_eq!(facts.provider_status.as_deref(), Some("STPIMS-ERR-041"));
            }
            // A repeat refused after a lost reply: the first may have done it.
            for op in [
                hold_row(State::Pending, phase, Some(1), 3),
                hold_row(State::Pending, phase, None, 2),
            ] {
                for check in [&ok(&[]), &not_found] {
                    let (v, _, _) = judge_refused(&op, "STPIMS-ERR-041", &refusal, check);
                    assert!(
                        matches!(v, Verdict::Reconcile("recon.upay_refused_repeat", _)),
                        "{phase:?}: {v:?}"
                    );
                }
            }
        }
        // The check by PartnerTrxId finds the payment: captured, whatever the refusal said.
        let op = hold_row(State::Pending, Phase::Capture, Some(1), 3);
        let (v, _, _) = judge_refused(&op, "STPIMS-ERR-041", &refusal, &paid("100000"));
        assert_eq!(v, Verdict::Final(State::Completed));
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
