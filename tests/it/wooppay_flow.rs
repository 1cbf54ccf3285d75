//! Wooppay invoices end to end against the emulator over loopback: the worker's journal rows
//! (referenceId committed first, issued with its link, paid, declined, deleted, expired,
//! reversed), the documented errors (rejected, pending, 221 for reconciliation), the
//! session renewed once, unknown statuses, the WSDL served instead of a reply, and the
//! `kassa wooppay` commands with their exit codes.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common;

use common::{Harness, kassa, kzt, wait_for, write_config};
use kassa::config::Secret;
use kassa::flows::wooppay::{WpInvoice, default_death_date, operation_url};
use kassa::journal::{Operation, State};
use kassa::providers::wooppay::codec::Variant;
use kassa::worker::{Command, Event, Trouble, Worker};
use tokio::sync::mpsc::UnboundedReceiver;

fn invoice(amount: &str) -> WpInvoice {
    WpInvoice {
        reference_id: kassa::ids::new_reference_id(),
        variant: Variant::Plain,
        amount: kzt(amount),
        description: "test sale".into(),
        phone: String::new(),
        email: String::new(),
        service: String::new(),
        death_date: default_death_date(60),
        back_url: String::new(),
        request_url: String::new(),
        add_info: String::new(),
        card_forbidden: false,
        sms_code: None,
    }
}

async fn start(worker: &Worker, inv: WpInvoice) -> String {
    let id = inv.reference_id.clone();
    worker.send(Command::Start {
        request: kassa::flows::Request::Wooppay(inv),
        allow_duplicate: true,
    });
    id
}

async fn issued(events: &mut UnboundedReceiver<Event>, id: &str) -> Operation {
    let id = id.to_string();
    wait_for(events, 20, |e| match e {
        Event::Issued { op } if op.id == id => Some(op),
        Event::Finished { op } | Event::NeedsReconciliation { op } if op.id == id => {
            panic!("ended before it was issued: {op:?}")
        }
        _ => None,
    })
    .await
}

async fn ended(events: &mut UnboundedReceiver<Event>, id: &str) -> Operation {
    let id = id.to_string();
    wait_for(events, 30, |e| match e {
        Event::Finished { op } | Event::NeedsReconciliation { op } if op.id == id => Some(op),
        _ => None,
    })
    .await
}

#[tokio::test]
async fn a_plain_invoice_is_issued_with_its_link_then_paid() {
    let h = Harness::start().await;
    let (worker, mut events) = h.worker();
    let id = start(&worker, invoice("1 500")).await;
    let op = issued(&mut events, &id).await;
    assert_eq!(op.state, State::Issued);
    let url = operation_url(&op).unwrap().to_string();
    assert!(url.starts_with("https://www.test.wooppay.com/invoice/operation?id="));
    assert!(url.contains("&key="), "{url}");
    let operation_id = op.provider_ref.clone().unwrap();
    let op = ended(&mut events, &id).await;
    assert_eq!(op.state, State::Completed);
    assert_eq!(op.provider_status.as_deref(), Some("status 4"));
    assert_eq!(operation_url(&op), Some(url.as_str()), "the link stays");
    let j = h.journal();
    let trail = j.events(&id).unwrap();
    assert_eq!(trail[0].kind, "created", "committed before the first byte");
    assert!(
        trail
            .iter()
            .any(|e| e.kind == "record" && e.detail.contains("fee 0.00"))
    );
    let ledger = h.emulator.wooppay_ledger().unwrap();
    assert_eq!(ledger.invoices.len(), 1);
    assert_eq!(ledger.invoices[0].reference_id, id);
    assert_eq!(ledger.invoices[0].operation_id.to_string(), operation_id);
    assert!(
        !ledger.invoices[0].death_date.is_empty(),
        "every invoice gets a deathDate"
    );
    worker.stop().await;
}

