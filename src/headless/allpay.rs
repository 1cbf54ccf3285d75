//! `kassa allpay check-user | cash-in | pay`: Allpay's wallet check, cash-in (document 003)
//! and utility payment (document 001) from the command line.

use serde_json::json;

use super::{
    CashInArgs, Exit, PayArgs, fail_usage, follow_known, open_for, print_error, print_not_found,
    refused, wait_for,
};
use crate::config::Settings;
use crate::i18n::{Lang, t, tf};
use crate::ids;
use crate::journal::Journal;
use crate::money::Amount;
use crate::providers::allpay::cash_in::CURRENCY;
use crate::validate;
use crate::worker::{CashInPayment, CheckOutcome, Command, Event, Worker};

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
        CheckOutcome::NotFound { message } => print_not_found(
            json_out,
            login,
            t(lang, "cashin.no_such_user"),
            None,
            message.clone().filter(|m| !m.is_empty()),
        ),
        CheckOutcome::Failed { key, code, message } => {
            let mut text = t(lang, key).to_string();
            if let (Some(c), Some(m)) = (code, message) {
                text.push_str(&format!(": {m} ({c})"));
            }
            // Nothing was sent and nothing is pending: the check could not be made.
            print_error(
                json_out,
                key,
                &text,
                json!({
                    "id": null,
                    "sent": false,
                    "provider_status": code,
                    "provider_message": message,
                }),
            );
            Exit::NotSent
        }
    }
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
                // so nothing is pending either (4).
                return match c {
                    Exit::Done | Exit::Declined => Exit::Declined,
                    _ => Exit::NotSent,
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
        if let Some(code) = refused(lang, a.money.yes, &question, json_out) {
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
                // Refused by the check: nothing was written or sent, so no id either.
                let msg = format!("{}: {message} ({code})", t(lang, "pay.refused"));
                print_error(
                    json_out,
                    "pay.refused",
                    &msg,
                    json!({
                        "id": null,
                        "sent": false,
                        "provider_status": code,
                        "provider_message": message,
                    }),
                );
                if !json_out {
                    eprintln!("{}", t(lang, "cli.nothing_sent"));
                }
                worker.stop().await;
                return Exit::Declined;
            }
            // The check could not be made: nothing was sent, nothing is pending.
            Some(PayCheck::Failed { key }) => {
                worker.stop().await;
                print_error(
                    json_out,
                    key,
                    t(lang, key),
                    json!({"id": null, "sent": false}),
                );
                return Exit::NotSent;
            }
            None => {
                worker.stop().await;
                return Exit::NotSent;
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
        if let Some(code) = refused(lang, a.money.yes, &question, json_out) {
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
