//! The emulator's Allpay Cash-In endpoint (document 003), written from the document and the
//! published schemas, not from kassa's client: it reads requests with the generic element
//! tree only and writes replies in the document's own layout.
//!
//! Ledger: one entry per (requester, GUID), braces or not. The first request records the
//! charge; repeats never charge again and move the entry from PENDING to its final state
//! after a few polls. Magic inputs (README "Emulator") choose outcomes and faults.

use std::collections::HashMap;
use std::time::Duration;

use serde::Serialize;

use super::faults::{self, FaultQueue, soap_fault, text_in};
use super::{allpay_header, esc};
use crate::http1::Reply;
use crate::providers::soap::Element;

/// A cash-in as the emulated Allpay keeps it.
#[derive(Debug, Clone, Serialize)]
pub struct Entry {
    pub requester: String,
    pub guid: String,
    pub login: String,
    pub amount: String,
    pub status: String,
    /// How many createCashInPayment requests carried this GUID.
    pub requests: u32,
    pub transaction_id: u64,
}

/// Logins with a meaning (README "Emulator").
pub const UNKNOWN_USER: &str = "77000000000";
pub const NOT_IDENTIFIED: &str = "77000000001";
pub const DECLINE: &str = "77000000002";
pub const LONG_PENDING: &str = "77000000003";
pub const FAILED: &str = "77000000004";
pub const CHECK_FAULT: &str = "77000000500";

/// Polls a long-pending payment stays PENDING for.
pub const LONG_PENDING_POLLS: u32 = 30;

#[derive(Debug, Default)]
pub struct CashIn {
    entries: HashMap<(String, String), Entry>,
    order: Vec<(String, String)>,
    next_tx: u64,
}

const ENVELOPE_OPEN: &str = r#"<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns:ns="http://www.allpay.kz/mfs/soap/CashInTransactionManagement/1.1">
   <soapenv:Header/>
   <soapenv:Body>
"#;
const ENVELOPE_CLOSE: &str = "   </soapenv:Body>\n</soapenv:Envelope>";
const MALFORMED: &str =
    "<soapenv:Envelope><soapenv:Body><ns:createCashInPaymentResponse><return><header>";

/// The name the emulator gives a login.
fn person(login: &str) -> (&'static str, &'static str, &'static str, &'static str) {
    if login == NOT_IDENTIFIED {
        ("Айгерим", "Сейткали", "Нурлановна", "900101300123")
    } else {
        ("Иван", "Петров", "Петрович", "850312304521")
    }
}

impl CashIn {
    /// Answers one request to the cash-in endpoint. `soap_action` is the request's
    /// SOAPAction header: JAX-WS wants it, so the emulator does too.
    pub fn handle(
        &mut self,
        body: &[u8],
        soap_action: Option<&str>,
        faults: &mut FaultQueue,
        pending_polls: u32,
        slow: Duration,
    ) -> Reply {
        let op = match faults::read_request(body, soap_action) {
            Ok(op) => op,
            Err(refusal) => return refusal,
        };
        let op = &op;
        match op.name.as_str() {
            "checkUserAndValidateCashIn" => self.check_user(op),
            "createCashInPayment" => self.create_payment(op, faults, pending_polls, slow),
            other => soap_fault(
                "S:Client",
                &format!("Cannot find dispatch method for {other}"),
            ),
        }
    }

    fn check_user(&self, op: &Element) -> Reply {
        let login = text_in(op, "userName");
        if text_in(op, "requester").is_empty() {
            return soap_fault("S:Client", "requester is required");
        }
        if login == CHECK_FAULT {
            return Reply::text(500, "Internal Server Error");
        }
        let mut out = String::from(ENVELOPE_OPEN);
        out.push_str("      <ns:checkUserAndValidateCashInResponse>\n         <return>\n");
        if login == UNKNOWN_USER || login.is_empty() {
            out.push_str(&allpay_header("Пользователь не найден", "USER_NOT_FOUND"));
        } else {
            let (first, last, patronymic, iin) = person(login);
            out.push_str(&allpay_header("", "OK"));
            out.push_str(&format!(
                "            <basicUserInfo>\n               <identified>{}</identified>\n               <IIN>{iin}</IIN>\n               <firstName>{first}</firstName>\n               <lastName>{last}</lastName>\n               <patronymic>{patronymic}</patronymic>\n            </basicUserInfo>\n",
                login != NOT_IDENTIFIED
            ));
        }
        out.push_str("         </return>\n      </ns:checkUserAndValidateCashInResponse>\n");
        out.push_str(ENVELOPE_CLOSE);
        Reply::xml(200, out)
    }

