//! Client-side ids that make a retry safe: generated and committed to the journal before
//! the first byte is sent (DESIGN.md rule 1). Counters (WebMoney reqn) live in the journal.

use uuid::Uuid;

/// A cash-in GUID as Allpay's schema writes it: a UUID in braces, lowercase.
pub fn new_guid() -> String {
    format!("{{{}}}", Uuid::new_v4())
}

/// An Allpay terminal rrn: a bare UUID.
pub fn new_rrn() -> String {
    Uuid::new_v4().to_string()
}

/// A Wooppay referenceId: a bare UUID without dashes (32 hex digits), the merchant's own
/// order id that makes a repeated create answer 221 rather than issue a second invoice.
pub fn new_reference_id() -> String {
    Uuid::new_v4().simple().to_string()
}

/// A referenceId typed with `--id`: 1 to 64 of letters, digits, `-` and `_`.
pub fn parse_reference_id(text: &str) -> Option<String> {
    let t = text.trim();
    let ok = !t.is_empty()
        && t.len() <= 64
        && t.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    ok.then(|| t.to_string())
}

/// Normalises a GUID typed by a person or a tester (`--id`): with or without braces, any
/// case. Returns the braced lowercase form, or `None` when it is not a UUID.
pub fn parse_guid(text: &str) -> Option<String> {
    let t = text.trim();
    let inner = t
        .strip_prefix('{')
        .and_then(|s| s.strip_suffix('}'))
        .unwrap_or(t);
    Uuid::parse_str(inner)
        .ok()
        .filter(|_| inner.len() == 36)
        .map(|u| format!("{{{u}}}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn guids_are_braced_and_unique() {
        let a = new_guid();
        assert!(a.starts_with('{') && a.ends_with('}') && a.len() == 38);
        assert_ne!(a, new_guid());
        assert_eq!(parse_guid(&a), Some(a.clone()));
    }

    #[test]
    fn parses_typed_guids() {
        let g = "0F8FAD5B-D9CB-469F-A165-70867728950E";
        let want = Some("{0f8fad5b-d9cb-469f-a165-70867728950e}".to_string());
        assert_eq!(parse_guid(g), want);
        assert_eq!(parse_guid(&format!("{{{g}}}")), want);
        assert_eq!(parse_guid("not-a-guid"), None);
        assert_eq!(parse_guid("0f8fad5bd9cb469fa16570867728950e"), None);
    }
}
