//! The UPay client against the emulator over loopback: tokens the emulator accepts, a card
//! registered, a hold placed, captured once however often the capture is repeated, and
//! never also cancelled. (The UPay flow itself, with its journal rows, is issue 6's.)

#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common;

use common::Harness;
use kassa::providers::upay::client::UpayClient;
use kassa::providers::upay::codec::{CardRequest, CheckBy, HoldRequest, Outcome};

#[tokio::test]
async fn register_hold_capture_once_and_never_cancel_a_captured_hold() {
    let h = Harness::start().await;
    let client = UpayClient::from_settings(&h.settings.upay, "ru").unwrap();
    let card = CardRequest {
        number: "4719515042883250",
        expiry: "0624",
        holder: "TONY SAPAY",
        cvv: "003",
        phone: "998911902494",
        notify_url: None,
    };
    let r = client.register_card(&card).await.unwrap();
    assert_eq!(r.outcome(), Outcome::Ok);
    let token = r.field("CardToken").unwrap().to_string();
    let confirm = r.field("ConfirmUrl").unwrap().to_string();
    assert!(confirm.starts_with(&h.emulator.base_url()), "{confirm}");
    // The customer confirms on their phone: the card is usable only after that.
    let early = HoldRequest {
        card_token: &token,
        service_id: 628,
        account: "112312",
        amount_tiyin: 100_000,
        minutes: 60,
        notify_url: "http://127.0.0.1:9/notify",
    };
    let r = client.hold_create(&early).await.unwrap();
    assert_eq!(r.outcome(), Outcome::Error("STPIMS-ERR-021".into()));
    let http = kassa::providers::http_client(std::time::Duration::from_secs(2)).unwrap();
    let page = http.get(&confirm).send().await.unwrap();
    assert_eq!(page.status().as_u16(), 200);

    let hold = HoldRequest {
        card_token: &token,
        service_id: 628,
        account: "112312",
        amount_tiyin: 100_000,
        minutes: 60,
        notify_url: "http://127.0.0.1:9/notify",
    };
    let r = client.hold_create(&hold).await.unwrap();
    let hold_id = r.hold_id().unwrap().to_string();
    for _ in 0..3 {
        let r = client.hold_payment(&hold_id, "trx-42").await.unwrap();
        assert_eq!(r.outcome(), Outcome::Ok);
        assert_eq!(r.field("PaymentAmount"), Some("100000"));
    }
    let r = client.hold_cancel(&hold_id).await.unwrap();
    assert!(matches!(r.outcome(), Outcome::Error(_)));
    let r = client
        .hold_check(CheckBy::PartnerTrxId, "trx-42")
        .await
        .unwrap();
    // Document 004's check of a payment: its fields, no status element.
    assert_eq!(r.outcome(), Outcome::Ok);
    assert_eq!(r.field("PartnerTrxId"), Some("trx-42"));
    assert_eq!(r.field("PaymentAmount"), Some("100000"));
    assert_eq!(r.field("Status"), None);
    let r = client.hold_check(CheckBy::HoldId, &hold_id).await.unwrap();
    assert_eq!(r.outcome(), Outcome::Ok);
    assert!(r.fields.is_empty(), "the Result alone: {:?}", r.fields);
}

#[tokio::test]
async fn a_wrong_password_is_refused_by_the_token_check() {
    let h = Harness::start().await;
    let mut settings = h.settings.upay.clone();
    settings.password.inline = Some(kassa::config::Secret::new("wrong".into()));
    let client = UpayClient::from_settings(&settings, "ru").unwrap();
    let r = client.hold_check(CheckBy::HoldId, "1").await.unwrap();
    assert_eq!(r.outcome(), Outcome::Error("STPIMS-ERR-002".into()));
}
