//! The hierarchical timing wheel: intrusive entries, O(1) insert and cancel, expiry in
//! deadline order.
//!
//! # Shape
//!
//! Time is counted in *ticks* of one millisecond since the clock's epoch. The wheel has
//! [`LEVELS`] levels of [`SLOTS`] slots; a slot of level `l` spans `64^l` ticks, so a
//! level spans `64^(l+1)` ticks and the whole wheel `64^6` ticks (about 795 days):
//!
//! ```text
//! level 0   64 slots x 1 ms       spans 64 ms
//! level 1   64 slots x 64 ms      spans ~4 s
//! level 2   64 slots x ~4 s       spans ~4.5 min
//! level 3   64 slots x ~4.5 min   spans ~4.7 h
//! level 4   64 slots x ~4.7 h     spans ~12.4 days
//! level 5   64 slots x ~12.4 days spans ~795 days
//! overflow  one list: deadlines beyond the top level's current rotation
//! pending   one list: entries that are due and not fired yet
//! ```
//!
//! An entry goes to the level of the highest 6-bit group in which its tick differs from
//! `elapsed` (the last tick the wheel processed), and to the slot that group selects
//! (as in Tokio's wheel): so the slot of each level that contains `elapsed` is always
//! empty, every entry of level `l` is due before every entry of level `l + 1`, and on
//! one level the first occupied slot after `elapsed` holds the earliest entries. Each
//! level keeps a 64-bit `occupied` mask, so finding that slot is one rotate and one
//! `trailing_zeros`.
//!
//! As time advances, the wheel *processes* occupied slots in time order: it sets
//! `elapsed` to the slot's start and re-inserts its entries, which fall to lower levels
//! (a cascade), or to `pending` if they are due. An entry therefore moves at most
//! [`LEVELS`] times in its life, and idle time costs nothing: processing jumps from one
//! occupied slot to the next, never tick by tick.
//!
//! Deadlines more than one rotation of the top level away (`tick >=` start of the top
//! slot holding `elapsed`, plus the wheel's span) wait in `overflow`, whose earliest
//! deadline is kept as a lower bound; the list is scanned (and the reachable entries moved
//! into the levels) only when that bound comes within reach, before the wheel processes
//! anything later, so overflowed entries also fire in order.
//!
//! Each slot also keeps a lower bound of its entries' ticks (exact unless its earliest
//! entry was cancelled), as 32 bits of offset from the slot's start ([`SlotBound`]; a
//! slot of level 0 spans one tick and needs none), so [`Wheel::next_deadline`] reports
//! when the earliest entry is due, not merely when the next cascade is: a parked worker
//! wakes once per timer, not once per level.
//!
//! # Intrusive entries
//!
//! An [`Entry`] lives inside a pinned `Sleep` and is linked into one list (a slot,
//! `pending` or `overflow`) by `prev`/`next` pointers; lists are anchored by a head
//! pointer and the entry records where it is ([`Place`]), so unlinking is O(1). Nothing
//! is allocated. The rules every `unsafe` block in this module relies on:
//!
//! - **W1 (liveness).** Every entry reachable from the wheel is alive: its `Sleep` is
//!   pinned, and its `Drop` unlinks it under the lock before the memory goes away.
//! - **W2 (exclusion).** An entry's [`Node`] is read or written only by a thread that
//!   holds the lock of the wheel the entry is registered with; `&mut Wheel` is that
//!   lock (a `Wheel` only exists inside `Timers`' mutex, or owned by a test). The one
//!   exception is the owning `Sleep` while it knows the entry is not linked (it was never
//!   registered, or it saw it unlinked under the lock): then no other thread can reach
//!   the node.
//! - **W3 (no wake under the lock).** The wheel only moves wakers: it clones the one
//!   a poll hands in and gives back the ones it removes, so the caller wakes or drops
//!   them after releasing the lock.

use core::fmt;
use core::marker::PhantomPinned;
use core::mem::MaybeUninit;
use core::ptr::NonNull;
use core::task::Waker;

use ravelin_hal::Instant;

use crate::sync::UnsafeCell;

/// Levels in the wheel.
pub(crate) const LEVELS: usize = 6;
/// log2 of [`SLOTS`].
const SLOT_BITS: u32 = 6;
/// Slots per level.
pub(crate) const SLOTS: usize = 1 << SLOT_BITS;
/// Ticks the wheel spans: `64^6`, about 795 days of milliseconds.
pub(crate) const RANGE: u64 = 1 << (SLOT_BITS * LEVELS as u32);
/// Ticks one slot of the top level spans.
const TOP_SLOT_RANGE: u64 = slot_range(LEVELS - 1);
/// Nanoseconds per tick: the wheel's resolution is one millisecond.
pub(crate) const NANOS_PER_TICK: u64 = 1_000_000;

/// Ticks one slot of `level` spans.
const fn slot_range(level: usize) -> u64 {
    1 << (SLOT_BITS * level as u32)
}

/// Ticks the whole of `level` spans.
const fn level_range(level: usize) -> u64 {
    slot_range(level) << SLOT_BITS
}

/// The tick at which a deadline is due: rounded *up*, so that no timer fires early.
pub(crate) const fn deadline_tick(deadline: Instant) -> u64 {
    deadline.as_nanos().div_ceil(NANOS_PER_TICK)
}

/// The last tick that has fully passed at `now`: rounded *down*.
pub(crate) const fn now_tick(now: Instant) -> u64 {
    now.as_nanos() / NANOS_PER_TICK
}

/// The instant a tick starts (saturating at [`Instant::MAX`]).
pub(crate) const fn tick_instant(tick: u64) -> Instant {
    Instant::from_nanos(tick.saturating_mul(NANOS_PER_TICK))
}

/// The level an entry due at `when` goes to, seen from `elapsed < when`: that of the
/// highest 6-bit group in which the two differ. Differences above the top level (a
/// deadline in the top level's next rotation) go to the top level, whose slots are a
/// ring.
fn level_for(elapsed: u64, when: u64) -> usize {
    let masked = (elapsed ^ when) | (SLOTS as u64 - 1);
    let significant = u64::BITS - 1 - masked.leading_zeros();
    ((significant / SLOT_BITS) as usize).min(LEVELS - 1)
}

