//! The cashier's day on the worker's side: shifts, the report, the journal screen's query and
//! a person's resolution of a row that waits for reconciliation. Journal work only; no
//! provider is called.

use super::{Ctx, Event, db};
use crate::journal::{JournalError, Query, State};

fn trouble(ctx: &Ctx, e: &crate::journal::JournalError) {
    tracing::error!(error = %e, "journal work for the cashier's day failed");
    let key = match e {
        crate::journal::JournalError::ShiftOpen(_) => "shift.already_open",
        crate::journal::JournalError::NoShift => "shift.none_open",
        crate::journal::JournalError::IllegalTransition { .. } => "resolve.not_allowed",
        _ => "error.journal",
    };
    ctx.emit(Event::Trouble { id: None, key });
}

/// The open shift and the cash taken since it opened.
pub async fn load_shift(ctx: &Ctx) {
    let now = crate::journal::now_ms();
    match db(ctx, move |j| {
        let shift = j.current_shift()?;
        let taken = match &shift {
            Some(s) => j.cash_taken(s.opened_at, now + 1)?,
            None => 0,
        };
        Ok((shift, taken))
    })
    .await
    {
        Ok((shift, taken)) => ctx.emit(Event::Shift { shift, taken }),
        Err(e) => trouble(ctx, &e),
    }
}

pub async fn open_shift(ctx: &Ctx, opening: i64) {
    match db(ctx, move |j| j.open_shift(opening)).await {
        Ok(s) => {
            tracing::info!(shift = s.id, opening, "shift opened");
            load_shift(ctx).await;
        }
        Err(e) => trouble(ctx, &e),
    }
}

pub async fn close_shift(ctx: &Ctx, counted: i64, note: Option<String>) {
    match db(ctx, move |j| j.close_shift(counted, note.as_deref())).await {
        Ok(s) => {
            tracing::info!(shift = s.id, counted, expected = ?s.expected, "shift closed");
            ctx.emit(Event::ShiftClosed { shift: s });
        }
        Err(e) => trouble(ctx, &e),
    }
}

pub async fn report(ctx: &Ctx, date: chrono::NaiveDate) {
    match db(ctx, move |j| {
        crate::report::Report::build(j, date, j.own_till())
    })
    .await
    {
        Ok(r) => ctx.emit(Event::Report {
            report: Box::new(r),
        }),
        Err(e) => trouble(ctx, &e),
    }
}

pub async fn query(ctx: &Ctx, q: Query) {
    match db(ctx, move |j| j.query(&q)).await {
        Ok(rows) => ctx.emit(Event::Journal { rows }),
        Err(e) => trouble(ctx, &e),
    }
    ctx.emit_counts().await;
}

pub async fn resolve(ctx: &Ctx, id: String, to: State, note: String) {
    let rid = id.clone();
    let allowed = db(ctx, move |j| j.get(&rid))
        .await
        .map(|op| crate::flows::may_resolve_as(&op, to));
    if let Ok(false) = allowed {
        ctx.emit(Event::Trouble {
            id: Some(id),
            key: "resolve.hold_needs_id",
        });
        return;
    }
    let rid = id.clone();
    match db(ctx, move |j| j.resolve_manually(&rid, to, &note)).await {
        Ok(op) => {
            tracing::info!(op = %op.id, state = %op.state, "resolved by a person");
            let rid = id.clone();
            if let Ok((op, events)) = db(ctx, move |j| Ok((j.get(&rid)?, j.events(&rid)?))).await {
                ctx.emit(Event::Detail { op, events });
            }
            ctx.emit(Event::Finished { op });
        }
        Err(e) => trouble(ctx, &e),
    }
    ctx.emit_counts().await;
}

/// A person gives the provider's id for a row that waits for them: it comes back into its
/// lifecycle, and is followed from there when it is one the worker drives.
pub async fn resume_with_ref(ctx: &Ctx, id: String, provider_ref: String, note: String) {
    let rid = id.clone();
    let op = match db(ctx, move |j| j.get(&rid)).await {
        Ok(op) => op,
        Err(e) => return trouble(ctx, &e),
    };
    let Some(to) = crate::flows::resumed_with_ref(&op) else {
        return ctx.emit(Event::Trouble {
            id: Some(id),
            key: "resolve.no_ref_for_kind",
        });
    };
    if !crate::flows::provider_ref_ok(op.kind, &provider_ref) {
        return ctx.emit(Event::Trouble {
            id: Some(id),
            key: "resolve.bad_ref",
        });
    }
    let rid = id.clone();
    let r = provider_ref.trim().to_string();
    match db(ctx, move |j| j.resume_with_ref(&rid, to, &r, &note)).await {
        Ok(op) => {
            tracing::info!(op = %op.id, state = %op.state, "brought back by a person with the provider's id");
            let rid = id.clone();
            if let Ok((op, events)) = db(ctx, move |j| Ok((j.get(&rid)?, j.events(&rid)?))).await {
                ctx.emit(Event::Detail { op, events });
            }
            if super::driven(&op) {
                ctx.emit(Event::Issued { op: op.clone() });
                tokio::spawn(super::follow_owned(ctx.clone(), op.id.clone()));
            } else {
                ctx.emit(Event::Finished { op });
            }
        }
        Err(e) => trouble(ctx, &e),
    }
    ctx.emit_counts().await;
}

