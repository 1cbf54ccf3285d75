//! WebMoney invoice (X1): customer WMID, purse, amount, description, address, periods →
//! confirmation → sent once → issued, rejected with WebMoney's reason, or waiting for
//! reconciliation by its orderid.

use crossterm::event::{Event as TermEvent, KeyEvent};
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::Line;
use ratatui::widgets::{Block, Borders, Paragraph, Wrap};
use tui_input::Input;
use tui_input::backend::crossterm::EventHandler;

use super::payment::{
    After, Progress, after_key, duplicate_dialog, kv, progress_view, result_view,
};
use crate::app::keys::{Action, Hint};
use crate::app::widgets::{self, Tone, style};
use crate::app::{Model, Note, ScreenId};
use crate::flows::webmoney::{WmInvoice, params_of};
use crate::i18n::t;
use crate::journal::Operation;
use crate::providers::webmoney::purse_currency;
use crate::worker::{Command, Event};

const FIELDS: usize = 7;
const LABELS: [&str; FIELDS] = [
    "wm.customer",
    "wm.purse",
    "wm.amount",
    "wm.desc",
    "wm.address",
    "wm.period",
    "wm.expiration",
];

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Step {
    #[default]
    Form,
    Confirm(WmInvoice),
    Duplicate {
        invoice: WmInvoice,
        existing: Box<Operation>,
    },
    /// Sent (the id is the orderid once the journal numbered it).
    Sending(Progress),
    Done(Box<Operation>),
}

#[derive(Debug, Clone, Default)]
pub struct WmState {
    pub step: Step,
    /// customer, purse, amount, desc, address, period, expiration.
    pub inputs: [Input; FIELDS],
    pub focus: usize,
    pub error: Option<Note>,
    /// A field whose spaces at the ends were removed, for the notice.
    pub trimmed: bool,
}

impl WmState {
    pub fn typing(&self) -> bool {
        matches!(self.step, Step::Form)
    }

    pub fn waiting(&self) -> bool {
        matches!(self.step, Step::Sending(_))
    }

    pub fn sending(&self) -> bool {
        self.waiting()
    }

    /// Puts the configured purse in its field when the form is empty.
    pub fn prefill(&mut self, purse: &str) {
        if self.inputs[1].value().is_empty() && matches!(self.step, Step::Form) {
            self.inputs[1] = Input::new(purse.to_string());
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
            Step::Confirm(_) => vec![("y", "hint.issue"), ("Esc", "hint.back")],
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
}

fn sending(invoice: &WmInvoice) -> Step {
    let id = invoice.orderid.map(|o| o.to_string()).unwrap_or_default();
    Step::Sending(Progress::new(
        id,
        invoice.amount,
        invoice.customer_wmid.clone(),
    ))
}

pub fn on_key(model: &mut Model, key: KeyEvent, action: Option<Action>) -> Vec<Command> {
    let s = &mut model.webmoney;
    match &s.step {
        Step::Form => on_form_key(model, key, action),
        Step::Confirm(invoice) => match action {
            Some(Action::Yes) => {
                let invoice = invoice.clone();
                s.step = sending(&invoice);
                vec![Command::Start {
                    request: crate::flows::Request::Webmoney(invoice),
                    allow_duplicate: false,
                }]
            }
            Some(Action::Back | Action::No) => {
                s.step = Step::Form;
                Vec::new()
            }
            _ => Vec::new(),
        },
        Step::Duplicate { invoice, .. } => match action {
            Some(Action::Yes) => {
                let mut invoice = invoice.clone();
                // A new number for the new invoice: the counter gives one.
                invoice.orderid = None;
                s.step = sending(&invoice);
                vec![Command::Start {
                    request: crate::flows::Request::Webmoney(invoice),
                    allow_duplicate: true,
                }]
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
                        model.webmoney = WmState::default();
                    }
                    model.go(ScreenId::Home)
                }
                After::New => {
                    if let Step::Sending(p) = &model.webmoney.step {
                        model.background.push(p.id.clone());
                    }
                    model.webmoney = WmState::default();
                    model.webmoney.prefill(&model.wm_purse);
                    Vec::new()
                }
                After::Journal => model.go(ScreenId::Journal),
                After::Nothing => Vec::new(),
            }
        }
    }
}

fn on_form_key(model: &mut Model, key: KeyEvent, action: Option<Action>) -> Vec<Command> {
    let s = &mut model.webmoney;
    match action {
        Some(Action::Back) => return model.go(ScreenId::Home),
        Some(Action::NextField | Action::Down) => {
            s.focus = (s.focus + 1) % FIELDS;
            return Vec::new();
        }
        Some(Action::Up) => {
            s.focus = (s.focus + FIELDS - 1) % FIELDS;
            return Vec::new();
        }
        Some(Action::Submit) => {
            // Enter walks the required fields (WMID, purse, amount, description), then
            // checks everything; the optional ones are reached with Tab.
            if s.focus < 3 {
                s.focus += 1;
                return Vec::new();
            }
            submit(s);
            return Vec::new();
        }
        _ => {}
    }
    let focus = s.focus;
    if s.inputs[focus].handle_event(&TermEvent::Key(key)).is_some() {
        s.error = None;
    }
    Vec::new()
}

