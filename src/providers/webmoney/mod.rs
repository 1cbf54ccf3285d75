//! WebMoney X1 (document 002): an invoice from a merchant purse to a customer's WMID.
//! Owns the request, the signed string, the reply (in whatever encoding it declares), the
//! field rules, and the client for Keeper Light (client certificate) and Keeper Classic
//! (signature from the key file).
//!
//! Wire facts beyond the document (four public clients agree): the signed string is
//! orderid + customerwmid + storepurse + amount + desc + address + period + expiration +
//! reqn, desc and address as their Windows-1251 bytes; the document's `sign` line is X2's.

pub mod signer;

use std::sync::Arc;

use encoding_rs::WINDOWS_1251;

use crate::money::{Amount, Currency};
use crate::providers::soap::{self, SoapError, XmlWriter};
use crate::providers::{SendError, classify, read_capped};

/// An invoice as it goes on the wire.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invoice {
    pub orderid: u64,
    pub customer_wmid: String,
    pub store_purse: String,
    pub amount: Amount,
    pub desc: String,
    pub address: String,
    pub period: u8,
    pub expiration: u8,
}

/// The reply's invoice.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IssuedInvoice {
    /// WebMoney's invoice id (`id` attribute) and number (`ts`).
    pub id: Option<String>,
    pub ts: Option<String>,
    pub orderid: Option<String>,
    pub amount: Option<Amount>,
    /// The amount as written, kept when it does not read as an amount.
    pub amount_text: Option<String>,
    /// 0 unpaid, 1 paid with protection, 2 paid, 3 rejected.
    pub state: Option<u8>,
    pub datecrt: Option<String>,
    pub dateupd: Option<String>,
}

/// The reply to an X1 request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    pub reqn: Option<String>,
    pub retval: i32,
    pub retdesc: Option<String>,
    pub invoice: Option<IssuedInvoice>,
}

/// The purse's currency from its type letter.
pub fn purse_currency(purse: &str) -> Option<Currency> {
    match purse.chars().next()? {
        'Z' => Some(Currency::Usd),
        'E' => Some(Currency::Eur),
        'R' => Some(Currency::Rub),
        'K' => Some(Currency::Kzt),
        _ => None,
    }
}

/// Windows-1251 bytes of `text`, or `None` when it holds a character the code page lacks.
pub fn cp1251(text: &str) -> Option<Vec<u8>> {
    let (bytes, _, had_errors) = WINDOWS_1251.encode(text);
    (!had_errors).then(|| bytes.into_owned())
}

/// The bytes the Classic signature covers (no separators; desc and address in cp1251).
pub fn signed_bytes(inv: &Invoice, reqn: u64) -> Vec<u8> {
    let mut out = Vec::with_capacity(128);
    out.extend_from_slice(inv.orderid.to_string().as_bytes());
    out.extend_from_slice(inv.customer_wmid.as_bytes());
    out.extend_from_slice(inv.store_purse.as_bytes());
    out.extend_from_slice(inv.amount.to_wire_decimal().as_bytes());
    // Validated before: these encode; an unencodable one would have been refused.
    out.extend_from_slice(&cp1251(&inv.desc).unwrap_or_default());
    out.extend_from_slice(&cp1251(&inv.address).unwrap_or_default());
    out.extend_from_slice(inv.period.to_string().as_bytes());
    out.extend_from_slice(inv.expiration.to_string().as_bytes());
    out.extend_from_slice(reqn.to_string().as_bytes());
    out
}

/// The X1 request. `classic` is the signer's WMID and the signature; Light sends neither.
pub fn encode(inv: &Invoice, reqn: u64, classic: Option<(&str, &str)>) -> String {
    let mut w = XmlWriter::with_capacity(512);
    w.open("w3s.request").leaf("reqn", &reqn.to_string());
    if let Some((wmid, sign)) = classic {
        w.leaf("wmid", wmid).leaf("sign", sign);
    }
    w.open("invoice")
        .leaf("orderid", &inv.orderid.to_string())
        .leaf("customerwmid", &inv.customer_wmid)
        .leaf("storepurse", &inv.store_purse)
        .leaf("amount", &inv.amount.to_wire_decimal())
        .leaf("desc", &inv.desc)
        .leaf("address", &inv.address)
        .leaf("period", &inv.period.to_string())
        .leaf("expiration", &inv.expiration.to_string())
        .close("invoice")
        .close("w3s.request");
    format!(
        "<?xml version=\"1.0\" encoding=\"utf-8\"?>{}",
        w.into_string()
    )
}

