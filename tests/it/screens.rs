//! The screens without a terminal: `update` fed messages (the model and the commands it
//! returns are asserted), and `view` rendered into ratatui's TestBackend at 80x24 and
//! compared with snapshots, in Russian and in English.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use crate::screen::{GUID, T0, model, press, render, render_at, snap, type_text, worker};

use crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers};
use kassa::app::screens::cash_in::{Field, Step};
use kassa::app::screens::wooppay::{CodePhase, Step as WpStep};
use kassa::app::{Model, Msg, Overlay, ScreenId, update};
use kassa::flows::pay::{Payee, UtilityPayment};
use kassa::flows::wooppay::WpInvoice;
use kassa::i18n::Lang;
use kassa::journal::{AuditEvent, Kind, Operation, State, StatusFilter};
use kassa::money::{Amount, Currency};
use kassa::providers::allpay::cash_in::UserInfo;
use kassa::providers::wooppay::codec::Variant;
use kassa::worker::pay::{self};
use kassa::worker::wooppay::WpFailure;
use kassa::worker::{CashInPayment, CheckOutcome, Command, Event};

// ---- fixtures ------------------------------------------------------------------------

fn ivan() -> UserInfo {
    UserInfo {
        identified: true,
        iin: Some("850312304521".into()),
        first_name: Some("Иван".into()),
        last_name: Some("Петров".into()),
        patronymic: Some("Петрович".into()),
    }
}

fn op(state: State, status: Option<&str>) -> Operation {
    Operation {
        till: None,
        id: GUID.into(),
        kind: Kind::AllpayCashIn,
        state,
        amount: Amount::from_minor(500_000, Currency::Kzt).unwrap(),
        customer: "77072734954".into(),
        customer_name: Some("Иван Петрович Петров".into()),
        endpoint: "demo-emulator/allpay-public-soap/cash-in-transaction-management/v1.1".into(),
        identity: "72222222221".into(),
        provider_status: status.map(str::to_string),
        provider_message: None,
        provider_ref: None,
        detail: None,
        needs_reconciliation: false,
        recon_reason: None,
        link: None,
        message_key: None,
        note: None,
        attempts: 3,
        created_at: T0,
        updated_at: T0 + 2_000,
        final_at: state.is_final().then_some(T0 + 2_000),
        params: None,
    }
}

/// A model on the cash-in screen with the wallet checked and `amount` typed.
fn checked(lang: Lang, amount: &str) -> Model {
    let mut m = model(lang);
    press(&mut m, KeyCode::Char('1'));
    type_text(&mut m, "77072734954");
    press(&mut m, KeyCode::Enter);
    worker(
        &mut m,
        Event::UserChecked {
            login: "77072734954".into(),
            outcome: CheckOutcome::Found {
                user: ivan(),
                message: None,
            },
        },
    );
    type_text(&mut m, amount);
    m
}

fn confirmed(lang: Lang) -> (Model, CashInPayment) {
    let mut m = checked(lang, "5 000");
    press(&mut m, KeyCode::Enter);
    let Step::Confirm(mut p) = m.cash_in.step.clone() else {
        panic!("not confirming: {:?}", m.cash_in.step)
    };
    // A fixed GUID so that snapshots are stable.
    p.id = GUID.into();
    m.cash_in.step = Step::Confirm(p.clone());
    (m, p)
}

// ---- update: the model and the commands ----------------------------------------------

#[test]
fn home_moves_and_opens_every_flow() {
    let mut m = model(Lang::En);
    press(&mut m, KeyCode::Down);
    assert_eq!(m.home.selected, 1);
    press(&mut m, KeyCode::Char('k'));
    assert_eq!(m.home.selected, 0);
    for (key, screen) in [
        ('1', ScreenId::CashIn),
        ('2', ScreenId::Pay),
        ('3', ScreenId::Wooppay),
        ('4', ScreenId::Upay),
        ('5', ScreenId::Webmoney),
        ('7', ScreenId::Day),
    ] {
        let mut h = model(Lang::En);
        press(&mut h, KeyCode::Char(key));
        assert_eq!(h.screen, screen, "{key}");
    }
    let cmds = press(&mut m, KeyCode::Char('6'));
    assert_eq!(m.screen, ScreenId::Journal);
    assert!(matches!(
        &cmds[..],
        [Command::QueryJournal { query }] if query.status == StatusFilter::All
    ));
    press(&mut m, KeyCode::Esc);
    assert_eq!(m.screen, ScreenId::Home);
    // Home remembers where the cashier was.
    press(&mut m, KeyCode::Enter);
    assert_eq!(m.screen, ScreenId::Journal);
}

#[test]
fn login_is_checked_before_anything_else() {
    let mut m = model(Lang::En);
    press(&mut m, KeyCode::Char('1'));
    assert!(type_text(&mut m, "+7 707 273-49-54").is_empty());
    let cmds = press(&mut m, KeyCode::Enter);
    assert!(
        matches!(&cmds[..], [Command::CheckUser { login }] if login == "77072734954"),
        "{cmds:?}"
    );
    assert!(matches!(m.cash_in.step, Step::Checking { .. }));
    assert!(m.animating());
}

#[test]
fn a_bad_login_is_refused_without_a_request() {
    let mut m = model(Lang::En);
    press(&mut m, KeyCode::Char('1'));
    type_text(&mut m, "ivan");
    assert!(press(&mut m, KeyCode::Enter).is_empty());
    assert!(m.cash_in.error.is_some());
    assert_eq!(m.cash_in.step, Step::Form);
}

#[test]
fn q_and_letters_are_text_in_a_field_but_ctrl_c_still_quits() {
    let mut m = model(Lang::En);
    press(&mut m, KeyCode::Char('1'));
    press(&mut m, KeyCode::Char('q'));
    assert!(!m.quit);
    assert_eq!(m.cash_in.login.value(), "q");
    update(
        &mut m,
        Msg::Key(KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL)),
    );
    assert!(m.quit);
}

#[test]
fn key_releases_are_ignored() {
    let mut m = model(Lang::En);
    let mut release = KeyEvent::new(KeyCode::Char('1'), KeyModifiers::NONE);
    release.kind = KeyEventKind::Release;
    update(&mut m, Msg::Key(release));
    assert_eq!(m.screen, ScreenId::Home);
}

#[test]
fn an_unknown_wallet_shows_the_servers_words_and_moves_nothing() {
    let mut m = model(Lang::En);
    press(&mut m, KeyCode::Char('1'));
    type_text(&mut m, "77000000000");
    press(&mut m, KeyCode::Enter);
    worker(
        &mut m,
        Event::UserChecked {
            login: "77000000000".into(),
            outcome: CheckOutcome::NotFound {
                message: Some("Пользователь не найден".into()),
            },
        },
    );
    assert!(m.cash_in.checked.is_none());
    let err = m.cash_in.error.as_ref().unwrap().render(Lang::En);
    assert!(
        err.contains("No wallet") && err.contains("Пользователь не найден"),
        "{err}"
    );
    // Enter checks again; it never reaches an amount.
    let cmds = press(&mut m, KeyCode::Enter);
    assert!(matches!(&cmds[..], [Command::CheckUser { .. }]));
}

#[test]
fn amount_errors_say_which() {
    for (typed, key) in [
        ("", "amount.empty"),
        ("abc", "amount.not_number"),
        ("0", "amount.zero"),
        ("1,234", "amount.decimals"),
    ] {
        let mut m = checked(Lang::En, typed);
        assert_eq!(m.cash_in.focus, Field::Amount);
        assert!(press(&mut m, KeyCode::Enter).is_empty(), "{typed}");
        assert_eq!(m.cash_in.error, Some(kassa::app::Note::Key(key)), "{typed}");
        assert_eq!(m.cash_in.step, Step::Form);
    }
}

