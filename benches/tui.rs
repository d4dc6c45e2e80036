//! The TUI's cost per frame and its share of a scan's latency.
//!
//! 1. Rendering: the queue with 500 open orders and the pick screen of a 100-line order, at
//!    80×24 and 160×48, into ratatui's TestBackend — beside a baseline frame of the same size
//!    that only draws pre-formatted text (what any ratatui frame costs). Goal: < 1 ms per frame.
//! 2. Scan event → frame: a real daemon with a scanner on a pseudo-terminal; the TUI's own
//!    session subscribes. For each scan: the event arriving from the socket (decoded by the
//!    session's reader) → the app updated → the frame drawn, beside the time the same scan took
//!    from the wire to that event.
//!
//! Run: `cargo bench --bench tui` (FLASHPICK_BENCH_FRAMES, FLASHPICK_BENCH_SCANS to change the
//! counts; defaults 500 and 500).

#[path = "support/record.rs"]
mod record;
mod support;

use flashpick::api::session::{Incoming, Session};
use flashpick::api::{Event, LineWalk, OrderView, Request, Topic};
use flashpick::daemon::Daemon;
use flashpick::model::{
    Fen, Order, OrderId, OrderLine, OrderState, Platform, SkuCode, SlaState, Timestamp, Unit,
};
use flashpick::tui::app::{App, Msg, Screen, Tag};
use flashpick::tui::i18n::Lang;
use flashpick::tui::view;
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::text::Line;
use ratatui::widgets::Paragraph;
use serialport::{SerialPort, TTYPort};
use std::io::Write;
use std::time::{Duration, Instant};
use support::{CODE, percentile, seed};

const NAMES: [&str; 6] = [
    "农夫山泉 饮用天然水",
    "光明 鲜牛奶",
    "山东 西红柿",
    "乐事 原味薯片",
    "桃李 天然酵母面包",
    "猪前腿肉",
];

fn order(id: i64, lines: u32, now: Timestamp) -> OrderView {
    let states = [
        OrderState::New,
        OrderState::Accepted,
        OrderState::Picking,
        OrderState::Picked,
        OrderState::Packed,
    ];
    let state = if lines > 10 {
        OrderState::Picking
    } else {
        states[id as usize % states.len()]
    };
    let left = (id % 40) * 30 - 300;
    OrderView {
        order: Order {
            id: OrderId(id),
            platform: if id % 2 == 0 {
                Platform::Meituan
            } else {
                Platform::Jddj
            },
            external_id: format!("EXT{id}"),
            day_seq: id as u32,
            state,
            picker: (state == OrderState::Picking).then(|| "p1".to_string()),
            return_pending: false,
            bags: None,
            cancel_reason: None,
            placed_at: now,
            pick_deadline: now.plus_secs(left),
            pickup_code: None,
            delivery: None,
            remark: None,
            unknown_items: Vec::new(),
            rider: None,
            reminded_at: None,
            batch: None,
            lines: (1..=lines)
                .map(|n| OrderLine {
                    line_no: n,
                    sku: SkuCode::new(format!("SKU{n:04}")),
                    name: NAMES[n as usize % NAMES.len()].into(),
                    qty: 2,
                    picked: (n % 3) as i64 % 2,
                    short: 0,
                    short_reason: None,
                    unit_price: Fen(350),
                    weighed_g: None,
                    put_back: 0,
                })
                .collect(),
        },
        sla: match left {
            l if l < 0 => SlaState::Late,
            l if l < 120 => SlaState::AtRisk,
            _ => SlaState::OnTime,
        },
        seconds_left: left,
        walk: (1..=lines)
            .map(|n| LineWalk {
                line_no: n,
                location: format!("{}-{:02}-1", (b'A' + (n % 8) as u8) as char, n % 20),
                walk_seq: n as i64,
                unit: Unit::Piece,
                spec: Some("550ml".into()),
            })
            .collect(),
        scheduled_until: None,
        printed: 0,
        print_waiting: 0,
    }
}

/// Median time per frame of `draw` over `frames` frames at w×h.
fn per_frame(w: u16, h: u16, frames: usize, mut draw: impl FnMut(&mut ratatui::Frame)) -> Duration {
    let mut terminal = Terminal::new(TestBackend::new(w, h)).unwrap();
    let mut samples: Vec<Duration> = (0..frames)
        .map(|_| {
            let t = Instant::now();
            terminal.draw(&mut draw).unwrap();
            t.elapsed()
        })
        .collect();
    percentile(&mut samples, 0.5)
}

fn rendering(frames: usize) {
    let now = Timestamp::now();
    let mut queue = App::new(Lang::Zh, "p1", now, Instant::now());
    queue.connected = true;
    queue.orders = (1..=500).map(|id| order(id, 3, now)).collect();
    let mut pick = App::new(Lang::Zh, "p1", now, Instant::now());
    pick.connected = true;
    pick.orders = vec![order(1, 100, now)];
    pick.screen = Screen::pick(1);
    println!("rendering, median of {frames} frames (goal < 1 ms per frame)");
    for (w, h) in [(80u16, 24u16), (160, 48)] {
        // The baseline: the same cells filled from text that is already laid out.
        let text: Vec<Line> = (0..h)
            .map(|r| {
                Line::from(format!("{r:>3} #{r} 美团 农夫山泉 饮用天然水 A-01-1 2/3 ").repeat(4))
            })
            .collect();
        let base = per_frame(w, h, frames, |f| {
            f.render_widget(Paragraph::new(text.clone()), f.area())
        });
        for (what, app) in [("queue, 500 orders", &queue), ("pick, 100 lines", &pick)] {
            let ours = per_frame(w, h, frames, |f| view::render(app, f));
            println!(
                "  {what:<18} {w:>3}x{h:<3} {ours:>9.3?}   baseline text frame {base:>9.3?}   {:.2}x",
                ours.as_secs_f64() / base.as_secs_f64()
            );
            record::figure(
                &format!("TUI frame, {what}, {w}x{h}"),
                record::ms(ours),
                "ms",
                record::ms(base),
            );
        }
    }
}

