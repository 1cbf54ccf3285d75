//! The test harness: an emulator on 127.0.0.1:0, settings pointing at it with a journal in
//! a temporary directory and short backoff, a worker, and helpers to wait for events.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;
use std::time::Duration;

use kassa::config::{
    AllpaySettings, KeySource, Secret, SecretRef, Settings, WebmoneySettings, WmAuth,
};
use kassa::emulator::{self, Emulator};
use kassa::i18n::Lang;
use kassa::journal::{Journal, Operation};
use kassa::money::{Amount, Currency};
use kassa::worker::{CashInPayment, Command, Event, Worker};
use tokio::sync::mpsc::UnboundedReceiver;

pub struct Harness {
    pub emulator: Emulator,
    pub settings: Settings,
    pub dir: tempfile::TempDir,
}

pub fn test_options() -> emulator::Options {
    emulator::Options {
        pending_polls: 2,
        slow: Duration::from_millis(2500),
        upay_confirm_after: None,
    }
}

pub fn settings_for(base: &str, journal: PathBuf) -> Settings {
    Settings {
        lang: Lang::En,
        log_dir: journal.parent().unwrap().to_path_buf(),
        journal_path: journal,
        journal_url: None,
        till: "till-1".into(),
        poll_initial: Duration::from_millis(50),
        poll_max: Duration::from_millis(200),
        max_in_flight: kassa::config::DEFAULT_MAX_IN_FLIGHT,
        allpay: AllpaySettings {
            terminal_url: format!("{base}{}", emulator::TERMINAL_PATH),
            cash_in_url: format!("{base}{}", emulator::CASH_IN_PATH),
            requester: "72222222221".into(),
            timeout: Duration::from_secs(1),
        },
        webmoney: WebmoneySettings {
            url: format!("{base}{}", emulator::X1_CLASSIC_PATH),
            wmid: emulator::webmoney::DEMO_WMID.into(),
            purse: emulator::webmoney::DEMO_PURSE.into(),
            auth: WmAuth::Classic {
                kwm: Some(KeySource::Demo),
                password: SecretRef {
                    inline: Some(Secret::new(emulator::webmoney::DEMO_PASSWORD.into())),
                    env: None,
                    key: "webmoney.kwm_password".into(),
                },
            },
            timeout: Duration::from_secs(1),
        },
        upay: kassa::config::UpaySettings {
            url: format!("{base}{}", emulator::UPAY_PATH),
            username: emulator::upay::DEMO_USERNAME.into(),
            password: SecretRef {
                inline: Some(Secret::new(emulator::upay::DEMO_PASSWORD.into())),
                env: None,
                key: "upay.password".into(),
            },
            partner_key: SecretRef {
                inline: Some(Secret::new(emulator::upay::DEMO_PARTNER_KEY.into())),
                env: None,
                key: "upay.partner_key".into(),
            },
            service_id: 628,
            hold_minutes: 60,
            notify_url: "http://127.0.0.1:9/notify".into(),
            notify_listen: None,
            notify_tls: None,
            timeout: Duration::from_secs(1),
        },
        wooppay: kassa::config::WooppaySettings {
            url: format!("{base}{}?ws=1", emulator::WOOPPAY_PATH),
            login: emulator::wooppay::DEMO_LOGIN.into(),
            password: SecretRef {
                inline: Some(Secret::new(emulator::wooppay::DEMO_PASSWORD.into())),
                env: None,
                key: "wooppay.password".into(),
            },
            invoice_ttl_minutes: 60,
            timeout: Duration::from_secs(1),
            // Tests ping and sweep within a second.
            ping_sweep: Duration::from_millis(200),
        },
        printer: None,
        demo: false,
    }
}

impl Harness {
    pub async fn start() -> Harness {
        Harness::start_with(test_options()).await
    }

    pub async fn start_with(options: emulator::Options) -> Harness {
        let emulator = Emulator::start("127.0.0.1:0", options).await.unwrap();
        let dir = tempfile::tempdir().unwrap();
        let settings = settings_for(&emulator.base_url(), dir.path().join("kassa.db"));
        Harness {
            emulator,
            settings,
            dir,
        }
    }

