//! `kassa upay ...`: card registration (the number and CVV read without echo, or from
//! stdin, never from the command line) and holds: create, capture, cancel, check.

pub use super::args::{HoldArgs, RegisterArgs};
use std::io::{IsTerminal, Read, Write};

use serde_json::json;
use zeroize::Zeroizing;

use super::{
    Exit, Wait, amount_json, exit_for, fail_usage, follow_known, no_extra, open_for, print_error,
    print_not_found, refused, show_op, trouble_before_row, wait_for_with,
};
use crate::config::Settings;
use crate::flows::upay::{CURRENCY, CardInput, HoldInput, hold_params};
use crate::i18n::{Lang, t, tf};
use crate::journal::{Journal, Kind, Operation, State};
use crate::money::Amount;
use crate::providers::upay::codec::CheckBy;
use crate::validate;
use crate::worker::upay::{HoldAction, mask_pan};
use crate::worker::{Command, Event};

/// Reads a line from the terminal without echoing it (a dot per character for the card
/// number, nothing at all for the CVV). `None` when the cashier pressed Esc or Ctrl-C.
fn read_hidden(prompt: &str, dots: bool) -> std::io::Result<Option<Zeroizing<String>>> {
    use crossterm::event::{self, Event as TermEvent, KeyCode, KeyEventKind, KeyModifiers};
    eprint!("{prompt}: ");
    std::io::stderr().flush()?;
    crossterm::terminal::enable_raw_mode()?;
    let mut line = Zeroizing::new(String::new());
    let result = loop {
        let ev = match event::read() {
            Ok(ev) => ev,
            Err(e) => break Err(e),
        };
        let TermEvent::Key(k) = ev else { continue };
        if k.kind == KeyEventKind::Release {
            continue;
        }
        match k.code {
            KeyCode::Enter => break Ok(true),
            KeyCode::Esc => break Ok(false),
            KeyCode::Char('c') if k.modifiers.contains(KeyModifiers::CONTROL) => break Ok(false),
            KeyCode::Backspace if line.pop().is_some() && dots => eprint!("\u{8} \u{8}"),
            KeyCode::Char(c) => {
                line.push(c);
                if dots {
                    eprint!("•");
                }
            }
            _ => {}
        }
        let _ = std::io::stderr().flush();
    };
    let _ = crossterm::terminal::disable_raw_mode();
    eprintln!();
    Ok(result?.then_some(line))
}

/// The card number and CVV: two lines from stdin with `--stdin`, otherwise typed unseen.
fn read_card_secrets(
    lang: Lang,
    from_stdin: bool,
) -> Result<(Zeroizing<String>, Zeroizing<String>), &'static str> {
    if from_stdin {
        let mut all = Zeroizing::new(String::new());
        std::io::stdin()
            .read_to_string(&mut all)
            .map_err(|_| "upay.stdin_unreadable")?;
        let mut lines = all.lines().map(str::trim).filter(|l| !l.is_empty());
        let number = Zeroizing::new(lines.next().unwrap_or("").to_string());
        let cvv = Zeroizing::new(lines.next().unwrap_or("").to_string());
        return Ok((number, cvv));
    }
    if !std::io::stdin().is_terminal() {
        return Err("upay.card_needs_terminal");
    }
    let number = read_hidden(t(lang, "upay.prompt_card"), true)
        .ok()
        .flatten()
        .ok_or("cli.cancelled")?;
    let cvv = read_hidden(t(lang, "upay.prompt_cvv"), false)
        .ok()
        .flatten()
        .ok_or("cli.cancelled")?;
    Ok((number, cvv))
}

