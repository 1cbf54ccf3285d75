//! The journal: every money operation and its audit trail in SQLite (WAL,
//! `synchronous=FULL`), the single place where a row's state may change.
//!
//! Its surface is small: open, record, transition, claim, list. No SQL leaves this module,
//! and nothing outside it assumes SQLite (a PostgreSQL backend must fit behind it). Only
//! the worker writes it.

mod day;
mod state;

use std::path::Path;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};

use crate::money::{Amount, Currency};
pub use day::{DRAWER, Query, Shift, StatusFilter, Total};
pub use state::{State, allowed};

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

/// What an operation does; stored by its stable tag. Each kind says whether a re-send is
/// safe (DESIGN.md rule 2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    /// Allpay cash-in (document 003), keyed by its GUID.
    AllpayCashIn,
    /// Allpay utility payment (document 001), keyed by its rrn.
    AllpayPay,
    /// WebMoney X1 invoice (document 002), keyed by its orderid; not deduplicated by X1.
    WebmoneyInvoice,
    /// UPay card registration (document 004): `issued` once the CardToken and 3-D Secure
    /// link came back, `completed` when the customer confirmed. Never re-sent: the CVV is
    /// not kept.
    UpayCard,
    /// UPay hold (document 004): created (not safe to repeat), then `held` until captured
    /// (PartnerTrxId, safe to repeat), cancelled or expired; one row for the hold's life.
    UpayHold,
    /// Wooppay invoice (document 000), keyed by its referenceId (a repeat gets error 221,
    /// never a second invoice); `issued` until paid, declined or expired.
    WooppayInvoice,
}

impl Kind {
    pub const ALL: [Kind; 6] = [
        Kind::AllpayCashIn,
        Kind::AllpayPay,
        Kind::WebmoneyInvoice,
        Kind::WooppayInvoice,
        Kind::UpayCard,
        Kind::UpayHold,
    ];

    pub fn tag(self) -> &'static str {
        match self {
            Kind::AllpayCashIn => "allpay.cash_in",
            Kind::AllpayPay => "allpay.pay",
            Kind::WebmoneyInvoice => "webmoney.invoice",
            Kind::UpayCard => "upay.card",
            Kind::UpayHold => "upay.hold",
            Kind::WooppayInvoice => "wooppay.invoice",
        }
    }

    pub fn from_tag(tag: &str) -> Option<Kind> {
        match tag {
            "allpay.cash_in" => Some(Kind::AllpayCashIn),
            "allpay.pay" => Some(Kind::AllpayPay),
            "webmoney.invoice" => Some(Kind::WebmoneyInvoice),
            "upay.card" => Some(Kind::UpayCard),
            "upay.hold" => Some(Kind::UpayHold),
            "wooppay.invoice" => Some(Kind::WooppayInvoice),
            _ => None,
        }
    }

    pub fn provider(self) -> &'static str {
        match self {
            Kind::AllpayCashIn | Kind::AllpayPay => "allpay",
            Kind::WebmoneyInvoice => "webmoney",
            Kind::UpayCard | Kind::UpayHold => "upay",
            Kind::WooppayInvoice => "wooppay",
        }
    }

    pub fn message_key(self) -> &'static str {
        match self {
            Kind::AllpayCashIn => "kind.allpay.cash_in",
            Kind::AllpayPay => "kind.allpay.pay",
            Kind::WebmoneyInvoice => "kind.webmoney.invoice",
            Kind::UpayCard => "kind.upay.card",
            Kind::UpayHold => "kind.upay.hold",
            Kind::WooppayInvoice => "kind.wooppay.invoice",
        }
    }

    /// A label short enough for a table column.
    pub fn short_key(self) -> &'static str {
        match self {
            Kind::AllpayCashIn => "kind.short.allpay.cash_in",
            Kind::AllpayPay => "kind.short.allpay.pay",
            Kind::WebmoneyInvoice => "kind.short.webmoney.invoice",
            Kind::UpayCard => "kind.short.upay.card",
            Kind::UpayHold => "kind.short.upay.hold",
            Kind::WooppayInvoice => "kind.short.wooppay.invoice",
        }
    }
}

/// One journal row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Operation {
    /// Our client id (the cash-in GUID), the one a retry re-sends.
    pub id: String,
    pub kind: Kind,
    pub state: State,
    pub amount: Amount,
    /// Wallet login, account, WMID: whom the money is for.
    pub customer: String,
    pub customer_name: Option<String>,
    /// Where the request goes and as whom (rule 1: a retry goes there or nowhere).
    pub endpoint: String,
    pub identity: String,
    /// The provider's status as it wrote it, its message for the cashier, its reference.
    pub provider_status: Option<String>,
    pub provider_message: Option<String>,
    pub provider_ref: Option<String>,
    /// The provider's own words for the detail view and the log, not for the receipt
    /// (e.g. Allpay's `reason`, a captured hold's TransactionId).
    pub detail: Option<String>,
    /// A link the provider gave for the customer (a Wooppay payment page, UPay's 3-D Secure).
    pub link: Option<String>,
    /// What kassa says of the outcome, a catalogue key (`wm.retval.6`, `wooppay.err.221`).
    pub message_key: Option<String>,
    /// What a person wrote when they settled the row by hand.
    pub note: Option<String>,
    pub needs_reconciliation: bool,
    pub recon_reason: Option<String>,
    pub attempts: u32,
    /// Unix milliseconds, UTC.
    pub created_at: i64,
    pub updated_at: i64,
    pub final_at: Option<i64>,
    /// What this kind needs beside the common columns to re-send the same request (JSON;
    /// never a secret).
    pub params: Option<String>,
}

