//! How the UPay screen draws: the card and hold forms, the 3-D Secure link as a QR code,
//! a card's result, the holds list. Reads the model only.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Cell, Paragraph, Row, Table, TableState, Wrap};
use tui_input::Input;

use super::{CARD_LABELS, HOLD_LABELS, Step, masked};
use crate::app::Model;
use crate::app::screens::payment::{kv, progress_view, result_view};
use crate::app::widgets::{self, Tone, qr::QrView, state_tone, style};
use crate::flows::upay::{CURRENCY, expires_at};
use crate::i18n::{t, tf};
use crate::journal::{Operation, State};
use crate::worker::upay::HoldAction;

pub fn view(model: &Model, frame: &mut Frame<'_>, area: Rect) {
    let lang = model.lang;
    let s = &model.upay;
    match &s.step {
        Step::CardForm => card_form(model, frame, area),
        Step::ConfirmCard(card) => {
            card_form(model, frame, area);
            let rows = vec![
                (t(lang, "upay.card_number"), crate::mask::pan(&card.number)),
                (t(lang, "upay.expiry"), card.expiry.clone()),
                (t(lang, "upay.holder"), card.holder.clone()),
                (t(lang, "upay.phone"), card.phone.clone()),
            ];
            widgets::dialog(
                model,
                frame,
                t(lang, "upay.confirm_card_title"),
                &rows,
                t(lang, "upay.confirm_card_warning"),
                &[
                    ("y", t(lang, "hint.confirm")),
                    ("Esc", t(lang, "hint.back")),
                ],
                Tone::Normal,
            );
        }
        Step::Registering(p) => progress_view(model, frame, area, p, "upay.registering"),
        Step::Card(op) => card_view(model, frame, area, op),
        Step::Holds => holds_view(model, frame, area),
        Step::HoldForm => hold_form(model, frame, area),
        Step::ConfirmHold(h) => {
            hold_form(model, frame, area);
            let rows = vec![
                (t(lang, "upay.account"), h.account.clone()),
                (t(lang, "upay.amount"), h.amount.display()),
                (t(lang, "upay.minutes"), h.minutes.to_string()),
                (t(lang, "upay.card"), crate::mask::token(&h.card_token)),
            ];
            widgets::dialog(
                model,
                frame,
                t(lang, "upay.confirm_hold_title"),
                &rows,
                t(lang, "upay.confirm_hold_warning"),
                &[
                    ("y", t(lang, "hint.confirm")),
                    ("Esc", t(lang, "hint.back")),
                ],
                Tone::Normal,
            );
        }
        Step::ConfirmAction(act, op) => {
            holds_view(model, frame, area);
            let rows = vec![
                (
                    t(lang, "upay.hold_id"),
                    op.provider_ref.clone().unwrap_or_default(),
                ),
                (t(lang, "upay.account"), op.customer.clone()),
                (t(lang, "upay.amount"), op.amount.display()),
            ];
            let (title, warning) = match act {
                HoldAction::Capture => ("upay.capture_title", "upay.capture_warning"),
                HoldAction::Cancel => ("upay.cancel_title", "upay.cancel_warning"),
            };
            widgets::dialog(
                model,
                frame,
                t(lang, title),
                &rows,
                t(lang, warning),
                &[
                    ("y", t(lang, "hint.confirm")),
                    ("Esc", t(lang, "hint.back")),
                ],
                Tone::Warn,
            );
        }
        Step::Placing(p) => progress_view(model, frame, area, p, "upay.placing"),
        Step::Placed(op) => {
            let mut rows = vec![kv(lang, "upay.account", op.customer.clone())];
            if let Some(h) = &op.provider_ref {
                rows.push(kv(lang, "upay.hold_id", h.clone()));
            }
            if let Some(until) = expires_at(op) {
                rows.push(kv(lang, "upay.until", widgets::hhmm(until)));
            }
            result_view(model, frame, area, op, "upay.held_ok", rows);
        }
    }
}

