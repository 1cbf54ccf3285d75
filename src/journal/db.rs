//! The journal's two engines behind one face: a till's own SQLite file, or a chain's shared
//! PostgreSQL. The journal's rules are written once, in SQL both engines read (SQLite's `?N`
//! placeholders, turned into `$N` for PostgreSQL), so that they hold on both word for word;
//! the few places where the engines differ ask [`Db::dialect`].
//!
//! A write transaction is exclusive on both: SQLite's `BEGIN IMMEDIATE` takes the file's
//! write lock, PostgreSQL's takes one advisory lock for the journal, so that what a
//! transaction read (a duplicate, a counter, a lease) still holds when it commits, whichever
//! till wrote last.

use super::JournalError;
use super::pg::Pg;

/// A value to or from the journal: every column is an integer or a text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Value {
    Null,
    Int(i64),
    Text(String),
}

impl From<i64> for Value {
    fn from(v: i64) -> Self {
        Value::Int(v)
    }
}
impl From<u32> for Value {
    fn from(v: u32) -> Self {
        Value::Int(i64::from(v))
    }
}
/// Booleans are stored as 0 and 1 on both engines (`CASE WHEN ?N = 1`).
impl From<bool> for Value {
    fn from(v: bool) -> Self {
        Value::Int(i64::from(v))
    }
}
impl From<&str> for Value {
    fn from(v: &str) -> Self {
        Value::Text(v.to_string())
    }
}
impl From<&&str> for Value {
    fn from(v: &&str) -> Self {
        Value::Text((*v).to_string())
    }
}
impl From<&String> for Value {
    fn from(v: &String) -> Self {
        Value::Text(v.clone())
    }
}
impl From<String> for Value {
    fn from(v: String) -> Self {
        Value::Text(v)
    }
}
impl<T: Into<Value>> From<Option<T>> for Value {
    fn from(v: Option<T>) -> Self {
        v.map_or(Value::Null, Into::into)
    }
}
impl From<&Option<String>> for Value {
    fn from(v: &Option<String>) -> Self {
        v.as_deref().map_or(Value::Null, Value::from)
    }
}

/// The arguments of one statement.
macro_rules! args {
    ($($x:expr),* $(,)?) => { &[$($crate::journal::db::Value::from($x)),*][..] };
}
pub(super) use args;

/// A column read back as a Rust value.
pub(super) trait FromValue: Sized {
    fn from_value(v: &Value) -> Option<Self>;
}
impl FromValue for i64 {
    fn from_value(v: &Value) -> Option<Self> {
        match v {
            Value::Int(i) => Some(*i),
            _ => None,
        }
    }
}
impl FromValue for bool {
    fn from_value(v: &Value) -> Option<Self> {
        i64::from_value(v).map(|i| i != 0)
    }
}
impl FromValue for String {
    fn from_value(v: &Value) -> Option<Self> {
        match v {
            Value::Text(s) => Some(s.clone()),
            _ => None,
        }
    }
}
impl<T: FromValue> FromValue for Option<T> {
    fn from_value(v: &Value) -> Option<Self> {
        match v {
            Value::Null => Some(None),
            v => T::from_value(v).map(Some),
        }
    }
}

/// One row of a result.
#[derive(Debug, Clone)]
pub(super) struct Row(pub(super) Vec<Value>);

impl Row {
    pub(super) fn get<T: FromValue>(&self, i: usize) -> Result<T, JournalError> {
        let v = self.0.get(i).unwrap_or(&Value::Null);
        T::from_value(v).ok_or_else(|| {
            JournalError::Corrupt(format!("column {i}: unexpected {v:?} for its type"))
        })
    }
}

/// Which engine a statement goes to, where their SQL differs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Dialect {
    Sqlite,
    Postgres,
}

pub(super) enum Db {
    Sqlite(rusqlite::Connection),
    Pg(Pg),
}

impl rusqlite::ToSql for Value {
    fn to_sql(&self) -> rusqlite::Result<rusqlite::types::ToSqlOutput<'_>> {
        use rusqlite::types::{ToSqlOutput, ValueRef};
        Ok(match self {
            Value::Null => ToSqlOutput::Borrowed(ValueRef::Null),
            Value::Int(i) => ToSqlOutput::Borrowed(ValueRef::Integer(*i)),
            Value::Text(s) => ToSqlOutput::Borrowed(ValueRef::Text(s.as_bytes())),
        })
    }
}

fn sqlite_row(row: &rusqlite::Row<'_>, n: usize) -> Result<Row, JournalError> {
    use rusqlite::types::ValueRef;
    let mut out = Vec::with_capacity(n);
    for i in 0..n {
        out.push(match row.get_ref(i)? {
            ValueRef::Null => Value::Null,
            ValueRef::Integer(v) => Value::Int(v),
            ValueRef::Text(t) => Value::Text(String::from_utf8_lossy(t).into_owned()),
            ValueRef::Real(r) => {
                return Err(JournalError::Corrupt(format!("column {i}: a real {r}")));
            }
            ValueRef::Blob(_) => {
                return Err(JournalError::Corrupt(format!("column {i}: a blob")));
            }
        });
    }
    Ok(Row(out))
}

