//! [`UringParker`]: one worker's park token, sleeping in the worker's own io_uring.

use core::cell::UnsafeCell;
use core::sync::atomic::{AtomicBool, AtomicI32, Ordering};
use std::io;
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::sync::OnceLock;

use io_uring::{IoUring, opcode, squeue, types};
use ravelin_hal::Instant;

use super::ring::{UringFeatures, WORKER_RING_ENTRIES, setup};
use super::waker::{SendOutcome, eventfd, eventfd_reset, eventfd_signal, send_msg_ring};
use super::{Completion, UserData};
use crate::park::{EMPTY, NOTIFIED, PARKED, futex_wait, futex_wake};

/// How other threads wake a [`UringParker`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum WakeMethod {
    /// `IORING_OP_MSG_RING` where the kernel supports it, else the eventfd.
    #[default]
    Auto,
    /// Always the eventfd (the fallback; selectable so that it can be tested).
    EventFd,
}

/// How a [`UringParker`] sets up its ring.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct UringOptions {
    /// Ask for `IORING_SETUP_DEFER_TASKRUN` (dropped if the kernel rejects it).
    pub defer_taskrun: bool,
    /// How other threads wake the parked worker.
    pub wake: WakeMethod,
}

impl Default for UringOptions {
    fn default() -> Self {
        Self {
            defer_taskrun: true,
            wake: WakeMethod::Auto,
        }
    }
}

/// How the parker actually sleeps, once its owner has parked for the first time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SleepMode {
    /// In the ring; woken by a MSG_RING completion.
    MsgRing,
    /// In the ring; woken by a poll completion on an eventfd.
    EventFd,
    /// The ring could not be created on the owner's thread: on the futex.
    Futex,
}

/// What unparkers need, published once by the owner before its first sleep.
#[derive(Clone, Copy, Debug)]
struct WakePath {
    mode: SleepMode,
    ring_fd: RawFd,
    eventfd: RawFd,
}

#[derive(Clone, Copy, Debug)]
struct ArmedTimeout {
    deadline: Instant,
    seq: u64,
}

/// The owner's side: the ring and what is in flight on it. Also the sleeping half of
/// each worker's IO driver (`crate::driver`), which submits its operations to `ring`.
pub(crate) struct Ring {
    pub(crate) ring: IoUring,
    pub(crate) eventfd: OwnedFd,
    poll_armed: bool,
    timeout: Option<ArmedTimeout>,
    next_seq: u64,
    /// Read by the kernel when the timeout is submitted (prep copies it).
    timespec: Box<types::Timespec>,
    /// `cq.overflow()` last seen: completions the kernel dropped (no NODROP).
    dropped_seen: u32,
}

enum Owner {
    Unstarted,
    Ring(Box<Ring>),
    Futex,
}

/// A park token for one worker whose sleep is `io_uring_enter` on the worker's own
/// ring, with [`Parker`](crate::Parker)'s semantics (`std::thread::park` tokens: an
/// unpark before the park is remembered; spurious returns allowed).
///
/// The ring is created lazily by the first [`park`](Self::park), so on the thread
/// that parks (SINGLE_ISSUER binds the ring to it); the parker itself can be made on
/// any thread. Only one thread may ever park on a given `UringParker` (checked: a
/// second one panics), as the HAL's `Park` contract says. Any thread may
/// [`unpark`](Self::unpark); it never touches the owner's submission queue.
///
/// The token is an atomic exactly like the futex parker's: the ring is only the
/// sleeping primitive. `unpark` swaps the token in and only if the owner was
/// `PARKED` sends it a wake-up (a MSG_RING completion, or an eventfd write), which
/// makes an `io_uring_enter` that has not started yet return at once. So an unpark
/// between "I found no work" and the sleep is never lost.
pub struct UringParker {
    state: AtomicI32,
    options: UringOptions,
    wake: OnceLock<WakePath>,
    /// Cleared if the kernel ever rejects a MSG_RING to this ring.
    msg_ring_ok: AtomicBool,
    /// Set while a thread is inside `park`, so two parkers cannot share `owner`.
    parking: AtomicBool,
    owner: UnsafeCell<Owner>,
}

