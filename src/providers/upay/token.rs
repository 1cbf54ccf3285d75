//! UPay's AccessToken: lowercase hex MD5 of exactly the concatenation document 004 gives for
//! each method (UTF-8, no separators; a parameter that is not sent does not enter it; the
//! amount as the integer in tiyin that is sent), and the SHA-1 that signs its notifications.
//!
//! Inputs here include the password and the CVV: nothing is logged, and the buffer that
//! held them is cleared.

use md5::{Digest, Md5};
use sha1::Sha1;
use zeroize::Zeroizing;

fn md5_hex(parts: &[&str]) -> String {
    let mut buf = Zeroizing::new(String::new());
    for p in parts {
        buf.push_str(p);
    }
    hex(&Md5::digest(buf.as_bytes()))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// `partnerRegisterCardIPS`: MD5(username + CardNumber + CardExDate + CardCVV + password).
pub fn register_card(
    username: &str,
    card: &str,
    expiry: &str,
    cvv: &str,
    password: &str,
) -> String {
    md5_hex(&[username, card, expiry, cvv, password])
}

/// `partnerHoldCreateIPS`: MD5(username + CardToken + ServiceId + PersonalAccount +
/// AmountInTiyin + password).
pub fn hold_create(
    username: &str,
    card_token: &str,
    service_id: u64,
    account: &str,
    amount_tiyin: i64,
    password: &str,
) -> String {
    md5_hex(&[
        username,
        card_token,
        &service_id.to_string(),
        account,
        &amount_tiyin.to_string(),
        password,
    ])
}

/// `partnerHoldPaymentIPS`: MD5(username + HoldId + PartnerTrxId + password).
pub fn hold_payment(username: &str, hold_id: &str, partner_trx_id: &str, password: &str) -> String {
    md5_hex(&[username, hold_id, partner_trx_id, password])
}

/// `partnerHoldCheckIPS`: MD5(username + Target + password).
pub fn hold_check(username: &str, target: &str, password: &str) -> String {
    md5_hex(&[username, target, password])
}

/// `partnerHoldCancelIPS`: MD5(username + HoldId + password) (document 004, section 2.4).
pub fn hold_cancel(username: &str, hold_id: &str, password: &str) -> String {
    md5_hex(&[username, hold_id, password])
}

/// Whether a notification's `accessToken` is SHA-1(username + password + cardToken or
/// holdId), compared without regard to hex case. The signature covers neither the status nor
/// a time: an accepted one is a hint to check, never a state by itself.
pub fn notification_ok(username: &str, password: &str, subject: &str, token: &str) -> bool {
    let mut buf = Zeroizing::new(String::new());
    buf.push_str(username);
    buf.push_str(password);
    buf.push_str(subject);
    let want = hex(&Sha1::digest(buf.as_bytes()));
    // Equal length first; then every byte, so the time taken says nothing of where it differs.
    token.len() == want.len()
        && token
            .bytes()
            .zip(want.bytes())
            .fold(0u8, |acc, (a, b)| acc | (a.to_ascii_lowercase() ^ b))
            == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    // Vectors computed apart from this code (Python hashlib) over the document's example
    // values, with username "partner" and password "s3cret".
    const U: &str = "partner";
    const P: &str = "s3cret";

    #[test]
    fn one_vector_per_method() {
        assert_eq!(
            register_card(U, "4719515042883250", "0624", "003", P),
            "35377282eb48c9894890299b9aad8ca4"
        );
        assert_eq!(
            hold_create(U, "60f74ae9c13cfc8s464a5", 628, "112312", 100_000, P),
            "b896ae128edb78ced1009ec9a25a5458"
        );
        assert_eq!(
            hold_payment(U, "3794392756034717", "12345678", P),
            "9c3570b31f54de1e04fe194abd42c47f"
        );
        assert_eq!(
            hold_check(U, "12345678", P),
            "cfe12227a26ade667c4f94849f4890e5"
        );
        assert_eq!(
            hold_cancel(U, "3794392756034717", P),
            "4c6e16014327f9828fae62ededdb73b4"
        );
    }

    #[test]
    fn notifications_are_accepted_only_with_the_right_signature() {
        let card = "2b157dff0000a03e5ce1a6c023c175395357e20c";
        assert!(notification_ok(U, P, "60f74ae9c13cfc8s464a4a5", card));
        assert!(notification_ok(
            U,
            P,
            "60f74ae9c13cfc8s464a4a5",
            &card.to_uppercase()
        ));
        let hold = "7bfbfd41f25becff71d5471d2ad0fec397efcd35";
        assert!(notification_ok(U, P, "3794392756034717", hold));
        assert!(!notification_ok(U, P, "3794392756034718", hold));
        assert!(!notification_ok(U, "other", "3794392756034717", hold));
        assert!(!notification_ok(U, P, "3794392756034717", &hold[..39]));
        assert!(!notification_ok(U, P, "3794392756034717", ""));
    }
}
