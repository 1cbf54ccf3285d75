//! Allpay utility payment (document 001): what the cashier confirmed, what its row keeps
//! (the rrn's valueDate fixed at the first send) and what a `payForServicesPay` reply means.

use serde::{Deserialize, Serialize};

use super::{Trouble, Verdict};
use crate::journal::{Facts, State};
use crate::money::Amount;
use crate::providers::SendError;
use crate::providers::allpay::pay::{PayReply, PayStatus};

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
                link: None,
                message_key: None,
                amount_minor: None,
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

/// This kind's parameters of a row (none for a row of another kind).
pub fn params_of(op: &crate::journal::Operation) -> Option<Params> {
    match super::Params::of(op)? {
        super::Params::Pay(p) => Some(p),
        _ => None,
    }
}

impl UtilityPayment {
    /// The request with its valueDate: fixed here, at the first commit; every re-send
    /// carries the same one.
    pub fn asked(&self, value_date: String) -> super::Asked {
        super::Asked {
            id: self.id.clone(),
            amount: self.amount,
            customer: customer_of(&self.service, &self.account),
            customer_name: None,
            params: super::Params::Pay(Params {
                login: self.login.clone(),
                service: self.service.clone(),
                account: self.account.clone(),
                value_date,
            }),
        }
    }
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
