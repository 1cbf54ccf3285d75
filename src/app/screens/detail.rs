//! One operation in full: what was sent, what came back, and its audit trail. Holds no
//! secret to begin with: the journal never stores one.

use crossterm::event::{Event as TermEvent, KeyCode, KeyEvent};
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph, Wrap};
use tui_input::Input;
use tui_input::backend::crossterm::EventHandler;

use crate::app::keys::{Action, Hint};
use crate::app::widgets::{Tone, state_tone, style};
use crate::app::{Model, ScreenId};
use crate::format::local_time;
use crate::i18n::t;
use crate::journal::{AuditEvent, Kind, Operation, State};
use crate::worker::Command;

#[derive(Debug, Clone, Default)]
pub struct DetailState {
    pub op: Option<Operation>,
    pub events: Vec<AuditEvent>,
    pub scroll: u16,
    /// Recording what a person found out about a row that waits for reconciliation: what
    /// they found (once chosen) and the field being typed (the provider's id, then the note).
    pub resolving: Option<(Option<Found>, Input)>,
}

/// What a person found at the provider.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Found {
    /// What happened to it: completed, declined, cancelled.
    Outcome(State),
    /// The operation itself, by the provider's id (being typed).
    ProviderId,
    /// The provider's id is typed; the note follows.
    WithId(String),
}

impl DetailState {
    pub fn open(&mut self, op: Operation) {
        self.op = Some(op);
        self.events.clear();
        self.scroll = 0;
        self.resolving = None;
    }

    /// The note field has the keyboard.
    pub fn typing(&self) -> bool {
        matches!(self.resolving, Some((Some(_), _)))
    }

    pub fn set(&mut self, op: Operation, events: Vec<AuditEvent>) {
        if self.op.as_ref().is_some_and(|o| o.id == op.id) {
            self.op = Some(op);
            self.events = events;
        }
    }
}

pub fn hints(model: &Model) -> Vec<Hint> {
    match &model.detail.resolving {
        Some((None, _)) => vec![
            ("c", "hint.found_completed"),
            ("d", "hint.found_declined"),
            ("x", "hint.found_cancelled"),
            ("i", "hint.found_id"),
            ("Esc", "hint.back"),
        ],
        Some((Some(_), _)) => vec![("Enter", "hint.record"), ("Esc", "hint.back")],
        None if model
            .detail
            .op
            .as_ref()
            .is_some_and(|o| o.needs_reconciliation) =>
        {
            vec![
                ("m", "hint.resolve"),
                ("↑↓", "hint.scroll"),
                ("r", "hint.reload"),
                ("Esc", "hint.back"),
            ]
        }
        None if model.detail.op.as_ref().is_some_and(has_qr) => vec![
            ("o", "hint.show_qr"),
            ("↑↓", "hint.scroll"),
            ("r", "hint.reload"),
            ("Esc", "hint.back"),
        ],
        None => vec![
            ("↑↓", "hint.scroll"),
            ("r", "hint.reload"),
            ("Esc", "hint.back"),
        ],
    }
}

/// Whether the row's link is still for its customer to open: a Wooppay invoice waiting for
/// its payment, a UPay card waiting for its 3-D Secure confirmation.
fn has_qr(op: &Operation) -> bool {
    match op.kind {
        Kind::WooppayInvoice => {
            op.state == State::Issued && crate::flows::wooppay::operation_url(op).is_some()
        }
        Kind::UpayCard => op.state == State::Issued && op.link.is_some(),
        _ => false,
    }
}

/// `o`: the row's QR code on its own screen again (after a restart, or for a customer who
/// came back), followed there as when it was issued. Something that screen was showing on
/// its way goes on in the background.
fn show_qr(model: &mut Model, op: Operation) -> Vec<Command> {
    use super::payment::Progress;
    use super::{upay, wooppay};
    match op.kind {
        Kind::WooppayInvoice => {
            if let wooppay::Step::Sending(p) | wooppay::Step::Issued { progress: p, .. } =
                &model.wooppay.step
                && p.id != op.id
            {
                model.background.push(p.id.clone());
            }
            let mut progress = Progress::new(op.id.clone(), op.amount, op.customer.clone());
            progress.recorded = true;
            progress.attempt = op.attempts;
            progress.status = op.provider_status.clone();
            model.wooppay.step = wooppay::Step::Issued {
                op: Box::new(op),
                progress,
            };
            model.go(ScreenId::Wooppay)
        }
        Kind::UpayCard => {
            if let upay::Step::Registering(p) = &model.upay.step
                && !p.id.is_empty()
            {
                model.background.push(p.id.clone());
            }
            model.upay.asking_card = None;
            model.upay.step = upay::Step::Card(Box::new(op));
            model.go(ScreenId::Upay)
        }
        _ => Vec::new(),
    }
}

