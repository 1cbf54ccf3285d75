//! Allpay terminal API (document 001, TransactionManagement 1.1): utility and service
//! payments. `payForServicesCheck` asks whether a payment is possible (an empty reply means
//! yes, a Fault says why not); `payForServicesPay` pays, keyed by our `rrn`: the same rrn
//! again returns the payment's current status and never pays twice.
//!
//! Document 001 spells the statuses two ways (PENDING/COMPLETED/DECLINED and
//! pending/succeeded/fail); both are read.

use super::{RequestHeader, ResponseHeader, read_header, text, write_header};
use crate::money::Amount;
use crate::providers::soap::{self, HeaderSigner, SoapError};
use crate::providers::{SendError, now_rfc3339, post_soap, reply_error};

pub const NAMESPACE: &str = "http://www.allpay.kz/mfs/soap/TransactionManagement/1.1";

/// A utility payment as it goes on the wire.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Payment<'a> {
    /// The client on whose behalf the payment is made (`toUserName`).
    pub login: &'a str,
    /// `servicePublicCode`: an integer naming the service.
    pub service: &'a str,
    /// `utilityAccountNumber`: its format depends on the service.
    pub account: &'a str,
    pub amount: Amount,
}

/// A payment's status as the server writes it, in either of the document's spellings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PayStatus {
    Pending,
    Completed,
    Declined,
    /// Not a value the document lists: the outcome is unknown, so it stays pending.
    Unknown(String),
}

impl PayStatus {
    pub fn parse(text: &str) -> PayStatus {
        match text.trim() {
            "PENDING" | "pending" => PayStatus::Pending,
            "COMPLETED" | "succeeded" => PayStatus::Completed,
            "DECLINED" | "fail" => PayStatus::Declined,
            other => PayStatus::Unknown(other.to_string()),
        }
    }
}

/// The reply to `payForServicesCheck`: the header, when there is one, for the cashier.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CheckReply {
    pub header: ResponseHeader,
}

/// The reply to `payForServicesPay`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PayReply {
    pub header: ResponseHeader,
    /// As the server wrote it; `None` when it wrote none (unknown: pending).
    pub status_text: Option<String>,
    pub status: Option<PayStatus>,
    /// For the log, never for the cashier (document 001).
    pub reason: Option<String>,
}

/// The `payForServicesCheck` request; the amount is optional in the document.
pub fn encode_check(
    h: &RequestHeader<'_>,
    login: &str,
    service: &str,
    account: &str,
    amount: Option<Amount>,
    signer: Option<&dyn HeaderSigner>,
) -> String {
    soap::envelope("ns", NAMESPACE, signer, |w| {
        w.open("ns:payForServicesCheck")
            .open("PayForServicesCheckRequest");
        write_header(w, h);
        w.leaf("toUserName", login)
            .leaf("servicePublicCode", service)
            .leaf("utilityAccountNumber", account);
        if let Some(a) = amount {
            w.leaf("amount", &a.to_wire_decimal());
        }
        w.close("PayForServicesCheckRequest")
            .close("ns:payForServicesCheck");
    })
}

/// The `payForServicesPay` request, in the document's element order.
pub fn encode_pay(
    h: &RequestHeader<'_>,
    p: &Payment<'_>,
    value_date: &str,
    rrn: &str,
    signer: Option<&dyn HeaderSigner>,
) -> String {
    soap::envelope("ns", NAMESPACE, signer, |w| {
        w.open("ns:payForServicesPay")
            .open("PayForServicesPayRequest");
        write_header(w, h);
        w.leaf("toUserName", p.login)
            .leaf("amount", &p.amount.to_wire_decimal())
            .leaf("servicePublicCode", p.service)
            .leaf("utilityAccountNumber", p.account)
            .leaf("valueDate", value_date)
            .leaf("rrn", rrn)
            .close("PayForServicesPayRequest")
            .close("ns:payForServicesPay");
    })
}

/// Reads a `payForServicesCheck` reply. An empty reply is a yes; a Fault is the `Err`.
pub fn decode_check(xml: &[u8]) -> Result<CheckReply, SoapError> {
    let body = soap::parse_body(xml, &[NAMESPACE])?;
    let resp = soap::expect(&body, "payForServicesCheckResponse")?;
    Ok(CheckReply {
        header: resp.child("return").map(read_header).unwrap_or_default(),
    })
}

