//! The crash campaign (issue 9): for every money flow, `kassa` runs headless as a child
//! process against the emulator and is killed with SIGKILL at random moments: right after
//! it starts (before anything is sent), once its request has reached the emulator (the
//! ledger shows it; slow replies, by a `.53` amount or a queued `slow` fault, widen the
//! "arrived, no reply yet" window), a few milliseconds later (the reply read, its journal
//! write under way or just done), or anywhere in a normal run's span. After the kills some
//! commands are run again with the same id (the cashier retrying) and sometimes killed
//! again, `kassa journal resume` is sometimes killed too, and a last `journal resume`
//! finishes everything. While a hold is being captured, checks of the same hold run (and are
//! sometimes killed) beside it: no answer of theirs may move the capture back to held.
//! Then the emulator's ledger is held against the journal: every
//! operation is final, or waits for reconciliation (only where repeating is not safe, and
//! then the ledger has it at most once); nothing is charged twice and nothing is lost (every
//! committed row the ledger has agrees with it; nothing in the ledger lacks a journal row).
//!
//! `cargo test --test it crash_campaign::` is the short run (about 48 kills). The long one:
//! `KASSA_CRASH_KILLS=400 cargo test --release --test it crash_campaign:: -- --nocapture`
//! (`scripts/crash-campaign.sh`). `KASSA_CRASH_SEED=N` repeats a run's random choices (the
//! seed is printed first and in every failure); the timing of processes is not repeatable.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common;

use std::collections::{HashMap, HashSet};
use std::fmt::Write as _;
use std::sync::Arc;
use std::time::Duration;

use common::{Harness, kassa, kassa_child, kassa_stdin, write_config};
use kassa::journal::{Kind, ListFilter, Operation, State};
use kassa::money::{Amount, Currency};
use serde_json::Value;
use tokio::time::Instant;

/// Kills in `cargo test` when `KASSA_CRASH_KILLS` is not set.
const DEFAULT_KILLS: u32 = 48;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Flow {
    CashIn,
    Pay,
    WebMoney,
    Wooppay,
    HoldCreate,
    HoldCapture,
}

const FLOWS: [Flow; 6] = [
    Flow::CashIn,
    Flow::Pay,
    Flow::WebMoney,
    Flow::Wooppay,
    Flow::HoldCreate,
    Flow::HoldCapture,
];

impl Flow {
    fn name(self) -> &'static str {
        match self {
            Flow::CashIn => "allpay cash-in",
            Flow::Pay => "allpay pay",
            Flow::WebMoney => "webmoney invoice",
            Flow::Wooppay => "wooppay invoice",
            Flow::HoldCreate => "upay hold create",
            Flow::HoldCapture => "upay hold capture",
        }
    }

    fn kind(self) -> Kind {
        match self {
            Flow::CashIn => Kind::AllpayCashIn,
            Flow::Pay => Kind::AllpayPay,
            Flow::WebMoney => Kind::WebmoneyInvoice,
            Flow::Wooppay => Kind::WooppayInvoice,
            Flow::HoldCreate | Flow::HoldCapture => Kind::UpayHold,
        }
    }

    /// Where an unknown outcome may end waiting for a person: the kinds that are not safe to
    /// repeat (X1 invoice, hold create), and a Wooppay create answered 221 after its reply
    /// was lost (the invoice exists, its operationId is not known).
    fn may_reconcile(self) -> bool {
        matches!(self, Flow::WebMoney | Flow::Wooppay | Flow::HoldCreate)
    }
}

/// One operation of the campaign: the client id it is sent with, and what makes it unique
/// in the emulator's ledger (its amount, description, account or hold).
#[derive(Clone, Debug)]
struct Op {
    n: u32,
    /// `--id` (for a capture: the hold's journal row).
    id: String,
    amount: String,
    /// The amount in minor units (cash-in, pay, Wooppay: the ledger key).
    minor: i64,
    /// Hold create: a unique account; capture: the hold's id at UPay.
    key: String,
    /// Its reply comes late (`.53`, or a queued `slow` fault for a capture).
    slow: bool,
}

/// Where a kill landed, as the journal and the ledger show it afterwards.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Phase {
    /// No row committed yet (a capture: the hold not yet moved to pending).
    BeforeRow,
    /// The row committed as pending, nothing reached the emulator.
    BeforeSend,
    /// The request reached the emulator; no reply journaled (none yet, or being written).
    InFlight,
    /// The reply was journaled; the process was polling, waiting or finishing.
    AfterReply,
}

#[derive(Debug, Default, Clone)]
struct Stats {
    kills: u32,
    resume_kills: u32,
    ops: u32,
    final_: u32,
    pending: u32,
    recon: u32,
    unsent: u32,
    lost: u32,
    doubled: u32,
    phases: [u32; 4],
    slow_kills: u32,
    /// Hold checks run (or killed) while a capture of the same hold was under way.
    checks: u32,
}

impl Stats {
    fn phase(&mut self, p: Phase) {
        self.phases[p as usize] += 1;
    }
}

