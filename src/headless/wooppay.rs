//! `kassa wooppay invoice | request-code | status | balance`: the same worker and journal as
//! the TUI. An invoice command waits until the invoice is issued (operationId and link
//! shown), or with `--wait-paid` until it is paid; every field is checked before anything
//! is recorded or sent.

pub use super::args::WpInvoiceArgs;
use serde_json::json;

use super::{
    Exit, fail_usage, follow_known, op_json, open_for, print_error, print_not_found, refused,
    wait_for,
};
use crate::config::{Secret, Settings};
use crate::flows::wooppay::WpInvoice;
use crate::i18n::{Lang, t, tf};
use crate::ids;
use crate::journal::{Journal, State};
use crate::money::Currency;
use crate::providers::wooppay::codec::Variant;
use crate::validate;
use crate::worker::wooppay::WpFailure;
use crate::worker::{Command, Event, Worker};

/// Prints an issued invoice: the row, its operationId and its link whole.
pub fn print_issued(lang: Lang, op: &crate::journal::Operation, json_out: bool) {
    if json_out {
        println!("{}", op_json(op));
        return;
    }
    println!("{}", crate::format::describe(lang, op));
    if let Some(r) = &op.provider_ref {
        println!("  {} {r}", t(lang, "wooppay.operation_id"));
    }
    if let Some(url) = crate::flows::wooppay::operation_url(op) {
        println!("  {} {url}", t(lang, "wooppay.link"));
    }
}

/// Checks every field and builds the invoice (its referenceId included), or the key of
/// the first refusal.
fn build(a: &WpInvoiceArgs) -> Result<WpInvoice, &'static str> {
    let variant = match a.variant.as_deref().map(str::trim) {
        None | Some("") => Variant::Plain,
        Some(v) => Variant::from_tag(v).ok_or("wooppay.variant_invalid")?,
    };
    // The screen shows only the fields of its variant; here a flag that does not belong
    // to the variant is refused rather than dropped.
    if a.service.is_some() && variant != Variant::Service {
        return Err("wooppay.service_only_for_service");
    }
    let form = crate::flows::wooppay::Form {
        variant,
        amount: &a.amount,
        description: a.description.as_deref().unwrap_or(""),
        phone: a.phone.as_deref().unwrap_or(""),
        email: a.email.as_deref().unwrap_or(""),
        service: a.service.as_deref().unwrap_or(""),
        death_date: a.death_date.as_deref().unwrap_or(""),
        add_info: "",
        back_url: "",
        request_url: "",
        card_forbidden: false,
    };
    let checked = crate::flows::wooppay::check(&form, chrono::Local::now().naive_local())
        .map_err(|(_, key)| key)?;
    let sms_code = match (variant, a.sms_code.as_deref()) {
        (Variant::Mobile, Some(c)) => Some(Secret::new(validate::wooppay_sms_code(c)?)),
        (Variant::Mobile, None) => return Err("wooppay.sms_code_missing"),
        (_, Some(_)) => return Err("wooppay.sms_code_only_for_mobile"),
        (_, None) => None,
    };
    let reference_id = match &a.money.id {
        Some(raw) => ids::parse_reference_id(raw).ok_or("wooppay.reference_invalid")?,
        None => ids::new_reference_id(),
    };
    Ok(WpInvoice {
        reference_id,
        sms_code,
        ..checked
    })
}

/// Whether Wooppay can be called at all: a login and a readable password.
fn configured(settings: &Settings) -> Result<(), String> {
    if settings.wooppay.login.is_empty() {
        return Err("wooppay.login is not set in the config".into());
    }
    settings.wooppay.password.get().map(|_| ())
}

fn not_configured(lang: Lang, json_out: bool, reason: &str) -> Exit {
    let msg = format!("{}: {reason}", t(lang, "wooppay.not_configured"));
    print_error(json_out, "wooppay.not_configured", &msg, json!({}));
    Exit::Usage
}

