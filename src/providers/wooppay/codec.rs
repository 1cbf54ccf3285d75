//! Wooppay requests and replies (document 000), rpc/encoded as PHP's SoapServer speaks it:
//! the method element `urn:method` with `soapenv:encodingStyle`, one request struct inside
//! it (`cashCreateInvoiceRequest`, ...) whose fields carry `xsi:type`; arrays are SOAP-ENC
//! arrays of `item`. Unset fields go out empty, as the document's examples send them.
//!
//! Replies: `ns1:<method>Response/return` with `response` and `error_code`. Numbers are read
//! leniently (`sum` is typed int and arrives as float `100` or `17421.5`), amounts as
//! decimals into minor units, never through a float. `operationUrl` comes with a raw `&`
//! in one example and `&amp;` in another: both give the same URL.
//!
//! The login request carries the password and a mobile invoice the SMS code: they are
//! returned in a buffer that is cleared when dropped, and never logged.
//!
//! One file, past 500 lines with its tests: the writer and the reader of one rpc/encoded
//! dialect, tested against the document's own replies.

use zeroize::Zeroizing;

use crate::money::Amount;
use crate::providers::soap::{self, Element, SoapError, XmlWriter};

pub const NAMESPACE: &str = "urn:XmlControllerwsdl";

fn request(method: &str, req_name: &str, req_type: &str, fields: &[(&str, &str, &str)]) -> String {
    soap::rpc_encoded_envelope("urn", NAMESPACE, method, |w: &mut XmlWriter| {
        let ty = format!("urn:{req_type}");
        w.open_with(req_name, &[("xsi:type", &ty)]);
        for (name, ty, value) in fields {
            w.typed_leaf(name, ty, value);
        }
        w.close(req_name);
    })
}

pub fn encode_login(username: &str, password: &str) -> Zeroizing<String> {
    Zeroizing::new(request(
        "core_login",
        "coreLoginRequest",
        "CoreLoginRequest",
        &[
            ("username", "xsd:string", username),
            ("password", "xsd:string", password),
            ("captcha", "xsd:string", ""),
        ],
    ))
}

/// Which of the document's invoice methods.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Variant {
    /// `cash_createInvoice`: no card binding.
    #[default]
    Plain,
    /// `cash_createInvoice2Extended`: the card is bound after payment (serviceType 4).
    Card,
    /// `cash_createInvoiceByService`: by the merchant's service name.
    Service,
    /// `cash_createInvoiceExtended`: paid from the mobile balance, SMS code in addInfo
    /// (serviceType 2).
    Mobile,
}

impl Variant {
    pub const ALL: [Variant; 4] = [
        Variant::Plain,
        Variant::Card,
        Variant::Service,
        Variant::Mobile,
    ];

    pub fn method(self) -> &'static str {
        match self {
            Variant::Plain => "cash_createInvoice",
            Variant::Card => "cash_createInvoice2Extended",
            Variant::Service => "cash_createInvoiceByService",
            Variant::Mobile => "cash_createInvoiceExtended",
        }
    }

    pub fn tag(self) -> &'static str {
        match self {
            Variant::Plain => "plain",
            Variant::Card => "card",
            Variant::Service => "service",
            Variant::Mobile => "mobile",
        }
    }

    pub fn from_tag(tag: &str) -> Option<Variant> {
        Variant::ALL.into_iter().find(|v| v.tag() == tag)
    }

    fn request_element(self) -> (&'static str, &'static str) {
        match self {
            Variant::Plain => ("cashCreateInvoiceRequest", "CashCreateInvoiceRequest"),
            Variant::Card => (
                "cashCreateInvoiceExtended2Request",
                "CashCreateInvoiceExtended2Request",
            ),
            Variant::Service => (
                "cashCreateInvoiceByServiceRequest",
                "CashCreateInvoiceByServiceRequest",
            ),
            Variant::Mobile => (
                "cashCreateInvoiceExtendedRequest",
                "CashCreateInvoiceExtendedRequest",
            ),
        }
    }
}

