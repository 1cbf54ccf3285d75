//! The optional HTTP listener for providers' calls back to kassa: UPay's notifications
//! (`[upay] notify_listen`, any path) and Wooppay's requestUrl calls (paths under
//! `/wooppay`). It is a server on the open network, built to be exposed: hyper's HTTP/1 with
//! a header timeout, a body timeout and a body limit, chunked bodies read, one request per
//! connection, a cap on connections (at the cap, the oldest connection that has not sent
//! its headers is closed for the new one, so idle sockets never shut out a real call), and
//! TLS of its own when `[upay] notify_tls_cert`/`notify_tls_key` are set.
//!
//! What a call says is read in [`notice`]; the worker keeps a UPay notification in the
//! journal before the caller is answered 200, so a restart still acts on it.

pub mod notice;

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use http_body_util::{BodyExt, Full, Limited};
use hyper::body::{Bytes, Incoming};
use hyper::{Request, Response};
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;
use tokio::sync::mpsc::UnboundedSender;
use tokio_util::sync::CancellationToken;

use crate::config::UpaySettings;
use crate::worker::{Ack, Command, Notified};
use notice::Verifier;

/// How much the listener takes from its callers.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Connections open at once.
    pub max_connections: usize,
    /// From the connection's start to the end of the request's headers.
    pub header_timeout: Duration,
    /// For the body, once the headers are in.
    pub body_timeout: Duration,
    /// The largest body read (a notification is a few hundred bytes).
    pub max_body: usize,
    /// How long the caller waits for the worker to keep a notification.
    pub ack_timeout: Duration,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            max_connections: 512,
            header_timeout: Duration::from_secs(5),
            body_timeout: Duration::from_secs(10),
            max_body: 16 * 1024,
            ack_timeout: Duration::from_secs(10),
        }
    }
}

/// A bound listener, not serving yet: its address goes into `[upay] notify_url` (under
/// `--demo`) before the worker starts.
pub struct Bound {
    listener: TcpListener,
    pub addr: SocketAddr,
}

/// Binds `listen` (e.g. `127.0.0.1:8089`, or port 0 for any).
pub async fn bind(listen: &str) -> std::io::Result<Bound> {
    let listener = TcpListener::bind(listen).await?;
    let addr = listener.local_addr()?;
    Ok(Bound { listener, addr })
}

/// A running listener; [`Callbacks::stop`] stops it.
pub struct Callbacks {
    pub addr: SocketAddr,
    stop: CancellationToken,
}

impl Callbacks {
    pub fn stop(&self) {
        self.stop.cancel();
    }
}