/// Reads a `payForServicesPay` reply.
pub fn decode_pay(xml: &[u8]) -> Result<PayReply, SoapError> {
    let body = soap::parse_body(xml, &[NAMESPACE])?;
    let resp = soap::expect(&body, "payForServicesPayResponse")?;
    let ret = resp.child("return").ok_or(SoapError::Missing("return"))?;
    let header = read_header(ret);
    // Only terminalPaymentTransactionStatus says how the payment stands: the header's
    // `status` is the request's (a number in the schema), never the payment's. Given twice
    // and disagreeing, it says nothing certain.
    let said = ret.texts_of("terminalPaymentTransactionStatus");
    let status_text = match said.split_first() {
        None => None,
        Some((first, rest))
            if rest
                .iter()
                .all(|s| PayStatus::parse(s) == PayStatus::parse(first)) =>
        {
            Some(first.to_string())
        }
        Some(_) => Some(said.join("/")),
    };
    Ok(PayReply {
        header,
        status: status_text.as_deref().map(PayStatus::parse),
        status_text,
        reason: text(ret, "reason"),
    })
}

/// A client for one terminal endpoint and agent.
#[derive(Clone)]
pub struct PayClient {
    pub http: reqwest::Client,
    pub url: String,
    pub requester: String,
    pub lang: String,
}

impl PayClient {
    /// Asks whether the payment is possible. Nothing moves money here.
    pub async fn check(&self, p: &Payment<'_>) -> Result<CheckReply, SendError> {
        let ts = now_rfc3339();
        let h = RequestHeader {
            lang: &self.lang,
            timestamp: &ts,
            requester: &self.requester,
        };
        let body = encode_check(&h, p.login, p.service, p.account, Some(p.amount), None);
        let bytes = post_soap(
            &self.http,
            &self.url,
            "payForServicesCheck",
            zeroize::Zeroizing::new(body),
        )
        .await?;
        decode_check(&bytes).map_err(reply_error)
    }

    /// Sends (or re-sends, with the same rrn and valueDate) a payment.
    pub async fn pay(
        &self,
        p: &Payment<'_>,
        value_date: &str,
        rrn: &str,
    ) -> Result<PayReply, SendError> {
        let ts = now_rfc3339();
        let h = RequestHeader {
            lang: &self.lang,
            timestamp: &ts,
            requester: &self.requester,
        };
        let body = encode_pay(&h, p, value_date, rrn, None);
        let bytes = post_soap(
            &self.http,
            &self.url,
            "payForServicesPay",
            zeroize::Zeroizing::new(body),
        )
        .await?;
        decode_pay(&bytes).map_err(reply_error)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::money::Currency;

    // Document 001's examples, verbatim.
    const CHECK_REPLY: &str = r#"<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns:ns="http://www.allpay.kz/mfs/soap/TransactionManagement/1.1">
   <soapenv:Header/>
   <soapenv:Body>
      <ns:payForServicesCheckResponse>
         <!--Optional:-->
         <return>
            <header>
               <userMessage>?</userMessage>
               <developerMessage>?</developerMessage>
               <status>?</status>
               <timestamp>?</timestamp>
            </header>
         </return>
      </ns:payForServicesCheckResponse>
   </soapenv:Body>
</soapenv:Envelope>"#;

    const PAY_REPLY: &str = r#"<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns:ns="http://www.allpay.kz/mfs/soap/TransactionManagement/1.1">
   <soapenv:Header/>
   <soapenv:Body>
      <ns:payForServicesPayResponse>
         <!--Optional:-->
         <return>
            <header>
               <userMessage>?</userMessage>
               <developerMessage>?</developerMessage>
               <status>?</status>
               <timestamp>?</timestamp>
            </header>
            <terminalPaymentTransactionStatus>?</terminalPaymentTransactionStatus>
            <!--Optional:-->
            <reason>?</reason>
         </return>
      </ns:payForServicesPayResponse>
   </soapenv:Body>
</soapenv:Envelope>"#;

    const PAY_REQUEST: &str = r#"<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns:ns="http://www.allpay.kz/mfs/soap/TransactionManagement/1.1"><soapenv:Header/><soapenv:Body><ns:payForServicesPay><PayForServicesPayRequest><header><lang>ru</lang><timestamp>2018-04-12T13:20:00-05:00</timestamp><requester>72222222221</requester></header><toUserName>77072734954</toUserName><amount>100</amount><servicePublicCode>185</servicePublicCode><utilityAccountNumber>1234567</utilityAccountNumber><valueDate>2018-04-12T13:20:00-05:00</valueDate><rrn>597e9347-0d41-46ac-8086-20a8a123e413</rrn></PayForServicesPayRequest></ns:payForServicesPay></soapenv:Body></soapenv:Envelope>"#;

    fn h() -> RequestHeader<'static> {
        RequestHeader {
            lang: "ru",
            timestamp: "2018-04-12T13:20:00-05:00",
            requester: "72222222221",
        }
    }

