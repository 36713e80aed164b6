//! The command line of `ravelin-node`.

use std::fmt;
use std::net::{Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

pub(crate) const USAGE: &str = "\
usage:
  ravelin-node [COMMON]                 a three-node cluster on this machine (loopback)
  ravelin-node --id N [NODE] [COMMON]   one node of a real cluster
  ravelin-node keygen                   print a fresh key file

NODE options:
  --bind ADDR          membership address, UDP and TCP (default 0.0.0.0:7946)
  --advertise ADDR     the address peers reach this node at (needed with a wildcard bind)
  --key-file FILE      the cluster's keys, required (make one with `ravelin-node keygen`)
  --seed ADDR          a peer's membership address (repeat for several)
  --group IP           multicast group (default 239.255.82.86)
  --port PORT          multicast port (default 7947)
  --interface IP       the interface address to join the group on
  --ttl N              multicast hops (default 1)
  --no-multicast       seeds only
  --state DIR          where the node keeps its generation (default: derived from the clock)
  --aead               encrypt payloads (XChaCha20-Poly1305) instead of only authenticating
  --cluster ID         cluster id, a number (default 1)

COMMON options:
  --json               print the status as lines of JSON instead of a screen
  --chaos              kill random processes, drop and corrupt random packets
  --duration SECS      stop gracefully after SECS seconds (default: run until Ctrl-C)
  --interval MS        status refresh period (default 1000)
";

/// What to run.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Command {
    Local(Common),
    Node(NodeArgs, Common),
    Keygen,
    Help,
}

/// Options for every mode.
#[derive(Clone, Debug, Default, PartialEq)]
pub(crate) struct Common {
    pub(crate) json: bool,
    pub(crate) chaos: bool,
    pub(crate) duration: Option<Duration>,
    pub(crate) refresh: Option<Duration>,
}

/// Options of one node.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct NodeArgs {
    pub(crate) id: u64,
    pub(crate) bind: SocketAddr,
    pub(crate) advertise: Option<SocketAddr>,
    pub(crate) key_file: Option<PathBuf>,
    pub(crate) seeds: Vec<SocketAddr>,
    pub(crate) group: Option<Ipv4Addr>,
    pub(crate) port: Option<u16>,
    pub(crate) interface: Option<Ipv4Addr>,
    pub(crate) ttl: Option<u32>,
    pub(crate) multicast: bool,
    pub(crate) state: Option<PathBuf>,
    pub(crate) aead: bool,
    pub(crate) cluster: u64,
}

/// A command line that cannot be run, and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct ArgsError(pub(crate) String);

impl fmt::Display for ArgsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}\n\n{USAGE}", self.0)
    }
}

impl std::error::Error for ArgsError {}

fn value<T: std::str::FromStr>(
    args: &mut impl Iterator<Item = String>,
    flag: &str,
) -> Result<T, ArgsError> {
    let text = args
        .next()
        .ok_or_else(|| ArgsError(format!("{flag} needs a value")))?;
    text.parse()
        .map_err(|_| ArgsError(format!("{flag}: cannot use {text:?}")))
}

/// Parses the arguments after the program name.
pub(crate) fn parse(args: impl IntoIterator<Item = String>) -> Result<Command, ArgsError> {
    let mut args = args.into_iter();
    let mut common = Common::default();
    let mut node = NodeArgs {
        id: 0,
        bind: SocketAddr::from(([0, 0, 0, 0], 7946)),
        advertise: None,
        key_file: None,
        seeds: Vec::new(),
        group: None,
        port: None,
        interface: None,
        ttl: None,
        multicast: true,
        state: None,
        aead: false,
        cluster: 1,
    };
    let mut id = None;
    let mut node_options = Vec::new();
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "-h" | "--help" => return Ok(Command::Help),
            "keygen" => return Ok(Command::Keygen),
            "--json" => common.json = true,
            "--chaos" => common.chaos = true,
            "--duration" => {
                common.duration = Some(Duration::from_secs(value(&mut args, "--duration")?))
            }
            "--interval" => {
                common.refresh = Some(Duration::from_millis(value(&mut args, "--interval")?))
            }
            "--id" => id = Some(value(&mut args, "--id")?),
            flag => {
                node_options.push(flag.to_owned());
                match flag {
                    "--bind" => node.bind = value(&mut args, flag)?,
                    "--advertise" => node.advertise = Some(value(&mut args, flag)?),
                    "--key-file" => node.key_file = Some(value(&mut args, flag)?),
                    "--seed" => node.seeds.push(value(&mut args, flag)?),
                    "--group" => node.group = Some(value(&mut args, flag)?),
                    "--port" => node.port = Some(value(&mut args, flag)?),
                    "--interface" => node.interface = Some(value(&mut args, flag)?),
                    "--ttl" => node.ttl = Some(value(&mut args, flag)?),
                    "--no-multicast" => node.multicast = false,
                    "--state" => node.state = Some(value(&mut args, flag)?),
                    "--aead" => node.aead = true,
                    "--cluster" => node.cluster = value(&mut args, flag)?,
                    other => return Err(ArgsError(format!("unknown option {other:?}"))),
                }
            }
        }
    }
    match id {
        Some(id) => {
            node.id = id;
            Ok(Command::Node(node, common))
        }
        None if node_options.is_empty() => Ok(Command::Local(common)),
        None => Err(ArgsError(format!(
            "{} needs --id (one node of a real cluster)",
            node_options.join(", ")
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(line: &str) -> Result<Command, ArgsError> {
        parse(line.split_whitespace().map(str::to_owned))
    }

    #[test]
    fn no_arguments_run_the_local_cluster() {
        assert_eq!(args(""), Ok(Command::Local(Common::default())));
        let Ok(Command::Local(common)) = args("--json --chaos --duration 5") else {
            panic!("local")
        };
        assert!(common.json && common.chaos);
        assert_eq!(common.duration, Some(Duration::from_secs(5)));
    }

    #[test]
    fn one_node_of_a_real_cluster() {
        let Ok(Command::Node(node, _)) = args(
            "--id 3 --bind 10.0.0.3:7946 --seed 10.0.0.1:7946 --seed 10.0.0.2:7946 \
             --key-file /etc/ravelin.key --no-multicast --aead",
        ) else {
            panic!("node")
        };
        assert_eq!(node.id, 3);
        assert_eq!(node.seeds.len(), 2);
        assert!(!node.multicast && node.aead);
        assert_eq!(node.key_file, Some(PathBuf::from("/etc/ravelin.key")));
    }

    #[test]
    fn mistakes_are_explained() {
        assert!(
            args("--bind 10.0.0.1:7946")
                .unwrap_err()
                .0
                .contains("needs --id")
        );
        assert!(args("--id").unwrap_err().0.contains("needs a value"));
        assert!(args("--id x").unwrap_err().0.contains("cannot use"));
        assert!(
            args("--frobnicate")
                .unwrap_err()
                .0
                .contains("unknown option")
        );
        assert_eq!(args("keygen"), Ok(Command::Keygen));
    }
}
