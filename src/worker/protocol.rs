//! What the screens and the commands say to the worker ([`Command`]) and what it says back
//! ([`Event`]): the only way in and out of the part of kassa that does I/O.

use std::time::Duration;

use crate::journal::{AuditEvent, Kind, Operation};
use crate::providers::allpay::cash_in::UserInfo;

use super::{pay, upay, wooppay};

/// What the UI or a headless command asks the worker to do.
#[derive(Debug, Clone)]
pub enum Command {
    /// The cashier confirmed a request: commit it as pending (numbered first where the kind
    /// numbers its requests), then send it. Without `allow_duplicate`, a like operation of
    /// the last 10 minutes stops it with [`Event::Duplicate`] (rule 8).
    Start {
        request: crate::flows::Request,
        allow_duplicate: bool,
    },
    /// The cashier typed a wallet login and asks whose it is.
    CheckUser { login: String },
    /// Follow an existing operation to a final state (headless `--id`).
    Follow { id: String },
    /// Take every pending row nobody else holds and drive it; keep looking for rows
    /// whose holder went away. Sent on start.
    ResumeAll,
    /// The journal screen wants its rows.
    LoadJournal { pending_only: bool },
    /// The detail screen wants one operation and its audit trail.
    LoadOperation { id: String },
    /// Someone wants the journal's counts (answered with `Event::Counts`).
    Count,
    /// The cashier filled in a utility payment: ask Allpay whether it is possible.
    CheckPayment {
        payment: crate::flows::pay::UtilityPayment,
    },
    /// The payment screen wants the recent payees.
    LoadRecentPayees,
    /// The cashier confirmed a card registration: commit it (masked), send it once.
    RegisterCard { card: crate::flows::upay::CardInput },
    /// A card registration's outcome, from its signed notification or from the cashier who
    /// saw the customer confirm (document 004 has no method to ask).
    ConfirmCard {
        target: upay::CardTarget,
        confirmed: bool,
        note: String,
    },
    /// Capture or cancel the held hold in journal row `id` (or of HoldId `id`, placed
    /// elsewhere). `expected`: the sum a capture of a hold placed elsewhere is expected to
    /// take; UPay's PaymentAmount of another sum then waits for a person.
    ActOnHold {
        id: String,
        action: upay::HoldAction,
        expected: Option<crate::money::Amount>,
    },
    /// The open shift and the cash taken since (answered with `Event::Shift`).
    LoadShift,
    /// Open a shift with this much cash (tenge, minor units) in the drawer.
    OpenShift { opening: i64 },
    /// Close the open shift with the cash counted.
    CloseShift { counted: i64, note: Option<String> },
    /// The report of one local day.
    LoadReport { date: chrono::NaiveDate },
    /// The journal screen's filtered list (answered with `Event::Journal`).
    QueryJournal { query: crate::journal::Query },
    /// A person found the outcome of a row that waits for reconciliation.
    /// A person found a row that waits for them at the provider, with its id: it comes
    /// back into its lifecycle (flows::resumed_with_ref).
    ResumeWithRef {
        id: String,
        provider_ref: String,
        note: String,
    },
    ResolveManually {
        id: String,
        to: crate::journal::State,
        note: String,
    },
    /// Print (`[printer]`, ESC/POS) or save (a text file) an operation's receipt.
    Receipt { id: String, print: bool },
    /// Export the journal from `from` (Unix ms; everything when none) as CSV.
    Export { from: Option<i64> },
    /// Ask UPay about a hold (a cashier's check, or a notification's hint).
    CheckHold {
        by: crate::providers::upay::codec::CheckBy,
        target: String,
    },
    /// The cashier asks Wooppay to send the customer an SMS code (mobile variant). Sent
    /// once; never repeated automatically.
    WooppayRequestCode { phone: String },
    /// The Wooppay screen wants the merchant's balance.
    WooppayBalance,
    /// One status query by operationId (headless `wooppay status`).
    WooppayStatus { operation_id: i64 },
    /// Wooppay called a requestUrl (the call has no signature): a status check of every
    /// issued invoice, nothing more. Sweeps are coalesced: at most one per
    /// `[wooppay] ping_sweep_secs`, however many calls come in.
    WooppayNotified,
    /// A call the listener accepted: kept in the journal first (a UPay notification), then
    /// `ack` says so and the listener answers its caller; then acted on.
    Notice { call: Notified, ack: Ack },
}

/// A call to the listener, read and (for UPay) its signature checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Notified {
    /// A signed UPay notification: what it names and what it said.
    Upay {
        source: crate::journal::NoticeSource,
        target: String,
        status: String,
        message: String,
    },
    /// Wooppay called an invoice's requestUrl.
    WooppayPing,
}

