//! Checks of what a person types, before any request is built. Each refusal is a catalogue
//! key naming the field and what is wrong; nothing here does I/O.

/// An Allpay wallet login: a phone number like `77071234567`. Spaces, dashes, brackets and a
/// leading `+` are what people type and are dropped; what remains must be 10 to 15 digits.
pub fn wallet_login(input: &str) -> Result<String, &'static str> {
    let t = input.trim();
    if t.is_empty() {
        return Err("login.empty");
    }
    let t = t.strip_prefix('+').unwrap_or(t);
    let mut digits = String::with_capacity(t.len());
    for c in t.chars() {
        match c {
            '0'..='9' => digits.push(c),
            ' ' | '-' | '(' | ')' | '\u{a0}' => {}
            _ => return Err("login.not_digits"),
        }
    }
    if !(10..=15).contains(&digits.len()) {
        return Err("login.length");
    }
    Ok(digits)
}

/// An Allpay `servicePublicCode`: "an integer" (document 001), at most 10 digits.
/// Leading zeros are dropped (`0185` is service 185), so one service has one spelling in
/// the journal and the duplicate check.
pub fn service_code(input: &str) -> Result<String, &'static str> {
    let t = input.trim();
    if t.is_empty() || !t.bytes().all(|b| b.is_ascii_digit()) {
        return Err("pay.service_invalid");
    }
    // An xs:int on the wire: positive and below 2^31.
    match t.parse::<u32>() {
        Ok(n) if n > 0 && n <= i32::MAX as u32 => Ok(n.to_string()),
        _ => Err("pay.service_invalid"),
    }
}

/// Characters that print nothing: controls, and the invisible format characters
/// (zero-width, bidi marks, soft hyphen, BOM) that a paste can carry along.
fn invisible(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{00AD}' | '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}'
                | '\u{2060}'..='\u{2064}' | '\u{FEFF}'
        )
}

/// The most characters kassa lets into a utility account number.
pub const ACCOUNT_MAX: usize = 64;

/// A utility account number: its format depends on the service (document 001: "for
/// example a phone number"), so only what is always wrong is refused: empty, too long,
/// characters that print nothing. Surrounding spaces are dropped.
pub fn utility_account(input: &str) -> Result<String, &'static str> {
    let t = input.trim();
    if t.is_empty() {
        return Err("pay.account_empty");
    }
    if t.chars().count() > ACCOUNT_MAX {
        return Err("pay.account_long");
    }
    if t.chars().any(invisible) {
        return Err("pay.account_chars");
    }
    Ok(t.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn service_codes_and_accounts() {
        assert_eq!(service_code(" 185 "), Ok("185".into()));
        assert_eq!(service_code("18a"), Err("pay.service_invalid"));
        assert_eq!(service_code(""), Err("pay.service_invalid"));
        assert_eq!(service_code("-1"), Err("pay.service_invalid"));
        assert_eq!(service_code("12345678901"), Err("pay.service_invalid"));
        assert_eq!(service_code("0185"), Ok("185".into()));
        assert_eq!(service_code("0"), Err("pay.service_invalid"));
        assert_eq!(service_code("2147483648"), Err("pay.service_invalid"));
        assert_eq!(utility_account("123\u{200B}4"), Err("pay.account_chars"));
        assert_eq!(utility_account("\u{202E}1234"), Err("pay.account_chars"));
        assert_eq!(utility_account(" 87001234567 "), Ok("87001234567".into()));
        assert_eq!(utility_account("KZ-12 34"), Ok("KZ-12 34".into()));
        assert_eq!(utility_account("   "), Err("pay.account_empty"));
        assert_eq!(utility_account(&"9".repeat(65)), Err("pay.account_long"));
        assert_eq!(utility_account("12\u{7}34"), Err("pay.account_chars"));
    }

    #[test]
    fn wallet_logins() {
        assert_eq!(wallet_login("77072734954"), Ok("77072734954".into()));
        assert_eq!(wallet_login("+7 (707) 273-49-54"), Ok("77072734954".into()));
        assert_eq!(wallet_login(""), Err("login.empty"));
        assert_eq!(wallet_login("   "), Err("login.empty"));
        assert_eq!(wallet_login("7707abc"), Err("login.not_digits"));
        assert_eq!(wallet_login("ivan@mail.kz"), Err("login.not_digits"));
        assert_eq!(wallet_login("707273"), Err("login.length"));
        assert_eq!(wallet_login("7707273495477777"), Err("login.length"));
    }
}