/// A flow's world: its own emulator, journal and config.
struct World {
    flow: Flow,
    h: Harness,
    cfg: String,
    http: reqwest::Client,
    /// The journal id of the confirmed UPay card (UPay flows).
    card: String,
    /// Accounts of holds to capture whose placing did not end held (a timeout under load):
    /// not part of the campaign.
    skipped: std::sync::Mutex<Vec<String>>,
}

impl World {
    async fn ledger(&self) -> Value {
        let text = self
            .http
            .get(format!("{}/_emulator/ledger", self.h.emulator.base_url()))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        serde_json::from_str(&text).unwrap()
    }

    /// How many of `op`'s sending requests the emulator has seen.
    async fn arrivals(&self, op: &Op) -> u32 {
        let e = &self.h.emulator;
        match self.flow {
            Flow::CashIn => e
                .cash_in_ledger()
                .iter()
                .filter(|x| same_guid(&x.guid, &op.id))
                .map(|x| x.requests)
                .sum(),
            Flow::Pay => e
                .pay_ledger()
                .iter()
                .filter(|x| x.rrn == op.id)
                .map(|x| x.requests)
                .sum(),
            Flow::WebMoney => e
                .webmoney_ledger()
                .iter()
                .filter(|x| x.orderid == op.id)
                .count() as u32,
            Flow::Wooppay => e
                .wooppay_ledger()
                .map(|l| {
                    l.invoices
                        .iter()
                        .filter(|i| i.reference_id == op.id)
                        .map(|i| i.creates)
                        .sum()
                })
                .unwrap_or(0),
            Flow::HoldCreate | Flow::HoldCapture => {
                let v = self.ledger().await;
                let holds = v["upay_holds"].as_array().cloned().unwrap_or_default();
                if self.flow == Flow::HoldCreate {
                    holds
                        .iter()
                        .filter(|x| x["account"] == op.key.as_str())
                        .count() as u32
                } else {
                    holds
                        .iter()
                        .filter(|x| x["hold_id"] == op.key.as_str())
                        .map(|x| x["captures"].as_u64().unwrap_or(0) as u32)
                        .sum()
                }
            }
        }
    }

    async fn arrivals_of(&self, ops: &[Op]) -> Vec<u32> {
        let mut out = Vec::with_capacity(ops.len());
        for op in ops {
            out.push(self.arrivals(op).await);
        }
        out
    }

    /// The command that sends `op` (the same every time: a retry names the same id).
    fn args(&self, op: &Op) -> Vec<String> {
        let mut a: Vec<String> = vec!["--config".into(), self.cfg.clone()];
        let more: Vec<String> = match self.flow {
            Flow::CashIn => vec![
                "allpay".into(),
                "cash-in".into(),
                "77072734954".into(),
                op.amount.clone(),
                "--new".into(),
                "--id".into(),
                op.id.clone(),
            ],
            Flow::Pay => vec![
                "allpay".into(),
                "pay".into(),
                "--login".into(),
                "77072734954".into(),
                "--service".into(),
                "185".into(),
                "--account".into(),
                "1234567".into(),
                "--amount".into(),
                op.amount.clone(),
                "--new".into(),
                "--id".into(),
                op.id.clone(),
            ],
            Flow::WebMoney => vec![
                "webmoney".into(),
                "invoice".into(),
                "--wmid".into(),
                "405002833238".into(),
                "--amount".into(),
                op.amount.clone(),
                "--desc".into(),
                format!("crash {}", op.n),
                "--new".into(),
                "--id".into(),
                op.id.clone(),
            ],
            Flow::Wooppay => vec![
                "wooppay".into(),
                "invoice".into(),
                "--amount".into(),
                op.amount.clone(),
                "--description".into(),
                format!("crash {}", op.n),
                "--new".into(),
                "--id".into(),
                op.id.clone(),
            ],
            Flow::HoldCreate => vec![
                "upay".into(),
                "hold".into(),
                "create".into(),
                "--card-token".into(),
                self.card.clone(),
                "--account".into(),
                op.key.clone(),
                "--amount".into(),
                op.amount.clone(),
                "--new".into(),
                "--id".into(),
                op.id.clone(),
            ],
            Flow::HoldCapture => vec![
                "upay".into(),
                "hold".into(),
                "capture".into(),
                "--hold-id".into(),
                op.key.clone(),
            ],
        };
        a.extend(more);
        a.extend(["--yes", "--json", "--timeout", "60"].map(String::from));
        a
    }

    fn resume_args(&self, timeout: u32) -> Vec<String> {
        vec![
            "--config".into(),
            self.cfg.clone(),
            "journal".into(),
            "resume".into(),
            "--json".into(),
            "--timeout".into(),
            timeout.to_string(),
        ]
    }

