//! Counters that only go up (WebMoney reqn, orderid), kept in the journal so that a restart
//! never hands out a value twice.

use super::db::args;
use super::{Journal, JournalError};

impl Journal {
    /// The next value of a counter (WebMoney reqn, orderid): one more than the last one
    /// handed out, and never below `floor`; committed before it is returned, so a restart,
    /// a lost row or two quick callers never see a value twice or a lower one.
    pub fn next_counter(&mut self, name: &str, floor: i64) -> Result<i64, JournalError> {
        let tx = self.db.begin()?;
        let last: Option<i64> = tx
            .query_opt("SELECT value FROM counters WHERE name = ?1", args![name])?
            .map(|r| r.get(0))
            .transpose()?;
        let next = last.map_or(floor, |v| v.saturating_add(1).max(floor));
        tx.execute(
            "INSERT INTO counters (name, value) VALUES (?1, ?2) \
             ON CONFLICT(name) DO UPDATE SET value = excluded.value",
            args![name, next],
        )?;
        tx.commit()?;
        Ok(next)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
