//! The synchronisation shim: every atomic and every `UnsafeCell` the kernel uses comes
//! from here.
//!
//! Under `--cfg loom` the types are loom's, so the models in `loom-tests/` explore every
//! interleaving of the kernel's real code; otherwise they are `core`'s, at zero cost.
//! [`UnsafeCell`] follows loom's closure-based API (`with`, `with_mut`) in both builds,
//! so that loom can see every access to a cell and report one that races.
//!
//! Two things deliberately bypass loom and say so where they are used:
//! [`UnsafeStorageCell`], the raw bytes of a static pool slot (the lightproc placed in it
//! has its own tracked cells), and [`untracked`], counters that are labels rather than
//! part of any protocol.

#[cfg(loom)]
pub(crate) use loom::sync::atomic::{AtomicBool, AtomicPtr, AtomicUsize, Ordering};

#[cfg(all(not(loom), target_has_atomic = "ptr"))]
pub(crate) use core::sync::atomic::{AtomicBool, AtomicPtr, AtomicUsize, Ordering};
// Cortex-M0 (thumbv6m) has loads and stores but no compare-and-swap: portable-atomic's
// types take a critical section for each read-modify-write there.
#[cfg(all(not(loom), not(target_has_atomic = "ptr")))]
pub(crate) use portable_atomic::{AtomicBool, AtomicPtr, AtomicUsize, Ordering};

// A full fence: the idle protocol's (multi-worker scheduler), and the executor's `init`
// racing a spawn from another thread.
#[cfg(not(loom))]
pub(crate) use core::sync::atomic::fence;
#[cfg(loom)]
pub(crate) use loom::sync::atomic::fence;

// The hint in an idle worker's bounded spin (multi-worker scheduler): under loom, a
// yield to the model, so that the spin lets the other threads make progress.
#[cfg(all(not(loom), feature = "alloc"))]
pub(crate) use core::hint::spin_loop;
#[cfg(all(loom, feature = "alloc"))]
pub(crate) use loom::hint::spin_loop;

// What only the multi-worker scheduler (feature `alloc`) uses: the run queue's cursors,
// two u32 in an AtomicU64 where the target has 64-bit atomics, two u16 in an AtomicU32
// elsewhere (thumbv7em has no AtomicU64).
#[cfg(all(not(loom), feature = "alloc", not(target_has_atomic = "64")))]
pub(crate) use core::sync::atomic::AtomicU16;
#[cfg(all(not(loom), feature = "alloc"))]
pub(crate) use core::sync::atomic::AtomicU32;
#[cfg(all(not(loom), feature = "alloc", target_has_atomic = "64"))]
pub(crate) use core::sync::atomic::AtomicU64;
#[cfg(all(loom, feature = "alloc", not(target_has_atomic = "64")))]
pub(crate) use loom::sync::atomic::AtomicU16;
#[cfg(all(loom, feature = "alloc"))]
pub(crate) use loom::sync::atomic::AtomicU32;
#[cfg(all(loom, feature = "alloc", target_has_atomic = "64"))]
pub(crate) use loom::sync::atomic::AtomicU64;

#[cfg(loom)]
pub(crate) use loom::cell::UnsafeCell;

// The reference count of what the mailbox layer shares on the heap (the one-shot reply
// channel): loom's `Arc` under loom, so a model reports one that is never freed.
#[cfg(all(not(loom), feature = "alloc"))]
pub(crate) use alloc::sync::Arc;
#[cfg(all(loom, feature = "alloc"))]
pub(crate) use loom::sync::Arc;

/// Raw storage that loom does not track: the bytes of a pool slot. Whatever is placed
/// inside uses tracked cells of its own.
pub(crate) use core::cell::UnsafeCell as UnsafeStorageCell;

/// Atomics that are not part of any concurrent protocol (unique ids), so loom need not
/// see them and they can live in `static`s under loom too.
pub(crate) mod untracked {
    #[cfg(target_has_atomic = "ptr")]
    pub(crate) use core::sync::atomic::{AtomicUsize, Ordering};
    #[cfg(not(target_has_atomic = "ptr"))]
    pub(crate) use portable_atomic::{AtomicUsize, Ordering};
}

/// `core::cell::UnsafeCell` with loom's access API.
#[cfg(not(loom))]
#[derive(Debug)]
pub(crate) struct UnsafeCell<T>(core::cell::UnsafeCell<T>);

#[cfg(not(loom))]
impl<T> UnsafeCell<T> {
    /// Wraps `value`.
    pub(crate) const fn new(value: T) -> Self {
        Self(core::cell::UnsafeCell::new(value))
    }

    /// Gives `f` a shared raw pointer to the value. The caller's protocol must exclude
    /// concurrent writers for as long as `f` dereferences it.
    #[inline(always)]
    pub(crate) fn with<R>(&self, f: impl FnOnce(*const T) -> R) -> R {
        f(self.0.get())
    }

    /// Gives `f` a mutable raw pointer to the value. The caller's protocol must exclude
    /// every other access for as long as `f` dereferences it.
    #[inline(always)]
    pub(crate) fn with_mut<R>(&self, f: impl FnOnce(*mut T) -> R) -> R {
        f(self.0.get())
    }
}

/// Aborts the process: the answer to a reference count about to overflow, where
/// unwinding could leave a freed lightproc reachable.
#[cold]
pub(crate) fn abort() -> ! {
    #[cfg(feature = "std")]
    {
        extern crate std;
        std::process::abort()
    }
    #[cfg(not(feature = "std"))]
    {
        // A panic while panicking aborts, whatever the panic strategy.
        struct Abort;
        impl Drop for Abort {
            fn drop(&mut self) {
                panic!("ravelin: aborting");
            }
        }
        let _abort = Abort;
        panic!("ravelin: reference count overflow");
    }
}

