//! Long runs of the reply-parser fuzzing (issue 9; tests/it/fuzz.rs is the short one in
//! `cargo test`): every reply decoder, the worker's judges over what they read, and the
//! accessors, on whatever bytes libFuzzer makes. A panic is a finding; so is a final verdict
//! from bytes that do not parse as XML.
//!
//! `cargo +nightly fuzz run reply_parsers -s none fuzz/seeds` (docs/proof.md, "Fuzzing").

#![no_main]

use kassa::journal::{Kind, Operation, State};
use kassa::money::{Amount, Currency};
use kassa::providers::allpay::{cash_in, terminal};
use kassa::providers::upay::codec as upay;
use kassa::providers::webmoney as wm;
use kassa::providers::wooppay::codec::{self as wooppay, Variant};
use kassa::providers::{SendError, reply_error, soap};
use kassa::flows::{Verdict, cash_in as w_cash_in, pay as w_pay, upay as w_upay};
use kassa::flows::{webmoney as w_wm, wooppay as w_wooppay};
use libfuzzer_sys::fuzz_target;

fn row(kind: Kind, currency: Currency) -> Option<Operation> {
    Some(Operation {
        id: "6f1c0c5e-8a43-4cde-9a6f-3b1b2f0c9d11".into(),
        kind,
        state: State::Pending,
        amount: Amount::from_minor(100_000, currency).ok()?,
        customer: "77072734954".into(),
        customer_name: None,
        endpoint: "http://127.0.0.1:1/".into(),
        identity: "agent".into(),
        provider_status: None,
        provider_message: None,
        provider_ref: Some("3794392756034717".into()),
        detail: None,
        needs_reconciliation: false,
        recon_reason: None,
        attempts: 1,
        created_at: kassa::journal::now_ms(),
        updated_at: kassa::journal::now_ms(),
        final_at: None,
        params: Some(
            r#"{"card_token":"t","service_id":628,"account":"112312","minutes":60,"phase":"capture","partner_trx_id":"1"}"#
                .into(),
        ),
    })
}

fn moves(v: &Verdict) -> bool {
    matches!(v, Verdict::Final(_) | Verdict::Open(_))
}

fuzz_target!(|data: &[u8]| {
    let parses = soap::parse_document(data).is_ok();
    let Some(cash_in_row) = row(Kind::AllpayCashIn, Currency::Kzt) else {
        return;
    };
    let mut verdicts = vec![
        w_cash_in::judge(&cash_in_row, &cash_in::decode_cash_in(data).map_err(reply_error)).0,
        w_pay::judge(&pay::decode_pay(data).map_err(reply_error)).0,
    ];
    if let Some(sent) = Amount::from_minor(1050, Currency::Usd).ok() {
        let r =
            wm::decode(data, Currency::Usd).map_err(|e| SendError::OutcomeUnknown(e.to_string()));
        // X1 decodes its own declared encoding first: judged apart below.
        let mut wm_row = cash_in_row.clone();
        wm_row.kind = Kind::WebmoneyInvoice;
        wm_row.amount = sent;
        let v = w_wm::judge(&wm_row, &r).0;
        if moves(&v) {
            assert!(r.is_ok());
        }
    }
    if let Ok(r) = upay::decode("partnerHoldCreateIPS", data) {
        verdicts.push(w_upay::judge_create(&r).0);
    }
    if let (Ok(r), Some(op)) = (
        upay::decode("partnerHoldCheckIPS", data),
        row(Kind::UpayHold, Currency::Uzs),
    ) {
        verdicts.push(w_upay::judge_check(&op, &r, kassa::journal::now_ms()).0);
    }
    if let (Ok(r), Some(op)) = (
        upay::decode("partnerHoldPaymentIPS", data),
        row(Kind::UpayHold, Currency::Uzs),
    ) {
        if let Ok(judged) = w_upay::judge_capture(&op, &r) {
            verdicts.push(judged.0);
        }
    }
    if let Ok(r) = upay::decode("partnerHoldCancelIPS", data) {
        if let Ok(judged) = w_upay::judge_cancel(&r) {
            verdicts.push(judged.0);
        }
    }
    if let Some(mut op) = row(Kind::WooppayInvoice, Currency::Kzt) {
        op.provider_ref = None;
        for v in Variant::ALL {
            let r = wooppay::decode(v.method(), data).map_err(reply_error);
            verdicts.push(w_wooppay::judge_create(&op, &r).0);
        }
    }
    if let Ok(r) = wooppay::decode("cash_getOperationData", data) {
        for rec in r.records().0 {
            let _ = rec.summary();
        }
        let _ = (r.session(), r.balance_minor(), r.code_sent(), r.invoice());
    }
    let _ = cash_in::decode_check_user(data);
    let _ = pay::decode_check(data);
    if !parses {
        for v in verdicts {
            assert!(!moves(&v), "{v:?} from bytes that do not parse");
        }
    }
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = Amount::from_wire_decimal(text, Currency::Kzt);
        let _ = wooppay::minor_units(text);
        let _ = wooppay::lenient_int(text);
    }
});
