//! The per-worker run queue: a bounded ring of [`Runnable`]s with one owner and any
//! number of stealers.
//!
//! The design is the one of Tokio's multi-threaded scheduler
//! (`tokio/src/runtime/scheduler/multi_thread/queue.rs`), itself a descendant of the
//! Chase-Lev work-stealing deque (Chase and Lev, "Dynamic Circular Work-Stealing Deque",
//! SPAA 2005), written anew for Ravelin: a fixed array, no allocator, 32-bit atomics on
//! targets without 64-bit ones.
//!
//! # Shape
//!
//! A [`Queue`] is a ring of [`CAPACITY`] slots and three cursors that only ever grow
//! (wrapping) and are reduced modulo `CAPACITY` to index the ring:
//!
//! ```text
//!   steal            real                           tail
//!     |  being copied  |     queued (initialised)     |        free        |
//!     v  by a stealer  v                              v                    v
//! ----[================[==============================[--------------------]----
//!                                                             steal + CAPACITY
//! ```
//!
//! - `tail` is where the owner pushes next. Only the owner writes it.
//! - `real` is the oldest queued runnable: the owner's `pop` and every stealer take from
//!   here, by a compare-and-swap on the head word.
//! - `steal` trails `real` while a stealer copies the slots `[steal, real)` out; when no
//!   steal is in progress `steal == real`. The owner must not reuse those slots yet, so
//!   the free region ends at `steal + CAPACITY`, not `real + CAPACITY`.
//!
//! `steal` and `real` are packed into one atomic word, the head, so that one CAS moves
//! both consistently. Where the target has 64-bit atomics they are two `u32` in an
//! `AtomicU64`; elsewhere (thumbv7em) two `u16` in an `AtomicU32`. The wider cursors
//! matter because a CAS cannot tell a head from the same head `2^bits` advances later
//! (ABA): with `u16` a stealer preempted between reading the head and its CAS while the
//! owner advances it by a multiple of 65 536 could claim slots that are no longer queued.
//! A hosted worker runs that many tiny procs in milliseconds, well within one time slice
//! of a preempted thread; with `u32` it would have to stay preempted for 2³² operations,
//! minutes of uninterrupted work (Tokio makes the same choice). Targets without 64-bit
//! atomics are, for Ravelin, microcontrollers: mostly single-core, where no stealer runs.
//!
//! # Operations
//!
//! - **push** (owner, [`Local::push_back`]): if `tail - steal < CAPACITY`, write slot
//!   `tail`, then publish it with a `Release` store of `tail + 1`. Otherwise the ring is
//!   full: if no steal is in progress, claim the older half with one CAS of the head
//!   (`real += CAPACITY / 2`) and hand it, followed by the new runnable, to the caller's
//!   overflow sink as one [`Batch`] (the scheduler pushes it to its global injection
//!   queue). If a steal *is* in progress the half cannot be claimed (those cursors are in
//!   flux) and room is about to appear, but the owner does not wait: it hands over the
//!   new runnable alone, as a batch of one. Nothing is dropped and nothing spins: a failed
//!   CAS means a stealer moved the head, and the retry then finds room or a steal in
//!   progress, so the loop runs at most twice.
//! - **pop** (owner, [`Local::pop`]): FIFO, from `real`, by a CAS of the head (moving
//!   `steal` along if no steal is in progress). This is Tokio's choice, not Chase-Lev's
//!   LIFO pop at the tail: taking from the head needs no fence-based race with stealers
//!   for the last item, keeps the worker's own procs fair (oldest first), and locality
//!   for the proc just woken by a message comes from the scheduler's separate LIFO slot.
//! - **steal** ([`Stealer::steal_into`]), in two phases so that the owner can keep
//!   pushing and popping meanwhile:
//!   1. *claim*: if `steal != real` another steal is in progress and this one backs off
//!      (returns `None`) rather than waiting. Otherwise CAS the head from
//!      `(real, real)` to `(real, real + n)`, `n` being half of the queued runnables,
//!      rounded up. The slots `[real, real + n)` now belong to this stealer; the owner
//!      can no longer pop them, nor yet overwrite them.
//!   2. copy them into the thief's own queue (all but the last, which is returned to be
//!      run at once), then *commit*: CAS the head so that `steal` catches up with
//!      `real` (which the owner's pops may have moved meanwhile; this CAS retries only
//!      when the owner made progress). Finally publish the thief's new `tail`.
//!
//! # Invariants and who may touch what
//!
//! 1. `steal <= real <= tail <= steal + CAPACITY`, in wrapping arithmetic.
//! 2. Slots `[real, tail)` hold initialised runnables. Whoever moves `real` past a slot by
//!    a successful CAS owns that slot's runnable and moves it out exactly once: the owner
//!    (pop, overflow) or a stealer (claim).
//! 3. Slots `[tail, steal + CAPACITY)` are free; only the owner writes them.
//! 4. Only the owner writes `tail`; anyone may read it. Only the owner (pop, overflow)
//!    and stealers (claim, commit) write the head, always by CAS.
//!
//! Memory orderings:
//! - The owner's `Release` store of `tail` publishes the slot it wrote; readers load
//!   `tail` with `Acquire` before reading a slot. The owner itself loads its `tail`
//!   `Relaxed`: it is the only writer.
//! - Every CAS of the head is `AcqRel` and every load of it `Acquire`. A stealer's commit
//!   (`Release`) orders its reads of the slots before the owner's `Acquire` load of the
//!   head that frees them for reuse. And anyone who sees a head has seen a `tail` at least
//!   as far (every CAS that moves `real` was made by a thread that had seen such a
//!   `tail`), so `tail - real` never underflows for a fresh head; for a stale one the CAS
//!   fails.
//! - Slots are never read speculatively: a stealer reads only what its CAS claimed
//!   (unlike crossbeam's deque, whose racy reads are undefined behaviour, TRAPS.md #12).
//!
//! # Ownership and dropping
//!
//! A [`Queue`] lives wherever the scheduler puts it (a `static`, a worker's struct): it
//! is built by a `const fn` and needs no allocator. [`Queue::local`] hands out the single
//! owner handle, [`Local`] (not `Clone`, not `Sync`: the single-producer rule is enforced
//! by a claim flag, not left to a safety contract); [`Queue::stealer`] hands out any
//! number of [`Stealer`]s (`Copy`, `Send`, `Sync`).
//!
//! Dropping a [`Runnable`] unrun cancels its proc, so the queue never drops one silently:
//! the overflow sink receives every runnable that leaves by overflow, and dropping the
//! [`Local`] drops (so cancels) whatever is still queued. A worker that wants its procs
//! to survive moves them elsewhere first with [`Local::drain`]. A `Queue` dropped while
//! it still holds runnables (only possible if its `Local` was leaked) drops them too.
//!
//! Every step is model-checked in `loom-tests/tests/local_queue.rs`, where
//! `CAPACITY` is 4 so that a model can fill the ring; the unit tests below also run under
//! miri.

