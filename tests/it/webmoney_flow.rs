//! WebMoney X1 invoices through real HTTP on loopback against the emulator: a Classic
//! signature the emulator verifies, every retval, the reqn rule across a restart, an unknown
//! outcome that is never re-sent, Windows-1251 text.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common;

use common::{Harness, wait_for};
use kassa::flows::webmoney::{WmInvoice, params_of};
use kassa::journal::{Operation, State};
use kassa::money::{Amount, Currency};
use kassa::worker::{Command, Event, Worker};
use tokio::sync::mpsc::UnboundedReceiver;

fn invoice(wmid: &str, amount: &str) -> WmInvoice {
    WmInvoice {
        orderid: None,
        customer_wmid: wmid.into(),
        purse: kassa::emulator::webmoney::DEMO_PURSE.into(),
        amount: Amount::parse(amount, Currency::Usd).unwrap(),
        desc: "Оплата заказа №5 «тест» & <co>".into(),
        address: "Алматы, ул. Абая 1".into(),
        period: 0,
        expiration: 3,
    }
}

async fn issue(
    worker: &Worker,
    events: &mut UnboundedReceiver<Event>,
    inv: WmInvoice,
) -> Operation {
    worker.send(Command::Start {
        request: kassa::flows::Request::Webmoney(inv),
        allow_duplicate: true,
    });
    let id = wait_for(events, 10, |e| match e {
        Event::InvoiceNumbered { invoice } => invoice.orderid,
        _ => None,
    })
    .await
    .to_string();
    wait_for(events, 30, |e| match e {
        Event::Finished { op } | Event::NeedsReconciliation { op } if op.id == id => Some(op),
        _ => None,
    })
    .await
}

#[tokio::test]
async fn a_signed_invoice_is_issued_and_journaled() {
    let h = Harness::start().await;
    let (worker, mut events) = h.worker();
    let op = issue(&worker, &mut events, invoice("405002833238", "10,50")).await;
    assert_eq!(op.state, State::Completed, "{op:?}");
    assert_eq!(op.provider_status.as_deref(), Some("retval 0"));
    assert!(op.provider_ref.is_some(), "WebMoney's invoice id is kept");
    assert!(op.detail.as_deref().unwrap().contains("state 0"));
    let ledger = h.emulator.webmoney_ledger();
    assert_eq!(ledger.len(), 1);
    assert_eq!(ledger[0].amount, "10.5", "the shortest decimal");
    assert_eq!(ledger[0].desc, "Оплата заказа №5 «тест» & <co>");
    assert_eq!(ledger[0].orderid, op.id);
    assert_eq!(params_of(&op).unwrap().orderid.to_string(), op.id);
    worker.stop().await;
}

/// A retval document 002's table lists means nothing was created: rejected. Any other
/// says nothing certain (an X1 invoice is not safe to repeat, and a false "rejected" invites
/// a second one): a person looks, with the retval shown.
#[tokio::test]
async fn a_documented_retval_is_rejected_and_any_other_waits_for_a_person() {
    let h = Harness::start().await;
    let (worker, mut events) = h.worker();
    for code in kassa::emulator::webmoney::MAGIC_RETVALS {
        let wmid = format!("{code:012}");
        let op = issue(&worker, &mut events, invoice(&wmid, "1")).await;
        assert_eq!(op.provider_status, Some(format!("retval {code}")));
        if kassa::providers::webmoney::DOCUMENTED_RETVALS.contains(code) {
            assert_eq!(op.state, State::Rejected, "retval {code}");
            assert!(!op.needs_reconciliation);
            assert_eq!(op.message_key, Some(format!("wm.retval.{code}")));
        } else {
            assert_eq!(
                (
                    op.state,
                    op.needs_reconciliation,
                    op.recon_reason.as_deref()
                ),
                (State::Pending, true, Some("recon.unknown_code")),
                "retval {code}"
            );
        }
    }
    assert!(
        h.emulator.webmoney_ledger().is_empty(),
        "nothing was created"
    );
    worker.stop().await;
}

