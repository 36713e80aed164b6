//! Property tests: whatever bytes arrive after a good envelope, the membership core
//! neither panics nor lets a packet naming another sender through.

use std::time::Duration;

use proptest::prelude::*;
use ravelin_cluster::envelope::{Generation, Identity, NodeId};
use ravelin_cluster::membership::{Core, MemberId, MembershipConfig, Refusal, SWIM};
use ravelin_hal::Instant;

fn id(node: u64) -> MemberId {
    MemberId::new(
        NodeId(node),
        format!("10.0.0.{node}:7946").parse().unwrap(),
        Generation(1),
    )
}

fn config() -> MembershipConfig {
    MembershipConfig::fast(Duration::from_millis(300))
}

/// A real announce from node 2 to node 1.
fn announce() -> Vec<u8> {
    let now = Instant::from_nanos(1);
    let mut sender = Core::new(id(2), &config(), now);
    sender.discovered(now, id(1));
    sender.drain_packets().next().unwrap().payload
}

proptest! {
    #[test]
    fn arbitrary_payloads_never_panic(payload in proptest::collection::vec(any::<u8>(), 0..300)) {
        let now = Instant::from_nanos(1);
        let mut core = Core::new(id(1), &config(), now);
        let _ = core.received(now, id(2).sealer(), &payload);
        let mut swim = vec![SWIM];
        swim.extend_from_slice(&payload);
        let _ = core.received(now, id(2).sealer(), &swim);
        core.tick(now);
    }

    #[test]
    fn mutated_announces_never_panic(at in 0usize..120, byte in any::<u8>(), cut in 0usize..120) {
        let now = Instant::from_nanos(1);
        let mut core = Core::new(id(1), &config(), now);
        let mut packet = announce();
        if let Some(slot) = packet.get_mut(at) {
            *slot = byte;
        }
        packet.truncate(cut.max(1));
        let _ = core.received(now, id(2).sealer(), &packet);
    }

    #[test]
    fn only_the_sealer_named_inside_gets_through(node in 0u64..8, generation in 0u64..3) {
        let now = Instant::from_nanos(1);
        let mut core = Core::new(id(1), &config(), now);
        let sealer = Identity { node: NodeId(node), generation: Generation(generation) };
        let result = core.received(now, sealer, &announce());
        if sealer == id(2).sealer() {
            prop_assert_eq!(result, Ok(()));
            prop_assert_eq!(core.active(), 1);
        } else {
            let forged = matches!(result, Err(Refusal::Forged { .. }));
            prop_assert!(forged);
            prop_assert_eq!(core.active(), 0);
            prop_assert_eq!(core.counters().forged, 1);
        }
    }
}
