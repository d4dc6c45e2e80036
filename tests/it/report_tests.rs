//! The day's numbers against a scripted day whose figures are known by construction: orders
//! with known times, a short, a late pick, a cancellation, closes manual and automatic, and
//! orders that cross midnight in China while the machine's clock (and the database) are UTC.
//! The store's clock is injected and moved through the day.

use crate::common::{new_order, options, small_catalog};
use flashpick::model::report::DayReport;
use flashpick::model::{
    CancelSource, Clock, OrderEvent, OrderId, Platform, ShortReason, Timestamp, china_time,
};
use flashpick::store::{Ingested, Store, StoreOptions};

/// Business day under test: 2026-11-29 in China, which starts 2026-11-28 16:00 UTC.
const DAY: &str = "2026-11-29";

struct Day {
    store: Store,
    clock: Clock,
    start: Timestamp,
}

impl Day {
    /// Moves the store's clock to `min` minutes after the day's midnight (negative: the day
    /// before).
    fn at(&self, min: i64) {
        let t = self.start.0 + min * 60_000;
        let by = t - self.clock.now().0;
        assert!(by >= 0, "the script goes back in time at {min}");
        self.clock.advance(by / 1000);
    }

    async fn arrive(
        &self,
        min: i64,
        p: Platform,
        ext: &str,
        lines: &[(&str, i64)],
        due: i64,
    ) -> OrderId {
        self.at(min);
        let mut o = new_order(ext, lines);
        o.platform = p;
        o.placed_at = self.clock.now();
        o.promised_at = None;
        o.platform_deadline = Some(Timestamp(self.start.0 + due * 60_000));
        let id = match self.store.ingest(p.as_str(), ext, o).await.unwrap() {
            Ingested::New(o) => o.id,
            other => panic!("{other:?}"),
        };
        self.go(min, id, OrderEvent::Accept, "platform").await;
        id
    }

    async fn go(&self, min: i64, id: OrderId, e: OrderEvent, actor: &str) {
        self.at(min);
        self.store.apply(id, e, actor, None).await.unwrap();
    }

    async fn claim(&self, min: i64, id: OrderId, picker: &str) {
        let e = OrderEvent::Claim {
            picker: picker.into(),
        };
        self.go(min, id, e, picker).await;
    }

    async fn pick(&self, min: i64, id: OrderId, picker: &str, line: u32, qty: i64) {
        self.go(min, id, OrderEvent::Pick { line, qty }, picker)
            .await;
    }

    async fn hand_over(&self, min: i64, id: OrderId) {
        self.go(min, id, OrderEvent::Pack { bags: 1 }, "packer")
            .await;
        self.go(min, id, OrderEvent::HandOver, "packer").await;
    }

    async fn set_open(&self, min: i64, p: Platform, open: bool, automatic: bool) {
        self.at(min);
        let by = if automatic { "capacity" } else { "boss" };
        self.store
            .set_open(p, open, "script", by, automatic, None)
            .await
            .unwrap();
        // The platform answers at once: closed minutes count what a platform confirmed.
        self.store.open_confirmed(p, open).await.unwrap();
    }

    async fn report(&self, date: &str) -> DayReport {
        let day = china_time::parse_day(date).unwrap();
        let now = self.clock.now();
        self.store
            .read_async(move |c| flashpick::store::report::day_report(c, day, now))
            .await
            .unwrap()
    }
}