    pub fn journal(&self) -> Journal {
        Journal::open(&self.settings.journal_path).unwrap()
    }

    /// The emulator's whole ledger, as `GET /_emulator/ledger` reports it.
    pub async fn ledger(&self) -> serde_json::Value {
        let http = kassa::providers::http_client(Duration::from_secs(2)).unwrap();
        http.get(format!("{}/_emulator/ledger", self.emulator.base_url()))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .map(|t| serde_json::from_str(&t).unwrap())
            .unwrap()
    }

    /// The emulator's UPay holds.
    pub async fn emulator_holds(&self) -> Vec<serde_json::Value> {
        let v = self.ledger().await;
        v["upay_holds"].as_array().cloned().unwrap_or_default()
    }

    pub fn worker(&self) -> (Worker, UnboundedReceiver<Event>) {
        Worker::start(self.settings.clone(), self.journal()).unwrap()
    }
}

pub fn kzt(text: &str) -> Amount {
    Amount::parse(text, Currency::Kzt).unwrap()
}

pub fn payment(login: &str, amount: &str) -> CashInPayment {
    CashInPayment {
        id: kassa::ids::new_guid(),
        login: login.into(),
        customer_name: Some("Test".into()),
        amount: kzt(amount),
    }
}

/// Waits for the first event `pick` accepts, failing after `secs`.
pub async fn wait_for<T>(
    events: &mut UnboundedReceiver<Event>,
    secs: u64,
    mut pick: impl FnMut(Event) -> Option<T>,
) -> T {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(secs);
    loop {
        let ev = tokio::time::timeout_at(deadline, events.recv())
            .await
            .expect("timed out waiting for an event")
            .expect("worker stopped");
        if let Some(t) = pick(ev) {
            return t;
        }
    }
}

/// Sends a cash-in and waits for it to end.
pub async fn cash_in(
    worker: &Worker,
    events: &mut UnboundedReceiver<Event>,
    p: CashInPayment,
) -> Operation {
    let id = p.id.clone();
    worker.send(Command::Start {
        request: kassa::flows::Request::CashIn(p),
        allow_duplicate: false,
    });
    wait_for(events, 30, |e| match e {
        Event::Finished { op } | Event::NeedsReconciliation { op } if op.id == id => Some(op),
        _ => None,
    })
    .await
}

/// A config file for the `kassa` binary pointing at `base`, with its journal in `dir`.
pub fn write_config(dir: &std::path::Path, base: &str) -> PathBuf {
    let path = dir.join("config.toml");
    let kwm = dir.join("keeper.kwm");
    std::fs::write(&kwm, emulator::webmoney::demo_kwm()).unwrap();
    let text = format!(
        "[ui]\nlang = \"en\"\n[journal]\npath = \"{}\"\n[worker]\npoll_initial_ms = 50\npoll_max_ms = 200\n[allpay]\ncash_in_url = \"{base}{}\"\nterminal_url = \"{base}{}\"\nrequester = \"72222222221\"\ntimeout_secs = 1\n",
        dir.join("kassa.db").display(),
        emulator::CASH_IN_PATH,
        emulator::TERMINAL_PATH
    );
    let text = format!(
        "{text}[webmoney]\nurl = \"{base}{}\"\nwmid = \"{}\"\npurse = \"{}\"\nauth = \"classic\"\nkwm = \"{}\"\nkwm_password_env = \"KASSA_TEST_WM_PASSWORD\"\ntimeout_secs = 1\n",
        emulator::X1_CLASSIC_PATH,
        emulator::webmoney::DEMO_WMID,
        emulator::webmoney::DEMO_PURSE,
        kwm.display()
    );
    let text = format!(
        "{text}[upay]\nurl = \"{base}{}\"\nusername = \"{}\"\npassword_env = \"KASSA_TEST_UPAY_PASSWORD\"\npartner_key_env = \"KASSA_TEST_UPAY_KEY\"\nservice_id = 628\nhold_minutes = 60\nnotify_url = \"http://127.0.0.1:9/notify\"\ntimeout_secs = 1\n",
        emulator::UPAY_PATH,
        emulator::upay::DEMO_USERNAME,
    );
    let text = format!(
        "{text}[wooppay]\nurl = \"{base}{}?ws=1\"\nlogin = \"{}\"\npassword_env = \"KASSA_TEST_WOOPPAY_PASSWORD\"\ninvoice_ttl_minutes = 60\ntimeout_secs = 1\n",
        emulator::WOOPPAY_PATH,
        emulator::wooppay::DEMO_LOGIN,
    );
    std::fs::write(&path, text).unwrap();
    path
}

