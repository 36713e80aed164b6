//! The `ravelin-node` program, run as a user runs it: the three-node local cluster in
//! a network namespace of the test's own (loopback only; in the caller's namespace where
//! none can be made), stopped by `--duration` through the same graceful path as Ctrl-C.

mod support;

use std::process::{Command, Output};

use support::lab::LoneNamespace;

fn ravelin_node(args: &[&str]) -> Output {
    let program = env!("CARGO_BIN_EXE_ravelin-node");
    // `timeout` bounds the run even if the program hung on the way out.
    let mut argv = vec!["60".to_owned()];
    let lone = LoneNamespace::new();
    match &lone {
        Ok(lone) => argv.extend(["ip", "netns", "exec", &lone.name].map(str::to_owned)),
        Err(why) => {
            eprintln!("network namespaces cannot be made here ({why}): on this host's loopback")
        }
    }
    argv.push(program.to_owned());
    argv.extend(args.iter().map(|&a| a.to_owned()));
    let output = Command::new("timeout")
        .args(&argv)
        .output()
        .expect("run ravelin-node");
    drop(lone); // The namespace outlives the program.
    output
}

/// The last status line of each node.
fn last_statuses(stdout: &str) -> Vec<&str> {
    let lines: Vec<&str> = stdout.lines().collect();
    assert!(lines.len() >= 3, "{stdout}");
    lines[lines.len() - 3..].to_vec()
}

/// The last value named `name` in `line` (a node's own counters come after its
/// children's, which may use the same names).
fn field(line: &str, name: &str) -> u64 {
    let key = format!("\"{name}\":");
    let at = line
        .rfind(&key)
        .unwrap_or_else(|| panic!("{name} in {line}"))
        + key.len();
    line[at..]
        .chars()
        .take_while(char::is_ascii_digit)
        .collect::<String>()
        .parse()
        .unwrap_or_else(|_| panic!("{name} in {line}"))
}

#[test]
fn the_local_cluster_converges_and_stops_gracefully() {
    let output = ravelin_node(&["--json", "--duration", "4", "--interval", "500"]);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{output:?}");
    for line in last_statuses(&stdout) {
        assert_eq!(line.matches("\"state\":\"alive\"").count(), 2, "{line}");
        assert_eq!(field(line, "restarts"), 0, "{line}");
        assert!(line.contains("\"multicast\":\"joined"), "{line}");
        assert!(line.contains("\"bad_tag\":0"), "{line}");
        // Remote messages: every node's prober had answers from the others' echo.
        assert!(field(line, "probes_ok") >= 2, "{line}");
        assert_eq!(field(line, "lost"), 0, "{line}");
    }
}

#[test]
fn under_chaos_processes_are_killed_and_restarted_and_packets_rejected() {
    let output = ravelin_node(&["--json", "--chaos", "--duration", "7", "--interval", "500"]);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{output:?}");
    let last = last_statuses(&stdout);
    let kills: u64 = last.iter().map(|l| field(l, "kills")).sum();
    let restarts: u64 = last.iter().map(|l| field(l, "restarts")).sum();
    let corrupted: u64 = last.iter().map(|l| field(l, "chaos_corrupted")).sum();
    assert!(
        kills > 0 && restarts > 0,
        "{kills} kills, {restarts} restarts"
    );
    // Every restart was a kill's: no process failed on its own (a killed discovery
    // rebinds its port once the old socket is gone), and no node gave up.
    for line in &last {
        assert!(field(line, "restarts") <= field(line, "kills"), "{line}");
        assert_eq!(field(line, "escalations"), 0, "{line}");
    }
    assert!(corrupted > 0, "no packet corrupted: {stdout}");
}