/// Decodes bytes in the encoding their XML declaration names (UTF-8 when it names none).
pub fn decode_declared(bytes: &[u8]) -> String {
    let head = &bytes[..bytes.len().min(200)];
    let head = String::from_utf8_lossy(head).to_ascii_lowercase();
    // `encoding = "windows-1251"`, spaces and either quote allowed.
    let declared = head
        .split_once("?>")
        .map(|(decl, _)| decl)
        .and_then(|decl| decl.split_once("encoding"))
        .and_then(|(_, rest)| rest.trim_start().strip_prefix('='))
        .map(|rest| rest.trim_start().trim_start_matches(['"', '\'']))
        .and_then(|rest| rest.split(['"', '\'']).next())
        .and_then(|label| encoding_rs::Encoding::for_label(label.trim().as_bytes()));
    match declared {
        Some(enc) if enc != encoding_rs::UTF_8 => enc.decode(bytes).0.into_owned(),
        _ => String::from_utf8_lossy(bytes).into_owned(),
    }
}

/// Reads an X1 reply, honouring its declared encoding. A reply without a readable
/// `retval` is an error: nobody can say whether the invoice was created.
pub fn decode(bytes: &[u8], currency: Currency) -> Result<Reply, SoapError> {
    let text = decode_declared(bytes);
    // The declaration may name an encoding the text no longer has: drop it.
    let body = match text.find("?>") {
        Some(i) if text.trim_start().starts_with("<?xml") => &text[i + 2..],
        _ => text.as_str(),
    };
    let root = soap::parse_document(body.as_bytes())?;
    if root.name != "w3s.response" {
        return Err(SoapError::Unexpected {
            expected: "w3s.response".into(),
            found: root.name,
        });
    }
    // Every retval the reply gives: two that disagree say nothing certain.
    let retvals: Vec<&str> = root.texts_of("retval");
    if retvals.windows(2).any(|w| w[0] != w[1]) {
        return Err(SoapError::Malformed(format!(
            "retvals that disagree: {}",
            retvals.join("/")
        )));
    }
    let retval = retvals
        .first()
        .and_then(|r| r.parse::<i32>().ok())
        .ok_or(SoapError::Missing("retval"))?;
    let invoice = root.child("invoice").map(|i| IssuedInvoice {
        id: i.attr("id").map(str::to_string),
        ts: i.attr("ts").map(str::to_string),
        orderid: i.text_of("orderid").map(str::to_string),
        amount: i
            .text_of("amount")
            .and_then(|a| Amount::from_wire_decimal(a, currency).ok()),
        amount_text: i.text_of("amount").map(str::to_string),
        state: i.text_of("state").and_then(|s| s.parse().ok()),
        datecrt: i.text_of("datecrt").map(str::to_string),
        dateupd: i.text_of("dateupd").map(str::to_string),
    });
    Ok(Reply {
        reqn: root.text_of("reqn").map(str::to_string),
        retval,
        retdesc: root.text_of("retdesc").map(str::to_string),
        invoice,
    })
}

/// The retvals document 002's execution-code table lists: only these say no invoice was
/// made. Any other code says nothing certain.
pub const DOCUMENTED_RETVALS: &[i32] = &[
    -100, -12, -11, -9, -8, -7, -6, -5, -3, -2, -1, 5, 6, 7, 35, 102, 110, 111,
];

/// The retvals kassa has a message for (document 002 and what public clients know).
pub const KNOWN_RETVALS: &[i32] = &[
    -100, -12, -11, -9, -8, -7, -6, -5, -3, -2, -1, 5, 6, 7, 8, 35, 51, 52, 54, 55, 56, 61, 102,
    110, 111,
];

/// The catalogue key of a retval's message.
pub fn retval_key(retval: i32) -> String {
    if KNOWN_RETVALS.contains(&retval) {
        format!("wm.retval.{retval}")
    } else {
        "wm.retval.other".to_string()
    }
}

/// How the client authenticates.
#[derive(Clone)]
pub enum Auth {
    /// Keeper Light: the HTTP client carries the certificate.
    Light,
    /// Keeper Classic: the keeper's WMID and its key.
    Classic {
        wmid: String,
        signer: Arc<signer::Signer>,
    },
}

/// A client for one X1 endpoint.
#[derive(Clone)]
pub struct X1Client {
    pub http: reqwest::Client,
    pub url: String,
    /// The merchant's WMID (the signer's, with Classic).
    pub wmid: String,
    pub auth: Auth,
}

impl X1Client {
    /// The name the reqn counter is kept under: WebMoney wants it to grow per WMID,
    /// whichever way the WMID authenticates.
    pub fn reqn_scope(&self) -> String {
        format!("reqn:{}", self.wmid)
    }

