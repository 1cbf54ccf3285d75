//! The Wooppay invoice flow on the worker's side: the client built from the config on first
//! use, the commit-then-send of a confirmed invoice (its referenceId is the row's id), what
//! each reply means for the row, the status polls of an issued invoice, and the calls that
//! move no money (SMS code, balance, one status).
//!
//! An invoice row is `pending` until the create's answer, `issued` (operationId and link
//! kept) until Wooppay says paid (4: completed), declined (3), deleted (7: cancelled), or
//! its deathDate passes unpaid (expired); a paid invoice later reported 5 or 6 becomes
//! `reversed`. Error 221 means the invoice exists: never a second one; with no operationId
//! known, the row waits for a person. The SMS code is kept in memory only, and the code
//! request is never repeated automatically (it is not a journal row).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use super::{Ctx, Event, Trouble, Verdict, db};
use crate::config::Secret;
use crate::flows::wooppay::{
    WpInvoice, default_death_date, final_state, find_record, judge_create, judge_status,
    operation_id, params_of, reconcile,
};
use crate::journal::{Answer, Facts, Kind, Operation, State};
use crate::providers::SendError;
use crate::providers::wooppay::client::WooppayClient;
use crate::providers::wooppay::codec::{InvoiceRequest, Record, Variant};
use crate::providers::wooppay::{OpStatus, error_key};

/// Why a call that moves no money gave no answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WpFailure {
    /// Wooppay answered with this error code.
    Code(i64),
    /// No readable answer (the catalogue key of the send error).
    Send(&'static str),
    /// kassa is not set up for Wooppay (login or password missing).
    NotConfigured,
    /// The reply did not carry the asked operation.
    NotFound,
}

impl WpFailure {
    /// The catalogue key of the message, and the provider's code to show beside it.
    pub fn message(&self) -> (String, Option<i64>) {
        match self {
            WpFailure::Code(c) => (error_key(*c), Some(*c)),
            WpFailure::Send(k) => ((*k).to_string(), None),
            WpFailure::NotConfigured => ("wooppay.not_configured".into(), None),
            WpFailure::NotFound => ("wooppay.no_such_operation".into(), None),
        }
    }
}

/// SMS codes of mobile invoices this process is sending, by referenceId: memory only.
pub type SmsCodes = Arc<Mutex<HashMap<String, Secret>>>;

/// The Wooppay client, built from the config on first use.
async fn client(ctx: &Ctx) -> &Result<WooppayClient, String> {
    ctx.wooppay
        .get_or_init(|| async { WooppayClient::from_settings(&ctx.settings.wooppay) })
        .await
}

fn forget_code(ctx: &Ctx, id: &str) {
    if let Ok(mut codes) = ctx.sms_codes.lock() {
        codes.remove(id);
    }
}

/// Commits the invoice as pending, then creates it and follows it until paid.
pub async fn start(ctx: &Ctx, mut inv: WpInvoice, allow_duplicate: bool) {
    // Every invoice gets a deathDate: an unpaid link must not be payable days later.
    if inv.death_date.is_empty() {
        inv.death_date = default_death_date(ctx.settings.wooppay.invoice_ttl_minutes);
    }
    if let Err(reason) = client(ctx).await {
        tracing::error!(%reason, "Wooppay is not set up; nothing sent");
        ctx.emit(Event::Trouble {
            id: Some(inv.reference_id.clone()),
            key: "wooppay.not_configured",
        });
        return;
    }
    if let Some(code) = &inv.sms_code
        && let Ok(mut codes) = ctx.sms_codes.lock()
    {
        codes.insert(inv.reference_id.clone(), code.clone());
    }
    let asked = inv.asked();
    let id = inv.reference_id.clone();
    super::commit_and_drive(ctx, asked, allow_duplicate, |existing| Event::Duplicate {
        request: crate::flows::Request::Wooppay(inv),
        existing,
    })
    .await;
    // Issued, final or waiting for a person: the code is of no more use.
    forget_code(ctx, &id);
}

