//! [`ProcPool`]: a static pool of `N` fixed-size slots for lightprocs, for programs with
//! no allocator.
//!
//! Each slot is `SIZE` bytes aligned to 16, plus a `used` flag. Spawning claims a free
//! slot with a compare-exchange on its flag (Acquire, pairing with the Release that freed
//! it, so the previous occupant's destruction happens-before the new one's construction)
//! and writes the proc's cell into it. The proc records its flag; when its last reference
//! is dropped it is dropped in place and the flag is cleared. A full pool, or a future
//! too large for a slot, is an error that hands the future back.
//!
//! ```
//! use ravelin_kernel::lightproc::{ProcPool, Runnable};
//!
//! static POOL: ProcPool<4, 256> = ProcPool::new();
//!
//! let (runnable, handle) = POOL.spawn(async { 6 * 7 }, |r: Runnable| drop(r)).unwrap();
//! runnable.run();
//! assert!(handle.is_finished());
//! assert_eq!(POOL.in_use(), 1); // the handle still holds the output
//! drop(handle);
//! assert_eq!(POOL.in_use(), 0);
//! ```

use core::future::Future;
use core::mem::{MaybeUninit, align_of, size_of};
use core::ptr::NonNull;

use super::cell::Cell;
use super::header::Header;
use super::storage::Storage;
use super::{ProcStack, Schedule, SpawnError};
use crate::sync::{AtomicBool, AtomicUsize, Ordering, UnsafeStorageCell};

/// The alignment of every pool slot.
pub const SLOT_ALIGN: usize = 16;

/// A fixed set of `N` slots of `SIZE` bytes each, for spawning lightprocs with no
/// allocator. Lives in a `static` (spawning needs `&'static self`).
pub struct ProcPool<const N: usize, const SIZE: usize> {
    slots: [Slot<SIZE>; N],
    /// Where the next claim starts looking; only a hint.
    hint: AtomicUsize,
}

struct Slot<const SIZE: usize> {
    used: AtomicBool,
    mem: UnsafeStorageCell<MaybeUninit<SlotMem<SIZE>>>,
}

#[repr(C, align(16))]
struct SlotMem<const SIZE: usize>([u8; SIZE]);

static_assertions::const_assert_eq!(align_of::<SlotMem<1>>(), SLOT_ALIGN);

// SAFETY: a slot's memory is written only by the spawner that won its `used` flag, and
// afterwards accessed only through the lightproc protocol (state.rs), whose cells are
// `Send + Sync` for the `Send` futures and `Schedule` types a pool accepts.
unsafe impl<const N: usize, const SIZE: usize> Sync for ProcPool<N, SIZE> {}

