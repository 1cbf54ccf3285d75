//! The cash-in flow through real HTTP on loopback against the emulator: every outcome,
//! every fault, duplicates, restarts. The emulator's ledger is the witness: one charge per
//! GUID, whatever happened on the way.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common;

use std::time::Duration;

use common::{Harness, cash_in, payment, wait_for};
use kassa::emulator::allpay_cash_in as magic;
use kassa::journal::State;
use kassa::worker::{CheckOutcome, Command, Event};

#[tokio::test]
async fn check_user_shows_name_identification_and_unknown_wallets() {
    let h = Harness::start().await;
    let (worker, mut events) = h.worker();
    for (login, want) in [
        ("77072734954", Some(true)),
        (magic::NOT_IDENTIFIED, Some(false)),
        (magic::UNKNOWN_USER, None),
    ] {
        worker.send(Command::CheckUser {
            login: login.into(),
        });
        let outcome = wait_for(&mut events, 10, |e| match e {
            Event::UserChecked { outcome, .. } => Some(outcome),
            _ => None,
        })
        .await;
        match (outcome, want) {
            (CheckOutcome::Found { user, .. }, Some(identified)) => {
                assert_eq!(user.identified, identified, "{login}");
                assert!(!user.full_name().is_empty());
                assert!(user.masked_iin().unwrap().starts_with("••••"));
            }
            (CheckOutcome::NotFound { .. }, None) => {}
            (other, _) => panic!("{login}: unexpected {other:?}"),
        }
    }
    // A server error on the check moves nothing and says so.
    worker.send(Command::CheckUser {
        login: magic::CHECK_FAULT.into(),
    });
    let outcome = wait_for(&mut events, 10, |e| match e {
        Event::UserChecked { outcome, .. } => Some(outcome),
        _ => None,
    })
    .await;
    assert!(
        matches!(outcome, CheckOutcome::Failed { .. }),
        "{outcome:?}"
    );
    assert!(h.emulator.cash_in_ledger().is_empty());
    worker.stop().await;
}

#[tokio::test]
async fn a_top_up_goes_pending_then_completed_with_one_charge() {
    let h = Harness::start().await;
    let (worker, mut events) = h.worker();
    let p = payment("77072734954", "5 000");
    let id = p.id.clone();
    let op = cash_in(&worker, &mut events, p).await;
    assert_eq!(op.state, State::Completed);
    assert_eq!(op.provider_status.as_deref(), Some("COMPLETED"));
    // PENDING twice, then COMPLETED, all with the same GUID.
    assert_eq!(op.attempts, 3);
    let ledger = h.emulator.cash_in_ledger();
    assert_eq!(ledger.len(), 1);
    assert_eq!(ledger[0].guid, id);
    assert_eq!(ledger[0].amount, "5000");
    assert_eq!(ledger[0].requests, 3);
    // The journal kept the trail: created, the first attempt and its answer, the second
    // (which changed nothing) as a run of polls, the third and the final state.
    let trail = h.journal().events(&id).unwrap();
    let kinds: Vec<&str> = trail.iter().map(|e| e.kind.as_str()).collect();
    assert_eq!(
        kinds,
        ["created", "sent", "state", "polls", "sent", "state"]
    );
    assert!(trail[3].detail.starts_with("attempts 2-2 by "));
    assert!(trail[4].detail.starts_with("attempt 3 by "));
    assert!(
        trail
            .last()
            .unwrap()
            .detail
            .contains("pending -> completed")
    );
    worker.stop().await;
}

#[tokio::test]
async fn declines_and_failures_are_final_and_say_why() {
    let h = Harness::start().await;
    let (worker, mut events) = h.worker();
    for login in [magic::DECLINE, magic::FAILED] {
        let op = cash_in(&worker, &mut events, payment(login, "100")).await;
        assert_eq!(op.state, State::Declined, "{login}");
        assert!(op.detail.is_some(), "the reason is kept for the log");
        assert!(op.final_at.is_some());
    }
    assert_eq!(h.emulator.cash_in_ledger().len(), 2);
    worker.stop().await;
}