/// One attempt for a row: the create while it is pending, a status poll once issued.
pub async fn send(ctx: &Ctx, op: &Operation) -> (Verdict, Facts, Option<Trouble>) {
    // The row as it is now (the driver's copy predates the issue).
    let rid = op.id.clone();
    let current = match db(ctx, move |j| j.get(&rid)).await {
        Ok(o) => o,
        Err(e) => {
            return (
                Verdict::Pending,
                Facts::default(),
                Some(Trouble::Send(SendError::NotSent(format!("journal: {e}")))),
            );
        }
    };
    let Ok(client) = client(ctx).await else {
        return (
            Verdict::Pending,
            Facts::default(),
            Some(Trouble::Send(SendError::NotSent(
                "Wooppay is not set up".into(),
            ))),
        );
    };
    match current.state {
        State::Issued => poll_status(ctx, client, &current).await,
        _ => create(ctx, client, &current).await,
    }
}

async fn create(
    ctx: &Ctx,
    client: &WooppayClient,
    op: &Operation,
) -> (Verdict, Facts, Option<Trouble>) {
    let Some(p) = params_of(op) else {
        return reconcile(
            "recon.unreadable",
            "the invoice's parameters are unreadable",
        );
    };
    let code = if p.variant == Variant::Mobile {
        let held = ctx
            .sms_codes
            .lock()
            .ok()
            .and_then(|c| c.get(&op.id).cloned());
        match held {
            Some(c) => Some(c),
            // After a restart the code is gone (it is never stored): a person decides.
            None => {
                return reconcile(
                    "recon.wooppay_sms_code_gone",
                    "the SMS code is kept in memory only and this process does not have it",
                );
            }
        }
    } else {
        None
    };
    let add_info = code
        .as_ref()
        .map(Secret::expose)
        .unwrap_or(p.add_info.as_str());
    let req = InvoiceRequest {
        reference_id: &op.id,
        amount: Some(op.amount),
        description: &p.description,
        back_url: &p.back_url,
        request_url: &p.request_url,
        add_info,
        death_date: &p.death_date,
        user_email: &p.email,
        user_phone: &p.phone,
        service_name: &p.service,
        card_forbidden: p.card_forbidden,
    };
    tracing::info!(op = %op.id, variant = p.variant.tag(), "sending Wooppay invoice");
    let result = client.create_invoice(p.variant, &req).await;
    let judged = judge_create(op, &result);
    // Once the answer is known the code has served: it is not kept a moment longer.
    if !matches!(judged.0, Verdict::Pending) {
        forget_code(ctx, &op.id);
    }
    judged
}

async fn poll_status(
    ctx: &Ctx,
    client: &WooppayClient,
    op: &Operation,
) -> (Verdict, Facts, Option<Trouble>) {
    let Some(operation_id) = operation_id(op) else {
        return reconcile(
            "recon.wooppay_exists",
            "the invoice is issued but its operationId is not known",
        );
    };
    let result = client.operation_data(&[operation_id]).await;
    let rec = match find_record(operation_id, &result) {
        Ok(rec) => rec,
        Err(trouble) => return (Verdict::Pending, Facts::default(), Some(trouble)),
    };
    let tag = rec.status.map(|s| format!("status {s}"));
    if tag != op.provider_status {
        note(ctx, &op.id, "record", rec.summary()).await;
    }
    if rec.sum_minor.is_some_and(|s| s != op.amount.minor()) {
        tracing::warn!(op = %op.id, "ANOMALY: Wooppay reports another sum than was invoiced");
        note(
            ctx,
            &op.id,
            "anomaly",
            format!("sum differs: {}", rec.summary()),
        )
        .await;
    }
    let judged = judge_status(op, &rec, chrono::Local::now().naive_local());
    if judged.0 == Verdict::Final(State::Reversed) {
        // Paid, then reversed before we saw it paid: record both, visibly (rule 4).
        let holder = ctx.holder.clone();
        let rid = op.id.clone();
        let paid = Facts {
            provider_status: Some("status 4".into()),
            detail: Some(rec.summary()),
            message_key: Some("wooppay.paid_then_reversed".into()),
            ..Facts::default()
        };
        // Both moves in one transaction: a crash between them would leave "completed" for good.
        let reversed = judged.1.clone();
        let expect = op.state;
        if let Err(e) = db(ctx, move |j| {
            j.transitions(
                &rid,
                &holder,
                Some(expect),
                &[(State::Completed, &paid), (State::Reversed, &reversed)],
            )
        })
        .await
        {
            tracing::warn!(op = %op.id, error = %e, "could not record the payment and its reversal");
        }
        tracing::warn!(op = %op.id, status = ?rec.status, "Wooppay reports the paid invoice reversed");
    }
    judged
}

