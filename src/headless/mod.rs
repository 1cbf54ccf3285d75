//! The headless commands: the same worker and journal as the TUI, driven from the command
//! line, with DESIGN.md's exit codes (0 done, 2 declined/rejected, 3 pending or needs
//! reconciliation, 1 usage or configuration) and `--json` output.

use std::io::{BufRead, IsTerminal, Write};
use std::sync::OnceLock;
use std::time::Duration;

use serde_json::json;
use tokio::sync::mpsc::UnboundedReceiver;

use crate::config::Settings;
use crate::i18n::{Lang, t, tf};
use crate::journal::{Journal, Operation, State};
use crate::worker::{Command, Event, Worker};

mod allpay;
pub mod args;
pub mod day;
pub mod export;
pub mod journal;
pub mod migrate;
pub mod upay;
mod webmoney;
pub mod wooppay;

pub use allpay::{cash_in, check_user, pay};
pub use journal::{journal_list, journal_resolve, journal_resume, journal_show};
pub use webmoney::wm_invoice;

/// `now + timeout`, capped at a year: a silly `--timeout` must not overflow the clock.
fn deadline_after(timeout: Duration) -> tokio::time::Instant {
    let now = tokio::time::Instant::now();
    now.checked_add(timeout.min(Duration::from_secs(365 * 24 * 3600)))
        .unwrap_or(now)
}

/// Exit codes of the command-line contract.
pub use crate::exit::Exit;
use crate::format::{describe, local_time, rfc3339};
pub use args::{CashInArgs, InvoiceArgs, Money, PayArgs, Wait};

/// The exit code for an operation's state.
pub fn exit_for(op: &Operation) -> Exit {
    match op.state {
        State::Completed => Exit::Done,
        State::Declined | State::Rejected | State::Cancelled | State::Expired | State::Reversed => {
            Exit::Declined
        }
        State::Pending | State::Prepared | State::Held | State::Issued => Exit::Pending,
    }
}

/// One operation as `--json` prints it, the same shape from every command (docs/cli.schema.json,
/// `operation`). No secrets are in a row to begin with. The amount is a decimal with two
/// places and its currency's code; a row that moves no money (a card registration) has none.
pub fn op_json(op: &Operation) -> serde_json::Value {
    json!({
        "id": op.id,
        "kind": op.kind.tag(),
        "state": op.state.tag(),
        "needs_reconciliation": op.needs_reconciliation,
        "reconciliation_reason": op.recon_reason,
        "amount": amount_json(op.amount),
        "currency": op.amount.currency().code(),
        "customer": op.customer,
        "customer_name": op.customer_name,
        "provider_status": op.provider_status,
        "provider_message": op.provider_message,
        "provider_ref": op.shown_ref(),
        "detail": op.detail,
        "link": op.link,
        "message_key": op.message_key,
        "note": op.note,
        "operation_url": crate::flows::wooppay::operation_url(op),
        "attempts": op.attempts,
        "till": op.till,
        "created_at": rfc3339(op.created_at),
        "final_at": op.final_at.map(rfc3339),
    })
}

/// An amount as every `--json` shape has it: `"5000.00"`, or null for none.
pub fn amount_json(a: crate::money::Amount) -> serde_json::Value {
    if a.is_none() {
        serde_json::Value::Null
    } else {
        json!(crate::format::decimal(a.minor()))
    }
}

/// Adds the fields of `extra` (an object) to `v` (an object).
fn merge(v: &mut serde_json::Value, extra: serde_json::Value) {
    if let (Some(o), serde_json::Value::Object(e)) = (v.as_object_mut(), extra) {
        o.extend(e);
    }
}

