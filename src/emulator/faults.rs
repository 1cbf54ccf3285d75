//! The emulator's misbehaviour, shared by every payment endpoint: chosen by the tiyn of the
//! amount (first request of an id only) or queued for the coming requests through
//! `POST /_emulator/faults`. The charge is always recorded before the fault happens.

use std::collections::VecDeque;
use std::time::Duration;

use crate::http1::Reply;
use crate::providers::soap;

/// One way to misbehave after the charge is recorded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Misbehaviour {
    Http500,
    Reset,
    Slow,
    Malformed,
    SoapFaultReply,
    UnknownStatus,
    Truncated,
    /// The true reply, its SOAP Envelope moved to another namespace.
    WrongNamespace,
    /// The true reply as SOAP 1.2 (Envelope and Body in 1.2's namespace).
    Soap12,
    /// The true reply, its Body in a namespace that is not SOAP's.
    ForeignBody,
    /// The true reply, its reply element in another service's namespace.
    ForeignReply,
    /// The true reply with its status given a second time, saying something else.
    TwoStatuses,
    /// An Allpay reply whose status is in the header's `status` alone.
    StatusInHeader,
    /// The true reply about another operation: Allpay's transactionInfo with another
    /// GUID and amount, X1's invoice with another orderid.
    OtherOperation,
}

impl Misbehaviour {
    /// The names `POST /_emulator/faults` takes.
    pub fn from_name(name: &str) -> Option<Misbehaviour> {
        Some(match name.trim() {
            "500" => Misbehaviour::Http500,
            "reset" => Misbehaviour::Reset,
            "slow" => Misbehaviour::Slow,
            "malformed" => Misbehaviour::Malformed,
            "fault" => Misbehaviour::SoapFaultReply,
            "unknown-status" => Misbehaviour::UnknownStatus,
            "truncated" => Misbehaviour::Truncated,
            "wrong-namespace" => Misbehaviour::WrongNamespace,
            "soap-1.2" => Misbehaviour::Soap12,
            "foreign-body" => Misbehaviour::ForeignBody,
            "foreign-reply" => Misbehaviour::ForeignReply,
            "two-statuses" => Misbehaviour::TwoStatuses,
            "status-in-header" => Misbehaviour::StatusInHeader,
            "other-operation" => Misbehaviour::OtherOperation,
            _ => return None,
        })
    }

    /// The magic tiyn of an amount as the wire carries it (`100.51`).
    pub fn by_cents(amount: &str) -> Option<Misbehaviour> {
        let cents = match amount.split_once('.') {
            Some((_, f)) if f.len() == 2 => f,
            _ => return None,
        };
        Some(match cents {
            "51" => Misbehaviour::Http500,
            "52" => Misbehaviour::Reset,
            "53" => Misbehaviour::Slow,
            "54" => Misbehaviour::Malformed,
            "55" => Misbehaviour::SoapFaultReply,
            "56" => Misbehaviour::UnknownStatus,
            "57" => Misbehaviour::Truncated,
            "59" => Misbehaviour::WrongNamespace,
            _ => return None,
        })
    }
}

pub const NAMES: &str = "500, reset, slow, malformed, fault, unknown-status, truncated, \
     wrong-namespace, soap-1.2, foreign-body, foreign-reply, two-statuses, status-in-header, \
     other-operation";

/// Every service namespace a reply element of the emulated providers is in.
const SERVICE_NAMESPACES: [&str; 4] = [
    crate::providers::allpay::cash_in::NAMESPACE,
    crate::providers::allpay::pay::NAMESPACE,
    crate::providers::upay::codec::NAMESPACE,
    crate::providers::wooppay::codec::NAMESPACE,
];

/// The reply's text rewritten by `f` (a reply that is not whole is left as it is).
fn rewrite(reply: Reply, f: impl FnOnce(&str) -> String) -> Reply {
    rewrite_bytes(reply, |b| f(&String::from_utf8_lossy(b)).into_bytes())
}

/// The first `<tag ...>value</tag>` in `xml`: where it starts, where it ends, and its value.
/// On bytes, so that an X1 reply in Windows-1251 passes through untouched.
fn element(xml: &[u8], tag: &str) -> Option<(usize, usize, Vec<u8>)> {
    let find = |needle: &[u8], from: usize| {
        xml.get(from..)?
            .windows(needle.len())
            .position(|w| w == needle)
            .map(|i| i + from)
    };
    let open = format!("<{tag}");
    let mut at = 0;
    let start = loop {
        let s = find(open.as_bytes(), at)?;
        match xml.get(s + open.len()) {
            Some(b'>' | b' ') => break s,
            _ => at = s + 1,
        }
    };
    let value_start = find(b">", start)? + 1;
    let close = format!("</{tag}>");
    let value_end = find(close.as_bytes(), value_start)?;
    Some((
        start,
        value_end + close.len(),
        xml[value_start..value_end].to_vec(),
    ))
}

