//! The headless commands: the same worker and journal as the TUI, driven from the command
//! line, with DESIGN.md's exit codes (0 done, 2 declined/rejected, 3 pending or needs
//! reconciliation, 1 usage or configuration) and `--json` output.

use std::io::{BufRead, IsTerminal, Write};
use std::time::Duration;

use serde_json::json;
use tokio::sync::mpsc::UnboundedReceiver;

use crate::config::Settings;
use crate::i18n::{Lang, t, tf};
use crate::ids;
use crate::journal::{Journal, ListFilter, Operation, State};
use crate::money::Amount;
use crate::providers::allpay::cash_in::CURRENCY;
use crate::validate;
use crate::worker::{CashInPayment, CheckOutcome, Command, Event, Worker};

pub mod day;
pub mod export;
pub mod upay;
pub mod wooppay;

/// `now + timeout`, capped at a year: a silly `--timeout` must not overflow the clock.
fn deadline_after(timeout: Duration) -> tokio::time::Instant {
    let now = tokio::time::Instant::now();
    now.checked_add(timeout.min(Duration::from_secs(365 * 24 * 3600)))
        .unwrap_or(now)
}

/// Exit codes of the command-line contract.
pub use crate::exit::Exit;
use crate::format::{describe, local_time, rfc3339};

/// Options every waiting money command shares.
#[derive(Debug, Clone)]
pub struct Wait {
    pub timeout: Duration,
    pub no_wait: bool,
    pub json: bool,
    /// Done when the operation is issued (a Wooppay invoice without `--wait-paid`).
    pub until_issued: bool,
}

/// The exit code for an operation's state.
pub fn exit_for(op: &Operation) -> Exit {
    match op.state {
        State::Completed => Exit::Done,
        State::Declined | State::Rejected | State::Cancelled | State::Expired | State::Reversed => {
            Exit::Declined
        }
        State::Pending | State::Prepared | State::Held | State::Issued => Exit::Pending,
    }
}

/// One operation as `--json` prints it. No secrets are in a row to begin with.
pub fn op_json(op: &Operation) -> serde_json::Value {
    json!({
        "id": op.id,
        "kind": op.kind.tag(),
        "state": op.state.tag(),
        "needs_reconciliation": op.needs_reconciliation,
        "reconciliation_reason": op.recon_reason,
        "amount": op.amount.to_wire_decimal(),
        "currency": op.amount.currency().code(),
        "customer": op.customer,
        "customer_name": op.customer_name,
        "provider_status": op.provider_status,
        "provider_message": op.provider_message,
        "provider_ref": op.shown_ref(),
        "detail": op.detail,
        "link": op.link,
        "message_key": op.message_key,
        "note": op.note,
        "operation_url": crate::flows::wooppay::operation_url(op),
        "attempts": op.attempts,
        "created_at": rfc3339(op.created_at),
        "final_at": op.final_at.map(rfc3339),
    })
}

fn fail_usage(lang: Lang, json_out: bool, key: &str, args: &[(&str, &str)]) -> Exit {
    let msg = tf(lang, key, args);
    if json_out {
        println!("{}", json!({"error": msg, "code": key}));
    } else {
        eprintln!("kassa: {msg}");
    }
    Exit::Usage
}

/// `kassa allpay check-user LOGIN`
pub async fn check_user(
    settings: &Settings,
    journal: Journal,
    login: &str,
    json_out: bool,
) -> Exit {
    let lang = settings.lang;
    if settings.allpay.requester.trim().is_empty() {
        return fail_usage(lang, json_out, "config.no_requester", &[]);
    }
    let login = match validate::wallet_login(login) {
        Ok(l) => l,
        Err(key) => return fail_usage(lang, json_out, key, &[]),
    };
    let (worker, mut events) = match Worker::start(settings.clone(), journal) {
        Ok(w) => w,
        Err(e) => return fail_usage(lang, json_out, "error.http_client", &[("error", &e)]),
    };
    worker.send(Command::CheckUser {
        login: login.clone(),
    });
    let code = loop {
        let Some(ev) = events.recv().await else {
            break Exit::Pending;
        };
        if let Event::UserChecked { outcome, .. } = ev {
            break print_check(lang, &login, &outcome, json_out);
        }
    };
    worker.stop().await;
    code
}

