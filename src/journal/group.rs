//! Group commit: the calls of many rows polling at once share one transaction and one wait
//! for the disk. Each call keeps its own savepoint, so one that fails undoes only itself;
//! nobody is told a call's result before the group is on disk, so durability is what it
//! was with a commit per call.

use super::{Journal, JournalError};

impl Journal {
    /// Opens a group; `false` when this journal does not group (PostgreSQL), and each call
    /// then commits on its own as always.
    pub fn begin_group(&mut self) -> Result<bool, JournalError> {
        self.db.begin_group()
    }

    /// Commits the group. On an error nothing of the group's calls was kept: every call's
    /// caller must be told so instead of its result.
    pub fn end_group(&mut self) -> Result<(), JournalError> {
        self.db.end_group()
    }

    /// Whether the group is still open: SQLite rolls a transaction back by itself after some
    /// errors (a full disk, an I/O error), and the calls after that are on their own.
    pub fn in_group(&self) -> bool {
        self.db.in_group()
    }

    /// What SQLite does to an open group after an I/O error: rolls all of it back.
    #[cfg(test)]
    pub(crate) fn roll_back_group(&mut self) -> Result<(), JournalError> {
        self.db.batch("ROLLBACK")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::journal::fixture::{journal, new_op};
    use crate::journal::{Facts, State, now_ms};

    #[test]
    fn a_group_keeps_its_calls_and_a_failed_call_undoes_only_itself() -> Result<(), JournalError> {
        let (dir, mut j) = journal();
        let until = now_ms() + 60_000;
        j.record_pending(&new_op("{a}", 100), "me", until)?;
        j.record_pending(&new_op("{b}", 200), "me", until)?;
        assert!(j.begin_group()?);
        assert!(j.in_group());
        let (n, _) = j.begin_attempt("{a}", "me", until)?;
        assert_eq!(n, 1);
        // Refused half-way (a second move the lifecycle does not allow): the first move is
        // undone with it, the refusal noted, and the group goes on.
        let still = Facts::default();
        let refused = j.transitions(
            "{b}",
            "me",
            Some(State::Pending),
            &[(State::Pending, &still), (State::Prepared, &still)],
        );
        assert!(matches!(
            refused,
            Err(JournalError::IllegalTransition { .. })
        ));
        let (n, _) = j.begin_attempt("{b}", "me", until)?;
        assert_eq!(n, 1);
        assert!(j.in_group(), "a call's end is not the group's");
        // Another connection sees nothing before the group's commit.
        let other = crate::journal::Journal::open(&dir.path().join("j.db"))?;
        assert_eq!(other.get("{a}")?.attempts, 0);
        j.end_group()?;
        assert!(!j.in_group());
        assert_eq!(other.get("{a}")?.attempts, 1);
        assert_eq!(other.get("{b}")?.attempts, 1);
        let kinds: Vec<String> = other.events("{b}")?.into_iter().map(|e| e.kind).collect();
        assert_eq!(
            kinds,
            ["created", "anomaly", "sent"],
            "the refused call's move was undone, its note kept"
        );
        Ok(())
    }

    #[test]
    fn a_group_whose_commit_fails_keeps_none_of_its_calls() -> Result<(), JournalError> {
        let (_dir, mut j) = journal();
        let until = now_ms() + 60_000;
        j.record_pending(&new_op("{a}", 100), "me", until)?;
        assert!(j.begin_group()?);
        j.begin_attempt("{a}", "me", until)?;
        j.roll_back_group()?;
        assert!(matches!(j.end_group(), Err(JournalError::Uncommitted(_))));
        assert_eq!(j.get("{a}")?.attempts, 0);
        Ok(())
    }
}