/// Choosing the outcome found and typing the note: nothing is written until Enter.
fn on_resolve_key(model: &mut Model, key: KeyEvent, action: Option<Action>) -> Vec<Command> {
    let d = &mut model.detail;
    let Some((to, note)) = &mut d.resolving else {
        return Vec::new();
    };
    if action == Some(Action::Back) {
        d.resolving = None;
        return Vec::new();
    }
    match to {
        None => {
            *to = match key.code {
                KeyCode::Char('c') => Some(Found::Outcome(State::Completed)),
                KeyCode::Char('d') => Some(Found::Outcome(State::Declined)),
                KeyCode::Char('x') => Some(Found::Outcome(State::Cancelled)),
                KeyCode::Char('i') => Some(Found::ProviderId),
                _ => None,
            };
            Vec::new()
        }
        Some(Found::ProviderId) if action == Some(Action::Submit) => {
            let typed = note.value().trim().to_string();
            if typed.is_empty() {
                model.notice = Some(crate::app::Note::Key("resolve.bad_ref"));
                return Vec::new();
            }
            *to = Some(Found::WithId(typed));
            *note = Input::default();
            Vec::new()
        }
        Some(Found::WithId(provider_ref)) if action == Some(Action::Submit) => {
            let text = note.value().trim().to_string();
            if text.is_empty() {
                model.notice = Some(crate::app::Note::Key("resolve.note_needed"));
                return Vec::new();
            }
            let provider_ref = provider_ref.clone();
            let id = d.op.as_ref().map(|o| o.id.clone()).unwrap_or_default();
            d.resolving = None;
            vec![Command::ResumeWithRef {
                id,
                provider_ref,
                note: text,
            }]
        }
        Some(Found::Outcome(state)) if action == Some(Action::Submit) => {
            let text = note.value().trim().to_string();
            if text.is_empty() {
                model.notice = Some(crate::app::Note::Key("resolve.note_needed"));
                return Vec::new();
            }
            let state = *state;
            let id = d.op.as_ref().map(|o| o.id.clone()).unwrap_or_default();
            d.resolving = None;
            vec![Command::ResolveManually {
                id,
                to: state,
                note: text,
            }]
        }
        Some(_) => {
            note.handle_event(&TermEvent::Key(key));
            Vec::new()
        }
    }
}

pub fn on_key(model: &mut Model, key: KeyEvent, action: Option<Action>) -> Vec<Command> {
    if model.detail.resolving.is_some() {
        return on_resolve_key(model, key, action);
    }
    let d = &mut model.detail;
    if key.code == KeyCode::Char('m') && d.op.as_ref().is_some_and(|o| o.needs_reconciliation) {
        d.resolving = Some((None, Input::default()));
        return Vec::new();
    }
    if key.code == KeyCode::Char('o')
        && let Some(op) = d.op.clone().filter(has_qr)
    {
        return show_qr(model, op);
    }
    match action {
        Some(Action::Up) => {
            d.scroll = d.scroll.saturating_sub(1);
            Vec::new()
        }
        Some(Action::Down) => {
            d.scroll = d.scroll.saturating_add(1);
            Vec::new()
        }
        Some(Action::Reload) => {
            d.op.as_ref()
                .map(|o| vec![Command::LoadOperation { id: o.id.clone() }])
                .unwrap_or_default()
        }
        Some(Action::Back) => model.go(ScreenId::Journal),
        _ => Vec::new(),
    }
}

fn kv(label: &str, value: String) -> Line<'static> {
    Line::from(vec![Span::raw(format!(" {label:<14} ")), Span::raw(value)])
}

