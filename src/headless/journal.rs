//! `kassa journal list | show | resume`: the journal from the command line.

use serde_json::json;

use std::time::Duration;

use super::{Exit, Wait, deadline_after, exit_for, fail_usage, op_json};
use crate::config::Settings;
use crate::format::{describe, local_time, rfc3339};
use crate::i18n::{Lang, t, tf};
use crate::ids;
use crate::journal::{Journal, ListFilter};
use crate::worker::{Command, Event, Worker};

/// `kassa journal list`
pub fn journal_list(
    lang: Lang,
    journal: &Journal,
    pending: bool,
    till: Option<String>,
    json_out: bool,
) -> Exit {
    let rows = match journal.list(&ListFilter {
        pending_only: pending,
        limit: None,
        till,
    }) {
        Ok(r) => r,
        Err(e) => {
            return fail_usage(
                lang,
                json_out,
                "error.journal_open",
                &[("error", &e.to_string())],
            );
        }
    };
    if json_out {
        let v: Vec<_> = rows.iter().map(op_json).collect();
        println!("{}", json!({ "operations": v }));
    } else {
        for op in &rows {
            println!("{}  {}", local_time(op.created_at), describe(lang, op));
        }
    }
    Exit::Done
}

/// `kassa journal show ID`
pub fn journal_show(lang: Lang, journal: &Journal, id: &str, json_out: bool) -> Exit {
    // As typed first (an rrn), then as a GUID typed without braces or in capitals.
    let id = match journal.find(id.trim()) {
        Ok(Some(_)) => id.trim().to_string(),
        _ => ids::parse_guid(id).unwrap_or_else(|| id.to_string()),
    };
    let (op, events) = match journal
        .get(&id)
        .and_then(|op| Ok((op, journal.events(&id)?)))
    {
        Ok(x) => x,
        Err(_) => return fail_usage(lang, json_out, "error.not_found_id", &[("id", &id)]),
    };
    if json_out {
        let mut v = op_json(&op);
        v["events"] = events
            .iter()
            .map(|e| json!({"at": rfc3339(e.at), "kind": e.kind, "detail": e.detail}))
            .collect();
        println!("{v}");
    } else {
        println!("{}", describe(lang, &op));
        for (label, value) in crate::format::explanations(lang, &op) {
            println!("  {}: {value}", t(lang, label));
        }
        for e in &events {
            println!("  {}  {:<9} {}", local_time(e.at), e.kind, e.detail);
        }
    }
    exit_for(&op)
}

/// `kassa journal resume`: drives every pending row until all are final or need a person.
pub async fn journal_resume(settings: &Settings, journal: Journal, w: Wait) -> Exit {
    let lang = settings.lang;
    let (worker, mut events) = match Worker::start(settings.clone(), journal) {
        Ok(x) => x,
        Err(e) => return fail_usage(lang, w.json, "error.http_client", &[("error", &e)]),
    };
    worker.send(Command::ResumeAll);
    let deadline = deadline_after(w.timeout);
    let mut tick = tokio::time::interval(Duration::from_millis(300));
    let mut last = (u32::MAX, 0u32);
    let mut resumed = false;
    loop {
        tokio::select! {
            _ = tokio::time::sleep_until(deadline) => break,
            _ = tick.tick() => worker.send(Command::Count),
            e = events.recv() => match e {
                Some(Event::Finished { op }) if !w.json => println!("{}", describe(lang, &op)),
                Some(Event::NeedsReconciliation { op }) if !w.json => {
                    println!("{}", describe(lang, &op));
                }
                Some(Event::Resuming { .. }) => resumed = true,
                Some(Event::Counts { pending, recon, active }) => {
                    last = (pending, recon);
                    // Done when only rows that wait for a person are left and this process
                    // sends nothing (rows another process holds still count as pending).
                    if resumed && pending == recon && active == 0 {
                        break;
                    }
                }
                Some(_) => {}
                None => break,
            },
        }
    }
    let (pending, recon) = last;
    worker.stop().await;
    if w.json {
        println!(
            "{}",
            json!({"pending": pending, "needs_reconciliation": recon})
        );
    } else {
        println!(
            "{}",
            tf(
                lang,
                "cli.resume_done",
                &[
                    ("pending", &pending.to_string()),
                    ("recon", &recon.to_string())
                ]
            )
        );
    }
    if pending == 0 {
        Exit::Done
    } else {
        Exit::Pending
    }
}

