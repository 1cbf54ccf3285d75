//! The Allpay cash-in flow on the worker's side: the wallet check, the commit-then-send of
//! a confirmed payment, and what each reply means for the journal row.

use super::{CheckOutcome, Ctx, Event};
use crate::flows::cash_in::CashInPayment;
use crate::providers::SendError;

pub async fn check_user(ctx: &Ctx, login: String) {
    let outcome = match ctx.cash_in.check_user(&login).await {
        Ok(reply) => match reply.user {
            Some(user) => CheckOutcome::Found {
                user,
                message: reply.header.user_message.filter(|m| !m.trim().is_empty()),
            },
            None => CheckOutcome::NotFound {
                message: reply.header.user_message,
            },
        },
        Err(e) => {
            tracing::warn!(error = %e, "wallet check failed");
            let (code, message) = match &e {
                SendError::Fault { code, message } => (Some(code.clone()), Some(message.clone())),
                _ => (None, None),
            };
            CheckOutcome::Failed {
                key: match e {
                    SendError::NotSent(_) => "check.unreachable",
                    SendError::OutcomeUnknown(_) => "check.no_answer",
                    SendError::Fault { .. } => "check.fault",
                },
                code,
                message,
            }
        }
    };
    ctx.emit(Event::UserChecked { login, outcome });
}

/// Commits the payment as pending (after the duplicate check), then drives it.
pub async fn start(ctx: &Ctx, payment: CashInPayment, allow_duplicate: bool) {
    super::commit_and_drive(ctx, payment.asked(), allow_duplicate, |existing| {
        Event::Duplicate {
            request: crate::flows::Request::CashIn(payment),
            existing,
        }
    })
    .await;
}
