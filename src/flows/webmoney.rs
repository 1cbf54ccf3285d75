//! WebMoney X1 invoice (document 002): what the cashier confirmed, what its row keeps and
//! what an X1 reply means. X1 does not deduplicate by orderid: an invoice is sent once.

use serde::{Deserialize, Serialize};

use super::{Trouble, Verdict};
use crate::journal::{Facts, State};
use crate::money::Amount;
use crate::providers::SendError;
use crate::providers::webmoney::{Reply, retval_key};

/// An invoice exactly as the cashier confirmed it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WmInvoice {
    /// Given with `--id`; otherwise the next from the journal's counter when committed.
    pub orderid: Option<u64>,
    pub customer_wmid: String,
    pub purse: String,
    pub amount: Amount,
    pub desc: String,
    pub address: String,
    pub period: u8,
    pub expiration: u8,
}

/// What an invoice row keeps beside the common columns (no secrets).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Params {
    pub orderid: u64,
    pub customer_wmid: String,
    pub purse: String,
    pub desc: String,
    pub address: String,
    pub period: u8,
    pub expiration: u8,
}

/// retval 0: issued (the kind's "completed"); any other retval: rejected, nothing was
/// created; no readable answer: unknown (and X1 is never sent twice automatically).
pub fn judge(result: &Result<Reply, SendError>, sent: Amount) -> (Verdict, Facts, Option<Trouble>) {
    match result {
        Ok(r) if r.retval == 0 => {
            let inv = r.invoice.clone().unwrap_or_default();
            // An invoice for another amount than was asked is issued all the same (it exists
            // at WebMoney), and said loudly: an anomaly for the cashier and the log.
            let anomaly = inv.amount.filter(|a| *a != sent).map(|a| {
                tracing::warn!(sent = %sent.to_wire_decimal(), got = %a.to_wire_decimal(), "X1 invoice amount differs");
                format!(
                    "ANOMALY: issued for {} but {} was asked; ",
                    a.to_wire_decimal(),
                    sent.to_wire_decimal()
                )
            });
            let facts = Facts {
                provider_status: Some("retval 0".into()),
                provider_message: r.retdesc.clone().filter(|d| !d.is_empty()),
                provider_ref: inv.id.clone(),
                detail: Some(format!(
                    "{}invoice {} number {} state {} created {}",
                    anomaly.unwrap_or_default(),
                    inv.id.as_deref().unwrap_or("-"),
                    inv.ts.as_deref().unwrap_or("-"),
                    inv.state
                        .map(|s| s.to_string())
                        .unwrap_or_else(|| "-".into()),
                    inv.datecrt.as_deref().unwrap_or("-"),
                )),
                link: None,
                message_key: None,
            };
            (Verdict::Final(State::Completed), facts, None)
        }
        Ok(r) => {
            let facts = Facts {
                provider_status: Some(format!("retval {}", r.retval)),
                provider_message: r.retdesc.clone().filter(|d| !d.is_empty()),
                provider_ref: None,
                detail: None,
                link: None,
                message_key: Some(retval_key(r.retval)),
            };
            (Verdict::Final(State::Rejected), facts, None)
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
        super::Params::Webmoney(p) => Some(p),
        _ => None,
    }
}

impl WmInvoice {
    /// The request numbered `orderid` (which is also its journal id).
    pub fn asked(&self, orderid: u64) -> super::Asked {
        super::Asked {
            id: orderid.to_string(),
            amount: self.amount,
            customer: self.customer_wmid.clone(),
            customer_name: None,
            params: super::Params::Webmoney(Params {
                orderid,
                customer_wmid: self.customer_wmid.clone(),
                purse: self.purse.clone(),
                desc: self.desc.clone(),
                address: self.address.clone(),
                period: self.period,
                expiration: self.expiration,
            }),
        }
    }
}

/// An invoice as typed, field by field, on the screen or on the command line.
#[derive(Debug, Clone, Copy)]
pub struct Form<'a> {
    pub wmid: &'a str,
    pub purse: &'a str,
    pub amount: &'a str,
    pub desc: &'a str,
    pub address: &'a str,
    pub period: &'a str,
    pub expiration: &'a str,
}

/// A checked form: the invoice to confirm, and whether the description or the address was
/// trimmed to fit X1's limits (the cashier is told).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checked {
    pub invoice: WmInvoice,
    pub desc_trimmed: bool,
    pub address_trimmed: bool,
}

/// Checks every field in the form's order (wmid, purse, amount, desc, address, period,
/// expiration); the first bad one is refused with its index and its message key. The one
/// form-to-request step for the screen and the command line.
pub fn check(f: &Form<'_>) -> Result<Checked, (usize, &'static str)> {
    use crate::validate::{self, WmField};
    let wmid = validate::wmid(f.wmid).map_err(|k| (0, k))?;
    let purse = validate::purse(f.purse).map_err(|k| (1, k))?;
    let currency =
        crate::providers::webmoney::purse_currency(&purse).ok_or((1, "wm.purse_invalid"))?;
    let amount = Amount::parse(f.amount, currency).map_err(|e| (2, e.message_key()))?;
    let (desc, desc_trimmed) = validate::wm_text(f.desc, WmField::Desc).map_err(|k| (3, k))?;
    let (address, address_trimmed) =
        validate::wm_text(f.address, WmField::Address).map_err(|k| (4, k))?;
    let period = validate::wm_days(f.period).map_err(|k| (5, k))?;
    let expiration = validate::wm_days(f.expiration).map_err(|k| (6, k))?;
    Ok(Checked {
        invoice: WmInvoice {
            orderid: None,
            customer_wmid: wmid,
            purse,
            amount,
            desc,
            address,
            period,
            expiration,
        },
        desc_trimmed,
        address_trimmed,
    })
}