fn inputs_form(
    model: &Model,
    frame: &mut Frame<'_>,
    area: Rect,
    title: &str,
    labels: &[&str],
    inputs: &[Input],
    hint: &str,
) {
    let lang = model.lang;
    let s = &model.upay;
    let block = Block::default()
        .borders(Borders::ALL)
        .title(format!(" {title} "));
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let active = s.typing();
    for (i, label) in labels.iter().enumerate() {
        let row = Rect {
            y: inner.y + u16::try_from(i).unwrap_or(0),
            height: 1,
            ..inner
        };
        if row.y >= inner.bottom() {
            break;
        }
        let suffix = if *label == "upay.amount" {
            CURRENCY.symbol()
        } else {
            ""
        };
        widgets::field(
            frame,
            row,
            t(lang, label),
            &inputs[i],
            20,
            active && s.focus == i,
            suffix,
        );
    }
    let line = match &s.error {
        Some(err) => Line::styled(format!(" ✖ {}", err.render(lang)), style(model, Tone::Bad)),
        None => Line::styled(format!(" {hint}"), style(model, Tone::Dim)),
    };
    let n = u16::try_from(labels.len()).unwrap_or(0);
    let rest = Rect {
        y: inner.y + n + 1,
        height: inner.height.saturating_sub(n + 1),
        ..inner
    };
    frame.render_widget(Paragraph::new(vec![line]).wrap(Wrap { trim: false }), rest);
}

fn card_form(model: &Model, frame: &mut Frame<'_>, area: Rect) {
    let lang = model.lang;
    let s = &model.upay;
    // The CVV is never drawn, only as many dots as digits typed.
    let mut shown = s.card.clone();
    shown[2] = masked(&s.card[2]);
    inputs_form(
        model,
        frame,
        area,
        t(lang, "upay.card_title"),
        &CARD_LABELS,
        &shown,
        t(lang, "upay.card_hint"),
    );
}

fn hold_form(model: &Model, frame: &mut Frame<'_>, area: Rect) {
    let lang = model.lang;
    let card = model
        .upay
        .card_row
        .as_ref()
        .map(|c| c.customer.clone())
        .unwrap_or_default();
    inputs_form(
        model,
        frame,
        area,
        &tf(lang, "upay.hold_title", &[("card", &card)]),
        &HOLD_LABELS,
        &model.upay.hold,
        t(lang, "upay.hold_hint"),
    );
}

/// The registration's outcome; while the customer has not confirmed it, the 3-D Secure
/// link as a QR code (the whole screen if need be) and as text.
fn card_view(model: &Model, frame: &mut Frame<'_>, area: Rect, op: &Operation) {
    let lang = model.lang;
    let url = op.link.clone();
    if op.state != State::Issued || url.is_none() {
        let rows = vec![
            kv(lang, "upay.card_number", op.customer.clone()),
            kv(
                lang,
                "upay.holder",
                op.customer_name.clone().unwrap_or_default(),
            ),
        ];
        return result_view(model, frame, area, op, "upay.card_ok", rows);
    }
    let url = url.unwrap_or_default();
    let block = Block::default().borders(Borders::ALL).title(format!(
        " {} · {} ",
        t(lang, "upay.card_title"),
        op.customer
    ));
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let status = match model.upay.asking_card {
        Some(confirmed) => Line::styled(
            t(
                lang,
                if confirmed {
                    "upay.ask_card_confirmed"
                } else {
                    "upay.ask_card_failed"
                },
            )
            .to_string(),
            style(model, Tone::Warn),
        ),
        None => Line::styled(
            format!(
                "{} {}",
                widgets::spinner(model.frame),
                t(lang, "upay.waiting_3ds")
            ),
            style(model, Tone::Warn),
        ),
    };
    let link = Line::raw(url.clone());
    // The code takes the whole height; the words and the link go beside it.
    match QrView::new(&url) {
        Ok(qr) if qr.fits(inner) => {
            let (w, _) = qr.size();
            let [left, right] =
                Layout::horizontal([Constraint::Length(w + 1), Constraint::Min(0)]).areas(inner);
            frame.render_widget(&qr, left);
            let text = vec![status, Line::raw(""), link];
            frame.render_widget(Paragraph::new(text).wrap(Wrap { trim: false }), right);
        }
        _ => {
            let text = vec![
                Line::raw(t(lang, "upay.qr_too_big")),
                Line::raw(""),
                status,
                Line::raw(""),
                link,
            ];
            frame.render_widget(Paragraph::new(text).wrap(Wrap { trim: false }), inner);
        }
    }
}

