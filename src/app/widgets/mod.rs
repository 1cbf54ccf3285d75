//! Pieces every screen uses: the frame (title line, footer with keys and pending counts),
//! text fields, dialogs, the help, colours that honour NO_COLOR.

pub mod qr;

use ratatui::Frame;
use ratatui::layout::{Constraint, Flex, Layout, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph, Wrap};
use tui_input::Input;

use crate::app::{Model, ScreenId, hints};
use crate::i18n::{t, tf, tn};
use crate::journal::{Operation, State};

/// What a colour means; with NO_COLOR the words and signs carry it alone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tone {
    Normal,
    Good,
    Bad,
    Warn,
    Dim,
    Accent,
}

pub fn style(model: &Model, tone: Tone) -> Style {
    if !model.color {
        return match tone {
            Tone::Bad | Tone::Accent => Style::default().add_modifier(Modifier::BOLD),
            _ => Style::default(),
        };
    }
    match tone {
        Tone::Normal => Style::default(),
        Tone::Good => Style::default().fg(Color::Green),
        Tone::Bad => Style::default().fg(Color::Red),
        Tone::Warn => Style::default().fg(Color::Yellow),
        Tone::Dim => Style::default().fg(Color::DarkGray),
        Tone::Accent => Style::default()
            .fg(Color::Cyan)
            .add_modifier(Modifier::BOLD),
    }
}

/// Green for money moved, red for a refusal, yellow for anything still open.
pub fn state_tone(op: &Operation) -> Tone {
    match op.state {
        _ if op.needs_reconciliation => Tone::Warn,
        State::Completed => Tone::Good,
        s if s.is_final() => Tone::Bad,
        _ => Tone::Warn,
    }
}

/// The provider's own status beside kassa's word, ` (DECLINED)`, unless it says the same.
pub fn provider_code(lang: crate::i18n::Lang, op: &Operation) -> String {
    match &op.provider_status {
        Some(s) if !t(lang, crate::flows::state_key(op.kind, op.state)).eq_ignore_ascii_case(s) => {
            // The journal keeps a Wooppay status as "status 4": the number is Wooppay's,
            // the word is the cashier's.
            match s.strip_prefix("status ") {
                Some(n) => format!(" ({})", tf(lang, "provider.status_n", &[("n", n)])),
                None => format!(" ({s})"),
            }
        }
        _ => String::new(),
    }
}

pub fn spinner(frame: u64) -> &'static str {
    const FRAMES: [&str; 10] = ["⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"];
    FRAMES[usize::try_from(frame % 10).unwrap_or(0)]
}

pub fn hhmm(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|d| d.with_timezone(&chrono::Local).format("%H:%M").to_string())
        .unwrap_or_default()
}

pub fn hhmmss(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|d| {
            d.with_timezone(&chrono::Local)
                .format("%H:%M:%S")
                .to_string()
        })
        .unwrap_or_default()
}

fn screen_title(model: &Model) -> &'static str {
    match model.screen {
        ScreenId::Home => "title.home",
        ScreenId::CashIn => "kind.allpay.cash_in",
        ScreenId::Pay => "kind.allpay.pay",
        ScreenId::Webmoney => "kind.webmoney.invoice",
        ScreenId::Upay => "home.upay",
        ScreenId::Day => "home.shift",
        ScreenId::Wooppay => "kind.wooppay.invoice",
        ScreenId::Journal => "title.journal",
        ScreenId::Detail => "title.detail",
    }
}

