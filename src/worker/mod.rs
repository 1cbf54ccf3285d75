//! The one place that does I/O for the UI and the headless commands: `Command`s in,
//! `Event`s out over tokio channels. It owns the journal (the only writer), the HTTP
//! clients and every task that talks to a provider.
//!
//! It never touches UI state; screens never call providers.
//!
//! One file, just past 500 lines: the context every task shares, the one dispatch of
//! commands, and the commit-then-drive path that every request takes.

pub mod cash_in;
pub mod day;
pub mod pay;
pub mod poll;
pub mod upay;
pub mod webmoney;
pub mod wooppay;

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::config::Settings;
use crate::journal::{
    Facts, Journal, JournalError, Kind, ListFilter, Operation, Recorded, State, now_ms,
};
use crate::providers::allpay::cash_in::CashInClient;
use crate::providers::allpay::pay::PayClient;

use crate::flows::Asked;
pub use crate::flows::cash_in::CashInPayment;
mod holder;
mod notices;
mod protocol;
mod schedule;

pub use crate::flows::{Trouble, Verdict};
pub use protocol::{Ack, CheckOutcome, Command, Event, Notified};

/// What every worker task shares.
#[derive(Clone)]
pub struct Ctx {
    pub settings: Arc<Settings>,
    journal: JournalThread,
    /// Names this process in leases: pid plus a random part.
    pub holder: String,
    cash_in: CashInClient,
    pay: PayClient,
    /// The X1 client, or why it could not be set up (missing key, certificate...).
    /// Opened on first use: a till that never invoices never reads the key file.
    x1: Arc<tokio::sync::OnceCell<Result<crate::providers::webmoney::X1Client, String>>>,
    /// The UPay client (its secrets are read from the config or environment on first use).
    upay: Arc<tokio::sync::OnceCell<Result<crate::providers::upay::client::UpayClient, String>>>,
    /// The Wooppay client (its session lives in it, in memory only), built on first use.
    wooppay: Arc<
        tokio::sync::OnceCell<Result<crate::providers::wooppay::client::WooppayClient, String>>,
    >,
    sms_codes: wooppay::SmsCodes,
    events: mpsc::UnboundedSender<Event>,
    pub shutdown: CancellationToken,
    active: Arc<Mutex<HashSet<String>>>,
    /// When the last Wooppay sweep ran, and whether one is already due.
    sweeps: Arc<Mutex<notices::Sweeps>>,
    /// When each row in flight is sent next.
    schedule: schedule::Schedule,
    /// One X1 send at a time in this process (reqn must rise in the order requests reach
    /// WebMoney); across a chain, the journal's lock as well.
    x1_send: Arc<tokio::sync::Mutex<()>>,
}

/// A call the journal's thread runs; what it gives back tells its caller, once the call's
/// changes are durable (or were not kept: then with the commit's error).
type Job = Box<dyn FnOnce(&mut Journal) -> Answer + Send>;
type Answer = Box<dyn FnOnce(Option<&str>) + Send>;

/// What the journal's thread is asked.
enum Ask {
    Run(Job),
    /// A call that may share its commit with other such calls queued with it: a poll's two.
    Grouped(Job),
    /// Close the journal (SQLite then folds its WAL back and removes it, so the next start
    /// has nothing to recover) and say so.
    Close(tokio::sync::oneshot::Sender<()>),
}

/// The most calls one group commit takes: `max_in_flight` rows of a few providers.
const GROUP_MAX: usize = 64;

/// How long a driver's call (an attempt, its answer, a final move) waits for others to share
/// its commit: the rows due on one step of the schedule's grid start within it, and their
/// answers come back within a few of it. A new payment's first send waits as long, which no
/// cashier sees; a call that is not a driver's never waits.
const GATHER: Duration = Duration::from_millis(2);

/// The journal's own thread: every call of every task runs there, one after another, in
/// the order they came. One thread that owns the connection rather than a mutex that
/// blocking-pool threads queue on: hundreds of rows polling cost no lock contention and
/// no thread per waiting call (SQLite with synchronous=FULL waits on disk, so never on the
/// async thread). Poll calls queued together are committed together: one wait for the
/// disk for the batch instead of one per call.
#[derive(Clone)]
struct JournalThread {
    asks: std::sync::mpsc::Sender<Ask>,
}