/// `level` and `slot` unchanged, as indices the compiler knows are in range. Every level
/// and slot the wheel handles comes from [`level_for`] and [`slot_for`] (or a [`Place`]
/// made from them), so this changes nothing; it spares the wheel's paths bounds-check
/// panics and their code (a firmware's flash). Tests check the premise.
fn in_range(level: usize, slot: usize) -> (usize, usize) {
    debug_assert!(level < LEVELS && slot < SLOTS, "level {level}, slot {slot}");
    (level.min(LEVELS - 1), slot % SLOTS)
}

/// The slot of `level` an entry due at `when` goes to.
fn slot_for(when: u64, level: usize) -> usize {
    ((when >> (SLOT_BITS * level as u32)) & (SLOTS as u64 - 1)) as usize
}

/// Whether `when` is within the wheel's reach from `elapsed`, i.e. before the top slot
/// holding `elapsed` comes round again. Beyond it, an entry waits in the overflow list.
fn reachable(elapsed: u64, when: u64) -> bool {
    when < (elapsed & !(TOP_SLOT_RANGE - 1)).saturating_add(RANGE)
}

/// The first `elapsed` (a top-slot boundary) from which `when` is [`reachable`].
fn reachable_from(when: u64) -> u64 {
    (when.saturating_sub(RANGE) & !(TOP_SLOT_RANGE - 1)) + TOP_SLOT_RANGE
}

/// A link to another entry.
type Link = Option<NonNull<Entry>>;

/// A timer's node in the wheel: lives inside a pinned `Sleep`.
///
/// `!Unpin` ([`PhantomPinned`], TRAPS.md #11): the wheel holds pointers to it, so it must
/// not move while registered, and `&mut` to its owner must not claim uniqueness.
pub(crate) struct Entry {
    node: UnsafeCell<Node>,
    _pinned: PhantomPinned,
}

// SAFETY: the node is only touched under the wheel lock (W2), and what it holds (links
// into the same wheel, a tick, a `Waker`, which is `Send + Sync`) may move between
// threads with it.
unsafe impl Send for Entry {}
// SAFETY: as for `Send`: shared access to the node goes through the wheel lock (W2).
unsafe impl Sync for Entry {}

/// The fields of an [`Entry`], all guarded by the wheel lock (W2).
pub(crate) struct Node {
    prev: Link,
    next: Link,
    /// The tick at which the entry is due (while linked).
    when: u64,
    /// Where the entry is, and whether it fired.
    state: State,
    /// The waker of the last poll, taken when the entry fires.
    waker: Option<Waker>,
}

/// The life of an entry, as the wheel sees it:
///
/// ```text
///            register (first poll)          expire (deadline passed): waker taken,
///   [Idle] -----------------------> [Linked] ------------------> [Fired]
///     ^  ^   cancel (drop), complete     |  ^                       |
///     |  +-------------------------------+  | reset (moved)          | the owner's poll
///     |       (waker taken)                 +-------                 | sees it: Ready
///     +--------------------------------------------------------------+
/// ```
///
/// A poll of an `Idle` entry whose deadline the wheel has already processed does not
/// link it: the poll is `Ready` at once.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum State {
    /// Not in the wheel, not fired: new, cancelled, or fired and seen by its owner.
    Idle,
    /// In the wheel, at this place.
    Linked(Place),
    /// Fired by the wheel: unlinked, waker taken, not seen by its owner yet.
    Fired,
}

/// Which list a linked entry is in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Place {
    /// A slot of a level.
    Slot {
        /// The level.
        level: u8,
        /// The slot in that level.
        slot: u8,
    },
    /// Due, waiting to be fired.
    Pending,
    /// Beyond the wheel's reach.
    Overflow,
}

impl Entry {
    /// An entry that is not in any wheel.
    pub(crate) fn new() -> Self {
        Self {
            node: UnsafeCell::new(Node {
                prev: None,
                next: None,
                when: 0,
                state: State::Idle,
                waker: None,
            }),
            _pinned: PhantomPinned,
        }
    }
}

/// Under loom, dropping an entry counts as a write to its node, so that a model reports
/// any access by `process` that is not ordered before the drop by the lock.
#[cfg(loom)]
impl Drop for Entry {
    fn drop(&mut self) {
        self.node.with_mut(|_| ());
    }
}

impl fmt::Debug for Entry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The node is not readable without the lock.
        f.debug_struct("Entry").finish_non_exhaustive()
    }
}

/// Runs `f` on the node of `entry`.
///
/// # Safety
/// `entry` is alive (W1), the caller holds the lock of the wheel it belongs to (W2), and
/// `f` does not reach the node of the same entry again.
unsafe fn with_node<R>(entry: NonNull<Entry>, f: impl FnOnce(&mut Node) -> R) -> R {
    // SAFETY: the caller guarantees the entry is alive.
    let entry = unsafe { entry.as_ref() };
    entry.node.with_mut(|node| {
        // SAFETY: the caller holds the lock, which excludes every other access to the
        // node (W2), and does not re-enter it, so this reference is unique while it lives.
        f(unsafe { &mut *node })
    })
}

/// A doubly linked list of entries, anchored by its head.
struct List {
    head: Link,
}

impl List {
    const fn new() -> Self {
        Self { head: None }
    }

    fn is_empty(&self) -> bool {
        self.head.is_none()
    }

    /// Links `entry` first.
    ///
    /// # Safety
    /// `entry` is alive and in no list; the caller holds the lock (W2); every entry of
    /// the list is alive (W1).
    unsafe fn push_front(&mut self, entry: NonNull<Entry>) {
        let old = self.head;
        // SAFETY: the caller guarantees `entry` is alive and the lock is held.
        unsafe {
            with_node(entry, |node| {
                node.prev = None;
                node.next = old;
            });
        }
        if let Some(old) = old {
            // SAFETY: `old` is in this list, so alive (W1); it is not `entry`.
            unsafe { with_node(old, |node| node.prev = Some(entry)) }
        }
        self.head = Some(entry);
    }

