//! Allpay utility payment: client login, service code, account, amount → check (Allpay says
//! whether it is possible, in its words) → confirmation → progress → result. F2 fills the
//! fields with the recent payees from the journal.

use crossterm::event::{Event as TermEvent, KeyCode, KeyEvent};
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph, Wrap};
use tui_input::Input;
use tui_input::backend::crossterm::EventHandler;

use super::payment::{
    After, Progress, after_key, duplicate_dialog, kv, progress_view, result_view,
};
use crate::app::keys::{Action, Hint};
use crate::app::widgets::{self, Tone, style};
use crate::app::{Model, Note, ScreenId};
use crate::flows::pay::{Payee, UtilityPayment, customer_of};
use crate::i18n::{t, tf};
use crate::journal::Operation;
use crate::money::Amount;
use crate::providers::allpay::cash_in::CURRENCY;
use crate::validate;
use crate::worker::pay::CheckOutcome;
use crate::worker::{Command, Event};

/// The fields, in the order Tab visits them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Field {
    #[default]
    Login,
    Service,
    Account,
    Amount,
}

impl Field {
    fn next(self) -> Field {
        match self {
            Field::Login => Field::Service,
            Field::Service => Field::Account,
            Field::Account => Field::Amount,
            Field::Amount => Field::Login,
        }
    }