#[tokio::test]
async fn every_fault_ends_completed_with_exactly_one_charge() {
    let h = Harness::start().await;
    let (worker, mut events) = h.worker();
    // .51 500 after charge, .52 reset after charge, .53 slow beyond the timeout,
    // .54 malformed XML, .55 SOAP Fault, .56 unknown status, .57 truncated body.
    for cents in ["51", "52", "53", "54", "55", "56", "57"] {
        let p = payment("77072734954", &format!("100.{cents}"));
        let id = p.id.clone();
        let op = cash_in(&worker, &mut events, p).await;
        assert_eq!(op.state, State::Completed, "fault .{cents}");
        let ledger = h.emulator.cash_in_ledger();
        let mine: Vec<_> = ledger.iter().filter(|e| e.guid == id).collect();
        assert_eq!(mine.len(), 1, "fault .{cents}: one charge");
        assert!(
            mine[0].requests >= 3,
            "fault .{cents}: retried with the same GUID"
        );
        let trail = h.journal().events(&id).unwrap();
        assert!(
            trail.iter().any(|e| e.kind == "error"),
            "fault .{cents}: the trouble is in the trail"
        );
    }
    worker.stop().await;
}

#[tokio::test]
async fn a_fault_is_shown_as_pending_never_as_failed() {
    let h = Harness::start().await;
    let (worker, mut events) = h.worker();
    let p = payment("77072734954", "100.51");
    let id = p.id.clone();
    worker.send(Command::Start {
        request: kassa::flows::Request::CashIn(p),
        allow_duplicate: false,
    });
    let (trouble, next) = wait_for(&mut events, 10, |e| match e {
        Event::Progress {
            id: pid,
            trouble: Some(t),
            next_retry,
            ..
        } if pid == id => Some((t, next_retry)),
        _ => None,
    })
    .await;
    assert_eq!(trouble, "send.unknown");
    assert!(next.is_some());
    assert_eq!(h.journal().get(&id).unwrap().state, State::Pending);
    worker.stop().await;
}

#[tokio::test]
async fn a_like_payment_is_refused_until_the_cashier_says_so() {
    let h = Harness::start().await;
    let (worker, mut events) = h.worker();
    let first = cash_in(&worker, &mut events, payment("77072734954", "700")).await;
    assert_eq!(first.state, State::Completed);
    let again = payment("77072734954", "700");
    worker.send(Command::Start {
        request: kassa::flows::Request::CashIn(again.clone()),
        allow_duplicate: false,
    });
    let existing = wait_for(&mut events, 10, |e| match e {
        Event::Duplicate {
            request: kassa::flows::Request::CashIn(..),
            existing,
            ..
        } => Some(existing),
        _ => None,
    })
    .await;
    assert_eq!(existing.id, first.id);
    assert_eq!(h.emulator.cash_in_ledger().len(), 1, "nothing sent");
    assert!(
        h.journal().find(&again.id).unwrap().is_none(),
        "nothing recorded"
    );
    worker.send(Command::Start {
        request: kassa::flows::Request::CashIn(again.clone()),
        allow_duplicate: true,
    });
    let op = wait_for(&mut events, 20, |e| match e {
        Event::Finished { op } if op.id == again.id => Some(op),
        _ => None,
    })
    .await;
    assert_eq!(op.state, State::Completed);
    assert_eq!(h.emulator.cash_in_ledger().len(), 2);
    worker.stop().await;
}

#[tokio::test]
async fn a_double_confirm_with_one_guid_charges_once() {
    let h = Harness::start().await;
    let (worker, mut events) = h.worker();
    let p = payment("77072734954", "300");
    for _ in 0..2 {
        worker.send(Command::Start {
            request: kassa::flows::Request::CashIn(p.clone()),
            allow_duplicate: true,
        });
    }
    let op = wait_for(&mut events, 20, |e| match e {
        Event::Finished { op } if op.id == p.id => Some(op),
        _ => None,
    })
    .await;
    assert_eq!(op.state, State::Completed);
    tokio::time::sleep(Duration::from_millis(300)).await;
    let ledger = h.emulator.cash_in_ledger();
    assert_eq!(ledger.len(), 1);
    worker.stop().await;
}

