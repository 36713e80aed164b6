//! Decodes arbitrary bytes as a discovery beacon. Whatever the bytes: no panic, and
//! whatever decodes is exactly one encoding (encoding it again gives the same bytes),
//! so no two inputs mean the same beacon.
#![no_main]

use libfuzzer_sys::fuzz_target;
use ravelin_cluster::discovery::beacon::{Beacon, MAX_BEACON_LEN};

fuzz_target!(|data: &[u8]| {
    if let Ok(beacon) = Beacon::decode(data) {
        let mut out = [0; MAX_BEACON_LEN];
        let len = beacon.encode(&mut out);
        assert_eq!(&out[..len], data);
        assert_eq!(
            Beacon::decode_from(data, beacon.node, beacon.generation),
            Ok(beacon)
        );
    }
});
