//! The built-in sandbox: every provider's endpoints on loopback, with the documents' wire
//! formats, a ledger, magic inputs and faults. `kassa emulator` runs it alone; `--demo` runs
//! it in-process. Tests read its ledger at `GET /_emulator/ledger`.
//!
//! It shares only `soap.rs`'s generic reading with kassa's clients, never a provider's
//! encoder or decoder, so that a client's mistake cannot hide behind the same mistake here.

pub mod allpay_cash_in;
pub mod allpay_pay;
pub mod faults;
pub mod upay;
pub mod webmoney;
pub mod wooppay;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::http1::{self as http, Reply, Request};

pub use crate::demo::{
    CASH_IN_PATH, TERMINAL_PATH, UPAY_PATH, WOOPPAY_PATH, X1_CLASSIC_PATH, X1_LIGHT_PATH,
};

/// How the emulator behaves.
#[derive(Debug, Clone)]
pub struct Options {
    /// Polls a payment answers PENDING before its final state.
    pub pending_polls: u32,
    /// How late a "slow" reply comes.
    pub slow: Duration,
    /// A UPay card's customer confirms 3-D Secure by themselves this long after the
    /// registration (the demo's "phone"); otherwise only `GET` of the ConfirmUrl does.
    pub upay_confirm_after: Option<Duration>,
}

impl Options {
    /// `--demo`: a UPay customer confirms their card a few seconds after registering it.
    pub fn demo() -> Options {
        Options {
            upay_confirm_after: Some(Duration::from_secs(4)),
            ..Options::default()
        }
    }
}

impl Default for Options {
    fn default() -> Options {
        Options {
            pending_polls: 2,
            slow: Duration::from_secs(15),
            upay_confirm_after: None,
        }
    }
}

#[derive(Debug, Default)]
struct State {
    cash_in: allpay_cash_in::CashIn,
    pay: allpay_pay::Payments,
    x1: webmoney::X1,
    upay: upay::Upay,
    wooppay: wooppay::Wooppay,
    /// Faults queued for the coming payment requests of any endpoint.
    faults: faults::FaultQueue,
    /// `http://127.0.0.1:PORT`, for links the emulator hands out.
    base: String,
}

/// A running emulator; dropping it does not stop it, [`Emulator::stop`] does.
pub struct Emulator {
    pub addr: SocketAddr,
    state: Arc<Mutex<State>>,
    stop: CancellationToken,
}

impl Emulator {
    /// Binds `listen` (e.g. `127.0.0.1:0`) and serves on the current tokio runtime.
    pub async fn start(listen: &str, options: Options) -> std::io::Result<Emulator> {
        let listener = TcpListener::bind(listen).await?;
        let addr = listener.local_addr()?;
        let state = Arc::new(Mutex::new(State {
            base: format!("http://{addr}"),
            ..State::default()
        }));
        let stop = CancellationToken::new();
        let handler_state = state.clone();
        let handler: http::Handler =
            Arc::new(move |req: Request| route(&handler_state, &options, req));
        tokio::spawn(http::serve(listener, handler, stop.clone()));
        tracing::info!(%addr, "emulator listening");
        Ok(Emulator { addr, state, stop })
    }

    /// `http://127.0.0.1:PORT`, the base every provider URL is built on.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn cash_in_ledger(&self) -> Vec<allpay_cash_in::Entry> {
        self.state
            .lock()
            .map(|s| s.cash_in.entries())
            .unwrap_or_default()
    }

    pub fn webmoney_ledger(&self) -> Vec<webmoney::Entry> {
        self.state
            .lock()
            .map(|s| s.x1.entries())
            .unwrap_or_default()
    }

    pub fn pay_ledger(&self) -> Vec<allpay_pay::Entry> {
        self.state
            .lock()
            .map(|s| s.pay.entries())
            .unwrap_or_default()
    }

    pub fn wooppay_ledger(&self) -> Option<wooppay::Ledger> {
        self.state.lock().ok().map(|s| s.wooppay.ledger())
    }

    /// Queues faults for the coming cash-in payment requests, as `POST /_emulator/faults`.
    pub fn queue_faults(&self, names: &str) -> Result<usize, String> {
        self.state
            .lock()
            .map_err(|_| "emulator state poisoned".to_string())
            .and_then(|mut s| s.faults.queue(names))
    }

    pub fn stop(&self) {
        self.stop.cancel();
    }
}

/// The next id of a counter that starts from the clock: the clock `now` (in the id's own
/// unit) or one above `last`, whichever is later. Every `--demo` run starts a fresh emulator
/// beside the same demo journal; ids from the clock are never the ones an earlier run
/// handed out, so a row left from that run never reads a new operation's reply.
pub(crate) fn clock_id(last: i64, now: i64) -> i64 {
    now.max(last.saturating_add(1))
}

