//! 4 KiB random reads from a file in the page cache, at depth 1 (one read in flight) and
//! at depth [`DEEP`] (that many in flight), [`READS`] reads per batch.
//!
//! Every side reads the same kind of file ([`ReadFile`]: [`FILE_SIZE`] bytes written
//! once, so every read is served from the page cache) at the same pseudo-random
//! 4 KiB-aligned offsets ([`Offsets`], a fixed-seed xorshift), each read into an owned
//! 4 KiB buffer that is reused. At depth `d`, `d` tasks each do `READS / d` reads one
//! after the other.
//!
//! - [`RavelinRead`]: `ravelin_linux::fs::File::read_at` on a one-worker
//!   [`Runtime`], on the io_uring backend or the fallback (each read a `pread` on the
//!   blocking pool), each of the `depth` readers a proc;
//! - [`MonoioRead`]: monoio's `File::read_at` on its io_uring driver (epoll fallback:
//!   its reads then block the thread), one thread;
//! - [`TokioBlockingRead`]: Tokio `current_thread`, each read a `pread` in
//!   `spawn_blocking` (what `tokio::fs` does), on Tokio's blocking pool.

use std::fs::File;
use std::io::Write;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use ravelin_linux::{Backend, BackendPreference, Runtime};

use super::Workload;

/// Bytes per read.
pub const BLOCK: usize = 4096;
/// Size of the file read from.
pub const FILE_SIZE: u64 = 16 << 20;
/// Reads per batch, at every depth.
pub const READS: usize = 1024;
/// The deep queue depth measured beside depth 1.
pub const DEEP: usize = 32;

/// A file of [`FILE_SIZE`] bytes in the temporary directory, removed on drop.
#[derive(Debug)]
pub struct ReadFile {
    path: PathBuf,
}

impl ReadFile {
    /// Writes a new file of [`FILE_SIZE`] bytes (a byte pattern, so reads can be checked).
    ///
    /// # Panics
    /// If the file cannot be written.
    pub fn new() -> Self {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let path = std::env::temp_dir().join(format!(
            "ravelin-bench-read-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        let mut file = File::create(&path).expect("create the benchmark file");
        let chunk: Vec<u8> = (0..1 << 20).map(|i: u32| (i % 251) as u8).collect();
        for _ in 0..FILE_SIZE / chunk.len() as u64 {
            file.write_all(&chunk).expect("write the benchmark file");
        }
        file.sync_all().expect("sync the benchmark file");
        Self { path }
    }

    /// Where the file is.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Default for ReadFile {
    fn default() -> Self {
        Self::new()
    }
}

impl Drop for ReadFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

/// The first byte expected at `offset` of a [`ReadFile`].
pub fn expected_byte(offset: u64) -> u8 {
    ((offset % (1 << 20)) % 251) as u8
}

/// Pseudo-random block-aligned offsets into a [`ReadFile`] (xorshift64, fixed seed per
/// task, so every side reads the same offsets).
#[derive(Clone, Debug)]
pub struct Offsets(u64);

impl Offsets {
    /// The offsets of task `task`.
    pub fn for_task(task: usize) -> Self {
        Self(0x9E37_79B9_7F4A_7C15 ^ (task as u64 + 1).wrapping_mul(0xBF58_476D_1CE4_E5B9))
    }
}

impl Iterator for Offsets {
    type Item = u64;

    fn next(&mut self) -> Option<u64> {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        Some((self.0 % (FILE_SIZE / BLOCK as u64)) * BLOCK as u64)
    }
}

/// Checks one completed read; returns 1 for a full, correct block.
///
/// # Panics
/// On a short read or wrong bytes: the workload would be measuring something else.
pub fn check_read(read: usize, buf: &[u8], offset: u64) -> usize {
    assert_eq!(read, BLOCK, "short read at {offset}");
    assert_eq!(buf[0], expected_byte(offset), "wrong bytes at {offset}");
    1
}

/// Ravelin: `fs::File::read_at` with owned buffers, `depth` procs on one worker.
#[derive(Debug)]
pub struct RavelinRead {
    runtime: Runtime,
    file: ReadFile,
    depth: usize,
}

impl RavelinRead {
    /// A workload with a one-worker runtime on the backend `preference` asks for, and
    /// its file, reading at `depth` (which divides [`READS`]).
    ///
    /// # Panics
    /// If the runtime or the file cannot be made, or `depth` does not divide [`READS`].
    pub fn new(preference: BackendPreference, depth: usize) -> Self {
        assert!(
            depth > 0 && READS.is_multiple_of(depth),
            "depth must divide READS"
        );
        let runtime = Runtime::builder()
            .workers(1)
            .pin(false)
            .backend(preference)
            .build()
            .expect("ravelin runtime");
        Self {
            runtime,
            file: ReadFile::new(),
            depth,
        }
    }
}

impl Workload for RavelinRead {
    fn name(&self) -> &'static str {
        match self.runtime.backend() {
            Backend::Uring(_) => "Ravelin read_at (io_uring)",
            Backend::Fallback(_) => "Ravelin read_at (fallback: blocking pool)",
        }
    }

    fn elements(&self) -> usize {
        READS
    }

    fn run_batch(&mut self) -> usize {
        let (path, depth) = (self.file.path().to_owned(), self.depth);
        let scheduler = self.runtime.scheduler().clone();
        self.runtime
            .block_on(async move {
                let file = Arc::new(
                    ravelin_linux::fs::File::open(&path)
                        .await
                        .expect("open the benchmark file"),
                );
                let readers: Vec<_> = (0..depth)
                    .map(|task| {
                        let file = file.clone();
                        scheduler.spawn(async move {
                            let mut buf = vec![0u8; BLOCK];
                            let mut done = 0;
                            for offset in Offsets::for_task(task).take(READS / depth) {
                                let (read, back) = file.read_at(buf, offset).await;
                                done += check_read(read.expect("ravelin read"), &back, offset);
                                buf = back;
                            }
                            done
                        })
                    })
                    .collect();
                let mut done = 0;
                for reader in readers {
                    done += reader.await.expect("reader proc failed");
                }
                done
            })
            .expect("root proc failed")
    }
}

/// monoio: `File::read_at` with owned buffers, `depth` tasks on one thread.
pub struct MonoioRead {
    runtime: monoio::FusionRuntime<monoio::IoUringDriver, monoio::LegacyDriver>,
    file: ReadFile,
    depth: usize,
}

impl std::fmt::Debug for MonoioRead {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MonoioRead")
            .field("depth", &self.depth)
            .finish_non_exhaustive()
    }
}

