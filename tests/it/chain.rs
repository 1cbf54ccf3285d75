//! A chain of tills on one PostgreSQL journal (issue 20), against a real server
//! (tests/support/pg.rs): three tills (processes) and a `kassa worker` drive cash-ins, some
//! tills are killed at random moments, the server itself is restarted in the middle of a
//! run; then the emulator's ledger is held against the journal: every charge has its row,
//! no payment is charged twice, every row is final.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common;
use crate::pg;

use std::collections::HashMap;
use std::time::Duration;

use common::{Harness, command, kassa, kassa_child, write_config};
use kassa::config::Secret;
use kassa::journal::{Journal, ListFilter, Location, State};
use tokio::time::Instant;

/// The restart test has the server to itself: the others wait for it, and it for them.
static SERVER: tokio::sync::RwLock<()> = tokio::sync::RwLock::const_new(());

/// A till's config on the chain's journal: the harness's providers, `[journal] url` and
/// its own `[till] name`.
fn till_config(h: &Harness, url: &str, name: &str) -> String {
    let dir = h.dir.path().join(name);
    std::fs::create_dir_all(&dir).unwrap();
    let path = write_config(&dir, &h.emulator.base_url());
    let text = std::fs::read_to_string(&path).unwrap();
    let start = text.find("[journal]\n").unwrap();
    let end = start + text[start..].find("\n[worker]").unwrap();
    let text = format!(
        "{}[journal]\nurl = \"{url}\"\n[till]\nname = \"{name}\"{}",
        &text[..start],
        &text[end..]
    );
    std::fs::write(&path, text).unwrap();
    path.display().to_string()
}

/// A till's `kassa allpay cash-in`, started and left to run (or be killed).
fn cash_in(config: &str, amount: &str) -> tokio::process::Child {
    kassa_child(&[
        "--config",
        config,
        "allpay",
        "cash-in",
        "77072734954",
        amount,
        "--yes",
        "--json",
    ])
}

/// The head office's `kassa worker` on `config`'s journal.
fn worker(config: &str) -> tokio::process::Child {
    command(&["--config", config, "worker", "--json"])
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap()
}

/// Three tills' configs on one journal, named `{prefix}1` to `{prefix}3`.
fn three_tills(h: &Harness, url: &str, prefix: &str) -> Vec<String> {
    (1..=3)
        .map(|n| till_config(h, url, &format!("{prefix}{n}")))
        .collect()
}

fn chain(url: &str, till: &str) -> Journal {
    Journal::open_at(&Location::Postgres(Secret::new(url.to_string())), till).unwrap()
}

