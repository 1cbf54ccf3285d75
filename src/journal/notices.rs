//! Notifications from the providers, kept as they arrived before the provider is told so
//! (a transactional inbox): the listener answers only once its notice is committed, and a
//! notice a crash left unhandled is acted on at the next start.

use rusqlite::params;

use super::{Journal, JournalError, now_ms};

/// Where a notice came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NoticeSource {
    /// UPay about a hold (its HoldId): a reason to check the hold.
    UpayHold,
    /// UPay about a card registration (its CardToken): the card's outcome.
    UpayCard,
}

impl NoticeSource {
    pub fn tag(self) -> &'static str {
        match self {
            NoticeSource::UpayHold => "upay.hold",
            NoticeSource::UpayCard => "upay.card",
        }
    }

    fn from_tag(tag: &str) -> Option<NoticeSource> {
        match tag {
            "upay.hold" => Some(NoticeSource::UpayHold),
            "upay.card" => Some(NoticeSource::UpayCard),
            _ => None,
        }
    }
}

/// A notice as kept: what it names and what it said.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notice {
    pub id: i64,
    pub received_at: i64,
    pub source: NoticeSource,
    /// The HoldId or CardToken it names.
    pub target: String,
    pub status: String,
    pub message: String,
}

impl Journal {
    /// Keeps a notice (committed when this returns).
    pub fn record_notice(
        &mut self,
        source: NoticeSource,
        target: &str,
        status: &str,
        message: &str,
    ) -> Result<Notice, JournalError> {
        let now = now_ms();
        self.conn.execute(
            "INSERT INTO notices (received_at, source, target, status, message) \
             VALUES (?1, ?2, ?3, ?4, ?5)",
            params![now, source.tag(), target, status, message],
        )?;
        Ok(Notice {
            id: self.conn.last_insert_rowid(),
            received_at: now,
            source,
            target: target.to_string(),
            status: status.to_string(),
            message: message.to_string(),
        })
    }

    /// The notices not yet acted on, oldest first.
    pub fn open_notices(&self) -> Result<Vec<Notice>, JournalError> {
        let mut stmt = self.conn.prepare(
            "SELECT id, received_at, source, target, status, message FROM notices \
             WHERE handled_at IS NULL ORDER BY id",
        )?;
        let rows = stmt.query_map([], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, i64>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, String>(3)?,
                r.get::<_, String>(4)?,
                r.get::<_, String>(5)?,
            ))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (id, received_at, source, target, status, message) = row?;
            let source = NoticeSource::from_tag(&source)
                .ok_or_else(|| JournalError::Corrupt(format!("notice {id}: source {source}")))?;
            out.push(Notice {
                id,
                received_at,
                source,
                target,
                status,
                message,
            });
        }
        Ok(out)
    }

    /// Marks a notice acted on.
    pub fn notice_handled(&mut self, id: i64) -> Result<(), JournalError> {
        self.conn.execute(
            "UPDATE notices SET handled_at = ?2 WHERE id = ?1 AND handled_at IS NULL",
            params![id, now_ms()],
        )?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::journal::fixture::journal;

    #[test]
    fn a_notice_is_kept_until_it_is_acted_on() -> Result<(), JournalError> {
        let (_d, mut j) = journal();
        let n = j.record_notice(NoticeSource::UpayCard, "tok", "0", "Success")?;
        j.record_notice(NoticeSource::UpayHold, "3794", "1", "")?;
        let open = j.open_notices()?;
        assert_eq!(open.len(), 2);
        assert_eq!(open[0], n);
        j.notice_handled(n.id)?;
        let open = j.open_notices()?;
        assert_eq!(open.len(), 1);
        assert_eq!(open[0].source, NoticeSource::UpayHold);
        Ok(())
    }
}
