//! A lab of network namespaces made by the test itself: `n` node namespaces, each with
//! a veth pair into a hub namespace whose bridge joins them all, addresses
//! 10.77.0.1..n/24. Nothing is created in the caller's namespace (both ends of each
//! pair are made directly inside the lab's namespaces), names are unique per run, and
//! everything is removed when the lab is dropped, also when the test fails.
//!
//! A split lab ([`Lab::split`]) has two bridges in the hub, joined by a veth pair
//! (`l0`-`l1`): each group stays connected inside while [`Lab::partition`] takes the
//! link between them down, and [`Lab::heal`] brings it back.

use std::io;
use std::net::Ipv4Addr;
use std::os::fd::AsRawFd;
use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};

static LABS: AtomicU32 = AtomicU32::new(0);

pub struct Lab {
    hub: String,
    nodes: Vec<String>,
}

fn ip(args: &[&str]) -> io::Result<()> {
    let output = Command::new("ip").args(args).output()?;
    if output.status.success() {
        Ok(())
    } else {
        Err(io::Error::other(format!(
            "ip {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&output.stderr).trim()
        )))
    }
}

fn bridge(args: &[&str]) -> io::Result<()> {
    let output = Command::new("bridge").args(args).output()?;
    if output.status.success() {
        Ok(())
    } else {
        Err(io::Error::other(format!(
            "bridge {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&output.stderr).trim()
        )))
    }
}

impl Lab {
    /// Makes the lab, or says why it cannot be made here (not root, no `ip netns`).
    pub fn new(n: usize) -> io::Result<Self> {
        Self::make(n, n)
    }

    /// A lab of two groups, nodes `0..first` and `first..n`, on two bridges joined by a
    /// link that [`partition`](Self::partition) takes down.
    pub fn split(n: usize, first: usize) -> io::Result<Self> {
        Self::make(n, first)
    }

    fn make(n: usize, first: usize) -> io::Result<Self> {
        let id = format!(
            "rvl{}x{}",
            std::process::id(),
            LABS.fetch_add(1, Ordering::Relaxed)
        );
        let mut lab = Self {
            hub: format!("{id}-hub"),
            nodes: Vec::new(),
        };
        ip(&["netns", "add", &lab.hub])?;
        let hub = lab.hub.clone();
        let in_hub = |args: &[&str]| {
            let mut full = vec!["-n", hub.as_str()];
            full.extend_from_slice(args);
            ip(&full)
        };
        in_hub(&[
            "link",
            "add",
            "br0",
            "type",
            "bridge",
            "mcast_snooping",
            "0",
        ])?;
        in_hub(&["link", "set", "br0", "up"])?;
        if first < n {
            in_hub(&[
                "link",
                "add",
                "br1",
                "type",
                "bridge",
                "mcast_snooping",
                "0",
            ])?;
            in_hub(&["link", "set", "br1", "up"])?;
            in_hub(&["link", "add", "l0", "type", "veth", "peer", "name", "l1"])?;
            in_hub(&["link", "set", "l0", "master", "br0"])?;
            in_hub(&["link", "set", "l1", "master", "br1"])?;
            in_hub(&["link", "set", "l0", "up"])?;
            in_hub(&["link", "set", "l1", "up"])?;
        }
        for k in 0..n {
            let name = format!("{id}-n{k}");
            ip(&["netns", "add", &name])?;
            lab.nodes.push(name.clone());
            let hub_end = format!("h{k}");
            ip(&[
                "link", "add", "eth0", "netns", &name, "type", "veth", "peer", "name", &hub_end,
                "netns", &lab.hub,
            ])?;
            let bridge = if k < first { "br0" } else { "br1" };
            in_hub(&["link", "set", &hub_end, "master", bridge])?;
            in_hub(&["link", "set", &hub_end, "up"])?;
            let addr = format!("{}/24", Self::addr(k));
            ip(&["-n", &name, "addr", "add", &addr, "dev", "eth0"])?;
            ip(&["-n", &name, "link", "set", "eth0", "up"])?;
            ip(&["-n", &name, "link", "set", "lo", "up"])?;
        }
        Ok(lab)
    }

    /// Node `k`'s namespace.
    pub fn ns(&self, k: usize) -> &str {
        &self.nodes[k]
    }

    /// Node `k`'s address.
    pub fn addr(k: usize) -> Ipv4Addr {
        Ipv4Addr::new(10, 77, 0, k as u8 + 1)
    }

    /// The bridge stops forwarding multicast to every port: as on a network that drops
    /// it.
    pub fn block_multicast(&self) -> io::Result<()> {
        for k in 0..self.nodes.len() {
            bridge(&[
                "-n",
                &self.hub,
                "link",
                "set",
                "dev",
                &format!("h{k}"),
                "mcast_flood",
                "off",
            ])?;
        }
        Ok(())
    }

    /// Cuts a split lab in two: the link between the bridges goes down.
    pub fn partition(&self) -> io::Result<()> {
        ip(&["-n", &self.hub, "link", "set", "l0", "down"])
    }

    /// Joins the two halves of a split lab again.
    pub fn heal(&self) -> io::Result<()> {
        ip(&["-n", &self.hub, "link", "set", "l0", "up"])
    }

    /// Moves the calling thread into node `k`'s namespace: sockets it (and threads it
    /// starts) make from now on live there.
    pub fn enter(&self, k: usize) -> io::Result<()> {
        enter_netns(&self.nodes[k])
    }
}

/// Moves the calling thread into the named namespace.
pub fn enter_netns(name: &str) -> io::Result<()> {
    let file = std::fs::File::open(format!("/run/netns/{name}"))?;
    // SAFETY: `file` is an open namespace file for the duration of the call; setns only
    // changes the calling thread's network namespace.
    let rc = unsafe { libc::setns(file.as_raw_fd(), libc::CLONE_NEWNET) };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        // Deleting a namespace deletes the veth ends and the bridge inside it.
        for name in self.nodes.iter().chain([&self.hub]) {
            let _ = ip(&["netns", "del", name]);
        }
    }
}

/// A namespace with nothing but loopback: no route, so no multicast.
pub struct LoneNamespace {
    pub name: String,
}

impl LoneNamespace {
    pub fn new() -> io::Result<Self> {
        let name = format!(
            "rvl{}x{}-lone",
            std::process::id(),
            LABS.fetch_add(1, Ordering::Relaxed)
        );
        ip(&["netns", "add", &name])?;
        let lone = Self { name };
        ip(&["-n", &lone.name, "link", "set", "lo", "up"])?;
        Ok(lone)
    }
}

impl Drop for LoneNamespace {
    fn drop(&mut self) {
        let _ = ip(&["netns", "del", &self.name]);
    }
}