    /// Unlinks `entry`.
    ///
    /// # Safety
    /// `entry` is in this list; the caller holds the lock (W2).
    unsafe fn unlink(&mut self, entry: NonNull<Entry>) {
        // SAFETY: `entry` is in this list, so alive (W1).
        let (prev, next) = unsafe { with_node(entry, |node| (node.prev.take(), node.next.take())) };
        match prev {
            // SAFETY: `prev` is `entry`'s neighbour in this list, so alive (W1).
            Some(prev) => unsafe { with_node(prev, |node| node.next = next) },
            None => {
                debug_assert_eq!(self.head, Some(entry), "an entry without prev is the head");
                self.head = next;
            }
        }
        if let Some(next) = next {
            // SAFETY: `next` is `entry`'s neighbour in this list, so alive (W1).
            unsafe { with_node(next, |node| node.prev = prev) }
        }
    }

    /// Unlinks and returns the first entry.
    ///
    /// # Safety
    /// The caller holds the lock (W2); every entry of the list is alive (W1).
    unsafe fn pop_front(&mut self) -> Link {
        let head = self.head?;
        // SAFETY: `head` is in this list.
        unsafe { self.unlink(head) };
        Some(head)
    }
}

/// A lower bound of the overflowed entries' ticks, `u64::MAX` when there are none.
///
/// Stored as the bitwise complement of the tick, so that "none" is all zero bits, like
/// every other field of an empty wheel (see [`SlotBound`]). Lowering the bound to a tick
/// is raising the complement.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Earliest(u64);

impl Earliest {
    /// No entries: the bound is `u64::MAX`.
    const NONE: Self = Self(0);

    /// The bound, as a tick.
    fn tick(self) -> u64 {
        !self.0
    }

    /// Lowers the bound to `tick` if it is below it.
    fn lower_to(&mut self, tick: u64) {
        self.0 = self.0.max(!tick);
    }
}

/// A lower bound of the ticks of one slot's entries, as an offset from the tick the slot
/// starts at, for a slot of level 1 or above.
///
/// Every entry of a slot of level `l` is due within the `64^l` ticks that start at the
/// slot's start, a multiple of `64^l` (the slot-range invariant `Wheel::check`
/// asserts), so its offset is its tick's low `6 * l` bits: at most 30 bits, a `u32`, half
/// the size of a tick. The start of an occupied slot does not move while it stays
/// occupied (`elapsed` stays below it until the slot is processed), so the bound stays
/// valid. A slot of level 0 spans one tick, so its entries are all due at its start and
/// it needs no bound.
///
/// Stored as the bitwise complement of the offset, so that an empty slot's bound is all
/// zero bits: an empty wheel is then all zeros, which a `static` built at run time gets
/// from one memset (a `const` initial value with other bits would be a constant of the
/// wheel's size, copied from flash).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct SlotBound(u32);

impl SlotBound {
    /// An empty slot.
    const NONE: Self = Self(0);
    /// Offset 0: the bound of a slot whose entries are all due at its start.
    const AT_START: Self = Self(!0);

    /// The bound, as an offset from the slot's start (meaningless for an empty slot).
    fn offset(self) -> u64 {
        u64::from(!self.0)
    }

    /// Lowers the bound to the offset of `when`, an entry's tick, in a slot of `level`.
    fn lower_to(&mut self, level: usize, when: u64) {
        let offset = (when & (slot_range(level) - 1)) as u32;
        self.0 = self.0.max(!offset);
    }
}

/// One level: its slots and which of them are occupied.
struct Level {
    occupied: u64,
    slots: [List; SLOTS],
}

impl Level {
    const fn new() -> Self {
        Self {
            occupied: 0,
            slots: [const { List::new() }; SLOTS],
        }
    }

    /// The next occupied slot of `level` after `elapsed`, with the tick it starts at.
    fn next_expiration(&self, level: usize, elapsed: u64) -> Option<Expiration> {
        if self.occupied == 0 {
            return None;
        }
        let now_slot = slot_for(elapsed, level);
        let zeros = self.occupied.rotate_right(now_slot as u32).trailing_zeros() as usize;
        let slot = (now_slot + zeros) % SLOTS;
        let level_start = elapsed & !(level_range(level) - 1);
        let mut deadline = level_start + slot as u64 * slot_range(level);
        if deadline <= elapsed {
            // Only the top level's slots wrap: this slot is in its next rotation.
            debug_assert_eq!(level, LEVELS - 1, "only the top level wraps");
            deadline += level_range(level);
        }
        Some(Expiration {
            level,
            slot,
            deadline,
        })
    }
}

/// An occupied slot and the tick at which it must be processed.
#[derive(Debug, Clone, Copy)]
struct Expiration {
    level: usize,
    slot: usize,
    deadline: u64,
}

/// What [`Wheel::poll_entry`] found.
pub(crate) enum PollEntry {
    /// The entry fired (or was due before it could be linked): the poll is `Ready`.
    Fired,
    /// The entry is linked and will be woken; the waker it replaced, to drop after
    /// unlocking.
    Pending(Option<Waker>),
}

/// The timing wheel. See the [module documentation](self).
pub(crate) struct Wheel {
    /// The last tick processed: every entry due at or before it has been fired (or is in
    /// `pending`).
    elapsed: u64,
    levels: [Level; LEVELS],
    /// The bound of each slot of levels 1 and above (`bounds[level - 1][slot]`).
    bounds: [[SlotBound; SLOTS]; LEVELS - 1],
    pending: List,
    overflow: List,
    /// A lower bound of the ticks in `overflow` (`u64::MAX` when empty).
    overflow_earliest: Earliest,
    /// Linked entries.
    registered: usize,
}

// SAFETY: the wheel's pointers lead to entries that are `Send` and only touched by the
// holder of the wheel (W2); the wheel moves between threads as a whole, inside its lock.
unsafe impl Send for Wheel {}