    /// Sends one invoice with this `reqn` (a new one per attempt; the signature with it).
    /// The request carries no secret (the signature is made for this request and proves
    /// nothing for another; the key never leaves the signer), so its body is a plain String.
    pub async fn send(&self, inv: &Invoice, reqn: u64) -> Result<Reply, SendError> {
        let body = match &self.auth {
            Auth::Light => encode(inv, reqn, None),
            Auth::Classic { wmid, signer } => {
                let sign = signer.try_sign(&signed_bytes(inv, reqn)).map_err(|e| {
                    SendError::NotSent(format!("no random bytes for the signature: {e}"))
                })?;
                encode(inv, reqn, Some((wmid, &sign)))
            }
        };
        let resp = self
            .http
            .post(&self.url)
            .header("Content-Type", "text/xml; charset=utf-8")
            .body(body)
            .send()
            .await
            .map_err(classify)?;
        let status = resp.status();
        let bytes = read_capped(resp).await?;
        if !status.is_success() {
            return Err(SendError::OutcomeUnknown(format!(
                "HTTP {}",
                status.as_u16()
            )));
        }
        let currency = purse_currency(&inv.store_purse).unwrap_or(Currency::Usd);
        decode(&bytes, currency).map_err(|e| SendError::OutcomeUnknown(e.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn inv() -> Invoice {
        Invoice {
            orderid: 1001,
            customer_wmid: "405002833238".into(),
            store_purse: "Z123456789012".into(),
            amount: Amount::from_minor(1050, Currency::Usd).unwrap_or_else(|_| unreachable!()),
            desc: "Оплата №5 <тест> & co".into(),
            address: String::new(),
            period: 0,
            expiration: 3,
        }
    }

    #[test]
    fn the_signed_string_is_x1s_not_x2s() {
        let b = signed_bytes(&inv(), 26112314020500);
        let mut want = b"1001405002833238Z12345678901210.5".to_vec();
        want.extend_from_slice(&cp1251("Оплата №5 <тест> & co").unwrap_or_default());
        want.extend_from_slice(b"0326112314020500");
        assert_eq!(b, want, "raw cp1251 text, not XML-escaped, no separators");
    }

    #[test]
    fn the_request_escapes_and_orders_fields() {
        let x = encode(&inv(), 7, Some(("000000000001", "abcd")));
        assert!(x.starts_with("<?xml version=\"1.0\" encoding=\"utf-8\"?><w3s.request><reqn>7</reqn><wmid>000000000001</wmid><sign>abcd</sign><invoice><orderid>1001</orderid>"));
        assert!(x.contains("<amount>10.5</amount><desc>Оплата №5 &lt;тест&gt; &amp; co</desc><address></address><period>0</period><expiration>3</expiration></invoice></w3s.request>"));
        assert!(!encode(&inv(), 7, None).contains("<sign>"));
    }

    #[test]
    fn cp1251_knows_cyrillic_and_refuses_emoji_and_cjk() {
        assert!(cp1251("Привет, №1 — «ok»").is_some());
        assert!(cp1251("тест 😀").is_none());
        assert!(cp1251("发票").is_none());
    }

    #[test]
    fn reads_a_reply_in_its_declared_encoding() {
        let utf8 = "<?xml version=\"1.0\" encoding=\"windows-1251\"?><w3s.response><reqn>7</reqn><retval>0</retval><retdesc></retdesc><invoice id=\"12345\" ts=\"67890\"><orderid>1001</orderid><customerwmid>405002833238</customerwmid><storepurse>Z123456789012</storepurse><amount>10.50</amount><desc>Оплата</desc><address></address><period>0</period><expiration>3</expiration><state>0</state><datecrt>20261123 14:02:00</datecrt><dateupd>20261123 14:02:00</dateupd></invoice></w3s.response>";
        let (bytes, _, _) = WINDOWS_1251.encode(utf8);
        let r = decode(&bytes, Currency::Usd).expect("reads");
        let spaced = utf8.replace("encoding=\"windows-1251\"", "encoding = 'windows-1251'");
        let (bytes2, _, _) = WINDOWS_1251.encode(&spaced);
        assert_eq!(decode_declared(&bytes2), spaced);
        assert_eq!(r.retval, 0);
        let i = r.invoice.expect("invoice");
        assert_eq!(i.id.as_deref(), Some("12345"));
        assert_eq!(i.amount.map(Amount::minor), Some(1050));
        assert_eq!(i.state, Some(0));
        let e = "<w3s.response><reqn>7</reqn><retval>102</retval><retdesc>reqn</retdesc></w3s.response>";
        assert_eq!(
            decode(e.as_bytes(), Currency::Usd).map(|r| r.retval),
            Ok(102)
        );
        assert!(decode(b"<html>502</html>", Currency::Usd).is_err());
        assert!(
            decode(
                b"<w3s.response><retval>x</retval></w3s.response>",
                Currency::Usd
            )
            .is_err()
        );
    }
}
