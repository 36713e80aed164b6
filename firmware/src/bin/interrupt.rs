//! An interrupt handler feeding a mailbox: the handler (external interrupt 0, pended
//! through the NVIC by a "device" lightproc every millisecond) sends samples into an
//! `IrqMailbox` of 4 that a slower lightproc drains; a full mailbox hands the sample back
//! to the handler, which counts it. Then the executor parks with no timer at all and the
//! only wake-up is an interrupt: the SysTick wrap pends the same handler, whose send
//! wakes the waiting lightproc.
#![no_std]
#![no_main]

use core::cell::{Cell, RefCell};
use core::sync::atomic::{AtomicBool, Ordering};

use cortex_m::interrupt::InterruptNumber;
use cortex_m::peripheral::NVIC;
use critical_section::Mutex;
use ravelin_firmware::{PLATFORM, check, entry, exceptions, finish, log, now_ms, start};
use ravelin_hal::Duration;
use ravelin_kernel::irq_mailbox::{IrqMailbox, IrqSender};
use ravelin_kernel::lightproc::ProcPool;
use ravelin_kernel::sched::Executor;

static EXECUTOR: Executor = Executor::new(&PLATFORM);
static POOL: ProcPool<2, 256> = ProcPool::new();

static SAMPLES: IrqMailbox<u32, 4> = IrqMailbox::new();
/// What the handler owns: its sender, and the next sample it sends.
type Device = Option<(IrqSender<u32, 4>, u32)>;
/// The handler's state, reached in a critical section.
static DEVICE: Mutex<RefCell<Device>> = Mutex::new(RefCell::new(None));
/// Samples the handler got back from a full mailbox.
static HANDED_BACK: Mutex<Cell<u32>> = Mutex::new(Cell::new(0));
/// Whether the SysTick handler pends the sample interrupt too.
static ON_WRAP: AtomicBool = AtomicBool::new(false);

/// External interrupt 0: the "device" (each board has one; nothing else enables it).
#[derive(Clone, Copy)]
struct Line0;

// SAFETY: 0 is an external interrupt number on every Cortex-M (the NVIC has at least
// one), and it is the only number this type returns.
unsafe impl InterruptNumber for Line0 {
    fn number(self) -> u16 {
        0
    }
}

exceptions!(hard_fault);

#[cortex_m_rt::exception]
fn SysTick() {
    PLATFORM.on_systick();
    if ON_WRAP.load(Ordering::Relaxed) {
        NVIC::pend(Line0);
    }
}

/// Every external interrupt lands here (no device crate names them): the sample
/// handler. Runs in handler mode, preempting thread mode.
#[cortex_m_rt::exception]
unsafe fn DefaultHandler(irqn: i16) {
    if irqn != 0 {
        ravelin_firmware::fail_hard(format_args!("unexpected interrupt {irqn}"));
    }
    critical_section::with(|cs| {
        if let Some((sender, next)) = DEVICE.borrow_ref_mut(cs).as_mut() {
            match sender.try_send(*next) {
                Ok(()) => *next += 1,
                Err(_back) => {
                    let handed_back = HANDED_BACK.borrow(cs);
                    handed_back.set(handed_back.get() + 1);
                }
            }
        }
    });
}

#[entry]
fn main() -> ! {
    start("interrupt: a handler feeding a mailbox, back-pressure, wake from park");
    let Some((sender, mut receiver)) = SAMPLES.split() else {
        check!(false, "the mailbox splits once");
        finish()
    };
    critical_section::with(|cs| *DEVICE.borrow_ref_mut(cs) = Some((sender, 0)));
    // SAFETY: no critical section is open; the handler only takes its own.
    unsafe { NVIC::unmask(Line0) };

    // The device interrupts every millisecond, 20 times; the consumer takes a sample
    // every 3 ms, so the mailbox of 4 fills and the handler gets samples back.
    let device = EXECUTOR.spawn_in(&POOL, async {
        for _ in 0..20 {
            EXECUTOR.sleep(Duration::from_millis(1)).await;
            NVIC::pend(Line0); // the handler runs before the next instruction
        }
    });
    let consumer = EXECUTOR.spawn_in(&POOL, async move {
        let mut received = [0u32; 16];
        let mut count = 0;
        while count < received.len() {
            let sample = receiver.recv().await;
            received[count] = sample;
            count += 1;
            if SAMPLES.sent() + SAMPLES.handed_back() == 20 && SAMPLES.is_empty() {
                break;
            }
            EXECUTOR.sleep(Duration::from_millis(3)).await;
        }
        (received, count, receiver)
    });
    let (Ok(mut device), Ok(mut consumer)) = (device, consumer) else {
        check!(false, "the device and the consumer fit the pool");
        finish()
    };
    check!(
        EXECUTOR.block_on(&mut device).is_ok(),
        "the device interrupted 20 times"
    );
    let Ok((received, count, mut receiver)) = EXECUTOR.block_on(&mut consumer) else {
        check!(false, "the consumer ran");
        finish()
    };
    drop((device, consumer)); // their slots are free for the next proc
    let handed_back = critical_section::with(|cs| HANDED_BACK.borrow(cs).get());
    let received = &received[..count];
    log!("received {:?}", received);
    log!("handed back {} samples to the handler", handed_back);
    check!(
        received.iter().enumerate().all(|(i, &s)| s == i as u32),
        "samples arrived in order, each once"
    );
    check!(
        count as u32 + handed_back == 20,
        "every interrupt's sample was delivered or handed back ({} + {})",
        count,
        handed_back
    );
    check!(
        handed_back > 0 && SAMPLES.handed_back() == handed_back as usize,
        "back-pressure: the full mailbox handed samples back and counted them"
    );

    // No timer left: the executor parks with no deadline. Only the SysTick wrap's
    // interrupt, which pends the sample handler, can wake it.
    ON_WRAP.store(true, Ordering::Relaxed);
    let parks = EXECUTOR.parks();
    let asleep_at = now_ms();
    let waiting = EXECUTOR.spawn_in(&POOL, async move { receiver.recv().await });
    let Ok(mut waiting) = waiting else {
        check!(false, "the waiting consumer fits the pool");
        finish()
    };
    let sample = EXECUTOR.block_on(&mut waiting);
    ON_WRAP.store(false, Ordering::Relaxed);
    check!(
        sample.is_ok_and(|sample| sample == count as u32),
        "the next sample came from the interrupt that woke the parked executor"
    );
    // The spawn left an unpark token (a push onto the empty run queue), which the first
    // park consumes at once; the second sleeps until the interrupt.
    let parks = EXECUTOR.parks() - parks;
    check!(
        parks == 2,
        "the executor slept in one park with no deadline until the interrupt ({} parks)",
        parks
    );
    log!(
        "parked at {} ms, woken by the wrap at {} ms",
        asleep_at,
        now_ms()
    );
    finish()
}