impl Wheel {
    /// An empty wheel at tick 0.
    pub(crate) const fn new() -> Self {
        Self {
            elapsed: 0,
            levels: [const { Level::new() }; LEVELS],
            bounds: [[SlotBound::NONE; SLOTS]; LEVELS - 1],
            pending: List::new(),
            overflow: List::new(),
            overflow_earliest: Earliest::NONE,
            registered: 0,
        }
    }

    /// How many entries are linked.
    pub(crate) fn registered(&self) -> usize {
        self.registered
    }

    /// The tick at which the earliest linked entry is due, or a little earlier (see the
    /// module documentation); `elapsed` if some are already due.
    pub(crate) fn next_deadline(&self) -> Option<u64> {
        if !self.pending.is_empty() {
            return Some(self.elapsed);
        }
        let in_wheel = self
            .next_expiration()
            .map(|e| e.deadline + self.bound(e.level, e.slot).offset());
        let overflow = (!self.overflow.is_empty()).then_some(self.overflow_earliest.tick());
        match (in_wheel, overflow) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// The bound of `slot` of `level`; on level 0, where a slot spans one tick, its
    /// start.
    fn bound(&self, level: usize, slot: usize) -> SlotBound {
        let (level, slot) = in_range(level, slot);
        match level.checked_sub(1) {
            Some(above) => self.bounds[above][slot],
            None => SlotBound::AT_START,
        }
    }

    /// The bound of `slot` of `level` when it is not level 0.
    fn bound_mut(&mut self, level: usize, slot: usize) -> Option<&mut SlotBound> {
        let (level, slot) = in_range(level, slot);
        let above = level.checked_sub(1)?;
        Some(&mut self.bounds[above][slot])
    }

    /// Marks `slot` of `level` empty: clears its occupied bit and its bound.
    fn clear_slot(&mut self, level: usize, slot: usize) {
        let (level, slot) = in_range(level, slot);
        self.levels[level].occupied &= !(1 << slot);
        if let Some(bound) = self.bound_mut(level, slot) {
            *bound = SlotBound::NONE;
        }
    }

    /// The first occupied slot to process: by the level invariant, the lowest level that
    /// has one.
    fn next_expiration(&self) -> Option<Expiration> {
        self.levels
            .iter()
            .enumerate()
            .find_map(|(level, l)| l.next_expiration(level, self.elapsed))
    }

    /// The poll of a `Sleep` due at `when`: links an idle entry (storing a clone of
    /// `waker`), refreshes the waker of a linked one, or reports that it fired (and
    /// returns it to `Idle`, the owner having seen it).
    ///
    /// # Safety
    /// `entry` is alive and stays so until it is unlinked (its owner is pinned and
    /// cancels it on drop: W1), and it is not linked in another wheel.
    pub(crate) unsafe fn poll_entry(
        &mut self,
        entry: NonNull<Entry>,
        when: u64,
        waker: &Waker,
    ) -> PollEntry {
        // SAFETY: the caller guarantees the entry is alive; `&mut self` is the lock.
        let state = unsafe { with_node(entry, |node| node.state) };
        match state {
            State::Fired => {
                // SAFETY: as above.
                unsafe { with_node(entry, |node| node.state = State::Idle) };
                PollEntry::Fired
            }
            State::Linked(_) => {
                // SAFETY: as above. Cloning a waker only bumps a count (W3).
                let old = unsafe {
                    with_node(entry, |node| match &node.waker {
                        Some(old) if old.will_wake(waker) => None,
                        _ => node.waker.replace(waker.clone()),
                    })
                };
                PollEntry::Pending(old)
            }
            State::Idle if when <= self.elapsed => PollEntry::Fired,
            State::Idle => {
                // SAFETY: as above.
                let old = unsafe { with_node(entry, |node| node.waker.replace(waker.clone())) };
                // SAFETY: the entry is alive, idle (in no list), and will stay alive while
                // linked.
                unsafe { self.link(entry, when) };
                self.registered += 1;
                PollEntry::Pending(old)
            }
        }
    }

    /// Takes `entry` out of the wheel for good (its `Sleep` is dropped, or completed on
    /// its own clock reading): unlinks it if linked, leaves it `Idle`, and returns its
    /// waker for the caller to drop after unlocking (W3).
    ///
    /// # Safety
    /// `entry` is alive, and linked in this wheel if it is linked at all.
    pub(crate) unsafe fn cancel(&mut self, entry: NonNull<Entry>) -> Option<Waker> {
        // SAFETY: the caller guarantees the entry is alive; `&mut self` is the lock.
        let state = unsafe { with_node(entry, |node| node.state) };
        if let State::Linked(_) = state {
            // SAFETY: linked in this wheel.
            unsafe { self.unlink(entry) };
            self.registered -= 1;
        }
        // SAFETY: as above.
        unsafe {
            with_node(entry, |node| {
                node.state = State::Idle;
                node.waker.take()
            })
        }
    }

    /// Moves a linked entry to `when` (to `pending` if the wheel is already past it),
    /// keeping its waker; a fired one becomes `Idle`. Returns whether it is still linked,
    /// and a waker to drop after unlocking.
    ///
    /// # Safety
    /// As for [`Wheel::cancel`].
    pub(crate) unsafe fn reset(
        &mut self,
        entry: NonNull<Entry>,
        when: u64,
    ) -> (bool, Option<Waker>) {
        // SAFETY: the caller guarantees the entry is alive; `&mut self` is the lock.
        let state = unsafe { with_node(entry, |node| node.state) };
        match state {
            State::Linked(_) => {
                // SAFETY: linked in this wheel, then (alive, in no list) linked again.
                unsafe {
                    self.unlink(entry);
                }
                // SAFETY: the entry is alive and in no list.
                unsafe { self.link(entry, when) };
                (true, None)
            }
            State::Fired | State::Idle => {
                // SAFETY: as above.
                let waker = unsafe {
                    with_node(entry, |node| {
                        node.state = State::Idle;
                        node.waker.take()
                    })
                };
                (false, waker)
            }
        }
    }

    /// Whether `entry` fired and its owner has not seen it yet.
    ///
    /// # Safety
    /// `entry` is alive.
    pub(crate) unsafe fn is_fired(&mut self, entry: NonNull<Entry>) -> bool {
        // SAFETY: the caller guarantees the entry is alive; `&mut self` is the lock.
        unsafe { with_node(entry, |node| node.state == State::Fired) }
    }

    /// Fires entries due at or before tick `now`, in deadline order, pushing their wakers
    /// into `batch` until it is full. Returns how many fired, and whether nothing due is
    /// left (otherwise the caller wakes the batch, and calls again).
    pub(crate) fn expire(&mut self, now: u64, batch: &mut WakeBatch) -> (usize, bool) {
        let mut fired = 0;
        loop {
            if batch.is_full() {
                return (fired, false);
            }
            // SAFETY: `&mut self` is the lock; listed entries are alive (W1).
            if let Some(entry) = unsafe { self.pending.pop_front() } {
                // SAFETY: just unlinked, so alive until now (W1); we hold the lock.
                let waker = unsafe {
                    with_node(entry, |node| {
                        node.state = State::Fired;
                        node.waker.take()
                    })
                };
                self.registered -= 1;
                fired += 1;
                if let Some(waker) = waker {
                    batch.push(waker);
                }
                continue;
            }
            let next = self.next_expiration();
            if !self.overflow.is_empty() {
                let from = reachable_from(self.overflow_earliest.tick());
                // Migrate before processing anything later: the slot being processed
                // must never be passed by an entry still waiting in the overflow.
                if from <= self.elapsed
                    || (from <= now && next.is_none_or(|next| from < next.deadline))
                {
                    // No slot is due before `from`, so nothing is skipped.
                    self.elapsed = self.elapsed.max(from);
                    self.migrate();
                    continue;
                }
            }
            match next {
                Some(next) if next.deadline <= now => {
                    self.elapsed = next.deadline;
                    self.cascade(next.level, next.slot);
                }
                _ => {
                    // No slot is due before `now`: jumping there skips nothing.
                    self.elapsed = self.elapsed.max(now);
                    return (fired, true);
                }
            }
        }
    }

    /// Re-inserts every entry of a slot that has just come due (at `elapsed`): each falls
    /// to a lower level, or to `pending` if due.
    fn cascade(&mut self, level: usize, slot: usize) {
        let (level, slot) = in_range(level, slot);
        let mut cursor = self.levels[level].slots[slot].head.take();
        self.clear_slot(level, slot);
        while let Some(entry) = cursor {
            // SAFETY: `entry` was in the slot, so alive (W1); we hold the lock.
            let (next, when) = unsafe { with_node(entry, |node| (node.next, node.when)) };
            cursor = next;
            // SAFETY: alive, and detached from the slot (its links are overwritten).
            unsafe { self.link(entry, when) };
        }
    }

    /// Moves the overflowed entries that are now within reach into the levels.
    fn migrate(&mut self) {
        let mut cursor = self.overflow.head.take();
        self.overflow_earliest = Earliest::NONE;
        while let Some(entry) = cursor {
            // SAFETY: `entry` was in the overflow list, so alive (W1); we hold the lock.
            let (next, when) = unsafe { with_node(entry, |node| (node.next, node.when)) };
            cursor = next;
            // SAFETY: alive, and detached from the list (its links are overwritten).
            unsafe { self.link(entry, when) };
        }
    }

    /// Links `entry`, due at `when`, where it belongs from `elapsed`.
    ///
    /// # Safety
    /// `entry` is alive and in no list (its links may be stale), and stays alive while
    /// linked (W1); we hold the lock.
    unsafe fn link(&mut self, entry: NonNull<Entry>, when: u64) {
        let place = if when <= self.elapsed {
            // SAFETY: the caller's guarantees.
            unsafe { self.pending.push_front(entry) };
            Place::Pending
        } else if !reachable(self.elapsed, when) {
            // SAFETY: the caller's guarantees.
            unsafe { self.overflow.push_front(entry) };
            self.overflow_earliest.lower_to(when);
            Place::Overflow
        } else {
            let level = level_for(self.elapsed, when);
            let slot = slot_for(when, level);
            let l = &mut self.levels[level];
            // SAFETY: the caller's guarantees.
            unsafe { l.slots[slot].push_front(entry) };
            l.occupied |= 1 << slot;
            if let Some(bound) = self.bound_mut(level, slot) {
                bound.lower_to(level, when);
            }
            Place::Slot {
                level: level as u8,
                slot: slot as u8,
            }
        };
        // SAFETY: the caller's guarantees.
        unsafe {
            with_node(entry, |node| {
                node.when = when;
                node.state = State::Linked(place);
            });
        }
    }

    /// Unlinks a linked `entry` from its list, leaving it `Idle`.
    ///
    /// # Safety
    /// `entry` is linked in this wheel; we hold the lock.
    unsafe fn unlink(&mut self, entry: NonNull<Entry>) {
        // SAFETY: linked, so alive (W1).
        let state = unsafe { with_node(entry, |node| node.state) };
        let State::Linked(place) = state else {
            unreachable!("unlinking an entry that is not linked");
        };
        match place {
            Place::Slot { level, slot } => {
                let (level, slot) = in_range(usize::from(level), usize::from(slot));
                let list = &mut self.levels[level].slots[slot];
                // SAFETY: the entry is in this slot (its place says so).
                unsafe { list.unlink(entry) };
                if list.is_empty() {
                    self.clear_slot(level, slot);
                }
            }
            Place::Pending => {
                // SAFETY: the entry is in `pending` (its place says so).
                unsafe { self.pending.unlink(entry) };
            }
            Place::Overflow => {
                // SAFETY: the entry is in `overflow` (its place says so).
                unsafe { self.overflow.unlink(entry) };
                if self.overflow.is_empty() {
                    self.overflow_earliest = Earliest::NONE;
                }
            }
        }
        // SAFETY: as above.
        unsafe { with_node(entry, |node| node.state = State::Idle) };
    }

    /// Checks every structural invariant; for tests.
    #[cfg(test)]
    pub(crate) fn check(&self) {
        /// Checks a list's links and recorded places; returns its entries' ticks.
        fn walk(list: &List, place: Place) -> std::vec::Vec<u64> {
            let mut whens = std::vec::Vec::new();
            let mut prev: Link = None;
            let mut cursor = list.head;
            while let Some(entry) = cursor {
                // SAFETY: listed entries are alive (W1); tests own the wheel.
                let (p, n, when, state) = unsafe {
                    with_node(entry, |node| (node.prev, node.next, node.when, node.state))
                };
                assert_eq!(p, prev, "prev link");
                assert_eq!(state, State::Linked(place), "recorded place");
                whens.push(when);
                prev = cursor;
                cursor = n;
            }
            whens
        }
        let elapsed = self.elapsed;
        let mut count = 0;
        for (level, l) in self.levels.iter().enumerate() {
            for slot in 0..SLOTS {
                let list = &l.slots[slot];
                assert_eq!(
                    l.occupied & (1 << slot) != 0,
                    !list.is_empty(),
                    "occupied bit"
                );
                if list.is_empty() {
                    if level > 0 {
                        assert_eq!(self.bounds[level - 1][slot], SlotBound::NONE);
                    }
                    continue;
                }
                assert_ne!(
                    slot,
                    slot_for(elapsed, level),
                    "the slot holding `elapsed` is empty"
                );
                let level_start = elapsed & !(level_range(level) - 1);
                let mut start = level_start + slot as u64 * slot_range(level);
                if start <= elapsed {
                    start += level_range(level);
                }
                let place = Place::Slot {
                    level: level as u8,
                    slot: slot as u8,
                };
                for when in walk(list, place) {
                    assert!(when > elapsed, "a slotted entry is not due");
                    assert!(
                        start <= when && when < start + slot_range(level),
                        "slot range"
                    );
                    assert!(
                        start + self.bound(level, slot).offset() <= when,
                        "the earliest bound is a lower bound"
                    );
                    assert!(reachable(elapsed, when));
                    count += 1;
                }
            }
        }
        for when in walk(&self.pending, Place::Pending) {
            assert!(when <= elapsed, "pending entries are due");
            count += 1;
        }
        for when in walk(&self.overflow, Place::Overflow) {
            assert!(
                !reachable(elapsed, when),
                "overflowed entries are out of reach"
            );
            assert!(self.overflow_earliest.tick() <= when);
            count += 1;
        }
        if self.overflow.is_empty() {
            assert_eq!(self.overflow_earliest, Earliest::NONE);
        }
        assert_eq!(count, self.registered, "registered count");
    }
}

impl fmt::Debug for Wheel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Wheel")
            .field("elapsed", &self.elapsed)
            .field("registered", &self.registered)
            .field("next_deadline", &self.next_deadline())
            .finish_non_exhaustive()
    }
}