fn rewrite_bytes(reply: Reply, f: impl FnOnce(&[u8]) -> Vec<u8>) -> Reply {
    match reply {
        Reply::Full {
            status,
            content_type,
            body,
        } => Reply::Full {
            status,
            content_type,
            body: f(&body),
        },
        other => other,
    }
}

/// The reply with its status said twice: after the first status element, another that
/// disagrees (Allpay's, X1's retval, UPay's code).
fn two_statuses(xml: &[u8]) -> Vec<u8> {
    type Other = fn(&[u8]) -> &'static str;
    let alternatives: [(&str, Other); 3] = [
        ("terminalPaymentTransactionStatus", |v| {
            if v == b"COMPLETED" {
                "DECLINED"
            } else {
                "COMPLETED"
            }
        }),
        ("retval", |v| if v == b"0" { "6" } else { "0" }),
        ("code", |v| if v == b"OK" { "ERR" } else { "OK" }),
    ];
    for (tag, alt) in alternatives {
        if let Some((_, end, value)) = element(xml, tag) {
            let mut out = xml[..end].to_vec();
            out.extend_from_slice(format!("<{tag}>{}</{tag}>", alt(&value)).as_bytes());
            out.extend_from_slice(&xml[end..]);
            return out;
        }
    }
    xml.to_vec()
}

/// An Allpay reply with its payment status moved into the header's `status`.
fn status_in_header(xml: &[u8]) -> Vec<u8> {
    let Some((start, end, value)) = element(xml, "terminalPaymentTransactionStatus") else {
        return xml.to_vec();
    };
    let mut out = xml[..start].to_vec();
    out.extend_from_slice(&xml[end..]);
    match element(&out, "status") {
        Some((s, e, _)) => {
            let mut with = out[..s].to_vec();
            with.extend_from_slice(b"<status>");
            with.extend_from_slice(&value);
            with.extend_from_slice(b"</status>");
            with.extend_from_slice(&out[e..]);
            with
        }
        None => out,
    }
}

/// The reply about another operation than the one asked: Allpay's transactionInfo naming
/// another GUID and sum (document 003's common fields), X1's invoice another orderid.
fn other_operation(xml: &[u8]) -> Vec<u8> {
    // transactionInfo is document 003's (cash-in); document 001's pay reply has none.
    let cash_in = xml
        .windows(b"createCashInPaymentResponse".len())
        .any(|w| w == b"createCashInPaymentResponse");
    if let Some((_, end, value)) =
        element(xml, "terminalPaymentTransactionStatus").filter(|_| cash_in)
    {
        let mut out = xml[..end].to_vec();
        out.extend_from_slice(b"<transactionInfo><GUID>{00000000-0000-4000-8000-000000000001}</GUID><amount>1</amount><transactionStatus>");
        out.extend_from_slice(&value);
        out.extend_from_slice(b"</transactionStatus></transactionInfo>");
        out.extend_from_slice(&xml[end..]);
        return out;
    }
    if let Some((start, end, value)) = element(xml, "orderid") {
        let mut out = xml[..start].to_vec();
        out.extend_from_slice(b"<orderid>");
        out.extend_from_slice(&value);
        out.extend_from_slice(b"0</orderid>");
        out.extend_from_slice(&xml[end..]);
        return out;
    }
    xml.to_vec()
}

/// Moves the SOAP Body (whatever its prefix) into a namespace of its own.
fn foreign_body(xml: &str) -> String {
    let Some(at) = xml.find(":Body") else {
        return xml.to_string();
    };
    let Some(open) = xml[..at].rfind('<') else {
        return xml.to_string();
    };
    let prefix = &xml[open + 1..at];
    xml.replace(
        &format!("<{prefix}:Body>"),
        "<fb:Body xmlns:fb=\"urn:kassa-emulator:not-soap\">",
    )
    .replace(&format!("</{prefix}:Body>"), "</fb:Body>")
}

/// Faults waiting for the coming payment requests.
#[derive(Debug, Default)]
pub struct FaultQueue(VecDeque<Misbehaviour>);

impl FaultQueue {
    /// Queues `500,reset,...`; returns how many, or the name that is not known.
    pub fn queue(&mut self, names: &str) -> Result<usize, String> {
        let mut parsed = Vec::new();
        for n in names.split(',').filter(|n| !n.trim().is_empty()) {
            parsed.push(Misbehaviour::from_name(n).ok_or_else(|| n.trim().to_string())?);
        }
        let count = parsed.len();
        self.0.extend(parsed);
        Ok(count)
    }

    pub fn clear(&mut self) {
        self.0.clear();
    }

    /// The fault for this request: a queued one first, else the amount's on a first request.
    pub fn choose(&mut self, amount: &str, first: bool) -> Option<Misbehaviour> {
        self.0
            .pop_front()
            .or_else(|| Misbehaviour::by_cents(amount).filter(|_| first))
    }
}

