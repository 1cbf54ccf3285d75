//! Reading rows: one by its id, the latest of a kind, lists, a range read one row at a
//! time, a row the provider names, and how many are open.

use rusqlite::{Connection, OptionalExtension, params};

use super::schema::{COLUMNS, row_to_op};
use super::{AuditEvent, Journal, JournalError, Kind, ListFilter, Operation};

/// Row `id`, read on `conn` (inside a caller's transaction).
pub(super) fn get_in(conn: &Connection, id: &str) -> Result<Operation, JournalError> {
    // Read at every poll: the statement is kept prepared.
    static SQL: std::sync::LazyLock<String> =
        std::sync::LazyLock::new(|| format!("SELECT {COLUMNS} FROM operations WHERE id = ?1"));
    conn.prepare_cached(&SQL)?
        .query_row([id], row_to_op)
        .optional()?
        .ok_or_else(|| JournalError::NotFound(id.to_string()))?
}

impl Journal {
    pub fn get(&self, id: &str) -> Result<Operation, JournalError> {
        get_in(&self.conn, id)
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

    /// How many rows are open (pending, or an invoice issued and not yet paid), and how
    /// many of those wait for a person.
    pub fn counts(&self) -> Result<(u32, u32), JournalError> {
        // From the open rows' index alone (migration 7), never the rows themselves: read
        // before the first screen is drawn.
        let (p, r): (i64, i64) = self
            .conn
            .prepare_cached(
                "SELECT COUNT(*), COALESCE(SUM(needs_reconciliation), 0) FROM operations \
             INDEXED BY operations_open \
             WHERE state = 'pending' OR (state = 'issued' AND kind = 'wooppay.invoice')",
            )?
            .query_row([], |r| Ok((r.get(0)?, r.get(1)?)))?;
        Ok((
            u32::try_from(p).unwrap_or(u32::MAX),
            u32::try_from(r).unwrap_or(u32::MAX),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::journal::fixture::{journal, new_op};
    use crate::journal::now_ms;

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
}
