//! UPay end to end over loopback: card registration with its 3-D Secure link and signed
//! notification, holds created, captured once however often the capture is repeated,
//! cancelled, refused, "in process", faults; the command line; kill -9 during a capture;
//! and what the journal and the log keep of a card (masked number, never the CVV).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common;

use std::time::Duration;

use common::{Harness, kassa, wait_for, write_config};
use kassa::flows::upay::{CardInput, HoldInput, hold_params};
use kassa::journal::{Kind, ListFilter, Operation, State};
use kassa::money::{Amount, Currency};
use kassa::providers::upay::codec::CheckBy;
use kassa::worker::upay::{CardTarget, HoldAction};
use kassa::worker::{Command, Event, Worker};
use tokio::sync::mpsc::UnboundedReceiver;
use zeroize::Zeroizing;

const PAN: &str = "4111111111111111";
const CVV: &str = "987";

fn card(number: &str) -> CardInput {
    CardInput {
        number: Zeroizing::new(number.into()),
        expiry: "1230".into(),
        cvv: Zeroizing::new(CVV.into()),
        holder: "TONY SAPAY".into(),
        phone: "998911902494".into(),
    }
}

fn uzs(text: &str) -> Amount {
    Amount::parse(text, Currency::Uzs).unwrap()
}

async fn settled(events: &mut UnboundedReceiver<Event>, id: &str) -> Operation {
    let id = id.to_string();
    wait_for(events, 30, |e| match e {
        Event::Finished { op } | Event::NeedsReconciliation { op } if op.id == id => Some(op),
        _ => None,
    })
    .await
}

/// Registers a card and confirms it the way the customer would (GET of the link).
async fn confirmed_card(
    h: &Harness,
    worker: &Worker,
    events: &mut UnboundedReceiver<Event>,
) -> String {
    worker.send(Command::RegisterCard { card: card(PAN) });
    let id = wait_for(events, 10, |e| match e {
        Event::Recorded { op } => Some(op.id),
        _ => None,
    })
    .await;
    let op = settled(events, &id).await;
    assert_eq!(op.state, State::Issued);
    let url = op.link.clone().unwrap();
    assert!(url.starts_with(&h.emulator.base_url()));
    let http = kassa::providers::http_client(Duration::from_secs(2)).unwrap();
    assert_eq!(http.get(&url).send().await.unwrap().status().as_u16(), 200);
    worker.send(Command::ConfirmCard {
        target: CardTarget::Id(id.clone()),
        confirmed: true,
        note: "cashier saw it".into(),
    });
    let op = settled(events, &id).await;
    assert_eq!(op.state, State::Completed);
    op.provider_ref.unwrap()
}

fn hold(token: &str, account: &str, amount: &str) -> HoldInput {
    HoldInput {
        id: None,
        card_token: token.into(),
        service_id: 628,
        account: account.into(),
        amount: uzs(amount),
        minutes: 60,
    }
}

async fn place(worker: &Worker, events: &mut UnboundedReceiver<Event>, h: HoldInput) -> Operation {
    worker.send(Command::Start {
        request: kassa::flows::Request::Hold(h),
        allow_duplicate: true,
    });
    let id = wait_for(events, 10, |e| match e {
        Event::HoldNumbered { hold } => hold.id,
        _ => None,
    })
    .await;
    settled(events, &id).await
}

