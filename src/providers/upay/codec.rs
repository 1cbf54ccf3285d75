//! UPay STWS requests and replies (document 004). JAX-WS: the method element is namespaced
//! (`st:`), the request element inside it and its children carry no namespace; element
//! names are case-sensitive (`PartnerTrxId` as in the example). Replies carry `Result` with
//! `code` (or `Code`), `Description`, `ServerTime` (epoch ms) and optional `Errors`, then the
//! method's fields; `HoldId` is a long, read as a string of digits.
//!
//! Requests hold the partner key, and a card registration the card number and CVV: they are
//! returned in a buffer that is cleared when dropped, and never logged.

use std::collections::BTreeMap;

use zeroize::Zeroizing;

use crate::providers::soap::{self, SoapError};

pub const NAMESPACE: &str = "http://st.apus.com/";

/// What every request carries besides its own fields.
#[derive(Clone)]
pub struct Common<'a> {
    pub partner_key: &'a str,
    pub access_token: &'a str,
    pub lang: Option<&'a str>,
}

fn request(
    method: &str,
    common: &Common<'_>,
    fields: &[(&str, Option<&str>)],
) -> Zeroizing<String> {
    let inner = format!("{method}Request");
    Zeroizing::new(soap::envelope("st", NAMESPACE, None, |w| {
        w.open(&format!("st:{method}")).open(&inner);
        w.leaf("StPimsApiPartnerKey", common.partner_key)
            .leaf("AccessToken", common.access_token);
        for (name, value) in fields {
            if let Some(v) = value {
                w.leaf(name, v);
            }
        }
        if let Some(lang) = common.lang {
            w.leaf("Lang", lang);
        }
        w.close(&inner).close(&format!("st:{method}"));
    }))
}

/// A card to register. The CVV goes on the wire and nowhere else.
pub struct CardRequest<'a> {
    pub number: &'a str,
    /// MMYY, as the document's `0624`.
    pub expiry: &'a str,
    pub holder: &'a str,
    pub cvv: &'a str,
    pub phone: &'a str,
    pub notify_url: Option<&'a str>,
}

pub fn encode_register_card(common: &Common<'_>, c: &CardRequest<'_>) -> Zeroizing<String> {
    request(
        "partnerRegisterCardIPS",
        common,
        &[
            ("CardNumber", Some(c.number)),
            ("CardExDate", Some(c.expiry)),
            ("CardHolderName", Some(c.holder)),
            ("CardCVV", Some(c.cvv)),
            ("PhoneNumber", Some(c.phone)),
            ("NotifyUrl", c.notify_url),
        ],
    )
}

/// A hold to place.
pub struct HoldRequest<'a> {
    pub card_token: &'a str,
    pub service_id: u64,
    pub account: &'a str,
    pub amount_tiyin: i64,
    pub minutes: u32,
    pub notify_url: &'a str,
}

pub fn encode_hold_create(common: &Common<'_>, h: &HoldRequest<'_>) -> Zeroizing<String> {
    let service = h.service_id.to_string();
    let amount = h.amount_tiyin.to_string();
    let minutes = h.minutes.to_string();
    request(
        "partnerHoldCreateIPS",
        common,
        &[
            ("CardToken", Some(h.card_token)),
            ("ServiceId", Some(&service)),
            ("PersonalAccount", Some(h.account)),
            ("AmountInTiyin", Some(&amount)),
            ("HoldMinute", Some(&minutes)),
            ("NotifyUrl", Some(h.notify_url)),
        ],
    )
}

pub fn encode_hold_payment(
    common: &Common<'_>,
    hold_id: &str,
    partner_trx_id: &str,
) -> Zeroizing<String> {
    request(
        "partnerHoldPaymentIPS",
        common,
        &[
            ("HoldId", Some(hold_id)),
            ("PartnerTrxId", Some(partner_trx_id)),
        ],
    )
}

/// What a check looks up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CheckBy {
    HoldId,
    PartnerTrxId,
}