fn print_check(lang: Lang, login: &str, outcome: &CheckOutcome, json_out: bool) -> Exit {
    match outcome {
        CheckOutcome::Found { user, message } => {
            if json_out {
                println!(
                    "{}",
                    json!({
                        "login": login, "found": true, "name": user.full_name(),
                        "identified": user.identified, "iin": user.masked_iin(), "message": message,
                    })
                );
            } else {
                let ident = if user.identified {
                    t(lang, "cashin.identified")
                } else {
                    t(lang, "cashin.not_identified")
                };
                println!("{login}: {} · {ident}", user.full_name());
                if let Some(iin) = user.masked_iin() {
                    println!("{} {iin}", t(lang, "cashin.iin"));
                }
            }
            Exit::Done
        }
        CheckOutcome::NotFound { message } => {
            if json_out {
                println!(
                    "{}",
                    json!({"login": login, "found": false, "message": message})
                );
            } else {
                println!("{login}: {}", t(lang, "cashin.no_such_user"));
                if let Some(m) = message.as_deref().filter(|m| !m.is_empty()) {
                    println!("{m}");
                }
            }
            Exit::Declined
        }
        CheckOutcome::Failed { key, code, message } => {
            let mut text = t(lang, key).to_string();
            if let (Some(c), Some(m)) = (code, message) {
                text.push_str(&format!(": {m} ({c})"));
            }
            if json_out {
                println!("{}", json!({"login": login, "found": null, "error": text}));
            } else {
                eprintln!("kassa: {text}");
            }
            // Nothing was sent and nothing is pending: the check could not be made.
            Exit::Usage
        }
    }
}

/// Asks on the terminal; refuses when there is none.
fn confirm(lang: Lang, question: &str) -> Result<bool, Exit> {
    if !std::io::stdin().is_terminal() {
        eprintln!("kassa: {}", t(lang, "cli.no_terminal_to_confirm"));
        return Err(Exit::Usage);
    }
    eprint!("{question} {} ", t(lang, "cli.yes_no"));
    let _ = std::io::stderr().flush();
    let mut line = String::new();
    if std::io::stdin().lock().read_line(&mut line).is_err() {
        return Ok(false);
    }
    Ok(matches!(
        line.trim().to_lowercase().as_str(),
        "y" | "yes" | "д" | "да"
    ))
}

/// Takes `--yes` or asks on the terminal; `Some(exit code)` when the answer is no or
/// cannot be had, and nothing may be sent.
fn refused(lang: Lang, yes: bool, question: &str) -> Option<Exit> {
    if yes {
        return None;
    }
    match confirm(lang, question) {
        Ok(true) => None,
        Ok(false) => {
            eprintln!("{}", t(lang, "cli.cancelled"));
            Some(Exit::Declined)
        }
        Err(code) => Some(code),
    }
}

/// `--id` named an operation already in the journal: follow it (never send a second one),
/// provided it is the same request.
async fn follow_known(
    lang: Lang,
    worker: &Worker,
    events: &mut UnboundedReceiver<Event>,
    op: &Operation,
    same_request: bool,
    w: &Wait,
) -> Exit {
    if !same_request {
        return fail_usage(lang, w.json, "cli.id_differs", &[("id", &op.id)]);
    }
    if !w.json {
        eprintln!("{}", tf(lang, "cli.following", &[("id", &op.id)]));
    }
    worker.send(Command::Follow { id: op.id.clone() });
    wait_for(lang, events, &op.id, w).await
}

/// Looks `id` up in the journal (a known id is followed, never sent again: rule 8), then
/// starts the worker on that journal.
fn open_for(
    settings: &Settings,
    journal: Journal,
    id: Option<&str>,
    json_out: bool,
) -> Result<(Option<Operation>, Worker, UnboundedReceiver<Event>), Exit> {
    let lang = settings.lang;
    let known = match id.map(|i| journal.find(i)).transpose() {
        Ok(k) => k.flatten(),
        Err(e) => {
            let error = e.to_string();
            return Err(fail_usage(
                lang,
                json_out,
                "error.journal_open",
                &[("error", &error)],
            ));
        }
    };
    match Worker::start(settings.clone(), journal) {
        Ok((worker, events)) => Ok((known, worker, events)),
        Err(e) => Err(fail_usage(
            lang,
            json_out,
            "error.http_client",
            &[("error", &e)],
        )),
    }
}