#[tokio::test]
async fn card_service_and_mobile_variants() {
    let h = Harness::start().await;
    let (worker, mut events) = h.worker();
    let mut card = invoice("100");
    card.variant = Variant::Card;
    card.phone = "77765431515".into();
    card.email = "a@b.kz".into();
    card.card_forbidden = true;
    let mut service = invoice("200");
    service.variant = Variant::Service;
    service.service = "merchViktor_invoice2".into();
    for inv in [card, service] {
        let id = start(&worker, inv).await;
        assert_eq!(ended(&mut events, &id).await.state, State::Completed);
    }
    // Mobile: the code is asked for once, then read out by the customer.
    worker.send(Command::WooppayRequestCode {
        phone: "77012345678".into(),
    });
    let r = wait_for(&mut events, 10, |e| match e {
        Event::WooppayCode { result, .. } => Some(result),
        _ => None,
    })
    .await;
    assert_eq!(r, Ok(()));
    let mut mobile = invoice("300");
    mobile.variant = Variant::Mobile;
    mobile.phone = "77012345678".into();
    mobile.sms_code = Some(Secret::new("5678".into()));
    let id = start(&worker, mobile).await;
    assert_eq!(ended(&mut events, &id).await.state, State::Completed);
    let ledger = h.emulator.wooppay_ledger().unwrap();
    assert_eq!(ledger.invoices[0].card_forbidden, "1");
    assert_eq!(ledger.invoices[0].service_type, "4");
    assert_eq!(ledger.invoices[1].service_name, "merchViktor_invoice2");
    assert_eq!(ledger.invoices[2].service_type, "2");
    assert_eq!(ledger.code_requests.len(), 1);
    // The SMS code is in no row of the journal (the phone ends with the same digits).
    let j = h.journal();
    let row = j.get(&id).unwrap();
    let params: serde_json::Value = serde_json::from_str(&row.params.unwrap()).unwrap();
    assert_eq!(params["add_info"], "");
    let text = params.to_string().replace("77012345678", "");
    assert!(!text.contains("5678"), "{text}");
    worker.stop().await;
}

#[tokio::test]
async fn a_wrong_sms_code_is_rejected_and_the_code_request_is_never_repeated() {
    let h = Harness::start().await;
    let (worker, mut events) = h.worker();
    worker.send(Command::WooppayRequestCode {
        phone: "77000000222".into(),
    });
    let r = wait_for(&mut events, 10, |e| match e {
        Event::WooppayCode { result, .. } => Some(result),
        _ => None,
    })
    .await;
    assert_eq!(r, Err(kassa::worker::wooppay::WpFailure::Code(222)));
    let mut mobile = invoice("300");
    mobile.variant = Variant::Mobile;
    mobile.phone = "77012345678".into();
    mobile.sms_code = Some(Secret::new("0000".into()));
    let id = start(&worker, mobile).await;
    let op = ended(&mut events, &id).await;
    assert_eq!(op.state, State::Rejected);
    assert_eq!(op.provider_status.as_deref(), Some("error 223"));
    assert_eq!(op.message_key.as_deref(), Some("wooppay.err.223"));
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert_eq!(h.emulator.wooppay_ledger().unwrap().code_requests.len(), 1);
    worker.stop().await;
}

#[tokio::test]
async fn declined_deleted_and_reversed() {
    let h = Harness::start().await;
    let (worker, mut events) = h.worker();
    for (amount, want, status) in [
        ("100.03", State::Declined, "status 3"),
        ("100.07", State::Cancelled, "status 7"),
        ("100.06", State::Reversed, "status 6"),
    ] {
        let id = start(&worker, invoice(amount)).await;
        issued(&mut events, &id).await;
        let op = ended(&mut events, &id).await;
        assert_eq!(op.state, want, "{amount}");
        assert_eq!(op.provider_status.as_deref(), Some(status));
    }
    worker.stop().await;
}

#[tokio::test]
async fn a_paid_invoice_later_reported_reversed_is_recorded_as_such() {
    let h = Harness::start().await;
    let (worker, mut events) = h.worker();
    let id = start(&worker, invoice("100.05")).await;
    let op = ended(&mut events, &id).await;
    assert_eq!(op.state, State::Completed);
    let operation_id: i64 = op.provider_ref.unwrap().parse().unwrap();
    worker.send(Command::WooppayStatus { operation_id });
    let (result, op) = wait_for(&mut events, 10, |e| match e {
        Event::WooppayStatus { result, op, .. } => Some((result, op)),
        _ => None,
    })
    .await;
    assert_eq!(result.unwrap().status, Some(5));
    let op = op.unwrap();
    assert_eq!(op.state, State::Reversed);
    let trail = h.journal().events(&id).unwrap();
    assert!(
        trail
            .iter()
            .any(|e| e.detail.contains("completed -> reversed"))
    );
    worker.stop().await;
}

