//! Allpay Cash-In (document 003, CashInTransactionManagement 1.1): checking a wallet login
//! and topping it up for cash. Owns both messages' encoding and decoding and the client.
//!
//! Wire facts beyond the document (Allpay's published schemas): the GUID is a UUID in
//! braces; the status may come as `terminalPaymentTransactionStatus` or inside
//! `transactionInfo/transactionStatus`; `FAILED` is a fourth, final value.

use std::sync::Arc;

pub use super::{RequestHeader, ResponseHeader};
use super::{read_header, text, write_header};
use crate::money::{Amount, Currency};
use crate::providers::soap::{self, HeaderSigner, SoapError};
use crate::providers::{SendError, now_rfc3339, post_soap, reply_error};

pub const NAMESPACE: &str = "http://www.allpay.kz/mfs/soap/CashInTransactionManagement/1.1";

/// A wallet owner as `basicUserInfo` describes them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserInfo {
    pub identified: bool,
    /// Personal data: shown masked, never logged.
    pub iin: Option<String>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub patronymic: Option<String>,
}

impl UserInfo {
    /// "Иван Петрович Петров": first name, patronymic, last name, as cashiers say it.
    pub fn full_name(&self) -> String {
        [&self.first_name, &self.patronymic, &self.last_name]
            .iter()
            .filter_map(|p| p.as_deref())
            .filter(|p| !p.is_empty())
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// The IIN with all but its last four digits hidden.
    pub fn masked_iin(&self) -> Option<String> {
        self.iin.as_deref().map(mask_iin)
    }
}

pub fn mask_iin(iin: &str) -> String {
    let chars: Vec<char> = iin.chars().collect();
    let keep = chars.len().min(4);
    let hidden = chars.len() - keep;
    let mut s: String = std::iter::repeat_n('•', hidden).collect();
    s.extend(&chars[hidden..]);
    s
}

/// The reply to `checkUserAndValidateCashIn`: no `basicUserInfo` means no such user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckUserReply {
    pub header: ResponseHeader,
    pub user: Option<UserInfo>,
}

/// A cash-in transaction's status as the server writes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TxStatus {
    Pending,
    Completed,
    Declined,
    Failed,
    /// A value the documents do not list: the outcome is unknown, so it stays pending.
    Unknown(String),
}

impl TxStatus {
    pub fn parse(text: &str) -> TxStatus {
        match text.trim().to_ascii_uppercase().as_str() {
            "PENDING" => TxStatus::Pending,
            "COMPLETED" => TxStatus::Completed,
            "DECLINED" => TxStatus::Declined,
            "FAILED" => TxStatus::Failed,
            _ => TxStatus::Unknown(text.trim().to_string()),
        }
    }

    pub fn as_wire(&self) -> &str {
        match self {
            TxStatus::Pending => "PENDING",
            TxStatus::Completed => "COMPLETED",
            TxStatus::Declined => "DECLINED",
            TxStatus::Failed => "FAILED",
            TxStatus::Unknown(s) => s,
        }
    }
}

/// The reply to `createCashInPayment`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CashInReply {
    pub header: ResponseHeader,
    /// `None` when the reply carried no status at all (treated as unknown: pending).
    pub status: Option<TxStatus>,
    /// For logs, not for the cashier.
    pub reason: Option<String>,
    pub transaction_id: Option<String>,
    pub commission: Option<String>,
    /// The GUIDs and amounts `transactionInfo` names (document 003's common fields), to be
    /// held against the payment sent: a reply about another payment is not this one's.
    pub guids: Vec<String>,
    pub amounts: Vec<String>,
}

/// The `checkUserAndValidateCashIn` request envelope.
pub fn encode_check_user(
    h: &RequestHeader<'_>,
    user_name: &str,
    signer: Option<&dyn HeaderSigner>,
) -> String {
    soap::envelope("ns", NAMESPACE, signer, |w| {
        w.open("ns:checkUserAndValidateCashIn")
            .open("CheckUserRequest");
        write_header(w, h);
        w.leaf("userName", user_name)
            .close("CheckUserRequest")
            .close("ns:checkUserAndValidateCashIn");
    })
}