/// `kassa upay register-card`
pub async fn register_card(settings: &Settings, journal: Journal, a: RegisterArgs) -> Exit {
    let lang = settings.lang;
    let json_out = a.money.wait.json;
    let today = chrono::Local::now().date_naive();
    let checked = (|| {
        Ok::<_, &'static str>((
            validate::card_expiry(&a.expiry, today)?,
            validate::uz_phone(&a.phone)?,
            validate::card_holder(&a.holder)?,
        ))
    })();
    let (expiry, phone, holder) = match checked {
        Ok(c) => c,
        Err(key) => return fail_usage(lang, json_out, key, &[]),
    };
    if let Err(reason) = crate::providers::upay::client::UpayClient::from_settings(
        &settings.upay,
        settings.lang.code(),
    ) {
        return not_configured(lang, json_out, &reason);
    }
    let (number, cvv) = match read_card_secrets(lang, a.stdin) {
        Ok(x) => x,
        Err(key) => return fail_usage(lang, json_out, key, &[]),
    };
    let number = match validate::card_number(&number) {
        Ok(n) => n,
        Err(key) => return fail_usage(lang, json_out, key, &[]),
    };
    let cvv = match validate::cvv(&cvv) {
        Ok(c) => c,
        Err(key) => return fail_usage(lang, json_out, key, &[]),
    };
    let question = tf(
        lang,
        "upay.confirm_register",
        &[("card", &mask_pan(&number)), ("holder", &holder)],
    );
    if let Some(code) = refused(lang, a.money.yes, &question, json_out) {
        return code;
    }
    let (_, worker, mut events) = match open_for(settings, journal, None, json_out) {
        Ok(x) => x,
        Err(code) => return code,
    };
    worker.send(Command::RegisterCard {
        card: CardInput {
            number,
            expiry,
            cvv,
            holder,
            phone,
        },
    });
    let code = loop {
        match events.recv().await {
            Some(Event::Recorded { op }) => {
                if !json_out {
                    eprintln!("{}", tf(lang, "cli.recorded", &[("id", &op.id)]));
                }
                break wait_for_with(
                    lang,
                    &mut events,
                    &op.id,
                    &a.money.wait,
                    |op| card_done(lang, op, json_out),
                    card_extra,
                )
                .await;
            }
            Some(Event::Trouble { key, .. }) => break trouble_before_row(lang, json_out, key),
            Some(_) => {}
            None => break Exit::Usage,
        }
    };
    worker.stop().await;
    code
}

/// A registration that came back with its token and link is done (the customer confirms
/// it on their phone; the link is printed for them, after the operation's line).
fn card_done(lang: Lang, op: &Operation, json_out: bool) -> Exit {
    if op.state == State::Issued {
        if let Some(url) = op.link.as_ref().filter(|_| !json_out) {
            println!("{}", tf(lang, "upay.confirm_link", &[("url", url)]));
            println!("{}", tf(lang, "upay.card_id_hint", &[("id", &op.id)]));
        }
        return Exit::Done;
    }
    exit_for(op)
}

/// What a card registration adds to its operation's object: the 3-D Secure link the
/// customer opens (the same object, never a second one).
fn card_extra(op: &Operation) -> serde_json::Value {
    json!({"confirm_url": op.link})
}

fn not_configured(lang: Lang, json_out: bool, reason: &str) -> Exit {
    let msg = format!("{}: {reason}", t(lang, "upay.not_configured"));
    print_error(json_out, "upay.not_configured", &msg, json!({}));
    Exit::Usage
}

/// `--card-token` as typed: the journal id of a registered card (the token is kept there
/// and never has to be shown), or the token itself.
fn resolve_card(journal: &Journal, raw: &str) -> Result<String, &'static str> {
    let raw = raw.trim();
    if let Ok(Some(op)) = journal.find(raw)
        && op.kind == Kind::UpayCard
    {
        // An issued card may have been confirmed without kassa hearing of it (no
        // listener): UPay itself says whether its token is active.
        return match (op.state, op.provider_ref) {
            (State::Completed | State::Issued, Some(token)) => Ok(token),
            _ => Err("upay.card_not_registered"),
        };
    }
    validate::card_token(raw)
}