#[tokio::test]
async fn statuses_8_9_and_unknown_stay_issued() {
    let h = Harness::start().await;
    let (worker, mut events) = h.worker();
    let mut ids = Vec::new();
    for amount in ["100.08", "100.09", "100.11"] {
        let id = start(&worker, invoice(amount)).await;
        issued(&mut events, &id).await;
        ids.push(id);
    }
    let unknown = ids[2].clone();
    let trouble = wait_for(&mut events, 20, |e| match e {
        Event::Progress {
            id,
            trouble: Some(t),
            trouble_detail,
            ..
        } if id == unknown => Some((t, trouble_detail)),
        _ => None,
    })
    .await;
    assert_eq!(trouble, ("send.unknown_status", Some("11".to_string())));
    tokio::time::sleep(std::time::Duration::from_millis(800)).await;
    let j = h.journal();
    for id in &ids {
        assert_eq!(j.get(id).unwrap().state, State::Issued, "{id}");
    }
    worker.stop().await;
}

#[tokio::test]
async fn only_an_invoice_nobody_is_paying_expires_by_its_death_date() {
    let h = Harness::start().await;
    let (worker, mut events) = h.worker();
    let past = (chrono::Local::now() - chrono::Duration::minutes(10))
        .format("%Y-%m-%d %H:%M:%S")
        .to_string();
    // Status 1 (new, nothing in progress) past its deathDate and the margin: expired.
    let mut inv = invoice("100");
    inv.death_date = past.clone();
    let id = start(&worker, inv).await;
    let op = ended(&mut events, &id).await;
    assert_eq!(op.state, State::Expired);
    // Status 8 (a payment in progress), however late: never closed by kassa's clock.
    let mut inv = invoice("100.08");
    inv.death_date = past;
    let id = start(&worker, inv).await;
    for _ in 0..4 {
        wait_for(&mut events, 10, |e| match e {
            Event::Progress {
                id: pid,
                next_retry: Some(_),
                ..
            } if pid == id => Some(()),
            _ => None,
        })
        .await;
    }
    let op = h.journal().get(&id).unwrap();
    assert_eq!(op.state, State::Issued, "{op:?}");
    assert_eq!(op.provider_status.as_deref(), Some("status 8"));
    worker.stop().await;
}

#[tokio::test]
async fn server_errors_stay_pending_and_are_never_rejected() {
    let h = Harness::start().await;
    let (worker, mut events) = h.worker();
    for amount in ["3.01", "113.01", "801.01"] {
        let id = start(&worker, invoice(amount)).await;
        let (attempt, trouble, detail) = wait_for(&mut events, 10, |e| match e {
            Event::Progress {
                id: pid,
                attempt,
                trouble: Some(t),
                trouble_detail,
                ..
            } if pid == id && attempt >= 2 => Some((attempt, t, trouble_detail)),
            _ => None,
        })
        .await;
        assert!(attempt >= 2);
        assert_eq!(trouble, "send.provider_error");
        assert!(detail.unwrap().contains(&amount[..amount.len() - 3]));
        let op = h.journal().get(&id).unwrap();
        assert_eq!(op.state, State::Pending, "{amount}");
    }
    worker.stop().await;
}

#[tokio::test]
async fn validation_errors_are_rejected() {
    let h = Harness::start().await;
    let (worker, mut events) = h.worker();
    for (amount, code) in [("215.01", 215), ("411.01", 411), ("214.01", 214)] {
        let id = start(&worker, invoice(amount)).await;
        let op = ended(&mut events, &id).await;
        assert_eq!(op.state, State::Rejected, "{amount}");
        assert_eq!(op.provider_status, Some(format!("error {code}")));
    }
    worker.stop().await;
}

#[tokio::test]
async fn error_221_without_an_operation_id_needs_reconciliation() {
    let h = Harness::start().await;
    let (worker, mut events) = h.worker();
    let id = start(&worker, invoice("221.01")).await;
    let op = ended(&mut events, &id).await;
    assert_eq!(op.state, State::Pending);
    assert!(op.needs_reconciliation);
    assert_eq!(op.recon_reason.as_deref(), Some("recon.wooppay_exists"));
    worker.stop().await;
}

