//! The Elm loop, pure: `Model` (all UI state), `Msg` (a key, a tick, a worker event),
//! `update` (returns `Command`s for the worker, does no I/O) and `view` (draws from the
//! model alone). The terminal and the channels live in `tui.rs`.
//!
//! One file, past 500 lines: the model, the one `update` and the one `view` that every
//! screen plugs into; splitting them would scatter the dispatch.

pub mod keys;
pub mod screens;
pub(crate) mod stop;
mod tui;
pub mod widgets;

use std::time::Instant;

use crossterm::event::{KeyCode, KeyEvent};
use ratatui::Frame;

use crate::i18n::{Lang, t, tf};
use crate::worker::{Command, Event};
use keys::Action;
use screens::{
    cash_in::CashInState, day::DayState, detail::DetailState, home::HomeState,
    journal::JournalState, pay::PayState, upay::UpayState, webmoney::WmState, wooppay::WpState,
};

pub use tui::{Start, run};

/// What the loop feeds `update`.
#[derive(Debug, Clone)]
#[expect(
    clippy::large_enum_variant,
    reason = "one Msg lives at a time; a box buys nothing"
)]
pub enum Msg {
    /// A key press (releases are filtered by the key table).
    Key(KeyEvent),
    /// The terminal changed size; the next draw adapts.
    Resize,
    /// Time passed (only while something animates).
    Tick,
    /// The worker reports.
    Worker(Event),
    /// Text pasted into the terminal (bracketed paste): text for the field being typed,
    /// never keys.
    Paste(String),
}

/// Which screen is in front.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScreenId {
    Home,
    CashIn,
    Pay,
    Webmoney,
    Upay,
    Day,
    Wooppay,
    Journal,
    Detail,
}

/// What covers the screen for a moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Overlay {
    None,
    Help,
    /// `q` while payments are in flight.
    QuitConfirm,
}

/// A message for the cashier: a catalogue key, or text from a provider shown as it came.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Note {
    Key(&'static str),
    /// A catalogue key followed by the provider's own words and code.
    Provider {
        key: &'static str,
        text: Option<String>,
        code: Option<String>,
    },
    /// Words already in the cashier's language (a receipt saved, an export written), and
    /// whether they tell of success.
    Said {
        text: String,
        good: bool,
    },
}

impl Note {
    pub fn render(&self, lang: Lang) -> String {
        match self {
            Note::Key(k) => t(lang, k).to_string(),
            Note::Said { text, .. } => text.clone(),
            Note::Provider { key, text, code } => {
                let mut s = t(lang, key).to_string();
                if let Some(x) = text.as_deref().filter(|x| !x.trim().is_empty()) {
                    s.push_str(": ");
                    s.push_str(x.trim());
                }
                if let Some(c) = code.as_deref().filter(|c| !c.is_empty()) {
                    s.push_str(&format!(" ({c})"));
                }
                s
            }
        }
    }
}

/// Journal counts shown on every screen.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    pub pending: u32,
    pub recon: u32,
    /// Operations this process is sending right now.
    pub active: u32,
}

