//! [`TcpStream`], and the bytes its cancelled reads consumed.

use core::future::poll_fn;
use core::task::{Poll, Waker};
use std::io;
use std::net::{Shutdown, SocketAddr};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use io_uring::{opcode, types};

use crate::driver::op::Payload;
use crate::driver::{self, Flavor, Interest};
use crate::io::{IoBuf, IoBufMut};
use crate::net::addr::SockAddr;
use crate::net::{syscall_result, until_ready};

/// Bytes a cancelled read consumed, kept for the stream's next read.
#[derive(Debug, Default)]
struct Kept {
    bytes: Vec<u8>,
    /// Cancelled reads whose completion has not arrived: the next read waits for
    /// them, so that bytes come out in the order they arrived.
    cancelled_in_flight: usize,
    /// Reads waiting for them.
    waiters: Vec<Waker>,
}

#[derive(Debug, Default)]
struct ReadSide {
    kept: Mutex<Kept>,
}

impl ReadSide {
    fn lock(&self) -> MutexGuard<'_, Kept> {
        self.kept.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// A TCP connection.
///
/// Reads and writes take `&self`, so one proc can read while another writes.
#[derive(Debug)]
pub struct TcpStream {
    inner: Arc<std::net::TcpStream>,
    read_side: Arc<ReadSide>,
}

/// The buffer of a stream read; keeps the bytes of a read completed after its future
/// was dropped for the next read.
struct StreamRead<B> {
    _stream: Arc<std::net::TcpStream>,
    buf: B,
    side: Arc<ReadSide>,
    cancelled: AtomicBool,
}

impl<B: IoBufMut> Payload for StreamRead<B> {
    fn cancelling(&self) {
        self.cancelled.store(true, Ordering::Relaxed);
        self.side.lock().cancelled_in_flight += 1;
    }

    fn orphaned(self: Box<Self>, result: i32) {
        let mut kept = self.side.lock();
        if result > 0 {
            let n = (result as usize).min(self.buf.bytes_total());
            // SAFETY: the kernel wrote `n` bytes at the buffer's stable pointer, which
            // is still owned here.
            let read = unsafe { core::slice::from_raw_parts(self.buf.stable_ptr(), n) };
            kept.bytes.extend_from_slice(read);
        }
        if self.cancelled.load(Ordering::Relaxed) {
            kept.cancelled_in_flight -= 1;
            if kept.cancelled_in_flight == 0 {
                let waiters = core::mem::take(&mut kept.waiters);
                drop(kept);
                waiters.into_iter().for_each(Waker::wake);
            }
        }
    }
}

/// The buffer of a stream write.
struct StreamWrite<B> {
    _stream: Arc<std::net::TcpStream>,
    buf: B,
}

impl<B: IoBuf> Payload for StreamWrite<B> {}

/// The address of a `connect`.
struct Connecting {
    _stream: Arc<std::net::TcpStream>,
    addr: SockAddr,
}

impl Payload for Connecting {}

impl TcpStream {
    pub(super) fn from_connected(stream: std::net::TcpStream) -> Self {
        Self {
            inner: Arc::new(stream),
            read_side: Arc::default(),
        }
    }

    /// Takes over a connected std stream (made non-blocking).
    pub fn from_std(stream: std::net::TcpStream) -> io::Result<Self> {
        stream.set_nonblocking(true)?;
        Ok(Self::from_connected(stream))
    }

    /// Connects to `addr`.
    pub async fn connect(addr: SocketAddr) -> io::Result<Self> {
        let domain = match addr {
            SocketAddr::V4(_) => libc::AF_INET,
            SocketAddr::V6(_) => libc::AF_INET6,
        };
        let flavor = driver::flavor()?;
        // SAFETY: plain syscall, no pointers.
        let fd = unsafe {
            libc::socket(
                domain,
                libc::SOCK_STREAM | libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC,
                0,
            )
        };
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: `fd` was just created for us; nobody else owns it.
        let stream = Arc::new(std::net::TcpStream::from(unsafe {
            OwnedFd::from_raw_fd(fd)
        }));
        match flavor {
            Flavor::Uring => {
                let payload = Box::new(Connecting {
                    _stream: stream.clone(),
                    addr: SockAddr::from_std(&addr),
                });
                let (result, _) = driver::submit(payload, |p| {
                    opcode::Connect::new(types::Fd(fd), p.addr.as_ptr(), p.addr.len).build()
                })
                .await;
                driver::result(result)?;
            }
            Flavor::Epoll => {
                let addr = SockAddr::from_std(&addr);
                // SAFETY: `addr` is a valid sockaddr of `addr.len` bytes for the call.
                let rc = unsafe { libc::connect(fd, addr.as_ptr(), addr.len) };
                let error = io::Error::last_os_error();
                if rc < 0 && error.raw_os_error() != Some(libc::EINPROGRESS) {
                    return Err(error);
                }
                if rc < 0 {
                    until_ready(fd, Interest::Write, || match stream.take_error()? {
                        Some(error) => Err(error),
                        None => stream.peer_addr().map(drop).map_err(|e| {
                            if e.raw_os_error() == Some(libc::ENOTCONN) {
                                io::ErrorKind::WouldBlock.into()
                            } else {
                                e
                            }
                        }),
                    })
                    .await?;
                }
            }
        }
        Ok(Self {
            inner: stream,
            read_side: Arc::default(),
        })
    }

