//! Network parts for tests and benchmarks: a real MQTT broker (rumqttd embedded in this
//! process by default; mosquitto when `FLASHPICK_TEST_BROKER=mosquitto`, as CI runs it — and
//! then a broker that does not start fails), and a TCP fault proxy to put between the daemon
//! and the broker (latency each way, cuts). Self-contained, so benches include it by path.
#![allow(dead_code)]

use std::net::{SocketAddr, TcpListener};
use std::sync::Arc;
use std::sync::atomic::{AtomicU8, AtomicU64, Ordering};
use std::time::Duration;
use tokio::sync::mpsc;

/// A broker on a free loopback port.
pub struct Broker {
    pub port: u16,
    mosquitto: Option<(std::process::Child, tempfile::TempDir)>,
}

/// A port nothing listens on now.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Waits until something accepts on `port` (a broker thread or process starting).
fn wait_listening(port: u16, what: &str) {
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            std::time::Instant::now() < deadline,
            "{what} did not start listening on port {port}"
        );
        std::thread::yield_now();
    }
}

impl Broker {
    /// Starts the broker this run uses.
    pub fn start() -> Broker {
        if std::env::var("FLASHPICK_TEST_BROKER").as_deref() == Ok("mosquitto") {
            Self::mosquitto()
        } else {
            Self::embedded()
        }
    }

    /// Whether this is a process that can really be stopped and started again.
    pub fn restartable(&self) -> bool {
        self.mosquitto.is_some()
    }

    fn embedded() -> Broker {
        use rumqttd::{Config, ConnectionSettings, RouterConfig, ServerSettings};
        let port = free_port();
        let listen: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
        let server = ServerSettings {
            name: "v4".into(),
            listen,
            tls: None,
            next_connection_delay_ms: 1,
            connections: ConnectionSettings {
                connection_timeout_ms: 60_000,
                max_payload_size: 8 << 20,
                max_inflight_count: 500,
                auth: None,
                external_auth: None,
                dynamic_filters: true,
            },
        };
        let config = Config {
            id: 0,
            router: RouterConfig {
                max_connections: 1000,
                max_outgoing_packet_count: 2000,
                max_segment_size: 100 << 20,
                max_segment_count: 10,
                custom_segment: None,
                initialized_filters: None,
                shared_subscriptions_strategy: Default::default(),
            },
            v4: Some([("v4".to_string(), server)].into_iter().collect()),
            v5: None,
            ws: None,
            cluster: None,
            console: None,
            bridge: None,
            prometheus: None,
            metrics: None,
        };
        // rumqttd cannot be stopped; the thread ends with the test binary.
        std::thread::spawn(move || {
            let mut broker = rumqttd::Broker::new(config);
            broker.start().expect("rumqttd runs");
        });
        wait_listening(port, "rumqttd");
        Broker {
            port,
            mosquitto: None,
        }
    }

    fn mosquitto() -> Broker {
        let dir = tempfile::tempdir().unwrap();
        let port = free_port();
        let conf = dir.path().join("mosquitto.conf");
        std::fs::write(
            &conf,
            format!(
                "listener {port} 127.0.0.1\nallow_anonymous true\npersistence true\npersistence_location {}/\nmax_queued_messages 100000\nmessage_size_limit 0\n",
                dir.path().display()
            ),
        )
        .unwrap();
        let mut b = Broker {
            port,
            mosquitto: Some((spawn_mosquitto(&conf), dir)),
        };
        b.check_alive();
        b
    }

    fn check_alive(&mut self) {
        let (child, _) = self.mosquitto.as_mut().expect("mosquitto");
        if let Ok(Some(status)) = child.try_wait() {
            panic!(
                "mosquitto exited at start ({status}); is it installed? (apt-get install mosquitto)"
            );
        }
        wait_listening(self.port, "mosquitto");
    }

    /// Stops the broker process (SIGTERM: it saves its sessions) — mosquitto only.
    pub fn stop(&mut self) {
        let (child, _) = self.mosquitto.as_mut().expect("only mosquitto stops");
        let _ = std::process::Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status();
        let _ = child.wait();
    }