    /// Where a kill of a process driving `op` landed (`before`: its arrivals at the start).
    async fn phase_of(&self, op: &Op, before: u32) -> Phase {
        let now = self.arrivals(op).await;
        let row = self.h.journal().find(&op.id).unwrap();
        if now == before {
            return match row {
                None => Phase::BeforeRow,
                Some(r) if self.flow == Flow::HoldCapture && r.state == State::Held => {
                    Phase::BeforeRow
                }
                Some(_) => Phase::BeforeSend,
            };
        }
        if answered(&self.h, &op.id) {
            Phase::AfterReply
        } else {
            Phase::InFlight
        }
    }
}

/// Whether a state change (or a mark for a person) was journaled after the row's last send.
fn answered(h: &Harness, id: &str) -> bool {
    answered_in(&h.journal(), id)
}

fn answered_in(journal: &kassa::journal::Journal, id: &str) -> bool {
    let events = journal.events(id).unwrap_or_default();
    let last_sent = events.iter().rposition(|e| e.kind == "sent");
    match last_sent {
        Some(i) => events[i + 1..]
            .iter()
            .any(|e| e.kind == "state" || e.kind == "reconcile"),
        None => false,
    }
}

fn same_guid(a: &str, b: &str) -> bool {
    let norm = |s: &str| {
        s.trim_matches(|c| c == '{' || c == '}')
            .to_ascii_lowercase()
    };
    norm(a) == norm(b)
}

/// How a child is killed.
#[derive(Clone, Copy, Debug)]
enum Moment {
    /// This long after the start: while starting up, checking, committing the row.
    AfterStart(u64),
    /// Once its request has reached the emulator, and then this long.
    Arrived(u64),
    /// Once the journal shows the reply (a state change after the last send), this long.
    Answered(u64),
    /// Anywhere within a normal run's span.
    Uniform(u64),
}

fn pick_moment(rng: &mut fastrand::Rng, slow: bool, span_ms: u64) -> Moment {
    match rng.u32(0..10) {
        0 | 1 => Moment::AfterStart(rng.u64(0..=250)),
        2 | 3 => Moment::Answered(rng.u64(0..=5)),
        4..=7 => Moment::Arrived(if slow {
            // The reply comes 2.5 s late and the client gives up after 1 s.
            rng.u64(0..=900)
        } else if rng.bool() {
            0
        } else {
            rng.u64(0..=25)
        }),
        _ => Moment::Uniform(rng.u64(0..=span_ms.max(50))),
    }
}

/// Runs `args` as a child and kills it at `moment`; `None` when it ended by itself first.
async fn run_and_kill(
    w: &World,
    args: &[String],
    ops: &[Op],
    before: &[u32],
    moment: Moment,
) -> Option<Instant> {
    let argv: Vec<&str> = args.iter().map(String::as_str).collect();
    let mut child = kassa_child(&argv);
    let start = Instant::now();
    match moment {
        Moment::AfterStart(ms) | Moment::Uniform(ms) => {
            tokio::time::sleep(Duration::from_millis(ms)).await;
        }
        Moment::Arrived(ms) => {
            let deadline = start + Duration::from_secs(30);
            loop {
                if child.try_wait().unwrap().is_some() || Instant::now() > deadline {
                    break;
                }
                let now = w.arrivals_of(ops).await;
                if now.iter().zip(before).any(|(n, b)| n > b) {
                    tokio::time::sleep(Duration::from_millis(ms)).await;
                    break;
                }
                tokio::time::sleep(Duration::from_millis(2)).await;
            }
        }
        Moment::Answered(ms) => {
            let deadline = start + Duration::from_secs(30);
            let journal = w.h.journal();
            loop {
                if child.try_wait().unwrap().is_some() || Instant::now() > deadline {
                    break;
                }
                let now = w.arrivals_of(ops).await;
                let arrived = now.iter().zip(before).any(|(n, b)| n > b);
                if arrived && ops.iter().any(|op| answered_in(&journal, &op.id)) {
                    tokio::time::sleep(Duration::from_millis(ms)).await;
                    break;
                }
                tokio::time::sleep(Duration::from_millis(3)).await;
            }
        }
    }
    if child.try_wait().unwrap().is_some() {
        return None;
    }
    child.start_kill().unwrap();
    let _ = child.wait().await;
    Some(Instant::now())
}

/// One kill of a command for `op`; returns whether it was killed, and where.
async fn kill_one(w: Arc<World>, op: Op, moment: Moment) -> Option<Phase> {
    if w.flow == Flow::HoldCapture && op.slow {
        w.h.emulator.queue_faults("slow").unwrap();
    }
    let before = w.arrivals(&op).await;
    let args = w.args(&op);
    let ops = [op.clone()];
    run_and_kill(&w, &args, &ops, &[before], moment).await?;
    Some(w.phase_of(&op, before).await)
}