    /// The local address.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.inner.local_addr()
    }

    /// The peer's address.
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.inner.peer_addr()
    }

    /// Sets `TCP_NODELAY`.
    pub fn set_nodelay(&self, on: bool) -> io::Result<()> {
        self.inner.set_nodelay(on)
    }

    /// Shuts down the read side, the write side or both (`shutdown(2)`).
    pub fn shutdown(&self, how: Shutdown) -> io::Result<()> {
        self.inner.shutdown(how)
    }

    /// Reads up to `buf.bytes_total()` bytes into the start of `buf`; returns how many
    /// (0: the peer closed its side) and the buffer, whose content is then what was
    /// read. Bytes a cancelled read consumed come first.
    pub async fn read<B: IoBufMut>(&self, mut buf: B) -> (io::Result<usize>, B) {
        if let Some(n) = self.take_kept(&mut buf).await {
            return (Ok(n), buf);
        }
        let (result, mut buf) = match driver::flavor() {
            Err(e) => return (Err(e), buf),
            Ok(Flavor::Uring) => {
                let payload = Box::new(StreamRead {
                    _stream: self.inner.clone(),
                    buf,
                    side: self.read_side.clone(),
                    cancelled: AtomicBool::new(false),
                });
                let fd = self.inner.as_raw_fd();
                let (result, payload) = driver::submit(payload, |p| {
                    let len = p.buf.bytes_total().min(u32::MAX as usize) as u32;
                    opcode::Recv::new(types::Fd(fd), p.buf.stable_mut_ptr(), len).build()
                })
                .await;
                (driver::result(result), payload.buf)
            }
            Ok(Flavor::Epoll) => {
                let fd = self.inner.as_raw_fd();
                let result = until_ready(fd, Interest::Read, || {
                    // SAFETY: `buf` has `bytes_total` writable bytes at its stable
                    // pointer, exclusively borrowed for the call.
                    let n = unsafe {
                        libc::recv(
                            fd,
                            buf.stable_mut_ptr().cast(),
                            buf.bytes_total(),
                            libc::MSG_DONTWAIT,
                        )
                    };
                    syscall_result(n)
                })
                .await;
                (result, buf)
            }
        };
        if let Ok(n) = result {
            // SAFETY: the kernel wrote the first `n` bytes.
            unsafe { buf.set_init(n) };
        }
        (result, buf)
    }

    /// Waits for cancelled reads to settle, then moves kept bytes into `buf`.
    async fn take_kept<B: IoBufMut>(&self, buf: &mut B) -> Option<usize> {
        poll_fn(|cx| {
            let mut kept = self.read_side.lock();
            if kept.cancelled_in_flight > 0 {
                if !kept.waiters.iter().any(|w| w.will_wake(cx.waker())) {
                    kept.waiters.push(cx.waker().clone());
                }
                return Poll::Pending;
            }
            if kept.bytes.is_empty() || buf.bytes_total() == 0 {
                return Poll::Ready(None);
            }
            let n = kept.bytes.len().min(buf.bytes_total());
            // SAFETY: `buf` has `bytes_total >= n` writable bytes; the source is
            // another allocation.
            unsafe { core::ptr::copy_nonoverlapping(kept.bytes.as_ptr(), buf.stable_mut_ptr(), n) };
            kept.bytes.drain(..n);
            // SAFETY: the first `n` bytes were just written.
            unsafe { buf.set_init(n) };
            Poll::Ready(Some(n))
        })
        .await
    }

    /// Writes the initialised bytes of `buf`; returns how many were sent (possibly
    /// fewer, see [`write_all`](Self::write_all)).
    pub async fn write<B: IoBuf>(&self, buf: B) -> (io::Result<usize>, B) {
        self.write_from(buf, 0).await
    }

    /// Writes all the initialised bytes of `buf`.
    pub async fn write_all<B: IoBuf>(&self, mut buf: B) -> (io::Result<()>, B) {
        let mut done = 0;
        while done < buf.bytes_init() {
            let (result, back) = self.write_from(buf, done).await;
            buf = back;
            match result {
                Ok(0) => return (Err(io::ErrorKind::WriteZero.into()), buf),
                Ok(n) => done += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return (Err(e), buf),
            }
        }
        (Ok(()), buf)
    }

    /// Sends `buf[start..]`.
    async fn write_from<B: IoBuf>(&self, buf: B, start: usize) -> (io::Result<usize>, B) {
        let fd = self.inner.as_raw_fd();
        match driver::flavor() {
            Err(e) => (Err(e), buf),
            Ok(Flavor::Uring) => {
                let payload = Box::new(StreamWrite {
                    _stream: self.inner.clone(),
                    buf,
                });
                let (result, payload) = driver::submit(payload, |p| {
                    let len = (p.buf.bytes_init() - start).min(u32::MAX as usize) as u32;
                    // `start <= bytes_init`: the pointer stays in the buffer.
                    let from = p.buf.stable_ptr().wrapping_add(start);
                    opcode::Send::new(types::Fd(fd), from, len)
                        .flags(libc::MSG_NOSIGNAL)
                        .build()
                })
                .await;
                (driver::result(result), payload.buf)
            }
            Ok(Flavor::Epoll) => {
                let result = until_ready(fd, Interest::Write, || {
                    // SAFETY: `start <= bytes_init`: initialised bytes of `buf`,
                    // borrowed for the call.
                    let n = unsafe {
                        libc::send(
                            fd,
                            buf.stable_ptr().wrapping_add(start).cast(),
                            buf.bytes_init() - start,
                            libc::MSG_DONTWAIT | libc::MSG_NOSIGNAL,
                        )
                    };
                    syscall_result(n)
                })
                .await;
                (result, buf)
            }
        }
    }
}

