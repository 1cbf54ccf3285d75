//! UPay: a card registration (number, expiry, CVV shown as dots, holder, phone) →
//! confirmation → sent once → the 3-D Secure link as a QR code and as text for the
//! customer's phone, until the signed notification (or the cashier) says it is confirmed;
//! then the holds: placed on the card, listed with their expiry, captured or cancelled on
//! a key (each after a confirmation), checked on a key.

use crossterm::event::{Event as TermEvent, KeyCode, KeyEvent};
use tui_input::Input;
use tui_input::backend::crossterm::EventHandler;

use super::payment::Progress;
use crate::app::keys::{Action, Hint};
use crate::app::{Model, Note, ScreenId};
use crate::flows::upay::{CURRENCY, CardInput, HoldInput};
use crate::journal::{Kind, Operation, State};
use crate::money::Amount;
use crate::providers::upay::codec::CheckBy;
use crate::validate;
use crate::worker::upay::{CardTarget, HoldAction};
use crate::worker::{Command, Event};

const CARD_FIELDS: usize = 5;
const CARD_LABELS: [&str; CARD_FIELDS] = [
    "upay.card_number",
    "upay.expiry",
    "upay.cvv",
    "upay.holder",
    "upay.phone",
];
const HOLD_FIELDS: usize = 3;
const HOLD_LABELS: [&str; HOLD_FIELDS] = ["upay.account", "upay.amount", "upay.minutes"];

#[derive(Debug, Clone, Default)]
pub enum Step {
    #[default]
    CardForm,
    ConfirmCard(CardInput),
    Registering(Progress),
    /// The registration's row: issued (waiting for the customer), then final.
    Card(Box<Operation>),
    /// The holds on the journal's cards, newest first.
    Holds,
    HoldForm,
    ConfirmHold(HoldInput),
    /// Capture or cancel of the selected hold, asked before anything is sent.
    ConfirmAction(HoldAction, Box<Operation>),
    Placing(Progress),
    Placed(Box<Operation>),
}

#[derive(Debug, Clone, Default)]
pub struct UpayState {
    pub step: Step,
    pub card: [Input; CARD_FIELDS],
    pub hold: [Input; HOLD_FIELDS],
    pub focus: usize,
    pub error: Option<Note>,
    /// The card holds are placed on: the latest confirmed (or issued) registration.
    pub card_row: Option<Box<Operation>>,
    pub holds: Vec<Operation>,
    pub selected: usize,
    /// The cashier pressed c (true) or x (false) on a card waiting for the customer: asked
    /// before the card is marked, since the customer's bank has not said so.
    pub asking_card: Option<bool>,
    /// What became of the cashier's last action or check on the holds screen.
    pub told: Option<Told>,
    /// The hold row a capture or cancel was asked for here, until its outcome is told.
    pub acting: Option<(String, HoldAction)>,
    /// The hold row and HoldId a check was asked for here, until its answer is told.
    pub checking: Option<(String, String)>,
}

/// A line on the holds screen about the cashier's last action: what it says, and whether
/// it is good news, bad news, or still on its way.
#[derive(Debug, Clone)]
pub struct Told {
    pub note: Note,
    pub tone: crate::app::widgets::Tone,
}

impl UpayState {
    pub fn typing(&self) -> bool {
        matches!(self.step, Step::CardForm | Step::HoldForm)
    }

    pub fn waiting(&self) -> bool {
        matches!(self.step, Step::Registering(_) | Step::Placing(_))
    }

    pub fn sending(&self) -> bool {
        self.waiting()
    }

    pub fn hints(&self) -> Vec<Hint> {
        match &self.step {
            Step::CardForm | Step::HoldForm => vec![
                ("Enter", "hint.next"),
                ("Tab", "hint.field"),
                ("Esc", "hint.back"),
                ("F1", "hint.help"),
            ],
            Step::ConfirmCard(_) | Step::ConfirmHold(_) | Step::ConfirmAction(..) => {
                vec![("y", "hint.confirm"), ("Esc", "hint.back")]
            }
            Step::Registering(_) | Step::Placing(_) => {
                vec![
                    ("n", "hint.another"),
                    ("Esc", "hint.background"),
                    ("g", "hint.journal"),
                ]
            }
            Step::Card(_) if self.asking_card.is_some() => {
                vec![
                    ("y", "hint.confirm"),
                    ("n", "hint.no"),
                    ("Esc", "hint.back"),
                ]
            }
            // c and x only where they do something: a card waiting for the customer.
            Step::Card(op) if op.state == State::Issued => vec![
                ("c", "hint.card_confirmed"),
                ("x", "hint.card_failed"),
                ("n", "hint.new_card"),
                ("h", "hint.holds"),
                ("Esc", "hint.home"),
            ],
            Step::Card(_) => vec![
                ("n", "hint.new_card"),
                ("h", "hint.holds"),
                ("Esc", "hint.home"),
            ],
            Step::Holds => vec![
                ("n", "hint.new_hold"),
                ("c", "hint.capture"),
                ("x", "hint.cancel_hold"),
                ("r", "hint.check"),
                ("Esc", "hint.home"),
            ],
            Step::Placed(_) => vec![
                ("n", "hint.new_hold"),
                ("h", "hint.holds"),
                ("Esc", "hint.home"),
            ],
        }
    }