/// kassa's own error, one shape everywhere (docs/cli.schema.json, `error`): `code` is a
/// stable catalogue key (or `duplicate`, `not_found`), `error` its text in the chosen
/// language; `extra` adds `id`, `sent`, `provider_status`, `provider_message`, `existing`.
/// Without `--json` the text goes to stderr.
pub fn print_error(json_out: bool, code: &str, text: &str, extra: serde_json::Value) {
    if json_out {
        let mut v = json!({"error": text, "code": code});
        merge(&mut v, extra);
        println!("{v}");
    } else {
        eprintln!("kassa: {text}");
    }
}

/// A lookup that found nothing (no such wallet, hold or Wooppay operation): one shape
/// (docs/cli.schema.json, `not_found`) and one exit code (2) whatever was looked up.
pub fn print_not_found(
    json_out: bool,
    target: &str,
    text: &str,
    provider_status: Option<String>,
    provider_message: Option<String>,
) -> Exit {
    if json_out {
        println!(
            "{}",
            json!({
                "found": false,
                "target": target,
                "code": "not_found",
                "error": text,
                "provider_status": provider_status,
                "provider_message": provider_message,
            })
        );
    } else if let Some(status) = &provider_status {
        // The provider's code and words first, as the provider's answers are shown
        // elsewhere, then kassa's.
        match &provider_message {
            Some(m) => println!("{target}: {status} · {m}"),
            None => println!("{target}: {status}"),
        }
        println!("{text}");
    } else {
        println!("{target}: {text}");
        if let Some(m) = &provider_message {
            println!("{m}");
        }
    }
    Exit::Declined
}

fn fail_usage(lang: Lang, json_out: bool, key: &str, args: &[(&str, &str)]) -> Exit {
    print_error(json_out, key, &tf(lang, key, args), json!({}));
    Exit::Usage
}

/// A trouble the worker reported before this command's row was written (its number could
/// not be had, the row could not be written, or the id is another operation's): nothing
/// was sent and nothing is pending (4), or the caller's id was wrong (1).
fn trouble_before_row(lang: Lang, json_out: bool, key: &str) -> Exit {
    print_error(
        json_out,
        key,
        t(lang, key),
        json!({"id": null, "sent": false}),
    );
    match key {
        "error.not_recorded" => Exit::NotSent,
        _ => Exit::Usage,
    }
}

/// Asks on the terminal; refuses when there is none.
fn confirm(lang: Lang, question: &str, json_out: bool) -> Result<bool, Exit> {
    if !std::io::stdin().is_terminal() {
        let key = "cli.no_terminal_to_confirm";
        print_error(
            json_out,
            key,
            t(lang, key),
            json!({"id": null, "sent": false}),
        );
        return Err(Exit::NotSent);
    }
    eprint!("{question} {} ", t(lang, "cli.yes_no"));
    let _ = std::io::stderr().flush();
    let mut line = String::new();
    if std::io::stdin().lock().read_line(&mut line).is_err() {
        return Ok(false);
    }
    Ok(matches!(
        line.trim().to_lowercase().as_str(),
        "y" | "yes" | "д" | "да"
    ))
}

/// Takes `--yes` or asks on the terminal; `Some(exit code)` when the answer is no or
/// cannot be had, and nothing may be sent (said on stdout under `--json`).
fn refused(lang: Lang, yes: bool, question: &str, json_out: bool) -> Option<Exit> {
    if yes {
        return None;
    }
    match confirm(lang, question, json_out) {
        Ok(true) => None,
        Ok(false) => {
            let key = "cli.cancelled";
            if json_out {
                print_error(true, key, t(lang, key), json!({"id": null, "sent": false}));
            } else {
                eprintln!("{}", t(lang, key));
            }
            Some(Exit::NotSent)
        }
        Err(code) => Some(code),
    }
}