impl MonoioRead {
    /// A workload with its runtime and file, reading at `depth` (which divides [`READS`]).
    ///
    /// # Panics
    /// If the runtime or the file cannot be made, or `depth` does not divide [`READS`].
    pub fn new(depth: usize) -> Self {
        assert!(
            depth > 0 && READS.is_multiple_of(depth),
            "depth must divide READS"
        );
        Self {
            runtime: monoio::RuntimeBuilder::<monoio::FusionDriver>::new()
                .build()
                .expect("monoio runtime"),
            file: ReadFile::new(),
            depth,
        }
    }
}

impl Workload for MonoioRead {
    fn name(&self) -> &'static str {
        match self.runtime {
            monoio::FusionRuntime::Uring(_) => "monoio read_at (io_uring driver)",
            monoio::FusionRuntime::Legacy(_) => "monoio read_at (epoll driver)",
        }
    }

    fn elements(&self) -> usize {
        READS
    }

    fn run_batch(&mut self) -> usize {
        let (path, depth) = (self.file.path().to_owned(), self.depth);
        self.runtime.block_on(async move {
            let file = std::rc::Rc::new(
                monoio::fs::File::open(&path)
                    .await
                    .expect("open the benchmark file"),
            );
            let tasks: Vec<_> = (0..depth)
                .map(|task| {
                    let file = file.clone();
                    monoio::spawn(async move {
                        let mut buf = vec![0u8; BLOCK];
                        let mut done = 0;
                        for offset in Offsets::for_task(task).take(READS / depth) {
                            let (read, back) = file.read_at(buf, offset).await;
                            done += check_read(read.expect("monoio read"), &back, offset);
                            buf = back;
                        }
                        done
                    })
                })
                .collect();
            let mut done = 0;
            for task in tasks {
                done += task.await;
            }
            done
        })
    }
}

/// Tokio `current_thread`: each read a `pread` in `spawn_blocking`, `depth` tasks.
#[derive(Debug)]
pub struct TokioBlockingRead {
    runtime: tokio::runtime::Runtime,
    file: ReadFile,
    depth: usize,
}

impl TokioBlockingRead {
    /// A workload with its runtime and file, reading at `depth` (which divides [`READS`]).
    ///
    /// # Panics
    /// If the runtime or the file cannot be made, or `depth` does not divide [`READS`].
    pub fn new(depth: usize) -> Self {
        assert!(
            depth > 0 && READS.is_multiple_of(depth),
            "depth must divide READS"
        );
        Self {
            runtime: tokio::runtime::Builder::new_current_thread()
                .build()
                .expect("tokio current_thread runtime"),
            file: ReadFile::new(),
            depth,
        }
    }
}

impl Workload for TokioBlockingRead {
    fn name(&self) -> &'static str {
        "Tokio spawn_blocking pread"
    }

    fn elements(&self) -> usize {
        READS
    }

    fn run_batch(&mut self) -> usize {
        let file = Arc::new(File::open(self.file.path()).expect("open the benchmark file"));
        let depth = self.depth;
        self.runtime.block_on(async move {
            let tasks: Vec<_> = (0..depth)
                .map(|task| {
                    let file = file.clone();
                    tokio::spawn(async move {
                        let mut buf = vec![0u8; BLOCK];
                        let mut done = 0;
                        for offset in Offsets::for_task(task).take(READS / depth) {
                            let file = file.clone();
                            let (read, back) = tokio::task::spawn_blocking(move || {
                                let read = file.read_at(&mut buf, offset);
                                (read, buf)
                            })
                            .await
                            .expect("blocking read panicked");
                            done += check_read(read.expect("pread"), &back, offset);
                            buf = back;
                        }
                        done
                    })
                })
                .collect();
            let mut done = 0;
            for task in tasks {
                done += task.await.expect("read task failed");
            }
            done
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offsets_are_aligned_and_inside_the_file() {
        for offset in Offsets::for_task(3).take(10_000) {
            assert_eq!(offset % BLOCK as u64, 0);
            assert!(offset + BLOCK as u64 <= FILE_SIZE);
        }
    }

    #[test]
    fn every_side_reads_every_block_at_both_depths() {
        for depth in [1, DEEP] {
            let workloads: [Box<dyn Workload>; 4] = [
                Box::new(RavelinRead::new(BackendPreference::Auto, depth)),
                Box::new(RavelinRead::new(BackendPreference::Fallback, depth)),
                Box::new(MonoioRead::new(depth)),
                Box::new(TokioBlockingRead::new(depth)),
            ];
            for mut workload in workloads {
                assert_eq!(workload.run_batch(), READS, "{}", workload.name());
            }
        }
    }
}