impl Operation {
    /// The provider's reference as it may be shown or printed: a UPay CardToken is a key
    /// to the customer's card, so only its ends.
    pub fn shown_ref(&self) -> Option<String> {
        let r = self.provider_ref.as_deref()?;
        Some(match self.kind {
            Kind::UpayCard => crate::mask::token(r),
            _ => r.to_string(),
        })
    }
}

/// One line of an operation's audit trail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEvent {
    pub at: i64,
    pub kind: String,
    pub detail: String,
}

/// A new operation, as the cashier confirmed it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewOperation {
    pub id: String,
    pub kind: Kind,
    pub amount: Amount,
    pub customer: String,
    pub customer_name: Option<String>,
    pub endpoint: String,
    pub identity: String,
    /// Kind-specific request parameters (JSON, no secrets).
    pub params: Option<String>,
}

/// What a reply said, to be kept with the row.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Facts {
    pub provider_status: Option<String>,
    pub provider_message: Option<String>,
    pub provider_ref: Option<String>,
    pub detail: Option<String>,
    pub link: Option<String>,
    pub message_key: Option<String>,
}

/// Which rows a list shows.
#[derive(Debug, Clone, Default)]
pub struct ListFilter {
    pub pending_only: bool,
    pub limit: Option<u32>,
}

/// What [`Journal::record_pending_unless_duplicate`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Recorded {
    /// The new row, committed as pending.
    New(Operation),
    /// A like operation exists; nothing was written.
    Duplicate(Operation),
}

pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

/// Schema migrations, applied in order; `PRAGMA user_version` says how many ran.
const MIGRATIONS: &[&str] = &[
    r#"
CREATE TABLE operations (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    state TEXT NOT NULL,
    amount_minor INTEGER NOT NULL,
    currency TEXT NOT NULL,
    customer TEXT NOT NULL,
    customer_name TEXT,
    endpoint TEXT NOT NULL,
    identity TEXT NOT NULL,
    provider_status TEXT,
    provider_message TEXT,
    provider_ref TEXT,
    detail TEXT,
    needs_reconciliation INTEGER NOT NULL DEFAULT 0,
    recon_reason TEXT,
    attempts INTEGER NOT NULL DEFAULT 0,
    lease_holder TEXT,
    lease_until INTEGER,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    final_at INTEGER
);
CREATE INDEX operations_state ON operations(state);
CREATE INDEX operations_created ON operations(created_at);
CREATE INDEX operations_dup ON operations(kind, customer, amount_minor, created_at);
CREATE TABLE events (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    op_id TEXT NOT NULL REFERENCES operations(id),
    at INTEGER NOT NULL,
    kind TEXT NOT NULL,
    detail TEXT NOT NULL
);
CREATE INDEX events_op ON events(op_id, seq);
CREATE TABLE counters (
    name TEXT PRIMARY KEY,
    value INTEGER NOT NULL
);
"#,
    r#"
ALTER TABLE operations ADD COLUMN params TEXT;
CREATE INDEX operations_kind ON operations(kind, created_at);
"#,
    // UPay notifications and checks name a hold or a card by the provider's id.
    r#"
CREATE INDEX operations_ref ON operations(provider_ref);
"#,
    // Shifts: the cash in the drawer at the opening and at the close.
    r#"
CREATE TABLE shifts (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    opened_at INTEGER NOT NULL,
    opening_minor INTEGER NOT NULL,
    currency TEXT NOT NULL,
    closed_at INTEGER,
    counted_minor INTEGER,
    expected_minor INTEGER,
    note TEXT
);
CREATE INDEX operations_state_created ON operations(state, created_at);
"#,
    // The detail column held four things told apart by prefix: the provider's link, a
    // catalogue key, a person's note and the provider's words. Each has its column now.
    r#"
ALTER TABLE operations ADD COLUMN link TEXT;
ALTER TABLE operations ADD COLUMN message_key TEXT;
ALTER TABLE operations ADD COLUMN note TEXT;
UPDATE operations SET link = detail, detail = NULL WHERE detail LIKE 'http%';
UPDATE operations SET note = substr(detail, 9), detail = NULL WHERE detail LIKE 'manual: %';
UPDATE operations SET message_key = detail, detail = NULL
    WHERE detail LIKE 'wm.retval.%' OR detail LIKE 'upay.%' OR detail LIKE 'wooppay.err.%';
"#,
];

const COLUMNS: &str = "id, kind, state, amount_minor, currency, customer, customer_name, endpoint, \
     identity, provider_status, provider_message, provider_ref, detail, needs_reconciliation, \
     recon_reason, attempts, created_at, updated_at, final_at, params, link, message_key, note";

fn row_to_op(row: &rusqlite::Row<'_>) -> rusqlite::Result<Result<Operation, JournalError>> {
    let id: String = row.get(0)?;
    let kind: String = row.get(1)?;
    let state: String = row.get(2)?;
    let minor: i64 = row.get(3)?;
    let currency: String = row.get(4)?;
    let corrupt = |what: &str| Err(JournalError::Corrupt(format!("{id}: {what}")));
    let Some(kind) = Kind::from_tag(&kind) else {
        return Ok(corrupt(&format!("unknown kind {kind}")));
    };
    let Some(state) = State::from_tag(&state) else {
        return Ok(corrupt(&format!("unknown state {state}")));
    };
    let Some(currency) = Currency::from_code(&currency) else {
        return Ok(corrupt(&format!("unknown currency {currency}")));
    };
    let amount = if minor == 0 {
        Ok(Amount::none(currency))
    } else {
        Amount::from_minor(minor, currency)
    };
    let Ok(amount) = amount else {
        return Ok(corrupt(&format!("bad amount {minor}")));
    };
    let attempts: i64 = row.get(15)?;
    Ok(Ok(Operation {
        id,
        kind,
        state,
        amount,
        customer: row.get(5)?,
        customer_name: row.get(6)?,
        endpoint: row.get(7)?,
        identity: row.get(8)?,
        provider_status: row.get(9)?,
        provider_message: row.get(10)?,
        provider_ref: row.get(11)?,
        detail: row.get(12)?,
        needs_reconciliation: row.get::<_, i64>(13)? != 0,
        recon_reason: row.get(14)?,
        attempts: u32::try_from(attempts).unwrap_or(0),
        created_at: row.get(16)?,
        updated_at: row.get(17)?,
        final_at: row.get(18)?,
        params: row.get(19)?,
        link: row.get(20)?,
        message_key: row.get(21)?,
        note: row.get(22)?,
    }))
}

