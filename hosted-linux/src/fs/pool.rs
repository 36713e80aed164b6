//! Running a file operation on the blocking pool (the fallback backend's way).

use std::io;
use std::sync::{Arc, Mutex, PoisonError};

use super::invalid;

/// Runs `f` on the blocking pool; a closure that could not run is an error.
pub(super) async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> io::Result<T> + Send + 'static,
) -> io::Result<T> {
    crate::spawn_blocking(f).await.map_err(io::Error::other)?
}

/// Runs `f` on `buf` on the blocking pool and hands the buffer back. The buffer stays
/// in a shared slot, so it comes back even if the closure never ran.
pub(super) async fn blocking_with<B: Send + 'static>(
    buf: B,
    f: impl FnOnce(&mut B) -> io::Result<usize> + Send + 'static,
) -> (io::Result<usize>, B) {
    let slot = Arc::new(Mutex::new(Some(buf)));
    let shared = slot.clone();
    let result = blocking(move || {
        let mut guard = shared.lock().unwrap_or_else(PoisonError::into_inner);
        match guard.as_mut() {
            Some(buf) => f(buf),
            None => Err(invalid("buffer taken")),
        }
    })
    .await;
    let buf = slot.lock().unwrap_or_else(PoisonError::into_inner).take();
    match buf {
        Some(buf) => (result, buf),
        // Only this function takes the buffer out, once, here.
        None => unreachable!("the blocking slot lost its buffer"),
    }
}
