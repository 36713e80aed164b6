//! # ravelin-linux
//!
//! The hosted Linux platform for the Ravelin kernel: topology from sysfs and the
//! allowed CPU set, one pinned worker per CPU, an io_uring per worker that is also the
//! worker's park point, and the runtime entry point. See `DESIGN.md` ("hosted-linux")
//! for the contract; this crate grows with the hosted-runtime issue.
