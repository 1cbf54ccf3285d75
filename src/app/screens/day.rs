//! The cashier's day: the shift (opened with the cash in the drawer, closed by counting it:
//! expected, counted and the difference) and the day's report with its takings by hour.

use crossterm::event::{Event as TermEvent, KeyCode, KeyEvent};
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::Line;
use ratatui::widgets::{Bar, BarChart, BarGroup, Block, Borders, Paragraph, Wrap};
use tui_input::Input;
use tui_input::backend::crossterm::EventHandler;

use crate::app::keys::{Action, Hint};
use crate::app::widgets::{self, Tone, style};
use crate::app::{Model, Note, ScreenId};
use crate::format::amount as display;
use crate::i18n::{t, tf, tn};
use crate::journal::{DRAWER, Shift};
use crate::money::Amount;
use crate::report::Report;
use crate::worker::{Command, Event};

#[derive(Debug, Clone, Default)]
pub enum Step {
    #[default]
    Shift,
    /// Typing the cash in the drawer at the opening.
    Opening(Input),
    /// Typing the cash counted at the close.
    Closing(Input),
    /// Operations are still pending: the cashier says whether to close anyway.
    ClosePending(i64),
    Closed(Shift),
    Report(Box<Report>),
}

#[derive(Debug, Clone, Default)]
pub struct DayState {
    pub step: Step,
    /// The open shift and the cash taken since it opened (from the worker).
    pub shift: Option<Shift>,
    pub taken: i64,
    pub error: Option<Note>,
    /// The report's first line on screen: a long day scrolls.
    pub scroll: u16,
}

impl DayState {
    pub fn typing(&self) -> bool {
        matches!(self.step, Step::Opening(_) | Step::Closing(_))
    }

    pub fn hints(&self) -> Vec<Hint> {
        match &self.step {
            Step::Shift if self.shift.is_some() => vec![
                ("c", "hint.close_shift"),
                ("r", "hint.report"),
                ("Esc", "hint.home"),
            ],
            Step::Shift => vec![
                ("o", "hint.open_shift"),
                ("r", "hint.report"),
                ("Esc", "hint.home"),
            ],
            Step::Opening(_) | Step::Closing(_) => {
                vec![("Enter", "hint.confirm"), ("Esc", "hint.back")]
            }
            Step::ClosePending(_) => vec![("y", "hint.close_anyway"), ("n", "hint.dont_close")],
            Step::Report(_) => vec![
                ("↑↓", "hint.scroll"),
                ("PgUp/PgDn", "hint.page"),
                ("Esc", "hint.back"),
            ],
            Step::Closed(_) => vec![("Esc", "hint.back")],
        }
    }
}

fn amount_of(input: &Input) -> Result<i64, &'static str> {
    let text = input.value().trim();
    if text == "0" {
        return Ok(0);
    }
    Amount::parse(text, DRAWER)
        .map(|a| a.minor())
        .map_err(|e| e.message_key())
}

pub fn on_key(model: &mut Model, key: KeyEvent, action: Option<Action>) -> Vec<Command> {
    let pending = model.counts.pending;
    let d = &mut model.day;
    match &mut d.step {
        Step::Shift => match (action, key.code) {
            (Some(Action::Back), _) => return model.go(ScreenId::Home),
            (_, KeyCode::Char('o')) if d.shift.is_none() => {
                d.step = Step::Opening(Input::default());
            }
            (_, KeyCode::Char('c')) if d.shift.is_some() => {
                d.step = Step::Closing(Input::default());
            }
            (Some(Action::Reload), _) | (_, KeyCode::Char('r')) => {
                return vec![Command::LoadReport {
                    date: model.local_now.date(),
                }];
            }
            _ => {}
        },
        Step::Opening(input) | Step::Closing(input) => match action {
            Some(Action::Back) => {
                d.step = Step::Shift;
                d.error = None;
            }
            Some(Action::Submit) => match amount_of(input) {
                Ok(minor) => {
                    d.error = None;
                    if matches!(d.step, Step::Opening(_)) {
                        d.step = Step::Shift;
                        return vec![Command::OpenShift { opening: minor }];
                    }
                    if pending > 0 {
                        // Never closed silently while money is in flight.
                        d.step = Step::ClosePending(minor);
                        return Vec::new();
                    }
                    d.step = Step::Shift;
                    return vec![Command::CloseShift {
                        counted: minor,
                        note: None,
                    }];
                }
                Err(k) => d.error = Some(Note::Key(k)),
            },
            _ => {
                if input.handle_event(&TermEvent::Key(key)).is_some() {
                    d.error = None;
                }
            }
        },
        Step::ClosePending(minor) => {
            let minor = *minor;
            match action {
                Some(Action::Yes) => {
                    d.step = Step::Shift;
                    return vec![Command::CloseShift {
                        counted: minor,
                        note: Some(format!("closed with {pending} operation(s) pending")),
                    }];
                }
                Some(Action::No | Action::Back) => d.step = Step::Shift,
                _ => {}
            }
        }
        Step::Report(r) => {
            // Never past the last line: the report's lines as the screen prints them.
            let last = u16::try_from(crate::report::text(model.lang, r).len())
                .unwrap_or(u16::MAX)
                .saturating_sub(1);
            match (action, key.code) {
                (Some(Action::Back), _) => {
                    d.step = Step::Shift;
                    d.scroll = 0;
                    return vec![Command::LoadShift];
                }
                (Some(Action::Up), _) => d.scroll = d.scroll.saturating_sub(1),
                (Some(Action::Down), _) => d.scroll = (d.scroll + 1).min(last),
                (_, KeyCode::PageUp) => d.scroll = d.scroll.saturating_sub(10),
                (_, KeyCode::PageDown) => d.scroll = (d.scroll + 10).min(last),
                (_, KeyCode::Home) => d.scroll = 0,
                (_, KeyCode::End) => d.scroll = last,
                _ => {}
            }
        }
        Step::Closed(_) => {
            if action == Some(Action::Back) {
                d.step = Step::Shift;
                return vec![Command::LoadShift];
            }
        }
    }
    Vec::new()
}

