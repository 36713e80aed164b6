//! [`UdpSocket`].

use std::collections::VecDeque;
use std::io;
use std::net::{Ipv4Addr, SocketAddr, ToSocketAddrs};
use std::os::fd::{AsRawFd, RawFd};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use io_uring::{opcode, types};

use super::addr::SockAddr;
use super::{syscall_result, until_ready};
use crate::driver::op::Payload;
use crate::driver::{self, Flavor, Interest};
use crate::io::{IoBuf, IoBufMut};

/// Datagrams cancelled receives took in, for later ones.
type Kept = Arc<Mutex<VecDeque<(Vec<u8>, SocketAddr)>>>;

fn lock(kept: &Kept) -> MutexGuard<'_, VecDeque<(Vec<u8>, SocketAddr)>> {
    kept.lock().unwrap_or_else(PoisonError::into_inner)
}

/// A UDP socket.
///
/// ```
/// let socket = ravelin_linux::net::UdpSocket::bind("127.0.0.1:0").unwrap();
/// assert!(socket.local_addr().unwrap().port() != 0);
/// ```
#[derive(Debug)]
pub struct UdpSocket {
    inner: Arc<std::net::UdpSocket>,
    kept: Kept,
}

/// A `msghdr` with one iovec over `buf` and an address, all kept for the kernel.
struct Message<B> {
    _socket: Arc<std::net::UdpSocket>,
    buf: B,
    addr: SockAddr,
    iovec: libc::iovec,
    header: libc::msghdr,
    kept: Option<Kept>,
}

// SAFETY: the raw pointers in `iovec` and `header` point into this same value (its
// buffer and address), which is `Send` and moves with them.
unsafe impl<B: Send> Send for Message<B> {}

impl<B: IoBuf> Message<B> {
    fn new(
        socket: &Arc<std::net::UdpSocket>,
        buf: B,
        addr: SockAddr,
        kept: Option<Kept>,
    ) -> Box<Self> {
        // SAFETY: msghdr is plain old data; all-zero is valid (no name, no iovecs).
        let header: libc::msghdr = unsafe { core::mem::zeroed() };
        Box::new(Self {
            _socket: socket.clone(),
            buf,
            addr,
            iovec: libc::iovec {
                iov_base: core::ptr::null_mut(),
                iov_len: 0,
            },
            header,
            kept,
        })
    }

    /// Points the header at the iovec and address, and the iovec at `ptr`/`len`: to
    /// be called once the message is in its box.
    fn header(&mut self, ptr: *mut u8, len: usize) -> *mut libc::msghdr {
        self.iovec = libc::iovec {
            iov_base: ptr.cast(),
            iov_len: len,
        };
        self.header.msg_name = self.addr.as_mut_ptr().cast();
        self.header.msg_namelen = self.addr.len;
        self.header.msg_iov = &raw mut self.iovec;
        self.header.msg_iovlen = 1;
        &raw mut self.header
    }
}

impl<B: IoBuf> Payload for Message<B> {
    fn orphaned(self: Box<Self>, result: i32) {
        let Some(kept) = &self.kept else { return };
        if result < 0 {
            return;
        }
        let n = (result as usize).min(self.iovec.iov_len);
        let mut addr = SockAddr::empty();
        addr.storage = self.addr.storage;
        addr.len = self.header.msg_namelen;
        let Ok(from) = addr.to_std() else { return };
        // SAFETY: the kernel wrote `n` bytes at the iovec's base, the buffer's stable
        // pointer, still owned here.
        let datagram = unsafe { core::slice::from_raw_parts(self.buf.stable_ptr(), n) };
        lock(kept).push_back((datagram.to_vec(), from));
    }
}

impl UdpSocket {
    /// Binds to `addr` (the first address it resolves to that binds).
    pub fn bind(addr: impl ToSocketAddrs) -> io::Result<Self> {
        Self::from_std(std::net::UdpSocket::bind(addr)?)
    }

    /// Takes over a std socket (made non-blocking).
    pub fn from_std(socket: std::net::UdpSocket) -> io::Result<Self> {
        socket.set_nonblocking(true)?;
        Ok(Self {
            inner: Arc::new(socket),
            kept: Kept::default(),
        })
    }

