//! loom models of the kernel's lock-free protocols. Build and run them with
//! `RUSTFLAGS="--cfg loom" cargo test -p ravelin-loom --release`; without `--cfg loom`
//! this crate is empty.
