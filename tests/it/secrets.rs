//! Secrets never leave (issue 17): a config error names the file, the line and the key but
//! never the value written there; a URL with credentials is refused without repeating
//! them; payments never go through a proxy from the environment, only through
//! `[network] proxy`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common;

use std::path::Path;
use std::time::Duration;

use common::{Harness, kassa, write_config};
use kassa::emulator;

/// A secret that is written nowhere but where each case puts it.
const SECRET: &str = "Hunter2-Zx9-Kassa";

fn write(dir: &Path, name: &str, text: &str) -> String {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path.display().to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_config_error_names_the_line_and_the_key_but_never_the_value() {
    let dir = tempfile::tempdir().unwrap();
    let journal = format!(
        "[journal]\npath = \"{}\"\n",
        dir.path().join("k.db").display()
    );
    // (name, text after the [journal] lines, what stderr must name)
    let cases = [
        (
            "misspelt key",
            format!("[wooppay]\nlogin = \"m\"\npasword = \"{SECRET}\"\n"),
            vec!["line 5", "pasword"],
        ),
        (
            "string left open",
            format!("[wooppay]\nlogin = \"m\"\npassword = \"{SECRET}\n"),
            vec!["line 5", "wooppay.password"],
        ),
        (
            "unquoted value",
            format!("[upay]\npartner_key = {SECRET}\n"),
            vec!["line 4", "upay.partner_key"],
        ),
        (
            "wrong type",
            format!("[upay]\nservice_id = \"{SECRET}\"\n"),
            vec!["line 4", "upay.service_id", "u64"],
        ),
        (
            "unknown value",
            format!("[ui]\nlang = \"{SECRET}\"\n"),
            vec!["line 4", "ui.lang", "`ru`"],
        ),
        (
            "two values on a line",
            format!("[webmoney]\nkwm_password = \"x\" \"{SECRET}\"\n"),
            vec!["line 4", "webmoney.kwm_password"],
        ),
        (
            "secret pasted on a line of its own",
            format!("[upay]\n{SECRET}\n"),
            vec!["line 4"],
        ),
        (
            "credentials in an endpoint",
            format!("[upay]\nurl = \"https://partner:{SECRET}@b2bapi.upaydev.uz/STAPI/STWS\"\n"),
            vec!["upay.url", "user:password@"],
        ),
        (
            "credentials in the proxy",
            format!("[network]\nproxy = \"http://u:{SECRET}@10.0.0.1:3128\"\n"),
            vec!["network.proxy", "user:password@"],
        ),
    ];
    for (what, text, names) in cases {
        let path = write(dir.path(), "config.toml", &format!("{journal}{text}"));
        let r = kassa(&["--config", &path, "journal", "list"]).await;
        assert_eq!(r.code, 1, "{what}: {r:?}");
        assert!(r.stderr.contains(&path), "{what}: names the file: {r:?}");
        for n in names {
            assert!(r.stderr.contains(n), "{what}: names {n}: {r:?}");
        }
        for part in [SECRET, "Hunter2"] {
            assert!(
                !r.stderr.contains(part) && !r.stdout.contains(part),
                "{what}: the secret was printed: {r:?}"
            );
        }
    }
}

/// A port on loopback where nothing listens.
fn closed_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

/// The kassa binary with the test's secrets in its environment (as common's runner) and
/// `env` besides; no NO_PROXY to make an exception.
async fn kassa_with_env(args: &[&str], env: &[(&str, String)]) -> common::Run {
    let mut c = common::command(args);
    c.env_remove("NO_PROXY")
        .env_remove("no_proxy")
        .stdin(std::process::Stdio::null());
    for (k, v) in env {
        c.env(k, v);
    }
    let out = tokio::time::timeout(Duration::from_secs(30), c.output())
        .await
        .expect("kassa finished")
        .unwrap();
    common::Run::from(out)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_proxy_in_the_environment_is_never_used() {
    let h = Harness::start().await;
    let config = write_config(h.dir.path(), &h.emulator.base_url())
        .display()
        .to_string();
    let dead = format!("http://127.0.0.1:{}", closed_port());
    let env: Vec<(&str, String)> = [
        "HTTPS_PROXY",
        "HTTP_PROXY",
        "ALL_PROXY",
        "https_proxy",
        "http_proxy",
        "all_proxy",
    ]
    .into_iter()
    .map(|k| (k, dead.clone()))
    .collect();
    let r = kassa_with_env(
        &[
            "--config",
            &config,
            "allpay",
            "cash-in",
            "77072734954",
            "500",
            "--yes",
            "--json",
        ],
        &env,
    )
    .await;
    assert_eq!(r.code, 0, "{r:?}");
    assert_eq!(r.json()["state"], "completed", "{r:?}");
    assert_eq!(h.emulator.cash_in_ledger().len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_configured_proxy_is_the_one_used() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let h = Harness::start().await;
    let config = write_config(h.dir.path(), &h.emulator.base_url());
    // A "proxy" that reads the request line and refuses it: the request went to it, and
    // nothing reached the emulator.
    let proxy = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = proxy.local_addr().unwrap().port();
    let seen = tokio::spawn(async move {
        let (mut s, _) = proxy.accept().await.unwrap();
        let mut buf = vec![0u8; 4096];
        let n = s.read(&mut buf).await.unwrap_or(0);
        let _ = s
            .write_all(
                b"HTTP/1.1 502 Bad Gateway\r\ncontent-length: 0\r\nconnection: close\r\n\r\n",
            )
            .await;
        String::from_utf8_lossy(&buf[..n]).into_owned()
    });
    let text = std::fs::read_to_string(&config).unwrap();
    std::fs::write(
        &config,
        format!("{text}[network]\nproxy = \"http://127.0.0.1:{port}\"\n"),
    )
    .unwrap();
    let config = config.display().to_string();
    // The environment names another (dead) proxy: the config's wins.
    let dead = format!("http://127.0.0.1:{}", closed_port());
    let r = kassa_with_env(
        &["--config", &config, "allpay", "check-user", "77072734954"],
        &[("HTTP_PROXY", dead.clone()), ("ALL_PROXY", dead)],
    )
    .await;
    assert_ne!(r.code, 0, "{r:?}");
    let request = tokio::time::timeout(Duration::from_secs(5), seen)
        .await
        .expect("the proxy was asked")
        .unwrap();
    let base = h.emulator.base_url();
    assert!(
        request.starts_with(&format!("POST {base}{}", emulator::CASH_IN_PATH)),
        "{request}"
    );
}