/// All UI state.
#[derive(Debug, Clone)]
pub struct Model {
    pub lang: Lang,
    pub demo: bool,
    pub agent: String,
    pub color: bool,
    pub screen: ScreenId,
    pub overlay: Overlay,
    pub home: HomeState,
    pub cash_in: CashInState,
    pub pay: PayState,
    pub webmoney: WmState,
    /// The configured store purse, offered in the invoice form.
    pub wm_purse: String,
    pub upay: UpayState,
    pub day: DayState,
    /// `[upay] service_id` and `hold_minutes`: what a hold is placed with.
    pub upay_defaults: (u64, u64),
    pub wooppay: WpState,
    /// `[wooppay] invoice_ttl_minutes`: the deathDate an invoice gets when none is typed.
    pub wooppay_ttl: u64,
    pub journal: JournalState,
    pub detail: DetailState,
    pub counts: Counts,
    /// `Some(n)` while the pending rows found at start are being taken up.
    pub resuming: Option<usize>,
    /// A line for the cashier in the status bar (journal trouble and the like).
    pub notice: Option<Note>,
    /// Text the cashier asked to copy (a payment link): the loop hands it to the
    /// terminal's clipboard (OSC 52) and clears it; `update` does no I/O.
    pub clipboard: Option<String>,
    /// Frame counter for the spinner.
    pub frame: u64,
    /// How many times the screen has been drawn, counted by the loop (a test counts its own).
    pub draws: u64,
    /// The question on screen and the draw count when it appeared: a `y` that comes before
    /// the question was ever drawn was typed before the cashier could read it.
    pub asked: Option<(&'static str, u64)>,
    /// The time of the message being handled, set by the loop (tests set it themselves).
    pub now: Instant,
    /// The till's local wall clock at that moment (today's report, a deathDate's check).
    pub local_now: chrono::NaiveDateTime,
    /// Ids for a request confirmed while handling this message, made by the loop so that
    /// `update` stays a function of its input.
    pub fresh: Fresh,
    pub quit: bool,
    /// Operations on their way that the cashier left with `n` to start another: their
    /// outcome is told in the status line when it comes.
    pub background: Vec<String>,
}

/// New ids, one of each kind, for the request the cashier may confirm next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fresh {
    pub guid: String,
    pub rrn: String,
    pub reference_id: String,
}

impl Fresh {
    pub fn new() -> Fresh {
        Fresh {
            guid: crate::ids::new_guid(),
            rrn: crate::ids::new_rrn(),
            reference_id: crate::ids::new_reference_id(),
        }
    }
}

impl Default for Fresh {
    fn default() -> Fresh {
        Fresh::new()
    }
}

impl Model {
    pub fn new(lang: Lang, demo: bool, agent: String, color: bool, now: Instant) -> Model {
        Model {
            lang,
            demo,
            agent,
            color,
            screen: ScreenId::Home,
            overlay: Overlay::None,
            home: HomeState::default(),
            cash_in: CashInState::default(),
            pay: PayState::default(),
            webmoney: WmState::default(),
            wm_purse: String::new(),
            upay: UpayState::default(),
            day: DayState::default(),
            upay_defaults: (0, 60),
            wooppay: WpState::default(),
            wooppay_ttl: 60,
            journal: JournalState::default(),
            detail: DetailState::default(),
            counts: Counts::default(),
            resuming: None,
            notice: None,
            clipboard: None,
            frame: 0,
            draws: 0,
            asked: None,
            now,
            local_now: chrono::Local::now().naive_local(),
            fresh: Fresh::new(),
            quit: false,
            background: Vec::new(),
        }
    }

    /// Something on screen moves by itself, so the loop must tick.
    pub fn animating(&self) -> bool {
        match self.screen {
            ScreenId::CashIn => self.cash_in.waiting(),
            ScreenId::Pay => self.pay.waiting(),
            ScreenId::Webmoney => self.webmoney.waiting(),
            ScreenId::Upay => {
                self.upay.waiting()
                    || matches!(self.upay.step, screens::upay::Step::Card(ref c) if c.state == crate::journal::State::Issued)
            }
            ScreenId::Wooppay => self.wooppay.waiting(),
            _ => false,
        }
    }

    /// Money is being sent by this process right now.
    pub fn in_flight(&self) -> bool {
        self.counts.active > 0
            || self.cash_in.sending()
            || self.pay.sending()
            || self.webmoney.sending()
            || self.upay.sending()
            || self.wooppay.sending()
            // An invoice on the screen still waits for its payment: quitting asks first.
            || self.wooppay.waiting()
    }