#[tokio::test]
async fn orderids_and_reqns_only_go_up_across_a_restart() {
    let h = Harness::start().await;
    let first = {
        let (worker, mut events) = h.worker();
        let a = issue(&worker, &mut events, invoice("405002833238", "1")).await;
        let b = issue(&worker, &mut events, invoice("405002833238", "2")).await;
        worker.stop().await;
        assert!(b.id.parse::<u64>().unwrap() > a.id.parse::<u64>().unwrap());
        b
    };
    let (worker, mut events) = h.worker();
    let next = issue(&worker, &mut events, invoice("405002833238", "3")).await;
    assert_eq!(
        next.state,
        State::Completed,
        "the emulator refuses a reqn that did not grow"
    );
    assert!(next.id.parse::<u64>().unwrap() > first.id.parse::<u64>().unwrap());
    let reqns: Vec<u64> = h
        .emulator
        .webmoney_ledger()
        .iter()
        .map(|e| e.reqn)
        .collect();
    assert!(reqns.windows(2).all(|w| w[0] < w[1]), "{reqns:?}");
    assert!(reqns.iter().all(|r| r.to_string().len() <= 15));
    worker.stop().await;
}

#[tokio::test]
async fn an_unknown_outcome_is_never_sent_again() {
    let h = Harness::start().await;
    let (worker, mut events) = h.worker();
    for fault in ["500", "reset", "malformed", "unknown-status", "truncated"] {
        h.emulator.queue_faults(fault).unwrap();
        let op = issue(&worker, &mut events, invoice("405002833238", "7")).await;
        assert_eq!(op.state, State::Pending, "{fault}");
        assert!(op.needs_reconciliation, "{fault}");
        assert_eq!(op.recon_reason.as_deref(), Some("recon.unknown_outcome"));
        assert_eq!(op.attempts, 1, "{fault}: sent once");
    }
    // The emulator created each of them: only a person may say so, never a second send.
    assert_eq!(h.emulator.webmoney_ledger().len(), 5);
    worker.stop().await;
    // Nor does a restart send them.
    let (worker, mut events) = h.worker();
    worker.send(Command::ResumeAll);
    let count = wait_for(&mut events, 10, |e| match e {
        Event::Resuming { count } => Some(count),
        _ => None,
    })
    .await;
    assert_eq!(count, 0);
    assert_eq!(h.emulator.webmoney_ledger().len(), 5);
    worker.stop().await;
}

#[tokio::test]
async fn a_wrong_key_password_means_nothing_is_sent() {
    let h = Harness::start().await;
    let mut settings = h.settings.clone();
    if let kassa::config::WmAuth::Classic { password, .. } = &mut settings.webmoney.auth {
        password.inline = Some(kassa::config::Secret::new("wrong".into()));
    }
    let (worker, mut events) = Worker::start(settings, h.journal()).unwrap();
    worker.send(Command::Start {
        request: kassa::flows::Request::Webmoney(invoice("405002833238", "1")),
        allow_duplicate: true,
    });
    let key = wait_for(&mut events, 10, |e| match e {
        Event::Trouble { key, .. } => Some(key),
        _ => None,
    })
    .await;
    assert_eq!(key, "wm.not_configured");
    assert!(h.emulator.webmoney_ledger().is_empty());
    assert!(h.journal().list(&Default::default()).unwrap().is_empty());
    worker.stop().await;
}

#[tokio::test]
async fn keeper_light_sends_without_a_signature_from_a_pem_certificate() {
    let h = Harness::start().await;
    let mut settings = h.settings.clone();
    let fixtures = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    settings.webmoney.url = format!(
        "{}{}",
        h.emulator.base_url(),
        kassa::emulator::X1_LIGHT_PATH
    );
    settings.webmoney.auth = kassa::config::WmAuth::Light {
        cert: Some(fixtures.join("light-cert.pem")),
        key: Some(fixtures.join("light-key.pem")),
        ca: Some(fixtures.join("light-cert.pem")),
    };
    let (worker, mut events) = Worker::start(settings.clone(), h.journal()).unwrap();
    let op = issue(&worker, &mut events, invoice("405002833238", "5")).await;
    assert_eq!(op.state, State::Completed);
    worker.stop().await;
    // A certificate that is not there: nothing is recorded, nothing sent.
    settings.webmoney.auth = kassa::config::WmAuth::Light {
        cert: Some(fixtures.join("missing.pem")),
        key: Some(fixtures.join("light-key.pem")),
        ca: None,
    };
    let (worker, mut events) = Worker::start(settings, h.journal()).unwrap();
    worker.send(Command::Start {
        request: kassa::flows::Request::Webmoney(invoice("405002833238", "6")),
        allow_duplicate: true,
    });
    let key = wait_for(&mut events, 10, |e| match e {
        Event::Trouble { key, .. } => Some(key),
        _ => None,
    })
    .await;
    assert_eq!(key, "wm.not_configured");
    assert_eq!(h.emulator.webmoney_ledger().len(), 1);
    worker.stop().await;
}

