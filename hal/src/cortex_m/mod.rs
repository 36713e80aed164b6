//! The Cortex-M platform: a 64-bit clock and the next alarm on SysTick, and park with
//! `wfi` behind masked interrupts, for one core (ARMv6-M, ARMv7-M, ARMv7E-M, ARMv8-M).
//!
//! [`CortexM`] implements the whole [`Platform`](crate::Platform) contract for a
//! single-core microcontroller with nothing but the core's own SysTick timer, so the same
//! code runs on every Cortex-M board (and under `qemu-system-arm`).
//!
//! # Setting it up
//!
//! ```ignore
//! use ravelin_hal::cortex_m::CortexM;
//!
//! static PLATFORM: CortexM = CortexM::new(12_000_000); // SysTick counts the core clock
//!
//! #[cortex_m_rt::entry]
//! fn main() -> ! {
//!     let peripherals = cortex_m::Peripherals::take().unwrap();
//!     PLATFORM.start(peripherals.SYST);
//!     // ... spawn on an `Executor::new(&PLATFORM)` and run it
//! }
//!
//! #[cortex_m_rt::exception]
//! fn SysTick() {
//!     PLATFORM.on_systick();
//! }
//! ```
//!
//! The firmware links a `critical-section` implementation for one core (the `cortex-m`
//! crate's `critical-section-single-core` feature): the clock's state sits behind it.
//!
//! # Clock: 64 bits from a 24-bit counter, with no overflow race
//!
//! SysTick counts the core clock down from a reload value and wraps, setting its
//! read-to-clear `COUNTFLAG`. Every read of the clock, and the SysTick handler, runs in a
//! critical section that reads the counter, then `COUNTFLAG`; if the flag was set the
//! wrap is accounted once (whoever reads the flag first owns it) and the counter is read
//! again. A wrap between the two reads is seen through the flag; a wrap after the flag
//! was read belongs to the next reader; so every wrap is counted exactly once and the
//! clock never goes backwards (it also never returns less than it returned before, which
//! covers the cycle in which the counter restarts). The one limit: no critical section
//! may last longer than a full period, `2^24` cycles (0.67 s at 25 MHz), or a wrap is
//! lost and the clock falls behind. The arithmetic is in [`ticks`] and tested on the host.
//!
//! # Alarm: the next deadline, not a periodic tick
//!
//! When a worker parks until a deadline that comes before the counter's next wrap, the
//! counter is restarted with a period that ends at the deadline (and the hardware's next
//! reload is set back to the longest period): the wrap's interrupt is the alarm. With no
//! deadline near, the counter runs its longest period, so an idle firmware takes one
//! interrupt per `2^24` cycles, the one the 64-bit extension needs, and no tick.
//!
//! A restart costs the clock the few cycles between reading it and restarting the
//! counter: each armed alarm makes it fall that much behind the core clock. It stays
//! monotonic and deterministic, which is what deadlines need; it is not a time base for
//! measuring the core clock.
//!
//! # Park and unpark: no lost wake-up
//!
//! The unpark token is an `AtomicBool` that is only loaded and stored (no
//! compare-and-swap, so Cortex-M0 needs nothing more). [`Park::park`] is
//! [`masked_park::park`] over PRIMASK and `wfi`:
//!
//! ```text
//! mask interrupts (PRIMASK = 1)
//! if token { token = false }            // an unpark came first: return at once
//! else if deadline not yet due { arm the alarm; wfi }
//! restore PRIMASK                       // a pending handler runs here
//! ```
//!
//! An interrupt handler that calls [`Park::unpark`] (say, after waking a lightproc) can
//! run either before the mask, then the token is seen set, or after it, then it stays
//! pending: `wfi` wakes on a pending interrupt even while PRIMASK masks it (ARMv7-M ARM
//! B1.5.19, ARMv6-M the same), so the core never sleeps past it, and the handler runs
//! as soon as PRIMASK is restored, before the kernel looks at its run queue again. There
//! is no window between "the token is absent" and "asleep" in which a handler can run.
//! `loom-tests/tests/cortex_m_park.rs` runs [`masked_park::park`] itself on a modelled
//! core with the interrupt as a thread, and shows that the same steps without the mask
//! lose the wake-up.
//!
//! # What is interrupt-safe
//!
//! From an interrupt handler, of this platform: [`Clock::now`], [`Park::unpark`],
//! [`CortexM::set_alarm`] and [`CortexM::on_systick`] (the SysTick handler itself). Never [`Park::park`]: only the
//! worker parks. The kernel's own list is in its firmware guide.

pub mod ticks;

use core::cell::RefCell;
use core::sync::atomic::{AtomicBool, Ordering};

use cortex_m::peripheral::SYST;
use cortex_m::peripheral::syst::SystClkSource;
use critical_section::Mutex;

use crate::masked_park;
use crate::time::Instant;
use crate::topology::{Distance, SingleCore, Topology};
use crate::worker::WorkerId;
use crate::{Clock, Park};
use ticks::{MAX_RELOAD, Ticks, cycles_to_nanos, nanos_to_cycles};

