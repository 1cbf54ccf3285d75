//! One sleeper for every row in flight. A row waiting for its next poll is an id and a due
//! time in a heap, not a task asleep with its row in memory; when rows fall due they queue
//! per provider, and at most `[worker] max_in_flight` of each provider's are sent at once.
//! The steps themselves (claim, send, judge) are `poll::step`'s; this module only decides
//! when each runs, and does no I/O of its own.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap, VecDeque};
use std::time::Duration;

use tokio::sync::{mpsc, oneshot};
use tokio::time::Instant;

use super::Ctx;
use super::poll::{self, Next, Run};

/// A row the schedule drives, and whoever waits for it to be done.
pub(crate) struct Slot {
    pub id: String,
    pub run: Run,
    waiters: Vec<oneshot::Sender<()>>,
}

enum Msg {
    /// Drive this row, its first step at `at`.
    Add { slot: Slot, at: Instant },
    /// A request of `provider` was answered, or never went out: another may go.
    Freed { provider: &'static str },
    /// One step of a row ended; `next` when the row goes on.
    Stepped { next: Option<(Slot, Duration)> },
}

/// A place among the `max_in_flight` requests out to one provider, given back when it is
/// dropped: a step drops it as soon as its request is answered, so that the next rows go
/// out while its answer waits for the journal (and their calls share that commit).
pub(crate) struct Permit {
    provider: &'static str,
    tx: mpsc::UnboundedSender<Msg>,
}

impl Drop for Permit {
    fn drop(&mut self) {
        // The schedule stopped: nobody is left to give the place to.
        let _ = self.tx.send(Msg::Freed {
            provider: self.provider,
        });
    }
}

/// The handle every worker task holds to put a row on the schedule.
#[derive(Clone)]
pub(crate) struct Schedule {
    tx: mpsc::UnboundedSender<Msg>,
}

impl Schedule {
    pub fn new() -> (Schedule, Receiver) {
        let (tx, rx) = mpsc::unbounded_channel();
        (Schedule { tx }, Receiver(rx))
    }

    /// Drives row `id` from `at` on; `done` hears when it stops being driven (final, for a
    /// person, taken by another process, or kassa stopping).
    pub fn add(&self, id: String, run: Run, at: Instant, done: Option<oneshot::Sender<()>>) {
        let slot = Slot {
            id,
            run,
            waiters: done.into_iter().collect(),
        };
        if self.tx.send(Msg::Add { slot, at }).is_err() {
            // The schedule has stopped: kassa is stopping, the row stays pending for the next
            // start.
            tracing::debug!("schedule stopped; row left for the next start");
        }
    }
}

pub(crate) struct Receiver(mpsc::UnboundedReceiver<Msg>);

/// Rows waiting for their time, oldest due first (ties in the order they came).
#[derive(Default)]
struct Timeline {
    heap: BinaryHeap<Reverse<(Instant, u64)>>,
    slots: HashMap<u64, Slot>,
    seq: u64,
}

impl Timeline {
    fn push(&mut self, at: Instant, slot: Slot) {
        self.seq = self.seq.wrapping_add(1);
        self.heap.push(Reverse((at, self.seq)));
        self.slots.insert(self.seq, slot);
    }

    fn next_due(&self) -> Option<Instant> {
        self.heap.peek().map(|Reverse((at, _))| *at)
    }

    /// Every slot due by `now`.
    fn take_due(&mut self, now: Instant) -> Vec<Slot> {
        let mut due = Vec::new();
        while let Some(Reverse((at, seq))) = self.heap.peek().copied() {
            if at > now {
                break;
            }
            self.heap.pop();
            due.extend(self.slots.remove(&seq));
        }
        due
    }

    fn drain(&mut self) -> impl Iterator<Item = Slot> + '_ {
        self.heap.clear();
        self.slots.drain().map(|(_, s)| s)
    }
}

