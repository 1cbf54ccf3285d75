//! The demo's fixed names: where each emulated endpoint listens and the throwaway
//! credentials the emulator accepts. `--demo` settings (config) and the emulator both read
//! them here, so that production code never imports the emulator.

use crate::providers::webmoney::signer;

pub const CASH_IN_PATH: &str = "/allpay-public-soap/cash-in-transaction-management/v1.1";
pub const TERMINAL_PATH: &str = "/allpay-public-soap/transaction-management/v1.1";
/// WebMoney X1, Keeper Classic (signature) and Keeper Light (client certificate).
pub const X1_CLASSIC_PATH: &str = "/asp/XMLInvoice.asp";
pub const X1_LIGHT_PATH: &str = "/asp/XMLInvoiceCert.asp";
/// UPay STWS (document 004).
pub const UPAY_PATH: &str = "/STAPI/STWS";
/// Wooppay (document 000): SOAP at the WSDL's address with `?ws=1`.
pub const WOOPPAY_PATH: &str = "/api/wsdl";
/// Where the emulator takes UPay's notifications for a demo kassa.
pub const NOTIFY_PATH: &str = "/_emulator/notify";

/// WebMoney X1: the demo keeper and its key.
pub mod webmoney {
    use super::signer;

    /// The demo keeper's WMID; its key file is built from [`demo_private_key`].
    pub const DEMO_WMID: &str = "000000000001";
    pub const DEMO_PASSWORD: &str = "kassa-demo";
    /// The demo merchant purse.
    pub const DEMO_PURSE: &str = "Z000000000001";

    const DEMO_N: &str = "69780026f7fb6ffa087fbec158667a4204fb9d9a81422be0f5bf46d658d4aec6f262e5bd6d2d7e0ac711a89593513cb7fedd0f43f9cb18b6d520ff463853438556ee";
    const DEMO_D: &str = "6d5c636ce518270f0a9a12b26c7b3cb0299da515a621be59f5a5296886de30a72876ad3432768307cd54b16725241e7762479267492aff965e29d0510b997784ee30";

    fn unhex(s: &str) -> Vec<u8> {
        (0..s.len())
            .step_by(2)
            .filter_map(|i| s.get(i..i + 2))
            .filter_map(|h| u8::from_str_radix(h, 16).ok())
            .collect()
    }

    /// The demo key (private exponent, modulus; little-endian), a throwaway of this project's.
    pub fn demo_private_key() -> (Vec<u8>, Vec<u8>) {
        (unhex(DEMO_D), unhex(DEMO_N))
    }

    /// The demo keeper's key file in the Keeper Classic layout.
    pub fn demo_kwm() -> Vec<u8> {
        let (d, n) = demo_private_key();
        signer::build_kwm(DEMO_WMID, DEMO_PASSWORD, &d, &n)
    }
}

/// UPay: the demo partner.
pub mod upay {
    pub const DEMO_USERNAME: &str = "upay-demo";
    pub const DEMO_PASSWORD: &str = "demo-password";
    pub const DEMO_PARTNER_KEY: &str = "DEMO-PARTNER-KEY";
}

/// Wooppay: the demo merchant (the document's example login).
pub mod wooppay {
    pub const DEMO_LOGIN: &str = "test_merch";
    pub const DEMO_PASSWORD: &str = "A12345678a";
}
