//! The journal: every operation, newest first, the state in a word and a colour, pending
//! rows marked; Enter opens the detail.

use crossterm::event::{Event as TermEvent, KeyCode, KeyEvent};
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Cell, Paragraph, Row, Table, TableState};
use tui_input::Input;
use tui_input::backend::crossterm::EventHandler;

use crate::app::keys::{Action, Hint};
use crate::app::widgets::{Tone, state_tone, style};
use crate::app::{Model, ScreenId};
use crate::i18n::t;
use crate::journal::{Operation, Query, State, StatusFilter};
use crate::worker::Command;

/// The providers the filter steps through (none = all).
const PROVIDERS: [Option<&str>; 5] = [
    None,
    Some("allpay"),
    Some("wooppay"),
    Some("upay"),
    Some("webmoney"),
];

/// Rows PgUp and PgDn move by: about a screen's worth at 80x24.
const PAGE: usize = 15;

/// Which days the list covers.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Days {
    #[default]
    Today,
    Week,
    All,
}

#[derive(Debug, Clone, Default)]
pub struct JournalState {
    pub rows: Vec<Operation>,
    pub selected: usize,
    pub status: StatusFilter,
    pub provider: usize,
    pub days: Days,
    pub search: Input,
    /// The search field has the keyboard.
    pub searching: bool,
    pub loaded: bool,
    /// This till's name, on a chain's journal (`t` shows its rows alone).
    pub own_till: Option<String>,
    /// Only this till's rows.
    pub mine: bool,
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

    /// The query for what the screen shows now, `now` being the till's local date.
    pub fn query(&self, now: chrono::NaiveDate) -> Query {
        let from = match self.days {
            Days::Today => Some(crate::report::day_bounds(now).0),
            Days::Week => now
                .checked_sub_days(chrono::Days::new(6))
                .map(|d| crate::report::day_bounds(d).0),
            Days::All => None,
        };
        Query {
            status: self.status,
            provider: PROVIDERS[self.provider % PROVIDERS.len()].map(str::to_string),
            from,
            to: None,
            search: Some(self.search.value().trim().to_string()).filter(|s| !s.is_empty()),
            limit: 500,
            till: self.own_till.clone().filter(|_| self.mine),
        }
    }

    pub fn command(&self, today: chrono::NaiveDate) -> Command {
        Command::QueryJournal {
            query: self.query(today),
        }
    }

    fn reload(&mut self, today: chrono::NaiveDate) -> Vec<Command> {
        self.selected = 0;
        self.loaded = false;
        vec![self.command(today)]
    }

    fn filter_words(&self, lang: crate::i18n::Lang) -> String {
        let status = match self.status {
            StatusFilter::All => "journal.filter_all",
            StatusFilter::Pending => "journal.filter_pending",
            StatusFilter::NeedsReconciliation => "journal.filter_recon",
            StatusFilter::Final => "journal.filter_final",
        };
        let provider = match PROVIDERS[self.provider % PROVIDERS.len()] {
            None => t(lang, "journal.all_providers").to_string(),
            Some(p) => t(lang, &format!("provider.{p}")).to_string(),
        };
        let days = match self.days {
            Days::Today => "journal.today",
            Days::Week => "journal.week",
            Days::All => "journal.all_days",
        };
        let mut words = format!("{} · {provider} · {}", t(lang, status), t(lang, days));
        if let Some(till) = &self.own_till {
            let tills = if self.mine {
                crate::i18n::tf(lang, "journal.this_till", &[("till", till)])
            } else {
                t(lang, "journal.all_tills").to_string()
            };
            words.push_str(&format!(" · {tills}"));
        }
        if !self.search.value().trim().is_empty() {
            words.push_str(&format!(" · “{}”", self.search.value().trim()));
        }
        words
    }
}

pub fn hints(model: &Model) -> Vec<Hint> {
    if model.journal.searching {
        return vec![("Enter", "hint.search"), ("Esc", "hint.clear")];
    }
    let mut hints = vec![
        ("Enter", "hint.details"),
        ("PgUp/PgDn", "hint.page"),
        ("f", "hint.status_filter"),
        ("p", "hint.provider_filter"),
        ("d", "hint.days_filter"),
        ("/", "hint.search"),
        ("e", "hint.export"),
        ("Esc", "hint.back"),
    ];
    if model.journal.own_till.is_some() {
        hints.insert(5, ("t", "hint.till_filter"));
    }
    hints
}