    fn selected_hold(&self) -> Option<&Operation> {
        self.holds.get(self.selected)
    }
}

fn masked(input: &Input) -> Input {
    Input::new("•".repeat(input.value().chars().count()))
}

pub fn on_key(model: &mut Model, key: KeyEvent, action: Option<Action>) -> Vec<Command> {
    let s = &mut model.upay;
    match s.step.clone() {
        Step::CardForm => on_card_form(model, key, action),
        Step::HoldForm => on_hold_form(model, key, action),
        Step::ConfirmCard(card) => match action {
            Some(Action::Yes) => {
                s.step = Step::Registering(Progress::new(
                    String::new(),
                    Amount::none(CURRENCY),
                    crate::mask::pan(&card.number),
                ));
                // What was typed goes with the command; the fields are cleared now.
                s.card = Default::default();
                s.focus = 0;
                vec![Command::RegisterCard { card }]
            }
            Some(Action::Back | Action::No) => {
                s.step = Step::CardForm;
                Vec::new()
            }
            _ => Vec::new(),
        },
        Step::ConfirmHold(hold) => match action {
            Some(Action::Yes) => {
                s.step = Step::Placing(Progress::new(
                    String::new(),
                    hold.amount,
                    hold.account.clone(),
                ));
                vec![Command::Start {
                    request: crate::flows::Request::Hold(hold),
                    allow_duplicate: false,
                }]
            }
            Some(Action::Back | Action::No) => {
                s.step = Step::HoldForm;
                Vec::new()
            }
            _ => Vec::new(),
        },
        Step::ConfirmAction(act, op) => match action {
            Some(Action::Yes) => {
                s.step = Step::Holds;
                s.acting = Some((op.id.clone(), act));
                s.told = Some(Told {
                    note: Note::Key(match act {
                        HoldAction::Capture => "upay.told_capturing",
                        HoldAction::Cancel => "upay.told_cancelling",
                    }),
                    tone: crate::app::widgets::Tone::Dim,
                });
                vec![Command::ActOnHold {
                    expected: None,
                    id: op.id.clone(),
                    action: act,
                }]
            }
            Some(Action::Back | Action::No) => {
                s.step = Step::Holds;
                Vec::new()
            }
            _ => Vec::new(),
        },
        Step::Card(op) if op.state == State::Issued && s.asking_card.is_some() => {
            let confirmed = s.asking_card.unwrap_or(false);
            match action {
                Some(Action::Yes) => {
                    let id = op.id.clone();
                    model.upay.asking_card = None;
                    vec![Command::ConfirmCard {
                        target: CardTarget::Id(id),
                        confirmed,
                        note: if confirmed {
                            "upay.marked_confirmed".into()
                        } else {
                            "upay.marked_failed".into()
                        },
                    }]
                }
                Some(Action::No | Action::Back) => {
                    model.upay.asking_card = None;
                    Vec::new()
                }
                _ => Vec::new(),
            }
        }
        Step::Card(op) => match key.code {
            KeyCode::Char('c' | 'x') if op.state == State::Issued => {
                model.upay.asking_card = Some(key.code == KeyCode::Char('c'));
                Vec::new()
            }
            // Another customer's card: this one's outcome still comes (its notification).
            KeyCode::Char('n') => {
                if op.state == State::Issued {
                    model.background.push(op.id.clone());
                }
                new_card(model);
                Vec::new()
            }
            KeyCode::Char('h') => open_holds(model),
            KeyCode::Char('g') => model.go(ScreenId::Journal),
            _ if action == Some(Action::Back) => model.go(ScreenId::Home),
            _ => Vec::new(),
        },
        Step::Registering(p) | Step::Placing(p) => match (action, key.code) {
            (Some(Action::Back), _) => model.go(ScreenId::Home),
            (_, KeyCode::Char('g')) => model.go(ScreenId::Journal),
            // Another one while this one is on its way: it goes on in the background.
            (_, KeyCode::Char('n')) => {
                let placing = matches!(model.upay.step, Step::Placing(_));
                if !p.id.is_empty() {
                    model.background.push(p.id.clone());
                }
                if placing {
                    new_hold(model);
                } else {
                    new_card(model);
                }
                Vec::new()
            }
            _ => Vec::new(),
        },
        Step::Placed(_) => match (action, key.code) {
            (Some(Action::Back), _) => model.go(ScreenId::Home),
            (_, KeyCode::Char('h')) => open_holds(model),
            (_, KeyCode::Char('n')) => {
                new_hold(model);
                Vec::new()
            }
            _ => Vec::new(),
        },
        Step::Holds => on_holds_key(model, key, action),
    }
}

