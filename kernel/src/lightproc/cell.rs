//! [`Cell`]: one lightproc's memory (header, storage tag, scheduler, future or output)
//! and the monomorphised functions behind its [`VTable`].
//!
//! Every function here takes the proc as a `NonNull<Header>` and makes only short-lived
//! references from it, never one that is still live when the memory may be freed.

use core::future::Future;
use core::mem::{self, ManuallyDrop};
use core::pin::Pin;
use core::ptr::{self, NonNull};
use core::task::{Context, Poll};

use super::header::{Header, VTable};
use super::state::{IdleAction, RunAction};
use super::storage::Storage;
use super::{JoinError, Panic, ProcStack, Runnable, Schedule, ScheduleReason, unwind, waker};
use crate::sync::UnsafeCell;

/// The memory of one lightproc. `#[repr(C)]` keeps the header at offset 0.
#[repr(C)]
pub(crate) struct Cell<F: Future, S, A> {
    header: Header,
    storage: A,
    scheduler: S,
    stage: UnsafeCell<Stage<F>>,
}

/// The future, then its output, then nothing once the output was taken.
///
/// `#[repr(C)]` gives the enum a separate tag, so the compiler cannot hide the tag in a
/// niche inside a self-referential future, where writing or reading it would alias the
/// future's own pointers (rust-lang/miri#3780, mycelium#483, TRAPS.md #10).
#[repr(C)]
enum Stage<F: Future> {
    Running(F),
    Finished(Result<F::Output, JoinError>),
    Consumed,
}

impl<F: Future> Stage<F> {
    /// Moves the output out of a finished stage, leaving it `Consumed`; `None` (and the
    /// stage untouched) if it is not finished. A future is never moved.
    ///
    /// Only the output is moved, not the whole stage (which is as large as the future):
    /// a `mem::replace` of the stage would copy the future's bytes too.
    fn take_output(stage: &mut Self) -> Option<Result<F::Output, JoinError>> {
        let Self::Finished(output) = stage else {
            return None;
        };
        // SAFETY: `output` is valid for reads, and the stage is overwritten next with
        // nothing in between that could panic, so the output is not dropped twice.
        let output = unsafe { ptr::read(output) };
        // SAFETY: `stage` is valid for writes; its old value was moved out above.
        unsafe { ptr::write(stage, Self::Consumed) };
        Some(output)
    }
}

/// Writes `Stage::Consumed` when dropped, also while unwinding from a panicking drop, so
/// a stage is never left half-dropped.
struct ConsumeOnDrop<F: Future>(*mut Stage<F>);

impl<F: Future> Drop for ConsumeOnDrop<F> {
    fn drop(&mut self) {
        // SAFETY: the stage was just dropped in place (or is being unwound from); writing
        // without dropping the old value is what is needed, and the caller owns it.
        unsafe { ptr::write(self.0, Stage::Consumed) }
    }
}

/// Holds a reference for the length of a scope (TRAPS.md #1).
struct RefGuard(NonNull<Header>);

impl Drop for RefGuard {
    fn drop(&mut self) {
        // SAFETY: the guard owns one reference, so the header is alive.
        let header = unsafe { self.0.as_ref() };
        if header.state.ref_dec() {
            // SAFETY: that was the last reference.
            unsafe { (header.vtable.dealloc)(self.0) }
        }
    }
}