pub fn on_key(model: &mut Model, key: KeyEvent, action: Option<Action>) -> Vec<Command> {
    let today = model.local_now.date();
    let j = &mut model.journal;
    if j.searching {
        return match action {
            Some(Action::Submit) => {
                j.searching = false;
                j.reload(today)
            }
            Some(Action::Back) => {
                j.searching = false;
                j.search = Input::default();
                j.reload(today)
            }
            _ => {
                j.search.handle_event(&TermEvent::Key(key));
                Vec::new()
            }
        };
    }
    let last = j.rows.len().saturating_sub(1);
    match (action, key.code) {
        // Long lists: a page at a time, or to either end (g and G as in a pager).
        (_, KeyCode::PageUp) => {
            j.selected = j.selected.saturating_sub(PAGE);
            Vec::new()
        }
        (_, KeyCode::PageDown) => {
            j.selected = (j.selected + PAGE).min(last);
            Vec::new()
        }
        (_, KeyCode::Home | KeyCode::Char('g')) => {
            j.selected = 0;
            Vec::new()
        }
        (_, KeyCode::End | KeyCode::Char('G')) => {
            j.selected = last;
            Vec::new()
        }
        (Some(Action::Up), _) => {
            j.selected = j.selected.saturating_sub(1);
            Vec::new()
        }
        (Some(Action::Down), _) => {
            if j.selected + 1 < j.rows.len() {
                j.selected += 1;
            }
            Vec::new()
        }
        (Some(Action::Submit), _) => match j.rows.get(j.selected) {
            Some(op) => {
                let id = op.id.clone();
                model.detail.open(op.clone());
                model.screen = ScreenId::Detail;
                vec![Command::LoadOperation { id }]
            }
            None => Vec::new(),
        },
        (Some(Action::Reload), _) => vec![j.command(today)],
        (Some(Action::Filter), _) => {
            j.status = match j.status {
                StatusFilter::All => StatusFilter::Pending,
                StatusFilter::Pending => StatusFilter::NeedsReconciliation,
                StatusFilter::NeedsReconciliation => StatusFilter::Final,
                StatusFilter::Final => StatusFilter::All,
            };
            j.reload(today)
        }
        (_, KeyCode::Char('p')) => {
            j.provider = (j.provider + 1) % PROVIDERS.len();
            j.reload(today)
        }
        (_, KeyCode::Char('t')) if j.own_till.is_some() => {
            j.mine = !j.mine;
            j.reload(today)
        }
        (_, KeyCode::Char('d')) => {
            j.days = match j.days {
                Days::Today => Days::Week,
                Days::Week => Days::All,
                Days::All => Days::Today,
            };
            j.reload(today)
        }
        (_, KeyCode::Char('e')) => vec![Command::Export {
            from: j.query(today).from,
        }],
        (_, KeyCode::Char('/')) => {
            j.searching = true;
            Vec::new()
        }
        (Some(Action::Back), _) => model.go(ScreenId::Home),
        _ => Vec::new(),
    }
}

/// The state as a word, with a sign, so colour is never the only signal.
pub fn state_label(model: &Model, op: &Operation) -> String {
    let word = t(model.lang, crate::flows::state_key(op.kind, op.state)).to_uppercase();
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
    let filter = model.journal.filter_words(lang);
    let area = if model.journal.searching {
        let [search, rest] =
            Layout::vertical([Constraint::Length(1), Constraint::Min(0)]).areas(area);
        crate::app::widgets::field(
            frame,
            search,
            t(lang, "journal.search"),
            &model.journal.search,
            10,
            true,
            "",
        );
        rest
    } else {
        area
    };
    let j = &model.journal;
    let mut block = Block::default()
        .borders(Borders::ALL)
        .title(format!(" {filter} "));
    if !j.rows.is_empty() {
        // Where the cursor is in a list longer than the screen.
        block = block.title_bottom(
            Line::from(format!(" {}/{} ", j.selected + 1, j.rows.len())).right_aligned(),
        );
    }
    let inner = block.inner(area);
    frame.render_widget(block, area);
    if j.rows.is_empty() {
        let text = if j.loaded {
            t(lang, "journal.empty").to_string()
        } else {
            t(lang, "journal.loading").to_string()
        };
        frame.render_widget(
            Paragraph::new(Line::styled(format!(" {text}"), style(model, Tone::Dim))),
            inner,
        );
        return;
    }
    // The columns a cashier acts on (whom, how much, what state) are never cut: they take
    // the width their longest cell needs, and the kind's name gives way first.
    let cells: Vec<(String, String, String, String)> = j
        .rows
        .iter()
        .map(|op| {
            let customer = match (op.customer.is_empty(), &op.provider_ref) {
                // An invoice for nobody in particular is known by its number.
                (true, Some(r)) => format!("№ {r}"),
                _ => op.customer.clone(),
            };
            (
                t(lang, op.kind.short_key()).to_string(),
                customer,
                // A card registration moves no money.
                if op.amount.is_none() {
                    "—".to_string()
                } else {
                    op.amount.display()
                },
                state_label(model, op),
            )
        })
        .collect();
    let widest = |f: fn(&(String, String, String, String)) -> &String| {
        let w = cells
            .iter()
            .map(|c| f(c).chars().count())
            .max()
            .unwrap_or(0);
        u16::try_from(w).unwrap_or(u16::MAX)
    };
    // At least the widths the screen always had; more when a cell needs it.
    let (kind_w, customer_w, amount_w, state_w) = (
        widest(|c| &c.0).max(20),
        widest(|c| &c.1).clamp(15, 24),
        widest(|c| &c.2).max(15),
        widest(|c| &c.3).max(12),
    );
    // The selection mark and the four gaps between five columns.
    let room = inner.width.saturating_sub(1 + 4);
    let kind_w = kind_w.min(room.saturating_sub(5 + customer_w + amount_w + state_w));
    let rows: Vec<Row<'_>> = j
        .rows
        .iter()
        .zip(cells)
        .map(|(op, (kind, customer, amount, state))| {
            let tone = state_tone(op);
            Row::new(vec![
                Cell::from(crate::app::widgets::hhmm(op.created_at)),
                Cell::from(kind),
                Cell::from(customer),
                Cell::from(Line::from(amount).right_aligned()),
                Cell::from(Span::styled(state, style(model, tone))),
            ])
        })
        .collect();
    let table = Table::new(
        rows,
        [
            Constraint::Length(5),
            Constraint::Length(kind_w),
            Constraint::Length(customer_w),
            Constraint::Length(amount_w),
            Constraint::Min(state_w),
        ],
    )
    .column_spacing(1)
    .highlight_symbol("▶")
    .row_highlight_style(Style::default().add_modifier(Modifier::REVERSED));
    let mut state = TableState::default().with_selected(Some(j.selected));
    frame.render_stateful_widget(table, inner, &mut state);
}
