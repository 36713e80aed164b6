//! Remote messages between real nodes on loopback: each node runs its remote layer
//! under a supervisor on its own one-worker runtime, in this process. Fake peers
//! (plain std sockets driven by the test thread) play the misbehaving side. Every wait
//! is bounded.

use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use ravelin_cluster::envelope::{
    ClusterId, Envelope, Generation, Identity, Key, KeyId, KeyRing, NodeId, Rejection,
};
use ravelin_cluster::remote::{
    AskError, DecodeError, Directory, EncodeError, Refusal, RemoteConfig, RemoteMessage,
    OnRefused, RemoteNode, Request, SendError,
};
use ravelin_kernel::mailbox;
use ravelin_kernel::supervisor::{ChildSpec, SupervisorSpec, System};
use ravelin_linux::Runtime;

const CLUSTER: ClusterId = ClusterId(0x7265_6d6f_7465);
const KEY: [u8; 32] = [0x42; 32];
const LIMIT: Duration = Duration::from_secs(20);

/// A number, encoded by hand (8 bytes big-endian), so the tests run with or without
/// the `serde` feature.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Num(u64);

impl RemoteMessage for Num {
    fn encode(&self, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        out.extend_from_slice(&self.0.to_be_bytes());
        Ok(())
    }

    fn decode(bytes: &[u8]) -> Result<Self, DecodeError> {
        let bytes: [u8; 8] = bytes
            .try_into()
            .map_err(|_| DecodeError(format!("{} bytes, not 8", bytes.len())))?;
        Ok(Num(u64::from_be_bytes(bytes)))
    }
}

/// Raw bytes.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Blob(Vec<u8>);

impl RemoteMessage for Blob {
    fn encode(&self, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        out.extend_from_slice(&self.0);
        Ok(())
    }

    fn decode(bytes: &[u8]) -> Result<Self, DecodeError> {
        Ok(Blob(bytes.to_vec()))
    }
}

/// A directory with a fixed map, changed by the test.
#[derive(Default)]
struct Map(Mutex<HashMap<NodeId, (SocketAddr, Generation)>>);

impl Map {
    fn set(&self, node: NodeId, addr: SocketAddr, generation: Generation) {
        self.0.lock().unwrap().insert(node, (addr, generation));
    }
}

impl Directory for Map {
    fn lookup(&self, node: NodeId) -> Option<(SocketAddr, Generation)> {
        self.0.lock().unwrap().get(&node).copied()
    }
}

fn stream_envelope(node: u64, generation: u64, key: [u8; 32]) -> Envelope {
    let identity = Identity {
        node: NodeId(node),
        generation: Generation(generation),
    };
    Envelope::builder(CLUSTER, identity, KeyRing::new(Key::new(KeyId(1), key)))
        .mtu(Envelope::MAX_MTU)
        .build()
}

/// A node: its remote layer running under a supervisor on its own runtime.
struct Node {
    remote: RemoteNode,
    running: Option<(Runtime, System)>,
}

impl Node {
    fn start(id: u64, directory: &Arc<Map>, config: RemoteConfig) -> Self {
        Self::start_with(id, directory, config, None)
    }

    fn start_with(
        id: u64,
        directory: &Arc<Map>,
        config: RemoteConfig,
        hook: Option<Box<OnRefused>>,
    ) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let runtime = Runtime::builder().workers(1).pin(false).build().unwrap();
        let envelope = Arc::new(stream_envelope(id, 1, KEY));
        let dir: Arc<dyn Directory> = directory.clone();
        let (remote, spec) = RemoteNode::with_hook(
            config,
            envelope,
            dir,
            listener,
            runtime.scheduler().clone(),
            hook,
        )
        .unwrap();
        let root = SupervisorSpec::new("node").child(ChildSpec::supervisor(spec));
        let system = System::start(runtime.scheduler().clone(), root);
        directory.set(NodeId(id), addr, Generation(1));
        Self {
            remote,
            running: Some((runtime, system)),
        }
    }

    fn runtime(&self) -> &Runtime {
        &self.running.as_ref().unwrap().0
    }

    /// Serves `name` with a process that records every message and answers asks with
    /// the number plus one.
    fn serve_echo(&self, name: &str) -> Arc<Mutex<Vec<(NodeId, u64)>>> {
        let (tx, mut rx) = mailbox::channel::<Request<Num, Num>, 256>();
        self.remote.serve(name, tx).unwrap();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let log = seen.clone();
        drop(self.runtime().scheduler().spawn(async move {
            while let Some(mut request) = rx.recv().await {
                let n = request.message().0;
                log.lock().unwrap().push((request.from(), n));
                if request.is_ask() {
                    let _ = request.reply(Num(n + 1));
                }
            }
        }));
        seen
    }

    /// Runs `f` on this node's runtime, bounded by [`LIMIT`].
    fn run<T: Send + 'static>(
        &self,
        f: impl Future<Output = T> + Send + 'static,
    ) -> T {
        let scheduler = self.runtime().scheduler().clone();
        self.runtime()
            .block_on(async move { scheduler.timeout(LIMIT, f).await })
            .unwrap()
            .expect("bounded wait")
    }

    fn stop(&mut self) {
        if let Some((runtime, mut system)) = self.running.take() {
            system.stop();
            let stopped = runtime.block_on(async move { system.wait().await });
            assert!(matches!(stopped, Ok(Ok(()))), "{stopped:?}");
            runtime.shutdown().unwrap();
        }
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        if let Some((runtime, system)) = self.running.take() {
            system.kill();
            drop(system);
            let _ = runtime.shutdown();
        }
    }
}

