//! Allpay cash-in: login → check → name and identification → amount → confirmation →
//! progress → result with a receipt. The value shown in the confirmation is the value sent.

use crossterm::event::{Event as TermEvent, KeyCode, KeyEvent};
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
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
use crate::i18n::{Lang, t, tf};
use crate::journal::Operation;
use crate::money::Amount;
use crate::providers::allpay::cash_in::{CURRENCY, UserInfo};
use crate::validate;
use crate::worker::{CashInPayment, CheckOutcome, Command, Event};

/// Which field has the cursor.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Field {
    #[default]
    Login,
    Amount,
}

/// A wallet the server confirmed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checked {
    pub login: String,
    pub user: UserInfo,
}

/// Where the cashier is in the flow.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Step {
    #[default]
    Form,
    /// The wallet check is out.
    Checking { login: String },
    /// The dialog shows exactly this payment.
    Confirm(CashInPayment),
    /// A like payment exists; the cashier says whether this is another one.
    Duplicate {
        payment: CashInPayment,
        existing: Box<Operation>,
    },
    /// Committed (or being committed) and being sent.
    Sending(Progress),
    /// Final, or waiting for a person.
    Done(Box<Operation>),
}

#[derive(Debug, Clone, Default)]
pub struct CashInState {
    pub step: Step,
    pub login: Input,
    pub amount: Input,
    pub focus: Field,
    pub checked: Option<Checked>,
    pub error: Option<Note>,
}

impl CashInState {
    /// A text field has the keyboard (letters are text, not commands).
    pub fn typing(&self) -> bool {
        matches!(self.step, Step::Form)
    }

    /// The spinner turns.
    pub fn waiting(&self) -> bool {
        matches!(self.step, Step::Checking { .. } | Step::Sending(_))
    }

    /// A payment of this screen is on its way.
    pub fn sending(&self) -> bool {
        matches!(self.step, Step::Sending(_))
    }

    fn current_id(&self) -> Option<&str> {
        match &self.step {
            Step::Sending(p) => Some(&p.id),
            Step::Done(op) => Some(&op.id),
            _ => None,
        }
    }