#[tokio::test]
async fn a_lost_reply_is_never_a_second_invoice() {
    let h = Harness::start().await;
    let (worker, mut events) = h.worker();
    // .52: the emulator keeps the invoice, then resets the connection; the repeat with the
    // same referenceId gets 221 and the row waits for a person.
    let id = start(&worker, invoice("100.52")).await;
    let op = ended(&mut events, &id).await;
    assert!(op.needs_reconciliation);
    assert_eq!(op.recon_reason.as_deref(), Some("recon.wooppay_exists"));
    let ledger = h.emulator.wooppay_ledger().unwrap();
    assert_eq!(ledger.invoices.len(), 1);
    assert_eq!(ledger.invoices[0].creates, 2);
    worker.stop().await;
}

#[tokio::test]
async fn an_expired_session_is_renewed_invisibly() {
    let h = Harness::start().await;
    let (worker, mut events) = h.worker();
    let id = start(&worker, invoice("607.01")).await;
    assert_eq!(ended(&mut events, &id).await.state, State::Completed);
    assert_eq!(h.emulator.wooppay_ledger().unwrap().logins, 2);
    worker.stop().await;
}

#[tokio::test]
async fn the_wsdl_instead_of_a_reply_leaves_the_invoice_pending() {
    let mut h = Harness::start().await;
    h.settings.wooppay.url = h.settings.wooppay.url.replace("?ws=1", "");
    let (worker, mut events) = h.worker();
    let id = start(&worker, invoice("100")).await;
    let trouble = wait_for(&mut events, 10, |e| match e {
        Event::Progress {
            id: pid,
            trouble: Some(t),
            ..
        } if pid == id => Some(t),
        _ => None,
    })
    .await;
    assert_eq!(
        trouble,
        Trouble::Send(kassa::providers::SendError::OutcomeUnknown(String::new())).message_key()
    );
    assert_eq!(h.journal().get(&id).unwrap().state, State::Pending);
    assert!(h.emulator.wooppay_ledger().unwrap().invoices.is_empty());
    worker.stop().await;
}

#[tokio::test]
async fn balance_from_the_worker() {
    let h = Harness::start().await;
    let (worker, mut events) = h.worker();
    worker.send(Command::WooppayBalance);
    let r = wait_for(&mut events, 10, |e| match e {
        Event::WooppayBalance { result } => Some(result),
        _ => None,
    })
    .await;
    assert_eq!(r, Ok(1_742_150));
    worker.stop().await;
}

// The command line.

fn config(h: &Harness) -> String {
    write_config(h.dir.path(), &h.emulator.base_url())
        .display()
        .to_string()
}

#[tokio::test]
async fn cli_invoice_issued_then_paid_and_status_and_balance() {
    let h = Harness::start().await;
    let cfg = config(&h);
    let run = kassa(&[
        "--config",
        &cfg,
        "wooppay",
        "invoice",
        "--amount",
        "1 500",
        "--description",
        "coffee",
        "--yes",
        "--json",
    ])
    .await;
    assert_eq!(run.code, 0, "{run:?}");
    let v = run.json();
    assert_eq!(v["state"], "issued");
    assert!(v["operation_url"].as_str().unwrap().contains("&key="));
    let operation_id = v["provider_ref"].as_str().unwrap().to_string();
    let id = v["id"].as_str().unwrap().to_string();
    // The same --id again: followed, never a second invoice.
    let run = kassa(&[
        "--config",
        &cfg,
        "wooppay",
        "invoice",
        "--amount",
        "1500",
        "--description",
        "coffee",
        "--id",
        &id,
        "--wait-paid",
        "--yes",
        "--json",
    ])
    .await;
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(run.json()["state"], "completed");
    assert_eq!(h.emulator.wooppay_ledger().unwrap().invoices.len(), 1);
    let run = kassa(&[
        "--config",
        &cfg,
        "wooppay",
        "status",
        &operation_id,
        "--json",
    ])
    .await;
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(run.json()["provider_status"], "4");
    assert_eq!(run.json()["state"], "completed");
    let run = kassa(&["--config", &cfg, "wooppay", "balance", "--json"]).await;
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(run.json()["balance"], "18921.50");
    let run = kassa(&["--config", &cfg, "wooppay", "balance"]).await;
    assert!(run.stdout.contains("18 921,50 ₸"), "{run:?}");
}

