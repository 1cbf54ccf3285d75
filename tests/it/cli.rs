//! The headless contract: the kassa binary as a child process against the emulator, its
//! exit codes (0 done, 1 usage/config, 2 declined, 3 pending), `--json`, and the refusals
//! that keep money from moving by accident.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common;

use common::{Cli, kassa};
use kassa::emulator::allpay_cash_in as magic;
use kassa::emulator::allpay_pay as magic_terminal;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_user_prints_the_owner_and_masks_the_iin() {
    let c = Cli::start().await;
    let r = c
        .run(&["allpay", "check-user", "77072734954", "--json"])
        .await;
    assert_eq!(r.code, 0, "{r:?}");
    let v = r.json();
    assert_eq!(v["found"], true);
    assert_eq!(v["identified"], true);
    assert_eq!(v["name"], "Иван Петрович Петров");
    assert_eq!(v["iin"], "••••••••4521");
    assert!(
        !r.stdout.contains("850312304521"),
        "the IIN is never printed whole"
    );
    let r = c.run(&["allpay", "check-user", magic::UNKNOWN_USER]).await;
    assert_eq!(r.code, 2, "{r:?}");
    assert!(r.stdout.contains("No wallet"), "{r:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cash_in_completes_and_prints_json() {
    let c = Cli::start().await;
    let r = c
        .run(&[
            "allpay",
            "cash-in",
            "77072734954",
            "1 000,50",
            "--yes",
            "--json",
        ])
        .await;
    assert_eq!(r.code, 0, "{r:?}");
    let v = r.json();
    assert_eq!(v["state"], "completed");
    assert_eq!(v["amount"], "1000.50");
    assert_eq!(v["currency"], "KZT");
    let id = v["id"].as_str().unwrap().to_string();
    assert!(id.starts_with('{') && id.ends_with('}'));
    let ledger = c.h.emulator.cash_in_ledger();
    assert_eq!(ledger.len(), 1);
    assert_eq!(ledger[0].guid, id);
    assert_eq!(ledger[0].amount, "1000.5");

    // journal list / show see it.
    let r = c.run(&["journal", "list", "--json"]).await;
    assert_eq!(r.code, 0);
    assert_eq!(r.json()["operations"][0]["id"], id.as_str());
    let r = c.run(&["journal", "show", &id, "--json"]).await;
    assert_eq!(r.code, 0);
    assert!(r.json()["events"].as_array().unwrap().len() >= 4);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_yes_and_without_a_terminal_no_money_moves() {
    let c = Cli::start().await;
    let r = c.run(&["allpay", "cash-in", "77072734954", "100"]).await;
    // Not confirmed: nothing was sent and nothing is pending.
    assert_eq!(r.code, 4, "{r:?}");
    assert!(r.stderr.contains("--yes"), "{r:?}");
    assert!(c.h.emulator.cash_in_ledger().is_empty());
    let r = c.run(&["journal", "list", "--json"]).await;
    assert_eq!(r.json()["operations"].as_array().unwrap().len(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_is_refused_with_a_message_and_nothing_sent() {
    let c = Cli::start().await;
    for (login, amount, says) in [
        ("77072734954", "12abc", "number"),
        ("77072734954", "0", "greater than zero"),
        ("77072734954", "-5", "negative"),
        ("77072734954", "10.555", "two decimals"),
        ("77072734954", "", "Type an amount"),
        ("77072734954", "99999999999999999999", "too large"),
        ("ivan", "100", "digits only"),
        ("7707", "100", "10–15 digits"),
        ("", "100", "wallet login"),
    ] {
        let r = c.run(&["allpay", "cash-in", login, amount, "--yes"]).await;
        assert_eq!(r.code, 1, "{login} {amount}: {r:?}");
        assert!(r.stderr.contains(says), "{login} {amount}: {r:?}");
    }
    let r = c
        .run(&[
            "allpay",
            "cash-in",
            "77072734954",
            "100",
            "--yes",
            "--id",
            "nope",
        ])
        .await;
    assert_eq!(r.code, 1);
    assert!(r.stderr.contains("not a GUID"), "{r:?}");
    assert!(c.h.emulator.cash_in_ledger().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ru_messages_for_bad_input() {
    let c = Cli::start().await;
    let r = c
        .run(&[
            "--lang",
            "ru",
            "allpay",
            "cash-in",
            "77072734954",
            "12,345",
            "--yes",
        ])
        .await;
    assert_eq!(r.code, 1);
    assert!(r.stderr.contains("двух знаков"), "{r:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_repeat_is_refused_without_new_and_a_known_id_is_followed() {
    let c = Cli::start().await;
    let first = c
        .run(&["allpay", "cash-in", "77072734954", "500", "--yes", "--json"])
        .await;
    assert_eq!(first.code, 0, "{first:?}");
    let id = first.json()["id"].as_str().unwrap().to_string();
    let again = c
        .run(&["allpay", "cash-in", "77072734954", "500", "--yes", "--json"])
        .await;
    // Refused as a likely duplicate: nothing sent, nothing pending.
    assert_eq!(again.code, 4, "{again:?}");
    assert_eq!(again.json()["existing"]["id"], id.as_str());
    assert_eq!(c.h.emulator.cash_in_ledger().len(), 1);
    // The same id again follows the operation: no new charge.
    let follow = c
        .run(&[
            "allpay",
            "cash-in",
            "77072734954",
            "500",
            "--yes",
            "--json",
            "--id",
            &id,
        ])
        .await;
    assert_eq!(follow.code, 0, "{follow:?}");
    assert_eq!(follow.json()["id"], id.as_str());
    assert_eq!(c.h.emulator.cash_in_ledger().len(), 1);
    // --new sends another one.
    let new = c
        .run(&[
            "allpay",
            "cash-in",
            "77072734954",
            "500",
            "--yes",
            "--json",
            "--new",
        ])
        .await;
    assert_eq!(new.code, 0, "{new:?}");
    assert_eq!(c.h.emulator.cash_in_ledger().len(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn declined_is_exit_2_and_unknown_wallet_sends_nothing() {
    let c = Cli::start().await;
    let r = c
        .run(&[
            "allpay",
            "cash-in",
            magic::DECLINE,
            "100",
            "--yes",
            "--json",
        ])
        .await;
    assert_eq!(r.code, 2, "{r:?}");
    assert_eq!(r.json()["state"], "declined");
    let r = c
        .run(&["allpay", "cash-in", magic::UNKNOWN_USER, "100", "--yes"])
        .await;
    assert_eq!(r.code, 2, "{r:?}");
    assert_eq!(
        c.h.emulator.cash_in_ledger().len(),
        1,
        "only the declined one"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_wait_is_exit_3_and_resume_finishes_it() {
    let c = Cli::start().await;
    let r = c
        .run(&[
            "allpay",
            "cash-in",
            magic::LONG_PENDING,
            "100",
            "--yes",
            "--json",
            "--no-wait",
        ])
        .await;
    assert_eq!(r.code, 3, "{r:?}");
    assert_eq!(r.json()["state"], "pending");
    let r = c.run(&["journal", "list", "--pending", "--json"]).await;
    assert_eq!(r.json()["operations"].as_array().unwrap().len(), 1);
    let r = c
        .run(&["journal", "resume", "--json", "--timeout", "60"])
        .await;
    assert_eq!(r.code, 0, "{r:?}");
    assert_eq!(r.json()["pending"], 0);
    let ledger = c.h.emulator.cash_in_ledger();
    assert_eq!(ledger.len(), 1);
    assert_eq!(ledger[0].status, "COMPLETED");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn timeout_is_exit_3_never_failed() {
    let c = Cli::start().await;
    let r = c
        .run(&[
            "allpay",
            "cash-in",
            magic::LONG_PENDING,
            "100",
            "--yes",
            "--timeout",
            "1",
        ])
        .await;
    assert_eq!(r.code, 3, "{r:?}");
    assert!(r.stdout.contains("pending"), "{r:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn config_errors_name_the_file_and_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.toml");
    let p = path.display().to_string();
    std::fs::write(&path, "[allpay]\nrequestor = \"1\"\n").unwrap();
    let r = kassa(&["--config", &p, "journal", "list"]).await;
    assert_eq!(r.code, 1);
    assert!(
        r.stderr.contains(&p) && r.stderr.contains("requestor"),
        "{r:?}"
    );
    std::fs::write(&path, "[allpay]\ntimeout_secs = \"soon\"\n").unwrap();
    let r = kassa(&["--config", &p, "journal", "list"]).await;
    assert_eq!(r.code, 1);
    assert!(r.stderr.contains("timeout_secs"), "{r:?}");
    std::fs::write(&path, "[allpay]\ncash_in_url = \"allpay.kz\"\n").unwrap();
    let r = kassa(&["--config", &p, "journal", "list"]).await;
    assert_eq!(r.code, 1);
    assert!(r.stderr.contains("allpay.cash_in_url"), "{r:?}");
    let missing = dir.path().join("missing.toml").display().to_string();
    let r = kassa(&["--config", &missing, "journal", "list"]).await;
    assert_eq!(r.code, 1);
    assert!(r.stderr.contains(&missing), "{r:?}");
    assert!(!r.stderr.contains("panicked"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pay_checks_then_pays_and_prints_json() {
    let c = Cli::start().await;
    let r = c
        .run(&[
            "allpay",
            "pay",
            "--login",
            "77072734954",
            "--service",
            "185",
            "--account",
            "1234567",
            "--amount",
            "1500",
            "--yes",
            "--json",
        ])
        .await;
    assert_eq!(r.code, 0, "{r:?}");
    let v = r.json();
    assert_eq!(v["state"], "completed");
    assert_eq!(v["kind"], "allpay.pay");
    assert_eq!(v["amount"], "1500.00");
    assert_eq!(v["customer"], "185/1234567");
    let ledger = c.h.emulator.pay_ledger();
    assert_eq!(ledger.len(), 1);
    assert_eq!(ledger[0].rrn, v["id"].as_str().unwrap());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pay_refused_by_the_check_sends_nothing_and_says_why() {
    let c = Cli::start().await;
    let r = c
        .run(&[
            "allpay",
            "pay",
            "--login",
            "77072734954",
            "--service",
            "999",
            "--account",
            "1234567",
            "--amount",
            "100",
            "--yes",
        ])
        .await;
    assert_eq!(r.code, 2, "{r:?}");
    assert!(
        r.stderr.contains("Услуга не найдена") && r.stderr.contains("S:Server"),
        "{r:?}"
    );
    assert!(c.h.emulator.pay_ledger().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pay_declined_is_exit_2_and_bad_input_exit_1() {
    let c = Cli::start().await;
    let r = c
        .run(&[
            "allpay",
            "pay",
            "--login",
            "77072734954",
            "--service",
            "185",
            "--account",
            magic_terminal::DECLINE,
            "--amount",
            "100",
            "--yes",
            "--json",
        ])
        .await;
    assert_eq!(r.code, 2, "{r:?}");
    assert_eq!(r.json()["state"], "declined");
    let long = "9".repeat(65);
    for (login, service, account, amount, says) in [
        ("ivan", "185", "1234567", "100", "digits only"),
        ("", "185", "1234567", "100", "wallet login"),
        ("77072734954", "18a", "1234567", "100", "service code"),
        ("77072734954", "", "1234567", "100", "service code"),
        ("77072734954", "185", "", "100", "account"),
        ("77072734954", "185", "12\u{7}34", "100", "account"),
        ("77072734954", "185", "12\u{200B}34", "100", "account"),
        ("77072734954", "185", long.as_str(), "100", "64"),
        ("77072734954", "185", "1234567", "0", "greater than zero"),
        ("77072734954", "185", "1234567", "1,001", "two decimals"),
    ] {
        let args = [
            "allpay",
            "pay",
            "--login",
            login,
            "--service",
            service,
            "--account",
            account,
            "--amount",
            amount,
            "--yes",
        ];
        let r = c.run(&args).await;
        assert_eq!(r.code, 1, "{args:?}: {r:?}");
        assert!(r.stderr.contains(says), "{args:?}: {r:?}");
    }
    assert_eq!(c.h.emulator.pay_ledger().len(), 1, "only the declined one");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pay_repeat_needs_new_and_a_known_rrn_is_followed() {
    let c = Cli::start().await;
    let args = [
        "allpay",
        "pay",
        "--login",
        "77072734954",
        "--service",
        "185",
        "--account",
        "555",
        "--amount",
        "200",
        "--yes",
        "--json",
    ];
    let first = c.run(&args).await;
    assert_eq!(first.code, 0, "{first:?}");
    let id = first.json()["id"].as_str().unwrap().to_string();
    let again = c.run(&args).await;
    assert_eq!(again.code, 4, "{again:?}");
    let mut follow = args.to_vec();
    follow.extend(["--id", id.as_str()]);
    let r = c.run(&follow).await;
    assert_eq!(r.code, 0, "{r:?}");
    assert_eq!(r.json()["id"], id.as_str());
    let mut new = args.to_vec();
    new.push("--new");
    assert_eq!(c.run(&new).await.code, 0);
    assert_eq!(c.h.emulator.pay_ledger().len(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webmoney_invoice_is_issued_and_bad_fields_are_named() {
    let c = Cli::start().await;
    let r = c
        .run(&[
            "webmoney",
            "invoice",
            "--wmid",
            "405002833238",
            "--amount",
            "9",
            "--desc",
            "  Заказ 5 ",
            "--yes",
            "--json",
        ])
        .await;
    assert_eq!(r.code, 0, "{r:?}");
    let v = r.json();
    assert_eq!(v["state"], "completed");
    assert_eq!(v["kind"], "webmoney.invoice");
    assert_eq!(v["currency"], "USD");
    let ledger = c.h.emulator.webmoney_ledger();
    assert_eq!(ledger.len(), 1);
    assert_eq!(ledger[0].desc, "Заказ 5", "trimmed before sending");
    assert_eq!(ledger[0].amount, "9");
    let r = c
        .run(&[
            "webmoney",
            "invoice",
            "--wmid",
            "000000000006",
            "--amount",
            "9",
            "--desc",
            "x",
            "--yes",
            "--json",
        ])
        .await;
    assert_eq!(r.code, 2, "{r:?}");
    assert_eq!(r.json()["state"], "rejected");
    for (args, says) in [
        (
            vec!["--wmid", "4050028332", "--amount", "1", "--desc", "x"],
            "12 digits",
        ),
        (
            vec!["--wmid", "405002833238", "--amount", "1", "--desc", "😀"],
            "WebMoney does not take",
        ),
        (
            vec![
                "--wmid",
                "405002833238",
                "--amount",
                "1",
                "--desc",
                "x",
                "--address",
                "发票",
            ],
            "WebMoney does not take",
        ),
        (
            vec![
                "--wmid",
                "405002833238",
                "--amount",
                "1",
                "--desc",
                "x",
                "--period",
                "300",
            ],
            "0 to 255",
        ),
        (
            vec![
                "--wmid",
                "405002833238",
                "--amount",
                "1",
                "--desc",
                "x",
                "--purse",
                "X1",
            ],
            "type letter",
        ),
        (
            vec!["--wmid", "405002833238", "--amount", "1.005", "--desc", "x"],
            "two decimals",
        ),
        (
            vec![
                "--wmid",
                "405002833238",
                "--amount",
                "1",
                "--desc",
                "x",
                "--id",
                "abc",
            ],
            "orderid",
        ),
    ] {
        let long = "я".repeat(256);
        let _ = &long;
        let mut all = vec!["webmoney", "invoice"];
        all.extend(args.iter().copied());
        all.push("--yes");
        let r = c.run(&all).await;
        assert_eq!(r.code, 1, "{args:?}: {r:?}");
        assert!(r.stderr.contains(says), "{args:?}: {r:?}");
    }
    let long = "я".repeat(256);
    let r = c
        .run(&[
            "webmoney",
            "invoice",
            "--wmid",
            "405002833238",
            "--amount",
            "1",
            "--desc",
            &long,
            "--yes",
        ])
        .await;
    assert_eq!(r.code, 1);
    assert!(r.stderr.contains("255"), "{r:?}");
    assert_eq!(
        c.h.emulator.webmoney_ledger().len(),
        1,
        "only the issued one"
    );
}

/// Exit 4 means nothing was sent and nothing is pending (a script may try again with a new
/// id); a row once committed is never 4, even when its first send failed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exit_4_only_when_nothing_was_sent_and_nothing_is_pending() {
    let c = Cli::start().await;
    // The wallet check could not be made (HTTP 500 on the check): nothing written.
    let r = c
        .run(&["allpay", "cash-in", "77000000500", "100", "--yes", "--json"])
        .await;
    assert_eq!(r.code, 4, "{r:?}");
    assert!(c.h.emulator.cash_in_ledger().is_empty());
    let rows = c.run(&["journal", "list", "--json"]).await.json();
    assert_eq!(rows["operations"].as_array().unwrap().len(), 0);
    // A committed payment whose first send got HTTP 500 (after the charge): it is sent
    // again with its GUID and completes; never 4.
    let r = c
        .run(&[
            "allpay",
            "cash-in",
            "77072734954",
            "100.51",
            "--yes",
            "--json",
        ])
        .await;
    assert_ne!(r.code, 4, "{r:?}");
    assert!(matches!(r.code, 0 | 3), "{r:?}");
    assert_eq!(c.h.emulator.cash_in_ledger().len(), 1);
}

/// Every argument and every command says what it is for, and the flags every command
/// takes stand under their own heading in every `--help`.
#[test]
fn every_argument_and_subcommand_has_help_and_the_global_flags_their_heading() {
    use clap::CommandFactory;
    fn walk(cmd: &clap::Command, path: &str, missing: &mut Vec<String>) {
        if cmd.get_about().is_none() && path != "kassa" {
            missing.push(format!("{path}: no about"));
        }
        for a in cmd.get_arguments() {
            let id = a.get_id().as_str();
            if id == "help" || id == "version" {
                continue;
            }
            if a.get_help().is_none() {
                missing.push(format!("{path} {id}: no help"));
            }
            if ["config", "demo", "lang"].contains(&id)
                && a.get_help_heading() != Some("Global options")
            {
                missing.push(format!("{path} {id}: not under Global options"));
            }
        }
        for sub in cmd.get_subcommands() {
            if sub.get_name() == "help" {
                continue;
            }
            walk(sub, &format!("{path} {}", sub.get_name()), missing);
        }
    }
    let mut cmd = kassa::headless::args::Cli::command();
    cmd.build();
    let mut missing = Vec::new();
    walk(&cmd, "kassa", &mut missing);
    assert!(missing.is_empty(), "{missing:#?}");
}

fn kassa_env(args: &[&str], env: &[(&str, &str)]) -> common::Run {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_kassa"))
        .args(args)
        .envs(env.iter().copied())
        .env("HOME", std::env::temp_dir())
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    common::Run::from(out)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn completions_man_version_and_environment() {
    for (shell, says) in [
        ("bash", "_kassa"),
        ("zsh", "#compdef kassa"),
        ("fish", "complete -c kassa"),
        ("powershell", "Register-ArgumentCompleter"),
    ] {
        let r = kassa(&["completions", shell]).await;
        assert_eq!(r.code, 0, "{shell}: {r:?}");
        assert!(
            r.stdout.contains(says),
            "{shell}: {}",
            &r.stdout[..200.min(r.stdout.len())]
        );
        assert!(r.stdout.contains("cash-in"), "{shell}");
    }
    let r = kassa(&["man"]).await;
    assert_eq!(r.code, 0, "{r:?}");
    assert!(
        r.stdout.contains(".TH kassa") && r.stdout.contains("KASSA_CONFIG"),
        "{r:?}"
    );
    let r = kassa(&["--version"]).await;
    assert_eq!(r.code, 0, "{r:?}");
    assert!(
        r.stdout
            .starts_with(concat!("kassa ", env!("CARGO_PKG_VERSION"))),
        "{r:?}"
    );
    // The either/or of a hold check is in its usage.
    let r = kassa(&["upay", "hold", "check", "--help"]).await;
    assert!(
        r.stdout
            .contains("<--hold-id <HOLD_ID>|--partner-trx-id <PARTNER_TRX_ID>>"),
        "{r:?}"
    );
    assert!(r.stdout.contains("Global options:"), "{r:?}");

    // KASSA_CONFIG for --config, KASSA_LANG for --lang; the flags win.
    let c = Cli::start().await;
    let env = [("KASSA_CONFIG", c.config.as_str()), ("KASSA_LANG", "ru")];
    let r = kassa_env(
        &["allpay", "cash-in", "77072734954", "12,345", "--yes"],
        &env,
    );
    assert_eq!(r.code, 1, "{r:?}");
    assert!(r.stderr.contains("двух знаков"), "{r:?}");
    let r = kassa_env(
        &[
            "--lang",
            "en",
            "allpay",
            "cash-in",
            "77072734954",
            "12,345",
            "--yes",
        ],
        &env,
    );
    assert!(r.stderr.contains("two decimals"), "{r:?}");
    let r = kassa_env(&["journal", "list", "--json"], &env);
    assert_eq!(r.code, 0, "the journal of KASSA_CONFIG: {r:?}");
    // clap's own error: a one-line summary in the chosen language, then clap's text.
    let r = kassa_env(&["allpay", "cash-in"], &env);
    assert_eq!(r.code, 1, "{r:?}");
    assert!(
        r.stderr.starts_with("kassa: Не хватает") && r.stderr.contains("Usage:"),
        "{r:?}"
    );
}

/// A hold check and a Wooppay status that find nothing answer alike: exit 2 and the same
/// words without --json too; a check that could not be made is 4 (nothing sent or pending).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lookups_that_find_nothing_answer_alike() {
    let c = Cli::start().await;
    let hold = c
        .run(&["upay", "hold", "check", "--hold-id", "999999999"])
        .await;
    let op = c.run(&["wooppay", "status", "987654321"]).await;
    let wallet = c.run(&["allpay", "check-user", magic::UNKNOWN_USER]).await;
    for r in [&hold, &op, &wallet] {
        assert_eq!(r.code, 2, "{r:?}");
    }
    assert!(hold.stdout.starts_with("999999999: "), "{hold:?}");
    assert!(op.stdout.starts_with("987654321: "), "{op:?}");
    // The wallet check that cannot be made: 4, nothing written.
    let r = c.run(&["allpay", "check-user", magic::CHECK_FAULT]).await;
    assert_eq!(r.code, 4, "{r:?}");
}

/// A poll where nothing changed is not in the log at info level: a row polled many times
/// leaves one "still pending" line (its first answer), not one per poll.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_row_polled_many_times_is_logged_once_not_at_every_poll() {
    let c = Cli::start().await;
    // Long PENDING (30 polls): the command gives up waiting after 2 s; the row stays pending.
    let r = c
        .run(&[
            "allpay",
            "cash-in",
            "77000000003",
            "100",
            "--yes",
            "--json",
            "--timeout",
            "2",
        ])
        .await;
    assert_eq!(r.code, 3, "{r:?}");
    let row =
        c.h.journal()
            .list(&kassa::journal::ListFilter::default())
            .unwrap();
    assert!(
        row[0].attempts >= 4,
        "polled several times: {}",
        row[0].attempts
    );
    let mut logged = 0;
    for e in std::fs::read_dir(c.h.dir.path()).unwrap() {
        let p = e.unwrap().path();
        if p.file_name()
            .unwrap()
            .to_string_lossy()
            .starts_with("kassa.log")
        {
            let text = std::fs::read_to_string(&p).unwrap();
            logged += text
                .lines()
                .filter(|l| l.contains("INFO") && l.contains("still pending"))
                .count();
        }
    }
    assert_eq!(logged, 1, "one info line for {} polls", row[0].attempts);
}