use core::fmt;
use core::iter::FusedIterator;
use core::marker::PhantomData;
use core::mem::MaybeUninit;

use crate::lightproc::Runnable;
use crate::sync::{
    AtomicBool,
    Ordering::{AcqRel, Acquire, Relaxed, Release},
    UnsafeCell,
};

/// The cursor and head-word types: two `u32` in an `AtomicU64` where the target has
/// 64-bit atomics, two `u16` in an `AtomicU32` elsewhere (see the module docs on ABA).
#[cfg(target_has_atomic = "64")]
mod cursor {
    pub(super) use crate::sync::{AtomicU32 as AtomicIdx, AtomicU64 as AtomicHead};
    /// A cursor: a slot number that wraps around the whole integer range.
    pub(super) type Idx = u32;
    /// The head word: `steal` in the high half, `real` in the low half.
    pub(super) type Head = u64;
}

#[cfg(not(target_has_atomic = "64"))]
mod cursor {
    pub(super) use crate::sync::{AtomicU16 as AtomicIdx, AtomicU32 as AtomicHead};
    /// A cursor: a slot number that wraps around the whole integer range.
    pub(super) type Idx = u16;
    /// The head word: `steal` in the high half, `real` in the low half.
    pub(super) type Head = u32;
}

use cursor::{AtomicHead, AtomicIdx, Head, Idx};

/// How many runnables one local queue holds. Under loom it is 4, so that the models can
/// fill the ring in a few steps.
#[cfg(not(loom))]
pub const CAPACITY: usize = 256;
/// How many runnables one local queue holds. Under loom it is 4, so that the models can
/// fill the ring in a few steps.
#[cfg(loom)]
pub const CAPACITY: usize = 4;

const MASK: usize = CAPACITY - 1;
/// `CAPACITY` as a cursor difference.
const CAP: Idx = CAPACITY as Idx;

// A power of two (so masking is reduction modulo CAPACITY and agrees with the cursors'
// wrap-around), even (halves are exact), and far below the cursor range (so a cursor
// difference up to CAPACITY is never ambiguous, also with u16 cursors).
static_assertions::const_assert!(CAPACITY.is_power_of_two());
static_assertions::const_assert!(CAPACITY >= 2);
static_assertions::const_assert!(CAPACITY <= 1 << 15);

const fn pack(steal: Idx, real: Idx) -> Head {
    ((steal as Head) << Idx::BITS) | real as Head
}

/// `(steal, real)`; the casts keep the high and the low half.
fn unpack(head: Head) -> (Idx, Idx) {
    ((head >> Idx::BITS) as Idx, head as Idx)
}

/// A worker's bounded run queue: one owner ([`Local`]), any number of [`Stealer`]s.
///
/// Build it with [`Queue::new`] (a `const fn`: it can be a `static`), then take the
/// owner handle with [`Queue::local`] and stealers with [`Queue::stealer`]. See the
/// module docs for the protocol.
pub struct Queue {
    /// `steal` (high half) and `real` (low half); see the module docs.
    head: AtomicHead,
    /// The next slot the owner writes; only the owner stores it.
    tail: AtomicIdx,
    /// Set while a [`Local`] exists: there is at most one owner.
    owned: AtomicBool,
    /// The ring; slot `i` is `buffer[i % CAPACITY]`. Access by the invariants of the
    /// module docs.
    buffer: [UnsafeCell<MaybeUninit<Runnable>>; CAPACITY],
}

// SAFETY: the slots are shared only by the protocol in the module docs, which hands
// each runnable to exactly one thread at a time; `Runnable` is `Send`.
unsafe impl Sync for Queue {}

impl Queue {
    /// An empty queue.
    #[cfg(not(loom))]
    #[allow(clippy::new_without_default)] // a `static` needs the `const fn`
    pub const fn new() -> Self {
        Self::starting_at(0)
    }

