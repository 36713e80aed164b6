//! TCP and UDP sockets with owned buffers: [`TcpListener`], [`TcpStream`],
//! [`UdpSocket`].
//!
//! Sockets are non-blocking. With io_uring each call is one operation on the calling
//! worker's ring (`IORING_OP_ACCEPT`, `CONNECT`, `RECV`, `SEND`, `SENDMSG`,
//! `RECVMSG`), which waits for the socket inside the kernel. With the fallback a call
//! tries its syscall and, on `EAGAIN`, waits for readiness in the worker's epoll set,
//! then tries again. Setting up a socket (`bind`, options) is a plain syscall.
//!
//! Cancellation: dropping a call in flight cancels it (see [`io`](crate::io)). What
//! the kernel did meanwhile is not lost: bytes a cancelled stream read consumed come
//! first in the stream's next read; a datagram a cancelled `recv_from` received is
//! returned by a later `recv_from`; a connection a cancelled `accept` accepted is
//! closed. How much a cancelled write sent is unknown, as with any runtime.
//!
//! ```
//! use ravelin_linux::Runtime;
//! use ravelin_linux::net::{TcpListener, TcpStream};
//!
//! let runtime = Runtime::builder().workers(2).pin(false).build().unwrap();
//! let listener = TcpListener::bind("127.0.0.1:0").unwrap();
//! let addr = listener.local_addr().unwrap();
//! runtime.scheduler().spawn(async move {
//!     let (stream, _peer) = listener.accept().await?;
//!     let (n, buf) = stream.read(Vec::with_capacity(64)).await;
//!     n?;
//!     let (written, _) = stream.write_all(buf).await;
//!     written
//! }).detach();
//! let echoed = runtime.block_on(async move {
//!     let stream = TcpStream::connect(addr).await?;
//!     let (written, _) = stream.write_all(b"ping".to_vec()).await;
//!     written?;
//!     let (n, buf) = stream.read(Vec::with_capacity(64)).await;
//!     n.map(|_| buf)
//! });
//! assert_eq!(echoed.unwrap().unwrap(), b"ping");
//! runtime.shutdown().unwrap();
//! ```

mod addr;
mod tcp;
mod udp;

use std::io;
use std::os::fd::RawFd;

pub use tcp::{TcpListener, TcpStream};
pub use udp::UdpSocket;

use crate::driver::{Interest, Readiness};

/// Runs the non-blocking syscall `attempt` until it does not report `WouldBlock`,
/// waiting for `fd` to be ready for `interest` in between (the fallback's way).
pub(crate) async fn until_ready<T>(
    fd: RawFd,
    interest: Interest,
    mut attempt: impl FnMut() -> io::Result<T>,
) -> io::Result<T> {
    loop {
        match attempt() {
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                Readiness::new(fd, interest).await?;
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            other => return other,
        }
    }
}

/// A syscall's `ssize_t` result.
pub(crate) fn syscall_result(n: isize) -> io::Result<usize> {
    if n < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(n as usize)
    }
}
