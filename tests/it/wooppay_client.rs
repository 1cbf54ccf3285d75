//! The Wooppay client against the emulator over loopback: every method, every variant, the
//! session (cookie, re-login once on 5/606/607), the referenceId honoured once (221), the
//! document's quirks (`&` raw or escaped, SOAP-ENC arrays, float sums) and the WSDL served
//! instead of a reply. (The invoice flow with its journal rows is in wooppay_flow.rs.)

#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common;

use common::{Harness, kzt};
use kassa::providers::SendError;
use kassa::providers::wooppay::client::WooppayClient;
use kassa::providers::wooppay::codec::{InvoiceRequest, Variant};

fn client(h: &Harness) -> WooppayClient {
    WooppayClient::from_settings(&h.settings.wooppay).unwrap()
}

fn invoice<'a>(reference: &'a str, amount: &str) -> InvoiceRequest<'a> {
    InvoiceRequest {
        reference_id: reference,
        amount: Some(kzt(amount)),
        description: "test sale",
        death_date: "2030-01-01 12:00:00",
        ..InvoiceRequest::default()
    }
}

#[tokio::test]
async fn every_variant_issues_and_polls_to_paid() {
    let h = Harness::start().await;
    let c = client(&h);
    let mut ids = Vec::new();
    for (i, v) in [Variant::Plain, Variant::Card, Variant::Service]
        .into_iter()
        .enumerate()
    {
        let reference = format!("ref-{i}");
        let mut r = invoice(&reference, "1500");
        r.service_name = "merchViktor_invoice2";
        r.user_phone = "77765431515";
        let reply = c.create_invoice(v, &r).await.unwrap();
        assert_eq!(reply.error_code, 0, "{v:?}");
        let issued = reply.invoice().unwrap();
        assert!(
            issued.operation_url.contains("&key="),
            "raw and escaped & read alike: {}",
            issued.operation_url
        );
        ids.push(issued.operation_id);
    }
    // Mobile: the code first, then the invoice with it in addInfo.
    let sent = c.request_code("77012340000").await.unwrap();
    assert_eq!(sent.code_sent(), Some(true));
    let mut r = invoice("ref-m", "1500");
    r.user_phone = "77012340000";
    r.add_info = "0000";
    let reply = c.create_invoice(Variant::Mobile, &r).await.unwrap();
    assert_eq!(reply.error_code, 0);
    ids.push(reply.invoice().unwrap().operation_id);

    let mut statuses = Vec::new();
    for _ in 0..4 {
        let reply = c.operation_data(&ids).await.unwrap();
        let (records, consistent) = reply.records();
        assert!(consistent);
        assert_eq!(records.len(), 4);
        statuses = records.iter().map(|r| r.status).collect();
    }
    assert!(statuses.iter().all(|s| *s == Some(4)), "{statuses:?}");
    let balance = c.balance().await.unwrap();
    assert_eq!(balance.balance_minor(), Some(1_742_150 + 4 * 150_000));
    let ledger = h.emulator.wooppay_ledger().unwrap();
    assert_eq!(ledger.logins, 1, "one session for every call");
    let methods: Vec<_> = ledger.invoices.iter().map(|i| i.method.as_str()).collect();
    assert_eq!(
        methods,
        [
            "cash_createInvoice",
            "cash_createInvoice2Extended",
            "cash_createInvoiceByService",
            "cash_createInvoiceExtended"
        ]
    );
    assert_eq!(ledger.invoices[1].service_type, "4");
    assert_eq!(ledger.invoices[3].service_type, "2");
}

#[tokio::test]
async fn a_stale_session_is_renewed_once_and_the_call_repeated() {
    let h = Harness::start().await;
    let c = client(&h);
    // 607.01: the emulator expires the session on this create.
    let reply = c
        .create_invoice(Variant::Plain, &invoice("r607", "607.01"))
        .await
        .unwrap();
    assert_eq!(reply.error_code, 0);
    let ledger = h.emulator.wooppay_ledger().unwrap();
    assert_eq!(ledger.logins, 2);
    assert_eq!(ledger.invoices.len(), 1, "created once, by the repeat");
    // 606.01: "not authenticated" even after a re-login: returned, not looped.
    let reply = c
        .create_invoice(Variant::Plain, &invoice("r606", "606.01"))
        .await
        .unwrap();
    assert_eq!(reply.error_code, 606);
    assert_eq!(h.emulator.wooppay_ledger().unwrap().logins, 3);
}

#[tokio::test]
async fn a_repeated_reference_is_221_and_never_a_second_invoice() {
    let h = Harness::start().await;
    let c = client(&h);
    let r = invoice("same", "100");
    assert_eq!(
        c.create_invoice(Variant::Plain, &r)
            .await
            .unwrap()
            .error_code,
        0
    );
    let again = c.create_invoice(Variant::Plain, &r).await.unwrap();
    assert_eq!(again.error_code, 221);
    assert!(again.invoice().is_none());
    let ledger = h.emulator.wooppay_ledger().unwrap();
    assert_eq!(ledger.invoices.len(), 1);
    assert_eq!(ledger.invoices[0].creates, 2);
}

#[tokio::test]
async fn wrong_password_wrong_code_and_the_wsdl_instead_of_a_reply() {
    let h = Harness::start().await;
    let mut s = h.settings.wooppay.clone();
    s.password.inline = Some(kassa::config::Secret::new("wrong".into()));
    let bad = WooppayClient::from_settings(&s).unwrap();
    assert_eq!(bad.balance().await.unwrap().error_code, 101);
    assert!(!bad.has_session().await);

    let c = client(&h);
    c.request_code("77012345678").await.unwrap();
    let mut r = invoice("m1", "100");
    r.user_phone = "77012345678";
    r.add_info = "9999";
    assert_eq!(
        c.create_invoice(Variant::Mobile, &r)
            .await
            .unwrap()
            .error_code,
        223
    );
    assert_eq!(c.request_code("77000000222").await.unwrap().error_code, 222);

    let mut s = h.settings.wooppay.clone();
    s.url = s.url.replace("?ws=1", "");
    let wsdl = WooppayClient::from_settings(&s).unwrap();
    let e = wsdl.balance().await.unwrap_err();
    assert!(matches!(e, SendError::OutcomeUnknown(_)), "{e:?}");
}