impl JournalThread {
    fn start(journal: Journal) -> Result<JournalThread, String> {
        let (asks, rx) = std::sync::mpsc::channel::<Ask>();
        std::thread::Builder::new()
            .name("kassa-journal".into())
            .spawn(move || serve(journal, &rx))
            .map_err(|e| format!("journal thread: {e}"))?;
        Ok(JournalThread { asks })
    }

    /// Closes the journal once every call asked before has run.
    async fn close(&self) {
        let (tx, rx) = tokio::sync::oneshot::channel();
        if self.asks.send(Ask::Close(tx)).is_ok() {
            let _ = tokio::time::timeout(Duration::from_secs(5), rx).await;
        }
    }
}

/// The journal thread's loop; ends when the last sender is gone (the worker and its tasks
/// with it).
fn serve(journal: Journal, rx: &std::sync::mpsc::Receiver<Ask>) {
    let mut journal = Some(journal);
    let mut held = None;
    loop {
        let ask = match held.take() {
            Some(a) => a,
            None => match rx.recv() {
                Ok(a) => a,
                Err(_) => return,
            },
        };
        match ask {
            // After the close a call answers nobody: its caller sees an error.
            Ask::Run(job) => {
                if let Some(answer) = journal.as_mut().and_then(|j| run(j, job)) {
                    answer(None);
                }
            }
            Ask::Grouped(job) => {
                let mut jobs = vec![job];
                let until = std::time::Instant::now() + GATHER;
                while jobs.len() < GROUP_MAX {
                    let wait = until.saturating_duration_since(std::time::Instant::now());
                    match rx.recv_timeout(wait) {
                        Ok(Ask::Grouped(j)) => jobs.push(j),
                        Ok(other) => {
                            held = Some(other);
                            break;
                        }
                        Err(_) => break,
                    }
                }
                if let Some(j) = journal.as_mut() {
                    run_group(j, jobs);
                }
            }
            Ask::Close(done) => {
                drop(journal.take());
                let _ = done.send(());
            }
        }
    }
}

/// One call; a call that panics answers nobody, and the journal goes on serving the others.
fn run(j: &mut Journal, job: Job) -> Option<Answer> {
    let call = std::panic::AssertUnwindSafe(|| job(j));
    let answer = std::panic::catch_unwind(call);
    if answer.is_err() {
        tracing::error!("a journal call panicked");
    }
    answer.ok()
}

/// Calls queued together, in one transaction; their callers are told after its commit.
fn run_group(j: &mut Journal, jobs: Vec<Job>) {
    let grouped = jobs.len() > 1
        && j.begin_group()
            .inspect_err(|e| tracing::debug!(error = %e, "no group commit; one at a time"))
            .unwrap_or(false);
    if !grouped {
        for job in jobs {
            if let Some(answer) = run(j, job) {
                answer(None);
            }
        }
        return;
    }
    let mut answers = Vec::with_capacity(jobs.len());
    for job in jobs {
        // SQLite rolls a transaction back by itself after some errors (a full disk): the
        // calls after that commit on their own and are told so at once.
        let alone = !j.in_group();
        if let Some(answer) = run(j, job) {
            if alone {
                answer(None);
            } else {
                answers.push(answer);
            }
        }
    }
    let failed = j.end_group().err().map(|e| {
        tracing::error!(error = %e, calls = answers.len(), "a group commit failed");
        e.to_string()
    });
    for answer in answers {
        answer(failed.as_deref());
    }
}

/// Runs a journal call on the journal's thread and waits for its answer.
pub async fn db<T, F>(ctx: &Ctx, f: F) -> Result<T, JournalError>
where
    T: Send + 'static,
    F: FnOnce(&mut Journal) -> Result<T, JournalError> + Send + 'static,
{
    ask(ctx, f, Ask::Run).await
}

