//! The notification listener as a server on the open network (issue 17): idle sockets and
//! a slow body never shut out a good notification; a chunked notification is read; a flood
//! of Wooppay requestUrl pings makes at most one status sweep per interval; a notification
//! is answered 200 only once it is kept, and one kept but not acted on is acted on at the
//! next start.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common;

use std::time::{Duration, Instant};

use common::{Harness, wait_for};
use kassa::callbacks::Limits;
use kassa::journal::NoticeSource;
use kassa::worker::{Command, Event};
use sha1::{Digest, Sha1};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// UPay's accessToken of a notification about `subject` (a HoldId or a CardToken).
fn sign(h: &Harness, subject: &str) -> String {
    let password = h.settings.upay.password.get().unwrap();
    Sha1::digest(format!("{}{}{subject}", h.settings.upay.username, password.expose()).as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Writes `raw` on a new connection and reads the whole answer.
async fn exchange(addr: std::net::SocketAddr, raw: &[u8]) -> String {
    let mut s = TcpStream::connect(addr).await.unwrap();
    s.write_all(raw).await.unwrap();
    let mut out = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(5), s.read_to_end(&mut out)).await;
    String::from_utf8_lossy(&out).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_sockets_and_a_slow_body_never_shut_out_a_good_notification() {
    let h = Harness::start().await;
    let (worker, _events) = h.worker();
    let bound = kassa::callbacks::bind("127.0.0.1:0").await.unwrap();
    let limits = Limits {
        max_connections: 256,
        header_timeout: Duration::from_secs(3),
        body_timeout: Duration::from_secs(1),
        ..Limits::default()
    };
    let listener =
        kassa::callbacks::serve_with(bound, &h.settings.upay, worker.commands(), limits).unwrap();
    let addr = listener.addr;

    // 500 connections that never send a byte, and one whose body never finishes.
    let mut idle = Vec::new();
    for _ in 0..500 {
        idle.push(TcpStream::connect(addr).await.unwrap());
    }
    let mut slow = TcpStream::connect(addr).await.unwrap();
    slow.write_all(
        b"POST /upay/notify HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 200\r\n\r\nholdId=1",
    )
    .await
    .unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;

    // A good notification meanwhile: served, and quickly.
    let hold = "3794392756000001";
    let body = format!(
        "holdId={hold}&status=0&message=ok&accessToken={}",
        sign(&h, hold)
    );
    let http = kassa::providers::http_client(Duration::from_secs(5)).unwrap();
    let started = Instant::now();
    let r = http
        .post(format!("http://{addr}/upay/notify"))
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body(body)
        .send()
        .await
        .unwrap();
    let took = started.elapsed();
    assert_eq!(r.status().as_u16(), 200);
    assert!(took < Duration::from_secs(1), "served in {took:?}");

    // The slow body is answered 408 (or closed) after the body timeout.
    let mut answer = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(3), slow.read_to_end(&mut answer)).await;
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.is_empty() || answer.contains("408"), "{answer}");

    // Every idle socket is closed: the oldest for newcomers at the cap, the rest by the
    // header timeout.
    let deadline = Instant::now() + Duration::from_secs(6);
    for s in &mut idle {
        let mut buf = [0u8; 64];
        let left = deadline.saturating_duration_since(Instant::now());
        let n = tokio::time::timeout(left.max(Duration::from_millis(10)), s.read(&mut buf))
            .await
            .expect("an idle socket still open after the header timeout");
        assert!(
            matches!(n, Ok(0) | Err(_)) || String::from_utf8_lossy(&buf).contains("408"),
            "{n:?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_chunked_notification_is_read_and_kept_before_it_is_answered() {
    let h = Harness::start().await;
    let (worker, mut events) = h.worker();
    let bound = kassa::callbacks::bind("127.0.0.1:0").await.unwrap();
    let listener = kassa::callbacks::serve(bound, &h.settings.upay, worker.commands()).unwrap();
    let hold = "3794392756000002";
    let body = format!(
        "holdId={hold}&status=0&message=ok&accessToken={}",
        sign(&h, hold)
    );
    let (a, b) = body.split_at(body.len() / 2);
    let raw = format!(
        "POST /upay/notify HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nTransfer-Encoding: chunked\r\n\r\n{:x}\r\n{a}\r\n{:x}\r\n{b}\r\n0\r\n\r\n",
        a.len(),
        b.len()
    );
    let answer = exchange(listener.addr, raw.as_bytes()).await;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    // Kept in the journal by the time UPay hears 200.
    let kept: i64 = rusqlite::Connection::open(&h.settings.journal_path)
        .unwrap()
        .query_row(
            "SELECT COUNT(*) FROM notices WHERE target = ?1",
            [hold],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(kept, 1, "answered before it was kept");
    // The worker then checks the hold.
    let checked = wait_for(&mut events, 10, |e| match e {
        Event::HoldChecked { answer } if answer.target == hold => Some(answer),
        _ => None,
    })
    .await;
    assert_eq!(checked.target, hold);
    // Acted on, so no longer open.
    let deadline = Instant::now() + Duration::from_secs(5);
    while !h.journal().open_notices().unwrap().is_empty() {
        assert!(
            Instant::now() < deadline,
            "the notice was never marked handled"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // A body over the limit is refused whole.
    let big = "x".repeat(20 * 1024);
    let raw = format!(
        "POST /upay/notify HTTP/1.1\r\nHost: x\r\nContent-Length: {}\r\n\r\n{big}",
        big.len()
    );
    let answer = exchange(listener.addr, raw.as_bytes()).await;
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
}

/// A notice kept by a run that stopped before acting on it is acted on at the next start.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_notice_kept_but_not_acted_on_is_acted_on_at_the_next_start() {
    let h = Harness::start().await;
    let hold = "3794392756000003";
    h.journal()
        .record_notice(
            NoticeSource::UpayHold,
            hold,
            "0",
            "kept, then the till went down",
        )
        .unwrap();
    let (worker, mut events) = h.worker();
    worker.send(Command::ResumeAll);
    let checked = wait_for(&mut events, 10, |e| match e {
        Event::HoldChecked { answer } if answer.target == hold => Some(answer),
        _ => None,
    })
    .await;
    assert_eq!(checked.target, hold);
    let deadline = Instant::now() + Duration::from_secs(5);
    while !h.journal().open_notices().unwrap().is_empty() {
        assert!(Instant::now() < deadline, "never marked handled");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A flood of requestUrl pings (unsigned, anyone can send them): at most one status sweep
/// per `[wooppay] ping_sweep_secs` reaches Wooppay, however many come in.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flood_of_wooppay_pings_makes_at_most_one_sweep_per_interval() {
    let mut h = Harness::start().await;
    // No status poll of the driver's own during the test: every query is a sweep's.
    h.settings.poll_initial = Duration::from_secs(60);
    h.settings.poll_max = Duration::from_secs(60);
    let interval = h.settings.wooppay.ping_sweep;
    let (worker, mut events) = h.worker();
    let bound = kassa::callbacks::bind("127.0.0.1:0").await.unwrap();
    let listener = kassa::callbacks::serve(bound, &h.settings.upay, worker.commands()).unwrap();
    // One invoice Wooppay keeps in progress (status 8): every sweep asks about it.
    let inv = kassa::flows::wooppay::WpInvoice {
        reference_id: kassa::ids::new_reference_id(),
        variant: kassa::providers::wooppay::codec::Variant::Plain,
        amount: kassa::money::Amount::parse("100.08", kassa::money::Currency::Kzt).unwrap(),
        description: "flood".into(),
        phone: String::new(),
        email: String::new(),
        service: String::new(),
        death_date: String::new(),
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
    let op = wait_for(&mut events, 20, |e| match e {
        Event::Issued { op } if op.id == id => Some(op),
        _ => None,
    })
    .await;
    let operation_id = op.provider_ref.unwrap();
    let queries = || {
        h.emulator
            .wooppay_ledger()
            .unwrap()
            .invoices
            .iter()
            .find(|i| i.operation_id.to_string() == operation_id)
            .map(|i| i.polls)
            .unwrap_or(0)
    };
    let before = queries();
    let http = kassa::providers::http_client(Duration::from_secs(5)).unwrap();
    let started = Instant::now();
    let mut answered = 0;
    for _ in 0..100 {
        let r = http
            .post(format!("http://{}/wooppay/request", listener.addr))
            .body("id=1")
            .send()
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), 200);
        assert_eq!(r.text().await.unwrap(), r#"{"data":1}"#);
        answered += 1;
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let flood = started.elapsed();
    // The last due sweep runs at most one interval after the flood.
    tokio::time::sleep(interval * 2).await;
    let sweeps = queries() - before;
    let most = u32::try_from(flood.as_millis() / interval.as_millis()).unwrap() + 2;
    assert!(sweeps >= 1, "the pings were never acted on");
    assert!(
        sweeps <= most,
        "{answered} pings in {flood:?}: {sweeps} sweeps, at most {most} allowed"
    );
}

/// A card's first word decides; the same word again only adds to the trail; a later,
/// different word (the signature covers neither the status nor a time) leaves the card as
/// it is and waits for a person, who can say the card stands.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cards_first_notification_decides_and_a_contradiction_waits_for_a_person() {
    let h = Harness::start().await;
    let token = "emu00000000000000cafe";
    issued_card(&h, "card-1", token);
    let (worker, mut events) = h.worker();
    let bound = kassa::callbacks::bind("127.0.0.1:0").await.unwrap();
    let listener = kassa::callbacks::serve(bound, &h.settings.upay, worker.commands()).unwrap();
    let http = kassa::providers::http_client(Duration::from_secs(5)).unwrap();
    let notify = |status: &'static str| {
        let body = format!(
            "cardToken={token}&status={status}&message=m&accessToken={}",
            sign(&h, token)
        );
        let http = http.clone();
        let url = format!("http://{}/upay/notify", listener.addr);
        async move {
            http.post(url)
                .header("Content-Type", "application/x-www-form-urlencoded")
                .body(body)
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }
    };
    let settled = |want: fn(&kassa::journal::Operation) -> bool| {
        let j = h.journal();
        async move {
            let deadline = Instant::now() + Duration::from_secs(10);
            loop {
                let op = j.get("card-1").unwrap();
                if want(&op) {
                    return op;
                }
                assert!(Instant::now() < deadline, "{op:?}");
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    };
    // First word: confirmed.
    assert_eq!(notify("0").await, 200);
    let op = settled(|o| o.state == kassa::journal::State::Completed).await;
    assert!(!op.needs_reconciliation);
    // The same again: nothing moves, the trail has it.
    assert_eq!(notify("0").await, 200);
    let deadline = Instant::now() + Duration::from_secs(10);
    while !h
        .journal()
        .events("card-1")
        .unwrap()
        .iter()
        .any(|e| e.detail.starts_with("again:"))
    {
        assert!(Instant::now() < deadline, "the repeat was not noted");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(!h.journal().get("card-1").unwrap().needs_reconciliation);
    // A later, different word: the card stays confirmed and waits for a person.
    assert_eq!(notify("1").await, 200);
    let op = settled(|o| o.needs_reconciliation).await;
    assert_eq!(op.state, kassa::journal::State::Completed);
    assert_eq!(
        op.recon_reason.as_deref(),
        Some("recon.upay_card_contradicted")
    );
    let _ = wait_for(&mut events, 10, |e| match e {
        Event::NeedsReconciliation { op } if op.id == "card-1" => Some(()),
        _ => None,
    })
    .await;
    // The person finds the card works: it stays confirmed, the question is closed.
    let op = h
        .journal()
        .resolve_manually(
            "card-1",
            kassa::journal::State::Completed,
            "UPay: card active",
        )
        .unwrap();
    assert_eq!(op.state, kassa::journal::State::Completed);
    assert!(!op.needs_reconciliation);
}

/// With `[upay] notify_tls_cert`/`notify_tls_key` the listener serves HTTPS itself: a
/// notification over TLS is served; plain HTTP to it is not.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_listener_serves_tls_with_its_own_certificate() {
    let mut h = Harness::start().await;
    let fixtures = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let cert = fixtures.join("listener-cert.pem");
    h.settings.upay.notify_tls = Some((cert.clone(), fixtures.join("listener-key.pem")));
    let (worker, _events) = h.worker();
    let bound = kassa::callbacks::bind("127.0.0.1:0").await.unwrap();
    let listener = kassa::callbacks::serve(bound, &h.settings.upay, worker.commands()).unwrap();
    let hold = "3794392756000004";
    let body = format!(
        "holdId={hold}&status=0&message=ok&accessToken={}",
        sign(&h, hold)
    );
    let https =
        kassa::providers::http_client_tls(Duration::from_secs(5), None, Some(&cert)).unwrap();
    let r = https
        .post(format!(
            "https://127.0.0.1:{}/upay/notify",
            listener.addr.port()
        ))
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body(body.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    // Plain HTTP gets no answer from a TLS listener.
    let plain = kassa::providers::http_client(Duration::from_secs(3)).unwrap();
    let r = plain
        .post(format!("http://{}/upay/notify", listener.addr))
        .body(body)
        .send()
        .await;
    assert!(r.is_err() || !r.unwrap().status().is_success());
}

/// A card notification whose status is no number (the document's is `0` for success) says
/// nothing: the card keeps waiting and a person decides.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_card_notification_with_an_unreadable_status_waits_for_a_person() {
    let h = Harness::start().await;
    let token = "emu00000000000000beef";
    issued_card(&h, "card-2", token);
    let (worker, _events) = h.worker();
    let bound = kassa::callbacks::bind("127.0.0.1:0").await.unwrap();
    let listener = kassa::callbacks::serve(bound, &h.settings.upay, worker.commands()).unwrap();
    let body = format!(
        "cardToken={token}&status=pending&message=m&accessToken={}",
        sign(&h, token)
    );
    let r = kassa::providers::http_client(Duration::from_secs(5))
        .unwrap()
        .post(format!("http://{}/upay/notify", listener.addr))
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let op = h.journal().get("card-2").unwrap();
        if op.needs_reconciliation {
            assert_eq!(
                op.state,
                kassa::journal::State::Issued,
                "never decided by it"
            );
            assert_eq!(
                op.recon_reason.as_deref(),
                Some("recon.upay_card_unreadable")
            );
            break;
        }
        assert!(Instant::now() < deadline, "{op:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A card registration journaled as issued by UPay under `token`, waiting for its
/// customer (and its notification).
fn issued_card(h: &Harness, id: &str, token: &str) {
    let mut j = h.journal();
    let new = kassa::journal::NewOperation {
        id: id.into(),
        kind: kassa::journal::Kind::UpayCard,
        amount: kassa::money::Amount::none(kassa::money::Currency::Uzs),
        customer: "411111******1111".into(),
        customer_name: Some("TONY SAPAY".into()),
        endpoint: h.settings.upay.url.clone(),
        identity: h.settings.upay.username.clone(),
        params: None,
    };
    j.record_pending(&new, "test", 0).unwrap();
    let facts = kassa::journal::Facts {
        provider_ref: Some(token.into()),
        ..Default::default()
    };
    j.transition(id, "test", kassa::journal::State::Issued, &facts)
        .unwrap();
}
