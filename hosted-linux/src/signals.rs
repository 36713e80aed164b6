//! SIGINT/SIGTERM delivered to a thread, through a self-pipe.
//!
//! # Design
//!
//! A signal handler may only do async-signal-safe work, so `on_signal` writes one byte
//! (the signal number) to the pipe of every *active* watch; a dedicated watcher thread
//! per watch reads its pipe, counts the signals and unparks the thread that waits (the
//! one in [`Runtime::run`](crate::Runtime::run)). A process-directed signal may land on
//! any thread; the handler does not care which.
//!
//! # Invariants
//!
//! - There are at most [`SLOTS`] watches at once (concurrent `run`s in one process);
//!   every active watch hears every signal.
//! - A slot's pipe, once created, is never closed: the handler reads a slot's fd without
//!   a lock, so closing it could let the number be reused by an unrelated file that the
//!   handler would then write to. At most `2 * SLOTS` descriptors stay open for the life
//!   of the process. Stale bytes (a signal racing a release) are drained when the slot
//!   is next taken.
//! - The handlers are installed while at least one watch is active, and the previous
//!   dispositions are restored when the last one ends.
//! - Byte 0 is never a signal: the owner writes it to stop its watcher thread.

use std::io;
use std::sync::atomic::{AtomicBool, AtomicI32, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::{self, JoinHandle, Thread};

/// How many watches may be active at once.
pub(crate) const SLOTS: usize = 8;

const WATCHED: [libc::c_int; 2] = [libc::SIGINT, libc::SIGTERM];
const QUIT: u8 = 0;

struct Slot {
    read_fd: AtomicI32,
    write_fd: AtomicI32,
    active: AtomicBool,
}

static SLOT_TABLE: [Slot; SLOTS] = [const {
    Slot {
        read_fd: AtomicI32::new(-1),
        write_fd: AtomicI32::new(-1),
        active: AtomicBool::new(false),
    }
}; SLOTS];

/// The previous dispositions, saved while our handler is installed.
struct Installed {
    users: usize,
    previous: Vec<(libc::c_int, libc::sigaction)>,
}

static INSTALLED: Mutex<Installed> = Mutex::new(Installed {
    users: 0,
    previous: Vec::new(),
});

extern "C" fn on_signal(signal: libc::c_int) {
    // SAFETY: `__errno_location` has no preconditions; it returns this thread's errno.
    let errno = unsafe { libc::__errno_location() };
    // SAFETY: `errno` points to this thread's errno, valid for the thread's life. Saving
    // and restoring it keeps the interrupted code's errno intact across our `write`.
    let saved = unsafe { *errno };
    let byte = u8::try_from(signal).unwrap_or(u8::MAX);
    for slot in &SLOT_TABLE {
        let fd = slot.write_fd.load(Ordering::Acquire);
        if fd >= 0 && slot.active.load(Ordering::Acquire) {
            // SAFETY: `fd` is a pipe write end that is never closed (module
            // invariant) and non-blocking; `byte` is readable for one byte. A full
            // pipe (EAGAIN) already holds a pending signal, so the error is moot.
            unsafe { libc::write(fd, (&raw const byte).cast(), 1) };
        }
    }
    // SAFETY: as above.
    unsafe { *errno = saved };
}

/// An active watch: its watcher thread counts signals and unparks `waiter`.
pub(crate) struct SignalWatch {
    slot: usize,
    count: Arc<AtomicUsize>,
    watcher: Option<JoinHandle<()>>,
}

impl SignalWatch {
    /// Starts watching SIGINT and SIGTERM for `waiter`.
    pub(crate) fn start(waiter: Thread) -> io::Result<Self> {
        let mut installed = INSTALLED.lock().unwrap_or_else(PoisonError::into_inner);
        let slot = SLOT_TABLE
            .iter()
            .position(|slot| !slot.active.load(Ordering::Acquire))
            .ok_or_else(|| io::Error::other("too many concurrent signal watches"))?;
        let read_fd = slot_pipe(slot)?;
        drain(read_fd);
        if installed.users == 0 {
            installed.previous = install()?;
        }
        installed.users += 1;
        SLOT_TABLE[slot].active.store(true, Ordering::Release);
        drop(installed);

        let count = Arc::new(AtomicUsize::new(0));
        let counter = count.clone();
        let watcher = thread::Builder::new()
            .name("ravelin-signals".into())
            .spawn(move || watch(read_fd, &counter, &waiter));
        match watcher {
            Ok(watcher) => Ok(Self {
                slot,
                count,
                watcher: Some(watcher),
            }),
            Err(error) => {
                release(slot);
                Err(error)
            }
        }
    }

    /// How many SIGINT/SIGTERM arrived since the watch started.
    pub(crate) fn received(&self) -> usize {
        self.count.load(Ordering::Acquire)
    }
}

impl Drop for SignalWatch {
    fn drop(&mut self) {
        let fd = SLOT_TABLE[self.slot].write_fd.load(Ordering::Acquire);
        let byte = QUIT;
        let quit = loop {
            // SAFETY: `fd` is this slot's pipe write end (never closed); one readable byte.
            let written = unsafe { libc::write(fd, (&raw const byte).cast(), 1) };
            if written == 1 {
                break true;
            }
            match io::Error::last_os_error().kind() {
                // The watcher drains the pipe continuously: room comes soon.
                io::ErrorKind::Interrupted | io::ErrorKind::WouldBlock => thread::yield_now(),
                _ => break false,
            }
        };
        if quit && let Some(watcher) = self.watcher.take() {
            // The watcher only reads and counts; nothing of it is worth propagating
            // from a destructor.
            let _ = watcher.join();
        }
        // Were the write to fail otherwise (not possible on a live pipe), the watcher
        // would stay detached until the next byte.
        release(self.slot);
    }
}

fn release(slot: usize) {
    let mut installed = INSTALLED.lock().unwrap_or_else(PoisonError::into_inner);
    SLOT_TABLE[slot].active.store(false, Ordering::Release);
    installed.users = installed.users.saturating_sub(1);
    if installed.users == 0 {
        for (signal, previous) in installed.previous.drain(..) {
            // SAFETY: `previous` is the disposition `sigaction` returned for `signal`.
            unsafe { libc::sigaction(signal, &previous, core::ptr::null_mut()) };
        }
    }
}

/// The read end of `slot`'s pipe, creating the pipe on first use (under `INSTALLED`).
fn slot_pipe(slot: usize) -> io::Result<libc::c_int> {
    let read_fd = SLOT_TABLE[slot].read_fd.load(Ordering::Acquire);
    if read_fd >= 0 {
        return Ok(read_fd);
    }
    let mut fds = [-1; 2];
    // SAFETY: `fds` is a writable array of two ints, as pipe2 requires.
    if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC | libc::O_NONBLOCK) } != 0 {
        return Err(io::Error::last_os_error());
    }
    SLOT_TABLE[slot].read_fd.store(fds[0], Ordering::Release);
    SLOT_TABLE[slot].write_fd.store(fds[1], Ordering::Release);
    Ok(fds[0])
}

