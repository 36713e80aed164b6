//! The two sockets of discovery: the node's unicast membership socket (which also sends
//! the multicast beacons) and the multicast receiver.
//!
//! Multicast needs an interface (TRAPS 29): joining on the wildcard address fails with
//! `ENODEV`, and sending with `ENETUNREACH`, where no multicast route exists. The group
//! is joined on the interface's own address and the sending interface is set
//! explicitly. The receiver is bound to the group address itself (so it sees only that
//! group's datagrams) with `SO_REUSEADDR`, so that several nodes on one host can share
//! the group's port and each get a copy.

use std::io;
use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4, UdpSocket};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

/// Sets an integer-sized socket option.
fn set_option<T>(fd: &impl AsRawFd, level: i32, name: i32, value: T) -> io::Result<()> {
    let len = size_of::<T>() as libc::socklen_t;
    // SAFETY: `value` is a live, initialized `T` of `len` bytes for the duration of the
    // call, and `fd` is an open socket borrowed for it.
    let rc =
        unsafe { libc::setsockopt(fd.as_raw_fd(), level, name, (&raw const value).cast(), len) };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

fn in_addr(ip: Ipv4Addr) -> libc::in_addr {
    libc::in_addr {
        s_addr: u32::from_ne_bytes(ip.octets()),
    }
}

/// A UDP socket bound to `group:port` with `SO_REUSEADDR`, member of `group` on the
/// interface whose address is `interface`.
pub(crate) fn multicast_receiver(
    group: Ipv4Addr,
    port: u16,
    interface: Ipv4Addr,
) -> io::Result<UdpSocket> {
    // SAFETY: plain socket(2) call with constant arguments; the result is checked below.
    let fd = unsafe { libc::socket(libc::AF_INET, libc::SOCK_DGRAM | libc::SOCK_CLOEXEC, 0) };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: `fd` is a socket just created and owned by nobody else.
    let fd = unsafe { OwnedFd::from_raw_fd(fd) };
    set_option(&fd, libc::SOL_SOCKET, libc::SO_REUSEADDR, 1i32)?;
    let addr = libc::sockaddr_in {
        sin_family: libc::AF_INET as libc::sa_family_t,
        sin_port: port.to_be(),
        sin_addr: in_addr(group),
        sin_zero: [0; 8],
    };
    // SAFETY: `addr` is a valid `sockaddr_in` of the given length, live for the call.
    let rc = unsafe {
        libc::bind(
            fd.as_raw_fd(),
            (&raw const addr).cast(),
            size_of::<libc::sockaddr_in>() as libc::socklen_t,
        )
    };
    if rc != 0 {
        return Err(io::Error::last_os_error());
    }
    let socket = UdpSocket::from(fd);
    socket.join_multicast_v4(&group, &interface)?;
    Ok(socket)
}

/// Makes `socket` send multicast through `interface`, with `ttl` hops, and loop it back
/// to this host's own members (several nodes on one host) when `loopback`.
pub(crate) fn multicast_sender(
    socket: &UdpSocket,
    interface: Ipv4Addr,
    ttl: u32,
    loopback: bool,
) -> io::Result<()> {
    set_option(
        socket,
        libc::IPPROTO_IP,
        libc::IP_MULTICAST_IF,
        in_addr(interface),
    )?;
    socket.set_multicast_ttl_v4(ttl)?;
    socket.set_multicast_loop_v4(loopback)
}

/// The group's address as a target.
pub(crate) fn group_target(group: Ipv4Addr, port: u16) -> SocketAddr {
    SocketAddr::V4(SocketAddrV4::new(group, port))
}
