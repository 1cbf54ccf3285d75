//! What a call to the listener says, read without I/O: a UPay notification whose signature
//! checks out (about a hold, or a card registration's outcome), a Wooppay requestUrl ping,
//! or a refusal with its HTTP status. A notification is a hint (DESIGN.md rule 6): only a
//! hold check's answer moves a hold; a card registration, which has no check method, is
//! decided by its first signed notification.

use std::collections::HashMap;

use crate::config::Secret;
use crate::journal::NoticeSource;
use crate::providers::upay::token;

/// What the signature of a UPay notification is checked with.
pub struct Verifier {
    pub username: String,
    pub password: Secret,
}

pub use crate::worker::Notified as Call;

/// Why a call is refused (nothing is done): its HTTP status and a word for the caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Refusal {
    pub status: u16,
    pub text: &'static str,
}

const fn refused(status: u16, text: &'static str) -> Refusal {
    Refusal { status, text }
}

/// Reads one call: its method, its path (without the query) and its body.
pub fn read(v: &Verifier, method: &str, path: &str, body: &[u8]) -> Result<Call, Refusal> {
    if path.starts_with("/wooppay") {
        return Ok(Call::WooppayPing);
    }
    if method != "POST" {
        return Err(refused(405, "POST a notification here"));
    }
    let Some(f) = fields(body) else {
        tracing::warn!(%path, "notification unreadable; ignored");
        return Err(refused(400, "unreadable body"));
    };
    let get = |k: &str| f.get(k).map(|s| s.trim()).filter(|s| !s.is_empty());
    let signature = get("accessToken").unwrap_or("");
    let said = |source, target: &str| Call::Upay {
        source,
        target: target.to_string(),
        status: get("status").unwrap_or("").to_string(),
        message: get("message").unwrap_or("").to_string(),
    };
    if let Some(hold_id) = get("holdId") {
        if !token::notification_ok(&v.username, v.password.expose(), hold_id, signature) {
            tracing::warn!(%hold_id, "UPay hold notification with a bad signature; ignored");
            return Err(refused(403, "bad signature"));
        }
        return Ok(said(NoticeSource::UpayHold, hold_id));
    }
    if let Some(card) = get("cardToken") {
        if !token::notification_ok(&v.username, v.password.expose(), card, signature) {
            let shown = crate::mask::token(card);
            tracing::warn!(card = %shown, "UPay card notification with a bad signature; ignored");
            return Err(refused(403, "bad signature"));
        }
        return Ok(said(NoticeSource::UpayCard, card));
    }
    tracing::warn!(%path, "notification names neither holdId nor cardToken");
    Err(refused(400, "holdId or cardToken required"))
}

/// The fields of a form-encoded or JSON body.
pub(super) fn fields(body: &[u8]) -> Option<HashMap<String, String>> {
    let body = std::str::from_utf8(body).ok()?.trim();
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
    // read by private functions, so their property lives here, against `read` itself.

    use proptest::prelude::*;
    use proptest::test_runner::{Config, TestRunner};
    use sha1::{Digest, Sha1};

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

    /// Any notification: never a panic; accepted only as a Wooppay call or for a holdId or
    /// cardToken whose signature checks out, and then for that hold or card.
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
            let path = target.split('?').next().unwrap_or("");
            let Ok(call) = read(&verifier, &method, path, &body) else {
                return Ok(());
            };
            moved.set(moved.get() + 1);
            if path.starts_with("/wooppay") {
                prop_assert_eq!(call, Call::WooppayPing);
                return Ok(());
            }
            prop_assert_eq!(method.as_str(), "POST");
            let f = fields(&body).unwrap_or_default();
            let get = |k: &str| f.get(k).map(|s| s.trim()).filter(|s| !s.is_empty());
            let sig = get("accessToken").unwrap_or("");
            match call {
                Call::Upay {
                    source: NoticeSource::UpayHold,
                    target,
                    ..
                } => {
                    prop_assert_eq!(Some(target.as_str()), get("holdId"));
                    prop_assert!(sig.eq_ignore_ascii_case(&signature(&target)));
                }
                Call::Upay {
                    source: NoticeSource::UpayCard,
                    target,
                    ..
                } => {
                    prop_assert_eq!(get("holdId"), None);
                    prop_assert_eq!(Some(target.as_str()), get("cardToken"));
                    prop_assert!(sig.eq_ignore_ascii_case(&signature(&target)));
                }
                other => prop_assert!(false, "unexpected call {other:?}"),
            }
            Ok(())
        });
        eprintln!(
            "fuzz callbacks_notifications: {} cases, {} accepted",
            ran.get(),
            moved.get()
        );
        if let Err(e) = result {
            panic!("{e}");
        }
        assert!(moved.get() > 0, "no notification got through");
    }
}
