//! The headless commands: the same worker and journal as the TUI, driven from the command
//! line, with DESIGN.md's exit codes (0 done, 2 declined/rejected, 3 pending or needs
//! reconciliation, 1 usage or configuration) and `--json` output.

use std::io::{BufRead, IsTerminal, Write};
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
mod journal;
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

/// One operation as `--json` prints it. No secrets are in a row to begin with.
pub fn op_json(op: &Operation) -> serde_json::Value {
    json!({
        "id": op.id,
        "kind": op.kind.tag(),
        "state": op.state.tag(),
        "needs_reconciliation": op.needs_reconciliation,
        "reconciliation_reason": op.recon_reason,
        "amount": op.amount.to_wire_decimal(),
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
        "created_at": rfc3339(op.created_at),
        "final_at": op.final_at.map(rfc3339),
    })
}

fn fail_usage(lang: Lang, json_out: bool, key: &str, args: &[(&str, &str)]) -> Exit {
    let msg = tf(lang, key, args);
    if json_out {
        println!("{}", json!({"error": msg, "code": key}));
    } else {
        eprintln!("kassa: {msg}");
    }
    Exit::Usage
}

/// Asks on the terminal; refuses when there is none.
fn confirm(lang: Lang, question: &str) -> Result<bool, Exit> {
    if !std::io::stdin().is_terminal() {
        eprintln!("kassa: {}", t(lang, "cli.no_terminal_to_confirm"));
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
/// cannot be had, and nothing may be sent.
fn refused(lang: Lang, yes: bool, question: &str) -> Option<Exit> {
    if yes {
        return None;
    }
    match confirm(lang, question) {
        Ok(true) => None,
        Ok(false) => {
            eprintln!("{}", t(lang, "cli.cancelled"));
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

/// Looks `id` up in the journal (a known id is followed, never sent again: rule 8), then
/// starts the worker on that journal.
fn open_for(
    settings: &Settings,
    journal: Journal,
    id: Option<&str>,
    json_out: bool,
) -> Result<(Option<Operation>, Worker, UnboundedReceiver<Event>), Exit> {
    let lang = settings.lang;
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

/// Waits for `id` to end (or for the first reply with `--no-wait`), printing progress on
/// stderr and the result on stdout.
async fn wait_for(lang: Lang, events: &mut UnboundedReceiver<Event>, id: &str, w: &Wait) -> Exit {
    wait_for_with(lang, events, id, w, exit_for).await
}

/// As [`wait_for`], with the command's own idea of which state is success (a hold create
/// is done when `held`, a capture refused back to `held` is not).
async fn wait_for_with(
    lang: Lang,
    events: &mut UnboundedReceiver<Event>,
    id: &str,
    w: &Wait,
    exit_of: impl Fn(&Operation) -> Exit,
) -> Exit {
    let deadline = deadline_after(w.timeout);
    // The row as the worker last showed it: what a timeout reports (an invoice issued is
    // issued, not "pending").
    let mut last: Option<Operation> = None;
    loop {
        let ev = tokio::select! {
            e = events.recv() => e,
            _ = tokio::time::sleep_until(deadline) => {
                return timed_out(lang, id, last.as_ref(), w.json);
            }
        };
        let Some(ev) = ev else {
            return timed_out(lang, id, last.as_ref(), w.json);
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
                    return finish_pending(lang, id, w.json);
                }
            }
            Event::Issued { op } if op.id == id && w.until_issued => {
                wooppay::print_issued(lang, &op, w.json);
                return Exit::Done;
            }
            Event::Finished { op } | Event::NeedsReconciliation { op } if op.id == id => {
                if w.json {
                    println!("{}", op_json(&op));
                } else {
                    println!("{}", describe(lang, &op));
                }
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
                if w.json {
                    println!(
                        "{}",
                        json!({"error": msg, "code": "duplicate", "existing": op_json(&existing)})
                    );
                } else {
                    eprintln!("kassa: {msg}");
                }
                return Exit::NotSent;
            }
            Event::Trouble { id: Some(tid), key } if tid == id => {
                let msg = t(lang, key);
                if w.json {
                    println!("{}", json!({"id": id, "error": msg, "code": key}));
                } else {
                    eprintln!("kassa: {msg}");
                }
                // Not written: nothing was sent, nothing is pending (4); an id the journal
                // has for another operation is the caller's mistake (1).
                return match key {
                    "error.not_recorded" => Exit::NotSent,
                    "error.id_taken" => Exit::Usage,
                    _ => Exit::Pending,
                };
            }
            _ => {}
        }
    }
}

fn finish_pending(lang: Lang, id: &str, json_out: bool) -> Exit {
    if json_out {
        println!(
            "{}",
            json!({"id": id, "state": "pending", "needs_reconciliation": false})
        );
    } else {
        println!("{}", tf(lang, "cli.still_pending", &[("id", id)]));
    }
    Exit::Pending
}

fn timed_out(lang: Lang, id: &str, last: Option<&Operation>, json_out: bool) -> Exit {
    match last {
        Some(op) if op.state != State::Pending => {
            if json_out {
                println!("{}", op_json(op));
            } else {
                println!("{}", describe(lang, op));
            }
            Exit::Pending
        }
        _ => finish_pending(lang, id, json_out),
    }
}