    /// An empty queue (loom's atomics are not `const`).
    #[cfg(loom)]
    #[allow(clippy::new_without_default)]
    pub fn new() -> Self {
        Self::starting_at(0)
    }

    /// An empty queue whose cursors start at `start`; tests start near the wrap-around.
    #[cfg(not(loom))]
    const fn starting_at(start: Idx) -> Self {
        Self {
            head: AtomicHead::new(pack(start, start)),
            tail: AtomicIdx::new(start),
            owned: AtomicBool::new(false),
            buffer: [const { UnsafeCell::new(MaybeUninit::uninit()) }; CAPACITY],
        }
    }

    #[cfg(loom)]
    fn starting_at(start: Idx) -> Self {
        Self {
            head: AtomicHead::new(pack(start, start)),
            tail: AtomicIdx::new(start),
            owned: AtomicBool::new(false),
            buffer: core::array::from_fn(|_| UnsafeCell::new(MaybeUninit::uninit())),
        }
    }

    /// The owner handle, or `None` if one exists already: a queue has at most one
    /// [`Local`] at a time. Dropping it releases the claim (and cancels whatever it still
    /// holds).
    pub fn local(&self) -> Option<Local<'_>> {
        // Acquire: pairs with the Release in `Local::drop`, so a new owner sees the
        // previous owner's `tail` and slot writes.
        if self.owned.swap(true, Acquire) {
            None
        } else {
            Some(Local {
                queue: self,
                _not_sync: PhantomData,
            })
        }
    }

    /// A handle that steals from this queue. Any number may exist, on any thread.
    pub fn stealer(&self) -> Stealer<'_> {
        Stealer { queue: self }
    }

    fn slot(&self, idx: Idx) -> &UnsafeCell<MaybeUninit<Runnable>> {
        &self.buffer[(idx as usize) & MASK]
    }

    /// Writes `runnable` into slot `idx`.
    ///
    /// # Safety
    /// The caller is the owner, slot `idx` is free (in `[tail, steal + CAPACITY)` for a
    /// `steal` it loaded with `Acquire`), and it publishes the slot by a `Release` store
    /// of `tail` afterwards.
    unsafe fn write(&self, idx: Idx, runnable: Runnable) {
        self.slot(idx).with_mut(|slot| {
            // SAFETY: the slot is free, so no one else reads or writes it (invariant 3),
            // and any stealer's read of its previous value happened-before the caller's
            // Acquire load of the head. Overwriting the stale bits drops nothing: the
            // previous runnable was moved out.
            unsafe { slot.write(MaybeUninit::new(runnable)) }
        })
    }

    /// Moves the runnable out of slot `idx`.
    ///
    /// # Safety
    /// The caller moved `real` past slot `idx` by its own CAS (or holds `&mut Queue`),
    /// the slot was published to it, and it takes the runnable only once.
    unsafe fn take(&self, idx: Idx) -> Runnable {
        self.slot(idx).with(|slot| {
            // SAFETY: the slot is the caller's alone (invariant 2). Reading a
            // `MaybeUninit` copies bits and is valid whatever they are.
            let value = unsafe { slot.read() };
            // SAFETY: slots `[real, tail)` are initialised (invariant 2), and the write
            // happened-before this read (the tail's Release/Acquire, or program order).
            unsafe { value.assume_init() }
        })
    }

    /// Phase 1 of a steal: claims `min(ceil(queued / 2), max)` runnables, returning the
    /// first claimed cursor and their number, or `None` if the queue is empty or another
    /// steal is in progress.
    fn claim(&self, max: Idx) -> Option<(Idx, Idx)> {
        debug_assert!(max >= 1);
        let mut head = self.head.load(Acquire);
        loop {
            let (steal, real) = unpack(head);
            if steal != real {
                // Another stealer is between its claim and its commit: back off.
                return None;
            }
            let tail = self.tail.load(Acquire);
            let queued = tail.wrapping_sub(real);
            if queued == 0 {
                return None;
            }
            let n = (queued - queued / 2).min(max);
            let next = pack(steal, real.wrapping_add(n));
            // AcqRel: Acquire so the slots' writes (published with `tail`) are visible,
            // Release so whoever sees the new head has seen a `tail` past `real + n`.
            match self.head.compare_exchange(head, next, AcqRel, Acquire) {
                Ok(_) => return Some((real, n)),
                // The owner popped or overflowed, or another stealer claimed: look again.
                Err(actual) => head = actual,
            }
        }
    }

    /// Phase 2 of a steal: `steal` catches up with `real`, freeing the claimed slots for
    /// the owner. `first` is the cursor `claim` returned.
    fn commit(&self, first: Idx) {
        let mut head = self.head.load(Acquire);
        loop {
            let (steal, real) = unpack(head);
            if cfg!(any(debug_assertions, loom)) {
                assert_eq!(steal, first, "the steal cursor moved during a steal");
            }
            // Release: orders this stealer's reads of the slots before the owner's
            // reuse of them (the owner loads the head with Acquire before writing).
            match self
                .head
                .compare_exchange(head, pack(real, real), AcqRel, Acquire)
            {
                Ok(_) => return,
                // Only the owner's pops move `real` during a steal: retry with theirs.
                Err(actual) => head = actual,
            }
        }
    }

    /// The number of queued runnables (not counting those a stealer is copying out).
    fn queued(&self) -> usize {
        let (_, real) = unpack(self.head.load(Acquire));
        let tail = self.tail.load(Acquire);
        tail.wrapping_sub(real) as usize
    }
}