#[test]
fn the_payment_shown_is_the_payment_sent() {
    let (mut m, shown) = confirmed(Lang::En);
    assert_eq!(shown.amount.minor(), 500_000);
    assert_eq!(shown.login, "77072734954");
    assert_eq!(shown.customer_name.as_deref(), Some("Иван Петрович Петров"));
    let cmds = press(&mut m, KeyCode::Char('y'));
    match &cmds[..] {
        [
            Command::Start {
                request: kassa::flows::Request::CashIn(payment),
                allow_duplicate: false,
            },
        ] => assert_eq!(payment, &shown),
        other => panic!("{other:?}"),
    }
    assert!(m.in_flight());
}

#[test]
fn esc_at_the_confirmation_sends_nothing() {
    let (mut m, _) = confirmed(Lang::En);
    assert!(press(&mut m, KeyCode::Esc).is_empty());
    assert_eq!(m.cash_in.step, Step::Form);
}

#[test]
fn a_like_payment_is_asked_about() {
    let (mut m, p) = confirmed(Lang::En);
    press(&mut m, KeyCode::Char('y'));
    worker(
        &mut m,
        Event::Duplicate {
            request: kassa::flows::Request::CashIn(p.clone()),
            existing: op(State::Completed, Some("COMPLETED")),
        },
    );
    assert!(matches!(m.cash_in.step, Step::Duplicate { .. }));
    let mut no = m.clone();
    assert!(press(&mut no, KeyCode::Char('n')).is_empty());
    assert_eq!(no.cash_in.step, Step::Form);
    let cmds = press(&mut m, KeyCode::Char('y'));
    assert!(matches!(
        &cmds[..],
        [Command::Start {
            allow_duplicate: true,
            ..
        }]
    ));
}

#[test]
fn progress_and_result_follow_the_worker() {
    let (mut m, p) = confirmed(Lang::En);
    press(&mut m, KeyCode::Char('y'));
    worker(
        &mut m,
        Event::Progress {
            kind: kassa::journal::Kind::AllpayCashIn,
            id: p.id.clone(),
            attempt: 2,
            status: Some("PENDING".into()),
            next_retry: Some(Duration::from_secs(4)),
            trouble: None,
            trouble_detail: None,
        },
    );
    let Step::Sending(prog) = &m.cash_in.step else {
        panic!()
    };
    assert_eq!(prog.attempt, 2);
    // An event about another operation changes nothing here.
    let mut other = op(State::Completed, None);
    other.id = "{other}".into();
    worker(&mut m, Event::Finished { op: other });
    assert!(m.cash_in.sending());
    // Esc leaves it running in the background; coming back shows it.
    press(&mut m, KeyCode::Esc);
    assert_eq!(m.screen, ScreenId::Home);
    assert!(m.cash_in.sending());
    worker(
        &mut m,
        Event::Finished {
            op: op(State::Completed, Some("COMPLETED")),
        },
    );
    press(&mut m, KeyCode::Char('1'));
    assert!(matches!(&m.cash_in.step, Step::Done(o) if o.state == State::Completed));
    // n starts a new operation.
    press(&mut m, KeyCode::Char('n'));
    assert_eq!(m.cash_in.step, Step::Form);
    assert_eq!(m.cash_in.login.value(), "");
}

#[test]
fn quitting_asks_while_money_is_in_flight() {
    let mut m = model(Lang::En);
    m.counts.active = 1;
    press(&mut m, KeyCode::Char('q'));
    assert_eq!(m.overlay, Overlay::QuitConfirm);
    assert!(!m.quit);
    press(&mut m, KeyCode::Char('n'));
    assert_eq!(m.overlay, Overlay::None);
    press(&mut m, KeyCode::Char('q'));
    press(&mut m, KeyCode::Char('y'));
    assert!(m.quit);
    let mut idle = model(Lang::En);
    press(&mut idle, KeyCode::Char('q'));
    assert!(idle.quit);
}

#[test]
fn the_journal_opens_details_and_keeps_its_cursor() {
    let mut m = model(Lang::En);
    press(&mut m, KeyCode::Char('6'));
    let mut second = op(State::Declined, Some("DECLINED"));
    second.id = "{second}".into();
    worker(
        &mut m,
        Event::Journal {
            rows: vec![op(State::Completed, None), second.clone()],
        },
    );
    press(&mut m, KeyCode::Down);
    let cmds = press(&mut m, KeyCode::Enter);
    assert!(matches!(&cmds[..], [Command::LoadOperation { id }] if id == "{second}"));
    assert_eq!(m.screen, ScreenId::Detail);
    press(&mut m, KeyCode::Esc);
    worker(
        &mut m,
        Event::Journal {
            rows: vec![op(State::Pending, None), op(State::Completed, None), second],
        },
    );
    assert_eq!(m.journal.selected, 2, "still on the same operation");
    let cmds = press(&mut m, KeyCode::Char('f'));
    assert!(matches!(
        &cmds[..],
        [Command::QueryJournal { query }] if query.status == StatusFilter::Pending
    ));
    // Provider, days and a search narrow the list; the search field takes every key.
    press(&mut m, KeyCode::Char('p'));
    press(&mut m, KeyCode::Char('d'));
    press(&mut m, KeyCode::Char('/'));
    for c in "q77".chars() {
        press(&mut m, KeyCode::Char(c));
    }
    assert_eq!(m.screen, ScreenId::Journal, "q is text in the search field");
    let cmds = press(&mut m, KeyCode::Enter);
    match &cmds[..] {
        [Command::QueryJournal { query }] => {
            assert_eq!(query.provider.as_deref(), Some("allpay"));
            assert_eq!(query.search.as_deref(), Some("q77"));
            assert!(query.from.is_some(), "7 days");
        }
        other => panic!("{other:?}"),
    }
    snap!("journal_filtered", &m);
    let cmds = press(&mut m, KeyCode::Char('/'));
    assert!(cmds.is_empty());
    let cmds = press(&mut m, KeyCode::Esc);
    assert!(matches!(&cmds[..], [Command::QueryJournal { query }] if query.search.is_none()));
}

/// On a chain's journal, `t` shows this till's rows alone and back; a till's own journal has
/// no such key (every row is its own).
#[test]
fn the_journal_filters_by_till_on_a_chains_journal() {
    for lang in [Lang::Ru, Lang::En] {
        let mut m = model(lang);
        press(&mut m, KeyCode::Char('6'));
        assert_eq!(m.screen, ScreenId::Journal);
        assert!(
            press(&mut m, KeyCode::Char('t')).is_empty(),
            "no till filter alone"
        );
        m.journal.own_till = Some("almaty-1".into());
        let cmds = press(&mut m, KeyCode::Char('t'));
        assert!(matches!(
            &cmds[..],
            [Command::QueryJournal { query }] if query.till.as_deref() == Some("almaty-1")
        ));
        assert!(render(&m).contains("almaty-1"), "{}", render(&m));
        let cmds = press(&mut m, KeyCode::Char('t'));
        assert!(matches!(&cmds[..], [Command::QueryJournal { query }] if query.till.is_none()));
        let all = if lang == Lang::Ru {
            "все кассы"
        } else {
            "all tills"
        };
        assert!(render(&m).contains(all), "{}", render(&m));
    }
}

