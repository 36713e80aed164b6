//! Opens arbitrary bytes. The first byte picks the mode (even: MAC, odd: AEAD), the
//! rest is the packet. Whatever the bytes: no panic, and exactly one counter moves on
//! a rejection, none on acceptance (reachable only from a seed's valid packet).
#![no_main]

use libfuzzer_sys::fuzz_target;
use ravelin_cluster::envelope::{Envelope, Mode};
use ravelin_cluster_fuzz::receiver;

fuzz_target!(|data: &[u8]| {
    let Some((&selector, packet)) = data.split_first() else {
        return;
    };
    let mode = if selector & 1 == 0 {
        Mode::Mac
    } else {
        Mode::Aead
    };
    let receiver = receiver(mode);
    let mut packet = packet.to_vec();
    let len = packet.len();
    match receiver.open(&mut packet) {
        Err(reason) => {
            assert_eq!(receiver.rejections().get(reason), 1);
            assert_eq!(receiver.rejections().total(), 1);
        }
        Ok(opened) => {
            assert_eq!(
                opened.payload.len() + Envelope::HEADER_LEN + Envelope::TAG_LEN,
                len
            );
            assert_eq!(receiver.rejections().total(), 0);
        }
    }
});
