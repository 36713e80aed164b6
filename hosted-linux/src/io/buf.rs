//! [`IoBuf`] and [`IoBufMut`]: buffers an operation can own while the kernel uses them.

/// A buffer the kernel may read from while an operation owns it: its bytes stay at
/// the same address however the value is moved.
///
/// # Safety
/// [`stable_ptr`](Self::stable_ptr) must point to [`bytes_init`](Self::bytes_init)
/// initialised bytes that do not move or change while the value is moved (a heap
/// allocation, or static memory) and stay valid until it is dropped or mutably
/// borrowed.
pub unsafe trait IoBuf: Send + 'static {
    /// Where the bytes start.
    fn stable_ptr(&self) -> *const u8;
    /// How many bytes are initialised (the bytes a write sends).
    fn bytes_init(&self) -> usize;
}

/// A buffer the kernel may write into while an operation owns it.
///
/// A read writes from the start of the buffer, at most
/// [`bytes_total`](Self::bytes_total) bytes, then calls
/// [`set_init`](Self::set_init) with the count: for a `Vec<u8>` the length becomes
/// the number of bytes read, so `&buf[..]` is exactly what arrived.
///
/// # Safety
/// [`stable_mut_ptr`](Self::stable_mut_ptr) must point to
/// [`bytes_total`](Self::bytes_total) writable bytes with the same stability as
/// [`IoBuf::stable_ptr`].
pub unsafe trait IoBufMut: IoBuf {
    /// Where the writable bytes start.
    fn stable_mut_ptr(&mut self) -> *mut u8;
    /// How many bytes may be written (a `Vec`'s capacity).
    fn bytes_total(&self) -> usize;
    /// Records that the first `n` bytes (at most `bytes_total`) are now initialised
    /// and are the buffer's content.
    ///
    /// # Safety
    /// The first `n` bytes must have been written.
    unsafe fn set_init(&mut self, n: usize);
}

// SAFETY: a Vec's bytes are on the heap (or dangling with no bytes) and do not move
// with the Vec.
unsafe impl IoBuf for Vec<u8> {
    fn stable_ptr(&self) -> *const u8 {
        self.as_ptr()
    }
    fn bytes_init(&self) -> usize {
        self.len()
    }
}

// SAFETY: the capacity is allocated and does not move with the Vec.
unsafe impl IoBufMut for Vec<u8> {
    fn stable_mut_ptr(&mut self) -> *mut u8 {
        self.as_mut_ptr()
    }
    fn bytes_total(&self) -> usize {
        self.capacity()
    }
    unsafe fn set_init(&mut self, n: usize) {
        // SAFETY: the caller wrote the first `n <= capacity` bytes.
        unsafe { self.set_len(n.min(self.capacity())) };
    }
}

// SAFETY: a boxed slice's bytes are on the heap and do not move with the box.
unsafe impl IoBuf for Box<[u8]> {
    fn stable_ptr(&self) -> *const u8 {
        self.as_ptr()
    }
    fn bytes_init(&self) -> usize {
        self.len()
    }
}

// SAFETY: as above; all of a boxed slice is initialised and writable.
unsafe impl IoBufMut for Box<[u8]> {
    fn stable_mut_ptr(&mut self) -> *mut u8 {
        self.as_mut_ptr()
    }
    fn bytes_total(&self) -> usize {
        self.len()
    }
    unsafe fn set_init(&mut self, _n: usize) {}
}

// SAFETY: static bytes never move and are never freed.
unsafe impl IoBuf for &'static [u8] {
    fn stable_ptr(&self) -> *const u8 {
        self.as_ptr()
    }
    fn bytes_init(&self) -> usize {
        self.len()
    }
}

// SAFETY: a String's bytes are on the heap and do not move with it.
unsafe impl IoBuf for String {
    fn stable_ptr(&self) -> *const u8 {
        self.as_ptr()
    }
    fn bytes_init(&self) -> usize {
        self.len()
    }
}
