//! `kassa journal export --csv`: a journal built by running flows against the emulator (and
//! two rows recorded directly, with the awkward characters a provider or a cashier may
//! bring), exported by the binary, read back and compared field by field; the BOM, RFC 4180
//! quoting, the date filter and the exit codes.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common;

use common::{Harness, cash_in, kassa, payment, write_config};
use kassa::emulator::allpay_cash_in as magic;
use kassa::export::COLUMNS;
use kassa::format::local_rfc3339;
use kassa::journal::{Facts, Journal, Kind, ListFilter, NewOperation, Operation, State, now_ms};
use kassa::money::{Amount, Currency};

struct Exported {
    bytes: Vec<u8>,
    header: Vec<String>,
    rows: Vec<Vec<String>>,
}

fn read_csv(path: &std::path::Path) -> Exported {
    let bytes = std::fs::read(path).unwrap();
    assert!(bytes.starts_with(b"\xEF\xBB\xBF"), "UTF-8 with a BOM");
    let mut r = csv::ReaderBuilder::new()
        .has_headers(false)
        .from_reader(&bytes[3..]);
    let mut all: Vec<Vec<String>> = r
        .records()
        .map(|rec| rec.unwrap().iter().map(str::to_string).collect())
        .collect();
    let header = all.remove(0);
    Exported {
        bytes,
        header,
        rows: all,
    }
}

/// Every column of `op` as the export must write it.
fn expected(op: &Operation) -> Vec<String> {
    let minor = op.amount.minor();
    vec![
        op.id.clone(),
        local_rfc3339(op.created_at),
        op.final_at.map(local_rfc3339).unwrap_or_default(),
        op.kind.tag().into(),
        op.kind.provider().into(),
        op.state.tag().into(),
        op.needs_reconciliation.to_string(),
        format!("{}.{:02}", minor / 100, minor % 100),
        op.amount.currency().code().into(),
        op.customer.clone(),
        op.customer_name.clone().unwrap_or_default(),
        op.provider_status.clone().unwrap_or_default(),
        op.provider_message.clone().unwrap_or_default(),
        op.shown_ref().unwrap_or_default(),
        op.attempts.to_string(),
    ]
}

