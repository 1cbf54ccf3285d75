//! A person's reconciliation brings a row back into its lifecycle: with the provider's id a
//! Wooppay invoice becomes issued and is followed until paid, a UPay hold create found at
//! UPay becomes held and is captured as usual; a hold that "went through" is never closed
//! as captured without its HoldId. Through `kassa journal resolve` against the emulator.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use crate::common;
use common::{Harness, kassa, wait_for, write_config};
use kassa::flows::upay::{CardInput, HoldInput};
use kassa::worker::upay::CardTarget;
use kassa::worker::{Command, Event};
use zeroize::Zeroizing;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wooppay_invoice_found_by_a_person_is_issued_again_and_followed() {
    let h = Harness::start().await;
    let cfg = write_config(h.dir.path(), &h.emulator.base_url())
        .display()
        .to_string();
    // The create's reply is unreadable; the repeat gets 221: the invoice exists, its
    // operationId is unknown to kassa.
    h.emulator.queue_faults("foreign-reply").unwrap();
    let r = kassa(&[
        "--config", &cfg, "wooppay", "invoice", "--amount", "321", "--yes", "--new", "--json",
    ])
    .await;
    h.emulator.queue_faults("").unwrap();
    let v = r.json();
    assert_eq!(
        (r.code, &v["reconciliation_reason"]),
        (3, &"recon.wooppay_exists".into())
    );
    let id = v["id"].as_str().unwrap().to_string();
    let ledger = h.ledger().await;
    let invoice = ledger["wooppay"]["invoices"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["reference_id"] == id.as_str())
        .unwrap()
        .clone();
    let operation_id = invoice["operation_id"].as_i64().unwrap().to_string();

    // Not a number: refused, nothing moves.
    let r = kassa(&[
        "--config",
        &cfg,
        "journal",
        "resolve",
        &id,
        "--provider-id",
        "abc",
        "--note",
        "cabinet",
    ])
    .await;
    assert_eq!(r.code, 1, "{r:?}");
    let r = kassa(&[
        "--config",
        &cfg,
        "journal",
        "resolve",
        &id,
        "--provider-id",
        &operation_id,
        "--note",
        "found in the merchant cabinet",
        "--json",
    ])
    .await;
    assert_eq!(r.code, 0, "{r:?}");
    let v = r.json();
    assert_eq!(
        (v["state"].as_str(), v["needs_reconciliation"].as_bool()),
        (Some("issued"), Some(false))
    );
    assert_eq!(v["provider_ref"], operation_id.as_str());
    // Followed like any issued invoice: the emulator says paid after a few polls.
    let r = kassa(&["--config", &cfg, "journal", "resume", "--timeout", "20"]).await;
    assert_eq!(r.code, 0, "{r:?}");
    let shown = kassa(&["--config", &cfg, "journal", "show", &id, "--json"]).await;
    let v = shown.json();
    assert_eq!(v["state"], "completed", "{shown:?}");
    assert_eq!(v["note"], "found in the merchant cabinet");
}

fn card() -> CardInput {
    CardInput {
        number: Zeroizing::new("4111111111111111".into()),
        expiry: "1230".into(),
        cvv: Zeroizing::new("987".into()),
        holder: "TONY SAPAY".into(),
        phone: "998911902494".into(),
    }
}

async fn settled(
    events: &mut tokio::sync::mpsc::UnboundedReceiver<Event>,
    id: &str,
) -> kassa::journal::Operation {
    let id = id.to_string();
    wait_for(events, 30, |e| match e {
        Event::Finished { op } | Event::NeedsReconciliation { op } if op.id == id => Some(op),
        _ => None,
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hold_found_by_a_person_is_held_then_captured_never_closed_as_captured() {
    let h = Harness::start().await;
    let cfg = write_config(h.dir.path(), &h.emulator.base_url())
        .display()
        .to_string();
    let (worker, mut events) = h.worker();
    worker.send(Command::RegisterCard { card: card() });
    let id = wait_for(&mut events, 10, |e| match e {
        Event::Recorded { op } => Some(op.id),
        _ => None,
    })
    .await;
    let op = settled(&mut events, &id).await;
    let http = kassa::providers::http_client(Duration::from_secs(2)).unwrap();
    http.get(op.link.clone().unwrap()).send().await.unwrap();
    worker.send(Command::ConfirmCard {
        target: CardTarget::Id(id.clone()),
        confirmed: true,
        note: "seen".into(),
    });
    let token = settled(&mut events, &id).await.provider_ref.unwrap();
    // Account 065: "in process" with a HoldId that a check cannot confirm: a person.
    worker.send(Command::Start {
        request: kassa::flows::Request::Hold(HoldInput {
            id: Some("found-hold".into()),
            card_token: token,
            service_id: 628,
            account: kassa::emulator::upay::IN_PROCESS_ACCOUNT.into(),
            amount: kassa::money::Amount::parse("10", kassa::money::Currency::Uzs).unwrap(),
            minutes: 60,
        }),
        allow_duplicate: true,
    });
    let op = settled(&mut events, "found-hold").await;
    worker.stop().await;
    assert!(op.needs_reconciliation, "{op:?}");
    let hold_id = op
        .provider_ref
        .clone()
        .expect("the in-process reply named its HoldId");

    // "It went through" is a hold, never a capture: refused without its HoldId.
    let r = kassa(&[
        "--config",
        &cfg,
        "journal",
        "resolve",
        "found-hold",
        "--to",
        "completed",
        "--note",
        "UPay support says it went through",
    ])
    .await;
    assert_eq!(r.code, 1, "{r:?}");
    assert!(r.stderr.contains("UPay number"), "{r:?}");
    let r = kassa(&[
        "--config",
        &cfg,
        "journal",
        "resolve",
        "found-hold",
        "--provider-id",
        &hold_id,
        "--note",
        "UPay support: hold placed",
        "--json",
    ])
    .await;
    assert_eq!(r.code, 0, "{r:?}");
    assert_eq!(r.json()["state"], "held");
    // And it is captured as usual.
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
    assert_eq!(
        (r.code, r.json()["state"].as_str()),
        (0, Some("completed")),
        "{r:?}"
    );
}
