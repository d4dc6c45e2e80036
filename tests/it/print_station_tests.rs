//! Where documents print and what their labels do: a station's screen (its station in the
//! hello) gets its pick lists and labels on its own printer, the store's slips on the store's;
//! a printed label's barcode, read back from the printer's bytes, hands the order over on a
//! packer's serial scanner and at the pack screen (the wedge); a reprint from the CLI.

use crate::common::{daemon_config, seed_db, within};
use crate::escpos_decode::decode;
use crate::print_jobs_tests::{pick_and_pack, what};
use crate::scanner_tests::{connected, plug, result, send, unplug};
use flashpick::api::client::Client;
use flashpick::api::{Request, ScanOutcome, Topic};
use flashpick::config::Config;
use flashpick::daemon::Daemon;
use std::path::{Path, PathBuf};

/// The documents in a printer's directory, in print order, as `what` reads them.
fn printed(dir: &Path) -> Vec<(String, Vec<String>)> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|r| r.map(|e| e.unwrap().path()).collect())
        .unwrap_or_default();
    files.retain(|f| f.extension().is_some_and(|e| e == "escpos"));
    files.sort();
    files
        .iter()
        .map(|f| {
            let paper = decode(&std::fs::read(f).unwrap()).unwrap();
            (what(&paper), paper.barcodes)
        })
        .collect()
}