/// Plays the day into a store in `dir` (`store.db`).
async fn scripted_day(dir: &std::path::Path) -> Day {
    let start = china_time::day_start(china_time::parse_day(DAY).unwrap());
    assert_eq!(
        start.0 % 86_400_000,
        16 * 3_600_000,
        "midnight in China is 16:00 UTC"
    );
    let clock = Clock::manual(Timestamp(start.0 - 3 * 3_600_000));
    let store = Store::open(
        &dir.join("store.db"),
        StoreOptions {
            clock: clock.clone(),
            ..options()
        },
    )
    .unwrap();
    store.import_catalog(small_catalog()).await.unwrap();
    let d = Day {
        store,
        clock,
        start,
    };
    let (mt, jd) = (Platform::Meituan, Platform::Jddj);

    // The evening before: JD closed by a person at 22:00, until 00:15.
    d.set_open(-120, jd, false, false).await;
    // A: arrives 23:50 the day before, claimed by p1 at 23:55, picked 00:05 (on time, due
    // 00:10; 15 min from acceptance), handed over 00:20.
    let a = d
        .arrive(-10, mt, "A", &[("W550", 2), ("MILK1L", 1)], 10)
        .await;
    d.claim(-5, a, "p1").await;
    d.pick(-4, a, "p1", 1, 2).await;
    d.pick(-4, a, "p1", 2, 1).await;
    d.go(5, a, OrderEvent::CompletePick, "p1").await;
    d.set_open(15, jd, true, false).await;
    d.hand_over(20, a).await;
    // B (JD): arrives 09:00, due 09:10, claimed by p2 09:02, picked 09:12: 2 min late, 12 min.
    let b = d.arrive(540, jd, "B", &[("W550", 1)], 550).await;
    d.claim(542, b, "p2").await;
    d.pick(545, b, "p2", 1, 1).await;
    d.go(552, b, OrderEvent::CompletePick, "p2").await;
    d.hand_over(570, b).await;
    // C: arrives 12:00, due 12:20, p1 12:01-12:06 (6 min), the bread short by 2.
    let c = d
        .arrive(720, mt, "C", &[("MILK1L", 3), ("BREAD", 2)], 740)
        .await;
    d.claim(721, c, "p1").await;
    d.pick(722, c, "p1", 1, 3).await;
    let short = OrderEvent::Short {
        line: 2,
        qty: 2,
        reason: ShortReason::OutOfStock,
    };
    d.go(723, c, short, "p1").await;
    d.go(726, c, OrderEvent::CompletePick, "p1").await;
    d.hand_over(750, c).await;
    // D: arrives 13:00, the customer cancels at 13:05.
    let o = d.arrive(780, mt, "D", &[("W550", 1)], 800).await;
    let cancel = OrderEvent::Cancel {
        by: CancelSource::Platform,
        reason: "customer".into(),
    };
    d.go(785, o, cancel, "platform").await;
    // Meituan closed by a person 14:00-14:30; JD paused by the store itself 15:00-15:10.
    d.set_open(840, mt, false, false).await;
    d.set_open(870, mt, true, false).await;
    d.set_open(900, jd, false, true).await;
    d.set_open(910, jd, true, true).await;
    // E (JD): arrives 23:55, p2 claims 23:58, picked 00:03 the next day.
    let e = d.arrive(1435, jd, "E", &[("W550", 1)], 1450).await;
    d.claim(1438, e, "p2").await;
    d.pick(1443, e, "p2", 1, 1).await;
    d.go(1443, e, OrderEvent::CompletePick, "p2").await;
    d
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_days_numbers_match_a_scripted_day_across_midnight_in_china() {
    let dir = tempfile::tempdir().unwrap();
    let d = scripted_day(dir.path()).await;
    let (mt, jd) = (Platform::Meituan, Platform::Jddj);
    let b = d
        .store
        .read_async(|c| flashpick::store::order_id_by_external(c, Platform::Jddj, "B"))
        .await
        .unwrap()
        .unwrap();
    let r = d.report(DAY).await;
    assert_eq!(r.date, DAY);
    // Arrivals on the day: B, C, D, E (A arrived the day before).
    assert_eq!(
        (r.total.received, r.total.handed_over, r.total.cancelled),
        (4, 3, 1)
    );
    let by = |p: Platform| {
        r.platforms
            .iter()
            .find(|x| x.platform == p)
            .unwrap()
            .clone()
    };
    let (m, j) = (by(mt), by(jd));
    assert_eq!(
        (m.counts.received, m.counts.handed_over, m.counts.cancelled),
        (2, 2, 1)
    );
    assert_eq!(
        (j.counts.received, j.counts.handed_over, j.counts.cancelled),
        (2, 1, 0)
    );
    assert_eq!((m.closed_manual_min, m.closed_auto_min), (30, 0));
    assert_eq!((j.closed_manual_min, j.closed_auto_min), (15, 10));
    // Picked: A, B, C; on time A and C; B 2 min late.
    assert_eq!((r.picked, r.on_time), (3, 2));
    assert_eq!(r.late.len(), 1);
    assert_eq!((r.late[0].order_id, r.late[0].late_secs), (b.0, 120));
    // Pick times 6, 12, 15 min: p50 12 min, p90 15 min.
    assert_eq!((r.pick_secs_p50, r.pick_secs_p90), (Some(720), Some(900)));
    // 5 lines, 9 units; 1 line and 2 units short, the bread.
    assert_eq!(
        (r.lines, r.short_lines, r.units, r.short_units),
        (5, 1, 9, 2)
    );
    assert_eq!(r.top_short.len(), 1);
    assert_eq!(
        (r.top_short[0].sku.as_str(), r.top_short[0].units),
        ("BREAD", 2)
    );
    // p1: A (3 units) and C (3 picked), claimed 00:00-00:05 (the part of A's claim on this
    // day) and 12:01-12:06 = 10 min → 36 units an hour. p2: B (1 unit), claimed 09:02-09:12
    // and 23:58-24:00 = 12 min → 5 an hour.
    let p = |who: &str| r.pickers.iter().find(|x| x.picker == who).unwrap().clone();
    let (p1, p2) = (p("p1"), p("p2"));
    assert_eq!((p1.orders, p1.units, p1.claimed_secs), (2, 6, 600));
    assert_eq!((p2.orders, p2.units, p2.claimed_secs), (1, 1, 720));
    assert!((p1.units_per_hour.unwrap() - 36.0).abs() < 1e-9);
    assert!((p2.units_per_hour.unwrap() - 5.0).abs() < 1e-9);
    // Per hour (China time): arrivals at 9, 12, 13, 23; hand-overs at 0, 9, 12.
    let hours = |f: fn(&flashpick::model::report::HourDay) -> u32| -> Vec<u32> {
        r.hours
            .iter()
            .filter(|h| f(h) > 0)
            .map(|h| h.hour)
            .collect()
    };
    assert_eq!(hours(|h| h.received), vec![9, 12, 13, 23]);
    assert_eq!(hours(|h| h.handed_over), vec![0, 9, 12]);
    assert_eq!(hours(|h| h.picked), vec![0, 9, 12]);
    assert_eq!(hours(|h| h.on_time), vec![0, 12]);
    assert_eq!(hours(|h| h.cancelled), vec![13]);
    // And per platform: Meituan's arrivals at 12 and 13 and its cancel at 13, JD's at 9 and 23.
    let per = |pd: &flashpick::model::report::PlatformDay,
               f: fn(&flashpick::model::report::Counts) -> u32| {
        pd.hours
            .iter()
            .enumerate()
            .filter(|(_, c)| f(c) > 0)
            .map(|(h, _)| h)
            .collect::<Vec<_>>()
    };
    assert_eq!(per(&m, |c| c.received), vec![12, 13]);
    assert_eq!(per(&m, |c| c.cancelled), vec![13]);
    assert_eq!(per(&m, |c| c.handed_over), vec![0, 12]);
    assert_eq!(per(&j, |c| c.received), vec![9, 23]);
    assert_eq!(per(&j, |c| c.handed_over), vec![9]);

    // The day before: A arrived; JD closed from 22:00 to midnight.
    let before = d.report("2026-11-28").await;
    assert_eq!((before.total.received, before.picked), (1, 0));
    let jd_before = before.platforms.iter().find(|x| x.platform == jd).unwrap();
    assert_eq!(jd_before.closed_manual_min, 120);
    // p1's claim of A before midnight belongs to that day: 5 min, no units.
    let p1_before = before.pickers.iter().find(|x| x.picker == "p1").unwrap();
    assert_eq!((p1_before.claimed_secs, p1_before.units), (300, 0));
    // The day after, so far: E picked on time, p2's claim from midnight to 00:03.
    let after = d.report("2026-11-30").await;
    assert_eq!(
        (after.total.received, after.picked, after.on_time),
        (0, 1, 1)
    );
    let p2_after = after.pickers.iter().find(|x| x.picker == "p2").unwrap();
    assert_eq!((p2_after.claimed_secs, p2_after.units), (180, 1));
    d.store.close_async().await;
}

/// From outside, as the manager on SSH: the real binary asks the running daemon for that day,
/// as CSV and as a table; a day that is not a date is refused with the format to use.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_report_command_prints_the_day_from_the_running_daemon() {
    let dir = tempfile::tempdir().unwrap();
    let d = scripted_day(dir.path()).await;
    d.store.close_async().await;
    let config = crate::common::daemon_config(dir.path());
    let config_file = dir.path().join("store.toml");
    std::fs::write(&config_file, &config.source.0).unwrap();
    let daemon = flashpick::daemon::Daemon::start(config).await.unwrap();
    let run = |args: Vec<&'static str>| {
        let config_file = config_file.clone();
        tokio::task::spawn_blocking(move || {
            crate::cli_tests::bin()
                .arg("--config")
                .arg(&config_file)
                .args(args)
                .output()
                .unwrap()
        })
    };
    let csv = run(vec!["report", "--day", DAY, "--csv"]).await.unwrap();
    assert!(
        csv.status.success(),
        "{}",
        String::from_utf8_lossy(&csv.stderr)
    );
    let csv = String::from_utf8(csv.stdout).unwrap();
    for line in [
        "date,scope,figure,value",
        "2026-11-29,store,received,4",
        "2026-11-29,store,on_time,2",
        "2026-11-29,store,pick_secs_p90,900",
        "2026-11-29,jddj,closed_manual_min,15",
        "2026-11-29,jddj,closed_auto_min,10",
        "2026-11-29,short BREAD,units,2",
        "2026-11-29,picker p1,units_per_hour,36.00",
        "2026-11-29,hour 09,received,1",
        "2026-11-29,hour 13,cancelled,1",
        "2026-11-29,meituan hour 13,cancelled,1",
        "2026-11-29,jddj hour 23,received,1",
    ] {
        assert!(csv.lines().any(|l| l == line), "no `{line}` in:\n{csv}");
    }
    let table = run(vec!["report", "--day", DAY]).await.unwrap();
    let table = String::from_utf8(table.stdout).unwrap();
    assert!(
        table.contains("Picked 3: on time 2 (66.7%), late 1."),
        "{table}"
    );
    assert!(table.contains("桃李面包"), "{table}");
    let bad = run(vec!["report", "--day", "2026-02-31"]).await.unwrap();
    assert!(!bad.status.success());
    let err = String::from_utf8_lossy(&bad.stderr);
    assert!(err.contains("YYYY-MM-DD"), "{err}");
    daemon.shutdown().await;
}