impl Drop for Queue {
    fn drop(&mut self) {
        // Only reachable with runnables inside if the `Local` was leaked: drop (cancel)
        // them rather than leak their procs. No stealer exists (they borrow the queue),
        // so `steal == real`.
        let (_, real) = unpack(self.head.load(Acquire));
        let tail = self.tail.load(Acquire);
        let mut idx = real;
        while idx != tail {
            // SAFETY: `&mut self` excludes every other access; `[real, tail)` is
            // initialised and each slot is taken once.
            drop(unsafe { self.take(idx) });
            idx = idx.wrapping_add(1);
        }
    }
}

impl fmt::Debug for Queue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (steal, real) = unpack(self.head.load(Acquire));
        f.debug_struct("Queue")
            .field("steal", &steal)
            .field("real", &real)
            .field("tail", &self.tail.load(Acquire))
            .finish()
    }
}

/// The owner's handle on a [`Queue`]: the only one that pushes, and the one that pops.
///
/// There is one per queue at a time ([`Queue::local`]). It is `Send` (a worker may be
/// handed its queue) but neither `Clone` nor `Sync`. Dropping it drops, and so cancels,
/// every runnable still queued; use [`drain`](Self::drain) first to keep them.
pub struct Local<'a> {
    queue: &'a Queue,
    /// `Send` but not `Sync`: owner operations are for one thread at a time.
    _not_sync: PhantomData<core::cell::Cell<()>>,
}

impl<'a> Local<'a> {
    #[cfg(test)]
    /// A stealer of this queue, for other workers.
    pub fn stealer(&self) -> Stealer<'a> {
        self.queue.stealer()
    }

    /// The number of queued runnables.
    pub fn len(&self) -> usize {
        self.queue.queued()
    }

    /// True if nothing is queued.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// How many runnables [`push_back`](Self::push_back) takes before it overflows.
    /// Slots still being copied out by a stealer are not free yet.
    pub fn remaining_capacity(&self) -> usize {
        let (steal, _) = unpack(self.queue.head.load(Acquire));
        // Relaxed: only this owner stores `tail`.
        let tail = self.queue.tail.load(Relaxed);
        CAPACITY - tail.wrapping_sub(steal) as usize
    }

    /// Queues `runnable` at the back.
    ///
    /// If the ring is full, `overflow` is called once with a [`Batch`]: the older half of
    /// the queue (`CAPACITY / 2` runnables, oldest first) followed by `runnable` — or
    /// `runnable` alone if a stealer is copying out at that moment (room is about to
    /// appear, but this never waits). The sink must take every runnable of the batch;
    /// any it leaves are dropped, so cancelled, with the batch. Otherwise `overflow` is
    /// not called.
    pub fn push_back(&mut self, runnable: Runnable, overflow: impl FnOnce(Batch<'_>)) {
        let queue = self.queue;
        // Relaxed: only this owner stores `tail`.
        let tail = queue.tail.load(Relaxed);
        let mut head = queue.head.load(Acquire);
        loop {
            let (steal, real) = unpack(head);
            if tail.wrapping_sub(steal) < CAP {
                // SAFETY: we are the owner, slot `tail` is in the free region for the
                // `steal` just loaded with Acquire, and the store below publishes it.
                unsafe { queue.write(tail, runnable) };
                queue.tail.store(tail.wrapping_add(1), Release);
                return;
            }
            if steal != real {
                // Full while a stealer copies out: hand over this one alone.
                overflow(Batch::one(queue, runnable));
                return;
            }
            // Full and no steal in progress: claim the older half for the sink. Release
            // so that whoever sees the new head has seen this `tail`.
            let half = CAP / 2;
            let next = pack(real.wrapping_add(half), real.wrapping_add(half));
            match queue.head.compare_exchange(head, next, AcqRel, Acquire) {
                Ok(_) => {
                    overflow(Batch {
                        queue,
                        next: real,
                        end: real.wrapping_add(half),
                        extra: Some(runnable),
                    });
                    return;
                }
                // A stealer claimed meanwhile: there is room now, or a steal in progress.
                Err(actual) => head = actual,
            }
        }
    }

    /// Takes the oldest queued runnable (FIFO), competing with stealers by CAS.
    pub fn pop(&mut self) -> Option<Runnable> {
        let queue = self.queue;
        // Relaxed: only this owner stores `tail`.
        let tail = queue.tail.load(Relaxed);
        let mut head = queue.head.load(Acquire);
        let idx = loop {
            let (steal, real) = unpack(head);
            if real == tail {
                return None;
            }
            let next_real = real.wrapping_add(1);
            // Move `steal` along unless a stealer holds it back.
            let next = if steal == real {
                pack(next_real, next_real)
            } else {
                pack(steal, next_real)
            };
            match queue.head.compare_exchange(head, next, AcqRel, Acquire) {
                Ok(_) => break real,
                // A stealer claimed or committed: look again.
                Err(actual) => head = actual,
            }
        };
        // SAFETY: our CAS moved `real` past slot `idx`, which this owner wrote itself.
        Some(unsafe { queue.take(idx) })
    }

    /// Pops every queued runnable, oldest first, for the caller to move elsewhere (to the
    /// global queue, when a worker stops). Runnables the iterator does not reach stay
    /// queued.
    pub fn drain(&mut self) -> impl Iterator<Item = Runnable> + '_ {
        core::iter::from_fn(move || self.pop())
    }
}

