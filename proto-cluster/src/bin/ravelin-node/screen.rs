//! The status screen: redrawn in place on a terminal, appended otherwise, or printed as
//! lines of JSON.

use std::io::Write as _;
use std::time::Duration;

use ravelin_cluster::node::ClusterNode;
use ravelin_linux::Runtime;

/// What the screen prints, and where.
pub(crate) struct Screen {
    header: Vec<String>,
    json: bool,
    terminal: bool,
}

impl Screen {
    /// A screen for `nodes` running on `runtime`: the header names the IO backend and
    /// where each worker runs.
    pub(crate) fn new(runtime: &Runtime, what: &str, json: bool) -> Self {
        let mut header = vec![format!(
            "ravelin-node: {what}; IO backend: {}",
            runtime.backend()
        )];
        let platform = runtime.platform();
        let topology = platform.cpu_topology();
        let workers: Vec<String> = (0..runtime.scheduler().workers())
            .map(|worker| {
                let cpu = platform.assigned_cpu(worker);
                match cpu.and_then(|cpu| topology.and_then(|t| t.cpu(cpu))) {
                    Some(info) => format!(
                        "worker {worker} on CPU {} (NUMA {}, LLC {})",
                        info.id, info.node, info.llc
                    ),
                    None => format!("worker {worker} unpinned"),
                }
            })
            .collect();
        header.push(format!("topology: {}", workers.join("; ")));
        // SAFETY: isatty only inspects the descriptor; 1 is this process's stdout.
        let terminal = unsafe { libc::isatty(1) } == 1;
        Self {
            header,
            json,
            terminal,
        }
    }

    /// Draws the status of every node, `elapsed` after the start.
    pub(crate) fn draw(&self, nodes: &[ClusterNode], elapsed: Duration) {
        let mut out = std::io::stdout().lock();
        if self.json {
            for node in nodes {
                let _ = writeln!(
                    out,
                    "{{\"elapsed_ms\":{},\"status\":{}}}",
                    elapsed.as_millis(),
                    node.status().to_json()
                );
            }
        } else {
            if self.terminal {
                // Home, then clear: the screen is redrawn in place.
                let _ = write!(out, "\x1b[H\x1b[2J");
            }
            for line in &self.header {
                let _ = writeln!(out, "{line}");
            }
            let _ = writeln!(
                out,
                "up {:.1} s; Ctrl-C stops gracefully\n",
                elapsed.as_secs_f64()
            );
            for node in nodes {
                let _ = writeln!(out, "{}\n", node.status());
            }
        }
        let _ = out.flush();
    }

    /// The last word, after the trees stopped.
    pub(crate) fn finish(&self, nodes: &[ClusterNode]) {
        if self.json {
            return;
        }
        let restarts: usize = nodes.iter().map(|n| n.status().restarts).sum();
        println!(
            "stopped gracefully: {} node(s), {restarts} restarts in all",
            nodes.len()
        );
    }
}
