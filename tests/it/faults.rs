//! Every money flow under every fault of the emulator (HTTP 500 after the charge, reset after
//! the charge, slow beyond the timeout, truncated body, malformed XML, wrong namespace, SOAP
//! Fault, an unknown status value): each ends in the right state, and the provider's ledger
//! holds exactly one of it. Flows safe to repeat end final; those that are not (WebMoney X1,
//! UPay hold create, a Wooppay invoice whose reply is lost) end final or waiting for a
//! person, never sent twice.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common;

use std::time::Duration;

use common::{Harness, kassa, wait_for, write_config};
use kassa::flows::upay::{CardInput, HoldInput};
use kassa::journal::{Operation, State};
use kassa::worker::upay::{CardTarget, HoldAction};
use kassa::worker::{Command, Event};
use zeroize::Zeroizing;

const FAULTS: [&str; 11] = [
    "500",
    "reset",
    "slow",
    "truncated",
    "malformed",
    "wrong-namespace",
    "soap-1.2",
    "foreign-body",
    "foreign-reply",
    "fault",
    "unknown-status",
];

/// The replies that are not SOAP 1.1 from the provider's service: read by nobody.
const NAMESPACE_FAULTS: [&str; 4] = [
    "wrong-namespace",
    "soap-1.2",
    "foreign-body",
    "foreign-reply",
];