pub fn on_event(model: &mut Model, ev: &Event) {
    let d = &mut model.day;
    match ev {
        Event::Shift { shift, taken } => {
            d.shift = shift.clone();
            d.taken = *taken;
        }
        Event::ShiftClosed { shift } => {
            d.shift = None;
            d.taken = 0;
            d.step = Step::Closed(shift.clone());
        }
        Event::Report { report } if model.screen == ScreenId::Day => {
            d.scroll = 0;
            d.step = Step::Report(report.clone());
        }
        _ => {}
    }
}

/// A worker trouble about shifts (already open, none open).
pub fn on_trouble(model: &mut Model, key: &'static str) -> bool {
    let ours = key.starts_with("shift.");
    if ours {
        model.day.error = Some(Note::Key(key));
    }
    ours
}

fn kv(label: &str, value: String) -> Line<'static> {
    Line::raw(format!("  {label:<22} {value}"))
}

pub fn view(model: &Model, frame: &mut Frame<'_>, area: Rect) {
    let lang = model.lang;
    let d = &model.day;
    match &d.step {
        Step::Report(r) => return report_view(model, frame, area, r),
        Step::Closed(s) => return closed_view(model, frame, area, s),
        _ => {}
    }
    let block = Block::default()
        .borders(Borders::ALL)
        .title(format!(" {} ", t(lang, "shift.title")));
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let mut lines = Vec::new();
    match &d.shift {
        Some(s) => {
            lines.push(kv(
                t(lang, "shift.opened"),
                crate::format::local_time(s.opened_at),
            ));
            lines.push(kv(t(lang, "shift.opening"), display(s.opening, DRAWER)));
            lines.push(kv(t(lang, "shift.taken"), display(d.taken, DRAWER)));
            lines.push(kv(
                t(lang, "shift.expected"),
                display(s.opening + d.taken, DRAWER),
            ));
        }
        None => lines.push(Line::styled(
            format!("  {}", t(lang, "shift.none")),
            style(model, Tone::Dim),
        )),
    }
    if model.counts.pending > 0 {
        lines.push(Line::raw(""));
        lines.push(Line::styled(
            format!(
                "  {}",
                tn(
                    lang,
                    "shift.pending_warning",
                    model.counts.pending.into(),
                    &[]
                )
            ),
            style(model, Tone::Warn),
        ));
    }
    lines.push(Line::raw(""));
    let [text, input_row, err_row] = Layout::vertical([
        Constraint::Min(0),
        Constraint::Length(1),
        Constraint::Length(2),
    ])
    .areas(inner);
    frame.render_widget(Paragraph::new(lines).wrap(Wrap { trim: false }), text);
    match &d.step {
        Step::Opening(i) => widgets::field(
            frame,
            input_row,
            t(lang, "shift.opening_input"),
            i,
            24,
            true,
            DRAWER.symbol(),
        ),
        Step::Closing(i) => widgets::field(
            frame,
            input_row,
            t(lang, "shift.counted_input"),
            i,
            24,
            true,
            DRAWER.symbol(),
        ),
        _ => {}
    }
    if let Some(e) = &d.error {
        frame.render_widget(
            Paragraph::new(Line::styled(
                format!(" ✖ {}", e.render(lang)),
                style(model, Tone::Bad),
            )),
            err_row,
        );
    }
    if let Step::ClosePending(_) = &d.step {
        widgets::dialog(
            model,
            frame,
            t(lang, "shift.close_title"),
            &[],
            &tn(
                lang,
                "shift.pending_warning",
                model.counts.pending.into(),
                &[],
            ),
            &[
                ("y", t(lang, "hint.close_anyway")),
                ("n", t(lang, "hint.dont_close")),
            ],
            Tone::Warn,
        );
    }
}