pub fn encode_hold_check(common: &Common<'_>, by: CheckBy, target: &str) -> Zeroizing<String> {
    let kind = match by {
        CheckBy::HoldId => "holdId",
        CheckBy::PartnerTrxId => "partnerTrxId",
    };
    request(
        "partnerHoldCheckIPS",
        common,
        &[("Type", Some(kind)), ("Target", Some(target))],
    )
}

pub fn encode_hold_cancel(common: &Common<'_>, hold_id: &str) -> Zeroizing<String> {
    request("partnerHoldCancelIPS", common, &[("HoldId", Some(hold_id))])
}

/// The result code's meaning.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Ok,
    /// `STPIMS-ERR-065`: in process.
    InProcess,
    /// Another `ERR` code: "ERR – fail", an error the document lists separately.
    Error(String),
    /// A code of neither form: nobody documented it, so nothing is known from it.
    Unknown(String),
}

/// Any STWS reply: the result, and the method's fields by name.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Reply {
    /// The result code; when the reply gave several that disagree, all of them, joined by
    /// `" / "` (and the outcome is unknown: see [`Reply::codes`]).
    pub code: String,
    /// Every `Result/code` the reply gave, in order, when it gave more than one (empty for
    /// the usual single code). Two that disagree make the outcome unknown, never the first.
    pub codes: Vec<String>,
    pub description: Option<String>,
    pub server_time: Option<String>,
    pub errors: Option<String>,
    pub fields: BTreeMap<String, String>,
}

impl Reply {
    pub fn outcome(&self) -> Outcome {
        if let Some(first) = self.codes.first()
            && self.codes.iter().any(|c| c.trim() != first.trim())
        {
            return Outcome::Unknown(self.codes.join(" / "));
        }
        match self.code.trim() {
            "OK" => Outcome::Ok,
            "STPIMS-ERR-065" => Outcome::InProcess,
            other if other.starts_with("STPIMS-ERR-") || other.starts_with("ERR") => {
                Outcome::Error(other.to_string())
            }
            other => Outcome::Unknown(other.to_string()),
        }
    }

    pub fn field(&self, name: &str) -> Option<&str> {
        self.fields
            .get(name)
            .map(String::as_str)
            .filter(|v| !v.is_empty())
    }

    /// `HoldId`, when it is a string of digits (a long).
    pub fn hold_id(&self) -> Option<&str> {
        self.field("HoldId")
            .filter(|h| h.bytes().all(|b| b.is_ascii_digit()))
    }
}

