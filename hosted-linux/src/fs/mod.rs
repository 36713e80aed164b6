//! Files with owned buffers: [`File`] and [`OpenOptions`].
//!
//! Reads and writes are positional (`pread`/`pwrite` semantics: no shared cursor), so a
//! file can be used by several procs at once. With io_uring each call is one
//! operation on the calling worker's ring; with the fallback it runs on the blocking
//! pool ([`spawn_blocking`](crate::spawn_blocking)), the buffer moving to the pool's
//! thread and back. Either way the descriptor stays open while an operation uses it,
//! even if the `File` is dropped meanwhile.
//!
//! ```
//! use ravelin_linux::Runtime;
//! use ravelin_linux::fs::File;
//!
//! let runtime = Runtime::builder().workers(1).pin(false).build().unwrap();
//! let path = std::env::temp_dir().join(format!("ravelin-fs-doc-{}", std::process::id()));
//! let p = path.clone();
//! let content = runtime.block_on(async move {
//!     let file = File::create(&p).await?;
//!     let (written, _) = file.write_at(b"hello".to_vec(), 0).await;
//!     written?;
//!     file.sync_all().await?;
//!     let (read, buf) = file.read_at(Vec::with_capacity(16), 0).await;
//!     read?;
//!     file.close().await?;
//!     Ok::<_, std::io::Error>(buf)
//! });
//! assert_eq!(content.unwrap().unwrap(), b"hello");
//! # let _ = std::fs::remove_file(&path);
//! runtime.shutdown().unwrap();
//! ```

mod open_options;
mod pool;

use std::io;
use std::os::fd::{AsRawFd, IntoRawFd, OwnedFd};
use std::path::Path;
use std::sync::Arc;

use io_uring::{opcode, types};

pub use open_options::OpenOptions;
use pool::{blocking, blocking_with};

use crate::driver::op::Payload;
use crate::driver::{self, Flavor};
use crate::io::{IoBuf, IoBufMut};

/// The most buffers one vectored call takes (`IOV_MAX` on Linux).
pub const MAX_IOVECS: usize = 1024;

/// An open file. See the [module documentation](self).
#[derive(Debug)]
pub struct File {
    fd: Arc<OwnedFd>,
}

fn invalid(what: &'static str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, what)
}

/// A descriptor and one buffer, kept for the kernel.
struct FdBuf<B> {
    fd: Arc<OwnedFd>,
    buf: B,
}

impl<B: Send + 'static> Payload for FdBuf<B> {}

/// A descriptor, buffers and their iovecs, kept for the kernel.
struct FdBufs<B> {
    fd: Arc<OwnedFd>,
    bufs: Vec<B>,
    iovecs: Vec<libc::iovec>,
}

// SAFETY: the iovecs only point into `bufs`, which are `Send` and move with them.
unsafe impl<B: Send> Send for FdBufs<B> {}

impl<B: Send + 'static> Payload for FdBufs<B> {}

/// Splits `n` bytes read over `bufs` in order: each holds what landed in it.
fn fill<B: IoBufMut>(bufs: &mut [B], mut n: usize) {
    for buf in bufs {
        let here = n.min(buf.bytes_total());
        // SAFETY: the kernel wrote `n` bytes across the iovecs in order, so the first
        // `here` bytes of this buffer.
        unsafe { buf.set_init(here) };
        n -= here;
    }
}

fn read_iovecs<B: IoBufMut>(bufs: &mut [B]) -> Vec<libc::iovec> {
    bufs.iter_mut()
        .map(|b| libc::iovec {
            iov_base: b.stable_mut_ptr().cast(),
            iov_len: b.bytes_total(),
        })
        .collect()
}

fn write_iovecs<B: IoBuf>(bufs: &[B]) -> Vec<libc::iovec> {
    bufs.iter()
        .map(|b| libc::iovec {
            iov_base: b.stable_ptr().cast_mut().cast(),
            iov_len: b.bytes_init(),
        })
        .collect()
}

fn syscall_result(n: isize) -> io::Result<usize> {
    if n < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(n as usize)
    }
}

impl From<OwnedFd> for File {
    fn from(fd: OwnedFd) -> Self {
        Self { fd: Arc::new(fd) }
    }
}

impl From<std::fs::File> for File {
    fn from(file: std::fs::File) -> Self {
        Self::from(OwnedFd::from(file))
    }
}

impl AsRawFd for File {
    fn as_raw_fd(&self) -> std::os::fd::RawFd {
        self.fd.as_raw_fd()
    }
}

impl File {
    /// Opens `path` for reading.
    pub async fn open(path: impl AsRef<Path>) -> io::Result<File> {
        OpenOptions::new().read(true).open(path).await
    }

    /// Opens `path` for reading and writing, creating it or truncating it.
    pub async fn create(path: impl AsRef<Path>) -> io::Result<File> {
        OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(true)
            .open(path)
            .await
    }

    /// Options to open a file with.
    pub fn options() -> OpenOptions {
        OpenOptions::new()
    }