#[test]
fn counts_and_resuming_reach_the_status_line() {
    let mut m = model(Lang::En);
    worker(&mut m, Event::Resuming { count: 2 });
    worker(
        &mut m,
        Event::Counts {
            pending: 2,
            recon: 1,
            active: 2,
        },
    );
    let wide = crate::screen::render_at(&m, 120, 30);
    assert!(wide.contains("resuming 2 operations"), "{wide}");
    assert!(wide.contains("⟳ 2 pending"), "{wide}");
    assert!(wide.contains("! 1 needs reconciliation"), "{wide}");
    // At 80 columns the keys stay whole on their own line; the status line has it all.
    let screen = render(&m);
    assert!(screen.contains("? help · q quit"), "{screen}");
    assert!(screen.contains("! 1 needs reconciliation"), "{screen}");
    assert!(screen.contains("resuming 2 operations"), "{screen}");
    // One of a thing is one in both languages.
    let mut ru = model(Lang::Ru);
    worker(&mut ru, Event::Resuming { count: 1 });
    worker(
        &mut ru,
        Event::Counts {
            pending: 21,
            recon: 3,
            active: 1,
        },
    );
    let screen = render(&ru);
    assert!(screen.contains("возобновляем 1 операцию"), "{screen}");
    assert!(screen.contains("! 3 требуют сверки"), "{screen}");
}

// ---- the utility payment screen ------------------------------------------------------

const RRN: &str = "597e9347-0d41-46ac-8086-20a8a123e413";

fn payees() -> Vec<Payee> {
    vec![
        Payee {
            login: "77072734954".into(),
            service: "185".into(),
            account: "1234567".into(),
        },
        Payee {
            login: "77011112233".into(),
            service: "200".into(),
            account: "87001234567".into(),
        },
    ]
}

/// The payment screen with every field typed.
fn pay_filled(lang: Lang) -> Model {
    let mut m = model(lang);
    let cmds = press(&mut m, KeyCode::Char('2'));
    assert!(matches!(cmds[..], [Command::LoadRecentPayees]));
    worker(&mut m, Event::RecentPayees { payees: payees() });
    type_text(&mut m, "77072734954");
    press(&mut m, KeyCode::Enter);
    type_text(&mut m, "185");
    press(&mut m, KeyCode::Enter);
    type_text(&mut m, "1234567");
    press(&mut m, KeyCode::Enter);
    type_text(&mut m, "1 500");
    m
}

fn pay_checked(lang: Lang) -> (Model, UtilityPayment) {
    let mut m = pay_filled(lang);
    let cmds = press(&mut m, KeyCode::Enter);
    let [Command::CheckPayment { payment }] = &cmds[..] else {
        panic!("{cmds:?}")
    };
    let mut p = payment.clone();
    p.id = RRN.into();
    m.pay.step = pay_step_checking(p.clone());
    worker(
        &mut m,
        Event::PaymentChecked {
            id: RRN.into(),
            outcome: pay::CheckOutcome::Possible {
                message: Some("Оплата возможна".into()),
            },
        },
    );
    (m, p)
}

fn pay_step_checking(p: UtilityPayment) -> kassa::app::screens::pay::Step {
    kassa::app::screens::pay::Step::Checking(p)
}

fn pay_op(state: State, status: &str) -> Operation {
    let mut o = op(state, Some(status));
    o.id = RRN.into();
    o.kind = Kind::AllpayPay;
    o.customer = "185/1234567".into();
    o.customer_name = None;
    o.amount = Amount::from_minor(150_000, Currency::Kzt).unwrap();
    o.params = Some(
        r#"{"login":"77072734954","service":"185","account":"1234567","value_date":"2026-11-23T14:02:00+05:00"}"#
            .into(),
    );
    o
}

#[test]
fn pay_fields_are_checked_before_anything_is_sent() {
    let mut m = model(Lang::En);
    press(&mut m, KeyCode::Char('2'));
    type_text(&mut m, "77072734954");
    press(&mut m, KeyCode::Tab);
    type_text(&mut m, "18a");
    press(&mut m, KeyCode::Tab);
    type_text(&mut m, "1234567");
    press(&mut m, KeyCode::Tab);
    type_text(&mut m, "100");
    assert!(press(&mut m, KeyCode::Enter).is_empty());
    assert_eq!(m.pay.focus, kassa::app::screens::pay::Field::Service);
    assert_eq!(
        m.pay.error,
        Some(kassa::app::Note::Key("pay.service_invalid"))
    );
}

#[test]
fn f2_fills_in_the_recent_payees_in_turn() {
    let mut m = model(Lang::En);
    press(&mut m, KeyCode::Char('2'));
    press(&mut m, KeyCode::F(2));
    assert_eq!(m.pay.error, Some(kassa::app::Note::Key("pay.no_recent")));
    worker(&mut m, Event::RecentPayees { payees: payees() });
    press(&mut m, KeyCode::F(2));
    assert_eq!(m.pay.account.value(), "1234567");
    press(&mut m, KeyCode::F(2));
    assert_eq!(m.pay.account.value(), "87001234567");
    assert_eq!(m.pay.login.value(), "77011112233");
    assert_eq!(m.pay.focus, kassa::app::screens::pay::Field::Amount);
}

#[test]
fn pay_check_then_confirm_sends_what_was_shown() {
    let (mut m, shown) = pay_checked(Lang::En);
    assert_eq!(shown.amount.minor(), 150_000);
    assert_eq!(
        (shown.service.as_str(), shown.account.as_str()),
        ("185", "1234567")
    );
    let cmds = press(&mut m, KeyCode::Char('y'));
    match &cmds[..] {
        [
            Command::Start {
                request: kassa::flows::Request::Pay(payment),
                allow_duplicate: false,
            },
        ] => assert_eq!(payment, &shown),
        other => panic!("{other:?}"),
    }
    assert!(m.in_flight());
    worker(
        &mut m,
        Event::Finished {
            op: pay_op(State::Completed, "COMPLETED"),
        },
    );
    assert!(matches!(
        m.pay.step,
        kassa::app::screens::pay::Step::Done(_)
    ));
}

#[test]
fn a_refused_check_shows_allpays_words_and_code() {
    let mut m = pay_filled(Lang::En);
    let cmds = press(&mut m, KeyCode::Enter);
    let [Command::CheckPayment { payment }] = &cmds[..] else {
        panic!()
    };
    worker(
        &mut m,
        Event::PaymentChecked {
            id: payment.id.clone(),
            outcome: pay::CheckOutcome::Refused {
                code: "S:Server".into(),
                message: "Услуга не найдена".into(),
            },
        },
    );
    let e = m.pay.error.as_ref().unwrap().render(Lang::En);
    assert!(
        e.contains("Allpay refused") && e.contains("Услуга не найдена") && e.contains("(S:Server)"),
        "{e}"
    );
    assert_eq!(m.pay.step, kassa::app::screens::pay::Step::Form);
}