/// Runs a flow's campaign until `target` kills; returns its figures and what went wrong.
async fn campaign(flow: Flow, seed: u64, target: u32) -> (Stats, Vec<String>) {
    let mut rng =
        fastrand::Rng::with_seed(seed ^ (flow as u64 + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15));
    let h = Harness::start().await;
    let cfg = write_config(h.dir.path(), &h.emulator.base_url())
        .display()
        .to_string();
    let http = kassa::providers::http_client(Duration::from_secs(5)).unwrap();
    let mut w = World {
        flow,
        h,
        cfg,
        http,
        card: String::new(),
        skipped: std::sync::Mutex::new(Vec::new()),
    };
    let mut problems = Vec::new();
    if matches!(flow, Flow::HoldCreate | Flow::HoldCapture) {
        w.card = register_card(&w).await;
    }
    let w = Arc::new(w);
    let mut stats = Stats::default();
    let mut ops: Vec<Op> = Vec::new();
    let mut next = 0u32;

    // One run without a kill: it must finish, and it gives the span random kills fall in.
    let calib = new_ops(&w, &mut rng, &mut next, 1, false).await;
    let started = Instant::now();
    let args = w.args(&calib[0]);
    let argv: Vec<&str> = args.iter().map(String::as_str).collect();
    let r = kassa(&argv).await;
    let span_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(5_000);
    // A timeout under load leaves an invoice or a hold create to a person: exit 3.
    if r.code != 0 && !(r.code == 3 && flow.may_reconcile()) {
        problems.push(format!("a run without a kill ended {}: {r:?}", r.code));
    }
    ops.extend(calib);

    let mut round = 0;
    while stats.kills < target {
        round += 1;
        let count = rng.usize(2..=4);
        let batch = new_ops(&w, &mut rng, &mut next, count, true).await;
        ops.extend(batch.iter().cloned());

        // The first run of each, killed at its own moment, all at once on one journal.
        let mut tasks = Vec::new();
        for op in &batch {
            let moment = pick_moment(&mut rng, op.slow, span_ms);
            tasks.push(tokio::spawn(kill_one(w.clone(), op.clone(), moment)));
        }
        // A capture: the cashier (or another till) checks the hold meanwhile; its answer
        // must never reopen the capture.
        let mut checks = Vec::new();
        if flow == Flow::HoldCapture {
            for op in &batch {
                if rng.u32(0..10) < 6 {
                    let delay = rng.u64(0..=span_ms.max(50));
                    let kill = (rng.u32(0..4) == 0).then(|| rng.u64(0..=span_ms.max(50)));
                    checks.push(tokio::spawn(race_a_check(
                        w.clone(),
                        op.clone(),
                        delay,
                        kill,
                    )));
                }
            }
        }
        for c in checks {
            stats.checks += 1;
            if let Some(p) = c.await.unwrap() {
                problems.push(format!("round {round}: {p}"));
            }
        }
        for (t, op) in tasks.into_iter().zip(&batch) {
            if let Some(phase) = t.await.unwrap() {
                stats.kills += 1;
                stats.phase(phase);
                if op.slow && phase == Phase::InFlight {
                    stats.slow_kills += 1;
                }
            }
        }

        // The cashier tries some again with the same id; some of those are killed too.
        let mut tasks = Vec::new();
        for op in &batch {
            if rng.u32(0..10) >= 3 {
                continue;
            }
            let w2 = w.clone();
            let op = op.clone();
            if rng.bool() {
                // The retry waits for the dead process's lease (about 9 s) before sending.
                let moment = if rng.bool() {
                    Moment::Arrived(rng.u64(0..=25))
                } else {
                    Moment::Uniform(rng.u64(0..=12_000))
                };
                tasks.push(tokio::spawn(async move {
                    (kill_one(w2, op, moment).await, None)
                }));
            } else {
                tasks.push(tokio::spawn(async move {
                    let args = w2.args(&op);
                    let argv: Vec<&str> = args.iter().map(String::as_str).collect();
                    let r = kassa(&argv).await;
                    (None, Some((op.n, r)))
                }));
            }
        }
        for t in tasks {
            let (killed, ran) = t.await.unwrap();
            if let Some(phase) = killed {
                stats.kills += 1;
                stats.phase(phase);
            }
            if let Some((n, r)) = ran
                && !matches!(r.code, 0 | 2 | 3)
            {
                problems.push(format!(
                    "round {round}: op {n} run again ended {}: {r:?}",
                    r.code
                ));
            }
        }

        // Sometimes the resume is killed too: once it re-sends something, or at any time.
        if rng.u32(0..10) < 4 {
            let slow = rng.bool();
            if slow {
                w.h.emulator.queue_faults("slow").unwrap();
            }
            let moment = if rng.bool() {
                Moment::Arrived(if slow {
                    rng.u64(0..=900)
                } else {
                    rng.u64(0..=25)
                })
            } else {
                Moment::Uniform(rng.u64(0..=12_000))
            };
            let before = w.arrivals_of(&batch).await;
            let args = w.resume_args(60);
            if run_and_kill(&w, &args, &batch, &before, moment)
                .await
                .is_some()
            {
                stats.kills += 1;
                stats.resume_kills += 1;
                let mut phase = Phase::BeforeSend;
                let now = w.arrivals_of(&batch).await;
                for ((op, n), b) in batch.iter().zip(&now).zip(&before) {
                    if n > b {
                        let p = if answered(&w.h, &op.id) {
                            Phase::AfterReply
                        } else {
                            Phase::InFlight
                        };
                        if phase != Phase::InFlight {
                            phase = p;
                        }
                    }
                }
                stats.phase(phase);
            }
        }

        // The last word: resume until every row is final or waits for a person.
        let args = w.resume_args(120);
        let argv: Vec<&str> = args.iter().map(String::as_str).collect();
        let r = kassa(&argv).await;
        let v = r.json();
        if !matches!(r.code, 0 | 3) || v["pending"] != v["needs_reconciliation"] {
            problems.push(format!(
                "round {round}: journal resume left rows pending that could go on: {r:?}"
            ));
        }
        let _ = w
            .http
            .delete(format!("{}/_emulator/faults", w.h.emulator.base_url()))
            .send()
            .await;
        eprintln!(
            "{}: round {round}, {} kills so far",
            flow.name(),
            stats.kills
        );
    }

    let ledger = w.ledger().await;
    check(&w, &ops, &ledger, &mut stats, &mut problems);
    if !problems.is_empty() {
        // Keep the journal and logs for a look.
        if let Ok(world) = Arc::try_unwrap(w) {
            let kept = world.h.dir.keep();
            problems.push(format!("journal and logs kept in {}", kept.display()));
        }
    }
    (stats, problems)
}

