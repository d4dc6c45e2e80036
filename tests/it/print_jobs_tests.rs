//! Print jobs through the daemon, to a fake network printer on a real socket (and a printer
//! directory): each document queued with the change that causes it, printed once and in order,
//! kept while the printer is off or out of paper, the labels' barcodes handing orders over.

use crate::common::{daemon_config, seed_db, within};
use crate::escpos_decode::{Paper, decode};
use crate::fake_printer::FakePrinter;
use flashpick::api::client::Client;
use flashpick::api::{Request, Topic};
use flashpick::config::Config;
use flashpick::daemon::Daemon;
use std::path::Path;

/// The daemon's test config with one printer.
pub fn config_with_printer(dir: &Path, printer: &str) -> Config {
    let text = format!("{}\n[[printers]]\n{printer}\n", daemon_config(dir).source.0);
    Config::parse(&text, Path::new("print.toml")).expect("config")
}

/// What a printed document says: its title, the day number, bag k/n and its barcode.
pub fn what(paper: &Paper) -> String {
    let text: Vec<&str> = paper.lines.iter().map(|l| l.text.as_str()).collect();
    let title = ["订单小票", "拣货单", "ORDER SLIP", "PICK LIST"]
        .into_iter()
        .find(|t| text.iter().any(|l| l.contains(t)))
        .unwrap_or("label");
    let day = text
        .iter()
        .find_map(|l| l.split_whitespace().find(|w| w.starts_with('#')))
        .unwrap_or("?");
    let bag = text
        .iter()
        .find(|l| l.contains("袋") || l.contains("Bag "))
        .map(|l| format!(" {}", l.trim()))
        .unwrap_or_default();
    let code = paper
        .barcodes
        .first()
        .map(|b| format!(" [{b}]"))
        .unwrap_or_default();
    format!("{title} {day}{bag}{code}")
}

pub async fn client(d: &Daemon) -> Client {
    let mut c = Client::connect(d.socket_path(), "test", Some("p1"))
        .await
        .unwrap();
    c.request(Request::Subscribe {
        topics: vec![Topic::Orders, Topic::Status],
    })
    .await
    .unwrap();
    c
}

/// `p1` claims, picks one W550, completes and packs in `bags` bags.
pub async fn pick_and_pack(c: &mut Client, id: i64, bags: u32) {
    for req in [
        Request::ClaimOrder {
            order_id: id,
            picker: "p1".into(),
            take_over: false,
        },
        Request::RecordScan {
            order_id: id,
            code: "6901234567892".into(),
            scanner: None,
        },
        Request::CompletePick { order_id: id },
        Request::Pack { order_id: id, bags },
    ] {
        c.request(req).await.unwrap();
    }
}

/// The daemon's word on the printer: (online, state, waiting).
async fn printer(c: &mut Client) -> (Option<bool>, Option<String>, u64) {
    let s = c.request(Request::Status).await.unwrap();
    let p = &s["printers"][0];
    (
        p["online"].as_bool(),
        p["state"].as_str().map(str::to_string),
        p["waiting"].as_u64().unwrap_or(0),
    )
}

/// Waits (on status events, with a deadline) until `cond` holds for the printer.
async fn wait_printer(
    c: &mut Client,
    what: &str,
    cond: impl Fn(&(Option<bool>, Option<String>, u64)) -> bool,
) {
    within(20, what, async {
        loop {
            if cond(&printer(c).await) {
                return;
            }
            c.next_event().await.unwrap();
        }
    })
    .await;
}