/// `kassa wooppay invoice --amount AMOUNT [--variant ...]`
pub async fn invoice(settings: &Settings, journal: Journal, a: WpInvoiceArgs) -> Exit {
    let lang = settings.lang;
    let json_out = a.money.wait.json;
    let inv = match build(&a) {
        Ok(i) => i,
        Err(key) => return fail_usage(lang, json_out, key, &[]),
    };
    if let Err(reason) = configured(settings) {
        return not_configured(lang, json_out, &reason);
    }
    let mut wait = a.money.wait.clone();
    wait.until_issued = !a.wait_paid;
    let id = inv.reference_id.clone();
    let (known, worker, mut events) = match open_for(settings, journal, Some(&id), json_out) {
        Ok(x) => x,
        Err(code) => return code,
    };
    let code = if let Some(op) = known {
        // A repeated command without `--death-date` names none, so the first one's holds.
        let same = crate::flows::same_request(&op, &inv.asked());
        if same && op.state == State::Issued && wait.until_issued {
            print_issued(lang, &op, json_out);
            Exit::Done
        } else {
            follow_known(lang, &worker, &mut events, &op, same, &wait).await
        }
    } else {
        let question = tf(
            lang,
            "cli.confirm_wooppay",
            &[
                ("amount", &inv.amount.display()),
                (
                    "variant",
                    t(lang, &format!("wooppay.variant.{}", inv.variant.tag())),
                ),
            ],
        );
        if let Some(code) = refused(lang, a.money.yes, &question, json_out) {
            worker.stop().await;
            return code;
        }
        worker.send(Command::Start {
            request: crate::flows::Request::Wooppay(inv),
            allow_duplicate: a.money.new,
        });
        wait_for(lang, &mut events, &id, &wait).await
    };
    worker.stop().await;
    code
}

/// What a failure of a call that moves no money means for the exit code: a refusal
/// before anything happened is 2, no answer is 3, kassa not set up is 1.
fn failure_exit(f: &WpFailure) -> Exit {
    use crate::providers::wooppay::{ErrorClass, error_class};
    match f {
        WpFailure::NotConfigured => Exit::Usage,
        WpFailure::NotFound => Exit::Declined,
        WpFailure::Code(c) if error_class(*c) == ErrorClass::NothingCreated => Exit::Declined,
        WpFailure::Code(_) | WpFailure::Send(_) => Exit::Pending,
    }
}

/// A failed call as kassa's error shape: `code` the catalogue key, Wooppay's error code
/// (when it gave one) as `provider_status`.
fn print_failure(lang: Lang, json_out: bool, f: &WpFailure, extra: serde_json::Value) -> Exit {
    let (key, code) = f.message();
    let mut msg = crate::i18n::t_or_raw(lang, &key).to_string();
    if let Some(c) = code {
        msg.push_str(&format!(" ({c})"));
    }
    if json_out {
        let mut all = json!({"provider_status": code.map(|c| c.to_string())});
        super::merge(&mut all, extra);
        print_error(true, &key, &msg, all);
    } else {
        eprintln!("kassa: Wooppay: {msg}");
    }
    failure_exit(f)
}

/// A lookup (status, balance) that got no readable answer: nothing was sent and nothing is
/// pending, so 4, as any check that could not be made; other failures as [`failure_exit`].
fn lookup_failure(lang: Lang, json_out: bool, f: &WpFailure) -> Exit {
    let code = print_failure(lang, json_out, f, json!({"sent": false}));
    match f {
        WpFailure::Send(_) => Exit::NotSent,
        _ => code,
    }
}

fn start(
    settings: &Settings,
    journal: Journal,
    json_out: bool,
) -> Result<(Worker, tokio::sync::mpsc::UnboundedReceiver<Event>), Exit> {
    if let Err(reason) = configured(settings) {
        return Err(not_configured(settings.lang, json_out, &reason));
    }
    Worker::start(settings.clone(), journal).map_err(|e| {
        fail_usage(
            settings.lang,
            json_out,
            "error.http_client",
            &[("error", &e)],
        )
    })
}

/// `kassa wooppay request-code --phone PHONE`: asks once; never repeated automatically.
pub async fn request_code(
    settings: &Settings,
    journal: Journal,
    phone: &str,
    json_out: bool,
) -> Exit {
    let lang = settings.lang;
    let phone = match validate::wooppay_phone(phone) {
        Ok(p) => p,
        Err(key) => return fail_usage(lang, json_out, key, &[]),
    };
    let (worker, mut events) = match start(settings, journal, json_out) {
        Ok(w) => w,
        Err(code) => return code,
    };
    worker.send(Command::WooppayRequestCode {
        phone: phone.clone(),
    });
    let code = loop {
        match events.recv().await {
            Some(Event::WooppayCode { result: Ok(()), .. }) => {
                if json_out {
                    println!("{}", json!({"phone": phone, "sent": true}));
                } else {
                    println!("{}", tf(lang, "wooppay.code_sent", &[("phone", &phone)]));
                }
                break Exit::Done;
            }
            Some(Event::WooppayCode { result: Err(f), .. }) => {
                let unknown = match &f {
                    WpFailure::Send(_) => true,
                    WpFailure::Code(c) => {
                        crate::providers::wooppay::error_class(*c)
                            == crate::providers::wooppay::ErrorClass::MayHaveHappened
                    }
                    _ => false,
                };
                if !json_out && unknown {
                    eprintln!("{}", t(lang, "wooppay.code_not_repeated"));
                }
                break print_failure(lang, json_out, &f, json!({"sent": null}));
            }
            Some(_) => {}
            None => break Exit::Pending,
        }
    };
    worker.stop().await;
    code
}

