//! The `--json` contract (issue 17): every command, run as the kassa binary against the
//! emulator with `--json`, prints exactly one JSON object on stdout, and that object is one
//! of the shapes of docs/cli.schema.json (the one the test expects, and no other). The
//! schema is checked by a small validator below, of the subset of JSON Schema it is written
//! in: type, required, properties, additionalProperties, enum, oneOf, $ref, items and
//! pattern (literals, [classes], ?, *, +, anchored). A keyword outside the subset fails.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use serde_json::{Value, json};

use crate::common::{self, Cli, kassa, kassa_stdin};
use kassa::emulator::allpay_cash_in as magic;
use kassa::emulator::allpay_pay as magic_terminal;

fn schema() -> Value {
    let text =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/cli.schema.json"))
            .expect("docs/cli.schema.json");
    serde_json::from_str(&text).expect("the schema is JSON")
}

// ------------------------------------------------------------------------------------------
// The validator.

/// Checks `v` against `s`; the error names the path of the first mismatch.
fn validate(root: &Value, s: &Value, v: &Value, at: &str) -> Result<(), String> {
    let Some(obj) = s.as_object() else {
        return Err(format!("{at}: schema is not an object"));
    };
    for key in obj.keys() {
        let known = [
            "$schema",
            "$id",
            "$defs",
            "title",
            "description",
            "type",
            "required",
            "properties",
            "additionalProperties",
            "enum",
            "oneOf",
            "$ref",
            "items",
            "pattern",
        ];
        if !known.contains(&key.as_str()) {
            return Err(format!("{at}: keyword {key} is outside the subset"));
        }
    }
    if let Some(r) = obj.get("$ref") {
        let name = r
            .as_str()
            .and_then(|r| r.strip_prefix("#/$defs/"))
            .ok_or_else(|| format!("{at}: only #/$defs/ refs: {r}"))?;
        let target = root["$defs"]
            .get(name)
            .ok_or_else(|| format!("{at}: no $defs/{name}"))?;
        validate(root, target, v, at)?;
    }
    if let Some(t) = obj.get("type") {
        let types: Vec<&str> = match t {
            Value::String(s) => vec![s.as_str()],
            Value::Array(a) => a.iter().filter_map(Value::as_str).collect(),
            _ => return Err(format!("{at}: bad type keyword")),
        };
        let actual = match v {
            Value::Null => "null",
            Value::Bool(_) => "boolean",
            Value::Number(n) if n.is_i64() || n.is_u64() => "integer",
            Value::Number(_) => "number",
            Value::String(_) => "string",
            Value::Array(_) => "array",
            Value::Object(_) => "object",
        };
        let ok = types.contains(&actual) || (actual == "integer" && types.contains(&"number"));
        if !ok {
            return Err(format!("{at}: {actual} where {types:?} was expected: {v}"));
        }
    }
    if let Some(e) = obj.get("enum")
        && !e.as_array().is_some_and(|a| a.contains(v))
    {
        return Err(format!("{at}: {v} not in {e}"));
    }
    if let (Some(p), Some(text)) = (obj.get("pattern"), v.as_str()) {
        let p = p.as_str().ok_or_else(|| format!("{at}: bad pattern"))?;
        if !pattern_matches(p, text) {
            return Err(format!("{at}: {text:?} does not match {p}"));
        }
    }
    if let Some(Value::Array(choices)) = obj.get("oneOf") {
        let fits: Vec<usize> = (0..choices.len())
            .filter(|i| validate(root, &choices[*i], v, at).is_ok())
            .collect();
        if fits.len() != 1 {
            let why: Vec<String> = choices
                .iter()
                .filter_map(|c| validate(root, c, v, at).err())
                .collect();
            return Err(format!(
                "{at}: fits {} of oneOf, not exactly one: {}",
                fits.len(),
                why.join(" | ")
            ));
        }
    }
    if let Some(items) = obj.get("items")
        && let Some(a) = v.as_array()
    {
        for (i, item) in a.iter().enumerate() {
            validate(root, items, item, &format!("{at}[{i}]"))?;
        }
    }
    if let Some(o) = v.as_object() {
        if let Some(Value::Array(req)) = obj.get("required") {
            for r in req.iter().filter_map(Value::as_str) {
                if !o.contains_key(r) {
                    return Err(format!("{at}: {r} is required"));
                }
            }
        }
        let props = obj.get("properties").and_then(Value::as_object);
        for (k, item) in o {
            match props.and_then(|p| p.get(k)) {
                Some(ps) => validate(root, ps, item, &format!("{at}.{k}"))?,
                None => match obj.get("additionalProperties") {
                    Some(Value::Bool(false)) => {
                        return Err(format!("{at}: {k} is not a property of this shape"));
                    }
                    Some(extra @ Value::Object(_)) => {
                        validate(root, extra, item, &format!("{at}.{k}"))?
                    }
                    _ => {}
                },
            }
        }
    }
    Ok(())
}

