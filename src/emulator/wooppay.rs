//! The emulator's Wooppay endpoint (document 000 and the issue's wire facts), written from
//! the document: rpc/encoded replies with `xsi:type`, SOAP-ENC arrays and the examples'
//! quirks (a raw `&` in `operationUrl` for `cash_createInvoice` and `2Extended`, `&amp;`
//! for `ByService`), sessions by `Cookie: session=<key>`, a referenceId honoured once
//! (again: error 221), invoices that become paid after a few polls, and magic inputs:
//!
//! - amount with tiyn `.01` and a documented error code as tenge (`3.01`, `113.01`,
//!   `221.01`, `801.01`): the create answers that code (`607.01`: the session expires,
//!   once; `606.01`: every try says "not authenticated", re-login or not);
//! - tiyn `.03` declined (status 3), `.05` paid, then reversed (5) from the next poll on,
//!   `.06` reversed (6) without a paid answer between, `.07`
//!   deleted (7), `.08` / `.09` in progress for ever (8 / 9), `.11` an unknown status (11),
//!   `.12` a record of another sum (one tenge more), `.13` a record with two statuses that
//!   disagree (4 and 1);
//! - tiyn `.51`–`.57`: the shared faults (HTTP 500, reset, ...) after the invoice is kept;
//! - phones ending `0222` (code requested too often), `0225` (not registered in MFS),
//!   `0226` (not enough on the mobile balance); the SMS code is the phone's last 4 digits.
//!
//! A POST without `?ws=1` gets the WSDL, as PHP's SoapServer behind a router does.

use std::collections::{HashMap, HashSet};

use serde::Serialize;

use super::esc;
use super::faults::{FaultQueue, apply, text_in};
pub use crate::demo::wooppay::{DEMO_LOGIN, DEMO_PASSWORD};
use crate::http1::{Reply, Request};
use crate::providers::soap::{self, Element};

/// The session key the emulator hands out at its `n`-th login (tests look for it where it
/// must never be: the journal, the log).
pub fn session_key(n: u32) -> String {
    format!(
        "{:032x}",
        0x06e6_6b5a_182a_eeb1_97a2_50a3_5bae_0ed5_u128 ^ (u128::from(n) * 0x9e37_79b9)
    )
}

/// The document's error table (kept here, not shared with the client: DESIGN.md).
const ERROR_CODES: &[i64] = &[
    1, 2, 3, 4, 5, 11, 12, 13, 14, 101, 102, 103, 109, 111, 112, 113, 114, 156, 157, 158, 159, 165,
    213, 214, 215, 221, 222, 223, 224, 225, 226, 227, 228, 229, 306, 307, 308, 309, 310, 311, 402,
    403, 408, 409, 410, 411, 419, 420, 602, 603, 606, 607, 613, 619, 621, 801, 802, 803, 804, 805,
    806, 807, 808, 809, 810, 811, 812, 813, 815, 816, 817,
];

/// The merchant's balance before any invoice is paid (the document's example).
pub const DEMO_BALANCE_MINOR: i64 = 1_742_150;

/// An invoice as the emulated Wooppay keeps it.
#[derive(Debug, Clone, Serialize)]
pub struct Invoice {
    pub operation_id: i64,
    pub reference_id: String,
    pub method: String,
    pub amount: String,
    pub amount_minor: i64,
    pub status: i64,
    pub polls: u32,
    pub death_date: String,
    pub user_phone: String,
    pub service_name: String,
    pub card_forbidden: String,
    pub service_type: String,
    /// How many create requests with this referenceId arrived (a repeat must not create).
    pub creates: u32,
}

/// The ledger's view of Wooppay.
#[derive(Debug, Clone, Serialize)]
pub struct Ledger {
    pub invoices: Vec<Invoice>,
    pub code_requests: Vec<String>,
    pub logins: u32,
}

#[derive(Debug, Default)]
pub struct Wooppay {
    sessions: HashSet<String>,
    invoices: Vec<Invoice>,
    codes: HashMap<String, String>,
    code_requests: Vec<String>,
    expired_once: HashSet<String>,
    logins: u32,
    next: i64,
}

const WSDL: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<definitions xmlns="http://schemas.xmlsoap.org/wsdl/" xmlns:tns="urn:XmlControllerwsdl" name="XmlController" targetNamespace="urn:XmlControllerwsdl">
<message name="core_loginIn"><part name="coreLoginRequest" type="tns:CoreLoginRequest"/></message>
<service name="XmlControllerService"><port name="XmlControllerPort" binding="tns:XmlControllerBinding"><soap:address xmlns:soap="http://schemas.xmlsoap.org/wsdl/soap/" location="https://www.test.wooppay.com/api/wsdl?ws=1"/></port></service>
</definitions>
"#;