    /// Starts it again on the same port with the same sessions.
    pub fn start_again(&mut self) {
        let (child, dir) = self.mosquitto.as_mut().expect("only mosquitto restarts");
        *child = spawn_mosquitto(&dir.path().join("mosquitto.conf"));
        self.check_alive();
    }

    /// `mqtt://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("mqtt://127.0.0.1:{}", self.port)
    }
}

fn spawn_mosquitto(conf: &std::path::Path) -> std::process::Child {
    std::process::Command::new("mosquitto")
        .arg("-c")
        .arg(conf)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("mosquitto must be installed when FLASHPICK_TEST_BROKER=mosquitto (apt-get install mosquitto)")
}

impl Drop for Broker {
    fn drop(&mut self) {
        if let Some((child, _)) = self.mosquitto.as_mut() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// How the proxy treats connections.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Bytes flow (after `latency` each way).
    Pass = 0,
    /// Every connection is cut and new ones are closed at once: the broker is gone.
    Down = 1,
}

/// A TCP proxy in front of a broker that can add latency and cut the line.
pub struct Proxy {
    pub port: u16,
    mode: Arc<AtomicU8>,
    /// Bumped on every cut: connections from before a cut end.
    epoch: Arc<AtomicU64>,
}

impl Proxy {
    /// Proxies 127.0.0.1:`port` → `upstream`, each direction delayed by `latency`.
    pub async fn start(upstream: u16, latency: Duration) -> Proxy {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let mode = Arc::new(AtomicU8::new(Mode::Pass as u8));
        let epoch = Arc::new(AtomicU64::new(0));
        let (m, e) = (mode.clone(), epoch.clone());
        tokio::spawn(async move {
            loop {
                let Ok((client, _)) = listener.accept().await else {
                    return;
                };
                if m.load(Ordering::SeqCst) == Mode::Down as u8 {
                    drop(client);
                    continue;
                }
                let Ok(server) = tokio::net::TcpStream::connect(("127.0.0.1", upstream)).await
                else {
                    continue;
                };
                let _ = client.set_nodelay(true);
                let _ = server.set_nodelay(true);
                let born = e.load(Ordering::SeqCst);
                let (cr, cw) = client.into_split();
                let (sr, sw) = server.into_split();
                tokio::spawn(pipe(cr, sw, latency, e.clone(), born));
                tokio::spawn(pipe(sr, cw, latency, e.clone(), born));
            }
        });
        Proxy { port, mode, epoch }
    }

    /// Cuts every connection and refuses new ones until `up`.
    pub fn down(&self) {
        self.mode.store(Mode::Down as u8, Ordering::SeqCst);
        self.epoch.fetch_add(1, Ordering::SeqCst);
    }

    /// Lets connections through again.
    pub fn up(&self) {
        self.mode.store(Mode::Pass as u8, Ordering::SeqCst);
    }

    /// `mqtt://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("mqtt://127.0.0.1:{}", self.port)
    }
}

/// Copies one direction, each chunk delivered `latency` after it was read (in order), until
/// either side closes or the proxy cuts the line.
async fn pipe(
    mut from: tokio::net::tcp::OwnedReadHalf,
    mut to: tokio::net::tcp::OwnedWriteHalf,
    latency: Duration,
    epoch: Arc<AtomicU64>,
    born: u64,
) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let (tx, mut rx) = mpsc::unbounded_channel::<(tokio::time::Instant, Vec<u8>)>();
    let cut = {
        let epoch = epoch.clone();
        move || epoch.load(Ordering::SeqCst) != born
    };
    let writer = tokio::spawn({
        let cut = cut.clone();
        async move {
            while let Some((due, chunk)) = rx.recv().await {
                tokio::time::sleep_until(due).await;
                if cut() || to.write_all(&chunk).await.is_err() {
                    break;
                }
            }
            let _ = to.shutdown().await;
        }
    });
    let mut buf = vec![0u8; 64 * 1024];
    let mut tick = tokio::time::interval(Duration::from_millis(20));
    loop {
        tokio::select! {
            n = from.read(&mut buf) => match n {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    if cut() { break; }
                    let _ = tx.send((tokio::time::Instant::now() + latency, buf[..n].to_vec()));
                }
            },
            _ = tick.tick() => if cut() { break; },
        }
    }
    drop(tx);
    if cut() {
        writer.abort();
    } else {
        let _ = writer.await;
    }
}
