//! One module per operation kind: what the cashier confirmed (the request), what its
//! journal row keeps beside the common columns (its parameters), whether a request is the
//! same as one already recorded, whether its next send may be repeated, where it goes, and
//! the pure judges that turn a reply into a verdict with its facts.
//!
//! The worker sends and the journal stores; the screens and the commands build requests.
//! All of them ask this module what a kind means, so the meaning is written once.

pub mod cash_in;
pub mod pay;
pub mod upay;
pub mod webmoney;
pub mod wooppay;

use crate::config::Settings;
use crate::journal::{Kind, NewOperation, Operation, State};
use crate::providers::SendError;

/// What one reply means for the row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// A final state: the row moves and the driver stops.
    Final(State),
    /// Still in progress or unknown: keep the row in its state and ask again.
    Pending,
    /// A state the row stays in while it is followed (a Wooppay invoice issued): move
    /// there and keep polling.
    Open(State),
    /// Only a person can settle it (a catalogue key, and the facts for the trail).
    Reconcile(&'static str, String),
}

/// Why an attempt gave no final answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Trouble {
    Send(SendError),
    UnknownStatus(String),
    NoStatus,
    /// The provider answered with an error code that does not settle the outcome
    /// (Wooppay: server, database and unclassified errors).
    Code(i64),
}

impl Trouble {
    pub fn message_key(&self) -> &'static str {
        match self {
            Trouble::Send(e) => e.message_key(),
            Trouble::UnknownStatus(_) => "send.unknown_status",
            Trouble::NoStatus => "send.no_status",
            Trouble::Code(_) => "send.provider_error",
        }
    }
}

impl std::fmt::Display for Trouble {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Trouble::Send(e) => write!(f, "{e}"),
            Trouble::UnknownStatus(s) => write!(f, "unknown status {s:?}"),
            Trouble::NoStatus => f.write_str("reply without a status"),
            Trouble::Code(c) => write!(f, "provider error {c}"),
        }
    }
}

impl Trouble {
    /// What the provider itself said, shown beside kassa's words: a Fault's text and code,
    /// or a status value nobody documented.
    pub fn provider_words(&self) -> Option<String> {
        match self {
            Trouble::Send(SendError::Fault { code, message }) => {
                Some(format!("{message} ({code})"))
            }
            Trouble::UnknownStatus(s) => Some(s.clone()),
            Trouble::Code(c) => Some(format!("error_code {c}")),
            _ => None,
        }
    }
}

/// What a row keeps beside the common columns, typed by its kind. The journal stores the
/// inner value as JSON in its `params` column; the row's `kind` column is the tag, so this
/// is the one reader of that column.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Params {
    CashIn,
    Pay(pay::Params),
    Webmoney(webmoney::Params),
    Wooppay(wooppay::Params),
    UpayCard(upay::CardParams),
    UpayHold(upay::HoldParams),
}

impl Params {
    /// The parameters of a stored row; `None` when a kind that needs them has none that
    /// read (a row written by a kassa that knew other fields: a person looks at it).
    pub fn of(op: &Operation) -> Option<Params> {
        Params::parse(op.kind, op.params.as_deref())
    }

    pub fn parse(kind: Kind, json: Option<&str>) -> Option<Params> {
        fn read<T: serde::de::DeserializeOwned>(json: Option<&str>) -> Option<T> {
            serde_json::from_str(json?).ok()
        }
        Some(match kind {
            Kind::AllpayCashIn => Params::CashIn,
            Kind::AllpayPay => Params::Pay(read(json)?),
            Kind::WebmoneyInvoice => Params::Webmoney(read(json)?),
            Kind::WooppayInvoice => Params::Wooppay(read(json)?),
            Kind::UpayCard => Params::UpayCard(read(json)?),
            Kind::UpayHold => Params::UpayHold(read(json)?),
        })
    }

    pub fn kind(&self) -> Kind {
        match self {
            Params::CashIn => Kind::AllpayCashIn,
            Params::Pay(_) => Kind::AllpayPay,
            Params::Webmoney(_) => Kind::WebmoneyInvoice,
            Params::Wooppay(_) => Kind::WooppayInvoice,
            Params::UpayCard(_) => Kind::UpayCard,
            Params::UpayHold(_) => Kind::UpayHold,
        }
    }