    /// The question on screen that `y` answers, if any: money moves, or a shift closes, or
    /// kassa quits, only on a `y` to one of these.
    pub fn question(&self) -> Option<&'static str> {
        use screens::{cash_in, day, pay, upay, webmoney, wooppay};
        if self.overlay == Overlay::QuitConfirm {
            return Some("quit");
        }
        match self.screen {
            ScreenId::CashIn => match self.cash_in.step {
                cash_in::Step::Confirm(_) => Some("cash_in.confirm"),
                cash_in::Step::Duplicate { .. } => Some("cash_in.duplicate"),
                _ => None,
            },
            ScreenId::Pay => match self.pay.step {
                pay::Step::Confirm { .. } => Some("pay.confirm"),
                pay::Step::Duplicate { .. } => Some("pay.duplicate"),
                _ => None,
            },
            ScreenId::Webmoney => match self.webmoney.step {
                webmoney::Step::Confirm(_) => Some("webmoney.confirm"),
                webmoney::Step::Duplicate { .. } => Some("webmoney.duplicate"),
                _ => None,
            },
            ScreenId::Wooppay => match self.wooppay.step {
                wooppay::Step::Confirm(_) => Some("wooppay.confirm"),
                wooppay::Step::Duplicate { .. } => Some("wooppay.duplicate"),
                _ => None,
            },
            ScreenId::Upay => match &self.upay.step {
                upay::Step::ConfirmCard(_) => Some("upay.card"),
                upay::Step::ConfirmHold(_) => Some("upay.hold"),
                upay::Step::ConfirmAction(..) => Some("upay.action"),
                upay::Step::Card(_) if self.upay.asking_card.is_some() => Some("upay.mark"),
                _ => None,
            },
            ScreenId::Day => match self.day.step {
                day::Step::ClosePending(_) => Some("day.close"),
                _ => None,
            },
            _ => None,
        }
    }

    /// A text field has the keyboard: letters are text, not commands.
    fn typing(&self) -> bool {
        match self.screen {
            ScreenId::CashIn => self.cash_in.typing(),
            ScreenId::Pay => self.pay.typing(),
            ScreenId::Webmoney => self.webmoney.typing(),
            ScreenId::Upay => self.upay.typing(),
            ScreenId::Journal => self.journal.searching,
            ScreenId::Detail => self.detail.typing(),
            ScreenId::Day => self.day.typing(),
            ScreenId::Wooppay => self.wooppay.typing(),
            _ => false,
        }
    }

    pub fn go(&mut self, screen: ScreenId) -> Vec<Command> {
        self.screen = screen;
        // A money screen opens on an empty form for the next customer, unless something of
        // its own is still on its way (then its progress is what the cashier needs).
        // A result that came while the cashier was away is shown first.
        use screens::{cash_in, pay, webmoney, wooppay};
        match screen {
            ScreenId::CashIn
                if !self.cash_in.waiting()
                    && !matches!(self.cash_in.step, cash_in::Step::Done(_)) =>
            {
                self.cash_in = CashInState::default()
            }
            ScreenId::Pay
                if !self.pay.waiting() && !matches!(self.pay.step, pay::Step::Done(_)) =>
            {
                self.pay = PayState::default()
            }
            ScreenId::Webmoney
                if !self.webmoney.waiting()
                    && !matches!(self.webmoney.step, webmoney::Step::Done(_)) =>
            {
                self.webmoney = WmState::default()
            }
            ScreenId::Wooppay
                if !self.wooppay.waiting()
                    && !matches!(self.wooppay.step, wooppay::Step::Done(_)) =>
            {
                self.wooppay = WpState::default()
            }
            _ => {}
        }
        match screen {
            ScreenId::Journal => vec![self.journal.command(self.local_now.date())],
            ScreenId::Day => vec![Command::LoadShift],
            ScreenId::Pay => vec![Command::LoadRecentPayees],
            ScreenId::Webmoney => {
                self.webmoney.prefill(&self.wm_purse);
                Vec::new()
            }
            ScreenId::Wooppay => vec![Command::WooppayBalance],
            _ => Vec::new(),
        }
    }

    /// The operation whose outcome the screen shows now: its receipt can be printed or saved.
    pub fn shown_result(&self) -> Option<&crate::journal::Operation> {
        use screens::{cash_in, pay, upay, webmoney, wooppay};
        match self.screen {
            ScreenId::CashIn => match &self.cash_in.step {
                cash_in::Step::Done(op) => Some(op),
                _ => None,
            },
            ScreenId::Pay => match &self.pay.step {
                pay::Step::Done(op) => Some(op),
                _ => None,
            },
            ScreenId::Webmoney => match &self.webmoney.step {
                webmoney::Step::Done(op) => Some(op),
                _ => None,
            },
            ScreenId::Wooppay => match &self.wooppay.step {
                wooppay::Step::Done(op) | wooppay::Step::Issued { op, .. } => Some(op),
                _ => None,
            },
            ScreenId::Upay => match &self.upay.step {
                upay::Step::Placed(op) => Some(op),
                _ => None,
            },
            ScreenId::Detail if self.detail.resolving.is_none() => self.detail.op.as_ref(),
            _ => None,
        }
    }

    fn ask_quit(&mut self) {
        if self.in_flight() {
            self.overlay = Overlay::QuitConfirm;
        } else {
            self.quit = true;
        }
    }
}