async fn act(
    worker: &Worker,
    events: &mut UnboundedReceiver<Event>,
    id: &str,
    action: HoldAction,
) -> Operation {
    worker.send(Command::ActOnHold {
        id: id.into(),
        action,
        expected: None,
    });
    settled(events, id).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn register_hold_capture_and_cancel_with_the_journal_keeping_up() {
    let h = Harness::start().await;
    let (worker, mut events) = h.worker();
    let token = confirmed_card(&h, &worker, &mut events).await;

    let held = place(&worker, &mut events, hold(&token, "112312", "1 000")).await;
    assert_eq!(held.state, State::Held);
    let hold_id = held.provider_ref.clone().unwrap();
    assert_eq!(held.amount.minor(), 100_000, "1 000 sum is 100000 tiyin");

    let captured = act(&worker, &mut events, &held.id, HoldAction::Capture).await;
    assert_eq!(captured.state, State::Completed);
    let trx = hold_params(&captured).unwrap().partner_trx_id.unwrap();
    assert!(
        captured
            .detail
            .as_deref()
            .unwrap()
            .contains("TransactionId")
    );

    // A cancel of a captured hold is refused before anything is sent.
    worker.send(Command::ActOnHold {
        id: held.id.clone(),
        action: HoldAction::Cancel,
        expected: None,
    });
    let key = wait_for(&mut events, 10, |e| match e {
        Event::Trouble { key, .. } => Some(key),
        _ => None,
    })
    .await;
    assert_eq!(key, "upay.hold_not_held");

    // A check by the capture's PartnerTrxId finds it captured.
    worker.send(Command::CheckHold {
        by: CheckBy::PartnerTrxId,
        target: trx.clone(),
    });
    let answer = wait_for(&mut events, 10, |e| match e {
        Event::HoldChecked { answer } => Some(answer),
        _ => None,
    })
    .await;
    assert_eq!(answer.code, "OK");
    assert_eq!(answer.op.unwrap().id, held.id);

    let second = place(&worker, &mut events, hold(&token, "112313", "500")).await;
    let cancelled = act(&worker, &mut events, &second.id, HoldAction::Cancel).await;
    assert_eq!(cancelled.state, State::Cancelled);

    let ledger = h.emulator_holds().await;
    assert_eq!(ledger.len(), 2);
    assert_eq!(ledger[0]["hold_id"], hold_id.as_str());
    assert_eq!(ledger[0]["state"], "captured");
    assert_eq!(ledger[0]["partner_trx_id"], trx.as_str());
    assert_eq!(ledger[1]["state"], "cancelled");
    worker.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn in_process_is_checked_refusals_stay_held_and_declines_hold_nothing() {
    let h = Harness::start().await;
    let (worker, mut events) = h.worker();
    let token = confirmed_card(&h, &worker, &mut events).await;

    // STPIMS-ERR-065 with a HoldId: checked by HoldId, never re-created. The check answers
    // OK without payment fields (document 004): UPay knows the hold, which does not make it
    // held; a person looks it up.
    let op = place(&worker, &mut events, hold(&token, "065", "10")).await;
    assert_eq!(op.state, State::Pending);
    assert!(op.needs_reconciliation);
    assert_eq!(
        op.recon_reason.as_deref(),
        Some("recon.upay_hold_unconfirmed")
    );
    assert!(op.attempts >= 2, "create, then a check: {}", op.attempts);

    // A refused capture leaves the hold held, with UPay's words.
    let op = place(&worker, &mut events, hold(&token, "041", "10")).await;
    let refused = act(&worker, &mut events, &op.id, HoldAction::Capture).await;
    assert_eq!(refused.state, State::Held);
    assert_eq!(refused.provider_status.as_deref(), Some("STPIMS-ERR-043"));

    // An unknown card: "ERR - fail", nothing held.
    let op = place(&worker, &mut events, hold("no-such-token", "1", "10")).await;
    assert_eq!(op.state, State::Declined);
    assert_eq!(op.provider_status.as_deref(), Some("STPIMS-ERR-020"));

    let ledger = h.emulator_holds().await;
    assert_eq!(
        ledger.len(),
        2,
        "065 once, 041 once, nothing for the unknown card"
    );
    worker.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn faults_at_create_need_a_person_and_faults_at_capture_are_retried_with_one_trx() {
    let h = Harness::start().await;
    let (worker, mut events) = h.worker();
    let token = confirmed_card(&h, &worker, &mut events).await;

    // Tiyin .52: the emulator places the hold, then resets the connection. The create
    // carries no id of ours: never re-sent, a person looks it up.
    for (amount, fault) in [
        ("10.51", "500"),
        ("10.52", "reset"),
        ("10.54", "malformed"),
        ("10.55", "fault"),
        ("10.56", "unknown"),
        ("10.57", "truncated"),
    ] {
        let op = place(&worker, &mut events, hold(&token, "7", amount)).await;
        assert_eq!(op.state, State::Pending, "{fault}");
        assert!(op.needs_reconciliation, "{fault}");
        assert_eq!(op.attempts, 1, "{fault}: sent once");
    }
    assert_eq!(
        h.emulator_holds().await.len(),
        6,
        "each placed exactly once"
    );

    // A capture whose reply is lost is sent again with the same PartnerTrxId: one capture.
    let op = place(&worker, &mut events, hold(&token, "8", "20")).await;
    h.emulator.queue_faults("reset,500,truncated").unwrap();
    let captured = act(&worker, &mut events, &op.id, HoldAction::Capture).await;
    assert_eq!(captured.state, State::Completed);
    assert!(captured.attempts >= 5, "create + 3 lost captures + 1");
    let ledger = h.emulator_holds().await;
    let row = ledger.last().unwrap();
    assert_eq!(row["state"], "captured");
    assert_eq!(row["captures"], 4, "four requests, one capture");
    worker.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signed_notifications_confirm_cards_and_trigger_checks_bad_ones_change_nothing() {
    let mut h = Harness::start_with(emulator_confirming()).await;
    let bound = kassa::callbacks::bind("127.0.0.1:0").await.unwrap();
    let notify = format!("http://{}/upay/notify", bound.addr);
    h.settings.upay.notify_url = notify.clone();
    let (worker, mut events) = h.worker();
    let listener = kassa::callbacks::serve(bound, &h.settings.upay, worker.commands()).unwrap();

    // A forged notification for a card: 403, nothing moves.
    worker.send(Command::RegisterCard { card: card(PAN) });
    let id = wait_for(&mut events, 10, |e| match e {
        Event::Recorded { op } => Some(op.id),
        _ => None,
    })
    .await;
    let op = settled(&mut events, &id).await;
    assert_eq!(op.state, State::Issued);
    let token = op.provider_ref.clone().unwrap();
    let http = kassa::providers::http_client(Duration::from_secs(2)).unwrap();
    let forged = http
        .post(&notify)
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body(format!("cardToken={token}&status=0&accessToken=0000"))
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status().as_u16(), 403);
    assert_eq!(h.journal().get(&id).unwrap().state, State::Issued);

    // The emulator's customer confirms after a moment; its signed notification (form
    // encoded, as the document's) confirms the card.
    let op = settled(&mut events, &id).await;
    assert_eq!(op.state, State::Completed);

    // A hold's notification is a hint: a check follows (JSON accepted too).
    // The notification may overtake the create's reply: take both events in any order.
    worker.send(Command::Start {
        request: kassa::flows::Request::Hold(hold(&token, "5", "10")),
        allow_duplicate: true,
    });
    let (mut held, mut checked) = (None, None);
    while held.is_none() || checked.is_none() {
        match wait_for(&mut events, 10, Some).await {
            Event::Finished { op } if op.kind == Kind::UpayHold => held = Some(op),
            Event::HoldChecked { answer } => checked = Some(answer),
            _ => {}
        }
    }
    let (held, answer) = (held.unwrap(), checked.unwrap());
    let hold_id = held.provider_ref.clone().unwrap();
    assert_eq!(held.state, State::Held);
    assert_eq!(answer.target, hold_id);
    // Document 004's HoldId check: the Result alone, "UPay knows this hold".
    assert_eq!(answer.status, Some(kassa::flows::upay::HoldStatus::Known));
    let bad = http
        .post(&notify)
        .body(format!(
            r#"{{"holdId":"{hold_id}","status":0,"accessToken":"deadbeef"}}"#
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status().as_u16(), 403);
    listener.stop();
    worker.stop().await;
}

/// 3-D Secure that fails gives a declined registration through its notification.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_three_ds_declines_the_card_and_a_declined_card_is_declined() {
    let mut h = Harness::start_with(emulator_confirming()).await;
    let bound = kassa::callbacks::bind("127.0.0.1:0").await.unwrap();
    h.settings.upay.notify_url = format!("http://{}/upay/notify", bound.addr);
    let (worker, mut events) = h.worker();
    let listener = kassa::callbacks::serve(bound, &h.settings.upay, worker.commands()).unwrap();
    worker.send(Command::RegisterCard {
        card: card(kassa::emulator::upay::THREE_DS_FAILS),
    });
    let id = wait_for(&mut events, 10, |e| match e {
        Event::Recorded { op } => Some(op.id),
        _ => None,
    })
    .await;
    assert_eq!(settled(&mut events, &id).await.state, State::Issued);
    assert_eq!(settled(&mut events, &id).await.state, State::Declined);

    worker.send(Command::RegisterCard {
        card: card(kassa::emulator::upay::DECLINED_CARD),
    });
    let id = wait_for(&mut events, 10, |e| match e {
        Event::Recorded { op } => Some(op.id),
        _ => None,
    })
    .await;
    let op = settled(&mut events, &id).await;
    assert_eq!(op.state, State::Declined);
    assert_eq!(op.customer, "400000******0002", "masked six and four");
    listener.stop();
    worker.stop().await;
}

fn emulator_confirming() -> kassa::emulator::Options {
    kassa::emulator::Options {
        upay_confirm_after: Some(Duration::from_millis(300)),
        ..common::test_options()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_command_line_registers_holds_captures_and_refuses_bad_input() {
    let h = Harness::start().await;
    let config = write_config(h.dir.path(), &h.emulator.base_url());
    let cfg = config.display().to_string();

    // The card number and CVV never come as arguments: without --stdin and a terminal,
    // nothing is sent.
    let r = kassa(&[
        "--config",
        &cfg,
        "upay",
        "register-card",
        "--expiry",
        "12/30",
        "--phone",
        "998911902494",
        "--holder",
        "Tony Sapay",
        "--yes",
    ])
    .await;
    assert_eq!(r.code, 1, "{r:?}");
    assert!(r.stderr.contains("--stdin"), "{}", r.stderr);

    for (stdin, key) in [
        ("4111 1111 1111 1112\n987\n", "check digit"),
        ("4111111111111111\n98\n", "CVV"),
        ("\n", "card number"),
    ] {
        let r = common::kassa_stdin(
            &[
                "--config",
                &cfg,
                "upay",
                "register-card",
                "--expiry",
                "12/30",
                "--phone",
                "998911902494",
                "--holder",
                "Tony Sapay",
                "--stdin",
                "--yes",
            ],
            stdin,
        )
        .await;
        assert_eq!(r.code, 1, "{r:?}");
        assert!(r.stderr.contains(key), "{key}: {}", r.stderr);
    }
    for (flag, value, key) in [
        ("--expiry", "10/20", "expired"),
        ("--expiry", "13/30", "month"),
        ("--phone", "77071234567", "998"),
        ("--holder", "Тони", "Latin"),
    ] {
        let mut args = vec![
            "--config",
            &cfg,
            "upay",
            "register-card",
            "--expiry",
            "12/30",
            "--phone",
            "998911902494",
            "--holder",
            "Tony Sapay",
            "--stdin",
            "--yes",
        ];
        let at = args.iter().position(|a| *a == flag).unwrap();
        args[at + 1] = value;
        let r = common::kassa_stdin(&args, "4111111111111111\n987\n").await;
        assert_eq!(r.code, 1, "{flag} {value}: {r:?}");
        assert!(r.stderr.contains(key), "{flag}: {}", r.stderr);
    }
    assert!(h.emulator_holds().await.is_empty());

    let r = common::kassa_stdin(
        &[
            "--config",
            &cfg,
            "upay",
            "register-card",
            "--expiry",
            "12/30",
            "--phone",
            "+998 91 190 24 94",
            "--holder",
            "Tony Sapay",
            "--stdin",
            "--yes",
            "--json",
        ],
        "4111 1111 1111 1111\n987\n",
    )
    .await;
    assert_eq!(r.code, 0, "{r:?}");
    let v = r.json();
    let card_id = v["id"].as_str().unwrap().to_string();
    let url = v["confirm_url"].as_str().unwrap().to_string();
    assert!(!r.stdout.contains(PAN));
    let http = kassa::providers::http_client(Duration::from_secs(2)).unwrap();
    http.get(&url).send().await.unwrap();

    // The hold names the card by its journal id: the token is never typed or shown.
    let r = kassa(&[
        "--config",
        &cfg,
        "upay",
        "hold",
        "create",
        "--card-token",
        &card_id,
        "--account",
        "112312",
        "--amount",
        "1 000",
        "--minutes",
        "30",
        "--yes",
        "--json",
    ])
    .await;
    assert_eq!(r.code, 0, "held is done: {r:?}");
    let v = r.json();
    assert_eq!(v["state"], "held");
    let hold_id = v["provider_ref"].as_str().unwrap().to_string();

    let r = kassa(&[
        "--config",
        &cfg,
        "upay",
        "hold",
        "capture",
        "--hold-id",
        &hold_id,
        "--yes",
        "--json",
    ])
    .await;
    assert_eq!(r.code, 0, "{r:?}");
    assert_eq!(r.json()["state"], "completed");
    // Capturing again finds it captured: nothing is sent.
    let r = kassa(&[
        "--config",
        &cfg,
        "upay",
        "hold",
        "capture",
        "--hold-id",
        &hold_id,
        "--yes",
    ])
    .await;
    assert_eq!(r.code, 0, "{r:?}");
    let r = kassa(&[
        "--config",
        &cfg,
        "upay",
        "hold",
        "cancel",
        "--hold-id",
        &hold_id,
        "--yes",
    ])
    .await;
    assert_eq!(r.code, 2, "a captured hold is not cancelled: {r:?}");
    let r = kassa(&[
        "--config",
        &cfg,
        "upay",
        "hold",
        "check",
        "--hold-id",
        &hold_id,
        "--json",
    ])
    .await;
    assert_eq!(r.code, 0, "{r:?}");
    assert_eq!(r.json()["operation"]["state"], "completed");
    let r = kassa(&[
        "--config",
        &cfg,
        "upay",
        "hold",
        "capture",
        "--hold-id",
        "12x",
        "--yes",
    ])
    .await;
    assert_eq!(r.code, 1);
    let r = kassa(&[
        "--config",
        &cfg,
        "upay",
        "hold",
        "capture",
        "--hold-id",
        "999",
        "--yes",
    ])
    .await;
    // A HoldId in no row is asked about at UPay first; UPay does not know it: nothing
    // journaled, nothing sent, UPay's words shown (a hold placed elsewhere would be acted on).
    assert_eq!(r.code, 2, "{r:?}");
    assert!(r.stdout.contains("999: STPIMS-ERR-040"), "{r:?}");

    let ledger = h.emulator_holds().await;
    assert_eq!(ledger.len(), 1);
    assert_eq!(ledger[0]["captures"], 1);

    // Hygiene: the journal file and the log hold the card masked, never its number, the
    // CVV, the password or the partner key.
    let mut files = vec![h.dir.path().join("kassa.db")];
    for e in std::fs::read_dir(h.dir.path()).unwrap() {
        let p = e.unwrap().path();
        let name = p.file_name().unwrap().to_string_lossy().to_string();
        if name.starts_with("kassa.log") || name.starts_with("kassa.db-") {
            files.push(p);
        }
    }
    let mut saw_mask = false;
    for f in &files {
        let bytes = std::fs::read(f).unwrap();
        let text = String::from_utf8_lossy(&bytes);
        for secret in [
            PAN,
            kassa::emulator::upay::DEMO_PASSWORD,
            kassa::emulator::upay::DEMO_PARTNER_KEY,
            "CardCVV",
        ] {
            assert!(!text.contains(secret), "{} holds {secret}", f.display());
        }
        assert!(
            !common::standalone(&text, CVV),
            "{} holds the CVV as a number of its own",
            f.display()
        );
        saw_mask |= text.contains("411111******1111");
    }
    assert!(saw_mask, "the masked number is kept");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_during_a_capture_then_restart_captures_exactly_once() {
    let h = Harness::start().await;
    let (worker, mut events) = h.worker();
    let token = confirmed_card(&h, &worker, &mut events).await;
    let held = place(&worker, &mut events, hold(&token, "9", "30")).await;
    worker.stop().await;
    drop(events);
    let hold_id = held.provider_ref.clone().unwrap();
    let config = write_config(h.dir.path(), &h.emulator.base_url());

    // The capture is recorded by the emulator, whose reply then comes late: kill meanwhile.
    h.emulator.queue_faults("slow").unwrap();
    let mut child = common::kassa_child(&[
        "--config",
        &config.display().to_string(),
        "upay",
        "hold",
        "capture",
        "--hold-id",
        &hold_id,
        "--yes",
    ]);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let ledger = h.emulator_holds().await;
        if ledger[0]["state"] == "captured" {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the capture never arrived"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    child.kill().await.unwrap();
    let _ = child.wait().await;
    let row = h.journal().get(&held.id).unwrap();
    assert_eq!(row.state, State::Pending);
    let trx = hold_params(&row).unwrap().partner_trx_id.unwrap();

    let r = kassa(&[
        "--config",
        &config.display().to_string(),
        "journal",
        "resume",
        "--json",
    ])
    .await;
    assert_eq!(r.code, 0, "{r:?}");
    let row = h.journal().get(&held.id).unwrap();
    assert_eq!(row.state, State::Completed);
    assert_eq!(hold_params(&row).unwrap().partner_trx_id.unwrap(), trx);
    let ledger = h.emulator_holds().await;
    assert_eq!(ledger[0]["state"], "captured");
    assert_eq!(
        ledger[0]["partner_trx_id"],
        trx.as_str(),
        "the same PartnerTrxId"
    );
    assert!(ledger[0]["captures"].as_u64().unwrap() >= 2);
    let holds: Vec<_> = h
        .journal()
        .list(&ListFilter::default())
        .unwrap()
        .into_iter()
        .filter(|o| o.kind == Kind::UpayHold)
        .collect();
    assert_eq!(holds.len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wooppay_request_url_call_only_triggers_a_status_check() {
    let h = Harness::start().await;
    let bound = kassa::callbacks::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/wooppay/request", bound.addr);
    let (worker, mut events) = h.worker();
    let listener = kassa::callbacks::serve(bound, &h.settings.upay, worker.commands()).unwrap();
    let http = kassa::providers::http_client(Duration::from_secs(2)).unwrap();
    let r = http.get(&url).send().await.unwrap();
    assert_eq!(r.status().as_u16(), 200);
    assert_eq!(r.text().await.unwrap(), r#"{"data":1}"#);
    // Another path is UPay's: a body naming neither a hold nor a card is refused.
    let r = http
        .post(format!("http://{}/upay", listener.addr))
        .body("x=1")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 400);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(
        events.try_recv().is_err() || h.journal().list(&ListFilter::default()).unwrap().is_empty()
    );
    listener.stop();
    worker.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replayed_valid_notification_only_triggers_checks() {
    use sha1::{Digest, Sha1};
    let mut h = Harness::start().await;
    let bound = kassa::callbacks::bind("127.0.0.1:0").await.unwrap();
    let notify = format!("http://{}/upay/notify", bound.addr);
    h.settings.upay.notify_url = notify.clone();
    let (worker, mut events) = h.worker();
    let listener = kassa::callbacks::serve(bound, &h.settings.upay, worker.commands()).unwrap();
    let token = confirmed_card(&h, &worker, &mut events).await;
    let held = place(&worker, &mut events, hold(&token, "6", "10")).await;
    let hold_id = held.provider_ref.clone().unwrap();
    let sig: String = Sha1::digest(
        format!(
            "{}{}{hold_id}",
            kassa::emulator::upay::DEMO_USERNAME,
            kassa::emulator::upay::DEMO_PASSWORD
        )
        .as_bytes(),
    )
    .iter()
    .map(|b| format!("{b:02x}"))
    .collect();
    let http = kassa::providers::http_client(Duration::from_secs(2)).unwrap();
    // Status "captured" in a valid notification, twice: only checks, and the check says held.
    for _ in 0..2 {
        let r = http
            .post(&notify)
            .header("Content-Type", "application/x-www-form-urlencoded")
            .body(format!(
                "holdId={hold_id}&status=0&message=Captured&accessToken={sig}"
            ))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), 200);
        // (The emulator's own "held" notification may race the create's reply and find no
        // row yet; the replays find it.)
        let answer = wait_for(&mut events, 10, |e| match e {
            Event::HoldChecked { answer } if answer.target == hold_id && answer.op.is_some() => {
                Some(answer)
            }
            _ => None,
        })
        .await;
        assert_eq!(answer.op.unwrap().state, State::Held);
    }
    assert_eq!(h.journal().get(&held.id).unwrap().state, State::Held);
    assert_eq!(h.emulator_holds().await.last().unwrap()["state"], "held");
    listener.stop();
    worker.stop().await;
}

// ------------------------------------------------------------------------------------------
// Through the command line: what a capture's reply and a check may and may not decide.

/// `kassa --config CFG ARGS...`
async fn cli(cfg: &str, args: &[&str]) -> common::Run {
    let mut all = vec!["--config", cfg];
    all.extend_from_slice(args);
    kassa(&all).await
}

/// A card registered through the command line and confirmed by the customer: its journal
/// id (what `hold create --card-token` takes).
pub(crate) async fn cli_card(cfg: &str) -> String {
    let r = common::kassa_stdin(
        &[
            "--config",
            cfg,
            "upay",
            "register-card",
            "--expiry",
            "12/30",
            "--phone",
            "998911902494",
            "--holder",
            "Tony Sapay",
            "--stdin",
            "--yes",
            "--json",
        ],
        "4111 1111 1111 1111\n987\n",
    )
    .await;
    assert_eq!(r.code, 0, "{r:?}");
    let v = r.json();
    let http = kassa::providers::http_client(Duration::from_secs(2)).unwrap();
    let url = v["confirm_url"].as_str().unwrap();
    assert_eq!(http.get(url).send().await.unwrap().status().as_u16(), 200);
    v["id"].as_str().unwrap().to_string()
}

/// A hold placed through the command line: its journal id and HoldId.
pub(crate) async fn cli_hold(
    cfg: &str,
    card: &str,
    account: &str,
    minutes: &str,
) -> (String, String) {
    let r = cli(
        cfg,
        &[
            "upay",
            "hold",
            "create",
            "--card-token",
            card,
            "--account",
            account,
            "--amount",
            "1 000",
            "--minutes",
            minutes,
            "--yes",
            "--new",
            "--json",
        ],
    )
    .await;
    assert_eq!(r.code, 0, "{account}: {r:?}");
    let v = r.json();
    assert_eq!(v["state"], "held");
    (
        v["id"].as_str().unwrap().to_string(),
        v["provider_ref"].as_str().unwrap().to_string(),
    )
}

async fn cli_act(cfg: &str, action: &str, hold_id: &str) -> common::Run {
    cli(
        cfg,
        &[
            "upay",
            "hold",
            action,
            "--hold-id",
            hold_id,
            "--yes",
            "--json",
        ],
    )
    .await
}

/// Moves a row's creation `minutes` into the past, as if its hold had been placed then
/// (the journal's clock is the only one a hold's minutes are counted by), plus the grace
/// kassa gives UPay's clock before it takes a hold for expired.
pub(crate) fn backdate(h: &Harness, id: &str, minutes: i64) {
    let c = rusqlite::Connection::open(&h.settings.journal_path).unwrap();
    let n = c
        .execute(
            "UPDATE operations SET created_at = created_at - ?2 WHERE id = ?1",
            rusqlite::params![id, minutes * 60_000 + kassa::flows::upay::EXPIRY_GRACE_MS],
        )
        .unwrap();
    assert_eq!(n, 1);
}

pub(crate) fn trail(h: &Harness, id: &str) -> String {
    h.journal()
        .events(id)
        .unwrap()
        .into_iter()
        .map(|e| format!("{}: {}", e.kind, e.detail))
        .collect::<Vec<_>>()
        .join("\n")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_capture_of_another_sum_waits_for_a_person_with_both_sums() {
    let h = Harness::start().await;
    let cfg = write_config(h.dir.path(), &h.emulator.base_url());
    let cfg = cfg.display().to_string();
    let card = cli_card(&cfg).await;

    // Account 042: UPay captures 100 tiyin less than the hold, and its PaymentAmount says so.
    let (id, hold_id) = cli_hold(&cfg, &card, "042", "60").await;
    let r = cli_act(&cfg, "capture", &hold_id).await;
    assert_eq!(r.code, 3, "never a plain success: {r:?}");
    let v = r.json();
    assert_eq!(v["state"], "pending");
    assert_eq!(v["needs_reconciliation"], true);
    assert_eq!(
        v["reconciliation_reason"],
        "recon.upay_captured_other_amount"
    );
    assert!(
        v["detail"]
            .as_str()
            .unwrap()
            .contains("PaymentAmount 99900"),
        "{v}"
    );
    let trail = trail(&h, &id);
    assert!(
        trail.contains("held 100000 tiyin, UPay says captured 99900"),
        "{trail}"
    );
    let ledger = h.emulator_holds().await;
    assert_eq!(ledger[0]["captures"], 1, "one capture, not repeated");

    // A person's row is not driven again: resuming leaves it waiting, exit 3.
    let r = cli(&cfg, &["journal", "resume", "--json"]).await;
    assert_eq!(r.code, 3, "{r:?}");
    let row = h.journal().get(&id).unwrap();
    assert_eq!(row.state, State::Pending);
    assert!(row.needs_reconciliation);
    assert_eq!(h.emulator_holds().await[0]["captures"], 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_capture_reply_with_two_codes_that_disagree_is_unknown_and_asked_again() {
    let h = Harness::start().await;
    let cfg = write_config(h.dir.path(), &h.emulator.base_url());
    let cfg = cfg.display().to_string();
    let card = cli_card(&cfg).await;

    // Account 046: the first capture reply says `OK` and `STPIMS-ERR-043`, the second the
    // same two the other way round. Read by its first code, the first would be captured at
    // once; read as a refusal, the second would end in a check that finds the payment.
    // Unknown both times, the capture is sent a third time with the same PartnerTrxId.
    let (id, hold_id) = cli_hold(&cfg, &card, "046", "60").await;
    let r = cli_act(&cfg, "capture", &hold_id).await;
    assert_eq!(r.code, 0, "{r:?}");
    assert_eq!(r.json()["state"], "completed");
    assert_eq!(r.json()["provider_status"], "OK");
    let ledger = h.emulator_holds().await;
    assert_eq!(
        ledger[0]["captures"], 3,
        "neither two-code reply was believed"
    );
    assert_eq!(ledger[0]["state"], "captured");
    let trail = trail(&h, &id);
    assert!(trail.contains("OK / STPIMS-ERR-043"), "{trail}");
    assert!(trail.contains("STPIMS-ERR-043 / OK"), "{trail}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_repeat_of_a_lost_capture_is_checked_by_its_partner_trx_id() {
    let h = Harness::start().await;
    let cfg = write_config(h.dir.path(), &h.emulator.base_url());
    let cfg = cfg.display().to_string();
    let card = cli_card(&cfg).await;

    // Account 044: the capture is made, its reply lost (reset); the repeat (same
    // PartnerTrxId) is refused as "already captured". The check by PartnerTrxId finds the
    // payment: captured, though the hold's minutes are long past.
    let (id, hold_id) = cli_hold(&cfg, &card, "044", "1").await;
    backdate(&h, &id, 5);
    h.emulator.queue_faults("reset").unwrap();
    let r = cli_act(&cfg, "capture", &hold_id).await;
    assert_eq!(r.code, 0, "{r:?}");
    let v = r.json();
    assert_eq!(v["state"], "completed");
    assert!(
        v["detail"]
            .as_str()
            .unwrap()
            .contains("PaymentAmount 100000"),
        "{v}"
    );
    let trx = hold_params(&h.journal().get(&id).unwrap())
        .unwrap()
        .partner_trx_id
        .unwrap();
    let ledger = h.emulator_holds().await;
    assert_eq!(ledger[0]["captures"], 2);
    assert_eq!(ledger[0]["partner_trx_id"], trx.as_str());

    // The two checks as document 004 has them: by PartnerTrxId the payment, by HoldId the
    // Result alone, which says nothing of a capture.
    let r = cli(
        &cfg,
        &["upay", "hold", "check", "--partner-trx-id", &trx, "--json"],
    )
    .await;
    assert_eq!(r.code, 0, "{r:?}");
    let v = r.json();
    assert_eq!(v["status"], "captured");
    assert_eq!(v["amount"], "1000.00");
    let r = cli(
        &cfg,
        &["upay", "hold", "check", "--hold-id", &hold_id, "--json"],
    )
    .await;
    assert_eq!(r.code, 0, "{r:?}");
    let v = r.json();
    assert_eq!(v["provider_status"], "OK");
    assert_eq!(v["amount"], serde_json::Value::Null);
    assert_eq!(v["status"], "known", "{v}");
    assert!(
        v["status_text"].as_str().unwrap().contains("known to UPay"),
        "{v}"
    );
    assert_eq!(v["operation"]["state"], "completed");

    // Account 041: the capture is refused, and that refusal is lost (reset); the repeat is
    // refused too and no payment has its PartnerTrxId. The first send's outcome is not
    // known: a person looks. Never held again, never expired by the clock.
    let (id, hold_id) = cli_hold(&cfg, &card, "041", "1").await;
    backdate(&h, &id, 5);
    h.emulator.queue_faults("reset").unwrap();
    let r = cli_act(&cfg, "capture", &hold_id).await;
    assert_eq!(r.code, 3, "{r:?}");
    let v = r.json();
    assert_eq!(v["state"], "pending");
    assert_eq!(v["needs_reconciliation"], true);
    assert_eq!(v["reconciliation_reason"], "recon.upay_refused_repeat");
    assert_eq!(v["provider_status"], "STPIMS-ERR-043");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_a_hold_never_captured_or_cancelled_expires_by_its_minutes() {
    let h = Harness::start().await;
    let cfg = write_config(h.dir.path(), &h.emulator.base_url());
    let cfg = cfg.display().to_string();
    let card = cli_card(&cfg).await;

    // No capture or cancel was ever sent: past its minutes, a check finds it expired.
    let (id, hold_id) = cli_hold(&cfg, &card, "81", "1").await;
    backdate(&h, &id, 2);
    let r = cli(
        &cfg,
        &["upay", "hold", "check", "--hold-id", &hold_id, "--json"],
    )
    .await;
    assert_eq!(r.code, 0, "{r:?}");
    assert_eq!(
        r.json()["operation"]["state"],
        "expired",
        "{r:?} {}",
        trail(&h, &id)
    );

    // Its only capture was refused (041): held again, with UPay's words. A capture was
    // sent, so its minutes decide nothing: a check past them leaves it held.
    let (id, hold_id) = cli_hold(&cfg, &card, "041", "1").await;
    let r = cli_act(&cfg, "capture", &hold_id).await;
    assert_eq!(r.code, 2, "refused: {r:?}");
    let v = r.json();
    assert_eq!(v["state"], "held");
    assert_eq!(v["provider_status"], "STPIMS-ERR-043");
    backdate(&h, &id, 2);
    let r = cli(
        &cfg,
        &["upay", "hold", "check", "--hold-id", &hold_id, "--json"],
    )
    .await;
    assert_eq!(r.code, 0, "{r:?}");
    assert_eq!(r.json()["operation"]["state"], "held");
    assert_eq!(h.journal().get(&id).unwrap().state, State::Held);
}

// ------------------------------------------------------------------------------------------
// The demo emulator never reuses an id.

/// `kassa --demo ARGS...` with a data directory of its own (the demo journal lives there).
async fn demo(home: &std::path::Path, args: &[&str], stdin: &str) -> common::Run {
    use tokio::io::AsyncWriteExt;
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_kassa"))
        .arg("--demo")
        .args(["--lang", "en"])
        .args(args)
        .env("HOME", home)
        .env("XDG_DATA_HOME", home.join("data"))
        .env("XDG_CONFIG_HOME", home.join("config"))
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut input = child.stdin.take().unwrap();
    input.write_all(stdin.as_bytes()).await.unwrap();
    drop(input);
    let out = child.wait_with_output().await.unwrap();
    common::Run::from(out)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn demo_runs_one_after_another_never_hand_out_the_same_id() {
    let home = tempfile::tempdir().unwrap();
    let mut seen: Vec<Vec<String>> = Vec::new();
    for _ in 0..2 {
        // Each `kassa --demo` starts a fresh emulator beside the same demo journal.
        let mut ids = Vec::new();
        let r = demo(
            home.path(),
            &[
                "wooppay", "invoice", "--amount", "1500", "--new", "--yes", "--json",
            ],
            "",
        )
        .await;
        assert_eq!(r.code, 0, "{r:?}");
        let op_id = r.json()["provider_ref"].as_str().unwrap().to_string();
        assert!(op_id.parse::<i32>().is_ok(), "an xsd:int: {op_id}");
        ids.push(op_id);
        let r = demo(
            home.path(),
            &[
                "webmoney",
                "invoice",
                "--wmid",
                "405002833238",
                "--amount",
                "9",
                "--desc",
                "demo",
                "--new",
                "--yes",
                "--json",
            ],
            "",
        )
        .await;
        assert_eq!(r.code, 0, "{r:?}");
        ids.push(r.json()["provider_ref"].as_str().unwrap().to_string());
        let r = demo(
            home.path(),
            &[
                "upay",
                "register-card",
                "--expiry",
                "12/30",
                "--phone",
                "998911902494",
                "--holder",
                "Tony Sapay",
                "--stdin",
                "--new",
                "--yes",
                "--json",
            ],
            "4111 1111 1111 1111\n987\n",
        )
        .await;
        assert_eq!(r.code, 0, "{r:?}");
        let url = r.json()["confirm_url"].as_str().unwrap().to_string();
        ids.push(url.rsplit('/').next().unwrap().to_string());
        seen.push(ids);
    }
    for (first, second) in seen[0].iter().zip(&seen[1]) {
        assert_ne!(
            first, second,
            "a second run handed out an id again: {seen:?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_emulator_runs_never_hand_out_the_same_hold_id() {
    let mut holds = Vec::new();
    for _ in 0..2 {
        let h = Harness::start().await;
        let (worker, mut events) = h.worker();
        let token = confirmed_card(&h, &worker, &mut events).await;
        let held = place(&worker, &mut events, hold(&token, "7", "10")).await;
        let captured = act(&worker, &mut events, &held.id, HoldAction::Capture).await;
        assert_eq!(captured.state, State::Completed);
        let ledger = h.emulator_holds().await;
        holds.push((
            token,
            held.provider_ref.unwrap(),
            ledger[0]["transaction_id"].as_str().unwrap().to_string(),
        ));
        worker.stop().await;
        h.emulator.stop();
    }
    assert_ne!(holds[0].0, holds[1].0, "CardToken");
    assert_ne!(holds[0].1, holds[1].1, "HoldId");
    assert_ne!(holds[0].2, holds[1].2, "TransactionId");
}

// ------------------------------------------------------------------------------------------
// Races on one hold, each made deterministic by a slow reply: a check's late answer, a
// cancel and a second capture pressed while a capture is in flight.

/// A worker whose UPay requests wait 10 s for a reply: the emulator's slow replies (2.5 s)
/// arrive late, not lost.
fn patient_worker(h: &Harness) -> (Worker, UnboundedReceiver<Event>) {
    let mut settings = h.settings.clone();
    settings.upay.timeout = Duration::from_secs(10);
    Worker::start(settings, h.journal()).unwrap()
}

/// The hold's trail, each line `kind: detail`.
fn trail_lines(h: &Harness, id: &str) -> Vec<String> {
    trail(h, id).lines().map(str::to_string).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_late_check_never_reopens_a_capture_and_no_cancel_or_second_capture_rides_on_it() {
    use kassa::emulator::upay::SLOW_CHECK_ACCOUNT;
    let h = Harness::start().await;
    // The slow replies (2.5 s) are waited for, not timed out.
    let (worker, mut events) = patient_worker(&h);
    let token = confirmed_card(&h, &worker, &mut events).await;
    // Account 047: a check by HoldId answers 2.5 s late with what was so when it was asked.
    let held = place(&worker, &mut events, hold(&token, SLOW_CHECK_ACCOUNT, "10")).await;
    assert_eq!(held.state, State::Held);
    let hold_id = held.provider_ref.clone().unwrap();
    // Past its minutes, no capture yet: the check's answer, read against the row as it was
    // asked about, says "expired". Applied over a capture under way, it would lose it.
    backdate(&h, &held.id, 61);

    // r: the check goes out and is answered (late) about the hold as it is now.
    worker.send(Command::CheckHold {
        by: CheckBy::HoldId,
        target: hold_id.clone(),
    });
    tokio::time::sleep(Duration::from_millis(500)).await;
    // c: the capture begins while the check is out; its reply is slow too (2.5 s, after the
    // capture was made), so the check's answer lands while the capture is pending.
    h.emulator.queue_faults("slow").unwrap();
    worker.send(Command::ActOnHold {
        id: held.id.clone(),
        action: HoldAction::Capture,
        expected: None,
    });
    let begun = wait_for(&mut events, 10, |e| match e {
        Event::Recorded { op } if op.id == held.id => Some(op),
        _ => None,
    })
    .await;
    assert_eq!(begun.state, State::Pending);
    let trx = hold_params(&begun).unwrap().partner_trx_id.unwrap();

    // x and c again, while the capture is in flight: both refused, nothing sent, the
    // PartnerTrxId in flight kept.
    for action in [HoldAction::Cancel, HoldAction::Capture] {
        worker.send(Command::ActOnHold {
            id: held.id.clone(),
            action,
            expected: None,
        });
        let key = wait_for(&mut events, 10, |e| match e {
            Event::Trouble { id: Some(i), key } if i == held.id => Some(key),
            _ => None,
        })
        .await;
        assert_eq!(key, "upay.hold_busy", "{action:?}");
        let row = h.journal().get(&held.id).unwrap();
        assert_eq!(row.state, State::Pending, "{action:?}");
        let p = hold_params(&row).unwrap();
        assert_eq!(p.phase, kassa::flows::upay::Phase::Capture, "{action:?}");
        assert_eq!(
            p.partner_trx_id.as_deref(),
            Some(trx.as_str()),
            "{action:?}"
        );
    }

    // The check's late answer: not applied, and the row it shows is the row as it is now.
    let answer = wait_for(&mut events, 10, |e| match e {
        Event::HoldChecked { answer } => Some(answer),
        _ => None,
    })
    .await;
    assert_eq!(answer.code, "OK");
    let shown = answer.op.unwrap();
    assert!(
        matches!(shown.state, State::Pending | State::Completed),
        "a stale check shows {:?}",
        shown.state
    );

    // The capture's own reply decides: captured, once, never expired, never held again,
    // never cancelled.
    let done = settled(&mut events, &held.id).await;
    assert_eq!(done.state, State::Completed, "{}", trail(&h, &held.id));
    let p = hold_params(&done).unwrap();
    assert_eq!(p.partner_trx_id.as_deref(), Some(trx.as_str()));
    let ledger = h.emulator_holds().await;
    assert_eq!(ledger.len(), 1);
    assert_eq!(ledger[0]["state"], "captured");
    assert_eq!(ledger[0]["captures"], 1);
    assert_eq!(ledger[0]["partner_trx_id"], trx.as_str());
    let lines = trail_lines(&h, &held.id);
    let begun_at = lines.iter().position(|l| l.starts_with("action:")).unwrap();
    assert!(
        !lines[begun_at..]
            .iter()
            .any(|l| l.contains("-> expired") || l.contains("-> held")),
        "{lines:#?}"
    );
    assert_eq!(
        lines.iter().filter(|l| l.starts_with("action:")).count(),
        1,
        "one action begun: {lines:#?}"
    );
    worker.stop().await;
}

// ------------------------------------------------------------------------------------------
// Holds placed elsewhere: captured and cancelled by HoldId from a journal that has no row.

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hold_placed_elsewhere_is_checked_then_journaled_then_acted_on_once() {
    let h = Harness::start().await;
    // Till A places the holds; till B (its own journal, the same UPay) acts on them.
    let cfg_a = write_config(h.dir.path(), &h.emulator.base_url())
        .display()
        .to_string();
    let b_dir = tempfile::tempdir().unwrap();
    let cfg_b = write_config(b_dir.path(), &h.emulator.base_url())
        .display()
        .to_string();
    let journal_b = || kassa::journal::Journal::open(&b_dir.path().join("kassa.db")).unwrap();
    let card = cli_card(&cfg_a).await;
    let (_, to_capture) = cli_hold(&cfg_a, &card, "301", "60").await;
    let (_, to_cancel) = cli_hold(&cfg_a, &card, "302", "60").await;

    // Capture by HoldId, no amount: UPay is asked first, then one row, then one capture.
    let r = cli_act(&cfg_b, "capture", &to_capture).await;
    assert_eq!(r.code, 0, "{r:?}");
    let v = r.json();
    assert_eq!(v["state"], "completed");
    assert_eq!(v["provider_ref"], to_capture.as_str());
    assert!(
        v["detail"]
            .as_str()
            .unwrap()
            .contains("PaymentAmount 100000"),
        "UPay's sum is kept: {v}"
    );
    // The row's sum is UPay's PaymentAmount: the report and the journal show what was taken.
    assert_eq!(v["amount"], "1000.00", "{v}");
    let rows = journal_b().list(&ListFilter::default()).unwrap();
    assert_eq!(rows.len(), 1, "one row");
    assert_eq!(rows[0].amount.minor(), 100_000);
    let trail_b: Vec<String> = journal_b()
        .events(&rows[0].id)
        .unwrap()
        .into_iter()
        .map(|e| format!("{}: {}", e.kind, e.detail))
        .collect();
    assert!(
        trail_b.iter().any(|l| l.contains("placed elsewhere")),
        "{trail_b:#?}"
    );
    // Again: the row is followed, nothing sent.
    let r = cli_act(&cfg_b, "capture", &to_capture).await;
    assert_eq!(r.code, 0, "{r:?}");
    assert_eq!(journal_b().list(&ListFilter::default()).unwrap().len(), 1);
    let ledger = h.emulator_holds().await;
    let captured = ledger
        .iter()
        .find(|x| x["hold_id"] == to_capture.as_str())
        .unwrap();
    assert_eq!(captured["captures"], 1);
    assert_eq!(captured["state"], "captured");

    // Cancel by HoldId, and a capture pressed at the same moment elsewhere (a second
    // process on the same journal): one row, one action at UPay.
    let (cancel, capture) = tokio::join!(
        cli_act(&cfg_b, "cancel", &to_cancel),
        cli_act(&cfg_b, "capture", &to_cancel)
    );
    let rows: Vec<Operation> = journal_b()
        .list(&ListFilter::default())
        .unwrap()
        .into_iter()
        .filter(|o| o.provider_ref.as_deref() == Some(to_cancel.as_str()))
        .collect();
    let trails: Vec<Vec<String>> = rows
        .iter()
        .map(|o| {
            journal_b()
                .events(&o.id)
                .unwrap()
                .into_iter()
                .map(|e| format!("{} {}: {}", e.at, e.kind, e.detail))
                .collect()
        })
        .collect();
    assert_eq!(rows.len(), 1, "one row per hold: {trails:#?}");
    let at_upay = h
        .emulator_holds()
        .await
        .into_iter()
        .find(|x| x["hold_id"] == to_cancel.as_str())
        .unwrap();
    match at_upay["state"].as_str().unwrap() {
        "cancelled" => {
            assert_eq!(at_upay["captures"], 0);
            assert_eq!(rows[0].state, State::Cancelled);
            assert_eq!(cancel.code, 0, "{cancel:?}");
            assert_ne!(capture.code, 0, "{capture:?}");
        }
        "captured" => {
            assert_eq!(at_upay["captures"], 1);
            assert_eq!(rows[0].state, State::Completed);
            assert_eq!(capture.code, 0, "{capture:?}");
            assert_ne!(cancel.code, 0, "{cancel:?}");
        }
        other => panic!("{other}: {cancel:?} {capture:?}"),
    }

    // A HoldId UPay does not know: nothing journaled, nothing sent, UPay's words shown.
    let before = journal_b().list(&ListFilter::default()).unwrap().len();
    let r = cli_act(&cfg_b, "cancel", "999999999").await;
    assert_eq!(r.code, 2, "{r:?}");
    assert_eq!(r.json()["provider_status"], "STPIMS-ERR-040");
    assert_eq!(r.json()["code"], "not_found");
    assert_eq!(
        journal_b().list(&ListFilter::default()).unwrap().len(),
        before
    );
}

/// `--amount` on a capture by HoldId: a journaled hold of another sum is refused before
/// anything is sent; a hold placed elsewhere is captured, and UPay's PaymentAmount of
/// another sum than the one expected waits for a person (exit 3), never a plain success.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_capture_expected_to_take_another_sum_is_refused_or_goes_to_a_person() {
    let h = Harness::start().await;
    let cfg_a = write_config(h.dir.path(), &h.emulator.base_url())
        .display()
        .to_string();
    let b_dir = tempfile::tempdir().unwrap();
    let cfg_b = write_config(b_dir.path(), &h.emulator.base_url())
        .display()
        .to_string();
    let card = cli_card(&cfg_a).await;
    let (_, own) = cli_hold(&cfg_a, &card, "311", "60").await;
    let (_, elsewhere) = cli_hold(&cfg_a, &card, "312", "60").await;
    let (_, elsewhere_right) = cli_hold(&cfg_a, &card, "313", "60").await;
    let capture = |cfg: &str, hold: &str, amount: &str| {
        let (cfg, hold, amount) = (cfg.to_string(), hold.to_string(), amount.to_string());
        async move {
            cli(
                &cfg,
                &[
                    "upay",
                    "hold",
                    "capture",
                    "--hold-id",
                    &hold,
                    "--amount",
                    &amount,
                    "--yes",
                    "--json",
                ],
            )
            .await
        }
    };
    let captures = |hold: &str| {
        let hold = hold.to_string();
        let h = &h;
        async move {
            h.emulator_holds()
                .await
                .into_iter()
                .find(|x| x["hold_id"] == hold.as_str())
                .unwrap()["captures"]
                .as_u64()
                .unwrap()
        }
    };

    // The journal holds 1 000 sum; 999 expected: refused, nothing sent.
    let r = capture(&cfg_a, &own, "999").await;
    assert_eq!(r.code, 1, "{r:?}");
    assert!(
        format!("{r:?}").contains("999"),
        "the sums are named: {r:?}"
    );
    assert_eq!(captures(&own).await, 0);
    // Not a sum at all: refused, nothing sent.
    let r = capture(&cfg_a, &own, "abc").await;
    assert_eq!(r.code, 1, "{r:?}");
    assert_eq!(captures(&own).await, 0);
    // The right sum: captured.
    let r = capture(&cfg_a, &own, "1 000").await;
    assert_eq!(r.code, 0, "{r:?}");
    assert_eq!(captures(&own).await, 1);

    // Placed elsewhere, 999 expected, UPay takes 1 000: captured once, for a person.
    let r = capture(&cfg_b, &elsewhere, "999").await;
    assert_eq!(r.code, 3, "{r:?}");
    let v = r.json();
    assert_eq!(v["needs_reconciliation"], true, "{v}");
    assert_eq!(
        v["reconciliation_reason"], "recon.upay_captured_other_amount",
        "{v}"
    );
    assert_eq!(captures(&elsewhere).await, 1);
    // Placed elsewhere, the sum UPay takes: completed.
    let r = capture(&cfg_b, &elsewhere_right, "1000").await;
    assert_eq!(r.code, 0, "{r:?}");
    assert_eq!(r.json()["state"], "completed");
    assert_eq!(captures(&elsewhere_right).await, 1);
}
