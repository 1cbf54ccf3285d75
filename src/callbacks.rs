//! The optional HTTP listener for providers' calls back to kassa: UPay's notifications
//! (`[upay] notify_listen`, any path) and Wooppay's requestUrl calls (paths under
//! `/wooppay`). A notification is a hint (DESIGN.md rule 6): one whose
//! signature checks out triggers a status check, and only the check's answer moves a hold;
//! a card registration, which has no check method, is confirmed by its signed notification.
//! A bad one is logged, answered 403, and changes nothing.
//!
//! It serves with the emulator's small HTTP/1.1 server (one request per connection).

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;

use tokio::net::TcpListener;
use tokio::sync::mpsc::UnboundedSender;
use tokio_util::sync::CancellationToken;

use crate::config::{Secret, UpaySettings};
use crate::emulator::http::{self, Reply, Request};
use crate::providers::upay::codec::CheckBy;
use crate::providers::upay::token;
use crate::worker::Command;
use crate::worker::upay::CardTarget;

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

/// What a notification's signature is checked with (the password is read now, once).
struct Verifier {
    username: String,
    password: Secret,
}

/// Starts serving: signed notifications become worker commands.
pub fn serve(
    bound: Bound,
    upay: &UpaySettings,
    commands: UnboundedSender<Command>,
) -> Result<Callbacks, String> {
    let verifier = Arc::new(Verifier {
        username: upay.username.clone(),
        password: upay.password.get()?,
    });
    let stop = CancellationToken::new();
    let handler: http::Handler = Arc::new(move |req: Request| handle(&verifier, &commands, &req));
    tokio::spawn(http::serve(bound.listener, handler, stop.clone()));
    tracing::info!(addr = %bound.addr, "listening for UPay notifications");
    Ok(Callbacks {
        addr: bound.addr,
        stop,
    })
}

/// The fields of a form-encoded or JSON body.
fn fields(req: &Request) -> Option<HashMap<String, String>> {
    let body = std::str::from_utf8(&req.body).ok()?.trim();
    if body.starts_with('{') {
        let v: serde_json::Value = serde_json::from_str(body).ok()?;
        let obj = v.as_object()?;
        return Some(
            obj.iter()
                .map(|(k, v)| {
                    let text = match v {
                        serde_json::Value::String(s) => s.clone(),
                        other => other.to_string(),
                    };
                    (k.clone(), text)
                })
                .collect(),
        );
    }
    Some(
        body.split('&')
            .filter(|p| !p.is_empty())
            .filter_map(|pair| {
                let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
                Some((form_decode(k)?, form_decode(v)?))
            })
            .collect(),
    )
}

fn form_decode(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' => {
                let hex = std::str::from_utf8(bytes.get(i + 1..i + 3)?).ok()?;
                out.push(u8::from_str_radix(hex, 16).ok()?);
                i += 2;
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8(out).ok()
}

fn answer(status: u16, text: &str) -> Reply {
    Reply::Full {
        status,
        content_type: "application/json",
        body: serde_json::json!({ "status": text })
            .to_string()
            .into_bytes(),
    }
}

fn handle(v: &Verifier, commands: &UnboundedSender<Command>, req: &Request) -> Reply {
    // Wooppay's call to an invoice's requestUrl carries no signature: it is only a reason
    // to ask Wooppay itself about the issued invoices (GET or POST, whatever it holds).
    if req.path().starts_with("/wooppay") {
        tracing::info!(
            path = req.path(),
            "Wooppay requestUrl call; checking issued invoices"
        );
        return match commands.send(Command::WooppayNotified) {
            Ok(()) => Reply::json(serde_json::json!({ "data": 1 }).to_string()),
            Err(_) => answer(503, "kassa is stopping"),
        };
    }
    if req.method != "POST" {
        return answer(405, "POST a notification here");
    }
    let Some(f) = fields(req) else {
        tracing::warn!(path = req.path(), "notification unreadable; ignored");
        return answer(400, "unreadable body");
    };
    let get = |k: &str| f.get(k).map(|s| s.trim()).filter(|s| !s.is_empty());
    let signature = get("accessToken").unwrap_or("");
    let status = get("status").unwrap_or("");
    let message = get("message").unwrap_or("");
    if let Some(hold_id) = get("holdId") {
        if !token::notification_ok(&v.username, v.password.expose(), hold_id, signature) {
            tracing::warn!(%hold_id, "UPay hold notification with a bad signature; ignored");
            return answer(403, "bad signature");
        }
        tracing::info!(%hold_id, %status, "UPay hold notification; checking the hold");
        let sent = commands.send(Command::CheckHold {
            by: CheckBy::HoldId,
            target: hold_id.to_string(),
        });
        return if sent.is_ok() {
            answer(200, "ok")
        } else {
            answer(503, "kassa is stopping")
        };
    }
    if let Some(card) = get("cardToken") {
        let shown = crate::mask::token(card);
        if !token::notification_ok(&v.username, v.password.expose(), card, signature) {
            tracing::warn!(card = %shown, "UPay card notification with a bad signature; ignored");
            return answer(403, "bad signature");
        }
        tracing::info!(card = %shown, %status, "UPay card notification");
        let sent = commands.send(Command::ConfirmCard {
            target: CardTarget::Token(card.to_string()),
            confirmed: status == "0",
            note: format!("UPay notification: status {status}, {message}"),
        });
        return if sent.is_ok() {
            answer(200, "ok")
        } else {
            answer(503, "kassa is stopping")
        };
    }
    tracing::warn!(
        path = req.path(),
        "notification names neither holdId nor cardToken"
    );
    answer(400, "holdId or cardToken required")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn form_bodies_decode() {
        assert_eq!(form_decode("a%20b+c").as_deref(), Some("a b c"));
        assert_eq!(
            form_decode("%D0%A3%D1%81").as_deref(),
            Some("Ус"),
            "UTF-8 percent-escapes"
        );
        assert_eq!(form_decode("%zz"), None);
        assert_eq!(form_decode("%4"), None);
    }
}
