//! One durable journal commit: a new operation written as pending (WAL, synchronous=FULL,
//! so each commit waits for the disk), and a state transition. Durability is never traded
//! for the figure; commits per second = 1 / the time per commit.

#[path = "../tests/support/pg.rs"]
mod pg;

use criterion::{Criterion, criterion_group, criterion_main};
use kassa::journal::{Facts, Journal, Kind, NewOperation, Query, State, StatusFilter, now_ms};
use kassa::money::{Amount, Currency};

fn new_op(n: u64) -> NewOperation {
    NewOperation {
        id: format!("{{bench-{n}}}"),
        kind: Kind::AllpayCashIn,
        amount: Amount::from_minor(500_000, Currency::Kzt).unwrap_or_else(|_| unreachable!()),
        customer: "77072734954".into(),
        customer_name: Some("Иван Петрович Петров".into()),
        endpoint: "http://127.0.0.1:8089/allpay-public-soap/cash-in-transaction-management/v1.1"
            .into(),
        identity: "72222222221".into(),
        params: None,
    }
}

fn journal(c: &mut Criterion) {
    let dir = std::env::temp_dir().join(format!("kassa-bench-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let Ok(mut j) = Journal::open(&dir.join("bench.db")) else {
        eprintln!("cannot open a journal in {}", dir.display());
        return;
    };
    let mut n = 0u64;
    c.bench_function("journal/record_pending (durable commit)", |b| {
        b.iter(|| {
            n += 1;
            j.record_pending(&new_op(n), "bench", now_ms() + 60_000)
        })
    });
    let facts = Facts {
        provider_status: Some("COMPLETED".into()),
        ..Facts::default()
    };
    let mut m = 0u64;
    c.bench_function("journal/transition to completed (durable commit)", |b| {
        b.iter(|| {
            m += 1;
            let op = new_op(1_000_000 + m);
            let _ = j.record_pending(&op, "bench", now_ms() + 60_000);
            j.transition(&op.id, "bench", State::Completed, &facts)
        })
    });
    let _ = std::fs::remove_dir_all(&dir);
}

/// The same durable commit on a chain's PostgreSQL (synchronous_commit on, the journal's
/// advisory lock taken), on the server `KASSA_TEST_PG_URL` names or a throwaway one.
fn chain_journal(c: &mut Criterion) {
    let Some(url) = pg::database() else {
        return;
    };
    let at = kassa::journal::Location::Postgres(kassa::config::Secret::new(url));
    let Ok(mut j) = Journal::open_at(&at, "bench") else {
        eprintln!("cannot open the chain's journal");
        return;
    };
    let mut n = 0u64;
    c.bench_function("journal/postgresql record_pending (durable commit)", |b| {
        b.iter(|| {
            n += 1;
            j.record_pending(&new_op(n), "bench", now_ms() + 60_000)
        })
    });
}

/// A journal of 100,000 operations over 30 days (the rows are written in one transaction
/// straight into the schema the journal created; what is measured is the journal's reading).
fn big_journal(c: &mut Criterion) {
    let dir = std::env::temp_dir().join(format!("kassa-bench-big-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let path = dir.join("big.db");
    let Ok(j) = Journal::open(&path) else {
        return;
    };
    drop(j);
    let Ok(mut conn) = rusqlite::Connection::open(&path) else {
        return;
    };
    let now = now_ms();
    let kinds = [
        "allpay.cash_in",
        "allpay.pay",
        "webmoney.invoice",
        "upay.hold",
    ];
    let states = ["completed", "completed", "completed", "declined", "pending"];
    if let Ok(tx) = conn.transaction() {
        {
            let Ok(mut stmt) = tx.prepare(
                "INSERT INTO operations (id, kind, state, amount_minor, currency, customer, \
                 endpoint, identity, needs_reconciliation, created_at, updated_at) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, 'e', 'i', ?7, ?8, ?8)",
            ) else {
                return;
            };
            for i in 0..100_000i64 {
                let kind = kinds[(i % 4) as usize];
                let currency = match kind {
                    "webmoney.invoice" => "USD",
                    "upay.hold" => "UZS",
                    _ => "KZT",
                };
                let _ = stmt.execute(rusqlite::params![
                    format!("op-{i}"),
                    kind,
                    states[(i % 5) as usize],
                    10_000 + (i % 977) * 100,
                    currency,
                    format!("7707{:07}", i % 5_000),
                    i64::from(i % 500 == 0),
                    now - (i * 26_000),
                ]);
            }
        }
        let _ = tx.commit();
    }
    let Ok(j) = Journal::open(&path) else {
        return;
    };
    let today = chrono::Local::now().date_naive();
    let (from, _) = kassa::report::day_bounds(today);
    let mut g = c.benchmark_group("journal of 100k operations");
    g.bench_function("list, newest 500", |b| {
        b.iter(|| {
            j.query(&Query {
                limit: 500,
                ..Query::default()
            })
        })
    });
    g.bench_function("filter: needs reconciliation, all days", |b| {
        b.iter(|| {
            j.query(&Query {
                status: StatusFilter::NeedsReconciliation,
                limit: 500,
                ..Query::default()
            })
        })
    });
    g.bench_function("filter: allpay pending today", |b| {
        b.iter(|| {
            j.query(&Query {
                status: StatusFilter::Pending,
                provider: Some("allpay".into()),
                from: Some(from),
                limit: 500,
                ..Query::default()
            })
        })
    });
    g.bench_function("search a customer, all days", |b| {
        b.iter(|| {
            j.query(&Query {
                search: Some("77070004242".into()),
                limit: 500,
                ..Query::default()
            })
        })
    });
    g.bench_function("report of today", |b| {
        b.iter(|| kassa::report::Report::build(&j, today, None))
    });
    g.finish();
    drop(j);
    let _ = std::fs::remove_dir_all(&dir);
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(30);
    targets = journal, chain_journal, big_journal
}
criterion_main!(benches);