/// A mutual-exclusion lock: `spin`'s spin lock normally, loom's `Mutex` under `cfg(loom)`,
/// behind one API ([`Mutex::lock`] returns a guard that derefs to the value).
///
/// The spin lock needs neither an allocator nor an OS, so it works on bare metal; it is
/// meant for short critical sections (the timer wheel's are a few pointer updates). It
/// must not be taken from an interrupt handler that may preempt a holder on the same
/// core: that would spin for ever.
#[derive(Debug)]
pub(crate) struct Mutex<T>(
    #[cfg(not(loom))] spin::Mutex<T>,
    #[cfg(loom)] loom::sync::Mutex<T>,
);

/// The guard of a locked [`Mutex`]: the lock is released when it is dropped.
#[cfg(not(loom))]
pub(crate) type MutexGuard<'a, T> = spin::MutexGuard<'a, T>;
/// The guard of a locked [`Mutex`]: the lock is released when it is dropped.
#[cfg(loom)]
pub(crate) type MutexGuard<'a, T> = loom::sync::MutexGuard<'a, T>;

impl<T: Default> Default for Mutex<T> {
    fn default() -> Self {
        Self::new(T::default())
    }
}

impl<T> Mutex<T> {
    /// An unlocked mutex holding `value`.
    #[cfg(not(loom))]
    pub(crate) const fn new(value: T) -> Self {
        Self(spin::Mutex::new(value))
    }

    /// An unlocked mutex holding `value` (not `const` under loom).
    #[cfg(loom)]
    pub(crate) fn new(value: T) -> Self {
        Self(loom::sync::Mutex::new(value))
    }

    /// Locks the mutex, spinning (or, under loom, yielding to the model) until it is free.
    #[inline]
    pub(crate) fn lock(&self) -> MutexGuard<'_, T> {
        #[cfg(not(loom))]
        {
            self.0.lock()
        }
        #[cfg(loom)]
        {
            // A loom mutex is poisoned only if a model thread panicked while holding it,
            // which already fails the model.
            self.0.lock().unwrap()
        }
    }
}

/// A `&'static T` that may be set once after construction: what lets a `static` that
/// refers to the platform start out all zeros, so that it lives in `.bss` rather than in
/// `.data` (whose initial values take flash as well as RAM).
///
/// [`set`](Self::set) claims the cell with a compare-and-swap, writes the reference and
/// publishes it with a Release store; [`get`](Self::get) reads it only after an Acquire
/// load saw it published. So a reader never sees a half-written (fat) reference, and two
/// racing `set`s cannot both succeed.
pub(crate) struct OnceRef<T: ?Sized + 'static> {
    /// [`UNSET`], [`SETTING`] or [`SET`]; the value is written only by the `set` that
    /// moved it from `UNSET` to `SETTING`, and read only once it is `SET`.
    state: AtomicUsize,
    value: UnsafeCell<Option<&'static T>>,
}

/// No reference yet (all zeros).
const UNSET: usize = 0;
/// A `set` is writing the reference.
const SETTING: usize = 1;
/// The reference is written and never changes again.
const SET: usize = 2;

// SAFETY: the cell only ever holds a `&'static T`, which may be shared between threads
// when `T: Sync`; writing it is exclusive (the one `set` that claimed `UNSET`) and
// happens before every read (Release store of `SET`, Acquire load before reading).
unsafe impl<T: ?Sized + Sync> Sync for OnceRef<T> {}
// SAFETY: as for `Sync`: what moves with the cell is a `&'static T`.
unsafe impl<T: ?Sized + Sync> Send for OnceRef<T> {}

impl<T: ?Sized + 'static> OnceRef<T> {
    /// No reference yet: all zeros.
    #[cfg(not(loom))]
    pub(crate) const fn unset() -> Self {
        Self {
            state: AtomicUsize::new(UNSET),
            value: UnsafeCell::new(None),
        }
    }

    /// No reference yet (loom's atomics are not `const`).
    #[cfg(loom)]
    pub(crate) fn unset() -> Self {
        Self {
            state: AtomicUsize::new(UNSET),
            value: UnsafeCell::new(None),
        }
    }

    /// Set to `value` from the start.
    #[cfg(not(loom))]
    pub(crate) const fn new(value: &'static T) -> Self {
        Self {
            state: AtomicUsize::new(SET),
            value: UnsafeCell::new(Some(value)),
        }
    }

    /// Set to `value` from the start (loom's atomics are not `const`).
    #[cfg(loom)]
    pub(crate) fn new(value: &'static T) -> Self {
        Self {
            state: AtomicUsize::new(SET),
            value: UnsafeCell::new(Some(value)),
        }
    }

    /// Sets the reference to `value`; `Err(value)` if it was set (or is being set).
    pub(crate) fn set(&self, value: &'static T) -> Result<(), &'static T> {
        if self
            .state
            .compare_exchange(UNSET, SETTING, Ordering::Acquire, Ordering::Relaxed)
            .is_err()
        {
            return Err(value);
        }
        // SAFETY: this call moved the state from `UNSET` to `SETTING`, which happens once:
        // no other `set` writes the cell, and `get` reads it only once the state is `SET`.
        self.value.with_mut(|cell| unsafe { *cell = Some(value) });
        self.state.store(SET, Ordering::Release);
        Ok(())
    }

    /// The reference, if it is set.
    #[inline]
    pub(crate) fn get(&self) -> Option<&'static T> {
        if self.state.load(Ordering::Acquire) != SET {
            return None;
        }
        // SAFETY: the state is `SET`: the one write to the cell happened before the
        // Release store this Acquire load saw, and nothing writes it again.
        self.value.with(|cell| unsafe { *cell })
    }
}