/// `kassa upay hold check --hold-id` for `op`'s hold after `delay` ms, killed `kill` ms
/// after it starts (if it has not ended); what went wrong, if anything.
async fn race_a_check(w: Arc<World>, op: Op, delay: u64, kill: Option<u64>) -> Option<String> {
    tokio::time::sleep(Duration::from_millis(delay)).await;
    let args: Vec<String> = vec![
        "--config".into(),
        w.cfg.clone(),
        "upay".into(),
        "hold".into(),
        "check".into(),
        "--hold-id".into(),
        op.key.clone(),
        "--json".into(),
    ];
    let argv: Vec<&str> = args.iter().map(String::as_str).collect();
    if let Some(ms) = kill {
        let mut child = kassa_child(&argv);
        tokio::time::sleep(Duration::from_millis(ms)).await;
        if child.try_wait().unwrap().is_none() {
            child.start_kill().unwrap();
        }
        let _ = child.wait().await;
        return None;
    }
    let r = kassa(&argv).await;
    (!matches!(r.code, 0 | 2 | 3)).then(|| {
        format!(
            "a check of hold {} racing its capture ended {}: {r:?}",
            op.key, r.code
        )
    })
}

/// Whether the trail of a capture's row shows it moved back to held after the capture was
/// begun (a check's stale answer reopening it): the emulator never refuses these captures.
fn reopened(journal: &kassa::journal::Journal, id: &str) -> Option<String> {
    let events = journal.events(id).unwrap_or_default();
    let begun = events
        .iter()
        .position(|e| e.kind == "action" && e.detail.contains("capture"))?;
    events[begun + 1..]
        .iter()
        .find(|e| {
            e.kind == "state"
                && (e.detail.contains("-> held") || e.detail.starts_with("still held"))
        })
        .map(|e| e.detail.clone())
}

/// `count` new operations; for a capture, the holds are placed first (without a kill).
async fn new_ops(
    w: &World,
    rng: &mut fastrand::Rng,
    next: &mut u32,
    count: usize,
    may_be_slow: bool,
) -> Vec<Op> {
    let mut out = Vec::new();
    for _ in 0..count {
        let n = *next;
        *next += 1;
        let slow = may_be_slow && rng.u32(0..10) < 4;
        let cents: i64 = if slow && w.flow != Flow::HoldCapture {
            53
        } else {
            0
        };
        let base = 1000 + i64::from(n);
        let amount = format!("{base}.{cents:02}");
        let mut op = Op {
            n,
            id: String::new(),
            amount: amount.clone(),
            minor: base * 100 + cents,
            key: String::new(),
            slow,
        };
        match w.flow {
            Flow::CashIn => op.id = kassa::ids::new_guid(),
            Flow::Pay => op.id = kassa::ids::new_rrn(),
            Flow::WebMoney => {
                op.id = (1000 + n).to_string();
                op.amount = format!("{}.{cents:02}", 1 + n);
            }
            Flow::Wooppay => op.id = format!("crash{n}"),
            Flow::HoldCreate => {
                op.id = kassa::ids::new_rrn();
                op.key = (700_000 + n).to_string();
            }
            Flow::HoldCapture => {
                // Placed without a kill; one that does not end held (a timeout under load
                // leaves it to a person) is left out and another is placed.
                for attempt in 0..3 {
                    let account = format!("9{attempt}{n:04}");
                    let r = kassa(&[
                        "--config",
                        &w.cfg,
                        "upay",
                        "hold",
                        "create",
                        "--card-token",
                        &w.card,
                        "--account",
                        &account,
                        "--amount",
                        &amount,
                        "--new",
                        "--yes",
                        "--json",
                    ])
                    .await;
                    if r.code == 0 {
                        let v = r.json();
                        op.id = v["id"].as_str().unwrap().to_string();
                        op.key = v["provider_ref"].as_str().unwrap().to_string();
                        break;
                    }
                    w.skipped.lock().unwrap().push(account);
                }
                assert!(!op.key.is_empty(), "no hold could be placed to capture");
            }
        }
        out.push(op);
    }
    out
}

