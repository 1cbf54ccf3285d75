//! The journal's schema on both engines: their migrations, opening a journal (SQLite: WAL,
//! `synchronous=FULL`; PostgreSQL: synchronous commit) and bringing it up to date, and
//! reading a row into an [`Operation`].

use std::path::Path;

use rusqlite::Connection;

use super::db::{Db, Dialect, Row, args};
use super::pg::Pg;
use super::{Journal, JournalError, Kind, Location, Operation, State};
use crate::money::{Amount, Currency};

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
    // Notifications from the providers, kept before the provider is told they arrived:
    // one a crash interrupted is acted on at the next start.
    r#"
CREATE TABLE notices (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    received_at INTEGER NOT NULL,
    source TEXT NOT NULL,
    target TEXT NOT NULL,
    status TEXT NOT NULL,
    message TEXT NOT NULL,
    handled_at INTEGER
);
CREATE INDEX notices_open ON notices(handled_at);
"#,
    // The open rows' counts, read before the first screen is drawn, from this index alone
    // however long the journal (it holds no lease column: a poll never rewrites it).
    r#"
CREATE INDEX operations_open ON operations(state, kind, needs_reconciliation)
    WHERE state = 'pending' OR (state = 'issued' AND kind = 'wooppay.invoice');
"#,
    // The till that recorded a row (`[till] name`), for a chain's filters and reports; a
    // row from before it names none.
    r#"
ALTER TABLE operations ADD COLUMN till TEXT;
CREATE INDEX operations_till ON operations(till, created_at);
ALTER TABLE shifts ADD COLUMN till TEXT;
"#,
    // Events numbered by rowid, not AUTOINCREMENT: the same order (no event is ever
    // deleted, so the next is always the largest plus one) without a write to
    // sqlite_sequence at every commit that notes one, a page less for every poll.
    r#"
CREATE TABLE events_new (
    seq INTEGER PRIMARY KEY,
    op_id TEXT NOT NULL REFERENCES operations(id),
    at INTEGER NOT NULL,
    kind TEXT NOT NULL,
    detail TEXT NOT NULL
);
INSERT INTO events_new (seq, op_id, at, kind, detail)
    SELECT seq, op_id, at, kind, detail FROM events ORDER BY seq;
DROP TABLE events;
ALTER TABLE events_new RENAME TO events;
CREATE INDEX events_op ON events(op_id, seq);
"#,
];