/// Three orders accepted and packed while the printer is off, then out of paper: nothing is
/// lost, and when it is back every document prints exactly once, in the order the changes
/// were made; orders handed over meanwhile are not printed for nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_printer_off_then_out_of_paper_prints_every_document_once_in_order_when_back() {
    let dir = tempfile::tempdir().unwrap();
    let ids = seed_db(
        dir.path(),
        &[
            ("MT-1", &[("W550", 1)]),
            ("MT-2", &[("W550", 1)]),
            ("MT-3", &[("W550", 1)]),
        ],
    );
    let mut fake = FakePrinter::start();
    let config = config_with_printer(
        dir.path(),
        &format!(
            "name = \"front\"\nkind = \"tcp\"\naddress = \"{}\"\npaper_mm = 58",
            fake.addr
        ),
    );
    let d = Daemon::start(config).await.unwrap();
    let mut c = client(&d).await;
    c.request(Request::AcceptOrder { order_id: ids[0].0 })
        .await
        .unwrap();
    let first = fake.wait_jobs(1, 20);
    assert_eq!(what(&decode(&first[0]).unwrap()), "订单小票 #1");
    wait_printer(&mut c, "the printer online", |p| {
        p.0 == Some(true) && p.2 == 0
    })
    .await;

    fake.off();
    for id in [ids[1], ids[2]] {
        c.request(Request::AcceptOrder { order_id: id.0 })
            .await
            .unwrap();
    }
    pick_and_pack(&mut c, ids[0].0, 1).await;
    pick_and_pack(&mut c, ids[1].0, 2).await;
    wait_printer(&mut c, "the printer offline with 5 jobs", |p| {
        p.0 == Some(false) && p.2 == 5
    })
    .await;
    // /metrics says so too, and the status names what to check.
    let (_, metrics) = crate::common::http_get(d.http_addr(), "/metrics").await;
    for line in [
        "flashpick_printer_online{printer=\"front\"} 0",
        "flashpick_printer_jobs_waiting{printer=\"front\"} 5",
        "flashpick_printer_printed_total{printer=\"front\"} 1",
    ] {
        assert!(
            metrics.lines().any(|l| l == line),
            "{line} not in:\n{metrics}"
        );
    }
    let s = c.request(Request::Status).await.unwrap();
    let err = s["printers"][0]["last_error"].as_str().unwrap_or_default();
    assert!(err.contains("switched on"), "{err}");
    // Its slip never printed: order 3 is gone before the printer is back.
    c.request(Request::CancelOrder {
        order_id: ids[2].0,
        reason: "customer".into(),
    })
    .await
    .unwrap();

    fake.paper_out(true);
    fake.on();
    wait_printer(&mut c, "the printer out of paper", |p| {
        p.1.as_deref() == Some("paper_out")
    })
    .await;
    assert_eq!(fake.jobs().len(), 1, "nothing printed without paper");

    fake.paper_out(false);
    wait_printer(&mut c, "every job done", |p| p.0 == Some(true) && p.2 == 0).await;
    let printed: Vec<String> = fake
        .jobs()
        .iter()
        .map(|j| what(&decode(j).unwrap()))
        .collect();
    let (a, b) = (ids[0].0, ids[1].0);
    assert_eq!(
        printed,
        [
            "订单小票 #1".to_string(),
            "订单小票 #2".into(),
            format!("label #1 第 1/1 袋 [ORD{a}]"),
            format!("label #2 第 1/2 袋 [ORD{b}]"),
            format!("label #2 第 2/2 袋 [ORD{b}]"),
        ]
    );
    // The screens see the orders printed.
    let o = c.request(Request::GetOrder { order_id: a }).await.unwrap();
    assert_eq!(o["order"]["printed"], 2, "{o}");
    d.shutdown().await;
}

/// The real daemon binary, ready (READY=1 on its notify socket); killed however the test ends.
struct Serving(std::process::Child);

impl Serving {
    fn start(config: &Path, notify: &std::os::unix::net::UnixDatagram, notify_path: &Path) -> Self {
        let s = Serving(
            std::process::Command::new(env!("CARGO_BIN_EXE_flashpick"))
                .args(["--config", config.to_str().unwrap(), "serve"])
                .env("NOTIFY_SOCKET", notify_path)
                .env("RUST_LOG", "error")
                .stderr(std::process::Stdio::null())
                .spawn()
                .unwrap(),
        );
        let mut buf = [0u8; 512];
        loop {
            let n = notify
                .recv(&mut buf)
                .expect("the daemon says READY in time");
            if buf[..n].starts_with(b"READY=1") {
                return s;
            }
        }
    }

