//! Wooppay invoice (document 000): what the cashier confirmed, what its row keeps, and what
//! a create's and a status query's replies mean. Keyed by its referenceId: a repeat gets
//! error 221, never a second invoice.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::{Trouble, Verdict};
use crate::config::Secret;
use crate::journal::{Facts, Operation, State};
use crate::money::Amount;
use crate::providers::SendError;
use crate::providers::wooppay::codec::{Record, Reply, Variant};
use crate::providers::wooppay::{ErrorClass, OpStatus, error_class, error_key};

/// How late after its deathDate an unpaid invoice counts as expired: the provider's clock
/// and ours may differ, and a payment made at the last second needs time to show.
pub const EXPIRY_GRACE: Duration = Duration::from_secs(300);

/// The longest wait between two status polls of an issued invoice: a customer is standing
/// at the till with the phone in hand.
pub const STATUS_POLL_MAX: Duration = Duration::from_secs(5);

/// The deathDate format of the document (`ГГГГ-ММ-ДД ЧЧ:ММ:СС`), local time.
pub const DEATH_DATE_FORMAT: &str = "%Y-%m-%d %H:%M:%S";

/// An invoice exactly as the cashier confirmed it: this value is what gets sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WpInvoice {
    /// The referenceId, made when the cashier confirms (or given with `--id`).
    pub reference_id: String,
    pub variant: Variant,
    pub amount: Amount,
    pub description: String,
    pub phone: String,
    pub email: String,
    pub service: String,
    /// `YYYY-MM-DD HH:MM:SS`, local time; empty: the worker sets now + `invoice_ttl_minutes`
    /// before the row is committed, so every invoice has one.
    pub death_date: String,
    pub back_url: String,
    pub request_url: String,
    pub add_info: String,
    pub card_forbidden: bool,
    /// The mobile variant's SMS code: memory only, never journaled or logged.
    pub sms_code: Option<Secret>,
}

/// What an invoice row keeps beside the common columns (no SMS code, no secret).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Params {
    pub variant: Variant,
    pub description: String,
    pub phone: String,
    pub email: String,
    pub service: String,
    pub death_date: String,
    pub back_url: String,
    pub request_url: String,
    pub add_info: String,
    pub card_forbidden: bool,
}

impl WpInvoice {
    pub fn params(&self) -> Params {
        Params {
            variant: self.variant,
            description: self.description.clone(),
            phone: self.phone.clone(),
            email: self.email.clone(),
            service: self.service.clone(),
            death_date: self.death_date.clone(),
            back_url: self.back_url.clone(),
            request_url: self.request_url.clone(),
            add_info: self.add_info.clone(),
            card_forbidden: self.card_forbidden,
        }
    }
}

/// Whom an invoice is for, in the journal's customer column: the phone, the e-mail, the
/// service, or the description.
pub fn customer_of(p: &Params) -> String {
    [&p.phone, &p.email, &p.service, &p.description]
        .into_iter()
        .find(|s| !s.is_empty())
        .cloned()
        .unwrap_or_default()
}

/// The deathDate `ttl_minutes` from now, local time.
pub fn default_death_date(ttl_minutes: u64) -> String {
    let minutes = i64::try_from(ttl_minutes).unwrap_or(60);
    (chrono::Local::now() + chrono::Duration::minutes(minutes))
        .format(DEATH_DATE_FORMAT)
        .to_string()
}

/// The operation's payment link, as kept on an issued row.
pub fn operation_url(op: &Operation) -> Option<&str> {
    op.link.as_deref()
}

pub fn reconcile(reason: &'static str, detail: &str) -> (Verdict, Facts, Option<Trouble>) {
    (
        Verdict::Reconcile(reason, detail.to_string()),
        Facts::default(),
        None,
    )
}

fn code_facts(code: i64) -> Facts {
    Facts {
        provider_status: Some(format!("error {code}")),
        provider_message: None,
        provider_ref: None,
        detail: None,
        link: None,
        message_key: Some(error_key(code)),
        amount_minor: None,
    }
}

