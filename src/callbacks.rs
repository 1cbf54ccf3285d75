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
use crate::http1::{self as http, Reply, Request};
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

    // Fuzzing (issue 9, tests/fuzz.rs has the reply parsers): the notification bodies are
    // read by private functions, so their property lives here, against `handle` itself.

    use proptest::prelude::*;
    use proptest::test_runner::{Config, TestRunner};
    use sha1::{Digest, Sha1};
    use tokio::sync::mpsc::unbounded_channel;

    const USER: &str = "partner";
    const PASSWORD: &str = "s3cret";

    fn signature(subject: &str) -> String {
        let digest = Sha1::digest(format!("{USER}{PASSWORD}{subject}").as_bytes());
        digest.iter().map(|b| format!("{b:02x}")).collect()
    }

    fn percent(s: &str) -> String {
        s.bytes().map(|b| format!("%{b:02X}")).collect()
    }

    /// A notification body: arbitrary bytes, or a form or JSON body of the document's
    /// fields, signed well, signed with a changed signature, or not signed.
    fn body() -> impl Strategy<Value = Vec<u8>> {
        let key = prop_oneof![
            Just("holdId".to_string()),
            Just("cardToken".to_string()),
            Just("status".to_string()),
            Just("message".to_string()),
            Just("accessToken".to_string()),
            "[a-zA-Z]{0,8}",
        ];
        let value = prop_oneof![".{0,12}", "[0-9]{1,19}", "[ &=%+]{0,4}"];
        let subject = prop_oneof!["[0-9]{1,19}", ".{0,10}"];
        let fields = (
            prop::collection::vec((key, value), 0..4),
            any::<bool>(),
            subject,
            0..4u8,
            any::<prop::sample::Index>(),
        )
            .prop_map(|(mut extra, hold, subject, sign, at)| {
                let name = if hold { "holdId" } else { "cardToken" };
                let mut sig = signature(&subject);
                match sign {
                    0 => {}
                    1 => {
                        let i = at.index(sig.len());
                        let c = if &sig[i..=i] == "0" { "1" } else { "0" };
                        sig.replace_range(i..=i, c);
                    }
                    2 => sig.truncate(at.index(sig.len())),
                    _ => sig = String::new(),
                }
                extra.insert(0, (name.to_string(), subject));
                extra.push(("accessToken".to_string(), sig));
                extra
            });
        prop_oneof![
            prop::collection::vec(any::<u8>(), 0..128),
            (fields.clone(), any::<bool>()).prop_map(|(f, enc)| {
                f.iter()
                    .map(|(k, v)| {
                        if enc {
                            format!("{}={}", percent(k), percent(v))
                        } else {
                            format!("{k}={v}")
                        }
                    })
                    .collect::<Vec<_>>()
                    .join("&")
                    .into_bytes()
            }),
            fields.prop_map(|f| {
                let obj: serde_json::Map<String, serde_json::Value> = f
                    .into_iter()
                    .map(|(k, v)| (k, serde_json::Value::String(v)))
                    .collect();
                serde_json::Value::Object(obj).to_string().into_bytes()
            }),
        ]
    }

    /// Any notification: never a panic; a command only for a Wooppay call or for a holdId
    /// or cardToken whose signature checks out, and then for that hold or card.
    #[test]
    fn notifications_move_nothing_without_a_good_signature() {
        let cases = std::env::var("PROPTEST_CASES")
            .ok()
            .and_then(|c| c.parse().ok())
            .unwrap_or(500);
        let mut runner = TestRunner::new(Config {
            cases,
            failure_persistence: None,
            ..Config::default()
        });
        let verifier = Verifier {
            username: USER.into(),
            password: Secret::new(PASSWORD.into()),
        };
        let method = prop_oneof![
            Just("POST".to_string()),
            Just("GET".to_string()),
            "[A-Z]{0,6}"
        ];
        let path = prop_oneof![
            Just("/".to_string()),
            Just("/upay/notify".to_string()),
            Just("/wooppay?id=1".to_string()),
            "/[a-z/?=&]{0,12}",
        ];
        let ran = std::cell::Cell::new(0u64);
        // Signed ones must get through, or the property says nothing.
        let moved = std::cell::Cell::new(0u64);
        let result = runner.run(&(method, path, body()), |(method, target, body)| {
            ran.set(ran.get() + 1);
            let (tx, mut rx) = unbounded_channel();
            let req = Request {
                method: method.clone(),
                target: target.clone(),
                headers: Vec::new(),
                body: body.clone(),
            };
            let _ = handle(&verifier, &tx, &req);
            let sent = rx.try_recv().ok();
            prop_assert!(
                rx.try_recv().is_err(),
                "one notification, one command at most"
            );
            let Some(cmd) = sent else {
                return Ok(());
            };
            moved.set(moved.get() + 1);
            if req.path().starts_with("/wooppay") {
                prop_assert!(matches!(cmd, Command::WooppayNotified));
                return Ok(());
            }
            prop_assert_eq!(method.as_str(), "POST");
            let f = fields(&req).unwrap_or_default();
            let get = |k: &str| f.get(k).map(|s| s.trim()).filter(|s| !s.is_empty());
            let sig = get("accessToken").unwrap_or("");
            match cmd {
                Command::CheckHold { target, .. } => {
                    prop_assert_eq!(Some(target.as_str()), get("holdId"));
                    prop_assert!(sig.eq_ignore_ascii_case(&signature(&target)));
                }
                Command::ConfirmCard {
                    target: CardTarget::Token(card),
                    ..
                } => {
                    prop_assert_eq!(get("holdId"), None);
                    prop_assert_eq!(Some(card.as_str()), get("cardToken"));
                    prop_assert!(sig.eq_ignore_ascii_case(&signature(&card)));
                }
                other => prop_assert!(false, "unexpected command {other:?}"),
            }
            Ok(())
        });
        eprintln!(
            "fuzz callbacks_notifications: {} cases, {} gave a command",
            ran.get(),
            moved.get()
        );
        if let Err(e) = result {
            panic!("{e}");
        }
        assert!(moved.get() > 0, "no notification got through");
    }
}
