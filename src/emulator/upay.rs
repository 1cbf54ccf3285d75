//! The emulator's UPay STWS endpoint (document 004), written from the document: card
//! registration with a 3-D Secure confirm link, and holds (create → captured | cancelled,
//! never both; a capture repeated with the same PartnerTrxId never captures twice). Every
//! request's AccessToken is checked against the demo partner's username and password; a
//! wrong one gets an error result.
//!
//! It reads requests with the generic element tree; the token arithmetic is the document's
//! (MD5 of the listed fields), computed here on its own.
//!
//! A check answers as document 004 does: by PartnerTrxId, a captured payment's fields; by
//! HoldId, the Result alone (the document's example), whatever the hold's state. Its
//! HoldIds, CardTokens and TransactionIds come from the clock (microseconds), so that a
//! restarted emulator never hands out an id an earlier run did.
//!
//! Magic accounts: `065` answers the create "in process" with its HoldId; `041`'s capture is
//! refused (the hold stays held); `042`'s capture takes 100 tiyin less than the hold;
//! `044`'s repeated capture (same PartnerTrxId) is refused as "already captured", as a
//! UPay that does not honour the repeat would; `046`'s first capture reply carries two
//! `code` elements that disagree (`OK`, then `STPIMS-ERR-043`), after capturing, and its
//! second the same two the other way round. `047`'s check by HoldId answers only after the
//! emulator's slow delay, with what was so when it was asked (a late, stale answer).
//!
//! One file, past 500 lines with its tests: the emulated STWS keeps its holds, cards and
//! notifications together, as one service does.

use std::collections::HashMap;

use std::time::Duration;

use md5::{Digest, Md5};
use serde::Serialize;

use super::esc;
use super::faults::{FaultQueue, text_in};
use crate::http1::Reply;
use crate::providers::soap::{self, Element};

/// The demo partner's credentials (the emulator's only partner).
pub use crate::demo::upay::{DEMO_PARTNER_KEY, DEMO_PASSWORD, DEMO_USERNAME};

/// A card number whose registration is declined; one whose 3-D Secure fails.
pub const DECLINED_CARD: &str = "4000000000000002";
pub const THREE_DS_FAILS: &str = "4000000000000010";
/// Accounts whose hold create answers "in process" (STPIMS-ERR-065) before its HoldId.
pub const IN_PROCESS_ACCOUNT: &str = "065";
/// An account whose capture is refused (the hold stays held).
pub const CAPTURE_REFUSED_ACCOUNT: &str = "041";
/// An account whose capture takes 100 tiyin less than the hold (PaymentAmount says so).
pub const CAPTURE_LESS_ACCOUNT: &str = "042";
/// An account whose repeated capture (same PartnerTrxId) is refused: "already captured".
pub const REPEAT_REFUSED_ACCOUNT: &str = "044";
/// An account whose first capture reply has two `Result/code` that disagree (OK, then an
/// error), after the capture was made; its second, the same two the other way round.
pub const TWO_CODES_ACCOUNT: &str = "046";

/// An account whose hold's check by HoldId answers late (after the emulator's `slow`), with
/// what was so when it was asked: a stale answer, for the races of a check and an action.
pub const SLOW_CHECK_ACCOUNT: &str = "047";

/// Where the customer's 3-D Secure page is: `GET {base}{CONFIRM_PATH}{token}` confirms the
/// card (or fails, for [`THREE_DS_FAILS`]) and sends the signed notification.
pub const CONFIRM_PATH: &str = "/_emulator/upay/3ds/";

/// Something the emulator does after its reply: a notification to a partner's NotifyUrl,
/// or a customer confirming a card a little later (the demo's "phone").
#[derive(Debug, Clone)]
pub enum Later {
    Notify {
        url: String,
        form: Vec<(String, String)>,
    },
    Confirm {
        token: String,
        after: Duration,
    },
}

/// A registered card.
#[derive(Debug, Clone, Serialize)]
pub struct Card {
    pub token: String,
    pub pan: String,
    /// `registered` until the customer confirms: `confirmed` or `failed`.
    pub state: String,
    #[serde(skip)]
    pub notify_url: Option<String>,
}