/// An invoice to create, validated (see `validate::wooppay_*`).
#[derive(Debug, Clone, Default)]
pub struct InvoiceRequest<'a> {
    pub reference_id: &'a str,
    pub amount: Option<Amount>,
    pub description: &'a str,
    pub back_url: &'a str,
    pub request_url: &'a str,
    /// What the customer sees in the payment form; for the mobile variant, the SMS code.
    pub add_info: &'a str,
    /// `ГГГГ-ММ-ДД ЧЧ:ММ:СС`, local time.
    pub death_date: &'a str,
    pub user_email: &'a str,
    pub user_phone: &'a str,
    pub service_name: &'a str,
    /// 1: only from a Wooppay wallet; 0: the customer chooses (card or wallet).
    pub card_forbidden: bool,
}

/// The request of `variant`, with its fields in the document's order.
pub fn encode_invoice(variant: Variant, r: &InvoiceRequest<'_>) -> Zeroizing<String> {
    let amount = r.amount.map(Amount::to_wire_decimal).unwrap_or_default();
    let card_forbidden = if r.card_forbidden { "1" } else { "0" };
    let common = |service_type: &'static str| {
        [
            ("referenceId", "xsd:string", r.reference_id),
            ("backUrl", "xsd:string", r.back_url),
            ("requestUrl", "xsd:string", r.request_url),
            ("addInfo", "xsd:string", r.add_info),
            ("amount", "xsd:float", ""),
            ("deathDate", "xsd:string", r.death_date),
            ("serviceType", "xsd:int", service_type),
            ("description", "xsd:string", r.description),
            ("orderNumber", "xsd:int", ""),
        ]
    };
    let mut fields: Vec<(&str, &str, &str)> = Vec::with_capacity(13);
    match variant {
        Variant::Plain => fields.extend(common("")),
        Variant::Mobile => {
            fields.extend(common("2"));
            fields.push(("userEmail", "xsd:string", r.user_email));
            fields.push(("userPhone", "xsd:string", r.user_phone));
        }
        Variant::Card => {
            fields.push(("cardForbidden", "xsd:int", card_forbidden));
            fields.push(("userEmail", "xsd:string", r.user_email));
            fields.push(("userPhone", "xsd:string", r.user_phone));
            fields.extend(common("4"));
        }
        Variant::Service => {
            fields.push(("serviceName", "xsd:string", r.service_name));
            fields.push(("cardForbidden", "xsd:int", card_forbidden));
            fields.push(("userEmail", "xsd:string", r.user_email));
            fields.push(("userPhone", "xsd:string", r.user_phone));
            fields.extend(common(""));
        }
    }
    for f in &mut fields {
        if f.0 == "amount" {
            f.2 = &amount;
        }
    }
    let (name, ty) = variant.request_element();
    Zeroizing::new(request(variant.method(), name, ty, &fields))
}

pub fn encode_request_code(phone: &str) -> String {
    request(
        "core_requestConfirmationCode",
        "coreRequestConfirmationCodeRequest",
        "CoreRequestConfirmationCodeRequest",
        &[("phone", "xsd:string", phone)],
    )
}

pub fn encode_balance() -> String {
    soap::rpc_encoded_envelope("urn", NAMESPACE, "cash_getBalance", |w| {
        w.open_with(
            "cashGetBalanceRequest",
            &[("xsi:type", "urn:CashGetBalanceRequest")],
        )
        .close("cashGetBalanceRequest");
    })
}

