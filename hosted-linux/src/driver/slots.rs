//! The table of a ring's operations in flight, indexed by their `user_data`: kind
//! `0x00`, a 24-bit generation in bits 55..32 and the slot index in bits 31..0 (see
//! [`uring`](crate::uring)'s table). The generation changes each time a slot is
//! freed, so a late completion or cancel for an earlier occupant is recognised and
//! ignored.

use std::sync::Arc;

use super::op::Slot;

const GENERATION_MASK: u32 = (1 << 24) - 1;

struct Entry {
    generation: u32,
    op: Option<Arc<dyn Slot>>,
}

/// Operations in flight on one ring.
#[derive(Default)]
pub(crate) struct Slots {
    entries: Vec<Entry>,
    free: Vec<u32>,
    live: usize,
}

fn split(user_data: u64) -> Option<(usize, u32)> {
    if user_data >> 56 != 0 {
        return None; // not an operation's
    }
    Some((
        (user_data & u64::from(u32::MAX)) as usize,
        (user_data >> 32) as u32 & GENERATION_MASK,
    ))
}

impl Slots {
    /// Stores the operation `make` builds from its `user_data`, and returns it.
    pub(crate) fn insert<S: Slot + 'static>(&mut self, make: impl FnOnce(u64) -> Arc<S>) -> Arc<S> {
        let index = match self.free.pop() {
            Some(index) => index as usize,
            None => {
                self.entries.push(Entry {
                    generation: 0,
                    op: None,
                });
                self.entries.len() - 1
            }
        };
        let entry = &mut self.entries[index];
        let user_data = (u64::from(entry.generation) << 32) | index as u64;
        let op = make(user_data);
        entry.op = Some(op.clone());
        self.live += 1;
        op
    }

    /// Whether `user_data` names an operation still in flight.
    pub(crate) fn contains(&self, user_data: u64) -> bool {
        split(user_data).is_some_and(|(index, generation)| {
            self.entries
                .get(index)
                .is_some_and(|e| e.generation == generation && e.op.is_some())
        })
    }

    /// Removes and returns the operation `user_data` names, if still in flight.
    pub(crate) fn remove(&mut self, user_data: u64) -> Option<Arc<dyn Slot>> {
        let (index, generation) = split(user_data)?;
        let entry = self.entries.get_mut(index)?;
        if entry.generation != generation {
            return None;
        }
        let op = entry.op.take()?;
        entry.generation = (entry.generation + 1) & GENERATION_MASK;
        self.free.push(index as u32);
        self.live -= 1;
        Some(op)
    }

    /// The `user_data` of every operation in flight.
    pub(crate) fn in_flight(&self) -> Vec<u64> {
        self.entries
            .iter()
            .enumerate()
            .filter(|(_, e)| e.op.is_some())
            .map(|(index, e)| (u64::from(e.generation) << 32) | index as u64)
            .collect()
    }

    /// Forgets every operation still in flight, payload and all: for a ring about to
    /// be closed while the kernel may still write into those buffers.
    pub(crate) fn leak(&mut self) {
        for entry in &mut self.entries {
            if let Some(op) = entry.op.take() {
                core::mem::forget(op);
            }
        }
        self.live = 0;
    }

    /// How many operations are in flight.
    pub(crate) fn len(&self) -> usize {
        self.live
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::driver::op::Outcome;

    struct Nothing(u64);
    fn user_data(op: Arc<Nothing>) -> u64 {
        op.0
    }
    impl Slot for Nothing {
        fn complete(&self, _: i32) -> Option<Outcome> {
            None
        }
    }

    #[test]
    fn generations_tell_occupants_apart() {
        let mut slots = Slots::default();
        let a = user_data(slots.insert(|ud| Arc::new(Nothing(ud))));
        assert!(slots.contains(a) && slots.len() == 1);
        assert!(slots.remove(a).is_some());
        assert!(slots.remove(a).is_none(), "a second completion is ignored");
        let b = user_data(slots.insert(|ud| Arc::new(Nothing(ud))));
        assert_eq!(b & 0xFFFF_FFFF, a & 0xFFFF_FFFF, "the slot is reused");
        assert_ne!(a, b);
        assert!(!slots.contains(a) && slots.contains(b));
        assert!(slots.remove(a).is_none(), "a stale cancel or completion");
        assert_eq!(slots.in_flight(), [b]);
        assert!(slots.remove(0xF0 << 56).is_none(), "the parker's kinds");
    }
}