/// `kassa upay hold create`
pub async fn hold_create(settings: &Settings, journal: Journal, a: HoldArgs) -> Exit {
    let lang = settings.lang;
    let json_out = a.money.wait.json;
    let checked = (|| {
        let card_token = resolve_card(&journal, &a.card_token)?;
        let account = validate::utility_account(&a.account)?;
        let amount = Amount::parse(&a.amount, CURRENCY).map_err(|e| e.message_key())?;
        let service_id = match &a.service_id {
            Some(s) => validate::upay_service(s)?,
            None if settings.upay.service_id > 0 => settings.upay.service_id,
            None => return Err("upay.service_invalid"),
        };
        let minutes = match &a.minutes {
            Some(m) => validate::hold_minutes(m)?,
            None => settings.upay.hold_minutes,
        };
        Ok::<_, &'static str>(HoldInput {
            id: a.money.id.clone().map(|i| i.trim().to_string()),
            card_token,
            service_id,
            account,
            amount,
            minutes,
        })
    })();
    let hold = match checked {
        Ok(h) => h,
        Err(key) => return fail_usage(lang, json_out, key, &[]),
    };
    if settings.upay.notify_url.trim().is_empty() {
        return fail_usage(lang, json_out, "upay.no_notify_url", &[]);
    }
    if let Err(reason) = crate::providers::upay::client::UpayClient::from_settings(
        &settings.upay,
        settings.lang.code(),
    ) {
        return not_configured(lang, json_out, &reason);
    }
    let (known, worker, mut events) =
        match open_for(settings, journal, hold.id.as_deref(), json_out) {
            Ok(x) => x,
            Err(code) => return code,
        };
    let held_is_done = |op: &Operation| match op.state {
        State::Held => Exit::Done,
        _ => exit_for(op),
    };
    let code = if let Some(op) = known {
        let same = crate::flows::same_request(&op, &hold.asked(op.id.clone()));
        if !same {
            fail_usage(lang, json_out, "cli.id_differs", &[("id", &op.id)])
        } else if op.state != State::Pending {
            print_op(lang, &op, json_out);
            held_is_done(&op)
        } else {
            follow_known(lang, &worker, &mut events, &op, true, &a.money.wait).await
        }
    } else {
        let question = tf(
            lang,
            "upay.confirm_hold",
            &[
                ("amount", &hold.amount.display()),
                ("account", &hold.account),
                ("minutes", &hold.minutes.to_string()),
            ],
        );
        if let Some(code) = refused(lang, a.money.yes, &question, json_out) {
            worker.stop().await;
            return code;
        }
        worker.send(Command::Start {
            request: crate::flows::Request::Hold(hold),
            allow_duplicate: a.money.new,
        });
        let id = loop {
            match events.recv().await {
                Some(Event::HoldNumbered { hold }) => break hold.id,
                Some(Event::Trouble { key, .. }) => {
                    worker.stop().await;
                    return trouble_before_row(lang, json_out, key);
                }
                Some(_) => {}
                None => break None,
            }
        };
        match id {
            Some(id) => {
                wait_for_with(
                    lang,
                    &mut events,
                    &id,
                    &a.money.wait,
                    held_is_done,
                    no_extra,
                )
                .await
            }
            None => Exit::Usage,
        }
    };
    worker.stop().await;
    code
}

fn print_op(lang: Lang, op: &Operation, json_out: bool) {
    show_op(lang, op, json_out, no_extra);
}

/// `kassa upay hold capture|cancel --hold-id ID`
/// Which hold a capture or cancel is for, and the sum a capture is expected to take.
pub struct HoldTarget<'a> {
    pub hold_id: &'a str,
    pub action: HoldAction,
    pub amount: Option<&'a str>,
}