/// `--id` named an operation already in the journal: follow it (never send a second one),
/// provided it is the same request.
async fn follow_known(
    lang: Lang,
    worker: &Worker,
    events: &mut UnboundedReceiver<Event>,
    op: &Operation,
    same_request: bool,
    w: &Wait,
) -> Exit {
    if !same_request {
        return fail_usage(lang, w.json, "cli.id_differs", &[("id", &op.id)]);
    }
    if !w.json {
        eprintln!("{}", tf(lang, "cli.following", &[("id", &op.id)]));
    }
    worker.send(Command::Follow { id: op.id.clone() });
    wait_for(lang, events, &op.id, w).await
}

/// The journal this process opened, to read a row again when a wait ends before the
/// operation does (`--no-wait`, `--timeout`): the row as it is then, in the usual shape.
static JOURNAL_AT: OnceLock<(crate::journal::Location, String)> = OnceLock::new();

/// The row `id` as the journal has it now, else as the worker last showed it.
fn row_now(id: &str, last: Option<&Operation>) -> Option<Operation> {
    JOURNAL_AT
        .get()
        .and_then(|(at, till)| Journal::open_at(at, till).ok())
        .and_then(|j| j.find(id).ok().flatten())
        .or_else(|| last.cloned())
}

/// Looks `id` up in the journal (a known id is followed, never sent again: rule 8), then
/// starts the worker on that journal.
fn open_for(
    settings: &Settings,
    journal: Journal,
    id: Option<&str>,
    json_out: bool,
) -> Result<(Option<Operation>, Worker, UnboundedReceiver<Event>), Exit> {
    let lang = settings.lang;
    let _ = JOURNAL_AT.set((settings.journal_location(), settings.till.clone()));
    let known = match id.map(|i| journal.find(i)).transpose() {
        Ok(k) => k.flatten(),
        Err(e) => {
            let error = e.to_string();
            return Err(fail_usage(
                lang,
                json_out,
                "error.journal_open",
                &[("error", &error)],
            ));
        }
    };
    match Worker::start(settings.clone(), journal) {
        Ok((worker, events)) => Ok((known, worker, events)),
        Err(e) => Err(fail_usage(
            lang,
            json_out,
            "error.http_client",
            &[("error", &e)],
        )),
    }
}

/// Fields a command adds to the operation it prints (a card registration's link).
type Extra = fn(&Operation) -> serde_json::Value;

/// No fields beyond the operation's own.
fn no_extra(_: &Operation) -> serde_json::Value {
    json!({})
}

/// Prints an operation: its one JSON object, or its line of text.
fn show_op(lang: Lang, op: &Operation, json_out: bool, extra: Extra) {
    if json_out {
        let mut v = op_json(op);
        merge(&mut v, extra(op));
        println!("{v}");
    } else {
        println!("{}", describe(lang, op));
    }
}

/// Waits for `id` to end (or for the first reply with `--no-wait`), printing progress on
/// stderr and the result on stdout.
async fn wait_for(lang: Lang, events: &mut UnboundedReceiver<Event>, id: &str, w: &Wait) -> Exit {
    wait_for_with(lang, events, id, w, exit_for, no_extra).await
}