/// Where the worker tells the listener that a notice is kept (`true`) or could not be
/// (`false`): the caller is answered 200 only after that.
#[derive(Debug, Clone)]
pub struct Ack(std::sync::Arc<std::sync::Mutex<Option<tokio::sync::oneshot::Sender<bool>>>>);

impl Ack {
    pub fn new() -> (Ack, tokio::sync::oneshot::Receiver<bool>) {
        let (tx, rx) = tokio::sync::oneshot::channel();
        (
            Ack(std::sync::Arc::new(std::sync::Mutex::new(Some(tx)))),
            rx,
        )
    }

    pub fn send(&self, kept: bool) {
        if let Some(tx) = self.0.lock().ok().and_then(|mut t| t.take()) {
            let _ = tx.send(kept);
        }
    }
}

/// Why a wallet check gave no answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CheckOutcome {
    /// The wallet exists; the server's message for the cashier, if any.
    Found {
        user: UserInfo,
        message: Option<String>,
    },
    /// No `basicUserInfo`: no such wallet.
    NotFound { message: Option<String> },
    /// The check could not be made; nothing moved.
    Failed {
        key: &'static str,
        code: Option<String>,
        message: Option<String>,
    },
}

/// What happened, for the UI or a headless command.
#[derive(Debug, Clone)]
pub enum Event {
    /// A like operation exists; the cashier must say whether this request is meant.
    Duplicate {
        request: crate::flows::Request,
        existing: Operation,
    },
    /// The answer to `CheckUser`.
    UserChecked {
        login: String,
        outcome: CheckOutcome,
    },
    /// The operation is committed as pending: from here on it cannot be lost.
    Recorded { op: Operation },
    /// The answer to `CheckPayment`.
    PaymentChecked {
        id: String,
        outcome: pay::CheckOutcome,
    },
    /// The payees of the latest utility payments, newest first.
    RecentPayees {
        payees: Vec<crate::flows::pay::Payee>,
    },
    /// The invoice got its orderid (from the counter when none was given).
    InvoiceNumbered {
        invoice: crate::flows::webmoney::WmInvoice,
    },
    /// The hold got its journal id (a new one when none was given).
    HoldNumbered { hold: crate::flows::upay::HoldInput },
    /// The open shift (if any) and the cash taken since it opened.
    Shift {
        shift: Option<crate::journal::Shift>,
        taken: i64,
    },
    /// The shift just closed, with its expected and counted cash.
    ShiftClosed { shift: crate::journal::Shift },
    /// A day's report.
    Report { report: Box<crate::report::Report> },
    /// What came of a receipt or an export: the words for the cashier, or why it failed.
    Said { outcome: Result<String, String> },
    /// The answer to `CheckHold`.
    HoldChecked { answer: upay::CheckAnswer },
    /// An operation reached a state it stays in while it is followed: a Wooppay invoice
    /// issued (its link can be shown; the polls for payment go on).
    Issued { op: Operation },
    /// The answer to `WooppayRequestCode`.
    WooppayCode {
        phone: String,
        result: Result<(), wooppay::WpFailure>,
    },
    /// The answer to `WooppayBalance`: the merchant's balance in tiyn.
    WooppayBalance {
        result: Result<i64, wooppay::WpFailure>,
    },
    /// The answer to `WooppayStatus`, with the journal row of that operation if there is
    /// one (moved by the answer where that is legal).
    WooppayStatus {
        operation_id: i64,
        result: Result<crate::providers::wooppay::codec::Record, wooppay::WpFailure>,
        op: Option<Operation>,
    },
    /// An attempt is going out (`next_retry` = None) or came back without a final answer.
    Progress {
        id: String,
        /// The operation's kind: the screen that owns it, and the provider its texts name
        /// ("no connection to UPay").
        kind: Kind,
        attempt: u32,
        status: Option<String>,
        next_retry: Option<Duration>,
        trouble: Option<&'static str>,
        /// The provider's own words and code when it answered with an error.
        trouble_detail: Option<String>,
    },
    /// The operation reached a final state.
    Finished { op: Operation },
    /// The operation waits for a person to reconcile it.
    NeedsReconciliation { op: Operation },
    /// Pending rows, those needing a person, and those this process is sending now.
    Counts {
        pending: u32,
        recon: u32,
        active: u32,
    },
    /// `ResumeAll` took this many rows.
    Resuming { count: usize },
    /// Rows for the journal screen.
    Journal { rows: Vec<Operation> },
    /// One operation with its audit trail.
    Detail {
        op: Operation,
        events: Vec<AuditEvent>,
    },
    /// Something went wrong that the cashier should know of (a catalogue key).
    Trouble {
        id: Option<String>,
        key: &'static str,
    },
}