/// An empty card form for the next customer (the confirmed card holds go on stays).
fn new_card(model: &mut Model) {
    let s = &mut model.upay;
    s.card = Default::default();
    s.focus = 0;
    s.error = None;
    s.asking_card = None;
    s.step = Step::CardForm;
}

/// An empty hold form on the journal's confirmed card.
fn new_hold(model: &mut Model) {
    let s = &mut model.upay;
    s.hold = Default::default();
    s.focus = 0;
    s.error = None;
    s.step = Step::HoldForm;
}

fn open_holds(model: &mut Model) -> Vec<Command> {
    model.upay.step = Step::Holds;
    model.upay.error = None;
    vec![Command::LoadJournal {
        pending_only: false,
    }]
}

fn on_holds_key(model: &mut Model, key: KeyEvent, action: Option<Action>) -> Vec<Command> {
    let s = &mut model.upay;
    // An old message never stays over what the cashier does next.
    s.error = None;
    if s.acting.is_none() && s.checking.is_none() {
        s.told = None;
    }
    match (action, key.code) {
        (Some(Action::Back), _) => return model.go(ScreenId::Home),
        (Some(Action::Up), _) => s.selected = s.selected.saturating_sub(1),
        (Some(Action::Down), _) => {
            s.selected = (s.selected + 1).min(s.holds.len().saturating_sub(1));
        }
        (Some(Action::Reload), _) => {
            let selected = s
                .selected_hold()
                .map(|h| (h.id.clone(), h.provider_ref.clone()));
            if let Some((row, Some(h))) = selected.clone() {
                s.checking = Some((row, h.clone()));
                s.told = Some(Told {
                    note: Note::Provider {
                        key: "upay.told_checking",
                        text: Some(h.clone()),
                        code: None,
                    },
                    tone: crate::app::widgets::Tone::Dim,
                });
                return vec![Command::CheckHold {
                    by: CheckBy::HoldId,
                    target: h,
                }];
            }
            if selected.is_some() {
                s.error = Some(Note::Key("upay.no_hold_id"));
            }
        }
        (_, KeyCode::Char('n')) => {
            if s.card_row.is_none() {
                s.error = Some(Note::Key("upay.no_card"));
            } else {
                // A new hold starts from empty fields: typing never appends to the last one's.
                s.hold = Default::default();
                s.step = Step::HoldForm;
                s.focus = 0;
            }
        }
        (_, KeyCode::Char(c @ ('c' | 'x'))) => {
            let act = if c == 'c' {
                HoldAction::Capture
            } else {
                HoldAction::Cancel
            };
            match s.selected_hold() {
                Some(op) if op.state == State::Held => {
                    s.step = Step::ConfirmAction(act, Box::new(op.clone()));
                }
                Some(_) => s.error = Some(Note::Key("upay.hold_not_held")),
                None => {}
            }
        }
        (_, KeyCode::Char('g')) => return model.go(ScreenId::Journal),
        _ => {}
    }
    Vec::new()
}

fn on_card_form(model: &mut Model, key: KeyEvent, action: Option<Action>) -> Vec<Command> {
    let today = model.local_now.date();
    let s = &mut model.upay;
    match action {
        Some(Action::Back) => return model.go(ScreenId::Home),
        Some(Action::NextField | Action::Down) => s.focus = (s.focus + 1) % CARD_FIELDS,
        Some(Action::Up) => s.focus = (s.focus + CARD_FIELDS - 1) % CARD_FIELDS,
        Some(Action::Submit) if s.focus + 1 < CARD_FIELDS => s.focus += 1,
        Some(Action::Submit) => submit_card(s, today),
        _ => {
            // The holds list is one key away from an empty form.
            if key.code == KeyCode::F(3) {
                return open_holds(model);
            }
            if s.card[s.focus].handle_event(&TermEvent::Key(key)).is_some() {
                s.error = None;
            }
        }
    }
    Vec::new()
}