/// How many wakers [`WakeBatch`] holds: the most a `process` call wakes per lock hold.
pub(crate) const BATCH: usize = 32;

/// Wakers collected under the lock, to wake once it is released (W3). Lives on the stack.
///
/// Its slots start uninitialised, so making a batch writes nothing but two counters (an
/// array of `None`s would be written out, 256 bytes on 32-bit targets, and copied).
pub(crate) struct WakeBatch {
    /// `wakers[woken..len]` hold wakers not yet woken; the other slots hold none.
    wakers: [MaybeUninit<Waker>; BATCH],
    woken: usize,
    len: usize,
}

impl WakeBatch {
    pub(crate) const fn new() -> Self {
        Self {
            wakers: [const { MaybeUninit::uninit() }; BATCH],
            woken: 0,
            len: 0,
        }
    }

    fn is_full(&self) -> bool {
        self.len == BATCH
    }

    fn push(&mut self, waker: Waker) {
        self.wakers[self.len].write(waker);
        self.len += 1;
    }

    /// Wakes every collected waker, in the order they fired, and empties the batch.
    pub(crate) fn wake_all(&mut self) {
        while self.woken < self.len {
            let slot = &self.wakers[self.woken];
            // Counted as woken first: if `wake` panics, `Drop` does not see it again.
            self.woken += 1;
            // SAFETY: slots from `woken` (before the increment) to `len` hold wakers, and
            // this one is now outside that range, so it is read out once.
            unsafe { slot.assume_init_read() }.wake();
        }
        self.woken = 0;
        self.len = 0;
    }
}