/// Applies one message; returns what the worker must do. No I/O happens here.
pub fn update(model: &mut Model, msg: Msg) -> Vec<Command> {
    let before = model.question();
    let cmds = apply(model, msg);
    let after = model.question();
    if after != before {
        model.asked = after.map(|q| (q, model.draws));
    }
    cmds
}

fn apply(model: &mut Model, msg: Msg) -> Vec<Command> {
    match msg {
        Msg::Resize => Vec::new(),
        Msg::Tick => {
            model.frame = model.frame.wrapping_add(1);
            Vec::new()
        }
        Msg::Worker(ev) => on_event(model, ev),
        Msg::Key(key) => on_key(model, key),
        Msg::Paste(text) => on_paste(model, &text),
    }
}

/// A paste is typed into the field that has the keyboard, character by character, with
/// its line breaks and other control characters dropped: it can fill a field, never press
/// Enter or answer a question. Where no field has the keyboard it is dropped, and said so.
fn on_paste(model: &mut Model, text: &str) -> Vec<Command> {
    if !model.typing() {
        model.notice = Some(Note::Key("paste.ignored"));
        return Vec::new();
    }
    let mut cmds = Vec::new();
    for c in text.chars().filter(|c| !c.is_control()) {
        if !model.typing() {
            break;
        }
        let key = KeyEvent::new(KeyCode::Char(c), crossterm::event::KeyModifiers::NONE);
        // A search as you type may ask for rows; anything else a paste asks for is not the
        // cashier's say-so and is dropped.
        cmds.extend(on_key(model, key).into_iter().filter(|c| {
            matches!(
                c,
                Command::QueryJournal { .. } | Command::LoadJournal { .. }
            )
        }));
    }
    // One query, for the text as pasted whole.
    let last = cmds
        .iter()
        .rev()
        .find(|c| matches!(c, Command::QueryJournal { .. }))
        .cloned();
    cmds.retain(|c| !matches!(c, Command::QueryJournal { .. }));
    cmds.extend(last);
    cmds
}

fn on_key(model: &mut Model, key: KeyEvent) -> Vec<Command> {
    // A yes to a question not yet drawn was typed before the cashier could read it (a
    // burst of keys, a paste without bracketing): it answers nothing, and the cashier is
    // told to look and press again.
    if keys::action(&key) == Some(Action::Yes)
        && !model.typing()
        && model
            .asked
            .is_some_and(|(q, at)| at == model.draws && model.question() == Some(q))
    {
        model.notice = Some(Note::Key("notice.yes_too_early"));
        return Vec::new();
    }
    match model.overlay {
        Overlay::Help => {
            if keys::action(&key).is_some() || key.code == crossterm::event::KeyCode::Char(' ') {
                model.overlay = Overlay::None;
            }
            return Vec::new();
        }
        Overlay::QuitConfirm => {
            match keys::action(&key) {
                Some(Action::Yes) => model.quit = true,
                Some(Action::No | Action::Back) => model.overlay = Overlay::None,
                _ => {}
            }
            return Vec::new();
        }
        Overlay::None => {}
    }
    let typing = model.typing();
    // Outside a text field a key means what it means on a US layout, whichever layout the
    // cashier left on: the screens below only ever see `q`, never `й`.
    let key = if typing { key } else { keys::by_position(key) };
    let action = if typing {
        keys::field_action(&key)
    } else {
        keys::action(&key)
    };
    match action {
        Some(Action::Interrupt) => {
            model.ask_quit();
            return Vec::new();
        }
        Some(Action::Quit) => {
            model.ask_quit();
            return Vec::new();
        }
        Some(Action::Help) => {
            model.overlay = Overlay::Help;
            return Vec::new();
        }
        _ => {}
    }
    model.notice = None;
    if !typing && let (Some(op), KeyCode::Char(c @ ('p' | 's'))) = (model.shown_result(), key.code)
    {
        return vec![Command::Receipt {
            id: op.id.clone(),
            print: c == 'p',
        }];
    }
    match model.screen {
        ScreenId::Home => screens::home::on_key(model, action),
        ScreenId::CashIn => screens::cash_in::on_key(model, key, action),
        ScreenId::Pay => screens::pay::on_key(model, key, action),
        ScreenId::Webmoney => screens::webmoney::on_key(model, key, action),
        ScreenId::Wooppay => screens::wooppay::on_key(model, key, action),
        ScreenId::Upay => screens::upay::on_key(model, key, action),
        ScreenId::Day => screens::day::on_key(model, key, action),
        ScreenId::Journal => screens::journal::on_key(model, key, action),
        ScreenId::Detail => screens::detail::on_key(model, key, action),
    }
}