/// `kassa worker`: drives every pending row this configuration can send until the
/// operating system asks it to stop (Ctrl+C, SIGTERM), claiming again every few seconds
/// the rows a till left (a till off, a lease run out). Rows in flight at the stop stay
/// pending, with their leases let go, for the next process.
pub async fn worker(settings: &Settings, journal: Journal, json_out: bool) -> Exit {
    let lang = settings.lang;
    let till = journal.till().to_string();
    let (worker, mut events) = match Worker::start(settings.clone(), journal) {
        Ok(x) => x,
        Err(e) => return fail_usage(lang, json_out, "error.http_client", &[("error", &e)]),
    };
    eprintln!("{}", tf(lang, "cli.worker_started", &[("till", &till)]));
    let mut stop = crate::app::stop::Stop::new();
    let mut rescan = tokio::time::interval(WORKER_RESCAN);
    loop {
        tokio::select! {
            _ = tokio::signal::ctrl_c() => break,
            why = stop.recv() => {
                tracing::info!(why, "worker asked to stop");
                break;
            }
            _ = rescan.tick() => worker.send(Command::ResumeAll),
            e = events.recv() => match e {
                Some(Event::Finished { op } | Event::NeedsReconciliation { op }) => {
                    if json_out {
                        println!("{}", op_json(&op));
                    } else {
                        println!("{}", describe(lang, &op));
                    }
                }
                Some(_) => {}
                None => break,
            },
        }
    }
    worker.stop().await;
    eprintln!("{}", t(lang, "cli.worker_stopped"));
    Exit::Done
}

/// How often `kassa worker` claims again the rows nobody drives.
const WORKER_RESCAN: Duration = Duration::from_secs(5);

/// `kassa journal resolve ID (--to completed|declined|cancelled | --provider-id REF) --note
/// TEXT`: a person's finding for a row that waits for them, with the same rules as the
/// detail screen's `m`. With the provider's id the row comes back into its lifecycle (a
/// UPay hold held, a Wooppay invoice issued and followed, an X1 invoice completed).
pub async fn journal_resolve(
    settings: &Settings,
    journal: Journal,
    id: &str,
    to: Option<&str>,
    provider_ref: Option<&str>,
    note: &str,
    json_out: bool,
) -> Exit {
    let lang = settings.lang;
    let note = note.trim();
    if note.is_empty() {
        return fail_usage(lang, json_out, "resolve.note_needed", &[]);
    }
    let command = match (to, provider_ref) {
        (Some(to), None) => {
            let state = match to.trim() {
                "completed" => crate::journal::State::Completed,
                "declined" => crate::journal::State::Declined,
                "cancelled" => crate::journal::State::Cancelled,
                _ => return fail_usage(lang, json_out, "resolve.bad_outcome", &[]),
            };
            Command::ResolveManually {
                id: id.to_string(),
                to: state,
                note: note.to_string(),
            }
        }
        (None, Some(r)) => Command::ResumeWithRef {
            id: id.to_string(),
            provider_ref: r.to_string(),
            note: note.to_string(),
        },
        _ => return fail_usage(lang, json_out, "resolve.bad_outcome", &[]),
    };
    if journal.find(id).ok().flatten().is_none() {
        return fail_usage(lang, json_out, "error.not_found_id", &[("id", id)]);
    }
    let (worker, mut events) = match Worker::start(settings.clone(), journal) {
        Ok(x) => x,
        Err(e) => return fail_usage(lang, json_out, "error.http_client", &[("error", &e)]),
    };
    worker.send(command);
    let code = loop {
        match events.recv().await {
            Some(Event::Finished { op } | Event::Issued { op }) if op.id == id => {
                if json_out {
                    println!("{}", op_json(&op));
                } else {
                    println!("{}", describe(lang, &op));
                }
                // The person's word is recorded: done, whatever state it led to.
                break Exit::Done;
            }
            Some(Event::Trouble { key, .. }) => break fail_usage(lang, json_out, key, &[]),
            Some(_) => {}
            None => break Exit::Usage,
        }
    };
    worker.stop().await;
    code
}
