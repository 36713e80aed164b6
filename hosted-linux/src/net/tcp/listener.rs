//! [`TcpListener`].

use std::io;
use std::net::{SocketAddr, ToSocketAddrs};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::sync::Arc;

use io_uring::{opcode, types};

use super::TcpStream;
use crate::driver::op::Payload;
use crate::driver::{self, Flavor, Interest};
use crate::net::addr::SockAddr;
use crate::net::until_ready;

/// A TCP socket listening for connections.
///
/// ```
/// let listener = ravelin_linux::net::TcpListener::bind("127.0.0.1:0").unwrap();
/// assert!(listener.local_addr().unwrap().port() != 0);
/// ```
#[derive(Debug)]
pub struct TcpListener {
    inner: Arc<std::net::TcpListener>,
}

impl TcpListener {
    /// Binds to `addr` (the first address it resolves to that binds) and listens.
    /// Resolving a host name blocks; pass addresses from a proc.
    pub fn bind(addr: impl ToSocketAddrs) -> io::Result<Self> {
        Self::from_std(std::net::TcpListener::bind(addr)?)
    }

    /// Takes over a listening std socket (made non-blocking).
    pub fn from_std(listener: std::net::TcpListener) -> io::Result<Self> {
        listener.set_nonblocking(true)?;
        Ok(Self {
            inner: Arc::new(listener),
        })
    }

    /// The address the listener is bound to.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.inner.local_addr()
    }

    /// Waits for a connection; returns it and the peer's address.
    pub async fn accept(&self) -> io::Result<(TcpStream, SocketAddr)> {
        let (stream, peer) = match driver::flavor()? {
            Flavor::Uring => {
                let payload = Box::new(Accepting {
                    _listener: self.inner.clone(),
                    peer: SockAddr::empty(),
                });
                let fd = self.inner.as_raw_fd();
                let (result, payload) = driver::submit(payload, |p| {
                    opcode::Accept::new(types::Fd(fd), p.peer.as_mut_ptr(), &raw mut p.peer.len)
                        .flags(libc::SOCK_CLOEXEC | libc::SOCK_NONBLOCK)
                        .build()
                })
                .await;
                let fd = driver::result(result)? as RawFd;
                // SAFETY: the kernel accepted `fd` for us; nobody else owns it.
                let stream = std::net::TcpStream::from(unsafe { OwnedFd::from_raw_fd(fd) });
                (stream, payload.peer.to_std()?)
            }
            Flavor::Epoll => {
                let (stream, peer) = until_ready(self.inner.as_raw_fd(), Interest::Read, || {
                    self.inner.accept()
                })
                .await?;
                stream.set_nonblocking(true)?;
                (stream, peer)
            }
        };
        Ok((TcpStream::from_connected(stream), peer))
    }
}

/// The listener and the peer's address of an `accept`; a connection accepted after
/// its future was dropped is closed.
struct Accepting {
    _listener: Arc<std::net::TcpListener>,
    peer: SockAddr,
}

impl Payload for Accepting {
    fn orphaned(self: Box<Self>, result: i32) {
        if result >= 0 {
            // SAFETY: the kernel accepted `result` for this operation; nobody else owns
            // it.
            drop(unsafe { OwnedFd::from_raw_fd(result) });
        }
    }
}

impl AsRawFd for TcpListener {
    fn as_raw_fd(&self) -> RawFd {
        self.inner.as_raw_fd()
    }
}
