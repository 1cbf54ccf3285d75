//! A till's own journal copied into a chain's (`kassa journal migrate --from PATH`): every
//! row with its audit trail, the shifts, and the counters raised above every value the till
//! handed out, in one transaction; a row the chain already has is left as the chain has it,
//! so a second run adds nothing.

use std::collections::{HashMap, HashSet};

use super::db::{Value, args};
use super::schema::COLUMNS;
use super::{Journal, JournalError};

/// What a migration did and what it checked afterwards.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct Migrated {
    /// Rows in the till's journal.
    pub operations: u64,
    /// Of those, copied now.
    pub copied: u64,
    /// Of those, already in the chain's journal (left as they are).
    pub already: u64,
    /// Audit events copied with the new rows.
    pub events: u64,
    pub shifts: u64,
    pub counters: u64,
    /// Rows read back from the chain's journal after the commit and found the same (id,
    /// kind, amount, customer, and for a copied row its whole trail).
    pub verified: u64,
}

impl Journal {
    /// Copies `src` (a till's own journal) into this one; rows that name no till are
    /// recorded for `till`.
    pub fn migrate_from(&mut self, src: &Journal, till: &str) -> Result<Migrated, JournalError> {
        let mut m = Migrated::default();
        let rows = src.db.query(
            &format!("SELECT {COLUMNS} FROM operations ORDER BY created_at, rowid"),
            &[],
        )?;
        let mut trails: HashMap<String, Vec<super::db::Row>> = HashMap::new();
        for e in src.db.query(
            "SELECT op_id, at, kind, detail FROM events ORDER BY seq",
            &[],
        )? {
            trails.entry(e.get(0)?).or_default().push(e);
        }
        let placeholders = (1..=COLUMNS.split(',').count())
            .map(|i| format!("?{i}"))
            .collect::<Vec<_>>()
            .join(", ");
        let insert = format!(
            "INSERT INTO operations ({COLUMNS}) VALUES ({placeholders}) ON CONFLICT (id) DO NOTHING"
        );
        let till_col = COLUMNS.split(',').count() - 1;
        let mut copied = HashSet::new();
        let tx = self.db.begin()?;
        for row in &rows {
            m.operations += 1;
            let id: String = row.get(0)?;
            let mut values = row.0.clone();
            if values.get(till_col) == Some(&Value::Null) {
                values[till_col] = till.into();
            }
            if tx.execute(&insert, &values)? == 0 {
                m.already += 1;
                continue;
            }
            m.copied += 1;
            for e in trails.get(&id).map(Vec::as_slice).unwrap_or_default() {
                tx.execute(
                    "INSERT INTO events (op_id, at, kind, detail) VALUES (?1, ?2, ?3, ?4)",
                    &e.0,
                )?;
                m.events += 1;
            }
            copied.insert(id);
        }
        for s in src.db.query(
            "SELECT opened_at, opening_minor, currency, closed_at, counted_minor, \
             expected_minor, note, till FROM shifts ORDER BY id",
            &[],
        )? {
            let mut values = s.0.clone();
            if values.get(7) == Some(&Value::Null) {
                values[7] = till.into();
            }
            let known = tx.query_opt(
                "SELECT id FROM shifts WHERE opened_at = ?1 AND till = ?2",
                &[values[0].clone(), values[7].clone()],
            )?;
            if known.is_none() {
                tx.execute(
                    "INSERT INTO shifts (opened_at, opening_minor, currency, closed_at, \
                     counted_minor, expected_minor, note, till) \
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                    &values,
                )?;
                m.shifts += 1;
            }
        }
        // reqn and orderid go on from above the highest either journal handed out.
        for c in src
            .db
            .query("SELECT name, value FROM counters ORDER BY name", &[])?
        {
            tx.execute(
                "INSERT INTO counters (name, value) VALUES (?1, ?2) ON CONFLICT (name) \
                 DO UPDATE SET value = CASE WHEN counters.value > excluded.value \
                 THEN counters.value ELSE excluded.value END",
                &c.0,
            )?;
            m.counters += 1;
        }
        tx.commit()?;
        // Read back what was committed.
        for row in &rows {
            let id: String = row.get(0)?;
            let there = self
                .db
                .query_opt(
                    "SELECT kind, amount_minor, currency, customer FROM operations WHERE id = ?1",
                    args![&id],
                )?
                .ok_or_else(|| {
                    JournalError::Corrupt(format!("{id}: not in the chain's journal"))
                })?;
            if there.0[..]
                != row.0[1..2]
                    .iter()
                    .chain(&row.0[3..6])
                    .cloned()
                    .collect::<Vec<_>>()[..]
            {
                return Err(JournalError::Corrupt(format!(
                    "{id}: the chain's journal holds another operation under this id"
                )));
            }
            if copied.contains(&id) {
                let n: i64 = self
                    .db
                    .query_one("SELECT COUNT(*) FROM events WHERE op_id = ?1", args![&id])?
                    .get(0)?;
                let want = trails.get(&id).map_or(0, Vec::len);
                if usize::try_from(n).ok() != Some(want) {
                    return Err(JournalError::Corrupt(format!(
                        "{id}: {n} events in the chain's journal, {want} in the till's"
                    )));
                }
            }
            m.verified += 1;
        }
        Ok(m)
    }
}