    /// The JSON the journal keeps (none for a cash-in: the common columns are all of it).
    pub fn to_json(&self) -> Result<Option<String>, serde_json::Error> {
        match self {
            Params::CashIn => Ok(None),
            Params::Pay(p) => serde_json::to_string(p).map(Some),
            Params::Webmoney(p) => serde_json::to_string(p).map(Some),
            Params::Wooppay(p) => serde_json::to_string(p).map(Some),
            Params::UpayCard(p) => serde_json::to_string(p).map(Some),
            Params::UpayHold(p) => serde_json::to_string(p).map(Some),
        }
    }
}

/// A request as the cashier asked for it, before it has a row: what a screen or a command
/// builds from its form, what the worker commits, and what [`same_request`] compares.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Asked {
    pub id: String,
    pub amount: crate::money::Amount,
    /// Whom the money is for, as the journal's customer column shows it.
    pub customer: String,
    pub customer_name: Option<String>,
    pub params: Params,
}

impl Asked {
    pub fn kind(&self) -> Kind {
        self.params.kind()
    }

    /// The row to commit, bound to where this process would send it (rule 1).
    pub fn into_new(self, settings: &Settings) -> Result<NewOperation, serde_json::Error> {
        let kind = self.kind();
        let (endpoint, identity) = endpoint(settings, kind);
        Ok(NewOperation {
            id: self.id,
            kind,
            amount: self.amount,
            customer: self.customer,
            customer_name: self.customer_name,
            endpoint,
            identity,
            params: self.params.to_json()?,
        })
    }
}

/// A request as the cashier confirmed it, of any kind that moves money and is committed
/// before it is sent (a card registration, sent once with its CVV, has its own path).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Request {
    CashIn(cash_in::CashInPayment),
    Pay(pay::UtilityPayment),
    Webmoney(webmoney::WmInvoice),
    Wooppay(wooppay::WpInvoice),
    Hold(upay::HoldInput),
}

impl Request {
    pub fn kind(&self) -> Kind {
        match self {
            Request::CashIn(_) => Kind::AllpayCashIn,
            Request::Pay(_) => Kind::AllpayPay,
            Request::Webmoney(_) => Kind::WebmoneyInvoice,
            Request::Wooppay(_) => Kind::WooppayInvoice,
            Request::Hold(_) => Kind::UpayHold,
        }
    }
}

/// Whether a recorded operation is the request asked for again (a repeated command with
/// the same id, a double Enter). The one place that decides it: the kind, the customer, the
/// amount and the kind's own fields. What is fixed at the first commit is not compared (a
/// utility payment's valueDate, a hold's phase and PartnerTrxId, an invoice's orderid, which
/// is its id); a Wooppay deathDate is compared whenever the request names one (a request
/// that names none takes the first one's).
pub fn same_request(existing: &Operation, asked: &Asked) -> bool {
    if existing.kind != asked.kind()
        || existing.customer != asked.customer
        || existing.amount != asked.amount
    {
        return false;
    }
    match (Params::of(existing), &asked.params) {
        (Some(Params::CashIn), Params::CashIn) => true,
        (Some(Params::Pay(a)), Params::Pay(b)) => {
            (a.login, a.service, a.account)
                == (b.login.clone(), b.service.clone(), b.account.clone())
        }
        (Some(Params::Webmoney(a)), Params::Webmoney(b)) => {
            webmoney::Params {
                orderid: b.orderid,
                ..a
            } == *b
        }
        (Some(Params::Wooppay(a)), Params::Wooppay(b)) => {
            let death_date = if b.death_date.is_empty() {
                String::new()
            } else {
                a.death_date.clone()
            };
            wooppay::Params { death_date, ..a } == *b
        }
        (Some(Params::UpayCard(a)), Params::UpayCard(b)) => a == *b,
        (Some(Params::UpayHold(a)), Params::UpayHold(b)) => {
            (a.card_token, a.service_id, a.account, a.minutes)
                == (
                    b.card_token.clone(),
                    b.service_id,
                    b.account.clone(),
                    b.minutes,
                )
        }
        _ => false,
    }
}

