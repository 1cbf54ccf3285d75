//! The Allpay utility payment flow (document 001) on the worker's side: the check, the
//! commit-then-send of a confirmed payment with its rrn and valueDate, what each reply
//! means for the row, and the recent payees a cashier may pick again.

use serde::{Deserialize, Serialize};

use super::{Ctx, Event, Trouble, Verdict, db};
use crate::journal::{Facts, Kind, NewOperation, Operation, State};
use crate::money::Amount;
use crate::providers::SendError;
use crate::providers::allpay::terminal::{PayReply, PayStatus, Payment};

/// A utility payment exactly as the cashier confirmed it: this value is what gets sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UtilityPayment {
    /// The rrn (a UUID): made when the cashier confirms, before anything is sent.
    pub id: String,
    /// The client on whose behalf Allpay pays (`toUserName`).
    pub login: String,
    pub service: String,
    pub account: String,
    pub amount: Amount,
}

/// What a row of this kind keeps beside the common columns: everything a re-send needs to
/// be the same request (DESIGN.md rule 1), and nothing secret.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Params {
    pub login: String,
    pub service: String,
    pub account: String,
    /// Fixed at the first send; every re-send carries the same one.
    pub value_date: String,
}

/// The answer to a check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CheckOutcome {
    /// Allpay says the payment is possible (the message, when it gave one).
    Possible { message: Option<String> },
    /// Allpay says it is not, with its words and code (a SOAP Fault).
    Refused { code: String, message: String },
    /// The check could not be made; nothing moved.
    Failed { key: &'static str },
}

/// A payee a cashier paid before.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Payee {
    pub login: String,
    pub service: String,
    pub account: String,
}

/// How the journal shows whom a utility payment is for: `185/1234567`.
pub fn customer_of(service: &str, account: &str) -> String {
    format!("{service}/{account}")
}

pub fn params_of(op: &Operation) -> Option<Params> {
    op.params
        .as_deref()
        .and_then(|p| serde_json::from_str(p).ok())
}

fn now_rfc3339() -> String {
    chrono::Local::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, false)
}

pub async fn check(ctx: &Ctx, p: UtilityPayment) {
    let payment = Payment {
        login: &p.login,
        service: &p.service,
        account: &p.account,
        amount: p.amount,
    };
    let outcome = match ctx.terminal.check(&payment).await {
        Ok(reply) => CheckOutcome::Possible {
            message: reply.header.user_message.filter(|m| !m.trim().is_empty()),
        },
        Err(SendError::Fault { code, message }) => CheckOutcome::Refused { code, message },
        Err(e) => {
            tracing::warn!(error = %e, "payment check failed");
            CheckOutcome::Failed {
                key: match e {
                    SendError::NotSent(_) => "check.unreachable",
                    _ => "check.no_answer",
                },
            }
        }
    };
    ctx.emit(Event::PaymentChecked {
        id: p.id.clone(),
        outcome,
    });
}

/// Commits the payment as pending with its rrn and valueDate (after the duplicate check),
/// then drives it.
pub async fn start(ctx: &Ctx, p: UtilityPayment, allow_duplicate: bool) {
    let (endpoint, identity) = ctx.endpoint_of(Kind::AllpayPay);
    let params = Params {
        login: p.login.clone(),
        service: p.service.clone(),
        account: p.account.clone(),
        value_date: now_rfc3339(),
    };
    let new = NewOperation {
        id: p.id.clone(),
        kind: Kind::AllpayPay,
        amount: p.amount,
        customer: customer_of(&p.service, &p.account),
        customer_name: None,
        endpoint,
        identity,
        params: Some(match serde_json::to_string(&params) {
            Ok(p) => p,
            Err(e) => {
                tracing::error!(error = %e, "cannot write the payment's parameters; nothing sent");
                ctx.emit(Event::Trouble {
                    id: Some(p.id),
                    key: "error.not_recorded",
                });
                return;
            }
        }),
    };
    super::commit_and_drive(ctx, new, allow_duplicate, |existing| {
        Event::DuplicatePayment {
            payment: p,
            existing,
        }
    })
    .await;
}

