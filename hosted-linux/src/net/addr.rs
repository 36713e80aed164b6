//! Socket addresses in the kernel's layout, for operations that pass them by pointer.

use std::io;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4, SocketAddrV6};

/// A `sockaddr_storage` and its length.
pub(crate) struct SockAddr {
    pub(crate) storage: libc::sockaddr_storage,
    pub(crate) len: libc::socklen_t,
}

impl SockAddr {
    /// Room for any address (the kernel fills it in).
    pub(crate) fn empty() -> Self {
        Self {
            // SAFETY: sockaddr_storage is plain old data; all-zero is valid.
            storage: unsafe { core::mem::zeroed() },
            len: core::mem::size_of::<libc::sockaddr_storage>() as libc::socklen_t,
        }
    }

    /// `addr` in the kernel's layout.
    pub(crate) fn from_std(addr: &SocketAddr) -> Self {
        let mut this = Self::empty();
        match addr {
            SocketAddr::V4(v4) => {
                let sin = libc::sockaddr_in {
                    sin_family: libc::AF_INET as libc::sa_family_t,
                    sin_port: v4.port().to_be(),
                    sin_addr: libc::in_addr {
                        s_addr: u32::from_ne_bytes(v4.ip().octets()),
                    },
                    sin_zero: [0; 8],
                };
                // SAFETY: sockaddr_storage is larger than and aligned for sockaddr_in.
                unsafe { core::ptr::write((&raw mut this.storage).cast(), sin) };
                this.len = core::mem::size_of::<libc::sockaddr_in>() as libc::socklen_t;
            }
            SocketAddr::V6(v6) => {
                let sin6 = libc::sockaddr_in6 {
                    sin6_family: libc::AF_INET6 as libc::sa_family_t,
                    sin6_port: v6.port().to_be(),
                    sin6_flowinfo: v6.flowinfo(),
                    sin6_addr: libc::in6_addr {
                        s6_addr: v6.ip().octets(),
                    },
                    sin6_scope_id: v6.scope_id(),
                };
                // SAFETY: sockaddr_storage is larger than and aligned for sockaddr_in6.
                unsafe { core::ptr::write((&raw mut this.storage).cast(), sin6) };
                this.len = core::mem::size_of::<libc::sockaddr_in6>() as libc::socklen_t;
            }
        }
        this
    }

    /// The address the kernel wrote, or `InvalidData` for a family other than IPv4/6.
    pub(crate) fn to_std(&self) -> io::Result<SocketAddr> {
        match i32::from(self.storage.ss_family) {
            libc::AF_INET => {
                // SAFETY: the family says the storage holds a sockaddr_in; storage is
                // larger than and aligned for it.
                let sin: libc::sockaddr_in =
                    unsafe { core::ptr::read((&raw const self.storage).cast()) };
                Ok(SocketAddr::V4(SocketAddrV4::new(
                    Ipv4Addr::from(sin.sin_addr.s_addr.to_ne_bytes()),
                    u16::from_be(sin.sin_port),
                )))
            }
            libc::AF_INET6 => {
                // SAFETY: as above, for sockaddr_in6.
                let sin6: libc::sockaddr_in6 =
                    unsafe { core::ptr::read((&raw const self.storage).cast()) };
                Ok(SocketAddr::V6(SocketAddrV6::new(
                    Ipv6Addr::from(sin6.sin6_addr.s6_addr),
                    u16::from_be(sin6.sin6_port),
                    sin6.sin6_flowinfo,
                    sin6.sin6_scope_id,
                )))
            }
            _ => Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "the kernel returned a socket address that is neither IPv4 nor IPv6",
            )),
        }
    }

    /// As a `sockaddr` pointer.
    pub(crate) fn as_ptr(&self) -> *const libc::sockaddr {
        (&raw const self.storage).cast()
    }

    /// As a writable `sockaddr` pointer.
    pub(crate) fn as_mut_ptr(&mut self) -> *mut libc::sockaddr {
        (&raw mut self.storage).cast()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_round_trip() {
        for addr in ["127.0.0.1:8080", "[::1]:9", "[fe80::1%2]:443", "0.0.0.0:0"] {
            let addr: SocketAddr = addr.parse().unwrap();
            assert_eq!(SockAddr::from_std(&addr).to_std().unwrap(), addr);
        }
        assert!(SockAddr::empty().to_std().is_err(), "AF_UNSPEC");
    }
}