/// The storage tag of a proc that lives in a pool slot: the slot's `used` flag.
pub(crate) struct PoolSlot(&'static AtomicBool);

/// Frees a slot when dropped, also while unwinding from a panicking destructor.
struct MarkFree(&'static AtomicBool);

impl Drop for MarkFree {
    fn drop(&mut self) {
        self.0.store(false, Ordering::Release);
    }
}

// SAFETY: the cell is dropped in place once; `MarkFree` returns the slot even if a
// destructor panics.
unsafe impl Storage for PoolSlot {
    unsafe fn release<F: Future, S>(cell: NonNull<Cell<F, S, Self>>) {
        // SAFETY: the cell is alive until the `drop_in_place` below.
        let _free = MarkFree(unsafe { Cell::storage(cell) }.0);
        // SAFETY: no references remain (the caller's contract); the slot is not reused
        // before `MarkFree` clears the flag, after this drop.
        unsafe { cell.as_ptr().drop_in_place() };
    }
}

impl<const N: usize, const SIZE: usize> ProcPool<N, SIZE> {
    /// An empty pool.
    #[cfg(not(loom))]
    #[allow(clippy::new_without_default)] // a `static` needs the `const fn`
    pub const fn new() -> Self {
        Self {
            slots: [const {
                Slot {
                    used: AtomicBool::new(false),
                    mem: UnsafeStorageCell::new(MaybeUninit::uninit()),
                }
            }; N],
            hint: AtomicUsize::new(0),
        }
    }

    /// An empty pool (loom's atomics are not `const`).
    #[cfg(loom)]
    #[allow(clippy::new_without_default)]
    pub fn new() -> Self {
        Self {
            slots: core::array::from_fn(|_| Slot {
                used: AtomicBool::new(false),
                mem: UnsafeStorageCell::new(MaybeUninit::uninit()),
            }),
            hint: AtomicUsize::new(0),
        }
    }

    /// The number of slots.
    pub const fn capacity(&self) -> usize {
        N
    }

    /// The number of slots holding a live proc (a snapshot, exact when nothing races).
    pub fn in_use(&self) -> usize {
        self.slots
            .iter()
            .filter(|slot| slot.used.load(Ordering::Acquire))
            .count()
    }

    /// Spawns `future` into a free slot; see
    /// [`Builder::spawn_in`](super::Builder::spawn_in).
    #[allow(clippy::type_complexity)]
    pub fn spawn<F, S>(
        &'static self,
        future: F,
        schedule: S,
    ) -> Result<(super::Runnable, super::ProcHandle<F::Output>), SpawnError<F>>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
        S: Schedule,
    {
        super::Builder::new().spawn_in(self, future, schedule)
    }

    /// Places a new proc in a free slot and returns its header (two references).
    pub(crate) fn place<F, S>(
        &'static self,
        future: F,
        schedule: S,
        stack: ProcStack,
    ) -> Result<NonNull<Header>, SpawnError<F>>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
        S: Schedule,
    {
        self.place_with(future, |future| future, schedule, stack)
    }

    /// Places a new proc in a free slot, its future made by `make(value)` only once the
    /// slot is claimed, and returns its header (two references). A full pool, or a proc
    /// larger than a slot, hands `value` back.
    ///
    /// `make` is called with the proc's memory in reach, so the compiler can build the
    /// future straight into the slot rather than on the stack and copy it there.
    pub(crate) fn place_with<T, F, S>(
        &'static self,
        value: T,
        make: impl FnOnce(T) -> F,
        schedule: S,
        stack: ProcStack,
    ) -> Result<NonNull<Header>, SpawnError<T>>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
        S: Schedule,
    {
        let needed = size_of::<Cell<F, S, PoolSlot>>();
        if needed > SIZE || align_of::<Cell<F, S, PoolSlot>>() > SLOT_ALIGN {
            return Err(SpawnError::TooLarge {
                future: value,
                needed,
                slot_size: SIZE,
            });
        }
        let Some(slot) = self.claim() else {
            return Err(SpawnError::Full(value));
        };
        let memory = NonNull::from(&slot.mem).cast::<Cell<F, S, PoolSlot>>();
        // A panicking `make` must not keep the slot claimed: until the cell is made, a
        // guard frees it on unwinding.
        let unclaim = MarkFree(&slot.used);
        let cell = Cell::new(make(value), schedule, PoolSlot(&slot.used), stack);
        core::mem::forget(unclaim);
        // SAFETY: the slot was claimed, so its memory is ours until `PoolSlot::release`
        // clears the flag; it is large and aligned enough (checked above).
        Ok(unsafe { Cell::write(memory, cell) })
    }

    /// Claims a free slot, if there is one.
    fn claim(&'static self) -> Option<&'static Slot<SIZE>> {
        let start = self.hint.load(Ordering::Relaxed);
        (0..N).map(|i| (start + i) % N).find_map(|index| {
            let slot = &self.slots[index];
            slot.used
                .compare_exchange(false, true, Ordering::Acquire, Ordering::Relaxed)
                .is_ok()
                .then(|| {
                    self.hint.store(index + 1, Ordering::Relaxed);
                    slot
                })
        })
    }
}
