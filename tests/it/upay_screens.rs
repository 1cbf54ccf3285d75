//! The UPay screen: the update function's commands for each key, and snapshots of every
//! state in ru and en at 80x24 (the CVV drawn as dots, the 3-D Secure link as a QR code).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::screen::{self, T0, press, render, snap, type_text, worker};

use crossterm::event::KeyCode;
use kassa::app::Model;
use kassa::app::screens::upay::Step;
use kassa::i18n::Lang;
use kassa::journal::{Kind, Operation, State};
use kassa::money::{Amount, Currency};
use kassa::worker::upay::HoldAction;
use kassa::worker::{Command, Event};

/// A model on the UPay screen, with service 628 and 60-minute holds as [upay] says.
fn model(lang: Lang) -> Model {
    let mut m = screen::model(lang);
    m.upay_defaults = (628, 60);
    press(&mut m, KeyCode::Char('4'));
    m
}

fn filled(lang: Lang, number: &str) -> Model {
    let mut m = model(lang);
    for (i, v) in [number, "12/30", "987", "Tony Sapay", "998911902494"]
        .iter()
        .enumerate()
    {
        if i > 0 {
            press(&mut m, KeyCode::Tab);
        }
        type_text(&mut m, v);
    }
    m
}

fn card_op(state: State) -> Operation {
    Operation {
        till: None,
        id: "card-1".into(),
        kind: Kind::UpayCard,
        state,
        amount: Amount::none(Currency::Uzs),
        customer: "411111******1111".into(),
        customer_name: Some("TONY SAPAY".into()),
        endpoint: "demo-emulator/STAPI/STWS".into(),
        identity: "kassa-demo".into(),
        provider_status: Some("OK".into()),
        provider_message: Some("Успешно".into()),
        provider_ref: Some("emu0000000000001eef".into()),
        detail: None,
        needs_reconciliation: false,
        recon_reason: None,
        link: Some("http://127.0.0.1:8089/_emulator/upay/3ds/emu0000000000001eef".into()),
        message_key: None,
        note: None,
        attempts: 1,
        created_at: T0,
        updated_at: T0,
        final_at: None,
        params: None,
    }
}

fn hold_op(id: &str, state: State, hold_id: &str, minor: i64) -> Operation {
    Operation {
        till: None,
        id: id.into(),
        kind: Kind::UpayHold,
        state,
        amount: Amount::from_minor(minor, Currency::Uzs).unwrap(),
        customer: "112312".into(),
        customer_name: Some("emu0…1eef".into()),
        provider_ref: Some(hold_id.into()),
        detail: None,
        params: Some(
            r#"{"card_token":"emu0000000000001eef","service_id":628,"account":"112312","minutes":60,"phase":"create"}"#
                .into(),
        ),
        ..card_op(state)
    }
}

#[test]
fn the_card_form_checks_everything_and_never_draws_the_cvv() {
    let mut m = filled(Lang::En, "4111 1111 1111 1112");
    assert!(render(&m).contains("•••") && !render(&m).contains("987"));
    // Filled in, the cursor is on the last field: Enter checks everything.
    assert!(press(&mut m, KeyCode::Enter).is_empty(), "nothing sent");
    assert_eq!(m.upay.focus, 0, "the cursor goes to the bad field");
    assert!(render(&m).contains("check digit"));

    let mut m = filled(Lang::En, "4111 1111 1111 1111");
    press(&mut m, KeyCode::Enter);
    assert!(matches!(m.upay.step, Step::ConfirmCard(_)));
    assert!(press(&mut m, KeyCode::Esc).is_empty());
    assert!(matches!(m.upay.step, Step::CardForm));
    press(&mut m, KeyCode::Enter);
    let cmds = press(&mut m, KeyCode::Char('y'));
    match cmds.as_slice() {
        [Command::RegisterCard { card }] => {
            assert_eq!(card.number.as_str(), "4111111111111111");
            assert_eq!(card.cvv.as_str(), "987");
            assert_eq!(card.expiry, "1230");
            assert_eq!(card.holder, "TONY SAPAY");
        }
        other => panic!("{other:?}"),
    }
    assert!(
        m.upay.card.iter().all(|i| i.value().is_empty()),
        "the typed card leaves the screen's memory once sent"
    );
}