#[tokio::test]
async fn cli_variants_codes_and_exit_codes() {
    let h = Harness::start().await;
    let cfg = config(&h);
    let run = kassa(&[
        "--config",
        &cfg,
        "wooppay",
        "request-code",
        "--phone",
        "+7 701 234 56 78",
    ])
    .await;
    assert_eq!(run.code, 0, "{run:?}");
    let run = kassa(&[
        "--config",
        &cfg,
        "wooppay",
        "invoice",
        "--amount",
        "300",
        "--variant",
        "mobile",
        "--phone",
        "77012345678",
        "--sms-code",
        "5678",
        "--yes",
        "--json",
    ])
    .await;
    assert_eq!(run.code, 0, "{run:?}");
    let run = kassa(&[
        "--config",
        &cfg,
        "wooppay",
        "request-code",
        "--phone",
        "77000000225",
        "--json",
    ])
    .await;
    assert_eq!(run.code, 2, "{run:?}");
    assert_eq!(run.json()["provider_status"], "225");
    // Declined while waiting for payment: 2. A server error: still pending, 3.
    let run = kassa(&[
        "--config",
        &cfg,
        "wooppay",
        "invoice",
        "--amount",
        "100.03",
        "--wait-paid",
        "--yes",
    ])
    .await;
    assert_eq!(run.code, 2, "{run:?}");
    let run = kassa(&[
        "--config",
        &cfg,
        "wooppay",
        "invoice",
        "--amount",
        "3.01",
        "--timeout",
        "2",
        "--yes",
        "--json",
    ])
    .await;
    assert_eq!(run.code, 3, "{run:?}");
    let run = kassa(&[
        "--config",
        &cfg,
        "wooppay",
        "invoice",
        "--amount",
        "100",
        "--variant",
        "service",
        "--service",
        "merchViktor_invoice2",
        "--yes",
        "--new",
    ])
    .await;
    assert_eq!(run.code, 0, "{run:?}");
    assert!(
        run.stdout
            .contains("https://www.test.wooppay.com/invoice/operation?id=")
    );
    let run = kassa(&[
        "--config",
        &cfg,
        "wooppay",
        "invoice",
        "--amount",
        "100",
        "--variant",
        "card",
        "--yes",
        "--new",
        "--json",
    ])
    .await;
    assert_eq!(run.code, 0, "{run:?}");
}

#[tokio::test]
async fn cli_bad_input_is_refused_before_anything_is_sent() {
    let h = Harness::start().await;
    let cfg = config(&h);
    for args in [
        vec!["--amount", "0"],
        vec!["--amount", "12.345"],
        vec!["--amount", "100", "--variant", "crypto"],
        vec![
            "--amount",
            "100",
            "--variant",
            "mobile",
            "--phone",
            "77012345678",
        ],
        vec![
            "--amount",
            "100",
            "--variant",
            "mobile",
            "--sms-code",
            "1234",
        ],
        vec!["--amount", "100", "--phone", "12345"],
        vec!["--amount", "100", "--email", "not-an-email"],
        vec!["--amount", "100", "--variant", "service"],
        vec!["--amount", "100", "--sms-code", "1234"],
        vec!["--amount", "100", "--death-date", "2001-01-01 10:00"],
        vec!["--amount", "100", "--death-date", "tomorrow"],
        vec!["--amount", "100", "--id", "bad id!"],
    ] {
        let mut all = vec![
            "--config",
            cfg.as_str(),
            "wooppay",
            "invoice",
            "--yes",
            "--json",
        ];
        all.extend(args.iter().copied());
        let run = kassa(&all).await;
        assert_eq!(run.code, 1, "{args:?}: {run:?}");
        assert!(run.json()["code"].as_str().is_some());
    }
    let run = kassa(&["--config", &cfg, "wooppay", "status", "abc"]).await;
    assert_eq!(run.code, 1);
    let run = kassa(&["--config", &cfg, "wooppay", "status", "999", "--json"]).await;
    assert_eq!(run.code, 2, "{run:?}");
    assert!(h.emulator.wooppay_ledger().unwrap().invoices.is_empty());
    assert!(h.journal().list(&Default::default()).unwrap().is_empty());
}