/// As [`db`], for a call that may share one commit with others queued at the same moment
/// (a poll's attempt and its answer): it must use this connection alone, and nothing of
/// it is told before the group is on disk.
pub async fn db_grouped<T, F>(ctx: &Ctx, f: F) -> Result<T, JournalError>
where
    T: Send + 'static,
    F: FnOnce(&mut Journal) -> Result<T, JournalError> + Send + 'static,
{
    ask(ctx, f, Ask::Grouped).await
}

async fn ask<T, F>(ctx: &Ctx, f: F, how: fn(Job) -> Ask) -> Result<T, JournalError>
where
    T: Send + 'static,
    F: FnOnce(&mut Journal) -> Result<T, JournalError> + Send + 'static,
{
    let (job, rx) = job(f);
    ctx.journal
        .asks
        .send(how(job))
        .map_err(|_| JournalError::Corrupt("the journal's thread has stopped".into()))?;
    rx.await
        .map_err(|_| JournalError::Corrupt("a journal call ended without an answer".into()))?
}

/// A call as the journal's thread runs it, and where its answer comes.
fn job<T, F>(f: F) -> (Job, tokio::sync::oneshot::Receiver<Result<T, JournalError>>)
where
    T: Send + 'static,
    F: FnOnce(&mut Journal) -> Result<T, JournalError> + Send + 'static,
{
    let (tx, rx) = tokio::sync::oneshot::channel();
    let job: Job = Box::new(move |j| {
        let result = f(j);
        Box::new(move |failed: Option<&str>| {
            let result = match failed {
                Some(why) if result.is_ok() => Err(JournalError::Uncommitted(why.to_string())),
                _ => result,
            };
            // The caller may have gone (kassa stopping): the call was made all the same.
            let _ = tx.send(result);
        })
    });
    (job, rx)
}

impl Ctx {
    fn emit(&self, e: Event) {
        // The receiver is gone only when the UI or command has exited; the journal already
        // holds everything that matters, so a lost event loses nothing.
        if self.events.send(e).is_err() {
            tracing::debug!("event receiver gone");
        }
    }

    async fn emit_counts(&self) {
        let active = self.active.lock().map(|a| a.len()).unwrap_or(0);
        match db(self, |j| j.counts()).await {
            Ok((pending, recon)) => self.emit(Event::Counts {
                pending,
                recon,
                active: u32::try_from(active).unwrap_or(u32::MAX),
            }),
            Err(e) => tracing::warn!(error = %e, "counting pending rows failed"),
        }
    }

    fn start_driving(&self, id: &str) -> bool {
        self.active
            .lock()
            .map(|mut a| a.insert(id.to_string()))
            .unwrap_or(false)
    }

    fn stop_driving(&self, id: &str) {
        if let Ok(mut a) = self.active.lock() {
            a.remove(id);
        }
    }
}

/// Sends one attempt of `op` and judges the reply.
async fn send_once(ctx: &Ctx, op: &Operation) -> (Verdict, Facts, Option<Trouble>) {
    match op.kind {
        Kind::AllpayCashIn => {
            let r = ctx
                .cash_in
                .create_payment(&op.customer, op.amount, &op.id)
                .await;
            crate::flows::cash_in::judge(op, &r)
        }
        Kind::AllpayPay => pay::send(ctx, op).await,
        Kind::WebmoneyInvoice => webmoney::send(ctx, op).await,
        Kind::WooppayInvoice => wooppay::send(ctx, op).await,
        Kind::UpayHold => upay::send(ctx, op).await,
        // Never re-sent (the CVV is gone); reached only for a row whose first attempt never
        // went out (poll.rs sends rows with attempts to a person first).
        Kind::UpayCard => (
            Verdict::Final(crate::journal::State::Cancelled),
            Facts {
                message_key: Some("upay.card_not_sent".into()),
                ..Facts::default()
            },
            None,
        ),
    }
}

/// The handle the UI or a command holds.
pub struct Worker {
    commands: mpsc::UnboundedSender<Command>,
    pub shutdown: CancellationToken,
    ctx: Ctx,
}

