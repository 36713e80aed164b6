//! loom model of the Cortex-M platform's park protocol (`ravelin_hal::cortex_m`) with an
//! interrupt handler that hands the worker work and unparks it.
//!
//! The core is modelled by what the protocol relies on: PRIMASK is a lock (a handler
//! runs only while the worker does not hold it, and entering the handler takes it),
//! a peripheral raises a `pending` line before its handler runs (exception entry clears
//! it), `wfi` returns once a line is pending whether or not PRIMASK masks it, and a
//! pending handler runs as soon as PRIMASK is cleared. The worker's `park` is the
//! platform's: mask, consume the token if set, otherwise `wfi`, unmask.
//!
//! The model checks that the worker always sees the handler's work and finishes: a
//! lost wake-up leaves it in `wfi` with nothing pending, which loom reports as a model
//! that never ends. A second model runs the same steps with the token checked before
//! masking and must fail that way: the window the mask closes is real.
#![cfg(loom)]

use loom::sync::atomic::{AtomicBool, Ordering};
use loom::sync::{Arc, Mutex};
use ravelin_loom::model;

/// One core with one peripheral interrupt.
#[derive(Default)]
struct Core {
    /// PRIMASK: held by the worker while masked, and by a handler while it runs.
    primask: Mutex<()>,
    /// The peripheral's interrupt line: set when it fires, cleared on handler entry.
    pending: AtomicBool,
    /// The platform's unpark token.
    token: AtomicBool,
    /// Work the handler hands the worker (a lightproc pushed on its run queue).
    work: AtomicBool,
}

impl Core {
    /// The peripheral fires; its handler wakes a lightproc and unparks the worker.
    fn interrupt(&self) {
        self.pending.store(true, Ordering::SeqCst);
        let _entry = self.primask.lock().unwrap(); // runs only when unmasked
        self.pending.store(false, Ordering::SeqCst);
        self.work.store(true, Ordering::Release); // the run queue push
        self.token.store(true, Ordering::Release); // `CortexM::unpark`
    }

    /// `wfi`: returns once an interrupt is pending (masked or not).
    fn wfi(&self) {
        while !self.pending.load(Ordering::SeqCst) {
            loom::thread::yield_now();
        }
    }

    /// Clearing PRIMASK: a pending handler runs before the next instruction.
    fn unmask(&self, masked: loom::sync::MutexGuard<'_, ()>) {
        drop(masked);
        while self.pending.load(Ordering::SeqCst) {
            loom::thread::yield_now();
        }
    }

    /// `CortexM::park` with no deadline.
    fn park(&self) {
        let masked = self.primask.lock().unwrap();
        if self.token.load(Ordering::Acquire) {
            self.token.store(false, Ordering::Relaxed);
        } else {
            self.wfi();
        }
        self.unmask(masked);
    }

    /// The same steps with the token checked before masking: a handler that runs
    /// between the check and the mask sets a token nobody looks at, and `wfi` sleeps.
    fn park_unmasked_check(&self) {
        if self.token.load(Ordering::Acquire) {
            self.token.store(false, Ordering::Relaxed);
            return;
        }
        let masked = self.primask.lock().unwrap();
        self.wfi();
        self.unmask(masked);
    }

    /// The executor's loop: run what is ready, park when nothing is.
    fn worker(&self, park: fn(&Self)) {
        while !self.work.load(Ordering::Acquire) {
            park(self);
        }
    }
}

fn run(park: fn(&Core)) {
    model(move || {
        let core = Arc::new(Core::default());
        let device = core.clone();
        let handler = loom::thread::spawn(move || device.interrupt());
        core.worker(park);
        handler.join().unwrap();
        assert!(core.work.load(Ordering::Acquire));
    });
}

#[test]
fn an_interrupt_never_loses_a_wake_up() {
    run(Core::park);
}

#[test]
#[should_panic(expected = "maximum number of branches")]
fn checking_the_token_before_masking_loses_a_wake_up() {
    run(Core::park_unmasked_check);
}