/// Reads the reply of `method` (`partnerHoldCheckIPS` also as the document's misspelt
/// `partnerHoldCheckIPResponse`). Every `code` (or `Code`) of every `Result` is read: several
/// that disagree are kept side by side ([`Reply::codes`]), and a field given twice with
/// different values keeps both, joined by `" / "`, so that it reads as neither.
pub fn decode(method: &str, xml: &[u8]) -> Result<Reply, SoapError> {
    let body = soap::parse_body(xml, &[NAMESPACE])?;
    let expected = format!("{method}Response");
    let ok_name = body.name == expected
        || (method == "partnerHoldCheckIPS" && body.name == "partnerHoldCheckIPResponse");
    if !ok_name {
        return Err(SoapError::Unexpected {
            expected,
            found: body.name,
        });
    }
    let ret = body.child("return").ok_or(SoapError::Missing("return"))?;
    let results: Vec<&soap::Element> = ret
        .children
        .iter()
        .filter(|c| c.name.eq_ignore_ascii_case("result"))
        .collect();
    let result = results
        .first()
        .copied()
        .ok_or(SoapError::Missing("Result"))?;
    let all_codes: Vec<String> = results
        .iter()
        .flat_map(|r| r.children.iter())
        .filter(|c| c.name.eq_ignore_ascii_case("code"))
        .map(|c| c.text.trim().to_string())
        .collect();
    if all_codes.iter().all(String::is_empty) {
        return Err(SoapError::Missing("Result/code"));
    }
    let first = all_codes.first().cloned().unwrap_or_default();
    let (code, codes) = if all_codes.iter().all(|c| *c == first) {
        (first, Vec::new())
    } else {
        (all_codes.join(" / "), all_codes)
    };
    let mut fields: BTreeMap<String, String> = BTreeMap::new();
    for c in ret
        .children
        .iter()
        .filter(|c| !c.name.eq_ignore_ascii_case("result") && c.children.is_empty())
    {
        let value = c.text.trim().to_string();
        match fields.get_mut(&c.name) {
            Some(seen) if seen.split(" / ").any(|v| v == value) => {}
            Some(seen) => {
                seen.push_str(" / ");
                seen.push_str(&value);
            }
            None => {
                fields.insert(c.name.clone(), value);
            }
        }
    }
    Ok(Reply {
        code,
        codes,
        description: result.text_of("Description").map(str::to_string),
        server_time: result.text_of("ServerTime").map(str::to_string),
        errors: result
            .child("Errors")
            .or_else(|| ret.child("Errors"))
            .map(|e| e.text.trim().to_string()),
        fields,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn common() -> Common<'static> {
        Common {
            partner_key: "XXXXXXXXXX",
            access_token: "9160f74ae9c13cfc8s464a1ec12b7f61",
            lang: Some("ru"),
        }
    }

    #[test]
    fn the_method_is_namespaced_and_its_children_are_not() {
        let x = encode_hold_payment(&common(), "3794392756034717", "12345678");
        assert!(x.contains("xmlns:st=\"http://st.apus.com/\""));
        assert!(x.contains("<st:partnerHoldPaymentIPS><partnerHoldPaymentIPSRequest><StPimsApiPartnerKey>XXXXXXXXXX</StPimsApiPartnerKey><AccessToken>9160f74ae9c13cfc8s464a1ec12b7f61</AccessToken><HoldId>3794392756034717</HoldId><PartnerTrxId>12345678</PartnerTrxId><Lang>ru</Lang></partnerHoldPaymentIPSRequest></st:partnerHoldPaymentIPS>"), "{}", x.as_str());
        let card = encode_register_card(
            &common(),
            &CardRequest {
                number: "4719515042883250",
                expiry: "0624",
                holder: "TONY SAPAY",
                cvv: "003",
                phone: "998911902494",
                notify_url: None,
            },
        );
        assert!(card.contains("<CardExDate>0624</CardExDate><CardHolderName>TONY SAPAY</CardHolderName><CardCVV>003</CardCVV><PhoneNumber>998911902494</PhoneNumber><Lang>ru</Lang>"));
        assert!(!card.contains("NotifyUrl"), "a field not sent is absent");
        let hold = encode_hold_create(
            &common(),
            &HoldRequest {
                card_token: "60f74ae9c13cfc8s464a5",
                service_id: 628,
                account: "112312",
                amount_tiyin: 100_000,
                minutes: 60,
                notify_url: "https://someurl/to/get/notify",
            },
        );
        assert!(hold.contains("<ServiceId>628</ServiceId><PersonalAccount>112312</PersonalAccount><AmountInTiyin>100000</AmountInTiyin><HoldMinute>60</HoldMinute>"));
        let check = encode_hold_check(&common(), CheckBy::PartnerTrxId, "12345678");
        assert!(check.contains("<Type>partnerTrxId</Type><Target>12345678</Target>"));
    }

    #[test]
    fn reads_the_documents_replies() {
        let register = r#"<S:Envelope xmlns:S="http://schemas.xmlsoap.org/soap/envelope/"><S:Body><ns2:partnerRegisterCardIPSResponse xmlns:ns2="http://st.apus.com/">
  <return>
    <Result>
      <code>OK</code>
      <Description>Успешно</Description>
    </Result>
    <CardToken>60f74ae9c13cfc8s464a5</CardToken>
    <Pan>4719*****3250</Pan>
    <ConfirmUrl>https://someurl/to/confirm/card/via/sms-code</ConfirmUrl>
  </return>
</ns2:partnerRegisterCardIPSResponse></S:Body></S:Envelope>"#;
        let r = decode("partnerRegisterCardIPS", register.as_bytes()).expect("reads");
        assert_eq!(r.outcome(), Outcome::Ok);
        assert_eq!(r.field("CardToken"), Some("60f74ae9c13cfc8s464a5"));
        assert_eq!(
            r.field("ConfirmUrl"),
            Some("https://someurl/to/confirm/card/via/sms-code")
        );
        let in_process = r#"<S:Envelope xmlns:S="http://schemas.xmlsoap.org/soap/envelope/"><S:Body><ns2:partnerHoldCreateIPSResponse xmlns:ns2="http://st.apus.com/"><return><Result><Code>STPIMS-ERR-065</Code><Description>Оплата в процессе</Description></Result><HoldId>3794392756034717</HoldId></return></ns2:partnerHoldCreateIPSResponse></S:Body></S:Envelope>"#;
        let r = decode("partnerHoldCreateIPS", in_process.as_bytes()).expect("reads");
        assert_eq!(r.outcome(), Outcome::InProcess, "Code as well as code");
        assert_eq!(r.hold_id(), Some("3794392756034717"));
        let check = r#"<S:Envelope xmlns:S="http://schemas.xmlsoap.org/soap/envelope/"><S:Body><ns2:partnerHoldCheckIPResponse xmlns:ns2="http://st.apus.com/"><return><Result><code>OK</code><Description>Успешно</Description><ServerTime>1588014766087</ServerTime></Result><TransactionId>14551222</TransactionId><PaymentAmount>100000</PaymentAmount></return></ns2:partnerHoldCheckIPResponse></S:Body></S:Envelope>"#;
        let r = decode("partnerHoldCheckIPS", check.as_bytes()).expect("the misspelt name too");
        assert_eq!(r.server_time.as_deref(), Some("1588014766087"));
        assert_eq!(r.field("PaymentAmount"), Some("100000"));
        assert!(decode("partnerHoldPaymentIPS", check.as_bytes()).is_err());
        assert!(decode("partnerHoldCheckIPS", b"<html>502</html>").is_err());
    }

    #[test]
    fn two_codes_or_two_values_that_disagree_read_as_neither() {
        let reply = |result: &str, fields: &str| {
            format!(
                r#"<S:Envelope xmlns:S="http://schemas.xmlsoap.org/soap/envelope/"><S:Body><ns2:partnerHoldPaymentIPSResponse xmlns:ns2="http://st.apus.com/"><return><Result>{result}<Description>x</Description></Result>{fields}</return></ns2:partnerHoldPaymentIPSResponse></S:Body></S:Envelope>"#
            )
        };
        for result in [
            "<code>OK</code><code>STPIMS-ERR-043</code>",
            "<code>STPIMS-ERR-043</code><code>OK</code>",
            "<code>OK</code><Code>STPIMS-ERR-065</Code>",
            "<code></code><code>OK</code>",
        ] {
            let r = decode("partnerHoldPaymentIPS", reply(result, "").as_bytes()).expect("reads");
            assert!(matches!(r.outcome(), Outcome::Unknown(_)), "{result}");
            assert!(r.code.contains(" / "), "both shown: {}", r.code);
        }
        // Two Result elements are read alike.
        let two = "<code>OK</code></Result><Result><code>STPIMS-ERR-043</code>";
        let r = decode("partnerHoldPaymentIPS", reply(two, "").as_bytes()).expect("reads");
        assert!(matches!(r.outcome(), Outcome::Unknown(_)));
        // The same code twice is one code.
        let r = decode(
            "partnerHoldPaymentIPS",
            reply("<code>OK</code><code>OK</code>", "").as_bytes(),
        )
        .expect("reads");
        assert_eq!(r.outcome(), Outcome::Ok);
        assert_eq!(r.code, "OK");
        // A field given twice with different values reads as neither.
        let fields = "<PaymentAmount>100000</PaymentAmount><PaymentAmount>99900</PaymentAmount><HoldId>1</HoldId><HoldId>2</HoldId><TransactionId>7</TransactionId><TransactionId>7</TransactionId>";
        let r = decode(
            "partnerHoldPaymentIPS",
            reply("<code>OK</code>", fields).as_bytes(),
        )
        .expect("reads");
        assert_eq!(r.field("PaymentAmount"), Some("100000 / 99900"));
        assert_eq!(r.hold_id(), None);
        assert_eq!(r.field("TransactionId"), Some("7"));
    }
}
