//! WebMoney X1 invoice (document 002): what the cashier confirmed, what its row keeps and
//! what an X1 reply means. X1 does not deduplicate by orderid: an invoice is sent once.

use serde::{Deserialize, Serialize};

use super::{Trouble, Verdict};
use crate::journal::{Facts, Operation, State};
use crate::money::Amount;
use crate::providers::SendError;
use crate::providers::webmoney::{DOCUMENTED_RETVALS, Reply, retval_key};

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

/// What an X1 reply means for the invoice row `op`. retval 0: issued (the kind's
/// "completed"), when the invoice it describes is this one (its orderid and amount); a
/// retval document 002's table lists: rejected, nothing was created; any other retval, or
/// an invoice for another orderid or amount: a person looks (X1 is never sent twice
/// automatically); no readable answer: unknown.
pub fn judge(
    op: &Operation,
    result: &Result<Reply, SendError>,
) -> (Verdict, Facts, Option<Trouble>) {
    match result {
        Ok(r) if r.retval == 0 => {
            let inv = r.invoice.clone().unwrap_or_default();
            let facts = Facts {
                provider_status: Some("retval 0".into()),
                provider_message: r.retdesc.clone().filter(|d| !d.is_empty()),
                provider_ref: inv.id.clone(),
                detail: Some(format!(
                    "invoice {} number {} orderid {} amount {} state {} created {}",
                    inv.id.as_deref().unwrap_or("-"),
                    inv.ts.as_deref().unwrap_or("-"),
                    inv.orderid.as_deref().unwrap_or("-"),
                    inv.amount
                        .map(|a| a.to_wire_decimal())
                        .unwrap_or_else(|| "-".into()),
                    inv.state
                        .map(|s| s.to_string())
                        .unwrap_or_else(|| "-".into()),
                    inv.datecrt.as_deref().unwrap_or("-"),
                )),
                link: None,
                message_key: None,
                amount_minor: None,
            };
            let mut other = Vec::new();
            if let Some(o) = inv.orderid.as_deref().filter(|o| o.trim() != op.id) {
                other.push(format!("sent orderid {}, the reply names {o}", op.id));
            }
            let named = match (inv.amount, inv.amount_text.as_deref()) {
                (Some(a), _) if a != op.amount => Some(a.to_wire_decimal()),
                // An amount that does not read as one cannot be held against what was asked.
                (None, Some(t)) => Some(t.to_string()),
                _ => None,
            };
            if let Some(a) = named {
                tracing::warn!(sent = %op.amount.to_wire_decimal(), got = %a, "X1 invoice amount differs");
                other.push(format!(
                    "asked {}, the reply names {a}",
                    op.amount.to_wire_decimal()
                ));
            }
            if other.is_empty() {
                (Verdict::Final(State::Completed), facts, None)
            } else {
                (
                    Verdict::Reconcile("recon.other_operation", other.join("; ")),
                    facts,
                    None,
                )
            }
        }
        Ok(r) => {
            let facts = Facts {
                provider_status: Some(format!("retval {}", r.retval)),
                provider_message: r.retdesc.clone().filter(|d| !d.is_empty()),
                provider_ref: None,
                detail: None,
                link: None,
                message_key: Some(retval_key(r.retval)),
                amount_minor: None,
            };
            if DOCUMENTED_RETVALS.contains(&r.retval) {
                (Verdict::Final(State::Rejected), facts, None)
            } else {
                let said = format!(
                    "retval {}{}",
                    r.retval,
                    r.retdesc
                        .as_deref()
                        .map(|d| format!(": {d}"))
                        .unwrap_or_default()
                );
                (Verdict::Reconcile("recon.unknown_code", said), facts, None)
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
