//! The SOAP codec of the cash-in messages: building a request and parsing a reply, the
//! figures compared with Python's zeep on the same messages (../shared/bench/soap).

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use kassa::money::{Amount, Currency};
use kassa::providers::allpay::cash_in::{
    RequestHeader, decode_cash_in, decode_check_user, encode_cash_in, encode_check_user,
};
use kassa::providers::allpay::pay::{Payment, decode_check, decode_pay, encode_check, encode_pay};

/// The reply soap_peer.py serves (924 bytes), so both sides parse the same bytes.
const CHECK_REPLY: &str = r#"<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns:ns="http://www.allpay.kz/mfs/soap/CashInTransactionManagement/1.1">
   <soapenv:Header/>
   <soapenv:Body>
      <ns:checkUserAndValidateCashInResponse>
         <return>
            <header>
               <userMessage>OK</userMessage>
               <developerMessage>user found</developerMessage>
               <status>SUCCESS</status>
               <timestamp>2026-11-23T12:00:00.000+06:00</timestamp>
            </header>
            <basicUserInfo>
               <identified>true</identified>
               <IIN>900101300123</IIN>
               <firstName>Айгерим</firstName>
               <lastName>Сейткали</lastName>
               <patronymic>Нурлановна</patronymic>
            </basicUserInfo>
         </return>
      </ns:checkUserAndValidateCashInResponse>
   </soapenv:Body>
</soapenv:Envelope>"#;

const PAY_REPLY: &str = r#"<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns:ns="http://www.allpay.kz/mfs/soap/CashInTransactionManagement/1.1">
   <soapenv:Header/>
   <soapenv:Body>
      <ns:createCashInPaymentResponse>
         <return>
            <header>
               <userMessage>Кошелёк пополнен</userMessage>
               <developerMessage>transaction 1000001</developerMessage>
               <status>0</status>
               <timestamp>2026-11-23T12:00:00.000+06:00</timestamp>
            </header>
            <terminalPaymentTransactionStatus>COMPLETED</terminalPaymentTransactionStatus>
         </return>
      </ns:createCashInPaymentResponse>
   </soapenv:Body>
</soapenv:Envelope>"#;

/// Document 001's replies with the placeholders filled.
const TERMINAL_CHECK_REPLY: &str = r#"<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns:ns="http://www.allpay.kz/mfs/soap/TransactionManagement/1.1">
   <soapenv:Header/>
   <soapenv:Body>
      <ns:payForServicesCheckResponse>
         <return>
            <header>
               <userMessage>Оплата возможна</userMessage>
               <developerMessage>CHECK_OK</developerMessage>
               <status>0</status>
               <timestamp>2026-11-23T12:00:00.000+06:00</timestamp>
            </header>
         </return>
      </ns:payForServicesCheckResponse>
   </soapenv:Body>
</soapenv:Envelope>"#;

const TERMINAL_PAY_REPLY: &str = r#"<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns:ns="http://www.allpay.kz/mfs/soap/TransactionManagement/1.1">
   <soapenv:Header/>
   <soapenv:Body>
      <ns:payForServicesPayResponse>
         <return>
            <header>
               <userMessage>Платёж проведён</userMessage>
               <developerMessage>rrn 597e9347-0d41-46ac-8086-20a8a123e413</developerMessage>
               <status>0</status>
               <timestamp>2026-11-23T12:00:00.000+06:00</timestamp>
            </header>
            <terminalPaymentTransactionStatus>COMPLETED</terminalPaymentTransactionStatus>
         </return>
      </ns:payForServicesPayResponse>
   </soapenv:Body>
</soapenv:Envelope>"#;

fn header() -> RequestHeader<'static> {
    RequestHeader {
        lang: "ru",
        timestamp: "2026-11-23T12:00:00",
        requester: "kassa-bench",
    }
}

fn codec(c: &mut Criterion) {
    let h = header();
    let amount = Amount::from_minor(100_050, Currency::Kzt).unwrap_or_else(|_| unreachable!());
    let guid = "{0f8fad5b-d9cb-469f-a165-70867728950e}";
    assert!(decode_check_user(CHECK_REPLY.as_bytes()).is_ok());
    assert!(decode_cash_in(PAY_REPLY.as_bytes()).is_ok());

    c.bench_function("check_user/build", |b| {
        b.iter(|| encode_check_user(black_box(&h), black_box("77011234567"), None))
    });
    c.bench_function("check_user/parse", |b| {
        b.iter(|| decode_check_user(black_box(CHECK_REPLY.as_bytes())))
    });
    c.bench_function("check_user/build+parse", |b| {
        b.iter(|| {
            let req = encode_check_user(black_box(&h), black_box("77011234567"), None);
            (
                req.len(),
                decode_check_user(black_box(CHECK_REPLY.as_bytes())),
            )
        })
    });
    c.bench_function("cash_in/build", |b| {
        b.iter(|| encode_cash_in(black_box(&h), "77011234567", black_box(amount), guid, None))
    });
    c.bench_function("cash_in/parse", |b| {
        b.iter(|| decode_cash_in(black_box(PAY_REPLY.as_bytes())))
    });
    let p = Payment {
        login: "77072734954",
        service: "185",
        account: "1234567",
        amount,
    };
    let rrn = "597e9347-0d41-46ac-8086-20a8a123e413";
    let vd = "2026-11-23T12:00:00+06:00";
    assert!(decode_check(TERMINAL_CHECK_REPLY.as_bytes()).is_ok());
    assert!(decode_pay(TERMINAL_PAY_REPLY.as_bytes()).is_ok());
    c.bench_function("terminal_check/build+parse", |b| {
        b.iter(|| {
            let req = encode_check(
                black_box(&h),
                p.login,
                p.service,
                p.account,
                Some(amount),
                None,
            );
            (
                req.len(),
                decode_check(black_box(TERMINAL_CHECK_REPLY.as_bytes())),
            )
        })
    });
    c.bench_function("terminal_pay/build", |b| {
        b.iter(|| encode_pay(black_box(&h), black_box(&p), vd, rrn, None))
    });
    c.bench_function("terminal_pay/parse", |b| {
        b.iter(|| decode_pay(black_box(TERMINAL_PAY_REPLY.as_bytes())))
    });
    c.bench_function("terminal_pay/build+parse", |b| {
        b.iter(|| {
            let req = encode_pay(black_box(&h), black_box(&p), vd, rrn, None);
            (
                req.len(),
                decode_pay(black_box(TERMINAL_PAY_REPLY.as_bytes())),
            )
        })
    });
    c.bench_function("cash_in/build+parse", |b| {
        b.iter(|| {
            let req = encode_cash_in(black_box(&h), "77011234567", black_box(amount), guid, None);
            (req.len(), decode_cash_in(black_box(PAY_REPLY.as_bytes())))
        })
    });
}

criterion_group!(benches, codec);
criterion_main!(benches);
