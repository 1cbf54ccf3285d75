//! Hygiene after a full run of every flow through the command line on one journal: the
//! journal file, the log and the screens drawn from what the journal holds contain no
//! password, partner key, session key, access token, CVV or full card number; a plain-http
//! endpoint off this machine is warned about; notifications, bad or replayed, move nothing
//! by themselves.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common;
use crate::screen::{AGENT, render_at, worker};

use std::time::{Duration, Instant};

use common::{Harness, kassa, kassa_stdin, write_config};
use kassa::app::{Model, ScreenId};
use kassa::emulator::{upay, webmoney, wooppay};
use kassa::i18n::Lang;
use kassa::journal::ListFilter;
use kassa::worker::Event;

const PAN: &str = "4111111111111111";
const CVV: &str = "987";

/// Every run of exactly 32 hex digits in `text` (an MD5 AccessToken, a session key) that
/// is a word of its own.
fn hex32_words(text: &str) -> Vec<&str> {
    text.split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| {
            w.len() == 32
                && w.bytes().all(|c| c.is_ascii_hexdigit())
                && w.bytes().any(|c| c.is_ascii_alphabetic())
        })
        .collect()
}

/// Ids the journal itself hands out (a Wooppay referenceId is 32 hex digits): not secrets.
static IDS: std::sync::Mutex<Vec<String>> = std::sync::Mutex::new(Vec::new());