/// Whether sending this row's next request again cannot do anything twice (rule 2).
pub fn repeat_safe(op: &Operation) -> bool {
    match op.kind {
        // GUID (003) and rrn (001): "a repeat returns the status and never doubles".
        Kind::AllpayCashIn | Kind::AllpayPay => true,
        // referenceId: a repeat answers 221 ("already created"), never a second invoice.
        Kind::WooppayInvoice => true,
        // X1 does not deduplicate by orderid: an unknown outcome needs a person.
        Kind::WebmoneyInvoice => false,
        // The CVV is gone after the first send.
        Kind::UpayCard => false,
        // Per phase: a capture (same PartnerTrxId) or a cancel, or a create whose HoldId
        // is known (it becomes a check).
        Kind::UpayHold => upay::hold_repeat_safe(op),
    }
}

/// The endpoint and identity a row of `kind` is sent to with these settings (rule 1: a
/// row is sent there or nowhere).
pub fn endpoint(settings: &Settings, kind: Kind) -> (String, String) {
    let (url, identity) = match kind {
        Kind::AllpayCashIn => (&settings.allpay.cash_in_url, &settings.allpay.requester),
        Kind::AllpayPay => (&settings.allpay.terminal_url, &settings.allpay.requester),
        Kind::WebmoneyInvoice => (&settings.webmoney.url, &settings.webmoney.wmid),
        Kind::UpayCard | Kind::UpayHold => (&settings.upay.url, &settings.upay.username),
        Kind::WooppayInvoice => (&settings.wooppay.url, &settings.wooppay.login),
    };
    (settings.endpoint_identity(url), identity.clone())
}

/// Where a row that waits for a person goes when the person gives the provider's id for
/// it: back into its lifecycle (a UPay hold create found at UPay is `held`, to be captured
/// or cancelled as usual; a Wooppay invoice `issued`, followed until paid; an X1 invoice
/// `completed`, which for X1 means issued). `None` for a kind whose id changes nothing.
pub fn resumed_with_ref(op: &Operation) -> Option<State> {
    match op.kind {
        Kind::UpayHold => upay::hold_params(op)
            .filter(|p| p.phase == upay::Phase::Create)
            .map(|_| State::Held),
        Kind::WooppayInvoice => Some(State::Issued),
        Kind::WebmoneyInvoice => Some(State::Completed),
        Kind::AllpayCashIn | Kind::AllpayPay | Kind::UpayCard => None,
    }
}

/// Whether a person may close a row waiting for them as `to` without the provider's id: a
/// hold create that "went through" is a hold, never a capture, and needs its HoldId.
pub fn may_resolve_as(op: &Operation, to: State) -> bool {
    !(op.kind == Kind::UpayHold && to == State::Completed && resumed_with_ref(op).is_some())
}

/// A provider's id as a person types it, checked for what the kind's id looks like: UPay's
/// HoldId and Wooppay's operationId are numbers.
pub fn provider_ref_ok(kind: Kind, raw: &str) -> bool {
    let t = raw.trim();
    match kind {
        Kind::UpayHold | Kind::WooppayInvoice => {
            !t.is_empty() && t.len() <= 20 && t.bytes().all(|b| b.is_ascii_digit())
        }
        _ => !t.is_empty() && t.len() <= 64 && !t.chars().any(char::is_whitespace),
    }
}

/// The catalogue key of a row's state as the cashier reads it for its kind: each kind
/// says its own final word (a wallet topped up, a bill paid, a hold captured), and an X1
/// invoice "completed" is an invoice issued (WebMoney has it; nobody has paid yet).
pub fn state_key(kind: Kind, state: State) -> &'static str {
    match (kind, state) {
        (Kind::WebmoneyInvoice, State::Completed) => "state.wm_issued",
        (Kind::AllpayCashIn, State::Completed) => "state.topped_up",
        (Kind::AllpayPay, State::Completed) => "state.paid",
        (Kind::WooppayInvoice, State::Completed) => "state.invoice_paid",
        (Kind::UpayHold, State::Completed) => "state.captured",
        (Kind::UpayCard, State::Completed) => "state.card_confirmed",
        (Kind::UpayCard, State::Issued) => "state.card_waiting",
        _ => state.message_key(),
    }
}