impl Worker {
    /// Starts the worker on the current runtime; events arrive on the returned receiver.
    pub fn start(
        settings: Settings,
        journal: Journal,
    ) -> Result<(Worker, mpsc::UnboundedReceiver<Event>), String> {
        let (ev_tx, ev_rx) = mpsc::unbounded_channel();
        let (schedule, schedule_rx) = schedule::Schedule::new();
        let (cmd_tx, mut cmd_rx) = mpsc::unbounded_channel::<Command>();
        let http = crate::providers::http_client(settings.allpay.timeout)?;
        let pay = PayClient {
            http: http.clone(),
            url: settings.allpay.terminal_url.clone(),
            requester: settings.allpay.requester.clone(),
            lang: settings.lang.code().to_string(),
        };
        let cash_in = CashInClient {
            http,
            url: settings.allpay.cash_in_url.clone(),
            requester: settings.allpay.requester.clone(),
            lang: settings.lang.code().to_string(),
            signer: None,
        };
        let ctx = Ctx {
            settings: Arc::new(settings),
            journal: JournalThread::start(journal)?,
            holder: format!(
                "pid{}-{}@{}",
                std::process::id(),
                &uuid::Uuid::new_v4().simple().to_string()[..8],
                holder::pid_namespace()
            ),
            cash_in,
            pay,
            x1: Arc::new(tokio::sync::OnceCell::new()),
            upay: Arc::new(tokio::sync::OnceCell::new()),
            wooppay: Arc::new(tokio::sync::OnceCell::new()),
            sms_codes: Arc::default(),
            events: ev_tx,
            shutdown: CancellationToken::new(),
            active: Arc::new(Mutex::new(HashSet::new())),
            sweeps: Arc::default(),
            schedule,
            x1_send: Arc::default(),
        };
        tokio::spawn(schedule::run(ctx.clone(), schedule_rx));
        let loop_ctx = ctx.clone();
        tokio::spawn(async move {
            loop {
                let cmd = tokio::select! {
                    _ = loop_ctx.shutdown.cancelled() => break,
                    c = cmd_rx.recv() => c,
                };
                let Some(cmd) = cmd else { break };
                let c = loop_ctx.clone();
                tokio::spawn(handle(c, cmd));
            }
        });
        Ok((
            Worker {
                commands: cmd_tx,
                shutdown: ctx.shutdown.clone(),
                ctx,
            },
            ev_rx,
        ))
    }

    pub fn send(&self, cmd: Command) {
        if self.commands.send(cmd).is_err() {
            tracing::warn!("worker has stopped; command dropped");
        }
    }