/// What every money command takes: confirmation, the client id, the duplicate override,
/// and how to wait (DESIGN.md rule 8 and the command-line contract).
#[derive(Debug, Clone)]
pub struct Money {
    pub yes: bool,
    pub id: Option<String>,
    pub new: bool,
    pub wait: Wait,
}

/// The flags of `kassa allpay cash-in`.
#[derive(Debug, Clone)]
pub struct CashInArgs {
    pub login: String,
    pub amount: String,
    pub money: Money,
}

/// `kassa allpay cash-in LOGIN AMOUNT`
pub async fn cash_in(settings: &Settings, journal: Journal, a: CashInArgs) -> Exit {
    let lang = settings.lang;
    let json_out = a.money.wait.json;
    if settings.allpay.requester.trim().is_empty() {
        return fail_usage(lang, json_out, "config.no_requester", &[]);
    }
    let login = match validate::wallet_login(&a.login) {
        Ok(l) => l,
        Err(key) => return fail_usage(lang, json_out, key, &[]),
    };
    let amount = match Amount::parse(&a.amount, CURRENCY) {
        Ok(x) => x,
        Err(e) => return fail_usage(lang, json_out, e.message_key(), &[]),
    };
    let guid = match &a.money.id {
        Some(raw) => match ids::parse_guid(raw) {
            Some(g) => g,
            None => return fail_usage(lang, json_out, "cli.bad_guid", &[("id", raw)]),
        },
        None => ids::new_guid(),
    };
    let (known, worker, mut events) = match open_for(settings, journal, Some(&guid), json_out) {
        Ok(x) => x,
        Err(code) => return code,
    };
    let code = if let Some(op) = known {
        let asked = crate::flows::cash_in::CashInPayment {
            id: guid.clone(),
            login: login.clone(),
            customer_name: None,
            amount,
        };
        let same = crate::flows::same_request(&op, &asked.asked());
        follow_known(lang, &worker, &mut events, &op, same, &a.money.wait).await
    } else {
        // Check the wallet first: an unknown login is refused before any money moves.
        worker.send(Command::CheckUser {
            login: login.clone(),
        });
        let outcome = loop {
            match events.recv().await {
                Some(Event::UserChecked { outcome, .. }) => break Some(outcome),
                Some(_) => {}
                None => break None,
            }
        };
        let name = match outcome {
            Some(CheckOutcome::Found { user, .. }) => Some(user.full_name()),
            Some(other) => {
                let c = print_check(lang, &login, &other, json_out);
                if !json_out {
                    eprintln!("{}", t(lang, "cli.nothing_sent"));
                }
                worker.stop().await;
                // No such wallet: refused (2). No answer to the check: nothing was sent,
                // so nothing is pending either (1).
                return match c {
                    Exit::Done | Exit::Declined => Exit::Declined,
                    _ => Exit::Usage,
                };
            }
            None => None,
        };
        let question = tf(
            lang,
            "cli.confirm_cash_in",
            &[
                ("amount", &amount.display()),
                ("login", &login),
                ("name", name.as_deref().unwrap_or("")),
            ],
        );
        if let Some(code) = refused(lang, a.money.yes, &question) {
            worker.stop().await;
            return code;
        }
        worker.send(Command::Start {
            request: crate::flows::Request::CashIn(CashInPayment {
                id: guid.clone(),
                login: login.clone(),
                customer_name: name,
                amount,
            }),
            allow_duplicate: a.money.new,
        });
        wait_for(lang, &mut events, &guid, &a.money.wait).await
    };
    worker.stop().await;
    code
}

/// The flags of `kassa allpay pay`.
#[derive(Debug, Clone)]
pub struct PayArgs {
    pub login: String,
    pub service: String,
    pub account: String,
    pub amount: String,
    pub money: Money,
}