#[test]
fn pay_snapshots() {
    for lang in [Lang::Ru, Lang::En] {
        let mut empty = model(lang);
        press(&mut empty, KeyCode::Char('2'));
        snap!("pay_empty", &empty);

        let filled = pay_filled(lang);
        snap!("pay_filled", &filled);

        let mut checking = filled.clone();
        press(&mut checking, KeyCode::Enter);
        snap!("pay_checking", &checking);

        let mut refused = checking.clone();
        let id = match &refused.pay.step {
            kassa::app::screens::pay::Step::Checking(p) => p.id.clone(),
            _ => panic!(),
        };
        worker(
            &mut refused,
            Event::PaymentChecked {
                id,
                outcome: pay::CheckOutcome::Refused {
                    code: "S:Server".into(),
                    message: "Услуга не найдена: SERVICE_NOT_FOUND".into(),
                },
            },
        );
        snap!("pay_refused", &refused);

        let (confirm, _) = pay_checked(lang);
        snap!("pay_confirm", &confirm);

        let mut waiting = confirm.clone();
        press(&mut waiting, KeyCode::Char('y'));
        worker(
            &mut waiting,
            Event::Progress {
                kind: kassa::journal::Kind::AllpayPay,
                id: RRN.into(),
                attempt: 2,
                status: Some("pending".into()),
                next_retry: Some(Duration::from_secs(2)),
                trouble: None,
                trouble_detail: None,
            },
        );
        snap!("pay_waiting", &waiting);

        let mut fault = waiting.clone();
        worker(
            &mut fault,
            Event::Progress {
                kind: kassa::journal::Kind::AllpayPay,
                id: RRN.into(),
                attempt: 3,
                status: None,
                next_retry: Some(Duration::from_secs(4)),
                trouble: Some("send.unknown"),
                trouble_detail: None,
            },
        );
        snap!("pay_waiting_no_answer", &fault);

        let mut dup = confirm.clone();
        press(&mut dup, KeyCode::Char('y'));
        let shown = match &confirm.pay.step {
            kassa::app::screens::pay::Step::Confirm { payment, .. } => payment.clone(),
            _ => panic!(),
        };
        worker(
            &mut dup,
            Event::Duplicate {
                request: kassa::flows::Request::Pay(shown),
                existing: pay_op(State::Pending, "PENDING"),
            },
        );
        snap!("pay_duplicate", &dup);

        let mut done = waiting.clone();
        let mut completed = pay_op(State::Completed, "succeeded");
        completed.provider_message = Some("Платёж проведён".into());
        worker(&mut done, Event::Finished { op: completed });
        snap!("pay_completed", &done);

        let mut declined = waiting.clone();
        let mut d = pay_op(State::Declined, "DECLINED");
        d.provider_message = Some("Платёж отклонён провайдером".into());
        d.detail = Some("PROVIDER_DECLINED: account closed; trace 7f3a9c".into());
        worker(&mut declined, Event::Finished { op: d });
        snap!("pay_declined", &declined);
    }
}

// ---- the WebMoney invoice screen ------------------------------------------------------

use kassa::flows::webmoney::WmInvoice;

fn wm_model(lang: Lang) -> Model {
    let mut m = model(lang);
    m.wm_purse = "Z000000000001".into();
    press(&mut m, KeyCode::Char('5'));
    m
}

/// The invoice form typed in: WMID, (purse prefilled), amount, description.
fn wm_filled(lang: Lang, desc: &str) -> Model {
    let mut m = wm_model(lang);
    type_text(&mut m, "405002833238");
    press(&mut m, KeyCode::Enter);
    press(&mut m, KeyCode::Enter);
    type_text(&mut m, "10,50");
    press(&mut m, KeyCode::Enter);
    type_text(&mut m, desc);
    m
}

fn wm_op(state: State, status: &str) -> Operation {
    let mut o = op(state, Some(status));
    o.id = "1042".into();
    o.kind = Kind::WebmoneyInvoice;
    o.customer = "405002833238".into();
    o.customer_name = None;
    o.amount = Amount::from_minor(1050, Currency::Usd).unwrap();
    o.params = Some(
        r#"{"orderid":1042,"customer_wmid":"405002833238","purse":"Z000000000001","desc":"Заказ 5","address":"","period":0,"expiration":0}"#
            .into(),
    );
    o
}

#[test]
fn the_invoice_form_checks_every_field_and_sends_what_it_shows() {
    let mut m = wm_model(Lang::En);
    assert_eq!(
        m.webmoney.inputs[1].value(),
        "Z000000000001",
        "the configured purse"
    );
    type_text(&mut m, "4050028332");
    press(&mut m, KeyCode::Enter);
    press(&mut m, KeyCode::Enter);
    type_text(&mut m, "1");
    press(&mut m, KeyCode::Enter);
    type_text(&mut m, "x");
    assert!(press(&mut m, KeyCode::Enter).is_empty());
    assert_eq!(m.webmoney.focus, 0);
    assert_eq!(
        m.webmoney.error,
        Some(kassa::app::Note::Key("wm.wmid_invalid"))
    );

    let mut emoji = wm_filled(Lang::En, "подарок 🎁");
    press(&mut emoji, KeyCode::Enter);
    assert_eq!(emoji.webmoney.focus, 3);
    assert_eq!(
        emoji.webmoney.error,
        Some(kassa::app::Note::Key("wm.desc_cp1251"))
    );

    let mut ok = wm_filled(Lang::En, "  Заказ 5 ");
    press(&mut ok, KeyCode::Enter);
    let kassa::app::screens::webmoney::Step::Confirm(shown) = ok.webmoney.step.clone() else {
        panic!("{:?}", ok.webmoney.step)
    };
    assert_eq!(shown.desc, "Заказ 5", "trimmed, and said so");
    assert!(ok.webmoney.trimmed);
    assert_eq!(shown.amount.minor(), 1050);
    let cmds = press(&mut ok, KeyCode::Char('y'));
    match &cmds[..] {
        [
            Command::Start {
                request: kassa::flows::Request::Webmoney(invoice),
                allow_duplicate: false,
            },
        ] => assert_eq!(invoice, &shown),
        other => panic!("{other:?}"),
    }
    let mut numbered = shown.clone();
    numbered.orderid = Some(1042);
    worker(&mut ok, Event::InvoiceNumbered { invoice: numbered });
    worker(
        &mut ok,
        Event::Finished {
            op: wm_op(State::Completed, "retval 0"),
        },
    );
    assert!(matches!(
        ok.webmoney.step,
        kassa::app::screens::webmoney::Step::Done(_)
    ));
}

/// The waiting view says whom kassa waits for, whatever the flow: the provider the
/// worker named, in the cashier's language.
#[test]
fn the_waiting_view_names_the_provider_of_the_operation() {
    for (lang, words) in [
        (Lang::En, "no connection to WebMoney, will retry"),
        (Lang::Ru, "нет связи с WebMoney, повторим"),
    ] {
        let mut m = wm_filled(lang, "Заказ 5");
        press(&mut m, KeyCode::Enter);
        let mut shown = match &m.webmoney.step {
            kassa::app::screens::webmoney::Step::Confirm(i) => i.clone(),
            _ => panic!("no confirmation"),
        };
        press(&mut m, KeyCode::Char('y'));
        shown.orderid = Some(1042);
        worker(&mut m, Event::InvoiceNumbered { invoice: shown });
        worker(
            &mut m,
            Event::Progress {
                id: "1042".into(),
                kind: kassa::journal::Kind::WebmoneyInvoice,
                attempt: 1,
                status: None,
                next_retry: Some(std::time::Duration::from_secs(2)),
                trouble: Some("send.not_sent"),
                trouble_detail: None,
            },
        );
        let screen = render(&m);
        assert!(screen.contains(words), "{screen}");
        assert!(!screen.contains("Allpay"), "{screen}");
    }
}

#[test]
fn webmoney_snapshots() {
    for lang in [Lang::Ru, Lang::En] {
        snap!("wm_empty", &wm_model(lang));
        let mut bad = wm_filled(lang, "подарок 🎁");
        press(&mut bad, KeyCode::Enter);
        snap!("wm_bad_desc", &bad);
        let mut confirm = wm_filled(lang, " Заказ 5 ");
        press(&mut confirm, KeyCode::Enter);
        snap!("wm_confirm", &confirm);
        let shown = match &confirm.webmoney.step {
            kassa::app::screens::webmoney::Step::Confirm(i) => i.clone(),
            _ => panic!(),
        };
        let mut sent = confirm.clone();
        press(&mut sent, KeyCode::Char('y'));
        let mut numbered: WmInvoice = shown;
        numbered.orderid = Some(1042);
        worker(&mut sent, Event::InvoiceNumbered { invoice: numbered });
        let mut issued = sent.clone();
        let mut i = wm_op(State::Completed, "retval 0");
        i.provider_ref = Some("10001".into());
        worker(&mut issued, Event::Finished { op: i });
        snap!("wm_issued", &issued);
        let mut rejected = sent.clone();
        let mut r = wm_op(State::Rejected, "retval 6");
        r.message_key = Some("wm.retval.6".into());
        worker(&mut rejected, Event::Finished { op: r });
        snap!("wm_rejected", &rejected);
        let mut recon = sent.clone();
        let mut u = wm_op(State::Pending, "");
        u.provider_status = None;
        u.needs_reconciliation = true;
        u.recon_reason = Some("recon.unknown_outcome".into());
        worker(&mut recon, Event::NeedsReconciliation { op: u });
        snap!("wm_needs_reconciliation", &recon);
    }
}

