//! Checks of what a person types, before any request is built. Each refusal is a catalogue
//! key naming the field and what is wrong; nothing here does I/O.
//!
//! One file, past 500 lines with its tests: every field rule of every form in one place, so
//! the screens and the command line refuse the same input with the same words.

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

/// A WMID: 12 digits.
pub fn wmid(input: &str) -> Result<String, &'static str> {
    let t = input.trim();
    if t.len() == 12 && t.bytes().all(|b| b.is_ascii_digit()) {
        Ok(t.to_string())
    } else {
        Err("wm.wmid_invalid")
    }
}

/// A WebMoney purse: its type letter (Z, E, R, K: the currencies kassa knows) and 12 digits.
pub fn purse(input: &str) -> Result<String, &'static str> {
    let t = input.trim().to_ascii_uppercase();
    let mut chars = t.chars();
    let letter_ok = chars
        .next()
        .is_some_and(|c| matches!(c, 'Z' | 'E' | 'R' | 'K'));
    let digits = chars.as_str();
    if letter_ok && digits.len() == 12 && digits.bytes().all(|b| b.is_ascii_digit()) {
        Ok(t)
    } else {
        Err("wm.purse_invalid")
    }
}

/// A WebMoney text field (desc, address): at most 255 characters, representable in
/// Windows-1251, no spaces at either end (they are trimmed, and `true` says so).
pub fn wm_text(input: &str, field: WmField) -> Result<(String, bool), &'static str> {
    let t = input.trim();
    let trimmed = t.len() != input.len();
    if t.chars().count() > 255 {
        return Err(match field {
            WmField::Desc => "wm.desc_long",
            WmField::Address => "wm.address_long",
        });
    }
    if crate::providers::webmoney::cp1251(t).is_none() || t.chars().any(invisible) {
        return Err(match field {
            WmField::Desc => "wm.desc_cp1251",
            WmField::Address => "wm.address_cp1251",
        });
    }
    Ok((t.to_string(), trimmed))
}

/// Which WebMoney text field, for its messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WmField {
    Desc,
    Address,
}

/// Days of protection or validity: an integer 0..=255 (0: none). Empty is 0.
pub fn wm_days(input: &str) -> Result<u8, &'static str> {
    let t = input.trim();
    if t.is_empty() {
        return Ok(0);
    }
    t.parse::<u8>().map_err(|_| "wm.days_invalid")
}

/// A card number: 13 to 19 digits (spaces and dashes as people type them are dropped) that
/// pass the Luhn check. The digits come back in a buffer cleared when dropped.
pub fn card_number(input: &str) -> Result<zeroize::Zeroizing<String>, &'static str> {
    let mut digits = zeroize::Zeroizing::new(String::with_capacity(19));
    for c in input.trim().chars() {
        match c {
            '0'..='9' => digits.push(c),
            ' ' | '-' | '\u{a0}' => {}
            _ => return Err("upay.card_not_digits"),
        }
    }
    if digits.is_empty() {
        return Err("upay.card_empty");
    }
    if !(13..=19).contains(&digits.len()) {
        return Err("upay.card_length");
    }
    if !luhn(&digits) {
        return Err("upay.card_luhn");
    }
    Ok(digits)
}

fn luhn(digits: &str) -> bool {
    let sum: u32 = digits
        .bytes()
        .rev()
        .enumerate()
        .map(|(i, b)| {
            let d = u32::from(b - b'0');
            if i % 2 == 1 {
                let x = d * 2;
                if x > 9 { x - 9 } else { x }
            } else {
                d
            }
        })
        .sum();
    sum.is_multiple_of(10)
}