/// The `createCashInPayment` request envelope; the amount goes as decimal tenge.
pub fn encode_cash_in(
    h: &RequestHeader<'_>,
    to_user: &str,
    amount: Amount,
    guid: &str,
    signer: Option<&dyn HeaderSigner>,
) -> String {
    soap::envelope("ns", NAMESPACE, signer, |w| {
        w.open("ns:createCashInPayment").open("CashInRequest");
        write_header(w, h);
        w.leaf("toUserName", to_user)
            .leaf("amount", &amount.to_wire_decimal())
            .leaf("GUID", guid)
            .close("CashInRequest")
            .close("ns:createCashInPayment");
    })
}

/// Reads a `checkUserAndValidateCashIn` reply.
pub fn decode_check_user(xml: &[u8]) -> Result<CheckUserReply, SoapError> {
    let body = soap::parse_body(xml, &[NAMESPACE])?;
    let resp = soap::expect(&body, "checkUserAndValidateCashInResponse")?;
    // `return` is optional in the document; without it there is no user either.
    let Some(ret) = resp.child("return") else {
        return Ok(CheckUserReply {
            header: ResponseHeader::default(),
            user: None,
        });
    };
    let user = ret.child("basicUserInfo").map(|u| UserInfo {
        identified: u
            .text_of("identified")
            .and_then(soap::parse_bool)
            .unwrap_or(false),
        iin: text(u, "IIN"),
        first_name: text(u, "firstName"),
        last_name: text(u, "lastName"),
        patronymic: text(u, "patronymic"),
    });
    Ok(CheckUserReply {
        header: read_header(ret),
        user,
    })
}

/// Reads a `createCashInPayment` reply.
pub fn decode_cash_in(xml: &[u8]) -> Result<CashInReply, SoapError> {
    let body = soap::parse_body(xml, &[NAMESPACE])?;
    let resp = soap::expect(&body, "createCashInPaymentResponse")?;
    let ret = resp.child("return").ok_or(SoapError::Missing("return"))?;
    let info = ret.child("transactionInfo");
    let infos: Vec<&soap::Element> = ret
        .children
        .iter()
        .filter(|c| c.name == "transactionInfo")
        .collect();
    // Every place a status is given, each as often as it is given: two that disagree say
    // nothing certain (unknown, so pending), never the first one's word.
    let mut said: Vec<&str> = ret.texts_of("terminalPaymentTransactionStatus");
    said.extend(infos.iter().flat_map(|i| i.texts_of("transactionStatus")));
    let status = match said.split_first() {
        None => None,
        Some((first, rest)) if rest.iter().all(|s| s.eq_ignore_ascii_case(first)) => {
            Some(TxStatus::parse(first))
        }
        Some(_) => Some(TxStatus::Unknown(said.join("/"))),
    };
    let named = |field: &str| -> Vec<String> {
        infos
            .iter()
            .flat_map(|i| i.texts_of(field))
            .map(str::to_string)
            .collect()
    };
    Ok(CashInReply {
        header: read_header(ret),
        status,
        reason: text(ret, "reason"),
        transaction_id: info
            .and_then(|i| text(i, "transactionId"))
            .or_else(|| text(ret, "transactionId")),
        commission: info
            .and_then(|i| text(i, "commission"))
            .or_else(|| text(ret, "commission")),
        guids: named("GUID"),
        amounts: named("amount"),
    })
}

/// A client for one cash-in endpoint and agent.
#[derive(Clone)]
pub struct CashInClient {
    pub http: reqwest::Client,
    pub url: String,
    pub requester: String,
    pub lang: String,
    pub signer: Option<Arc<dyn HeaderSigner>>,
}

impl CashInClient {
    fn header_parts(&self) -> (String, String, String) {
        (self.lang.clone(), now_rfc3339(), self.requester.clone())
    }

    /// Checks a wallet login. Errors are for the cashier to see; nothing moves money here.
    pub async fn check_user(&self, user_name: &str) -> Result<CheckUserReply, SendError> {
        let (lang, ts, req) = self.header_parts();
        let h = RequestHeader {
            lang: &lang,
            timestamp: &ts,
            requester: &req,
        };
        let body = encode_check_user(&h, user_name, self.signer.as_deref());
        let bytes = post_soap(
            &self.http,
            &self.url,
            "checkUserAndValidateCashIn",
            zeroize::Zeroizing::new(body),
        )
        .await?;
        decode_check_user(&bytes).map_err(reply_error)
    }

