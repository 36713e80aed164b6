//! # Firmware author's guide
//!
//! How to run Ravelin on a Cortex-M microcontroller with no allocator. Every step below
//! is what the programs in the repository's `firmware/` do; `firmware/run-qemu.sh` runs
//! them under `qemu-system-arm` on a Cortex-M3 (`lm3s6965evb`, `thumbv7m-none-eabi`), a
//! Cortex-M4F (`mps2-an386`, `thumbv7em-none-eabihf`) and a Cortex-M0 (`microbit`,
//! `thumbv6m-none-eabi`) and compares their output with `firmware/expected/`.
//!
//! ## Linking the kernel into a Cortex-M project
//!
//! ```toml
//! [dependencies]
//! ravelin-kernel = { version = "0.1", default-features = false }   # no alloc, no std
//! ravelin-hal = { version = "0.1", features = ["cortex-m"] }
//! cortex-m = { version = "0.7.7", features = ["critical-section-single-core"] }
//! cortex-m-rt = "0.7"
//! ```
//!
//! With no features the kernel links no allocator (the firmware programs check that
//! their binaries hold no `__rust_alloc`). `critical-section-single-core` is the
//! critical section the platform's clock state sits behind; on Cortex-M0, which has no
//! compare-and-swap, the kernel's atomics go through `portable-atomic`, whose
//! read-modify-write operations take the same critical section: nothing else to do. The
//! usual `memory.x` and `-C link-arg=-Tlink.x` of `cortex-m-rt` apply.
//!
//! ```ignore
//! use ravelin_hal::cortex_m::CortexM;
//! use ravelin_kernel::lightproc::ProcPool;
//! use ravelin_kernel::sched::Executor;
//!
//! static PLATFORM: CortexM = CortexM::new(12_000_000); // the core clock SysTick counts
//! static EXECUTOR: Executor = Executor::uninit(); // all zeros: in `.bss`, no flash
//! static POOL: ProcPool<4, 256> = ProcPool::new();
//!
//! #[cortex_m_rt::entry]
//! fn main() -> ! {
//!     let peripherals = cortex_m::Peripherals::take().unwrap();
//!     PLATFORM.start(peripherals.SYST);
//!     EXECUTOR.init(&PLATFORM).unwrap(); // in place, once: a second `init` is an `Err`
//!     if EXECUTOR.spawn_in(&POOL, blink()).is_err() { /* the pool is too small */ }
//!     EXECUTOR.run() // runs ready procs; parks in `wfi` until an interrupt or a timer
//! }
//!
//! #[cortex_m_rt::exception]
//! fn SysTick() {
//!     PLATFORM.on_systick(); // the 64-bit clock's wrap and the timers' alarm
//! }
//! ```
//!
//! `CortexM` (in `ravelin_hal::cortex_m`, feature `cortex-m`) takes SysTick: the clock
//! is SysTick extended to 64 bits, the next timer deadline is programmed as SysTick's
//! next wrap (no periodic tick), and an idle executor sleeps in `wfi` with interrupts
//! masked around the last check, so an interrupt never loses its wake-up. Its module
//! documentation gives the argument; `loom-tests/tests/cortex_m_park.rs` checks it.
//!
//! ## Sizing pools and mailboxes
//!
//! - **The executor.** An [`Executor`](crate::sched::Executor) is about 2.9 KB on 32-bit
//!   targets, nearly all of it its timer wheel (six levels of 64 slots). Made by
//!   [`Executor::new`](crate::sched::Executor::new), its `static` takes that much flash
//!   as well as RAM: its initial value holds the platform's address, so the linker puts
//!   it in `.data`, whose initial values are copied from flash at reset. Made by
//!   [`Executor::uninit`](crate::sched::Executor::uninit) it is all zeros, so it goes to
//!   `.bss` (RAM only, zeroed at reset), and
//!   [`Executor::init`](crate::sched::Executor::init) writes the platform in at run time,
//!   in place (building the executor on the stack instead would copy it).
//! - **Lightprocs.** A [`ProcPool<N, SIZE>`](crate::lightproc::ProcPool) has `N` slots of
//!   `SIZE` bytes (aligned to 16). A proc needs its header, its scheduler handle (one
//!   pointer for the [`Executor`](crate::sched::Executor)), its slot tag (one pointer)
//!   and the larger of its future and its output. The size of a future is the compiler's
//!   business: spawn it, and a slot too small answers
//!   [`SpawnError::TooLarge`](crate::lightproc::SpawnError) with `needed` bytes; size
//!   `SIZE` from that. [`Executor::spawn_in_with`](crate::sched::Executor::spawn_in_with)
//!   takes a closure that makes the future and calls it once a slot is claimed, so that
//!   in release builds the optimiser builds the future in the slot instead of moving it
//!   there (a full pool hands the closure back): with large futures that spares the
//!   copies, and the `memcpy` code that makes them.
//!   Size `N` for the most procs alive at once: a proc's slot is free again once it has
//!   ended and its [`ProcHandle`](crate::lightproc::ProcHandle) is dropped (or it was
//!   detached).
//! - **Mailboxes.** A [`Mailbox<M, N>`](crate::mailbox::Mailbox) holds `N` messages of
//!   type `M` inline plus a small header; a sender waiting in `send` for room costs no
//!   slot (it waits in its own future). Size `N` for the burst a receiver must absorb
//!   while it is busy; beyond it, `try_send` hands messages back and `send` waits.
//! - **Interrupt mailboxes.** An [`IrqMailbox<M, N>`](crate::irq_mailbox::IrqMailbox)
//!   holds `N` messages; size it for the interrupts that can arrive while its reader is
//!   not running. What did not fit is counted
//!   ([`IrqMailbox::handed_back`](crate::irq_mailbox::IrqMailbox::handed_back)).
//! - **Supervision trees.** Each child is a
//!   [`ChildSpec<SIZE>`](crate::static_supervisor::ChildSpec) with one slot of its own, so
//!   a tree needs no pool beyond the slot its root supervisor runs in; a supervisor's
//!   future holds a handle, a check-in count and a deadline per child and the last
//!   restarts of its intensity window (a few hundred bytes: let `TooLarge` tell).
//!
//! ## What each error means
//!
//! | error | meaning | what you get back |
//! |---|---|---|
//! | [`SpawnError::Full`](crate::lightproc::SpawnError) | every slot of the pool holds a live proc | the future, unpolled |
//! | [`SpawnError::TooLarge`](crate::lightproc::SpawnError) | the proc needs more than a slot | the future, and the bytes needed |
//! | [`JoinError::Cancelled`](crate::lightproc::JoinError) | the proc was cancelled before it finished | nothing: its future was dropped by its worker |
//! | [`TrySendError::Full`](crate::mailbox::TrySendError) | the mailbox holds `N` messages | the message |
//! | [`TrySendError::Closed`](crate::mailbox::TrySendError), [`SendError`](crate::mailbox::SendError) | the receiver is gone or closed the mailbox | the message |
//! | [`irq_mailbox::Full`](crate::irq_mailbox::Full) | the interrupt mailbox holds `N` messages | the message (and the count goes up) |
//! | [`Fault::Error`](crate::static_supervisor::Fault) | a child returned `Err(reason)` | its supervisor restarts it or not, by its restart type |
//! | [`Fault::MissedDeadline`](crate::static_supervisor::Fault) | a child did not check in within its period; its supervisor cancelled it | as above |
//! | [`Fault::Cancelled`](crate::static_supervisor::Fault) | someone else cancelled a child | as above |
//! | [`Fault::StartFailed`](crate::static_supervisor::Fault), [`StartError`](crate::static_supervisor::StartError) | a child's future does not fit its slot | the supervisor gives up at once |
//! | [`Escalation`](crate::static_supervisor::Escalation) | a child faulted once more than the intensity allows; every child was stopped | the child and its fault; as a child, the supervisor fails to its parent |
//!
//! A panic cannot be caught without `std`: it ends the program through the firmware's
//! panic handler. Report faults by returning `Err`.
//!
//! ## What runs in interrupt context
//!
//! Safe to call from an interrupt handler (none blocks or takes a lock):
//!
//! - `Waker::wake` / `wake_by_ref` of a lightproc on the
//!   [`Executor`](crate::sched::Executor): a lock-free push on its run queue and an
//!   unpark;
//! - [`Spawner::spawn_in`](crate::sched::Spawner::spawn_in),
//!   [`Executor::spawn_in`](crate::sched::Executor::spawn_in) and their `spawn_in_with`:
//!   a slot claimed with one atomic operation, and the same push;
//! - [`IrqSender::try_send`](crate::irq_mailbox::IrqSender::try_send);
//! - [`ChildContext::check_in`](crate::static_supervisor::ChildContext::check_in);
//! - of the platform: `CortexM::unpark`, `CortexM::now` (a short critical section) and
//!   `CortexM::on_systick`, which is the SysTick handler's body.
//!
//! Not from an interrupt handler: everything that takes the kernel's spin lock, which
//! the interrupted code may hold: [`Mailbox`](crate::mailbox::Mailbox) sends and
//! receives (use an [`IrqMailbox`](crate::irq_mailbox::IrqMailbox) from handlers), timer
//! registration (`sleep`, `timeout`, `interval`) and
//! [`Executor::run_once`](crate::sched::Executor::run_once) (which fires timers), the
//! registry; and anything that parks or blocks:
//! [`Executor::run`](crate::sched::Executor::run),
//! [`Executor::block_on`](crate::sched::Executor::block_on), `Park::park`.
//! Lightprocs themselves always run in thread mode, from the executor's loop.