// ---- view: snapshots of every state in ru and en ------------------------------------

#[test]
fn snapshots() {
    for lang in [Lang::Ru, Lang::En] {
        let mut m = model(lang);
        m.counts.pending = 1;
        snap!("home", &m);

        let mut help = m.clone();
        press(&mut help, KeyCode::Char('?'));
        snap!("home_help", &help);

        let mut form = model(lang);
        press(&mut form, KeyCode::Char('1'));
        snap!("cash_in_empty", &form);

        type_text(&mut form, "77072734954");
        press(&mut form, KeyCode::Enter);
        snap!("cash_in_checking", &form);

        snap!("cash_in_checked", &checked(lang, "5 000"));

        let mut bad = checked(lang, "12,345");
        press(&mut bad, KeyCode::Enter);
        snap!("cash_in_bad_amount", &bad);

        let mut unknown = model(lang);
        press(&mut unknown, KeyCode::Char('1'));
        type_text(&mut unknown, "77000000000");
        press(&mut unknown, KeyCode::Enter);
        worker(
            &mut unknown,
            Event::UserChecked {
                login: "77000000000".into(),
                outcome: CheckOutcome::NotFound {
                    message: Some("Пользователь не найден".into()),
                },
            },
        );
        snap!("cash_in_unknown_wallet", &unknown);

        let (confirm, p) = confirmed(lang);
        snap!("cash_in_confirm", &confirm);

        let mut dup = confirm.clone();
        press(&mut dup, KeyCode::Char('y'));
        worker(
            &mut dup,
            Event::Duplicate {
                request: kassa::flows::Request::CashIn(p.clone()),
                existing: op(State::Completed, Some("COMPLETED")),
            },
        );
        snap!("cash_in_duplicate", &dup);

        let mut sending = confirm.clone();
        press(&mut sending, KeyCode::Char('y'));
        worker(
            &mut sending,
            Event::Progress {
                kind: kassa::journal::Kind::AllpayCashIn,
                id: p.id.clone(),
                attempt: 3,
                status: Some("PENDING".into()),
                next_retry: Some(Duration::from_millis(3500)),
                trouble: None,
                trouble_detail: None,
            },
        );
        snap!("cash_in_waiting", &sending);

        let mut fault = sending.clone();
        worker(
            &mut fault,
            Event::Progress {
                kind: kassa::journal::Kind::AllpayCashIn,
                id: p.id.clone(),
                attempt: 4,
                status: None,
                next_retry: Some(Duration::from_secs(8)),
                trouble: Some("send.fault"),
                trouble_detail: Some("Internal error (S:Server)".into()),
            },
        );
        snap!("cash_in_waiting_fault", &fault);

        let mut done = sending.clone();
        let mut completed = op(State::Completed, Some("COMPLETED"));
        completed.provider_ref = Some("1000042".into());
        completed.provider_message = Some("Кошелёк пополнен".into());
        worker(&mut done, Event::Finished { op: completed });
        snap!("cash_in_completed", &done);

        let mut declined = sending.clone();
        let mut d = op(State::Declined, Some("DECLINED"));
        d.provider_message = Some("Операция отклонена".into());
        worker(&mut declined, Event::Finished { op: d });
        snap!("cash_in_declined", &declined);

        let mut recon = sending.clone();
        let mut r = op(State::Pending, Some("PENDING"));
        r.needs_reconciliation = true;
        r.recon_reason = Some("config now points elsewhere".into());
        worker(&mut recon, Event::NeedsReconciliation { op: r });
        snap!("cash_in_needs_reconciliation", &recon);

        let mut journal = model(lang);
        press(&mut journal, KeyCode::Char('6'));
        snap!("journal_loading", &journal);
        let mut pending = op(State::Pending, Some("PENDING"));
        pending.id = "{a}".into();
        pending.attempts = 6;
        let mut declined_row = op(State::Declined, Some("DECLINED"));
        declined_row.id = "{b}".into();
        declined_row.customer = "77011112233".into();
        worker(
            &mut journal,
            Event::Journal {
                rows: vec![
                    op(State::Completed, Some("COMPLETED")),
                    pending,
                    declined_row,
                ],
            },
        );
        snap!("journal", &journal);

        let mut detail = journal.clone();
        press(&mut detail, KeyCode::Enter);
        let mut full = op(State::Completed, Some("COMPLETED"));
        full.provider_ref = Some("1000042".into());
        full.detail = Some("transaction 1000042".into());
        worker(
            &mut detail,
            Event::Detail {
                op: full,
                events: vec![
                    AuditEvent {
                        at: T0,
                        kind: "created".into(),
                        detail: "pending; 5000 to 77072734954".into(),
                    },
                    AuditEvent {
                        at: T0 + 10,
                        kind: "sent".into(),
                        detail: "attempt 1 by pid1-abcd".into(),
                    },
                    AuditEvent {
                        at: T0 + 900,
                        kind: "state".into(),
                        detail: "pending -> completed; status COMPLETED".into(),
                    },
                ],
            },
        );
        snap!("detail", &detail);

        let mut quit = model(lang);
        quit.counts.active = 1;
        press(&mut quit, KeyCode::Char('q'));
        snap!("quit_confirm", &quit);
    }
}

#[test]
fn the_layout_holds_on_a_small_and_a_resized_terminal() {
    let (m, _) = confirmed(Lang::Ru);
    for (w, h) in [(80, 24), (60, 20), (120, 40), (40, 12)] {
        render_at(&m, w, h);
    }
}

// ---- Wooppay -----------------------------------------------------------------------------

const REF: &str = "0e5f5e646ac94d5282430842800c94c2";
const WP_URL: &str =
    "https://www.test.wooppay.com/invoice/operation?id=34365&key=67751f22e270df006bd9f357709d47af";

fn wp_model(lang: Lang) -> Model {
    let mut m = model(lang);
    let cmds = press(&mut m, KeyCode::Char('3'));
    assert!(matches!(cmds[..], [Command::WooppayBalance]));
    worker(
        &mut m,
        Event::WooppayBalance {
            result: Ok(1_742_150),
        },
    );
    m
}

fn wp_op(state: State, status: Option<&str>) -> Operation {
    let mut o = op(state, status);
    o.id = REF.into();
    o.kind = Kind::WooppayInvoice;
    o.customer = "coffee".into();
    o.customer_name = None;
    o.amount = Amount::from_minor(150_000, Currency::Kzt).unwrap();
    o.provider_ref = Some("50145291".into());
    o.link = Some(WP_URL.into());
    o.params = Some(
        r#"{"variant":"plain","description":"coffee","phone":"","email":"","service":"","death_date":"2026-11-23 15:02:00","back_url":"","request_url":"","add_info":"","card_forbidden":false}"#
            .into(),
    );
    o
}

/// The plain invoice typed in and confirmed, with a fixed referenceId.
fn wp_confirmed(lang: Lang) -> (Model, WpInvoice) {
    let mut m = wp_model(lang);
    type_text(&mut m, "1 500");
    press(&mut m, KeyCode::Tab);
    type_text(&mut m, "coffee");
    assert!(press(&mut m, KeyCode::Enter).is_empty());
    let WpStep::Confirm(mut inv) = m.wooppay.step.clone() else {
        panic!("{:?}", m.wooppay.step)
    };
    inv.reference_id = REF.into();
    m.wooppay.step = WpStep::Confirm(inv.clone());
    (m, *inv)
}

