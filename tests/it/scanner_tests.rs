//! Scanners on real pseudo-terminals: bytes on the wire → framed → decoded → committed pick →
//! event; garbage, wrong items and unplugged scanners handled without moving anything.

use crate::common::{options, row, seed_db, within};
use flashpick::api::client::Client;
use flashpick::api::{Event, Request, ScanOutcome, ScanReply, Topic};
use flashpick::config::Config;
use flashpick::daemon::Daemon;
use flashpick::model::{OrderId, Unit};
use flashpick::store::{self, Store};
use serialport::{SerialPort, TTYPort};
use std::io::Write;
use std::path::Path;

/// Creates a pseudo-terminal pair and points `link` at its device, like a udev by-id link.
/// Returns the scanner's end.
pub fn plug(link: &Path) -> TTYPort {
    let (master, slave) = TTYPort::pair().expect("a pseudo-terminal");
    let device = slave.name().expect("pty name");
    let _ = std::fs::remove_file(link);
    std::os::unix::fs::symlink(device, link).unwrap();
    drop(slave); // the daemon opens the device itself, by the link
    master
}

/// Unplugs the scanner behind `link` as udev does: the by-id link goes, then the device. A
/// reader still retrying the link cannot then open the pseudo-terminal number that the kernel
/// hands to the next test.
pub fn unplug(link: &Path, gun: TTYPort) {
    std::fs::remove_file(link).unwrap();
    drop(gun);
}

fn config(dir: &Path, scanners: &[(&str, Option<&str>)], repeat_ms: u64) -> Config {
    Config::parse(
        &config_text(dir, scanners, repeat_ms),
        Path::new("scan.toml"),
    )
    .expect("config")
}

/// The scanner tests' config; the last `[[scanners]]` table is open for more keys.
fn config_text(dir: &Path, scanners: &[(&str, Option<&str>)], repeat_ms: u64) -> String {
    let mut text = format!(
        "[store]\nid = \"SC-1\"\nstate_dir = \"{d}\"\n[api]\nsocket = \"{d}/fp.sock\"\n\
         [http]\nlisten = \"127.0.0.1:0\"\n[platforms.meituan]\nenabled = true\napp_id = \"mt-app\"\nsecret = \"mt-secret\"\nstore_code = \"S1\"\nmode = \"poll\"\nbase_url = \"http://127.0.0.1:9/api/v1\"\n\
         [picking]\nrepeat_window_ms = {repeat_ms}\nweight_tolerance_pct = 10\n\
         [barcodes]\nbadge_prefixes = [\"PK\"]\norder_prefixes = [\"ORD\"]\n[[barcodes.scale]]\nname = \"w\"\n\
         layout = \"FFWWWWWNNNNNC\"\nflags = [\"21\"]\n",
        d = dir.display()
    );
    for (name, picker) in scanners {
        text.push_str(&format!(
            "[[scanners]]\nname = \"{name}\"\npath = \"{}\"\nsuffix = \"cr\"\ninter_byte_timeout_ms = 20\n",
            dir.join(name).display()
        ));
        if let Some(p) = picker {
            text.push_str(&format!("picker = \"{p}\"\n"));
        }
    }
    text
}

async fn client(d: &Daemon) -> Client {
    let mut c = Client::connect(d.socket_path(), "test", Some("station"))
        .await
        .unwrap();
    c.request(Request::Subscribe {
        topics: vec![Topic::Scans, Topic::Alerts],
    })
    .await
    .unwrap();
    c
}

async fn alert(c: &mut Client, contains: &str) -> String {
    within(10, contains, async {
        loop {
            if let Event::Alert { message, .. } = c.next_event().await.unwrap()
                && message.contains(contains)
            {
                return message;
            }
        }
    })
    .await
}

/// Waits until `scanner` is connected: already (status), or by its alert. Subscribed before the
/// status check, so the alert cannot slip between the two.
pub async fn connected(c: &mut Client, scanner: &str) {
    let status = c.request(Request::Status).await.unwrap();
    let up = status["scanners"]
        .as_array()
        .unwrap()
        .iter()
        .any(|s| s["name"] == scanner && s["connected"] == true);
    if !up {
        alert(c, &format!("{scanner} connected")).await;
    }
}

pub async fn result(c: &mut Client) -> ScanReply {
    within(10, "a scan result", async {
        loop {
            if let Event::ScanResult { reply } = c.next_event().await.unwrap() {
                return *reply;
            }
        }
    })
    .await
}