    /// Sends (or re-sends, with the same GUID) a cash-in payment.
    pub async fn create_payment(
        &self,
        to_user: &str,
        amount: Amount,
        guid: &str,
    ) -> Result<CashInReply, SendError> {
        let (lang, ts, req) = self.header_parts();
        let h = RequestHeader {
            lang: &lang,
            timestamp: &ts,
            requester: &req,
        };
        let body = encode_cash_in(&h, to_user, amount, guid, self.signer.as_deref());
        let bytes = post_soap(
            &self.http,
            &self.url,
            "createCashInPayment",
            zeroize::Zeroizing::new(body),
        )
        .await?;
        decode_cash_in(&bytes).map_err(reply_error)
    }
}

/// Cash-in amounts are tenge.
pub const CURRENCY: Currency = Currency::Kzt;

#[cfg(test)]
mod tests {
    use super::*;

    // The document's own examples, verbatim (with `?` placeholders filled where a value is
    // needed to read anything).
    const CHECK_REPLY: &str = r#"<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns:ns="http://www.allpay.kz/mfs/soap/CashInTransactionManagement/1.1">
   <soapenv:Header/>
   <soapenv:Body>
      <ns:checkUserAndValidateCashInResponse>
         <!--Optional:-->
         <return>
            <header>
               <userMessage>?</userMessage>
               <developerMessage>?</developerMessage>
               <status>?</status>
               <timestamp>?</timestamp>
            </header>
            <!--Optional:-->
            <basicUserInfo>
               <identified>?</identified>
               <!--Optional:-->
               <IIN>?</IIN>
               <!--Optional:-->
               <firstName>?</firstName>
               <!--Optional:-->
               <lastName>?</lastName>
               <!--Optional:-->
               <patronymic>?</patronymic>
            </basicUserInfo>
         </return>
      </ns:checkUserAndValidateCashInResponse>
   </soapenv:Body>
</soapenv:Envelope>"#;

    const PAY_REPLY: &str = r#"<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns:ns="http://www.allpay.kz/mfs/soap/CashInTransactionManagement/1.1">
   <soapenv:Header/>
   <soapenv:Body>
      <ns:createCashInPaymentResponse>
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
      </ns:createCashInPaymentResponse>
   </soapenv:Body>
</soapenv:Envelope>"#;

    #[test]
    fn reads_the_documents_check_reply() {
        let r = decode_check_user(CHECK_REPLY.as_bytes());
        let r = r.as_ref().ok();
        assert_eq!(r.and_then(|r| r.header.user_message.as_deref()), Some("?"));
        let u = r.and_then(|r| r.user.as_ref());
        // "?" is not a boolean: an unreadable flag is "not identified", never "identified".
        assert_eq!(u.map(|u| u.identified), Some(false));
        assert_eq!(u.and_then(|u| u.first_name.as_deref()), Some("?"));
    }

    #[test]
    fn no_basic_user_info_means_no_such_user() {
        let xml = CHECK_REPLY.replace(
            &CHECK_REPLY[CHECK_REPLY
                .find("<!--Optional:-->\n            <basicUserInfo>")
                .unwrap_or(0)
                ..CHECK_REPLY
                    .find("</basicUserInfo>")
                    .map(|i| i + 16)
                    .unwrap_or(0)],
            "",
        );
        let r = decode_check_user(xml.as_bytes()).ok();
        assert!(r.is_some());
        assert_eq!(r.and_then(|r| r.user), None);
    }

    #[test]
    fn reads_a_real_user() {
        let xml = CHECK_REPLY
            .replace(
                "<identified>?</identified>",
                "<identified>true</identified>",
            )
            .replace("<IIN>?</IIN>", "<IIN>900101304521</IIN>")
            .replace("<firstName>?</firstName>", "<firstName>Иван</firstName>")
            .replace("<lastName>?</lastName>", "<lastName>Петров</lastName>")
            .replace(
                "<patronymic>?</patronymic>",
                "<patronymic>Петрович</patronymic>",
            );
        let u = decode_check_user(xml.as_bytes()).ok().and_then(|r| r.user);
        assert_eq!(u.as_ref().map(|u| u.identified), Some(true));
        assert_eq!(
            u.as_ref().map(UserInfo::full_name).as_deref(),
            Some("Иван Петрович Петров")
        );
        assert_eq!(
            u.and_then(|u| u.masked_iin()).as_deref(),
            Some("••••••••4521")
        );
    }