/// One element of a pattern: a set of characters, and how often it may come.
struct Atom {
    set: Vec<(char, char)>,
    min: usize,
    max: usize,
}

/// Parses the anchored patterns the schema uses: `^`, literals, `[a-z0-9_.]` classes, `\.`,
/// and the quantifiers `?`, `*`, `+`, then `$`.
fn parse_pattern(p: &str) -> Vec<Atom> {
    let body = p
        .strip_prefix('^')
        .and_then(|b| b.strip_suffix('$'))
        .unwrap_or_else(|| panic!("pattern {p} must be anchored"));
    let chars: Vec<char> = body.chars().collect();
    let mut atoms = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let set = match chars[i] {
            '[' => {
                let mut set = Vec::new();
                i += 1;
                while chars[i] != ']' {
                    if chars.get(i + 1) == Some(&'-') && chars.get(i + 2) != Some(&']') {
                        set.push((chars[i], chars[i + 2]));
                        i += 3;
                    } else {
                        set.push((chars[i], chars[i]));
                        i += 1;
                    }
                }
                set
            }
            '\\' => {
                i += 1;
                vec![(chars[i], chars[i])]
            }
            c @ ('(' | ')' | '{' | '|' | '.') => panic!("pattern {p}: {c} is outside the subset"),
            c => vec![(c, c)],
        };
        i += 1;
        let (min, max) = match chars.get(i) {
            Some('?') => (0, 1),
            Some('*') => (0, usize::MAX),
            Some('+') => (1, usize::MAX),
            _ => (1, 1),
        };
        if min != 1 || max != 1 {
            i += 1;
        }
        atoms.push(Atom { set, min, max });
    }
    atoms
}

fn pattern_matches(p: &str, text: &str) -> bool {
    fn go(atoms: &[Atom], text: &[char]) -> bool {
        let Some((a, rest)) = atoms.split_first() else {
            return text.is_empty();
        };
        let fits = |c: char| a.set.iter().any(|(lo, hi)| *lo <= c && c <= *hi);
        let most = text.iter().take_while(|c| fits(**c)).count().min(a.max);
        (a.min..=most).rev().any(|n| go(rest, &text[n..]))
    }
    let text: Vec<char> = text.chars().collect();
    go(&parse_pattern(p), &text)
}

/// Checks one run: its exit code, exactly one JSON object on stdout, valid against the
/// whole schema (oneOf: exactly one shape) and against the shape `def` named.
#[track_caller]
pub fn expect(r: &common::Run, code: i32, def: &str) -> Value {
    let root = schema();
    assert_eq!(r.code, code, "exit code for {def}: {r:?}");
    let lines: Vec<&str> = r.stdout.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(lines.len(), 1, "exactly one line on stdout: {r:?}");
    let v: Value =
        serde_json::from_str(lines[0]).unwrap_or_else(|e| panic!("not JSON ({e}): {r:?}"));
    assert!(v.is_object(), "an object: {v}");
    if let Err(e) = validate(&root, &root, &v, "$") {
        panic!("{def}: not valid against docs/cli.schema.json: {e}\n{v}");
    }
    let shape = json!({"$ref": format!("#/$defs/{def}")});
    if let Err(e) = validate(&root, &shape, &v, "$") {
        panic!("not a {def}: {e}\n{v}");
    }
    v
}