    #[test]
    fn the_pay_request_is_the_documents_example_byte_for_byte() {
        let p = Payment {
            login: "77072734954",
            service: "185",
            account: "1234567",
            amount: Amount::from_minor(10_000, Currency::Kzt).unwrap_or_else(|_| unreachable!()),
        };
        let xml = encode_pay(
            &h(),
            &p,
            "2018-04-12T13:20:00-05:00",
            "597e9347-0d41-46ac-8086-20a8a123e413",
            None,
        );
        assert_eq!(xml, PAY_REQUEST);
    }

    #[test]
    fn the_check_request_carries_the_optional_amount() {
        let a = Amount::from_minor(10_050, Currency::Kzt).ok();
        let xml = encode_check(&h(), "77072734954", "185", "1234567", a, None);
        assert!(xml.contains("<ns:payForServicesCheck><PayForServicesCheckRequest><header>"));
        assert!(xml.contains("<toUserName>77072734954</toUserName><servicePublicCode>185</servicePublicCode><utilityAccountNumber>1234567</utilityAccountNumber><amount>100.5</amount></PayForServicesCheckRequest>"));
        let none = encode_check(&h(), "77072734954", "185", "1234567", None, None);
        assert!(!none.contains("<amount>"));
    }

    #[test]
    fn an_empty_check_reply_is_a_yes_and_a_fault_is_a_no() {
        assert!(decode_check(CHECK_REPLY.as_bytes()).is_ok());
        let bare = CHECK_REPLY.replace(
            &CHECK_REPLY[CHECK_REPLY.find("<!--Optional:-->").unwrap_or(0)
                ..CHECK_REPLY.find("</return>").map(|i| i + 9).unwrap_or(0)],
            "",
        );
        assert_eq!(decode_check(bare.as_bytes()), Ok(CheckReply::default()));
        let fault = r#"<S:Envelope xmlns:S="http://schemas.xmlsoap.org/soap/envelope/"><S:Body><S:Fault><faultcode>S:Server</faultcode><faultstring>Сервис не найден</faultstring></S:Fault></S:Body></S:Envelope>"#;
        assert!(
            matches!(decode_check(fault.as_bytes()), Err(SoapError::Fault { message, .. }) if message == "Сервис не найден")
        );
    }

    #[test]
    fn only_the_payment_status_decides_never_the_header() {
        // The header's `status` is the request's (document 003): alone, it says nothing.
        let only_header = PAY_REPLY
            .replace("<status>?</status>", "<status>succeeded</status>")
            .replace(
                "<terminalPaymentTransactionStatus>?</terminalPaymentTransactionStatus>",
                "",
            );
        let r = decode_pay(only_header.as_bytes())
            .ok()
            .and_then(|r| r.status);
        assert_eq!(r, None);
        // Beside the payment's status it changes nothing.
        let both = PAY_REPLY
            .replace("<status>?</status>", "<status>fail</status>")
            .replace(
                ">?</terminalPaymentTransactionStatus>",
                ">COMPLETED</terminalPaymentTransactionStatus>",
            );
        let r = decode_pay(both.as_bytes()).ok().and_then(|r| r.status);
        assert_eq!(r, Some(PayStatus::Completed));
        // The payment's status twice, disagreeing: unknown.
        let twice = PAY_REPLY.replace(
            "<terminalPaymentTransactionStatus>?</terminalPaymentTransactionStatus>",
            "<terminalPaymentTransactionStatus>COMPLETED</terminalPaymentTransactionStatus><terminalPaymentTransactionStatus>DECLINED</terminalPaymentTransactionStatus>",
        );
        let r = decode_pay(twice.as_bytes()).ok().and_then(|r| r.status);
        assert_eq!(r, Some(PayStatus::Unknown("COMPLETED/DECLINED".into())));
    }

    #[test]
    fn both_spellings_of_every_status() {
        for (wire, want) in [
            ("PENDING", PayStatus::Pending),
            ("pending", PayStatus::Pending),
            ("COMPLETED", PayStatus::Completed),
            ("succeeded", PayStatus::Completed),
            ("DECLINED", PayStatus::Declined),
            ("fail", PayStatus::Declined),
            ("?", PayStatus::Unknown("?".into())),
            ("FAILED", PayStatus::Unknown("FAILED".into())),
        ] {
            let xml = PAY_REPLY.replace(
                "<terminalPaymentTransactionStatus>?</terminalPaymentTransactionStatus>",
                &format!(
                    "<terminalPaymentTransactionStatus>{wire}</terminalPaymentTransactionStatus>"
                ),
            );
            let r = decode_pay(xml.as_bytes()).ok();
            assert_eq!(
                r.as_ref().and_then(|r| r.status.clone()),
                Some(want),
                "{wire}"
            );
            assert_eq!(r.and_then(|r| r.reason).as_deref(), Some("?"));
        }
    }
}