#[test]
fn capture_and_cancel_are_asked_first_and_only_for_a_held_hold() {
    let mut m = model(Lang::En);
    press(&mut m, KeyCode::F(3));
    worker(
        &mut m,
        Event::Journal {
            rows: vec![
                hold_op("h2", State::Completed, "3794392756000002", 50_000),
                hold_op("h1", State::Held, "3794392756000001", 100_000),
                card_op(State::Completed),
            ],
        },
    );
    assert_eq!(m.upay.holds.len(), 2);
    assert!(press(&mut m, KeyCode::Char('c')).is_empty());
    assert!(
        matches!(m.upay.step, Step::Holds),
        "a captured hold is not captured again"
    );
    press(&mut m, KeyCode::Down);
    assert!(press(&mut m, KeyCode::Char('x')).is_empty());
    assert!(matches!(
        m.upay.step,
        Step::ConfirmAction(HoldAction::Cancel, _)
    ));
    let cmds = press(&mut m, KeyCode::Char('y'));
    assert!(matches!(
        cmds.as_slice(),
        [Command::ActOnHold { id, action: HoldAction::Cancel, expected: None }] if id == "h1"
    ));
    // A new hold goes on the journal's confirmed card.
    press(&mut m, KeyCode::Char('n'));
    type_text(&mut m, "112312");
    press(&mut m, KeyCode::Enter);
    type_text(&mut m, "1 000");
    press(&mut m, KeyCode::Enter);
    press(&mut m, KeyCode::Enter);
    let cmds = press(&mut m, KeyCode::Char('y'));
    match cmds.as_slice() {
        [
            Command::Start {
                request: kassa::flows::Request::Hold(hold),
                ..
            },
        ] => {
            assert_eq!(hold.card_token, "emu0000000000001eef");
            assert_eq!(hold.amount.minor(), 100_000);
            assert_eq!(hold.minutes, 60, "[upay] hold_minutes when left empty");
        }
        other => panic!("{other:?}"),
    }
    // Back to the list, and another new hold: its fields are empty, typing never appends
    // to the last one's (112312 → 112312200200 once).
    m.upay.step = Step::Holds;
    press(&mut m, KeyCode::Char('n'));
    assert!(matches!(m.upay.step, Step::HoldForm));
    assert!(
        m.upay.hold.iter().all(|i| i.value().is_empty()),
        "{:?}",
        m.upay.hold.iter().map(|i| i.value()).collect::<Vec<_>>()
    );
}

#[test]
fn upay_snapshots() {
    for lang in [Lang::Ru, Lang::En] {
        snap!("upay_card_form", &filled(lang, "4111 1111 1111 1111"));
        let mut bad = filled(lang, "4111 1111 1111 1112");
        press(&mut bad, KeyCode::Enter);
        snap!("upay_bad_card", &bad);
        let mut confirm = filled(lang, "4111 1111 1111 1111");
        press(&mut confirm, KeyCode::Enter);
        snap!("upay_confirm_card", &confirm);
        let mut waiting = confirm.clone();
        press(&mut waiting, KeyCode::Char('y'));
        worker(
            &mut waiting,
            Event::Recorded {
                op: card_op(State::Pending),
            },
        );
        worker(
            &mut waiting,
            Event::Finished {
                op: card_op(State::Issued),
            },
        );
        let screen = render(&waiting);
        assert!(screen.contains('█'), "the QR code is drawn at 80x24");
        snap!("upay_waiting_3ds", &waiting);
        // x marks the card failed only after a question; n leaves it waiting.
        let mut asked = waiting.clone();
        assert!(
            press(&mut asked, KeyCode::Char('x')).is_empty(),
            "asked first"
        );
        assert!(render(&asked).contains(" y "), "{}", render(&asked));
        assert!(press(&mut asked, KeyCode::Char('n')).is_empty());
        assert_eq!(asked.upay.asking_card, None);
        press(&mut asked, KeyCode::Char('c'));
        let cmds = press(&mut asked, KeyCode::Char('y'));
        assert!(
            matches!(
                cmds.as_slice(),
                [Command::ConfirmCard {
                    confirmed: true,
                    ..
                }]
            ),
            "{cmds:?}"
        );
        let mut done = waiting.clone();
        worker(
            &mut done,
            Event::Finished {
                op: card_op(State::Completed),
            },
        );
        snap!("upay_card_confirmed", &done);
        let mut holds = done.clone();
        press(&mut holds, KeyCode::Char('h'));
        let mut recon = hold_op("h3", State::Pending, "", 25_051);
        recon.provider_ref = None;
        recon.needs_reconciliation = true;
        worker(
            &mut holds,
            Event::Journal {
                rows: vec![
                    recon,
                    hold_op("h2", State::Completed, "3794392756000002", 50_000),
                    hold_op("h1", State::Held, "3794392756000001", 100_000),
                ],
            },
        );
        snap!("upay_holds", &holds);
        press(&mut holds, KeyCode::Down);
        press(&mut holds, KeyCode::Down);
        press(&mut holds, KeyCode::Char('c'));
        snap!("upay_confirm_capture", &holds);
    }
}