/// Two rows recorded straight through the journal: a card registration whose CardToken must
/// come out masked, and a payment whose name and message need quoting.
fn record_awkward_rows(j: &mut Journal) {
    let card = NewOperation {
        id: "card-1".into(),
        kind: Kind::UpayCard,
        amount: Amount::none(Currency::Uzs),
        customer: "860012******2345".into(),
        customer_name: None,
        endpoint: "http://x/upay".into(),
        identity: "partner".into(),
        params: None,
    };
    j.record_pending(&card, "t", now_ms() + 60_000).unwrap();
    j.transition(
        "card-1",
        "t",
        State::Issued,
        &Facts {
            provider_ref: Some("TOKEN-abcdef-123456".into()),
            ..Facts::default()
        },
    )
    .unwrap();
    let odd = NewOperation {
        id: "{odd}".into(),
        kind: Kind::AllpayCashIn,
        amount: Amount::from_minor(123_405, Currency::Kzt).unwrap(),
        customer: "77070000000".into(),
        customer_name: Some("Петров, \"Пётр\"\r\nвторая строка".into()),
        endpoint: "http://x/cash-in".into(),
        identity: "72222222221".into(),
        params: None,
    };
    j.record_pending(&odd, "t", now_ms() + 60_000).unwrap();
    j.transition(
        "{odd}",
        "t",
        State::Declined,
        &Facts {
            provider_status: Some("DECLINED".into()),
            provider_message: Some("Недостаточно средств; код 51, повторите".into()),
            ..Facts::default()
        },
    )
    .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn export_reads_back_field_by_field_oldest_first() {
    let h = Harness::start().await;
    let (worker, mut events) = h.worker();
    let a = cash_in(&worker, &mut events, payment("77072734954", "1 000,50")).await;
    let b = cash_in(&worker, &mut events, payment(magic::DECLINE, "250")).await;
    let c = cash_in(&worker, &mut events, payment("77071112233", "7")).await;
    worker.stop().await;
    assert_eq!(
        [a.state, b.state, c.state],
        [State::Completed, State::Declined, State::Completed]
    );
    {
        let mut j = h.journal();
        record_awkward_rows(&mut j);
    }
    let config = write_config(h.dir.path(), &h.emulator.base_url());
    let out = h.dir.path().join("export.csv");
    let r = kassa(&[
        "--config",
        config.to_str().unwrap(),
        "journal",
        "export",
        "--csv",
        out.to_str().unwrap(),
    ])
    .await;
    assert_eq!(r.code, 0, "{r:?}");
    assert!(r.stdout.contains("5 operations exported"), "{r:?}");

    let e = read_csv(&out);
    assert_eq!(e.header, COLUMNS);
    // Oldest first: the journal lists newest first.
    let mut ops = h.journal().list(&ListFilter::default()).unwrap();
    ops.reverse();
    assert_eq!(ops.len(), 5);
    let want: Vec<Vec<String>> = ops.iter().map(expected).collect();
    assert_eq!(e.rows, want);

    // The amounts, literally: decimals with a dot, two places, no float.
    let amounts: Vec<&str> = e.rows.iter().map(|r| r[7].as_str()).collect();
    assert_eq!(amounts, ["1000.50", "250.00", "7.00", "0.00", "1234.05"]);
    // The CardToken only by its ends; the whole token is nowhere in the file.
    let card = e.rows.iter().find(|r| r[0] == "card-1").unwrap();
    assert_eq!(card[13], "TOKE…3456");
    let text = String::from_utf8(e.bytes.clone()).unwrap();
    assert!(!text.contains("TOKEN-abcdef-123456"));
    // RFC 4180: CRLF between records; a field with a comma, a quote or a line break in
    // quotes, its quotes doubled.
    assert!(text.starts_with("\u{feff}id,created_at,final_at,kind,provider,state,"));
    assert!(text.contains("attempts\r\n"));
    assert!(
        text.contains(",\"Петров, \"\"Пётр\"\"\r\nвторая строка\","),
        "{text}"
    );
    assert!(text.contains(",\"Недостаточно средств; код 51, повторите\","));
    assert!(text.ends_with("\r\n"));
    // Times are RFC 3339 with the offset; the declined one has its final time too.
    let created = chrono::DateTime::parse_from_rfc3339(&e.rows[0][1]).unwrap();
    assert_eq!(created.timestamp_millis() / 1000, ops[0].created_at / 1000);
    assert!(!e.rows[1][2].is_empty());
    assert_eq!(
        e.rows[3][2], "",
        "an issued card registration has no final time"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn from_and_to_are_whole_local_days_and_bad_ones_are_exit_1() {
    let h = Harness::start().await;
    let (worker, mut events) = h.worker();
    let op = cash_in(&worker, &mut events, payment("77072734954", "100")).await;
    worker.stop().await;
    let config = write_config(h.dir.path(), &h.emulator.base_url());
    let config = config.to_str().unwrap();
    // The day the row was made, in local time, and the days around it.
    let made = chrono::DateTime::from_timestamp_millis(op.created_at)
        .unwrap()
        .with_timezone(&chrono::Local)
        .date_naive();
    let day = |d: chrono::NaiveDate| d.format("%Y-%m-%d").to_string();
    let (today, yesterday, tomorrow) = (
        day(made),
        day(made.pred_opt().unwrap()),
        day(made.succ_opt().unwrap()),
    );
    let out = h.dir.path().join("day.csv");
    let out_s = out.to_str().unwrap();
    let export = |extra: Vec<String>| {
        let mut args: Vec<String> = ["--config", config, "journal", "export", "--csv", out_s]
            .iter()
            .map(|s| s.to_string())
            .collect();
        args.extend(extra);
        async move {
            let a: Vec<&str> = args.iter().map(String::as_str).collect();
            kassa(&a).await
        }
    };
    for (extra, rows) in [
        (vec!["--from", &today, "--to", &today], 1),
        (vec!["--from", &yesterday, "--to", &today], 1),
        (vec!["--to", &today], 1),
        (vec!["--from", &today], 1),
        (vec!["--to", &yesterday], 0),
        (vec!["--from", &tomorrow], 0),
    ] {
        let extra: Vec<String> = extra.iter().map(|s| s.to_string()).collect();
        let mut with_json = extra.clone();
        with_json.push("--json".into());
        let r = export(with_json).await;
        assert_eq!(r.code, 0, "{extra:?}: {r:?}");
        assert_eq!(r.json()["operations"], rows, "{extra:?}");
        let e = read_csv(&out);
        assert_eq!(e.header, COLUMNS, "the header is there even with no rows");
        assert_eq!(e.rows.len(), rows, "{extra:?}");
    }

    // Bad dates and a range the wrong way round: exit 1, a message, no file touched.
    std::fs::remove_file(&out).unwrap();
    for (extra, words) in [
        (vec!["--from", "2026-13-01"], "YYYY-MM-DD"),
        (vec!["--to", "23.11.2026"], "--to 23.11.2026"),
        (vec!["--from", &tomorrow, "--to", &today], "is after"),
    ] {
        let extra: Vec<String> = extra.iter().map(|s| s.to_string()).collect();
        let r = export(extra.clone()).await;
        assert_eq!(r.code, 1, "{extra:?}: {r:?}");
        assert!(r.stderr.contains(words), "{extra:?}: {r:?}");
        assert!(!out.exists());
    }
    let r = kassa(&[
        "--config", config, "--lang", "ru", "journal", "export", "--csv", out_s, "--from",
        "2026-1-5",
    ])
    .await;
    assert_eq!(r.code, 1);
    assert!(r.stderr.contains("ГГГГ-ММ-ДД"), "{r:?}");
    // No --csv: a usage error, exit 1.
    let r = kassa(&["--config", config, "journal", "export"]).await;
    assert_eq!(r.code, 1, "{r:?}");
    // A file that cannot be written: exit 1, and no half file left beside it.
    let nowhere = h.dir.path().join("no-such-dir").join("x.csv");
    let r = kassa(&[
        "--config",
        config,
        "journal",
        "export",
        "--csv",
        nowhere.to_str().unwrap(),
    ])
    .await;
    assert_eq!(r.code, 1, "{r:?}");
    assert!(r.stderr.contains("cannot write"), "{r:?}");
    let dir = h.dir.path().join("ro");
    std::fs::create_dir(&dir).unwrap();
    let r = kassa(&[
        "--config",
        config,
        "journal",
        "export",
        "--csv",
        dir.to_str().unwrap(),
    ])
    .await;
    assert_eq!(r.code, 1, "a directory is not a file: {r:?}");
    let leftovers: Vec<_> = std::fs::read_dir(h.dir.path())
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().ends_with(".part"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}
