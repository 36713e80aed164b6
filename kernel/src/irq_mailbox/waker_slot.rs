//! The receiver's waker slot: atomic-waker's `AtomicWaker` (lock-free, so the interrupt
//! handler's wake never waits), and under `cfg(loom)` a loom mutex around the waker.
//!
//! loom cannot see the atomics inside `atomic-waker`, so it would miss the
//! happens-before edge between a handler's wake and the receiver's registration and
//! report lost wake-ups that cannot happen. The mutex has the same contract (the last
//! registered waker is woken, and taken, by a wake) with edges loom sees, so the models
//! check the ring's own protocol around it.

#[cfg(not(loom))]
pub(super) use atomic_waker::AtomicWaker as WakerSlot;

#[cfg(loom)]
pub(super) use loom_slot::WakerSlot;

#[cfg(loom)]
mod loom_slot {
    use core::task::Waker;

    /// A waker behind a loom mutex.
    #[derive(Debug, Default)]
    pub(in super::super) struct WakerSlot(loom::sync::Mutex<Option<Waker>>);

    impl WakerSlot {
        /// No waker.
        pub(in super::super) fn new() -> Self {
            Self::default()
        }

        /// Replaces the waker with `waker`.
        pub(in super::super) fn register(&self, waker: &Waker) {
            // Poisoned only if a model thread panicked, which already fails the model.
            *self.0.lock().unwrap() = Some(waker.clone());
        }

        /// Takes the waker, if any, and wakes it.
        pub(in super::super) fn wake(&self) {
            let waker = self.0.lock().unwrap().take();
            if let Some(waker) = waker {
                waker.wake();
            }
        }
    }
}