/// The same schema on a chain's PostgreSQL, as the SQLite migrations leave it; `seq` keeps
/// the order rows were written in (SQLite's `rowid`). Every integer is a `BIGINT`, a flag
/// 0 or 1, as on SQLite. `kassa_schema` says how many migrations ran.
const PG_MIGRATIONS: &[&str] = &[r#"
CREATE TABLE operations (
    id TEXT PRIMARY KEY,
    seq BIGSERIAL NOT NULL UNIQUE,
    kind TEXT NOT NULL,
    state TEXT NOT NULL,
    amount_minor BIGINT NOT NULL,
    currency TEXT NOT NULL,
    customer TEXT NOT NULL,
    customer_name TEXT,
    endpoint TEXT NOT NULL,
    identity TEXT NOT NULL,
    provider_status TEXT,
    provider_message TEXT,
    provider_ref TEXT,
    detail TEXT,
    needs_reconciliation BIGINT NOT NULL DEFAULT 0,
    recon_reason TEXT,
    attempts BIGINT NOT NULL DEFAULT 0,
    lease_holder TEXT,
    lease_until BIGINT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    final_at BIGINT,
    params TEXT,
    link TEXT,
    message_key TEXT,
    note TEXT,
    till TEXT
);
CREATE INDEX operations_state ON operations(state);
CREATE INDEX operations_created ON operations(created_at);
CREATE INDEX operations_dup ON operations(kind, customer, amount_minor, created_at);
CREATE INDEX operations_kind ON operations(kind, created_at);
CREATE INDEX operations_ref ON operations(provider_ref);
CREATE INDEX operations_state_created ON operations(state, created_at);
CREATE INDEX operations_open ON operations(state, kind, needs_reconciliation)
    WHERE state = 'pending' OR (state = 'issued' AND kind = 'wooppay.invoice');
CREATE INDEX operations_till ON operations(till, created_at);
CREATE TABLE events (
    seq BIGSERIAL PRIMARY KEY,
    op_id TEXT NOT NULL REFERENCES operations(id),
    at BIGINT NOT NULL,
    kind TEXT NOT NULL,
    detail TEXT NOT NULL
);
CREATE INDEX events_op ON events(op_id, seq);
CREATE TABLE counters (
    name TEXT PRIMARY KEY,
    value BIGINT NOT NULL
);
CREATE TABLE shifts (
    id BIGSERIAL PRIMARY KEY,
    opened_at BIGINT NOT NULL,
    opening_minor BIGINT NOT NULL,
    currency TEXT NOT NULL,
    closed_at BIGINT,
    counted_minor BIGINT,
    expected_minor BIGINT,
    note TEXT,
    till TEXT
);
CREATE TABLE notices (
    id BIGSERIAL PRIMARY KEY,
    received_at BIGINT NOT NULL,
    source TEXT NOT NULL,
    target TEXT NOT NULL,
    status TEXT NOT NULL,
    message TEXT NOT NULL,
    handled_at BIGINT
);
CREATE INDEX notices_open ON notices(handled_at);
"#];

pub(super) const COLUMNS: &str = "id, kind, state, amount_minor, currency, customer, customer_name, endpoint, \
     identity, provider_status, provider_message, provider_ref, detail, needs_reconciliation, \
     recon_reason, attempts, created_at, updated_at, final_at, params, link, message_key, note, \
     till";

pub(super) fn row_to_op(row: &Row) -> Result<Operation, JournalError> {
    let id: String = row.get(0)?;
    let kind: String = row.get(1)?;
    let state: String = row.get(2)?;
    let minor: i64 = row.get(3)?;
    let currency: String = row.get(4)?;
    let corrupt = |what: &str| JournalError::Corrupt(format!("{id}: {what}"));
    let Some(kind) = Kind::from_tag(&kind) else {
        return Err(corrupt(&format!("unknown kind {kind}")));
    };
    let Some(state) = State::from_tag(&state) else {
        return Err(corrupt(&format!("unknown state {state}")));
    };
    let Some(currency) = Currency::from_code(&currency) else {
        return Err(corrupt(&format!("unknown currency {currency}")));
    };
    let amount = if minor == 0 {
        Ok(Amount::none(currency))
    } else {
        Amount::from_minor(minor, currency)
    };
    let Ok(amount) = amount else {
        return Err(corrupt(&format!("bad amount {minor}")));
    };
    let attempts: i64 = row.get(15)?;
    Ok(Operation {
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
        needs_reconciliation: row.get(13)?,
        recon_reason: row.get(14)?,
        attempts: u32::try_from(attempts).unwrap_or(0),
        created_at: row.get(16)?,
        updated_at: row.get(17)?,
        final_at: row.get(18)?,
        params: row.get(19)?,
        link: row.get(20)?,
        message_key: row.get(21)?,
        note: row.get(22)?,
        till: row.get(23)?,
    })
}

impl Journal {
    /// Opens (creating if needed) the journal at `path` and brings its schema up to date.
    pub fn open(path: &Path) -> Result<Journal, JournalError> {
        Journal::open_at(&Location::Sqlite(path.to_path_buf()), "")
    }

    /// Opens the journal `at` names for the till `till`, creating it and bringing its
    /// schema up to date.
    pub fn open_at(at: &Location, till: &str) -> Result<Journal, JournalError> {
        let db = match at {
            Location::Sqlite(path) => {
                if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                    std::fs::create_dir_all(dir).map_err(|source| JournalError::Dir {
                        path: dir.display().to_string(),
                        source,
                    })?;
                }
                sqlite(Connection::open(path)?)?
            }
            Location::Postgres(url) => Db::Pg(Pg::connect(url.expose())?),
        };
        Journal::setup(db, till)
    }

    /// An in-memory journal, for tests and benchmarks of code above it.
    pub fn open_in_memory() -> Result<Journal, JournalError> {
        Journal::setup(sqlite(Connection::open_in_memory()?)?, "")
    }

    fn setup(mut db: Db, till: &str) -> Result<Journal, JournalError> {
        let (migrations, version) = match db.dialect() {
            Dialect::Sqlite => (MIGRATIONS, "PRAGMA user_version"),
            Dialect::Postgres => {
                // Under the journal's lock: tills started at once on a new database would
                // otherwise race to create it (PostgreSQL's IF NOT EXISTS is no lock).
                let there: bool = db
                    .query_one("SELECT to_regclass('kassa_schema') IS NOT NULL", &[])?
                    .get(0)?;
                if !there {
                    let tx = db.begin()?;
                    tx.batch("CREATE TABLE IF NOT EXISTS kassa_schema (version BIGINT NOT NULL)")?;
                    tx.commit()?;
                }
                (
                    PG_MIGRATIONS,
                    "SELECT COALESCE(MAX(version), 0) FROM kassa_schema",
                )
            }
        };
        let read = |db: &Db| -> Result<i64, JournalError> { db.query_one(version, &[])?.get(0) };
        let target = i64::try_from(migrations.len()).unwrap_or(i64::MAX);
        // Up to date: no write lock to wait for at start-up.
        if read(&db)? < target {
            let tx = db.begin()?;
            let current = read(&tx)?;
            for (i, sql) in migrations.iter().enumerate() {
                let v = i64::try_from(i).unwrap_or(i64::MAX) + 1;
                if current < v {
                    tx.batch(sql)?;
                    match tx.dialect() {
                        Dialect::Sqlite => tx.batch(&format!("PRAGMA user_version = {v}"))?,
                        Dialect::Postgres => {
                            tx.execute("INSERT INTO kassa_schema (version) VALUES (?1)", args![v])?;
                        }
                    }
                }
            }
            tx.commit()?;
        }
        Ok(Journal {
            db,
            till: till.to_string(),
        })
    }

    /// The schema version (number of migrations applied).
    pub fn schema_version(&self) -> Result<i64, JournalError> {
        let sql = match self.db.dialect() {
            Dialect::Sqlite => "PRAGMA user_version",
            Dialect::Postgres => "SELECT COALESCE(MAX(version), 0) FROM kassa_schema",
        };
        self.db.query_one(sql, &[])?.get(0)
    }

    /// The till this process records its rows for.
    pub fn till(&self) -> &str {
        &self.till
    }

    /// Takes the lock `name` across every process on this journal if it is free: on a
    /// chain's journal, a PostgreSQL advisory lock held until [`Journal::unlock`] (or until
    /// this process's connection ends); a till's own journal has one process, whose caller
    /// serializes on its own, so there it is always free.
    pub fn try_lock(&mut self, name: &str) -> Result<bool, JournalError> {
        match &self.db {
            Db::Sqlite(_) => Ok(true),
            Db::Pg(p) => p.try_lock(name),
        }
    }

    pub fn unlock(&mut self, name: &str) -> Result<(), JournalError> {
        match &self.db {
            Db::Sqlite(_) => Ok(()),
            Db::Pg(p) => p.unlock(name),
        }
    }

    /// Whether this is a chain's shared journal.
    pub fn is_shared(&self) -> bool {
        self.db.dialect() == Dialect::Postgres
    }
}