fn scan_to_frame(scans: usize) {
    let dir = tempfile::tempdir().unwrap();
    let order_id = seed(dir.path(), 1_000_000);
    let (mut gun, slave) = TTYPort::pair().unwrap();
    let device = slave.name().unwrap();
    drop(slave);
    let config = support::config(dir.path(), &device);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let (mut frame, mut wire, mut redraw) = rt.block_on(async {
        let d = Daemon::start(config).await.unwrap();
        let (mut session, _, mut incoming) = Session::open(d.socket_path(), "bench", Some("p1"))
            .await
            .unwrap();
        let mut app = App::new(Lang::Zh, "p1", Timestamp::now(), Instant::now());
        app.connected = true;
        let mut terminal = Terminal::new(TestBackend::new(100, 30)).unwrap();
        session
            .send(Request::Subscribe {
                topics: vec![Topic::Scans, Topic::Orders],
            })
            .await
            .unwrap();
        // The orders, as the TUI loads them; then wait for the scanner to be open.
        let list = session
            .send(Request::ListOrders { all: false })
            .await
            .unwrap();
        loop {
            let status = session.send(Request::Status).await.unwrap();
            let mut connected = None;
            while connected.is_none() {
                if let Some(Incoming::Reply(r)) = incoming.recv().await {
                    let v = r.ok.unwrap_or_default();
                    if r.id == Some(list) {
                        let orders =
                            flashpick::api::Response::read(flashpick::api::ReplyKind::Orders, v)
                                .expect("an orders reply");
                        app.update(Msg::Reply(Tag::Orders, Ok(orders)));
                    } else if r.id == Some(status) {
                        connected = Some(v["scanners"][0]["connected"] == true);
                    }
                }
            }
            if connected == Some(true) {
                break;
            }
            tokio::task::yield_now().await;
        }
        app.screen = Screen::pick(order_id);
        let (mut frame, mut wire, mut redraw) = (Vec::new(), Vec::new(), Vec::new());
        let line = format!("{CODE}\r");
        for n in 0..scans {
            let t0 = Instant::now();
            gun.write_all(line.as_bytes()).unwrap();
            gun.flush().unwrap();
            loop {
                let Some(Incoming::Event(e)) = incoming.recv().await else {
                    continue;
                };
                let t1 = Instant::now();
                let scan = matches!(e, Event::ScanResult { .. });
                app.update(Msg::Event(Box::new(e)));
                terminal.draw(|f| view::render(&app, f)).unwrap();
                if scan {
                    frame.push(t1.elapsed());
                    wire.push(t1 - t0);
                    // The baseline: the same screen drawn again, with no event to take in.
                    let t2 = Instant::now();
                    terminal.draw(|f| view::render(&app, f)).unwrap();
                    redraw.push(t2.elapsed());
                    // The frame really shows the scan (checked outside the timing).
                    let screen: String = terminal
                        .backend()
                        .buffer()
                        .content
                        .iter()
                        .map(|c| c.symbol())
                        .collect();
                    let count = format!("{}/1000000", n + 1);
                    assert!(
                        screen.contains(&count),
                        "scan {n} is not on the screen: {screen}"
                    );
                    break;
                }
            }
        }
        d.shutdown().await;
        (frame, wire, redraw)
    });
    let (f50, f99) = (percentile(&mut frame, 0.5), percentile(&mut frame, 0.99));
    let (w50, w99) = (percentile(&mut wire, 0.5), percentile(&mut wire, 0.99));
    let (r50, r99) = (percentile(&mut redraw, 0.5), percentile(&mut redraw, 0.99));
    println!("scan → frame, {scans} scans, 100x30");
    println!("  event on the socket → app → frame drawn   p50 {f50:>9.3?}  p99 {f99:>9.3?}");
    println!("  the same frame drawn again, no event      p50 {r50:>9.3?}  p99 {r99:>9.3?}");
    println!("  wire → committed → event (the daemon)     p50 {w50:>9.3?}  p99 {w99:>9.3?}");
    println!(
        "  the TUI's share of a scan: {:.0}% of the median",
        100.0 * f50.as_secs_f64() / (f50 + w50).as_secs_f64()
    );
    record::figure(
        "TUI scan event to frame p50 (baseline: the same frame redrawn)",
        record::ms(f50),
        "ms",
        record::ms(r50),
    );
}

fn count(var: &str, bench: usize) -> usize {
    std::env::var(var)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(if std::env::args().any(|a| a == "--bench") {
            bench
        } else {
            20
        })
}

fn main() {
    rendering(count("FLASHPICK_BENCH_FRAMES", 500));
    scan_to_frame(count("FLASHPICK_BENCH_SCANS", 500));
}