fn assert_clean(what: &str, text: &str) {
    let mut secrets = vec![
        PAN.to_string(),
        "4111 1111 1111 1111".to_string(),
        upay::DEMO_PASSWORD.to_string(),
        upay::DEMO_PARTNER_KEY.to_string(),
        wooppay::DEMO_PASSWORD.to_string(),
        webmoney::DEMO_PASSWORD.to_string(),
        "CardCVV".to_string(),
        "AccessToken>".to_string(),
    ];
    secrets.extend((1..20).map(wooppay::session_key));
    for s in &secrets {
        assert!(!text.contains(s.as_str()), "{what} holds {s}");
    }
    assert!(!common::standalone(text, CVV), "{what} holds the CVV");
    let ids = IDS.lock().unwrap().clone();
    if let Some(h) = hex32_words(text)
        .into_iter()
        .find(|w| !ids.iter().any(|id| id == w))
    {
        panic!("{what} holds a 32-hex-digit key or token: {h}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_every_flow_the_journal_the_log_and_the_screens_hold_no_secret() {
    let h = Harness::start().await;
    let config = write_config(h.dir.path(), &h.emulator.base_url());
    let cfg = config.display().to_string();
    let run = |args: Vec<&str>| {
        let mut all = vec!["--config", cfg.as_str()];
        all.extend(args);
        all.into_iter().map(str::to_string).collect::<Vec<_>>()
    };
    let mut outputs = Vec::new();
    for args in [
        run(vec!["allpay", "cash-in", "77072734954", "5000", "--yes"]),
        run(vec![
            "allpay",
            "pay",
            "--login",
            "77072734954",
            "--service",
            "185",
            "--account",
            "87001234567",
            "--amount",
            "250",
            "--yes",
        ]),
        run(vec![
            "webmoney",
            "invoice",
            "--wmid",
            "405002833238",
            "--amount",
            "10.50",
            "--desc",
            "Заказ 5",
            "--yes",
        ]),
        run(vec!["wooppay", "invoice", "--amount", "1500", "--yes"]),
    ] {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let r = kassa(&args).await;
        assert!(r.code == 0 || r.code == 3, "{args:?}: {r:?}");
        outputs.push(r.stdout);
        outputs.push(r.stderr);
    }
    let r = kassa_stdin(
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
            "--json",
        ],
        &format!("{PAN}\n{CVV}\n"),
    )
    .await;
    assert_eq!(r.code, 0, "{r:?}");
    outputs.push(r.stdout.clone());
    let v = r.json();
    let card = v["id"].as_str().unwrap().to_string();
    let http = kassa::providers::http_client(Duration::from_secs(2)).unwrap();
    http.get(v["confirm_url"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    let r = kassa(&[
        "--config",
        &cfg,
        "upay",
        "hold",
        "create",
        "--card-token",
        &card,
        "--account",
        "112312",
        "--amount",
        "1000",
        "--yes",
        "--json",
    ])
    .await;
    assert_eq!(r.code, 0, "{r:?}");
    let hold = r.json()["provider_ref"].as_str().unwrap().to_string();
    let r = kassa(&[
        "--config",
        &cfg,
        "upay",
        "hold",
        "capture",
        "--hold-id",
        &hold,
        "--yes",
    ])
    .await;
    assert_eq!(r.code, 0, "{r:?}");
    for args in [vec!["journal", "list", "--json"], vec!["report", "--json"]] {
        let mut all = vec!["--config", cfg.as_str()];
        all.extend(args);
        let r = kassa(&all).await;
        assert_eq!(r.code, 0, "{r:?}");
        outputs.push(r.stdout);
    }
    // What the journal hands out itself is allowed; then every output is checked.
    {
        let journal = h.journal();
        let mut ids = IDS.lock().unwrap();
        for op in journal.list(&ListFilter::default()).unwrap() {
            ids.push(op.id.clone());
            ids.extend(op.provider_ref.clone());
            // A payment link is for the customer to open: its key is not a secret.
            if let Some(url) = kassa::flows::wooppay::operation_url(&op) {
                ids.extend(url.split("key=").nth(1).map(|k| k.to_string()));
            }
            // Nothing a row keeps in its params is allowed by its key's name: a 32-hex value
            // there (a PartnerTrxId, a WMID, a card token) would be a token kept in the
            // journal. (A Wooppay referenceId is the row's id, allowed above.)
        }
    }
    for (i, o) in outputs.iter().enumerate() {
        assert_clean(&format!("command output {i}"), o);
    }

    // The files kassa wrote: the journal (and its WAL) and the log.
    let mut checked = 0;
    for e in std::fs::read_dir(h.dir.path()).unwrap() {
        let p = e.unwrap().path();
        let name = p.file_name().unwrap().to_string_lossy().to_string();
        if name.starts_with("kassa.db") || name.starts_with("kassa.log") {
            let text = String::from_utf8_lossy(&std::fs::read(&p).unwrap()).to_string();
            assert_clean(&name, &text);
            checked += 1;
        }
    }
    assert!(checked >= 2, "the journal and the log were both checked");

    // The screens a cashier can open on these rows: every row's detail with its trail.
    let journal = h.journal();
    let rows = journal.list(&ListFilter::default()).unwrap();
    assert!(rows.len() >= 6, "{}", rows.len());
    for op in rows {
        let events = journal.events(&op.id).unwrap();
        for lang in [Lang::Ru, Lang::En] {
            let mut m = Model::new(lang, false, AGENT.into(), false, Instant::now());
            m.screen = ScreenId::Detail;
            m.detail.open(op.clone());
            worker(
                &mut m,
                Event::Detail {
                    op: op.clone(),
                    events: events.clone(),
                },
            );
            assert_clean(&format!("the detail of {}", op.id), &render_at(&m, 120, 40));
        }
    }
    // Every word those screens needed is in both catalogues (an event's kind among them).
    crate::screen::assert_catalogue_complete();
}

#[tokio::test]
async fn a_plain_http_endpoint_off_this_machine_is_warned_about() {
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), "http://192.0.2.10:8080");
    let r = kassa(&["--config", &config.display().to_string(), "journal", "list"]).await;
    assert_eq!(r.code, 0, "{r:?}");
    for key in [
        "allpay.cash_in_url",
        "upay.url",
        "wooppay.url",
        "webmoney.url",
    ] {
        assert!(r.stderr.contains(key), "{key}: {}", r.stderr);
    }
    assert!(r.stderr.contains("WARNING"), "{}", r.stderr);
    // Loopback (the emulator) is not warned about.
    let config = write_config(dir.path(), "http://127.0.0.1:8089");
    let r = kassa(&["--config", &config.display().to_string(), "journal", "list"]).await;
    assert!(!r.stderr.contains("WARNING"), "{}", r.stderr);
}