// SAFETY: `owner` is only touched inside `park`, which holds the `parking` flag
// (acquired with a swap, released at the end) and so has exclusive access; everything
// else is atomics or a `OnceLock` of plain data.
unsafe impl Sync for UringParker {}

impl core::fmt::Debug for UringParker {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("UringParker")
            .field("state", &self.state.load(Ordering::Relaxed))
            .field("mode", &self.sleep_mode())
            .finish_non_exhaustive()
    }
}

impl Default for UringParker {
    fn default() -> Self {
        Self::new()
    }
}

impl UringParker {
    /// A parker with no token and the default options; no ring yet.
    pub fn new() -> Self {
        Self::with_options(UringOptions::default())
    }

    /// A parker with no token; its ring will be set up with `options`.
    pub fn with_options(options: UringOptions) -> Self {
        Self {
            state: AtomicI32::new(EMPTY),
            options,
            wake: OnceLock::new(),
            msg_ring_ok: AtomicBool::new(true),
            parking: AtomicBool::new(false),
            owner: UnsafeCell::new(Owner::Unstarted),
        }
    }

    /// How this parker sleeps, or `None` before its first park.
    pub fn sleep_mode(&self) -> Option<SleepMode> {
        self.wake.get().map(|w| w.mode)
    }

    /// Consumes the token, or sleeps in the ring until the token is made available,
    /// `deadline` (on `CLOCK_MONOTONIC`) passes, or spuriously. Only the owning worker
    /// calls this.
    pub fn park(&self, deadline: Option<Instant>) {
        self.park_with(deadline, |_| {});
    }

    /// [`park`](Self::park), handing every completion that is not the parker's own
    /// (user data outside the reserved range, see [`UserData`]) to `on_completion`.
    /// Such a completion also ends the sleep.
    pub fn park_with(&self, deadline: Option<Instant>, mut on_completion: impl FnMut(Completion)) {
        let _exclusive = Exclusive::enter(&self.parking);
        // SAFETY: `_exclusive` makes this thread the only one inside `park` until it
        // is dropped, so nothing else accesses `owner`.
        let owner = unsafe { &mut *self.owner.get() };
        if let Owner::Unstarted = owner {
            *owner = self.start();
        }
        // NOTIFIED -> EMPTY (return) or EMPTY -> PARKED (sleep). Release: the wake
        // path published by `start` is visible to an unpark that sees PARKED.
        if self.state.fetch_sub(1, Ordering::AcqRel) == NOTIFIED {
            return;
        }
        match owner {
            Owner::Ring(ring) => ring.sleep(&self.state, deadline, &mut on_completion),
            Owner::Futex | Owner::Unstarted => futex_wait(&self.state, PARKED, deadline),
        }
        // Woken, timed out or spurious: back to EMPTY, taking the token if set.
        self.state.swap(EMPTY, Ordering::Acquire);
    }

    /// Makes the token available and wakes the worker if it sleeps. Never blocks;
    /// callable from any thread.
    pub fn unpark(&self) {
        if self.state.swap(NOTIFIED, Ordering::AcqRel) != PARKED {
            return;
        }
        // PARKED implies the owner published its wake path before parking.
        let Some(path) = self.wake.get() else { return };
        match path.mode {
            SleepMode::Futex => futex_wake(&self.state),
            SleepMode::MsgRing if self.msg_ring_ok.load(Ordering::Relaxed) => {
                match send_msg_ring(path.ring_fd, UserData::WAKE_MSG.0) {
                    SendOutcome::Delivered => {}
                    SendOutcome::Unavailable => eventfd_signal(path.eventfd),
                    SendOutcome::Rejected => {
                        self.msg_ring_ok.store(false, Ordering::Relaxed);
                        eventfd_signal(path.eventfd);
                    }
                }
            }
            SleepMode::MsgRing | SleepMode::EventFd => eventfd_signal(path.eventfd),
        }
    }