impl Db {
    pub(super) fn dialect(&self) -> Dialect {
        match self {
            Db::Sqlite(_) => Dialect::Sqlite,
            Db::Pg(_) => Dialect::Postgres,
        }
    }

    /// Runs a statement; how many rows it changed.
    pub(super) fn execute(&self, sql: &str, args: &[Value]) -> Result<usize, JournalError> {
        match self {
            Db::Sqlite(c) => Ok(c
                .prepare_cached(sql)?
                .execute(rusqlite::params_from_iter(args.iter()))?),
            Db::Pg(p) => p.execute(sql, args),
        }
    }

    /// Runs statements with no arguments and no result (a migration).
    pub(super) fn batch(&self, sql: &str) -> Result<(), JournalError> {
        match self {
            Db::Sqlite(c) => Ok(c.execute_batch(sql)?),
            Db::Pg(p) => p.batch(sql),
        }
    }

    /// Every row of a query, read to the end.
    pub(super) fn query(&self, sql: &str, args: &[Value]) -> Result<Vec<Row>, JournalError> {
        let mut out = Vec::new();
        self.each(sql, args, |r| {
            out.push(r);
            Ok::<(), JournalError>(())
        })?;
        Ok(out)
    }

    /// The first row of a query, if any.
    pub(super) fn query_opt(&self, sql: &str, args: &[Value]) -> Result<Option<Row>, JournalError> {
        match self {
            Db::Sqlite(c) => {
                let mut stmt = c.prepare_cached(sql)?;
                let n = stmt.column_count();
                let mut rows = stmt.query(rusqlite::params_from_iter(args.iter()))?;
                match rows.next()? {
                    Some(r) => sqlite_row(r, n).map(Some),
                    None => Ok(None),
                }
            }
            Db::Pg(p) => Ok(p.query(sql, args)?.into_iter().next()),
        }
    }

    /// The first row of a query that always has one.
    pub(super) fn query_one(&self, sql: &str, args: &[Value]) -> Result<Row, JournalError> {
        self.query_opt(sql, args)?
            .ok_or_else(|| JournalError::Corrupt(format!("no row from: {sql}")))
    }

    /// Hands the rows of a query to `f` one at a time (SQLite reads them one at a time; the
    /// chain's server sends them all).
    pub(super) fn each<E: From<JournalError>>(
        &self,
        sql: &str,
        args: &[Value],
        mut f: impl FnMut(Row) -> Result<(), E>,
    ) -> Result<u64, E> {
        let mut n = 0u64;
        match self {
            Db::Sqlite(c) => {
                let mut stmt = c.prepare_cached(sql).map_err(JournalError::from)?;
                let cols = stmt.column_count();
                let mut rows = stmt
                    .query(rusqlite::params_from_iter(args.iter()))
                    .map_err(JournalError::from)?;
                while let Some(r) = rows.next().map_err(JournalError::from)? {
                    f(sqlite_row(r, cols)?)?;
                    n += 1;
                }
            }
            Db::Pg(p) => {
                for r in p.query(sql, args)? {
                    f(r)?;
                    n += 1;
                }
            }
        }
        Ok(n)
    }

    /// Begins a write transaction, exclusive across every process on this journal; rolled
    /// back when dropped uncommitted.
    ///
    /// Inside a group ([`Db::begin_group`]) it is a savepoint of the group's transaction: the
    /// call's changes are kept or undone on their own, and made durable with the group's.
    /// A `Tx` borrows the `Db` mutably, so the connection is inside a transaction here only
    /// when a group is open.
    pub(super) fn begin(&mut self) -> Result<Tx<'_>, JournalError> {
        let nested = match self {
            Db::Sqlite(c) if !c.is_autocommit() => {
                c.execute_batch("SAVEPOINT kassa_call")?;
                true
            }
            Db::Sqlite(c) => {
                c.execute_batch("BEGIN IMMEDIATE")?;
                false
            }
            Db::Pg(p) => {
                p.begin(true)?;
                false
            }
        };
        Ok(Tx {
            db: self,
            open: true,
            nested,
        })
    }

    /// Opens a group commit: the calls made until [`Db::end_group`] share one transaction,
    /// so one wait for the disk makes all of them durable (hundreds of rows polling cost a
    /// commit per batch, not two per poll). Nobody learns of a call's result before the
    /// group's commit. SQLite only: `false` on PostgreSQL, whose calls stay one transaction
    /// each (a chain's tills take its lock in turn, and a group would hold it longer).
    pub(super) fn begin_group(&mut self) -> Result<bool, JournalError> {
        match self {
            Db::Sqlite(c) => {
                c.execute_batch("BEGIN IMMEDIATE")?;
                Ok(true)
            }
            Db::Pg(_) => Ok(false),
        }
    }

    /// Commits the group [`Db::begin_group`] opened. An error means none of its calls was
    /// kept, SQLite's own rollback after an I/O error included.
    pub(super) fn end_group(&mut self) -> Result<(), JournalError> {
        match self {
            Db::Sqlite(c) if c.is_autocommit() => Err(JournalError::Uncommitted(
                "the group's transaction was rolled back by the database".into(),
            )),
            Db::Sqlite(c) => match c.execute_batch("COMMIT") {
                Ok(()) => Ok(()),
                Err(e) => {
                    let _ = c.execute_batch("ROLLBACK");
                    Err(JournalError::Uncommitted(e.to_string()))
                }
            },
            Db::Pg(_) => Ok(()),
        }
    }

    /// Whether a group commit is open (SQLite may have rolled it back by itself).
    pub(super) fn in_group(&self) -> bool {
        matches!(self, Db::Sqlite(c) if !c.is_autocommit())
    }

    /// Begins a transaction that only takes the row locks it asks for (a claim with `FOR
    /// UPDATE SKIP LOCKED`), never the journal's write lock. SQLite has one lock: the same
    /// as [`Db::begin`] there.
    pub(super) fn begin_rows(&mut self) -> Result<Tx<'_>, JournalError> {
        match self {
            Db::Sqlite(c) => c.execute_batch("BEGIN IMMEDIATE")?,
            Db::Pg(p) => p.begin(false)?,
        }
        Ok(Tx {
            db: self,
            open: true,
            nested: false,
        })
    }
}