impl Drop for Callbacks {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

/// Starts serving with the default limits.
pub fn serve(
    bound: Bound,
    upay: &UpaySettings,
    commands: UnboundedSender<Command>,
) -> Result<Callbacks, String> {
    serve_with(bound, upay, commands, Limits::default())
}

/// Starts serving: calls become worker commands.
pub fn serve_with(
    bound: Bound,
    upay: &UpaySettings,
    commands: UnboundedSender<Command>,
    limits: Limits,
) -> Result<Callbacks, String> {
    let tls = match &upay.notify_tls {
        Some((cert, key)) => Some(tls_acceptor(cert, key)?),
        None => None,
    };
    let shared = Arc::new(Shared {
        verifier: Verifier {
            username: upay.username.clone(),
            password: upay.password.get()?,
        },
        commands,
        limits,
    });
    let stop = CancellationToken::new();
    tokio::spawn(accept_loop(bound.listener, shared, tls, stop.clone()));
    tracing::info!(addr = %bound.addr, tls = upay.notify_tls.is_some(), "listening for notifications");
    Ok(Callbacks {
        addr: bound.addr,
        stop,
    })
}

/// The listener's TLS: the certificate chain and key from PEM files.
fn tls_acceptor(
    cert: &std::path::Path,
    key: &std::path::Path,
) -> Result<tokio_rustls::TlsAcceptor, String> {
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .map_err(|e| e.to_string())?
    .with_no_client_auth()
    .with_single_cert(
        crate::providers::pem_certificates(cert)?,
        crate::providers::pem_private_key(key)?,
    )
    .map_err(|e| e.to_string())?;
    Ok(tokio_rustls::TlsAcceptor::from(Arc::new(config)))
}

struct Shared {
    verifier: Verifier,
    commands: UnboundedSender<Command>,
    limits: Limits,
}

/// One open connection, as the cap sees it.
struct Slot {
    id: u64,
    opened: Instant,
    /// Its request's headers are in: a real call, never closed for a newcomer.
    busy: AtomicBool,
    close: CancellationToken,
}

async fn accept_loop(
    listener: TcpListener,
    shared: Arc<Shared>,
    tls: Option<tokio_rustls::TlsAcceptor>,
    stop: CancellationToken,
) {
    let slots: Arc<Mutex<Vec<Arc<Slot>>>> = Arc::default();
    let next = AtomicU64::new(0);
    loop {
        let accepted = tokio::select! {
            _ = stop.cancelled() => break,
            a = listener.accept() => a,
        };
        let (stream, peer) = match accepted {
            Ok(x) => x,
            Err(e) => {
                // Out of descriptors and the like: wait a little rather than spin.
                tracing::warn!(error = %e, "listener: accept failed");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let slot = Arc::new(Slot {
            id: next.fetch_add(1, Ordering::Relaxed),
            opened: Instant::now(),
            busy: AtomicBool::new(false),
            close: stop.child_token(),
        });
        {
            let Ok(mut open) = slots.lock() else { break };
            if open.len() >= shared.limits.max_connections {
                let idle = open
                    .iter()
                    .enumerate()
                    .filter(|(_, s)| !s.busy.load(Ordering::Relaxed))
                    .min_by_key(|(_, s)| s.opened)
                    .map(|(i, _)| i);
                match idle {
                    Some(i) => open.swap_remove(i).close.cancel(),
                    None => {
                        tracing::debug!(%peer, "listener: at its cap, every connection busy; refused");
                        continue;
                    }
                }
            }
            open.push(slot.clone());
        }
        let shared = shared.clone();
        let tls = tls.clone();
        let slots = slots.clone();
        tokio::spawn(async move {
            let limits = shared.limits;
            let whole = limits.header_timeout + limits.body_timeout + limits.ack_timeout;
            let conn = connection(stream, tls, shared, slot.clone());
            tokio::select! {
                _ = slot.close.cancelled() => {}
                _ = tokio::time::timeout(whole, conn) => {}
            }
            if let Ok(mut open) = slots.lock() {
                open.retain(|s| s.id != slot.id);
            }
        });
    }
}

async fn connection(
    stream: tokio::net::TcpStream,
    tls: Option<tokio_rustls::TlsAcceptor>,
    shared: Arc<Shared>,
    slot: Arc<Slot>,
) {
    let header_timeout = shared.limits.header_timeout;
    let service = hyper::service::service_fn(move |req: Request<Incoming>| {
        slot.busy.store(true, Ordering::Relaxed);
        let shared = shared.clone();
        async move { Ok::<_, std::convert::Infallible>(handle(&shared, req).await) }
    });
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(header_timeout)
        .keep_alive(false);
    let served = match tls {
        Some(acceptor) => {
            match tokio::time::timeout(header_timeout, acceptor.accept(stream)).await {
                Ok(Ok(s)) => http.serve_connection(TokioIo::new(s), service).await,
                _ => return,
            }
        }
        None => http.serve_connection(TokioIo::new(stream), service).await,
    };
    if let Err(e) = served {
        tracing::debug!(error = %e, "listener: connection ended with an error");
    }
}

fn json(status: u16, body: serde_json::Value) -> Response<Full<Bytes>> {
    let mut r = Response::new(Full::new(Bytes::from(body.to_string())));
    *r.status_mut() = hyper::StatusCode::from_u16(status).unwrap_or(hyper::StatusCode::OK);
    r.headers_mut().insert(
        hyper::header::CONTENT_TYPE,
        hyper::header::HeaderValue::from_static("application/json"),
    );
    r
}

fn status(code: u16, text: &str) -> Response<Full<Bytes>> {
    json(code, serde_json::json!({ "status": text }))
}

async fn handle(shared: &Shared, req: Request<Incoming>) -> Response<Full<Bytes>> {
    let limits = shared.limits;
    let method = req.method().as_str().to_string();
    let path = req.uri().path().to_string();
    let body = Limited::new(req.into_body(), limits.max_body);
    let body = match tokio::time::timeout(limits.body_timeout, body.collect()).await {
        Ok(Ok(b)) => b.to_bytes(),
        Ok(Err(e)) => {
            tracing::warn!(%path, error = %e, "notification body refused (too large or broken)");
            return status(413, "body too large or unreadable");
        }
        Err(_) => {
            tracing::warn!(%path, "notification body too slow; closed");
            return status(408, "body too slow");
        }
    };
    let call = match notice::read(&shared.verifier, &method, &path, &body) {
        Ok(c) => c,
        Err(r) => return status(r.status, r.text),
    };
    let wooppay = call == Notified::WooppayPing;
    let (ack, kept) = Ack::new();
    if shared.commands.send(Command::Notice { call, ack }).is_err() {
        return status(503, "kassa is stopping");
    }
    // 200 only once the notification is kept: a restart still acts on it.
    match tokio::time::timeout(limits.ack_timeout, kept).await {
        Ok(Ok(true)) if wooppay => json(200, serde_json::json!({ "data": 1 })),
        Ok(Ok(true)) => status(200, "ok"),
        _ => status(503, "not kept; send it again"),
    }
}