/// The envelope of the document's replies, `inner` inside `return`.
fn envelope(method: &str, ret_type: &str, inner: &str, code: i64) -> Reply {
    Reply::xml(
        200,
        format!(
            r#"<?xml version="1.0" encoding="UTF-8"?>
<SOAP-ENV:Envelope xmlns:SOAP-ENV="http://schemas.xmlsoap.org/soap/envelope/" xmlns:ns1="urn:XmlControllerwsdl" xmlns:xsd="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns:SOAP-ENC="http://schemas.xmlsoap.org/soap/encoding/" SOAP-ENV:encodingStyle="http://schemas.xmlsoap.org/soap/encoding/">
  <SOAP-ENV:Body>
    <ns1:{method}Response>
      <return xsi:type="ns1:{ret_type}">
{inner}        <error_code xsi:type="xsd:int">{code}</error_code>
      </return>
    </ns1:{method}Response>
  </SOAP-ENV:Body>
</SOAP-ENV:Envelope>
"#
        ),
    )
}

fn error(method: &str, code: i64) -> Reply {
    envelope(method, "ErrorResponse", "", code)
}

/// PHP's SoapServer Fault for a request it cannot dispatch.
fn fault(message: &str) -> Reply {
    Reply::xml(
        500,
        format!(
            r#"<?xml version="1.0" encoding="UTF-8"?>
<SOAP-ENV:Envelope xmlns:SOAP-ENV="http://schemas.xmlsoap.org/soap/envelope/"><SOAP-ENV:Body><SOAP-ENV:Fault><faultcode>SOAP-ENV:Server</faultcode><faultstring>{}</faultstring></SOAP-ENV:Fault></SOAP-ENV:Body></SOAP-ENV:Envelope>"#,
            esc(message)
        ),
    )
}

/// The tiyn of a wire amount (`100.05` → 5), and its tenge.
fn split_amount(a: &str) -> Option<(i64, i64)> {
    let (w, f) = a.split_once('.').unwrap_or((a, ""));
    if w.is_empty() || !w.bytes().all(|b| b.is_ascii_digit()) || f.len() > 2 {
        return None;
    }
    if !f.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let tenge: i64 = w.parse().ok()?;
    let tiyn: i64 = match f.len() {
        0 => 0,
        1 => f.parse::<i64>().ok()? * 10,
        _ => f.parse().ok()?,
    };
    Some((tenge, tiyn))
}

fn session_of(req: &Request) -> Option<String> {
    let cookie = req.header("Cookie")?;
    cookie.split(';').find_map(|part| {
        let (k, v) = part.trim().split_once('=')?;
        (k.trim() == "session").then(|| v.trim().to_string())
    })
}

impl Wooppay {
    /// Answers one request to the Wooppay path.
    pub fn handle(
        &mut self,
        req: &Request,
        faults: &mut FaultQueue,
        pending_polls: u32,
        slow: std::time::Duration,
    ) -> Reply {
        if !req.query().split('&').any(|p| p == "ws=1") {
            return Reply::xml(200, WSDL);
        }
        let Ok(root) = soap::parse_document(&req.body) else {
            return fault("Bad Request");
        };
        let Some(op) = root.child("Body").and_then(|b| b.children.first()) else {
            return fault("Bad Request");
        };
        let method = op.name.clone();
        if method == "core_login" {
            return self.login(op);
        }
        let known = [
            "cash_createInvoice",
            "cash_createInvoice2Extended",
            "cash_createInvoiceByService",
            "cash_createInvoiceExtended",
            "core_requestConfirmationCode",
            "cash_getBalance",
            "cash_getOperationData",
        ];
        if !known.contains(&method.as_str()) {
            return fault(&format!(
                "Function (\"{method}\") is not a valid method for this service"
            ));
        }
        match session_of(req) {
            None => return error(&method, 5),
            Some(s) if !self.sessions.contains(&s) => return error(&method, 606),
            Some(_) => {}
        }
        match method.as_str() {
            "core_requestConfirmationCode" => self.request_code(op),
            "cash_getBalance" => self.balance(),
            "cash_getOperationData" => self.operation_data(op, pending_polls),
            _ => {
                let session = session_of(req).unwrap_or_default();
                self.create(&method, op, &session, faults, slow)
            }
        }
    }

