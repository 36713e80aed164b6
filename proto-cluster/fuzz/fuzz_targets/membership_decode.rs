//! Decodes arbitrary bytes as a SWIM packet (after the kind byte): the sender a packet
//! claims, then foca's header and as many member updates as follow. Whatever the
//! bytes: no panic; a claimed sender is the header's sender.
#![no_main]

use foca::Codec as _;
use libfuzzer_sys::fuzz_target;
use ravelin_cluster::membership::Codec;

fuzz_target!(|data: &[u8]| {
    let claimed = Codec::claimed_sender(data);
    let mut buf = data;
    let Ok(header) = Codec.decode_header(&mut buf) else {
        return;
    };
    assert_eq!(claimed.ok(), Some(header.src));
    while !buf.is_empty() {
        if Codec.decode_member(&mut buf).is_err() {
            break;
        }
    }
});
