//! The lifecycle of a money operation and the one function that says which moves are legal
//! (DESIGN.md "the journal is the truth").

use std::fmt;

/// Where an operation stands. Stored by its stable tag.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum State {
    /// Written, not yet sent; only a cashier's cancel or the commit to `pending` leave it.
    Prepared,
    /// Sent, or about to be: the outcome is not known yet.
    Pending,
    /// Money moved (or: invoice paid, hold captured, WebMoney invoice issued).
    Completed,
    /// The provider refused it after looking at it.
    Declined,
    /// It ran out of time at the provider (invoice or hold).
    Expired,
    /// The cashier cancelled it before sending, or a hold was cancelled.
    Cancelled,
    /// A documented "nothing was created" error: it never happened.
    Rejected,
    /// A completed payment the provider later reported reversed or refunded.
    Reversed,
    /// A UPay hold placed and not yet captured, cancelled or expired.
    Held,
    /// A Wooppay invoice issued and not yet paid, declined or expired.
    Issued,
}

impl State {
    pub const ALL: [State; 10] = [
        State::Prepared,
        State::Pending,
        State::Completed,
        State::Declined,
        State::Expired,
        State::Cancelled,
        State::Rejected,
        State::Reversed,
        State::Held,
        State::Issued,
    ];

    pub fn tag(self) -> &'static str {
        match self {
            State::Prepared => "prepared",
            State::Pending => "pending",
            State::Completed => "completed",
            State::Declined => "declined",
            State::Expired => "expired",
            State::Cancelled => "cancelled",
            State::Rejected => "rejected",
            State::Reversed => "reversed",
            State::Held => "held",
            State::Issued => "issued",
        }
    }

    pub fn from_tag(tag: &str) -> Option<State> {
        State::ALL.into_iter().find(|s| s.tag() == tag)
    }

    /// No reply can move it any more (a completed payment may still be reported reversed,
    /// which is a new event, not a change of this answer).
    pub fn is_final(self) -> bool {
        matches!(
            self,
            State::Completed
                | State::Declined
                | State::Expired
                | State::Cancelled
                | State::Rejected
                | State::Reversed
        )
    }

    /// The catalogue key of the word a cashier sees.
    pub fn message_key(self) -> &'static str {
        match self {
            State::Prepared => "state.prepared",
            State::Pending => "state.pending",
            State::Completed => "state.completed",
            State::Declined => "state.declined",
            State::Expired => "state.expired",
            State::Cancelled => "state.cancelled",
            State::Rejected => "state.rejected",
            State::Reversed => "state.reversed",
            State::Held => "state.held",
            State::Issued => "state.issued",
        }
    }
}

impl fmt::Display for State {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.tag())
    }
}

/// Whether `from → to` is a legal move. Staying in a non-final state is legal (a reply that
/// says "still pending"); staying in a final state is handled by the caller as a no-op.
pub fn allowed(from: State, to: State) -> bool {
    use State::*;
    match from {
        Prepared => matches!(to, Pending | Cancelled),
        // Cancelled from pending: a hold whose cancel the provider confirmed.
        Pending => matches!(
            to,
            Pending | Completed | Declined | Expired | Rejected | Held | Issued | Cancelled
        ),
        // Pending again from held: a capture or cancel of the hold is in flight.
        Held => matches!(to, Held | Pending | Completed | Cancelled | Expired),
        // Cancelled: the invoice was deleted at the provider (Wooppay status 7).
        Issued => matches!(to, Issued | Completed | Declined | Expired | Cancelled),
        // The recorded exceptions to "a final state never changes" (DESIGN.md rule 4): a
        // payment reversed, and an invoice closed by its deathDate that its provider later
        // says was paid (a late payment, recorded as its own event).
        Completed => to == Reversed,
        Expired => to == Completed,
        Declined | Cancelled | Rejected | Reversed => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_round_trip() {
        for s in State::ALL {
            assert_eq!(State::from_tag(s.tag()), Some(s));
        }
        assert_eq!(State::from_tag("failed"), None);
    }

    #[test]
    fn final_states_never_change_except_a_reversal_or_a_late_payment() {
        for from in State::ALL.into_iter().filter(|s| s.is_final()) {
            for to in State::ALL {
                let legal = (from == State::Completed && to == State::Reversed)
                    || (from == State::Expired && to == State::Completed);
                assert_eq!(allowed(from, to), legal, "{from} -> {to}");
            }
        }
    }

    #[test]
    fn nothing_is_sent_without_passing_pending() {
        assert!(!allowed(State::Prepared, State::Completed));
        assert!(!allowed(State::Prepared, State::Declined));
        assert!(allowed(State::Prepared, State::Pending));
        assert!(allowed(State::Pending, State::Completed));
        assert!(!allowed(State::Prepared, State::Held));
        assert!(!allowed(State::Pending, State::Prepared));
    }
}
