//! The cashier's day: a report built from flows run against the emulator (totals per kind,
//! state and currency; cash at the till), the shift's arithmetic through the worker, a
//! person's resolution of a row that waits for reconciliation, and the screens (shift,
//! closing with pending work, report, detail) in ru and en.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common;
use crate::screen::{self, GUID, T0, model, press, render, render_at, snap, type_text, worker};

use common::{Harness, cash_in, kassa, payment, wait_for, write_config};
use crossterm::event::KeyCode;
use kassa::app::ScreenId;
use kassa::app::screens::day::Step;
use kassa::i18n::Lang;
use kassa::journal::{Shift, State};
use kassa::worker::{Command, Event};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_report_sums_what_the_flows_did_and_the_shift_counts_the_cash() {
    let h = Harness::start().await;
    let (worker, mut events) = h.worker();
    worker.send(Command::OpenShift { opening: 1_000_000 });
    let (shift, _) = wait_for(&mut events, 10, |e| match e {
        Event::Shift {
            shift: Some(s),
            taken,
        } => Some((s, taken)),
        _ => None,
    })
    .await;
    assert_eq!(shift.opening, 1_000_000);
    // Two top-ups completed, one declined (login 77000000000 is unknown).
    for (login, amount) in [
        ("77072734954", "5 000"),
        ("77072734954", "2 500,50"),
        ("77000000000", "100"),
    ] {
        let mut p = payment(login, amount);
        p.id = kassa::ids::new_guid();
        let op = cash_in(&worker, &mut events, p).await;
        assert!(op.state.is_final(), "{op:?}");
    }
    worker.send(Command::CloseShift {
        counted: 1_750_000,
        note: None,
    });
    let closed: Shift = wait_for(&mut events, 10, |e| match e {
        Event::ShiftClosed { shift } => Some(shift),
        _ => None,
    })
    .await;
    assert_eq!(closed.expected, Some(1_000_000 + 500_000 + 250_050));
    assert_eq!(closed.difference(), Some(-50), "50 tiyn short");
    worker.stop().await;

    let config = write_config(h.dir.path(), &h.emulator.base_url());
    let r = kassa(&[
        "--config",
        &config.display().to_string(),
        "report",
        "--json",
    ])
    .await;
    assert_eq!(r.code, 0, "{r:?}");
    let v = r.json();
    let lines = v["lines"].as_array().unwrap();
    let completed = lines
        .iter()
        .find(|l| l["kind"] == "allpay.cash_in" && l["state"] == "completed")
        .unwrap();
    assert_eq!(completed["count"], 2);
    assert_eq!(completed["total"], "7500.50");
    assert_eq!(completed["currency"], "KZT");
    assert!(lines.iter().any(|l| l["state"] == "declined"));
    assert_eq!(v["cash_at_till"]["total"], "7500.50");
    assert_eq!(v["shifts"][0]["difference"], "-0.50");
    assert_eq!(v["pending"], 0);
    let r = kassa(&[
        "--config",
        &config.display().to_string(),
        "report",
        "--date",
        "2026-13-01",
    ])
    .await;
    assert_eq!(r.code, 1);
    assert!(r.stderr.contains("YYYY-MM-DD"), "{}", r.stderr);
    let r = kassa(&["--config", &config.display().to_string(), "report"]).await;
    assert_eq!(r.code, 0);
    assert!(
        r.stdout.contains("Cash taken at the till: 7 500,50 ₸"),
        "{}",
        r.stdout
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_person_records_the_outcome_of_a_row_that_needs_reconciliation() {
    let h = Harness::start().await;
    let (worker, mut events) = h.worker();
    // A WebMoney invoice whose reply is lost waits for a person (X1 does not deduplicate).
    h.emulator.queue_faults("reset").unwrap();
    let inv = kassa::flows::webmoney::WmInvoice {
        orderid: Some(77),
        customer_wmid: "405002833238".into(),
        purse: kassa::emulator::webmoney::DEMO_PURSE.into(),
        amount: kassa::money::Amount::parse("10", kassa::money::Currency::Usd).unwrap(),
        desc: "x".into(),
        address: String::new(),
        period: 0,
        expiration: 0,
    };
    worker.send(Command::Start {
        request: kassa::flows::Request::Webmoney(inv),
        allow_duplicate: true,
    });
    let op = wait_for(&mut events, 20, |e| match e {
        Event::NeedsReconciliation { op } => Some(op),
        _ => None,
    })
    .await;
    worker.send(Command::ResolveManually {
        id: op.id.clone(),
        to: State::Completed,
        note: "WebMoney support: invoice 1234 exists".into(),
    });
    let done = wait_for(&mut events, 10, |e| match e {
        Event::Finished { op } => Some(op),
        _ => None,
    })
    .await;
    assert_eq!(done.state, State::Completed);
    assert!(!done.needs_reconciliation);
    let trail = h.journal().events(&op.id).unwrap();
    assert!(
        trail
            .iter()
            .any(|e| e.kind == "manual" && e.detail.contains("1234"))
    );
    // A final row is never resolved again.
    worker.send(Command::ResolveManually {
        id: op.id.clone(),
        to: State::Declined,
        note: "no".into(),
    });
    let key = wait_for(&mut events, 10, |e| match e {
        Event::Trouble { key, .. } => Some(key),
        _ => None,
    })
    .await;
    assert_eq!(key, "resolve.not_allowed");
    worker.stop().await;
}

// ---- screens ----------------------------------------------------------------------------

fn open_shift() -> Shift {
    Shift {
        id: 3,
        opened_at: T0,
        opening: 1_000_000,
        closed_at: None,
        counted: None,
        expected: None,
        note: None,
    }
}

#[test]
fn a_shift_opens_and_closes_asking_first_while_work_is_pending() {
    let mut m = model(Lang::En);
    let cmds = press(&mut m, KeyCode::Char('7'));
    assert_eq!(m.screen, ScreenId::Day);
    assert!(matches!(cmds[..], [Command::LoadShift]));
    press(&mut m, KeyCode::Char('o'));
    type_text(&mut m, "10 000");
    let cmds = press(&mut m, KeyCode::Enter);
    assert!(matches!(
        cmds[..],
        [Command::OpenShift { opening: 1_000_000 }]
    ));
    worker(
        &mut m,
        Event::Shift {
            shift: Some(open_shift()),
            taken: 750_050,
        },
    );
    worker(
        &mut m,
        Event::Counts {
            pending: 2,
            recon: 1,
            active: 0,
        },
    );
    press(&mut m, KeyCode::Char('c'));
    type_text(&mut m, "17 500,00");
    assert!(press(&mut m, KeyCode::Enter).is_empty(), "asked first");
    assert!(matches!(m.day.step, Step::ClosePending(1_750_000)));
    let cmds = press(&mut m, KeyCode::Char('y'));
    assert!(matches!(
        &cmds[..],
        [Command::CloseShift {
            counted: 1_750_000,
            note: Some(_)
        }]
    ));
    // A bad amount is refused with a message, nothing sent.
    let mut bad = model(Lang::En);
    press(&mut bad, KeyCode::Char('7'));
    press(&mut bad, KeyCode::Char('o'));
    press(&mut bad, KeyCode::Char('x'));
    assert!(press(&mut bad, KeyCode::Enter).is_empty());
    assert!(bad.day.error.is_some());
}

#[test]
fn day_snapshots() {
    for lang in [Lang::Ru, Lang::En] {
        let mut m = model(lang);
        press(&mut m, KeyCode::Char('7'));
        snap!("shift_none", &m);
        worker(
            &mut m,
            Event::Shift {
                shift: Some(open_shift()),
                taken: 750_050,
            },
        );
        worker(
            &mut m,
            Event::Counts {
                pending: 1,
                recon: 0,
                active: 0,
            },
        );
        snap!("shift_open", &m);
        let mut closing = m.clone();
        press(&mut closing, KeyCode::Char('c'));
        type_text(&mut closing, "17 500");
        press(&mut closing, KeyCode::Enter);
        snap!("shift_close_pending", &closing);
        let mut closed = m.clone();
        worker(
            &mut closed,
            Event::ShiftClosed {
                shift: Shift {
                    closed_at: Some(T0 + 8 * 3_600_000),
                    counted: Some(1_749_950),
                    expected: Some(1_750_050),
                    ..open_shift()
                },
            },
        );
        snap!("shift_closed", &closed);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn receipts_are_saved_and_printed_and_the_journal_exported_from_the_console() {
    let mut h = Harness::start().await;
    let printer = h.dir.path().join("lp0");
    std::fs::write(&printer, b"").unwrap();
    h.settings.printer = Some(kassa::config::PrinterSettings {
        target: kassa::config::PrinterTarget::Device(printer.clone()),
        paper: kassa::config::PaperWidth::Mm58,
    });
    let (worker, mut events) = h.worker();
    let op = cash_in(&worker, &mut events, payment("77072734954", "5 000")).await;
    assert_eq!(op.state, State::Completed);

    // The cashier on the result screen presses s, then p.
    let mut m = model(Lang::Ru);
    m.screen = ScreenId::CashIn;
    m.cash_in.step = kassa::app::screens::cash_in::Step::Done(Box::new(op.clone()));
    for (key, print) in [('s', false), ('p', true)] {
        let cmds = press(&mut m, KeyCode::Char(key));
        assert!(
            matches!(&cmds[..], [Command::Receipt { id, print: p }] if *id == op.id && *p == print),
            "{cmds:?}"
        );
        worker.send(cmds.into_iter().next().unwrap());
        let said = wait_for(&mut events, 10, |e| match e {
            Event::Said { outcome } => Some(outcome),
            _ => None,
        })
        .await;
        // (`worker` here is the running worker: the screen gets the event by its path.)
        screen::worker(
            &mut m,
            Event::Said {
                outcome: said.clone(),
            },
        );
        let text = said.unwrap();
        if !print {
            let path = text.split(": ").nth(1).unwrap();
            let saved = std::fs::read_to_string(path.trim()).unwrap();
            assert!(saved.contains("5 000,00 ₸"), "{saved}");
            assert!(saved.contains(&op.id));
        }
    }
    let bytes = std::fs::read(&printer).unwrap();
    assert!(bytes.starts_with(b"\x1b@"), "ESC @ first");
    assert!(bytes.windows(3).any(|w| w == b"\x1dVA"), "and a cut");
    assert!(
        render(&m).contains("печать"),
        "p and s are offered on the result"
    );

    // e on the journal screen writes the CSV beside the journal.
    let mut j = model(Lang::En);
    press(&mut j, KeyCode::Char('6'));
    let cmds = press(&mut j, KeyCode::Char('e'));
    assert!(matches!(&cmds[..], [Command::Export { from: Some(_) }]));
    worker.send(cmds.into_iter().next().unwrap());
    let said = wait_for(&mut events, 10, |e| match e {
        Event::Said { outcome } => Some(outcome),
        _ => None,
    })
    .await
    .unwrap();
    let path = said.split(" to ").nth(1).unwrap().trim();
    let csv = std::fs::read_to_string(path).unwrap();
    assert!(csv.starts_with('\u{feff}'));
    assert!(csv.contains(&op.id));
    worker.stop().await;
}

#[test]
fn report_and_resolution_snapshots() {
    use kassa::journal::{Kind, Total};
    use kassa::money::Currency;
    let report = kassa::report::Report {
        date: chrono::NaiveDate::from_ymd_opt(2026, 11, 23).unwrap(),
        totals: vec![
            Total {
                kind: Kind::AllpayCashIn,
                state: State::Completed,
                currency: Currency::Kzt,
                count: 12,
                minor: 15_250_050,
            },
            Total {
                kind: Kind::AllpayPay,
                state: State::Declined,
                currency: Currency::Kzt,
                count: 1,
                minor: 25_000,
            },
            Total {
                kind: Kind::UpayHold,
                state: State::Completed,
                currency: Currency::Uzs,
                count: 2,
                minor: 20_000_000,
            },
            Total {
                kind: Kind::WebmoneyInvoice,
                state: State::Completed,
                currency: Currency::Usd,
                count: 1,
                minor: 1_050,
            },
        ],
        by_hour: vec![
            (9, Currency::Kzt, 2_000_000),
            (10, Currency::Kzt, 7_500_050),
            (11, Currency::Kzt, 5_750_000),
            (11, Currency::Uzs, 20_000_000),
        ],
        pending: Vec::new(),
        pending_count: 0,
        cash_in: 15_250_050,
        cash_cash_in: 15_250_050,
        cash_utility: 0,
        shifts: Vec::new(),
    };
    for lang in [Lang::Ru, Lang::En] {
        let mut m = model(lang);
        press(&mut m, KeyCode::Char('7'));
        worker(
            &mut m,
            Event::Report {
                report: Box::new(report.clone()),
            },
        );
        assert!(matches!(m.day.step, Step::Report(_)));
        snap!("report", &m);
        // The whole day in the chart at any width, and a long report scrolls to its end.
        for (w, h) in [(60, 20), (120, 40)] {
            let shown = render_at(&m, w, h);
            assert!(
                shown.contains("00") && shown.contains("22"),
                "{w}x{h}:\n{shown}"
            );
        }
        let mut long = m.clone();
        let mut many = report.clone();
        many.pending_count = 30;
        many.pending = (0..30)
            .map(|i| kassa::journal::Operation {
                till: None,
                id: format!("{{pending-{i}}}"),
                kind: Kind::AllpayCashIn,
                state: State::Pending,
                amount: kassa::money::Amount::from_minor(100_000, Currency::Kzt).unwrap(),
                customer: "77072734954".into(),
                customer_name: None,
                endpoint: "demo-emulator/x".into(),
                identity: "72222222221".into(),
                provider_status: None,
                provider_message: None,
                provider_ref: None,
                detail: None,
                needs_reconciliation: false,
                recon_reason: None,
                link: None,
                message_key: None,
                note: None,
                attempts: 1,
                created_at: T0,
                updated_at: T0,
                final_at: None,
                params: None,
            })
            .collect();
        worker(
            &mut long,
            Event::Report {
                report: Box::new(many),
            },
        );
        assert!(
            !render(&long).contains("{pending-29}"),
            "the end is below the screen"
        );
        press(&mut long, KeyCode::End);
        let end = render(&long);
        assert!(end.contains("{pending-29}"), "{end}");
        press(&mut long, KeyCode::Home);
        assert_eq!(long.day.scroll, 0);
        press(&mut long, KeyCode::PageDown);
        assert_eq!(long.day.scroll, 10);

        // A row that needs reconciliation: m, then what the provider said, then a note.
        let mut d = model(lang);
        let op = kassa::journal::Operation {
            till: None,
            id: GUID.into(),
            kind: Kind::AllpayCashIn,
            state: State::Pending,
            amount: kassa::money::Amount::from_minor(500_000, Currency::Kzt).unwrap(),
            customer: "77072734954".into(),
            customer_name: None,
            endpoint: "demo-emulator/x".into(),
            identity: "72222222221".into(),
            provider_status: None,
            provider_message: None,
            provider_ref: None,
            detail: None,
            needs_reconciliation: true,
            recon_reason: Some("recon.unknown_outcome".into()),
            link: None,
            message_key: None,
            note: None,
            attempts: 3,
            created_at: T0,
            updated_at: T0,
            final_at: None,
            params: None,
        };
        d.screen = ScreenId::Detail;
        d.detail.open(op);
        press(&mut d, KeyCode::Char('m'));
        press(&mut d, KeyCode::Char('c'));
        type_text(&mut d, "Allpay: paid, tx 77");
        snap!("resolve", &d);
        let cmds = press(&mut d, KeyCode::Enter);
        assert!(matches!(
            &cmds[..],
            [Command::ResolveManually { to: State::Completed, note, .. }] if note == "Allpay: paid, tx 77"
        ));

        // Or the provider's id: typed first, then the note; nothing is sent before both.
        let mut by_id = model(lang);
        by_id.screen = ScreenId::Detail;
        by_id.detail.open(d.detail.op.clone().unwrap());
        press(&mut by_id, KeyCode::Char('m'));
        press(&mut by_id, KeyCode::Char('i'));
        type_text(&mut by_id, "288638287");
        assert!(press(&mut by_id, KeyCode::Enter).is_empty());
        assert!(
            render(&by_id).contains("288638287"),
            "the id stays in sight"
        );
        assert!(
            press(&mut by_id, KeyCode::Enter).is_empty(),
            "a note is needed"
        );
        type_text(&mut by_id, "merchant cabinet");
        let cmds = press(&mut by_id, KeyCode::Enter);
        assert!(matches!(
            &cmds[..],
            [Command::ResumeWithRef { provider_ref, note, .. }]
                if provider_ref == "288638287" && note == "merchant cabinet"
        ));
    }
}