/// A SOAP Fault the way JAX-WS sends it: HTTP 500.
pub fn soap_fault(code: &str, message: &str) -> Reply {
    let mut m = String::new();
    soap::escape_into(&mut m, message);
    Reply::xml(
        500,
        format!(
            r#"<S:Envelope xmlns:S="http://schemas.xmlsoap.org/soap/envelope/"><S:Body><S:Fault xmlns:ns4="http://www.w3.org/2003/05/soap-envelope"><faultcode>{code}</faultcode><faultstring>{m}</faultstring></S:Fault></S:Body></S:Envelope>"#
        ),
    )
}

/// Turns the true `reply` into the chosen misbehaviour; `unknown_status` builds the same
/// reply with a status nobody documented.
pub fn apply(
    chosen: Option<Misbehaviour>,
    reply: Reply,
    unknown_status: impl FnOnce() -> Reply,
    slow: Duration,
    malformed: &'static str,
) -> Reply {
    match chosen {
        None => reply,
        Some(Misbehaviour::Http500) => Reply::text(500, "Internal Server Error"),
        Some(Misbehaviour::Reset) => Reply::Reset,
        Some(Misbehaviour::Slow) => Reply::Slow {
            delay: slow,
            reply: Box::new(reply),
        },
        Some(Misbehaviour::Malformed) => Reply::xml(200, malformed),
        Some(Misbehaviour::SoapFaultReply) => {
            soap_fault("S:Server", "Internal error, transaction state unknown")
        }
        Some(Misbehaviour::UnknownStatus) => unknown_status(),
        Some(Misbehaviour::Truncated) => match reply {
            Reply::Full { body, .. } => Reply::Truncated { status: 200, body },
            other => other,
        },
        Some(Misbehaviour::WrongNamespace) => rewrite(reply, |x| {
            x.replace(soap::SOAP11_NS, "urn:kassa-emulator:not-soap")
        }),
        Some(Misbehaviour::Soap12) => {
            rewrite(reply, |x| x.replace(soap::SOAP11_NS, soap::SOAP12_NS))
        }
        Some(Misbehaviour::ForeignBody) => rewrite(reply, foreign_body),
        Some(Misbehaviour::TwoStatuses) => rewrite_bytes(reply, two_statuses),
        Some(Misbehaviour::StatusInHeader) => rewrite_bytes(reply, status_in_header),
        Some(Misbehaviour::OtherOperation) => rewrite_bytes(reply, other_operation),
        Some(Misbehaviour::ForeignReply) => rewrite(reply, |x| {
            SERVICE_NAMESPACES.iter().fold(x.to_string(), |x, ns| {
                x.replace(ns, "urn:kassa-emulator:another-service")
            })
        }),
    }
}

/// Reads a request as a JAX-WS server would before dispatching: XML with a SOAP Body, a
/// SOAPAction naming the operation, a header timestamp with an offset. The Body's operation
/// element, or the Fault to answer.
pub fn read_request(body: &[u8], soap_action: Option<&str>) -> Result<soap::Element, Reply> {
    let root = soap::parse_document(body)
        .map_err(|_| soap_fault("S:Client", "Unmarshalling Error: request is not XML"))?;
    let op = root
        .children
        .into_iter()
        .find(|c| c.name == "Body")
        .and_then(|b| b.children.into_iter().next())
        .ok_or_else(|| soap_fault("S:Client", "no SOAP Body"))?;
    match check_request(&op, soap_action) {
        Some(refusal) => Err(refusal),
        None => Ok(op),
    }
}

/// `text` of the first descendant `name`, trimmed; empty when absent.
pub fn text_in<'a>(el: &'a soap::Element, name: &str) -> &'a str {
    el.find(name).map(|e| e.text.trim()).unwrap_or("")
}

fn check_request(op: &soap::Element, soap_action: Option<&str>) -> Option<Reply> {
    let action = soap_action.map(|a| a.trim().trim_matches('"'));
    if !action.is_some_and(|a| a == op.name || a.ends_with(&format!("/{}", op.name))) {
        return Some(soap_fault(
            "S:Client",
            &format!(
                "SOAPAction {:?} does not name the operation {}",
                action, op.name
            ),
        ));
    }
    let ts = op.find("timestamp").map(|e| e.text.trim()).unwrap_or("");
    if chrono::DateTime::parse_from_rfc3339(ts).is_err() {
        return Some(soap_fault(
            "S:Client",
            &format!("timestamp '{ts}' is not an xs:dateTime with an offset"),
        ));
    }
    None
}

/// `true` for a positive decimal with at most two places, as the wire carries amounts.
pub fn valid_amount(a: &str) -> bool {
    let (w, f) = a.split_once('.').unwrap_or((a, ""));
    !w.is_empty()
        && w.bytes().all(|b| b.is_ascii_digit())
        && f.bytes().all(|b| b.is_ascii_digit())
        && f.len() <= 2
        && a.bytes().any(|b| (b'1'..=b'9').contains(&b))
}