/// `operationId` as a SOAP-ENC int array.
pub fn encode_operation_data(ids: &[i64]) -> String {
    soap::rpc_encoded_envelope("urn", NAMESPACE, "cash_getOperationData", |w| {
        let count = format!("xsd:int[{}]", ids.len());
        w.open_with(
            "cashGetOperationDataRequest",
            &[("xsi:type", "urn:CashGetOperationDataRequest")],
        )
        .open_with(
            "operationId",
            &[("SOAP-ENC:arrayType", &count), ("xsi:type", "urn:intArray")],
        );
        for id in ids {
            w.typed_leaf("item", "xsd:int", &id.to_string());
        }
        w.close("operationId").close("cashGetOperationDataRequest");
    })
}

/// Any reply: its `error_code` and its `response`, as sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    pub error_code: i64,
    pub response: Option<Element>,
}

impl Reply {
    pub fn ok(&self) -> bool {
        self.error_code == 0
    }

    fn text(&self, name: &str) -> Option<&str> {
        self.response.as_ref().and_then(|r| r.text_of(name))
    }

    /// `core_login`: the session key.
    pub fn session(&self) -> Option<&str> {
        self.text("session")
    }

    /// An invoice's `operationId` and `operationUrl`.
    pub fn invoice(&self) -> Option<Issued> {
        let id = self.text("operationId").and_then(lenient_int)?;
        let url = self.text("operationUrl")?.to_string();
        Some(Issued {
            operation_id: id,
            operation_url: url,
        })
    }

    /// `core_requestConfirmationCode`: `response` is a boolean.
    pub fn code_sent(&self) -> Option<bool> {
        self.response
            .as_ref()
            .and_then(|r| soap::parse_bool(&r.text))
    }

    /// `cash_getBalance`: the amount in minor units (it may be zero).
    pub fn balance_minor(&self) -> Option<i64> {
        self.text("amount").and_then(minor_units)
    }

    /// `cash_getOperationData`: the records, and whether their count matches the array's
    /// declared one.
    pub fn records(&self) -> (Vec<Record>, bool) {
        let Some(resp) = &self.response else {
            return (Vec::new(), true);
        };
        let arr = resp.child("records").unwrap_or(resp);
        let (items, declared) = soap::array_items(arr);
        let records: Vec<Record> = items.into_iter().filter_map(Record::read).collect();
        let consistent = declared.is_none_or(|n| n == records.len());
        (records, consistent)
    }
}

/// An issued invoice.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Issued {
    pub operation_id: i64,
    pub operation_url: String,
}

/// One `CashGetOperationDataResponseDataRecord`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Record {
    pub id: i64,
    pub op_type: Option<i64>,
    pub lot_id: Option<i64>,
    pub sum_minor: Option<i64>,
    /// The sum as written, kept when it does not read as a sum.
    pub sum_text: Option<String>,
    pub fee_minor: Option<i64>,
    pub date: Option<String>,
    pub status: Option<i64>,
    pub comment: Option<String>,
    pub from_subject: Option<String>,
    pub to_subject: Option<String>,
    pub from_full_name: Option<String>,
    pub to_full_name: Option<String>,
}

impl Record {
    fn read(el: &Element) -> Option<Record> {
        let s = |n: &str| el.text_of(n).map(str::to_string);
        let i = |n: &str| el.text_of(n).and_then(lenient_int);
        Some(Record {
            id: i("id")?,
            op_type: i("type"),
            lot_id: i("lotId"),
            sum_minor: el.text_of("sum").and_then(minor_units),
            sum_text: s("sum"),
            fee_minor: el.text_of("fee").and_then(minor_units),
            date: s("date"),
            // A status given twice and not alike is no status at all.
            status: match el.texts_of("status").as_slice() {
                [one, rest @ ..] if rest.iter().all(|r| lenient_int(r) == lenient_int(one)) => {
                    lenient_int(one)
                }
                _ => None,
            },
            comment: s("comment"),
            from_subject: s("fromSubject"),
            to_subject: s("toSubject"),
            from_full_name: s("fromFullName"),
            to_full_name: s("toFullName"),
        })
    }