/// What a create's reply means for the row (`op` as it is before this reply).
pub fn judge_create(
    op: &Operation,
    result: &Result<Reply, SendError>,
) -> (Verdict, Facts, Option<Trouble>) {
    let reply = match result {
        Ok(r) => r,
        Err(e) => {
            return (
                Verdict::Pending,
                Facts::default(),
                Some(Trouble::Send(e.clone())),
            );
        }
    };
    if reply.ok() {
        return match reply.invoice() {
            Some(issued) => (
                Verdict::Open(State::Issued),
                Facts {
                    provider_status: Some("issued".into()),
                    provider_message: None,
                    provider_ref: Some(issued.operation_id.to_string()),
                    detail: None,
                    link: Some(issued.operation_url),
                    message_key: None,
                    amount_minor: None,
                },
                None,
            ),
            // "Done" without the operation: it may exist; ask again (a repeat says 221).
            None => (Verdict::Pending, Facts::default(), Some(Trouble::NoStatus)),
        };
    }
    let code = reply.error_code;
    match error_class(code) {
        ErrorClass::AlreadyCreated => match &op.provider_ref {
            // Issued before (this is a repeat): keep following the known operation.
            Some(_) => (Verdict::Open(State::Issued), code_facts(code), None),
            None => (
                Verdict::Reconcile(
                    "recon.wooppay_exists",
                    "error 221: the invoice exists at Wooppay, its operationId is not known".into(),
                ),
                code_facts(code),
                None,
            ),
        },
        // A refusal on a repeat does not prove the first attempt created nothing.
        ErrorClass::NothingCreated if op.attempts > 1 => (
            Verdict::Reconcile(
                "recon.wooppay_refused_on_repeat",
                format!("error {code} on attempt {}", op.attempts),
            ),
            code_facts(code),
            None,
        ),
        ErrorClass::NothingCreated => (Verdict::Final(State::Rejected), code_facts(code), None),
        ErrorClass::Session | ErrorClass::MayHaveHappened => (
            Verdict::Pending,
            code_facts(code),
            Some(Trouble::Code(code)),
        ),
    }
}

/// Whether the invoice's deathDate (plus the grace) has passed.
fn past_death_date(op: &Operation, now: chrono::NaiveDateTime) -> bool {
    let Some(p) = params_of(op) else {
        return false;
    };
    let Ok(death) = chrono::NaiveDateTime::parse_from_str(&p.death_date, DEATH_DATE_FORMAT) else {
        return false;
    };
    let grace = chrono::Duration::from_std(EXPIRY_GRACE).unwrap_or_default();
    now > death + grace
}

/// This kind's parameters of a row (none for a row of another kind).
pub fn params_of(op: &crate::journal::Operation) -> Option<Params> {
    match super::Params::of(op)? {
        super::Params::Wooppay(p) => Some(p),
        _ => None,
    }
}

impl WpInvoice {
    pub fn asked(&self) -> super::Asked {
        let params = self.params();
        super::Asked {
            id: self.reference_id.clone(),
            amount: self.amount,
            customer: customer_of(&params),
            customer_name: None,
            params: super::Params::Wooppay(params),
        }
    }
}

/// The state a Wooppay operation status settles an invoice in; `None` while it is open or
/// its number is one the document does not list. The one table of what a status means.
pub fn final_state(status: &OpStatus) -> Option<State> {
    match status {
        OpStatus::Paid => Some(State::Completed),
        OpStatus::Declined => Some(State::Declined),
        OpStatus::Deleted => Some(State::Cancelled),
        OpStatus::Reversed(_) => Some(State::Reversed),
        OpStatus::Open(_) | OpStatus::Unknown(_) => None,
    }
}

/// The Wooppay operationId of an issued invoice (its provider_ref).
pub fn operation_id(op: &Operation) -> Option<i64> {
    op.provider_ref.as_deref().and_then(|r| r.parse().ok())
}

/// The record about `operation_id` in a `cash_getOperationData` reply, or why there is
/// none (an error code, a send error, no such record): the invoice stays issued.
pub fn find_record(
    operation_id: i64,
    result: &Result<Reply, SendError>,
) -> Result<Record, Trouble> {
    match result {
        Ok(r) if r.ok() => {
            let mine: Vec<Record> = r
                .records()
                .0
                .into_iter()
                .filter(|rec| rec.id == operation_id)
                .collect();
            match mine.as_slice() {
                [] => Err(Trouble::NoStatus),
                [one, rest @ ..] if rest.iter().all(|r| r == one) => Ok(one.clone()),
                // Two records of one operation that differ: which one is true is unknown.
                _ => Err(Trouble::UnknownStatus(format!(
                    "{} records of operation {operation_id} that differ",
                    mine.len()
                ))),
            }
        }
        Ok(r) => Err(Trouble::Code(r.error_code)),
        Err(e) => Err(Trouble::Send(e.clone())),
    }
}

