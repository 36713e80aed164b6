//! The park of a single-core platform that sleeps with interrupts masked: the steps the
//! Cortex-M platform (`cortex_m::CortexM`, feature `cortex-m`) takes, written over two
//! small traits so that
//! the loom model in `loom-tests/tests/cortex_m_park.rs` runs this very function with a
//! modelled core (interrupts as a thread) and checks that no wake-up is lost.
//!
//! ```text
//! were_enabled = mask interrupts
//! if the token is set:            clear it            (an unpark came first)
//! else if arming the alarm says the deadline is ahead: wait for an interrupt
//! restore interrupts              (a pending handler runs here)
//! ```
//!
//! The token is checked with interrupts masked, so no handler can set it between the
//! check and the wait; a handler that wants to run after the check stays pending, and
//! a pending interrupt ends the wait even while masked (Cortex-M's `wfi`, RISC-V's
//! `wfi` with `mie` clear), so the core never sleeps past it.

/// What the park needs from the core.
pub trait Interrupts {
    /// Masks interrupts on this core and returns whether they were enabled.
    fn mask(&self) -> bool;
    /// Sleeps until an interrupt is pending, masked or not (`wfi`); may return
    /// spuriously.
    fn wait_for_interrupt(&self);
    /// Unmasks interrupts if `were_enabled`: a pending handler runs at once.
    fn restore(&self, were_enabled: bool);
}

/// An unpark token as the park sees it, with interrupts masked.
pub trait Token {
    /// Clears the token and returns whether it was set (Acquire: what the unparker
    /// wrote before setting it is visible). Called with interrupts masked on the one
    /// core, so a load and a store suffice: no compare-and-swap.
    fn take(&self) -> bool;
}

impl Token for core::sync::atomic::AtomicBool {
    fn take(&self) -> bool {
        use core::sync::atomic::Ordering;
        let set = self.load(Ordering::Acquire);
        if set {
            self.store(false, Ordering::Relaxed);
        }
        set
    }
}

/// Parks: returns at once if `token` was set (clearing it), else arms the deadline with
/// `arm` (which returns false if it is already due) and sleeps until an interrupt; see
/// the [module docs](self).
pub fn park<I: Interrupts, T: Token>(interrupts: &I, token: &T, arm: impl FnOnce() -> bool) {
    let were_enabled = interrupts.mask();
    if !token.take() && arm() {
        interrupts.wait_for_interrupt();
    }
    interrupts.restore(were_enabled);
}

#[cfg(test)]
mod tests {
    use super::*;
    use core::cell::{Cell, RefCell};
    use core::sync::atomic::AtomicBool;
    use std::vec::Vec;

    /// Records the steps.
    #[derive(Default)]
    struct Recorder {
        steps: RefCell<Vec<&'static str>>,
        enabled: Cell<bool>,
    }

    impl Interrupts for Recorder {
        fn mask(&self) -> bool {
            self.steps.borrow_mut().push("mask");
            self.enabled.replace(false)
        }
        fn wait_for_interrupt(&self) {
            self.steps.borrow_mut().push("wfi");
        }
        fn restore(&self, were_enabled: bool) {
            self.steps.borrow_mut().push(if were_enabled {
                "unmask"
            } else {
                "stay masked"
            });
            self.enabled.set(were_enabled);
        }
    }

    #[test]
    fn a_set_token_returns_at_once_and_is_consumed() {
        let core = Recorder {
            enabled: Cell::new(true),
            ..Recorder::default()
        };
        let token = AtomicBool::new(true);
        park(&core, &token, || panic!("no alarm when the token was set"));
        assert_eq!(*core.steps.borrow(), ["mask", "unmask"]);
        assert!(!token.take());
    }

    #[test]
    fn no_token_arms_then_sleeps_masked_unless_the_deadline_is_due() {
        let core = Recorder {
            enabled: Cell::new(true),
            ..Recorder::default()
        };
        let token = AtomicBool::new(false);
        park(&core, &token, || true);
        assert_eq!(*core.steps.borrow(), ["mask", "wfi", "unmask"]);
        core.steps.borrow_mut().clear();
        park(&core, &token, || false);
        assert_eq!(*core.steps.borrow(), ["mask", "unmask"], "due: no sleep");
    }

    #[test]
    fn a_park_with_interrupts_already_masked_leaves_them_masked() {
        let core = Recorder::default();
        park(&core, &AtomicBool::new(false), || true);
        assert_eq!(*core.steps.borrow(), ["mask", "wfi", "stay masked"]);
    }
}