impl Drop for Local<'_> {
    fn drop(&mut self) {
        // Cancel what is left. A `Runnable`'s drop does not unwind: lightproc catches
        // panics at its drop boundary (with `std`; without, a panic aborts).
        while let Some(runnable) = self.pop() {
            drop(runnable);
        }
        // Release: pairs with the Acquire in `Queue::local`.
        self.queue.owned.store(false, Release);
    }
}

impl fmt::Debug for Local<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Local").field(self.queue).finish()
    }
}

/// A handle that steals from another worker's [`Queue`]. `Copy`, `Send` and `Sync`.
#[derive(Clone, Copy)]
pub struct Stealer<'a> {
    queue: &'a Queue,
}

impl Stealer<'_> {
    /// True if the victim has nothing queued (a snapshot: it may change at once).
    pub fn is_empty(&self) -> bool {
        self.queue.queued() == 0
    }

    /// Steals half of the victim's queued runnables (rounded up) into `dst`, the thief's
    /// own queue, and returns one of them to run at once.
    ///
    /// Returns `None` if the victim is empty, if another steal from it is in progress
    /// (the caller tries another victim rather than wait), or if `dst` is this very
    /// queue. If `dst` lacks room for the half, it steals only as many as fit (plus the
    /// one returned).
    pub fn steal_into(&self, dst: &mut Local<'_>) -> Option<Runnable> {
        let src = self.queue;
        let dst_queue = dst.queue;
        if core::ptr::eq(src, dst_queue) {
            return None;
        }
        // Relaxed: through `dst` we are its owner, the only one storing its `tail`.
        let dst_tail = dst_queue.tail.load(Relaxed);
        let (dst_steal, _) = unpack(dst_queue.head.load(Acquire));
        let room = CAP - dst_tail.wrapping_sub(dst_steal);
        let (first, n) = src.claim(room + 1)?;
        // Copy all but the last into `dst`; the last is returned.
        for i in 0..n - 1 {
            // SAFETY: our claim moved `real` past `first + i`; the Acquire load of the
            // victim's tail in `claim` published it; it is taken once.
            let runnable = unsafe { src.take(first.wrapping_add(i)) };
            // SAFETY: we own `dst`; `n - 1 <= room`, so slot `dst_tail + i` is in its
            // free region for the `dst_steal` loaded with Acquire; the store of its tail
            // below publishes it.
            unsafe { dst_queue.write(dst_tail.wrapping_add(i), runnable) };
        }
        // SAFETY: as for the others: claimed by us, published, taken once.
        let last = unsafe { src.take(first.wrapping_add(n - 1)) };
        src.commit(first);
        if n > 1 {
            dst_queue.tail.store(dst_tail.wrapping_add(n - 1), Release);
        }
        Some(last)
    }
}

impl fmt::Debug for Stealer<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Stealer").field(self.queue).finish()
    }
}

/// The runnables an overflowing [`Local::push_back`] hands to its sink, oldest first:
/// an iterator that moves them out of the queue one by one.
///
/// The claimed slots belong to the batch alone until it is dropped; runnables the sink
/// does not take are dropped (so cancelled) with it.
pub struct Batch<'a> {
    queue: &'a Queue,
    /// The claimed slots not yet moved out: `[next, end)`.
    next: Idx,
    end: Idx,
    /// The runnable being pushed, which comes last.
    extra: Option<Runnable>,
}

impl<'a> Batch<'a> {
    fn one(queue: &'a Queue, runnable: Runnable) -> Self {
        Self {
            queue,
            next: 0,
            end: 0,
            extra: Some(runnable),
        }
    }
}

impl Iterator for Batch<'_> {
    type Item = Runnable;

    fn next(&mut self) -> Option<Runnable> {
        if self.next == self.end {
            return self.extra.take();
        }
        let idx = self.next;
        self.next = idx.wrapping_add(1);
        // SAFETY: the owner's overflow CAS moved `real` past `[next, end)` for this
        // batch; the owner wrote those slots itself; each is taken once.
        Some(unsafe { self.queue.take(idx) })
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let n = self.end.wrapping_sub(self.next) as usize + usize::from(self.extra.is_some());
        (n, Some(n))
    }
}

impl ExactSizeIterator for Batch<'_> {}

impl FusedIterator for Batch<'_> {}

impl Drop for Batch<'_> {
    fn drop(&mut self) {
        // Never leak a proc: what the sink left is cancelled.
        for runnable in self.by_ref() {
            drop(runnable);
        }
    }
}

impl fmt::Debug for Batch<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Batch").field("len", &self.len()).finish()
    }
}