/// [`clock_id`] for an id a document types as a 32-bit int (a Wooppay operationId is an
/// `xsd:int`), on [`int32_clock`]: past `i32::MAX` it starts again from the clock.
///
/// A tenth of a second is coarse: two `--demo` runs one after another (each a fresh emulator
/// beside the same demo journal) can both start inside one tenth, and a clock that steps back
/// hands a tenth out again. So every id is also claimed machine-wide: a file named by the id
/// in [`int32_claims`], made with `create_new`, which only one process or emulator can make.
/// The id is one above the highest claim still there when that is later than the clock, so a
/// run that starts after another has ended only hands out ids above that run's (strictly
/// increasing across processes), and two emulators running at once never share one. Claims
/// more than a minute below the newest are removed. Without a writable temporary directory
/// it falls back to the clock alone (and says so in the log).
pub(crate) fn clock_id_int32(last: i64) -> i64 {
    let now = int32_clock();
    let Some(dir) = int32_claims() else {
        return next_int32(last, now);
    };
    let names = claimed(&dir);
    let high = names.iter().copied().max().unwrap_or(0);
    let mut id = next_int32(last.max(high), now);
    for _ in 0..100_000 {
        match std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(dir.join(id.to_string()))
        {
            Ok(_) => {
                for old in names
                    .iter()
                    .filter(|n| **n < id - CLAIMS_KEPT || **n > id + CLAIMS_AHEAD)
                {
                    let _ = std::fs::remove_file(dir.join(old.to_string()));
                }
                return id;
            }
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => id = next_int32(id, now),
            Err(e) => {
                tracing::warn!(dir = %dir.display(), error = %e, "emulator: an id cannot be claimed; from the clock alone");
                return id;
            }
        }
    }
    id
}

/// Claims kept below the newest: a minute of tenths (an emulator that read the clock and was
/// then held up for less than that still finds every claim it could collide with).
const CLAIMS_KEPT: i64 = 600;
/// A claim this far above a new one is from before the counter started again (2032).
const CLAIMS_AHEAD: i64 = 10_000_000;

/// One above `last` or the clock, whichever is later; past an `xsd:int`, the clock again.
fn next_int32(last: i64, now: i64) -> i64 {
    let id = clock_id(last, now);
    if id > i64::from(i32::MAX) { now } else { id }
}

/// `$TMPDIR/kassa-emulator-int32-ids`, made if missing; `None` when it cannot be.
fn int32_claims() -> Option<std::path::PathBuf> {
    let dir = std::env::temp_dir().join("kassa-emulator-int32-ids");
    match std::fs::create_dir_all(&dir) {
        Ok(()) => Some(dir),
        Err(e) => {
            tracing::warn!(dir = %dir.display(), error = %e, "emulator: no directory for id claims; ids from the clock alone");
            None
        }
    }
}

/// The ids claimed in `dir` (names that read as an `xsd:int`).
fn claimed(dir: &std::path::Path) -> Vec<i64> {
    std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<i64>().ok())
                .filter(|n| (0..=i64::from(i32::MAX)).contains(n))
                .collect()
        })
        .unwrap_or_default()
}

/// Tenths of a second since 2026-01-01 UTC, as a 32-bit int: two runs a tenth of a second
/// apart never share an id. It fits until October 2032, then starts again from 0 (an id
/// comes back after six years, never sooner).
pub(crate) fn int32_clock() -> i64 {
    let tenths = (chrono::Utc::now().timestamp_millis() - 1_767_225_600_000) / 100;
    tenths.rem_euclid(i64::from(i32::MAX))
}

/// Text escaped for an XML element.
pub(crate) fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    crate::providers::soap::escape_into(&mut out, s);
    out
}

/// Allpay's response header as its documents lay it out (status is a number in the schema).
pub(crate) fn allpay_header(user: &str, dev: &str) -> String {
    format!(
        "            <header>\n               <userMessage>{}</userMessage>\n               <developerMessage>{}</developerMessage>\n               <status>0</status>\n               <timestamp>{}</timestamp>\n            </header>\n",
        esc(user),
        esc(dev),
        chrono::Local::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, false)
    )
}

fn route(shared: &Arc<Mutex<State>>, options: &Options, req: Request) -> Reply {
    let Ok(mut guard) = shared.lock() else {
        return Reply::text(500, "emulator state poisoned");
    };
    let reply = route_locked(&mut guard, options, &req);
    let later = std::mem::take(&mut guard.upay.outbox);
    drop(guard);
    for job in later {
        tokio::spawn(run_later(shared.clone(), job));
    }
    reply
}

/// Sends a UPay notification, or lets a demo customer confirm a card and then notifies.
async fn run_later(shared: Arc<Mutex<State>>, job: upay::Later) {
    match job {
        upay::Later::Confirm { token, after } => {
            tokio::time::sleep(after).await;
            let more = match shared.lock() {
                Ok(mut s) => {
                    s.upay.confirm(&token);
                    std::mem::take(&mut s.upay.outbox)
                }
                Err(_) => return,
            };
            for job in more {
                Box::pin(run_later(shared.clone(), job)).await;
            }
        }
        upay::Later::Notify { url, form } => {
            let Ok(client) = crate::providers::http_client(Duration::from_secs(5)) else {
                return;
            };
            let body: String = form
                .iter()
                .map(|(k, v)| format!("{}={}", form_escape(k), form_escape(v)))
                .collect::<Vec<_>>()
                .join("&");
            let sent = client
                .post(&url)
                .header("Content-Type", "application/x-www-form-urlencoded")
                .body(body)
                .send()
                .await;
            match sent {
                Ok(r) => {
                    tracing::info!(%url, status = r.status().as_u16(), "emulator: UPay notification sent")
                }
                Err(e) => {
                    tracing::info!(%url, error = %e, "emulator: UPay notification not delivered")
                }
            }
            if let Ok(mut s) = shared.lock() {
                s.upay.notifications += 1;
            }
        }
    }
}

