//! [`TimerQueue`]: the timers foca asked for, kept by deadline.
//!
//! foca hands out timers as "after this duration"; it expects them back in the order
//! they fall due (foca issue #26: a probe timer handed back before an earlier indirect
//! probe timer ends the probe cycle early, `IncompleteProbeCycle`). The queue is a
//! min-heap on (deadline, submission number): due timers come out by deadline, and
//! timers with the same deadline in the order they were submitted.

use core::cmp::{Ordering, Reverse};
use core::time::Duration;
use std::collections::BinaryHeap;

use foca::Timer;
use ravelin_hal::Instant;

use super::identity::MemberId;

struct Entry {
    deadline: Instant,
    seq: u64,
    timer: Timer<MemberId>,
}

impl PartialEq for Entry {
    fn eq(&self, other: &Self) -> bool {
        (self.deadline, self.seq) == (other.deadline, other.seq)
    }
}

impl Eq for Entry {}

impl PartialOrd for Entry {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Entry {
    fn cmp(&self, other: &Self) -> Ordering {
        (self.deadline, self.seq).cmp(&(other.deadline, other.seq))
    }
}

/// foca's pending timers, earliest first.
#[derive(Default)]
pub(crate) struct TimerQueue {
    heap: BinaryHeap<Reverse<Entry>>,
    seq: u64,
}

impl TimerQueue {
    /// Keeps `timer` until `now + after`.
    pub(crate) fn push(&mut self, now: Instant, after: Duration, timer: Timer<MemberId>) {
        self.seq = self.seq.wrapping_add(1);
        self.heap.push(Reverse(Entry {
            deadline: now.saturating_add(after),
            seq: self.seq,
            timer,
        }));
    }

    /// The earliest deadline.
    pub(crate) fn next_deadline(&self) -> Option<Instant> {
        self.heap.peek().map(|Reverse(entry)| entry.deadline)
    }

    /// A mark for [`pop_due`](Self::pop_due): timers submitted after it are left for
    /// a later round.
    pub(crate) fn mark(&self) -> u64 {
        self.seq
    }

    /// The earliest timer if it is due at `now` and was submitted before `mark`: a
    /// timer foca asks for while its due timers are handed back waits for the next
    /// round, even with a zero delay, so one round always ends.
    pub(crate) fn pop_due(&mut self, now: Instant, mark: u64) -> Option<Timer<MemberId>> {
        let Reverse(entry) = self.heap.peek()?;
        if entry.deadline > now || entry.seq > mark {
            return None;
        }
        self.heap.pop().map(|Reverse(entry)| entry.timer)
    }

    /// How many timers are pending.
    pub(crate) fn len(&self) -> usize {
        self.heap.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn due_timers_come_out_by_deadline_then_submission() {
        let mut queue = TimerQueue::default();
        let at = |ms: u64| Instant::from_nanos(ms * 1_000_000);
        let ms = Duration::from_millis;
        queue.push(at(0), ms(30), Timer::PeriodicGossip(3));
        queue.push(at(0), ms(10), Timer::ProbeRandomMember(1));
        queue.push(at(5), ms(5), Timer::PeriodicAnnounce(2));
        queue.push(at(0), ms(20), Timer::PeriodicGossip(4));
        assert_eq!(queue.next_deadline(), Some(at(10)));
        let mark = queue.mark();
        assert_eq!(queue.pop_due(at(9), mark), None);
        let due: Vec<_> = core::iter::from_fn(|| queue.pop_due(at(25), mark)).collect();
        assert_eq!(
            due,
            [
                Timer::ProbeRandomMember(1),
                Timer::PeriodicAnnounce(2),
                Timer::PeriodicGossip(4)
            ]
        );
        assert_eq!(queue.len(), 1);
        assert_eq!(queue.next_deadline(), Some(at(30)));
    }

    #[test]
    fn a_timer_submitted_during_a_round_waits_for_the_next() {
        let mut queue = TimerQueue::default();
        let now = Instant::from_nanos(5);
        queue.push(now, Duration::ZERO, Timer::ProbeRandomMember(1));
        let mark = queue.mark();
        assert_eq!(queue.pop_due(now, mark), Some(Timer::ProbeRandomMember(1)));
        queue.push(now, Duration::ZERO, Timer::ProbeRandomMember(2));
        assert_eq!(queue.pop_due(now, mark), None);
        assert_eq!(
            queue.pop_due(now, queue.mark()),
            Some(Timer::ProbeRandomMember(2))
        );
    }
}