/// Polls `check` every 5 ms until it holds or [`LIMIT`] passes.
fn within(mut check: impl FnMut() -> bool) -> bool {
    let start = Instant::now();
    while start.elapsed() < LIMIT {
        if check() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    false
}

fn config() -> RemoteConfig {
    RemoteConfig {
        connect_timeout: Duration::from_secs(5),
        ..RemoteConfig::default()
    }
}

#[test]
fn a_remote_tell_reaches_a_named_process_in_order() {
    let directory = Arc::new(Map::default());
    let mut a = Node::start(1, &directory, config());
    let mut b = Node::start(2, &directory, config());
    let seen = b.serve_echo("sink");
    let sink = a.remote.remote_ref::<Num, Num>(NodeId(2), "sink").unwrap();
    for i in 0..200 {
        sink.tell(Num(i)).unwrap();
    }
    assert!(within(|| seen.lock().unwrap().len() == 200), "all delivered");
    let seen = seen.lock().unwrap().clone();
    let expected: Vec<_> = (0..200).map(|i| (NodeId(1), i)).collect();
    assert_eq!(seen, expected, "in the order sent, from node 1");
    let stats = a.remote.stats();
    assert_eq!(stats.tells_sent, 200);
    assert_eq!(stats.connects, 1, "one connection per peer");
    assert_eq!(stats.lost, 0);
    assert_eq!(b.remote.stats().delivered, 200);
    a.stop();
    b.stop();
}

#[test]
fn ask_gets_the_reply_and_times_out_when_nobody_answers() {
    let directory = Arc::new(Map::default());
    let mut a = Node::start(1, &directory, config());
    let mut b = Node::start(2, &directory, config());
    b.serve_echo("echo");
    // "silent" keeps its requests and never answers.
    let (tx, mut rx) = mailbox::channel::<Request<Num, Num>, 8>();
    b.remote.serve("silent", tx).unwrap();
    drop(b.runtime().scheduler().spawn(async move {
        let mut kept = Vec::new();
        while let Some(request) = rx.recv().await {
            kept.push(request);
        }
    }));
    let echo = a.remote.remote_ref::<Num, Num>(NodeId(2), "echo").unwrap();
    let silent = a.remote.remote_ref::<Num, Num>(NodeId(2), "silent").unwrap();
    let (answer, timed_out) = a.run(async move {
        let answer = echo.ask(Num(41), Duration::from_secs(10)).await;
        let started = Instant::now();
        let timed_out = silent.ask(Num(1), Duration::from_millis(200)).await;
        (answer, (timed_out, started.elapsed()))
    });
    assert_eq!(answer.unwrap(), Num(42));
    let (timed_out, took) = timed_out;
    assert!(matches!(timed_out, Err(AskError::Timeout)), "{timed_out:?}");
    assert!(took >= Duration::from_millis(190) && took < Duration::from_secs(5));
    assert_eq!(a.remote.pending_asks(), 0, "a timed out ask leaves no entry");
    assert_eq!(a.remote.stats().ask_timeouts, 1);
    a.stop();
    b.stop();
}

#[test]
fn an_unknown_name_is_refused_back_to_the_sender() {
    let directory = Arc::new(Map::default());
    let refused = Arc::new(Mutex::new(Vec::new()));
    let hook = refused.clone();
    let hook: Box<OnRefused> = Box::new(move |node, name: &str, reason| {
        hook.lock().unwrap().push((node, name.to_owned(), reason));
    });
    let mut a = Node::start_with(1, &directory, config(), Some(hook));
    let mut b = Node::start(2, &directory, config());
    let nobody = a.remote.remote_ref::<Num, Num>(NodeId(2), "nobody").unwrap();
    let asker = nobody.clone();
    let answer = a.run(async move { asker.ask(Num(1), Duration::from_secs(10)).await });
    assert!(
        matches!(answer, Err(AskError::Refused(Refusal::UnknownName))),
        "{answer:?}"
    );
    nobody.tell(Num(2)).unwrap();
    assert!(within(|| {
        a.remote
            .peer_stats(NodeId(2))
            .is_some_and(|s| s.refused_unknown_name == 1)
    }));
    assert_eq!(
        refused.lock().unwrap().clone(),
        [(NodeId(2), "nobody".to_owned(), Refusal::UnknownName)]
    );
    assert_eq!(b.remote.stats().refusals_sent, 2);
    a.stop();
    b.stop();
}