pub async fn hold_act(
    settings: &Settings,
    journal: Journal,
    target: HoldTarget<'_>,
    yes: bool,
    w: Wait,
) -> Exit {
    let lang = settings.lang;
    let action = target.action;
    let hold_id = match validate::hold_id(target.hold_id) {
        Ok(h) => h,
        Err(key) => return fail_usage(lang, w.json, key, &[]),
    };
    let expected = match target.amount.map(|a| Amount::parse(a, CURRENCY)) {
        None => None,
        Some(Ok(a)) => Some(a),
        Some(Err(e)) => return fail_usage(lang, w.json, e.message_key(), &[]),
    };
    let row = match journal.find_by_ref(Kind::UpayHold, &hold_id) {
        Ok(Some(op)) => op,
        Ok(None) => {
            return hold_act_elsewhere(settings, journal, &hold_id, action, expected, yes, w).await;
        }
        Err(e) => {
            let error = e.to_string();
            return fail_usage(lang, w.json, "error.journal_open", &[("error", &error)]);
        }
    };
    let (want, phase) = match action {
        HoldAction::Capture => (State::Completed, crate::flows::upay::Phase::Capture),
        HoldAction::Cancel => (State::Cancelled, crate::flows::upay::Phase::Cancel),
    };
    let done = move |op: &Operation| {
        if op.state == want {
            Exit::Done
        } else if op.state == State::Held || op.state.is_final() {
            // Refused (the hold still stands), or it ended otherwise: the line above says how.
            Exit::Declined
        } else {
            exit_for(op)
        }
    };
    // The journal knows what was held: a capture expected to take another sum is the
    // cashier's mistake (another hold, another customer), refused before anything is sent.
    if let Some(e) = expected.filter(|e| !row.amount.is_none() && *e != row.amount) {
        return fail_usage(
            lang,
            w.json,
            "upay.capture_other_amount",
            &[("held", &row.amount.display()), ("asked", &e.display())],
        );
    }
    if row.state.is_final() {
        if row.state != want && !w.json {
            eprintln!("kassa: {}", t(lang, "upay.hold_not_held"));
        }
        print_op(lang, &row, w.json);
        return done(&row);
    }
    let id = row.id.clone();
    let (_, worker, mut events) = match open_for(settings, journal, None, w.json) {
        Ok(x) => x,
        Err(code) => return code,
    };
    if row.state == State::Pending {
        // An action already under way (or the create itself): follow it, never start another.
        let same = hold_params(&row).is_some_and(|p| p.phase == phase);
        let code = if same {
            follow_known(lang, &worker, &mut events, &row, true, &w).await
        } else {
            // Another action owns the hold: said, and the row as it is (pending).
            if !w.json {
                eprintln!("kassa: {}", t(lang, "upay.hold_busy"));
            }
            print_op(lang, &row, w.json);
            Exit::Pending
        };
        worker.stop().await;
        return code;
    }
    let question = tf(
        lang,
        match action {
            HoldAction::Capture => "upay.confirm_capture",
            HoldAction::Cancel => "upay.confirm_cancel",
        },
        &[("amount", &row.amount.display()), ("hold", &hold_id)],
    );
    if let Some(code) = refused(lang, yes, &question, w.json) {
        worker.stop().await;
        return code;
    }
    worker.send(Command::ActOnHold {
        id: id.clone(),
        action,
        expected: None,
    });
    let code = wait_for_with(lang, &mut events, &id, &w, done, no_extra).await;
    worker.stop().await;
    code
}

/// `kassa upay hold capture|cancel --hold-id ID` for a hold in no row of this journal
/// (placed elsewhere): the worker asks UPay first, journals one row only when UPay knows the
/// hold (and nothing was captured), then acts once; its amount is UPay's to say.
async fn hold_act_elsewhere(
    settings: &Settings,
    journal: Journal,
    hold_id: &str,
    action: HoldAction,
    expected: Option<Amount>,
    yes: bool,
    w: Wait,
) -> Exit {
    let lang = settings.lang;
    if let Err(reason) = crate::providers::upay::client::UpayClient::from_settings(
        &settings.upay,
        settings.lang.code(),
    ) {
        return not_configured(lang, w.json, &reason);
    }
    let question = tf(
        lang,
        match action {
            HoldAction::Capture => "upay.confirm_capture",
            HoldAction::Cancel => "upay.confirm_cancel",
        },
        &[
            (
                "amount",
                &expected.map_or_else(|| "—".to_string(), |a| a.display()),
            ),
            ("hold", hold_id),
        ],
    );
    if let Some(code) = refused(lang, yes, &question, w.json) {
        return code;
    }
    let (_, worker, mut events) = match open_for(settings, journal, None, w.json) {
        Ok(x) => x,
        Err(code) => return code,
    };
    let want = match action {
        HoldAction::Capture => State::Completed,
        HoldAction::Cancel => State::Cancelled,
    };
    worker.send(Command::ActOnHold {
        id: hold_id.to_string(),
        action,
        expected,
    });
    let code = loop {
        match events.recv().await {
            // Journaled (or found journaled meanwhile): followed as any hold's action.
            Some(Event::Recorded { op }) if op.provider_ref.as_deref() == Some(hold_id) => {
                if !w.json {
                    eprintln!("{}", tf(lang, "cli.recorded", &[("id", &op.id)]));
                }
                let want_done = move |op: &Operation| {
                    if op.state == want {
                        Exit::Done
                    } else if op.state == State::Held || op.state.is_final() {
                        Exit::Declined
                    } else {
                        exit_for(op)
                    }
                };
                break wait_for_with(lang, &mut events, &op.id, &w, want_done, no_extra).await;
            }
            // UPay does not know the hold, or it is captured already: nothing journaled.
            Some(Event::HoldChecked { answer }) if answer.target == hold_id => {
                // Whatever UPay said of it, the asked action was not done.
                print_check_answer(lang, w.json, &answer);
                break Exit::Declined;
            }
            // This command's own worker: any trouble is this action's check, which could
            // not be made; nothing was journaled or sent.
            Some(Event::Trouble { key, .. }) => {
                print_error(
                    w.json,
                    key,
                    t(lang, key),
                    json!({"id": null, "sent": false}),
                );
                break Exit::NotSent;
            }
            Some(_) => {}
            None => break Exit::Pending,
        }
    };
    worker.stop().await;
    code
}