// ------------------------------------------------------------------------------------------
// The validator and the schema, by themselves.

#[test]
fn the_validator_refuses_what_the_schema_does_not_allow() {
    let root = schema();
    let op = json!({
        "id": "{x}", "kind": "allpay.cash_in", "state": "completed",
        "needs_reconciliation": false, "reconciliation_reason": null,
        "amount": "5000.00", "currency": "KZT", "customer": "77072734954",
        "customer_name": null, "provider_status": "COMPLETED", "provider_message": null,
        "provider_ref": null, "detail": null, "link": null, "message_key": null, "note": null,
        "operation_url": null, "attempts": 1, "created_at": "2025-01-01T00:00:00Z",
        "final_at": null,
    });
    validate(&root, &root, &op, "$").unwrap();
    let broken = |f: &dyn Fn(&mut Value)| {
        let mut v = op.clone();
        f(&mut v);
        validate(&root, &root, &v, "$").err()
    };
    // An amount in the shortest form, a missing field, an unknown field, a wrong type, a
    // state nobody knows: each refused.
    assert!(broken(&|v| v["amount"] = json!("5000")).is_some());
    assert!(broken(&|v| v["amount"] = json!("1000.5")).is_some());
    assert!(broken(&|v| v["amount"] = json!(5000)).is_some());
    assert!(
        broken(&|v| {
            v.as_object_mut().unwrap().remove("currency");
        })
        .is_some()
    );
    assert!(broken(&|v| v["code"] = json!("X")).is_some());
    assert!(broken(&|v| v["attempts"] = json!("1")).is_some());
    assert!(broken(&|v| v["state"] = json!("lost")).is_some());
    // Two objects' worth in one (the old register-card), and an error with a provider's
    // code where kassa's key belongs.
    assert!(broken(&|v| v["card_token"] = json!("abc")).is_some());
    let e = json!({"error": "x", "code": "STPIMS-ERR-040"});
    assert!(validate(&root, &root, &e, "$").is_err());
    let e = json!({"error": "x", "code": "cashin.amount_invalid", "id": null, "sent": false});
    validate(&root, &root, &e, "$").unwrap();
    assert!(pattern_matches("^-?[0-9]+[.][0-9][0-9]$", "-0.50"));
    assert!(!pattern_matches("^-?[0-9]+[.][0-9][0-9]$", "1.5"));
    // Every shape is named in the top oneOf, and each is reachable.
    let defs = root["$defs"].as_object().unwrap();
    let listed: Vec<&str> = root["oneOf"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|r| r["$ref"].as_str()?.strip_prefix("#/$defs/"))
        .collect();
    for name in &listed {
        assert!(defs.contains_key(*name), "{name}");
    }
}