#[tokio::test]
async fn cli_without_a_password_is_a_configuration_error() {
    let h = Harness::start().await;
    let cfg = config(&h);
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_kassa"))
        .args(["--config", &cfg, "wooppay", "balance"])
        .env("HOME", std::env::temp_dir())
        .env_remove("KASSA_TEST_WOOPPAY_PASSWORD")
        .output()
        .await
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("KASSA_TEST_WOOPPAY_PASSWORD"));
}

#[tokio::test]
async fn an_issued_invoice_is_followed_again_after_a_restart() {
    let h = Harness::start().await;
    let (worker, mut events) = h.worker();
    let id = start(&worker, invoice("100")).await;
    issued(&mut events, &id).await;
    worker.stop().await;
    drop(events);
    let (worker, mut events) = h.worker();
    worker.send(Command::ResumeAll);
    let op = ended(&mut events, &id).await;
    assert_eq!(op.state, State::Completed);
    assert_eq!(h.emulator.wooppay_ledger().unwrap().invoices.len(), 1);
    worker.stop().await;
}

#[tokio::test]
async fn a_create_cut_off_by_a_stop_is_never_created_twice_after_the_restart() {
    let h = Harness::start().await;
    let (worker, mut events) = h.worker();
    // .53: the emulator keeps the invoice and answers late; kassa stops meanwhile.
    let id = start(&worker, invoice("100.53")).await;
    wait_for(&mut events, 10, |e| match e {
        Event::Progress { id: pid, .. } if pid == id => Some(()),
        _ => None,
    })
    .await;
    worker.stop().await;
    drop(events);
    assert_eq!(h.journal().get(&id).unwrap().state, State::Pending);
    let (worker, mut events) = h.worker();
    worker.send(Command::ResumeAll);
    let op = ended(&mut events, &id).await;
    assert!(op.needs_reconciliation, "{op:?}");
    assert_eq!(op.recon_reason.as_deref(), Some("recon.wooppay_exists"));
    assert_eq!(h.emulator.wooppay_ledger().unwrap().invoices.len(), 1);
    worker.stop().await;
}

/// Each invoice's status queries so far, as the emulator counts them (one per
/// `cash_getOperationData` naming it), by operationId.
fn status_queries(h: &Harness, operation_id: &str) -> u32 {
    let ledger = h.emulator.wooppay_ledger().unwrap();
    let inv = ledger
        .invoices
        .iter()
        .find(|i| i.operation_id.to_string() == operation_id)
        .unwrap();
    assert_eq!(inv.creates, 1, "{operation_id} created once, never again");
    inv.polls
}