    fn create_payment(
        &mut self,
        op: &Element,
        faults: &mut FaultQueue,
        pending_polls: u32,
        slow: Duration,
    ) -> Reply {
        let requester = text_in(op, "requester").to_string();
        let login = text_in(op, "toUserName").to_string();
        let amount = text_in(op, "amount").to_string();
        let guid_raw = text_in(op, "GUID");
        let guid = guid_raw
            .trim_start_matches('{')
            .trim_end_matches('}')
            .to_ascii_lowercase();
        let is_uuid = guid.len() == 36
            && guid.char_indices().all(|(i, c)| {
                if matches!(i, 8 | 13 | 18 | 23) {
                    c == '-'
                } else {
                    c.is_ascii_hexdigit()
                }
            });
        if requester.is_empty() || !is_uuid || login.is_empty() {
            return soap_fault("S:Client", "requester, toUserName and GUID are required");
        }
        if !faults::valid_amount(&amount) {
            return soap_fault(
                "S:Client",
                &format!("amount '{amount}' is not a positive decimal"),
            );
        }
        let key = (requester.clone(), guid.clone());
        let first = !self.entries.contains_key(&key);
        if first {
            self.next_tx += 1;
            self.order.push(key.clone());
            self.entries.insert(
                key.clone(),
                Entry {
                    requester,
                    guid: format!("{{{guid}}}"),
                    login: login.clone(),
                    amount: amount.clone(),
                    status: "PENDING".into(),
                    requests: 0,
                    transaction_id: 1_000_000 + self.next_tx,
                },
            );
        }
        let Some(entry) = self.entries.get_mut(&key) else {
            return soap_fault("S:Server", "ledger lost the entry");
        };
        if entry.login != login || entry.amount != amount {
            return soap_fault(
                "S:Client",
                "GUID already used for another payment (toUserName or amount differ)",
            );
        }
        entry.requests += 1;
        if entry.status == "PENDING" {
            let polls = if login == LONG_PENDING {
                LONG_PENDING_POLLS
            } else {
                pending_polls
            };
            if entry.requests > polls {
                entry.status = match login.as_str() {
                    UNKNOWN_USER | DECLINE => "DECLINED",
                    FAILED => "FAILED",
                    _ => "COMPLETED",
                }
                .into();
            }
        }
        let entry = entry.clone();
        let reply = payment_reply(&entry);
        let chosen = faults.choose(&amount, first);
        faults::apply(
            chosen,
            reply,
            || {
                let mut e = entry.clone();
                e.status = "PROCESSING".into();
                payment_reply(&e)
            },
            slow,
            MALFORMED,
        )
    }

    /// The ledger in the order payments first arrived.
    pub fn entries(&self) -> Vec<Entry> {
        self.order
            .iter()
            .filter_map(|k| self.entries.get(k).cloned())
            .collect()
    }
}

fn payment_reply(e: &Entry) -> Reply {
    let (user, reason) = match e.status.as_str() {
        "PENDING" => ("Платёж в обработке", None),
        "COMPLETED" => ("Кошелёк пополнен", None),
        "FAILED" => (
            "Платёж не прошёл",
            Some("PROVIDER_ERROR: wallet service failed"),
        ),
        _ if e.login == UNKNOWN_USER => ("Пользователь не найден", Some("USER_NOT_FOUND")),
        _ => (
            "Операция отклонена",
            Some("LIMIT_EXCEEDED: wallet balance limit"),
        ),
    };
    let mut out = String::from(ENVELOPE_OPEN);
    out.push_str("      <ns:createCashInPaymentResponse>\n         <return>\n");
    out.push_str(&allpay_header(
        user,
        &format!("transaction {}", e.transaction_id),
    ));
    out.push_str(&format!(
        "            <terminalPaymentTransactionStatus>{}</terminalPaymentTransactionStatus>\n",
        esc(&e.status)
    ));
    if let Some(r) = reason {
        out.push_str(&format!("            <reason>{}</reason>\n", esc(r)));
    }
    out.push_str("         </return>\n      </ns:createCashInPaymentResponse>\n");
    out.push_str(ENVELOPE_CLOSE);
    Reply::xml(200, out)
}

#[cfg(test)]
mod tests {
    use super::*;

    // Document 003's request examples, verbatim but for the `?` placeholders.
    const CHECK_REQUEST: &str = r#"<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns:ns="http://www.allpay.kz/mfs/soap/CashInTransactionManagement/1.1">
   <soapenv:Header/>
   <soapenv:Body>
      <ns:checkUserAndValidateCashIn>
         <!--Optional:-->
         <CheckUserRequest>
            <header>
               <!--Optional:-->
               <lang>ru</lang>
               <timestamp>2026-11-23T14:02:00+05:00</timestamp>
               <requester>72222222221</requester>
               <!--Optional:-->
               <token>123456</token>
            </header>
            <userName>77072734954</userName>
         </CheckUserRequest>
      </ns:checkUserAndValidateCashIn>
   </soapenv:Body>
</soapenv:Envelope>"#;