/// A card's expiry as `MM/YY`, `MM.YY`, `MMYY` or `MM/YYYY`: a real month, not in the past
/// (a card is valid through its month), at most 20 years ahead. Returns `MMYY` as the wire
/// wants it (document 004's `0624`).
pub fn card_expiry(input: &str, today: chrono::NaiveDate) -> Result<String, &'static str> {
    use chrono::Datelike;
    let t: String = input
        .trim()
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect();
    let (mm, yy) = match t.split_once(['/', '.', '-']) {
        Some((m, y)) => (m.to_string(), y.to_string()),
        // By characters, never bytes: `1ю1` is four bytes.
        None if t.chars().count() == 4 => {
            (t.chars().take(2).collect(), t.chars().skip(2).collect())
        }
        None => return Err("upay.expiry_format"),
    };
    let all_digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if !all_digits(&mm) || !all_digits(&yy) || mm.len() > 2 || !(yy.len() == 2 || yy.len() == 4) {
        return Err("upay.expiry_format");
    }
    let month: u32 = mm.parse().map_err(|_| "upay.expiry_format")?;
    let mut year: i32 = yy.parse().map_err(|_| "upay.expiry_format")?;
    if yy.len() == 2 {
        year += 2000;
    }
    if !(1..=12).contains(&month) {
        return Err("upay.expiry_month");
    }
    let now = (today.year(), today.month());
    if (year, month) < now {
        return Err("upay.expiry_past");
    }
    if year > today.year() + 20 {
        return Err("upay.expiry_far");
    }
    Ok(format!("{month:02}{:02}", year % 100))
}

/// A CVV: exactly three digits (document 004).
pub fn cvv(input: &str) -> Result<zeroize::Zeroizing<String>, &'static str> {
    let t = input.trim();
    if t.len() == 3 && t.bytes().all(|b| b.is_ascii_digit()) {
        Ok(zeroize::Zeroizing::new(t.to_string()))
    } else {
        Err("upay.cvv_invalid")
    }
}

/// An Uzbek phone number as UPay wants it: 998 and nine digits (`998911902494`); a leading
/// `+`, spaces, dashes and brackets are dropped, and nine digits alone get the 998.
pub fn uz_phone(input: &str) -> Result<String, &'static str> {
    let t = input.trim();
    let t = t.strip_prefix('+').unwrap_or(t);
    let mut digits = String::with_capacity(12);
    for c in t.chars() {
        match c {
            '0'..='9' => digits.push(c),
            ' ' | '-' | '(' | ')' | '\u{a0}' => {}
            _ => return Err("upay.phone_invalid"),
        }
    }
    if digits.len() == 9 {
        digits.insert_str(0, "998");
    }
    if digits.len() == 12 && digits.starts_with("998") {
        Ok(digits)
    } else {
        Err("upay.phone_invalid")
    }
}

/// The name on the card: Latin letters, spaces, dots, hyphens and apostrophes, 2 to 64
/// characters; upper-cased as cards print it.
pub fn card_holder(input: &str) -> Result<String, &'static str> {
    let t = input.split_whitespace().collect::<Vec<_>>().join(" ");
    if t.chars().count() < 2 || t.chars().count() > 64 {
        return Err("upay.holder_invalid");
    }
    if !t
        .chars()
        .all(|c| c.is_ascii_alphabetic() || matches!(c, ' ' | '.' | '-' | '\''))
    {
        return Err("upay.holder_invalid");
    }
    Ok(t.to_ascii_uppercase())
}

/// A CardToken as UPay returned it: printable ASCII without spaces, at most 128.
pub fn card_token(input: &str) -> Result<String, &'static str> {
    let t = input.trim();
    if t.is_empty() || t.len() > 128 || !t.bytes().all(|b| b.is_ascii_graphic()) {
        return Err("upay.token_invalid");
    }
    Ok(t.to_string())
}

/// A HoldId: UPay's long, a string of digits.
pub fn hold_id(input: &str) -> Result<String, &'static str> {
    let t = input.trim();
    if !t.is_empty() && t.len() <= 19 && t.bytes().all(|b| b.is_ascii_digit()) {
        Ok(t.to_string())
    } else {
        Err("upay.hold_id_invalid")
    }
}

/// A hold's minutes: 1 to 30 days' worth.
pub fn hold_minutes(input: &str) -> Result<u64, &'static str> {
    input
        .trim()
        .parse::<u64>()
        .ok()
        .filter(|m| (1..=43_200).contains(m))
        .ok_or("upay.minutes_invalid")
}