/// As [`wait_for`], with the command's own idea of which state is success (a hold create
/// is done when `held`, a capture refused back to `held` is not) and of what it adds to
/// the operation's object.
async fn wait_for_with(
    lang: Lang,
    events: &mut UnboundedReceiver<Event>,
    id: &str,
    w: &Wait,
    exit_of: impl Fn(&Operation) -> Exit,
    extra: Extra,
) -> Exit {
    let deadline = deadline_after(w.timeout);
    // The row as the worker last showed it: what a timeout reports (an invoice issued is
    // issued, not "pending").
    let mut last: Option<Operation> = None;
    loop {
        let ev = tokio::select! {
            e = events.recv() => e,
            _ = tokio::time::sleep_until(deadline) => {
                return not_final(lang, id, last.as_ref(), w.json, extra);
            }
        };
        let Some(ev) = ev else {
            return not_final(lang, id, last.as_ref(), w.json, extra);
        };
        match &ev {
            Event::Recorded { op } | Event::Issued { op } if op.id == id => {
                last = Some(op.clone());
            }
            _ => {}
        }
        match ev {
            Event::Recorded { op } if op.id == id && !w.json => {
                eprintln!("{}", tf(lang, "cli.recorded", &[("id", &op.id)]));
            }
            Event::Progress {
                id: pid,
                kind,
                attempt,
                status,
                next_retry: Some(next),
                trouble,
                trouble_detail,
            } if pid == id => {
                if !w.json {
                    let mut why = trouble
                        .map(|k| tf(lang, k, &[("provider", crate::flows::provider_name(kind))]))
                        .or(status)
                        .unwrap_or_default();
                    if let Some(d) = trouble_detail {
                        why.push_str(&format!(": {d}"));
                    }
                    eprintln!(
                        "{}",
                        tf(
                            lang,
                            "cli.progress",
                            &[
                                ("attempt", &attempt.to_string()),
                                ("status", &why),
                                ("secs", &next.as_secs().max(1).to_string()),
                            ]
                        )
                    );
                }
                if w.no_wait {
                    return not_final(lang, id, last.as_ref(), w.json, extra);
                }
            }
            Event::Issued { op } if op.id == id && w.until_issued => {
                wooppay::print_issued(lang, &op, w.json);
                return Exit::Done;
            }
            Event::Finished { op } | Event::NeedsReconciliation { op } if op.id == id => {
                show_op(lang, &op, w.json, extra);
                return exit_of(&op);
            }
            Event::Duplicate {
                request: crate::flows::Request::CashIn(..),
                existing,
                ..
            }
            | Event::Duplicate {
                request: crate::flows::Request::Pay(..),
                existing,
                ..
            }
            | Event::Duplicate {
                request: crate::flows::Request::Webmoney(..),
                existing,
                ..
            }
            | Event::Duplicate {
                request: crate::flows::Request::Hold(..),
                existing,
                ..
            }
            | Event::Duplicate {
                request: crate::flows::Request::Wooppay(..),
                existing,
                ..
            } if existing.id != id => {
                let msg = tf(
                    lang,
                    "cli.duplicate",
                    &[
                        ("id", &existing.id),
                        (
                            "state",
                            t(lang, crate::flows::state_key(existing.kind, existing.state)),
                        ),
                        ("time", &local_time(existing.created_at)),
                    ],
                );
                print_error(
                    w.json,
                    "duplicate",
                    &msg,
                    json!({"id": null, "sent": false, "existing": op_json(&existing)}),
                );
                return Exit::NotSent;
            }
            Event::Trouble { id: Some(tid), key } if tid == id => {
                // Not written: nothing was sent, nothing is pending (4); an id the journal
                // has for another operation is the caller's mistake (1). Either way this
                // command's id is in no row of its own.
                let (code, extra) = match key {
                    "error.not_recorded" => (Exit::NotSent, json!({"id": null, "sent": false})),
                    "error.id_taken" => (Exit::Usage, json!({"id": null, "sent": false})),
                    _ => (Exit::Pending, json!({"id": id})),
                };
                print_error(w.json, key, t(lang, key), extra);
                return code;
            }
            _ => {}
        }
    }
}

/// The wait ended before the operation did (`--no-wait`, `--timeout`): the row as it is
/// now, in the shape of every operation; not final, so 3.
fn not_final(lang: Lang, id: &str, last: Option<&Operation>, json_out: bool, extra: Extra) -> Exit {
    match row_now(id, last) {
        Some(op) if json_out || op.state != State::Pending => show_op(lang, &op, json_out, extra),
        Some(_) => println!("{}", tf(lang, "cli.still_pending", &[("id", id)])),
        None => {
            let key = "cli.still_pending";
            if json_out {
                print_error(true, key, &tf(lang, key, &[("id", id)]), json!({"id": id}));
            } else {
                println!("{}", tf(lang, key, &[("id", id)]));
            }
        }
    }
    Exit::Pending
}