    /// The record's fields on one line, for the audit trail (no secrets in it).
    pub fn summary(&self) -> String {
        let money = |m: Option<i64>| {
            m.map(|v| format!("{}.{:02}", v / 100, (v % 100).abs()))
                .unwrap_or_else(|| "-".into())
        };
        let o = |v: &Option<String>| v.clone().unwrap_or_else(|| "-".into());
        format!(
            "record id {} type {} status {} sum {} fee {} date {} from {} ({}) to {} ({}) comment {}",
            self.id,
            self.op_type
                .map(|t| t.to_string())
                .unwrap_or_else(|| "-".into()),
            self.status
                .map(|t| t.to_string())
                .unwrap_or_else(|| "-".into()),
            money(self.sum_minor),
            money(self.fee_minor),
            o(&self.date),
            o(&self.from_subject),
            o(&self.from_full_name),
            o(&self.to_subject),
            o(&self.to_full_name),
            o(&self.comment),
        )
    }
}

/// An integer written as `42`, `42.0` or ` 42 `.
pub fn lenient_int(text: &str) -> Option<i64> {
    let t = text.trim();
    if let Ok(n) = t.parse::<i64>() {
        return Some(n);
    }
    let (w, f) = t.split_once('.')?;
    if !f.is_empty() && f.bytes().all(|b| b == b'0') {
        return w.parse().ok();
    }
    None
}

/// A decimal (`17421.5`, `100`, `0`, `-3.25`) in minor units, without a float.
pub fn minor_units(text: &str) -> Option<i64> {
    let t = text.trim();
    let (neg, t) = match t.strip_prefix('-') {
        Some(r) => (true, r),
        None => (false, t),
    };
    let (w, f) = t.split_once('.').unwrap_or((t, ""));
    if w.is_empty() || !w.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    if !f.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    // Beyond two places only zeros are accepted (`10.500`); anything else is not money.
    if f.len() > 2 && !f.bytes().skip(2).all(|b| b == b'0') {
        return None;
    }
    let frac: i64 = match f.len() {
        0 => 0,
        1 => i64::from(f.as_bytes()[0] - b'0') * 10,
        _ => f[..2].parse().ok()?,
    };
    let whole: i64 = w.parse().ok()?;
    let v = whole.checked_mul(100)?.checked_add(frac)?;
    Some(if neg { -v } else { v })
}