    /// SIGKILL, and the process reaped.
    fn kill(&mut self) {
        self.0.kill().unwrap();
        self.0.wait().unwrap();
    }
}

impl Drop for Serving {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The daemon SIGKILLed while slips print (each kill just after the printer took a job and
/// before the daemon could mark it): after each restart the rest print; every slip is on paper
/// at least once, and the ones printed twice are at most one per kill.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_daemon_killed_while_printing_prints_every_slip_at_least_once_and_at_most_one_extra_per_kill()
 {
    const ORDERS: usize = 10;
    let dir = tempfile::tempdir().unwrap();
    let names: Vec<String> = (1..=ORDERS).map(|i| format!("MT-k{i}")).collect();
    let lines: &[(&str, i64)] = &[("W550", 1)];
    let orders: Vec<(&str, &[(&str, i64)])> = names.iter().map(|n| (n.as_str(), lines)).collect();
    let ids = seed_db(dir.path(), &orders);
    let fake = FakePrinter::start();
    // A printer busy printing answers late: the daemon is killed in that window.
    fake.slow_answers(300);
    let config = config_with_printer(
        dir.path(),
        &format!(
            "name = \"front\"\nkind = \"tcp\"\naddress = \"{}\"",
            fake.addr
        ),
    );
    let path = dir.path().join("fp.toml");
    std::fs::write(&path, &config.source.0).unwrap();
    let notify_path = dir.path().join("notify.sock");
    let notify = std::os::unix::net::UnixDatagram::bind(&notify_path).unwrap();
    notify
        .set_read_timeout(Some(std::time::Duration::from_secs(30)))
        .unwrap();
    let mut daemon = Serving::start(&path, &notify, &notify_path);
    let mut c = Client::connect(&config.api.socket, "test", Some("p1"))
        .await
        .unwrap();
    for id in &ids {
        c.request(Request::AcceptOrder { order_id: id.0 })
            .await
            .unwrap();
    }
    drop(c);
    let kills = [2usize, 4, 6];
    for k in kills {
        // Blocking waits off the runtime's threads.
        let got = {
            let fake = &fake;
            std::thread::scope(|s| s.spawn(|| fake.wait_jobs(k, 30).len()).join().unwrap())
        };
        daemon.kill();
        assert!(got >= k);
        daemon = Serving::start(&path, &notify, &notify_path);
    }
    let mut c = Client::connect(&config.api.socket, "test", Some("p1"))
        .await
        .unwrap();
    c.request(Request::Subscribe {
        topics: vec![Topic::Status],
    })
    .await
    .unwrap();
    wait_printer(&mut c, "every job done after the kills", |p| {
        p.0 == Some(true) && p.2 == 0
    })
    .await;
    let mut seen = std::collections::BTreeMap::new();
    for j in fake.jobs() {
        *seen.entry(what(&decode(&j).unwrap())).or_insert(0usize) += 1;
    }
    for n in 1..=ORDERS {
        assert!(
            seen.contains_key(&format!("订单小票 #{n}")),
            "slip #{n} never printed: {seen:?}"
        );
    }
    let total: usize = seen.values().sum();
    let twice = total - ORDERS;
    println!(
        "{} kills while printing: {twice} slips printed twice",
        kills.len()
    );
    assert!(
        twice <= kills.len(),
        "{twice} duplicates after {} kills: {seen:?}",
        kills.len()
    );
    daemon.kill();
}

/// A serial printer on a pseudo-terminal: the daemon opens the port for each job, asks its
/// state, writes the slip; the printer's end answers DLE EOT and keeps every byte.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_serial_printer_on_a_pty_prints_each_slip_in_chinese() {
    use serialport::SerialPort;
    use std::io::{Read, Write};
    use std::sync::{Arc, Mutex};
    let dir = tempfile::tempdir().unwrap();
    let ids = seed_db(
        dir.path(),
        &[("MT-r1", &[("W550", 1)]), ("MT-r2", &[("W550", 1)])],
    );
    let link = dir.path().join("printer-tty");
    let (mut master, slave) = serialport::TTYPort::pair().unwrap();
    std::os::unix::fs::symlink(slave.name().unwrap(), &link).unwrap();
    drop(slave);
    master
        .set_timeout(std::time::Duration::from_millis(100))
        .unwrap();
    let got = Arc::new(Mutex::new(Vec::<u8>::new()));
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let reader = {
        let (got, stop) = (got.clone(), stop.clone());
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            let mut scanned = 0;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let n = match master.read(&mut buf) {
                    Ok(n) => n,
                    Err(_) => continue, // a read timeout, or no one at the other end yet
                };
                let mut all = got.lock().unwrap();
                all.extend_from_slice(&buf[..n]);
                while scanned + 3 <= all.len() {
                    if all[scanned] == 0x10 && all[scanned + 1] == 0x04 {
                        master.write_all(&[0x12]).unwrap();
                        scanned += 3;
                    } else {
                        scanned += 1;
                    }
                }
            }
        })
    };
    let config = config_with_printer(
        dir.path(),
        &format!(
            "name = \"counter\"\nkind = \"serial\"\naddress = \"{}\"\nbaud = 115200\npaper_mm = 58",
            link.display()
        ),
    );
    let d = Daemon::start(config).await.unwrap();
    let mut c = client(&d).await;
    for id in &ids {
        c.request(Request::AcceptOrder { order_id: id.0 })
            .await
            .unwrap();
    }
    wait_printer(&mut c, "both slips printed", |p| {
        p.0 == Some(true) && p.2 == 0
    })
    .await;
    let paper = decode(&got.lock().unwrap()).unwrap();
    assert_eq!((paper.inits, paper.cuts), (2, 2), "two slips");
    // Asked before and after each slip: the printer answers, so it is trusted with its state.
    assert_eq!(paper.status_queries, 8);
    let text: Vec<&str> = paper.lines.iter().map(|l| l.text.as_str()).collect();
    assert_eq!(text.iter().filter(|l| l.contains("订单小票")).count(), 2);
    assert!(text.iter().any(|l| l.contains("农夫山泉")), "{text:?}");
    d.shutdown().await;
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    reader.join().unwrap();
}

