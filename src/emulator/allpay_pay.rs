//! The emulator's Allpay terminal endpoint (document 001): `payForServicesCheck` and
//! `payForServicesPay`, written from the document, not from kassa's client.
//!
//! Ledger: one entry per (requester, rrn). The first request records the charge; a repeat
//! returns the current status and never charges twice; an entry answers PENDING for a few
//! polls before its final state. Magic inputs (README "Emulator") choose outcomes.

use std::collections::HashMap;
use std::time::Duration;

use serde::Serialize;

use super::faults::{self, FaultQueue, soap_fault, text_in};
use super::{allpay_header, esc};
use crate::http1::Reply;
use crate::providers::soap::Element;

/// A payment as the emulated Allpay keeps it.
#[derive(Debug, Clone, Serialize)]
pub struct Entry {
    pub requester: String,
    pub rrn: String,
    pub login: String,
    pub service: String,
    pub account: String,
    pub amount: String,
    pub value_date: String,
    pub status: String,
    /// How many payForServicesPay requests carried this rrn.
    pub requests: u32,
}

/// A client login Allpay does not know.
pub const UNKNOWN_CLIENT: &str = "77000000000";
/// A client login whose check answers HTTP 500 with no Fault.
pub const CHECK_FAULT: &str = "77000000500";
/// A service code Allpay does not know.
pub const UNKNOWN_SERVICE: &str = "999";
/// Accounts with a meaning.
pub const DECLINE: &str = "0000000002";
pub const LONG_PENDING: &str = "0000000003";
pub const NO_AGENT_FUNDS: &str = "0000000004";
pub const LOWERCASE: &str = "0000000005";
pub const LOWERCASE_FAIL: &str = "0000000006";
pub const EMPTY_CHECK: &str = "0000000007";

/// Polls a long-pending payment stays PENDING for.
pub const LONG_PENDING_POLLS: u32 = 30;
/// Polls an agent without funds stays PENDING for, until "the managers" top it up.
pub const NO_FUNDS_POLLS: u32 = 60;

#[derive(Debug, Default)]
pub struct Payments {
    entries: HashMap<(String, String), Entry>,
    order: Vec<(String, String)>,
}

const ENVELOPE_OPEN: &str = r#"<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns:ns="http://www.allpay.kz/mfs/soap/TransactionManagement/1.1">
   <soapenv:Header/>
   <soapenv:Body>
"#;
const ENVELOPE_CLOSE: &str = "   </soapenv:Body>\n</soapenv:Envelope>";
const MALFORMED: &str = "<soapenv:Envelope><soapenv:Body><ns:payForServicesPayResponse><return>";

