//! Wooppay invoice: the variant (F2) and its fields → for the mobile balance, a second step
//! that asks Wooppay to text the customer a code and takes the code they read out →
//! confirmation → committed and sent → issued: the payment link as a QR code (the whole
//! screen at 80x24) and as text, with the paid status live → paid, declined, expired, or
//! waiting for a person. The merchant's balance is in the form's header.
//!
//! No I/O here: the code request, the invoice and the balance are `Command`s; the SMS code
//! request is only ever sent on the cashier's key, never again by itself.
//!
//! One file, past 500 lines: the four variants share one form and one key handler; the
//! drawing is in `view.rs`.

use crossterm::event::{Event as TermEvent, KeyCode, KeyEvent};
use tui_input::Input;
use tui_input::backend::crossterm::EventHandler;

use super::payment::{After, Progress, after_key};
use crate::app::keys::{Action, Hint};
use crate::app::{Model, Note, ScreenId};
use crate::config::Secret;
use crate::flows::wooppay::WpInvoice;
use crate::journal::{Operation, State};
use crate::providers::wooppay::codec::Variant;
use crate::validate;
use crate::worker::wooppay::WpFailure;
use crate::worker::{Command, Event};

pub const AMOUNT: usize = 0;
pub const DESC: usize = 1;
pub const PHONE: usize = 2;
pub const EMAIL: usize = 3;
pub const SERVICE: usize = 4;
pub const DEATH: usize = 5;
pub const ADD_INFO: usize = 6;
pub const BACK_URL: usize = 7;
pub const REQUEST_URL: usize = 8;
const FIELDS: usize = 9;
const LABELS: [&str; FIELDS] = [
    "wooppay.f.amount",
    "wooppay.f.description",
    "wooppay.f.phone",
    "wooppay.f.email",
    "wooppay.f.service",
    "wooppay.f.death_date",
    "wooppay.f.add_info",
    "wooppay.f.back_url",
    "wooppay.f.request_url",
];

/// The fields a variant offers, in the order Tab walks them (the document's parameters;
/// the mobile variant's addInfo carries the SMS code, so it is not offered).
pub fn fields_of(v: Variant) -> &'static [usize] {
    match v {
        Variant::Plain => &[AMOUNT, DESC, DEATH, ADD_INFO, BACK_URL, REQUEST_URL],
        Variant::Card => &[
            AMOUNT,
            DESC,
            PHONE,
            EMAIL,
            DEATH,
            ADD_INFO,
            BACK_URL,
            REQUEST_URL,
        ],
        Variant::Service => &[
            AMOUNT,
            SERVICE,
            DESC,
            PHONE,
            EMAIL,
            DEATH,
            ADD_INFO,
            BACK_URL,
            REQUEST_URL,
        ],
        Variant::Mobile => &[AMOUNT, PHONE, DESC, EMAIL, DEATH, BACK_URL, REQUEST_URL],
    }
}

/// Where the SMS code request stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CodePhase {
    Requesting,
    Sent,
    Failed(WpFailure),
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Step {
    #[default]
    Form,
    /// The mobile variant's second step: the code is requested, then typed in.
    Code {
        invoice: Box<WpInvoice>,
        phase: CodePhase,
    },
    Confirm(Box<WpInvoice>),
    Duplicate {
        invoice: Box<WpInvoice>,
        existing: Box<Operation>,
    },
    /// Committed and sent; waiting for the invoice to be issued.
    Sending(Progress),
    /// Issued: the QR code and link on screen, the status polled.
    Issued {
        op: Box<Operation>,
        progress: Progress,
    },
    Done(Box<Operation>),
}

#[derive(Debug, Clone, Default)]
pub struct WpState {
    pub step: Step,
    pub variant: Variant,
    pub inputs: [Input; FIELDS],
    /// An index into [`fields_of`] of the variant.
    pub focus: usize,
    /// `cardForbidden`: pay from a Wooppay wallet only (card and service variants).
    pub wallet_only: bool,
    pub code: Input,
    pub error: Option<Note>,
    /// The merchant's balance in tiyn, or why it is not known.
    pub balance: Option<Result<i64, WpFailure>>,
}

impl WpState {
    pub fn typing(&self) -> bool {
        matches!(self.step, Step::Form | Step::Code { .. })
    }

