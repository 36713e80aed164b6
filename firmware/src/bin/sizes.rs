//! Sizes on this 32-bit target, pinned by the expected output so that a change shows:
//! the lightproc header, a whole lightproc for an empty future, and a mailbox slot.
#![no_std]
#![no_main]

use core::mem::size_of;

use ravelin_firmware::{PLATFORM, check, entry, exceptions, finish, log, start};
use ravelin_kernel::irq_mailbox::IrqMailbox;
use ravelin_kernel::lightproc::{HEADER_SIZE, ProcPool, SpawnError};
use ravelin_kernel::mailbox::Mailbox;
use ravelin_kernel::sched::Executor;

static EXECUTOR: Executor = Executor::new(&PLATFORM);
/// Too small for any proc: the refusal says how many bytes one needs.
static TINY: ProcPool<1, 1> = ProcPool::new();

exceptions!();

#[entry]
fn main() -> ! {
    start("sizes");
    log!("lightproc header: {} bytes", HEADER_SIZE);
    check!(
        HEADER_SIZE <= 32,
        "the header meets its goal: at most 32 bytes on 32-bit"
    );
    match EXECUTOR.spawn_in(&TINY, async {}) {
        Err(SpawnError::TooLarge { needed, .. }) => {
            log!(
                "lightproc of an empty future (header, spawner, slot tag, future or output): {} bytes",
                needed
            );
            check!(needed > HEADER_SIZE, "a proc is its header and more");
        }
        _ => check!(false, "a slot of 1 byte refuses every proc"),
    }
    let mailbox_slot = size_of::<Mailbox<u32, 2>>() - size_of::<Mailbox<u32, 1>>();
    let mailbox_fixed = size_of::<Mailbox<u32, 1>>() - mailbox_slot;
    log!(
        "mailbox of u32: {} bytes per slot, {} bytes besides",
        mailbox_slot,
        mailbox_fixed
    );
    let irq_slot = size_of::<IrqMailbox<u32, 2>>() - size_of::<IrqMailbox<u32, 1>>();
    let irq_fixed = size_of::<IrqMailbox<u32, 1>>() - irq_slot;
    log!(
        "interrupt mailbox of u32: {} bytes per slot, {} bytes besides",
        irq_slot,
        irq_fixed
    );
    check!(
        mailbox_slot == size_of::<u32>(),
        "a mailbox slot is its message, nothing more"
    );
    finish()
}