fn drain(fd: libc::c_int) {
    let mut buf = [0u8; 64];
    // SAFETY: `fd` is a non-blocking pipe read end; `buf` is writable for its length.
    while unsafe { libc::read(fd, buf.as_mut_ptr().cast(), buf.len()) } > 0 {}
}

fn install() -> io::Result<Vec<(libc::c_int, libc::sigaction)>> {
    let mut previous = Vec::new();
    for signal in WATCHED {
        // SAFETY: an all-zero sigaction is a valid value (empty mask, no flags).
        let mut action: libc::sigaction = unsafe { core::mem::zeroed() };
        action.sa_sigaction = on_signal as extern "C" fn(libc::c_int) as libc::sighandler_t;
        action.sa_flags = libc::SA_RESTART;
        // SAFETY: as above; `old` is overwritten by sigaction.
        let mut old: libc::sigaction = unsafe { core::mem::zeroed() };
        // SAFETY: `action` and `old` are valid sigaction structs; `on_signal` only does
        // async-signal-safe work (atomic loads, write, errno).
        if unsafe { libc::sigaction(signal, &action, &mut old) } != 0 {
            let error = io::Error::last_os_error();
            for (signal, old) in previous.drain(..) {
                // SAFETY: restoring a disposition sigaction returned.
                unsafe { libc::sigaction(signal, &old, core::ptr::null_mut()) };
            }
            return Err(error);
        }
        previous.push((signal, old));
    }
    Ok(previous)
}

/// The watcher thread: counts signal bytes until the quit byte.
fn watch(fd: libc::c_int, count: &AtomicUsize, waiter: &Thread) {
    let mut buf = [0u8; 64];
    loop {
        let mut pollfd = libc::pollfd {
            fd,
            events: libc::POLLIN,
            revents: 0,
        };
        // SAFETY: `pollfd` is one valid pollfd; -1 waits without a timeout.
        let ready = unsafe { libc::poll(&mut pollfd, 1, -1) };
        if ready < 0 {
            if io::Error::last_os_error().kind() == io::ErrorKind::Interrupted {
                continue;
            }
            return; // Unrecoverable (EFAULT/ENOMEM): the owner still ends on its own.
        }
        // SAFETY: `fd` is a non-blocking pipe read end; `buf` is writable for its length.
        let n = unsafe { libc::read(fd, buf.as_mut_ptr().cast(), buf.len()) };
        let Ok(n) = usize::try_from(n) else {
            continue; // EAGAIN or EINTR: poll again.
        };
        for &byte in &buf[..n] {
            if byte == QUIT {
                return;
            }
            count.fetch_add(1, Ordering::AcqRel);
            waiter.unpark();
        }
    }
}