/// A hold as the emulated UPay keeps it.
#[derive(Debug, Clone, Serialize)]
pub struct Hold {
    pub hold_id: String,
    pub card_token: String,
    pub account: String,
    pub amount_tiyin: i64,
    /// `held`, `captured`, `cancelled`.
    pub state: String,
    pub partner_trx_id: Option<String>,
    /// What the capture took, in tiyin, and its TransactionId (once captured).
    pub captured_tiyin: Option<i64>,
    pub transaction_id: Option<String>,
    /// How many capture requests arrived (a repeat must not capture twice).
    pub captures: u32,
    #[serde(skip)]
    pub service_id: String,
    #[serde(skip)]
    pub notify_url: String,
}

#[derive(Debug, Default)]
pub struct Upay {
    cards: Vec<Card>,
    holds: HashMap<String, Hold>,
    order: Vec<String>,
    /// The last id handed out (microseconds since the epoch, or just above).
    last_id: i64,
    /// What to do once the reply is out (route() takes it).
    pub outbox: Vec<Later>,
    /// How many notifications went out, for the ledger.
    pub notifications: u32,
}

fn sha1_hex(s: &str) -> String {
    use sha1::Sha1;
    Sha1::digest(s.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn now_text() -> String {
    chrono::Local::now().format("%Y-%m-%d %H:%M:%S").to_string()
}

impl Upay {
    /// A new id: the clock in microseconds, or one above the last id when that is later.
    fn next_id(&mut self) -> i64 {
        self.last_id = super::clock_id(self.last_id, chrono::Utc::now().timestamp_micros());
        self.last_id
    }
}

fn md5_hex(s: &str) -> String {
    Md5::digest(s.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn reply(method: &str, code: &str, description: &str, fields: &[(&str, String)]) -> Reply {
    reply_codes(method, &[code], description, fields)
}

/// A reply whose Result carries each of `codes` (one, but for the two-codes magic).
fn reply_codes(
    method: &str,
    codes: &[&str],
    description: &str,
    fields: &[(&str, String)],
) -> Reply {
    let mut out =
        String::from(r#"<S:Envelope xmlns:S="http://schemas.xmlsoap.org/soap/envelope/"><S:Body>"#);
    let codes: String = codes
        .iter()
        .map(|c| format!("<code>{}</code>", esc(c)))
        .collect();
    out.push_str(&format!(
        "<ns2:{method}Response xmlns:ns2=\"http://st.apus.com/\"><return><Result>{codes}<Description>{}</Description><ServerTime>{}</ServerTime></Result>",
        esc(description),
        chrono::Utc::now().timestamp_millis()
    ));
    for (name, value) in fields {
        out.push_str(&format!("<{name}>{}</{name}>", esc(value)));
    }
    out.push_str(&format!(
        "</return></ns2:{method}Response></S:Body></S:Envelope>"
    ));
    Reply::xml(200, out)
}

/// How the emulator answers UPay: its own address (for the 3-D Secure link), whether a
/// demo customer confirms by themselves, and the faults.
pub struct Context<'a> {
    pub base: &'a str,
    pub confirm_after: Option<Duration>,
    pub faults: &'a mut FaultQueue,
    pub slow: Duration,
}

const MALFORMED: &str = "<S:Envelope xmlns:S=\"http://schemas.xmlsoap.org/soap/envelope/\"><S:Body><ns2:partnerHoldCreateIPSResponse";

impl Upay {
    /// Answers one STWS request.
    pub fn handle(&mut self, body: &[u8], cx: &mut Context<'_>) -> Reply {
        let Ok(root) = soap::parse_document(body) else {
            return super::faults::soap_fault("S:Client", "request is not XML");
        };
        let Some(op) = root.child("Body").and_then(|b| b.children.first()) else {
            return super::faults::soap_fault("S:Client", "no SOAP Body");
        };
        let method = op.name.clone();
        let get = |n: &str| text_in(op, n).to_string();
        if get("StPimsApiPartnerKey") != DEMO_PARTNER_KEY {
            return reply(&method, "STPIMS-ERR-001", "Неверный ключ партнёра", &[]);
        }
        let token_input = match method.as_str() {
            "partnerRegisterCardIPS" => {
                format!(
                    "{}{}{}",
                    get("CardNumber"),
                    get("CardExDate"),
                    get("CardCVV")
                )
            }
            "partnerHoldCreateIPS" => format!(
                "{}{}{}{}",
                get("CardToken"),
                get("ServiceId"),
                get("PersonalAccount"),
                get("AmountInTiyin")
            ),
            "partnerHoldPaymentIPS" => format!("{}{}", get("HoldId"), get("PartnerTrxId")),
            "partnerHoldCheckIPS" => get("Target"),
            "partnerHoldCancelIPS" => get("HoldId"),
            other => {
                return super::faults::soap_fault(
                    "S:Client",
                    &format!("Cannot find dispatch method for {other}"),
                );
            }
        };
        let want = md5_hex(&format!("{DEMO_USERNAME}{token_input}{DEMO_PASSWORD}"));
        if !get("AccessToken").eq_ignore_ascii_case(&want) {
            return reply(&method, "STPIMS-ERR-002", "Неверный AccessToken", &[]);
        }
        match method.as_str() {
            "partnerRegisterCardIPS" => self.register(op, cx),
            "partnerHoldCreateIPS" => {
                let amount = wire_tiyin(text_in(op, "AmountInTiyin"));
                let fault = cx.faults.choose(&amount, true);
                let reply = self.create(op);
                apply_fault(fault, reply, &method, cx.slow)
            }
            "partnerHoldPaymentIPS" => {
                let (amount, first) = self
                    .holds
                    .get(text_in(op, "HoldId"))
                    .map(|h| (wire_tiyin(&h.amount_tiyin.to_string()), h.captures == 0))
                    .unwrap_or_default();
                let fault = cx.faults.choose(&amount, first);
                let reply = self.capture(op);
                apply_fault(fault, reply, &method, cx.slow)
            }
            "partnerHoldCheckIPS" => {
                let slow = text_in(op, "Type") != "partnerTrxId"
                    && self
                        .holds
                        .get(text_in(op, "Target"))
                        .is_some_and(|h| h.account == SLOW_CHECK_ACCOUNT);
                let reply = self.check(op);
                if slow {
                    Reply::Slow {
                        delay: cx.slow,
                        reply: Box::new(reply),
                    }
                } else {
                    reply
                }
            }
            _ => self.cancel(op),
        }
    }

    /// The customer confirmed (or failed) the card's 3-D Secure: the card becomes usable
    /// (or not) and the partner is notified. `None` when there is no such card.
    pub fn confirm(&mut self, token: &str) -> Option<bool> {
        let card = self.cards.iter_mut().find(|c| c.token == token)?;
        if card.state != "registered" {
            return Some(card.state == "confirmed");
        }
        let ok = !card.pan.starts_with(&THREE_DS_FAILS[..6])
            || !card
                .pan
                .ends_with(&THREE_DS_FAILS[THREE_DS_FAILS.len() - 4..]);
        card.state = if ok { "confirmed" } else { "failed" }.into();
        if let Some(url) = card.notify_url.clone() {
            let form = vec![
                ("cardToken".to_string(), card.token.clone()),
                ("pan".to_string(), card.pan.clone()),
                ("status".to_string(), if ok { "0" } else { "1" }.to_string()),
                (
                    "message".to_string(),
                    if ok { "Success" } else { "3DS failed" }.to_string(),
                ),
                ("registerDate".to_string(), now_text()),
                (
                    "accessToken".to_string(),
                    sha1_hex(&format!("{DEMO_USERNAME}{DEMO_PASSWORD}{}", card.token)),
                ),
            ];
            self.outbox.push(Later::Notify { url, form });
        }
        Some(ok)
    }

    fn notify_hold(&mut self, hold_id: &str, service_id: &str, url: &str, message: &str) {
        if url.is_empty() {
            return;
        }
        let form = vec![
            ("holdId".to_string(), hold_id.to_string()),
            ("serviceId".to_string(), service_id.to_string()),
            ("status".to_string(), "0".to_string()),
            ("message".to_string(), message.to_string()),
            ("holdDate".to_string(), now_text()),
            (
                "accessToken".to_string(),
                sha1_hex(&format!("{DEMO_USERNAME}{DEMO_PASSWORD}{hold_id}")),
            ),
        ];
        self.outbox.push(Later::Notify {
            url: url.to_string(),
            form,
        });
    }

    fn register(&mut self, op: &Element, cx: &Context<'_>) -> Reply {
        let m = "partnerRegisterCardIPS";
        let card = text_in(op, "CardNumber");
        if card == DECLINED_CARD {
            return reply(m, "STPIMS-ERR-010", "Карта отклонена банком", &[]);
        }
        let n = self.next_id().unsigned_abs();
        let token = format!("emu{:016x}", n.wrapping_mul(7_919));
        let pan = format!(
            "{}******{}",
            &card[..card.len().min(6)],
            &card[card.len().saturating_sub(4)..]
        );
        let notify_url = Some(text_in(op, "NotifyUrl").to_string()).filter(|u| !u.is_empty());
        self.cards.push(Card {
            token: token.clone(),
            pan: pan.clone(),
            state: "registered".into(),
            notify_url,
        });
        if let Some(after) = cx.confirm_after {
            self.outbox.push(Later::Confirm {
                token: token.clone(),
                after,
            });
        }
        let confirm = format!("{}{CONFIRM_PATH}{token}", cx.base);
        reply(
            m,
            "OK",
            "Успешно",
            &[("CardToken", token), ("Pan", pan), ("ConfirmUrl", confirm)],
        )
    }

    fn create(&mut self, op: &Element) -> Reply {
        let m = "partnerHoldCreateIPS";
        let token = text_in(op, "CardToken").to_string();
        match self.cards.iter().find(|c| c.token == token) {
            None => return reply(m, "STPIMS-ERR-020", "Карта не найдена", &[]),
            Some(c) if c.state != "confirmed" => {
                return reply(m, "STPIMS-ERR-021", "Карта не подтверждена", &[]);
            }
            Some(_) => {}
        }
        let Ok(amount) = text_in(op, "AmountInTiyin").parse::<i64>() else {
            return reply(m, "STPIMS-ERR-030", "Неверная сумма", &[]);
        };
        let hold_id = self.next_id().to_string();
        let account = text_in(op, "PersonalAccount").to_string();
        self.order.push(hold_id.clone());
        self.holds.insert(
            hold_id.clone(),
            Hold {
                hold_id: hold_id.clone(),
                card_token: token,
                account: account.clone(),
                amount_tiyin: amount,
                state: "held".into(),
                partner_trx_id: None,
                captured_tiyin: None,
                transaction_id: None,
                captures: 0,
                service_id: text_in(op, "ServiceId").to_string(),
                notify_url: text_in(op, "NotifyUrl").to_string(),
            },
        );
        let url = text_in(op, "NotifyUrl").to_string();
        self.notify_hold(&hold_id, text_in(op, "ServiceId"), &url, "Held");
        if account == IN_PROCESS_ACCOUNT {
            return reply(
                m,
                "STPIMS-ERR-065",
                "Оплата в процессе",
                &[("HoldId", hold_id)],
            );
        }
        reply(m, "OK", "Успешно", &[("HoldId", hold_id)])
    }

    fn capture(&mut self, op: &Element) -> Reply {
        let m = "partnerHoldPaymentIPS";
        let trx = text_in(op, "PartnerTrxId").to_string();
        let hold_id = text_in(op, "HoldId").to_string();
        let tx = self.next_id().to_string();
        let Some(h) = self.holds.get_mut(&hold_id) else {
            return reply(m, "STPIMS-ERR-040", "Бронь не найдена", &[]);
        };
        h.captures += 1;
        match (h.state.as_str(), &h.partner_trx_id) {
            ("held", _) if h.account == CAPTURE_REFUSED_ACCOUNT => {
                reply(m, "STPIMS-ERR-043", "Списание отклонено банком", &[])
            }
            ("held", _) => {
                h.state = "captured".into();
                h.partner_trx_id = Some(trx.clone());
                h.transaction_id = Some(tx);
                h.captured_tiyin = Some(if h.account == CAPTURE_LESS_ACCOUNT {
                    h.amount_tiyin - 100
                } else {
                    h.amount_tiyin
                });
                let (id, service, url) = (
                    h.hold_id.clone(),
                    h.service_id.clone(),
                    h.notify_url.clone(),
                );
                let two_codes = h.account == TWO_CODES_ACCOUNT;
                let fields = payment_fields(h);
                self.notify_hold(&id, &service, &url, "Captured");
                if two_codes {
                    return reply_codes(m, &["OK", "STPIMS-ERR-043"], "Успешно", &fields);
                }
                reply(m, "OK", "Успешно", &fields)
            }
            // A UPay that does not honour the repeat: "already captured", even for the same
            // PartnerTrxId.
            ("captured", _) if h.account == REPEAT_REFUSED_ACCOUNT => {
                reply(m, "STPIMS-ERR-041", "Бронь уже списана", &[])
            }
            // `046`'s second reply: the two codes the other way round.
            ("captured", Some(t))
                if *t == trx && h.account == TWO_CODES_ACCOUNT && h.captures == 2 =>
            {
                reply_codes(m, &["STPIMS-ERR-043", "OK"], "Успешно", &payment_fields(h))
            }
            // The same capture again: its result, never a second capture.
            ("captured", Some(t)) if *t == trx => reply(m, "OK", "Успешно", &payment_fields(h)),
            ("captured", _) => reply(m, "STPIMS-ERR-041", "Бронь уже списана", &[]),
            _ => reply(m, "STPIMS-ERR-042", "Бронь отменена", &[]),
        }
    }

    fn cancel(&mut self, op: &Element) -> Reply {
        let m = "partnerHoldCancelIPS";
        let Some(h) = self.holds.get_mut(text_in(op, "HoldId")) else {
            return reply(m, "STPIMS-ERR-040", "Бронь не найдена", &[]);
        };
        match h.state.as_str() {
            "held" | "cancelled" => {
                let first = h.state == "held";
                h.state = "cancelled".into();
                let (id, service, url) = (
                    h.hold_id.clone(),
                    h.service_id.clone(),
                    h.notify_url.clone(),
                );
                if first {
                    self.notify_hold(&id, &service, &url, "Cancelled");
                }
                reply(m, "OK", "Успешно", &[("HoldId", id)])
            }
            _ => reply(m, "STPIMS-ERR-041", "Бронь уже списана", &[]),
        }
    }

    /// Document 004's check: by PartnerTrxId, the payment's fields; by HoldId, the Result
    /// alone (its example reply), whatever the hold's state.
    fn check(&self, op: &Element) -> Reply {
        let m = "partnerHoldCheckIPS";
        let target = text_in(op, "Target");
        if text_in(op, "Type") == "partnerTrxId" {
            return match self
                .holds
                .values()
                .find(|h| h.partner_trx_id.as_deref() == Some(target))
            {
                Some(h) => reply(m, "OK", "Успешно", &payment_fields(h)),
                None => reply(m, "STPIMS-ERR-040", "Платёж не найден", &[]),
            };
        }
        match self.holds.get(target) {
            Some(_) => reply(m, "OK", "Успешно", &[]),
            None => reply(m, "STPIMS-ERR-040", "Бронь не найдена", &[]),
        }
    }

    /// The registered cards.
    pub fn cards(&self) -> Vec<Card> {
        self.cards.clone()
    }

    /// The holds in the order they were placed.
    pub fn holds(&self) -> Vec<Hold> {
        self.order
            .iter()
            .filter_map(|id| self.holds.get(id).cloned())
            .collect()
    }
}

/// A captured hold's payment fields, as document 004 lists them for a capture and a check
/// (a repeat answers the same).
fn payment_fields(h: &Hold) -> Vec<(&'static str, String)> {
    vec![
        (
            "TransactionId",
            h.transaction_id.clone().unwrap_or_default(),
        ),
        ("PartnerTrxId", h.partner_trx_id.clone().unwrap_or_default()),
        ("PaymentDate", now_text()),
        (
            "PaymentAmount",
            h.captured_tiyin.unwrap_or(h.amount_tiyin).to_string(),
        ),
        ("ServiceId", h.service_id.clone()),
        ("CardToken", h.card_token.clone()),
    ]
}

/// Tiyin as the faults' "cents": 10051 → `100.51`.
fn wire_tiyin(t: &str) -> String {
    match t.trim().parse::<i64>() {
        Ok(v) => format!("{}.{:02}", v / 100, v % 100),
        Err(_) => String::new(),
    }
}

fn apply_fault(
    fault: Option<super::faults::Misbehaviour>,
    reply: Reply,
    method: &str,
    slow: Duration,
) -> Reply {
    let unknown = || super::upay::reply(method, "PROCESSING", "Статус неизвестен", &[]);
    super::faults::apply(fault, reply, unknown, slow, MALFORMED)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::providers::upay::codec::{self, CardRequest, CheckBy, Common, HoldRequest, Outcome};
    use crate::providers::upay::token;

    fn send(u: &mut Upay, method: &str, xml: &str) -> codec::Reply {
        let mut faults = FaultQueue::default();
        let mut cx = Context {
            base: "http://127.0.0.1:1",
            confirm_after: None,
            faults: &mut faults,
            slow: Duration::from_millis(1),
        };
        match u.handle(xml.as_bytes(), &mut cx) {
            Reply::Full { body, .. } => codec::decode(method, &body).expect("reads"),
            other => panic!("{other:?}"),
        }
    }

    fn common(tok: &str) -> Common<'_> {
        Common {
            partner_key: DEMO_PARTNER_KEY,
            access_token: tok,
            lang: Some("ru"),
        }
    }

    #[test]
    fn register_hold_capture_twice_then_cancel_is_refused() {
        let (user, pw) = (DEMO_USERNAME, DEMO_PASSWORD);
        let mut u = Upay::default();
        let t = token::register_card(user, "4719515042883250", "0624", "003", pw);
        let card = CardRequest {
            number: "4719515042883250",
            expiry: "0624",
            holder: "TONY SAPAY",
            cvv: "003",
            phone: "998911902494",
            notify_url: None,
        };
        let r = send(
            &mut u,
            "partnerRegisterCardIPS",
            &codec::encode_register_card(&common(&t), &card),
        );
        assert_eq!(r.outcome(), Outcome::Ok);
        let card_token = r.field("CardToken").expect("token").to_string();
        assert_eq!(r.field("Pan"), Some("471951******3250"));
        assert_eq!(u.confirm(&card_token), Some(true));

        let t = token::hold_create(user, &card_token, 628, "112312", 100_000, pw);
        let hold = HoldRequest {
            card_token: &card_token,
            service_id: 628,
            account: "112312",
            amount_tiyin: 100_000,
            minutes: 60,
            notify_url: "http://127.0.0.1/notify",
        };
        let r = send(
            &mut u,
            "partnerHoldCreateIPS",
            &codec::encode_hold_create(&common(&t), &hold),
        );
        let hold_id = r.hold_id().expect("hold id").to_string();

        let t = token::hold_payment(user, &hold_id, "trx-1", pw);
        for _ in 0..2 {
            let r = send(
                &mut u,
                "partnerHoldPaymentIPS",
                &codec::encode_hold_payment(&common(&t), &hold_id, "trx-1"),
            );
            assert_eq!(
                r.outcome(),
                Outcome::Ok,
                "a repeat answers the same capture"
            );
        }
        let holds = u.holds();
        assert_eq!(holds[0].state, "captured");
        assert_eq!(holds[0].captures, 2);

        let t = token::hold_cancel(user, &hold_id, pw);
        let r = send(
            &mut u,
            "partnerHoldCancelIPS",
            &codec::encode_hold_cancel(&common(&t), &hold_id),
        );
        assert!(
            matches!(r.outcome(), Outcome::Error(_)),
            "captured is never also cancelled"
        );

        let t = token::hold_check(user, "trx-1", pw);
        let r = send(
            &mut u,
            "partnerHoldCheckIPS",
            &codec::encode_hold_check(&common(&t), CheckBy::PartnerTrxId, "trx-1"),
        );
        assert_eq!(r.field("PartnerTrxId"), Some("trx-1"));
        assert_eq!(r.field("PaymentAmount"), Some("100000"));
        assert!(r.field("TransactionId").is_some());
        assert_eq!(r.field("Status"), None, "document 004 has no Status");

        // By HoldId: the Result alone, as document 004's example, captured or not.
        let t = token::hold_check(user, &hold_id, pw);
        let r = send(
            &mut u,
            "partnerHoldCheckIPS",
            &codec::encode_hold_check(&common(&t), CheckBy::HoldId, &hold_id),
        );
        assert_eq!(r.outcome(), Outcome::Ok);
        assert!(r.fields.is_empty(), "{:?}", r.fields);
    }

    #[test]
    fn a_wrong_access_token_is_an_error_result() {
        let mut u = Upay::default();
        let r = send(
            &mut u,
            "partnerHoldCheckIPS",
            &codec::encode_hold_check(&common("0000"), CheckBy::HoldId, "1"),
        );
        assert_eq!(r.outcome(), Outcome::Error("STPIMS-ERR-002".into()));
    }
}