    fn login(&mut self, op: &Element) -> Reply {
        let m = "core_login";
        if text_in(op, "username") != DEMO_LOGIN || text_in(op, "password") != DEMO_PASSWORD {
            return error(m, 101);
        }
        self.logins += 1;
        let key = session_key(self.logins);
        self.sessions.insert(key.clone());
        let inner = format!(
            r#"        <response xsi:type="ns1:CoreLoginResponseData">
          <session xsi:type="xsd:string">{key}</session>
          <id xsi:type="xsd:int">384310</id>
          <username xsi:type="xsd:string">{DEMO_LOGIN}</username>
          <login xsi:type="xsd:string">{DEMO_LOGIN}</login>
          <type xsi:type="xsd:int">3000</type>
          <roles SOAP-ENC:arrayType="xsd:string[2]" xsi:type="ns1:stringArray">
            <item xsi:type="xsd:string">rMerchant</item>
            <item xsi:type="xsd:string">rMerchantSmpp</item>
          </roles>
        </response>
"#
        );
        envelope(m, "CoreLoginResponse", &inner, 0)
    }

    fn request_code(&mut self, op: &Element) -> Reply {
        let m = "core_requestConfirmationCode";
        let phone = text_in(op, "phone").to_string();
        self.code_requests.push(phone.clone());
        if !(phone.len() == 11
            && phone.starts_with('7')
            && phone.bytes().all(|b| b.is_ascii_digit()))
        {
            return error(m, 813);
        }
        if phone.ends_with("0222") {
            return error(m, 222);
        }
        if phone.ends_with("0225") {
            return error(m, 225);
        }
        self.codes
            .insert(phone.clone(), phone[phone.len() - 4..].to_string());
        envelope(
            m,
            "CoreRequestConfirmationCodeResponse",
            "        <response xsi:type=\"xsd:boolean\">true</response>\n",
            0,
        )
    }

    fn balance(&self) -> Reply {
        let paid: i64 = self
            .invoices
            .iter()
            .filter(|i| i.status == 4)
            .map(|i| i.amount_minor)
            .sum();
        let total = DEMO_BALANCE_MINOR + paid;
        let amount = if total % 100 == 0 {
            format!("{}", total / 100)
        } else if total % 10 == 0 {
            format!("{}.{}", total / 100, (total % 100) / 10)
        } else {
            format!("{}.{:02}", total / 100, total % 100)
        };
        let inner = format!(
            "        <response xsi:type=\"ns1:CashGetBalanceResponseData\">\n          <amount xsi:type=\"xsd:float\">{amount}</amount>\n        </response>\n"
        );
        envelope("cash_getBalance", "CashGetBalanceResponse", &inner, 0)
    }

    fn create(
        &mut self,
        method: &str,
        op: &Element,
        session: &str,
        faults: &mut FaultQueue,
        slow: std::time::Duration,
    ) -> Reply {
        let get = |n: &str| text_in(op, n).to_string();
        let reference = get("referenceId");
        let amount = get("amount");
        if reference.is_empty() {
            return error(method, 411);
        }
        let Some((tenge, tiyn)) = split_amount(&amount) else {
            return error(method, 1);
        };
        if tenge == 0 && tiyn == 0 {
            return error(method, 215);
        }
        let service_type = get("serviceType");
        let want_type = match method {
            "cash_createInvoiceExtended" => "2",
            "cash_createInvoice2Extended" => "4",
            _ => "",
        };
        if !want_type.is_empty() && service_type != want_type {
            return error(method, 419);
        }
        // Magic error codes: `<code>.01`.
        if tiyn == 1 && ERROR_CODES.contains(&tenge) {
            match tenge {
                607 if !self.expired_once.contains(&reference) => {
                    self.expired_once.insert(reference.clone());
                    self.sessions.remove(session);
                    return error(method, 607);
                }
                607 => {}
                221 if !self.invoices.iter().any(|i| i.reference_id == reference) => {
                    return error(method, 221);
                }
                code => return error(method, code),
            }
        }
        // A repeat of a referenceId: it exists already.
        if let Some(inv) = self
            .invoices
            .iter_mut()
            .find(|i| i.reference_id == reference)
        {
            inv.creates += 1;
            return error(method, 221);
        }
        let phone = get("userPhone");
        if method == "cash_createInvoiceExtended" {
            match self.codes.get(&phone) {
                Some(code) if *code == get("addInfo") => {}
                _ => return error(method, 223),
            }
            if phone.ends_with("0226") {
                return error(method, 226);
            }
        }
        // From the clock (an xsd:int): a restarted emulator never reuses one.
        self.next = super::clock_id_int32(self.next);
        let operation_id = self.next;
        let key = format!(
            "{:032x}",
            (operation_id as u128).wrapping_mul(0x67751f22e270df006bd9f3577)
        );
        let url = format!(
            "https://www.test.wooppay.com/invoice/operation?id={}&key={key}",
            operation_id
        );
        self.invoices.push(Invoice {
            operation_id,
            reference_id: reference,
            method: method.to_string(),
            amount: amount.clone(),
            amount_minor: tenge * 100 + tiyn,
            status: 1,
            polls: 0,
            death_date: get("deathDate"),
            user_phone: phone,
            service_name: get("serviceName"),
            card_forbidden: get("cardForbidden"),
            service_type,
            creates: 1,
        });
        // The document's quirk: ByService escapes the `&`, the other examples do not.
        let shown = if method == "cash_createInvoiceByService" {
            esc(&url)
        } else {
            url
        };
        let inner = format!(
            "        <response xsi:type=\"ns1:CashCreateInvoiceResponseData\">\n          <operationId xsi:type=\"xsd:int\">{operation_id}</operationId>\n          <operationUrl xsi:type=\"xsd:string\">{shown}</operationUrl>\n        </response>\n"
        );
        let reply = envelope(method, "CashCreateInvoiceResponse", &inner, 0);
        let chosen = faults.choose(&amount, true);
        let m = method.to_string();
        apply(
            chosen,
            reply,
            move || error(&m, 99),
            slow,
            "<SOAP-ENV:Envelope><SOAP-ENV:Body><ns1:cash_createInvoiceResponse><return><resp",
        )
    }