/// The holds screen tells what became of each action and check asked there: a capture UPay
/// refused (its words and code, the hold still held), a capture done, a check's answer; an
/// old message goes with the next key; a check's older reading never covers a newer row.
#[test]
fn the_holds_screen_tells_what_each_action_and_check_came_to() {
    use kassa::providers::upay::codec::CheckBy;
    use kassa::worker::upay::CheckAnswer;
    for lang in [Lang::Ru, Lang::En] {
        let mut m = model(lang);
        press(&mut m, KeyCode::F(3));
        let held = hold_op("h1", State::Held, "3794392756000001", 100_000);
        worker(
            &mut m,
            Event::Journal {
                rows: vec![held.clone(), card_op(State::Completed)],
            },
        );
        // A capture, refused by UPay: the hold stands, UPay's words say why.
        press(&mut m, KeyCode::Char('c'));
        let cmds = press(&mut m, KeyCode::Char('y'));
        assert!(matches!(cmds.as_slice(), [Command::ActOnHold { .. }]));
        let sent = render(&m);
        assert!(
            sent.contains(if lang == Lang::En {
                "Capture sent"
            } else {
                "Списание отправлено"
            }),
            "{sent}"
        );
        let refused = Operation {
            till: None,
            provider_status: Some("STPIMS-ERR-044".into()),
            provider_message: Some("Hold expired".into()),
            updated_at: T0 + 10,
            ..held.clone()
        };
        worker(&mut m, Event::Finished { op: refused });
        let shown = render(&m);
        assert!(
            shown.contains("STPIMS-ERR-044") && shown.contains("Hold expired"),
            "{shown}"
        );
        assert!(
            shown.contains(if lang == Lang::En {
                "refused the capture"
            } else {
                "отказал в списании"
            }),
            "{shown}"
        );
        snap!("holds_capture_refused", &m);
        // The next key takes the old message away.
        press(&mut m, KeyCode::Down);
        assert!(!render(&m).contains("STPIMS-ERR-044"));
        // A check: asked, then UPay's answer, with its code.
        let cmds = press(&mut m, KeyCode::Char('r'));
        assert!(matches!(
            cmds.as_slice(),
            [Command::CheckHold { by: CheckBy::HoldId, target }] if target == "3794392756000001"
        ));
        assert!(render(&m).contains("3794392756000001"));
        // A capture's result comes first, then the check's reading taken before it.
        let captured = Operation {
            till: None,
            state: State::Completed,
            provider_status: Some("OK".into()),
            updated_at: T0 + 30,
            ..held.clone()
        };
        worker(&mut m, Event::Finished { op: captured });
        let older = Operation {
            till: None,
            updated_at: T0 + 20,
            ..held.clone()
        };
        worker(
            &mut m,
            Event::HoldChecked {
                answer: CheckAnswer {
                    by: CheckBy::HoldId,
                    target: "3794392756000001".into(),
                    code: "OK".into(),
                    description: Some("Success".into()),
                    status: Some(kassa::flows::upay::HoldStatus::Known),
                    amount: None,
                    op: Some(older),
                },
            },
        );
        assert_eq!(
            m.upay.holds[0].state,
            State::Completed,
            "the newer row stays"
        );
        let shown = render(&m);
        assert!(
            shown.contains("Success") && shown.contains("(OK)"),
            "{shown}"
        );
        assert!(
            shown.contains(if lang == Lang::En {
                "UPay knows the hold"
            } else {
                "UPay знает этот холд"
            }),
            "{shown}"
        );
    }
}

/// Several cards per run: `n` on a card's result (or while one is registering) opens an
/// empty card form; a card left waiting for its customer is told when it is confirmed.
#[test]
fn another_card_can_be_registered_after_any_outcome() {
    for lang in [Lang::Ru, Lang::En] {
        let mut m = filled(lang, "4111 1111 1111 1111");
        press(&mut m, KeyCode::Enter);
        let cmds = press(&mut m, KeyCode::Char('y'));
        assert!(matches!(cmds.as_slice(), [Command::RegisterCard { .. }]));
        worker(
            &mut m,
            Event::Recorded {
                op: card_op(State::Pending),
            },
        );
        worker(
            &mut m,
            Event::Finished {
                op: card_op(State::Issued),
            },
        );
        assert!(matches!(m.upay.step, Step::Card(_)));
        // The customer has the link; the next customer comes.
        press(&mut m, KeyCode::Char('n'));
        assert!(matches!(m.upay.step, Step::CardForm));
        assert!(m.upay.card.iter().all(|i| i.value().is_empty()));
        type_text(&mut m, "5555");
        worker(
            &mut m,
            Event::Finished {
                op: card_op(State::Completed),
            },
        );
        assert!(matches!(m.upay.step, Step::CardForm), "the new form stays");
        assert_eq!(m.upay.card[0].value(), "5555");
        let shown = render(&m);
        assert!(
            shown.contains(if lang == Lang::En {
                "confirmed"
            } else {
                "подтверждена"
            }),
            "{shown}"
        );
        // A card's final result: n again.
        m.upay.step = Step::Card(Box::new(card_op(State::Declined)));
        press(&mut m, KeyCode::Char('n'));
        assert!(matches!(m.upay.step, Step::CardForm));
    }
}
