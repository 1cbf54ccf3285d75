//! The Wooppay screen's drawing: the form with the balance in its header, the code step,
//! the dialogs, the issued invoice's QR code and link, the result. Reads the model only.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph, Wrap};

use super::{AMOUNT, CodePhase, LABELS, Step, fields_of};
use crate::app::Model;
use crate::app::screens::payment::{Progress, duplicate_dialog, kv, progress_view, result_view};
use crate::app::widgets::qr::{Polarity, QrView};
use crate::app::widgets::{self, Tone, style};
use crate::flows::wooppay::{WpInvoice, operation_url, params_of};
use crate::format::amount;
use crate::i18n::{Lang, t, tf};
use crate::journal::Operation;
use crate::money::Currency;
use crate::providers::wooppay::codec::Variant;

pub fn view(model: &Model, frame: &mut Frame<'_>, area: Rect) {
    let lang = model.lang;
    let s = &model.wooppay;
    match &s.step {
        Step::Form => form(model, frame, area),
        Step::Code { invoice, phase } => code_step(model, frame, area, invoice, phase),
        Step::Confirm(inv) => {
            form(model, frame, area);
            widgets::dialog(
                model,
                frame,
                t(lang, "wooppay.confirm_title"),
                &confirm_rows(model, inv),
                t(lang, "wooppay.confirm_warning"),
                &[("y", t(lang, "hint.issue")), ("Esc", t(lang, "hint.back"))],
                Tone::Normal,
            );
        }
        Step::Duplicate { invoice, existing } => {
            form(model, frame, area);
            duplicate_dialog(
                model,
                frame,
                (
                    t(lang, "wooppay.f.variant"),
                    variant_word(lang, invoice.variant).to_string(),
                ),
                invoice.amount,
                existing,
                "wooppay.dup_question",
            );
        }
        Step::Sending(p) => progress_view(model, frame, area, p, "wooppay.waiting"),
        Step::Issued { op, progress } => issued(model, frame, area, op, progress),
        Step::Done(op) => {
            let mut rows = Vec::new();
            if let Some(p) = params_of(op) {
                rows.push(kv(
                    lang,
                    "wooppay.f.variant",
                    variant_word(lang, p.variant).to_string(),
                ));
                if !p.description.is_empty() {
                    rows.push(kv(lang, "wooppay.f.description", p.description));
                }
            }
            if let Some(k) = &op.message_key {
                rows.push(kv(lang, "wooppay.reason", t(lang, k).to_string()));
            }
            if let Some(url) = operation_url(op) {
                rows.push(kv(lang, "wooppay.f.link", url.to_string()));
            }
            result_view(model, frame, area, op, "wooppay.paid", rows);
        }
    }
}

fn variant_word(lang: Lang, v: Variant) -> &'static str {
    t(
        lang,
        match v {
            Variant::Plain => "wooppay.variant.plain",
            Variant::Card => "wooppay.variant.card",
            Variant::Service => "wooppay.variant.service",
            Variant::Mobile => "wooppay.variant.mobile",
        },
    )
}

fn about_key(v: Variant) -> &'static str {
    match v {
        Variant::Plain => "wooppay.about.plain",
        Variant::Card => "wooppay.about.card",
        Variant::Service => "wooppay.about.service",
        Variant::Mobile => "wooppay.about.mobile",
    }
}

fn confirm_rows<'a>(model: &'a Model, inv: &WpInvoice) -> Vec<(&'a str, String)> {
    let lang = model.lang;
    let mut rows = vec![
        (
            t(lang, "wooppay.f.variant"),
            variant_word(lang, inv.variant).to_string(),
        ),
        (t(lang, "wooppay.f.amount"), inv.amount.display()),
    ];
    let optional = [
        ("wooppay.f.service", &inv.service),
        ("wooppay.f.description", &inv.description),
        ("wooppay.f.phone", &inv.phone),
        ("wooppay.f.email", &inv.email),
    ];
    for (k, v) in optional {
        if !v.is_empty() {
            rows.push((t(lang, k), v.clone()));
        }
    }
    let until = if inv.death_date.is_empty() {
        tf(
            lang,
            "wooppay.ttl_default",
            &[("minutes", &model.wooppay_ttl.to_string())],
        )
    } else {
        inv.death_date.clone()
    };
    rows.push((t(lang, "wooppay.f.death_date"), until));
    if inv.card_forbidden {
        rows.push((
            t(lang, "wooppay.wallet_only"),
            t(lang, "wooppay.yes").to_string(),
        ));
    }
    if inv.sms_code.is_some() {
        rows.push((t(lang, "wooppay.f.sms_code"), "••••".to_string()));
    }
    rows
}

