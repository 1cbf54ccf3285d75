//! The emulator's UPay STWS endpoint (document 004), written from the document: card
//! registration with a 3-D Secure confirm link, and holds (create → captured | cancelled,
//! never both; a capture repeated with the same PartnerTrxId never captures twice). Every
//! request's AccessToken is checked against the demo partner's username and password; a
//! wrong one gets an error result.
//!
//! It reads requests with the generic element tree; the token arithmetic is the document's
//! (MD5 of the listed fields), computed here on its own.

use std::collections::HashMap;

use md5::{Digest, Md5};
use serde::Serialize;

use super::esc;
use super::faults::text_in;
use super::http::Reply;
use crate::providers::soap::{self, Element};

/// The demo partner's credentials (the emulator's only partner).
pub const DEMO_USERNAME: &str = "kassa-demo";
pub const DEMO_PASSWORD: &str = "demo-password";
pub const DEMO_PARTNER_KEY: &str = "DEMO-PARTNER-KEY";

/// A card number whose registration is declined; one whose 3-D Secure fails.
pub const DECLINED_CARD: &str = "4000000000000002";
pub const THREE_DS_FAILS: &str = "4000000000000010";
/// Accounts whose hold create answers "in process" (STPIMS-ERR-065) before its HoldId.
pub const IN_PROCESS_ACCOUNT: &str = "065";

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
    /// How many capture requests arrived (a repeat must not capture twice).
    pub captures: u32,
}

#[derive(Debug, Default)]
pub struct Upay {
    cards: Vec<String>,
    holds: HashMap<String, Hold>,
    order: Vec<String>,
    next: u64,
}

fn md5_hex(s: &str) -> String {
    Md5::digest(s.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn reply(method: &str, code: &str, description: &str, fields: &[(&str, String)]) -> Reply {
    let mut out =
        String::from(r#"<S:Envelope xmlns:S="http://schemas.xmlsoap.org/soap/envelope/"><S:Body>"#);
    out.push_str(&format!(
        "<ns2:{method}Response xmlns:ns2=\"http://st.apus.com/\"><return><Result><code>{code}</code><Description>{}</Description><ServerTime>{}</ServerTime></Result>",
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

impl Upay {
    /// Answers one STWS request.
    pub fn handle(&mut self, body: &[u8]) -> Reply {
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
            "partnerRegisterCardIPS" => self.register(op),
            "partnerHoldCreateIPS" => self.create(op),
            "partnerHoldPaymentIPS" => self.capture(op),
            "partnerHoldCheckIPS" => self.check(op),
            _ => self.cancel(op),
        }
    }

    fn register(&mut self, op: &Element) -> Reply {
        let m = "partnerRegisterCardIPS";
        let card = text_in(op, "CardNumber");
        if card == DECLINED_CARD {
            return reply(m, "STPIMS-ERR-010", "Карта отклонена банком", &[]);
        }
        self.next += 1;
        let token = format!("emu{:016x}", self.next * 7_919);
        self.cards.push(token.clone());
        let pan = format!(
            "{}******{}",
            &card[..card.len().min(6)],
            &card[card.len().saturating_sub(4)..]
        );
        let confirm = if card == THREE_DS_FAILS {
            format!("https://emulator.invalid/3ds/fail/{token}")
        } else {
            format!("https://emulator.invalid/3ds/{token}")
        };
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
        if !self.cards.contains(&token) {
            return reply(m, "STPIMS-ERR-020", "Карта не найдена", &[]);
        }
        let Ok(amount) = text_in(op, "AmountInTiyin").parse::<i64>() else {
            return reply(m, "STPIMS-ERR-030", "Неверная сумма", &[]);
        };
        self.next += 1;
        let hold_id = format!("{}", 3_794_392_756_000_000 + self.next);
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
                captures: 0,
            },
        );
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
        let Some(h) = self.holds.get_mut(text_in(op, "HoldId")) else {
            return reply(m, "STPIMS-ERR-040", "Бронь не найдена", &[]);
        };
        h.captures += 1;
        match (h.state.as_str(), &h.partner_trx_id) {
            ("held", _) => {
                h.state = "captured".into();
                h.partner_trx_id = Some(trx.clone());
            }
            // The same capture again: its result, never a second capture.
            ("captured", Some(t)) if *t == trx => {}
            ("captured", _) => return reply(m, "STPIMS-ERR-041", "Бронь уже списана", &[]),
            _ => return reply(m, "STPIMS-ERR-042", "Бронь отменена", &[]),
        }
        let fields = [
            ("TransactionId", format!("{}", 14_551_000 + h.captures)),
            ("PartnerTrxId", trx),
            ("PaymentAmount", h.amount_tiyin.to_string()),
            ("CardToken", h.card_token.clone()),
        ];
        reply(m, "OK", "Успешно", &fields)
    }

    fn cancel(&mut self, op: &Element) -> Reply {
        let m = "partnerHoldCancelIPS";
        let Some(h) = self.holds.get_mut(text_in(op, "HoldId")) else {
            return reply(m, "STPIMS-ERR-040", "Бронь не найдена", &[]);
        };
        match h.state.as_str() {
            "held" | "cancelled" => {
                h.state = "cancelled".into();
                reply(m, "OK", "Успешно", &[("HoldId", h.hold_id.clone())])
            }
            _ => reply(m, "STPIMS-ERR-041", "Бронь уже списана", &[]),
        }
    }

    fn check(&self, op: &Element) -> Reply {
        let m = "partnerHoldCheckIPS";
        let target = text_in(op, "Target");
        let found = match text_in(op, "Type") {
            "partnerTrxId" => self
                .holds
                .values()
                .find(|h| h.partner_trx_id.as_deref() == Some(target)),
            _ => self.holds.get(target),
        };
        match found {
            Some(h) => reply(
                m,
                "OK",
                &h.state,
                &[
                    ("HoldId", h.hold_id.clone()),
                    ("PaymentAmount", h.amount_tiyin.to_string()),
                    ("Status", h.state.clone()),
                ],
            ),
            None => reply(m, "STPIMS-ERR-040", "Бронь не найдена", &[]),
        }
    }

    /// The holds in the order they were placed.
    pub fn holds(&self) -> Vec<Hold> {
        self.order
            .iter()
            .filter_map(|id| self.holds.get(id).cloned())
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::providers::upay::codec::{self, CardRequest, CheckBy, Common, HoldRequest, Outcome};
    use crate::providers::upay::token;

    fn send(u: &mut Upay, method: &str, xml: &str) -> codec::Reply {
        match u.handle(xml.as_bytes()) {
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
        assert_eq!(r.field("Status"), Some("captured"));
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