    fn prev(self) -> Field {
        match self {
            Field::Login => Field::Amount,
            Field::Service => Field::Login,
            Field::Account => Field::Service,
            Field::Amount => Field::Account,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Step {
    #[default]
    Form,
    /// `payForServicesCheck` is out for this payment.
    Checking(UtilityPayment),
    /// Allpay said it is possible; the dialog shows exactly this payment.
    Confirm {
        payment: UtilityPayment,
        message: Option<String>,
    },
    Duplicate {
        payment: UtilityPayment,
        existing: Box<Operation>,
    },
    Sending(Progress),
    Done(Box<Operation>),
}

#[derive(Debug, Clone, Default)]
pub struct PayState {
    pub step: Step,
    pub login: Input,
    pub service: Input,
    pub account: Input,
    pub amount: Input,
    pub focus: Field,
    pub error: Option<Note>,
    /// Recent payees from the journal, newest first; F2 walks them.
    pub recent: Vec<Payee>,
    pub recent_at: Option<usize>,
}

impl PayState {
    pub fn typing(&self) -> bool {
        matches!(self.step, Step::Form)
    }

    pub fn waiting(&self) -> bool {
        matches!(self.step, Step::Checking(_) | Step::Sending(_))
    }

    pub fn sending(&self) -> bool {
        matches!(self.step, Step::Sending(_))
    }

    pub fn hints(&self) -> Vec<Hint> {
        match &self.step {
            Step::Form => vec![
                ("Enter", "hint.next"),
                ("Tab", "hint.field"),
                ("F2", "hint.recent"),
                ("Esc", "hint.back"),
                ("F1", "hint.help"),
            ],
            Step::Checking(_) => vec![("Esc", "hint.back")],
            Step::Confirm { .. } => vec![("y", "hint.pay"), ("Esc", "hint.back")],
            Step::Duplicate { .. } => vec![("y", "hint.send_again"), ("n", "hint.dont_send")],
            Step::Sending(_) => vec![
                ("n", "hint.another"),
                ("Esc", "hint.background"),
                ("g", "hint.journal"),
            ],
            Step::Done(_) => vec![
                ("n", "hint.new_op"),
                ("g", "hint.journal"),
                ("Esc", "hint.home"),
                ("q", "hint.quit"),
            ],
        }
    }

    fn input(&mut self, f: Field) -> &mut Input {
        match f {
            Field::Login => &mut self.login,
            Field::Service => &mut self.service,
            Field::Account => &mut self.account,
            Field::Amount => &mut self.amount,
        }
    }

    /// A new form that keeps the recent payees.
    fn reset(&mut self) {
        let recent = std::mem::take(&mut self.recent);
        *self = PayState {
            recent,
            ..PayState::default()
        };
    }
}

fn start(payment: UtilityPayment, allow_duplicate: bool) -> Vec<Command> {
    vec![Command::Start {
        request: crate::flows::Request::Pay(payment),
        allow_duplicate,
    }]
}

pub fn on_key(model: &mut Model, key: KeyEvent, action: Option<Action>) -> Vec<Command> {
    let s = &mut model.pay;
    match &s.step {
        Step::Form => on_form_key(model, key, action),
        Step::Checking(_) => {
            if action == Some(Action::Back) {
                s.step = Step::Form;
            }
            Vec::new()
        }
        Step::Confirm { payment, .. } => match action {
            // Only `y` sends money: a second Enter after a quick check must not.
            Some(Action::Yes) => {
                let payment = payment.clone();
                s.step = Step::Sending(progress_of(&payment));
                start(payment, false)
            }
            Some(Action::Back | Action::No) => {
                s.step = Step::Form;
                Vec::new()
            }
            _ => Vec::new(),
        },
        Step::Duplicate { payment, .. } => match action {
            Some(Action::Yes) => {
                let payment = payment.clone();
                s.step = Step::Sending(progress_of(&payment));
                start(payment, true)
            }
            Some(Action::No | Action::Back) => {
                s.step = Step::Form;
                s.error = Some(Note::Key("cashin.dup_not_sent"));
                Vec::new()
            }
            _ => Vec::new(),
        },
        Step::Sending(_) | Step::Done(_) => {
            let done = matches!(s.step, Step::Done(_));
            match after_key(action, key.code) {
                After::Home => {
                    if done {
                        s.reset();
                    }
                    model.go(ScreenId::Home)
                }
                After::New => {
                    if let Step::Sending(p) = &s.step {
                        let id = p.id.clone();
                        s.reset();
                        model.background.push(id);
                    } else {
                        s.reset();
                    }
                    vec![Command::LoadRecentPayees]
                }
                After::Journal => model.go(ScreenId::Journal),
                After::Nothing => Vec::new(),
            }
        }
    }
}

fn progress_of(p: &UtilityPayment) -> Progress {
    Progress::new(p.id.clone(), p.amount, customer_of(&p.service, &p.account))
}

fn on_form_key(model: &mut Model, key: KeyEvent, action: Option<Action>) -> Vec<Command> {
    let s = &mut model.pay;
    if key.code == KeyCode::F(2) {
        if !s.recent.is_empty() {
            let i = s.recent_at.map_or(0, |i| (i + 1) % s.recent.len());
            let p = s.recent[i].clone();
            s.recent_at = Some(i);
            s.login = Input::new(p.login);
            s.service = Input::new(p.service);
            s.account = Input::new(p.account);
            s.focus = Field::Amount;
            s.error = None;
        } else {
            s.error = Some(Note::Key("pay.no_recent"));
        }
        return Vec::new();
    }
    match action {
        Some(Action::Back) => return model.go(ScreenId::Home),
        Some(Action::NextField | Action::Down) => {
            s.focus = s.focus.next();
            return Vec::new();
        }
        Some(Action::Up) => {
            s.focus = s.focus.prev();
            return Vec::new();
        }
        Some(Action::Submit) => return submit(model),
        _ => {}
    }
    let focus = s.focus;
    if s.input(focus).handle_event(&TermEvent::Key(key)).is_some() {
        s.error = None;
    }
    Vec::new()
}

/// Validates every field; the first bad one gets the cursor and the message.
fn submit(model: &mut Model) -> Vec<Command> {
    if model.agent.trim().is_empty() {
        model.pay.error = Some(Note::Key("config.no_requester"));
        return Vec::new();
    }
    let s = &mut model.pay;
    // Enter walks the fields until the last one, as a cashier expects.
    if s.focus != Field::Amount && s.input(s.focus).value().trim().is_empty() {
        s.focus = s.focus.next();
        return Vec::new();
    }
    let checked = (|| {
        let login = validate::wallet_login(s.login.value()).map_err(|k| (Field::Login, k))?;
        let service = validate::service_code(s.service.value()).map_err(|k| (Field::Service, k))?;
        let account =
            validate::utility_account(s.account.value()).map_err(|k| (Field::Account, k))?;
        let amount = Amount::parse(s.amount.value(), CURRENCY)
            .map_err(|e| (Field::Amount, e.message_key()))?;
        Ok::<_, (Field, &'static str)>((login, service, account, amount))
    })();
    match checked {
        Ok((login, service, account, amount)) => {
            let payment = UtilityPayment {
                id: model.fresh.rrn.clone(),
                login,
                service,
                account,
                amount,
            };
            s.error = None;
            s.step = Step::Checking(payment.clone());
            vec![Command::CheckPayment { payment }]
        }
        Err((field, key)) => {
            s.focus = field;
            s.error = Some(Note::Key(key));
            Vec::new()
        }
    }
}

/// Worker events for this screen.
pub fn on_event(model: &mut Model, ev: &Event) {
    let now = model.now;
    let s = &mut model.pay;
    match ev {
        Event::RecentPayees { payees } => {
            s.recent = payees.clone();
            s.recent_at = None;
        }
        Event::PaymentChecked { id, outcome } => {
            let Step::Checking(p) = &s.step else { return };
            if p.id != *id {
                return;
            }
            let payment = p.clone();
            match outcome {
                CheckOutcome::Possible { message } => {
                    s.step = Step::Confirm {
                        payment,
                        message: message.clone(),
                    };
                }
                CheckOutcome::Refused { code, message } => {
                    s.step = Step::Form;
                    s.error = Some(Note::Provider {
                        key: "pay.refused",
                        text: Some(message.clone()),
                        code: Some(code.clone()),
                    });
                }
                CheckOutcome::Failed { key } => {
                    s.step = Step::Form;
                    s.error = Some(Note::Key(key));
                }
            }
        }
        Event::Duplicate {
            request: crate::flows::Request::Pay(payment),
            existing,
        } => {
            if matches!(&s.step, Step::Sending(p) if p.id == payment.id) {
                s.step = Step::Duplicate {
                    payment: payment.clone(),
                    existing: Box::new(existing.clone()),
                };
            }
        }
        Event::Finished { op } | Event::NeedsReconciliation { op } if matches!(&s.step, Step::Sending(p) if p.id == op.id) =>
        {
            s.step = Step::Done(Box::new(op.clone()));
        }
        other => {
            if let Step::Sending(p) = &mut s.step {
                p.on_event(other, now);
            }
        }
    }
}

/// A worker trouble about this screen's payment; `true` when handled here.
pub fn on_trouble(model: &mut Model, id: Option<&str>, key: &'static str) -> bool {
    let s = &mut model.pay;
    match (&s.step, id) {
        (Step::Sending(p), Some(id)) if p.id == id && key == "error.not_recorded" => {
            s.step = Step::Form;
            s.error = Some(Note::Key(key));
            true
        }
        _ => false,
    }
}

pub fn view(model: &Model, frame: &mut Frame<'_>, area: Rect) {
    let s = &model.pay;
    match &s.step {
        Step::Form | Step::Checking(_) => form(model, frame, area),
        Step::Confirm { payment, message } => {
            form(model, frame, area);
            confirm(model, frame, payment, message.as_deref());
        }
        Step::Duplicate { payment, existing } => {
            form(model, frame, area);
            duplicate_dialog(
                model,
                frame,
                (
                    t(model.lang, "pay.account"),
                    customer_of(&payment.service, &payment.account),
                ),
                payment.amount,
                existing,
                "pay.dup_question",
            );
        }
        Step::Sending(p) => progress_view(model, frame, area, p, "pay.waiting"),
        Step::Done(op) => {
            let lang = model.lang;
            let mut rows = Vec::new();
            if let Some(p) = crate::flows::pay::params_of(op) {
                rows.push(kv(lang, "pay.service", p.service));
                rows.push(kv(lang, "pay.account", p.account));
                rows.push(kv(lang, "pay.login", p.login));
            }
            result_view(model, frame, area, op, "pay.done_ok", rows);
        }
    }
}

fn form(model: &Model, frame: &mut Frame<'_>, area: Rect) {
    let lang = model.lang;
    let s = &model.pay;
    let block = Block::default()
        .borders(Borders::ALL)
        .title(format!(" {} ", t(lang, "pay.title")));
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let active = matches!(s.step, Step::Form);
    let fields = [
        (Field::Login, "pay.login", &s.login, ""),
        (Field::Service, "pay.service", &s.service, ""),
        (Field::Account, "pay.account", &s.account, ""),
        (Field::Amount, "pay.amount", &s.amount, CURRENCY.symbol()),
    ];
    for (i, (f, label, input, suffix)) in fields.into_iter().enumerate() {
        let row = Rect {
            y: inner.y + u16::try_from(i).unwrap_or(0),
            height: 1,
            ..inner
        };
        if row.y < inner.bottom() {
            widgets::field(
                frame,
                row,
                t(lang, label),
                input,
                20,
                active && s.focus == f,
                suffix,
            );
        }
    }
    let mut lines = vec![Line::raw("")];
    if let Step::Checking(_) = &s.step {
        lines.push(Line::from(vec![
            Span::raw(" "),
            Span::styled(widgets::spinner(model.frame), style(model, Tone::Warn)),
            Span::raw(format!(" {}", t(lang, "pay.checking"))),
        ]));
    } else if let Some(err) = &s.error {
        lines.push(Line::styled(
            format!(" ✖ {}", err.render(lang)),
            style(model, Tone::Bad),
        ));
    } else {
        lines.push(Line::styled(
            format!(" {}", t(lang, "pay.hint")),
            style(model, Tone::Dim),
        ));
    }
    if !s.recent.is_empty() {
        lines.push(Line::raw(""));
        lines.push(Line::styled(
            format!(" {}", t(lang, "pay.recent")),
            style(model, Tone::Dim),
        ));
        for (i, p) in s.recent.iter().take(5).enumerate() {
            let mark = if s.recent_at == Some(i) { "▶" } else { " " };
            lines.push(Line::raw(format!(
                " {mark} {:<12} {:<20} {}",
                p.service, p.account, p.login
            )));
        }
    }
    let rest = Rect {
        y: inner.y + 4,
        height: inner.height.saturating_sub(4),
        ..inner
    };
    frame.render_widget(Paragraph::new(lines).wrap(Wrap { trim: false }), rest);
}

fn confirm(model: &Model, frame: &mut Frame<'_>, p: &UtilityPayment, message: Option<&str>) {
    let lang = model.lang;
    let rows = vec![
        (t(lang, "pay.service"), p.service.clone()),
        (t(lang, "pay.account"), p.account.clone()),
        (t(lang, "pay.login"), p.login.clone()),
        (t(lang, "cashin.sum"), p.amount.display()),
    ];
    let warning = match message {
        Some(m) => tf(lang, "pay.confirm_with_message", &[("message", m)]),
        None => t(lang, "pay.confirm_warning").to_string(),
    };
    widgets::dialog(
        model,
        frame,
        t(lang, "pay.confirm_title"),
        &rows,
        &warning,
        &[("y", t(lang, "hint.pay")), ("Esc", t(lang, "hint.back"))],
        Tone::Normal,
    );
}