/// A hold as the list shows it: time, HoldId, sum, account, state and its tone.
type HoldRow = (String, String, String, String, String, Tone);

fn holds_view(model: &Model, frame: &mut Frame<'_>, area: Rect) {
    let lang = model.lang;
    let s = &model.upay;
    let block = Block::default()
        .borders(Borders::ALL)
        .title(format!(" {} ", t(lang, "upay.holds_title")));
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let mut lines = Vec::new();
    if let Some(err) = &s.error {
        lines.push(Line::styled(
            format!(" ✖ {}", err.render(lang)),
            style(model, Tone::Bad),
        ));
    }
    if let Some(told) = &s.told {
        let sign = match told.tone {
            Tone::Good => "✔",
            Tone::Bad => "✖",
            Tone::Warn => "!",
            Tone::Dim => "…",
            _ => "·",
        };
        lines.push(Line::styled(
            format!(" {sign} {}", told.note.render(lang)),
            style(model, told.tone),
        ));
    }
    if s.holds.is_empty() {
        lines.push(Line::styled(
            format!(" {}", t(lang, "upay.no_holds")),
            style(model, Tone::Dim),
        ));
    }
    // The hold's number, sum and state are never cut: they keep their widths, and the
    // account gives way first on a narrow screen.
    let rows: Vec<HoldRow> = s
        .holds
        .iter()
        .map(|h| {
            let state = match (h.state, expires_at(h)) {
                (State::Held, Some(until)) => {
                    tf(lang, "upay.held_until", &[("time", &widgets::hhmm(until))])
                }
                (st, _) => t(lang, crate::flows::state_key(h.kind, st)).to_uppercase(),
            };
            let state = if h.needs_reconciliation {
                format!("{} !", t(lang, "state.needs_recon").to_uppercase())
            } else {
                state
            };
            let tone = if h.needs_reconciliation {
                Tone::Bad
            } else {
                state_tone(h)
            };
            (
                widgets::hhmm(h.created_at),
                h.provider_ref.clone().unwrap_or_else(|| "—".into()),
                h.amount.display(),
                h.customer.clone(),
                state,
                tone,
            )
        })
        .collect();
    let width = |f: fn(&HoldRow) -> &String| {
        u16::try_from(rows.iter().map(|r| f(r).chars().count()).max().unwrap_or(0))
            .unwrap_or(u16::MAX)
    };
    let (ref_w, sum_w, state_w) = (width(|r| &r.1), width(|r| &r.2), width(|r| &r.4));
    let room = area.width.saturating_sub(2 + 1 + 5 + 4);
    let account_w = width(|r| &r.3)
        .min(room.saturating_sub(ref_w + sum_w + state_w))
        .max(1);
    // The messages above the list, as many rows as they take wrapped.
    let per_row = usize::from(inner.width.max(1));
    let head = lines
        .iter()
        .map(|l| l.width().div_ceil(per_row).max(1))
        .sum::<usize>();
    let head = u16::try_from(head).unwrap_or(u16::MAX);
    frame.render_widget(Paragraph::new(lines).wrap(Wrap { trim: false }), inner);
    let [_, list] = Layout::vertical([Constraint::Length(head), Constraint::Min(0)]).areas(inner);
    let table_rows: Vec<Row<'_>> = rows
        .into_iter()
        .map(|(at, hold, sum, account, state, tone)| {
            Row::new(vec![
                Cell::from(at),
                Cell::from(hold),
                Cell::from(Line::from(sum).right_aligned()),
                Cell::from(account),
                Cell::from(Span::styled(state, style(model, tone))),
            ])
        })
        .collect();
    let table = Table::new(
        table_rows,
        [
            Constraint::Length(5),
            Constraint::Length(ref_w),
            Constraint::Length(sum_w),
            Constraint::Length(account_w),
            Constraint::Min(state_w),
        ],
    )
    .column_spacing(1)
    .highlight_symbol("›")
    .row_highlight_style(Style::default().add_modifier(Modifier::REVERSED));
    let mut state = TableState::default().with_selected(Some(s.selected));
    frame.render_stateful_widget(table, list, &mut state);
}
