//! Wooppay (KZ), SOAP rpc/encoded, `urn:XmlControllerwsdl` (document 000): a session from
//! `core_login` sent as `Cookie: session=<key>`, four ways to issue an invoice, the SMS code
//! for paying from a mobile balance, the merchant's balance and an operation's status.
//!
//! What a reply means for a journal row (issued, paid, pending, reconciliation) is the
//! worker's business; this module says what the provider said, and how each documented
//! error code is to be read: [`error_class`].

pub mod client;
pub mod codec;

/// How an error code is to be read for the money rules (DESIGN.md rule 3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorClass {
    /// 5, 606, 607: the session is missing or stale; log in again once and repeat.
    Session,
    /// 221: an operation with this referenceId exists already.
    AlreadyCreated,
    /// A validation or refusal the service gives before it creates anything: `rejected`.
    NothingCreated,
    /// Server, database, provider-side and unclassified errors: it may have happened.
    MayHaveHappened,
}

/// The error codes of the document's table.
pub const DOCUMENTED_CODES: &[i64] = &[
    1, 2, 3, 4, 5, 11, 12, 13, 14, 101, 102, 103, 109, 111, 112, 113, 114, 156, 157, 158, 159, 165,
    213, 214, 215, 221, 222, 223, 224, 225, 226, 227, 228, 229, 306, 307, 308, 309, 310, 311, 402,
    403, 408, 409, 410, 411, 419, 420, 602, 603, 606, 607, 613, 619, 621, 801, 802, 803, 804, 805,
    806, 807, 808, 809, 810, 811, 812, 813, 815, 816, 817,
];

/// The class of `code`. Only codes that say the request was refused as sent (format,
/// access, a field, a limit, a user or service that does not exist, the SMS code) are
/// "nothing created"; anything else, and any code not in the table, may have happened.
pub fn error_class(code: i64) -> ErrorClass {
    match code {
        5 | 606 | 607 => ErrorClass::Session,
        221 => ErrorClass::AlreadyCreated,
        1 | 2 | 4 | 101 | 102 | 103 | 111 | 157 | 159 | 213 | 214 | 215 | 222 | 223 | 224 | 225
        | 226 | 229 | 306 | 307 | 308 | 402 | 403 | 408 | 409 | 410 | 411 | 419 | 420 | 602
        | 603 | 613 | 619 | 621 | 811 | 812 | 813 | 816 | 817 => ErrorClass::NothingCreated,
        _ => ErrorClass::MayHaveHappened,
    }
}

/// The catalogue key of a code's message (`wooppay.err.223`), or the one for codes the
/// document does not list.
pub fn error_key(code: i64) -> String {
    if DOCUMENTED_CODES.contains(&code) {
        format!("wooppay.err.{code}")
    } else {
        "wooppay.err.unknown".to_string()
    }
}

/// An operation's status (`cash_getOperationData`), with the numbers public clients of
/// the service see beyond the document's 1..6.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OpStatus {
    /// 1 new, 2 under review, 8 and 9 in progress: not paid yet.
    Open(i64),
    /// 3: declined.
    Declined,
    /// 4: paid (проведена).
    Paid,
    /// 5 reversed (сторнирована), 6 the reversing operation (сторнирующая).
    Reversed(i64),
    /// 7: deleted.
    Deleted,
    /// Any other number: not final, an anomaly for the log.
    Unknown(i64),
}

impl OpStatus {
    pub fn from_code(code: i64) -> OpStatus {
        match code {
            1 | 2 | 8 | 9 => OpStatus::Open(code),
            3 => OpStatus::Declined,
            4 => OpStatus::Paid,
            5 | 6 => OpStatus::Reversed(code),
            7 => OpStatus::Deleted,
            other => OpStatus::Unknown(other),
        }
    }

    /// The catalogue key of the status word (`wooppay.status.4`).
    pub fn message_key(self) -> &'static str {
        match self {
            OpStatus::Open(1) => "wooppay.status.1",
            OpStatus::Open(2) => "wooppay.status.2",
            OpStatus::Open(_) => "wooppay.status.8",
            OpStatus::Declined => "wooppay.status.3",
            OpStatus::Paid => "wooppay.status.4",
            OpStatus::Reversed(5) => "wooppay.status.5",
            OpStatus::Reversed(_) => "wooppay.status.6",
            OpStatus::Deleted => "wooppay.status.7",
            OpStatus::Unknown(_) => "wooppay.status.unknown",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_documented_code_has_a_class_and_the_issues_examples_may_have_happened() {
        for c in [3, 113, 801, 112, 114, 12, 165] {
            assert_eq!(error_class(c), ErrorClass::MayHaveHappened, "{c}");
        }
        for c in [5, 606, 607] {
            assert_eq!(error_class(c), ErrorClass::Session);
        }
        assert_eq!(error_class(221), ErrorClass::AlreadyCreated);
        assert_eq!(error_class(223), ErrorClass::NothingCreated);
        assert_eq!(error_class(99_999), ErrorClass::MayHaveHappened);
        assert_eq!(error_key(223), "wooppay.err.223");
        assert_eq!(error_key(42), "wooppay.err.unknown");
        assert_eq!(DOCUMENTED_CODES.len(), 71);
    }

    #[test]
    fn every_documented_code_and_status_has_a_message_in_ru_and_en() {
        use crate::i18n::{Lang, t};
        for lang in [Lang::Ru, Lang::En] {
            for c in DOCUMENTED_CODES {
                let key = error_key(*c);
                assert_ne!(t(lang, &key), key, "{lang:?} {c}");
            }
            for s in 0..12 {
                let key = OpStatus::from_code(s).message_key();
                assert_ne!(t(lang, key), key, "{lang:?} status {s}");
            }
        }
    }

    #[test]
    fn statuses_beyond_the_document_are_never_final() {
        assert_eq!(OpStatus::from_code(8), OpStatus::Open(8));
        assert_eq!(OpStatus::from_code(9), OpStatus::Open(9));
        assert_eq!(OpStatus::from_code(42), OpStatus::Unknown(42));
        assert_eq!(OpStatus::from_code(4), OpStatus::Paid);
        assert_eq!(OpStatus::from_code(6), OpStatus::Reversed(6));
    }
}