/// An rrn typed with `--id`: "a number or a UUID" (document 001).
fn parse_rrn(raw: &str) -> Option<String> {
    let t = raw.trim();
    let ok =
        !t.is_empty() && t.len() <= 64 && t.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-');
    // The rrn is compared as a string by Allpay: its case is kept.
    ok.then(|| t.to_string())
}

/// `kassa allpay pay --login L --service C --account A --amount X`
pub async fn pay(settings: &Settings, journal: Journal, a: PayArgs) -> Exit {
    use crate::flows::pay::{UtilityPayment, customer_of};
    use crate::worker::pay::CheckOutcome as PayCheck;
    let lang = settings.lang;
    let json_out = a.money.wait.json;
    if settings.allpay.requester.trim().is_empty() {
        return fail_usage(lang, json_out, "config.no_requester", &[]);
    }
    let fields = (|| {
        Ok::<_, &'static str>((
            validate::wallet_login(&a.login)?,
            validate::service_code(&a.service)?,
            validate::utility_account(&a.account)?,
            Amount::parse(&a.amount, CURRENCY).map_err(|e| e.message_key())?,
        ))
    })();
    let (login, service, account, amount) = match fields {
        Ok(f) => f,
        Err(key) => return fail_usage(lang, json_out, key, &[]),
    };
    let rrn = match &a.money.id {
        Some(raw) => match parse_rrn(raw) {
            Some(r) => r,
            None => return fail_usage(lang, json_out, "cli.bad_rrn", &[("id", raw)]),
        },
        None => ids::new_rrn(),
    };
    let (known, worker, mut events) = match open_for(settings, journal, Some(&rrn), json_out) {
        Ok(x) => x,
        Err(code) => return code,
    };
    let payment = UtilityPayment {
        id: rrn.clone(),
        login,
        service,
        account,
        amount,
    };
    let code = if let Some(op) = known {
        // valueDate is fixed at the first commit: not part of the comparison.
        let same = crate::flows::same_request(&op, &payment.asked(String::new()));
        follow_known(lang, &worker, &mut events, &op, same, &a.money.wait).await
    } else {
        // The check first: Allpay says whether it is possible before any money moves.
        worker.send(Command::CheckPayment {
            payment: payment.clone(),
        });
        let outcome = loop {
            match events.recv().await {
                Some(Event::PaymentChecked { outcome, .. }) => break Some(outcome),
                Some(_) => {}
                None => break None,
            }
        };
        match outcome {
            Some(PayCheck::Possible { message }) => {
                if let Some(m) = message.filter(|_| !json_out) {
                    eprintln!("Allpay: {m}");
                }
            }
            Some(PayCheck::Refused { code, message }) => {
                let msg = format!("{}: {message} ({code})", t(lang, "pay.refused"));
                if json_out {
                    println!(
                        "{}",
                        json!({"id": rrn, "error": msg, "code": code, "state": "rejected"})
                    );
                } else {
                    eprintln!("kassa: {msg}");
                    eprintln!("{}", t(lang, "cli.nothing_sent"));
                }
                worker.stop().await;
                return Exit::Declined;
            }
            Some(PayCheck::Failed { key }) => {
                worker.stop().await;
                return fail_usage(lang, json_out, key, &[]);
            }
            None => {
                worker.stop().await;
                return Exit::Usage;
            }
        }
        let question = tf(
            lang,
            "cli.confirm_pay",
            &[
                ("amount", &amount.display()),
                ("target", &customer_of(&payment.service, &payment.account)),
                ("login", &payment.login),
            ],
        );
        if let Some(code) = refused(lang, a.money.yes, &question) {
            worker.stop().await;
            return code;
        }
        worker.send(Command::Start {
            request: crate::flows::Request::Pay(payment),
            allow_duplicate: a.money.new,
        });
        wait_for(lang, &mut events, &rrn, &a.money.wait).await
    };
    worker.stop().await;
    code
}

/// The flags of `kassa webmoney invoice`.
#[derive(Debug, Clone)]
pub struct InvoiceArgs {
    pub wmid: String,
    pub amount: String,
    pub desc: String,
    pub purse: Option<String>,
    pub address: Option<String>,
    pub period: Option<String>,
    pub expiration: Option<String>,
    pub money: Money,
}