impl<F, S, A> Cell<F, S, A>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
    S: Schedule,
    A: Storage,
{
    const VTABLE: VTable = VTable {
        run: Self::run,
        schedule: Self::schedule,
        read_output: Self::read_output,
        drop_output: Self::drop_output,
        dealloc: Self::dealloc,
    };

    /// A new cell, scheduled once, with a handle: two references.
    pub(crate) fn new(future: F, scheduler: S, storage: A, stack: ProcStack) -> Self {
        Self {
            header: Header::new(&Self::VTABLE, stack),
            storage,
            scheduler,
            stage: UnsafeCell::new(Stage::Running(future)),
        }
    }

    /// # Safety
    /// The caller holds a reference, and drops the returned borrow before releasing it.
    unsafe fn get<'a>(ptr: NonNull<Header>) -> &'a Self {
        // SAFETY: the header is at offset 0 of a live `Cell<F, S, A>` (the vtable that
        // led here is this type's), and it stays alive while the caller's reference does.
        unsafe { ptr.cast::<Self>().as_ref() }
    }

    /// `VTable::run`.
    unsafe fn run(ptr: NonNull<Header>) {
        // SAFETY: the Runnable's reference keeps the proc alive; `this` is not used
        // after that reference is released below.
        let this = unsafe { Self::get(ptr) };
        match this.header.state.transition_to_running() {
            // SAFETY: RUNNING is set, so the stage is ours (rule 1).
            RunAction::Cancel => unsafe { Self::cancel(ptr) },
            RunAction::Poll { first } => {
                if first {
                    this.scheduler.started(&this.header.stack);
                }
                // SAFETY: RUNNING is set, so the stage is ours (rule 1).
                match unsafe { Self::poll(ptr) } {
                    // SAFETY: still RUNNING; the Runnable's reference passes on.
                    Poll::Ready(result) => unsafe { Self::complete(ptr, result) },
                    Poll::Pending => match this.header.state.transition_to_idle() {
                        IdleAction::Released { last: false } => {}
                        // SAFETY: the Runnable's reference was the last one.
                        IdleAction::Released { last: true } => unsafe { Self::dealloc(ptr) },
                        // SAFETY: the Runnable's reference moves to the new Runnable.
                        IdleAction::Reschedule => unsafe {
                            Self::schedule(ptr, ScheduleReason::Yielded)
                        },
                        // SAFETY: still RUNNING, so the stage is ours.
                        IdleAction::Cancel => unsafe { Self::cancel(ptr) },
                    },
                }
            }
        }
    }

    /// Polls the future; on `Ready` or a panic the future is dropped before returning.
    ///
    /// # Safety
    /// The caller set RUNNING (rule 1) and holds the Runnable's reference.
    unsafe fn poll(ptr: NonNull<Header>) -> Poll<Result<F::Output, JoinError>> {
        // SAFETY: the caller's reference keeps the proc alive during this call.
        let this = unsafe { Self::get(ptr) };
        // The poll borrows the Runnable's reference: this waker is never dropped, and a
        // clone of it adds a reference of its own.
        // SAFETY: `ptr` is a live proc header.
        let waker = ManuallyDrop::new(unsafe { waker::borrowed(ptr) });
        let mut cx = Context::from_waker(&waker);
        let polled = unwind::catch(|| {
            this.stage.with_mut(|stage| {
                // SAFETY: the stage is ours (rule 1).
                match unsafe { &mut *stage } {
                    // SAFETY: a future in the stage is never moved until it is dropped
                    // in place, so pinning it is sound.
                    Stage::Running(future) => unsafe { Pin::new_unchecked(future) }.poll(&mut cx),
                    _ => unreachable!("a RUNNING lightproc holds its future"),
                }
            })
        });
        match polled {
            Ok(Poll::Pending) => Poll::Pending,
            // SAFETY: the stage is ours (rule 1).
            Ok(Poll::Ready(output)) => Poll::Ready(match unsafe { Self::clear_stage(ptr) } {
                Ok(()) => Ok(output),
                Err(panic) => {
                    // The future's destructor panicked: that is the proc's fault too.
                    let _ = unwind::catch(move || drop(output));
                    Err(JoinError::Panicked(panic))
                }
            }),
            Err(panic) => {
                // SAFETY: the stage is ours (rule 1). A second panic, from the future's
                // destructor, adds nothing to the first.
                let _ = unsafe { Self::clear_stage(ptr) };
                Poll::Ready(Err(JoinError::Panicked(panic)))
            }
        }
    }

    /// Drops whatever the stage holds, in place, and leaves it `Consumed`.
    ///
    /// # Safety
    /// The caller owns the stage (rule 1, 2 or 4).
    unsafe fn clear_stage(ptr: NonNull<Header>) -> Result<(), Panic> {
        // SAFETY: the caller's ownership of the stage implies the proc is alive.
        let this = unsafe { Self::get(ptr) };
        this.stage.with_mut(|stage| {
            unwind::catch(|| {
                let _consume = ConsumeOnDrop(stage);
                // SAFETY: the stage is ours; a pinned future is dropped where it lies,
                // and `ConsumeOnDrop` overwrites the dropped value even on unwind.
                unsafe { ptr::drop_in_place(stage) }
            })
        })
    }

    /// Drops the future of a cancelled proc (here, on the worker: TRAPS.md #3) and
    /// completes the proc with `Cancelled`.
    ///
    /// # Safety
    /// The caller set RUNNING and gives up the Runnable's reference.
    unsafe fn cancel(ptr: NonNull<Header>) {
        // SAFETY: the stage is ours (rule 1).
        let result = match unsafe { Self::clear_stage(ptr) } {
            Ok(()) => Err(JoinError::Cancelled),
            Err(panic) => Err(JoinError::Panicked(panic)),
        };
        // SAFETY: still RUNNING; the reference passes on.
        unsafe { Self::complete(ptr, result) }
    }

    /// Stores the result, publishes COMPLETE, wakes the joiner, releases the Runnable's
    /// reference.
    ///
    /// # Safety
    /// The caller set RUNNING, the future is already dropped, and the caller gives up
    /// the Runnable's reference.
    unsafe fn complete(ptr: NonNull<Header>, result: Result<F::Output, JoinError>) {
        {
            // SAFETY: the Runnable's reference keeps the proc alive in this block.
            let this = unsafe { Self::get(ptr) };
            let stack = &this.header.stack;
            match &result {
                Ok(_) => this.scheduler.completed(stack),
                Err(error) => this.scheduler.failed(stack, error),
            }
            // SAFETY: the stage is ours until COMPLETE is published (rule 1); it is
            // `Consumed`, so the assignment drops nothing.
            this.stage
                .with_mut(|stage| unsafe { *stage = Stage::Finished(result) });
            let before = this.header.state.transition_to_complete();
            if !before.has_handle() {
                // SAFETY: no handle at completion: the output is ours (rule 2).
                unsafe { Self::drop_output(ptr) };
            } else if before.has_join_waker() {
                // SAFETY: COMPLETE and JOIN_WAKER are set: the slot is only read (rule 3).
                unsafe { this.header.wake_join() };
                if !this.header.state.unset_waker_after_complete().has_handle() {
                    // SAFETY: COMPLETE set and the handle gone: the slot is ours (rule 3).
                    unsafe { this.header.set_join_waker(None) };
                }
            }
        }
        // SAFETY: the header is alive until this, the Runnable's, reference is dropped.
        if unsafe { ptr.as_ref() }.state.ref_dec() {
            // SAFETY: that was the last reference.
            unsafe { Self::dealloc(ptr) }
        }
    }

    /// `VTable::schedule`.
    unsafe fn schedule(ptr: NonNull<Header>, reason: ScheduleReason) {
        // The scheduler lives inside this proc. Once the Runnable is handed over, another
        // worker may run it to completion and drop the last reference while `schedule` is
        // still running here; a temporary reference keeps the memory alive (TRAPS.md #1).
        // A zero-sized scheduler has no memory to lose.
        let _guard = (mem::size_of::<S>() != 0).then(|| {
            // SAFETY: the caller owns a reference, so the header is alive.
            unsafe { ptr.as_ref() }.state.ref_inc();
            RefGuard(ptr)
        });
        // SAFETY: the caller's reference (or the guard) keeps the proc alive for the call.
        let this = unsafe { Self::get(ptr) };
        // SAFETY: the caller's reference becomes the Runnable's.
        let runnable = unsafe { Runnable::from_header(ptr) };
        this.scheduler.schedule(runnable, reason);
    }

    /// `VTable::read_output`.
    unsafe fn read_output(ptr: NonNull<Header>, dst: *mut ()) {
        // SAFETY: the handle's reference keeps the proc alive during this call.
        let this = unsafe { Self::get(ptr) };
        // SAFETY: the output is the handle's (rule 2).
        let output = this
            .stage
            .with_mut(|stage| Stage::take_output(unsafe { &mut *stage }));
        // SAFETY: the caller passes a `*mut Option<Result<F::Output, JoinError>>`.
        unsafe { *dst.cast::<Option<Result<F::Output, JoinError>>>() = output };
    }

    /// `VTable::drop_output`.
    unsafe fn drop_output(ptr: NonNull<Header>) {
        // SAFETY: the caller owns the output (rule 2), so the proc is alive.
        let this = unsafe { Self::get(ptr) };
        // SAFETY: as in `read_output`.
        let output = this
            .stage
            .with_mut(|stage| Stage::take_output(unsafe { &mut *stage }));
        // A panicking destructor of the output must not unwind into a worker or leave
        // anything half-dropped: it is already out of the proc.
        let _ = unwind::catch(move || drop(output));
    }

    /// `VTable::dealloc`.
    unsafe fn dealloc(ptr: NonNull<Header>) {
        // Drop the stage on its own first, so that a panicking future or output cannot
        // keep the memory from being released (TRAPS.md #9).
        // SAFETY: no references remain: everything is ours (rule 4).
        let _ = unsafe { Self::clear_stage(ptr) };
        // SAFETY: the cell came from `A` (it is recorded in the vtable's type) and no
        // references remain.
        unsafe { A::release(ptr.cast::<Self>()) }
    }

    /// Places a new cell in `storage`'s memory at `slot` and returns its header.
    ///
    /// # Safety
    /// `slot` is valid for writing a `Self` and stays allocated until `A::release`.
    pub(crate) unsafe fn write(slot: NonNull<Self>, cell: Self) -> NonNull<Header> {
        // SAFETY: by the caller's contract.
        unsafe { slot.as_ptr().write(cell) };
        slot.cast()
    }

    /// Allocates a cell on the heap and returns its header.
    #[cfg(feature = "alloc")]
    pub(crate) fn allocate(cell: Self) -> NonNull<Header> {
        extern crate alloc;
        let raw = alloc::boxed::Box::into_raw(alloc::boxed::Box::new(cell));
        // SAFETY: `Box::into_raw` never returns null.
        unsafe { NonNull::new_unchecked(raw) }.cast()
    }
}