impl Drop for WakeBatch {
    /// Drops the wakers not woken (a `wake` panicked, or the batch was never woken).
    fn drop(&mut self) {
        while self.woken < self.len {
            let slot = &mut self.wakers[self.woken];
            self.woken += 1;
            // SAFETY: slots from `woken` (before the increment) to `len` hold wakers, and
            // this one is now outside that range, so it is dropped once.
            unsafe { slot.assume_init_drop() };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::boxed::Box;
    use std::collections::BTreeMap;
    use std::pin::Pin;
    use std::sync::{Arc, Mutex};
    use std::task::Wake;
    use std::vec::Vec;

    /// Logs the id of each entry whose waker is woken.
    struct Log {
        id: usize,
        fired: Arc<Mutex<Vec<usize>>>,
    }

    impl Wake for Log {
        fn wake(self: Arc<Self>) {
            self.fired.lock().unwrap().push(self.id);
        }
    }

    /// Panics when woken (after logging its id), to test a batch unwinding mid-way.
    struct Panicky(usize, Arc<Mutex<Vec<usize>>>);

    impl Wake for Panicky {
        fn wake(self: Arc<Self>) {
            self.1.lock().unwrap().push(self.0);
            panic!("a waker that panics");
        }
    }

    #[test]
    fn a_batch_wakes_in_order_once_and_drops_what_it_did_not_wake() {
        let fired = Arc::new(Mutex::new(Vec::new()));
        let log = |id| {
            Arc::new(Log {
                id,
                fired: fired.clone(),
            })
        };
        let kept = log(9);
        let mut batch = WakeBatch::new();
        for id in 0..BATCH {
            batch.push(Waker::from(log(id)));
        }
        assert!(batch.is_full());
        batch.wake_all();
        assert_eq!(*fired.lock().unwrap(), (0..BATCH).collect::<Vec<_>>());
        assert!(!batch.is_full());
        // Never woken: dropped with the batch.
        batch.push(Waker::from(kept.clone()));
        assert_eq!(Arc::strong_count(&kept), 2);
        drop(batch);
        assert_eq!(Arc::strong_count(&kept), 1);
        assert_eq!(fired.lock().unwrap().len(), BATCH);
    }

    #[test]
    fn a_waker_panicking_in_a_batch_leaves_the_rest_dropped_not_woken() {
        let fired = Arc::new(Mutex::new(Vec::new()));
        let after = Arc::new(Log {
            id: 2,
            fired: fired.clone(),
        });
        let mut batch = WakeBatch::new();
        batch.push(Waker::from(Arc::new(Log {
            id: 0,
            fired: fired.clone(),
        })));
        batch.push(Waker::from(Arc::new(Panicky(1, fired.clone()))));
        batch.push(Waker::from(after.clone()));
        let unwound = std::panic::catch_unwind(std::panic::AssertUnwindSafe(move || {
            batch.wake_all();
        }));
        assert!(unwound.is_err());
        assert_eq!(*fired.lock().unwrap(), [0, 1]);
        assert_eq!(Arc::strong_count(&after), 1, "dropped while unwinding");
    }

    #[test]
    fn a_batch_is_reused_after_a_panicking_wake() {
        let fired = Arc::new(Mutex::new(Vec::new()));
        let log = |id| {
            Arc::new(Log {
                id,
                fired: fired.clone(),
            })
        };
        let (a, c, d) = (log(0), log(2), log(3));
        let mut batch = WakeBatch::new();
        batch.push(Waker::from(a.clone()));
        batch.push(Waker::from(Arc::new(Panicky(1, fired.clone()))));
        batch.push(Waker::from(c.clone()));
        let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| batch.wake_all()));
        assert!(r.is_err());
        batch.push(Waker::from(d.clone()));
        batch.wake_all();
        assert_eq!(*fired.lock().unwrap(), [0, 1, 2, 3]);
        drop(batch);
        assert_eq!(
            (
                Arc::strong_count(&a),
                Arc::strong_count(&c),
                Arc::strong_count(&d)
            ),
            (1, 1, 1)
        );
    }

