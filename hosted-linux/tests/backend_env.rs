//! `RAVELIN_IO_BACKEND=fallback` forces the fallback when the builder says nothing.
//! Alone in its test binary (its own process), so setting the variable races nothing.

use ravelin_linux::{BACKEND_ENV, Backend, BackendPreference, FallbackReason, Runtime};

#[test]
fn the_environment_forces_the_fallback_unless_the_builder_says_otherwise() {
    // SAFETY: the only test of this binary, before any thread of ours reads the
    // environment.
    unsafe { std::env::set_var(BACKEND_ENV, "fallback") };
    let runtime = Runtime::builder().workers(1).pin(false).build().unwrap();
    assert_eq!(runtime.backend(), Backend::Fallback(FallbackReason::Forced));
    runtime.shutdown().unwrap();
    let explicit = Runtime::builder()
        .workers(1)
        .pin(false)
        .backend(BackendPreference::Auto)
        .build()
        .unwrap();
    assert_eq!(
        explicit.backend(),
        Backend::detect_with(BackendPreference::Auto),
        "an explicit preference wins over the environment"
    );
    explicit.shutdown().unwrap();
}