fn duplicate_in(
    conn: &Connection,
    kind: Kind,
    customer: &str,
    amount: Amount,
    since_ms: i64,
) -> Result<Option<Operation>, JournalError> {
    let sql = format!(
        "SELECT {COLUMNS} FROM operations WHERE kind = ?1 AND customer = ?2 \
         AND amount_minor = ?3 AND currency = ?4 \
         AND ((state = 'pending' OR (state = 'issued' AND kind = 'wooppay.invoice')) OR (state = 'completed' AND created_at >= ?5)) \
         ORDER BY created_at DESC LIMIT 1"
    );
    conn.query_row(
        &sql,
        params![
            kind.tag(),
            customer,
            amount.minor(),
            amount.currency().code(),
            since_ms
        ],
        row_to_op,
    )
    .optional()?
    .transpose()
}

/// A row's state and whether it waits for a person, read inside the caller's transaction.
fn state_of(conn: &Connection, id: &str) -> Result<(State, bool), JournalError> {
    let (state, recon): (String, bool) = conn
        .query_row(
            "SELECT state, needs_reconciliation FROM operations WHERE id = ?1",
            [id],
            |r| Ok((r.get(0)?, r.get::<_, i64>(1)? != 0)),
        )
        .optional()?
        .ok_or_else(|| JournalError::NotFound(id.to_string()))?;
    let state = State::from_tag(&state)
        .ok_or_else(|| JournalError::Corrupt(format!("{id}: unknown state {state}")))?;
    Ok((state, recon))
}

/// An open journal. One per process; the worker owns it.
pub struct Journal {
    conn: Connection,
}