/// An open transaction; `Deref`s to the [`Db`] its statements go to.
pub(super) struct Tx<'a> {
    db: &'a mut Db,
    open: bool,
    /// A savepoint of an open group's transaction (SQLite), not a transaction of its own.
    nested: bool,
}

impl Tx<'_> {
    pub(super) fn commit(mut self) -> Result<(), JournalError> {
        self.open = false;
        match &*self.db {
            Db::Sqlite(c) if self.nested => Ok(c.execute_batch("RELEASE kassa_call")?),
            Db::Sqlite(c) => Ok(c.execute_batch("COMMIT")?),
            Db::Pg(p) => p.end(true),
        }
    }

    /// A savepoint inside the transaction: released by `commit`, rolled back to when dropped.
    pub(super) fn savepoint(&mut self) -> Result<Savepoint<'_>, JournalError> {
        self.db.batch("SAVEPOINT kassa_sp")?;
        Ok(Savepoint {
            db: self.db,
            open: true,
        })
    }
}

impl std::ops::Deref for Tx<'_> {
    type Target = Db;
    fn deref(&self) -> &Db {
        self.db
    }
}

impl Drop for Tx<'_> {
    fn drop(&mut self) {
        if self.open {
            // Nothing of it was committed; a failed rollback leaves the same.
            let _ = match &*self.db {
                Db::Sqlite(c) if self.nested => c
                    .execute_batch("ROLLBACK TO kassa_call; RELEASE kassa_call")
                    .map_err(JournalError::from),
                Db::Sqlite(c) => c.execute_batch("ROLLBACK").map_err(JournalError::from),
                Db::Pg(p) => p.end(false),
            };
        }
    }
}

pub(super) struct Savepoint<'a> {
    db: &'a Db,
    open: bool,
}

impl Savepoint<'_> {
    pub(super) fn commit(mut self) -> Result<(), JournalError> {
        self.open = false;
        self.db.batch("RELEASE kassa_sp")
    }
}

impl std::ops::Deref for Savepoint<'_> {
    type Target = Db;
    fn deref(&self) -> &Db {
        self.db
    }
}

impl Drop for Savepoint<'_> {
    fn drop(&mut self) {
        if self.open {
            let _ = self.db.batch("ROLLBACK TO kassa_sp; RELEASE kassa_sp");
        }
    }
}

/// SQLite's `?N` placeholders as PostgreSQL's `$N`, and SQLite's `rowid` as the `seq`
/// column the PostgreSQL schema gives every operation; quoted text is left alone.
pub(super) fn to_postgres(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len() + 8);
    let mut chars = sql.char_indices().peekable();
    let mut quoted = false;
    while let Some((i, c)) = chars.next() {
        if c == '\'' {
            quoted = !quoted;
            out.push(c);
        } else if !quoted && c == '?' {
            out.push('$');
        } else if !quoted
            && sql[i..].starts_with("rowid")
            && !sql[..i].ends_with(|p: char| p.is_alphanumeric() || p == '_')
            && !sql[i + 5..].starts_with(|p: char| p.is_alphanumeric() || p == '_')
        {
            out.push_str("seq");
            for _ in 0..4 {
                chars.next();
            }
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_and_rowid_become_postgres_outside_quotes() {
        assert_eq!(
            to_postgres(
                "SELECT a FROM t WHERE x = ?1 AND y = '?2 rowid' ORDER BY rowid DESC, myrowid"
            ),
            "SELECT a FROM t WHERE x = $1 AND y = '?2 rowid' ORDER BY seq DESC, myrowid"
        );
    }
}