    pub fn waiting(&self) -> bool {
        matches!(
            self.step,
            Step::Sending(_)
                | Step::Issued { .. }
                | Step::Code {
                    phase: CodePhase::Requesting,
                    ..
                }
        )
    }

    pub fn sending(&self) -> bool {
        matches!(self.step, Step::Sending(_))
    }

    /// The field index under the cursor.
    pub fn focused(&self) -> usize {
        let f = fields_of(self.variant);
        f[self.focus.min(f.len() - 1)]
    }

    pub fn hints(&self) -> Vec<Hint> {
        match &self.step {
            Step::Form => {
                let mut h = vec![
                    ("Enter", "hint.next"),
                    ("Tab", "hint.field"),
                    ("F2", "wooppay.hint.variant"),
                ];
                if matches!(self.variant, Variant::Card | Variant::Service) {
                    h.push(("F4", "wooppay.hint.wallet_only"));
                }
                h.push(("Esc", "hint.back"));
                h
            }
            Step::Code { .. } => vec![
                ("Enter", "hint.next"),
                ("F5", "wooppay.hint.code_again"),
                ("Esc", "hint.back"),
            ],
            Step::Confirm(_) => vec![("y", "hint.issue"), ("Esc", "hint.back")],
            Step::Duplicate { .. } => vec![("y", "hint.send_again"), ("n", "hint.dont_send")],
            Step::Sending(_) => vec![
                ("n", "hint.another"),
                ("Esc", "hint.background"),
                ("g", "hint.journal"),
            ],
            Step::Issued { .. } => vec![
                ("n", "hint.another"),
                ("c", "wooppay.hint.copy"),
                ("r", "wooppay.hint.balance"),
                ("g", "hint.journal"),
                ("Esc", "hint.background"),
            ],
            Step::Done(op) => {
                let mut h = vec![("n", "hint.new_op")];
                if paid_operation(op).is_some() {
                    h.push(("r", "wooppay.hint.recheck"));
                }
                h.extend([
                    ("g", "hint.journal"),
                    ("Esc", "hint.home"),
                    ("q", "hint.quit"),
                ]);
                h
            }
        }
    }
}

/// The operationId of a paid invoice, whose status may still turn to reversed.
fn paid_operation(op: &Operation) -> Option<i64> {
    (op.state == State::Completed)
        .then(|| op.provider_ref.as_deref()?.parse().ok())
        .flatten()
}

fn sending(inv: &WpInvoice) -> Step {
    let target = crate::flows::wooppay::customer_of(&inv.params());
    Step::Sending(Progress::new(inv.reference_id.clone(), inv.amount, target))
}

fn start(inv: WpInvoice, allow_duplicate: bool) -> Vec<Command> {
    vec![Command::Start {
        request: crate::flows::Request::Wooppay(inv),
        allow_duplicate,
    }]
}