/// Where receipts saved from the TUI go: `receipts/` beside the journal.
fn receipts_dir(ctx: &Ctx) -> std::path::PathBuf {
    ctx.settings
        .journal_path
        .parent()
        .map(|p| p.join("receipts"))
        .unwrap_or_else(|| std::path::PathBuf::from("receipts"))
}

/// Prints (ESC/POS to `[printer]`) or saves (a text file) the receipt of operation `id`.
pub async fn receipt(ctx: &Ctx, id: String, print: bool) {
    use crate::receipt::{self, Receipt};
    let rid = id.clone();
    let op = match db(ctx, move |j| j.get(&rid)).await {
        Ok(op) => op,
        Err(e) => return trouble(ctx, &e),
    };
    let settings = ctx.settings.clone();
    let lang = settings.lang;
    let dir = receipts_dir(ctx);
    let done = tokio::task::spawn_blocking(move || {
        let link = crate::flows::wooppay::operation_url(&op).map(str::to_string);
        let r = Receipt::for_settings(&settings, &op, link.as_deref());
        if print {
            let Some(printer) = &settings.printer else {
                return Err(crate::i18n::t(lang, "receipt.no_printer").to_string());
            };
            let bytes = receipt::escpos(&r, printer.paper).map_err(|e| e.message(lang))?;
            receipt::print(printer, &bytes).map_err(|e| e.message(lang))?;
            Ok(crate::i18n::t(lang, "receipt.printed").to_string())
        } else {
            let path = receipt::save_text(&dir, &r, 48).map_err(|e| e.message(lang))?;
            Ok(crate::i18n::tf(
                lang,
                "receipt.saved",
                &[("path", &path.display().to_string())],
            ))
        }
    })
    .await;
    let outcome = match done {
        Ok(r) => r,
        Err(e) => Err(e.to_string()),
    };
    match &outcome {
        Ok(m) => tracing::info!(op = %id, "{m}"),
        Err(m) => tracing::warn!(op = %id, "receipt: {m}"),
    }
    ctx.emit(Event::Said { outcome });
}

/// Exports the journal screen's days as CSV beside the journal (`exports/`).
pub async fn export(ctx: &Ctx, from: Option<i64>) {
    let dir = ctx
        .settings
        .journal_path
        .parent()
        .map(|p| p.join("exports"))
        .unwrap_or_else(|| std::path::PathBuf::from("exports"));
    let lang = ctx.settings.lang;
    let stamp = chrono::Local::now().format("%Y%m%d-%H%M%S").to_string();
    let file = dir.join(format!("kassa-journal-{stamp}.csv"));
    let f = file.clone();
    // On a connection of its own: a long export never holds the journal the drivers record
    // their attempts and renew their leases through (WAL lets it read beside them).
    let settings = ctx.settings.clone();
    let outcome = tokio::task::spawn_blocking(move || {
        let made = std::fs::create_dir_all(&dir)
            .map_err(|e| e.to_string())
            .and_then(|()| settings.open_journal().map_err(|e| e.to_string()))
            .and_then(|j| {
                crate::export::export_to(&j, &f, from.unwrap_or(0), i64::MAX)
                    .map_err(|e| e.to_string())
            });
        Ok::<_, JournalError>(made)
    })
    .await
    .map_err(|e| JournalError::Corrupt(format!("export task: {e}")))
    .and_then(|r| r);
    let outcome = match outcome {
        Ok(Ok(n)) => Ok(crate::i18n::tn(
            lang,
            "export.done",
            n,
            &[("path", &file.display().to_string())],
        )),
        Ok(Err(e)) => Err(crate::i18n::tf(
            lang,
            "export.write_failed",
            &[("path", &file.display().to_string()), ("error", &e)],
        )),
        Err(e) => Err(e.to_string()),
    };
    ctx.emit(Event::Said { outcome });
}
