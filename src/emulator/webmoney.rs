//! The emulator's WebMoney X1 endpoint (document 002): `XMLInvoice.asp` (Keeper Classic,
//! signature checked with the demo key's public half) and `XMLInvoiceCert.asp` (Keeper
//! Light; loopback has no client certificate to check). It enforces reqn order per signer,
//! answers in Windows-1251 as WebMoney does, and has magic customer WMIDs for the retvals.
//!
//! It reads requests with the generic element tree only, not kassa's X1 codec; only the
//! signature arithmetic is shared (`signer::verify`), as WebMoney's own check.

use std::collections::HashMap;

use num_bigint::BigUint;
use serde::Serialize;

use super::faults::{self, FaultQueue, text_in};
use crate::http1::Reply;
use crate::providers::soap;
use crate::providers::webmoney::signer;

pub use crate::demo::webmoney::{DEMO_PASSWORD, DEMO_PURSE, DEMO_WMID, demo_kwm, demo_private_key};

/// An invoice the emulated WebMoney issued.
#[derive(Debug, Clone, Serialize)]
pub struct Entry {
    pub id: u64,
    pub orderid: String,
    pub customer_wmid: String,
    pub store_purse: String,
    pub amount: String,
    pub desc: String,
    pub reqn: u64,
}

/// Customer WMIDs that answer a retval: `0000000000NN` (or `000000000NNN`) gives retval NN.
pub const MAGIC_RETVALS: &[i32] = &[5, 6, 7, 8, 35, 51, 52, 54, 55, 56, 61, 110, 111];

#[derive(Debug, Default)]
pub struct X1 {
    invoices: Vec<Entry>,
    last_reqn: HashMap<String, u64>,
}

fn response(reqn: &str, retval: i32, retdesc: &str, invoice: Option<&Entry>) -> Reply {
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"windows-1251\"?>\n<w3s.response>");
    out.push_str(&format!(
        "<reqn>{}</reqn><retval>{retval}</retval><retdesc>{}</retdesc>",
        super::esc(reqn),
        super::esc(retdesc)
    ));
    if let Some(e) = invoice {
        let now = chrono::Local::now().format("%Y%m%d %H:%M:%S");
        out.push_str(&format!(
            "<invoice id=\"{}\" ts=\"{}\"><orderid>{}</orderid><customerwmid>{}</customerwmid><storepurse>{}</storepurse><amount>{}</amount><desc>{}</desc><address></address><period>0</period><expiration>0</expiration><state>0</state><datecrt>{now}</datecrt><dateupd>{now}</dateupd></invoice>",
            e.id,
            e.id + 90_000_000,
            super::esc(&e.orderid),
            e.customer_wmid,
            e.store_purse,
            e.amount,
            super::esc(&e.desc)
        ));
    }
    out.push_str("</w3s.response>");
    let (bytes, _, _) = encoding_rs::WINDOWS_1251.encode(&out);
    Reply::Full {
        status: 200,
        content_type: "text/xml; charset=windows-1251",
        body: bytes.into_owned(),
    }
}