    /// Creates the ring on the calling (owner's) thread and publishes how to wake it.
    fn start(&self) -> Owner {
        match Ring::new(&self.options) {
            Ok((ring, features)) => {
                let mode = if self.options.wake == WakeMethod::Auto && features.msg_ring_wakes() {
                    SleepMode::MsgRing
                } else {
                    SleepMode::EventFd
                };
                let _ = self.wake.set(WakePath {
                    mode,
                    ring_fd: ring.ring.as_raw_fd(),
                    eventfd: ring.eventfd.as_raw_fd(),
                });
                Owner::Ring(Box::new(ring))
            }
            Err(_) => {
                let _ = self.wake.set(WakePath {
                    mode: SleepMode::Futex,
                    ring_fd: -1,
                    eventfd: -1,
                });
                Owner::Futex
            }
        }
    }
}

impl Ring {
    pub(crate) fn new(options: &UringOptions) -> io::Result<(Self, UringFeatures)> {
        let (ring, features) = setup(WORKER_RING_ENTRIES, options.defer_taskrun)?;
        let eventfd = eventfd()?;
        let ring = Self {
            ring,
            eventfd,
            poll_armed: false,
            timeout: None,
            next_seq: 0,
            timespec: Box::new(types::Timespec::new()),
            dropped_seen: 0,
        };
        Ok((ring, features))
    }

    /// Sleeps in `io_uring_enter` until a wake-up, the deadline, another completion,
    /// or an interrupting signal. `state` is PARKED on entry.
    pub(crate) fn sleep(
        &mut self,
        state: &AtomicI32,
        deadline: Option<Instant>,
        on_completion: &mut dyn FnMut(Completion),
    ) {
        if !self.poll_armed {
            let poll =
                opcode::PollAdd::new(types::Fd(self.eventfd.as_raw_fd()), libc::POLLIN as u32)
                    .build()
                    .user_data(UserData::WAKE_EVENTFD.0);
            self.push(poll, on_completion);
            self.poll_armed = true;
        }
        self.arm_timeout(deadline, on_completion);
        loop {
            let result = self.ring.submit_and_wait(1);
            let woke = self.reap(on_completion);
            match result {
                Ok(_) => {}
                // A signal: return, the caller re-checks (a spurious return).
                Err(e) if e.raw_os_error() == Some(libc::EINTR) => return,
                // EBUSY: completions are backed up (CQ overflow); EAGAIN: the kernel is
                // short of memory. `reap` made room; try again.
                // ETIME: only from an enter timeout, which is not used; harmless.
                Err(e)
                    if matches!(
                        e.raw_os_error(),
                        Some(libc::EBUSY | libc::EAGAIN | libc::ETIME)
                    ) => {}
                Err(e) if e.raw_os_error() == Some(libc::EEXIST) => panic!(
                    "UringParker: parked from a thread other than the one that created its \
                     SINGLE_ISSUER ring"
                ),
                Err(e) => panic!("UringParker: io_uring_enter failed: {e}"),
            }
            if woke || state.load(Ordering::Relaxed) != PARKED {
                return;
            }
            // Only bookkeeping completions (a cancelled old timeout, a removal): the
            // wait goes on, without a spurious return.
        }
    }

