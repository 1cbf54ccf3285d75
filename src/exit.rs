//! The command line's exit codes (DESIGN.md "Command-line contract"): what a script may
//! rely on, whatever the words printed.

/// How a command ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// Done: the operation is final and successful, or the command did what it was asked.
    Done,
    /// Bad input, kassa not set up, or refused before anything was sent.
    Usage,
    /// The provider said no: declined, rejected, cancelled, expired, reversed; or a lookup
    /// found nothing (no such wallet, hold or Wooppay operation: one `not_found` shape).
    Declined,
    /// Not final yet or unknown: pending, or waiting for a person.
    Pending,
    /// Nothing was sent and nothing is pending: not confirmed, refused as a likely
    /// duplicate, or stopped before any row was written (a check that could not be made).
    /// A row once committed is never this, even if its first send failed: it will be sent,
    /// so a script must not retry it with a new id.
    NotSent,
}

impl Exit {
    pub const fn code(self) -> u8 {
        match self {
            Exit::Done => 0,
            Exit::Usage => 1,
            Exit::Declined => 2,
            Exit::Pending => 3,
            Exit::NotSent => 4,
        }
    }
}

impl From<Exit> for std::process::ExitCode {
    fn from(e: Exit) -> Self {
        std::process::ExitCode::from(e.code())
    }
}
