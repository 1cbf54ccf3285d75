//! The journal's rows as the rest of kassa sees them: an [`Operation`] and its
//! [`AuditEvent`]s, what a new one and a reply bring ([`NewOperation`], [`Facts`]), which
//! rows a list shows and what recording one did.

use super::{Kind, State};
use crate::money::Amount;

/// One journal row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Operation {
    /// Our client id (the cash-in GUID), the one a retry re-sends.
    pub id: String,
    pub kind: Kind,
    pub state: State,
    pub amount: Amount,
    /// Wallet login, account, WMID: whom the money is for.
    pub customer: String,
    pub customer_name: Option<String>,
    /// Where the request goes and as whom (rule 1: a retry goes there or nowhere).
    pub endpoint: String,
    pub identity: String,
    /// The provider's status as it wrote it, its message for the cashier, its reference.
    pub provider_status: Option<String>,
    pub provider_message: Option<String>,
    pub provider_ref: Option<String>,
    /// The provider's own words for the detail view and the log, not for the receipt
    /// (e.g. Allpay's `reason`, a captured hold's TransactionId).
    pub detail: Option<String>,
    /// A link the provider gave for the customer (a Wooppay payment page, UPay's 3-D Secure).
    pub link: Option<String>,
    /// What kassa says of the outcome, a catalogue key (`wm.retval.6`, `wooppay.err.221`).
    pub message_key: Option<String>,
    /// What a person wrote when they settled the row by hand.
    pub note: Option<String>,
    pub needs_reconciliation: bool,
    pub recon_reason: Option<String>,
    pub attempts: u32,
    /// Unix milliseconds, UTC.
    pub created_at: i64,
    pub updated_at: i64,
    pub final_at: Option<i64>,
    /// What this kind needs beside the common columns to re-send the same request (JSON;
    /// never a secret).
    pub params: Option<String>,
    /// The till that recorded it (`[till] name`); none before tills were named.
    pub till: Option<String>,
}

impl Operation {
    /// The provider's reference as it may be shown or printed: a UPay CardToken is a key
    /// to the customer's card, so only its ends.
    pub fn shown_ref(&self) -> Option<String> {
        let r = self.provider_ref.as_deref()?;
        Some(match self.kind {
            Kind::UpayCard => crate::mask::token(r),
            _ => r.to_string(),
        })
    }
}

/// One line of an operation's audit trail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEvent {
    pub at: i64,
    pub kind: String,
    pub detail: String,
}

/// A new operation, as the cashier confirmed it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewOperation {
    pub id: String,
    pub kind: Kind,
    pub amount: Amount,
    pub customer: String,
    pub customer_name: Option<String>,
    pub endpoint: String,
    pub identity: String,
    /// Kind-specific request parameters (JSON, no secrets).
    pub params: Option<String>,
}

/// What a reply said, to be kept with the row.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Facts {
    pub provider_status: Option<String>,
    pub provider_message: Option<String>,
    pub provider_ref: Option<String>,
    pub detail: Option<String>,
    pub link: Option<String>,
    pub message_key: Option<String>,
    /// The operation's sum in minor units, for a row journaled without one (a hold placed
    /// elsewhere: UPay's PaymentAmount); never changes a sum the row has.
    pub amount_minor: Option<i64>,
}

/// Which rows a list shows.
#[derive(Debug, Clone, Default)]
pub struct ListFilter {
    pub pending_only: bool,
    pub limit: Option<u32>,
    /// Only the rows this till recorded.
    pub till: Option<String>,
}

/// What [`Journal::record_pending_unless_duplicate`] did.
///
/// [`Journal::record_pending_unless_duplicate`]: super::Journal::record_pending_unless_duplicate
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Recorded {
    /// The new row, committed as pending.
    New(Operation),
    /// A like operation exists; nothing was written.
    Duplicate(Operation),
}