/// HQ's daily summary by the store's clock: started at 00:04 on 12-01 (China), the daemon
/// catches up the days it missed since the store's first order (11-28, 11-29), not 11-30 until
/// 00:05; at 00:05 11-30 follows; each day once, across a restart.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_daily_summary_goes_to_hq_at_five_past_midnight_and_is_caught_up_at_start() {
    let dir = tempfile::tempdir().unwrap();
    let d = scripted_day(dir.path()).await;
    d.store.close_async().await;
    let dec1 = china_time::day_start(china_time::parse_day("2026-12-01").unwrap());
    let clock = Clock::manual(Timestamp(dec1.0 + 4 * 60_000));
    let start = |clock: Clock| {
        let config = crate::common::daemon_config(dir.path());
        flashpick::daemon::Daemon::start_with(
            config,
            flashpick::daemon::StartOptions {
                clock,
                ..Default::default()
            },
        )
    };
    let db = dir.path().join("store.db");
    let summaries = move || -> Vec<(String, serde_json::Value)> {
        let c = rusqlite::Connection::open(&db).unwrap();
        let mut q = c
            .prepare("SELECT payload FROM outbox WHERE kind = 'day_summary' ORDER BY id")
            .unwrap();
        q.query_map([], |r| r.get::<_, String>(0))
            .unwrap()
            .map(|p| {
                let v: serde_json::Value = serde_json::from_str(&p.unwrap()).unwrap();
                (v["date"].as_str().unwrap().to_string(), v)
            })
            .collect()
    };
    let dates = |s: &[(String, serde_json::Value)]| -> Vec<String> {
        s.iter().map(|(d, _)| d.clone()).collect()
    };
    let wait_for = |n: usize| {
        let summaries = summaries.clone();
        crate::common::within(15, "the daily summaries queued", async move {
            let mut tick = tokio::time::interval(std::time::Duration::from_millis(50));
            loop {
                let s = tokio::task::spawn_blocking(summaries.clone())
                    .await
                    .unwrap();
                if s.len() >= n {
                    return s;
                }
                tick.tick().await;
            }
        })
    };
    let daemon = start(clock.clone()).await.unwrap();
    let s = wait_for(2).await;
    assert_eq!(dates(&s), ["2026-11-28", "2026-11-29"]);
    let day = &s[1].1;
    assert_eq!(day["report"]["total"]["received"], 4);
    assert_eq!(day["report"]["on_time"], 2);
    crate::contract::check(
        "/components/schemas/Event",
        &serde_json::json!({"id": day["event_id"], "kind": "day_summary", "data": day}),
    )
    .unwrap();
    // 11-30 is not summed up before 00:05.
    clock.advance(59);
    assert!(clock.advance(1));
    let s = wait_for(3).await;
    assert_eq!(dates(&s), ["2026-11-28", "2026-11-29", "2026-11-30"]);
    assert_eq!(s[2].1["report"]["picked"], 1);
    daemon.shutdown().await;
    // Started again the next night: 12-01 goes (a day with no orders still tells HQ so), and
    // none of the days before twice.
    let again = start(clock.clone()).await.unwrap();
    assert!(clock.advance(24 * 3600));
    let s = wait_for(4).await;
    assert_eq!(
        dates(&s),
        ["2026-11-28", "2026-11-29", "2026-11-30", "2026-12-01"]
    );
    assert_eq!(s[3].1["report"]["total"]["received"], 0);
    again.shutdown().await;
    let s = tokio::task::spawn_blocking(summaries).await.unwrap();
    assert_eq!(s.len(), 4, "{:?}", dates(&s));
}