/// What a finished `kassa` run gave.
#[derive(Debug)]
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl From<std::process::Output> for Run {
    fn from(out: std::process::Output) -> Run {
        Run {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }
}

impl Run {
    pub fn json(&self) -> serde_json::Value {
        let line = self.stdout.lines().last().unwrap_or("");
        serde_json::from_str(line).unwrap_or_else(|e| panic!("not JSON ({e}): {self:?}"))
    }
}

/// The kassa binary with the test's secrets in its environment, not started yet.
pub fn command(args: &[&str]) -> tokio::process::Command {
    let mut c = tokio::process::Command::new(env!("CARGO_BIN_EXE_kassa"));
    c.args(args)
        .env("HOME", std::env::temp_dir())
        .env("KASSA_TEST_WM_PASSWORD", emulator::webmoney::DEMO_PASSWORD)
        .env("KASSA_TEST_UPAY_PASSWORD", emulator::upay::DEMO_PASSWORD)
        .env("KASSA_TEST_UPAY_KEY", emulator::upay::DEMO_PARTNER_KEY)
        .env(
            "KASSA_TEST_WOOPPAY_PASSWORD",
            emulator::wooppay::DEMO_PASSWORD,
        );
    c
}

/// Starts the kassa binary with `args` and returns at once (to be killed).
pub fn kassa_child(args: &[&str]) -> tokio::process::Child {
    command(args)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap()
}

/// Runs the kassa binary with `args` and `input` on its stdin (a pipe, not a terminal).
pub async fn kassa_stdin(args: &[&str], input: &str) -> Run {
    use tokio::io::AsyncWriteExt;
    let mut child = command(args)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(input.as_bytes()).await.unwrap();
    drop(stdin);
    let out = child.wait_with_output().await.unwrap();
    Run::from(out)
}

/// Runs the kassa binary with `args`, stdin closed (no terminal).
pub async fn kassa(args: &[&str]) -> Run {
    let out = command(args)
        .stdin(std::process::Stdio::null())
        .output()
        .await
        .unwrap();
    Run::from(out)
}

/// Whether `needle` (a CVV, say) occurs in `text` as a word of its own.
pub fn standalone(text: &str, needle: &str) -> bool {
    text.match_indices(needle).any(|(i, _)| {
        let before = text[..i].chars().next_back();
        let after = text[i + needle.len()..].chars().next();
        // A hex key or a link's token may hold the digits by chance: only a word of its
        // own counts.
        !before.is_some_and(|c| c.is_ascii_alphanumeric())
            && !after.is_some_and(|c| c.is_ascii_alphanumeric())
    })
}

/// kassa's command line on a harness of its own, with the config `write_config` wrote.
pub struct Cli {
    pub h: Harness,
    pub config: String,
}

impl Cli {
    pub async fn start() -> Cli {
        let h = Harness::start().await;
        let config = write_config(h.dir.path(), &h.emulator.base_url())
            .display()
            .to_string();
        Cli { h, config }
    }

    /// `kassa --config <it> args…`.
    pub async fn run(&self, args: &[&str]) -> Run {
        let mut all = vec!["--config", self.config.as_str()];
        all.extend_from_slice(args);
        kassa(&all).await
    }

    /// `kassa --config <it> args… --json`.
    pub async fn run_json(&self, args: &[&str]) -> Run {
        let mut all = args.to_vec();
        all.push("--json");
        self.run(&all).await
    }
}