#[test]
fn the_wooppay_form_checks_every_field_and_sends_what_it_shows() {
    let mut m = wp_model(Lang::En);
    assert!(press(&mut m, KeyCode::Enter).is_empty());
    assert_eq!(m.wooppay.error, Some(kassa::app::Note::Key("amount.empty")));
    // Card variant: a bad phone gets the cursor.
    press(&mut m, KeyCode::F(2));
    assert_eq!(m.wooppay.variant, Variant::Card);
    type_text(&mut m, "100");
    press(&mut m, KeyCode::Tab);
    press(&mut m, KeyCode::Tab);
    type_text(&mut m, "12345");
    press(&mut m, KeyCode::Enter);
    assert_eq!(m.wooppay.focused(), kassa::app::screens::wooppay::PHONE);
    assert_eq!(
        m.wooppay.error,
        Some(kassa::app::Note::Key("wooppay.phone_invalid"))
    );
    press(&mut m, KeyCode::F(4));
    assert!(m.wooppay.wallet_only);

    let (mut ok, shown) = wp_confirmed(Lang::En);
    assert_eq!(shown.amount.minor(), 150_000);
    assert_eq!(shown.description, "coffee");
    assert!(
        shown.death_date.is_empty(),
        "the worker gives it the configured TTL"
    );
    let cmds = press(&mut ok, KeyCode::Char('y'));
    match &cmds[..] {
        [
            Command::Start {
                request: kassa::flows::Request::Wooppay(invoice),
                allow_duplicate: false,
            },
        ] => assert_eq!(invoice, &shown),
        other => panic!("{other:?}"),
    }
    worker(
        &mut ok,
        Event::Issued {
            op: wp_op(State::Issued, Some("issued")),
        },
    );
    assert!(matches!(ok.wooppay.step, WpStep::Issued { .. }));
    let cmds = worker(
        &mut ok,
        Event::Finished {
            op: wp_op(State::Completed, Some("status 4")),
        },
    );
    assert!(matches!(ok.wooppay.step, WpStep::Done(_)));
    assert!(
        matches!(cmds[..], [Command::WooppayBalance]),
        "a paid invoice refreshes the balance"
    );
    // r on a paid invoice asks its status again; a reversal replaces what is shown.
    let cmds = press(&mut ok, KeyCode::Char('r'));
    assert!(matches!(
        cmds[..],
        [Command::WooppayStatus {
            operation_id: 50_145_291
        }]
    ));
    worker(
        &mut ok,
        Event::WooppayStatus {
            operation_id: 50_145_291,
            result: Err(WpFailure::NotFound),
            op: Some(wp_op(State::Reversed, Some("status 5"))),
        },
    );
    let WpStep::Done(shown) = &ok.wooppay.step else {
        panic!("{:?}", ok.wooppay.step)
    };
    assert_eq!(shown.state, State::Reversed);
}

#[test]
fn the_mobile_variant_asks_for_the_code_once_and_never_again_by_itself() {
    let mut m = wp_model(Lang::En);
    for _ in 0..3 {
        press(&mut m, KeyCode::F(2));
    }
    assert_eq!(m.wooppay.variant, Variant::Mobile);
    type_text(&mut m, "300");
    press(&mut m, KeyCode::Enter);
    assert_eq!(
        m.wooppay.error,
        Some(kassa::app::Note::Key("wooppay.phone_empty"))
    );
    type_text(&mut m, "8 701 234 56 78");
    let cmds = press(&mut m, KeyCode::Enter);
    match &cmds[..] {
        [Command::WooppayRequestCode { phone }] => assert_eq!(phone, "77012345678"),
        other => panic!("{other:?}"),
    }
    // F5 while the request is out sends nothing.
    assert!(press(&mut m, KeyCode::F(5)).is_empty());
    worker(
        &mut m,
        Event::WooppayCode {
            phone: "77012345678".into(),
            result: Err(WpFailure::Send("send.unknown")),
        },
    );
    assert!(matches!(
        m.wooppay.step,
        WpStep::Code {
            phase: CodePhase::Failed(_),
            ..
        }
    ));
    // Only the cashier's key asks again.
    let cmds = press(&mut m, KeyCode::F(5));
    assert!(matches!(cmds[..], [Command::WooppayRequestCode { .. }]));
    worker(
        &mut m,
        Event::WooppayCode {
            phone: "77012345678".into(),
            result: Ok(()),
        },
    );
    type_text(&mut m, "12a");
    press(&mut m, KeyCode::Enter);
    assert_eq!(
        m.wooppay.error,
        Some(kassa::app::Note::Key("wooppay.sms_code_invalid"))
    );
    for _ in 0..3 {
        press(&mut m, KeyCode::Backspace);
    }
    type_text(&mut m, "5678");
    press(&mut m, KeyCode::Enter);
    let WpStep::Confirm(inv) = m.wooppay.step.clone() else {
        panic!("{:?}", m.wooppay.step)
    };
    assert_eq!(inv.sms_code.as_ref().map(|c| c.expose()), Some("5678"));
    assert_eq!(inv.phone, "77012345678");
}

#[test]
fn wooppay_snapshots() {
    for lang in [Lang::Ru, Lang::En] {
        snap!("wp_empty", &wp_model(lang));

        let mut card = wp_model(lang);
        press(&mut card, KeyCode::F(2));
        press(&mut card, KeyCode::F(4));
        type_text(&mut card, "100");
        press(&mut card, KeyCode::Tab);
        press(&mut card, KeyCode::Tab);
        type_text(&mut card, "12345");
        press(&mut card, KeyCode::Enter);
        snap!("wp_card_bad_phone", &card);

        let (confirm, _) = wp_confirmed(lang);
        snap!("wp_confirm", &confirm);

        let mut code = wp_model(lang);
        for _ in 0..3 {
            press(&mut code, KeyCode::F(2));
        }
        type_text(&mut code, "300");
        press(&mut code, KeyCode::Tab);
        type_text(&mut code, "77012345678");
        press(&mut code, KeyCode::Enter);
        let mut sent = code.clone();
        worker(
            &mut sent,
            Event::WooppayCode {
                phone: "77012345678".into(),
                result: Ok(()),
            },
        );
        type_text(&mut sent, "56");
        snap!("wp_code_sent", &sent);
        let mut refused = code.clone();
        worker(
            &mut refused,
            Event::WooppayCode {
                phone: "77012345678".into(),
                result: Err(WpFailure::Code(222)),
            },
        );
        snap!("wp_code_refused", &refused);

        let (mut sending, _) = wp_confirmed(lang);
        press(&mut sending, KeyCode::Char('y'));
        worker(
            &mut sending,
            Event::Recorded {
                op: wp_op(State::Pending, None),
            },
        );
        snap!("wp_sending", &sending);

        let mut failing = sending.clone();
        worker(
            &mut failing,
            Event::Progress {
                kind: kassa::journal::Kind::WooppayInvoice,
                id: REF.into(),
                attempt: 2,
                status: Some("error 113".into()),
                next_retry: Some(Duration::from_secs(2)),
                trouble: Some("send.provider_error"),
                trouble_detail: Some("error_code 113".into()),
            },
        );
        snap!("wp_pending_error", &failing);

        let mut issued = sending.clone();
        worker(
            &mut issued,
            Event::Issued {
                op: wp_op(State::Issued, Some("issued")),
            },
        );
        worker(
            &mut issued,
            Event::Progress {
                kind: kassa::journal::Kind::WooppayInvoice,
                id: REF.into(),
                attempt: 3,
                status: Some("status 1".into()),
                next_retry: Some(Duration::from_secs(2)),
                trouble: None,
                trouble_detail: None,
            },
        );
        snap!("wp_issued_qr", &issued);
        // Where the code cannot fit, the screen says so and shows the link.
        let small = render_at(&issued, 60, 16);
        assert!(
            small.contains("wooppay.test") || small.contains("operation?id"),
            "{small}"
        );
        assert!(!small.contains("▀▀▀▀▀"), "no partial code: {small}");

        let mut paid = issued.clone();
        worker(
            &mut paid,
            Event::Finished {
                op: wp_op(State::Completed, Some("status 4")),
            },
        );
        snap!("wp_paid", &paid);

        let mut rejected = sending.clone();
        let mut r = wp_op(State::Rejected, Some("error 223"));
        r.provider_ref = None;
        r.link = None;
        r.message_key = Some("wooppay.err.223".into());
        worker(&mut rejected, Event::Finished { op: r });
        snap!("wp_rejected", &rejected);

        let mut recon = sending.clone();
        let mut u = wp_op(State::Pending, Some("error 221"));
        u.provider_ref = None;
        u.link = None;
        u.message_key = Some("wooppay.err.221".into());
        u.needs_reconciliation = true;
        u.recon_reason = Some("recon.wooppay_exists".into());
        worker(&mut recon, Event::NeedsReconciliation { op: u });
        snap!("wp_needs_reconciliation", &recon);
    }
}