/// A printer renamed in the config (or removed) does not strand its jobs: at the next start
/// they go to the printer that prints those documents now.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jobs_of_a_printer_no_longer_configured_print_on_the_one_that_is() {
    let dir = tempfile::tempdir().unwrap();
    let ids = seed_db(dir.path(), &[("MT-o1", &[("W550", 1)])]);
    let mut fake = FakePrinter::start();
    fake.off();
    let old = config_with_printer(
        dir.path(),
        &format!(
            "name = \"old\"\nkind = \"tcp\"\naddress = \"{}\"",
            fake.addr
        ),
    );
    let d = Daemon::start(old).await.unwrap();
    let mut c = client(&d).await;
    c.request(Request::AcceptOrder { order_id: ids[0].0 })
        .await
        .unwrap();
    wait_printer(&mut c, "the slip waiting", |p| {
        p.0 == Some(false) && p.2 == 1
    })
    .await;
    d.shutdown().await;
    let jobs = dir.path().join("jobs");
    let new = config_with_printer(
        dir.path(),
        &format!(
            "name = \"new\"\nkind = \"file\"\naddress = \"{}\"",
            jobs.display()
        ),
    );
    let d = Daemon::start(new).await.unwrap();
    let mut c = client(&d).await;
    wait_printer(&mut c, "the slip printed on the new printer", |p| {
        p.0 == Some(true) && p.2 == 0
    })
    .await;
    let files: Vec<_> = std::fs::read_dir(&jobs).unwrap().collect();
    assert_eq!(files.len(), 1);
    let paper = decode(&std::fs::read(files[0].as_ref().unwrap().path()).unwrap()).unwrap();
    assert_eq!(what(&paper), "订单小票 #1");
    d.shutdown().await;
}