fn closed_view(model: &Model, frame: &mut Frame<'_>, area: Rect, s: &Shift) {
    let lang = model.lang;
    let diff = s.difference().unwrap_or(0);
    let tone = match diff {
        0 => Tone::Good,
        _ => Tone::Warn,
    };
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(style(model, tone))
        .title(format!(" {} ", t(lang, "shift.closed_title")));
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let word = match diff {
        0 => t(lang, "shift.balanced"),
        d if d > 0 => t(lang, "shift.surplus"),
        _ => t(lang, "shift.shortage"),
    };
    let lines = vec![
        kv(
            t(lang, "shift.opened"),
            crate::format::local_time(s.opened_at),
        ),
        kv(
            t(lang, "shift.closed_at"),
            s.closed_at
                .map(crate::format::local_time)
                .unwrap_or_default(),
        ),
        kv(t(lang, "shift.opening"), display(s.opening, DRAWER)),
        kv(
            t(lang, "shift.expected"),
            display(s.expected.unwrap_or(0), DRAWER),
        ),
        kv(
            t(lang, "shift.counted"),
            display(s.counted.unwrap_or(0), DRAWER),
        ),
        Line::styled(
            format!(
                "  {:<22} {} ({word})",
                t(lang, "shift.difference"),
                display(diff, DRAWER)
            ),
            style(model, tone),
        ),
    ];
    frame.render_widget(Paragraph::new(lines), inner);
}

fn report_view(model: &Model, frame: &mut Frame<'_>, area: Rect, r: &Report) {
    let lang = model.lang;
    let lines: Vec<Line<'_>> = crate::report::text(lang, r)
        .into_iter()
        .skip(1)
        .map(Line::raw)
        .collect();
    let total = lines.len();
    let block = Block::default()
        .borders(Borders::ALL)
        .title(format!(
            " {} ",
            tf(lang, "report.title", &[("date", &r.date.to_string())])
        ))
        .title_bottom(
            Line::from(format!(
                " {}/{} ",
                (usize::from(model.day.scroll) + 1).min(total.max(1)),
                total
            ))
            .right_aligned(),
        );
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let [text, chart] = Layout::vertical([Constraint::Min(6), Constraint::Length(8)]).areas(inner);
    frame.render_widget(
        Paragraph::new(lines)
            .wrap(Wrap { trim: false })
            .scroll((model.day.scroll, 0)),
        text,
    );
    // Takings by hour at the till's currency (other currencies are in the lines above).
    let mut hours = [0i64; 24];
    for (h, c, m) in &r.by_hour {
        if *c == DRAWER
            && let Some(slot) = hours.get_mut(*h as usize)
        {
            *slot += m;
        }
    }
    // The whole day at any width: hours go into bins of 1, 2, 3, 4, 6 or 12 so that every
    // bin gets a bar at least two cells wide (its label, "09", fits under it).
    let span = usize::from(chart.width).max(1);
    let per = [1usize, 2, 3, 4, 6, 12]
        .into_iter()
        .find(|p| (24 / p) * 3 <= span + 1)
        .unwrap_or(24);
    let bins = 24 / per;
    let bar_width = u16::try_from(((span + 1) / bins).saturating_sub(1).max(1)).unwrap_or(1);
    let bars: Vec<Bar<'_>> = (0..bins)
        .map(|b| {
            let sum: i64 = hours[b * per..(b + 1) * per].iter().sum();
            let major = u64::try_from(sum / 100).unwrap_or(0);
            let value = compact(major);
            Bar::default()
                .value(major)
                .label(Line::from(format!("{:02}", b * per)))
                .text_value(
                    if major > 0 && value.chars().count() <= usize::from(bar_width) {
                        value
                    } else {
                        String::new()
                    },
                )
        })
        .collect();
    let chart_widget = BarChart::default()
        .block(Block::default().borders(Borders::TOP).title(format!(
            " {} ({}) ",
            t(lang, "report.by_hour"),
            DRAWER.symbol()
        )))
        .data(BarGroup::default().bars(&bars))
        .bar_width(bar_width)
        .bar_gap(1)
        .bar_style(style(model, Tone::Accent));
    frame.render_widget(chart_widget, chart);
}

/// 15000 → "15k", 1200000 → "1.2M": a bar's label fits its width.
fn compact(major: u64) -> String {
    match major {
        m if m >= 1_000_000 => format!("{}.{}M", m / 1_000_000, (m % 1_000_000) / 100_000),
        m if m >= 1_000 => format!("{}k", m / 1_000),
        m => m.to_string(),
    }
}