/// A till's own file: WAL with synchronous=FULL, so that a commit that returned is on disk
/// (never traded for speed); statements kept prepared for a poll and the screens.
fn sqlite(conn: Connection) -> Result<Db, JournalError> {
    conn.busy_timeout(super::BUSY_TIMEOUT)?;
    conn.set_prepared_statement_cache_capacity(64);
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", "FULL")?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    Ok(Db::Sqlite(conn))
}

#[cfg(test)]
mod tests {
    use rusqlite::params;

    use super::*;
    use crate::journal::fixture::new_op;
    use crate::journal::{ListFilter, now_ms};

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
        let mode: String = j.db.query_one("PRAGMA journal_mode", &[])?.get(0)?;
        assert_eq!(mode, "wal");
        let sync: i64 = j.db.query_one("PRAGMA synchronous", &[])?.get(0)?;
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
        let j = Journal::setup(sqlite(conn)?, "")?;
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

    /// A journal whose events were numbered by AUTOINCREMENT keeps every event, in its
    /// order and with its number, and numbers the next one after them.
    #[test]
    fn events_keep_their_numbers_without_autoincrement() -> Result<(), JournalError> {
        let mut conn = Connection::open_in_memory()?;
        let tx = conn.transaction()?;
        for sql in &MIGRATIONS[..8] {
            tx.execute_batch(sql)?;
        }
        tx.pragma_update(None, "user_version", 8)?;
        tx.execute(
            "INSERT INTO operations (id, kind, state, amount_minor, currency, customer, \
             endpoint, identity, created_at, updated_at) \
             VALUES ('{o}', 'allpay.cash_in', 'pending', 100, 'KZT', 'c', 'e', 'i', 0, 0)",
            [],
        )?;
        for (seq, kind) in [(3, "created"), (7, "sent"), (41, "state")] {
            tx.execute(
                "INSERT INTO events (seq, op_id, at, kind, detail) VALUES (?1, '{o}', 0, ?2, '')",
                params![seq, kind],
            )?;
        }
        tx.commit()?;
        let mut j = Journal::setup(sqlite(conn)?, "")?;
        assert_eq!(j.schema_version()?, MIGRATIONS.len() as i64);
        j.note("{o}", "note", "after")?;
        let events: Vec<(i64, String)> =
            j.db.query(
                "SELECT seq, kind FROM events WHERE op_id = '{o}' ORDER BY seq",
                &[],
            )?
            .iter()
            .map(|r| Ok((r.get(0)?, r.get(1)?)))
            .collect::<Result<_, JournalError>>()?;
        let kinds: Vec<&str> = events.iter().map(|(_, k)| k.as_str()).collect();
        assert_eq!(kinds, ["created", "sent", "state", "note"]);
        assert_eq!(events.first().map(|e| e.0), Some(3));
        assert!(events.last().is_some_and(|e| e.0 > 41));
        let sequences: i64 =
            j.db.query_one(
                "SELECT COUNT(*) FROM sqlite_sequence WHERE name = 'events'",
                &[],
            )?
            .get(0)?;
        assert_eq!(sequences, 0, "no counter written at every event");
        Ok(())
    }
}