/// The rows a requestUrl call finished, collected until the worker's handling of it ends
/// (it answers with the journal's counts last).
async fn finished_by_the_call(
    events: &mut UnboundedReceiver<Event>,
) -> std::collections::HashMap<String, Operation> {
    let mut finished = std::collections::HashMap::new();
    while let Some(op) = wait_for(events, 10, |e| match e {
        Event::Finished { op } => Some(Some(op)),
        Event::Counts { .. } => Some(None),
        _ => None,
    })
    .await
    {
        finished.insert(op.id.clone(), op);
    }
    finished
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_url_call_only_triggers_a_status_check() {
    use std::time::{Duration, Instant};
    // The emulator settles an invoice at its first status query: what that query answers
    // is what the row becomes.
    let mut h = Harness::start_with(kassa::emulator::Options {
        pending_polls: 0,
        ..common::test_options()
    })
    .await;
    // The driver's own first status poll of an issued invoice comes 4 to 6 s after the
    // issue (the status poll cap, 5 s, with jitter): until then every status query the
    // emulator sees is the notification's.
    h.settings.poll_initial = Duration::from_secs(10);
    h.settings.poll_max = Duration::from_secs(10);
    let bound = kassa::callbacks::bind("127.0.0.1:0").await.unwrap();
    let (worker, mut events) = h.worker();
    let listener = kassa::callbacks::serve(bound, &h.settings.upay, worker.commands()).unwrap();
    let notify = format!("http://{}/wooppay/request", listener.addr);
    let http = kassa::providers::http_client(Duration::from_secs(2)).unwrap();

    // Three issued invoices: Wooppay will answer paid (4), declined (3), in progress (8).
    let t0 = Instant::now();
    let mut rows = Vec::new();
    for amount in ["100", "100.03", "100.08"] {
        let id = start(&worker, invoice(amount)).await;
        let op = issued(&mut events, &id).await;
        rows.push((id, op.provider_ref.unwrap()));
    }
    let [(paid, paid_ref), (declined, declined_ref), (open, open_ref)] = rows.try_into().unwrap();
    let j = h.journal();
    for (id, r) in [
        (&paid, &paid_ref),
        (&declined, &declined_ref),
        (&open, &open_ref),
    ] {
        assert_eq!(j.get(id).unwrap().state, State::Issued, "{id}");
        assert_eq!(status_queries(&h, r), 0, "no status query before the call");
    }
    let open_trail = j.events(&open).unwrap().len();

    // Wooppay calls the requestUrl: one status query for every issued invoice, and each
    // row moves as its answer says.
    let r = http.post(&notify).body("id=1").send().await.unwrap();
    assert_eq!(r.status().as_u16(), 200);
    assert_eq!(r.text().await.unwrap(), r#"{"data":1}"#);
    // Well before the driver's own poll could come.
    let deadline = t0 + Duration::from_secs(3);
    for r in [&paid_ref, &declined_ref, &open_ref] {
        while status_queries(&h, r) == 0 {
            assert!(
                Instant::now() < deadline,
                "{r}: no status query after the requestUrl call"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
    let finished = finished_by_the_call(&mut events).await;
    let mut moved: Vec<&String> = finished.keys().collect();
    moved.sort();
    let mut want = vec![&paid, &declined];
    want.sort();
    assert_eq!(
        moved, want,
        "the paid and the declined invoices, nothing else"
    );
    let in_time = t0.elapsed() < Duration::from_secs(4);
    for r in [&paid_ref, &declined_ref, &open_ref] {
        assert_eq!(
            status_queries(&h, r),
            1,
            "{r}: one status query, the notification's (in time: {in_time})"
        );
    }
    let op = j.get(&paid).unwrap();
    assert_eq!(op.state, State::Completed);
    assert_eq!(op.provider_status.as_deref(), Some("status 4"));
    assert_eq!(finished[&paid].state, State::Completed);
    let op = j.get(&declined).unwrap();
    assert_eq!(op.state, State::Declined);
    assert_eq!(op.provider_status.as_deref(), Some("status 3"));
    assert_eq!(finished[&declined].state, State::Declined);
    // Status 8, in progress: the row stays issued, untouched.
    let op = j.get(&open).unwrap();
    assert_eq!(op.state, State::Issued);
    assert_eq!(j.events(&open).unwrap().len(), open_trail, "nothing noted");

    // A second call, as bare as the first (no body, GET): only the invoice still issued is
    // asked about, and its answer moves nothing.
    let r = http.get(&notify).send().await.unwrap();
    assert_eq!(r.status().as_u16(), 200);
    let finished = finished_by_the_call(&mut events).await;
    assert!(finished.is_empty(), "{finished:?}");
    let in_time = t0.elapsed() < Duration::from_secs(4);
    assert_eq!(status_queries(&h, &open_ref), 2, "in time: {in_time}");
    assert_eq!(
        status_queries(&h, &paid_ref),
        1,
        "a completed row is not asked about"
    );
    assert_eq!(status_queries(&h, &declined_ref), 1, "nor a declined one");
    assert_eq!(j.get(&paid).unwrap().state, State::Completed);
    assert_eq!(j.get(&declined).unwrap().state, State::Declined);
    assert_eq!(j.get(&open).unwrap().state, State::Issued);
    assert_eq!(j.events(&open).unwrap().len(), open_trail, "nothing noted");
    assert_eq!(h.emulator.wooppay_ledger().unwrap().invoices.len(), 3);
    listener.stop();
    worker.stop().await;
}
