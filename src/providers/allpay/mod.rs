//! Allpay (KZ): the cash-in API (document 003) and the utility payment API
//! (document 001). Both carry the same request and response headers, written and read here.
//!
//! Their requests carry the agent's login (`requester`), a customer's wallet and amounts,
//! but no password or key; they are sent like every request, from a buffer cleared once
//! sent (`providers::post_soap`).

pub mod cash_in;
pub mod pay;

use crate::providers::soap::{Element, XmlWriter};

/// The request header every call carries.
#[derive(Debug, Clone)]
pub struct RequestHeader<'a> {
    pub lang: &'a str,
    /// xs:dateTime with the offset, local time.
    pub timestamp: &'a str,
    pub requester: &'a str,
}

/// The response header: `status` is a request status, `userMessage` is for the cashier,
/// `developerMessage` for the log.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ResponseHeader {
    pub user_message: Option<String>,
    pub developer_message: Option<String>,
    pub status: Option<String>,
    pub timestamp: Option<String>,
}

pub(crate) fn write_header(w: &mut XmlWriter, h: &RequestHeader<'_>) {
    w.open("header")
        .leaf("lang", h.lang)
        .leaf("timestamp", h.timestamp)
        .leaf("requester", h.requester)
        .close("header");
}

pub(crate) fn text(el: &Element, name: &str) -> Option<String> {
    el.text_of(name).map(str::to_string)
}

/// The `header` of a reply's `return`; an absent one reads as empty.
pub(crate) fn read_header(ret: &Element) -> ResponseHeader {
    match ret.child("header") {
        Some(h) => ResponseHeader {
            user_message: text(h, "userMessage"),
            developer_message: text(h, "developerMessage"),
            status: text(h, "status"),
            timestamp: text(h, "timestamp"),
        },
        None => ResponseHeader::default(),
    }
}