pub fn view(model: &Model, frame: &mut Frame<'_>, area: Rect) {
    let lang = model.lang;
    let Some(op) = &model.detail.op else {
        return;
    };
    let tone = state_tone(op);
    let area = match &model.detail.resolving {
        Some((to, note)) => {
            let [rest, ask] =
                Layout::vertical([Constraint::Min(0), Constraint::Length(3)]).areas(area);
            let block = Block::default()
                .borders(Borders::ALL)
                .border_style(style(model, Tone::Warn))
                .title(format!(" {} ", t(lang, "resolve.title")));
            let inner = block.inner(ask);
            frame.render_widget(block, ask);
            match to {
                None => frame.render_widget(Paragraph::new(t(lang, "resolve.choose")), inner),
                Some(found) => {
                    let label = match found {
                        Found::Outcome(state) => format!(
                            "{} · {}",
                            t(lang, state.message_key()),
                            t(lang, "resolve.note")
                        ),
                        Found::ProviderId => t(lang, "resolve.provider_id").to_string(),
                        Found::WithId(r) => format!("{r} · {}", t(lang, "resolve.note")),
                    };
                    let width = u16::try_from(label.chars().count() + 2).unwrap_or(30);
                    crate::app::widgets::field(frame, inner, &label, note, width, true, "");
                }
            }
            rest
        }
        None => area,
    };
    let block = Block::default()
        .borders(Borders::ALL)
        .title(format!(" {} ", t(lang, op.kind.message_key())));
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let mut lines = vec![
        kv(t(lang, "cashin.operation"), op.id.clone()),
        Line::from(vec![
            Span::raw(format!(" {:<14} ", t(lang, "cashin.status"))),
            Span::styled(
                crate::app::screens::journal::state_label(model, op),
                style(model, tone),
            ),
            Span::raw(crate::app::widgets::provider_code(lang, op)),
        ]),
        kv(
            t(lang, "cashin.sum"),
            if op.amount.is_none() {
                "—".to_string()
            } else {
                op.amount.display()
            },
        ),
        kv(
            t(lang, "cashin.customer"),
            format!(
                "{} {}",
                op.customer,
                op.customer_name.as_deref().unwrap_or("")
            ),
        ),
        kv(
            t(lang, "detail.created"),
            // On a chain's journal, at which till.
            match op
                .till
                .as_deref()
                .filter(|_| model.journal.own_till.is_some())
            {
                Some(till) => format!(
                    "{} · {}",
                    local_time(op.created_at),
                    crate::i18n::tf(lang, "journal.this_till", &[("till", till)])
                ),
                None => local_time(op.created_at),
            },
        ),
        kv(
            t(lang, "detail.endpoint"),
            format!("{} · {}", op.endpoint, op.identity),
        ),
    ];
    if let Some(r) = &op.shown_ref() {
        lines.push(kv(t(lang, "cashin.tx_id"), r.clone()));
    }
    if let Some(m) = &op.provider_message {
        lines.push(kv(
            t(lang, "cashin.message"),
            crate::format::provider_words(op.kind, m),
        ));
    }
    for (label, value) in crate::format::explanations(lang, op) {
        lines.push(kv(t(lang, label), value));
    }
    if let Some(r) = op.recon_reason.as_ref().filter(|_| op.needs_reconciliation) {
        lines.push(Line::styled(
            format!(
                " {}: {}",
                t(lang, "state.needs_recon"),
                crate::i18n::t_or_raw(lang, r)
            ),
            style(model, Tone::Warn),
        ));
    }
    lines.push(Line::raw(""));
    lines.push(Line::styled(
        format!(" {}", t(lang, "detail.trail")),
        style(model, Tone::Dim),
    ));
    for e in &model.detail.events {
        lines.push(Line::raw(format!(
            " {}  {:<10} {}",
            crate::app::widgets::hhmmss(e.at),
            t(lang, &format!("event.{}", e.kind)),
            crate::format::trail(lang, op.kind, &e.kind, &e.detail)
        )));
    }
    frame.render_widget(
        Paragraph::new(lines)
            .wrap(Wrap { trim: false })
            .scroll((model.detail.scroll, 0)),
        inner,
    );
}