/// `kassa webmoney invoice --wmid WMID --amount AMOUNT --desc TEXT`
pub async fn wm_invoice(settings: &Settings, journal: Journal, a: InvoiceArgs) -> Exit {
    use crate::flows::webmoney::WmInvoice;
    use crate::validate::WmField;
    let lang = settings.lang;
    let json_out = a.money.wait.json;
    let purse_text = a
        .purse
        .clone()
        .unwrap_or_else(|| settings.webmoney.purse.clone());
    if purse_text.trim().is_empty() {
        return fail_usage(lang, json_out, "wm.no_purse", &[]);
    }
    let checked = (|| {
        let wmid = validate::wmid(&a.wmid)?;
        let purse = validate::purse(&purse_text)?;
        let currency =
            crate::providers::webmoney::purse_currency(&purse).ok_or("wm.purse_invalid")?;
        let amount = Amount::parse(&a.amount, currency).map_err(|e| e.message_key())?;
        let desc = validate::wm_text(&a.desc, WmField::Desc)?;
        let address = validate::wm_text(a.address.as_deref().unwrap_or(""), WmField::Address)?;
        let period = validate::wm_days(a.period.as_deref().unwrap_or(""))?;
        let expiration = validate::wm_days(a.expiration.as_deref().unwrap_or(""))?;
        let orderid = match &a.money.id {
            Some(raw) => Some(
                raw.trim()
                    .parse::<u64>()
                    .ok()
                    .filter(|o| *o > 0 && *o < 1 << 62)
                    .ok_or("wm.orderid_invalid")?,
            ),
            None => None,
        };
        Ok::<_, &'static str>((
            wmid, purse, amount, desc, address, period, expiration, orderid,
        ))
    })();
    let (wmid, purse, amount, desc, address, period, expiration, orderid) = match checked {
        Ok(c) => c,
        Err(key) => return fail_usage(lang, json_out, key, &[]),
    };
    for (field, (_, trimmed)) in [("desc", &desc), ("address", &address)] {
        if *trimmed && !json_out {
            eprintln!("{}", tf(lang, "wm.trimmed", &[("field", field)]));
        }
    }
    let invoice = WmInvoice {
        orderid,
        customer_wmid: wmid,
        purse,
        amount,
        desc: desc.0,
        address: address.0,
        period,
        expiration,
    };
    // Nothing is recorded for an invoice that could not be signed or sent: say why now.
    if let Err(reason) = crate::worker::webmoney::client(&settings.webmoney) {
        let msg = format!("{}: {reason}", t(lang, "wm.not_configured"));
        if json_out {
            println!("{}", json!({"error": msg, "code": "wm.not_configured"}));
        } else {
            eprintln!("kassa: {msg}");
        }
        return Exit::Usage;
    }
    let id = orderid.map(|o| o.to_string());
    let (known, worker, mut events) = match open_for(settings, journal, id.as_deref(), json_out) {
        Ok(x) => x,
        Err(code) => return code,
    };
    let code = if let Some(op) = known {
        let same = crate::flows::same_request(&op, &invoice.asked(orderid.unwrap_or_default()));
        follow_known(lang, &worker, &mut events, &op, same, &a.money.wait).await
    } else {
        let question = tf(
            lang,
            "cli.confirm_invoice",
            &[
                ("amount", &amount.display()),
                ("wmid", &invoice.customer_wmid),
                ("purse", &invoice.purse),
            ],
        );
        if let Some(code) = refused(lang, a.money.yes, &question) {
            worker.stop().await;
            return code;
        }
        worker.send(Command::Start {
            request: crate::flows::Request::Webmoney(invoice.clone()),
            allow_duplicate: a.money.new,
        });
        // The orderid comes from the journal's counter unless --id gave one.
        let id = loop {
            match events.recv().await {
                Some(Event::InvoiceNumbered { invoice: i }) => {
                    break i.orderid.map(|o| o.to_string());
                }
                Some(Event::Trouble { key, .. }) => {
                    worker.stop().await;
                    return fail_usage(lang, json_out, key, &[]);
                }
                Some(_) => {}
                None => break None,
            }
        };
        match id {
            Some(id) => {
                if !json_out {
                    eprintln!("{}", tf(lang, "wm.orderid", &[("id", &id)]));
                }
                wait_for(lang, &mut events, &id, &a.money.wait).await
            }
            None => Exit::Usage,
        }
    };
    worker.stop().await;
    code
}

