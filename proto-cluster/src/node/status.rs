//! [`NodeStatus`]: what a status screen shows about one node, as text or JSON.

use core::fmt::{self, Write as _};
use std::net::SocketAddr;

use crate::discovery::DiscoverySnapshot;
use crate::envelope::{Generation, NodeId, RejectionCounts};
use crate::membership::{Member, MemberState, MembershipSnapshot};
use crate::remote::RemoteSnapshot;

use super::ChildView;

/// One node's state at one moment.
#[derive(Clone, Debug)]
pub struct NodeStatus {
    /// The node.
    pub node: NodeId,
    /// Its generation.
    pub generation: Generation,
    /// Its membership address.
    pub addr: SocketAddr,
    /// The children of its supervisor.
    pub tree: Vec<ChildView>,
    /// The members it knows and their states.
    pub members: Vec<Member>,
    /// Restarts its supervisor made.
    pub restarts: usize,
    /// Times its supervisor gave up.
    pub escalations: usize,
    /// Processes the chaos monkey killed.
    pub kills: u64,
    /// Packets its envelope rejected, by reason.
    pub rejections: RejectionCounts,
    /// Discovery's counters.
    pub discovery: DiscoverySnapshot,
    /// Membership's counters.
    pub membership: MembershipSnapshot,
    /// The remote layer's counters.
    pub remote: RemoteSnapshot,
    /// Requests waiting in the echo mailbox.
    pub echo_depth: usize,
    /// Requests the echo service answered.
    pub echo_served: u64,
    /// The prober's asks answered.
    pub probes_ok: u64,
    /// The prober's asks that failed.
    pub probes_failed: u64,
    /// The last answered probe's round trip, in microseconds.
    pub last_rtt_us: u64,
}

fn state_name(state: MemberState) -> &'static str {
    match state {
        MemberState::Alive => "alive",
        MemberState::Suspect => "suspect",
        MemberState::Down => "down",
    }
}

impl NodeStatus {
    /// Members alive or suspect.
    pub fn active(&self) -> usize {
        self.members.iter().filter(|m| m.is_active()).count()
    }

    /// The status as one line of JSON.
    pub fn to_json(&self) -> String {
        let mut out = String::new();
        let _ = write!(
            out,
            "{{\"node\":\"{}\",\"generation\":{},\"addr\":\"{}\",\"members\":[",
            self.node, self.generation.0, self.addr
        );
        for (k, member) in self.members.iter().enumerate() {
            let _ = write!(
                out,
                "{}{{\"node\":\"{}\",\"addr\":\"{}\",\"generation\":{},\"state\":\"{}\"}}",
                if k == 0 { "" } else { "," },
                member.id.node,
                member.id.addr,
                member.id.generation.0,
                state_name(member.state)
            );
        }
        out.push_str("],\"tree\":[");
        for (k, child) in self.tree.iter().enumerate() {
            let _ = write!(
                out,
                "{}{{\"name\":\"{}\",\"restarts\":{},\"running\":{}}}",
                if k == 0 { "" } else { "," },
                escape(&child.name),
                child.restarts,
                child.running
            );
        }
        let _ = write!(
            out,
            "],\"restarts\":{},\"escalations\":{},\"kills\":{},\"rejected\":{{",
            self.restarts, self.escalations, self.kills
        );
        for (k, (reason, count)) in self.rejections.iter().enumerate() {
            let _ = write!(
                out,
                "{}\"{}\":{count}",
                if k == 0 { "" } else { "," },
                reason.name()
            );
        }
        let d = &self.discovery;
        let _ = write!(
            out,
            "}},\"discovery\":{{\"multicast\":\"{}\",\"beacons_sent\":{},\"beacons_accepted\":{},\
             \"rate_limited\":{},\"peers_found\":{},\"chaos_dropped\":{},\"chaos_corrupted\":{}}},",
            escape(&d.multicast.to_string()),
            d.beacons_sent,
            d.beacons_accepted,
            d.rate_limited,
            d.peers_found,
            d.chaos_dropped,
            d.chaos_corrupted
        );
        let m = &self.membership;
        let _ = write!(
            out,
            "\"membership\":{{\"accepted\":{},\"forged\":{},\"sent\":{},\"renewals\":{}}},",
            m.accepted, m.forged, m.sent, m.renewals
        );
        let r = &self.remote;
        let _ = write!(
            out,
            "\"remote\":{{\"delivered\":{},\"lost\":{},\"refusals_sent\":{},\"connects\":{},\
             \"rejected\":{},\"ask_timeouts\":{}}},\"echo\":{{\"depth\":{},\"served\":{},\
             \"probes_ok\":{},\"probes_failed\":{},\"last_rtt_us\":{}}}}}",
            r.delivered,
            r.lost,
            r.refusals_sent,
            r.connects,
            r.rejected,
            r.ask_timeouts,
            self.echo_depth,
            self.echo_served,
            self.probes_ok,
            self.probes_failed,
            self.last_rtt_us
        );
        out
    }
}

/// Escapes a string for a JSON string literal.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if u32::from(c) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out
}

impl fmt::Display for NodeStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "node {} gen {} at {}: {} members active, {} restarts, {} escalations, {} killed by chaos",
            self.node,
            self.generation.0,
            self.addr,
            self.active(),
            self.restarts,
            self.escalations,
            self.kills
        )?;
        write!(f, "    tree:")?;
        for child in &self.tree {
            let mark = if child.running { "" } else { " (down)" };
            match child.restarts {
                0 => write!(f, " {}{mark}", child.name)?,
                n => write!(f, " {} x{n}{mark}", child.name)?,
            }
        }
        writeln!(f)?;
        // The last fault of each child that failed on its own (not killed by chaos).
        for child in &self.tree {
            if let Some(fault) = &child.last_fault
                && !fault.contains("killed by chaos")
            {
                writeln!(f, "      {} last failed: {fault}", child.name)?;
            }
        }
        for member in &self.members {
            writeln!(
                f,
                "    {:<18} {:<22} gen {:<14} {}",
                member.id.node.to_string(),
                member.id.addr.to_string(),
                member.id.generation.0,
                state_name(member.state)
            )?;
        }
        let d = &self.discovery;
        writeln!(
            f,
            "    discovery: multicast {}; {} beacons sent, {} accepted, {} rate limited",
            d.multicast, d.beacons_sent, d.beacons_accepted, d.rate_limited
        )?;
        if d.chaos_dropped + d.chaos_corrupted > 0 {
            writeln!(
                f,
                "    chaos: {} packets dropped, {} corrupted",
                d.chaos_dropped, d.chaos_corrupted
            )?;
        }
        let m = &self.membership;
        writeln!(
            f,
            "    membership: {} packets in, {} out, {} forged, {} renewals",
            m.accepted, m.sent, m.forged, m.renewals
        )?;
        let r = &self.remote;
        writeln!(
            f,
            "    remote: {} delivered, {} lost, {} connects; echo mailbox {}/{}, {} served; \
             probes {} ok, {} failed, last round trip {} us",
            r.delivered,
            r.lost,
            r.connects,
            self.echo_depth,
            super::ECHO_CAPACITY,
            self.echo_served,
            self.probes_ok,
            self.probes_failed,
            self.last_rtt_us
        )?;
        write!(f, "    rejected: {}", self.rejections)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_escapes_what_it_must() {
        assert_eq!(escape("a\"b\\c\n"), "a\\\"b\\\\c\\u000a");
    }
}
