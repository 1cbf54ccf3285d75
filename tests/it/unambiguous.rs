//! Only an unambiguous reply about this very operation moves a row: replies that give their
//! status twice and disagree, that put it where the document does not, that speak of another
//! operation, or that carry a code nobody documented are never read as a final state.
//! Through the command line against the emulator (exit code and JSON), with the emulator
//! final at its first reply so that a reply not read shows as one more request.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common;
use common::{Harness, kassa, write_config};

async fn harness() -> (Harness, String) {
    let h = Harness::start_with(kassa::emulator::Options {
        pending_polls: 0,
        ..common::test_options()
    })
    .await;
    let cfg = write_config(h.dir.path(), &h.emulator.base_url())
        .display()
        .to_string();
    (h, cfg)
}

fn with<'a>(cfg: &'a str, args: &[&'a str]) -> Vec<&'a str> {
    let mut all = vec!["--config", cfg];
    all.extend_from_slice(args);
    all.extend_from_slice(&["--yes", "--new", "--json"]);
    all
}

const CASH_IN: [&str; 4] = ["allpay", "cash-in", "77072734954", "100"];
const PAY: [&str; 10] = [
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
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn allpay_statuses_given_twice_or_in_the_header_are_not_read() {
    let (h, cfg) = harness().await;
    for (flow, args) in [("cash-in", &CASH_IN[..]), ("pay", &PAY[..])] {
        let plain = kassa(&with(&cfg, args)).await.json();
        assert_eq!(plain["state"], "completed", "{flow}: {plain}");
        let plain = plain["attempts"].as_u64().unwrap();
        let faults: &[&str] = if flow == "pay" {
            &["two-statuses", "status-in-header"]
        } else {
            &["two-statuses"]
        };
        for fault in faults {
            h.emulator.queue_faults(fault).unwrap();
            let r = kassa(&with(&cfg, args)).await;
            h.emulator.queue_faults("").unwrap();
            let v = r.json();
            // Same GUID / rrn again: the repeat's plain answer settles it.
            assert_eq!(
                (r.code, v["state"].as_str()),
                (0, Some("completed")),
                "{flow} {fault}: {r:?}"
            );
            assert_eq!(
                v["attempts"].as_u64(),
                Some(plain + 1),
                "{flow} under {fault}: the first reply was not read"
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cash_in_reply_about_another_payment_waits_for_a_person() {
    let (h, cfg) = harness().await;
    h.emulator.queue_faults("other-operation").unwrap();
    let r = kassa(&with(&cfg, &CASH_IN)).await;
    h.emulator.queue_faults("").unwrap();
    let v = r.json();
    assert_eq!(r.code, 3, "{r:?}");
    assert_eq!(v["state"], "pending");
    assert_eq!(v["needs_reconciliation"], true);
    assert_eq!(v["reconciliation_reason"], "recon.other_operation");
    let shown = kassa(&[
        "--config",
        &cfg,
        "journal",
        "show",
        v["id"].as_str().unwrap(),
    ])
    .await;
    assert!(
        shown
            .stdout
            .contains("the reply names GUID {00000000-0000-4000-8000-000000000001}"),
        "the facts side by side: {}",
        shown.stdout
    );
}

const WM: [&str; 8] = [
    "webmoney",
    "invoice",
    "--wmid",
    "405002833238",
    "--amount",
    "1",
    "--desc",
    "x",
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webmoney_replies_that_say_nothing_certain_wait_for_a_person() {
    let (h, cfg) = harness().await;
    for (fault, reason) in [
        ("two-statuses", "recon.unknown_outcome"),
        ("other-operation", "recon.other_operation"),
    ] {
        h.emulator.queue_faults(fault).unwrap();
        let r = kassa(&with(&cfg, &WM)).await;
        h.emulator.queue_faults("").unwrap();
        let v = r.json();
        assert_eq!(r.code, 3, "{fault}: {r:?}");
        assert_eq!(
            (v["state"].as_str(), v["needs_reconciliation"].as_bool()),
            (Some("pending"), Some(true)),
            "{fault}: {r:?}"
        );
        assert_eq!(v["reconciliation_reason"], reason, "{fault}");
    }
    // A retval document 002 lists: rejected (exit 2); one it does not: a person (exit 3).
    let r = kassa(&with(
        &cfg,
        &[
            "webmoney",
            "invoice",
            "--wmid",
            "000000000006",
            "--amount",
            "1",
            "--desc",
            "x",
        ],
    ))
    .await;
    assert_eq!(
        (r.code, r.json()["state"].as_str()),
        (2, Some("rejected")),
        "{r:?}"
    );
    let r = kassa(&with(
        &cfg,
        &[
            "webmoney",
            "invoice",
            "--wmid",
            "000000000051",
            "--amount",
            "1",
            "--desc",
            "x",
        ],
    ))
    .await;
    let v = r.json();
    assert_eq!(r.code, 3, "{r:?}");
    assert_eq!(v["reconciliation_reason"], "recon.unknown_code");
    assert_eq!(v["provider_status"], "retval 51");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wooppay_record_of_another_sum_or_two_statuses_is_never_paid() {
    let (_h, cfg) = harness().await;
    let wp = |amount: &'static str| {
        vec![
            "wooppay",
            "invoice",
            "--amount",
            amount,
            "--wait-paid",
            "--timeout",
            "4",
        ]
    };
    let r = kassa(&with(&cfg, &wp("100.12"))).await;
    let v = r.json();
    assert_eq!(r.code, 3, "{r:?}");
    assert_eq!(v["needs_reconciliation"], true, "{r:?}");
    assert_eq!(v["reconciliation_reason"], "recon.other_operation");

    // Paid and open at once: still issued, never completed, until the timeout.
    let r = kassa(&with(&cfg, &wp("100.13"))).await;
    let v = r.json();
    assert_eq!(r.code, 3, "{r:?}");
    assert_eq!(v["state"], "issued", "{r:?}");
    assert_eq!(v["needs_reconciliation"], false);
    // It was asked about after it became ripe (two statuses seen), not just never polled.
    let ledger = _h.ledger().await;
    let polls = ledger["wooppay"]["invoices"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["reference_id"] == v["id"])
        .map(|i| i["polls"].as_u64().unwrap_or(0))
        .unwrap_or(0);
    assert!(polls >= 2, "polled {polls} times: {r:?}");
}

/// An invoice closed by its deathDate that Wooppay later says was paid: the late payment is
/// its own event in the trail, the row becomes completed, and the day's report counts it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_late_payment_of_an_expired_invoice_is_recorded() {
    use kassa::flows::wooppay::WpInvoice;
    use kassa::journal::State;
    use kassa::worker::{Command, Event};
    let h = Harness::start().await;
    let (worker, mut events) = h.worker();
    let inv = WpInvoice {
        reference_id: kassa::ids::new_reference_id(),
        variant: kassa::providers::wooppay::codec::Variant::Plain,
        amount: common::kzt("250"),
        description: "late".into(),
        phone: String::new(),
        email: String::new(),
        service: String::new(),
        death_date: (chrono::Local::now() - chrono::Duration::minutes(10))
            .format("%Y-%m-%d %H:%M:%S")
            .to_string(),
        back_url: String::new(),
        request_url: String::new(),
        add_info: String::new(),
        card_forbidden: false,
        sms_code: None,
    };
    let id = inv.reference_id.clone();
    worker.send(Command::Start {
        request: kassa::flows::Request::Wooppay(inv),
        allow_duplicate: true,
    });
    let op = common::wait_for(&mut events, 20, |e| match e {
        Event::Finished { op } if op.id == id => Some(op),
        _ => None,
    })
    .await;
    assert_eq!(op.state, State::Expired, "status 1 past its deathDate");
    let operation_id: i64 = op.provider_ref.clone().unwrap().parse().unwrap();
    // The emulator says paid from its third poll on; each status query is one poll.
    let mut last = op;
    for _ in 0..3 {
        worker.send(Command::WooppayStatus { operation_id });
        last = common::wait_for(&mut events, 10, |e| match e {
            Event::WooppayStatus { op: Some(op), .. } => Some(op),
            _ => None,
        })
        .await;
    }
    assert_eq!(last.state, State::Completed, "{last:?}");
    let trail = h.journal().events(&id).unwrap();
    assert!(
        trail.iter().any(|e| e.kind == "late_payment"),
        "its own event: {trail:?}"
    );
    let report =
        kassa::report::Report::build(&h.journal(), chrono::Local::now().date_naive(), None)
            .unwrap();
    assert!(
        report
            .totals
            .iter()
            .any(|t| t.kind == kassa::journal::Kind::WooppayInvoice
                && t.state == State::Completed
                && t.count == 1),
        "the report counts it: {:?}",
        report.totals
    );
    worker.stop().await;
}