    /// Reads up to `buf.bytes_total()` bytes at offset `pos` into the start of `buf`;
    /// returns how many (0 at the end of the file) and the buffer, whose content is
    /// then what was read.
    pub async fn read_at<B: IoBufMut>(&self, buf: B, pos: u64) -> (io::Result<usize>, B) {
        let (result, mut buf) = match driver::flavor() {
            Err(e) => return (Err(e), buf),
            Ok(Flavor::Uring) => {
                let payload = Box::new(FdBuf {
                    fd: self.fd.clone(),
                    buf,
                });
                let (result, payload) = driver::submit(payload, |p| {
                    let len = p.buf.bytes_total().min(u32::MAX as usize) as u32;
                    opcode::Read::new(types::Fd(p.fd.as_raw_fd()), p.buf.stable_mut_ptr(), len)
                        .offset(pos)
                        .build()
                })
                .await;
                (driver::result(result), payload.buf)
            }
            Ok(Flavor::Epoll) => {
                let fd = self.fd.clone();
                blocking_with(buf, move |buf| {
                    // SAFETY: `buf` has `bytes_total` writable bytes at its stable
                    // pointer, exclusively borrowed for the call.
                    let n = unsafe {
                        libc::pread(
                            fd.as_raw_fd(),
                            buf.stable_mut_ptr().cast(),
                            buf.bytes_total(),
                            pos as libc::off_t,
                        )
                    };
                    syscall_result(n)
                })
                .await
            }
        };
        if let Ok(n) = result {
            // SAFETY: the kernel wrote the first `n` bytes.
            unsafe { buf.set_init(n) };
        }
        (result, buf)
    }

    /// Writes the initialised bytes of `buf` at offset `pos`; returns how many were
    /// written (possibly fewer, see [`write_all_at`](Self::write_all_at)).
    pub async fn write_at<B: IoBuf>(&self, buf: B, pos: u64) -> (io::Result<usize>, B) {
        self.write_from(buf, 0, pos).await
    }