// ------------------------------------------------------------------------------------------
// Every command.

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn allpay_commands_answer_in_the_schema() {
    let c = Cli::start().await;
    // check-user: found, not found, the check could not be made, bad input.
    let v = expect(
        &c.run_json(&["allpay", "check-user", "77072734954"]).await,
        0,
        "check_user",
    );
    assert_eq!(v["found"], true);
    expect(
        &c.run_json(&["allpay", "check-user", magic::UNKNOWN_USER])
            .await,
        2,
        "not_found",
    );
    let v = expect(
        &c.run_json(&["allpay", "check-user", magic::CHECK_FAULT])
            .await,
        4,
        "error",
    );
    assert_eq!(v["sent"], false);
    let v = expect(
        &c.run_json(&["allpay", "check-user", "ivan"]).await,
        1,
        "error",
    );
    assert!(
        v["code"].as_str().unwrap().contains('.'),
        "a catalogue key: {v}"
    );

    // cash-in: completed (two places and the currency), then every refusal.
    let cash_in = ["allpay", "cash-in", "77072734954", "5000", "--yes"];
    let v = expect(&c.run_json(&cash_in).await, 0, "operation");
    assert_eq!(
        (v["amount"].as_str(), v["currency"].as_str()),
        (Some("5000.00"), Some("KZT"))
    );
    let id = v["id"].as_str().unwrap().to_string();
    let v = expect(&c.run_json(&cash_in).await, 4, "error");
    assert_eq!(
        (v["code"].as_str(), &v["id"], &v["sent"]),
        (Some("duplicate"), &Value::Null, &json!(false))
    );
    assert_eq!(v["existing"]["id"], id.as_str());
    // No --yes and no terminal: said on stdout, nothing sent (it printed nothing before).
    let v = expect(
        &c.run_json(&["allpay", "cash-in", "77072734954", "100"])
            .await,
        4,
        "error",
    );
    assert_eq!(
        (v["code"].as_str(), &v["sent"]),
        (Some("cli.no_terminal_to_confirm"), &json!(false))
    );
    expect(
        &c.run_json(&["allpay", "cash-in", "77072734954", "12abc", "--yes"])
            .await,
        1,
        "error",
    );
    let v = expect(
        &c.run_json(&[
            "allpay",
            "cash-in",
            "77072734954",
            "7",
            "--yes",
            "--id",
            &id,
        ])
        .await,
        1,
        "error",
    );
    assert_eq!(v["code"], "cli.id_differs");
    // The same id again: followed, the operation in its one shape.
    let v = expect(
        &c.run_json(&[
            "allpay",
            "cash-in",
            "77072734954",
            "5000",
            "--yes",
            "--id",
            &id,
        ])
        .await,
        0,
        "operation",
    );
    assert_eq!(v["id"], id.as_str());
    expect(
        &c.run_json(&["allpay", "cash-in", magic::UNKNOWN_USER, "100", "--yes"])
            .await,
        2,
        "not_found",
    );
    expect(
        &c.run_json(&["allpay", "cash-in", magic::CHECK_FAULT, "100", "--yes"])
            .await,
        4,
        "error",
    );
    let v = expect(
        &c.run_json(&["allpay", "cash-in", magic::DECLINE, "100", "--yes"])
            .await,
        2,
        "operation",
    );
    assert_eq!(v["state"], "declined");
    // --no-wait: the same operation shape as a wait that ends (it was a cut-down object).
    let v = expect(
        &c.run_json(&[
            "allpay",
            "cash-in",
            magic::LONG_PENDING,
            "100",
            "--yes",
            "--no-wait",
        ])
        .await,
        3,
        "operation",
    );
    assert_eq!(
        (v["state"].as_str(), v["amount"].as_str()),
        (Some("pending"), Some("100.00"))
    );
    let v = expect(
        &c.run_json(&[
            "allpay",
            "cash-in",
            magic::LONG_PENDING,
            "101",
            "--yes",
            "--timeout",
            "1",
        ])
        .await,
        3,
        "operation",
    );
    assert_eq!(v["state"], "pending");

    // pay: completed, refused by the check (no id: nothing of it is in the journal),
    // declined.
    let pay = |account: &'static str, service: &'static str| {
        [
            "allpay",
            "pay",
            "--login",
            "77072734954",
            "--service",
            service,
            "--account",
            account,
            "--amount",
            "1500",
            "--yes",
        ]
    };
    let v = expect(&c.run_json(&pay("1234567", "185")).await, 0, "operation");
    assert_eq!(v["amount"], "1500.00");
    let before = c.run_json(&["journal", "list"]).await.json()["operations"]
        .as_array()
        .unwrap()
        .len();
    let v = expect(
        &c.run_json(&pay("1234567", magic_terminal::UNKNOWN_SERVICE))
            .await,
        2,
        "error",
    );
    assert_eq!(
        (v["code"].as_str(), &v["id"], &v["sent"]),
        (Some("pay.refused"), &Value::Null, &json!(false))
    );
    assert!(
        v["provider_status"].is_string(),
        "the provider's code in its own field: {v}"
    );
    let after = c.run_json(&["journal", "list"]).await.json()["operations"]
        .as_array()
        .unwrap()
        .len();
    assert_eq!(before, after, "a refused check writes no row");
    let v = expect(
        &c.run_json(&pay(magic_terminal::DECLINE, "185")).await,
        2,
        "operation",
    );
    assert_eq!(v["state"], "declined");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webmoney_upay_wooppay_answer_in_the_schema() {
    let c = Cli::start().await;
    // WebMoney: issued, rejected, a bad field.
    let wm = |wmid: &'static str, amount: &'static str| {
        [
            "webmoney", "invoice", "--wmid", wmid, "--amount", amount, "--desc", "x", "--yes",
        ]
    };
    let v = expect(&c.run_json(&wm("405002833238", "9")).await, 0, "operation");
    assert_eq!(
        (v["amount"].as_str(), v["currency"].as_str()),
        (Some("9.00"), Some("USD"))
    );
    expect(&c.run_json(&wm("000000000006", "9")).await, 2, "operation");
    expect(&c.run_json(&wm("4050028332", "9")).await, 1, "error");

    // UPay: a card (one object with its link), a hold, its check, its capture, a cancel
    // of the captured hold, and holds nobody knows.
    let mut args = vec!["--config", c.config.as_str()];
    args.extend([
        "upay",
        "register-card",
        "--expiry",
        "12/30",
        "--phone",
        "998911902494",
        "--holder",
        "TONY SAPAY",
        "--stdin",
        "--yes",
        "--json",
    ]);
    let r = kassa_stdin(&args, "4111111111111111\n987\n").await;
    let v = expect(&r, 0, "card_registration");
    let card = v["id"].as_str().unwrap().to_string();
    let url = v["confirm_url"].as_str().unwrap().to_string();
    let http = kassa::providers::http_client(std::time::Duration::from_secs(2)).unwrap();
    http.get(url).send().await.unwrap();
    let v = expect(
        &c.run_json(&[
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
        ])
        .await,
        0,
        "operation",
    );
    assert_eq!(
        (v["state"].as_str(), v["amount"].as_str()),
        (Some("held"), Some("1000.00"))
    );
    let hold = v["provider_ref"].as_str().unwrap().to_string();
    let v = expect(
        &c.run_json(&["upay", "hold", "check", "--hold-id", &hold])
            .await,
        0,
        "hold_check",
    );
    assert_eq!(
        (v["found"].as_bool(), v["provider_status"].as_str()),
        (Some(true), Some("OK"))
    );
    expect(
        &c.run_json(&["upay", "hold", "capture", "--hold-id", &hold, "--yes"])
            .await,
        0,
        "operation",
    );
    // Already captured: the row as it is, not done as asked.
    expect(
        &c.run_json(&["upay", "hold", "cancel", "--hold-id", &hold, "--yes"])
            .await,
        2,
        "operation",
    );
    let unknown_hold = expect(
        &c.run_json(&["upay", "hold", "check", "--hold-id", "999999999"])
            .await,
        2,
        "not_found",
    );
    expect(
        &c.run_json(&["upay", "hold", "capture", "--hold-id", "999999998", "--yes"])
            .await,
        2,
        "not_found",
    );
    expect(
        &c.run_json(&["upay", "hold", "check", "--hold-id", "x y"])
            .await,
        1,
        "error",
    );

    // Wooppay: an invoice, its status, an operation nobody knows, the balance, a code.
    let v = expect(
        &c.run_json(&["wooppay", "invoice", "--amount", "1500", "--yes"])
            .await,
        0,
        "operation",
    );
    assert_eq!(
        (v["state"].as_str(), v["amount"].as_str()),
        (Some("issued"), Some("1500.00"))
    );
    let operation_id = v["provider_ref"].as_str().unwrap().to_string();
    let v = expect(
        &c.run_json(&["wooppay", "status", &operation_id]).await,
        3,
        "wooppay_status",
    );
    assert_eq!(v["amount"], "1500.00");
    let unknown_op = expect(
        &c.run_json(&["wooppay", "status", "987654321"]).await,
        2,
        "not_found",
    );
    // A hold check and a Wooppay status that find nothing answer alike: exit 2 (above),
    // one shape, the same fields.
    let keys = |v: &Value| v.as_object().unwrap().keys().cloned().collect::<Vec<_>>();
    assert_eq!(keys(&unknown_hold), keys(&unknown_op));
    assert_eq!(unknown_hold["code"], unknown_op["code"]);
    let v = expect(
        &c.run_json(&["wooppay", "balance"]).await,
        0,
        "wooppay_balance",
    );
    assert!(v["balance"].as_str().unwrap().contains('.'));
    expect(
        &c.run_json(&["wooppay", "request-code", "--phone", "77012345678"])
            .await,
        0,
        "wooppay_code",
    );
    let v = expect(
        &c.run_json(&["wooppay", "request-code", "--phone", "77000000225"])
            .await,
        2,
        "error",
    );
    assert_eq!(
        v["provider_status"], "225",
        "Wooppay's code in its own field: {v}"
    );
    expect(&c.run_json(&["wooppay", "status", "abc"]).await, 1, "error");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn journal_report_and_usage_answer_in_the_schema() {
    let c = Cli::start().await;
    let v = expect(
        &c.run_json(&["allpay", "cash-in", "77072734954", "250", "--yes"])
            .await,
        0,
        "operation",
    );
    let id = v["id"].as_str().unwrap().to_string();
    let v = expect(&c.run_json(&["journal", "list"]).await, 0, "journal_list");
    assert_eq!(v["operations"][0]["amount"], "250.00");
    expect(
        &c.run_json(&["journal", "list", "--pending"]).await,
        0,
        "journal_list",
    );
    expect(
        &c.run_json(&["journal", "show", &id]).await,
        0,
        "operation_detail",
    );
    expect(&c.run_json(&["journal", "show", "nope"]).await, 1, "error");
    expect(
        &c.run_json(&["journal", "resume", "--timeout", "5"]).await,
        0,
        "resume",
    );
    expect(
        &c.run_json(&[
            "journal",
            "resolve",
            "nope",
            "--to",
            "completed",
            "--note",
            "x",
        ])
        .await,
        1,
        "error",
    );
    let csv = c.h.dir.path().join("out.csv").display().to_string();
    expect(
        &c.run_json(&["journal", "export", "--csv", &csv]).await,
        0,
        "export",
    );
    expect(
        &c.run_json(&["journal", "export", "--csv", &csv, "--from", "yesterday"])
            .await,
        1,
        "error",
    );
    let v = expect(&c.run_json(&["report"]).await, 0, "report");
    assert_eq!(v["cash_at_till"]["total"], "250.00");
    expect(
        &c.run_json(&["report", "--date", "1.1.2025"]).await,
        1,
        "error",
    );

    // clap's own errors under --json: one error object, exit 1, clap's text in `usage`,
    // the summary in the chosen language.
    for args in [
        vec!["allpay", "cash-in"],
        vec!["allpay", "nope"],
        vec!["upay", "hold", "check"],
        vec!["journal", "resume", "--timeout", "soon"],
    ] {
        let v = expect(&c.run_json(&args).await, 1, "error");
        assert_eq!(v["code"], "cli.usage_error", "{args:?}");
        assert!(
            v["usage"].as_str().unwrap().contains("error:"),
            "clap's text: {v}"
        );
        assert!(
            v["error"].as_str().unwrap().contains("nothing was sent"),
            "the summary in the config's language: {v}"
        );
    }
    let v = expect(
        &c.run_json(&["--lang", "ru", "upay", "hold", "check"]).await,
        1,
        "error",
    );
    assert!(v["error"].as_str().unwrap().contains("Не хватает"), "{v}");
    // A configuration error and a missing config file, as JSON.
    let bad = c.h.dir.path().join("bad.toml");
    std::fs::write(&bad, "[allpay]\nrequestor = \"1\"\n").unwrap();
    let bad = bad.display().to_string();
    let v = expect(
        &kassa(&["--config", &bad, "journal", "list", "--json"]).await,
        1,
        "error",
    );
    assert_eq!(v["code"], "config.invalid");
    let missing = c.h.dir.path().join("missing.toml").display().to_string();
    expect(
        &kassa(&["--config", &missing, "report", "--json"]).await,
        1,
        "error",
    );
}