/// Reads the reply of `method`. A Fault is an `Err`; so is anything that is not the
/// method's response with an `error_code` (the WSDL served instead of a reply, an HTML
/// error page): the outcome of such a call is unknown.
pub fn decode(method: &str, xml: &[u8]) -> Result<Reply, SoapError> {
    let body = soap::parse_body(xml, &[NAMESPACE])?;
    let expected = format!("{method}Response");
    // PHP keeps the method's case as the WSDL spells it; match without case.
    if !body.name.eq_ignore_ascii_case(&expected) {
        return Err(SoapError::Unexpected {
            expected,
            found: body.name,
        });
    }
    let ret = body.child("return").unwrap_or(&body);
    let code = ret
        .text_of("error_code")
        .and_then(lenient_int)
        .ok_or(SoapError::Missing("error_code"))?;
    let response = ret
        .child("response")
        .filter(|r| r.attr("nil") != Some("true"))
        .cloned();
    Ok(Reply {
        error_code: code,
        response,
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;
    use crate::money::Currency;

    const INVOICE_RAW_AMP: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<SOAP-ENV:Envelope xmlns:SOAP-ENV="http://schemas.xmlsoap.org/soap/envelope/" xmlns:ns1="urn:XmlControllerwsdl" xmlns:xsd="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns:SOAP-ENC="http://schemas.xmlsoap.org/soap/encoding/" SOAP-ENV:encodingStyle="http://schemas.xmlsoap.org/soap/encoding/">
  <SOAP-ENV:Body>
    <ns1:cash_createInvoiceResponse>
      <return xsi:type="ns1:CashCreateInvoiceResponse">
        <response xsi:type="ns1:CashCreateInvoiceResponseData">
          <operationId xsi:type="xsd:int">50145291</operationId>
          <operationUrl xsi:type="xsd:string">https://www.test.wooppay.com/invoice/operation?id=34365&key=67751f22e270df006bd9f357709d47af</operationUrl>
          </response>
          <error_code xsi:type="xsd:int">0</error_code>
        </return>
      </ns1:cash_createInvoiceResponse>
    </SOAP-ENV:Body>
  </SOAP-ENV:Envelope>"#;

    #[test]
    fn a_raw_and_an_escaped_ampersand_give_the_same_url() {
        let raw = decode("cash_createInvoice", INVOICE_RAW_AMP.as_bytes()).unwrap();
        let escaped = INVOICE_RAW_AMP.replace("&key", "&amp;key").replace(
            "cash_createInvoiceResponse",
            "cash_createInvoiceByServiceResponse",
        );
        let esc = decode("cash_createInvoiceByService", escaped.as_bytes()).unwrap();
        let want = "https://www.test.wooppay.com/invoice/operation?id=34365&key=67751f22e270df006bd9f357709d47af";
        assert_eq!(raw.invoice().unwrap().operation_url, want);
        assert_eq!(esc.invoice().unwrap().operation_url, want);
        assert_eq!(raw.invoice().unwrap().operation_id, 50_145_291);
    }

    #[test]
    fn the_operation_data_array_and_float_sums() {
        let xml = r#"<SOAP-ENV:Envelope xmlns:SOAP-ENV="http://schemas.xmlsoap.org/soap/envelope/" xmlns:ns1="urn:XmlControllerwsdl" xmlns:SOAP-ENC="http://schemas.xmlsoap.org/soap/encoding/" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><SOAP-ENV:Body><ns1:cash_getOperationDataResponse><return xsi:type="ns1:CashGetOperationDataResponse"><response xsi:type="ns1:CashGetOperationDataResponseData"><records SOAP-ENC:arrayType="ns1:CashGetOperationDataResponseDataRecord[1]" xsi:type="ns1:CashGetOperationDataResponseDataRecordArray"><item xsi:type="ns1:CashGetOperationDataResponseDataRecord"><id xsi:type="xsd:int">50146257</id><type xsi:type="xsd:int">0</type><lotId xsi:type="xsd:int">0</lotId><sum xsi:type="xsd:float">17421.5</sum><fee xsi:type="xsd:float">0</fee><date xsi:type="xsd:string">2018-07-05 04:33:11</date><status xsi:type="xsd:int">4</status><comment xsi:type="xsd:string">nothing</comment><fromSubject xsi:type="xsd:string">Z77765431515</fromSubject><toSubject xsi:type="xsd:string">merchViktor</toSubject><fromFullName xsi:type="xsd:string">Z77010715570</fromFullName><toFullName xsi:type="xsd:string">merchViktor</toFullName></item></records></response><error_code xsi:type="xsd:int">0</error_code></return></ns1:cash_getOperationDataResponse></SOAP-ENV:Body></SOAP-ENV:Envelope>"#;
        let r = decode("cash_getOperationData", xml.as_bytes()).unwrap();
        let (records, consistent) = r.records();
        assert!(consistent);
        assert_eq!(records.len(), 1);
        assert_eq!(records[0].status, Some(4));
        assert_eq!(records[0].sum_minor, Some(1_742_150));
        assert_eq!(records[0].fee_minor, Some(0));
        assert!(records[0].summary().contains("sum 17421.50 fee 0.00"));
    }

    #[test]
    fn the_wsdl_instead_of_a_reply_is_not_a_reply() {
        let wsdl = br#"<?xml version="1.0"?><definitions xmlns="http://schemas.xmlsoap.org/wsdl/" name="XmlController"><message name="x"/></definitions>"#;
        assert!(decode("cash_createInvoice", wsdl).is_err());
        let no_code =
            INVOICE_RAW_AMP.replace("<error_code xsi:type=\"xsd:int\">0</error_code>", "");
        assert_eq!(
            decode("cash_createInvoice", no_code.as_bytes()),
            Err(SoapError::Missing("error_code"))
        );
    }

    #[test]
    fn numbers_are_read_without_floats() {
        assert_eq!(minor_units("17421.5"), Some(1_742_150));
        assert_eq!(minor_units("100"), Some(10_000));
        assert_eq!(minor_units("0"), Some(0));
        assert_eq!(minor_units("0.1"), Some(10));
        assert_eq!(minor_units("10.500"), Some(1050));
        assert_eq!(minor_units("10.505"), None);
        assert_eq!(minor_units("1e3"), None);
        assert_eq!(lenient_int("4.0"), Some(4));
        assert_eq!(lenient_int("4.5"), None);
    }

    #[test]
    fn requests_follow_the_documents_examples() {
        let amount = Amount::from_minor(10_000, Currency::Kzt).ok();
        let r = InvoiceRequest {
            reference_id: "9379992",
            amount,
            description: "test sale",
            back_url: "https://www.test.wooppay.com/",
            request_url: "https://www.test.wooppay.com/",
            ..InvoiceRequest::default()
        };
        let x = encode_invoice(Variant::Plain, &r);
        assert!(x.contains(r#"<urn:cash_createInvoice soapenv:encodingStyle="http://schemas.xmlsoap.org/soap/encoding/"><cashCreateInvoiceRequest xsi:type="urn:CashCreateInvoiceRequest"><referenceId xsi:type="xsd:string">9379992</referenceId><backUrl xsi:type="xsd:string">https://www.test.wooppay.com/</backUrl>"#), "{}", x.as_str());
        assert!(x.contains(r#"<amount xsi:type="xsd:float">100</amount><deathDate xsi:type="xsd:string"/><serviceType xsi:type="xsd:int"/><description xsi:type="xsd:string">test sale</description><orderNumber xsi:type="xsd:int"/>"#));
        let card = encode_invoice(Variant::Card, &r);
        assert!(card.contains(r#"<cashCreateInvoiceExtended2Request xsi:type="urn:CashCreateInvoiceExtended2Request"><cardForbidden xsi:type="xsd:int">0</cardForbidden>"#));
        assert!(card.contains(r#"<serviceType xsi:type="xsd:int">4</serviceType>"#));
        let mobile = encode_invoice(
            Variant::Mobile,
            &InvoiceRequest {
                add_info: "4321",
                user_phone: "77012345678",
                ..r.clone()
            },
        );
        assert!(mobile.contains(r#"<addInfo xsi:type="xsd:string">4321</addInfo>"#));
        assert!(mobile.contains(r#"<serviceType xsi:type="xsd:int">2</serviceType>"#));
        assert!(mobile.contains(r#"<userPhone xsi:type="xsd:string">77012345678</userPhone></cashCreateInvoiceExtendedRequest></urn:cash_createInvoiceExtended>"#));
        let svc = encode_invoice(
            Variant::Service,
            &InvoiceRequest {
                service_name: "merchViktor_invoice2",
                card_forbidden: true,
                ..r
            },
        );
        assert!(svc.contains(r#"<serviceName xsi:type="xsd:string">merchViktor_invoice2</serviceName><cardForbidden xsi:type="xsd:int">1</cardForbidden>"#));
        let ops = encode_operation_data(&[50_146_257]);
        assert!(ops.contains(r#"<operationId SOAP-ENC:arrayType="xsd:int[1]" xsi:type="urn:intArray"><item xsi:type="xsd:int">50146257</item></operationId>"#), "{ops}");
        let login = encode_login("test_merch", "A12345678a");
        assert!(login.contains(r#"<username xsi:type="xsd:string">test_merch</username><password xsi:type="xsd:string">A12345678a</password><captcha xsi:type="xsd:string"/>"#));
    }
}
