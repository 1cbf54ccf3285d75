//! Allpay cash-in (document 003): what the cashier confirmed and what a
//! `createCashInPayment` reply means for its row. The worker sends it; this decides.

use std::time::Duration;

use super::{Trouble, Verdict};
use crate::journal::{Facts, Operation, State};
use crate::money::Amount;
use crate::providers::SendError;
use crate::providers::allpay::cash_in::{CashInReply, TxStatus};

/// A cash-in exactly as the cashier confirmed it: this value is what gets sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CashInPayment {
    /// The GUID, `{uuid}`: made when the cashier confirms, before anything is sent.
    pub id: String,
    pub login: String,
    pub customer_name: Option<String>,
    pub amount: Amount,
}

/// How far back an identical payment counts as a likely double (rule 8).
pub const DUPLICATE_WINDOW: Duration = Duration::from_secs(600);

/// A GUID as Allpay may write it back: braces and case do not make another payment.
fn guid_key(g: &str) -> String {
    g.trim()
        .trim_start_matches('{')
        .trim_end_matches('}')
        .to_ascii_lowercase()
}

/// What in the reply names another payment than `op` (its GUID or its amount), side by
/// side with what was sent; `None` when nothing does.
fn other_operation(op: &Operation, reply: &CashInReply) -> Option<String> {
    let mut said = Vec::new();
    for g in reply
        .guids
        .iter()
        .filter(|g| guid_key(g) != guid_key(&op.id))
    {
        said.push(format!("sent GUID {}, the reply names GUID {g}", op.id));
    }
    for a in &reply.amounts {
        if Amount::from_wire_decimal(a, op.amount.currency()).ok() != Some(op.amount) {
            said.push(format!(
                "sent {} KZT, the reply names {a}",
                op.amount.to_wire_decimal()
            ));
        }
    }
    (!said.is_empty()).then(|| said.join("; "))
}

/// What a `createCashInPayment` reply means for the row `op`. Only COMPLETED, DECLINED and
/// FAILED are final; everything else (PENDING, an unknown status, no status, a Fault, a
/// timeout, a reset, an HTTP error, an unreadable reply) leaves it pending (rule 3). A reply
/// that names another GUID or amount is not about this payment: a person compares.
pub fn judge(
    op: &Operation,
    result: &Result<CashInReply, SendError>,
) -> (Verdict, Facts, Option<Trouble>) {
    match result {
        Ok(reply) => {
            let facts = Facts {
                provider_status: reply.status.as_ref().map(|s| s.as_wire().to_string()),
                provider_message: reply
                    .header
                    .user_message
                    .clone()
                    .filter(|m| !m.trim().is_empty()),
                provider_ref: reply.transaction_id.clone(),
                detail: reply
                    .reason
                    .clone()
                    .or_else(|| reply.header.developer_message.clone()),
                link: None,
                message_key: None,
                amount_minor: None,
            };
            if let Some(other) = other_operation(op, reply) {
                return (
                    Verdict::Reconcile("recon.other_operation", other),
                    facts,
                    None,
                );
            }
            match &reply.status {
                Some(TxStatus::Completed) => (Verdict::Final(State::Completed), facts, None),
                Some(TxStatus::Declined | TxStatus::Failed) => {
                    (Verdict::Final(State::Declined), facts, None)
                }
                Some(TxStatus::Pending) => (Verdict::Pending, facts, None),
                Some(TxStatus::Unknown(s)) => (
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

impl CashInPayment {
    pub fn asked(&self) -> super::Asked {
        super::Asked {
            id: self.id.clone(),
            amount: self.amount,
            customer: self.login.clone(),
            customer_name: self.customer_name.clone(),
            params: super::Params::CashIn,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::providers::allpay::cash_in::ResponseHeader;

    fn reply(status: Option<TxStatus>) -> Result<CashInReply, SendError> {
        Ok(CashInReply {
            header: ResponseHeader::default(),
            status,
            reason: Some("why".into()),
            transaction_id: None,
            commission: None,
            guids: Vec::new(),
            amounts: Vec::new(),
        })
    }

    fn row() -> Operation {
        crate::journal::fixture::operation(
            "{0f8fad5b-d9cb-469f-a165-70867728950e}",
            crate::journal::Kind::AllpayCashIn,
            Amount::from_minor(10_000, crate::money::Currency::Kzt)
                .unwrap_or_else(|e| panic!("{e:?}")),
        )
    }

    fn judge(r: &Result<CashInReply, SendError>) -> (Verdict, Facts, Option<Trouble>) {
        super::judge(&row(), r)
    }

    #[test]
    fn a_reply_about_another_payment_waits_for_a_person() {
        let about = |guids: &[&str], amounts: &[&str]| {
            let mut r = reply(Some(TxStatus::Completed)).unwrap_or_else(|_| unreachable!());
            r.guids = guids.iter().map(|g| g.to_string()).collect();
            r.amounts = amounts.iter().map(|a| a.to_string()).collect();
            judge(&Ok(r)).0
        };
        // The same payment, however written back.
        assert_eq!(
            about(
                &["0F8FAD5B-D9CB-469F-A165-70867728950E"],
                &["100", "100.00"]
            ),
            Verdict::Final(State::Completed)
        );
        for (guids, amounts) in [
            (
                &["{11111111-d9cb-469f-a165-70867728950e}"][..],
                &["100"][..],
            ),
            (
                &["{0f8fad5b-d9cb-469f-a165-70867728950e}"][..],
                &["1000"][..],
            ),
            (&[][..], &["99.99"][..]),
            (&[][..], &["not a sum"][..]),
        ] {
            assert!(
                matches!(
                    about(guids, amounts),
                    Verdict::Reconcile("recon.other_operation", _)
                ),
                "{guids:?} {amounts:?}"
            );
        }
    }

    #[test]
    fn only_documented_final_statuses_are_final() {
        assert_eq!(
            judge(&reply(Some(TxStatus::Completed))).0,
            Verdict::Final(State::Completed)
        );
        assert_eq!(
            judge(&reply(Some(TxStatus::Declined))).0,
            Verdict::Final(State::Declined)
        );
        assert_eq!(
            judge(&reply(Some(TxStatus::Failed))).0,
            Verdict::Final(State::Declined)
        );
        assert_eq!(judge(&reply(Some(TxStatus::Pending))).0, Verdict::Pending);
        assert_eq!(
            judge(&reply(Some(TxStatus::Unknown("X".into())))).0,
            Verdict::Pending
        );
        assert_eq!(judge(&reply(None)).0, Verdict::Pending);
        for e in [
            SendError::NotSent("refused".into()),
            SendError::OutcomeUnknown("timeout".into()),
            SendError::Fault {
                code: "S:Server".into(),
                message: "x".into(),
            },
        ] {
            assert_eq!(judge(&Err(e)).0, Verdict::Pending);
        }
    }

    #[test]
    fn the_reason_goes_to_the_detail_not_the_message() {
        let (_, facts, _) = judge(&reply(Some(TxStatus::Declined)));
        assert_eq!(facts.detail.as_deref(), Some("why"));
        assert_eq!(facts.provider_message, None);
    }
}