fn on_event(model: &mut Model, ev: Event) -> Vec<Command> {
    match ev {
        Event::Counts {
            pending,
            recon,
            active,
        } => {
            model.counts = Counts {
                pending,
                recon,
                active,
            };
            Vec::new()
        }
        Event::Resuming { count } => {
            model.resuming = (count > 0).then_some(count);
            Vec::new()
        }
        Event::Journal { rows } => {
            screens::upay::on_event(model, &Event::Journal { rows: rows.clone() });
            model.journal.set_rows(rows);
            Vec::new()
        }
        Event::Detail { op, events } => {
            model.detail.set(op, events);
            Vec::new()
        }
        Event::Said { outcome } => {
            model.notice = Some(match outcome {
                Ok(text) => Note::Said { text, good: true },
                Err(text) => Note::Said { text, good: false },
            });
            Vec::new()
        }
        Event::Trouble { id, key } => {
            if !screens::cash_in::on_trouble(model, id.as_deref(), key)
                && !screens::pay::on_trouble(model, id.as_deref(), key)
                && !screens::webmoney::on_trouble(model, key)
                && (model.screen != ScreenId::Upay
                    || !screens::upay::on_trouble(model, id.as_deref(), key))
                && !screens::day::on_trouble(model, key)
                && !screens::wooppay::on_trouble(model, id.as_deref(), key)
            {
                model.notice = Some(Note::Key(key));
            }
            Vec::new()
        }
        other => {
            let finished = matches!(
                other,
                Event::Finished { .. } | Event::NeedsReconciliation { .. } | Event::Recorded { .. }
            );
            if finished {
                model.resuming = None;
            }
            if let Event::Finished { op } | Event::NeedsReconciliation { op } = &other {
                tell_background(model, op);
            }
            let mut cmds = match owner(&other) {
                Some(ScreenId::CashIn) => screens::cash_in::on_event(model, other),
                Some(ScreenId::Pay) => {
                    screens::pay::on_event(model, &other);
                    Vec::new()
                }
                Some(ScreenId::Webmoney) => {
                    screens::webmoney::on_event(model, &other);
                    Vec::new()
                }
                Some(ScreenId::Upay) => {
                    screens::upay::on_event(model, &other);
                    Vec::new()
                }
                Some(ScreenId::Day) => {
                    screens::day::on_event(model, &other);
                    Vec::new()
                }
                Some(ScreenId::Wooppay) => screens::wooppay::on_event(model, &other),
                _ => Vec::new(),
            };
            if finished && model.screen == ScreenId::Journal {
                cmds.push(model.journal.command(model.local_now.date()));
            }
            cmds
        }
    }
}