/// A UPay ServiceId: a positive integer.
pub fn upay_service(input: &str) -> Result<u64, &'static str> {
    input
        .trim()
        .parse::<u64>()
        .ok()
        .filter(|s| *s > 0 && *s <= i32::MAX as u64)
        .ok_or("upay.service_invalid")
}

/// A Kazakh mobile number for Wooppay (`userPhone`, the SMS code's phone): 11 digits
/// starting with 7. People type `+7 701 234-56-78` or `8 701 ...`; both are read.
pub fn wooppay_phone(input: &str) -> Result<String, &'static str> {
    let t = input.trim();
    if t.is_empty() {
        return Err("wooppay.phone_empty");
    }
    let t = t.strip_prefix('+').unwrap_or(t);
    let mut digits = String::with_capacity(t.len());
    for c in t.chars() {
        match c {
            '0'..='9' => digits.push(c),
            ' ' | '-' | '(' | ')' | '\u{a0}' => {}
            _ => return Err("wooppay.phone_invalid"),
        }
    }
    if digits.len() == 11 && digits.starts_with('8') {
        digits.replace_range(0..1, "7");
    }
    if digits.len() != 11 || !digits.starts_with('7') {
        return Err("wooppay.phone_invalid");
    }
    Ok(digits)
}

/// An optional e-mail (`userEmail`): empty, or one `@` between a local part and a domain
/// with a dot, no spaces, at most 100 characters.
pub fn wooppay_email(input: &str) -> Result<String, &'static str> {
    let t = input.trim();
    if t.is_empty() {
        return Ok(String::new());
    }
    let ok = t.chars().count() <= 100
        && !t.chars().any(|c| c.is_whitespace() || c.is_control())
        && t.split_once('@').is_some_and(|(local, domain)| {
            !local.is_empty()
                && !domain.contains('@')
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
        });
    if ok {
        Ok(t.to_string())
    } else {
        Err("wooppay.email_invalid")
    }
}

/// A free text field (description, addInfo): trimmed, printable, at most 255 characters.
pub fn wooppay_text(input: &str) -> Result<String, &'static str> {
    let t = input.trim();
    if t.chars().any(|c| c.is_control() || is_invisible(c)) {
        return Err("wooppay.text_chars");
    }
    if t.chars().count() > 255 {
        return Err("wooppay.text_long");
    }
    Ok(t.to_string())
}

/// The merchant's service name (`serviceName`): 1 to 64 of letters, digits, `_ . -`.
pub fn wooppay_service(input: &str) -> Result<String, &'static str> {
    let t = input.trim();
    let ok = !t.is_empty()
        && t.len() <= 64
        && t.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'));
    if ok {
        Ok(t.to_string())
    } else {
        Err("wooppay.service_invalid")
    }
}

/// An optional URL (backUrl, requestUrl): empty, or a whole http(s) URL of at most 255.
pub fn wooppay_url(input: &str) -> Result<String, &'static str> {
    let t = input.trim();
    if t.is_empty() {
        return Ok(String::new());
    }
    let ok = t.len() <= 255
        && (t.starts_with("https://") || t.starts_with("http://"))
        && t.split_once("://")
            .is_some_and(|(_, rest)| !rest.is_empty() && !rest.starts_with('/'))
        && !t.chars().any(|c| c.is_whitespace() || c.is_control());
    if ok {
        Ok(t.to_string())
    } else {
        Err("wooppay.url_invalid")
    }
}

/// The SMS code the customer reads out: 4 to 8 digits.
pub fn wooppay_sms_code(input: &str) -> Result<String, &'static str> {
    let t = input.trim();
    if (4..=8).contains(&t.len()) && t.bytes().all(|b| b.is_ascii_digit()) {
        Ok(t.to_string())
    } else {
        Err("wooppay.sms_code_invalid")
    }
}