impl X1 {
    /// Answers one X1 request; `classic` is true on the signature endpoint.
    pub fn handle(
        &mut self,
        body: &[u8],
        classic: bool,
        faults: &mut FaultQueue,
        slow: std::time::Duration,
    ) -> Reply {
        let Ok(root) = soap::parse_document(body) else {
            return response("", -100, "General parsing error", None);
        };
        let reqn_text = text_in(&root, "reqn").to_string();
        let Ok(reqn) = reqn_text.parse::<u64>() else {
            return response(&reqn_text, -9, "Invalid reqn", None);
        };
        if reqn_text.len() > 15 {
            return response(&reqn_text, -9, "reqn longer than 15 digits", None);
        }
        let get = |n| text_in(&root, n).to_string();
        let (orderid, customer, purse, amount) = (
            get("orderid"),
            get("customerwmid"),
            get("storepurse"),
            get("amount"),
        );
        let (desc, address, period, expiration) = (
            get("desc"),
            get("address"),
            get("period"),
            get("expiration"),
        );
        let scope = if classic {
            let wmid = get("wmid");
            if wmid != DEMO_WMID {
                return response(&reqn_text, -11, "WMID not registered", None);
            }
            // The signed string, as WebMoney rebuilds it (desc and address in cp1251).
            let mut data = format!("{orderid}{customer}{purse}{amount}").into_bytes();
            for t in [&desc, &address] {
                data.extend_from_slice(&encoding_rs::WINDOWS_1251.encode(t).0);
            }
            data.extend_from_slice(format!("{period}{expiration}{reqn}").as_bytes());
            let (_, n) = demo_private_key();
            if !signer::verify(&data, &get("sign"), &BigUint::from(65_537u32), &n) {
                return response(&reqn_text, -12, "Signature verification failed", None);
            }
            wmid
        } else {
            "light".to_string()
        };
        if self.last_reqn.get(&scope).is_some_and(|last| reqn <= *last) {
            return response(&reqn_text, 102, "reqn must increase", None);
        }
        self.last_reqn.insert(scope, reqn);
        if orderid.is_empty() || !orderid.bytes().all(|b| b.is_ascii_digit()) {
            return response(&reqn_text, -1, "Invalid orderid", None);
        }
        if customer.len() != 12 || !customer.bytes().all(|b| b.is_ascii_digit()) {
            return response(&reqn_text, -2, "Invalid customerwmid", None);
        }
        if purse.len() != 13 {
            return response(&reqn_text, -3, "Invalid storepurse", None);
        }
        if !faults::valid_amount(&amount) {
            return response(&reqn_text, -5, "Invalid amount", None);
        }
        if desc.chars().count() > 255 {
            return response(&reqn_text, -6, "desc is too long", None);
        }
        if address.chars().count() > 255 {
            return response(&reqn_text, -7, "address is too long", None);
        }
        if let Some(code) = customer
            .parse::<i32>()
            .ok()
            .filter(|c| MAGIC_RETVALS.contains(c))
        {
            return response(&reqn_text, code, "emulated refusal", None);
        }
        let entry = Entry {
            // From the clock (milliseconds): a restarted emulator never reuses an id.
            id: super::clock_id(
                self.invoices
                    .last()
                    .map_or(0, |e| i64::try_from(e.id).unwrap_or(i64::MAX)),
                chrono::Utc::now().timestamp_millis(),
            )
            .unsigned_abs(),
            orderid,
            customer_wmid: customer,
            store_purse: purse,
            amount: amount.clone(),
            desc,
            reqn,
        };
        self.invoices.push(entry.clone());
        // Magic tiyn .58: the reply names another amount than was asked (an anomaly).
        let mut shown = entry.clone();
        if amount.ends_with(".58") {
            shown.amount = "999".into();
        }
        let reply = response(&reqn_text, 0, "", Some(&shown));
        let chosen = faults.choose(&amount, true);
        faults::apply(
            chosen,
            reply,
            || {
                // A reply that says nothing about the invoice: no retval at all.
                let body = format!("<w3s.response><reqn>{reqn_text}</reqn></w3s.response>");
                Reply::xml(200, body)
            },
            slow,
            "<w3s.response><retval>",
        )
    }

    pub fn entries(&self) -> Vec<Entry> {
        self.invoices.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::money::{Amount, Currency};
    use crate::providers::webmoney::{Invoice, encode, signed_bytes};

    fn request(reqn: u64, tamper: bool) -> Vec<u8> {
        let inv = Invoice {
            orderid: 1,
            customer_wmid: "405002833238".into(),
            store_purse: DEMO_PURSE.into(),
            amount: Amount::from_minor(1050, Currency::Usd).unwrap_or_else(|_| unreachable!()),
            desc: "Заказ".into(),
            address: String::new(),
            period: 0,
            expiration: 0,
        };
        let signer =
            signer::Signer::from_kwm(&demo_kwm(), DEMO_WMID, DEMO_PASSWORD).expect("demo key");
        let mut sign = signer.sign(&signed_bytes(&inv, reqn));
        if tamper {
            sign.replace_range(0..4, "0000");
        }
        encode(&inv, reqn, Some((DEMO_WMID, &sign))).into_bytes()
    }

    fn retval(reply: &Reply) -> i32 {
        match reply {
            Reply::Full { body, .. } => {
                let text = encoding_rs::WINDOWS_1251.decode(body).0.into_owned();
                let v = text
                    .split("<retval>")
                    .nth(1)
                    .and_then(|r| r.split('<').next());
                v.and_then(|v| v.parse().ok()).unwrap_or(i32::MIN)
            }
            _ => i32::MIN,
        }
    }

    #[test]
    fn reqn_must_grow_and_signatures_must_verify() {
        let mut x = X1::default();
        let mut q = FaultQueue::default();
        let slow = std::time::Duration::ZERO;
        assert_eq!(
            retval(&x.handle(&request(100, false), true, &mut q, slow)),
            0
        );
        assert_eq!(
            retval(&x.handle(&request(100, false), true, &mut q, slow)),
            102
        );
        assert_eq!(
            retval(&x.handle(&request(99, false), true, &mut q, slow)),
            102
        );
        assert_eq!(
            retval(&x.handle(&request(101, true), true, &mut q, slow)),
            -12
        );
        assert_eq!(retval(&x.handle(b"<nonsense", true, &mut q, slow)), -100);
        assert_eq!(x.entries().len(), 1);
    }
}