/// Draws the title line and the footer; returns the body's area.
pub fn chrome(model: &Model, frame: &mut Frame<'_>) -> Rect {
    let lang = model.lang;
    // The title, the screen, a status line of its own (messages, the journal's open work)
    // and the keys: a message never covers a key.
    let [top, body, status_line, bottom] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Min(3),
        Constraint::Length(1),
        Constraint::Length(1),
    ])
    .areas(frame.area());
    let mut left = format!(" kassa · {}", t(lang, screen_title(model)));
    if !model.agent.is_empty() {
        left.push_str(&format!(" · {} {}", t(lang, "title.agent"), model.agent));
    }
    if let Some(s) = &model.day.shift {
        left.push_str(&format!(
            " · {} {}",
            t(lang, "title.shift_from"),
            hhmm(s.opened_at)
        ));
    }
    let right = if model.demo {
        format!("{} ", t(lang, "title.demo"))
    } else {
        String::new()
    };
    split_line(
        frame,
        top,
        Span::styled(left, style(model, Tone::Accent)),
        Span::styled(right, style(model, Tone::Warn)),
    );
    // Footer: the keys that work now, then the journal's open work.
    let all: Vec<(&str, String)> = hints(model)
        .iter()
        .map(|(k, what)| (*k, format!("{k} {}", t(lang, what))))
        .collect();
    let mut status = Vec::new();
    if let Some(n) = model.resuming {
        status.push(tn(lang, "status.resuming", n as u64, &[]));
    }
    if model.counts.pending > 0 {
        status.push(tn(lang, "status.pending", model.counts.pending.into(), &[]));
    }
    if model.counts.recon > 0 {
        status.push(tn(lang, "status.recon", model.counts.recon.into(), &[]));
    }
    let notice = model.notice.as_ref().map(|n| {
        let tone = match n {
            crate::app::Note::Said { good: true, .. } => Tone::Good,
            _ => Tone::Bad,
        };
        (n.render(lang), tone)
    });
    status_bar(model, frame, status_line, notice, &status);
    footer(frame, bottom, &all, Vec::new(), style(model, Tone::Warn));
    body
}

/// The status line: the last message on the left (cut at the end when it is longer than
/// the line), the journal's open work on the right, whole.
fn status_bar(
    model: &Model,
    frame: &mut Frame<'_>,
    area: Rect,
    notice: Option<(String, Tone)>,
    status: &[String],
) {
    let right = if status.is_empty() {
        String::new()
    } else {
        format!("{} ", status.join(" · "))
    };
    let rw = u16::try_from(right.chars().count())
        .unwrap_or(area.width)
        .min(area.width);
    let [l, r] = Layout::horizontal([Constraint::Min(0), Constraint::Length(rw)]).areas(area);
    if let Some((text, tone)) = notice {
        let room = usize::from(l.width.saturating_sub(2));
        let text = if text.chars().count() > room {
            let cut: String = text.chars().take(room.saturating_sub(1)).collect();
            format!("{cut}…")
        } else {
            text
        };
        frame.render_widget(
            Paragraph::new(Line::from(Span::styled(
                format!(" {text}"),
                style(model, tone),
            ))),
            l,
        );
    }
    frame.render_widget(
        Paragraph::new(Line::from(Span::styled(right, style(model, Tone::Warn)))),
        r,
    );
}