/// Every field checked; the first bad one gets the cursor and the message.
fn submit(s: &mut WmState) {
    let v: Vec<String> = s.inputs.iter().map(|i| i.value().to_string()).collect();
    let form = crate::flows::webmoney::Form {
        wmid: &v[0],
        purse: &v[1],
        amount: &v[2],
        desc: &v[3],
        address: &v[4],
        period: &v[5],
        expiration: &v[6],
    };
    match crate::flows::webmoney::check(&form) {
        Ok(c) => {
            s.trimmed = c.desc_trimmed || c.address_trimmed;
            // What is sent is what is shown: the trimmed text goes back into the fields.
            s.inputs[3] = Input::new(c.invoice.desc.clone());
            s.inputs[4] = Input::new(c.invoice.address.clone());
            s.error = None;
            s.step = Step::Confirm(c.invoice);
        }
        Err((field, key)) => {
            s.focus = field;
            s.error = Some(Note::Key(key));
        }
    }
}

/// A worker trouble about this screen's invoice (not set up, not recorded: nothing sent);
/// `true` when handled here.
pub fn on_trouble(model: &mut Model, key: &'static str) -> bool {
    let s = &mut model.webmoney;
    let ours = matches!(&s.step, Step::Sending(p) if !p.recorded)
        && (key.starts_with("wm.") || key == "error.not_recorded");
    if ours {
        s.step = Step::Form;
        s.error = Some(Note::Key(key));
    }
    ours
}

/// Worker events for this screen.
pub fn on_event(model: &mut Model, ev: &Event) {
    let now = model.now;
    let s = &mut model.webmoney;
    match ev {
        Event::InvoiceNumbered { invoice } => {
            if let Step::Sending(p) = &mut s.step
                && p.id.is_empty()
                && p.target == invoice.customer_wmid
            {
                p.id = invoice.orderid.map(|o| o.to_string()).unwrap_or_default();
            }
        }
        Event::Duplicate {
            request: crate::flows::Request::Webmoney(invoice),
            existing,
        } => {
            if matches!(&s.step, Step::Sending(p) if invoice.orderid.map(|o| o.to_string()) == Some(p.id.clone()))
            {
                s.step = Step::Duplicate {
                    invoice: invoice.clone(),
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

pub fn view(model: &Model, frame: &mut Frame<'_>, area: Rect) {
    let lang = model.lang;
    let s = &model.webmoney;
    match &s.step {
        Step::Form => form(model, frame, area),
        Step::Confirm(inv) => {
            form(model, frame, area);
            let mut rows = vec![
                (t(lang, "wm.customer"), inv.customer_wmid.clone()),
                (t(lang, "wm.purse"), inv.purse.clone()),
                (t(lang, "wm.amount"), inv.amount.display()),
                (t(lang, "wm.desc"), inv.desc.clone()),
            ];
            if !inv.address.is_empty() {
                rows.push((t(lang, "wm.address"), inv.address.clone()));
            }
            if inv.period > 0 {
                rows.push((t(lang, "wm.period"), inv.period.to_string()));
            }
            if inv.expiration > 0 {
                rows.push((t(lang, "wm.expiration"), inv.expiration.to_string()));
            }
            let warning = if s.trimmed {
                format!(
                    "{} {}",
                    t(lang, "wm.trimmed_any"),
                    t(lang, "wm.confirm_warning")
                )
            } else {
                t(lang, "wm.confirm_warning").to_string()
            };
            widgets::dialog(
                model,
                frame,
                t(lang, "wm.confirm_title"),
                &rows,
                &warning,
                &[("y", t(lang, "hint.issue")), ("Esc", t(lang, "hint.back"))],
                Tone::Normal,
            );
        }
        Step::Duplicate { invoice, existing } => {
            form(model, frame, area);
            duplicate_dialog(
                model,
                frame,
                (t(lang, "wm.customer"), invoice.customer_wmid.clone()),
                invoice.amount,
                existing,
                "wm.dup_question",
            );
        }
        Step::Sending(p) => progress_view(model, frame, area, p, "wm.waiting"),
        Step::Done(op) => {
            let mut rows = vec![kv(lang, "wm.customer", op.customer.clone())];
            if let Some(p) = params_of(op) {
                rows.push(kv(lang, "wm.purse", p.purse));
                rows.push(kv(lang, "wm.desc", p.desc));
            }
            if let Some(k) = &op.message_key {
                rows.push(kv(lang, "wm.reason", t(lang, k).to_string()));
            }
            // The issued invoice's number, state and dates as WebMoney gave them.
            if let Some(d) = &op.detail {
                rows.push(kv(lang, "wm.details", d.to_string()));
            }
            result_view(model, frame, area, op, "wm.done_ok", rows);
        }
    }
}

fn form(model: &Model, frame: &mut Frame<'_>, area: Rect) {
    let lang = model.lang;
    let s = &model.webmoney;
    let block = Block::default()
        .borders(Borders::ALL)
        .title(format!(" {} ", t(lang, "wm.title")));
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let active = matches!(s.step, Step::Form);
    let currency = purse_currency(s.inputs[1].value().trim())
        .map(|c| c.symbol())
        .unwrap_or("");
    for (i, label) in LABELS.iter().enumerate() {
        let row = Rect {
            y: inner.y + u16::try_from(i).unwrap_or(0),
            height: 1,
            ..inner
        };
        if row.y >= inner.bottom() {
            break;
        }
        let suffix = if i == 2 { currency } else { "" };
        widgets::field(
            frame,
            row,
            t(lang, label),
            &s.inputs[i],
            20,
            active && s.focus == i,
            suffix,
        );
    }
    let line = match &s.error {
        Some(err) => Line::styled(format!(" ✖ {}", err.render(lang)), style(model, Tone::Bad)),
        None => Line::styled(format!(" {}", t(lang, "wm.hint")), style(model, Tone::Dim)),
    };
    let rest = Rect {
        y: inner.y + FIELDS as u16 + 1,
        height: inner.height.saturating_sub(FIELDS as u16 + 1),
        ..inner
    };
    frame.render_widget(Paragraph::new(vec![line]).wrap(Wrap { trim: false }), rest);
}