#[cfg(feature = "alloc")]
impl<F, S> Cell<F, S, super::storage::Heap>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
    S: Schedule,
{
    /// Allocates a cell on the heap whose future is made by `make` from the addresses
    /// the cell's header and scheduler will have, so the future may keep pointers to
    /// its own cell (a mailbox placed in the scheduler value, say). `make` must not
    /// dereference them: nothing is written there until it returns. If `make` panics,
    /// the memory is freed and nothing leaks.
    #[cfg(feature = "alloc")]
    pub(crate) fn allocate_cyclic(
        scheduler: S,
        stack: ProcStack,
        make: impl FnOnce(NonNull<Header>, NonNull<S>) -> F,
    ) -> NonNull<Header> {
        extern crate alloc;
        use alloc::boxed::Box;
        use core::mem::MaybeUninit;

        /// Frees the uninitialised allocation if `make` unwinds.
        struct FreeOnUnwind<T>(*mut MaybeUninit<T>);
        impl<T> Drop for FreeOnUnwind<T> {
            fn drop(&mut self) {
                // SAFETY: the pointer came from `Box::into_raw` and nothing was written
                // into it: freeing it drops nothing.
                drop(unsafe { Box::from_raw(self.0) });
            }
        }

        let raw: *mut MaybeUninit<Self> = Box::into_raw(Box::<Self>::new_uninit());
        let guard = FreeOnUnwind(raw);
        let cell: *mut Self = raw.cast();
        // SAFETY: `cell` points into a live allocation; taking a field's address makes no
        // reference to the uninitialised memory.
        let scheduler_at = unsafe { &raw mut (*cell).scheduler };
        // SAFETY: `Box::into_raw` never returns null, so neither does a field address.
        let scheduler_at = unsafe { NonNull::new_unchecked(scheduler_at) };
        // SAFETY: as above.
        let header_at = unsafe { NonNull::new_unchecked(cell) }.cast::<Header>();
        let future = make(header_at, scheduler_at);
        core::mem::forget(guard);
        // SAFETY: the allocation is valid for a `Self` and still uninitialised.
        unsafe { cell.write(Self::new(future, scheduler, super::storage::Heap, stack)) };
        header_at
    }
}

/// The size of the heap allocation `Builder::spawn` (or `spawn_cyclic`) makes for a
/// future `F` with the scheduler value `S` (the allocator may add its own overhead).
#[cfg(feature = "alloc")]
pub(crate) const fn heap_cell_size<F, S>() -> usize
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
    S: Schedule,
{
    core::mem::size_of::<Cell<F, S, super::storage::Heap>>()
}

/// Where the scheduler value sits in that allocation, in bytes from its start (the
/// header).
#[cfg(feature = "alloc")]
pub(crate) const fn heap_cell_scheduler_offset<F, S>() -> usize
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
    S: Schedule,
{
    core::mem::offset_of!(Cell<F, S, super::storage::Heap>, scheduler)
}

impl<F: Future, S, A> Cell<F, S, A> {
    /// The storage tag recorded in the cell.
    ///
    /// # Safety
    /// `cell` is alive.
    pub(crate) unsafe fn storage<'a>(cell: NonNull<Self>) -> &'a A {
        // SAFETY: by the caller's contract.
        unsafe { &(*cell.as_ptr()).storage }
    }
}
