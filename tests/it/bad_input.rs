//! Every input field of every flow with its invalid forms, through the command line in ru and
//! en: each is refused with exit 1 and a message in that language (never a bare catalogue
//! key), nothing reaches the emulator, and nothing is written to the journal as if sent.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common;

use common::{Harness, kassa, kassa_stdin, write_config};
use kassa::journal::ListFilter;

/// One refused input: the command's arguments (after `--config`) and what stdin carries.
struct Case {
    field: &'static str,
    args: Vec<String>,
    stdin: Option<&'static str>,
}

fn args(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| s.to_string()).collect()
}

/// A command line with one flag's value replaced.
fn with(base: &[&str], flag: &str, value: &str) -> Vec<String> {
    let mut v = args(base);
    match v.iter().position(|a| a == flag) {
        Some(i) => v[i + 1] = value.to_string(),
        None => {
            v.push(flag.to_string());
            v.push(value.to_string());
        }
    }
    v
}

fn cases() -> Vec<Case> {
    let mut out = Vec::new();
    let mut add = |field: &'static str, args: Vec<String>, stdin: Option<&'static str>| {
        out.push(Case { field, args, stdin });
    };
    // Allpay cash-in: the login and the amount are positional.
    for login in [
        "",
        "ivan@mail.kz",
        "707273",
        "7707273495477777",
        "+7 707 abc",
    ] {
        add(
            "cash-in login",
            args(&["allpay", "cash-in", login, "100", "--yes"]),
            None,
        );
    }
    let amounts = [
        "",
        "abc",
        "0",
        "-5",
        "10.555",
        "1e3",
        "1000000000000",
        "1,2,3",
    ];
    for a in amounts {
        add(
            "cash-in amount",
            args(&["allpay", "cash-in", "77072734954", a, "--yes"]),
            None,
        );
    }
    // Allpay utility payment.
    let pay = [
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
    ];
    for v in ["", "12ab", "77"] {
        add("pay login", with(&pay, "--login", v), None);
    }
    for v in ["", "18a", "-1", "0", "12345678901", "2147483648"] {
        add("pay service", with(&pay, "--service", v), None);
    }
    for v in ["", "   ", "12\u{7}34", "1\u{200B}2", &"9".repeat(65)] {
        add("pay account", with(&pay, "--account", v), None);
    }
    for v in amounts {
        add("pay amount", with(&pay, "--amount", v), None);
    }
    // WebMoney X1 invoice.
    let wm = [
        "webmoney",
        "invoice",
        "--wmid",
        "405002833238",
        "--amount",
        "10.50",
        "--desc",
        "Заказ",
        "--yes",
    ];
    for v in ["", "40500283323", "40500283323x"] {
        add("wm wmid", with(&wm, "--wmid", v), None);
    }
    for v in ["X123456789012", "Z12345678901", "Z"] {
        add("wm purse", with(&wm, "--purse", v), None);
    }
    for v in ["", "abc", "0", "-1", "1.234"] {
        add("wm amount", with(&wm, "--amount", v), None);
    }
    for v in ["подарок 🎁", "发票", &"я".repeat(256)] {
        add("wm desc", with(&wm, "--desc", v), None);
    }
    add("wm address", with(&wm, "--address", "😀"), None);
    for v in ["256", "-1", "x"] {
        add("wm period", with(&wm, "--period", v), None);
        add("wm expiration", with(&wm, "--expiration", v), None);
    }
    add("wm orderid", with(&wm, "--id", "abc"), None);
    // Wooppay invoice.
    let wp = ["wooppay", "invoice", "--amount", "1500", "--yes"];
    for v in ["", "abc", "0", "-1", "1.234"] {
        add("wooppay amount", with(&wp, "--amount", v), None);
    }
    for v in ["12345", "phone", "+1 202 555 0100"] {
        add("wooppay phone", with(&wp, "--phone", v), None);
    }
    for v in ["not-an-email", "a@", "@b.kz"] {
        add("wooppay email", with(&wp, "--email", v), None);
    }
    for v in ["tomorrow", "2020-01-01 10:00", "31.31.2026"] {
        add("wooppay death date", with(&wp, "--death-date", v), None);
    }
    add(
        "wooppay description",
        with(&wp, "--description", &"я".repeat(300)),
        None,
    );
    add("wooppay variant", with(&wp, "--variant", "cash"), None);
    add(
        "wooppay mobile without a code",
        args(&[
            "wooppay",
            "invoice",
            "--amount",
            "1500",
            "--variant",
            "mobile",
            "--phone",
            "77012345678",
            "--yes",
        ]),
        None,
    );
    add(
        "wooppay code request phone",
        args(&["wooppay", "request-code", "--phone", "12"]),
        None,
    );
    // UPay card registration: the flags, and the card on stdin.
    let reg = [
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
    ];
    for v in ["10/20", "13/30", "1230x", "2/3"] {
        add(
            "upay expiry",
            with(&reg, "--expiry", v),
            Some("4111111111111111\n987\n"),
        );
    }
    for v in ["77071234567", "99891190249", "phone"] {
        add(
            "upay phone",
            with(&reg, "--phone", v),
            Some("4111111111111111\n987\n"),
        );
    }
    for v in ["Тони", "X", "Tony_Sapay"] {
        add(
            "upay holder",
            with(&reg, "--holder", v),
            Some("4111111111111111\n987\n"),
        );
    }
    for stdin in [
        "4111111111111112\n987\n",
        "4111 1111\n987\n",
        "4111x\n987\n",
        "\n\n",
        "4111111111111111\n98\n",
        "4111111111111111\n9876\n",
        "4111111111111111\nabc\n",
    ] {
        add("upay card or CVV", args(&reg), Some(stdin));
    }
    // UPay holds.
    let hold = [
        "upay",
        "hold",
        "create",
        "--card-token",
        "emu-token",
        "--account",
        "112312",
        "--amount",
        "1000",
        "--yes",
    ];
    for v in ["", "a b"] {
        add("upay card token", with(&hold, "--card-token", v), None);
    }
    for v in ["", "\u{7}"] {
        add("upay account", with(&hold, "--account", v), None);
    }
    for v in ["", "abc", "0", "-1"] {
        add("upay amount", with(&hold, "--amount", v), None);
    }
    for v in ["0", "-1", "x"] {
        add("upay service", with(&hold, "--service-id", v), None);
    }
    for v in ["0", "43201", "x"] {
        add("upay minutes", with(&hold, "--minutes", v), None);
    }
    // A well-formed HoldId in no row ("999") is no bad input: it is asked about at UPay
    // (a hold placed elsewhere), see upay_flow.
    for v in ["12x", ""] {
        add(
            "upay hold id",
            args(&["upay", "hold", "capture", "--hold-id", v, "--yes"]),
            None,
        );
    }
    // The day.
    add(
        "report date",
        args(&["report", "--date", "2026-13-01"]),
        None,
    );
    add(
        "export dates",
        args(&[
            "journal",
            "export",
            "--csv",
            "x.csv",
            "--from",
            "23.11.2026",
        ]),
        None,
    );
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_bad_input_is_refused_in_both_languages_and_nothing_is_sent_or_written() {
    let h = Harness::start().await;
    let config = write_config(h.dir.path(), &h.emulator.base_url());
    let cfg = config.display().to_string();
    let cases = cases();
    let mut tried = 0;
    for case in &cases {
        let mut said = Vec::new();
        for lang in ["ru", "en"] {
            let mut all: Vec<&str> = vec!["--config", &cfg, "--lang", lang];
            all.extend(case.args.iter().map(String::as_str));
            let r = match case.stdin {
                Some(input) => kassa_stdin(&all, input).await,
                None => kassa(&all).await,
            };
            tried += 1;
            assert_eq!(r.code, 1, "{} {:?} ({lang}): {r:?}", case.field, case.args);
            let msg = r.stderr.trim().to_string();
            assert!(!msg.is_empty(), "{}: no message", case.field);
            // A catalogue key shown raw would look like `upay.card_luhn`.
            assert!(
                !msg.split_whitespace().any(|w| {
                    let w = w
                        .trim_matches(|c: char| !c.is_ascii_alphanumeric() && c != '.' && c != '_');
                    w.contains('.')
                        && w.contains('_')
                        && w.chars()
                            .all(|c| c.is_ascii_lowercase() || c == '.' || c == '_')
                }),
                "{}: a raw key in {msg:?}",
                case.field
            );
            said.push(msg);
        }
        if !said[0].contains("error:") {
            // clap's own usage errors are English only; kassa's own messages are translated.
            assert_ne!(
                said[0], said[1],
                "{}: the same words in ru and en",
                case.field
            );
        }
    }
    // Nothing reached a provider and nothing was written as if sent.
    let ledger = h.ledger().await;
    for key in [
        "allpay_cash_in",
        "allpay_pay",
        "webmoney_x1",
        "upay_holds",
        "upay_cards",
    ] {
        assert_eq!(
            ledger[key].as_array().map(Vec::len),
            Some(0),
            "{key}: {ledger}"
        );
    }
    assert_eq!(
        ledger["wooppay"]["invoices"].as_array().map(Vec::len),
        Some(0),
        "{ledger}"
    );
    let rows = h.journal().list(&ListFilter::default()).unwrap();
    assert!(rows.is_empty(), "{rows:?}");
    println!(
        "bad inputs tried: {} fields x 2 languages = {tried} runs",
        cases.len()
    );
    assert!(cases.len() >= 100, "{}", cases.len());
}
