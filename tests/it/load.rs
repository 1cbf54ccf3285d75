//! Many rows in flight: at most `[worker] max_in_flight` requests out to one provider at
//! once, whether the rows were just confirmed or resumed after a restart; every row still
//! polled. A fake Allpay that answers slowly (HTTP 500, which leaves a cash-in pending)
//! counts how many requests it holds at the same moment.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

use crate::common::{Harness, payment};
use kassa::journal::{Journal, ListFilter};
use kassa::worker::{Command, Worker};

#[derive(Default)]
struct Seen {
    now: AtomicUsize,
    most: AtomicUsize,
    total: AtomicUsize,
}

/// A server that holds each request 150 ms, then answers 500 and closes.
async fn slow_fake() -> (String, Arc<Seen>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let seen = Arc::new(Seen::default());
    let s = seen.clone();
    tokio::spawn(async move {
        loop {
            let Ok((mut sock, _)) = listener.accept().await else {
                return;
            };
            let s = s.clone();
            tokio::spawn(async move {
                let mut buf = vec![0u8; 8192];
                let mut got = Vec::new();
                // The head and the body (Content-Length) of one request.
                loop {
                    let Ok(n) = sock.read(&mut buf).await else {
                        return;
                    };
                    if n == 0 {
                        return;
                    }
                    got.extend_from_slice(&buf[..n]);
                    let text = String::from_utf8_lossy(&got).to_string();
                    if let Some(end) = text.find("\r\n\r\n") {
                        let len = text[..end]
                            .lines()
                            .find_map(|l| {
                                let (k, v) = l.split_once(':')?;
                                k.eq_ignore_ascii_case("content-length")
                                    .then(|| v.trim().parse::<usize>().ok())?
                            })
                            .unwrap_or(0);
                        if got.len() >= end + 4 + len {
                            break;
                        }
                    }
                }
                let now = s.now.fetch_add(1, Ordering::SeqCst) + 1;
                s.most.fetch_max(now, Ordering::SeqCst);
                s.total.fetch_add(1, Ordering::SeqCst);
                tokio::time::sleep(Duration::from_millis(150)).await;
                s.now.fetch_sub(1, Ordering::SeqCst);
                let _ = sock
                    .write_all(
                        b"HTTP/1.1 500 Internal Server Error\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
                    )
                    .await;
                let _ = sock.shutdown().await;
            });
        }
    });
    (format!("http://{addr}/"), seen)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn at_most_max_in_flight_requests_to_one_provider_confirmed_or_resumed() {
    let h = Harness::start().await;
    let (url, seen) = slow_fake().await;
    let mut settings = h.settings.clone();
    settings.allpay.cash_in_url = url;
    settings.max_in_flight = 3;
    settings.allpay.timeout = Duration::from_secs(2);
    let journal = || Journal::open(&h.settings.journal_path).unwrap();

    // Twenty cash-ins confirmed at once.
    let (worker, _events) = Worker::start(settings.clone(), journal()).unwrap();
    for i in 0..20 {
        worker.send(Command::Start {
            request: kassa::flows::Request::CashIn(payment("77072734954", &format!("{}", 100 + i))),
            allow_duplicate: true,
        });
    }
    tokio::time::sleep(Duration::from_millis(1500)).await;
    worker.stop().await;
    let first = seen.total.load(Ordering::SeqCst);
    assert_eq!(seen.most.load(Ordering::SeqCst), 3, "{first} requests");
    assert!(first >= 20, "every row was sent at least once: {first}");
    let pending = journal().list(&ListFilter::default()).unwrap();
    assert_eq!(pending.len(), 20);
    assert!(
        pending
            .iter()
            .all(|o| o.state == kassa::journal::State::Pending)
    );

    // The same twenty resumed by the next start.
    tokio::time::sleep(Duration::from_millis(300)).await;
    seen.most.store(0, Ordering::SeqCst);
    let (worker, _events) = Worker::start(settings, journal()).unwrap();
    worker.send(Command::ResumeAll);
    tokio::time::sleep(Duration::from_millis(1500)).await;
    worker.stop().await;
    let resumed = seen.total.load(Ordering::SeqCst) - first;
    assert_eq!(seen.most.load(Ordering::SeqCst), 3, "{resumed} requests");
    let polled = journal()
        .list(&ListFilter::default())
        .unwrap()
        .into_iter()
        .filter(|o| o.attempts >= 2)
        .count();
    assert_eq!(polled, 20, "every resumed row was polled again");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stopped_worker_leaves_no_wal_for_the_next_start_to_recover() {
    let h = Harness::start().await;
    let (worker, mut events) = h.worker();
    let p = payment("77072734954", "150");
    let id = p.id.clone();
    worker.send(Command::Start {
        request: kassa::flows::Request::CashIn(p),
        allow_duplicate: true,
    });
    crate::common::wait_for(&mut events, 10, |e| match e {
        kassa::worker::Event::Finished { op } if op.id == id => Some(()),
        _ => None,
    })
    .await;
    let wal = h.settings.journal_path.with_extension("db-wal");
    assert!(wal.exists(), "the journal ran in WAL mode");
    worker.stop().await;
    assert!(
        !wal.exists(),
        "closed at stop: SQLite folded the WAL back and removed it"
    );
}