/// Waits for `id` to end (or for the first reply with `--no-wait`), printing progress on
/// stderr and the result on stdout.
async fn wait_for(lang: Lang, events: &mut UnboundedReceiver<Event>, id: &str, w: &Wait) -> Exit {
    wait_for_with(lang, events, id, w, exit_for).await
}

/// As [`wait_for`], with the command's own idea of which state is success (a hold create
/// is done when `held`, a capture refused back to `held` is not).
async fn wait_for_with(
    lang: Lang,
    events: &mut UnboundedReceiver<Event>,
    id: &str,
    w: &Wait,
    exit_of: impl Fn(&Operation) -> Exit,
) -> Exit {
    let deadline = deadline_after(w.timeout);
    loop {
        let ev = tokio::select! {
            e = events.recv() => e,
            _ = tokio::time::sleep_until(deadline) => {
                return timed_out(lang, id, w.json);
            }
        };
        let Some(ev) = ev else {
            return timed_out(lang, id, w.json);
        };
        match ev {
            Event::Recorded { op } if op.id == id && !w.json => {
                eprintln!("{}", tf(lang, "cli.recorded", &[("id", &op.id)]));
            }
            Event::Progress {
                id: pid,
                kind,
                attempt,
                status,
                next_retry: Some(next),
                trouble,
                trouble_detail,
            } if pid == id => {
                if !w.json {
                    let mut why = trouble
                        .map(|k| tf(lang, k, &[("provider", crate::flows::provider_name(kind))]))
                        .or(status)
                        .unwrap_or_default();
                    if let Some(d) = trouble_detail {
                        why.push_str(&format!(": {d}"));
                    }
                    eprintln!(
                        "{}",
                        tf(
                            lang,
                            "cli.progress",
                            &[
                                ("attempt", &attempt.to_string()),
                                ("status", &why),
                                ("secs", &next.as_secs().max(1).to_string()),
                            ]
                        )
                    );
                }
                if w.no_wait {
                    return finish_pending(lang, id, w.json);
                }
            }
            Event::Issued { op } if op.id == id && w.until_issued => {
                wooppay::print_issued(lang, &op, w.json);
                return Exit::Done;
            }
            Event::Finished { op } | Event::NeedsReconciliation { op } if op.id == id => {
                if w.json {
                    println!("{}", op_json(&op));
                } else {
                    println!("{}", describe(lang, &op));
                }
                return exit_of(&op);
            }
            Event::Duplicate {
                request: crate::flows::Request::CashIn(..),
                existing,
                ..
            }
            | Event::Duplicate {
                request: crate::flows::Request::Pay(..),
                existing,
                ..
            }
            | Event::Duplicate {
                request: crate::flows::Request::Webmoney(..),
                existing,
                ..
            }
            | Event::Duplicate {
                request: crate::flows::Request::Hold(..),
                existing,
                ..
            }
            | Event::Duplicate {
                request: crate::flows::Request::Wooppay(..),
                existing,
                ..
            } if existing.id != id => {
                let msg = tf(
                    lang,
                    "cli.duplicate",
                    &[
                        ("id", &existing.id),
                        ("state", t(lang, existing.state.message_key())),
                        ("time", &local_time(existing.created_at)),
                    ],
                );
                if w.json {
                    println!(
                        "{}",
                        json!({"error": msg, "code": "duplicate", "existing": op_json(&existing)})
                    );
                } else {
                    eprintln!("kassa: {msg}");
                }
                return Exit::Usage;
            }
            Event::Trouble { id: Some(tid), key } if tid == id => {
                let msg = t(lang, key);
                if w.json {
                    println!("{}", json!({"id": id, "error": msg, "code": key}));
                } else {
                    eprintln!("kassa: {msg}");
                }
                return if matches!(key, "error.not_recorded" | "error.id_taken") {
                    Exit::Usage
                } else {
                    Exit::Pending
                };
            }
            _ => {}
        }
    }
}