static_assertions::assert_impl_all!(Queue: Send, Sync);
static_assertions::assert_impl_all!(Local<'static>: Send);
static_assertions::assert_not_impl_any!(Local<'static>: Sync, Clone);
static_assertions::assert_impl_all!(Stealer<'static>: Send, Sync, Copy);

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    use std::collections::HashMap;
    use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
    use std::sync::{Arc, Mutex};
    use std::vec;
    use std::vec::Vec;

    use crate::lightproc::{ProcId, Schedule, ScheduleReason, spawn};

    /// The schedule value of every test proc: its drop means the proc was freed.
    struct Track(Arc<AtomicUsize>);

    impl Drop for Track {
        fn drop(&mut self) {
            self.0.fetch_add(1, SeqCst);
        }
    }

    impl Schedule for Track {
        fn schedule(&self, _: Runnable, _: ScheduleReason) {
            unreachable!("the procs of these tests complete on their first poll")
        }
    }

    /// `n` detached procs; proc `i` counts its runs in `runs[i]`.
    struct Procs {
        ids: Vec<ProcId>,
        index: HashMap<ProcId, usize>,
        runs: Arc<Vec<AtomicUsize>>,
        freed: Arc<AtomicUsize>,
    }

    impl Procs {
        fn new(n: usize) -> (Self, Vec<Runnable>) {
            let runs: Arc<Vec<AtomicUsize>> =
                Arc::new((0..n).map(|_| AtomicUsize::new(0)).collect());
            let freed = Arc::new(AtomicUsize::new(0));
            let runnables: Vec<Runnable> = (0..n)
                .map(|i| {
                    let runs = runs.clone();
                    let (runnable, _detached) = spawn(
                        async move {
                            runs[i].fetch_add(1, SeqCst);
                        },
                        Track(freed.clone()),
                    );
                    runnable
                })
                .collect();
            let ids: Vec<ProcId> = runnables.iter().map(Runnable::id).collect();
            let index = ids.iter().enumerate().map(|(i, id)| (*id, i)).collect();
            let procs = Self {
                ids,
                index,
                runs,
                freed,
            };
            (procs, runnables)
        }

        /// The spawn indices of `runnables`, in order.
        fn order(&self, runnables: &[Runnable]) -> Vec<usize> {
            runnables.iter().map(|r| self.index[&r.id()]).collect()
        }

        fn run_all(&self, runnables: impl IntoIterator<Item = Runnable>) {
            runnables.into_iter().for_each(Runnable::run);
        }

        /// Every proc ran exactly once and was freed.
        fn assert_each_ran_once(&self) {
            for (i, runs) in self.runs.iter().enumerate() {
                assert_eq!(runs.load(SeqCst), 1, "proc {i}");
            }
            assert_eq!(self.freed.load(SeqCst), self.ids.len(), "procs freed");
        }

        /// No proc ran, and every one was freed (cancelled).
        fn assert_all_cancelled(&self) {
            assert!(self.runs.iter().all(|r| r.load(SeqCst) == 0));
            assert_eq!(self.freed.load(SeqCst), self.ids.len(), "procs freed");
        }
    }

    /// A sink that must not be called.
    fn no_overflow(_: Batch<'_>) {
        panic!("unexpected overflow");
    }

    #[test]
    fn push_pop_is_fifo_and_counts() {
        let (procs, runnables) = Procs::new(5);
        let queue = Queue::new();
        let mut local = queue.local().unwrap();
        assert!(local.is_empty());
        assert_eq!(local.remaining_capacity(), CAPACITY);
        for r in runnables {
            local.push_back(r, no_overflow);
        }
        assert_eq!(local.len(), 5);
        assert_eq!(local.remaining_capacity(), CAPACITY - 5);
        let popped: Vec<Runnable> = local.drain().collect();
        assert_eq!(procs.order(&popped), [0, 1, 2, 3, 4]);
        assert!(local.is_empty());
        assert!(local.pop().is_none());
        assert_eq!(local.remaining_capacity(), CAPACITY);
        procs.run_all(popped);
        procs.assert_each_ran_once();
    }

    #[test]
    fn one_owner_at_a_time() {
        let queue = Queue::new();
        let local = queue.local().unwrap();
        assert!(queue.local().is_none());
        drop(local);
        assert!(queue.local().is_some());
    }

    #[test]
    fn overflow_moves_the_older_half_and_the_new_one_once() {
        let (procs, runnables) = Procs::new(CAPACITY + 1 + CAPACITY / 2);
        let queue = Queue::new();
        let mut local = queue.local().unwrap();
        let mut sink = Vec::new();
        let mut calls = 0;
        for r in runnables {
            local.push_back(r, |batch| {
                calls += 1;
                assert_eq!(batch.len(), CAPACITY / 2 + 1);
                sink.extend(batch);
            });
        }
        assert_eq!(calls, 1);
        // The older half, oldest first, then the runnable that did not fit.
        let expected: Vec<usize> = (0..CAPACITY / 2).chain([CAPACITY]).collect();
        assert_eq!(procs.order(&sink), expected);
        // The newer half stayed, followed by the pushes after the overflow.
        assert_eq!(local.len(), CAPACITY);
        let rest: Vec<Runnable> = local.drain().collect();
        let expected: Vec<usize> = (CAPACITY / 2..CAPACITY)
            .chain(CAPACITY + 1..CAPACITY + 1 + CAPACITY / 2)
            .collect();
        assert_eq!(procs.order(&rest), expected);
        procs.run_all(sink.into_iter().chain(rest));
        procs.assert_each_ran_once();
    }

    #[test]
    fn overflow_during_a_steal_hands_over_the_new_one_alone() {
        let (procs, mut runnables) = Procs::new(CAPACITY + 2);
        let last = runnables.pop().unwrap();
        let extra = runnables.pop().unwrap();
        let queue = Queue::new();
        let mut local = queue.local().unwrap();
        for r in runnables {
            local.push_back(r, no_overflow);
        }
        // A stealer claims half and is preempted before it commits.
        let (first, n) = queue.claim(CAP).unwrap();
        assert_eq!((first, n), (0, CAP / 2));
        assert_eq!(local.len(), CAPACITY / 2);
        assert_eq!(local.remaining_capacity(), 0);
        let mut sink = Vec::new();
        local.push_back(extra, |batch| sink.extend(batch));
        assert_eq!(procs.order(&sink), [CAPACITY]);
        // The stealer copies out and commits: the room appears.
        // SAFETY: the claim above gave us these slots, written and published by `local`.
        let stolen: Vec<Runnable> = (0..n).map(|i| unsafe { queue.take(first + i) }).collect();
        queue.commit(first);
        assert_eq!(local.remaining_capacity(), CAPACITY / 2);
        local.push_back(last, no_overflow);
        let rest: Vec<Runnable> = local.drain().collect();
        assert_eq!(rest.len(), CAPACITY / 2 + 1);
        procs.run_all(stolen.into_iter().chain(sink).chain(rest));
        procs.assert_each_ran_once();
    }

    #[test]
    fn steal_takes_half_rounding_up() {
        let (procs, runnables) = Procs::new(5);
        let (victim, thief) = (Queue::new(), Queue::new());
        let mut src = victim.local().unwrap();
        let mut dst = thief.local().unwrap();
        let stealer = src.stealer();
        assert!(stealer.is_empty());
        assert!(stealer.steal_into(&mut dst).is_none());
        for r in runnables {
            src.push_back(r, no_overflow);
        }
        assert!(!stealer.is_empty());
        // 5 queued: 3 stolen, the last of them returned.
        let mut done = Vec::new();
        let got = stealer.steal_into(&mut dst).unwrap();
        assert_eq!(procs.order(core::slice::from_ref(&got)), [2]);
        done.push(got);
        assert_eq!((src.len(), dst.len()), (2, 2));
        // 2 queued: 1 stolen and returned.
        done.push(stealer.steal_into(&mut dst).unwrap());
        assert_eq!((src.len(), dst.len()), (1, 2));
        done.push(stealer.steal_into(&mut dst).unwrap());
        assert!(stealer.is_empty() && stealer.steal_into(&mut dst).is_none());
        assert_eq!(procs.order(&done), [2, 3, 4]);
        // Stealing from one's own queue is refused.
        assert!(dst.stealer().steal_into(&mut dst).is_none());
        let rest: Vec<Runnable> = dst.drain().collect();
        assert_eq!(procs.order(&rest), [0, 1]);
        procs.run_all(done.into_iter().chain(rest));
        procs.assert_each_ran_once();
    }

    #[test]
    fn a_second_stealer_backs_off_while_the_owner_goes_on() {
        let (procs, runnables) = Procs::new(6);
        let (victim, thief) = (Queue::new(), Queue::new());
        let mut src = victim.local().unwrap();
        let mut dst = thief.local().unwrap();
        let mut runnables = runnables.into_iter();
        for r in runnables.by_ref().take(4) {
            src.push_back(r, no_overflow);
        }
        let (first, n) = victim.claim(CAP).unwrap();
        assert_eq!(n, 2);
        assert!(src.stealer().steal_into(&mut dst).is_none());
        // The owner pops past the claimed range and pushes meanwhile.
        let mut done = vec![src.pop().unwrap()];
        for r in runnables {
            src.push_back(r, no_overflow);
        }
        // SAFETY: the claim above gave us these slots, written and published by `src`.
        done.extend((0..n).map(|i| unsafe { victim.take(first + i) }));
        victim.commit(first);
        done.push(src.stealer().steal_into(&mut dst).unwrap());
        done.extend(src.drain().chain(dst.drain()));
        assert_eq!(done.len(), 6);
        procs.run_all(done);
        procs.assert_each_ran_once();
    }

    #[test]
    fn steal_into_a_nearly_full_queue_takes_what_fits() {
        let (procs, runnables) = Procs::new(CAPACITY - 1 + 10);
        let (victim, thief) = (Queue::new(), Queue::new());
        let mut src = victim.local().unwrap();
        let mut dst = thief.local().unwrap();
        let mut runnables = runnables.into_iter();
        for r in runnables.by_ref().take(CAPACITY - 1) {
            dst.push_back(r, no_overflow);
        }
        for r in runnables {
            src.push_back(r, no_overflow);
        }
        let stealer = src.stealer();
        // Room for one: one stolen into `dst`, one returned.
        let mut done = vec![stealer.steal_into(&mut dst).unwrap()];
        assert_eq!((src.len(), dst.len()), (8, CAPACITY));
        // No room: one returned.
        done.push(stealer.steal_into(&mut dst).unwrap());
        assert_eq!((src.len(), dst.len()), (7, CAPACITY));
        done.extend(src.drain().chain(dst.drain()));
        procs.run_all(done);
        procs.assert_each_ran_once();
    }

    #[test]
    fn steal_into_a_queue_being_stolen_from_leaves_the_claimed_slots_alone() {
        let (procs, runnables) = Procs::new(CAPACITY - 1 + 10);
        let (victim, thief) = (Queue::new(), Queue::new());
        let mut src = victim.local().unwrap();
        let mut dst = thief.local().unwrap();
        let mut runnables = runnables.into_iter();
        for r in runnables.by_ref().take(CAPACITY - 1) {
            dst.push_back(r, no_overflow);
        }
        for r in runnables {
            src.push_back(r, no_overflow);
        }
        // A third worker claims half of `dst` and is preempted before copying.
        let (first, n) = thief.claim(CAP).unwrap();
        assert_eq!(dst.remaining_capacity(), 1);
        // Only one slot of `dst` is free: one stolen into it, one returned; the slots
        // under claim must not be overwritten.
        let mut done = vec![src.stealer().steal_into(&mut dst).unwrap()];
        assert_eq!(dst.remaining_capacity(), 0);
        // SAFETY: the claim above gave us these slots, written and published by `dst`.
        done.extend((0..n).map(|i| unsafe { thief.take(first + i) }));
        thief.commit(first);
        assert_eq!(
            procs.order(&done[1..]),
            (0..CAPACITY / 2).collect::<Vec<_>>()
        );
        done.extend(src.drain().chain(dst.drain()));
        procs.run_all(done);
        procs.assert_each_ran_once();
    }

    #[test]
    fn cursors_wrap_around() {
        let (procs, runnables) = Procs::new(2 * CAPACITY);
        let (victim, thief) = (
            Queue::starting_at(Idx::MAX - 2),
            Queue::starting_at(Idx::MAX),
        );
        let mut src = victim.local().unwrap();
        let mut dst = thief.local().unwrap();
        let mut sink = Vec::new();
        let mut done = Vec::new();
        for (k, r) in runnables.into_iter().enumerate() {
            src.push_back(r, |batch| sink.extend(batch));
            if k % 5 == 0 {
                done.extend(src.pop());
            }
            if k == 100 || k == 500 {
                done.extend(src.stealer().steal_into(&mut dst));
            }
        }
        // Every path crossed the wrap-around: pops, steals into `dst`, overflow.
        assert!(!sink.is_empty() && !dst.is_empty());
        done.extend(src.drain().chain(dst.drain()));
        assert_eq!(done.len() + sink.len(), 2 * CAPACITY);
        procs.run_all(done.into_iter().chain(sink));
        procs.assert_each_ran_once();
    }

    #[test]
    fn dropping_the_local_cancels_what_is_left() {
        let (procs, runnables) = Procs::new(3);
        let queue = Queue::new();
        let mut local = queue.local().unwrap();
        for r in runnables {
            local.push_back(r, no_overflow);
        }
        let first = local.drain().next().unwrap();
        assert_eq!(local.len(), 2);
        drop(local);
        assert_eq!(procs.freed.load(SeqCst), 2);
        drop(first);
        procs.assert_all_cancelled();
        assert!(queue.local().unwrap().is_empty());
    }

    #[test]
    fn dropping_the_queue_cancels_what_a_leaked_local_left() {
        let (procs, runnables) = Procs::new(3);
        let queue = Queue::new();
        let mut local = queue.local().unwrap();
        for r in runnables {
            local.push_back(r, no_overflow);
        }
        core::mem::forget(local);
        drop(queue);
        procs.assert_all_cancelled();
    }

    #[test]
    fn a_batch_cancels_what_the_sink_leaves() {
        let (procs, runnables) = Procs::new(CAPACITY + 1);
        let queue = Queue::new();
        let mut local = queue.local().unwrap();
        let mut taken = None;
        for r in runnables {
            local.push_back(r, |mut batch| {
                assert_eq!(
                    batch.size_hint(),
                    (CAPACITY / 2 + 1, Some(CAPACITY / 2 + 1))
                );
                taken = batch.next();
            });
        }
        // All but the one taken were dropped with the batch.
        assert_eq!(procs.freed.load(SeqCst), CAPACITY / 2);
        let taken = taken.unwrap();
        assert_eq!(procs.order(core::slice::from_ref(&taken)), [0]);
        drop(local);
        drop(taken);
        procs.assert_all_cancelled();
    }

    /// One owner pushing (and overflowing) and popping, two thieves stealing from it and
    /// from each other: every proc runs exactly once, none is lost or leaked.
    #[test]
    fn owner_and_two_stealers_run_each_proc_once() {
        use std::sync::Barrier;
        use std::sync::atomic::AtomicBool;
        use std::thread;

        let n = if cfg!(miri) { CAPACITY + 64 } else { 20_000 };
        let (procs, runnables) = Procs::new(n);
        let queues = [Queue::new(), Queue::new(), Queue::new()];
        let injected = Mutex::new(Vec::new());
        let owner_done = AtomicBool::new(false);
        let start = Barrier::new(3);
        let (queues, injected, owner_done, start) = (&queues, &injected, &owner_done, &start);
        thread::scope(|s| {
            for me in 1..3 {
                s.spawn(move || {
                    let mut local = queues[me].local().unwrap();
                    start.wait();
                    let victims = [0, 3 - me];
                    loop {
                        let mut found = false;
                        // Steal and pop in turns, so that this queue is also worth
                        // stealing from.
                        for victim in victims {
                            if let Some(r) = queues[victim].stealer().steal_into(&mut local) {
                                found = true;
                                r.run();
                            }
                            if let Some(r) = local.pop() {
                                found = true;
                                r.run();
                            }
                        }
                        if !found {
                            if owner_done.load(SeqCst) {
                                break;
                            }
                            thread::yield_now();
                        }
                    }
                    assert!(local.is_empty());
                });
            }
            let mut local = queues[0].local().unwrap();
            start.wait();
            for (k, r) in runnables.into_iter().enumerate() {
                local.push_back(r, |batch| injected.lock().unwrap().extend(batch));
                if k % 3 == 0
                    && let Some(r) = local.pop()
                {
                    r.run();
                }
            }
            local.drain().for_each(Runnable::run);
            owner_done.store(true, SeqCst);
        });
        procs.run_all(injected.lock().unwrap().drain(..));
        assert!(queues.iter().all(|q| q.queued() == 0));
        procs.assert_each_ran_once();
    }
}
