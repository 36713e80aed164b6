//! [`Builder`] and [`spawn`]: making lightprocs.

use core::future::Future;
use core::ptr::NonNull;

use super::header::Header;
use super::{ProcHandle, ProcPool, ProcStack, Runnable, Schedule, SpawnError};

/// Options for a new lightproc.
///
/// ```
/// use ravelin_kernel::lightproc::{Builder, Runnable};
///
/// let (runnable, handle) = Builder::new()
///     .name("greeter")
///     .spawn(async { "hello" }, |r: Runnable| r.run());
/// assert_eq!(handle.stack().name(), Some("greeter"));
/// runnable.schedule(); // the schedule function runs it at once
/// assert!(handle.is_finished());
/// ```
#[derive(Clone, Copy, Debug, Default)]
pub struct Builder {
    name: Option<&'static str>,
}

impl Builder {
    /// Default options: no name.
    pub const fn new() -> Self {
        Self { name: None }
    }

    /// Names the proc (shown in its [`ProcStack`]).
    pub const fn name(mut self, name: &'static str) -> Self {
        self.name = Some(name);
        self
    }

    /// Spawns `future` in its own heap allocation (header, scheduler and future in one).
    ///
    /// Nothing runs yet: the returned [`Runnable`] is the first permission to run, to be
    /// handed to a queue (usually by [`Runnable::schedule`]); the [`ProcHandle`] awaits
    /// the output.
    #[cfg(feature = "alloc")]
    pub fn spawn<F, S>(self, future: F, schedule: S) -> (Runnable, ProcHandle<F::Output>)
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
        S: Schedule,
    {
        use super::cell::Cell;
        use super::storage::Heap;
        let cell = Cell::new(future, schedule, Heap, ProcStack::new(self.name));
        // SAFETY: a new cell holds exactly a Runnable's and a handle's references, and
        // its output type is `F::Output`.
        unsafe { split(Cell::allocate(cell)) }
    }

    /// Spawns on the heap a future made by `make` from the addresses of the proc's
    /// header and of its scheduler value inside the one allocation (see
    /// `Cell::allocate_cyclic`): a proc that keeps state beside its future, such as a
    /// mailbox, in that same allocation.
    #[cfg(feature = "alloc")]
    pub(crate) fn spawn_cyclic<F, S>(
        self,
        schedule: S,
        make: impl FnOnce(NonNull<Header>, NonNull<S>) -> F,
    ) -> (Runnable, ProcHandle<F::Output>)
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
        S: Schedule,
    {
        use super::cell::Cell;
        let header = Cell::allocate_cyclic(schedule, ProcStack::new(self.name), make);
        // SAFETY: a new cell holds exactly a Runnable's and a handle's references, and
        // its output type is `F::Output`.
        unsafe { split(header) }
    }

    /// Spawns `future` into a free slot of `pool`; no allocator is involved. A full pool,
    /// or a proc larger than a slot, hands the future back in the error.
    #[allow(clippy::type_complexity)]
    pub fn spawn_in<F, S, const N: usize, const SIZE: usize>(
        self,
        pool: &'static ProcPool<N, SIZE>,
        future: F,
        schedule: S,
    ) -> Result<(Runnable, ProcHandle<F::Output>), SpawnError<F>>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
        S: Schedule,
    {
        let header = pool.place(future, schedule, ProcStack::new(self.name))?;
        // SAFETY: as in `spawn`.
        Ok(unsafe { split(header) })
    }

    /// Spawns into a free slot of `pool` the future `make` returns, calling it only once
    /// the slot is claimed; a full pool, or a proc larger than a slot, hands `make` back
    /// in the error, not called.
    ///
    /// Otherwise like [`spawn_in`](Self::spawn_in); the optimiser can build the future in
    /// its slot rather than move it there (an optimisation, not a guarantee), and it is
    /// never moved back into an error, which spares the copies, and the code for them,
    /// where futures are large.
    #[allow(clippy::type_complexity)]
    pub fn spawn_in_with<M, F, S, const N: usize, const SIZE: usize>(
        self,
        pool: &'static ProcPool<N, SIZE>,
        make: M,
        schedule: S,
    ) -> Result<(Runnable, ProcHandle<F::Output>), SpawnError<M>>
    where
        M: FnOnce() -> F,
        F: Future + Send + 'static,
        F::Output: Send + 'static,
        S: Schedule,
    {
        let header = pool.place_with(make, |make| make(), schedule, ProcStack::new(self.name))?;
        // SAFETY: as in `spawn`.
        Ok(unsafe { split(header) })
    }
}

/// Spawns `future` on the heap with default options; see [`Builder::spawn`].
///
/// ```
/// use std::sync::{Arc, Mutex};
/// use std::collections::VecDeque;
/// use ravelin_kernel::lightproc::{spawn, Runnable};
///
/// // The simplest executor: a queue of runnables.
/// let queue = Arc::new(Mutex::new(VecDeque::new()));
/// let q = queue.clone();
/// let (runnable, mut handle) = spawn(async { 1 + 1 }, move |r: Runnable| {
///     q.lock().unwrap().push_back(r)
/// });
/// runnable.schedule();
/// while let Some(r) = queue.lock().unwrap().pop_front() {
///     r.run();
/// }
/// assert!(handle.is_finished());
/// ```
#[cfg(feature = "alloc")]
pub fn spawn<F, S>(future: F, schedule: S) -> (Runnable, ProcHandle<F::Output>)
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
    S: Schedule,
{
    Builder::new().spawn(future, schedule)
}

/// # Safety
/// `header` is a new proc with its two initial references; `T` is its output type.
unsafe fn split<T>(header: NonNull<Header>) -> (Runnable, ProcHandle<T>) {
    // SAFETY: the Runnable takes one of the two initial references.
    let runnable = unsafe { Runnable::from_header(header) };
    // SAFETY: the handle takes the other; `T` is the output type (caller's contract).
    let handle = unsafe { ProcHandle::from_header(header) };
    (runnable, handle)
}