/// Registers a card (number and CVV on stdin) and confirms it as its customer would. A
/// registration is never re-sent, so one that timed out under load is simply made again.
async fn register_card(w: &World) -> String {
    let mut last = None;
    for _ in 0..3 {
        let r = kassa_stdin(
            &[
                "--config",
                &w.cfg,
                "upay",
                "register-card",
                "--expiry",
                "12/30",
                "--phone",
                "998911902494",
                "--holder",
                "Tony Sapay",
                "--stdin",
                "--yes",
                "--json",
            ],
            "4111111111111111\n987\n",
        )
        .await;
        if r.code == 0 {
            let v = r.json();
            let url = v["confirm_url"].as_str().unwrap().to_string();
            let page = w.http.get(&url).send().await.unwrap();
            assert_eq!(page.status().as_u16(), 200);
            return v["id"].as_str().unwrap().to_string();
        }
        last = Some(r);
    }
    panic!("no card could be registered: {last:?}");
}

/// What the ledger has for one operation.
fn entries_of<'a>(flow: Flow, op: &Op, ledger: &'a Value) -> Vec<&'a Value> {
    let list = |k: &str| {
        ledger[k]
            .as_array()
            .map(|a| a.iter().collect())
            .unwrap_or_default()
    };
    let all: Vec<&Value> = match flow {
        Flow::CashIn => list("allpay_cash_in"),
        Flow::Pay => list("allpay_pay"),
        Flow::WebMoney => list("webmoney_x1"),
        Flow::Wooppay => ledger["wooppay"]["invoices"]
            .as_array()
            .map(|a| a.iter().collect())
            .unwrap_or_default(),
        Flow::HoldCreate | Flow::HoldCapture => list("upay_holds"),
    };
    all.into_iter()
        .filter(|e| key_of(flow, e) == op_key(flow, op))
        .collect()
}

/// The unique mark of a logical operation in the ledger, whatever id it came with.
fn key_of(flow: Flow, e: &Value) -> String {
    match flow {
        Flow::CashIn | Flow::Pay => e["amount"]
            .as_str()
            .and_then(|a| Amount::parse(a, Currency::Kzt).ok())
            .map(|a| a.minor().to_string())
            .unwrap_or_default(),
        Flow::WebMoney => e["desc"].as_str().unwrap_or("").to_string(),
        Flow::Wooppay => e["amount_minor"].to_string(),
        Flow::HoldCreate => e["account"].as_str().unwrap_or("").to_string(),
        Flow::HoldCapture => e["hold_id"].as_str().unwrap_or("").to_string(),
    }
}

fn op_key(flow: Flow, op: &Op) -> String {
    match flow {
        Flow::CashIn | Flow::Pay | Flow::Wooppay => op.minor.to_string(),
        Flow::WebMoney => format!("crash {}", op.n),
        Flow::HoldCreate | Flow::HoldCapture => op.key.clone(),
    }
}