pub fn on_key(model: &mut Model, key: KeyEvent, action: Option<Action>) -> Vec<Command> {
    let s = &mut model.wooppay;
    match &mut s.step {
        Step::Form => on_form_key(model, key, action),
        Step::Code { invoice, phase } => {
            match (action, key.code) {
                (Some(Action::Back), _) => {
                    s.step = Step::Form;
                    s.code = Input::default();
                }
                // Asked again only on this key, and only once the last request answered.
                (_, KeyCode::F(5)) if *phase != CodePhase::Requesting => {
                    *phase = CodePhase::Requesting;
                    return vec![Command::WooppayRequestCode {
                        phone: invoice.phone.clone(),
                    }];
                }
                (Some(Action::Submit), _) => match validate::wooppay_sms_code(s.code.value()) {
                    Ok(code) => {
                        let mut inv = invoice.clone();
                        inv.sms_code = Some(Secret::new(code));
                        s.code = Input::default();
                        s.error = None;
                        s.step = Step::Confirm(inv);
                    }
                    Err(k) => s.error = Some(Note::Key(k)),
                },
                _ => {
                    if s.code.handle_event(&TermEvent::Key(key)).is_some() {
                        s.error = None;
                    }
                }
            }
            Vec::new()
        }
        Step::Confirm(inv) => match action {
            Some(Action::Yes) => {
                let inv = (**inv).clone();
                s.step = sending(&inv);
                start(inv, false)
            }
            Some(Action::Back | Action::No) => {
                s.step = Step::Form;
                Vec::new()
            }
            _ => Vec::new(),
        },
        Step::Duplicate { invoice, .. } => match action {
            Some(Action::Yes) => {
                let mut inv = (**invoice).clone();
                // Another invoice, so another referenceId.
                inv.reference_id = model.fresh.reference_id.clone();
                s.step = sending(&inv);
                start(inv, true)
            }
            Some(Action::No | Action::Back) => {
                s.step = Step::Form;
                s.error = Some(Note::Key("cashin.dup_not_sent"));
                Vec::new()
            }
            _ => Vec::new(),
        },
        Step::Sending(_) | Step::Issued { .. } | Step::Done(_) => {
            let done = matches!(s.step, Step::Done(_));
            if action == Some(Action::Reload) {
                // On a paid invoice r asks its status again: a later reversal shows up.
                if let Step::Done(op) = &s.step
                    && let Some(operation_id) = paid_operation(op)
                {
                    return vec![Command::WooppayStatus { operation_id }];
                }
                return vec![Command::WooppayBalance];
            }
            // c: the link whole to the terminal's clipboard (the loop sends it, OSC 52).
            if key.code == KeyCode::Char('c') {
                let url = match &s.step {
                    Step::Issued { op, .. } | Step::Done(op) => {
                        crate::flows::wooppay::operation_url(op).map(str::to_string)
                    }
                    _ => None,
                };
                if let Some(url) = url {
                    model.clipboard = Some(url);
                    model.notice = Some(Note::Key("wooppay.copied"));
                }
                return Vec::new();
            }
            match after_key(action, key.code) {
                After::Home => {
                    if done {
                        reset(model);
                    }
                    model.go(ScreenId::Home)
                }
                After::New => {
                    if let Step::Sending(p) | Step::Issued { progress: p, .. } = &model.wooppay.step
                    {
                        model.background.push(p.id.clone());
                    }
                    reset(model);
                    vec![Command::WooppayBalance]
                }
                After::Journal => model.go(ScreenId::Journal),
                After::Nothing => Vec::new(),
            }
        }
    }
}

/// A fresh form that keeps the balance shown.
fn reset(model: &mut Model) {
    let balance = model.wooppay.balance.take();
    model.wooppay = WpState {
        balance,
        ..WpState::default()
    };
}

fn on_form_key(model: &mut Model, key: KeyEvent, action: Option<Action>) -> Vec<Command> {
    let s = &mut model.wooppay;
    let n = fields_of(s.variant).len();
    match (action, key.code) {
        (Some(Action::Back), _) => return model.go(ScreenId::Home),
        (Some(Action::NextField | Action::Down), _) => s.focus = (s.focus + 1) % n,
        (Some(Action::Up), _) => s.focus = (s.focus + n - 1) % n,
        (_, KeyCode::F(2)) => {
            let i = Variant::ALL
                .iter()
                .position(|v| *v == s.variant)
                .unwrap_or(0);
            s.variant = Variant::ALL[(i + 1) % Variant::ALL.len()];
            s.focus = 0;
            s.error = None;
        }
        (_, KeyCode::F(4)) if matches!(s.variant, Variant::Card | Variant::Service) => {
            s.wallet_only = !s.wallet_only;
        }
        (Some(Action::Submit), _) => return submit(model),
        _ => {
            let f = s.focused();
            if s.inputs[f].handle_event(&TermEvent::Key(key)).is_some() {
                s.error = None;
            }
        }
    }
    Vec::new()
}