/// `application/x-www-form-urlencoded` escaping of one key or value.
pub(crate) fn form_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(char::from(b));
            }
            b' ' => out.push('+'),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

fn route_locked(state: &mut State, options: &Options, req: &Request) -> Reply {
    let action = req.header("SOAPAction");
    match (req.method.as_str(), req.path()) {
        ("POST", CASH_IN_PATH) => state.cash_in.handle(
            &req.body,
            action,
            &mut state.faults,
            options.pending_polls,
            options.slow,
        ),
        ("POST", TERMINAL_PATH) => state.pay.handle(
            &req.body,
            action,
            &mut state.faults,
            options.pending_polls,
            options.slow,
        ),
        ("POST", X1_CLASSIC_PATH) => {
            state
                .x1
                .handle(&req.body, true, &mut state.faults, options.slow)
        }
        ("POST", X1_LIGHT_PATH) => {
            state
                .x1
                .handle(&req.body, false, &mut state.faults, options.slow)
        }
        ("POST", UPAY_PATH) => {
            let mut cx = upay::Context {
                base: &state.base,
                confirm_after: options.upay_confirm_after,
                faults: &mut state.faults,
                slow: options.slow,
            };
            state.upay.handle(&req.body, &mut cx)
        }
        ("GET", p) if p.starts_with(upay::CONFIRM_PATH) => {
            let token = &p[upay::CONFIRM_PATH.len()..];
            match state.upay.confirm(token) {
                Some(true) => Reply::text(
                    200,
                    "Card confirmed (3-D Secure passed). You can close this page.\n",
                ),
                Some(false) => Reply::text(200, "3-D Secure failed: the card was not confirmed.\n"),
                None => Reply::text(404, "no such card\n"),
            }
        }
        ("GET", WOOPPAY_PATH) => state.wooppay.wsdl(),
        ("POST", WOOPPAY_PATH) => {
            state
                .wooppay
                .handle(req, &mut state.faults, options.pending_polls, options.slow)
        }
        ("POST", "/_emulator/faults") => {
            match state.faults.queue(&String::from_utf8_lossy(&req.body)) {
                Ok(n) => Reply::text(200, &format!("{n} fault(s) queued\n")),
                Err(bad) => Reply::text(
                    400,
                    &format!("unknown fault {bad:?}; known: {}\n", faults::NAMES),
                ),
            }
        }
        ("DELETE", "/_emulator/faults") => {
            state.faults.clear();
            Reply::text(200, "faults cleared\n")
        }
        ("GET", "/_emulator/ledger") => {
            let ledger = serde_json::json!({
                "allpay_cash_in": state.cash_in.entries(),
                "allpay_pay": state.pay.entries(),
                "webmoney_x1": state.x1.entries(),
                "upay_holds": state.upay.holds(),
                "upay_cards": state.upay.cards(),
                "upay_notifications": state.upay.notifications,
                "wooppay": state.wooppay.ledger(),
            });
            Reply::json(ledger.to_string())
        }
        ("GET", "/") => Reply::text(200, "kassa emulator: see README, section Emulator\n"),
        (_, CASH_IN_PATH | TERMINAL_PATH) => Reply::text(405, "POST a SOAP envelope here"),
        _ => Reply::text(404, "no such endpoint in the kassa emulator"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_from_the_clock_only_grow_and_fit_their_type() {
        assert_eq!(
            clock_id(0, 1_000),
            1_000,
            "a fresh counter starts at the clock"
        );
        assert_eq!(
            clock_id(1_000, 1_000),
            1_001,
            "faster than the clock: one above"
        );
        assert_eq!(clock_id(5, 1_000), 1_000);
        let before = int32_clock();
        let a = clock_id_int32(0);
        let b = clock_id_int32(a);
        assert!(a >= before && b > a && b <= i64::from(i32::MAX));
        let wrapped = clock_id_int32(i64::from(i32::MAX));
        assert!(
            wrapped >= before && wrapped != a && wrapped != b && wrapped < i64::from(i32::MAX),
            "past an xsd:int, from the clock again (claimed, so never a or b)"
        );
    }

    #[test]
    fn fresh_emulators_in_one_tenth_of_a_second_never_share_an_int32_id() {
        // Each `--demo` run starts a fresh emulator (its last id 0): two of them, one after
        // the other, well inside one tenth of a second, as two quick runs can be.
        let first = clock_id_int32(0);
        let second = clock_id_int32(0);
        assert!(second > first, "{first} then {second}");
        let third = clock_id_int32(0);
        assert!(third > second, "{second} then {third}");
    }
}