/// Waits (on order events, with a deadline) until the printer's directory holds `n` documents.
async fn wait_printed(c: &mut Client, dir: &Path, n: usize) -> Vec<(String, Vec<String>)> {
    within(20, &format!("{n} documents in {}", dir.display()), async {
        loop {
            let docs = printed(dir);
            if docs.len() >= n {
                return docs;
            }
            c.next_event().await.unwrap();
        }
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stations_documents_print_at_its_printer_and_its_labels_hand_orders_over() {
    let dir = tempfile::tempdir().unwrap();
    let ids = seed_db(
        dir.path(),
        &[("MT-s1", &[("W550", 1)]), ("MT-s2", &[("W550", 1)])],
    );
    let (front, station) = (dir.path().join("front"), dir.path().join("station-2"));
    let mut gun = plug(&dir.path().join("pack-1"));
    let text = format!(
        "{}\n[[scanners]]\nname = \"pack-1\"\npath = \"{}\"\nsuffix = \"cr\"\nrole = \"pack\"\n\
         [[printers]]\nname = \"front\"\nkind = \"file\"\naddress = \"{}\"\nlabel = 0\n\
         [[printers]]\nname = \"pack-2\"\nkind = \"file\"\naddress = \"{}\"\nstation = \"2\"\n\
         slip = 0\npick_list = 1\nlabel = 1\npaper_mm = 58\n",
        daemon_config(dir.path()).source.0,
        dir.path().join("pack-1").display(),
        front.display(),
        station.display()
    );
    let d = Daemon::start(Config::parse(&text, Path::new("st.toml")).unwrap())
        .await
        .unwrap();
    // The store's screen (no station) and station 2's.
    let mut store = Client::connect(d.socket_path(), "test", Some("p1"))
        .await
        .unwrap();
    store
        .request(Request::Subscribe {
            topics: vec![Topic::Orders, Topic::Scans, Topic::Alerts],
        })
        .await
        .unwrap();
    connected(&mut store, "pack-1").await;
    let mut st2 = Client::connect_at(d.socket_path(), "test", Some("p1"), Some("2"))
        .await
        .unwrap();
    for id in &ids {
        store
            .request(Request::AcceptOrder { order_id: id.0 })
            .await
            .unwrap();
    }
    // Order 1 picked and packed at station 2, in two bags; order 2 packed at the store's
    // screen: no store printer prints labels, so they go to the one that does.
    pick_and_pack(&mut st2, ids[0].0, 2).await;
    pick_and_pack(&mut store, ids[1].0, 1).await;
    let slips = wait_printed(&mut store, &front, 2).await;
    assert_eq!(
        slips.iter().map(|(w, _)| w.as_str()).collect::<Vec<_>>(),
        ["订单小票 #1", "订单小票 #2"]
    );
    let docs = wait_printed(&mut store, &station, 5).await;
    let (a, b) = (ids[0].0, ids[1].0);
    assert_eq!(
        docs.iter().map(|(w, _)| w.clone()).collect::<Vec<_>>(),
        [
            "拣货单 #1".to_string(),
            format!("label #1 第 1/2 袋 [ORD{a}]"),
            format!("label #1 第 2/2 袋 [ORD{a}]"),
            // The store's screen claimed order 2: its pick list went to the only printer
            // that prints pick lists.
            "拣货单 #2".into(),
            format!("label #2 第 1/1 袋 [ORD{b}]"),
        ]
    );
    // Bag 2's label on the packer's serial scanner hands order 1 over.
    let code = docs[2].1[0].clone();
    send(&mut gun, format!("{code}\r").as_bytes());
    // The picks' own results came first.
    let mut r = result(&mut store).await;
    while r.code != code {
        r = result(&mut store).await;
    }
    assert_eq!(r.result, ScanOutcome::Ok, "{r:?}");
    assert_eq!(
        crate::common::order_state(&mut store, a).await,
        "handed_over"
    );
    // Order 2's label scanned at the pack screen (the wedge types it): handed over.
    let code = docs[4].1[0].clone();
    let o = store
        .request(Request::HandOver {
            order_id: b,
            code: Some(code),
        })
        .await
        .unwrap();
    assert_eq!(o["order"]["state"], "handed_over", "{o}");
    // A reprint of order 1's labels from the CLI, on the store's printer: printed although the
    // order is handed over (someone asked).
    let cfg = dir.path().join("st.toml");
    std::fs::write(&cfg, &text).unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_flashpick"))
        .args(["--config", cfg.to_str().unwrap(), "print", "label"])
        .arg(format!("ORD{a}"))
        .args(["--printer", "front"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(said.contains("2 label queued on front"), "{said}");
    let again = wait_printed(&mut store, &front, 4).await;
    assert_eq!(again[2].0, format!("label #1 第 1/2 袋 [ORD{a}]"));
    assert_eq!(again[3].0, format!("label #1 第 2/2 袋 [ORD{a}]"));
    // A printer the config lacks, and labels before packing: refused with the reason.
    let refused = store
        .request(Request::Reprint {
            order_id: a,
            document: flashpick::model::document::Document::Slip,
            printer: Some("nope".into()),
        })
        .await
        .unwrap_err()
        .to_string();
    assert!(refused.contains("no printer `nope`"), "{refused}");
    d.shutdown().await;
    unplug(&dir.path().join("pack-1"), gun);
}

/// `flashpick doctor` reaches each printer when no daemon runs: one out of paper, one not
/// there, one directory; each named with what it said and the fix.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_doctor_checks_each_printer_with_its_fix() {
    use crate::doctor_tests::{assert_finding, doctor};
    let dir = tempfile::tempdir().unwrap();
    let fake = crate::fake_printer::FakePrinter::start();
    fake.paper_out(true);
    let gone = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let gone_addr = gone.local_addr().unwrap();
    drop(gone);
    let text = format!(
        "{}\n[[printers]]\nname = \"paper\"\nkind = \"tcp\"\naddress = \"{}\"\n\
         [[printers]]\nname = \"gone\"\nkind = \"tcp\"\naddress = \"{gone_addr}\"\n\
         [[printers]]\nname = \"dir\"\nkind = \"file\"\naddress = \"{}\"\n",
        daemon_config(dir.path()).source.0,
        fake.addr,
        dir.path().join("jobs").display()
    );
    let cfg = dir.path().join("dr.toml");
    std::fs::write(&cfg, text).unwrap();
    let (_, f) = doctor(&cfg).await;
    assert_finding(&f, "printer paper", "fail", "says paper_out", "paper roll");
    assert_finding(&f, "printer gone", "fail", "cannot reach", "switch it on");
    assert_finding(&f, "printer dir", "ok", "reached", "");
    // Paper back: ready.
    fake.paper_out(false);
    let (_, f) = doctor(&cfg).await;
    assert_finding(&f, "printer paper", "ok", "reached, ready", "");
}