/// Every field of the variant checked; the first bad one gets the cursor and the message.
fn submit(model: &mut Model) -> Vec<Command> {
    let s = &mut model.wooppay;
    let v = s.variant;
    let offered = fields_of(v);
    let value = |f: usize| -> &str {
        if offered.contains(&f) {
            s.inputs[f].value()
        } else {
            ""
        }
    };
    use crate::flows::wooppay::{Field, Form, check};
    let form = Form {
        variant: v,
        amount: value(AMOUNT),
        description: value(DESC),
        phone: value(PHONE),
        email: value(EMAIL),
        service: value(SERVICE),
        death_date: value(DEATH),
        add_info: value(ADD_INFO),
        back_url: value(BACK_URL),
        request_url: value(REQUEST_URL),
        card_forbidden: s.wallet_only,
    };
    let index = |f: Field| match f {
        Field::Amount => AMOUNT,
        Field::Description => DESC,
        Field::Phone => PHONE,
        Field::Email => EMAIL,
        Field::Service => SERVICE,
        Field::DeathDate => DEATH,
        Field::AddInfo => ADD_INFO,
        Field::BackUrl => BACK_URL,
        Field::RequestUrl => REQUEST_URL,
    };
    let checked = check(&form, model.local_now)
        .map(|inv| WpInvoice {
            reference_id: model.fresh.reference_id.clone(),
            ..inv
        })
        .map_err(|(f, k)| (index(f), k));
    match checked {
        Ok(inv) if v == Variant::Mobile => {
            s.error = None;
            let phone = inv.phone.clone();
            s.step = Step::Code {
                invoice: Box::new(inv),
                phase: CodePhase::Requesting,
            };
            vec![Command::WooppayRequestCode { phone }]
        }
        Ok(inv) => {
            s.error = None;
            s.step = Step::Confirm(Box::new(inv));
            Vec::new()
        }
        Err((field, key)) => {
            s.focus = offered.iter().position(|f| *f == field).unwrap_or(0);
            s.error = Some(Note::Key(key));
            Vec::new()
        }
    }
}

/// A worker trouble about this screen's invoice before it was recorded (nothing sent);
/// `true` when handled here.
pub fn on_trouble(model: &mut Model, id: Option<&str>, key: &'static str) -> bool {
    let s = &mut model.wooppay;
    let ours = matches!(&s.step, Step::Sending(p) if !p.recorded && id == Some(p.id.as_str()));
    if ours {
        s.step = Step::Form;
        s.error = Some(Note::Key(key));
    }
    ours
}

/// Worker events for this screen; a paid invoice refreshes the balance.
pub fn on_event(model: &mut Model, ev: &Event) -> Vec<Command> {
    let now = model.now;
    let lang = model.lang;
    let s = &mut model.wooppay;
    match ev {
        Event::WooppayBalance { result } => s.balance = Some(result.clone()),
        Event::WooppayStatus { op: Some(o), .. } => {
            if let Step::Done(shown) = &mut s.step
                && shown.id == o.id
            {
                **shown = o.clone();
            }
        }
        Event::WooppayCode { phone, result } => {
            if let Step::Code { invoice, phase } = &mut s.step
                && invoice.phone == *phone
                && *phase == CodePhase::Requesting
            {
                *phase = match result {
                    Ok(()) => CodePhase::Sent,
                    Err(f) => CodePhase::Failed(f.clone()),
                };
            }
        }
        Event::Duplicate {
            request: crate::flows::Request::Wooppay(invoice),
            existing,
        } => {
            if matches!(&s.step, Step::Sending(p) if p.id == invoice.reference_id) {
                s.step = Step::Duplicate {
                    invoice: Box::new(invoice.clone()),
                    existing: Box::new(existing.clone()),
                };
            }
        }
        Event::Issued { op } => match &mut s.step {
            Step::Sending(p) if p.id == op.id => {
                let mut progress = p.clone();
                progress.status = op.provider_status.clone();
                s.step = Step::Issued {
                    op: Box::new(op.clone()),
                    progress,
                };
            }
            Step::Issued { op: shown, .. } if shown.id == op.id => **shown = op.clone(),
            _ => {}
        },
        Event::Finished { op } | Event::NeedsReconciliation { op } => {
            let ours = match &s.step {
                Step::Sending(p) | Step::Issued { progress: p, .. } => p.id == op.id,
                _ => false,
            };
            if ours {
                s.step = Step::Done(Box::new(op.clone()));
                if op.state == State::Completed {
                    return vec![Command::WooppayBalance];
                }
            }
        }
        other => {
            let (Step::Sending(p) | Step::Issued { progress: p, .. }) = &mut s.step else {
                return Vec::new();
            };
            if p.on_event(other, now) {
                // An error code is shown with its message from the document's table.
                if let Event::Progress {
                    trouble: Some("send.provider_error"),
                    trouble_detail: Some(d),
                    ..
                } = other
                    && let Some(code) = d.strip_prefix("error_code ").and_then(|c| c.parse().ok())
                {
                    let key = crate::providers::wooppay::error_key(code);
                    p.trouble_detail = Some(format!("{} ({code})", crate::i18n::t(lang, &key)));
                }
            }
        }
    }
    Vec::new()
}

mod view;
pub use view::view;