    fn operation_data(&mut self, op: &Element, pending_polls: u32) -> Reply {
        let ids: Vec<i64> = op
            .find("operationId")
            .map(|a| {
                a.children
                    .iter()
                    .filter_map(|i| i.text.trim().parse().ok())
                    .collect()
            })
            .unwrap_or_default();
        let mut items = String::new();
        let mut count = 0;
        for id in ids {
            let Some(inv) = self.invoices.iter_mut().find(|i| i.operation_id == id) else {
                continue;
            };
            inv.polls += 1;
            let ripe = inv.polls > pending_polls;
            let tiyn = inv.amount_minor % 100;
            inv.status = match (tiyn, ripe) {
                (8, _) => 8,
                (9, _) => 9,
                (11, true) => 11,
                (3, true) => 3,
                (7, true) => 7,
                // 6: reversed before anyone saw it paid; 5: paid first, reversed later.
                (6, true) => 6,
                (5, true) if inv.polls > pending_polls + 1 => 5,
                (_, true) => 4,
                (_, false) => inv.status,
            };
            count += 1;
            // `.12`: the record names another sum than the invoice's; `.13`: two statuses
            // that disagree (paid and open).
            let sum = if tiyn == 12 {
                crate::format::decimal(inv.amount_minor + 100)
            } else {
                inv.amount.clone()
            };
            let status = if tiyn == 13 && ripe {
                r#"4</status>
              <status xsi:type="xsd:int">1"#
                    .to_string()
            } else {
                inv.status.to_string()
            };
            items.push_str(&format!(
                r#"            <item xsi:type="ns1:CashGetOperationDataResponseDataRecord">
              <id xsi:type="xsd:int">{}</id>
              <type xsi:type="xsd:int">4</type>
              <lotId xsi:type="xsd:int">0</lotId>
              <sum xsi:type="xsd:float">{}</sum>
              <fee xsi:type="xsd:float">0</fee>
              <date xsi:type="xsd:string">2026-11-23 12:00:00</date>
              <status xsi:type="xsd:int">{}</status>
              <comment xsi:type="xsd:string">{}</comment>
              <fromSubject xsi:type="xsd:string">Z77765431515</fromSubject>
              <toSubject xsi:type="xsd:string">{DEMO_LOGIN}</toSubject>
              <fromFullName xsi:type="xsd:string">Z77010715570</fromFullName>
              <toFullName xsi:type="xsd:string">{DEMO_LOGIN}</toFullName>
            </item>
"#,
                inv.operation_id,
                esc(&sum),
                status,
                esc(&inv.reference_id)
            ));
        }
        let inner = format!(
            "        <response xsi:type=\"ns1:CashGetOperationDataResponseData\">\n          <records SOAP-ENC:arrayType=\"ns1:CashGetOperationDataResponseDataRecord[{count}]\" xsi:type=\"ns1:CashGetOperationDataResponseDataRecordArray\">\n{items}          </records>\n        </response>\n"
        );
        envelope(
            "cash_getOperationData",
            "CashGetOperationDataResponse",
            &inner,
            0,
        )
    }

    /// The WSDL, as `GET` (and a POST without `?ws=1`) get it.
    pub fn wsdl(&self) -> Reply {
        Reply::xml(200, WSDL)
    }

    /// Invoices, code requests and logins so far.
    pub fn ledger(&self) -> Ledger {
        Ledger {
            invoices: self.invoices.clone(),
            code_requests: self.code_requests.clone(),
            logins: self.logins,
        }
    }
}