/// The ledger against the journal, operation by operation, then the other way round.
fn check(w: &World, ops: &[Op], ledger: &Value, stats: &mut Stats, problems: &mut Vec<String>) {
    let flow = w.flow;
    let rows: HashMap<String, Operation> =
        w.h.journal()
            .list(&ListFilter::default())
            .unwrap()
            .into_iter()
            .filter(|o| o.kind == flow.kind())
            .map(|o| (o.id.clone(), o))
            .collect();
    for op in ops {
        stats.ops += 1;
        let entries = entries_of(flow, op, ledger);
        let row = rows.get(&op.id);
        let says = |what: &str| {
            format!(
                "{} op {} (id {}): {what}; journal {:?}; ledger {:?}",
                flow.name(),
                op.n,
                op.id,
                row.map(|r| (r.state, r.needs_reconciliation, &r.provider_ref, &r.params)),
                entries
            )
        };
        if entries.len() > 1 {
            stats.doubled += 1;
            problems.push(says("charged more than once"));
            continue;
        }
        let e = entries.first().copied();
        let Some(r) = row else {
            if e.is_some() {
                stats.lost += 1;
                problems.push(says("in the ledger without a journal row"));
            } else {
                stats.unsent += 1;
            }
            continue;
        };
        if let Some(e) = e {
            if !same_id(flow, r, e) {
                stats.doubled += 1;
                problems.push(says("the ledger has it under another id"));
                continue;
            }
            // The journal is the truth: every request the emulator saw was journaled as an
            // attempt before it went out.
            if requests_of(flow, e) > u64::from(r.attempts) {
                problems.push(says(&format!(
                    "the emulator saw more requests than the journal's {} attempts",
                    r.attempts
                )));
            }
        }
        if flow == Flow::HoldCapture
            && let Some(d) = reopened(&w.h.journal(), &op.id)
        {
            problems.push(says(&format!(
                "the capture was reopened after it began: {d}"
            )));
        }
        if r.needs_reconciliation {
            stats.recon += 1;
            if r.state != State::Pending || !flow.may_reconcile() {
                problems.push(says("marked for reconciliation where it should not be"));
            }
            continue;
        }
        match r.state {
            State::Pending | State::Prepared | State::Issued => {
                stats.pending += 1;
                problems.push(says("left pending after journal resume"));
            }
            State::Held if flow == Flow::HoldCapture => {
                if e.is_some_and(|e| e["state"] == "held") {
                    stats.unsent += 1;
                } else {
                    stats.lost += 1;
                    problems.push(says("held in the journal, not in the ledger"));
                }
            }
            state => match agrees(flow, r, state, e) {
                Ok(()) => stats.final_ += 1,
                Err(why) => {
                    stats.lost += 1;
                    problems.push(says(&why));
                }
            },
        }
    }
    // Nothing in the ledger lacks a journal row.
    let keys: HashSet<String> = ops.iter().map(|o| op_key(flow, o)).collect();
    let skipped = w.skipped.lock().unwrap().clone();
    for op_like in ledger_entries(flow, ledger) {
        let k = key_of(flow, op_like);
        let left_out = flow == Flow::HoldCapture
            && op_like["state"] == "held"
            && skipped.iter().any(|a| op_like["account"] == a.as_str());
        if !keys.contains(&k) && !left_out {
            stats.lost += 1;
            problems.push(format!(
                "{}: a ledger entry no operation of the campaign made: {op_like}",
                flow.name()
            ));
        }
    }
    // And no journal row this campaign did not ask for.
    let ids: HashSet<&str> = ops.iter().map(|o| o.id.as_str()).collect();
    for id in rows.keys() {
        if !ids.contains(id.as_str()) {
            problems.push(format!(
                "{}: a journal row nobody asked for: {id}",
                flow.name()
            ));
        }
    }
}

/// How many sending requests the ledger counted for one entry.
fn requests_of(flow: Flow, e: &Value) -> u64 {
    let n = |k: &str| e[k].as_u64().unwrap_or(0);
    match flow {
        Flow::CashIn | Flow::Pay => n("requests"),
        Flow::Wooppay => n("creates"),
        Flow::HoldCapture => n("captures"),
        Flow::WebMoney | Flow::HoldCreate => 1,
    }
}

fn ledger_entries(flow: Flow, ledger: &Value) -> Vec<&Value> {
    let v = match flow {
        Flow::CashIn => &ledger["allpay_cash_in"],
        Flow::Pay => &ledger["allpay_pay"],
        Flow::WebMoney => &ledger["webmoney_x1"],
        Flow::Wooppay => &ledger["wooppay"]["invoices"],
        Flow::HoldCreate | Flow::HoldCapture => &ledger["upay_holds"],
    };
    v.as_array().map(|a| a.iter().collect()).unwrap_or_default()
}

/// Whether the ledger entry carries the row's own id.
fn same_id(flow: Flow, r: &Operation, e: &Value) -> bool {
    let s = |k: &str| e[k].as_str().unwrap_or("").to_string();
    match flow {
        Flow::CashIn => same_guid(&s("guid"), &r.id),
        Flow::Pay => s("rrn") == r.id,
        Flow::WebMoney => s("orderid") == r.id,
        Flow::Wooppay => s("reference_id") == r.id,
        // Holds carry no id of ours: the account (create) or the HoldId (capture) ties them.
        Flow::HoldCreate => {
            r.provider_ref.is_none() || r.provider_ref.as_deref() == Some(&s("hold_id"))
        }
        Flow::HoldCapture => r.provider_ref.as_deref() == Some(&s("hold_id")),
    }
}