    /// Makes the ring's pending park timeout match `deadline`: keeps it if the
    /// deadline is the same (the common case: parking again until the same timer),
    /// else removes it and arms a new one.
    fn arm_timeout(
        &mut self,
        deadline: Option<Instant>,
        on_completion: &mut dyn FnMut(Completion),
    ) {
        if let (Some(d), Some(armed)) = (deadline, self.timeout)
            && armed.deadline == d
        {
            return;
        }
        if let Some(old) = self.timeout.take() {
            let remove = opcode::TimeoutRemove::new(UserData::timeout(old.seq).0)
                .build()
                .user_data(UserData::TIMEOUT_REMOVE.0);
            self.push(remove, on_completion);
        }
        if let Some(d) = deadline {
            self.next_seq = self.next_seq.wrapping_add(1) & UserData::PAYLOAD_MASK;
            let nanos = d.as_nanos();
            *self.timespec = types::Timespec::new()
                .sec(nanos / 1_000_000_000)
                .nsec((nanos % 1_000_000_000) as u32);
            let timeout = opcode::Timeout::new(&raw const *self.timespec)
                .flags(types::TimeoutFlags::ABS)
                .build()
                .user_data(UserData::timeout(self.next_seq).0);
            self.push(timeout, on_completion);
            self.timeout = Some(ArmedTimeout {
                deadline: d,
                seq: self.next_seq,
            });
        }
    }

    /// Queues `entry`, submitting what is queued first if the SQ is full (TRAPS 23).
    pub(crate) fn push(&mut self, entry: squeue::Entry, on_completion: &mut dyn FnMut(Completion)) {
        loop {
            // SAFETY: the parker's own entries refer to the eventfd, owned by `self`
            // and so open as long as the ring, and to `self.timespec`, which the kernel
            // copies when the entry is submitted; `self.timespec` is only rewritten by
            // `arm_timeout` before the next submission.
            if unsafe { self.ring.submission().push(&entry) }.is_ok() {
                return;
            }
            if let Err(e) = self.ring.submit()
                && e.raw_os_error() == Some(libc::EBUSY)
            {
                self.reap(on_completion);
            }
        }
    }

    /// Takes every completion off the CQ (and out of the kernel's overflow list).
    /// Returns whether one of them ends the sleep: a wake-up, the armed timeout, or a
    /// completion for someone else.
    pub(crate) fn reap(&mut self, on_completion: &mut dyn FnMut(Completion)) -> bool {
        let mut woke = false;
        loop {
            for cqe in self.ring.completion() {
                let user_data = UserData(cqe.user_data());
                match user_data.kind() {
                    UserData::KIND_WAKE_MSG => woke = true,
                    UserData::KIND_WAKE_EVENTFD => {
                        self.poll_armed = false;
                        eventfd_reset(self.eventfd.as_raw_fd());
                        woke = true;
                    }
                    UserData::KIND_TIMEOUT => {
                        if self.timeout.is_some_and(|t| t.seq == user_data.payload()) {
                            self.timeout = None;
                            woke = true;
                        }
                    }
                    UserData::KIND_TIMEOUT_REMOVE => {}
                    _ => {
                        on_completion(Completion {
                            user_data: user_data.0,
                            result: cqe.result(),
                            flags: cqe.flags(),
                        });
                        woke = true;
                    }
                }
            }
            let dropped = self.ring.completion().overflow();
            if dropped != self.dropped_seen {
                // Completions were lost (a kernel without NODROP): what is in flight is
                // unknown, so re-arm everything. A second poll or an orphan timeout
                // only causes a spurious wake-up later.
                self.dropped_seen = dropped;
                self.timeout = None;
                self.poll_armed = false;
                woke = true;
            }
            // With NODROP, completions that did not fit wait in the kernel until an
            // enter flushes them into the CQ we just emptied.
            if self.ring.submission().cq_overflow() {
                let _ = self.ring.submit();
                continue;
            }
            return woke;
        }
    }
}

/// The `parking` flag held for the duration of one `park`.
struct Exclusive<'a>(&'a AtomicBool);

impl<'a> Exclusive<'a> {
    fn enter(flag: &'a AtomicBool) -> Self {
        assert!(
            !flag.swap(true, Ordering::Acquire),
            "UringParker: two threads park on the same parker at once"
        );
        Self(flag)
    }
}

impl Drop for Exclusive<'_> {
    fn drop(&mut self) {
        self.0.store(false, Ordering::Release);
    }
}
