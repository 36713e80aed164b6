//! Frames on a TCP stream: a 4-byte big-endian length, then one sealed envelope.
//!
//! The reader checks the claimed length against the stream envelope's MTU before it
//! reads (or makes room for) the body, so a peer can never make it allocate more than
//! one MTU plus one read chunk, whatever it claims.

use core::fmt;
use std::io;
use std::sync::Arc;

use ravelin_linux::net::TcpStream;

use crate::envelope::{Envelope, SealError};

/// Bytes of the length prefix.
pub(crate) const PREFIX: usize = 4;
/// Bytes asked of the kernel per read.
const CHUNK: usize = 16 * 1024;

/// Why no frame could be read.
#[derive(Debug)]
pub(crate) enum ReadError {
    /// The peer closed the connection.
    Closed,
    /// Reading failed.
    Io(io::Error),
    /// The prefix claims a frame shorter than an empty envelope or longer than the MTU.
    BadLength(u32),
}

impl fmt::Display for ReadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Closed => f.write_str("the peer closed the connection"),
            Self::Io(e) => write!(f, "reading failed: {e}"),
            Self::BadLength(len) => write!(f, "a frame of {len} bytes is outside the limits"),
        }
    }
}

/// Reads length-prefixed frames from a stream, one at a time.
pub(crate) struct FrameReader {
    stream: Arc<TcpStream>,
    /// Bytes read and not yet consumed start at `start`.
    data: Vec<u8>,
    start: usize,
    /// The frame handed out last ends here; consumed at the next call.
    consumed: usize,
    chunk: Vec<u8>,
    max_frame: usize,
}

impl FrameReader {
    pub(crate) fn new(stream: Arc<TcpStream>, max_frame: usize) -> Self {
        Self {
            stream,
            data: Vec::new(),
            start: 0,
            consumed: 0,
            chunk: Vec::with_capacity(CHUNK),
            max_frame,
        }
    }

    /// The next frame (a sealed envelope, to open in place).
    pub(crate) async fn next(&mut self) -> Result<&mut [u8], ReadError> {
        self.start = self.consumed;
        self.fill(PREFIX).await?;
        let prefix = self
            .data
            .get(self.start..)
            .and_then(|d| d.first_chunk::<PREFIX>())
            .copied()
            .ok_or(ReadError::Closed)?;
        let claimed = u32::from_be_bytes(prefix);
        let len = usize::try_from(claimed).map_err(|_| ReadError::BadLength(claimed))?;
        if len < Envelope::MIN_MTU || len > self.max_frame {
            return Err(ReadError::BadLength(claimed));
        }
        self.fill(PREFIX + len).await?;
        let begin = self.start + PREFIX;
        self.consumed = begin + len;
        self.data
            .get_mut(begin..begin + len)
            .ok_or(ReadError::Closed)
    }

    /// Reads until `n` unconsumed bytes are buffered.
    async fn fill(&mut self, n: usize) -> Result<(), ReadError> {
        if self.start > 0 && self.data.len() - self.start < n {
            self.data.drain(..self.start);
            self.consumed -= self.start;
            self.start = 0;
        }
        while self.data.len() - self.start < n {
            let mut chunk = core::mem::take(&mut self.chunk);
            chunk.clear();
            let (read, back) = self.stream.read(chunk).await;
            self.chunk = back;
            match read {
                Ok(0) => return Err(ReadError::Closed),
                Ok(_) => self.data.extend_from_slice(&self.chunk),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(ReadError::Io(e)),
            }
        }
        Ok(())
    }
}

/// Seals `payload` with `envelope` and appends it, length first, to `out`.
pub(crate) fn append_frame(
    envelope: &Envelope,
    payload: &[u8],
    out: &mut Vec<u8>,
) -> Result<(), SealError> {
    let at = out.len();
    let len = Envelope::MIN_MTU + payload.len();
    out.resize(at + PREFIX + len, 0);
    let sealed = match out.get_mut(at + PREFIX..) {
        Some(room) => envelope.seal(payload, room),
        None => Err(SealError::BufferTooSmall { needed: len }),
    };
    match sealed {
        Ok(n) => {
            let prefix = u32::try_from(n).unwrap_or(u32::MAX).to_be_bytes();
            out.truncate(at + PREFIX + n);
            if let Some(slot) = out.get_mut(at..at + PREFIX) {
                slot.copy_from_slice(&prefix);
            }
            Ok(())
        }
        Err(e) => {
            out.truncate(at);
            Err(e)
        }
    }
}
