//! The cashier's day on the worker's side: shifts, the report, the journal screen's query and
//! a person's resolution of a row that waits for reconciliation. Journal work only; no
//! provider is called.

use super::{Ctx, Event, db};
use crate::journal::{Query, State};

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
    match db(ctx, move |j| crate::report::Report::build(j, date)).await {
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