/// A deathDate typed as `YYYY-MM-DD HH:MM[:SS]` (or with a `T`), local time; it must be
/// in the future and within 30 days of `now`. Returned as the document writes it.
pub fn wooppay_death_date(
    input: &str,
    now: chrono::NaiveDateTime,
) -> Result<chrono::NaiveDateTime, &'static str> {
    let t = input.trim().replace('T', " ");
    let parsed = chrono::NaiveDateTime::parse_from_str(&t, "%Y-%m-%d %H:%M:%S")
        .or_else(|_| chrono::NaiveDateTime::parse_from_str(&t, "%Y-%m-%d %H:%M"))
        .map_err(|_| "wooppay.death_date_invalid")?;
    if parsed <= now {
        return Err("wooppay.death_date_past");
    }
    if parsed > now + chrono::Duration::days(30) {
        return Err("wooppay.death_date_far");
    }
    Ok(parsed)
}

fn is_invisible(c: char) -> bool {
    matches!(c, '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{FEFF}')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn card_fields() {
        let today = chrono::NaiveDate::from_ymd_opt(2026, 11, 23).unwrap_or_default();
        assert_eq!(
            card_number("4719 5150 4288 3250").map(|d| d.to_string()),
            Err("upay.card_luhn"),
            "the document's example number is not a real one"
        );
        assert_eq!(
            card_number("4111 1111 1111 1111").map(|d| d.to_string()),
            Ok("4111111111111111".into())
        );
        assert_eq!(
            card_number("4111-1111-1111-1112").map(|d| d.to_string()),
            Err("upay.card_luhn")
        );
        assert_eq!(
            card_number("").map(|d| d.to_string()),
            Err("upay.card_empty")
        );
        assert_eq!(
            card_number("4111 1111").map(|d| d.to_string()),
            Err("upay.card_length")
        );
        assert_eq!(
            card_number("4111x").map(|d| d.to_string()),
            Err("upay.card_not_digits")
        );
        assert_eq!(card_expiry("12/26", today), Ok("1226".into()));
        assert_eq!(
            card_expiry("1126", today),
            Ok("1126".into()),
            "this month still counts"
        );
        assert_eq!(card_expiry("10/26", today), Err("upay.expiry_past"));
        assert_eq!(card_expiry("13/27", today), Err("upay.expiry_month"));
        assert_eq!(card_expiry("01/2030", today), Ok("0130".into()));
        assert_eq!(card_expiry("1/30", today), Ok("0130".into()));
        assert_eq!(card_expiry("0160", today), Err("upay.expiry_far"));
        assert_eq!(card_expiry("ab/cd", today), Err("upay.expiry_format"));
        assert_eq!(card_expiry("123", today), Err("upay.expiry_format"));
        assert_eq!(cvv("003").map(|c| c.to_string()), Ok("003".into()));
        assert_eq!(cvv("03").map(|c| c.to_string()), Err("upay.cvv_invalid"));
        assert_eq!(cvv("0034").map(|c| c.to_string()), Err("upay.cvv_invalid"));
        assert_eq!(uz_phone("+998 (91) 190-24-94"), Ok("998911902494".into()));
        assert_eq!(uz_phone("911902494"), Ok("998911902494".into()));
        assert_eq!(uz_phone("77071234567"), Err("upay.phone_invalid"));
        assert_eq!(card_holder(" tony  sapay "), Ok("TONY SAPAY".into()));
        assert_eq!(card_holder("Тони"), Err("upay.holder_invalid"));
        assert_eq!(
            card_token("60f74ae9c13cfc8s464a5"),
            Ok("60f74ae9c13cfc8s464a5".into())
        );
        assert_eq!(card_token("a b"), Err("upay.token_invalid"));
        assert_eq!(hold_id("3794392756034717"), Ok("3794392756034717".into()));
        assert_eq!(hold_id("12a"), Err("upay.hold_id_invalid"));
        assert_eq!(hold_minutes("60"), Ok(60));
        assert_eq!(hold_minutes("0"), Err("upay.minutes_invalid"));
        assert_eq!(upay_service("628"), Ok(628));
        assert_eq!(upay_service("-1"), Err("upay.service_invalid"));
    }

    #[test]
    fn webmoney_fields() {
        assert_eq!(wmid(" 405002833238 "), Ok("405002833238".into()));
        assert_eq!(wmid("40500283323"), Err("wm.wmid_invalid"));
        assert_eq!(wmid("40500283323x"), Err("wm.wmid_invalid"));
        assert_eq!(purse("z123456789012"), Ok("Z123456789012".into()));
        assert_eq!(purse("X123456789012"), Err("wm.purse_invalid"));
        assert_eq!(purse("Z12345678901"), Err("wm.purse_invalid"));
        assert_eq!(
            wm_text("  Оплата №5 ", WmField::Desc),
            Ok(("Оплата №5".into(), true))
        );
        assert_eq!(wm_text("ok", WmField::Desc), Ok(("ok".into(), false)));
        assert_eq!(wm_text("тест 😀", WmField::Desc), Err("wm.desc_cp1251"));
        assert_eq!(wm_text("发票", WmField::Address), Err("wm.address_cp1251"));
        assert_eq!(
            wm_text(&"я".repeat(256), WmField::Desc),
            Err("wm.desc_long")
        );
        assert_eq!(
            wm_text(&"я".repeat(255), WmField::Desc).map(|t| t.1),
            Ok(false)
        );
        assert_eq!(wm_days(""), Ok(0));
        assert_eq!(wm_days("255"), Ok(255));
        assert_eq!(wm_days("256"), Err("wm.days_invalid"));
        assert_eq!(wm_days("-1"), Err("wm.days_invalid"));
    }

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
    #[test]
    fn wooppay_fields() {
        assert_eq!(
            wooppay_phone("+7 (701) 234-56-78"),
            Ok("77012345678".into())
        );
        assert_eq!(wooppay_phone("87012345678"), Ok("77012345678".into()));
        assert_eq!(wooppay_phone("7701234567"), Err("wooppay.phone_invalid"));
        assert_eq!(wooppay_phone("99012345678"), Err("wooppay.phone_invalid"));
        assert_eq!(wooppay_phone("7701abc5678"), Err("wooppay.phone_invalid"));
        assert_eq!(wooppay_phone(" "), Err("wooppay.phone_empty"));
        assert_eq!(wooppay_email(""), Ok(String::new()));
        assert_eq!(wooppay_email("a@b.kz"), Ok("a@b.kz".into()));
        assert_eq!(wooppay_email("a@b"), Err("wooppay.email_invalid"));
        assert_eq!(wooppay_email("a b@c.kz"), Err("wooppay.email_invalid"));
        assert_eq!(wooppay_text(&"я".repeat(256)), Err("wooppay.text_long"));
        assert_eq!(wooppay_text("a\u{202E}b"), Err("wooppay.text_chars"));
        assert_eq!(
            wooppay_service("merchViktor_invoice2"),
            Ok("merchViktor_invoice2".into())
        );
        assert_eq!(wooppay_service("bad name"), Err("wooppay.service_invalid"));
        assert_eq!(
            wooppay_url("https://shop.kz/back"),
            Ok("https://shop.kz/back".into())
        );
        assert_eq!(wooppay_url("ftp://x"), Err("wooppay.url_invalid"));
        assert_eq!(wooppay_sms_code("1234"), Ok("1234".into()));
        assert_eq!(wooppay_sms_code("12a4"), Err("wooppay.sms_code_invalid"));
        let now = chrono::NaiveDate::from_ymd_opt(2026, 11, 23)
            .and_then(|d| d.and_hms_opt(12, 0, 0))
            .unwrap_or_default();
        assert!(wooppay_death_date("2026-11-23 13:00", now).is_ok());
        assert!(wooppay_death_date("2026-11-23T13:00:30", now).is_ok());
        assert_eq!(
            wooppay_death_date("2026-11-23 11:00", now),
            Err("wooppay.death_date_past")
        );
        assert_eq!(
            wooppay_death_date("2027-11-23 11:00", now),
            Err("wooppay.death_date_far")
        );
        assert_eq!(
            wooppay_death_date("23.11.2026", now),
            Err("wooppay.death_date_invalid")
        );
    }
}
