//! [`OpenOptions`]: how a file is opened, and the open itself.

use std::ffi::CString;
use std::io;
use std::os::fd::{FromRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

use io_uring::{opcode, types};

use super::{File, invalid, pool::blocking};
use crate::driver::op::Payload;
use crate::driver::{self, Flavor};

/// How to open a file, as [`std::fs::OpenOptions`]; see [`File::open`] and
/// [`File::create`] for the common cases.
#[derive(Clone, Debug)]
pub struct OpenOptions {
    read: bool,
    write: bool,
    append: bool,
    truncate: bool,
    create: bool,
    create_new: bool,
    mode: u32,
}

impl Default for OpenOptions {
    fn default() -> Self {
        Self::new()
    }
}

impl OpenOptions {
    /// All options off; `mode` 0o666 (before the umask).
    pub fn new() -> Self {
        Self {
            read: false,
            write: false,
            append: false,
            truncate: false,
            create: false,
            create_new: false,
            mode: 0o666,
        }
    }

    /// Open for reading.
    pub fn read(&mut self, on: bool) -> &mut Self {
        self.read = on;
        self
    }

    /// Open for writing.
    pub fn write(&mut self, on: bool) -> &mut Self {
        self.write = on;
        self
    }

    /// Writes go to the end of the file (`O_APPEND`; implies writing).
    pub fn append(&mut self, on: bool) -> &mut Self {
        self.append = on;
        self
    }

    /// Truncate the file to length 0 (needs writing).
    pub fn truncate(&mut self, on: bool) -> &mut Self {
        self.truncate = on;
        self
    }

    /// Create the file if it does not exist.
    pub fn create(&mut self, on: bool) -> &mut Self {
        self.create = on;
        self
    }

    /// Create the file, failing if it exists.
    pub fn create_new(&mut self, on: bool) -> &mut Self {
        self.create_new = on;
        self
    }

    /// Permission bits of a created file (default 0o666, before the umask).
    pub fn mode(&mut self, mode: u32) -> &mut Self {
        self.mode = mode;
        self
    }

    /// The `open(2)` flags, or `InvalidInput` for a combination that makes no sense.
    fn flags(&self) -> io::Result<i32> {
        let writes = self.write || self.append;
        let access = match (self.read, writes) {
            (true, false) => libc::O_RDONLY,
            (false, true) => libc::O_WRONLY,
            (true, true) => libc::O_RDWR,
            (false, false) => return Err(invalid("open neither for reading nor writing")),
        };
        if (self.truncate || self.create || self.create_new) && !writes {
            return Err(invalid("truncating or creating a file needs write access"));
        }
        let mut flags = access | libc::O_CLOEXEC;
        if self.append {
            flags |= libc::O_APPEND;
        }
        if self.truncate && !self.append {
            flags |= libc::O_TRUNC;
        }
        if self.create_new {
            flags |= libc::O_CREAT | libc::O_EXCL;
        } else if self.create {
            flags |= libc::O_CREAT;
        }
        Ok(flags)
    }

    /// Opens `path` with these options.
    pub async fn open(&self, path: impl AsRef<Path>) -> io::Result<File> {
        let flags = self.flags()?;
        let path = CString::new(path.as_ref().as_os_str().as_bytes())
            .map_err(|_| invalid("a path with a NUL byte"))?;
        let mode = self.mode;
        let fd = match driver::flavor()? {
            Flavor::Uring => {
                let op = driver::submit(Box::new(Opening { path }), |p| {
                    opcode::OpenAt::new(types::Fd(libc::AT_FDCWD), p.path.as_ptr())
                        .flags(flags)
                        .mode(mode)
                        .build()
                });
                driver::result(op.await.0)? as i32
            }
            Flavor::Epoll => {
                blocking(move || {
                    // SAFETY: `path` is a NUL-terminated string alive for the call.
                    let fd = unsafe { libc::open(path.as_ptr(), flags, mode) };
                    if fd < 0 {
                        Err(io::Error::last_os_error())
                    } else {
                        Ok(fd)
                    }
                })
                .await?
            }
        };
        // SAFETY: `fd` was just opened for us and is owned by nobody else.
        Ok(File::from(unsafe { OwnedFd::from_raw_fd(fd) }))
    }
}

/// The path of an `openat`; an open that completes after its future was dropped has
/// its descriptor closed.
struct Opening {
    path: CString,
}

impl Payload for Opening {
    fn orphaned(self: Box<Self>, result: i32) {
        if result >= 0 {
            // SAFETY: the kernel opened `result` for this operation; nobody else owns it.
            drop(unsafe { OwnedFd::from_raw_fd(result) });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_follow_std_and_reject_nonsense() {
        let flags = |o: &OpenOptions| o.flags().map(|f| f & !libc::O_CLOEXEC);
        assert_eq!(
            flags(OpenOptions::new().read(true)).unwrap(),
            libc::O_RDONLY
        );
        assert_eq!(
            flags(OpenOptions::new().write(true).create(true).truncate(true)).unwrap(),
            libc::O_WRONLY | libc::O_CREAT | libc::O_TRUNC
        );
        assert_eq!(
            flags(OpenOptions::new().read(true).append(true)).unwrap(),
            libc::O_RDWR | libc::O_APPEND
        );
        assert_eq!(
            flags(OpenOptions::new().write(true).create(true).create_new(true)).unwrap(),
            libc::O_WRONLY | libc::O_CREAT | libc::O_EXCL
        );
        assert!(OpenOptions::new().read(true).flags().unwrap() & libc::O_CLOEXEC != 0);
        for nonsense in [
            OpenOptions::new(),
            OpenOptions::new().read(true).truncate(true).clone(),
            OpenOptions::new().read(true).create(true).clone(),
        ] {
            let error = nonsense.flags().unwrap_err();
            assert_eq!(error.kind(), io::ErrorKind::InvalidInput);
        }
    }
}
