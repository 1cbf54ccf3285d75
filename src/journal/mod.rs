//! The journal: every money operation and its audit trail in SQLite (WAL,
//! `synchronous=FULL`), the single place where a row's state may change.
//!
//! Its surface is small: open, record, transition, claim, list. No SQL leaves this module,
//! and nothing outside it assumes SQLite (a PostgreSQL backend must fit behind it). Only
//! the worker writes it.

mod counters;
mod day;
mod kind;
mod leases;
mod notices;
mod operation;
mod read;
mod record;
mod schema;
mod state;
mod transition;

use std::time::{SystemTime, UNIX_EPOCH};

use rusqlite::Connection;

pub use day::{DRAWER, Query, Shift, StatusFilter, Total};
pub use kind::Kind;
pub use notices::{Notice, NoticeSource};
pub use operation::{AuditEvent, Facts, ListFilter, NewOperation, Operation, Recorded};
pub use state::{State, allowed};
pub use transition::Answer;

/// How long a statement waits for another connection's write before it fails; a lease's
/// margin outlasts it.
pub const BUSY_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// What can go wrong with the journal.
#[derive(Debug, thiserror::Error)]
pub enum JournalError {
    #[error("journal database: {0}")]
    Db(#[from] rusqlite::Error),
    #[error("journal: no operation {0}")]
    NotFound(String),
    #[error("journal: operation {id} is {from}; it cannot become {to}")]
    IllegalTransition { id: String, from: State, to: State },
    #[error("journal: operation {id} is being handled by {holder}")]
    LeaseHeld { id: String, holder: String },
    /// A reply or an action about a state the row has left since it was read.
    #[error("journal: operation {id} is {found} now, not {expected}; a late answer is not applied")]
    Stale {
        id: String,
        expected: State,
        found: State,
    },
    #[error("journal: an operation with id {0} already exists")]
    DuplicateId(String),
    #[error("journal: operation {0} waits for a person to reconcile it; it is not sent")]
    NeedsReconciliation(String),
    #[error("journal: unreadable row: {0}")]
    Corrupt(String),
    #[error("journal: shift {0} is still open; close it first")]
    ShiftOpen(i64),
    #[error("journal: no shift is open")]
    NoShift,
    #[error("journal: cannot create {path}: {source}")]
    Dir {
        path: String,
        source: std::io::Error,
    },
}

pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

/// An open journal. One per process; the worker owns it.
pub struct Journal {
    conn: Connection,
}

#[cfg(test)]
pub(crate) mod fixture {
    use super::*;
    use crate::money::{Amount, Currency};

    /// A pending row as the journal would hand it back, for the judges' tests.
    pub(crate) fn operation(id: &str, kind: Kind, amount: Amount) -> Operation {
        Operation {
            id: id.into(),
            kind,
            state: State::Pending,
            amount,
            customer: "77072734954".into(),
            customer_name: None,
            endpoint: "http://x/".into(),
            identity: "72222222221".into(),
            provider_status: None,
            provider_message: None,
            provider_ref: None,
            detail: None,
            link: None,
            message_key: None,
            note: None,
            needs_reconciliation: false,
            recon_reason: None,
            attempts: 1,
            created_at: 0,
            updated_at: 0,
            final_at: None,
            params: None,
        }
    }

    pub(super) fn new_op(id: &str, minor: i64) -> NewOperation {
        NewOperation {
            id: id.into(),
            kind: Kind::AllpayCashIn,
            amount: Amount::from_minor(minor, Currency::Kzt).unwrap_or_else(|_| unreachable!()),
            customer: "77072734954".into(),
            customer_name: Some("Иван Петров".into()),
            endpoint: "http://x/cash-in".into(),
            identity: "72222222221".into(),
            params: None,
        }
    }

    pub(super) fn journal() -> (tempfile::TempDir, Journal) {
        let dir = tempfile::tempdir().expect("tempdir");
        let j = Journal::open(&dir.path().join("j.db")).expect("open");
        (dir, j)
    }
}