/// The provider's name as the cashier reads it ("no connection to UPay").
pub fn provider_name(kind: Kind) -> &'static str {
    match kind {
        Kind::AllpayCashIn | Kind::AllpayPay => "Allpay",
        Kind::WebmoneyInvoice => "WebMoney",
        Kind::UpayCard | Kind::UpayHold => "UPay",
        Kind::WooppayInvoice => "Wooppay",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::money::{Amount, Currency};

    /// A row as the journal would hold it after committing `asked`.
    fn row(asked: &Asked) -> Operation {
        let new = asked
            .clone()
            .into_new(&Settings::demo("http://127.0.0.1:9", crate::i18n::Lang::En))
            .unwrap_or_else(|e| panic!("{e}"));
        Operation {
            till: None,
            id: new.id,
            kind: new.kind,
            state: State::Pending,
            amount: new.amount,
            customer: new.customer,
            customer_name: new.customer_name,
            endpoint: new.endpoint,
            identity: new.identity,
            provider_status: None,
            provider_message: None,
            provider_ref: None,
            detail: None,
            needs_reconciliation: false,
            recon_reason: None,
            link: None,
            message_key: None,
            note: None,
            attempts: 0,
            created_at: 0,
            updated_at: 0,
            final_at: None,
            params: new.params,
        }
    }

    fn kzt(minor: i64) -> Amount {
        Amount::from_minor(minor, Currency::Kzt).unwrap_or_else(|e| panic!("{e:?}"))
    }

    fn invoice(death_date: &str) -> wooppay::WpInvoice {
        wooppay::WpInvoice {
            reference_id: "kassa-1".into(),
            variant: crate::providers::wooppay::codec::Variant::Plain,
            amount: kzt(10_000),
            description: "coffee".into(),
            phone: String::new(),
            email: String::new(),
            service: String::new(),
            death_date: death_date.into(),
            back_url: String::new(),
            request_url: String::new(),
            add_info: String::new(),
            card_forbidden: false,
            sms_code: None,
        }
    }

    #[test]
    fn a_wooppay_death_date_counts_when_the_request_names_one() {
        let stored = row(&invoice("2030-01-01 12:00:00").asked());
        assert!(same_request(
            &stored,
            &invoice("2030-01-01 12:00:00").asked()
        ));
        assert!(!same_request(
            &stored,
            &invoice("2030-01-02 12:00:00").asked()
        ));
        // Named none: the first one's deathDate holds.
        assert!(same_request(&stored, &invoice("").asked()));
        let mut other = invoice("");
        other.description = "tea".into();
        assert!(!same_request(&stored, &other.asked()));
    }

    #[test]
    fn what_is_fixed_at_the_first_commit_is_not_compared() {
        let p = pay::UtilityPayment {
            id: "rrn".into(),
            login: "77071234567".into(),
            service: "185".into(),
            account: "1234567".into(),
            amount: kzt(50_000),
        };
        let stored = row(&p.asked("2026-12-01T10:00:00+05:00".into()));
        assert!(same_request(&stored, &p.asked(String::new())));
        let more = pay::UtilityPayment {
            amount: kzt(50_001),
            ..p.clone()
        };
        assert!(!same_request(&stored, &more.asked(String::new())));
        let elsewhere = pay::UtilityPayment {
            account: "7654321".into(),
            ..p
        };
        assert!(!same_request(&stored, &elsewhere.asked(String::new())));
    }

    #[test]
    fn a_hold_in_its_capture_phase_is_still_the_hold_asked_for() {
        let hold = upay::HoldInput {
            id: None,
            card_token: "60f74ae9c13cfc8s464a5".into(),
            service_id: 628,
            account: "112312".into(),
            amount: Amount::from_minor(100_000, Currency::Uzs).unwrap_or_else(|e| panic!("{e:?}")),
            minutes: 60,
        };
        let mut stored = row(&hold.asked("h-1".into()));
        stored.params = Some(
            r#"{"card_token":"60f74ae9c13cfc8s464a5","service_id":628,"account":"112312","minutes":60,"phase":"capture","partner_trx_id":"7"}"#.into(),
        );
        assert!(same_request(&stored, &hold.asked("h-1".into())));
        let longer = upay::HoldInput {
            minutes: 90,
            ..hold
        };
        assert!(!same_request(&stored, &longer.asked("h-1".into())));
    }

    #[test]
    fn another_kind_under_the_same_id_is_never_the_same_request() {
        let cash_in = cash_in::CashInPayment {
            id: "x".into(),
            login: "185/1234567".into(),
            customer_name: None,
            amount: kzt(50_000),
        };
        let p = pay::UtilityPayment {
            id: "x".into(),
            login: "77071234567".into(),
            service: "185".into(),
            account: "1234567".into(),
            amount: kzt(50_000),
        };
        assert!(!same_request(
            &row(&p.asked(String::new())),
            &cash_in.asked()
        ));
    }
}