async fn claim(c: &mut Client, id: OrderId, picker: &str) {
    c.request(Request::AcceptOrder { order_id: id.0 })
        .await
        .unwrap();
    c.request(Request::ClaimOrder {
        order_id: id.0,
        picker: picker.into(),
        take_over: false,
    })
    .await
    .unwrap();
}

pub fn send(master: &mut TTYPort, bytes: &[u8]) {
    master.write_all(bytes).unwrap();
    master.flush().unwrap();
}

/// (ledger rows, Σ deltas, outbox rows, pick_scan rows): what must not move on a wrong scan.
async fn footprint(d: &Daemon) -> (i64, i64, i64) {
    d.store()
        .read_async(|c| {
            Ok(c.query_row(
                "SELECT (SELECT COUNT(*) FROM stock_move), (SELECT COALESCE(SUM(delta), 0) FROM stock_move),
                        (SELECT COUNT(*) FROM outbox)",
                [],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )?)
        })
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_scan_on_the_wire_becomes_a_committed_pick_and_wrong_scans_move_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let ids = seed_db(dir.path(), &[("MT-1", &[("W550", 2), ("BREAD", 1)])]);
    let mut gun = plug(&dir.path().join("gun-1"));
    let d = Daemon::start(config(dir.path(), &[("gun-1", Some("p1"))], 80))
        .await
        .unwrap();
    let mut c = client(&d).await;
    connected(&mut c, "gun-1").await;
    claim(&mut c, ids[0], "p1").await;

    // The scanner resends one read on a noisy line: one unit, not two.
    send(&mut gun, b"6901234567892\r6901234567892\r");
    let ok = result(&mut c).await;
    assert_eq!(ok.result, ScanOutcome::Ok, "{}", ok.message);
    assert_eq!(
        (ok.line_no, ok.scanner.as_deref()),
        (Some(1), Some("gun-1"))
    );
    assert_eq!(ok.order.as_ref().unwrap().order.lines[0].picked, 1);

    let before = footprint(&d).await;
    send(&mut gun, b"4006381333931\r"); // milk: not in this order
    let wrong = result(&mut c).await;
    assert_eq!(wrong.result, ScanOutcome::WrongItem);
    assert_eq!(wrong.name.as_deref(), Some("光明鲜牛奶 1L"));
    let still: Vec<(&str, i64)> = wrong
        .expected
        .iter()
        .map(|e| (e.sku.as_str(), e.remaining))
        .collect();
    assert_eq!(
        still,
        [("W550", 1), ("BREAD", 1)],
        "it says what is still expected"
    );
    send(&mut gun, b"0000000000000\r");
    assert_eq!(result(&mut c).await.result, ScanOutcome::Unknown);
    send(&mut gun, b"6901234567893\r");
    let bad = result(&mut c).await;
    assert_eq!(bad.result, ScanOutcome::Invalid);
    assert!(bad.message.contains("check digit"), "{}", bad.message);
    // Garbage on the line is counted and reported; the reader carries on.
    send(&mut gun, b"\xff\xfe\xfd\r");
    assert_eq!(footprint(&d).await, before, "wrong scans moved nothing");

    send(&mut gun, b"]E06901234567892\r");
    assert_eq!(
        result(&mut c).await.result,
        ScanOutcome::Ok,
        "the AIM-prefixed form is the same item"
    );
    let full = footprint(&d).await;
    send(&mut gun, b"6901234567892\r");
    let over = result(&mut c).await;
    assert_eq!(over.result, ScanOutcome::Over);
    assert_eq!(footprint(&d).await, full, "an over-scan moves nothing");

    let status = c.request(Request::Status).await.unwrap();
    let gun_status = &status["scanners"][0];
    assert_eq!(gun_status["connected"], true);
    assert_eq!(gun_status["picker"], "p1");
    assert_eq!(gun_status["frames"], 7, "{status}");
    assert_eq!(gun_status["errors"], 1, "the garbage frame: {status}");
    d.shutdown().await;
    let s = Store::open(&dir.path().join("store.db"), options()).unwrap();
    let o = s.read(|c| store::load_order(c, ids[0])).unwrap().unwrap();
    assert_eq!((o.lines[0].picked, o.lines[1].picked), (2, 0));
    assert!(s.read(store::check_invariants).unwrap().hold());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unplugged_scanner_comes_back_by_itself() {
    let dir = tempfile::tempdir().unwrap();
    let ids = seed_db(dir.path(), &[("MT-2", &[("W550", 2)])]);
    let link = dir.path().join("gun-1");
    let gun = plug(&link);
    let d = Daemon::start(config(dir.path(), &[("gun-1", Some("p1"))], 80))
        .await
        .unwrap();
    let mut c = client(&d).await;
    connected(&mut c, "gun-1").await;
    claim(&mut c, ids[0], "p1").await;
    unplug(&link, gun);
    alert(&mut c, "gun-1: disconnected").await;
    let status = c.request(Request::Status).await.unwrap();
    assert_eq!(status["scanners"][0]["connected"], false);
    let mut gun = plug(&link); // plugged in again: a new device behind the same path
    alert(&mut c, "gun-1 connected").await;
    send(&mut gun, b"6901234567892\r");
    let ok = result(&mut c).await;
    assert_eq!(ok.result, ScanOutcome::Ok, "{}", ok.message);
    d.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn four_scanners_pick_four_orders_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let ids = seed_db(
        dir.path(),
        &[
            ("MT-a", &[("W550", 3)]),
            ("MT-b", &[("W550", 3)]),
            ("MT-c", &[("W550", 3)]),
            ("MT-d", &[("W550", 3)]),
        ],
    );
    let names = ["g1", "g2", "g3", "g4"];
    let pickers = ["p1", "p2", "p3", "p4"];
    let guns: Vec<TTYPort> = names.iter().map(|n| plug(&dir.path().join(n))).collect();
    let scanners: Vec<(&str, Option<&str>)> = names
        .iter()
        .zip(pickers)
        .map(|(n, p)| (*n, Some(p)))
        .collect();
    // Window 0: every frame is a unit, so the three scans may go out in one burst.
    let d = Daemon::start(config(dir.path(), &scanners, 0))
        .await
        .unwrap();
    let mut c = client(&d).await;
    for n in names {
        connected(&mut c, n).await;
    }
    for (id, p) in ids.iter().zip(pickers) {
        claim(&mut c, *id, p).await;
    }
    let writers: Vec<_> = guns
        .into_iter()
        .map(|mut g| {
            std::thread::spawn(move || {
                send(&mut g, b"6901234567892\r6901234567892\r6901234567892\r");
                g
            })
        })
        .collect();
    let _guns: Vec<TTYPort> = writers.into_iter().map(|w| w.join().unwrap()).collect();
    let mut ok = 0;
    while ok < 12 {
        let r = result(&mut c).await;
        assert_eq!(r.result, ScanOutcome::Ok, "{}", r.message);
        ok += 1;
    }
    for id in ids {
        let o = d
            .store()
            .read_async(move |c| store::load_order(c, id))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(o.lines[0].picked, 3, "order {}", o.external_id);
    }
    assert!(
        d.store()
            .read_async(store::check_invariants)
            .await
            .unwrap()
            .hold()
    );
    d.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_badge_binds_the_scanner_and_scale_labels_pick_weighed_lines() {
    let dir = tempfile::tempdir().unwrap();
    seed_db(dir.path(), &[]);
    std::thread::scope(|s| {
        s.spawn(|| {
            let st = Store::open(&dir.path().join("store.db"), options()).unwrap();
            let mut pork = row(9, "PORK", "猪前腿肉", "PORK-NO-GTIN", 8000);
            pork.unit = Unit::Gram;
            pork.sale_unit_g = Some(500);
            pork.plu = Some("3".into());
            let mut rows = crate::common::small_catalog();
            rows.push(pork);
            st.import_catalog_blocking(rows).unwrap();
            st.ingest_blocking(
                "meituan",
                "MT-w",
                crate::common::new_order("MT-w", &[("PORK", 500)]),
            )
            .unwrap();
            st.close();
        });
    });
    let mut gun = plug(&dir.path().join("gun-9"));
    let d = Daemon::start(config(dir.path(), &[("gun-9", None)], 80))
        .await
        .unwrap();
    let mut c = client(&d).await;
    connected(&mut c, "gun-9").await;
    send(&mut gun, b"2100003005120\r");
    let r = result(&mut c).await;
    assert_eq!(r.result, ScanOutcome::NoOrder);
    assert!(r.message.contains("scan your badge"), "{}", r.message);
    send(&mut gun, b"PK0042\r");
    let r = result(&mut c).await;
    assert_eq!(
        (r.result, r.picker.as_deref()),
        (ScanOutcome::Badge, Some("PK0042"))
    );
    let list = c.request(Request::ListOrders { all: false }).await.unwrap();
    let id = OrderId(list["orders"][0]["id"].as_i64().unwrap());
    claim(&mut c, id, "PK0042").await;
    // 512 g label for a 500 g line: within 10 %, the line is done; the ledger moves 512 g.
    send(&mut gun, b"2100003005120\r");
    let r = result(&mut c).await;
    assert_eq!(r.result, ScanOutcome::Ok, "{}", r.message);
    assert_eq!(r.weight_g, Some(512));
    let line = &r.order.as_ref().unwrap().order.lines[0];
    assert_eq!((line.picked, line.weighed_g), (500, Some(512)));
    let status = c.request(Request::Status).await.unwrap();
    assert_eq!(
        status["scanners"][0]["picker"], "PK0042",
        "bound by the badge"
    );
    d.shutdown().await;
    let s = Store::open(&dir.path().join("store.db"), options()).unwrap();
    let delta: i64 = s
        .read(|c| {
            Ok(c.query_row(
                "SELECT delta FROM stock_move WHERE kind = 'pick'",
                [],
                |r| r.get(0),
            )?)
        })
        .unwrap();
    assert_eq!(delta, -512);
    let bound = s.read(store::scanner_bindings).unwrap();
    assert_eq!(
        bound,
        [("gun-9".to_string(), "PK0042".to_string())],
        "the binding survives restarts"
    );
}

/// An order's label on a packing station's scanner hands the packed order over; an order that is
/// not packed is refused with the reason, and a picker's scanner says where the label belongs:
/// neither moves anything, and no order code is ever taken for an item.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_orders_label_on_a_packers_scanner_hands_the_packed_order_over() {
    let dir = tempfile::tempdir().unwrap();
    let ids = seed_db(
        dir.path(),
        &[("MT-p1", &[("W550", 1)]), ("MT-p2", &[("W550", 1)])],
    );
    let mut pack_gun = plug(&dir.path().join("pack-1"));
    let mut pick_gun = plug(&dir.path().join("gun-1"));
    let text = config_text(dir.path(), &[("gun-1", Some("p1")), ("pack-1", None)], 80)
        + "role = \"pack\"\n";
    let d = Daemon::start(Config::parse(&text, Path::new("scan.toml")).unwrap())
        .await
        .unwrap();
    let mut c = client(&d).await;
    connected(&mut c, "pack-1").await;
    connected(&mut c, "gun-1").await;
    // The first order picked and packed; the second only accepted.
    claim(&mut c, ids[0], "p1").await;
    send(&mut pick_gun, b"6901234567892\r");
    assert_eq!(result(&mut c).await.result, ScanOutcome::Ok);
    // The picker completes the pick; the station packs.
    let mut p1 = Client::connect(d.socket_path(), "test", Some("p1"))
        .await
        .unwrap();
    p1.request(Request::CompletePick { order_id: ids[0].0 })
        .await
        .unwrap();
    for req in [
        Request::Pack {
            order_id: ids[0].0,
            bags: 1,
        },
        Request::AcceptOrder { order_id: ids[1].0 },
    ] {
        c.request(req).await.unwrap();
    }
    let before = footprint(&d).await;
    // A picker's scanner: where the label belongs, nothing moves.
    send(&mut pick_gun, format!("ORD{}\r", ids[0].0).as_bytes());
    let r = result(&mut c).await;
    assert_eq!(r.result, ScanOutcome::Invalid, "{r:?}");
    assert!(r.message.contains("packing station"), "{}", r.message);
    // Not packed: refused with the reason.
    send(&mut pack_gun, format!("ORD{}\r", ids[1].0).as_bytes());
    let r = result(&mut c).await;
    assert_eq!(r.result, ScanOutcome::Invalid, "{r:?}");
    assert!(r.message.contains("not handed over"), "{}", r.message);
    // No such order.
    send(&mut pack_gun, b"ORD999999\r");
    let r = result(&mut c).await;
    assert_eq!(r.result, ScanOutcome::Invalid, "{r:?}");
    assert_eq!(footprint(&d).await, before, "nothing moved");
    let state = |d: &Daemon, id: OrderId| {
        d.store()
            .read(move |c| Ok(store::load_order(c, id)?.unwrap().state))
            .unwrap()
    };
    assert_eq!(state(&d, ids[1]).as_str(), "accepted");
    // Packed, on the packer's scanner: handed over.
    send(&mut pack_gun, format!("ORD{}\r", ids[0].0).as_bytes());
    let r = result(&mut c).await;
    assert_eq!(r.result, ScanOutcome::Ok, "{r:?}");
    assert!(r.message.contains("handed over"), "{}", r.message);
    assert_eq!(state(&d, ids[0]).as_str(), "handed_over");
    d.shutdown().await;
    unplug(&dir.path().join("pack-1"), pack_gun);
    unplug(&dir.path().join("gun-1"), pick_gun);
}