fn count(v: &serde_json::Value, path: &[&str]) -> usize {
    let mut x = v;
    for p in path {
        x = &x[*p];
    }
    x.as_array().map(Vec::len).unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_flow_under_every_fault_ends_right_with_nothing_doubled() {
    let h = Harness::start().await;
    let config = write_config(h.dir.path(), &h.emulator.base_url());
    let cfg = config.display().to_string();
    let flows: [(&str, Vec<&str>, &[&str], bool); 4] = [
        (
            "allpay cash-in",
            vec![
                "allpay",
                "cash-in",
                "77072734954",
                "100",
                "--yes",
                "--new",
                "--json",
            ],
            &["allpay_cash_in"],
            true,
        ),
        (
            "allpay pay",
            vec![
                "allpay",
                "pay",
                "--login",
                "77072734954",
                "--service",
                "185",
                "--account",
                "87001234567",
                "--amount",
                "100",
                "--yes",
                "--new",
                "--json",
            ],
            &["allpay_pay"],
            true,
        ),
        (
            "webmoney invoice",
            vec![
                "webmoney",
                "invoice",
                "--wmid",
                "405002833238",
                "--amount",
                "1",
                "--desc",
                "x",
                "--yes",
                "--new",
                "--json",
            ],
            &["webmoney_x1"],
            false,
        ),
        (
            "wooppay invoice",
            vec![
                "wooppay", "invoice", "--amount", "100", "--yes", "--new", "--json",
            ],
            &["wooppay", "invoices"],
            false,
        ),
    ];
    let mut cases = 0;
    for (name, args, path, repeat_safe) in &flows {
        for fault in FAULTS {
            let before = count(&h.ledger().await, path);
            h.emulator.queue_faults(fault).unwrap();
            let mut all = vec!["--config", cfg.as_str()];
            all.extend(args.iter().copied());
            let r = kassa(&all).await;
            h.emulator.queue_faults("").unwrap();
            let after = count(&h.ledger().await, path);
            assert_eq!(
                after,
                before + 1,
                "{name} under {fault}: exactly one at the provider"
            );
            let v = r.json();
            let state = v["state"].as_str().unwrap_or("").to_string();
            let recon = v["needs_reconciliation"].as_bool().unwrap_or(false);
            if *repeat_safe {
                assert_eq!(
                    (r.code, state.as_str()),
                    (0, "completed"),
                    "{name} under {fault}: {r:?}"
                );
            } else {
                let settled = matches!(state.as_str(), "completed" | "issued");
                assert!(
                    (r.code == 0 && settled) || (r.code == 3 && recon),
                    "{name} under {fault}: {r:?}"
                );
            }
            cases += 1;
        }
    }
    // Between cases a stray queued fault would have shown; the queue is empty.
    assert_eq!(cases, 4 * FAULTS.len());
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

async fn settled(events: &mut tokio::sync::mpsc::UnboundedReceiver<Event>, id: &str) -> Operation {
    let id = id.to_string();
    wait_for(events, 30, |e| match e {
        Event::Finished { op } | Event::NeedsReconciliation { op } if op.id == id => Some(op),
        _ => None,
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn upay_hold_create_and_capture_under_every_fault() {
    let h = Harness::start().await;
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
    for (i, fault) in FAULTS.iter().enumerate() {
        // The create is not safe to repeat: held, or a person looks; one hold either way.
        let before = h.emulator_holds().await.len();
        h.emulator.queue_faults(fault).unwrap();
        let hold = HoldInput {
            id: Some(format!("create-{i}")),
            card_token: token.clone(),
            service_id: 628,
            account: format!("10{i}"),
            amount: kassa::money::Amount::parse("10", kassa::money::Currency::Uzs).unwrap(),
            minutes: 60,
        };
        worker.send(Command::Start {
            request: kassa::flows::Request::Hold(hold),
            allow_duplicate: true,
        });
        let op = settled(&mut events, &format!("create-{i}")).await;
        h.emulator.queue_faults("").unwrap();
        assert_eq!(
            h.emulator_holds().await.len(),
            before + 1,
            "create under {fault}"
        );
        assert!(
            op.state == State::Held || (op.state == State::Pending && op.needs_reconciliation),
            "create under {fault}: {op:?}"
        );
        assert_eq!(op.attempts, 1, "create under {fault}: sent once");

        // A capture is safe to repeat with its PartnerTrxId: captured, exactly once.
        let held = HoldInput {
            id: Some(format!("capture-{i}")),
            card_token: token.clone(),
            service_id: 628,
            account: format!("20{i}"),
            amount: kassa::money::Amount::parse("10", kassa::money::Currency::Uzs).unwrap(),
            minutes: 60,
        };
        worker.send(Command::Start {
            request: kassa::flows::Request::Hold(held),
            allow_duplicate: true,
        });
        let op = settled(&mut events, &format!("capture-{i}")).await;
        assert_eq!(op.state, State::Held);
        h.emulator.queue_faults(fault).unwrap();
        worker.send(Command::ActOnHold {
            id: op.id.clone(),
            action: HoldAction::Capture,
            expected: None,
        });
        let op = settled(&mut events, &op.id).await;
        h.emulator.queue_faults("").unwrap();
        assert_eq!(op.state, State::Completed, "capture under {fault}: {op:?}");
        let ledger = h.emulator_holds().await;
        let row = ledger
            .iter()
            .find(|x| x["hold_id"] == op.provider_ref.clone().unwrap().as_str())
            .unwrap();
        assert_eq!(row["state"], "captured", "capture under {fault}");
    }
    worker.stop().await;
}

/// A reply in SOAP 1.2, with a Body outside SOAP 1.1's namespace, or with its reply element
/// outside the provider's namespace says nothing about the operation: a cash-in is asked
/// again (same GUID), a Wooppay invoice and a UPay hold, not safe to send twice, wait for a
/// person. Before, each of these replies read as the success it carried.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reply_outside_soap_11_or_the_providers_namespace_is_never_read() {
    // Final at the first reply, so that a reply not read shows as one more request.
    let h = Harness::start_with(kassa::emulator::Options {
        pending_polls: 0,
        ..common::test_options()
    })
    .await;
    let config = write_config(h.dir.path(), &h.emulator.base_url());
    let cfg = config.display().to_string();
    let args = [
        "--config",
        cfg.as_str(),
        "allpay",
        "cash-in",
        "77072734954",
        "100",
        "--yes",
        "--new",
        "--json",
    ];
    let plain = kassa(&args).await.json()["attempts"].as_u64().unwrap();
    assert_eq!(plain, 1);
    for fault in NAMESPACE_FAULTS {
        h.emulator.queue_faults(fault).unwrap();
        let r = kassa(&args).await;
        h.emulator.queue_faults("").unwrap();
        let v = r.json();
        assert_eq!(
            (r.code, v["state"].as_str()),
            (0, Some("completed")),
            "{fault}: {r:?}"
        );
        assert_eq!(
            v["attempts"].as_u64(),
            Some(plain + 1),
            "cash-in under {fault}: the first reply was not read"
        );

        h.emulator.queue_faults(fault).unwrap();
        let r = kassa(&[
            "--config", &cfg, "wooppay", "invoice", "--amount", "100", "--yes", "--new", "--json",
        ])
        .await;
        h.emulator.queue_faults("").unwrap();
        let v = r.json();
        assert_eq!(r.code, 3, "wooppay under {fault}: {r:?}");
        assert_eq!(
            v["needs_reconciliation"], true,
            "wooppay under {fault}: {r:?}"
        );
    }
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
    for (i, fault) in NAMESPACE_FAULTS.iter().enumerate() {
        h.emulator.queue_faults(fault).unwrap();
        let hold = HoldInput {
            id: Some(format!("ns-{i}")),
            card_token: token.clone(),
            service_id: 628,
            account: format!("30{i}"),
            amount: kassa::money::Amount::parse("10", kassa::money::Currency::Uzs).unwrap(),
            minutes: 60,
        };
        worker.send(Command::Start {
            request: kassa::flows::Request::Hold(hold),
            allow_duplicate: true,
        });
        let op = settled(&mut events, &format!("ns-{i}")).await;
        h.emulator.queue_faults("").unwrap();
        assert_eq!(
            (op.state, op.needs_reconciliation),
            (State::Pending, true),
            "hold create under {fault}: {op:?}"
        );
    }
    worker.stop().await;
}
