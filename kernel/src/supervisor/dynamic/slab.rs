//! [`Slab`]: the dynamic supervisor's table of children: a vector of slots and a free
//! list through the vacant ones, each slot with a generation, so that start, lookup and
//! removal are O(1) and an id of a removed child never reaches the child that reuses
//! its slot.

use alloc::vec::Vec;

use super::ChildId;

/// A slot: the child's value while occupied, else the next vacant slot.
struct Slot<P> {
    value: Option<P>,
    generation: u32,
    next_free: u32,
}

/// No next vacant slot.
const NONE: u32 = u32::MAX;

/// The table.
pub(crate) struct Slab<P> {
    slots: Vec<Slot<P>>,
    free: u32,
    len: usize,
}

impl<P> Slab<P> {
    pub(crate) const fn new() -> Self {
        Self {
            slots: Vec::new(),
            free: NONE,
            len: 0,
        }
    }

    /// Children in the table.
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// Slots, vacant or not.
    pub(crate) fn slot_count(&self) -> usize {
        self.slots.len()
    }

    /// The id the next [`insert`](Self::insert) will use; `None` if the table is full
    /// (2³² − 1 slots).
    pub(crate) fn next_id(&self) -> Option<ChildId> {
        if self.free != NONE {
            let slot = &self.slots[self.free as usize];
            return Some(ChildId {
                index: self.free,
                generation: slot.generation,
            });
        }
        let index = u32::try_from(self.slots.len())
            .ok()
            .filter(|&i| i != NONE)?;
        Some(ChildId {
            index,
            generation: 0,
        })
    }

    /// Stores `value` under `id`, which [`next_id`](Self::next_id) just returned.
    pub(crate) fn insert(&mut self, id: ChildId, value: P) {
        if id.index == self.free {
            let slot = &mut self.slots[id.index as usize];
            debug_assert!(slot.value.is_none() && slot.generation == id.generation);
            self.free = slot.next_free;
            slot.value = Some(value);
        } else {
            debug_assert_eq!(id.index as usize, self.slots.len());
            self.slots.push(Slot {
                value: Some(value),
                generation: id.generation,
                next_free: NONE,
            });
        }
        self.len += 1;
    }

    /// The value under `id`, if it is still there.
    pub(crate) fn get(&self, id: ChildId) -> Option<&P> {
        let slot = self.slots.get(id.index as usize)?;
        (slot.generation == id.generation)
            .then_some(slot.value.as_ref())
            .flatten()
    }

    /// Takes the value under `id` out; its slot gets a new generation.
    pub(crate) fn remove(&mut self, id: ChildId) -> Option<P> {
        let slot = self.slots.get_mut(id.index as usize)?;
        if slot.generation != id.generation {
            return None;
        }
        let value = slot.value.take()?;
        slot.generation = slot.generation.wrapping_add(1);
        slot.next_free = self.free;
        self.free = id.index;
        self.len -= 1;
        Some(value)
    }

    /// The size of one slot: what the table holds per child.
    pub(crate) const SLOT_SIZE: usize = core::mem::size_of::<Slot<P>>();

    /// Calls `f` on values from slot `start` on, until `f` has been called `max` times
    /// or every slot was seen; returns the slot to start from next time (the table's
    /// length once every slot was seen).
    pub(crate) fn visit_from(&self, start: usize, max: usize, mut f: impl FnMut(&P)) -> usize {
        let mut index = start;
        let mut visited = 0;
        while index < self.slots.len() && visited < max {
            if let Some(value) = &self.slots[index].value {
                f(value);
                visited += 1;
            }
            index += 1;
        }
        index
    }

    /// Takes every value out (each slot gets a new generation), in slot order.
    pub(crate) fn take_all(&mut self) -> Vec<P> {
        let mut taken = Vec::with_capacity(self.len);
        for index in 0..self.slots.len() {
            let generation = self.slots[index].generation;
            let id = ChildId {
                index: index as u32,
                generation,
            };
            if let Some(value) = self.remove(id) {
                taken.push(value);
            }
        }
        taken
    }
}