mod systick;

/// A single-core Cortex-M platform on SysTick; see the [module docs](self).
pub struct CortexM {
    hz: u32,
    state: Mutex<RefCell<State>>,
    token: AtomicBool,
}

/// The clock's state, and the SysTick peripheral it owns once started.
struct State {
    ticks: Ticks,
    syst: Option<SYST>,
}

impl State {
    /// Cycles since start (0 before).
    fn now(&mut self) -> u64 {
        match &mut self.syst {
            Some(syst) => systick::now(&mut self.ticks, syst),
            None => 0,
        }
    }
}

impl CortexM {
    /// A platform whose SysTick counts a `hz` core clock. Not running until
    /// [`start`](Self::start).
    ///
    /// # Panics
    ///
    /// At compile time (in a `static`) or at once, if `hz` is 0.
    pub const fn new(hz: u32) -> Self {
        assert!(hz > 0, "a clock of 0 Hz never ticks");
        Self {
            hz,
            state: Mutex::new(RefCell::new(State {
                ticks: Ticks::new(),
                syst: None,
            })),
            token: AtomicBool::new(false),
        }
    }

    /// The frequency SysTick counts at, in Hz.
    pub const fn hz(&self) -> u32 {
        self.hz
    }

    /// Starts SysTick on the core clock with its longest period and its interrupt on.
    /// Taking `SYST` by value proves that nothing else programs it. The clock reads
    /// [`Instant::ZERO`] now.
    pub fn start(&self, mut syst: SYST) {
        critical_section::with(|cs| {
            syst.disable_counter();
            syst.set_clock_source(SystClkSource::Core);
            syst.set_reload(MAX_RELOAD);
            syst.clear_current();
            syst.enable_interrupt();
            syst.enable_counter();
            *self.state.borrow_ref_mut(cs) = State {
                ticks: Ticks::new(),
                syst: Some(syst),
            };
        });
    }

    /// What the firmware's SysTick exception handler calls: accounts a wrap, and
    /// re-arms nothing (the parked worker's `park` returns and re-arms its next alarm).
    pub fn on_systick(&self) {
        critical_section::with(|cs| {
            self.state.borrow_ref_mut(cs).now();
        });
    }

    /// Cycles since [`start`](Self::start).
    pub fn cycles(&self) -> u64 {
        critical_section::with(|cs| self.state.borrow_ref_mut(cs).now())
    }

    /// Makes SysTick interrupt at `deadline`, or earlier (at its next wrap, if that
    /// comes first: the SysTick handler then arms again); returns false, arming
    /// nothing, if `deadline` is already due.
    ///
    /// [`Park::park`] arms its own deadline; this is for code that waits on SysTick
    /// otherwise, such as another executor's time driver. One alarm at a time: arming
    /// replaces the previous one. Interrupt-safe.
    pub fn set_alarm(&self, deadline: Instant) -> bool {
        self.arm(deadline)
    }

    /// Arms the alarm for `deadline`; returns false if it is already due.
    fn arm(&self, deadline: Instant) -> bool {
        let alarm = nanos_to_cycles(deadline.as_nanos(), self.hz);
        critical_section::with(|cs| {
            let state = &mut *self.state.borrow_ref_mut(cs);
            match &mut state.syst {
                Some(syst) => systick::arm(&mut state.ticks, syst, alarm),
                None => false, // not started: nothing would wake the park
            }
        })
    }
}

impl Clock for CortexM {
    fn now(&self) -> Instant {
        Instant::from_nanos(cycles_to_nanos(self.cycles(), self.hz))
    }
}

impl Park for CortexM {
    fn park(&self, _worker: WorkerId, deadline: Option<Instant>) {
        masked_park::park(&Primask, &self.token, || {
            deadline.is_none_or(|deadline| self.arm(deadline))
        });
    }

    fn unpark(&self, _worker: WorkerId) {
        // Release: what the unparker wrote before is visible after the park's Acquire.
        self.token.store(true, Ordering::Release);
    }
}

/// This core's interrupts, through PRIMASK and `wfi`.
struct Primask;

impl masked_park::Interrupts for Primask {
    fn mask(&self) -> bool {
        let were_enabled = cortex_m::register::primask::read().is_active();
        cortex_m::interrupt::disable();
        were_enabled
    }

    fn wait_for_interrupt(&self) {
        // Wakes on any pending interrupt, masked or not: the token's setter, or the
        // alarm.
        cortex_m::asm::wfi();
    }

    fn restore(&self, were_enabled: bool) {
        if were_enabled {
            // SAFETY: interrupts were enabled when `park` masked them; enabling them
            // again, outside any critical section the caller holds, restores that state.
            unsafe { cortex_m::interrupt::enable() };
        }
    }
}

impl Topology for CortexM {
    fn workers(&self) -> usize {
        SingleCore.workers()
    }

    fn cpu(&self, worker: WorkerId) -> Option<usize> {
        SingleCore.cpu(worker)
    }

    fn distance(&self, from: WorkerId, to: WorkerId) -> Distance {
        SingleCore.distance(from, to)
    }
}