fn balance_line(model: &Model) -> String {
    let lang = model.lang;
    let value = match &model.wooppay.balance {
        None => "…".to_string(),
        Some(Ok(minor)) => kzt(*minor),
        Some(Err(f)) => {
            let (key, code) = f.message();
            let mut s = crate::i18n::t_or_raw(lang, &key).to_string();
            if let Some(c) = code {
                s.push_str(&format!(" ({c})"));
            }
            s
        }
    };
    format!("{} {value}", t(lang, "wooppay.balance"))
}

fn form(model: &Model, frame: &mut Frame<'_>, area: Rect) {
    let lang = model.lang;
    let s = &model.wooppay;
    let block = Block::default()
        .borders(Borders::ALL)
        .title(format!(" {} ", t(lang, "wooppay.title")))
        .title_top(Line::from(format!(" {} ", balance_line(model))).right_aligned());
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let active = matches!(s.step, Step::Form);
    let mut lines_y = inner.y;
    let variant = Line::from(vec![
        Span::raw(format!(" {:<19}", t(lang, "wooppay.f.variant"))),
        Span::styled(
            format!("◀ {} ▶", variant_word(lang, s.variant)),
            style(model, Tone::Accent),
        ),
        Span::styled(
            format!("  ({})", t(lang, "wooppay.variant_hint")),
            style(model, Tone::Dim),
        ),
    ]);
    frame.render_widget(
        Paragraph::new(variant),
        Rect {
            y: lines_y,
            height: 1,
            ..inner
        },
    );
    lines_y += 2;
    for (i, f) in fields_of(s.variant).iter().enumerate() {
        if lines_y >= inner.bottom() {
            break;
        }
        let row = Rect {
            y: lines_y,
            height: 1,
            ..inner
        };
        let suffix = if *f == AMOUNT {
            Currency::Kzt.symbol()
        } else {
            ""
        };
        widgets::field(
            frame,
            row,
            t(lang, LABELS[*f]),
            &s.inputs[*f],
            20,
            active && s.focus == i,
            suffix,
        );
        lines_y += 1;
    }
    let mut lines = Vec::new();
    if matches!(s.variant, Variant::Card | Variant::Service) {
        let mark = if s.wallet_only { "[x]" } else { "[ ]" };
        lines.push(Line::raw(format!(
            " {mark} {} (F4)",
            t(lang, "wooppay.wallet_only")
        )));
    }
    lines.push(Line::raw(""));
    lines.push(match &s.error {
        Some(err) => Line::styled(format!(" ✖ {}", err.render(lang)), style(model, Tone::Bad)),
        None => Line::styled(
            format!(" {}", t(lang, about_key(s.variant))),
            style(model, Tone::Dim),
        ),
    });
    let rest = Rect {
        y: lines_y.min(inner.bottom()),
        height: inner.bottom().saturating_sub(lines_y),
        ..inner
    };
    frame.render_widget(Paragraph::new(lines).wrap(Wrap { trim: false }), rest);
}

fn code_step(model: &Model, frame: &mut Frame<'_>, area: Rect, inv: &WpInvoice, phase: &CodePhase) {
    let lang = model.lang;
    let s = &model.wooppay;
    let block = Block::default()
        .borders(Borders::ALL)
        .title(format!(" {} ", t(lang, "wooppay.code_title")))
        .title_top(Line::from(format!(" {} ", balance_line(model))).right_aligned());
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let (tone, status) = match phase {
        CodePhase::Requesting => (
            Tone::Warn,
            format!(
                "{} {}",
                widgets::spinner(model.frame),
                t(lang, "wooppay.code_requesting")
            ),
        ),
        CodePhase::Sent => (
            Tone::Good,
            format!("✔ {}", t(lang, "wooppay.code_sent_screen")),
        ),
        CodePhase::Failed(f) => {
            let (key, code) = f.message();
            let mut text = format!("✖ {}", crate::i18n::t_or_raw(lang, &key));
            if let Some(c) = code {
                text.push_str(&format!(" ({c})"));
            }
            (Tone::Bad, text)
        }
    };
    let row = |key: &str, value: String| Line::raw(format!(" {:<19}{value}", t(lang, key)));
    let lines = vec![
        row("wooppay.f.phone", inv.phone.clone()),
        row("wooppay.f.amount", inv.amount.display()),
        Line::raw(""),
        Line::styled(format!(" {status}"), style(model, tone)),
        Line::raw(""),
    ];
    let top = Rect {
        height: 5.min(inner.height),
        ..inner
    };
    frame.render_widget(Paragraph::new(lines), top);
    if inner.height > 6 {
        let row = Rect {
            y: inner.y + 5,
            height: 1,
            ..inner
        };
        widgets::field(
            frame,
            row,
            t(lang, "wooppay.f.sms_code"),
            &s.code,
            20,
            true,
            "",
        );
    }
    let mut notes = vec![Line::raw("")];
    notes.push(match &s.error {
        Some(e) => Line::styled(format!(" ✖ {}", e.render(lang)), style(model, Tone::Bad)),
        None => Line::styled(
            format!(" {}", t(lang, "wooppay.code_note")),
            style(model, Tone::Dim),
        ),
    });
    if inner.height > 7 {
        let rest = Rect {
            y: inner.y + 6,
            height: inner.height - 6,
            ..inner
        };
        frame.render_widget(Paragraph::new(notes).wrap(Wrap { trim: false }), rest);
    }
}