/// The outcome of an operation the cashier left on its way to start another, in the status
/// line: what it was, its sum and its state in its kind's own word.
fn tell_background(model: &mut Model, op: &crate::journal::Operation) {
    let Some(i) = model.background.iter().position(|id| *id == op.id) else {
        return;
    };
    model.background.swap_remove(i);
    let lang = model.lang;
    let state = if op.needs_reconciliation {
        t(lang, "state.needs_recon").to_string()
    } else {
        t(lang, crate::flows::state_key(op.kind, op.state)).to_string()
    };
    let amount = if op.amount.is_none() {
        String::new()
    } else {
        op.amount.display()
    };
    let text = tf(
        lang,
        "notice.background_done",
        &[
            ("what", t(lang, op.kind.message_key())),
            ("amount", &amount),
            ("state", &state),
        ],
    );
    let good = !op.needs_reconciliation
        && matches!(
            op.state,
            crate::journal::State::Completed
                | crate::journal::State::Held
                | crate::journal::State::Issued
        );
    model.notice = Some(Note::Said { text, good });
}

/// The screen an event is for: the one that owns the operation's kind, or the one that
/// asked. Events about no screen (counts, the journal, notices) are taken above.
fn owner(ev: &Event) -> Option<ScreenId> {
    use crate::journal::Kind;
    let of_kind = |kind: Kind| match kind {
        Kind::AllpayCashIn => ScreenId::CashIn,
        Kind::AllpayPay => ScreenId::Pay,
        Kind::WebmoneyInvoice => ScreenId::Webmoney,
        Kind::WooppayInvoice => ScreenId::Wooppay,
        Kind::UpayCard | Kind::UpayHold => ScreenId::Upay,
    };
    Some(match ev {
        Event::Recorded { op }
        | Event::Finished { op }
        | Event::NeedsReconciliation { op }
        | Event::Issued { op } => of_kind(op.kind),
        Event::Progress { kind, .. } => of_kind(*kind),
        Event::Duplicate { request, .. } => of_kind(request.kind()),
        Event::UserChecked { .. } => ScreenId::CashIn,
        Event::PaymentChecked { .. } | Event::RecentPayees { .. } => ScreenId::Pay,
        Event::InvoiceNumbered { .. } => ScreenId::Webmoney,
        Event::HoldNumbered { .. } | Event::HoldChecked { .. } => ScreenId::Upay,
        Event::Shift { .. } | Event::ShiftClosed { .. } | Event::Report { .. } => ScreenId::Day,
        Event::WooppayCode { .. } | Event::WooppayBalance { .. } | Event::WooppayStatus { .. } => {
            ScreenId::Wooppay
        }
        _ => return None,
    })
}

/// Draws the whole screen from the model.
pub fn view(model: &Model, frame: &mut Frame<'_>) {
    let body = widgets::chrome(model, frame);
    match model.screen {
        ScreenId::Home => screens::home::view(model, frame, body),
        ScreenId::CashIn => screens::cash_in::view(model, frame, body),
        ScreenId::Pay => screens::pay::view(model, frame, body),
        ScreenId::Webmoney => screens::webmoney::view(model, frame, body),
        ScreenId::Upay => screens::upay::view(model, frame, body),
        ScreenId::Day => screens::day::view(model, frame, body),
        ScreenId::Wooppay => screens::wooppay::view(model, frame, body),
        ScreenId::Journal => screens::journal::view(model, frame, body),
        ScreenId::Detail => screens::detail::view(model, frame, body),
    }
    match model.overlay {
        Overlay::None => {}
        Overlay::Help => widgets::help(model, frame),
        Overlay::QuitConfirm => widgets::quit_confirm(model, frame),
    }
}

/// The key hints of the screen in front, for the footer and the help.
pub fn hints(model: &Model) -> Vec<keys::Hint> {
    let mut h = screen_hints(model);
    if model.shown_result().is_some() && !model.typing() {
        h.insert(0, ("s", "hint.save_receipt"));
        h.insert(0, ("p", "hint.print_receipt"));
    }
    h
}

fn screen_hints(model: &Model) -> Vec<keys::Hint> {
    match model.screen {
        ScreenId::Home => screens::home::hints(),
        ScreenId::CashIn => model.cash_in.hints(),
        ScreenId::Pay => model.pay.hints(),
        ScreenId::Webmoney => model.webmoney.hints(),
        ScreenId::Wooppay => model.wooppay.hints(),
        ScreenId::Upay => model.upay.hints(),
        ScreenId::Day => model.day.hints(),
        ScreenId::Journal => screens::journal::hints(model),
        ScreenId::Detail => screens::detail::hints(model),
    }
}
