//! The utility payment flow (document 001) through real HTTP on loopback against the
//! emulator: the check, every outcome, every fault, the rrn that makes a repeat safe, the
//! valueDate that stays the same across re-sends, restarts.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common;

use common::{Harness, kzt, wait_for};
use kassa::emulator::allpay_pay as magic;
use kassa::flows::pay::UtilityPayment;
use kassa::journal::{Operation, State};
use kassa::worker::pay::CheckOutcome;
use kassa::worker::{Command, Event, Worker};
use tokio::sync::mpsc::UnboundedReceiver;

fn payment(login: &str, service: &str, account: &str, amount: &str) -> UtilityPayment {
    UtilityPayment {
        id: kassa::ids::new_rrn(),
        login: login.into(),
        service: service.into(),
        account: account.into(),
        amount: kzt(amount),
    }
}

async fn pay(
    worker: &Worker,
    events: &mut UnboundedReceiver<Event>,
    p: UtilityPayment,
) -> Operation {
    let id = p.id.clone();
    worker.send(Command::Start {
        request: kassa::flows::Request::Pay(p),
        allow_duplicate: true,
    });
    wait_for(events, 60, |e| match e {
        Event::Finished { op } | Event::NeedsReconciliation { op } if op.id == id => Some(op),
        _ => None,
    })
    .await
}

async fn check(
    worker: &Worker,
    events: &mut UnboundedReceiver<Event>,
    p: UtilityPayment,
) -> CheckOutcome {
    let id = p.id.clone();
    worker.send(Command::CheckPayment { payment: p });
    wait_for(events, 10, |e| match e {
        Event::PaymentChecked { id: cid, outcome } if cid == id => Some(outcome),
        _ => None,
    })
    .await
}

#[tokio::test]
async fn the_check_says_yes_or_why_not_and_moves_nothing() {
    let h = Harness::start().await;
    let (worker, mut events) = h.worker();
    let ok = check(
        &worker,
        &mut events,
        payment("77072734954", "185", "1234567", "100"),
    )
    .await;
    assert!(
        matches!(ok, CheckOutcome::Possible { message: Some(ref m) } if m == "Оплата возможна"),
        "{ok:?}"
    );
    let empty = check(
        &worker,
        &mut events,
        payment("77072734954", "185", magic::EMPTY_CHECK, "100"),
    )
    .await;
    assert_eq!(
        empty,
        CheckOutcome::Possible { message: None },
        "an empty reply means yes"
    );
    let unknown = check(
        &worker,
        &mut events,
        payment(magic::UNKNOWN_CLIENT, "185", "1234567", "100"),
    )
    .await;
    assert!(
        matches!(unknown, CheckOutcome::Refused { ref message, .. } if message.contains("Клиент не найден")),
        "{unknown:?}"
    );
    let service = check(
        &worker,
        &mut events,
        payment("77072734954", magic::UNKNOWN_SERVICE, "1234567", "100"),
    )
    .await;
    assert!(
        matches!(service, CheckOutcome::Refused { ref code, .. } if code == "S:Server"),
        "{service:?}"
    );
    assert!(h.emulator.pay_ledger().is_empty());
    worker.stop().await;
}

#[tokio::test]
async fn a_payment_completes_once_with_one_rrn_and_one_value_date() {
    let h = Harness::start().await;
    let (worker, mut events) = h.worker();
    let p = payment("77072734954", "185", "1234567", "1 000,50");
    let id = p.id.clone();
    let op = pay(&worker, &mut events, p).await;
    assert_eq!(op.state, State::Completed);
    assert_eq!(op.customer, "185/1234567");
    let ledger = h.emulator.pay_ledger();
    assert_eq!(ledger.len(), 1);
    assert_eq!(ledger[0].rrn, id);
    assert_eq!(ledger[0].amount, "1000.5");
    assert_eq!(ledger[0].requests, 3);
    let params = kassa::flows::pay::params_of(&op).unwrap();
    assert_eq!(
        ledger[0].value_date, params.value_date,
        "the recorded valueDate went out"
    );
    worker.stop().await;
}

#[tokio::test]
async fn declines_in_both_spellings_keep_the_reason_for_the_log() {
    let h = Harness::start().await;
    let (worker, mut events) = h.worker();
    for (account, status) in [
        (magic::DECLINE, "DECLINED"),
        (magic::LOWERCASE_FAIL, "fail"),
    ] {
        let op = pay(
            &worker,
            &mut events,
            payment("77072734954", "185", account, "100"),
        )
        .await;
        assert_eq!(op.state, State::Declined, "{account}");
        assert_eq!(op.provider_status.as_deref(), Some(status));
        assert!(op.detail.is_some(), "reason kept for the log");
    }
    let op = pay(
        &worker,
        &mut events,
        payment("77072734954", "185", magic::LOWERCASE, "100"),
    )
    .await;
    assert_eq!(op.state, State::Completed);
    assert_eq!(op.provider_status.as_deref(), Some("succeeded"));
    worker.stop().await;
}

#[tokio::test]
async fn every_fault_ends_completed_with_exactly_one_charge() {
    let h = Harness::start().await;
    let (worker, mut events) = h.worker();
    for cents in ["51", "52", "53", "54", "55", "56", "57"] {
        let p = payment("77072734954", "185", "1234567", &format!("100.{cents}"));
        let id = p.id.clone();
        let op = pay(&worker, &mut events, p).await;
        assert_eq!(op.state, State::Completed, "fault .{cents}");
        let ledger = h.emulator.pay_ledger();
        let mine: Vec<_> = ledger.iter().filter(|e| e.rrn == id).collect();
        assert_eq!(mine.len(), 1, "fault .{cents}: one charge");
        assert!(
            mine[0].requests >= 3,
            "fault .{cents}: re-sent with the same rrn"
        );
    }
    worker.stop().await;
}