    /// Stops every task; rows in flight stay pending and are resumed on the next start.
    /// Waits briefly for drivers to give their leases back, then closes the journal.
    pub async fn stop(&self) {
        self.shutdown.cancel();
        for _ in 0..40 {
            if self.ctx.active.lock().map(|a| a.is_empty()).unwrap_or(true) {
                break;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        // Last: a journal left open at exit leaves its WAL for the next start to recover.
        self.ctx.journal.close().await;
    }

    /// A sender of commands for listeners that outlive a borrow of the worker (callbacks).
    pub fn commands(&self) -> mpsc::UnboundedSender<Command> {
        self.commands.clone()
    }

    /// How many operations this process is sending right now.
    pub fn active(&self) -> usize {
        self.ctx.active.lock().map(|a| a.len()).unwrap_or(0)
    }
}

/// The one dispatch on a request's kind: each kind's worker numbers, commits and sends it.
async fn start(ctx: &Ctx, request: crate::flows::Request, allow_duplicate: bool) {
    use crate::flows::Request;
    match request {
        // A cash-in needs nothing beyond its request: committed and driven as it is.
        Request::CashIn(p) => {
            commit_and_drive(ctx, p.asked(), allow_duplicate, |existing| {
                Event::Duplicate {
                    request: Request::CashIn(p),
                    existing,
                }
            })
            .await
        }
        Request::Pay(p) => pay::start(ctx, p, allow_duplicate).await,
        Request::Webmoney(i) => webmoney::start(ctx, i, allow_duplicate).await,
        Request::Wooppay(i) => wooppay::start(ctx, i, allow_duplicate).await,
        Request::Hold(h) => upay::start_hold(ctx, h, allow_duplicate).await,
    }
}

async fn handle(ctx: Ctx, cmd: Command) {
    match cmd {
        Command::CheckUser { login } => cash_in::check_user(&ctx, login).await,
        Command::Start {
            request,
            allow_duplicate,
        } => start(&ctx, request, allow_duplicate).await,
        Command::Follow { id } => follow(&ctx, id).await,
        Command::Count => ctx.emit_counts().await,
        Command::CheckPayment { payment } => pay::check(&ctx, payment).await,
        Command::LoadRecentPayees => pay::recent(&ctx).await,
        Command::RegisterCard { card } => upay::register(&ctx, card).await,
        Command::ConfirmCard {
            target,
            confirmed,
            note,
        } => upay::confirm_card(&ctx, target, confirmed, note).await,
        Command::ActOnHold {
            id,
            action,
            expected,
        } => upay::act(&ctx, id, action, expected).await,
        Command::CheckHold { by, target } => upay::check(&ctx, by, target).await,
        Command::Receipt { id, print } => day::receipt(&ctx, id, print).await,
        Command::Export { from } => day::export(&ctx, from).await,
        Command::LoadShift => day::load_shift(&ctx).await,
        Command::OpenShift { opening } => day::open_shift(&ctx, opening).await,
        Command::CloseShift { counted, note } => day::close_shift(&ctx, counted, note).await,
        Command::LoadReport { date } => day::report(&ctx, date).await,
        Command::QueryJournal { query } => day::query(&ctx, query).await,
        Command::ResolveManually { id, to, note } => day::resolve(&ctx, id, to, note).await,
        Command::ResumeWithRef {
            id,
            provider_ref,
            note,
        } => day::resume_with_ref(&ctx, id, provider_ref, note).await,
        Command::WooppayRequestCode { phone } => wooppay::request_code(&ctx, phone).await,
        Command::WooppayBalance => wooppay::balance(&ctx).await,
        Command::WooppayStatus { operation_id } => wooppay::status(&ctx, operation_id).await,
        Command::WooppayNotified => notices::wooppay_ping(&ctx),
        Command::Notice { call, ack } => notices::received(&ctx, call, ack).await,
        Command::ResumeAll => resume_all(&ctx).await,
        Command::LoadJournal { pending_only } => {
            let filter = ListFilter {
                pending_only,
                limit: Some(500),
                till: None,
            };
            match db(&ctx, move |j| j.list(&filter)).await {
                Ok(rows) => ctx.emit(Event::Journal { rows }),
                Err(e) => {
                    tracing::error!(error = %e, "listing the journal failed");
                    ctx.emit(Event::Trouble {
                        id: None,
                        key: "error.journal",
                    });
                }
            }
            ctx.emit_counts().await;
        }
        Command::LoadOperation { id } => {
            let rid = id.clone();
            match db(&ctx, move |j| Ok((j.get(&rid)?, j.events(&rid)?))).await {
                Ok((op, events)) => ctx.emit(Event::Detail { op, events }),
                Err(e) => {
                    tracing::error!(op = %id, error = %e, "loading an operation failed");
                    ctx.emit(Event::Trouble {
                        id: Some(id),
                        key: "error.journal",
                    });
                }
            }
        }
    }
}

/// Commits a confirmed operation as pending (refused when a like one exists, unless
/// `allow_duplicate`) and drives it to the end; `on_duplicate` builds the question for the
/// cashier. The one path from "the cashier said yes" to the first byte sent (rules 1, 8).
pub(crate) async fn commit_and_drive(
    ctx: &Ctx,
    asked: Asked,
    allow_duplicate: bool,
    on_duplicate: impl FnOnce(Operation) -> Event,
) {
    let id = asked.id.clone();
    let new = match asked.clone().into_new(&ctx.settings) {
        Ok(new) => new,
        Err(e) => {
            tracing::error!(op = %id, error = %e, "cannot write the parameters; nothing sent");
            ctx.emit(Event::Trouble {
                id: Some(id),
                key: "error.not_recorded",
            });
            return;
        }
    };
    let holder = ctx.holder.clone();
    let until = poll::first_lease(ctx);
    let since =
        now_ms() - i64::try_from(crate::flows::cash_in::DUPLICATE_WINDOW.as_millis()).unwrap_or(0);
    let recorded = db(ctx, move |j| {
        if allow_duplicate {
            j.record_pending(&new, &holder, until).map(Recorded::New)
        } else {
            j.record_pending_unless_duplicate(&new, &holder, until, since)
        }
    })
    .await;
    match recorded {
        Ok(Recorded::New(op)) => {
            tracing::info!(op = %op.id, kind = op.kind.tag(), amount = op.amount.minor(), "recorded as pending");
            ctx.emit(Event::Recorded { op: op.clone() });
            ctx.emit_counts().await;
            poll::drive(ctx.clone(), op).await;
        }
        Ok(Recorded::Duplicate(existing)) => {
            tracing::info!(existing = %existing.id, "like operation found; asking before sending");
            ctx.emit(on_duplicate(existing));
        }
        Err(JournalError::DuplicateId(id)) => {
            // The same id again (a double Enter, a repeated command): follow the one there
            // is, but only when it is the same request; another one under a taken id is
            // refused, never reported with the other's outcome.
            let rid = id.clone();
            let same = match db(ctx, move |j| j.get(&rid)).await {
                Ok(existing) => crate::flows::same_request(&existing, &asked),
                Err(_) => false,
            };
            if same {
                tracing::info!(op = %id, "already recorded; following it");
                follow(ctx, id).await;
            } else {
                tracing::warn!(op = %id, "id taken by another operation; nothing sent");
                ctx.emit(Event::Trouble {
                    id: Some(id),
                    key: "error.id_taken",
                });
            }
        }
        Err(e) => {
            // Nothing was sent: the row could not be committed.
            tracing::error!(op = %id, error = %e, "recording failed; nothing was sent");
            ctx.emit(Event::Trouble {
                id: Some(id),
                key: "error.not_recorded",
            });
        }
    }
}

/// Whether a worker still sends or polls this row: pending, or a Wooppay invoice issued
/// and polled until paid (a held hold or an issued card waits for a person or a
/// notification instead).
pub(crate) fn driven(op: &Operation) -> bool {
    op.state == State::Pending || (op.state == State::Issued && op.kind == Kind::WooppayInvoice)
}

/// [`follow`] for a spawned task.
pub(crate) async fn follow_owned(ctx: Ctx, id: String) {
    follow(&ctx, id).await;
}

/// Follows one row: drives it when this process can claim it, otherwise watches the
/// journal until whoever holds it finishes it.
async fn follow(ctx: &Ctx, id: String) {
    loop {
        let rid = id.clone();
        let row = match db(ctx, move |j| j.get(&rid)).await {
            Ok(op) => op,
            Err(e) => {
                tracing::error!(op = %id, error = %e, "following an operation failed");
                ctx.emit(Event::Trouble {
                    id: Some(id),
                    key: "error.not_found",
                });
                return;
            }
        };
        // Final, or settled in a long-lived state (a held hold, an issued card): nothing
        // to drive until someone acts on it.
        if !driven(&row) {
            ctx.emit(Event::Finished { op: row });
            return;
        }
        if row.needs_reconciliation {
            ctx.emit(Event::NeedsReconciliation { op: row });
            return;
        }
        let holder = ctx.holder.clone();
        let until = poll::first_lease(ctx);
        let rid = id.clone();
        if let Ok(true) = db(ctx, move |j| j.claim(&rid, &holder, until)).await {
            poll::drive(ctx.clone(), row).await;
            // drive emits Finished / NeedsReconciliation; if it stopped for another
            // reason (shutdown, lost lease) keep watching.
            if ctx.shutdown.is_cancelled() {
                return;
            }
            let rid = id.clone();
            if let Ok(op) = db(ctx, move |j| j.get(&rid)).await
                && (!driven(&op) || op.needs_reconciliation)
            {
                return;
            }
        }
        tokio::select! {
            _ = ctx.shutdown.cancelled() => return,
            _ = tokio::time::sleep(Duration::from_millis(500)) => {}
        }
    }
}

/// Claims every free pending row and drives each; then keeps looking, at the backoff cap,
/// for rows whose holder died (their lease runs out) until shutdown.
async fn resume_all(ctx: &Ctx) {
    let mut first = true;
    // Rows a killed kassa was sending are free at once, not when their lease runs out.
    let ours = ctx.holder.clone();
    match db(ctx, move |j| {
        j.release_dead_leases(|h| holder::holder_alive(&ours, h))
    })
    .await
    {
        Ok(0) => {}
        Ok(n) => tracing::info!(rows = n, "leases of a process that is gone released"),
        Err(e) => tracing::warn!(error = %e, "could not look for leases of dead processes"),
    }
    loop {
        let holder = ctx.holder.clone();
        let until = poll::first_lease(ctx);
        let settings = ctx.settings.clone();
        let claimed = db(ctx, move |j| {
            // A till's own journal: every row is this till's (one recorded for an endpoint
            // the config no longer names goes to a person). A chain's: only the rows this
            // configuration can send; another account's are left to its tills.
            let shared = j.is_shared();
            j.claim_pending_mine(&holder, until, |kind, endpoint, identity| {
                let (e, i) = crate::flows::endpoint(&settings, kind);
                !shared || (e == endpoint && i == identity)
            })
        })
        .await;
        match claimed {
            Ok(rows) => {
                let fresh: Vec<(String, Kind)> = {
                    let active = ctx.active.lock().map(|a| a.clone()).unwrap_or_default();
                    rows.into_iter()
                        .filter(|(id, _)| !active.contains(id))
                        .collect()
                };
                if first || !fresh.is_empty() {
                    ctx.emit(Event::Resuming { count: fresh.len() });
                }
                // Spread over the first wait a new row gets: hundreds of rows found at start
                // are not sent in one burst (max_in_flight bounds the rest).
                if !fresh.is_empty() {
                    tracing::info!(rows = fresh.len(), "resuming pending operations");
                }
                let now = tokio::time::Instant::now();
                let n = u32::try_from(fresh.len()).unwrap_or(u32::MAX).max(1);
                let gap = ctx.settings.poll_initial / n;
                for (i, (id, kind)) in fresh.into_iter().enumerate() {
                    tracing::debug!(op = %id, "resuming pending operation");
                    let at = now + gap.saturating_mul(u32::try_from(i).unwrap_or(u32::MAX));
                    poll::resume(ctx, id, kind, at);
                }
            }
            Err(e) => {
                tracing::error!(error = %e, "claiming pending rows failed");
                ctx.emit(Event::Trouble {
                    id: None,
                    key: "error.journal",
                });
            }
        }
        if first {
            ctx.emit_counts().await;
            // Notifications a previous run kept and did not finish acting on.
            notices::replay(ctx).await;
        }
        first = false;
        tokio::select! {
            _ = ctx.shutdown.cancelled() => return,
            _ = tokio::time::sleep(ctx.settings.poll_max.max(Duration::from_secs(1))) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::journal::{NewOperation, now_ms};

    fn ask(
        asks: &std::sync::mpsc::Sender<Ask>,
        grouped: bool,
        f: impl FnOnce(&mut Journal) -> Result<bool, JournalError> + Send + 'static,
    ) -> tokio::sync::oneshot::Receiver<Result<bool, JournalError>> {
        let (job, rx) = job(f);
        let _ = asks.send(if grouped {
            Ask::Grouped(job)
        } else {
            Ask::Run(job)
        });
        rx
    }

    /// A journal on disk with a pending cash-in for each of `ids`.
    fn pending_journal(
        ids: &[&str],
        until: i64,
    ) -> Result<(tempfile::TempDir, std::path::PathBuf, Journal), JournalError> {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("j.db");
        let mut j = Journal::open(&path)?;
        for id in ids {
            j.record_pending(
                &NewOperation {
                    id: (*id).into(),
                    kind: crate::journal::Kind::AllpayCashIn,
                    amount: crate::money::Amount::from_minor(100, crate::money::Currency::Kzt)
                        .map_err(|e| JournalError::Corrupt(e.to_string()))?,
                    customer: "77072734954".into(),
                    customer_name: None,
                    endpoint: "http://x/".into(),
                    identity: "72222222221".into(),
                    params: None,
                },
                "me",
                until,
            )?;
        }
        Ok((dir, path, j))
    }

    /// A call's answer, waited for as its caller would.
    fn answer(
        r: tokio::sync::oneshot::Receiver<Result<bool, JournalError>>,
    ) -> Result<bool, JournalError> {
        r.blocking_recv()
            .map_err(|_| JournalError::Corrupt("no answer".into()))?
    }

    /// Poll calls queued while the journal was busy are committed as one group; a call
    /// that fails in it fails alone, and a call that is not a poll's runs on its own.
    #[test]
    fn poll_calls_queued_together_share_one_commit() -> Result<(), JournalError> {
        let until = now_ms() + 60_000;
        let (_dir, path, j) = pending_journal(&["{a}", "{b}", "{c}"], until)?;
        let (asks, rx) = std::sync::mpsc::channel();
        let server = std::thread::spawn(move || serve(j, &rx));
        // The journal is busy with one call while the others queue behind it.
        let (go, wait) = std::sync::mpsc::channel::<()>();
        let busy = ask(&asks, false, move |j| {
            let _ = wait.recv();
            Ok(j.in_group())
        });
        let attempt = |id: &'static str| {
            ask(&asks, true, move |j| {
                j.begin_attempt(id, "me", until)?;
                Ok(j.in_group())
            })
        };
        let a = attempt("{a}");
        let missing = attempt("{nope}");
        let b = attempt("{b}");
        let alone = ask(&asks, false, |j| Ok(j.in_group()));
        let c = attempt("{c}");
        let _ = go.send(());
        assert!(!answer(busy)?, "a call of its own is not grouped");
        assert!(answer(a)?, "queued poll calls share a transaction");
        assert!(matches!(answer(missing), Err(JournalError::NotFound(_))));
        assert!(answer(b)?);
        assert!(
            !answer(alone)?,
            "a call that is not a poll's ends the group"
        );
        // The last call came after the lone one: a group of one commits on its own.
        assert!(!answer(c)?);
        drop(asks);
        let _ = server.join();
        let j = Journal::open(&path)?;
        for id in ["{a}", "{b}", "{c}"] {
            assert_eq!(j.get(id)?.attempts, 1, "{id} kept");
        }
        Ok(())
    }

    /// The database rolled a group back half-way (an I/O error): the calls before it are
    /// told that nothing of them was kept, the calls after it commit on their own and are
    /// told they did.
    #[test]
    fn a_group_the_database_rolled_back_keeps_none_of_its_calls_and_says_so()
    -> Result<(), JournalError> {
        let until = now_ms() + 60_000;
        let (_dir, path, j) = pending_journal(&["{a}", "{c}"], until)?;
        let (asks, rx) = std::sync::mpsc::channel();
        let server = std::thread::spawn(move || serve(j, &rx));
        let (go, wait) = std::sync::mpsc::channel::<()>();
        let busy = ask(&asks, false, move |_| Ok(wait.recv().is_ok()));
        let a = ask(&asks, true, move |j| {
            j.begin_attempt("{a}", "me", until)?;
            Ok(j.in_group())
        });
        let fault = ask(&asks, true, |j| {
            j.roll_back_group()?;
            Ok(j.in_group())
        });
        let c = ask(&asks, true, move |j| {
            j.begin_attempt("{c}", "me", until)?;
            Ok(j.in_group())
        });
        let _ = go.send(());
        assert!(answer(busy)?);
        assert!(matches!(answer(a), Err(JournalError::Uncommitted(_))));
        assert!(matches!(answer(fault), Err(JournalError::Uncommitted(_))));
        assert!(
            !answer(c)?,
            "after the rollback, a call on its own, told it was kept"
        );
        drop(asks);
        let _ = server.join();
        let j = Journal::open(&path)?;
        assert_eq!(j.get("{a}")?.attempts, 0, "rolled back with the group");
        assert_eq!(j.get("{c}")?.attempts, 1, "kept on its own");
        Ok(())
    }
}
