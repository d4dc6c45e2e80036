//! Print latency: from an `accept_order` request on the socket until the order slip's last
//! byte is at a network printer (its job committed with the accept, picked up by the printer's
//! thread, laid out, encoded, sent with the status asked before and after) — beside the bare
//! write of the same bytes to the same printer on a fresh connection, in the same run. Goal:
//! p99 < 300 ms.
//!
//! Run: `cargo bench --bench print` (FLASHPICK_BENCH_PRINTS to change the count, default 200).

use flashpick::api::Request;
use flashpick::api::client::Client;
use flashpick::daemon::Daemon;
use flashpick::model::OrderId;
use flashpick::store::{Ingested, Store, StoreOptions};
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::mpsc;
use std::time::{Duration, Instant};

#[path = "support/record.rs"]
mod record;
mod support;

use support::percentile;

/// A network printer: answers DLE EOT (ready) and tells, for each connection that carried a
/// job, when the job's last byte arrived (the status asked after it) and the job's bytes.
fn printer() -> (SocketAddr, mpsc::Receiver<(Instant, Vec<u8>)>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for conn in listener.incoming() {
            let Ok(mut c) = conn else { continue };
            let tx = tx.clone();
            std::thread::spawn(move || {
                let (mut bytes, mut buf, mut scanned, mut told) =
                    (Vec::new(), [0u8; 8192], 0, false);
                loop {
                    let n = match c.read(&mut buf) {
                        Ok(0) | Err(_) => break,
                        Ok(n) => n,
                    };
                    bytes.extend_from_slice(&buf[..n]);
                    while scanned + 3 <= bytes.len() {
                        if bytes[scanned] == 0x10 && bytes[scanned + 1] == 0x04 {
                            if !told && bytes[..scanned].contains(&0x1B) {
                                told = true;
                                let _ = tx.send((Instant::now(), bytes[..scanned].to_vec()));
                            }
                            let _ = c.write_all(&[0x12]);
                            scanned += 3;
                        } else {
                            scanned += 1;
                        }
                    }
                }
                if !told && bytes.contains(&0x1B) {
                    let _ = tx.send((Instant::now(), bytes));
                }
            });
        }
    });
    (addr, rx)
}

/// `n` new orders of one W550 each, in a store seeded by the benches' support.
fn orders(dir: &std::path::Path, n: usize) -> Vec<OrderId> {
    support::seed(dir, 1);
    let store = Store::open(&dir.join("store.db"), StoreOptions::default()).unwrap();
    let ids = (0..n)
        .map(|i| {
            let mut new = support::new_order(&format!("MT-P{i}"), i as u32 + 2, 2);
            new.remark = Some("少放冰".into());
            match store
                .ingest_blocking("bench", &format!("p{i}"), new)
                .unwrap()
            {
                Ingested::New(o) => o.id,
                d => panic!("{d:?}"),
            }
        })
        .collect();
    store.close();
    ids
}

fn main() {
    let n: usize = std::env::var("FLASHPICK_BENCH_PRINTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(if std::env::args().any(|a| a == "--bench") {
            200
        } else {
            10
        });
    let dir = tempfile::tempdir().unwrap();
    let ids = orders(dir.path(), n);
    let (addr, jobs) = printer();
    let mut config = support::config(dir.path(), "/nonexistent/scanner");
    config = flashpick::config::Config::parse(
        &format!(
            "{}\n[[printers]]\nname = \"front\"\nkind = \"tcp\"\naddress = \"{addr}\"\n",
            config.source.0
        ),
        std::path::Path::new("bench.toml"),
    )
    .unwrap();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let (mut ours, slips) = rt.block_on(async {
        let d = Daemon::start(config).await.unwrap();
        let mut c = Client::connect(d.socket_path(), "bench", Some("p1"))
            .await
            .unwrap();
        let (mut samples, mut slips) = (Vec::with_capacity(n), Vec::with_capacity(n));
        for id in &ids {
            let t = Instant::now();
            c.request(Request::AcceptOrder { order_id: id.0 })
                .await
                .unwrap();
            let (at, bytes) = tokio::task::block_in_place(|| {
                jobs.recv_timeout(Duration::from_secs(10))
                    .expect("the slip reaches the printer")
            });
            samples.push(at - t);
            slips.push(bytes);
        }
        d.shutdown().await;
        (samples, slips)
    });
    // The same bytes, written bare: connect, write, until the printer has the last byte.
    let mut bare: Vec<Duration> = slips
        .iter()
        .map(|bytes| {
            let t = Instant::now();
            let mut s = TcpStream::connect(addr).unwrap();
            s.write_all(bytes).unwrap();
            // The printer tells at the status asked after the job, as the daemon asks it.
            s.write_all(&[0x10, 0x04, 0x02]).unwrap();
            let (at, _) = jobs
                .recv_timeout(Duration::from_secs(10))
                .expect("the bare write reaches the printer");
            at - t
        })
        .collect();
    let (p50, p99) = (percentile(&mut ours, 0.5), percentile(&mut ours, 0.99));
    let (b50, b99) = (percentile(&mut bare, 0.5), percentile(&mut bare, 0.99));
    let size = slips.iter().map(Vec::len).sum::<usize>() / slips.len().max(1);
    println!(
        "print latency, {n} slips (~{size} bytes each): accept_order on the socket → slip's last byte at a network printer"
    );
    println!(
        "  flashpick end to end            p50 {p50:>9.3?}  p99 {p99:>9.3?}  (goal p99 < 300 ms)"
    );
    println!("  bare write of the same bytes    p50 {b50:>9.3?}  p99 {b99:>9.3?}");
    println!(
        "  ratio of medians: {:.1}x",
        p50.as_secs_f64() / b50.as_secs_f64()
    );
    record::figure("print latency p50", record::ms(p50), "ms", record::ms(b50));
    record::figure("print latency p99", record::ms(p99), "ms", record::ms(b99));
}