/// A paste is text for the field being typed, never keys: "150⏎y" pasted into the amount
/// fills it with "150y" (refused as an amount), never confirms; a paste on a confirmation
/// or a result is dropped, and said so. Nothing is ever sent.
#[test]
fn a_paste_never_confirms_a_payment() {
    for lang in [Lang::Ru, Lang::En] {
        let mut m = checked(lang, "");
        let cmds = kassa::app::update(&mut m, Msg::Paste("150\ny\r\n".into()));
        assert!(cmds.is_empty(), "{cmds:?}");
        assert!(matches!(m.cash_in.step, Step::Form), "{:?}", m.cash_in.step);
        assert!(render(&m).contains("150y"), "{}", render(&m));
        // Enter now: the amount is refused, nothing is sent.
        let cmds = press(&mut m, KeyCode::Enter);
        assert!(
            !cmds.iter().any(|c| matches!(c, Command::Start { .. })),
            "{cmds:?}"
        );

        let (mut c, _) = confirmed(lang);
        let cmds = kassa::app::update(&mut c, Msg::Paste("y".into()));
        assert!(cmds.is_empty(), "{cmds:?}");
        assert!(matches!(c.cash_in.step, Step::Confirm(_)), "still asking");
    }
}

/// After Esc a money screen opens on an empty form for the next customer: the previous
/// customer's checked wallet is gone, so "777 y" can never pay them again.
#[test]
fn a_form_left_with_esc_opens_empty_for_the_next_customer() {
    let mut m = checked(Lang::En, "5 000");
    press(&mut m, KeyCode::Esc);
    assert_eq!(m.screen, ScreenId::Home);
    press(&mut m, KeyCode::Char('1'));
    assert_eq!(m.cash_in.step, Step::Form);
    assert_eq!(m.cash_in.login.value(), "");
    assert!(!render(&m).contains("77072734954"), "{}", render(&m));
    type_text(&mut m, "777");
    let cmds = press(&mut m, KeyCode::Char('y'));
    assert!(
        !cmds.iter().any(|c| matches!(c, Command::Start { .. })),
        "{cmds:?}"
    );
}

/// The journal never cuts what a cashier acts on: a sum of 1 000 500,00 сўм, a masked card
/// and "NEEDS RECONCILIATION" stay whole at 80 columns; the kind's name gives way first.
#[test]
fn the_journal_keeps_sums_cards_and_states_whole() {
    for lang in [Lang::Ru, Lang::En] {
        let mut m = model(lang);
        press(&mut m, KeyCode::Char('6'));
        let mut hold = op(State::Pending, None);
        hold.id = "h1".into();
        hold.kind = kassa::journal::Kind::UpayHold;
        hold.amount =
            kassa::money::Amount::from_minor(100_050_000, kassa::money::Currency::Uzs).unwrap();
        hold.customer = "8600 12•• •••• 4321".into();
        hold.needs_reconciliation = true;
        worker(&mut m, Event::Journal { rows: vec![hold] });
        let screen = render(&m);
        assert!(screen.contains("1 000 500,00"), "{screen}");
        assert!(screen.contains("8600 12•• •••• 4321"), "{screen}");
        let recon = kassa::i18n::t(lang, "state.needs_recon").to_uppercase();
        assert!(screen.contains(&recon), "{recon}: {screen}");
    }
}

/// The sum typed while the wallet is being checked is kept, not dropped: it is in the
/// amount when the check answers.
#[test]
fn keys_typed_while_the_wallet_is_checked_are_kept() {
    let mut m = model(Lang::En);
    press(&mut m, KeyCode::Char('1'));
    type_text(&mut m, "77072734954");
    press(&mut m, KeyCode::Enter);
    assert!(matches!(m.cash_in.step, Step::Checking { .. }));
    type_text(&mut m, "5 000");
    worker(
        &mut m,
        Event::UserChecked {
            login: "77072734954".into(),
            outcome: CheckOutcome::Found {
                user: ivan(),
                message: None,
            },
        },
    );
    assert_eq!(m.cash_in.amount.value(), "5 000");
    let cmds = press(&mut m, KeyCode::Enter);
    assert!(cmds.is_empty(), "{cmds:?}");
    assert!(
        matches!(m.cash_in.step, Step::Confirm(_)),
        "{:?}",
        m.cash_in.step
    );
}

/// Command keys work by their position on the Russian layout wherever no text field has
/// the keyboard (й = q, п = g, о/л = j/k); in a text field every Russian letter is text;
/// the help shows both letters.
#[test]
fn command_keys_work_on_the_russian_layout_and_letters_stay_text_in_a_field() {
    for lang in [Lang::Ru, Lang::En] {
        let mut m = model(lang);
        press(&mut m, KeyCode::Char('о'));
        assert_eq!(m.home.selected, 1, "о is j: down");
        press(&mut m, KeyCode::Char('л'));
        assert_eq!(m.home.selected, 0, "л is k: up");
        press(&mut m, KeyCode::Char('?'));
        assert_eq!(m.overlay, Overlay::Help);
        let help = render(&m);
        assert!(help.contains("q й"), "{help}");
        press(&mut m, KeyCode::Esc);
        press(&mut m, KeyCode::Char('Й'));
        assert!(!m.quit, "Shift+й is Q: nothing");
        let mut q = model(lang);
        press(&mut q, KeyCode::Char('й'));
        assert!(q.quit, "й is q: nothing in flight, so it quits");
        // In the cash-in login field a Russian letter is text, never a command.
        press(&mut m, KeyCode::Char('1'));
        assert_eq!(m.screen, ScreenId::CashIn);
        type_text(&mut m, "йп");
        assert_eq!(m.cash_in.login.value(), "йп");
        assert_eq!(m.overlay, Overlay::None);
        assert_eq!(m.screen, ScreenId::CashIn);
        // Out of the field (the journal, no search): п opens nothing there, в is d.
        press(&mut m, KeyCode::Esc);
        press(&mut m, KeyCode::Char('6'));
        assert_eq!(m.screen, ScreenId::Journal);
        press(&mut m, KeyCode::Char('й'));
        assert!(m.quit, "{lang:?}");
    }
}

