//! Generations: which run of a node sealed a packet.
//!
//! A node's counter starts at 0 at every start, so what keeps (generation, counter)
//! from ever repeating (the replay window's assumption, and the AEAD nonce's) is that
//! the generation moves forward at every restart. Two sources are combined so that
//! losing either one is survived:
//! - a state file holding the last generation used: the next one is at least one more,
//!   even if the clock stepped back;
//! - the wall clock in milliseconds since the Unix epoch: the next one is at least
//!   that, even if the file was lost or is garbage.
//!
//! The new value is on disk (temporary file, fsync, rename, fsync of the directory)
//! before it is returned, so a crash right after cannot hand the same generation out
//! twice.

use core::fmt;
use std::fs::{self, File};
use std::io::{self, Write as _};
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

/// A node's incarnation: larger is newer. Packets of a generation older than the newest
/// seen from the same node are rejected as stale.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Debug)]
pub struct Generation(pub u64);

impl Generation {
    /// The next generation for a node whose state lives in `path`: the larger of the
    /// stored value plus one and the Unix time in milliseconds, written back atomically
    /// (temporary file beside it, fsync, rename, fsync of the directory) before
    /// returning. A restart therefore always moves it forward, even if the file is lost
    /// (the clock still does) or the clock steps back (the file still does).
    ///
    /// A missing, unreadable-as-text or garbage file counts as missing. Errors are those
    /// of writing the new file, and `InvalidData` if the stored value is `u64::MAX`
    /// (there is no next generation).
    pub fn next_persistent(path: &Path) -> io::Result<Generation> {
        let stored = fs::read_to_string(path)
            .ok()
            .and_then(|text| text.trim().parse::<u64>().ok());
        let after_stored = match stored {
            Some(value) => value.checked_add(1).ok_or_else(|| {
                io::Error::new(
                    io::ErrorKind::InvalidData,
                    "the stored generation is u64::MAX",
                )
            })?,
            None => 0,
        };
        let next = Generation(after_stored.max(Self::from_clock().0));
        write_atomically(path, &format!("{}\n", next.0))?;
        Ok(next)
    }

    /// A generation from the wall clock alone: Unix time in milliseconds (0 if the
    /// clock is before 1970). It moves forward across restarts only if the clock does
    /// and restarts are more than a millisecond apart; where the clock may step back
    /// (no RTC, NTP corrections), use [`next_persistent`](Self::next_persistent).
    pub fn from_clock() -> Generation {
        let millis = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |since| since.as_millis());
        Generation(u64::try_from(millis).unwrap_or(u64::MAX))
    }
}

impl fmt::Display for Generation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// Replaces `path` with `contents` so that a reader (or a crash) sees the old file or
/// the new one, never a mix.
fn write_atomically(path: &Path, contents: &str) -> io::Result<()> {
    let mut tmp = PathBuf::from(path);
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(".tmp");
    tmp.set_file_name(name);
    let mut file = File::create(&tmp)?;
    file.write_all(contents.as_bytes())?;
    file.sync_all()?;
    drop(file);
    fs::rename(&tmp, path)?;
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    File::open(dir)?.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch(name: &str) -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("ravelin-generation-{}-{name}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        dir.join("generation")
    }

    #[test]
    fn strictly_increasing_across_calls() {
        let path = scratch("increasing");
        let mut last = Generation::next_persistent(&path).unwrap();
        for _ in 0..50 {
            let next = Generation::next_persistent(&path).unwrap();
            assert!(next > last, "{next} after {last}");
            last = next;
        }
        let stored = fs::read_to_string(&path).unwrap();
        assert_eq!(stored.trim().parse::<u64>().unwrap(), last.0);
    }

    #[test]
    fn the_file_wins_over_a_clock_that_stepped_back() {
        let path = scratch("ahead");
        let far = Generation::from_clock().0 + 1_000_000_000;
        fs::write(&path, format!("{far}\n")).unwrap();
        assert_eq!(
            Generation::next_persistent(&path).unwrap(),
            Generation(far + 1)
        );
        assert_eq!(
            Generation::next_persistent(&path).unwrap(),
            Generation(far + 2)
        );
    }

    #[test]
    fn missing_or_garbage_file_falls_back_to_the_clock() {
        let path = scratch("garbage");
        let before = Generation::from_clock();
        assert!(Generation::next_persistent(&path).unwrap() >= before);
        for garbage in [
            &b"not a number"[..],
            b"",
            b"\xff\xfe\x00",
            b"-5",
            b"99999999999999999999999",
        ] {
            fs::write(&path, garbage).unwrap();
            let before = Generation::from_clock();
            assert!(Generation::next_persistent(&path).unwrap() >= before);
        }
    }

    #[test]
    fn no_next_after_max() {
        let path = scratch("max");
        fs::write(&path, u64::MAX.to_string()).unwrap();
        let err = Generation::next_persistent(&path).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidData);
    }

    #[test]
    fn clock_is_milliseconds() {
        // 2020-01-01 in ms; the test machine's clock is later than that.
        assert!(Generation::from_clock().0 > 1_577_836_800_000);
    }
}
