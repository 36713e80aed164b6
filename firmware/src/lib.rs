//! What every QEMU program of Ravelin's firmware shares: the board's platform, a tiny
//! test harness that prints one line per check and a closing `N passed, N failed` line
//! over semihosting, and handlers that turn a panic or a hard fault into a failed exit.
//!
//! Programs run under `qemu-system-arm -icount shift=0,sleep=off`: the virtual clock
//! advances with the instructions run and jumps over `wfi`, so every run prints the same
//! ticks. Times are printed in whole milliseconds of the platform's clock, never host
//! time.
#![no_std]

use core::cell::Cell;
use core::fmt::Arguments;

use cortex_m_semihosting::{debug, hprintln};
use critical_section::Mutex;
use ravelin_hal::cortex_m::CortexM;
use ravelin_hal::{Clock, Instant};

pub use cortex_m_rt::entry;

/// The board the program was built for: the target decides (see `build.rs`).
#[cfg(microbit)]
pub const BOARD: &str = "microbit (nRF51822, Cortex-M0)";
/// The board the program was built for: the target decides (see `build.rs`).
#[cfg(mps2)]
pub const BOARD: &str = "mps2-an386 (Cortex-M4F)";
/// The board the program was built for: the target decides (see `build.rs`).
#[cfg(not(any(microbit, mps2)))]
pub const BOARD: &str = "lm3s6965evb (LM3S6965, Cortex-M3)";

/// The core clock SysTick counts on the board.
#[cfg(microbit)]
const CORE_HZ: u32 = 16_000_000;
/// The core clock SysTick counts on the board.
#[cfg(mps2)]
const CORE_HZ: u32 = 25_000_000;
/// The core clock SysTick counts on the board.
#[cfg(not(any(microbit, mps2)))]
const CORE_HZ: u32 = 12_000_000;

/// The board's platform: SysTick clock and alarm, `wfi` park.
pub static PLATFORM: CortexM = CortexM::new(CORE_HZ);

/// Checks passed and failed so far.
static RESULTS: Mutex<Cell<(u32, u32)>> = Mutex::new(Cell::new((0, 0)));

/// Starts the platform's clock and prints the program's title.
pub fn start(program: &str) {
    // `start` runs once, first thing in `main`: the peripherals are still there.
    let Some(peripherals) = cortex_m::Peripherals::take() else {
        fail_hard(format_args!("the core peripherals were taken before start"));
    };
    PLATFORM.start(peripherals.SYST);
    hprintln!("# {} on {}", program, BOARD);
}

/// Records one check and prints `ok - name` or `FAIL - name`.
pub fn check(name: Arguments<'_>, ok: bool) {
    critical_section::with(|cs| {
        let (passed, failed) = RESULTS.borrow(cs).get();
        let counts = if ok {
            (passed + 1, failed)
        } else {
            (passed, failed + 1)
        };
        RESULTS.borrow(cs).set(counts);
    });
    if ok {
        hprintln!("ok - {}", name);
    } else {
        hprintln!("FAIL - {}", name);
    }
}

/// Records one check: `check!(condition, "name {}", args)`.
#[macro_export]
macro_rules! check {
    ($ok:expr, $($name:tt)+) => {
        $crate::check(format_args!($($name)+), $ok)
    };
}

/// Prints a line of the program's log.
#[macro_export]
macro_rules! log {
    ($($arg:tt)+) => {
        $crate::log_line(format_args!($($arg)+))
    };
}

/// Prints one line; what [`log!`] expands to.
pub fn log_line(line: Arguments<'_>) {
    hprintln!("{}", line);
}

/// Whole milliseconds of the platform's clock.
pub fn now_ms() -> u64 {
    ms(PLATFORM.now())
}

/// Whole milliseconds since the epoch of `instant`.
pub fn ms(instant: Instant) -> u64 {
    instant.as_nanos() / 1_000_000
}

/// Prints the closing `N passed, N failed` line and exits QEMU: success only if no
/// check failed.
pub fn finish() -> ! {
    let (passed, failed) = critical_section::with(|cs| RESULTS.borrow(cs).get());
    hprintln!("{} passed, {} failed", passed, failed);
    debug::exit(if failed == 0 {
        debug::EXIT_SUCCESS
    } else {
        debug::EXIT_FAILURE
    });
    halt()
}

/// Prints `why` and exits QEMU with failure.
pub fn fail_hard(why: Arguments<'_>) -> ! {
    hprintln!("FATAL: {}", why);
    debug::exit(debug::EXIT_FAILURE);
    halt()
}

/// Where execution ends if semihosting did not exit (not under a debugger or QEMU).
fn halt() -> ! {
    loop {
        cortex_m::asm::wfi();
    }
}

/// A panic aborts on bare metal: print it and fail the run.
#[panic_handler]
fn panic(info: &core::panic::PanicInfo<'_>) -> ! {
    fail_hard(format_args!("panic: {}", info))
}

/// The exception handlers every program needs: SysTick (the platform's clock and alarm)
/// and a hard fault handler that fails the run. `exceptions!(hard_fault)` defines only
/// the latter, for a program with a SysTick handler of its own.
#[macro_export]
macro_rules! exceptions {
    () => {
        #[cortex_m_rt::exception]
        fn SysTick() {
            $crate::PLATFORM.on_systick();
        }

        $crate::exceptions!(hard_fault);
    };
    (hard_fault) => {
        #[cortex_m_rt::exception]
        unsafe fn HardFault(frame: &cortex_m_rt::ExceptionFrame) -> ! {
            $crate::fail_hard(format_args!("hard fault at pc {:#010x}", frame.pc()))
        }
    };
}