/// The invoice issued: a status line over the whole width in place of the title, the QR code
/// at the left, the link and the facts at the right; where the code cannot fit, it says so
/// and the link takes the room.
fn issued(model: &Model, frame: &mut Frame<'_>, area: Rect, op: &Operation, p: &Progress) {
    let lang = model.lang;
    let url = operation_url(op).unwrap_or("");
    let until = params_of(op)
        .and_then(|p| p.death_date.get(11..16).map(str::to_string))
        .unwrap_or_default();
    let number = op.provider_ref.clone().unwrap_or_default();
    let status = match p.trouble {
        Some(k) => tf(lang, k, &[("provider", p.provider())]),
        None => t(lang, "wooppay.waiting_paid").to_string(),
    };
    let header = tf(
        lang,
        "wooppay.issued_line",
        &[
            ("number", &number),
            ("amount", &op.amount.display()),
            ("status", &status),
            ("attempt", &p.attempt.to_string()),
            ("until", &until),
        ],
    );
    if area.y > 0 {
        let top = Rect {
            y: area.y - 1,
            height: 1,
            ..area
        };
        frame.render_widget(Clear, top);
        frame.render_widget(
            Paragraph::new(Line::styled(
                format!(" {header}"),
                style(model, Tone::Accent),
            )),
            top,
        );
    }
    let polarity = if model.color {
        Polarity::DarkOnLight
    } else {
        Polarity::Inverted
    };
    let qr = QrView::new(url).ok().map(|q| q.polarity(polarity));
    let fits = qr.as_ref().is_some_and(|q| {
        let (w, _) = q.size();
        q.fits(area) && area.width >= w + 24
    });
    let mut facts = vec![
        Line::styled(
            t(lang, "wooppay.show_customer").to_string(),
            style(model, Tone::Normal),
        ),
        Line::raw(""),
        Line::raw(format!(
            "{} {}",
            t(lang, "wooppay.f.amount"),
            op.amount.display()
        )),
        Line::raw(format!(
            "{} {}{}",
            t(lang, "cashin.status"),
            status,
            p.status
                .as_deref()
                .map(|s| match s.strip_prefix("status ") {
                    Some(n) => format!(" ({})", tf(lang, "provider.status_n", &[("n", n)])),
                    None => format!(" ({s})"),
                })
                .unwrap_or_default()
        )),
        Line::raw(balance_line(model)),
        Line::raw(""),
        Line::styled(
            t(lang, "wooppay.f.link").to_string(),
            style(model, Tone::Dim),
        ),
        Line::raw(url.to_string()),
    ];
    match (qr, fits) {
        (Some(qr), true) => {
            let (w, h) = qr.size();
            let code_area = Rect {
                width: w,
                height: h,
                ..area
            };
            frame.render_widget(&qr, code_area);
            let right = Rect {
                x: area.x + w + 2,
                width: area.width.saturating_sub(w + 2),
                ..area
            };
            frame.render_widget(Paragraph::new(facts).wrap(Wrap { trim: false }), right);
        }
        _ => {
            facts.insert(
                0,
                Line::styled(
                    t(lang, "wooppay.qr_too_big").to_string(),
                    style(model, Tone::Warn),
                ),
            );
            facts.insert(1, Line::raw(""));
            let inner = Rect {
                x: area.x + 1,
                width: area.width.saturating_sub(2),
                ..area
            };
            frame.render_widget(Paragraph::new(facts).wrap(Wrap { trim: false }), inner);
        }
    }
}

/// A Wooppay balance (tiyn) as kassa shows tenge.
fn kzt(minor: i64) -> String {
    amount(minor, crate::money::Currency::Kzt)
}
