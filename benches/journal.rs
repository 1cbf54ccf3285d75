//! One durable journal commit: a new operation written as pending (WAL, synchronous=FULL,
//! so each commit waits for the disk), and a state transition. Durability is never traded
//! for the figure; commits per second = 1 / the time per commit.

use criterion::{Criterion, criterion_group, criterion_main};
use kassa::journal::{Facts, Journal, Kind, NewOperation, State, now_ms};
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

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(30);
    targets = journal
}
criterion_main!(benches);