/// A section is never stuck on its running operation: `n` on a payment on its way opens an
/// empty form for the next customer; the first goes on, its outcome never lands on the new
/// form, and it is told in the status line when it comes.
#[test]
fn n_starts_another_while_one_is_on_its_way_and_its_outcome_is_told() {
    for lang in [Lang::Ru, Lang::En] {
        let (mut m, _) = confirmed(lang);
        let cmds = press(&mut m, KeyCode::Char('y'));
        assert!(
            matches!(cmds.as_slice(), [Command::Start { .. }]),
            "{cmds:?}"
        );
        assert!(matches!(m.cash_in.step, Step::Sending(_)));
        let footer = render(&m);
        assert!(
            footer.contains(if lang == Lang::En {
                "another"
            } else {
                "ещё одна"
            }),
            "{footer}"
        );
        assert!(
            press(&mut m, KeyCode::Char('n')).is_empty(),
            "n sends nothing"
        );
        assert_eq!(m.cash_in.step, Step::Form);
        assert_eq!(
            m.cash_in.login.value(),
            "",
            "the next customer's form is empty"
        );
        // The next customer's wallet is typed; the first payment's outcome comes.
        type_text(&mut m, "77011112233");
        worker(
            &mut m,
            Event::Finished {
                op: op(State::Completed, Some("COMPLETED")),
            },
        );
        assert_eq!(
            m.cash_in.step,
            Step::Form,
            "the outcome never covers the new form"
        );
        assert_eq!(m.cash_in.login.value(), "77011112233");
        let shown = render(&m);
        assert!(
            shown.contains(if lang == Lang::En {
                "topped up"
            } else {
                "зачислено"
            }),
            "{shown}"
        );
        assert!(shown.contains("5 000,00"), "{shown}");
        snap!("another_while_one_goes_on", &m);
    }
}

/// An issued invoice's QR code can be shown again from the journal (after a restart, for a
/// customer who came back): `o` on its detail opens it on the Wooppay screen, followed there;
/// a paid one offers no QR.
#[test]
fn an_issued_invoices_qr_is_shown_again_from_the_journal() {
    for lang in [Lang::Ru, Lang::En] {
        let mut m = model(lang);
        let issued = wp_op(State::Issued, Some("status 1"));
        m.screen = ScreenId::Detail;
        m.detail.open(issued.clone());
        let shown = render(&m);
        assert!(
            shown.contains(if lang == Lang::En {
                "QR code again"
            } else {
                "снова QR-код"
            }),
            "{shown}"
        );
        let cmds = press(&mut m, KeyCode::Char('o'));
        assert_eq!(m.screen, ScreenId::Wooppay);
        assert!(
            matches!(cmds.as_slice(), [Command::WooppayBalance]),
            "{cmds:?}"
        );
        assert!(matches!(&m.wooppay.step, WpStep::Issued { op, .. } if op.id == REF));
        let qr = render(&m);
        assert!(qr.contains("█") && qr.contains("50145291"), "{qr}");
        // Its payment comes: shown there, as for an invoice issued in this run.
        worker(
            &mut m,
            Event::Finished {
                op: wp_op(State::Completed, Some("status 4")),
            },
        );
        assert!(matches!(&m.wooppay.step, WpStep::Done(op) if op.state == State::Completed));
        // A paid invoice's detail has no QR to show.
        let mut m = model(lang);
        m.screen = ScreenId::Detail;
        m.detail.open(wp_op(State::Completed, Some("status 4")));
        press(&mut m, KeyCode::Char('o'));
        assert_eq!(m.screen, ScreenId::Detail);
    }
}

/// Keys that come in one burst (typed ahead, a paste the terminal does not bracket) are
/// handled before the screen they lead to is drawn: a `y` among them answers no question
/// the cashier has not seen, and the screen says to look and press again.
#[test]
fn a_yes_typed_before_the_question_was_drawn_answers_nothing() {
    for lang in [Lang::Ru, Lang::En] {
        let mut m = checked(lang, "5 000");
        // Enter and y in one burst: no draw between them.
        assert!(
            update(
                &mut m,
                Msg::Key(KeyEvent::new(KeyCode::Enter, KeyModifiers::NONE))
            )
            .is_empty()
        );
        assert!(matches!(m.cash_in.step, Step::Confirm(_)));
        let cmds = update(
            &mut m,
            Msg::Key(KeyEvent::new(KeyCode::Char('y'), KeyModifiers::NONE)),
        );
        assert!(cmds.is_empty(), "nothing sent: {cmds:?}");
        assert!(matches!(m.cash_in.step, Step::Confirm(_)), "still asked");
        let shown = render(&m);
        assert!(
            shown.contains(if lang == Lang::En {
                "before the question"
            } else {
                "раньше, чем вопрос"
            }),
            "{shown}"
        );
        // Drawn, read, answered: sent.
        m.draws += 1;
        let cmds = update(
            &mut m,
            Msg::Key(KeyEvent::new(KeyCode::Char('н'), KeyModifiers::NONE)),
        );
        assert!(
            matches!(cmds.as_slice(), [Command::Start { .. }]),
            "{cmds:?}"
        );
        // A like payment's question, brought by the worker, and a y before it was drawn.
        let p = match &cmds[0] {
            Command::Start {
                request: kassa::flows::Request::CashIn(p),
                ..
            } => p.clone(),
            other => panic!("{other:?}"),
        };
        update(
            &mut m,
            Msg::Worker(Event::Duplicate {
                request: kassa::flows::Request::CashIn(p),
                existing: op(State::Completed, Some("COMPLETED")),
            }),
        );
        assert!(matches!(m.cash_in.step, Step::Duplicate { .. }));
        let cmds = update(
            &mut m,
            Msg::Key(KeyEvent::new(KeyCode::Char('y'), KeyModifiers::NONE)),
        );
        assert!(cmds.is_empty(), "never sent again unseen: {cmds:?}");
        // n and Esc are always heard.
        update(
            &mut m,
            Msg::Key(KeyEvent::new(KeyCode::Char('n'), KeyModifiers::NONE)),
        );
        assert_eq!(m.cash_in.step, Step::Form);
    }
}

/// A long journal: PgUp/PgDn a page, Home/End and g/G to either end, the position shown;
/// Enter opens the row under the cursor even after the list changed under it.
#[test]
fn a_long_journal_pages_and_shows_where_the_cursor_is() {
    for lang in [Lang::Ru, Lang::En] {
        let mut m = model(lang);
        press(&mut m, KeyCode::Char('6'));
        let rows: Vec<Operation> = (0..40)
            .map(|i| {
                let mut o = op(State::Completed, Some("COMPLETED"));
                o.id = format!("{{row-{i}}}");
                o
            })
            .collect();
        worker(&mut m, Event::Journal { rows: rows.clone() });
        assert!(render(&m).contains("1/40"));
        press(&mut m, KeyCode::PageDown);
        assert_eq!(m.journal.selected, 15);
        press(&mut m, KeyCode::End);
        assert_eq!(m.journal.selected, 39);
        assert!(render(&m).contains("40/40"), "{}", render(&m));
        press(&mut m, KeyCode::PageDown);
        assert_eq!(m.journal.selected, 39, "never past the end");
        press(&mut m, KeyCode::PageUp);
        assert_eq!(m.journal.selected, 24);
        press(&mut m, KeyCode::Char('g'));
        assert_eq!(m.journal.selected, 0);
        press(&mut m, KeyCode::Char('G'));
        assert_eq!(m.journal.selected, 39);
        press(&mut m, KeyCode::Home);
        assert_eq!(m.journal.selected, 0);
        // On the Russian layout: п is g, П is G.
        press(&mut m, KeyCode::Char('П'));
        assert_eq!(m.journal.selected, 39);
        // A new row arrives on top: the cursor stays on its row, and Enter opens that one.
        let mut newer = vec![op(State::Pending, None)];
        newer[0].id = "{new}".into();
        newer.extend(rows);
        worker(&mut m, Event::Journal { rows: newer });
        let cmds = press(&mut m, KeyCode::Enter);
        assert!(
            matches!(&cmds[..], [Command::LoadOperation { id }] if id == "{row-39}"),
            "{cmds:?}"
        );
    }
}