/// `kassa wooppay balance`
pub async fn balance(settings: &Settings, journal: Journal, json_out: bool) -> Exit {
    let lang = settings.lang;
    let (worker, mut events) = match start(settings, journal, json_out) {
        Ok(w) => w,
        Err(code) => return code,
    };
    worker.send(Command::WooppayBalance);
    let code = loop {
        match events.recv().await {
            Some(Event::WooppayBalance { result: Ok(minor) }) => {
                let shown = crate::format::amount(minor, Currency::Kzt);
                if json_out {
                    println!(
                        "{}",
                        json!({"balance": crate::format::decimal(minor), "currency": "KZT"})
                    );
                } else {
                    println!(
                        "{}",
                        tf(lang, "wooppay.balance_line", &[("amount", &shown)])
                    );
                }
                break Exit::Done;
            }
            Some(Event::WooppayBalance { result: Err(f) }) => {
                break lookup_failure(lang, json_out, &f);
            }
            Some(_) => {}
            None => break Exit::Pending,
        }
    };
    worker.stop().await;
    code
}

/// `kassa wooppay status OPERATION_ID`: the operation's status now; a journal row for it is
/// moved when the answer settles it (paid, declined, deleted, or a paid one reversed).
pub async fn status(
    settings: &Settings,
    journal: Journal,
    operation_id: &str,
    json_out: bool,
) -> Exit {
    let lang = settings.lang;
    let Some(operation_id) = operation_id.trim().parse::<i64>().ok().filter(|i| *i > 0) else {
        return fail_usage(lang, json_out, "wooppay.operation_id_invalid", &[]);
    };
    let (worker, mut events) = match start(settings, journal, json_out) {
        Ok(w) => w,
        Err(code) => return code,
    };
    worker.send(Command::WooppayStatus { operation_id });
    let code = loop {
        match events.recv().await {
            Some(Event::WooppayStatus {
                result: Ok(rec),
                op,
                ..
            }) => {
                let status = rec
                    .status
                    .map(crate::providers::wooppay::OpStatus::from_code);
                let word = status
                    .map(|s| t(lang, s.message_key()).to_string())
                    .unwrap_or_else(|| "-".into());
                let state = status
                    .and_then(|s| crate::flows::wooppay::final_state(&s))
                    .unwrap_or(State::Pending);
                if json_out {
                    println!(
                        "{}",
                        json!({
                            "found": true,
                            "target": operation_id.to_string(),
                            "operation_id": operation_id,
                            "state": state.tag(),
                            "provider_status": rec.status.map(|s| s.to_string()),
                            "status_text": word,
                            "amount": rec.sum_minor.map(crate::format::decimal),
                            "fee": rec.fee_minor.map(crate::format::decimal),
                            "currency": Currency::Kzt.code(),
                            "date": rec.date,
                            "from": rec.from_subject,
                            "to": rec.to_subject,
                            "operation": op.as_ref().map(op_json),
                        })
                    );
                } else {
                    println!(
                        "{}",
                        tf(
                            lang,
                            "wooppay.status_line",
                            &[
                                ("id", &operation_id.to_string()),
                                ("status", &word),
                                (
                                    "code",
                                    &rec.status.map(|s| s.to_string()).unwrap_or_default()
                                ),
                            ]
                        )
                    );
                    if let Some(op) = &op {
                        println!("{}", crate::format::describe(lang, op));
                    }
                }
                break match status.and_then(|s| crate::flows::wooppay::final_state(&s)) {
                    Some(State::Completed) => Exit::Done,
                    Some(_) => Exit::Declined,
                    None => Exit::Pending,
                };
            }
            // Wooppay knows no such operation: answered as a hold check that finds nothing.
            Some(Event::WooppayStatus { result: Err(f), .. })
                if failure_exit(&f) == Exit::Declined =>
            {
                let (key, code) = f.message();
                break print_not_found(
                    json_out,
                    &operation_id.to_string(),
                    crate::i18n::t_or_raw(lang, &key),
                    code.map(|c| c.to_string()),
                    None,
                );
            }
            Some(Event::WooppayStatus { result: Err(f), .. }) => {
                break lookup_failure(lang, json_out, &f);
            }
            Some(_) => {}
            None => break Exit::Pending,
        }
    };
    worker.stop().await;
    code
}