impl Payments {
    /// Answers one request to the terminal endpoint.
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
            "payForServicesCheck" => check(op),
            "payForServicesPay" => self.pay(op, faults, pending_polls, slow),
            other => soap_fault(
                "S:Client",
                &format!("Cannot find dispatch method for {other}"),
            ),
        }
    }

    fn pay(
        &mut self,
        op: &Element,
        faults: &mut FaultQueue,
        pending_polls: u32,
        slow: Duration,
    ) -> Reply {
        let get = |n| text_in(op, n).to_string();
        let (requester, login, service, account) = (
            get("requester"),
            get("toUserName"),
            get("servicePublicCode"),
            get("utilityAccountNumber"),
        );
        let (amount, value_date, rrn) = (get("amount"), get("valueDate"), get("rrn"));
        if requester.is_empty() || login.is_empty() || account.is_empty() || rrn.is_empty() {
            return soap_fault(
                "S:Client",
                "requester, toUserName, utilityAccountNumber and rrn are required",
            );
        }
        if service.is_empty() || !service.bytes().all(|b| b.is_ascii_digit()) {
            return soap_fault("S:Client", "servicePublicCode must be an integer");
        }
        if !faults::valid_amount(&amount) {
            return soap_fault(
                "S:Client",
                &format!("amount '{amount}' is not a positive decimal"),
            );
        }
        if chrono::DateTime::parse_from_rfc3339(&value_date).is_err() {
            return soap_fault(
                "S:Client",
                "valueDate must be an xs:dateTime with an offset",
            );
        }
        let key = (requester.clone(), rrn.clone());
        let first = !self.entries.contains_key(&key);
        if first {
            self.order.push(key.clone());
            self.entries.insert(
                key.clone(),
                Entry {
                    requester,
                    rrn,
                    login: login.clone(),
                    service: service.clone(),
                    account: account.clone(),
                    amount: amount.clone(),
                    value_date: value_date.clone(),
                    status: "PENDING".into(),
                    requests: 0,
                },
            );
        }
        let Some(entry) = self.entries.get_mut(&key) else {
            return soap_fault("S:Server", "ledger lost the entry");
        };
        if entry.login != login
            || entry.service != service
            || entry.account != account
            || entry.amount != amount
            || entry.value_date != value_date
        {
            // A re-send must be the same request, valueDate included (document 001).
            return soap_fault("S:Client", "rrn already used for another payment");
        }
        entry.requests += 1;
        if entry.status == "PENDING" {
            let polls = match account.as_str() {
                LONG_PENDING => LONG_PENDING_POLLS,
                NO_AGENT_FUNDS => NO_FUNDS_POLLS,
                _ => pending_polls,
            };
            if entry.requests > polls {
                let declined = login == UNKNOWN_CLIENT
                    || service == UNKNOWN_SERVICE
                    || account == DECLINE
                    || account == LOWERCASE_FAIL;
                entry.status = if declined { "DECLINED" } else { "COMPLETED" }.into();
            }
        }
        let entry = entry.clone();
        let reply = pay_reply(&entry, None);
        let chosen = faults.choose(&amount, first);
        faults::apply(
            chosen,
            reply,
            || pay_reply(&entry, Some("IN_PROGRESS")),
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

fn check(op: &Element) -> Reply {
    let login = text_in(op, "toUserName");
    let service = text_in(op, "servicePublicCode");
    let account = text_in(op, "utilityAccountNumber");
    if login == UNKNOWN_CLIENT {
        return soap_fault("S:Server", "Клиент не найден: USER_NOT_FOUND");
    }
    if login == CHECK_FAULT {
        return Reply::text(500, "Internal Server Error");
    }
    if service == UNKNOWN_SERVICE || service.is_empty() {
        return soap_fault("S:Server", "Услуга не найдена: SERVICE_NOT_FOUND");
    }
    if account.is_empty() {
        return soap_fault("S:Client", "utilityAccountNumber is required");
    }
    let mut out = String::from(ENVELOPE_OPEN);
    if account == EMPTY_CHECK {
        // The document: "the answer to this request may be an empty answer".
        out.push_str("      <ns:payForServicesCheckResponse/>\n");
    } else {
        out.push_str("      <ns:payForServicesCheckResponse>\n         <return>\n");
        out.push_str(&allpay_header("Оплата возможна", "CHECK_OK"));
        out.push_str("         </return>\n      </ns:payForServicesCheckResponse>\n");
    }
    out.push_str(ENVELOPE_CLOSE);
    Reply::xml(200, out)
}

fn pay_reply(e: &Entry, status_override: Option<&str>) -> Reply {
    let lowercase = e.account == LOWERCASE || e.account == LOWERCASE_FAIL;
    let status = match (status_override, e.status.as_str(), lowercase) {
        (Some(s), _, _) => s,
        (None, "PENDING", true) => "pending",
        (None, "COMPLETED", true) => "succeeded",
        (None, "DECLINED", true) => "fail",
        (None, s, false) => s,
        (None, s, true) => s,
    };
    let (user, reason) = match e.status.as_str() {
        "PENDING" if e.account == NO_AGENT_FUNDS => ("Платёж в обработке", None),
        "PENDING" => ("Платёж в обработке", None),
        "COMPLETED" => ("Платёж проведён", None),
        _ if e.login == UNKNOWN_CLIENT => ("Платёж отклонён", Some("USER_NOT_FOUND")),
        _ if e.service == UNKNOWN_SERVICE => ("Платёж отклонён", Some("SERVICE_NOT_FOUND")),
        _ => (
            "Платёж отклонён провайдером",
            Some("PROVIDER_DECLINED: account closed; trace 7f3a9c"),
        ),
    };
    let mut out = String::from(ENVELOPE_OPEN);
    out.push_str("      <ns:payForServicesPayResponse>\n         <return>\n");
    out.push_str(&allpay_header(user, &format!("rrn {}", e.rrn)));
    out.push_str(&format!(
        "            <terminalPaymentTransactionStatus>{}</terminalPaymentTransactionStatus>\n",
        esc(status)
    ));
    if let Some(r) = reason {
        out.push_str(&format!("            <reason>{}</reason>\n", esc(r)));
    }
    out.push_str("         </return>\n      </ns:payForServicesPayResponse>\n");
    out.push_str(ENVELOPE_CLOSE);
    Reply::xml(200, out)
}

#[cfg(test)]
mod tests {
    use super::*;

    // Document 001's request examples, verbatim.
    const CHECK_REQUEST: &str = r#"<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns:ns="http://www.allpay.kz/mfs/soap/TransactionManagement/1.1">
   <soapenv:Header/>
   <soapenv:Body>
      <ns:payForServicesCheck>
         <!--Optional:-->
         <PayForServicesCheckRequest>
            <header>
               <!--Optional:-->
               <lang>ru</lang>
               <timestamp>2018-04-12T13:20:00-05:00</timestamp>
               <requester>72222222221</requester>
            </header>
            <toUserName>77072734954</toUserName>
            <servicePublicCode>185</servicePublicCode>
            <utilityAccountNumber>1234567</utilityAccountNumber>
            <!--Optional:-->
            <amount>100</amount>
         </PayForServicesCheckRequest>
      </ns:payForServicesCheck>
   </soapenv:Body>
</soapenv:Envelope>"#;

    const PAY_REQUEST: &str = r#"<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns:ns="http://www.allpay.kz/mfs/soap/TransactionManagement/1.1">
   <soapenv:Header/>
   <soapenv:Body>
      <ns:payForServicesPay>
         <!--Optional:-->
         <PayForServicesPayRequest>
            <header>
               <lang>ru</lang>
               <timestamp>2018-04-12T13:20:00-05:00</timestamp>
               <requester>72222222221</requester>
            </header>
            <toUserName>77072734954</toUserName>
            <amount>100</amount>
            <servicePublicCode>185</servicePublicCode>
            <utilityAccountNumber>1234567</utilityAccountNumber>
            <valueDate>2018-04-12T13:20:00-05:00</valueDate>
            <rrn>597e9347-0d41-46ac-8086-20a8a123e413</rrn>
         </PayForServicesPayRequest>
      </ns:payForServicesPay>
   </soapenv:Body>
</soapenv:Envelope>"#;

    const CHECK: Option<&str> = Some("payForServicesCheck");
    const PAY: Option<&str> = Some("payForServicesPay");

    fn body(reply: &Reply) -> String {
        match reply {
            Reply::Full { body, .. } => String::from_utf8_lossy(body).into_owned(),
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn answers_the_documents_examples() {
        let mut t = Payments::default();
        let mut q = FaultQueue::default();
        let r = body(&t.handle(CHECK_REQUEST.as_bytes(), CHECK, &mut q, 2, Duration::ZERO));
        assert!(r.contains("<ns:payForServicesCheckResponse>") && r.contains("<userMessage>"));
        let statuses: Vec<String> = (0..3)
            .map(|_| body(&t.handle(PAY_REQUEST.as_bytes(), PAY, &mut q, 2, Duration::ZERO)))
            .collect();
        assert!(statuses[0].contains(">PENDING<") && statuses[1].contains(">PENDING<"));
        assert!(statuses[2].contains(">COMPLETED<"));
        let ledger = t.entries();
        assert_eq!(ledger.len(), 1, "one charge per rrn");
        assert_eq!(ledger[0].requests, 3);
        assert_eq!(ledger[0].value_date, "2018-04-12T13:20:00-05:00");
    }

    #[test]
    fn magic_inputs() {
        let mut t = Payments::default();
        let mut q = FaultQueue::default();
        let unknown = CHECK_REQUEST.replace("<toUserName>77072734954", "<toUserName>77000000000");
        assert!(
            body(&t.handle(unknown.as_bytes(), CHECK, &mut q, 2, Duration::ZERO))
                .contains("Клиент не найден")
        );
        let service = CHECK_REQUEST.replace(">185<", ">999<");
        assert!(
            body(&t.handle(service.as_bytes(), CHECK, &mut q, 2, Duration::ZERO))
                .contains("Услуга не найдена")
        );
        let empty = CHECK_REQUEST.replace(">1234567<", ">0000000007<");
        assert!(
            body(&t.handle(empty.as_bytes(), CHECK, &mut q, 2, Duration::ZERO))
                .contains("<ns:payForServicesCheckResponse/>")
        );
        let lower = PAY_REQUEST.replace(">1234567<", ">0000000006<");
        let replies: Vec<String> = (0..3)
            .map(|_| body(&t.handle(lower.as_bytes(), PAY, &mut q, 2, Duration::ZERO)))
            .collect();
        assert!(replies[0].contains(">pending<"));
        assert!(replies[2].contains(">fail<") && replies[2].contains("<reason>"));
    }

    #[test]
    fn a_reused_rrn_for_another_payment_is_refused() {
        let mut t = Payments::default();
        let mut q = FaultQueue::default();
        t.handle(PAY_REQUEST.as_bytes(), PAY, &mut q, 2, Duration::ZERO);
        let other = PAY_REQUEST.replace("<amount>100</amount>", "<amount>200</amount>");
        assert!(
            body(&t.handle(other.as_bytes(), PAY, &mut q, 2, Duration::ZERO)).contains("Fault")
        );
        assert_eq!(t.entries().len(), 1);
    }
}
