//! No input panics (issue 16): every validator, sum parser and form step takes any Unicode
//! text (a Russian-layout `1.1`, `1ю1` in a card's expiry, combining marks, emoji), and
//! every screen takes any keys and any paste, drawn at any size.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::screen::{key, model, render_at};

use crossterm::event::KeyCode;
use kassa::app::{Msg, ScreenId, update};
use kassa::i18n::Lang;
use kassa::money::{Amount, Currency};
use kassa::providers::wooppay::codec::Variant;
use kassa::validate::{self, WmField};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};

/// Text a cashier's keyboard, a paste or a hostile script may produce: anything printable,
/// and runs of the characters that sit near digits on the two layouts.
fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        "\\PC{0,24}",
        proptest::collection::vec(
            proptest::sample::select(vec![
                '0', '1', '2', '9', '.', ',', '/', '-', '+', ' ', '\u{a0}', 'ю', 'б', 'Ю', 'ё',
                'й', 'q', 'T', ':', '@', '€', '₸', '😀', '\u{301}', '\t', '\n', '\u{202e}', '%',
            ]),
            0..16,
        )
        .prop_map(|v| v.into_iter().collect()),
    ]
}

fn every_validator(s: &str) {
    let today = chrono::NaiveDate::from_ymd_opt(2026, 12, 1).unwrap();
    let now = today.and_hms_opt(12, 0, 0).unwrap();
    let _ = validate::wallet_login(s);
    let _ = validate::service_code(s);
    let _ = validate::utility_account(s);
    let _ = validate::wmid(s);
    let _ = validate::purse(s);
    let _ = validate::wm_text(s, WmField::Desc);
    let _ = validate::wm_text(s, WmField::Address);
    let _ = validate::wm_days(s);
    let _ = validate::card_number(s);
    let _ = validate::card_expiry(s, today);
    let _ = validate::cvv(s);
    let _ = validate::uz_phone(s);
    let _ = validate::card_holder(s);
    let _ = validate::card_token(s);
    let _ = validate::hold_id(s);
    let _ = validate::hold_minutes(s);
    let _ = validate::upay_service(s);
    let _ = validate::wooppay_phone(s);
    let _ = validate::wooppay_email(s);
    let _ = validate::wooppay_text(s);
    let _ = validate::wooppay_service(s);
    let _ = validate::wooppay_url(s);
    let _ = validate::wooppay_sms_code(s);
    let _ = validate::wooppay_death_date(s, now);
    for c in [
        Currency::Kzt,
        Currency::Uzs,
        Currency::Usd,
        Currency::Eur,
        Currency::Rub,
    ] {
        let _ = Amount::parse(s, c);
        let _ = Amount::from_wire_decimal(s, c);
    }
    let _ = kassa::flows::webmoney::check(&kassa::flows::webmoney::Form {
        wmid: s,
        purse: s,
        amount: s,
        desc: s,
        address: s,
        period: s,
        expiration: s,
    });
    for variant in [
        Variant::Plain,
        Variant::Card,
        Variant::Service,
        Variant::Mobile,
    ] {
        let _ = kassa::flows::wooppay::check(
            &kassa::flows::wooppay::Form {
                variant,
                amount: s,
                description: s,
                phone: s,
                email: s,
                service: s,
                death_date: s,
                add_info: s,
                back_url: s,
                request_url: s,
                card_forbidden: false,
            },
            now,
        );
    }
}

#[test]
fn the_texts_that_killed_the_console_are_refused_with_a_message() {
    let today = chrono::NaiveDate::from_ymd_opt(2026, 12, 1).unwrap();
    for s in ["1ю1", "ю1ю1", "1.1ю", "12ю", "１２/３０"] {
        assert!(validate::card_expiry(s, today).is_err(), "{s}");
        every_validator(s);
    }
}

#[test]
fn every_validator_and_form_step_takes_any_text() {
    let mut runner = TestRunner::new(Config {
        cases: 2_000,
        failure_persistence: None,
        ..Config::default()
    });
    runner
        .run(&text(), |s| {
            every_validator(&s);
            Ok(())
        })
        .unwrap();
}

/// What a cashier's hands (or a cat on the keyboard) can send a form.
#[derive(Debug, Clone)]
enum Input {
    Text(String),
    Key(KeyCode),
    Paste(String),
}

fn input() -> impl Strategy<Value = Input> {
    prop_oneof![
        4 => text().prop_map(Input::Text),
        3 => proptest::sample::select(vec![
            KeyCode::Backspace,
            KeyCode::Delete,
            KeyCode::Tab,
            KeyCode::BackTab,
            KeyCode::Left,
            KeyCode::Right,
            KeyCode::Home,
            KeyCode::End,
            KeyCode::Up,
            KeyCode::Down,
            KeyCode::Enter,
            KeyCode::PageUp,
            KeyCode::PageDown,
        ])
        .prop_map(Input::Key),
        1 => text().prop_map(Input::Paste),
    ]
}

#[test]
fn every_screen_takes_any_keys_and_pastes_at_any_size() {
    let mut runner = TestRunner::new(Config {
        cases: 300,
        failure_persistence: None,
        ..Config::default()
    });
    let strategy = (
        1u8..=9,
        any::<bool>(),
        proptest::collection::vec(input(), 1..24),
        (20u16..=140, 6u16..=45),
    );
    runner
        .run(&strategy, |(digit, en, inputs, (w, h))| {
            let mut m = model(if en { Lang::En } else { Lang::Ru });
            update(&mut m, key(KeyCode::Char(char::from(b'0' + digit))));
            for i in &inputs {
                match i {
                    Input::Text(t) => {
                        for c in t.chars() {
                            update(&mut m, key(KeyCode::Char(c)));
                        }
                    }
                    Input::Key(k) => {
                        update(&mut m, key(*k));
                    }
                    Input::Paste(t) => {
                        update(&mut m, Msg::Paste(t.clone()));
                    }
                }
                // Keys may leave the screen (q, Esc on a layout): back in, as a cashier would.
                if m.screen == ScreenId::Home {
                    update(&mut m, key(KeyCode::Char(char::from(b'0' + digit))));
                }
            }
            render_at(&m, w, h);
            render_at(&m, 80, 24);
            Ok(())
        })
        .unwrap();
}