/// Sends one attempt of a recorded payment, with the rrn and valueDate it was recorded with.
pub async fn send(ctx: &Ctx, op: &Operation) -> (Verdict, Facts, Option<Trouble>) {
    let Some(params) = params_of(op) else {
        // A row this version cannot read is not guessed at: it stays pending, untouched.
        return (
            Verdict::Pending,
            Facts::default(),
            Some(Trouble::Send(SendError::NotSent(
                "the row's parameters are unreadable".into(),
            ))),
        );
    };
    let payment = Payment {
        login: &params.login,
        service: &params.service,
        account: &params.account,
        amount: op.amount,
    };
    let r = ctx.terminal.pay(&payment, &params.value_date, &op.id).await;
    judge(&r)
}

/// What a `payForServicesPay` reply means. Only COMPLETED/succeeded and DECLINED/fail are
/// final; anything else, a Fault, a transport error or an unreadable reply is pending
/// (document 001: "in any other case ... the answer is pending").
pub fn judge(result: &Result<PayReply, SendError>) -> (Verdict, Facts, Option<Trouble>) {
    match result {
        Ok(reply) => {
            let facts = Facts {
                provider_status: reply.status_text.clone(),
                provider_message: reply
                    .header
                    .user_message
                    .clone()
                    .filter(|m| !m.trim().is_empty()),
                provider_ref: None,
                // `reason` is for logs, not for the cashier: it goes to the detail.
                detail: reply
                    .reason
                    .clone()
                    .or_else(|| reply.header.developer_message.clone()),
            };
            match &reply.status {
                Some(PayStatus::Completed) => (Verdict::Final(State::Completed), facts, None),
                Some(PayStatus::Declined) => (Verdict::Final(State::Declined), facts, None),
                Some(PayStatus::Pending) => (Verdict::Pending, facts, None),
                Some(PayStatus::Unknown(s)) => (
                    Verdict::Pending,
                    facts,
                    Some(Trouble::UnknownStatus(s.clone())),
                ),
                None => (Verdict::Pending, facts, Some(Trouble::NoStatus)),
            }
        }
        Err(e) => (
            Verdict::Pending,
            Facts::default(),
            Some(Trouble::Send(e.clone())),
        ),
    }
}

/// The last few distinct payees, newest first.
pub async fn recent(ctx: &Ctx) {
    let rows = db(ctx, |j| j.recent(Kind::AllpayPay, 50)).await;
    let mut payees: Vec<Payee> = Vec::new();
    for op in rows.unwrap_or_default() {
        let Some(p) = params_of(&op) else { continue };
        let payee = Payee {
            login: p.login,
            service: p.service,
            account: p.account,
        };
        if !payees.contains(&payee) {
            payees.push(payee);
        }
        if payees.len() == 8 {
            break;
        }
    }
    ctx.emit(Event::RecentPayees { payees });
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::providers::allpay::cash_in::ResponseHeader;

    fn reply(status: &str) -> Result<PayReply, SendError> {
        Ok(PayReply {
            header: ResponseHeader::default(),
            status_text: Some(status.into()),
            status: Some(PayStatus::parse(status)),
            reason: Some("stack hash 7f3a".into()),
        })
    }

    #[test]
    fn both_spellings_and_nothing_else_are_final() {
        for (s, v) in [
            ("COMPLETED", Verdict::Final(State::Completed)),
            ("succeeded", Verdict::Final(State::Completed)),
            ("DECLINED", Verdict::Final(State::Declined)),
            ("fail", Verdict::Final(State::Declined)),
            ("PENDING", Verdict::Pending),
            ("pending", Verdict::Pending),
            ("FAILED", Verdict::Pending),
            ("", Verdict::Pending),
        ] {
            assert_eq!(judge(&reply(s)).0, v, "{s}");
        }
        for e in [
            SendError::OutcomeUnknown("HTTP 500".into()),
            SendError::Fault {
                code: "S:Server".into(),
                message: "x".into(),
            },
            SendError::NotSent("refused".into()),
        ] {
            assert_eq!(judge(&Err(e)).0, Verdict::Pending);
        }
    }

    #[test]
    fn the_reason_is_for_the_log_only() {
        let (_, facts, _) = judge(&reply("fail"));
        assert_eq!(facts.detail.as_deref(), Some("stack hash 7f3a"));
        assert_eq!(facts.provider_message, None);
        assert_eq!(facts.provider_status.as_deref(), Some("fail"));
    }
}
