//! The Allpay utility payment flow (document 001) on the worker's side: the check, the
//! commit-then-send of a confirmed payment with its rrn and valueDate, what each reply
//! means for the row, and the recent payees a cashier may pick again.

use super::{Ctx, Event, Trouble, Verdict, db};
use crate::flows::pay::{Payee, UtilityPayment, judge, params_of};
use crate::journal::{Facts, Kind, Operation};
use crate::providers::SendError;
use crate::providers::allpay::pay::Payment;

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
    let outcome = match ctx.pay.check(&payment).await {
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
    super::commit_and_drive(ctx, p.asked(now_rfc3339()), allow_duplicate, |existing| {
        Event::Duplicate {
            request: crate::flows::Request::Pay(p),
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
    let r = ctx.pay.pay(&payment, &params.value_date, &op.id).await;
    judge(&r)
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
