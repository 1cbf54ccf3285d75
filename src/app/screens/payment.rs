//! What every money screen shares once the cashier has confirmed: the waiting view (never a
//! bare spinner: the id, the status, the request count, the next retry) and the result with
//! its receipt lines. The flows differ before the confirmation, not after it.

use std::time::{Duration, Instant};

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph, Wrap};

use crate::app::Model;
use crate::app::widgets::{self, Tone, style};
use crate::format::local_time;
use crate::i18n::{Lang, t, tf};
use crate::journal::{Kind, Operation, State};
use crate::money::Amount;
use crate::worker::Event;

/// What the waiting screen shows of an operation on its way.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Progress {
    pub id: String,
    pub amount: Amount,
    /// Whom the money is for, as the cashier reads it.
    pub target: String,
    pub recorded: bool,
    pub attempt: u32,
    pub status: Option<String>,
    pub trouble: Option<&'static str>,
    /// The operation's kind, once the worker named it: whom a trouble is about ("no
    /// connection to {provider}").
    pub kind: Option<Kind>,
    /// The provider's own words when it answered with an error.
    pub trouble_detail: Option<String>,
    pub next_at: Option<Instant>,
}

impl Progress {
    pub fn new(id: String, amount: Amount, target: String) -> Progress {
        Progress {
            id,
            amount,
            target,
            recorded: false,
            attempt: 0,
            status: None,
            trouble: None,
            kind: None,
            trouble_detail: None,
            next_at: None,
        }
    }

    /// Takes what a worker event says about this operation; `true` when it was about it.
    pub fn on_event(&mut self, ev: &Event, now: Instant) -> bool {
        match ev {
            Event::Recorded { op } if op.id == self.id => {
                self.recorded = true;
                true
            }
            Event::Progress {
                id,
                kind,
                attempt,
                status,
                next_retry,
                trouble,
                trouble_detail,
            } if *id == self.id => {
                self.recorded = true;
                self.attempt = *attempt;
                if status.is_some() {
                    self.status = status.clone();
                }
                self.trouble = *trouble;
                self.kind = Some(*kind);
                self.trouble_detail = trouble_detail.clone();
                self.next_at = next_retry.map(|d| now + d);
                true
            }
            _ => false,
        }
    }

    /// The provider's name for the texts ("" before the worker said which).
    pub fn provider(&self) -> &'static str {
        self.kind.map(crate::flows::provider_name).unwrap_or("")
    }
}

/// What a key means once the money is on its way (`done` false) or its outcome is shown:
/// the same on every money screen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum After {
    /// Esc: home (the operation goes on in the background; a shown result is cleared).
    Home,
    /// g: the journal.
    Journal,
    /// n: a new operation, from an empty form (one on its way goes on in the background).
    New,
    Nothing,
}

pub fn after_key(
    action: Option<crate::app::keys::Action>,
    code: crossterm::event::KeyCode,
) -> After {
    use crate::app::keys::Action;
    match (action, code) {
        (Some(Action::Back), _) => After::Home,
        // Also while one is on its way: it goes on, and the section is never stuck on it.
        (Some(Action::No), _) => After::New,
        (_, crossterm::event::KeyCode::Char('g')) => After::Journal,
        _ => After::Nothing,
    }
}

/// The countdown shown for a retry, rounded up to whole seconds.
pub fn seconds_left(at: Instant, now: Instant) -> u64 {
    let d: Duration = at.saturating_duration_since(now);
    d.as_secs() + u64::from(d.subsec_millis() > 0)
}

pub fn kv(lang: Lang, key: &str, value: String) -> Line<'static> {
    Line::from(vec![
        Span::raw(format!("  {:<14}", t(lang, key))),
        Span::raw(value),
    ])
}

/// The waiting view: `waiting_key` says whom kassa waits for.
pub fn progress_view(
    model: &Model,
    frame: &mut Frame<'_>,
    area: Rect,
    p: &Progress,
    waiting_key: &str,
) {
    let lang = model.lang;
    let block = Block::default().borders(Borders::ALL);
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let what = if p.recorded {
        t(lang, waiting_key)
    } else {
        t(lang, "cashin.recording")
    };
    let status = match (&p.status, p.trouble) {
        (_, Some(k)) => {
            let words = tf(lang, k, &[("provider", p.provider())]);
            match &p.trouble_detail {
                Some(d) => format!("{words}: {d}"),
                None => words,
            }
        }
        (Some(s), None) => format!("{} ({s})", t(lang, "state.pending")),
        (None, None) => t(lang, "cashin.sending").to_string(),
    };
    let mut attempt = if p.attempt > 0 {
        p.attempt.to_string()
    } else {
        "—".to_string()
    };
    if let Some(at) = p.next_at {
        let secs = seconds_left(at, model.now);
        attempt.push_str(&format!(
            " · {}",
            tf(lang, "cashin.next_in", &[("secs", &secs.to_string())])
        ));
    }
    let lines = vec![
        Line::from(vec![
            Span::raw("  "),
            Span::styled(widgets::spinner(model.frame), style(model, Tone::Warn)),
            Span::raw(" "),
            Span::raw(what.to_string()),
        ]),
        Line::raw(""),
        kv(lang, "cashin.operation", p.id.clone()),
        kv(lang, "cashin.status", status),
        kv(lang, "cashin.attempt", attempt),
        kv(
            lang,
            "cashin.sum",
            format!("{} → {}", p.amount.display(), p.target),
        ),
        Line::raw(""),
        Line::styled(
            format!("  {}", t(lang, "cashin.safe_note")),
            style(model, Tone::Warn),
        ),
    ];
    frame.render_widget(Paragraph::new(lines).wrap(Wrap { trim: false }), inner);
}

