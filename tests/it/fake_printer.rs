//! A network thermal printer for the tests: a real TCP listener on loopback that records each
//! connection's raw bytes as one job and answers DLE EOT 2 and 4 as a printer does (ready, or
//! out of paper). Switched off, its port refuses connections; switched on, it listens on the
//! same port again.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

#[derive(Default)]
struct Shared {
    /// Each connection's bytes, in order (connections that sent no printable byte left out).
    jobs: Mutex<Vec<Vec<u8>>>,
    grew: Condvar,
    paper_out: AtomicBool,
    /// Milliseconds it takes to answer the status asked after a job (it prints meanwhile).
    slow_ms: std::sync::atomic::AtomicU64,
}

/// The printer.
pub struct FakePrinter {
    /// Where it listens.
    pub addr: SocketAddr,
    shared: Arc<Shared>,
    run: Option<(Arc<AtomicBool>, JoinHandle<()>)>,
}

impl FakePrinter {
    /// A printer switched on, on a free port.
    pub fn start() -> FakePrinter {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let mut p = FakePrinter {
            addr,
            shared: Arc::default(),
            run: None,
        };
        p.serve(listener);
        p
    }

    fn serve(&mut self, listener: TcpListener) {
        let stop = Arc::new(AtomicBool::new(false));
        let (shared, s) = (self.shared.clone(), stop.clone());
        let t = std::thread::spawn(move || {
            for conn in listener.incoming() {
                if s.load(Ordering::Relaxed) {
                    return;
                }
                if let Ok(c) = conn {
                    job(c, &shared);
                }
            }
        });
        self.run = Some((stop, t));
    }

    /// Switches it off: the port refuses connections.
    pub fn off(&mut self) {
        if let Some((stop, t)) = self.run.take() {
            stop.store(true, Ordering::Relaxed);
            // Wakes the accept loop, which then closes the listener.
            let _ = TcpStream::connect(self.addr);
            t.join().unwrap();
        }
    }

    /// Switches it on again, on the same port.
    pub fn on(&mut self) {
        if self.run.is_none() {
            let listener = TcpListener::bind(self.addr).unwrap();
            self.serve(listener);
        }
    }

    /// Out of paper (answers so, and takes no job), or paper put back.
    pub fn paper_out(&self, out: bool) {
        self.shared.paper_out.store(out, Ordering::Relaxed);
    }

    /// Takes `ms` to answer the status asked after a job, as a printer busy printing does: the
    /// job is on paper (recorded) before the answer.
    pub fn slow_answers(&self, ms: u64) {
        self.shared.slow_ms.store(ms, Ordering::Relaxed);
    }

    /// The jobs so far.
    pub fn jobs(&self) -> Vec<Vec<u8>> {
        self.shared.jobs.lock().unwrap().clone()
    }

    /// Waits until it has printed at least `n` jobs; panics at the deadline.
    pub fn wait_jobs(&self, n: usize, secs: u64) -> Vec<Vec<u8>> {
        let deadline = Instant::now() + Duration::from_secs(secs);
        let mut jobs = self.shared.jobs.lock().unwrap();
        while jobs.len() < n {
            let left = deadline.saturating_duration_since(Instant::now());
            assert!(
                !left.is_zero(),
                "the printer got {} jobs in {secs}s, not {n}",
                jobs.len()
            );
            jobs = self.shared.grew.wait_timeout(jobs, left).unwrap().0;
        }
        jobs.clone()
    }
}

impl Drop for FakePrinter {
    fn drop(&mut self) {
        self.off();
    }
}

/// One connection: answers each DLE EOT, records the job once printable bytes have come and
/// the sender asks the state after them (or closes).
fn job(mut c: TcpStream, shared: &Shared) {
    c.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let mut bytes = Vec::new();
    let mut buf = [0u8; 4096];
    let mut scanned = 0;
    let mut recorded = false;
    let record = |bytes: &[u8], recorded: &mut bool| {
        // Only status requests (no ESC @, which starts every job): nothing to print.
        if !*recorded && bytes.contains(&0x1B) {
            *recorded = true;
            shared.jobs.lock().unwrap().push(bytes.to_vec());
            shared.grew.notify_all();
        }
    };
    loop {
        let n = match c.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        bytes.extend_from_slice(&buf[..n]);
        while scanned + 3 <= bytes.len() {
            if bytes[scanned] == 0x10 && bytes[scanned + 1] == 0x04 {
                if bytes[..scanned].contains(&0x1B) && !recorded {
                    record(&bytes[..scanned], &mut recorded);
                    let ms = shared.slow_ms.load(Ordering::Relaxed);
                    if ms > 0 {
                        std::thread::sleep(Duration::from_millis(ms));
                    }
                }
                let out = shared.paper_out.load(Ordering::Relaxed);
                let answer = match (bytes[scanned + 2], out) {
                    (2, true) => 0x32, // printing stopped at a paper end
                    (4, true) => 0x72, // roll paper end
                    _ => 0x12,
                };
                let _ = c.write_all(&[answer]);
                scanned += 3;
            } else {
                scanned += 1;
            }
        }
    }
    record(&bytes, &mut recorded);
}