    pub fn hints(&self) -> Vec<Hint> {
        match &self.step {
            Step::Form => vec![
                ("Enter", "hint.next"),
                ("Tab", "hint.field"),
                ("Esc", "hint.back"),
                ("F1", "hint.help"),
            ],
            Step::Checking { .. } => vec![("Esc", "hint.back")],
            Step::Confirm(_) => vec![("y", "hint.top_up"), ("Esc", "hint.back")],
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

    fn reset(&mut self) {
        *self = CashInState::default();
    }
}

pub fn on_key(model: &mut Model, key: KeyEvent, action: Option<Action>) -> Vec<Command> {
    let s = &mut model.cash_in;
    match &s.step {
        Step::Form => on_form_key(model, key, action),
        Step::Checking { .. } => {
            if action == Some(Action::Back) {
                // The answer, when it comes, is ignored: nothing moved.
                model.cash_in.step = Step::Form;
            } else if matches!(key.code, KeyCode::Char(c) if c.is_ascii_digit() || matches!(c, ' ' | ',' | '.'))
                || key.code == KeyCode::Backspace
            {
                // The cashier types the sum while the wallet is being checked: it goes where
                // the cursor will be, into the amount, rather than being lost.
                model.cash_in.amount.handle_event(&TermEvent::Key(key));
            }
            Vec::new()
        }
        Step::Confirm(payment) => match action {
            // Only `y` sends money: a second Enter after a quick check must not.
            Some(Action::Yes) => {
                let payment = payment.clone();
                model.cash_in.step = Step::Sending(progress_of(&payment));
                vec![Command::Start {
                    request: crate::flows::Request::CashIn(payment),
                    allow_duplicate: false,
                }]
            }
            Some(Action::Back | Action::No) => {
                model.cash_in.step = Step::Form;
                Vec::new()
            }
            _ => Vec::new(),
        },
        Step::Duplicate { payment, .. } => match action {
            Some(Action::Yes) => {
                let payment = payment.clone();
                model.cash_in.step = Step::Sending(progress_of(&payment));
                vec![Command::Start {
                    request: crate::flows::Request::CashIn(payment),
                    allow_duplicate: true,
                }]
            }
            Some(Action::No | Action::Back) => {
                model.cash_in.step = Step::Form;
                model.cash_in.error = Some(Note::Key("cashin.dup_not_sent"));
                Vec::new()
            }
            _ => Vec::new(),
        },
        Step::Sending(_) | Step::Done(_) => {
            let done = matches!(s.step, Step::Done(_));
            match after_key(action, key.code) {
                After::Home => {
                    if done {
                        model.cash_in.reset();
                    }
                    model.go(ScreenId::Home)
                }
                After::New => {
                    if let Step::Sending(p) = &model.cash_in.step {
                        model.background.push(p.id.clone());
                    }
                    model.cash_in.reset();
                    Vec::new()
                }
                After::Journal => model.go(ScreenId::Journal),
                After::Nothing => Vec::new(),
            }
        }
    }
}

fn on_form_key(model: &mut Model, key: KeyEvent, action: Option<Action>) -> Vec<Command> {
    let s = &mut model.cash_in;
    match action {
        Some(Action::Back) => return model.go(ScreenId::Home),
        Some(Action::NextField | Action::Up | Action::Down) => {
            s.focus = match s.focus {
                Field::Login => Field::Amount,
                Field::Amount => Field::Login,
            };
            return Vec::new();
        }
        Some(Action::Submit) => return submit(model),
        _ => {}
    }
    let input = match s.focus {
        Field::Login => &mut s.login,
        Field::Amount => &mut s.amount,
    };
    if input.handle_event(&TermEvent::Key(key)).is_some() {
        s.error = None;
        if s.focus == Field::Login {
            // A changed login needs a new check before any money moves.
            let current = validate::wallet_login(s.login.value()).ok();
            if s.checked
                .as_ref()
                .map(|c| Some(&c.login) != current.as_ref())
                .unwrap_or(false)
            {
                s.checked = None;
            }
        }
    }
    Vec::new()
}

fn submit(model: &mut Model) -> Vec<Command> {
    if model.agent.trim().is_empty() {
        // Every request carries the agent's login; without it nothing can be sent.
        model.cash_in.error = Some(Note::Key("config.no_requester"));
        return Vec::new();
    }
    let s = &mut model.cash_in;
    let login = match validate::wallet_login(s.login.value()) {
        Ok(l) => l,
        Err(key) => {
            s.focus = Field::Login;
            s.error = Some(Note::Key(key));
            return Vec::new();
        }
    };
    let checked = s.checked.as_ref().filter(|c| c.login == login).cloned();
    let Some(checked) = checked else {
        s.step = Step::Checking {
            login: login.clone(),
        };
        return vec![Command::CheckUser { login }];
    };
    if s.focus == Field::Login {
        s.focus = Field::Amount;
        return Vec::new();
    }
    match Amount::parse(s.amount.value(), CURRENCY) {
        Ok(amount) => {
            s.step = Step::Confirm(CashInPayment {
                id: model.fresh.guid.clone(),
                login,
                customer_name: Some(checked.user.full_name()).filter(|n| !n.is_empty()),
                amount,
            });
        }
        Err(e) => s.error = Some(Note::Key(e.message_key())),
    }
    Vec::new()
}

fn progress_of(p: &CashInPayment) -> Progress {
    Progress::new(p.id.clone(), p.amount, p.login.clone())
}

/// Worker events for this screen. Events about other operations are ignored here.
pub fn on_event(model: &mut Model, ev: Event) -> Vec<Command> {
    let now = model.now;
    let s = &mut model.cash_in;
    match ev {
        Event::UserChecked { login, outcome } => {
            if !matches!(&s.step, Step::Checking { login: l } if *l == login) {
                return Vec::new();
            }
            s.step = Step::Form;
            match outcome {
                CheckOutcome::Found { user, .. } => {
                    s.checked = Some(Checked { login, user });
                    s.focus = Field::Amount;
                    s.error = None;
                }
                CheckOutcome::NotFound { message } => {
                    s.checked = None;
                    s.error = Some(Note::Provider {
                        key: "cashin.no_such_user",
                        text: message,
                        code: None,
                    });
                }
                CheckOutcome::Failed { key, code, message } => {
                    s.checked = None;
                    s.error = Some(Note::Provider {
                        key,
                        text: message,
                        code,
                    });
                }
            }
        }
        Event::Duplicate {
            request: crate::flows::Request::CashIn(payment),
            existing,
        } => {
            if matches!(&s.step, Step::Sending(p) if p.id == payment.id) {
                s.step = Step::Duplicate {
                    payment,
                    existing: Box::new(existing),
                };
            }
        }
        Event::Finished { op } | Event::NeedsReconciliation { op }
            if s.current_id() == Some(op.id.as_str()) =>
        {
            s.step = Step::Done(Box::new(op));
        }
        other => {
            if let Step::Sending(p) = &mut s.step {
                p.on_event(&other, now);
            }
        }
    }
    Vec::new()
}

/// A worker trouble about this screen's payment; `true` when handled here.
pub fn on_trouble(model: &mut Model, id: Option<&str>, key: &'static str) -> bool {
    let s = &mut model.cash_in;
    match (&s.step, id) {
        (Step::Sending(p), Some(id)) if p.id == id && key == "error.not_recorded" => {
            // Nothing was sent: back to the form, the cashier may try again.
            s.step = Step::Form;
            s.error = Some(Note::Key(key));
            true
        }
        _ => false,
    }
}

pub fn view(model: &Model, frame: &mut Frame<'_>, area: Rect) {
    match &model.cash_in.step {
        Step::Form | Step::Checking { .. } => form(model, frame, area),
        Step::Confirm(p) => {
            form(model, frame, area);
            confirm(model, frame, p);
        }
        Step::Duplicate { payment, existing } => {
            form(model, frame, area);
            duplicate_dialog(
                model,
                frame,
                (t(model.lang, "cashin.wallet"), payment.login.clone()),
                payment.amount,
                existing,
                "cashin.dup_question",
            );
        }
        Step::Sending(p) => progress_view(model, frame, area, p, "cashin.waiting"),
        Step::Done(op) => {
            let mut customer = op.customer.clone();
            if let Some(n) = &op.customer_name {
                customer.push_str("  ");
                customer.push_str(n);
            }
            let rows = vec![kv(model.lang, "cashin.customer", customer)];
            result_view(model, frame, area, op, "cashin.done_ok", rows);
        }
    }
}

fn form(model: &Model, frame: &mut Frame<'_>, area: Rect) {
    let lang = model.lang;
    let s = &model.cash_in;
    let [client_area, amount_area] =
        Layout::vertical([Constraint::Length(4), Constraint::Length(5)]).areas(area);
    let client = Block::default()
        .borders(Borders::ALL)
        .title(format!(" {} ", t(lang, "cashin.client")));
    let inner = client.inner(client_area);
    frame.render_widget(client, client_area);
    let label_w = 20u16;
    let active = matches!(s.step, Step::Form);
    widgets::field(
        frame,
        Rect { height: 1, ..inner },
        t(lang, "cashin.login"),
        &s.login,
        label_w,
        active && s.focus == Field::Login,
        "",
    );
    let status_line = match (&s.step, &s.checked) {
        (Step::Checking { login }, _) => Line::from(vec![
            Span::raw(" "),
            Span::styled(widgets::spinner(model.frame), style(model, Tone::Warn)),
            Span::raw(" "),
            Span::raw(tf(lang, "cashin.checking", &[("login", login)])),
        ]),
        (_, Some(c)) => checked_line(model, lang, &c.user),
        _ => Line::styled(
            format!(" {}", t(lang, "cashin.login_hint")),
            style(model, Tone::Dim),
        ),
    };
    let rest = Rect {
        y: inner.y + 1,
        height: inner.height.saturating_sub(1),
        ..inner
    };
    frame.render_widget(Paragraph::new(status_line).wrap(Wrap { trim: true }), rest);

    let amount = Block::default()
        .borders(Borders::ALL)
        .title(format!(" {} ", t(lang, "cashin.amount_title")));
    let inner = amount.inner(amount_area);
    frame.render_widget(amount, amount_area);
    widgets::field(
        frame,
        Rect { height: 1, ..inner },
        t(lang, "cashin.amount"),
        &s.amount,
        label_w,
        active && s.focus == Field::Amount,
        CURRENCY.symbol(),
    );
    let mut lines = vec![Line::raw("")];
    if let Some(err) = &s.error {
        lines.push(Line::styled(
            format!(" ✖ {}", err.render(lang)),
            style(model, Tone::Bad),
        ));
    } else if s.checked.is_none() {
        lines.push(Line::styled(
            format!(" {}", t(lang, "cashin.check_first")),
            style(model, Tone::Dim),
        ));
    } else {
        lines.push(Line::styled(
            format!(" {}", t(lang, "cashin.amount_hint")),
            style(model, Tone::Dim),
        ));
    }
    let rest = Rect {
        y: inner.y + 1,
        height: inner.height.saturating_sub(1),
        ..inner
    };
    frame.render_widget(Paragraph::new(lines).wrap(Wrap { trim: true }), rest);
}

fn checked_line(model: &Model, lang: Lang, user: &UserInfo) -> Line<'static> {
    let ident = if user.identified {
        t(lang, "cashin.identified")
    } else {
        t(lang, "cashin.not_identified")
    };
    let mut spans = vec![
        Span::styled(" ✔ ", style(model, Tone::Good)),
        Span::raw(user.full_name()),
        Span::raw(" · "),
        Span::styled(
            ident.to_string(),
            style(
                model,
                if user.identified {
                    Tone::Good
                } else {
                    Tone::Warn
                },
            ),
        ),
    ];
    if let Some(iin) = user.masked_iin() {
        spans.push(Span::raw(format!(" · {} {iin}", t(lang, "cashin.iin"))));
    }
    Line::from(spans)
}

fn confirm(model: &Model, frame: &mut Frame<'_>, p: &CashInPayment) {
    let lang = model.lang;
    let rows = vec![
        (t(lang, "cashin.wallet"), p.login.clone()),
        (
            t(lang, "cashin.customer"),
            p.customer_name.clone().unwrap_or_default(),
        ),
        (t(lang, "cashin.sum"), p.amount.display()),
    ];
    widgets::dialog(
        model,
        frame,
        t(lang, "cashin.confirm_title"),
        &rows,
        t(lang, "cashin.confirm_warning"),
        &[
            ("y", t(lang, "cashin.confirm_yes")),
            ("Esc", t(lang, "hint.back")),
        ],
        Tone::Normal,
    );
}