/// What an issued invoice's status record means at local time `now` (its deathDate is
/// read in local time, as the document writes it).
pub fn judge_status(
    op: &Operation,
    rec: &Record,
    now: chrono::NaiveDateTime,
) -> (Verdict, Facts, Option<Trouble>) {
    let facts = Facts {
        provider_status: rec.status.map(|s| format!("status {s}")),
        ..Facts::default()
    };
    // A record of another sum is not this invoice's, whatever its status says; one whose
    // sum does not read as a sum cannot be held against the invoice either.
    let other = match (rec.sum_minor, rec.sum_text.as_deref()) {
        (Some(sum), _) if sum != op.amount.minor() => Some(crate::format::decimal(sum)),
        (None, Some(t)) => Some(t.to_string()),
        _ => None,
    };
    if let Some(sum) = other {
        let said = format!(
            "invoiced {}, Wooppay's record {} says {sum}",
            op.amount.to_wire_decimal(),
            rec.id
        );
        return (
            Verdict::Reconcile("recon.other_operation", said),
            facts,
            None,
        );
    }
    let Some(status) = rec.status.map(OpStatus::from_code) else {
        return (Verdict::Pending, facts, Some(Trouble::NoStatus));
    };
    if let Some(to) = final_state(&status) {
        return (Verdict::Final(to), facts, None);
    }
    match status {
        // Only an invoice nobody is paying (1: new) closes by its deathDate; one under
        // review or in progress (2, 8, 9) waits for Wooppay's word, however late.
        OpStatus::Open(1) if past_death_date(op, now) => {
            (Verdict::Final(State::Expired), facts, None)
        }
        OpStatus::Unknown(n) => {
            tracing::warn!(op = %op.id, status = n, "ANOMALY: Wooppay status nobody documented; still issued");
            (
                Verdict::Pending,
                facts,
                Some(Trouble::UnknownStatus(n.to_string())),
            )
        }
        _ => (Verdict::Pending, facts, None),
    }
}

/// A field of the invoice form, for a refusal to point at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field {
    Amount,
    Description,
    Phone,
    Email,
    Service,
    DeathDate,
    AddInfo,
    BackUrl,
    RequestUrl,
}

/// An invoice as typed, on the screen or on the command line (a field its variant does
/// not offer is empty).
#[derive(Debug, Clone, Copy)]
pub struct Form<'a> {
    pub variant: Variant,
    pub amount: &'a str,
    pub description: &'a str,
    pub phone: &'a str,
    pub email: &'a str,
    pub service: &'a str,
    pub death_date: &'a str,
    pub add_info: &'a str,
    pub back_url: &'a str,
    pub request_url: &'a str,
    pub card_forbidden: bool,
}

/// Checks every field; the first bad one is refused with its message key. The invoice has
/// no referenceId and no SMS code yet: the caller gives them. A deathDate left empty is
/// set by the worker when it commits the row (`invoice_ttl_minutes` from then); `now` is
/// the till's local time, for a typed one to be in the future. The one form-to-request
/// step for the screen and the command line.
pub fn check(f: &Form<'_>, now: chrono::NaiveDateTime) -> Result<WpInvoice, (Field, &'static str)> {
    use crate::validate;
    let v = f.variant;
    let amount = Amount::parse(f.amount, crate::money::Currency::Kzt)
        .map_err(|e| (Field::Amount, e.message_key()))?;
    let service = if v == Variant::Service {
        validate::wooppay_service(f.service).map_err(|k| (Field::Service, k))?
    } else {
        String::new()
    };
    let description = validate::wooppay_text(f.description).map_err(|k| (Field::Description, k))?;
    let phone = match f.phone.trim() {
        "" if v == Variant::Mobile => return Err((Field::Phone, "wooppay.phone_empty")),
        "" => String::new(),
        p => validate::wooppay_phone(p).map_err(|k| (Field::Phone, k))?,
    };
    let email = validate::wooppay_email(f.email).map_err(|k| (Field::Email, k))?;
    let death_date = match f.death_date.trim() {
        "" => String::new(),
        d => validate::wooppay_death_date(d, now)
            .map_err(|k| (Field::DeathDate, k))?
            .format(DEATH_DATE_FORMAT)
            .to_string(),
    };
    let add_info = validate::wooppay_text(f.add_info).map_err(|k| (Field::AddInfo, k))?;
    let back_url = validate::wooppay_url(f.back_url).map_err(|k| (Field::BackUrl, k))?;
    let request_url = validate::wooppay_url(f.request_url).map_err(|k| (Field::RequestUrl, k))?;
    Ok(WpInvoice {
        reference_id: String::new(),
        variant: v,
        amount,
        description,
        phone,
        email,
        service,
        death_date,
        back_url,
        request_url,
        add_info,
        card_forbidden: f.card_forbidden && matches!(v, Variant::Card | Variant::Service),
        sms_code: None,
    })
}