#[tokio::test]
async fn no_agent_funds_is_a_long_pending_never_a_decline() {
    let h = Harness::start().await;
    let (worker, mut events) = h.worker();
    let p = payment("77072734954", "185", magic::NO_AGENT_FUNDS, "100");
    let id = p.id.clone();
    worker.send(Command::Start {
        request: kassa::flows::Request::Pay(p),
        allow_duplicate: false,
    });
    // Ten answers in, it is still pending and still being asked.
    wait_for(&mut events, 30, |e| match e {
        Event::Progress {
            id: pid,
            attempt: 10,
            next_retry: Some(_),
            ..
        } if pid == id => Some(()),
        _ => None,
    })
    .await;
    assert_eq!(h.journal().get(&id).unwrap().state, State::Pending);
    worker.stop().await;
    // Stopped mid-way: still pending, and resumed by the next start to the end.
    let (worker, mut events) = h.worker();
    worker.send(Command::ResumeAll);
    let op = wait_for(&mut events, 60, |e| match e {
        Event::Finished { op } if op.id == id => Some(op),
        _ => None,
    })
    .await;
    assert_eq!(op.state, State::Completed);
    assert_eq!(h.emulator.pay_ledger().len(), 1);
    worker.stop().await;
}

#[tokio::test]
async fn a_like_payment_is_refused_until_the_cashier_says_so() {
    let h = Harness::start().await;
    let (worker, mut events) = h.worker();
    pay(
        &worker,
        &mut events,
        payment("77072734954", "185", "1234567", "700"),
    )
    .await;
    let again = payment("77072734954", "185", "1234567", "700");
    worker.send(Command::Start {
        request: kassa::flows::Request::Pay(again.clone()),
        allow_duplicate: false,
    });
    wait_for(&mut events, 10, |e| match e {
        Event::Duplicate {
            request: kassa::flows::Request::Pay(payment),
            ..
        } if payment.id == again.id => Some(()),
        _ => None,
    })
    .await;
    assert_eq!(h.emulator.pay_ledger().len(), 1);
    worker.stop().await;
}

#[tokio::test]
async fn recent_payees_come_from_the_journal() {
    let h = Harness::start().await;
    let (worker, mut events) = h.worker();
    pay(
        &worker,
        &mut events,
        payment("77072734954", "185", "1234567", "100"),
    )
    .await;
    pay(
        &worker,
        &mut events,
        payment("77011112233", "200", "87001234567", "50"),
    )
    .await;
    pay(
        &worker,
        &mut events,
        payment("77072734954", "185", "1234567", "300"),
    )
    .await;
    worker.send(Command::LoadRecentPayees);
    let payees = wait_for(&mut events, 10, |e| match e {
        Event::RecentPayees { payees } => Some(payees),
        _ => None,
    })
    .await;
    let accounts: Vec<&str> = payees.iter().map(|p| p.account.as_str()).collect();
    assert_eq!(
        accounts,
        ["1234567", "87001234567"],
        "newest first, each once"
    );
    worker.stop().await;
}

#[tokio::test]
async fn unknown_client_or_service_reaching_pay_is_declined_and_a_failed_check_moves_nothing() {
    let h = Harness::start().await;
    let (worker, mut events) = h.worker();
    let op = pay(
        &worker,
        &mut events,
        payment(magic::UNKNOWN_CLIENT, "185", "1234567", "100"),
    )
    .await;
    assert_eq!(op.state, State::Declined);
    let op = pay(
        &worker,
        &mut events,
        payment("77072734954", magic::UNKNOWN_SERVICE, "1", "100"),
    )
    .await;
    assert_eq!(op.state, State::Declined);
    let failed = check(
        &worker,
        &mut events,
        payment(magic::CHECK_FAULT, "185", "1234567", "100"),
    )
    .await;
    assert_eq!(
        failed,
        CheckOutcome::Failed {
            key: "check.no_answer"
        }
    );
    assert_eq!(h.emulator.pay_ledger().len(), 2);
    worker.stop().await;
}

#[tokio::test]
async fn a_pending_payment_is_not_sent_to_a_new_endpoint() {
    let mut h = Harness::start().await;
    let p = payment("77072734954", "185", magic::LONG_PENDING, "100");
    let id = p.id.clone();
    {
        let (worker, mut events) = h.worker();
        worker.send(Command::Start {
            request: kassa::flows::Request::Pay(p),
            allow_duplicate: false,
        });
        wait_for(&mut events, 10, |e| match e {
            Event::Progress {
                id: pid,
                next_retry: Some(_),
                ..
            } if pid == id => Some(()),
            _ => None,
        })
        .await;
        worker.stop().await;
    }
    let before = h.emulator.pay_ledger()[0].requests;
    h.settings.allpay.terminal_url = "http://127.0.0.1:9/elsewhere".into();
    let (worker, mut events) = h.worker();
    worker.send(Command::ResumeAll);
    let op = wait_for(&mut events, 10, |e| match e {
        Event::NeedsReconciliation { op } if op.id == id => Some(op),
        _ => None,
    })
    .await;
    assert_eq!(op.state, State::Pending);
    assert_eq!(op.recon_reason.as_deref(), Some("recon.endpoint_changed"));
    assert_eq!(h.emulator.pay_ledger()[0].requests, before);
    worker.stop().await;
}