    /// Writes all the initialised bytes of `buf` at offset `pos`, in as many writes as
    /// it takes.
    pub async fn write_all_at<B: IoBuf>(&self, mut buf: B, pos: u64) -> (io::Result<()>, B) {
        let mut done = 0;
        while done < buf.bytes_init() {
            let (result, back) = self.write_from(buf, done, pos + done as u64).await;
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

    /// Writes `buf[start..]` at `pos`.
    async fn write_from<B: IoBuf>(&self, buf: B, start: usize, pos: u64) -> (io::Result<usize>, B) {
        match driver::flavor() {
            Err(e) => (Err(e), buf),
            Ok(Flavor::Uring) => {
                let payload = Box::new(FdBuf {
                    fd: self.fd.clone(),
                    buf,
                });
                let (result, payload) = driver::submit(payload, |p| {
                    let len = (p.buf.bytes_init() - start).min(u32::MAX as usize) as u32;
                    // `start <= bytes_init`: the pointer stays in the buffer.
                    let from = p.buf.stable_ptr().wrapping_add(start);
                    opcode::Write::new(types::Fd(p.fd.as_raw_fd()), from, len)
                        .offset(pos)
                        .build()
                })
                .await;
                (driver::result(result), payload.buf)
            }
            Ok(Flavor::Epoll) => {
                let fd = self.fd.clone();
                blocking_with(buf, move |buf| {
                    // SAFETY: `start <= bytes_init`: the range is initialised bytes of
                    // `buf`, borrowed for the call.
                    let n = unsafe {
                        libc::pwrite(
                            fd.as_raw_fd(),
                            buf.stable_ptr().wrapping_add(start).cast(),
                            buf.bytes_init() - start,
                            pos as libc::off_t,
                        )
                    };
                    syscall_result(n)
                })
                .await
            }
        }
    }

    /// Reads at offset `pos` into `bufs` in order (scatter); returns the total read.
    /// Each buffer's content is then what landed in it (empty for those the read did
    /// not reach). At most [`MAX_IOVECS`] buffers.
    pub async fn readv_at<B: IoBufMut>(
        &self,
        mut bufs: Vec<B>,
        pos: u64,
    ) -> (io::Result<usize>, Vec<B>) {
        if bufs.len() > MAX_IOVECS {
            return (Err(invalid("more buffers than IOV_MAX")), bufs);
        }
        let (result, mut bufs) = match driver::flavor() {
            Err(e) => return (Err(e), bufs),
            Ok(Flavor::Uring) => {
                let iovecs = read_iovecs(&mut bufs);
                let payload = Box::new(FdBufs {
                    fd: self.fd.clone(),
                    bufs,
                    iovecs,
                });
                let (result, payload) = driver::submit(payload, |p| {
                    opcode::Readv::new(
                        types::Fd(p.fd.as_raw_fd()),
                        p.iovecs.as_ptr(),
                        p.iovecs.len() as u32,
                    )
                    .offset(pos)
                    .build()
                })
                .await;
                (driver::result(result), payload.bufs)
            }
            Ok(Flavor::Epoll) => {
                let fd = self.fd.clone();
                blocking_with(bufs, move |bufs| {
                    let iovecs = read_iovecs(bufs);
                    // SAFETY: the iovecs describe the writable bytes of `bufs`,
                    // borrowed for the call.
                    let n = unsafe {
                        libc::preadv(
                            fd.as_raw_fd(),
                            iovecs.as_ptr(),
                            iovecs.len() as i32,
                            pos as libc::off_t,
                        )
                    };
                    syscall_result(n)
                })
                .await
            }
        };
        if let Ok(n) = result {
            fill(&mut bufs, n);
        }
        (result, bufs)
    }

    /// Writes the initialised bytes of `bufs`, in order, at offset `pos` (gather);
    /// returns the total written. At most [`MAX_IOVECS`] buffers.
    pub async fn writev_at<B: IoBuf>(&self, bufs: Vec<B>, pos: u64) -> (io::Result<usize>, Vec<B>) {
        if bufs.len() > MAX_IOVECS {
            return (Err(invalid("more buffers than IOV_MAX")), bufs);
        }
        match driver::flavor() {
            Err(e) => (Err(e), bufs),
            Ok(Flavor::Uring) => {
                let iovecs = write_iovecs(&bufs);
                let payload = Box::new(FdBufs {
                    fd: self.fd.clone(),
                    bufs,
                    iovecs,
                });
                let (result, payload) = driver::submit(payload, |p| {
                    opcode::Writev::new(
                        types::Fd(p.fd.as_raw_fd()),
                        p.iovecs.as_ptr(),
                        p.iovecs.len() as u32,
                    )
                    .offset(pos)
                    .build()
                })
                .await;
                (driver::result(result), payload.bufs)
            }
            Ok(Flavor::Epoll) => {
                let fd = self.fd.clone();
                blocking_with(bufs, move |bufs| {
                    let iovecs = write_iovecs(bufs);
                    // SAFETY: the iovecs describe the initialised bytes of `bufs`,
                    // borrowed for the call.
                    let n = unsafe {
                        libc::pwritev(
                            fd.as_raw_fd(),
                            iovecs.as_ptr(),
                            iovecs.len() as i32,
                            pos as libc::off_t,
                        )
                    };
                    syscall_result(n)
                })
                .await
            }
        }
    }

    /// Flushes data and metadata to the device (`fsync`).
    pub async fn sync_all(&self) -> io::Result<()> {
        self.sync(false).await
    }

    /// Flushes data (and the metadata needed to read it) to the device (`fdatasync`).
    pub async fn sync_data(&self) -> io::Result<()> {
        self.sync(true).await
    }

    async fn sync(&self, data_only: bool) -> io::Result<()> {
        match driver::flavor()? {
            Flavor::Uring => {
                let payload = Box::new(FdBuf {
                    fd: self.fd.clone(),
                    buf: (),
                });
                let (result, _) = driver::submit(payload, |p| {
                    let flags = if data_only {
                        types::FsyncFlags::DATASYNC
                    } else {
                        types::FsyncFlags::empty()
                    };
                    opcode::Fsync::new(types::Fd(p.fd.as_raw_fd()))
                        .flags(flags)
                        .build()
                })
                .await;
                driver::result(result).map(drop)
            }
            Flavor::Epoll => {
                let fd = self.fd.clone();
                blocking(move || {
                    let rc = if data_only {
                        // SAFETY: plain syscall on a descriptor `fd` keeps open.
                        unsafe { libc::fdatasync(fd.as_raw_fd()) }
                    } else {
                        // SAFETY: plain syscall on a descriptor `fd` keeps open.
                        unsafe { libc::fsync(fd.as_raw_fd()) }
                    };
                    syscall_result(rc as isize).map(drop)
                })
                .await
            }
        }
    }

    /// Closes the file and reports the error `close(2)` returns, if any. If an
    /// operation that was dropped still uses the descriptor, it is closed when that
    /// operation completes, and this returns `Ok`.
    pub async fn close(self) -> io::Result<()> {
        let Ok(fd) = Arc::try_unwrap(self.fd) else {
            return Ok(());
        };
        let raw = fd.into_raw_fd();
        match driver::flavor() {
            Ok(Flavor::Uring) => {
                let (result, _) = driver::submit(Box::new(Closing), |_| {
                    opcode::Close::new(types::Fd(raw)).build()
                })
                .await;
                driver::result(result).map(drop)
            }
            // Closing a file does not block for long: no thread hop.
            _ => {
                // SAFETY: `raw` was taken out of its owner above; closed once, here.
                let rc = unsafe { libc::close(raw) };
                syscall_result(rc as isize).map(drop)
            }
        }
    }
}

/// An `IORING_OP_CLOSE`: the descriptor is given up to the kernel.
struct Closing;

impl Payload for Closing {}
