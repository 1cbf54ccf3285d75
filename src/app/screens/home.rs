//! Home: the flows, those not built yet shown as coming (not hidden), and the journal's
//! pending work at a glance.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph};

use crate::app::keys::{Action, Hint};
use crate::app::widgets::{Tone, style};
use crate::app::{Model, Note, ScreenId};
use crate::i18n::t;
use crate::worker::Command;

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HomeState {
    pub selected: usize,
}

struct Flow {
    title: &'static str,
    subtitle: &'static str,
    target: Option<ScreenId>,
}

const FLOWS: [Flow; 7] = [
    Flow {
        title: "home.cash_in",
        subtitle: "home.cash_in.sub",
        target: Some(ScreenId::CashIn),
    },
    Flow {
        title: "home.utility",
        subtitle: "home.utility.sub",
        target: Some(ScreenId::Pay),
    },
    Flow {
        title: "home.wooppay",
        subtitle: "home.wooppay.sub",
        target: Some(ScreenId::Wooppay),
    },
    Flow {
        title: "home.upay",
        subtitle: "home.upay.sub",
        target: Some(ScreenId::Upay),
    },
    Flow {
        title: "home.webmoney",
        subtitle: "home.webmoney.sub",
        target: Some(ScreenId::Webmoney),
    },
    Flow {
        title: "home.journal",
        subtitle: "home.journal.sub",
        target: Some(ScreenId::Journal),
    },
    Flow {
        title: "home.shift",
        subtitle: "home.shift.sub",
        target: Some(ScreenId::Day),
    },
];

pub fn hints() -> Vec<Hint> {
    vec![
        ("↑↓", "hint.select"),
        ("Enter", "hint.open"),
        ("1–7", "hint.direct"),
        ("?", "hint.help"),
        ("q", "hint.quit"),
    ]
}

fn open(model: &mut Model, index: usize) -> Vec<Command> {
    model.home.selected = index;
    match FLOWS.get(index).and_then(|f| f.target) {
        Some(screen) => model.go(screen),
        None => {
            model.notice = Some(Note::Key("home.coming"));
            Vec::new()
        }
    }
}

pub fn on_key(model: &mut Model, action: Option<Action>) -> Vec<Command> {
    let n = FLOWS.len();
    match action {
        Some(Action::Up) => {
            model.home.selected = (model.home.selected + n - 1) % n;
            Vec::new()
        }
        Some(Action::Down) => {
            model.home.selected = (model.home.selected + 1) % n;
            Vec::new()
        }
        Some(Action::Submit) => open(model, model.home.selected),
        Some(Action::Digit(d)) if (1..=n).contains(&usize::from(d)) => {
            open(model, usize::from(d) - 1)
        }
        _ => Vec::new(),
    }
}

pub fn view(model: &Model, frame: &mut Frame<'_>, area: Rect) {
    let lang = model.lang;
    let block = Block::default().borders(Borders::ALL);
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let mut lines = vec![Line::raw("")];
    for (i, f) in FLOWS.iter().enumerate() {
        let selected = i == model.home.selected;
        let ready = f.target.is_some();
        let subtitle = if f.target == Some(ScreenId::Journal) {
            format!(
                "{} · {}",
                crate::i18n::tn(
                    lang,
                    "home.journal.pending",
                    model.counts.pending.into(),
                    &[]
                ),
                crate::i18n::tn(lang, "home.journal.recon", model.counts.recon.into(), &[])
            )
        } else if ready {
            t(lang, f.subtitle).to_string()
        } else {
            format!("{} · {}", t(lang, f.subtitle), t(lang, "home.soon"))
        };
        let marker = if selected { "▶" } else { " " };
        let title = format!("{:<30}", t(lang, f.title));
        let mut title_style = if ready {
            Style::default()
        } else {
            style(model, Tone::Dim)
        };
        if selected {
            title_style = title_style.add_modifier(Modifier::REVERSED);
        }
        lines.push(Line::from(vec![
            Span::raw(format!(" {marker}{}  ", i + 1)),
            Span::styled(title, title_style),
            Span::raw(" "),
            Span::styled(subtitle, style(model, Tone::Dim)),
        ]));
    }
    frame.render_widget(Paragraph::new(lines), inner);
}