    /// The address the socket is bound to.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.inner.local_addr()
    }

    /// Joins the IPv4 multicast group `group` on the interface with address
    /// `interface` (join on the interface's own address where no multicast route
    /// exists, TRAPS 29).
    pub fn join_multicast_v4(&self, group: &Ipv4Addr, interface: &Ipv4Addr) -> io::Result<()> {
        self.inner.join_multicast_v4(group, interface)
    }

    /// Leaves the IPv4 multicast group `group` on `interface`.
    pub fn leave_multicast_v4(&self, group: &Ipv4Addr, interface: &Ipv4Addr) -> io::Result<()> {
        self.inner.leave_multicast_v4(group, interface)
    }

    /// Whether multicast datagrams sent from here loop back to local members.
    pub fn set_multicast_loop_v4(&self, on: bool) -> io::Result<()> {
        self.inner.set_multicast_loop_v4(on)
    }

    /// The TTL of multicast datagrams sent from here (1: this link only).
    pub fn set_multicast_ttl_v4(&self, ttl: u32) -> io::Result<()> {
        self.inner.set_multicast_ttl_v4(ttl)
    }

    /// Sends the initialised bytes of `buf` as one datagram to `target`; returns how
    /// many bytes were sent.
    pub async fn send_to<B: IoBuf>(&self, buf: B, target: SocketAddr) -> (io::Result<usize>, B) {
        let fd = self.inner.as_raw_fd();
        let addr = SockAddr::from_std(&target);
        match driver::flavor() {
            Err(e) => (Err(e), buf),
            Ok(Flavor::Uring) => {
                let payload = Message::new(&self.inner, buf, addr, None);
                let (result, payload) = driver::submit(payload, |m| {
                    let (ptr, len) = (m.buf.stable_ptr().cast_mut(), m.buf.bytes_init());
                    let header = m.header(ptr, len);
                    opcode::SendMsg::new(types::Fd(fd), header)
                        .flags(libc::MSG_NOSIGNAL as u32)
                        .build()
                })
                .await;
                (driver::result(result), payload.buf)
            }
            Ok(Flavor::Epoll) => {
                let result = until_ready(fd, Interest::Write, || {
                    // SAFETY: the initialised bytes of `buf` and a valid address of
                    // `addr.len` bytes, borrowed for the call.
                    let n = unsafe {
                        libc::sendto(
                            fd,
                            buf.stable_ptr().cast(),
                            buf.bytes_init(),
                            libc::MSG_DONTWAIT | libc::MSG_NOSIGNAL,
                            addr.as_ptr(),
                            addr.len,
                        )
                    };
                    syscall_result(n)
                })
                .await;
                (result, buf)
            }
        }
    }

    /// Receives one datagram into the start of `buf` (truncated to
    /// `buf.bytes_total()` bytes); returns its length and sender, and the buffer,
    /// whose content is then the datagram. Datagrams that cancelled receives took in
    /// come first.
    pub async fn recv_from<B: IoBufMut>(&self, mut buf: B) -> (io::Result<(usize, SocketAddr)>, B) {
        if let Some((datagram, from)) = lock(&self.kept).pop_front() {
            let n = datagram.len().min(buf.bytes_total());
            // SAFETY: `buf` has `bytes_total >= n` writable bytes; the source is
            // another allocation.
            unsafe { core::ptr::copy_nonoverlapping(datagram.as_ptr(), buf.stable_mut_ptr(), n) };
            // SAFETY: the first `n` bytes were just written.
            unsafe { buf.set_init(n) };
            return (Ok((n, from)), buf);
        }
        let fd = self.inner.as_raw_fd();
        let (result, mut buf) = match driver::flavor() {
            Err(e) => return (Err(e), buf),
            Ok(Flavor::Uring) => {
                let payload =
                    Message::new(&self.inner, buf, SockAddr::empty(), Some(self.kept.clone()));
                let (result, payload) = driver::submit(payload, |m| {
                    let (ptr, len) = (m.buf.stable_mut_ptr(), m.buf.bytes_total());
                    let header = m.header(ptr, len);
                    opcode::RecvMsg::new(types::Fd(fd), header).build()
                })
                .await;
                let mut addr = SockAddr::empty();
                addr.storage = payload.addr.storage;
                addr.len = payload.header.msg_namelen;
                let result = driver::result(result).and_then(|n| Ok((n, addr.to_std()?)));
                (result, payload.buf)
            }
            Ok(Flavor::Epoll) => {
                let result = until_ready(fd, Interest::Read, || {
                    let mut addr = SockAddr::empty();
                    // SAFETY: `buf` has `bytes_total` writable bytes, and `addr` room
                    // for any address, both exclusively borrowed for the call.
                    let n = unsafe {
                        libc::recvfrom(
                            fd,
                            buf.stable_mut_ptr().cast(),
                            buf.bytes_total(),
                            libc::MSG_DONTWAIT,
                            addr.as_mut_ptr(),
                            &mut addr.len,
                        )
                    };
                    Ok((syscall_result(n)?, addr.to_std()?))
                })
                .await;
                (result, buf)
            }
        };
        if let Ok((n, _)) = result {
            // SAFETY: the kernel wrote the first `n` bytes (at most `bytes_total`).
            unsafe { buf.set_init(n.min(buf.bytes_total())) };
        }
        (result, buf)
    }
}

impl AsRawFd for UdpSocket {
    fn as_raw_fd(&self) -> RawFd {
        self.inner.as_raw_fd()
    }
}
