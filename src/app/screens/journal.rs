//! The journal: every operation, newest first, the state in a word and a colour, pending
//! rows marked; Enter opens the detail.

use ratatui::Frame;
use ratatui::layout::{Constraint, Rect};
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Cell, Paragraph, Row, Table, TableState};

use crate::app::keys::{Action, Hint};
use crate::app::widgets::{Tone, state_tone, style};
use crate::app::{Model, ScreenId};
use crate::i18n::t;
use crate::journal::{Operation, State};
use crate::worker::Command;

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct JournalState {
    pub rows: Vec<Operation>,
    pub selected: usize,
    pub pending_only: bool,
    pub loaded: bool,
}

impl JournalState {
    pub fn set_rows(&mut self, rows: Vec<Operation>) {
        // Keep the cursor on the same operation when rows arrive or move.
        let keep = self.rows.get(self.selected).map(|o| o.id.clone());
        self.rows = rows;
        self.loaded = true;
        self.selected = keep
            .and_then(|id| self.rows.iter().position(|o| o.id == id))
            .unwrap_or(0)
            .min(self.rows.len().saturating_sub(1));
    }
}

pub fn hints() -> Vec<Hint> {
    vec![
        ("↑↓", "hint.select"),
        ("Enter", "hint.details"),
        ("f", "hint.pending_filter"),
        ("r", "hint.reload"),
        ("Esc", "hint.back"),
    ]
}

pub fn on_key(model: &mut Model, action: Option<Action>) -> Vec<Command> {
    let j = &mut model.journal;
    match action {
        Some(Action::Up) => {
            j.selected = j.selected.saturating_sub(1);
            Vec::new()
        }
        Some(Action::Down) => {
            if j.selected + 1 < j.rows.len() {
                j.selected += 1;
            }
            Vec::new()
        }
        Some(Action::Submit) => match j.rows.get(j.selected) {
            Some(op) => {
                let id = op.id.clone();
                model.detail.open(op.clone());
                model.screen = ScreenId::Detail;
                vec![Command::LoadOperation { id }]
            }
            None => Vec::new(),
        },
        Some(Action::Reload) => vec![Command::LoadJournal {
            pending_only: j.pending_only,
        }],
        Some(Action::Filter) => {
            j.pending_only = !j.pending_only;
            j.selected = 0;
            j.loaded = false;
            vec![Command::LoadJournal {
                pending_only: j.pending_only,
            }]
        }
        Some(Action::Back) => model.go(ScreenId::Home),
        _ => Vec::new(),
    }
}

/// The state as a word, with a sign, so colour is never the only signal.
pub fn state_label(model: &Model, op: &Operation) -> String {
    let word = t(model.lang, op.state.message_key()).to_uppercase();
    if op.needs_reconciliation {
        format!("{} !", t(model.lang, "state.needs_recon").to_uppercase())
    } else if op.state == State::Pending {
        format!("{word} ⟳{}", op.attempts)
    } else {
        word
    }
}

pub fn view(model: &Model, frame: &mut Frame<'_>, area: Rect) {
    let lang = model.lang;
    let filter = if model.journal.pending_only {
        t(lang, "journal.filter_pending")
    } else {
        t(lang, "journal.filter_all")
    };
    let block = Block::default()
        .borders(Borders::ALL)
        .title(format!(" {} ", filter));
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let j = &model.journal;
    if j.rows.is_empty() {
        let text = if j.loaded {
            t(lang, "journal.empty")
        } else {
            t(lang, "journal.loading")
        };
        frame.render_widget(
            Paragraph::new(Line::styled(format!(" {text}"), style(model, Tone::Dim))),
            inner,
        );
        return;
    }
    let rows: Vec<Row<'_>> = j
        .rows
        .iter()
        .map(|op| {
            let tone = state_tone(op);
            Row::new(vec![
                Cell::from(crate::app::widgets::hhmm(op.created_at)),
                Cell::from(t(lang, op.kind.short_key()).to_string()),
                Cell::from(op.customer.clone()),
                Cell::from(Line::from(op.amount.display()).right_aligned()),
                Cell::from(Span::styled(state_label(model, op), style(model, tone))),
            ])
        })
        .collect();
    let table = Table::new(
        rows,
        [
            Constraint::Length(5),
            Constraint::Length(20),
            Constraint::Length(15),
            Constraint::Length(15),
            Constraint::Min(12),
        ],
    )
    .column_spacing(1)
    .highlight_symbol("▶")
    .row_highlight_style(Style::default().add_modifier(Modifier::REVERSED));
    let mut state = TableState::default().with_selected(Some(j.selected));
    frame.render_stateful_widget(table, inner, &mut state);
}