async fn note(ctx: &Ctx, id: &str, kind: &'static str, detail: String) {
    let rid = id.to_string();
    if let Err(e) = db(ctx, move |j| j.note(&rid, kind, &detail)).await {
        tracing::warn!(op = %id, error = %e, "could not note a Wooppay record");
    }
}

/// `core_requestConfirmationCode`, once: never repeated automatically (DESIGN.md rule 2).
pub async fn request_code(ctx: &Ctx, phone: String) {
    let result = match client(ctx).await {
        Err(_) => Err(WpFailure::NotConfigured),
        Ok(c) => match c.request_code(&phone).await {
            Ok(r) if r.ok() => Ok(()),
            Ok(r) => Err(WpFailure::Code(r.error_code)),
            Err(e) => Err(WpFailure::Send(e.message_key())),
        },
    };
    tracing::info!(ok = result.is_ok(), "Wooppay SMS code requested");
    ctx.emit(Event::WooppayCode { phone, result });
}

/// `cash_getBalance`.
pub async fn balance(ctx: &Ctx) {
    let result = match client(ctx).await {
        Err(_) => Err(WpFailure::NotConfigured),
        Ok(c) => match c.balance().await {
            Ok(r) if r.ok() => r.balance_minor().ok_or(WpFailure::Send("send.no_status")),
            Ok(r) => Err(WpFailure::Code(r.error_code)),
            Err(e) => Err(WpFailure::Send(e.message_key())),
        },
    };
    ctx.emit(Event::WooppayBalance { result });
}

/// One status query by operationId; a journal row for it is moved when the answer is
/// final for it (a completed one reported reversed becomes `reversed`).
pub async fn status(ctx: &Ctx, operation_id: i64) {
    let result = match client(ctx).await {
        Err(_) => Err(WpFailure::NotConfigured),
        Ok(c) => match c.operation_data(&[operation_id]).await {
            Ok(r) if r.ok() => r
                .records()
                .0
                .into_iter()
                .find(|rec| rec.id == operation_id)
                .ok_or(WpFailure::NotFound),
            Ok(r) => Err(WpFailure::Code(r.error_code)),
            Err(e) => Err(WpFailure::Send(e.message_key())),
        },
    };
    let reference = operation_id.to_string();
    let row = db(ctx, move |j| {
        j.find_by_ref(Kind::WooppayInvoice, &reference)
    })
    .await
    .ok()
    .flatten();
    let row = match (&result, row) {
        (Ok(rec), Some(op)) => Some(apply_status(ctx, op, rec).await),
        (_, row) => row,
    };
    ctx.emit(Event::WooppayStatus {
        operation_id,
        result,
        op: row,
    });
}