/// The result with its receipt: the frame's colour and title say how it ended (`ok_title`
/// when the money moved); `rows` are the flow's own lines, then the common ones follow.
pub fn result_view(
    model: &Model,
    frame: &mut Frame<'_>,
    area: Rect,
    op: &Operation,
    ok_title: &str,
    rows: Vec<Line<'static>>,
) {
    let lang = model.lang;
    let (tone, title) = match (op.state, op.needs_reconciliation) {
        (State::Completed, _) => (Tone::Good, t(lang, ok_title)),
        // A hold placed is what its screen asked for (it is captured later).
        (State::Held, false) => (Tone::Good, t(lang, ok_title)),
        (_, true) => (Tone::Warn, t(lang, "cashin.done_recon")),
        (s, _) if s.is_final() => (Tone::Bad, t(lang, "cashin.done_declined")),
        _ => (Tone::Warn, t(lang, "cashin.done_pending")),
    };
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(style(model, tone))
        .title(Span::styled(format!(" {title} "), style(model, tone)));
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let when = local_time(op.final_at.unwrap_or(op.updated_at));
    let state = format!(
        "{}{}",
        t(lang, crate::flows::state_key(op.kind, op.state)).to_uppercase(),
        widgets::provider_code(lang, op)
    );
    let mut lines = vec![
        Line::raw(format!(
            "  {} {}    {when}",
            t(lang, "receipt.till"),
            model.agent
        )),
        Line::raw(format!("  {}", t(lang, op.kind.message_key()))),
    ];
    lines.extend(rows);
    // A card registration moves no money: no sum to show.
    if !op.amount.is_none() {
        lines.push(kv(lang, "cashin.sum", op.amount.display()));
    }
    lines.push(kv(lang, "cashin.operation", op.id.clone()));
    lines.push(kv(lang, "cashin.status", state));
    if let Some(r) = &op.shown_ref() {
        lines.push(kv(lang, "cashin.tx_id", r.clone()));
    }
    if let Some(m) = &op.provider_message {
        lines.push(kv(
            lang,
            "cashin.message",
            crate::format::provider_words(op.kind, m),
        ));
    }
    lines.push(Line::raw(""));
    let advice = match (op.state, op.needs_reconciliation) {
        (State::Completed | State::Held, _) => None,
        (_, true) => Some(tf(
            lang,
            "cashin.recon_advice",
            &[(
                "reason",
                crate::i18n::t_or_raw(lang, op.recon_reason.as_deref().unwrap_or("")),
            )],
        )),
        (s, _) if s.is_final() => Some(
            t(
                lang,
                match op.kind {
                    Kind::WebmoneyInvoice => "wm.rejected_advice",
                    Kind::WooppayInvoice => "wooppay.final_advice",
                    Kind::AllpayCashIn | Kind::AllpayPay => "cashin.declined_advice",
                    Kind::UpayCard | Kind::UpayHold => "upay.declined_advice",
                },
            )
            .to_string(),
        ),
        _ => Some(t(lang, "cashin.pending_advice").to_string()),
    };
    if let Some(a) = advice {
        lines.push(Line::styled(format!("  {a}"), style(model, tone)));
    }
    frame.render_widget(Paragraph::new(lines).wrap(Wrap { trim: false }), inner);
}

/// "A like operation exists": the new one's `target` and amount beside the existing one,
/// and `question_key` asking whether this is another one. Nothing is sent meanwhile.
pub fn duplicate_dialog(
    model: &Model,
    frame: &mut Frame<'_>,
    target: (&str, String),
    amount: Amount,
    existing: &Operation,
    question_key: &str,
) {
    let lang = model.lang;
    let rows = vec![
        target,
        (t(lang, "cashin.sum"), amount.display()),
        (t(lang, "cashin.earlier"), local_time(existing.created_at)),
        (
            t(lang, "cashin.status"),
            t(lang, crate::flows::state_key(existing.kind, existing.state)).to_string(),
        ),
        (t(lang, "cashin.operation"), existing.id.clone()),
    ];
    widgets::dialog(
        model,
        frame,
        t(lang, "cashin.dup_title"),
        &rows,
        t(lang, question_key),
        &[
            ("y", t(lang, "hint.send_again")),
            ("n", t(lang, "hint.dont_send")),
        ],
        Tone::Warn,
    );
}