/// `kassa upay hold check (--hold-id ID | --partner-trx-id ID)`
pub async fn hold_check(
    settings: &Settings,
    journal: Journal,
    by: CheckBy,
    target: &str,
    json_out: bool,
) -> Exit {
    let lang = settings.lang;
    let target = match by {
        CheckBy::HoldId => validate::hold_id(target),
        CheckBy::PartnerTrxId => validate::card_token(target).map_err(|_| "upay.trx_invalid"),
    };
    let target = match target {
        Ok(t) => t,
        Err(key) => return fail_usage(lang, json_out, key, &[]),
    };
    if let Err(reason) = crate::providers::upay::client::UpayClient::from_settings(
        &settings.upay,
        settings.lang.code(),
    ) {
        return not_configured(lang, json_out, &reason);
    }
    let (_, worker, mut events) = match open_for(settings, journal, None, json_out) {
        Ok(x) => x,
        Err(code) => return code,
    };
    worker.send(Command::CheckHold { by, target });
    let code = loop {
        match events.recv().await {
            Some(Event::HoldChecked { answer }) => {
                break print_check_answer(lang, json_out, &answer);
            }
            // No answer: the check could not be made; nothing was sent, nothing is pending.
            Some(Event::Trouble { key, .. }) => {
                print_error(json_out, key, t(lang, key), json!({"sent": false}));
                break Exit::NotSent;
            }
            Some(_) => {}
            None => break Exit::Pending,
        }
    };
    worker.stop().await;
    code
}

/// A hold check's answer (docs/cli.schema.json `hold_check`): UPay's code and words as
/// `provider_status` and `provider_message`, what it says of the hold as `status`, and the
/// journal's row after it. A check UPay answers with an error about a hold the journal does
/// not have is `not_found`, exit 2, as a Wooppay status that finds nothing.
fn print_check_answer(
    lang: Lang,
    json_out: bool,
    answer: &crate::worker::upay::CheckAnswer,
) -> Exit {
    if answer.status.is_none() && answer.op.is_none() {
        return print_not_found(
            json_out,
            &answer.target,
            t(lang, "upay.no_such_target"),
            Some(answer.code.clone()),
            answer.description.clone(),
        );
    }
    let status_text = answer
        .status
        .as_ref()
        .map(|s| t(lang, s.message_key()).to_string());
    if json_out {
        println!(
            "{}",
            json!({
                "found": answer.status.is_some(),
                "target": answer.target,
                "by": match answer.by {
                    CheckBy::HoldId => "hold_id",
                    CheckBy::PartnerTrxId => "partner_trx_id",
                },
                "provider_status": answer.code,
                "provider_message": answer.description,
                "status": answer.status.as_ref().map(|s| match s {
                    crate::flows::upay::HoldStatus::Captured => "captured",
                    crate::flows::upay::HoldStatus::Known => "known",
                }),
                "status_text": status_text,
                "amount": answer.amount.map(amount_json),
                "currency": CURRENCY.code(),
                "operation": answer.op.as_ref().map(super::op_json),
            })
        );
    } else {
        let mut line = format!("{}: {}", answer.target, answer.code);
        if let Some(d) = &answer.description {
            line.push_str(&format!(" · {d}"));
        }
        if let Some(s) = &status_text {
            line.push_str(&format!(" · {s}"));
        }
        if let Some(a) = answer.amount {
            line.push_str(&format!(" · {}", a.display()));
        }
        println!("{line}");
        if let Some(op) = &answer.op {
            println!("{}", crate::format::describe(lang, op));
        }
    }
    if answer.status.is_some() {
        Exit::Done
    } else {
        Exit::Declined
    }
}