    #[test]
    fn reads_the_documents_pay_reply_and_both_status_places() {
        let r = decode_cash_in(PAY_REPLY.as_bytes()).ok();
        assert_eq!(
            r.as_ref().and_then(|r| r.status.clone()),
            Some(TxStatus::Unknown("?".into()))
        );
        assert_eq!(r.and_then(|r| r.reason).as_deref(), Some("?"));
        for (wire, want) in [
            ("PENDING", TxStatus::Pending),
            ("COMPLETED", TxStatus::Completed),
            ("DECLINED", TxStatus::Declined),
            ("FAILED", TxStatus::Failed),
        ] {
            let doc = PAY_REPLY.replace(
                "<terminalPaymentTransactionStatus>?</terminalPaymentTransactionStatus>",
                &format!(
                    "<terminalPaymentTransactionStatus>{wire}</terminalPaymentTransactionStatus>"
                ),
            );
            assert_eq!(
                decode_cash_in(doc.as_bytes()).ok().and_then(|r| r.status),
                Some(want.clone())
            );
            let schema = PAY_REPLY.replace(
                "<terminalPaymentTransactionStatus>?</terminalPaymentTransactionStatus>",
                &format!("<transactionInfo><GUID>{{x}}</GUID><amount>100</amount><transactionId>42</transactionId><transactionStatus>{wire}</transactionStatus><commission>0</commission></transactionInfo>"),
            );
            let r = decode_cash_in(schema.as_bytes()).ok();
            assert_eq!(r.as_ref().and_then(|r| r.status.clone()), Some(want));
            assert_eq!(r.and_then(|r| r.transaction_id).as_deref(), Some("42"));
        }
    }

    #[test]
    fn two_status_places_that_disagree_are_unknown() {
        let xml = PAY_REPLY.replace(
            "<terminalPaymentTransactionStatus>?</terminalPaymentTransactionStatus>",
            "<terminalPaymentTransactionStatus>COMPLETED</terminalPaymentTransactionStatus><transactionInfo><transactionStatus>DECLINED</transactionStatus></transactionInfo>",
        );
        let r = decode_cash_in(xml.as_bytes()).ok().and_then(|r| r.status);
        assert_eq!(r, Some(TxStatus::Unknown("COMPLETED/DECLINED".into())));
        assert_eq!(
            TxStatus::parse("COMPLETE"),
            TxStatus::Unknown("COMPLETE".into())
        );
    }

    #[test]
    fn requests_match_the_documents_shape() {
        let h = RequestHeader {
            lang: "ru",
            timestamp: "2026-11-23T14:02:00.000+05:00",
            requester: "72222222221",
        };
        let amount = Amount::from_minor(100_050, Currency::Kzt).ok();
        let xml = amount
            .map(|a| {
                encode_cash_in(
                    &h,
                    "77072734954",
                    a,
                    "{0f8fad5b-d9cb-469f-a165-70867728950e}",
                    None,
                )
            })
            .unwrap_or_default();
        assert!(xml.contains(
            "xmlns:ns=\"http://www.allpay.kz/mfs/soap/CashInTransactionManagement/1.1\""
        ));
        assert!(xml.contains("<ns:createCashInPayment><CashInRequest><header><lang>ru</lang><timestamp>2026-11-23T14:02:00.000+05:00</timestamp><requester>72222222221</requester></header><toUserName>77072734954</toUserName><amount>1000.5</amount><GUID>{0f8fad5b-d9cb-469f-a165-70867728950e}</GUID></CashInRequest></ns:createCashInPayment>"), "{xml}");
        let check = encode_check_user(&h, "7707<&>", None);
        assert!(check.contains("<CheckUserRequest><header>"));
        assert!(check.contains("<userName>7707&lt;&amp;&gt;</userName>"));
    }

    #[test]
    fn a_fault_or_garbage_is_an_error_not_a_status() {
        let fault = r#"<S:Envelope xmlns:S="http://schemas.xmlsoap.org/soap/envelope/"><S:Body><S:Fault><faultcode>S:Server</faultcode><faultstring>Internal</faultstring></S:Fault></S:Body></S:Envelope>"#;
        assert!(matches!(
            decode_cash_in(fault.as_bytes()),
            Err(SoapError::Fault { .. })
        ));
        assert!(decode_cash_in(b"<html>502 Bad Gateway</html>").is_err());
        assert!(decode_cash_in(&PAY_REPLY.as_bytes()[..200]).is_err());
        assert!(decode_check_user(PAY_REPLY.as_bytes()).is_err());
    }
}
