//! loom model of the Cortex-M platform's park (`ravelin_hal::masked_park::park`, which
//! `ravelin_hal::cortex_m::CortexM::park` calls over PRIMASK and `wfi`) with an interrupt
//! handler that hands the worker work and unparks it.
//!
//! The park function is the HAL's own; the core around it is modelled by what it relies
//! on: PRIMASK is a lock (a handler runs only while the worker does not hold it, and
//! entering the handler takes it), a peripheral raises a `pending` line before its
//! handler runs (exception entry clears it), `wfi` returns once a line is pending whether
//! or not PRIMASK masks it, and a pending handler runs as soon as PRIMASK is cleared.
//!
//! The model checks that the worker always sees the handler's work and finishes: a
//! lost wake-up leaves it in `wfi` with nothing pending, which loom reports as a model
//! that never ends. A second model runs the same park with a "mask" that masks nothing
//! and must fail that way: the window the mask closes is real.
#![cfg(loom)]

use std::cell::RefCell;

use loom::sync::atomic::{AtomicBool, Ordering};
use loom::sync::{Arc, Mutex, MutexGuard};
use ravelin_hal::masked_park::{self, Interrupts, Token};
use ravelin_loom::model;

/// One core with one peripheral interrupt.
#[derive(Default)]
struct Core {
    /// PRIMASK: held by the worker while masked, and by a handler while it runs.
    primask: Mutex<()>,
    /// The peripheral's interrupt line: set when it fires, cleared on handler entry.
    pending: AtomicBool,
    /// The platform's unpark token.
    token: UnparkToken,
    /// Work the handler hands the worker (a lightproc pushed on its run queue).
    work: AtomicBool,
}

/// The unpark token, a loom `AtomicBool` (the platform's is `core`'s).
#[derive(Default)]
struct UnparkToken(AtomicBool);

impl Token for UnparkToken {
    fn take(&self) -> bool {
        let set = self.0.load(Ordering::Acquire);
        if set {
            self.0.store(false, Ordering::Relaxed);
        }
        set
    }
}

impl Core {
    /// The peripheral fires; its handler wakes a lightproc and unparks the worker.
    fn interrupt(&self) {
        self.pending.store(true, Ordering::SeqCst);
        let _entry = self.primask.lock().unwrap(); // runs only when unmasked
        self.pending.store(false, Ordering::SeqCst);
        self.work.store(true, Ordering::Release); // the run queue push
        self.token.0.store(true, Ordering::Release); // `CortexM::unpark`
    }

    /// `wfi`: returns once an interrupt is pending (masked or not).
    fn wfi(&self) {
        while !self.pending.load(Ordering::SeqCst) {
            loom::thread::yield_now();
        }
    }

    /// After unmasking: a pending handler runs before the next instruction.
    fn take_pending(&self) {
        while self.pending.load(Ordering::SeqCst) {
            loom::thread::yield_now();
        }
    }
}

/// PRIMASK and `wfi` on the modelled core.
struct Primask<'a> {
    core: &'a Core,
    masked: RefCell<Option<MutexGuard<'a, ()>>>,
}

impl Interrupts for Primask<'_> {
    fn mask(&self) -> bool {
        *self.masked.borrow_mut() = Some(self.core.primask.lock().unwrap());
        true
    }

    fn wait_for_interrupt(&self) {
        self.core.wfi();
    }

    fn restore(&self, were_enabled: bool) {
        assert!(were_enabled);
        drop(self.masked.borrow_mut().take());
        self.core.take_pending();
    }
}

/// A broken platform whose "mask" masks nothing: a handler can run between the token
/// check and `wfi`.
struct NoMask<'a>(&'a Core);

impl Interrupts for NoMask<'_> {
    fn mask(&self) -> bool {
        true
    }

    fn wait_for_interrupt(&self) {
        self.0.wfi();
    }

    fn restore(&self, _were_enabled: bool) {
        self.0.take_pending();
    }
}

/// The executor's loop over the HAL's park: run what is ready, park when nothing is.
fn run(masking: bool) {
    model(move || {
        let core = Arc::new(Core::default());
        let device = core.clone();
        let handler = loom::thread::spawn(move || device.interrupt());
        while !core.work.load(Ordering::Acquire) {
            if masking {
                let primask = Primask {
                    core: &core,
                    masked: RefCell::new(None),
                };
                masked_park::park(&primask, &core.token, || true);
            } else {
                masked_park::park(&NoMask(&core), &core.token, || true);
            }
        }
        handler.join().unwrap();
    });
}

#[test]
fn an_interrupt_never_loses_a_wake_up() {
    run(true);
}

#[test]
#[should_panic(expected = "maximum number of branches")]
fn without_the_mask_a_wake_up_is_lost() {
    run(false);
}