/// The footer: whole key hints on the left, never cut mid-word, and the status on the
/// right. The keys a cashier always needs (quit, help, back, yes, no, Enter) keep their
/// place; the others give way whole when the line is short, and the status is shortened
/// before it covers them.
fn footer(
    frame: &mut Frame<'_>,
    area: Rect,
    hints: &[(&str, String)],
    mut items: Vec<String>,
    right_style: Style,
) {
    let must = |k: &str| matches!(k, "q" | "?" | "F1" | "Esc" | "y" | "n" | "Enter");
    let width = |s: &str| u16::try_from(s.chars().count()).unwrap_or(u16::MAX);
    let sep = 3; // " · "
    let needed: u16 = hints
        .iter()
        .filter(|(k, _)| must(k))
        .map(|(_, h)| width(h) + sep)
        .sum::<u16>()
        + 1;
    // The keys take what they need, all but a quarter of the line (always the must-keep
    // ones); the status and the messages get the rest, shortened rather than covering them.
    let natural = if items.iter().all(String::is_empty) {
        0
    } else {
        u16::try_from(items.join(" · ").chars().count() + 2).unwrap_or(u16::MAX)
    };
    let mut budget = area
        .width
        .saturating_sub(natural.min(area.width / 4))
        .max(needed)
        .min(area.width);
    let mut keep = vec![false; hints.len()];
    let mut kept = 0;
    for pass in [true, false] {
        for (i, (k, h)) in hints.iter().enumerate() {
            if keep[i] || must(k) != pass {
                continue;
            }
            let w = width(h) + if kept == 0 { 1 } else { sep };
            if w <= budget {
                keep[i] = true;
                kept += 1;
                budget -= w;
            }
        }
    }
    let keys_w: u16 = hints
        .iter()
        .zip(&keep)
        .filter(|(_, k)| **k)
        .map(|((_, h), _)| width(h) + sep)
        .sum::<u16>()
        .saturating_sub(sep)
        + 1;
    let room = area.width.saturating_sub(keys_w + 1);
    // The status's least lasting part ("resuming 4 operations") gives way first, whole.
    let joined = |items: &[String]| format!("{} ", items.join(" · "));
    while items.len() > 1 && width(&joined(&items)) > room {
        items.remove(0);
    }
    let text = if items.iter().all(String::is_empty) {
        String::new()
    } else {
        joined(&items)
    };
    let right_w = width(&text).min(room);
    let left: Vec<&str> = hints
        .iter()
        .zip(&keep)
        .filter(|(_, k)| **k)
        .map(|((_, h), _)| h.as_str())
        .collect();
    let shown = if width(&text) > right_w {
        let cut: String = text
            .chars()
            .take(usize::from(right_w.saturating_sub(2)))
            .collect();
        format!("{cut}… ")
    } else {
        text
    };
    let [l, r] = Layout::horizontal([Constraint::Min(0), Constraint::Length(right_w)]).areas(area);
    frame.render_widget(
        Paragraph::new(Line::from(format!(" {}", left.join(" · ")))),
        l,
    );
    frame.render_widget(
        Paragraph::new(Line::from(Span::styled(shown, right_style))),
        r,
    );
}

/// One line with text on the left and on the right; the right wins when space runs out.
fn split_line(frame: &mut Frame<'_>, area: Rect, left: Span<'_>, right: Span<'_>) {
    let rw = u16::try_from(right.width())
        .unwrap_or(area.width)
        .min(area.width);
    let [l, r] = Layout::horizontal([Constraint::Min(0), Constraint::Length(rw)]).areas(area);
    frame.render_widget(Paragraph::new(Line::from(left)), l);
    frame.render_widget(Paragraph::new(Line::from(right)), r);
}

/// A labelled one-line text field; the cursor shows where typing goes.
pub fn field(
    frame: &mut Frame<'_>,
    area: Rect,
    label: &str,
    input: &Input,
    label_width: u16,
    focused: bool,
    suffix: &str,
) {
    let [l, v, s] = Layout::horizontal([
        Constraint::Length(label_width),
        Constraint::Min(4),
        Constraint::Length(u16::try_from(suffix.chars().count() + 2).unwrap_or(2)),
    ])
    .areas(area);
    frame.render_widget(Paragraph::new(format!(" {label}")), l);
    let width = usize::from(v.width.max(1)) - 1;
    let scroll = input.visual_scroll(width);
    let value_style = if focused {
        Style::default().add_modifier(Modifier::UNDERLINED)
    } else {
        Style::default()
    };
    let shown: String = input.value().chars().skip(scroll).collect();
    let pad = width.saturating_sub(shown.chars().count());
    frame.render_widget(
        Paragraph::new(Line::from(vec![
            Span::styled(shown, value_style),
            Span::styled(" ".repeat(pad), value_style),
        ])),
        v,
    );
    frame.render_widget(Paragraph::new(format!(" {suffix}")), s);
    if focused {
        let x = input.visual_cursor().saturating_sub(scroll);
        let x = u16::try_from(x).unwrap_or(0).min(v.width.saturating_sub(1));
        frame.set_cursor_position((v.x + x, v.y));
    }
}