#[tokio::test]
async fn a_restart_resumes_pending_rows_with_the_same_guid() {
    let h = Harness::start().await;
    let p = payment(magic::LONG_PENDING, "250");
    let id = p.id.clone();
    {
        let (worker, mut events) = h.worker();
        worker.send(Command::Start {
            request: kassa::flows::Request::CashIn(p),
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
    assert_eq!(h.journal().get(&id).unwrap().state, State::Pending);
    let (worker, mut events) = h.worker();
    worker.send(Command::ResumeAll);
    let count = wait_for(&mut events, 10, |e| match e {
        Event::Resuming { count } => Some(count),
        _ => None,
    })
    .await;
    assert_eq!(count, 1);
    let op = wait_for(&mut events, 60, |e| match e {
        Event::Finished { op } if op.id == id => Some(op),
        _ => None,
    })
    .await;
    assert_eq!(op.state, State::Completed);
    let ledger = h.emulator.cash_in_ledger();
    assert_eq!(ledger.len(), 1);
    assert_eq!(ledger[0].requests, magic::LONG_PENDING_POLLS + 1);
    worker.stop().await;
}

#[tokio::test]
async fn a_row_is_not_sent_to_a_new_endpoint() {
    let mut h = Harness::start().await;
    let p = payment(magic::LONG_PENDING, "90");
    let id = p.id.clone();
    {
        let (worker, mut events) = h.worker();
        worker.send(Command::Start {
            request: kassa::flows::Request::CashIn(p),
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
    let requests_before = h.emulator.cash_in_ledger()[0].requests;
    h.settings.allpay.cash_in_url = "http://127.0.0.1:9/elsewhere".into();
    let (worker, mut events) = h.worker();
    worker.send(Command::ResumeAll);
    let op = wait_for(&mut events, 10, |e| match e {
        Event::NeedsReconciliation { op } if op.id == id => Some(op),
        _ => None,
    })
    .await;
    assert!(op.needs_reconciliation);
    assert_eq!(op.state, State::Pending);
    assert_eq!(op.recon_reason.as_deref(), Some("recon.endpoint_changed"));
    let trail = h.journal().events(&id).unwrap();
    assert!(
        trail
            .iter()
            .any(|e| e.kind == "reconcile" && e.detail.contains("elsewhere"))
    );
    assert_eq!(h.emulator.cash_in_ledger()[0].requests, requests_before);
    worker.stop().await;
}

#[tokio::test]
async fn an_unreachable_server_leaves_the_payment_pending() {
    let h = Harness::start().await;
    let mut settings = h.settings.clone();
    // Nothing listens on the discard port on loopback.
    settings.allpay.cash_in_url = "http://127.0.0.1:9/cash-in".into();
    let (worker, mut events) = kassa::worker::Worker::start(settings, h.journal()).unwrap();
    let p = payment("77072734954", "100");
    let id = p.id.clone();
    worker.send(Command::Start {
        request: kassa::flows::Request::CashIn(p),
        allow_duplicate: false,
    });
    let trouble = wait_for(&mut events, 10, |e| match e {
        Event::Progress {
            id: pid,
            trouble: Some(t),
            ..
        } if pid == id => Some(t),
        _ => None,
    })
    .await;
    assert_eq!(trouble, "send.not_sent");
    assert_eq!(h.journal().get(&id).unwrap().state, State::Pending);
    worker.stop().await;
}

#[tokio::test]
async fn faults_queued_on_the_emulator_hit_later_requests_too() {
    let h = Harness::start().await;
    let (worker, mut events) = h.worker();
    // Every request of this payment misbehaves in turn; it still ends with one charge.
    assert_eq!(
        h.emulator
            .queue_faults("reset,500,malformed,fault,unknown-status,truncated"),
        Ok(6)
    );
    let p = payment("77072734954", "100");
    let id = p.id.clone();
    let op = cash_in(&worker, &mut events, p).await;
    assert_eq!(op.state, State::Completed);
    let ledger = h.emulator.cash_in_ledger();
    assert_eq!(ledger.len(), 1);
    assert_eq!(ledger[0].guid, id);
    assert!(ledger[0].requests >= 7);
    let errors = h
        .journal()
        .events(&id)
        .unwrap()
        .into_iter()
        .filter(|e| e.kind == "error" || (e.kind == "polls" && e.detail.contains("; trouble: ")))
        .count();
    assert_eq!(errors, 6, "each fault is in the trail");
    worker.stop().await;
}

#[tokio::test]
async fn a_fault_shows_the_providers_words_with_its_code() {
    let h = Harness::start().await;
    let (worker, mut events) = h.worker();
    h.emulator.queue_faults("fault").unwrap();
    let p = payment("77072734954", "100");
    let id = p.id.clone();
    worker.send(Command::Start {
        request: kassa::flows::Request::CashIn(p),
        allow_duplicate: false,
    });
    let (key, words) = wait_for(&mut events, 10, |e| match e {
        Event::Progress {
            id: pid,
            trouble: Some(t),
            trouble_detail,
            ..
        } if pid == id => Some((t, trouble_detail)),
        _ => None,
    })
    .await;
    assert_eq!(key, "send.fault");
    let words = words.unwrap();
    assert!(
        words.contains("S:Server") && words.contains("Internal error"),
        "{words}"
    );
    worker.stop().await;
}
