//! The Allpay wallet check before a cash-in (`checkUserAndValidateCashIn`): whose wallet
//! it is. The cash-in itself is committed and driven like any request (worker/mod.rs).

use super::{CheckOutcome, Ctx, Event};
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
