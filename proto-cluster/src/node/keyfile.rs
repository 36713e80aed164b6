//! Key files: the cluster's shared keys, one per line, the first one sealing.
//!
//! ```text
//! # ravelin cluster keys: "<key id> <64 hex digits>", the first line seals
//! 2 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08
//! 1 60303ae22b998861bce3b28f33eec1be758a213c86c93c076dbe9f558c11c752
//! ```
//!
//! Blank lines and lines starting with `#` are ignored. Every key in the file is
//! accepted on receipt, so a rotation is three edits of the file on every node (add the
//! new key below the first; move it to the top; remove the old one), each rolled out to
//! all nodes before the next.

use core::fmt;
use std::io::{self, Read};
use std::path::Path;

use crate::envelope::{Key, KeyError, KeyId, KeyRing, KeyRingError};

/// Why a key file could not be used.
#[derive(Debug)]
pub enum KeyFileError {
    /// The file could not be read.
    Io(io::Error),
    /// A line is not `<key id> <64 hex digits>`.
    Line {
        /// 1-based line number.
        line: usize,
        /// What is wrong with it.
        why: String,
    },
    /// No key in the file.
    Empty,
    /// The ring refused a key (a duplicate id, or more keys than it holds).
    Ring {
        /// 1-based line number.
        line: usize,
        /// The ring's reason.
        error: KeyRingError,
    },
}

impl fmt::Display for KeyFileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Io(error) => write!(f, "cannot read the key file: {error}"),
            Self::Line { line, why } => write!(f, "key file line {line}: {why}"),
            Self::Empty => f.write_str("the key file holds no key"),
            Self::Ring { line, error } => write!(f, "key file line {line}: {error}"),
        }
    }
}

impl core::error::Error for KeyFileError {
    fn source(&self) -> Option<&(dyn core::error::Error + 'static)> {
        match self {
            Self::Io(error) => Some(error),
            Self::Ring { error, .. } => Some(error),
            Self::Line { .. } | Self::Empty => None,
        }
    }
}

/// Parses the text of a key file into a key ring (the first key is the primary).
pub fn parse_keys(text: &str) -> Result<KeyRing, KeyFileError> {
    let mut ring: Option<KeyRing> = None;
    for (index, raw) in text.lines().enumerate() {
        let line = index + 1;
        let trimmed = raw.trim();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        let bad = |why: String| KeyFileError::Line { line, why };
        let mut fields = trimmed.split_ascii_whitespace();
        let (Some(id), Some(hex), None) = (fields.next(), fields.next(), fields.next()) else {
            return Err(bad("expected \"<key id> <64 hex digits>\"".into()));
        };
        let id: u32 = id
            .parse()
            .map_err(|_| bad(format!("key id {id:?} is not a number")))?;
        let key = Key::from_hex(KeyId(id), hex).map_err(|e: KeyError| bad(e.to_string()))?;
        match &mut ring {
            None => ring = Some(KeyRing::new(key)),
            Some(ring) => ring
                .insert(key)
                .map_err(|error| KeyFileError::Ring { line, error })?,
        }
    }
    ring.ok_or(KeyFileError::Empty)
}

/// Reads a key file.
pub fn read_keys(path: &Path) -> Result<KeyRing, KeyFileError> {
    let text = std::fs::read_to_string(path).map_err(KeyFileError::Io)?;
    parse_keys(&text)
}

/// A fresh key file's text: one key with id 1 from the system's random source.
pub fn generate_key_file() -> io::Result<String> {
    let mut secret = [0u8; 32];
    std::fs::File::open("/dev/urandom")?.read_exact(&mut secret)?;
    let hex: String = secret.iter().map(|b| format!("{b:02x}")).collect();
    Ok(format!(
        "# ravelin cluster keys: \"<key id> <64 hex digits>\", the first line seals\n1 {hex}\n"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: &str = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";
    const B: &str = "60303ae22b998861bce3b28f33eec1be758a213c86c93c076dbe9f558c11c752";

    #[test]
    fn the_first_key_seals_and_all_are_accepted() {
        let ring = parse_keys(&format!("# keys\n\n2 {A}\n1 {B}\n")).unwrap();
        assert_eq!(ring.primary(), KeyId(2));
        assert!(ring.contains(KeyId(1)));
    }

    #[test]
    fn bad_files_say_which_line_and_why() {
        assert!(matches!(
            parse_keys("# nothing\n"),
            Err(KeyFileError::Empty)
        ));
        assert!(matches!(
            parse_keys(&format!("1 {A}\nx {B}\n")),
            Err(KeyFileError::Line { line: 2, .. })
        ));
        assert!(matches!(
            parse_keys("1 abc\n"),
            Err(KeyFileError::Line { line: 1, .. })
        ));
        assert!(matches!(
            parse_keys(&format!("1 {A} extra\n")),
            Err(KeyFileError::Line { line: 1, .. })
        ));
        assert!(matches!(
            parse_keys(&format!("1 {A}\n1 {B}\n")),
            Err(KeyFileError::Ring { line: 2, .. })
        ));
        let error = parse_keys("1 abc\n").unwrap_err().to_string();
        assert!(error.starts_with("key file line 1:"), "{error}");
    }

    #[test]
    fn a_generated_file_parses() {
        let text = generate_key_file().unwrap();
        assert_eq!(parse_keys(&text).unwrap().primary(), KeyId(1));
    }
}