fn centered(area: Rect, width: u16, height: u16) -> Rect {
    let [h] = Layout::horizontal([Constraint::Length(width.min(area.width))])
        .flex(Flex::Center)
        .areas(area);
    let [v] = Layout::vertical([Constraint::Length(height.min(area.height))])
        .flex(Flex::Center)
        .areas(h);
    v
}

/// A dialog with labelled values, a warning, and its keys.
pub fn dialog(
    model: &Model,
    frame: &mut Frame<'_>,
    title: &str,
    rows: &[(&str, String)],
    warning: &str,
    buttons: &[(&str, &str)],
    tone: Tone,
) {
    let height = u16::try_from(rows.len()).unwrap_or(10) + 8;
    let area = centered(frame.area(), 64, height);
    frame.render_widget(Clear, area);
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(style(model, tone))
        .title(format!(" {title} "));
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let mut lines = vec![Line::raw("")];
    for (label, value) in rows {
        lines.push(Line::from(vec![
            Span::raw(format!("  {label:<13} ")),
            Span::styled(value.clone(), Style::default().add_modifier(Modifier::BOLD)),
        ]));
    }
    lines.push(Line::raw(""));
    lines.push(Line::styled(format!("  {warning}"), style(model, tone)));
    lines.push(Line::raw(""));
    let buttons: Vec<String> = buttons
        .iter()
        .map(|(k, w)| format!("[ {k}  {w} ]"))
        .collect();
    lines.push(Line::from(buttons.join("   ")).centered());
    frame.render_widget(Paragraph::new(lines).wrap(Wrap { trim: false }), inner);
}

/// The help for the screen in front: its keys and what it is for.
pub fn help(model: &Model, frame: &mut Frame<'_>) {
    let lang = model.lang;
    let area = centered(frame.area(), 70, 18);
    frame.render_widget(Clear, area);
    let block = Block::default()
        .borders(Borders::ALL)
        .title(format!(" {} ", t(lang, "help.title")));
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let about = match model.screen {
        ScreenId::Home => "help.home",
        ScreenId::CashIn => "help.cash_in",
        ScreenId::Pay => "help.pay",
        ScreenId::Webmoney => "help.webmoney",
        ScreenId::Upay => "help.upay",
        ScreenId::Day => "help.day",
        ScreenId::Wooppay => "help.wooppay",
        ScreenId::Journal => "help.journal",
        ScreenId::Detail => "help.detail",
    };
    let mut lines: Vec<Line<'_>> = t(lang, about)
        .lines()
        .map(|l| Line::raw(format!(" {l}")))
        .collect();
    lines.push(Line::raw(""));
    for (k, what) in hints(model) {
        // A letter key works on the Russian layout too: both are shown.
        let k = match crate::app::keys::ru_twin(k) {
            Some(ru) => format!("{k} {ru}"),
            None => k.to_string(),
        };
        lines.push(Line::raw(format!("  {k:<7} {}", t(lang, what))));
    }
    lines.push(Line::raw(format!(
        "  {:<7} {}",
        "Ctrl+C",
        t(lang, "hint.quit")
    )));
    lines.push(Line::raw(""));
    lines.push(Line::styled(
        format!(" {}", t(lang, "help.close")),
        style(model, Tone::Dim),
    ));
    frame.render_widget(Paragraph::new(lines).wrap(Wrap { trim: false }), inner);
}

pub fn quit_confirm(model: &Model, frame: &mut Frame<'_>) {
    let lang = model.lang;
    let rows = vec![(
        t(lang, "quit.in_flight"),
        model.counts.active.max(1).to_string(),
    )];
    dialog(
        model,
        frame,
        t(lang, "quit.title"),
        &rows,
        t(lang, "quit.warning"),
        &[("y", t(lang, "quit.yes")), ("n", t(lang, "quit.no"))],
        Tone::Warn,
    );
}