#[tokio::test]
async fn an_orderid_never_lands_on_another_operations_id() {
    let h = Harness::start().await;
    let (worker, mut events) = h.worker();
    // A utility payment whose rrn is "1": the orderid counter must step over it.
    worker.send(Command::Start {
        request: kassa::flows::Request::Pay(kassa::flows::pay::UtilityPayment {
            id: "1".into(),
            login: "77072734954".into(),
            service: "185".into(),
            account: "1234567".into(),
            amount: Amount::parse("100", Currency::Kzt).unwrap(),
        }),
        allow_duplicate: true,
    });
    wait_for(&mut events, 20, |e| match e {
        Event::Finished { op } if op.id == "1" => Some(()),
        _ => None,
    })
    .await;
    let op = issue(&worker, &mut events, invoice("405002833238", "1")).await;
    assert_eq!(op.id, "2");
    assert_eq!(op.state, State::Completed);
    // An invoice asked for under a taken id is refused, never reported with its outcome.
    let mut taken = invoice("405002833238", "9");
    taken.orderid = Some(1);
    worker.send(Command::Start {
        request: kassa::flows::Request::Webmoney(taken),
        allow_duplicate: true,
    });
    let key = wait_for(&mut events, 10, |e| match e {
        Event::Trouble { key, .. } => Some(key),
        _ => None,
    })
    .await;
    assert_eq!(key, "error.id_taken");
    assert_eq!(h.emulator.webmoney_ledger().len(), 1);
    // And the counter was raised past a given id: the next one is above it.
    let mut given = invoice("405002833238", "3");
    given.orderid = Some(50);
    let op = issue(&worker, &mut events, given).await;
    assert_eq!(op.id, "50");
    let next = issue(&worker, &mut events, invoice("405002833238", "4")).await;
    assert_eq!(next.id, "51");
    worker.stop().await;
}

/// An invoice issued for another amount than was asked exists at WebMoney, but it is not
/// the one the cashier meant: never a plain success, a person compares.
#[tokio::test]
async fn an_invoice_issued_for_another_amount_waits_for_a_person() {
    let h = Harness::start().await;
    let (worker, mut events) = h.worker();
    let op = issue(&worker, &mut events, invoice("405002833238", "1.58")).await;
    assert_eq!(
        (
            op.state,
            op.needs_reconciliation,
            op.recon_reason.as_deref()
        ),
        (State::Pending, true, Some("recon.other_operation"))
    );
    assert!(op.detail.unwrap().contains("amount 999"));
    let trail = h.journal().events(&op.id).unwrap();
    assert!(
        trail
            .iter()
            .any(|e| e.detail.contains("asked 1.58, the reply names 999")),
        "{trail:?}"
    );
    worker.stop().await;
}

/// Nothing reached WebMoney (connection refused): the waiting screen and the command line
/// name WebMoney, not another provider (the progress texts once all said Allpay).
#[tokio::test]
async fn a_refused_connection_names_webmoney() {
    let mut h = Harness::start().await;
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = closed.local_addr().unwrap().port();
    drop(closed);
    h.settings.webmoney.url = format!("http://127.0.0.1:{port}/x1");
    let (worker, mut events) = h.worker();
    worker.send(Command::Start {
        request: kassa::flows::Request::Webmoney(invoice("405002833238", "10,50")),
        allow_duplicate: true,
    });
    let (provider, trouble) = wait_for(&mut events, 10, |e| match e {
        Event::Progress {
            kind,
            trouble: Some(t),
            ..
        } => Some((kassa::flows::provider_name(kind), t)),
        _ => None,
    })
    .await;
    assert_eq!((provider, trouble), ("WebMoney", "send.not_sent"));
    let words = kassa::i18n::tf(kassa::i18n::Lang::En, trouble, &[("provider", provider)]);
    assert_eq!(words, "no connection to WebMoney, will retry");
    assert!(h.emulator.webmoney_ledger().is_empty());
    worker.stop().await;
}