impl Journal {
    /// Opens (creating if needed) the journal at `path` and brings its schema up to date.
    pub fn open(path: &Path) -> Result<Journal, JournalError> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|source| JournalError::Dir {
                path: dir.display().to_string(),
                source,
            })?;
        }
        let conn = Connection::open(path)?;
        Journal::setup(conn)
    }

    /// An in-memory journal, for tests and benchmarks of code above it.
    pub fn open_in_memory() -> Result<Journal, JournalError> {
        Journal::setup(Connection::open_in_memory()?)
    }

    fn setup(mut conn: Connection) -> Result<Journal, JournalError> {
        conn.busy_timeout(Duration::from_secs(10))?;
        // WAL with synchronous=FULL: a commit that returned is on disk; never traded for speed.
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "FULL")?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        let version: i64 = conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let current: i64 = tx.pragma_query_value(None, "user_version", |r| r.get(0))?;
        for (i, sql) in MIGRATIONS.iter().enumerate() {
            let v = i64::try_from(i).unwrap_or(i64::MAX) + 1;
            if current < v {
                tx.execute_batch(sql)?;
                tx.pragma_update(None, "user_version", v)?;
            }
        }
        tx.commit()?;
        let _ = version;
        Ok(Journal { conn })
    }

    /// The schema version (number of migrations applied).
    pub fn schema_version(&self) -> Result<i64, JournalError> {
        Ok(self
            .conn
            .pragma_query_value(None, "user_version", |r| r.get(0))?)
    }

    /// Commits a new operation as `pending`, claimed by `holder` until `lease_until`, with
    /// its "created" event: the step before the first byte is sent (rule 1).
    pub fn record_pending(
        &mut self,
        op: &NewOperation,
        holder: &str,
        lease_until: i64,
    ) -> Result<Operation, JournalError> {
        match self.record(op, holder, lease_until, None)? {
            Recorded::New(o) | Recorded::Duplicate(o) => Ok(o),
        }
    }

    /// As [`Journal::record_pending`], unless an operation like it (same kind, customer and
    /// amount, pending or completed, created since `since_ms`) exists: the check and the
    /// insert are one transaction, so two processes cannot both pass it (rule 8).
    pub fn record_pending_unless_duplicate(
        &mut self,
        op: &NewOperation,
        holder: &str,
        lease_until: i64,
        since_ms: i64,
    ) -> Result<Recorded, JournalError> {
        self.record(op, holder, lease_until, Some(since_ms))
    }

    fn record(
        &mut self,
        op: &NewOperation,
        holder: &str,
        lease_until: i64,
        duplicate_since: Option<i64>,
    ) -> Result<Recorded, JournalError> {
        let now = now_ms();
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let exists: Option<String> = tx
            .query_row("SELECT id FROM operations WHERE id = ?1", [&op.id], |r| {
                r.get(0)
            })
            .optional()?;
        if exists.is_some() {
            return Err(JournalError::DuplicateId(op.id.clone()));
        }
        if let Some(since) = duplicate_since {
            if let Some(existing) = duplicate_in(&tx, op.kind, &op.customer, op.amount, since)? {
                return Ok(Recorded::Duplicate(existing));
            }
        }
        tx.execute(
            "INSERT INTO operations (id, kind, state, amount_minor, currency, customer, \
             customer_name, endpoint, identity, lease_holder, lease_until, created_at, updated_at, \
             params) \
             VALUES (?1, ?2, 'pending', ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?11, ?12)",
            params![
                op.id,
                op.kind.tag(),
                op.amount.minor(),
                op.amount.currency().code(),
                op.customer,
                op.customer_name,
                op.endpoint,
                op.identity,
                holder,
                lease_until,
                now,
                op.params
            ],
        )?;
        tx.execute(
            "INSERT INTO events (op_id, at, kind, detail) VALUES (?1, ?2, 'created', ?3)",
            params![
                op.id,
                now,
                format!(
                    "pending; {} to {} via {}",
                    op.amount.to_wire_decimal(),
                    op.customer,
                    op.endpoint
                )
            ],
        )?;
        tx.commit()?;
        self.get(&op.id).map(Recorded::New)
    }

    pub fn get(&self, id: &str) -> Result<Operation, JournalError> {
        let sql = format!("SELECT {COLUMNS} FROM operations WHERE id = ?1");
        self.conn
            .query_row(&sql, [id], row_to_op)
            .optional()?
            .ok_or_else(|| JournalError::NotFound(id.to_string()))?
    }

    pub fn find(&self, id: &str) -> Result<Option<Operation>, JournalError> {
        match self.get(id) {
            Ok(op) => Ok(Some(op)),
            Err(JournalError::NotFound(_)) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// The audit trail of one operation, oldest first.
    pub fn events(&self, id: &str) -> Result<Vec<AuditEvent>, JournalError> {
        let mut stmt = self
            .conn
            .prepare("SELECT at, kind, detail FROM events WHERE op_id = ?1 ORDER BY seq")?;
        let rows = stmt.query_map([id], |r| {
            Ok(AuditEvent {
                at: r.get(0)?,
                kind: r.get(1)?,
                detail: r.get(2)?,
            })
        })?;
        Ok(rows.collect::<Result<Vec<_>, _>>()?)
    }

    /// Adds a line to an operation's audit trail.
    pub fn note(&mut self, id: &str, kind: &str, detail: &str) -> Result<(), JournalError> {
        self.conn.execute(
            "INSERT INTO events (op_id, at, kind, detail) VALUES (?1, ?2, ?3, ?4)",
            params![id, now_ms(), kind, detail],
        )?;
        Ok(())
    }

    /// Records that attempt `n` is about to go out, renewing the sender's lease.
    pub fn record_attempt(
        &mut self,
        id: &str,
        holder: &str,
        lease_until: i64,
    ) -> Result<u32, JournalError> {
        let now = now_ms();
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let (state, lease_holder, lease, recon): (String, Option<String>, Option<i64>, bool) = tx
            .query_row(
                "SELECT state, lease_holder, lease_until, needs_reconciliation FROM operations \
                 WHERE id = ?1",
                [id],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get::<_, i64>(3)? != 0)),
            )
            .optional()?
            .ok_or_else(|| JournalError::NotFound(id.to_string()))?;
        if let Some(h) = lease_holder.filter(|h| h != holder && lease.unwrap_or(0) > now) {
            return Err(JournalError::LeaseHeld {
                id: id.to_string(),
                holder: h,
            });
        }
        if recon {
            return Err(JournalError::NeedsReconciliation(id.to_string()));
        }
        let from = State::from_tag(&state).unwrap_or(State::Prepared);
        // An issued invoice is polled for its status: an attempt like a pending row's.
        if !matches!(from, State::Pending | State::Issued) {
            return Err(JournalError::IllegalTransition {
                id: id.to_string(),
                from,
                to: State::Pending,
            });
        }
        tx.execute(
            "UPDATE operations SET attempts = attempts + 1, lease_holder = ?2, lease_until = ?3, \
             updated_at = ?4 WHERE id = ?1",
            params![id, holder, lease_until, now],
        )?;
        let n: i64 = tx.query_row("SELECT attempts FROM operations WHERE id = ?1", [id], |r| {
            r.get(0)
        })?;
        tx.execute(
            "INSERT INTO events (op_id, at, kind, detail) VALUES (?1, ?2, 'sent', ?3)",
            params![id, now, format!("attempt {n} by {holder}")],
        )?;
        tx.commit()?;
        Ok(u32::try_from(n).unwrap_or(u32::MAX))
    }

    /// Moves an operation to `to`, keeping the reply's facts, in one transaction with its
    /// audit event. The only way a row's state changes. A repeat of the current final
    /// state is a no-op; any other move out of a final state is refused and noted as an
    /// anomaly (rule 4).
    pub fn transition(
        &mut self,
        id: &str,
        holder: &str,
        to: State,
        facts: &Facts,
    ) -> Result<Operation, JournalError> {
        let now = now_ms();
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let (state, lease_holder, lease): (String, Option<String>, Option<i64>) = tx
            .query_row(
                "SELECT state, lease_holder, lease_until FROM operations WHERE id = ?1",
                [id],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .optional()?
            .ok_or_else(|| JournalError::NotFound(id.to_string()))?;
        let from = State::from_tag(&state)
            .ok_or_else(|| JournalError::Corrupt(format!("{id}: unknown state {state}")))?;
        if from.is_final() && from == to {
            drop(tx);
            return self.get(id);
        }
        if !allowed(from, to) {
            tx.execute(
                "INSERT INTO events (op_id, at, kind, detail) VALUES (?1, ?2, 'anomaly', ?3)",
                params![
                    id,
                    now,
                    format!(
                        "refused {from} -> {to}; reply status {}",
                        facts.provider_status.as_deref().unwrap_or("-")
                    )
                ],
            )?;
            tx.commit()?;
            return Err(JournalError::IllegalTransition {
                id: id.to_string(),
                from,
                to,
            });
        }
        if let Some(h) = lease_holder.filter(|h| h != holder && lease.unwrap_or(0) > now) {
            return Err(JournalError::LeaseHeld {
                id: id.to_string(),
                holder: h,
            });
        }
        let final_at = to.is_final().then_some(now);
        tx.execute(
            "UPDATE operations SET state = ?2, \
             provider_status = COALESCE(?3, provider_status), \
             provider_message = CASE WHEN ?9 THEN ?4 ELSE COALESCE(?4, provider_message) END, \
             provider_ref = COALESCE(?5, provider_ref), \
             detail = COALESCE(?6, detail), \
             link = COALESCE(?10, link), message_key = COALESCE(?11, message_key), \
             updated_at = ?7, final_at = COALESCE(?8, final_at), \
             lease_holder = CASE WHEN ?9 THEN NULL ELSE lease_holder END, \
             lease_until = CASE WHEN ?9 THEN NULL ELSE lease_until END, \
             needs_reconciliation = CASE WHEN ?9 THEN 0 ELSE needs_reconciliation END \
             WHERE id = ?1",
            params![
                id,
                to.tag(),
                facts.provider_status,
                facts.provider_message,
                facts.provider_ref,
                facts.detail,
                now,
                final_at,
                to.is_final(),
                facts.link,
                facts.message_key
            ],
        )?;
        let what = if from == to {
            format!("still {to}")
        } else {
            format!("{from} -> {to}")
        };
        tx.execute(
            "INSERT INTO events (op_id, at, kind, detail) VALUES (?1, ?2, 'state', ?3)",
            params![
                id,
                now,
                format!(
                    "{what}; status {}",
                    facts.provider_status.as_deref().unwrap_or("-")
                )
            ],
        )?;
        tx.commit()?;
        self.get(id)
    }

    /// Marks a row as needing a person to reconcile it; it is not sent again automatically.
    /// `reason` is a catalogue key (shown translated); `detail` the facts, for the trail.
    /// Only the row's holder (or anyone, once its lease ran out) may mark it.
    pub fn mark_reconciliation(
        &mut self,
        id: &str,
        holder: &str,
        reason: &str,
        detail: &str,
    ) -> Result<(), JournalError> {
        let now = now_ms();
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let n = tx.execute(
            "UPDATE operations SET needs_reconciliation = 1, recon_reason = ?2, updated_at = ?3, \
             lease_holder = NULL, lease_until = NULL WHERE id = ?1 AND (state = 'pending' OR (state = 'issued' AND kind = 'wooppay.invoice')) \
             AND (lease_holder IS NULL OR lease_holder = ?4 OR lease_until < ?3)",
            params![id, reason, now, holder],
        )?;
        if n == 0 {
            return Err(JournalError::LeaseHeld {
                id: id.to_string(),
                holder: "another process, or the row is not pending".into(),
            });
        }
        tx.execute(
            "INSERT INTO events (op_id, at, kind, detail) VALUES (?1, ?2, 'reconcile', ?3)",
            params![id, now, format!("{reason}: {detail}")],
        )?;
        tx.commit()?;
        Ok(())
    }

    /// Claims one pending row for `holder` until `lease_until` if nobody else holds it; a
    /// holder's own lease is only ever extended by this, never shortened.
    pub fn claim(
        &mut self,
        id: &str,
        holder: &str,
        lease_until: i64,
    ) -> Result<bool, JournalError> {
        let n = self.conn.execute(
            "UPDATE operations SET \
             lease_until = CASE WHEN lease_holder = ?2 THEN MAX(COALESCE(lease_until, 0), ?3) \
                           ELSE ?3 END, \
             lease_holder = ?2 \
             WHERE id = ?1 AND (state = 'pending' OR (state = 'issued' AND kind = 'wooppay.invoice')) AND needs_reconciliation = 0 \
             AND (lease_holder IS NULL OR lease_holder = ?2 OR lease_until < ?4)",
            params![id, holder, lease_until, now_ms()],
        )?;
        Ok(n == 1)
    }

    /// Claims every pending row nobody holds (and that does not wait for a person), in one
    /// transaction with the read, so two processes never take the same row (rule 7). Rows
    /// this holder already drives keep their leases.
    pub fn claim_pending(
        &mut self,
        holder: &str,
        lease_until: i64,
    ) -> Result<Vec<Operation>, JournalError> {
        let now = now_ms();
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let ids: Vec<String> = {
            let mut stmt = tx.prepare(
                "SELECT id FROM operations WHERE (state = 'pending' OR (state = 'issued' AND kind = 'wooppay.invoice')) \
                 AND needs_reconciliation = 0 \
                 AND (lease_holder IS NULL OR lease_until < ?1) \
                 ORDER BY created_at",
            )?;
            let rows = stmt.query_map(params![now], |r| r.get(0))?;
            rows.collect::<Result<_, _>>()?
        };
        for id in &ids {
            tx.execute(
                "UPDATE operations SET lease_holder = ?2, lease_until = ?3 WHERE id = ?1",
                params![id, holder, lease_until],
            )?;
        }
        tx.commit()?;
        ids.iter().map(|id| self.get(id)).collect()
    }

    /// Gives a row back so that another process may take it at once.
    pub fn release(&mut self, id: &str, holder: &str) -> Result<(), JournalError> {
        self.conn.execute(
            "UPDATE operations SET lease_holder = NULL, lease_until = NULL \
             WHERE id = ?1 AND lease_holder = ?2",
            params![id, holder],
        )?;
        Ok(())
    }

    /// An operation like this one (same kind, customer, amount) still pending, however old
    /// (a long PENDING may still go through), or completed since `since_ms`: the
    /// accidental double of rule 8.
    pub fn find_duplicate(
        &self,
        kind: Kind,
        customer: &str,
        amount: Amount,
        since_ms: i64,
    ) -> Result<Option<Operation>, JournalError> {
        duplicate_in(&self.conn, kind, customer, amount, since_ms)
    }

    /// The next value of a counter (WebMoney reqn, orderid): one more than the last one
    /// handed out, and never below `floor`; committed before it is returned, so a restart,
    /// a lost row or two quick callers never see a value twice or a lower one.
    pub fn next_counter(&mut self, name: &str, floor: i64) -> Result<i64, JournalError> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let last: Option<i64> = tx
            .query_row("SELECT value FROM counters WHERE name = ?1", [name], |r| {
                r.get(0)
            })
            .optional()?;
        let next = last.map_or(floor, |v| v.saturating_add(1).max(floor));
        tx.execute(
            "INSERT INTO counters (name, value) VALUES (?1, ?2) \
             ON CONFLICT(name) DO UPDATE SET value = excluded.value",
            params![name, next],
        )?;
        tx.commit()?;
        Ok(next)
    }

    /// The latest operations of one kind, newest first (e.g. to offer recent payees).
    pub fn recent(&self, kind: Kind, limit: u32) -> Result<Vec<Operation>, JournalError> {
        let sql = format!(
            "SELECT {COLUMNS} FROM operations WHERE kind = ?1 \
             ORDER BY created_at DESC, rowid DESC LIMIT ?2"
        );
        let mut stmt = self.conn.prepare(&sql)?;
        let rows = stmt.query_map(params![kind.tag(), limit], row_to_op)?;
        let mut out = Vec::new();
        for r in rows {
            out.push(r??);
        }
        Ok(out)
    }

    /// Operations, newest first.
    pub fn list(&self, filter: &ListFilter) -> Result<Vec<Operation>, JournalError> {
        let mut sql = format!("SELECT {COLUMNS} FROM operations");
        if filter.pending_only {
            sql.push_str(
                " WHERE (state = 'pending' OR (state = 'issued' AND kind = 'wooppay.invoice'))",
            );
        }
        sql.push_str(" ORDER BY created_at DESC, rowid DESC");
        if let Some(n) = filter.limit {
            sql.push_str(&format!(" LIMIT {n}"));
        }
        let mut stmt = self.conn.prepare(&sql)?;
        let rows = stmt.query_map([], row_to_op)?;
        let mut out = Vec::new();
        for r in rows {
            out.push(r??);
        }
        Ok(out)
    }

    /// Every operation created in `[from_ms, until_ms)`, oldest first, handed to `f` one at
    /// a time as the rows are read (an export of 100,000 rows never holds them all); returns
    /// how many there were. An error from `f` stops the reading and is returned as it is.
    pub fn each_created_between<E: From<JournalError>>(
        &self,
        from_ms: i64,
        until_ms: i64,
        mut f: impl FnMut(Operation) -> Result<(), E>,
    ) -> Result<u64, E> {
        let sql = format!(
            "SELECT {COLUMNS} FROM operations WHERE created_at >= ?1 AND created_at < ?2 \
             ORDER BY created_at, rowid"
        );
        let mut stmt = self.conn.prepare(&sql).map_err(JournalError::from)?;
        let mut rows = stmt
            .query(params![from_ms, until_ms])
            .map_err(JournalError::from)?;
        let mut n = 0u64;
        while let Some(row) = rows.next().map_err(JournalError::from)? {
            let op = row_to_op(row).map_err(JournalError::from)??;
            f(op)?;
            n += 1;
        }
        Ok(n)
    }

    /// The row of `kind` the provider knows by `provider_ref` (a UPay HoldId or CardToken).
    pub fn find_by_ref(
        &self,
        kind: Kind,
        provider_ref: &str,
    ) -> Result<Option<Operation>, JournalError> {
        let sql = format!(
            "SELECT {COLUMNS} FROM operations WHERE provider_ref = ?1 AND kind = ?2 \
             ORDER BY created_at DESC LIMIT 1"
        );
        self.conn
            .query_row(&sql, params![provider_ref, kind.tag()], row_to_op)
            .optional()?
            .transpose()
    }

    /// The row of `kind` whose params hold `value` under `key` (a UPay PartnerTrxId).
    pub fn find_by_param(
        &self,
        kind: Kind,
        key: &str,
        value: &str,
    ) -> Result<Option<Operation>, JournalError> {
        let sql = format!(
            "SELECT {COLUMNS} FROM operations WHERE kind = ?1 AND json_valid(params) \
             AND json_extract(params, '$.' || ?2) = ?3 ORDER BY created_at DESC LIMIT 1"
        );
        self.conn
            .query_row(&sql, params![kind.tag(), key, value], row_to_op)
            .optional()?
            .transpose()
    }

    /// Starts an action on a long-lived row (capture or cancel of a `held` UPay hold): in
    /// one transaction it checks the row is still `from` and free, writes the action's
    /// params (its PartnerTrxId among them) and makes it `pending` under `holder`'s lease,
    /// before the first byte is sent. Two actions on one row can never run at once: the
    /// second finds it pending.
    pub fn begin_action(
        &mut self,
        id: &str,
        holder: &str,
        lease_until: i64,
        from: State,
        params: &str,
        what: &str,
    ) -> Result<Operation, JournalError> {
        let now = now_ms();
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let (current, recon) = state_of(&tx, id)?;
        if recon {
            return Err(JournalError::NeedsReconciliation(id.to_string()));
        }
        if current != from || !allowed(current, State::Pending) {
            return Err(JournalError::IllegalTransition {
                id: id.to_string(),
                from: current,
                to: State::Pending,
            });
        }
        tx.execute(
            "UPDATE operations SET state = 'pending', params = ?2, lease_holder = ?3, \
             lease_until = ?4, updated_at = ?5 WHERE id = ?1",
            params![id, params, holder, lease_until, now],
        )?;
        tx.execute(
            "INSERT INTO events (op_id, at, kind, detail) VALUES (?1, ?2, 'action', ?3)",
            params![id, now, format!("{current} -> pending; {what}")],
        )?;
        tx.commit()?;
        self.get(id)
    }

    /// How many rows are open (pending, or an invoice issued and not yet paid), and how
    /// many of those wait for a person.
    pub fn counts(&self) -> Result<(u32, u32), JournalError> {
        let (p, r): (i64, i64) = self.conn.query_row(
            "SELECT COUNT(*), COALESCE(SUM(needs_reconciliation), 0) FROM operations \
             WHERE (state = 'pending' OR (state = 'issued' AND kind = 'wooppay.invoice'))",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )?;
        Ok((
            u32::try_from(p).unwrap_or(u32::MAX),
            u32::try_from(r).unwrap_or(u32::MAX),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn new_op(id: &str, minor: i64) -> NewOperation {
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

    fn journal() -> (tempfile::TempDir, Journal) {
        let dir = tempfile::tempdir().expect("tempdir");
        let j = Journal::open(&dir.path().join("j.db")).expect("open");
        (dir, j)
    }

    #[test]
    fn a_row_is_pending_and_claimed_before_anything_is_sent() -> Result<(), JournalError> {
        let (_d, mut j) = journal();
        let far = now_ms() + 60_000;
        let op = j.record_pending(&new_op("{a}", 500_000), "me", far)?;
        assert_eq!(op.state, State::Pending);
        assert_eq!(j.events("{a}")?.len(), 1);
        assert!(matches!(
            j.record_pending(&new_op("{a}", 1), "me", far),
            Err(JournalError::DuplicateId(_))
        ));
        // Another process cannot take it while the lease runs.
        assert!(!j.claim("{a}", "other", far)?);
        assert!(j.claim_pending("other", far)?.is_empty());
        assert!(matches!(
            j.record_attempt("{a}", "other", far),
            Err(JournalError::LeaseHeld { .. })
        ));
        assert_eq!(j.record_attempt("{a}", "me", far)?, 1);
        j.release("{a}", "me")?;
        assert_eq!(j.claim_pending("other", far)?.len(), 1);
        // A holder's own lease is extended by a claim, never shortened.
        assert!(j.claim("{a}", "other", far + 5_000)?);
        assert!(j.claim("{a}", "other", now_ms() + 1)?);
        assert!(!j.claim("{a}", "third", far)?);
        assert!(
            j.claim_pending("other", far)?.is_empty(),
            "own rows are not re-claimed"
        );
        Ok(())
    }

    #[test]
    fn an_expired_lease_can_be_taken_over() -> Result<(), JournalError> {
        let (_d, mut j) = journal();
        j.record_pending(&new_op("{b}", 100), "dead", now_ms() - 1)?;
        let claimed = j.claim_pending("alive", now_ms() + 60_000)?;
        assert_eq!(claimed.len(), 1);
        Ok(())
    }

    #[test]
    fn final_states_stay_final() -> Result<(), JournalError> {
        let (_d, mut j) = journal();
        j.record_pending(&new_op("{c}", 100), "me", now_ms() + 60_000)?;
        let facts = Facts {
            provider_status: Some("COMPLETED".into()),
            ..Facts::default()
        };
        let op = j.transition("{c}", "me", State::Completed, &facts)?;
        assert_eq!(op.state, State::Completed);
        assert!(op.final_at.is_some());
        // The same answer again changes nothing; a contradicting one is refused and noted.
        assert_eq!(
            j.transition("{c}", "me", State::Completed, &facts)?.state,
            State::Completed
        );
        assert!(matches!(
            j.transition("{c}", "me", State::Declined, &Facts::default()),
            Err(JournalError::IllegalTransition { .. })
        ));
        assert_eq!(j.get("{c}")?.state, State::Completed);
        assert!(j.events("{c}")?.iter().any(|e| e.kind == "anomaly"));
        assert!(matches!(
            j.record_attempt("{c}", "me", now_ms()),
            Err(JournalError::IllegalTransition { .. })
        ));
        Ok(())
    }

    #[test]
    fn duplicates_and_counts() -> Result<(), JournalError> {
        let (_d, mut j) = journal();
        let since = now_ms() - 600_000;
        j.record_pending(&new_op("{d}", 100), "me", now_ms() + 1000)?;
        let a = Amount::from_minor(100, Currency::Kzt)
            .map_err(|e| JournalError::Corrupt(e.to_string()))?;
        let b = Amount::from_minor(200, Currency::Kzt)
            .map_err(|e| JournalError::Corrupt(e.to_string()))?;
        let dup = j.find_duplicate(Kind::AllpayCashIn, "77072734954", a, since)?;
        assert_eq!(dup.map(|o| o.id).as_deref(), Some("{d}"));
        assert!(
            j.find_duplicate(Kind::AllpayCashIn, "77072734954", b, since)?
                .is_none()
        );
        // However old a pending one is, it still counts: a long PENDING may yet go through.
        let later = now_ms() + 60_000;
        assert!(
            j.find_duplicate(Kind::AllpayCashIn, "77072734954", a, later)?
                .is_some()
        );
        assert_eq!(j.counts()?, (1, 0));
        assert!(matches!(
            j.record_pending_unless_duplicate(&new_op("{d2}", 100), "me", now_ms(), since)?,
            Recorded::Duplicate(o) if o.id == "{d}"
        ));
        assert!(j.find("{d2}")?.is_none());
        assert!(
            j.mark_reconciliation("{d}", "other", "recon.endpoint_changed", "x")
                .is_err()
        );
        j.mark_reconciliation("{d}", "me", "recon.endpoint_changed", "x")?;
        assert!(matches!(
            j.record_attempt("{d}", "me", now_ms() + 1000),
            Err(JournalError::NeedsReconciliation(_))
        ));
        assert_eq!(j.counts()?, (1, 1));
        assert!(j.claim_pending("me", now_ms() + 1000)?.is_empty());
        // A real final answer settles the question the flag asked.
        let op = j.transition("{d}", "me", State::Completed, &Facts::default())?;
        assert!(!op.needs_reconciliation);
        assert_eq!(j.counts()?, (0, 0));
        Ok(())
    }

    #[test]
    fn rows_created_in_a_range_come_oldest_first_one_by_one() -> Result<(), JournalError> {
        let (_d, mut j) = journal();
        for (id, at) in [
            ("{late}", 3_000),
            ("{early}", 1_000),
            ("{edge}", 2_000),
            ("{same}", 1_000),
        ] {
            j.record_pending(&new_op(id, 100), "me", now_ms())?;
            j.conn.execute(
                "UPDATE operations SET created_at = ?2 WHERE id = ?1",
                params![id, at],
            )?;
        }
        let ids = |from, until| -> Result<Vec<String>, JournalError> {
            let mut v = Vec::new();
            let n = j.each_created_between(from, until, |op| {
                v.push(op.id);
                Ok::<(), JournalError>(())
            })?;
            assert_eq!(n as usize, v.len());
            Ok(v)
        };
        // Equal times keep the order they were written in.
        assert_eq!(
            ids(i64::MIN, i64::MAX)?,
            ["{early}", "{same}", "{edge}", "{late}"]
        );
        // The start is in, the end is out.
        assert_eq!(ids(1_000, 2_000)?, ["{early}", "{same}"]);
        assert_eq!(ids(1_001, 3_000)?, ["{edge}"]);
        assert!(ids(4_000, i64::MAX)?.is_empty());
        // The callback's error stops the reading.
        let mut seen = 0;
        let r = j.each_created_between(i64::MIN, i64::MAX, |_| {
            seen += 1;
            Err(JournalError::NotFound("stop".into()))
        });
        assert!(matches!(r, Err(JournalError::NotFound(_))));
        assert_eq!(seen, 1);
        Ok(())
    }

    #[test]
    fn counters_only_go_up_and_survive_reopening() -> Result<(), JournalError> {
        let dir = tempfile::tempdir().map_err(|e| JournalError::Corrupt(e.to_string()))?;
        let path = dir.path().join("j.db");
        {
            let mut j = Journal::open(&path)?;
            assert_eq!(j.next_counter("reqn:x", 100)?, 100);
            assert_eq!(j.next_counter("reqn:x", 100)?, 101);
            assert_eq!(
                j.next_counter("reqn:x", 50)?,
                102,
                "a lower floor never lowers it"
            );
            assert_eq!(
                j.next_counter("reqn:x", 500)?,
                500,
                "a clock ahead raises it"
            );
            assert_eq!(j.next_counter("reqn:y", 1)?, 1, "per name");
        }
        let mut j = Journal::open(&path)?;
        assert_eq!(j.next_counter("reqn:x", 0)?, 501);
        Ok(())
    }

    #[test]
    fn survives_reopening_and_keeps_its_schema() -> Result<(), JournalError> {
        let dir = tempfile::tempdir().map_err(|e| JournalError::Corrupt(e.to_string()))?;
        let path = dir.path().join("j.db");
        {
            let mut j = Journal::open(&path)?;
            j.record_pending(&new_op("{e}", 100), "me", now_ms())?;
        }
        let j = Journal::open(&path)?;
        assert_eq!(j.schema_version()?, MIGRATIONS.len() as i64);
        assert_eq!(j.list(&ListFilter::default())?.len(), 1);
        let mode: String = j
            .conn
            .pragma_query_value(None, "journal_mode", |r| r.get(0))?;
        assert_eq!(mode, "wal");
        let sync: i64 = j
            .conn
            .pragma_query_value(None, "synchronous", |r| r.get(0))?;
        assert_eq!(sync, 2, "synchronous=FULL");
        Ok(())
    }

    /// A journal written before the detail column was split: each of its four uses lands
    /// in its own column, and what is left is the provider's words.
    #[test]
    fn the_detail_column_splits_by_what_it_held() -> Result<(), JournalError> {
        let mut conn = Connection::open_in_memory()?;
        let tx = conn.transaction()?;
        for sql in &MIGRATIONS[..4] {
            tx.execute_batch(sql)?;
        }
        tx.pragma_update(None, "user_version", 4)?;
        for (id, detail) in [
            ("link", "https://pay.example/op?id=1"),
            ("key", "wm.retval.6"),
            ("note", "manual: paid at the bank, slip 1234"),
            ("words", "reason: account closed"),
        ] {
            tx.execute(
                "INSERT INTO operations (id, kind, state, amount_minor, currency, customer, \
                 endpoint, identity, detail, created_at, updated_at) \
                 VALUES (?1, 'allpay.cash_in', 'completed', 100, 'KZT', 'c', 'e', 'i', ?2, 0, 0)",
                params![id, detail],
            )?;
        }
        tx.commit()?;
        let j = Journal::setup(conn)?;
        let get = |id: &str| j.get(id);
        let link = get("link")?;
        assert_eq!(
            (link.link.as_deref(), link.detail),
            (Some("https://pay.example/op?id=1"), None)
        );
        let key = get("key")?;
        assert_eq!(
            (key.message_key.as_deref(), key.detail),
            (Some("wm.retval.6"), None)
        );
        let note = get("note")?;
        assert_eq!(
            (note.note.as_deref(), note.detail),
            (Some("paid at the bank, slip 1234"), None)
        );
        let words = get("words")?;
        assert_eq!(words.detail.as_deref(), Some("reason: account closed"));
        assert_eq!(
            (words.link, words.message_key, words.note),
            (None, None, None)
        );
        Ok(())
    }
}