/// Wooppay called a requestUrl (it carries no signature, so it is only a hint, DESIGN.md
/// rule 6): one status query for every issued invoice; only the answers move rows.
pub async fn notified(ctx: &Ctx) {
    // The issued invoices (however old), and the ones closed by their deathDate in the last
    // day: a payment may come late.
    let filter = crate::journal::ListFilter {
        pending_only: true,
        limit: Some(500),
        till: None,
    };
    let closed = crate::journal::Query {
        status: crate::journal::StatusFilter::Final,
        provider: Some("wooppay".into()),
        from: Some(crate::journal::now_ms() - 24 * 3_600_000),
        limit: 500,
        ..crate::journal::Query::default()
    };
    let rows: Vec<Operation> = match db(ctx, move |j| {
        let mut rows = j.list(&filter)?;
        rows.extend(j.query(&closed)?);
        Ok(rows)
    })
    .await
    {
        Ok(rows) => rows
            .into_iter()
            .filter(|o| {
                o.kind == Kind::WooppayInvoice && matches!(o.state, State::Issued | State::Expired)
            })
            .collect(),
        Err(e) => {
            tracing::warn!(error = %e, "listing issued invoices failed");
            return;
        }
    };
    let ids: Vec<i64> = rows
        .iter()
        .filter_map(|o| o.provider_ref.as_deref()?.parse().ok())
        .collect();
    if ids.is_empty() {
        return;
    }
    let Ok(c) = client(ctx).await else {
        return;
    };
    let records = match c.operation_data(&ids).await {
        Ok(r) if r.ok() => r.records().0,
        Ok(r) => {
            tracing::warn!(
                code = r.error_code,
                "status check after a requestUrl call refused"
            );
            return;
        }
        Err(e) => {
            tracing::warn!(error = %e, "status check after a requestUrl call failed");
            return;
        }
    };
    for rec in records {
        let id = rec.id.to_string();
        let Some(op) = rows.iter().find(|o| o.provider_ref.as_deref() == Some(&id)) else {
            continue;
        };
        let moved = apply_status(ctx, op.clone(), &rec).await;
        if moved.state.is_final() {
            ctx.emit(Event::Finished { op: moved });
        }
    }
    ctx.emit_counts().await;
}

/// Moves a known row by a status answer, where the move is legal: issued to a final
/// state, completed to reversed. Anything else is left as it is.
async fn apply_status(ctx: &Ctx, op: Operation, rec: &Record) -> Operation {
    // A record of another sum (or one that does not read) is not this invoice's: it moves
    // nothing here; the row's own poller hands it to a person with both sums.
    if rec.sum_text.is_some() && rec.sum_minor != Some(op.amount.minor()) {
        note(
            ctx,
            &op.id,
            "anomaly",
            format!("another sum: {}", rec.summary()),
        )
        .await;
        return op;
    }
    let settles = rec
        .status
        .map(OpStatus::from_code)
        .and_then(|s| final_state(&s));
    let to = match (op.state, settles) {
        (State::Completed, Some(State::Reversed)) => Some(State::Reversed),
        // Reversed before it was seen paid: the poller records both moves; this one
        // leaves it to it.
        (State::Issued, Some(State::Reversed)) => None,
        (State::Issued, to) => to,
        // Closed by its deathDate, then paid after all: the money came; the row says so.
        (State::Expired, Some(State::Completed)) => Some(State::Completed),
        _ => None,
    };
    let Some(to) = to else {
        return op;
    };
    let before = op.clone();
    let holder = ctx.holder.clone();
    let id = op.id.clone();
    let facts = Facts {
        provider_status: rec.status.map(|s| format!("status {s}")),
        ..Facts::default()
    };
    let summary = rec.summary();
    let mut notes = vec![("record", summary.clone())];
    if op.state == State::Expired {
        notes.push((
            "late_payment",
            format!("paid after its deathDate: {summary}"),
        ));
    }
    let expect = op.state;
    let moved = db(ctx, move |j| {
        let answer = Answer {
            expect: Some(expect),
            notes: &notes,
            moves: &[(to, &facts)],
            ..Answer::default()
        };
        j.apply_answer(&id, &holder, &answer)
    })
    .await;
    match moved {
        Ok(o) => {
            if o.state == State::Reversed {
                tracing::warn!(op = %o.id, "Wooppay reports the paid invoice reversed");
            }
            o
        }
        Err(e) => {
            tracing::warn!(op = %before.id, error = %e, "could not record a Wooppay status");
            before
        }
    }
}