/// Waits until no row of the chain is open, or panics after `secs`.
async fn until_settled(url: &str, secs: u64) {
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        let open = chain(url, "check")
            .list(&ListFilter {
                pending_only: true,
                ..ListFilter::default()
            })
            .unwrap();
        if open.is_empty() {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{} rows still open: {:?}",
            open.len(),
            open.iter().map(|o| (&o.id, o.state)).collect::<Vec<_>>()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// A head office's worker drives what is left until nothing is open; then the ledger is
/// held against the journal.
async fn finish_with_worker(h: &Harness, url: &str, config: &str) -> (usize, usize) {
    let mut worker = worker(config);
    until_settled(url, 90).await;
    worker.kill().await.unwrap();
    hold_ledger_against_journal(h, url)
}

/// The ledger against the journal: every charge has its row, which is completed; no
/// payment (each has an amount of its own) is charged twice.
fn hold_ledger_against_journal(h: &Harness, url: &str) -> (usize, usize) {
    let rows = chain(url, "check").list(&ListFilter::default()).unwrap();
    let by_id: HashMap<&str, _> = rows.iter().map(|o| (o.id.as_str(), o)).collect();
    let ledger = h.emulator.cash_in_ledger();
    let mut amounts: HashMap<&str, u32> = HashMap::new();
    for e in &ledger {
        let op = by_id
            .get(e.guid.as_str())
            .unwrap_or_else(|| panic!("lost: the emulator charged {} with no row", e.guid));
        assert_eq!(op.state, State::Completed, "{e:?} {op:?}");
        assert_eq!(e.status, "COMPLETED", "{e:?}");
        *amounts.entry(e.amount.as_str()).or_default() += 1;
    }
    for (amount, n) in &amounts {
        assert_eq!(*n, 1, "doubled: {amount} charged {n} times");
    }
    for op in &rows {
        assert!(op.state.is_final(), "{op:?}");
        assert!(!op.needs_reconciliation, "{op:?}");
    }
    (rows.len(), ledger.len())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_tills_and_a_worker_killed_at_random_lose_and_double_nothing() {
    let Some(url) = pg::database() else { return };
    let _shared = SERVER.read().await;
    let h = Harness::start().await;
    let tills = three_tills(&h, &url, "till-");
    let seed = fastrand::u64(..);
    eprintln!("chain: seed {seed}");
    let mut rng = fastrand::Rng::with_seed(seed);
    let mut killed = 0;
    for round in 0..6 {
        let mut children = Vec::new();
        for (t, config) in tills.iter().enumerate() {
            // An amount of its own for every payment: a double shows as one amount twice.
            let amount = format!("{}.00", 1000 + round * 10 + t);
            children.push(cash_in(config, &amount));
        }
        tokio::time::sleep(Duration::from_millis(rng.u64(0..400))).await;
        for mut c in children {
            if rng.bool() {
                c.kill().await.unwrap();
                killed += 1;
            }
            let _ = c.wait().await;
        }
    }
    // The head office's worker finishes what the killed tills left.
    let (rows, charged) = finish_with_worker(&h, &url, &tills[0]).await;
    eprintln!("chain: {killed} tills killed, {rows} rows, {charged} charges, 0 lost, 0 doubled");
    assert!(charged > 0);
    // Every row names the till that recorded it.
    let all = chain(&url, "check").list(&ListFilter::default()).unwrap();
    assert!(
        all.iter()
            .all(|o| o.till.as_deref().is_some_and(|t| t.starts_with("till-")))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgresql_restarted_mid_run_loses_and_sends_twice_nothing() {
    let Some(url) = pg::database() else { return };
    let _alone = SERVER.write().await;
    // Slow answers (a pending poll or two) keep the rows in flight across the restart.
    let h = Harness::start().await;
    let tills = three_tills(&h, &url, "r-till-");
    let mut children = Vec::new();
    for (t, config) in tills.iter().enumerate() {
        for i in 0..3 {
            let amount = format!("{}.00", 5000 + t * 10 + i);
            children.push(cash_in(config, &amount));
        }
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    if !pg::restart() {
        eprintln!("PostgreSQL restart skipped: the server is not this test's own");
    }
    for mut c in children {
        let _ = c.wait().await;
    }
    // Whatever the tills could not finish through the restart, the worker does.
    let (rows, charged) = finish_with_worker(&h, &url, &tills[1]).await;
    eprintln!("restart: {rows} rows, {charged} charges, 0 lost, 0 doubled");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tills_history_is_migrated_once_and_its_counters_go_on_above_it() {
    let Some(url) = pg::database() else { return };
    let _shared = SERVER.read().await;
    let h = Harness::start().await;
    // A till's own journal with a few payments and a WebMoney orderid handed out.
    let own = write_config(h.dir.path(), &h.emulator.base_url())
        .display()
        .to_string();
    for amount in ["100.00", "200.00"] {
        let r = kassa(&[
            "--config",
            &own,
            "allpay",
            "cash-in",
            "77072734954",
            amount,
            "--yes",
            "--json",
        ])
        .await;
        assert_eq!(r.code, 0, "{r:?}");
    }
    let orderid = h.journal().next_counter("orderid", 1).unwrap();
    let config = till_config(&h, &url, "head");
    let from = h.settings.journal_path.display().to_string();
    let first = kassa(&[
        "--config", &config, "journal", "migrate", "--from", &from, "--till", "old", "--json",
    ])
    .await;
    let m = crate::cli_json::expect(&first, 0, "migrate");
    assert_eq!(
        (m["operations"].as_u64(), m["copied"].as_u64()),
        (Some(2), Some(2))
    );
    assert_eq!(m["verified"].as_u64(), Some(2));
    assert!(!first.stdout.contains("password") && !first.stderr.contains("password"));
    // Again: nothing is added.
    let again = kassa(&[
        "--config", &config, "journal", "migrate", "--from", &from, "--json",
    ])
    .await;
    assert_eq!(again.code, 0, "{again:?}");
    let m = again.json();
    assert_eq!(
        (m["copied"].as_u64(), m["already"].as_u64()),
        (Some(0), Some(2))
    );
    let mut j = chain(&url, "head");
    let rows = j.list(&ListFilter::default()).unwrap();
    assert_eq!(rows.len(), 2);
    // Rows keep the till that recorded them (this host, as the till's config names none).
    let host = kassa::config::host_name();
    assert!(
        rows.iter()
            .all(|o| o.till.as_deref() == Some(host.as_str()))
    );
    assert_eq!(
        j.events(&rows[0].id).unwrap(),
        h.journal().events(&rows[0].id).unwrap()
    );
    assert!(j.next_counter("orderid", 1).unwrap() > orderid);
    // The report of one till, and of all.
    let mine = kassa(&["--config", &config, "report", "--json"]).await;
    let all = kassa(&["--config", &config, "report", "--all", "--json"]).await;
    let old = kassa(&["--config", &config, "report", "--till", &host, "--json"]).await;
    assert_eq!(mine.code, 0, "{mine:?}");
    let count = |r: &common::Run| r.json()["lines"].as_array().map_or(0, Vec::len);
    assert_eq!(count(&mine), 0, "{mine:?}");
    assert!(
        count(&all) > 0 && count(&all) == count(&old),
        "{all:?} {old:?}"
    );
    // A path that is no journal is refused, and nothing changes.
    let bad = kassa(&[
        "--config",
        &config,
        "journal",
        "migrate",
        "--from",
        "/nonexistent/kassa.db",
    ])
    .await;
    assert_eq!(bad.code, 1, "{bad:?}");
}

/// A till sends a row only if its own configuration names the row's endpoint and identity:
/// a till of another Allpay agent on the same journal leaves the row alone (never sent by
/// it, never handed to a person for it), and a till of the row's own agent finishes it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_till_of_another_account_never_drives_a_row() {
    let Some(url) = pg::database() else { return };
    let _shared = SERVER.read().await;
    let h = Harness::start().await;
    let tills = three_tills(&h, &url, "acct-");
    let other = tills[2].clone();
    let text = std::fs::read_to_string(&other).unwrap();
    std::fs::write(
        &other,
        text.replace("requester = \"72222222221\"", "requester = \"73333333331\""),
    )
    .unwrap();
    // Cents .53: the emulator keeps the reply back; the till is killed with its row pending.
    let mut child = cash_in(&tills[0], "2500.53");
    let deadline = Instant::now() + Duration::from_secs(20);
    while h.emulator.cash_in_ledger().is_empty() {
        assert!(Instant::now() < deadline, "the request never arrived");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    child.kill().await.unwrap();
    let _ = child.wait().await;
    let id = h.emulator.cash_in_ledger()[0].guid.clone();
    let sent = |h: &Harness| h.emulator.cash_in_ledger()[0].requests;
    let before = sent(&h);
    // The other agent's till: nothing of this row is its to send or to judge.
    let r = kassa(&[
        "--config",
        &other,
        "journal",
        "resume",
        "--timeout",
        "3",
        "--json",
    ])
    .await;
    assert_eq!(r.code, 3, "{r:?}");
    let op = chain(&url, "check").get(&id).unwrap();
    assert_eq!(op.state, State::Pending);
    assert!(!op.needs_reconciliation, "{op:?}");
    assert_eq!(sent(&h), before, "sent by a till of another account");
    // A till of the row's own agent (another till than the one that recorded it) does.
    let r = kassa(&[
        "--config",
        &tills[1],
        "journal",
        "resume",
        "--timeout",
        "60",
        "--json",
    ])
    .await;
    assert_eq!(r.code, 0, "{r:?}");
    assert_eq!(
        chain(&url, "check").get(&id).unwrap().state,
        State::Completed
    );
    assert_eq!(h.emulator.cash_in_ledger().len(), 1, "one charge");
}

/// Three tills invoice one WMID's customers at once: X1 sends are serialized across the
/// chain, so reqn rises in the order requests reach WebMoney (none refused with 102) and
/// no orderid repeats.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn x1_sends_for_one_wmid_are_serialized_across_the_chain() {
    let Some(url) = pg::database() else { return };
    let _shared = SERVER.read().await;
    let h = Harness::start().await;
    let tills = three_tills(&h, &url, "wm-till-");
    for round in 0..5 {
        let mut runs = Vec::new();
        for (t, config) in tills.iter().enumerate() {
            let config = config.clone();
            let amount = format!("{}.00", 10 + round * 3 + t);
            runs.push(tokio::spawn(async move {
                kassa(&[
                    "--config",
                    &config,
                    "webmoney",
                    "invoice",
                    "--wmid",
                    "405002833238",
                    "--amount",
                    &amount,
                    "--desc",
                    "Заказ",
                    "--yes",
                    "--json",
                ])
                .await
            }));
        }
        for r in runs {
            let r = r.await.unwrap();
            assert_eq!(r.code, 0, "round {round}: {r:?}");
        }
    }
    let ledger = h.emulator.webmoney_ledger();
    assert_eq!(ledger.len(), 15, "{ledger:?}");
    let reqns: Vec<u64> = ledger.iter().map(|e| e.reqn).collect();
    assert!(reqns.windows(2).all(|w| w[0] < w[1]), "{reqns:?}");
    let orderids: std::collections::HashSet<&str> =
        ledger.iter().map(|e| e.orderid.as_str()).collect();
    assert_eq!(orderids.len(), 15, "{ledger:?}");
}

/// Three tills × 200 cash-ins end to end on one PostgreSQL journal (each a `kassa allpay
/// cash-in` process, to COMPLETED at the emulator), for docs/benchmarks.md:
/// `KASSA_CHAIN_OPS=200 cargo test --release --test it chain::three_tills_end_to_end --
/// --ignored --nocapture`. Prints the wall time, the operations per second and each
/// till's median per operation; the ledger is held against the journal afterwards.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a benchmark: run by hand, figures in docs/benchmarks.md"]
async fn three_tills_end_to_end() {
    let Some(url) = pg::database() else { return };
    let _shared = SERVER.read().await;
    let ops: usize = std::env::var("KASSA_CHAIN_OPS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(200);
    let h = Harness::start().await;
    let tills = three_tills(&h, &url, "e2e-");
    let started = Instant::now();
    let mut runs = Vec::new();
    for (t, config) in tills.iter().enumerate() {
        let config = config.clone();
        runs.push(tokio::spawn(async move {
            let mut each = Vec::with_capacity(ops);
            for i in 0..ops {
                let amount = format!("{}.00", 10_000 + t * 1000 + i);
                let at = Instant::now();
                let r = kassa(&[
                    "--config",
                    &config,
                    "allpay",
                    "cash-in",
                    "77072734954",
                    &amount,
                    "--yes",
                    "--json",
                ])
                .await;
                assert_eq!(r.code, 0, "{r:?}");
                each.push(at.elapsed());
            }
            each.sort();
            each[each.len() / 2]
        }));
    }
    let mut medians = Vec::new();
    for r in runs {
        medians.push(r.await.unwrap());
    }
    let wall = started.elapsed();
    let (rows, charged) = hold_ledger_against_journal(&h, &url);
    eprintln!(
        "3 tills x {ops}: {rows} rows, {charged} charges in {:.1} s ({:.1} operations/s); median per operation per till: {:?}",
        wall.as_secs_f64(),
        (3 * ops) as f64 / wall.as_secs_f64(),
        medians
    );
}