    /// A waker whose drop panics (not its wake): the batch's Drop must not double-drop.
    struct DropPanics;
    impl Wake for DropPanics {
        fn wake(self: Arc<Self>) {}
    }
    impl Drop for DropPanics {
        fn drop(&mut self) {
            panic!("drop panics");
        }
    }

    #[test]
    #[cfg_attr(
        miri,
        ignore = "leaks, by design, the wakers after the one whose drop panicked"
    )]
    fn a_waker_whose_drop_panics_is_not_dropped_twice() {
        let c = Arc::new(Log {
            id: 5,
            fired: Arc::new(Mutex::new(Vec::new())),
        });
        let mut batch = WakeBatch::new();
        batch.push(Waker::from(Arc::new(DropPanics)));
        batch.push(Waker::from(c.clone()));
        let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(move || drop(batch)));
        assert!(r.is_err());
        // The rest is leaked: no double drop, no read of an empty slot.
        assert_eq!(Arc::strong_count(&c), 2);
    }

    /// A small deterministic generator (an LCG; no `rand` dependency).
    struct Lcg(u64);

    impl Lcg {
        fn next(&mut self) -> u64 {
            self.0 = self
                .0
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            self.0 >> 16
        }
        fn below(&mut self, n: u64) -> u64 {
            self.next() % n
        }
    }

    struct Harness {
        wheel: Wheel,
        entries: Vec<Pin<Box<Entry>>>,
        wakers: Vec<Waker>,
        fired: Arc<Mutex<Vec<usize>>>,
    }

    impl Harness {
        fn new(n: usize) -> Self {
            let fired = Arc::new(Mutex::new(Vec::new()));
            Self {
                wheel: Wheel::new(),
                entries: (0..n).map(|_| Box::pin(Entry::new())).collect(),
                wakers: (0..n)
                    .map(|id| {
                        Waker::from(Arc::new(Log {
                            id,
                            fired: fired.clone(),
                        }))
                    })
                    .collect(),
                fired,
            }
        }

        fn ptr(&self, id: usize) -> NonNull<Entry> {
            NonNull::from(&*self.entries[id])
        }

        fn register(&mut self, id: usize, when: u64) -> bool {
            let ptr = self.ptr(id);
            // SAFETY: the boxed entries outlive the wheel's use of them (cancelled in Drop).
            let r = unsafe { self.wheel.poll_entry(ptr, when, &self.wakers[id]) };
            matches!(r, PollEntry::Pending(_))
        }

        fn cancel(&mut self, id: usize) {
            let ptr = self.ptr(id);
            // SAFETY: as above.
            drop(unsafe { self.wheel.cancel(ptr) });
        }

        fn state(&mut self, id: usize) -> State {
            let ptr = self.ptr(id);
            // SAFETY: as above; the harness owns the wheel.
            unsafe { with_node(ptr, |node| node.state) }
        }

        /// Expires up to `now`, returning the ids fired, in order.
        fn expire(&mut self, now: u64) -> Vec<usize> {
            loop {
                let mut batch = WakeBatch::new();
                let (_, done) = self.wheel.expire(now, &mut batch);
                batch.wake_all();
                self.wheel.check();
                if done {
                    break;
                }
            }
            core::mem::take(&mut *self.fired.lock().unwrap())
        }
    }

    impl Drop for Harness {
        fn drop(&mut self) {
            for id in 0..self.entries.len() {
                self.cancel(id);
            }
        }
    }

    #[test]
    fn levels_and_slots() {
        assert_eq!(level_for(0, 1), 0);
        assert_eq!(level_for(0, 63), 0);
        assert_eq!(level_for(0, 64), 1);
        assert_eq!(level_for(0, 4095), 1);
        assert_eq!(level_for(0, 4096), 2);
        assert_eq!(level_for(0, RANGE - 1), 5);
        assert_eq!(level_for(RANGE - 1, RANGE + 5), 5);
        assert_eq!(slot_for(65, 1), 1);
        assert!(reachable(0, RANGE - 1));
        assert!(!reachable(0, RANGE));
        assert!(reachable(TOP_SLOT_RANGE, RANGE + TOP_SLOT_RANGE - 1));
        assert!(!reachable(TOP_SLOT_RANGE + 5, RANGE + TOP_SLOT_RANGE));
        for when in [RANGE, RANGE + 1, 3 * RANGE + 17, u64::MAX / 2] {
            let from = reachable_from(when);
            assert!(reachable(from, when));
            assert!(!reachable(from - 1, when));
        }
        assert_eq!(deadline_tick(Instant::from_nanos(1)), 1);
        assert_eq!(deadline_tick(Instant::from_nanos(1_000_000)), 1);
        assert_eq!(now_tick(Instant::from_nanos(1_999_999)), 1);
        assert_eq!(tick_instant(u64::MAX), Instant::MAX);
    }

    #[test]
    fn a_past_deadline_is_not_linked() {
        let mut h = Harness::new(2);
        assert!(h.expire(10).is_empty());
        assert!(!h.register(0, 10));
        assert!(!h.register(0, 3));
        assert!(h.register(1, 11));
        assert_eq!(h.wheel.next_deadline(), Some(11));
        assert_eq!(h.expire(11), [1]);
        assert_eq!(h.state(1), State::Fired);
    }

    /// On every level above 0 (whose slots span one tick), the next deadline is the tick
    /// of the slot's earliest entry, not the slot's start; cancelling that entry leaves
    /// the bound stale until the slot is processed, and then the next deadline is the
    /// remaining entry's.
    #[test]
    fn next_deadline_is_the_earliest_tick_on_every_level() {
        for level in 1..LEVELS {
            let mut h = Harness::new(2);
            let start = 5 * slot_range(level);
            let (first, last) = (
                start + (slot_range(level) - 1) / 3,
                start + slot_range(level) - 1,
            );
            assert_eq!(level_for(0, first), level);
            assert!(h.register(1, last));
            assert!(h.register(0, first));
            h.wheel.check();
            assert_eq!(h.wheel.next_deadline(), Some(first), "level {level}");
            h.cancel(0);
            assert_eq!(h.wheel.next_deadline(), Some(first), "a stale bound");
            assert!(h.expire(first).is_empty());
            assert_eq!(h.wheel.next_deadline(), Some(last), "level {level}");
            assert_eq!(h.expire(last), [1]);
        }
    }

    #[test]
    fn reset_into_the_past_fires_at_next_expire() {
        let mut h = Harness::new(1);
        assert!(h.register(0, 1_000_000));
        h.expire(500);
        let ptr = h.ptr(0);
        // SAFETY: the entry is alive and linked in this wheel.
        let (linked, _) = unsafe { h.wheel.reset(ptr, 100) };
        assert!(linked);
        h.wheel.check();
        assert_eq!(h.wheel.next_deadline(), Some(500));
        assert_eq!(h.expire(500), [0]);
    }

    /// Random registrations, cancellations and expiries against a model, checking the
    /// wheel's invariants after every step.
    #[test]
    fn random_operations_match_a_model() {
        let (n, steps) = if cfg!(miri) { (24, 150) } else { (400, 20_000) };
        let mut h = Harness::new(n);
        let mut rng = Lcg(7);
        let mut model: BTreeMap<usize, u64> = BTreeMap::new();
        let mut now = 0u64;
        for _ in 0..steps {
            let id = rng.below(n as u64) as usize;
            match rng.below(10) {
                0..=4 => {
                    if model.contains_key(&id) {
                        continue;
                    }
                    // Anything from "due now" to far beyond the wheel.
                    let span = [64, 4_096, 1 << 20, RANGE, 4 * RANGE][rng.below(5) as usize];
                    let when = now + 1 + rng.below(span);
                    if h.state(id) == State::Fired {
                        // The owner sees the fire before re-arming.
                        let ptr = h.ptr(id);
                        // SAFETY: alive.
                        drop(unsafe { h.wheel.reset(ptr, when) });
                    }
                    assert!(h.register(id, when));
                    model.insert(id, when);
                }
                5 | 6 => {
                    h.cancel(id);
                    model.remove(&id);
                }
                _ => {
                    let target = match model.values().min() {
                        Some(&min) if rng.below(2) == 0 => min,
                        _ => {
                            let span = [10, 1_000, RANGE][rng.below(3) as usize];
                            now + rng.below(span)
                        }
                    };
                    // next_deadline never overshoots the earliest entry.
                    if let Some(&min) = model.values().min() {
                        assert!(h.wheel.next_deadline().unwrap() <= min);
                    }
                    now = now.max(target);
                    let fired = h.expire(now);
                    let mut expected: Vec<(u64, usize)> = model
                        .iter()
                        .filter(|&(_, &when)| when <= now)
                        .map(|(&id, &when)| (when, id))
                        .collect();
                    expected.sort();
                    let got: Vec<u64> = fired.iter().map(|id| model[id]).collect();
                    assert!(got.is_sorted(), "fired in deadline order");
                    let mut fired_sorted = fired.clone();
                    fired_sorted.sort();
                    let mut expected_ids: Vec<usize> = expected.iter().map(|&(_, id)| id).collect();
                    expected_ids.sort();
                    assert_eq!(fired_sorted, expected_ids, "exactly the due entries fired");
                    for id in fired {
                        model.remove(&id);
                    }
                }
            }
            h.wheel.check();
            assert_eq!(h.wheel.registered(), model.len());
        }
    }
}
