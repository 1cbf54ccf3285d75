//! A deliberately small HTTP/1.1 server, for the emulator only (the notification listener,
//! exposed to the network, is hyper's: `callbacks`). It is our own rather than hyper's
//! because the emulator must misbehave on purpose at the socket level: reset a connection after the charge is recorded (SO_LINGER 0), cut a body
//! short, answer late. Connections are kept alive between requests (as a provider's server
//! keeps them), until the client closes, says `Connection: close`, a fault ends one, or it
//! sits idle for [`IDLE`]; bodies by Content-Length, nothing else.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio_util::sync::CancellationToken;

/// A request as the handler sees it.
#[derive(Debug, Clone)]
pub struct Request {
    pub method: String,
    /// Path and query, as sent.
    pub target: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Request {
    pub fn path(&self) -> &str {
        self.target.split('?').next().unwrap_or("")
    }

    pub fn query(&self) -> &str {
        self.target.split_once('?').map(|(_, q)| q).unwrap_or("")
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// What the connection does after the handler ran (the ledger is already updated).
#[derive(Debug, Clone)]
pub enum Reply {
    /// A normal response.
    Full {
        status: u16,
        content_type: &'static str,
        body: Vec<u8>,
    },
    /// The connection is reset without a byte of response.
    Reset,
    /// Headers announce the whole body, then only a part is written and the socket closes.
    Truncated { status: u16, body: Vec<u8> },
    /// The reply goes out after a delay.
    Slow { delay: Duration, reply: Box<Reply> },
}

impl Reply {
    pub fn xml(status: u16, body: impl Into<Vec<u8>>) -> Reply {
        Reply::Full {
            status,
            content_type: "text/xml; charset=utf-8",
            body: body.into(),
        }
    }

    pub fn json(body: String) -> Reply {
        Reply::Full {
            status: 200,
            content_type: "application/json",
            body: body.into_bytes(),
        }
    }

    pub fn text(status: u16, body: &str) -> Reply {
        Reply::Full {
            status,
            content_type: "text/plain; charset=utf-8",
            body: body.as_bytes().to_vec(),
        }
    }
}

pub type Handler = Arc<dyn Fn(Request) -> Reply + Send + Sync>;

const MAX_HEAD: usize = 64 * 1024;
const MAX_BODY: usize = 4 * 1024 * 1024;

/// Serves `handler` on `listener` until `stop` is cancelled.
pub async fn serve(listener: TcpListener, handler: Handler, stop: CancellationToken) {
    loop {
        let accepted = tokio::select! {
            _ = stop.cancelled() => return,
            a = listener.accept() => a,
        };
        let Ok((stream, peer)) = accepted else {
            // Out of file descriptors and the like: back off instead of spinning.
            tokio::time::sleep(Duration::from_millis(50)).await;
            continue;
        };
        let handler = handler.clone();
        let stop = stop.clone();
        tokio::spawn(async move {
            tokio::select! {
                _ = stop.cancelled() => {}
                r = connection(stream, peer, handler) => {
                    if let Err(e) = r {
                        tracing::debug!(%peer, error = %e, "emulator connection ended");
                    }
                }
            }
        });
    }
}

/// How long a kept-alive connection may sit idle before the emulator closes it: longer
/// than kassa's own pool keeps one ([`crate::providers::POOL_IDLE`]), so that kassa, not the
/// server, is the one to let a connection go.
const IDLE: Duration = Duration::from_secs(30);

async fn connection(
    mut stream: TcpStream,
    _peer: SocketAddr,
    handler: Handler,
) -> std::io::Result<()> {
    // Bytes read past one request belong to the next one on this connection.
    let mut buf = Vec::with_capacity(2048);
    loop {
        let read = tokio::time::timeout(IDLE, read_request(&mut stream, &mut buf)).await;
        let Ok(read) = read else {
            return Ok(());
        };
        let Some(req) = read? else {
            return Ok(());
        };
        let close = req
            .header("connection")
            .is_some_and(|v| v.eq_ignore_ascii_case("close"));
        let reply = handler(req);
        let Some(s) = write_reply(stream, reply, close).await? else {
            return Ok(());
        };
        stream = s;
    }
}

/// Reads one request from `stream`, starting with what `buf` already holds; leaves in
/// `buf` whatever came after it. `None` when the client closed (or sent a head too large).
async fn read_request(
    stream: &mut TcpStream,
    buf: &mut Vec<u8>,
) -> std::io::Result<Option<Request>> {
    let mut chunk = [0u8; 4096];
    let head_end = loop {
        if let Some(i) = find(buf, b"\r\n\r\n") {
            break i;
        }
        if buf.len() > MAX_HEAD {
            return Ok(None);
        }
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            return Ok(None);
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
    let mut lines = head.split("\r\n");
    let mut first = lines.next().unwrap_or("").split(' ');
    let method = first.next().unwrap_or("").to_string();
    let target = first.next().unwrap_or("/").to_string();
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect();
    let len = headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("content-length"))
        .and_then(|(_, v)| v.parse::<usize>().ok())
        .unwrap_or(0)
        .min(MAX_BODY);
    buf.drain(..head_end + 4);
    while buf.len() < len {
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            break;
        }
        buf.extend_from_slice(&chunk[..n]);
    }
    let body: Vec<u8> = buf.drain(..len.min(buf.len())).collect();
    Ok(Some(Request {
        method,
        target,
        headers,
        body,
    }))
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        400 => "Bad Request",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        500 => "Internal Server Error",
        _ => "Status",
    }
}

fn head(status: u16, content_type: &str, len: usize, close: bool) -> String {
    let connection = if close { "close" } else { "keep-alive" };
    format!(
        "HTTP/1.1 {status} {}\r\nContent-Type: {content_type}\r\nContent-Length: {len}\r\nConnection: {connection}\r\n\r\n",
        reason(status)
    )
}

/// Writes `reply`; gives the stream back when the connection stays open for the next
/// request (a whole reply the client did not ask to close after).
async fn write_reply(
    mut stream: TcpStream,
    reply: Reply,
    close: bool,
) -> std::io::Result<Option<TcpStream>> {
    let mut reply = reply;
    while let Reply::Slow {
        delay,
        reply: inner,
    } = reply
    {
        tokio::time::sleep(delay).await;
        reply = *inner;
    }
    match reply {
        Reply::Full {
            status,
            content_type,
            body,
        } => {
            let mut out = head(status, content_type, body.len(), close).into_bytes();
            out.extend_from_slice(&body);
            stream.write_all(&out).await?;
            if close {
                stream.shutdown().await?;
                return Ok(None);
            }
            Ok(Some(stream))
        }
        Reply::Truncated { status, body } => {
            stream
                .write_all(head(status, "text/xml; charset=utf-8", body.len(), true).as_bytes())
                .await?;
            stream.write_all(&body[..body.len() / 2]).await?;
            stream.flush().await?;
            reset(stream).map(|()| None)
        }
        Reply::Reset => reset(stream).map(|()| None),
        Reply::Slow { .. } => Ok(None),
    }
}

#[expect(
    deprecated,
    reason = "SO_LINGER 0 resets at once on drop: the fault we emulate"
)]
fn reset(stream: TcpStream) -> std::io::Result<()> {
    stream.set_linger(Some(Duration::ZERO))?;
    drop(stream);
    Ok(())
}
