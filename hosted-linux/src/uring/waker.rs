//! The two ways another thread wakes a worker sleeping in its ring, neither of which
//! touches the sleeper's submission queue:
//!
//! - [`send_msg_ring`]: an `IORING_OP_MSG_RING` submitted on a small ring that belongs
//!   to the *waking* thread (one per thread, created on its first wake-up), which posts
//!   a completion into the sleeper's CQ. One syscall, on the waking side only.
//! - [`eventfd_signal`]: a write to an eventfd the sleeper keeps a poll armed on in its
//!   own ring. A syscall on both sides (the sleeper resets the counter), so only the
//!   fallback where MSG_RING is missing.

use std::cell::RefCell;
use std::io;
use std::os::fd::{FromRawFd, OwnedFd, RawFd};

use io_uring::{IoUring, opcode, types};

/// Entries of a thread's sender ring: one MSG_RING in flight per wake-up, reaped by
/// the next one.
const SENDER_ENTRIES: u32 = 8;

/// A non-blocking, close-on-exec eventfd with counter 0.
pub(crate) fn eventfd() -> io::Result<OwnedFd> {
    // SAFETY: plain syscall, no pointers.
    let fd = unsafe { libc::eventfd(0, libc::EFD_CLOEXEC | libc::EFD_NONBLOCK) };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: `fd` was just returned by eventfd and is owned by nobody else.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// Adds 1 to the eventfd's counter. `EAGAIN` (counter saturated) means a wake-up is
/// pending anyway.
pub(crate) fn eventfd_signal(fd: RawFd) {
    let one: u64 = 1;
    // SAFETY: writes 8 bytes from a valid u64 to an fd the caller keeps open.
    unsafe { libc::write(fd, (&raw const one).cast(), 8) };
}

/// Resets the eventfd's counter to 0 (nothing to read is fine).
pub(crate) fn eventfd_reset(fd: RawFd) {
    let mut value: u64 = 0;
    // SAFETY: reads at most 8 bytes into a valid u64 from an fd the caller keeps open;
    // the fd is non-blocking.
    unsafe { libc::read(fd, (&raw mut value).cast(), 8) };
}

/// What became of a MSG_RING wake-up.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum SendOutcome {
    /// Submitted, and not (yet) rejected.
    Delivered,
    /// This thread has no sender ring now (could not create one, thread-local storage
    /// being torn down, or re-entered from a signal handler): use the eventfd.
    Unavailable,
    /// The kernel rejected the message to this target: use the eventfd, and stop
    /// using MSG_RING for it.
    Rejected,
}

enum Sender {
    Uninit,
    Ready { ring: Box<IoUring>, seq: u64 },
    Unavailable,
}

thread_local! {
    static SENDER: RefCell<Sender> = const { RefCell::new(Sender::Uninit) };
}

/// Posts a completion with `user_data` (and result 0) into the ring `target` through
/// this thread's sender ring. Never blocks; allocates only on a thread's first call.
///
/// `target` must stay open for the duration of the call (the kernel resolves it when
/// the message is submitted, inside this call).
pub(crate) fn send_msg_ring(target: RawFd, user_data: u64) -> SendOutcome {
    SENDER
        .try_with(|cell| {
            let Ok(mut sender) = cell.try_borrow_mut() else {
                return SendOutcome::Unavailable;
            };
            send_on(&mut sender, target, user_data)
        })
        .unwrap_or(SendOutcome::Unavailable)
}

fn send_on(sender: &mut Sender, target: RawFd, user_data: u64) -> SendOutcome {
    if matches!(sender, Sender::Uninit) {
        *sender = match IoUring::builder().build(SENDER_ENTRIES) {
            Ok(ring) => Sender::Ready {
                ring: Box::new(ring),
                seq: 0,
            },
            Err(_) => Sender::Unavailable,
        };
    }
    let Sender::Ready { ring, seq } = sender else {
        return SendOutcome::Unavailable;
    };
    *seq = seq.wrapping_add(1);
    let this = *seq;
    let entry = opcode::MsgRingData::new(types::Fd(target), 0, user_data, None)
        .build()
        .user_data(this);
    // Reap the completions of earlier messages (they may arrive late when the target
    // is a DEFER_TASKRUN ring), so that the queues never fill up.
    let _ = ring.completion().count();
    // SAFETY: a MSG_RING entry refers to no memory; the target fd is open for the call.
    let pushed = unsafe { ring.submission().push(&entry) }.is_ok();
    let submitted = pushed && matches!(ring.submit(), Ok(n) if n >= 1);
    if !submitted {
        // Do not leave a message queued for later: by then `target` may be closed or
        // reused. Dropping the ring discards it; the next call makes a new one.
        *sender = Sender::Uninit;
        return SendOutcome::Unavailable;
    }
    let rejected = ring
        .completion()
        .any(|cqe| cqe.user_data() == this && cqe.result() < 0);
    if rejected {
        SendOutcome::Rejected
    } else {
        SendOutcome::Delivered
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::uring::ring::setup;
    use std::os::fd::AsRawFd;

    #[test]
    fn msg_ring_posts_into_a_defer_taskrun_ring_from_another_thread() {
        let Ok((mut target, features)) = setup(8, true) else {
            println!("SKIP: io_uring unavailable");
            return;
        };
        if !features.msg_ring_wakes() {
            println!("SKIP: MSG_RING wake-ups unavailable ({features})");
            return;
        }
        let fd = target.as_raw_fd();
        let sent = std::thread::spawn(move || {
            (0..3)
                .map(|i| send_msg_ring(fd, 0xF0_0000_0000_0000 | i))
                .collect::<Vec<_>>()
        })
        .join()
        .unwrap();
        assert_eq!(sent, [SendOutcome::Delivered; 3]);
        let mut got = Vec::new();
        while got.len() < 3 {
            target.submit_and_wait(1).unwrap();
            got.extend(target.completion().map(|c| (c.user_data(), c.result())));
        }
        got.sort_unstable();
        assert_eq!(
            got,
            [0, 1, 2].map(|i| (0xF0_0000_0000_0000 | i, 0)).to_vec(),
            "{features}"
        );
    }

    #[test]
    fn eventfd_signal_and_reset() {
        let fd = eventfd().unwrap();
        eventfd_signal(fd.as_raw_fd());
        eventfd_signal(fd.as_raw_fd());
        let mut value: u64 = 0;
        // SAFETY: reads 8 bytes into a valid u64 from an open non-blocking eventfd.
        let n = unsafe { libc::read(fd.as_raw_fd(), (&raw mut value).cast(), 8) };
        assert_eq!((n, value), (8, 2));
        eventfd_reset(fd.as_raw_fd()); // nothing left: EAGAIN, ignored
    }
}
