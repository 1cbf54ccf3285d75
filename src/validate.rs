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

#[cfg(test)]
mod tests {
    use super::*;

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