fn submit_card(s: &mut UpayState, today: chrono::NaiveDate) {
    let v: Vec<&str> = s.card.iter().map(Input::value).collect();
    let checked = (|| {
        let number = validate::card_number(v[0]).map_err(|k| (0, k))?;
        let expiry = validate::card_expiry(v[1], today).map_err(|k| (1, k))?;
        let cvv = validate::cvv(v[2]).map_err(|k| (2, k))?;
        let holder = validate::card_holder(v[3]).map_err(|k| (3, k))?;
        let phone = validate::uz_phone(v[4]).map_err(|k| (4, k))?;
        Ok::<_, (usize, &'static str)>(CardInput {
            number,
            expiry,
            cvv,
            holder,
            phone,
        })
    })();
    match checked {
        Ok(card) => {
            s.error = None;
            s.step = Step::ConfirmCard(card);
        }
        Err((field, key)) => {
            s.focus = field;
            s.error = Some(Note::Key(key));
        }
    }
}

fn on_hold_form(model: &mut Model, key: KeyEvent, action: Option<Action>) -> Vec<Command> {
    let s = &mut model.upay;
    match action {
        Some(Action::Back) => s.step = Step::Holds,
        Some(Action::NextField | Action::Down) => s.focus = (s.focus + 1) % HOLD_FIELDS,
        Some(Action::Up) => s.focus = (s.focus + HOLD_FIELDS - 1) % HOLD_FIELDS,
        Some(Action::Submit) if s.focus + 1 < HOLD_FIELDS => s.focus += 1,
        Some(Action::Submit) => submit_hold(s, model.upay_defaults),
        _ => {
            if s.hold[s.focus].handle_event(&TermEvent::Key(key)).is_some() {
                s.error = None;
            }
        }
    }
    Vec::new()
}

fn submit_hold(s: &mut UpayState, (service_id, default_minutes): (u64, u64)) {
    let Some(card) = s.card_row.as_ref().and_then(|c| c.provider_ref.clone()) else {
        s.error = Some(Note::Key("upay.no_card"));
        return;
    };
    let v: Vec<&str> = s.hold.iter().map(Input::value).collect();
    let checked = (|| {
        let account = validate::utility_account(v[0]).map_err(|k| (0, k))?;
        let amount = Amount::parse(v[1], CURRENCY).map_err(|e| (1, e.message_key()))?;
        let minutes = if v[2].trim().is_empty() {
            default_minutes
        } else {
            validate::hold_minutes(v[2]).map_err(|k| (2, k))?
        };
        Ok::<_, (usize, &'static str)>(HoldInput {
            id: None,
            card_token: card,
            service_id,
            account,
            amount,
            minutes,
        })
    })();
    match checked {
        Ok(hold) => {
            s.error = None;
            s.step = Step::ConfirmHold(hold);
        }
        Err((field, key)) => {
            s.focus = field;
            s.error = Some(Note::Key(key));
        }
    }
}

/// A worker trouble about this screen (not set up, not recorded, a refused action, a
/// check or an action asked here that could not be sent).
pub fn on_trouble(model: &mut Model, id: Option<&str>, key: &'static str) -> bool {
    let s = &mut model.upay;
    let about_ours = id.is_some_and(|id| {
        s.checking
            .as_ref()
            .is_some_and(|(row, h)| row == id || h == id)
            || s.acting.as_ref().is_some_and(|(a, _)| a == id)
    });
    if about_ours {
        s.checking = None;
        s.acting = None;
        s.told = None;
    }
    let ours = about_ours
        || key.starts_with("upay.")
        || (key == "error.not_recorded"
            && matches!(s.step, Step::Registering(_) | Step::Placing(_)));
    if ours {
        s.step = match s.step {
            Step::Registering(_) => Step::CardForm,
            Step::Placing(_) => Step::HoldForm,
            _ => s.step.clone(),
        };
        s.error = Some(Note::Key(key));
    }
    ours
}