impl AsRawFd for TcpStream {
    fn as_raw_fd(&self) -> RawFd {
        self.inner.as_raw_fd()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicBool;

    fn connected() -> std::net::TcpStream {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let stream = std::net::TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        drop(listener.accept().unwrap());
        stream
    }

    #[test]
    fn bytes_of_a_read_completed_after_its_cancel_go_to_the_next_read() {
        let stream = TcpStream::from_std(connected()).unwrap();
        // As the kernel leaves it: "abc" written into the buffer of a cancelled read.
        let payload = Box::new(StreamRead {
            _stream: stream.inner.clone(),
            buf: b"abcXYZ".to_vec(),
            side: stream.read_side.clone(),
            cancelled: AtomicBool::new(false),
        });
        payload.cancelling();
        assert_eq!(stream.read_side.lock().cancelled_in_flight, 1);
        payload.orphaned(3);
        let kept = stream.read_side.lock();
        assert_eq!(
            (&kept.bytes[..], kept.cancelled_in_flight),
            (&b"abc"[..], 0)
        );
        drop(kept);
        // The next read takes them first, without any driver.
        let mut read = core::pin::pin!(stream.read(Vec::with_capacity(2)));
        let mut cx = core::task::Context::from_waker(Waker::noop());
        let Poll::Ready((n, buf)) = read.as_mut().poll(&mut cx) else {
            panic!("kept bytes are ready")
        };
        assert_eq!((n.unwrap(), &buf[..]), (2, &b"ab"[..]));
        assert_eq!(&stream.read_side.lock().bytes[..], b"c");
    }

    #[test]
    fn a_read_waits_for_a_cancelled_read_to_settle() {
        let stream = TcpStream::from_std(connected()).unwrap();
        stream.read_side.lock().cancelled_in_flight = 1;
        let mut read = core::pin::pin!(stream.read(Vec::with_capacity(8)));
        let mut cx = core::task::Context::from_waker(Waker::noop());
        assert!(
            read.as_mut().poll(&mut cx).is_pending(),
            "bytes may still come"
        );
        assert_eq!(stream.read_side.lock().waiters.len(), 1);
    }
}
