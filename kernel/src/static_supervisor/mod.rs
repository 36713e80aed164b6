//! Supervision with no allocator, for a tree whose shape is fixed at build time: the
//! bare-metal counterpart of [`supervisor`](crate#features) (which needs `alloc`).
//!
//! On a microcontroller a panic aborts, so a child fails in three ways, each a [`Fault`]
//! its supervisor handles with OTP's rules:
//!
//! - it returns `Err(reason)` ([`Fault::Error`]);
//! - it is cancelled by someone else ([`Fault::Cancelled`]);
//! - it misses its **liveness deadline** ([`Fault::MissedDeadline`]): a child given
//!   [`ChildSpec::check_in_every`] must call [`ChildContext::check_in`] at least once in
//!   every such period; one that does not is cancelled by its supervisor, which then
//!   handles it like any other fault.
//!
//! Every child lives in a one-slot [`ProcPool`](crate::lightproc::ProcPool) of its own
//! inside its [`ChildSpec`] (a `static`), so a restart reuses the slot and can never
//! start the new incarnation while the old one still holds it (TRAPS 15): the old one
//! is joined, and its slot freed, first. The supervisor's own state (the children's
//! handles, their check-in counts, the restart history) lives in its `run` future, so a
//! tree needs nothing but `static`s and the pool slot its root runs in. A supervisor is
//! itself a child future ([`Supervisor::run`] returns an [`Exit`]), so trees nest.
//!
//! # The supervisor's loop
//!
//! ```text
//!            start every child in order
//!                       |
//!                       v
//!   +------> wait: a child exits, or the next liveness deadline passes
//!   |                   |                                  |
//!   |        exit: fault or normal end           deadline: counted a check-in since
//!   |                   |                        the last look? yes: next deadline,
//!   |                   |                        and feed the watchdog if all did;
//!   |                   |                        no: cancel it, join it => fault
//!   |                   v
//!   |        restart type says restart?  -- no --> leave it stopped
//!   |                   | yes
//!   |        intensity exceeded? -- yes --> stop every child (reverse order) and
//!   |                   | no                  return Err: the parent sees a fault
//!   |        strategy: stop the others it names (reverse order), start them in order,
//!   |                   now or when the backoff has passed (a deadline like the others)
//!   +-------------------+
//! ```
//!
//! Intensity is OTP's sliding window: at most `max_restarts` restarts within any
//! `period` (TRAPS 17), kept as the instants of the last restarts (at most
//! [`Intensity::MAX_RESTARTS`]). A [`Backoff`] delays restarts by how many a child has
//! had in a row; while a restart waits, the supervisor goes on handling its other
//! children's exits and deadlines (TRAPS 16), and a cancelled supervisor stops at once.
//!
//! # A hardware watchdog
//!
//! [`Supervisor::feed_watchdog`] names a function the supervisor calls only at a
//! liveness round in which every child whose deadline came had checked in and no child
//! waits out a backoff: a root supervisor given the function that feeds the board's
//! watchdog keeps the board alive exactly while its tree is healthy, and lets the
//! watchdog reset it when a child hangs and its supervisor cannot bring it back, or the
//! supervisor itself hangs. Feeds come only with liveness rounds, so a tree that feeds a
//! watchdog needs at least one child with a liveness period shorter than the
//! watchdog's.
//!
//! ```
//! use ravelin_hal::{Duration, TestPlatform};
//! use ravelin_kernel::sched::Executor;
//! use ravelin_kernel::static_supervisor::{
//!     ChildContext, ChildSpec, Exit, Fault, Intensity, Supervisor,
//! };
//!
//! static PLATFORM: TestPlatform = TestPlatform::new(1);
//! static EXECUTOR: Executor = Executor::new(&PLATFORM);
//!
//! /// Checks in twice, then hangs.
//! async fn sensor(ctx: ChildContext) -> Exit {
//!     for _ in 0..2 {
//!         EXECUTOR.sleep(Duration::from_millis(5)).await;
//!         ctx.check_in();
//!     }
//!     core::future::pending().await
//! }
//!
//! static SENSOR: ChildSpec<512> = ChildSpec::new("sensor", |start| {
//!     let ctx = start.context();
//!     start.spawn(sensor(ctx))
//! })
//! .check_in_every(Duration::from_millis(10));
//!
//! static ROOT: Supervisor<1> = Supervisor::new("root", &EXECUTOR, [&SENSOR])
//!     .intensity(Intensity::new(2, Duration::from_secs(1)));
//!
//! PLATFORM.set_auto_advance(true);
//! let mut root = EXECUTOR.spawn(ROOT.supervise());
//! let escalation = EXECUTOR.block_on(&mut root).unwrap().unwrap_err();
//! assert_eq!(escalation.child, "sensor");
//! assert_eq!(escalation.fault, Fault::MissedDeadline);
//! ```
//!
//! # What is interrupt-safe
//!
//! [`ChildContext::check_in`] (one atomic add). Nothing else here: supervisors run as
//! lightprocs.

mod child;
mod fault;
mod run;
mod spec;

pub use child::{Child, ChildContext, ChildSpec, Liveness, Start, StartError, StartFn};
pub use fault::{Escalation, Fault};
pub use run::{Event, Supervisor};
pub use spec::{Backoff, Intensity, Restart, Strategy};

/// What a child's future returns: `Ok(())` for a normal end, `Err(reason)` for a fault.
pub type Exit = Result<(), &'static str>;