/// Worker events for this screen.
pub fn on_event(model: &mut Model, ev: &Event) {
    let now = model.now;
    let s = &mut model.upay;
    match ev {
        Event::Journal { rows } => {
            s.holds = rows
                .iter()
                .filter(|o| o.kind == Kind::UpayHold)
                .cloned()
                .collect();
            s.selected = s.selected.min(s.holds.len().saturating_sub(1));
            if let Some(card) = rows.iter().find(|o| {
                o.kind == Kind::UpayCard && matches!(o.state, State::Completed | State::Issued)
            }) {
                s.card_row = Some(Box::new(card.clone()));
            }
        }
        Event::Recorded { op } if op.kind == Kind::UpayCard => {
            if let Step::Registering(p) = &mut s.step {
                p.id = op.id.clone();
                p.recorded = true;
            }
        }
        Event::HoldNumbered { hold } => {
            if let Step::Placing(p) = &mut s.step
                && p.id.is_empty()
            {
                p.id = hold.id.clone().unwrap_or_default();
            }
        }
        Event::Duplicate {
            request: crate::flows::Request::Hold(..),
            existing,
            ..
        } => {
            if matches!(s.step, Step::Placing(_)) {
                s.step = Step::HoldForm;
                s.error = Some(Note::Provider {
                    key: "upay.duplicate_hold",
                    text: Some(existing.id.clone()),
                    code: None,
                });
            }
        }
        Event::Finished { op } | Event::NeedsReconciliation { op } => {
            let card_here = match &s.step {
                Step::Registering(p) => p.id == op.id,
                Step::Card(c) => c.id == op.id,
                _ => false,
            };
            if card_here {
                if matches!(op.state, State::Completed | State::Issued) {
                    s.card_row = Some(Box::new(op.clone()));
                }
                s.step = Step::Card(Box::new(op.clone()));
            } else if matches!(&s.step, Step::Placing(p) if p.id == op.id) {
                s.step = Step::Placed(Box::new(op.clone()));
            }
            if op.kind == Kind::UpayHold {
                keep_newer(&mut s.holds, op, true);
                if s.acting.as_ref().is_some_and(|(id, _)| *id == op.id) {
                    let (_, act) = s
                        .acting
                        .take()
                        .unwrap_or((String::new(), HoldAction::Capture));
                    s.told = Some(told_action(act, op));
                }
            }
        }
        Event::HoldChecked { answer } => {
            if let Some(op) = &answer.op {
                keep_newer(&mut s.holds, op, false);
            }
            if s.checking
                .as_ref()
                .is_some_and(|(_, h)| *h == answer.target)
            {
                s.checking = None;
                s.told = Some(told_check(answer));
            }
        }
        other => match &mut s.step {
            Step::Registering(p) | Step::Placing(p) => {
                p.on_event(other, now);
            }
            _ => {}
        },
    }
}

/// Puts `op` in the list unless the list has a newer reading of the row: a check's answer
/// read just before a capture's result must not be shown over it.
fn keep_newer(holds: &mut Vec<Operation>, op: &Operation, insert: bool) {
    match holds.iter_mut().find(|h| h.id == op.id) {
        Some(h) if h.updated_at <= op.updated_at => *h = op.clone(),
        Some(_) => {}
        None if insert => holds.insert(0, op.clone()),
        None => {}
    }
}

/// What a capture or cancel asked for on this screen came to, in the row's own words.
fn told_action(act: HoldAction, op: &Operation) -> Told {
    use crate::app::widgets::Tone;
    let provider = |key| Note::Provider {
        key,
        text: op.provider_message.clone(),
        code: op.provider_status.clone(),
    };
    let (note, tone) = if op.needs_reconciliation {
        (Note::Key("upay.told_person"), Tone::Bad)
    } else {
        match (act, op.state) {
            (HoldAction::Capture, State::Completed) => {
                (Note::Key("upay.told_captured"), Tone::Good)
            }
            (HoldAction::Cancel, State::Cancelled) => {
                (Note::Key("upay.told_cancelled"), Tone::Good)
            }
            // Back to held: UPay refused; its words say why.
            (HoldAction::Capture, State::Held) => {
                (provider("upay.told_capture_refused"), Tone::Bad)
            }
            (HoldAction::Cancel, State::Held) => (provider("upay.told_cancel_refused"), Tone::Bad),
            (_, State::Pending) => (Note::Key("upay.told_pending"), Tone::Warn),
            (_, state) => (
                provider(crate::flows::state_key(op.kind, state)),
                Tone::Warn,
            ),
        }
    };
    Told { note, tone }
}

/// A check's answer as UPay gave it: what it says of the hold, its words and its code.
fn told_check(answer: &crate::worker::upay::CheckAnswer) -> Told {
    use crate::app::widgets::Tone;
    let (key, tone) = match &answer.status {
        Some(crate::flows::upay::HoldStatus::Captured) => {
            ("upay.told_checked_captured", Tone::Normal)
        }
        Some(crate::flows::upay::HoldStatus::Known) => ("upay.told_checked_known", Tone::Normal),
        None => ("upay.told_check_refused", Tone::Bad),
    };
    Told {
        note: Note::Provider {
            key,
            text: answer.description.clone(),
            code: Some(answer.code.clone()),
        },
        tone,
    }
}

mod view;
pub use view::view;
