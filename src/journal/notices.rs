//! Notifications from the providers, kept as they arrived before the provider is told so
//! (a transactional inbox): the listener answers only once its notice is committed, and a
//! notice a crash left unhandled is acted on at the next start.

use super::db::args;
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
        let id: i64 = self
            .db
            .query_one(
                "INSERT INTO notices (received_at, source, target, status, message) \
                 VALUES (?1, ?2, ?3, ?4, ?5) RETURNING id",
                args![now, source.tag(), target, status, message],
            )?
            .get(0)?;
        Ok(Notice {
            id,
            received_at: now,
            source,
            target: target.to_string(),
            status: status.to_string(),
            message: message.to_string(),
        })
    }

    /// The notices not yet acted on, oldest first.
    pub fn open_notices(&self) -> Result<Vec<Notice>, JournalError> {
        let rows = self.db.query(
            "SELECT id, received_at, source, target, status, message FROM notices \
             WHERE handled_at IS NULL ORDER BY id",
            &[],
        )?;
        let mut out = Vec::new();
        for row in rows {
            let (id, received_at, source, target, status, message): (
                i64,
                i64,
                String,
                String,
                String,
                String,
            ) = (
                row.get(0)?,
                row.get(1)?,
                row.get(2)?,
                row.get(3)?,
                row.get(4)?,
                row.get(5)?,
            );
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
        self.db.execute(
            "UPDATE notices SET handled_at = ?2 WHERE id = ?1 AND handled_at IS NULL",
            args![id, now_ms()],
        )?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::journal::fixture::each_journal;

    #[test]
    fn a_notice_is_kept_until_it_is_acted_on() -> Result<(), JournalError> {
        each_journal(|j| {
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
        })
    }
}