fn finish_pending(lang: Lang, id: &str, json_out: bool) -> Exit {
    if json_out {
        println!(
            "{}",
            json!({"id": id, "state": "pending", "needs_reconciliation": false})
        );
    } else {
        println!("{}", tf(lang, "cli.still_pending", &[("id", id)]));
    }
    Exit::Pending
}

fn timed_out(lang: Lang, id: &str, json_out: bool) -> Exit {
    finish_pending(lang, id, json_out)
}

/// `kassa journal list`
pub fn journal_list(lang: Lang, journal: &Journal, pending: bool, json_out: bool) -> Exit {
    let rows = match journal.list(&ListFilter {
        pending_only: pending,
        limit: None,
    }) {
        Ok(r) => r,
        Err(e) => {
            return fail_usage(
                lang,
                json_out,
                "error.journal_open",
                &[("error", &e.to_string())],
            );
        }
    };
    if json_out {
        let v: Vec<_> = rows.iter().map(op_json).collect();
        println!("{}", json!({ "operations": v }));
    } else {
        for op in &rows {
            println!("{}  {}", local_time(op.created_at), describe(lang, op));
        }
    }
    Exit::Done
}

/// `kassa journal show ID`
pub fn journal_show(lang: Lang, journal: &Journal, id: &str, json_out: bool) -> Exit {
    // As typed first (an rrn), then as a GUID typed without braces or in capitals.
    let id = match journal.find(id.trim()) {
        Ok(Some(_)) => id.trim().to_string(),
        _ => ids::parse_guid(id).unwrap_or_else(|| id.to_string()),
    };
    let (op, events) = match journal
        .get(&id)
        .and_then(|op| Ok((op, journal.events(&id)?)))
    {
        Ok(x) => x,
        Err(_) => return fail_usage(lang, json_out, "error.not_found_id", &[("id", &id)]),
    };
    if json_out {
        let mut v = op_json(&op);
        v["events"] = events
            .iter()
            .map(|e| json!({"at": rfc3339(e.at), "kind": e.kind, "detail": e.detail}))
            .collect();
        println!("{v}");
    } else {
        println!("{}", describe(lang, &op));
        for (label, value) in crate::format::explanations(lang, &op) {
            println!("  {}: {value}", t(lang, label));
        }
        for e in &events {
            println!("  {}  {:<9} {}", local_time(e.at), e.kind, e.detail);
        }
    }
    exit_for(&op)
}

/// `kassa journal resume`: drives every pending row until all are final or need a person.
pub async fn journal_resume(settings: &Settings, journal: Journal, w: Wait) -> Exit {
    let lang = settings.lang;
    let (worker, mut events) = match Worker::start(settings.clone(), journal) {
        Ok(x) => x,
        Err(e) => return fail_usage(lang, w.json, "error.http_client", &[("error", &e)]),
    };
    worker.send(Command::ResumeAll);
    let deadline = deadline_after(w.timeout);
    let mut tick = tokio::time::interval(Duration::from_millis(300));
    let mut last = (u32::MAX, 0u32);
    let mut resumed = false;
    loop {
        tokio::select! {
            _ = tokio::time::sleep_until(deadline) => break,
            _ = tick.tick() => worker.send(Command::Count),
            e = events.recv() => match e {
                Some(Event::Finished { op }) if !w.json => println!("{}", describe(lang, &op)),
                Some(Event::NeedsReconciliation { op }) if !w.json => {
                    println!("{}", describe(lang, &op));
                }
                Some(Event::Resuming { .. }) => resumed = true,
                Some(Event::Counts { pending, recon, active }) => {
                    last = (pending, recon);
                    // Done when only rows that wait for a person are left and this process
                    // sends nothing (rows another process holds still count as pending).
                    if resumed && pending == recon && active == 0 {
                        break;
                    }
                }
                Some(_) => {}
                None => break,
            },
        }
    }
    let (pending, recon) = last;
    worker.stop().await;
    if w.json {
        println!(
            "{}",
            json!({"pending": pending, "needs_reconciliation": recon})
        );
    } else {
        println!(
            "{}",
            tf(
                lang,
                "cli.resume_done",
                &[
                    ("pending", &pending.to_string()),
                    ("recon", &recon.to_string())
                ]
            )
        );
    }
    if pending == 0 {
        Exit::Done
    } else {
        Exit::Pending
    }
}