/// Whether a row's final (or, for a hold create, held) state agrees with the ledger.
fn agrees(flow: Flow, r: &Operation, state: State, e: Option<&Value>) -> Result<(), String> {
    let status = |k: &str| e.map(|e| e[k].as_str().unwrap_or("").to_string());
    let ok = match (flow, state) {
        (Flow::CashIn, State::Completed) => status("status").as_deref() == Some("COMPLETED"),
        (Flow::CashIn, State::Declined) => {
            matches!(
                status("status").as_deref(),
                None | Some("DECLINED" | "FAILED")
            )
        }
        (Flow::Pay, State::Completed) => {
            let vd = kassa::flows::pay::params_of(r).map(|p| p.value_date);
            matches!(status("status").as_deref(), Some("COMPLETED" | "succeeded"))
                && status("value_date") == vd
        }
        (Flow::Pay, State::Declined) => {
            matches!(
                status("status").as_deref(),
                None | Some("DECLINED" | "fail")
            )
        }
        (Flow::WebMoney, State::Completed) => {
            e.is_some_and(|e| Some(e["id"].to_string()) == r.provider_ref)
        }
        (Flow::Wooppay, State::Completed) => e.is_some_and(|e| {
            e["status"] == 4 && Some(e["operation_id"].to_string()) == r.provider_ref
        }),
        (Flow::HoldCreate, State::Held) => e.is_some_and(|e| {
            e["state"] == "held" && r.provider_ref.as_deref() == e["hold_id"].as_str()
        }),
        (Flow::HoldCapture, State::Completed) => {
            let trx = kassa::flows::upay::hold_params(r).and_then(|p| p.partner_trx_id);
            e.is_some_and(|e| {
                e["state"] == "captured" && e["partner_trx_id"].as_str() == trx.as_deref()
            })
        }
        // Refusals that create nothing.
        (Flow::WebMoney | Flow::Wooppay | Flow::HoldCreate, State::Rejected | State::Declined) => {
            e.is_none()
        }
        _ => false,
    };
    if ok {
        Ok(())
    } else {
        Err(format!("journal says {state}, the ledger disagrees"))
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_flow_survives_sigkill_at_random_moments() {
    let kills: u32 = std::env::var("KASSA_CRASH_KILLS")
        .ok()
        .and_then(|k| k.parse().ok())
        .unwrap_or(DEFAULT_KILLS);
    let seed: u64 = std::env::var("KASSA_CRASH_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| fastrand::u64(..));
    let per_flow = kills.div_ceil(FLOWS.len() as u32).max(1);
    eprintln!(
        "crash campaign: seed {seed}, {per_flow} kills per flow (repeat: KASSA_CRASH_SEED={seed} KASSA_CRASH_KILLS={kills})"
    );
    let started = Instant::now();
    let tasks: Vec<_> = FLOWS
        .iter()
        .map(|&f| tokio::spawn(campaign(f, seed, per_flow)))
        .collect();
    let mut results = Vec::new();
    for (t, f) in tasks.into_iter().zip(FLOWS) {
        results.push((f, t.await.unwrap()));
    }
    let mut table = String::new();
    let _ = writeln!(
        table,
        "{:<18} {:>5} {:>6} {:>4} {:>5} {:>7} {:>5} {:>6} {:>4} {:>7} | {:>6} {:>6} {:>6} {:>6} {:>4} {:>6}",
        "flow",
        "kills",
        "resume",
        "ops",
        "final",
        "pending",
        "recon",
        "unsent",
        "lost",
        "doubled",
        "no-row",
        "no-send",
        "flight",
        "reply",
        "slow",
        "checks"
    );
    let mut total = Stats::default();
    let mut problems = Vec::new();
    for (f, (s, p)) in &results {
        let _ = writeln!(
            table,
            "{:<18} {:>5} {:>6} {:>4} {:>5} {:>7} {:>5} {:>6} {:>4} {:>7} | {:>6} {:>6} {:>6} {:>6} {:>4} {:>6}",
            f.name(),
            s.kills,
            s.resume_kills,
            s.ops,
            s.final_,
            s.pending,
            s.recon,
            s.unsent,
            s.lost,
            s.doubled,
            s.phases[0],
            s.phases[1],
            s.phases[2],
            s.phases[3],
            s.slow_kills,
            s.checks
        );
        total.kills += s.kills;
        total.checks += s.checks;
        total.resume_kills += s.resume_kills;
        total.ops += s.ops;
        total.final_ += s.final_;
        total.pending += s.pending;
        total.recon += s.recon;
        total.unsent += s.unsent;
        total.lost += s.lost;
        total.doubled += s.doubled;
        total.slow_kills += s.slow_kills;
        for i in 0..4 {
            total.phases[i] += s.phases[i];
        }
        problems.extend(p.iter().cloned());
    }
    let s = &total;
    let _ = writeln!(
        table,
        "{:<18} {:>5} {:>6} {:>4} {:>5} {:>7} {:>5} {:>6} {:>4} {:>7} | {:>6} {:>6} {:>6} {:>6} {:>4} {:>6}",
        "total",
        s.kills,
        s.resume_kills,
        s.ops,
        s.final_,
        s.pending,
        s.recon,
        s.unsent,
        s.lost,
        s.doubled,
        s.phases[0],
        s.phases[1],
        s.phases[2],
        s.phases[3],
        s.slow_kills,
        s.checks
    );
    eprintln!(
        "{table}kills landed: no-row = before the row was committed, no-send = committed, nothing at the emulator yet, \
         flight = the request at the emulator and no reply journaled, reply = after the reply was journaled; \
         slow = killed while a slow reply was outstanding; checks = hold checks racing a capture of their hold.\nseed {seed}, {:.0?}",
        started.elapsed()
    );
    assert!(
        problems.is_empty(),
        "crash campaign failed (seed {seed}, KASSA_CRASH_SEED={seed} KASSA_CRASH_KILLS={kills}):\n{}\n{table}",
        problems.join("\n")
    );
    assert_eq!(total.lost + total.doubled, 0);
}