/// Runs the schedule until kassa stops; then gives back, in one transaction, the leases of
/// the rows still waiting, and tells everyone waiting for them.
pub(crate) async fn run(ctx: Ctx, mut rx: Receiver) {
    let limit = ctx.settings.max_in_flight.max(1);
    let mut timeline = Timeline::default();
    let mut ready: HashMap<&'static str, VecDeque<Slot>> = HashMap::new();
    let mut busy: HashMap<&'static str, usize> = HashMap::new();
    let origin = Instant::now();
    loop {
        let due = timeline.next_due();
        let msg = tokio::select! {
            _ = ctx.shutdown.cancelled() => break,
            m = rx.0.recv() => m,
            () = sleep_until(due) => None,
        };
        match msg {
            Some(Msg::Add { slot, at }) => timeline.push(at, slot),
            Some(Msg::Freed { provider }) => {
                if let Some(n) = busy.get_mut(provider) {
                    *n = n.saturating_sub(1);
                }
            }
            Some(Msg::Stepped {
                next: Some((slot, wait)),
            }) => timeline.push(on_tick(origin, Instant::now() + wait), slot),
            Some(Msg::Stepped { next: None }) => {}
            None => {}
        }
        for slot in timeline.take_due(Instant::now()) {
            ready
                .entry(slot.run.kind.provider())
                .or_default()
                .push_back(slot);
        }
        for (provider, queue) in &mut ready {
            let n = busy.entry(provider).or_default();
            while *n < limit {
                let Some(slot) = queue.pop_front() else { break };
                *n += 1;
                let permit = Permit {
                    provider,
                    tx: ctx.schedule.tx.clone(),
                };
                tokio::spawn(step(ctx.clone(), slot, permit));
            }
        }
    }
    let waiting: Vec<Slot> = timeline
        .drain()
        .chain(ready.into_values().flatten())
        .collect();
    if !waiting.is_empty() {
        let holder = ctx.holder.clone();
        match super::db(&ctx, move |j| j.release_all(&holder)).await {
            Ok(n) => tracing::info!(
                rows = n,
                "leases given back; the rows resume on the next start"
            ),
            Err(e) => {
                tracing::warn!(error = %e, "could not give leases back; they expire by themselves")
            }
        }
        for slot in waiting {
            ctx.stop_driving(&slot.id);
        }
    }
}

/// Polls fall due on a grid of this step: the rows due within one step go out together,
/// and the journal's thread and the runtime wake once for them all rather than once each.
/// A row a cashier just confirmed is not held back (its first step is due at once).
const TICK: Duration = Duration::from_millis(100);

/// `at`, put off to the next step of the grid that starts at `origin`.
fn on_tick(origin: Instant, at: Instant) -> Instant {
    let since = at.saturating_duration_since(origin).as_nanos();
    let step = TICK.as_nanos();
    let ticks = since.div_ceil(step);
    let off = u64::try_from(ticks.saturating_mul(step)).unwrap_or(u64::MAX);
    origin + Duration::from_nanos(off)
}

async fn sleep_until(at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

/// One step of one row, then back to the schedule (or done).
async fn step(ctx: Ctx, mut slot: Slot, permit: Permit) {
    let next = match poll::step(&ctx, &slot.id, &mut slot.run, permit).await {
        Next::Again(wait) => Some((slot, wait)),
        Next::Done { released } => {
            poll::finish(&ctx, &slot.id, released).await;
            for w in slot.waiters.drain(..) {
                let _ = w.send(());
            }
            None
        }
    };
    if ctx.schedule.tx.send(Msg::Stepped { next }).is_err() {
        tracing::debug!("schedule stopped");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::journal::Kind;

    fn slot(id: &str) -> Slot {
        Slot {
            id: id.into(),
            run: Run::new(Kind::AllpayCashIn),
            waiters: Vec::new(),
        }
    }

    #[test]
    fn polls_fall_due_on_the_grid_never_early() {
        let o = Instant::now();
        let ms = Duration::from_millis;
        assert_eq!(on_tick(o, o), o);
        assert_eq!(on_tick(o, o + ms(1)), o + TICK);
        assert_eq!(on_tick(o, o + TICK), o + TICK);
        assert_eq!(on_tick(o, o + ms(4_050)), o + ms(4_100));
        for t in [0, 1, 99, 100, 101, 3_999, 123_456] {
            let at = o + ms(t);
            let due = on_tick(o, at);
            assert!(due >= at && due - at < TICK, "{t}");
        }
    }

    #[test]
    fn rows_fall_due_in_time_order_and_ties_in_arrival_order() {
        let t0 = Instant::now();
        let mut tl = Timeline::default();
        tl.push(t0 + Duration::from_secs(3), slot("c"));
        tl.push(t0 + Duration::from_secs(1), slot("a"));
        tl.push(t0 + Duration::from_secs(1), slot("b"));
        tl.push(t0 + Duration::from_secs(9), slot("late"));
        assert_eq!(tl.next_due(), Some(t0 + Duration::from_secs(1)));
        assert!(tl.take_due(t0).is_empty());
        let due: Vec<String> = tl
            .take_due(t0 + Duration::from_secs(3))
            .into_iter()
            .map(|s| s.id)
            .collect();
        assert_eq!(due, ["a", "b", "c"]);
        assert_eq!(tl.next_due(), Some(t0 + Duration::from_secs(9)));
        assert_eq!(tl.drain().count(), 1);
        assert_eq!(tl.next_due(), None);
    }
}