    const PAY_REQUEST: &str = r#"<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns:ns="http://www.allpay.kz/mfs/soap/CashInTransactionManagement/1.1">
   <soapenv:Header/>
   <soapenv:Body>
      <ns:createCashInPayment>
         <!--Optional:-->
         <CashInRequest>
            <header>
               <!--Optional:-->
               <lang>ru</lang>
               <timestamp>2026-11-23T14:02:00+05:00</timestamp>
               <requester>72222222221</requester>
               <!--Optional:-->
               <token>123456</token>
            </header>
            <toUserName>77072734954</toUserName>
            <amount>1000.5</amount>
            <GUID>GUID_HERE</GUID>
         </CashInRequest>
      </ns:createCashInPayment>
   </soapenv:Body>
</soapenv:Envelope>"#;

    const PAY: Option<&str> = Some("createCashInPayment");

    #[test]
    fn a_request_without_soapaction_or_offset_is_refused() {
        let mut e = CashIn::default();
        let mut q = FaultQueue::default();
        let req = PAY_REQUEST.replace("GUID_HERE", "{0f8fad5b-d9cb-469f-a165-70867728950e}");
        assert!(
            body(&e.handle(req.as_bytes(), None, &mut q, 2, Duration::ZERO)).contains("SOAPAction")
        );
        let no_offset = req.replace("2026-11-23T14:02:00+05:00", "2026-11-23T14:02:00");
        assert!(
            body(&e.handle(no_offset.as_bytes(), PAY, &mut q, 2, Duration::ZERO))
                .contains("offset")
        );
        let bad_guid = PAY_REQUEST.replace("GUID_HERE", "{not-a-guid-at-all-but-36-chars-long}");
        assert!(
            body(&e.handle(bad_guid.as_bytes(), PAY, &mut q, 2, Duration::ZERO)).contains("GUID")
        );
        assert!(e.entries().is_empty());
    }

    #[test]
    fn queued_faults_hit_the_next_requests() {
        let mut e = CashIn::default();
        let mut q = FaultQueue::default();
        assert_eq!(q.queue("reset,500"), Ok(2));
        assert_eq!(q.queue("explode"), Err("explode".into()));
        let req = PAY_REQUEST.replace("GUID_HERE", "{0f8fad5b-d9cb-469f-a165-70867728950e}");
        assert!(matches!(
            e.handle(req.as_bytes(), PAY, &mut q, 2, Duration::ZERO),
            Reply::Reset
        ));
        assert!(matches!(
            e.handle(req.as_bytes(), PAY, &mut q, 2, Duration::ZERO),
            Reply::Full { status: 500, .. }
        ));
        assert!(
            body(&e.handle(req.as_bytes(), PAY, &mut q, 2, Duration::ZERO)).contains(">COMPLETED<")
        );
        assert_eq!(e.entries().len(), 1, "one charge through all of it");
    }

    fn body(reply: &Reply) -> String {
        match reply {
            Reply::Full { body, .. } => String::from_utf8_lossy(body).into_owned(),
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn answers_the_documents_check_request() {
        let mut e = CashIn::default();
        let mut q = FaultQueue::default();
        let r = body(&e.handle(
            CHECK_REQUEST.as_bytes(),
            Some("\"checkUserAndValidateCashIn\""),
            &mut q,
            2,
            Duration::ZERO,
        ));
        assert!(r.contains("<ns:checkUserAndValidateCashInResponse>"));
        assert!(r.contains("<identified>true</identified>"));
        assert!(r.contains("<firstName>Иван</firstName>"));
    }

    #[test]
    fn one_charge_per_guid_with_or_without_braces() {
        let mut e = CashIn::default();
        let mut q = FaultQueue::default();
        let braced = PAY_REQUEST.replace("GUID_HERE", "{0F8FAD5B-D9CB-469F-A165-70867728950E}");
        let bare = PAY_REQUEST.replace("GUID_HERE", "0f8fad5b-d9cb-469f-a165-70867728950e");
        let statuses: Vec<bool> = [&braced, &bare, &braced]
            .iter()
            .map(|req| {
                body(&e.handle(req.as_bytes(), PAY, &mut q, 2, Duration::ZERO))
                    .contains(">COMPLETED<")
            })
            .collect();
        assert_eq!(
            statuses,
            [false, false, true],
            "PENDING twice, then COMPLETED"
        );
        let ledger = e.entries();
        assert_eq!(ledger.len(), 1);
        assert_eq!(ledger[0].requests, 3);
        assert_eq!(ledger[0].amount, "1000.5");
        // The same GUID for another amount is refused, and charges nothing.
        let other = braced.replace("<amount>1000.5</amount>", "<amount>5</amount>");
        assert!(
            body(&e.handle(other.as_bytes(), PAY, &mut q, 2, Duration::ZERO)).contains("Fault")
        );
        assert_eq!(e.entries().len(), 1);
    }

    #[test]
    fn garbage_gets_a_fault_not_a_panic() {
        let mut e = CashIn::default();
        let mut q = FaultQueue::default();
        for junk in [&b""[..], b"<", b"not xml", b"<a><b></a>", &[0xff, 0xfe][..]] {
            assert!(body(&e.handle(junk, PAY, &mut q, 2, Duration::ZERO)).contains("Fault"));
        }
        assert!(e.entries().is_empty());
    }
}
