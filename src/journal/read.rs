//! Reading rows: one by its id, the latest of a kind, lists, a range read one row at a
//! time, a row the provider names, and how many are open.

use super::db::{Db, Dialect, args};
use super::schema::{COLUMNS, row_to_op};
use super::{AuditEvent, Journal, JournalError, Kind, ListFilter, Operation};

/// Row `id`, read on `conn` (inside a caller's transaction).
pub(super) fn get_in(db: &Db, id: &str) -> Result<Operation, JournalError> {
    // Read at every poll: the statement is kept prepared.
    static SQL: std::sync::LazyLock<String> =
        std::sync::LazyLock::new(|| format!("SELECT {COLUMNS} FROM operations WHERE id = ?1"));
    row_to_op(
        &db.query_opt(&SQL, args![id])?
            .ok_or_else(|| JournalError::NotFound(id.to_string()))?,
    )
}

impl Journal {
    pub fn get(&self, id: &str) -> Result<Operation, JournalError> {
        get_in(&self.db, id)
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
        self.db
            .query(
                "SELECT at, kind, detail FROM events WHERE op_id = ?1 ORDER BY seq",
                args![id],
            )?
            .into_iter()
            .map(|r| {
                Ok(AuditEvent {
                    at: r.get(0)?,
                    kind: r.get(1)?,
                    detail: r.get(2)?,
                })
            })
            .collect()
    }

    /// The latest operations of one kind, newest first (e.g. to offer recent payees).
    pub fn recent(&self, kind: Kind, limit: u32) -> Result<Vec<Operation>, JournalError> {
        let sql = format!(
            "SELECT {COLUMNS} FROM operations WHERE kind = ?1 \
             ORDER BY created_at DESC, rowid DESC LIMIT ?2"
        );
        self.db
            .query(&sql, args![kind.tag(), limit])?
            .iter()
            .map(row_to_op)
            .collect()
    }

    /// Operations, newest first.
    pub fn list(&self, filter: &ListFilter) -> Result<Vec<Operation>, JournalError> {
        let mut sql = format!("SELECT {COLUMNS} FROM operations WHERE 1 = 1");
        if filter.pending_only {
            sql.push_str(
                " AND (state = 'pending' OR (state = 'issued' AND kind = 'wooppay.invoice'))",
            );
        }
        let till = filter.till.as_deref();
        if till.is_some() {
            sql.push_str(" AND till = ?1");
        }
        sql.push_str(" ORDER BY created_at DESC, rowid DESC");
        if let Some(n) = filter.limit {
            sql.push_str(&format!(" LIMIT {n}"));
        }
        let args = match till {
            Some(t) => vec![t.into()],
            None => Vec::new(),
        };
        self.db.query(&sql, &args)?.iter().map(row_to_op).collect()
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
        self.db
            .each(&sql, args![from_ms, until_ms], |r| f(row_to_op(&r)?))
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
        self.db
            .query_opt(&sql, args![provider_ref, kind.tag()])?
            .map(|r| row_to_op(&r))
            .transpose()
    }

    /// The row of `kind` whose params hold `value` under `key` (a UPay PartnerTrxId).
    pub fn find_by_param(
        &self,
        kind: Kind,
        key: &str,
        value: &str,
    ) -> Result<Option<Operation>, JournalError> {
        let test = match self.db.dialect() {
            Dialect::Sqlite => "json_valid(params) AND json_extract(params, '$.' || ?2) = ?3",
            Dialect::Postgres => "CASE WHEN params LIKE '{%' THEN params::jsonb ->> ?2 END = ?3",
        };
        let sql = format!(
            "SELECT {COLUMNS} FROM operations WHERE kind = ?1 AND {test} \
             ORDER BY created_at DESC LIMIT 1"
        );
        self.db
            .query_opt(&sql, args![kind.tag(), key, value])?
            .map(|r| row_to_op(&r))
            .transpose()
    }

    /// How many rows are open (pending, or an invoice issued and not yet paid), and how
    /// many of those wait for a person.
    pub fn counts(&self) -> Result<(u32, u32), JournalError> {
        // From the open rows' index alone (migration 7), never the rows themselves: read
        // before the first screen is drawn.
        let index = match self.db.dialect() {
            Dialect::Sqlite => "INDEXED BY operations_open",
            Dialect::Postgres => "",
        };
        let sql = format!(
            "SELECT COUNT(*), CAST(COALESCE(SUM(needs_reconciliation), 0) AS BIGINT) \
             FROM operations {index} \
             WHERE state = 'pending' OR (state = 'issued' AND kind = 'wooppay.invoice')"
        );
        let row = self.db.query_one(&sql, &[])?;
        let (p, r): (i64, i64) = (row.get(0)?, row.get(1)?);
        Ok((
            u32::try_from(p).unwrap_or(u32::MAX),
            u32::try_from(r).unwrap_or(u32::MAX),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::journal::fixture::{each_journal, new_op};
    use crate::journal::now_ms;

    #[test]
    fn rows_created_in_a_range_come_oldest_first_one_by_one() -> Result<(), JournalError> {
        each_journal(|j| {
            for (id, at) in [
                ("{late}", 3_000),
                ("{early}", 1_000),
                ("{edge}", 2_000),
                ("{same}", 1_000),
            ] {
                j.record_pending(&new_op(id, 100), "me", now_ms())?;
                j.db.execute(
                    "UPDATE operations SET created_at = ?2 WHERE id = ?1",
                    args![id, i64::from(at)],
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
        })
    }
}
