//! The TUI without a terminal: every screen rendered into a TestBackend and compared with insta
//! snapshots (Chinese data, zh and en, 80×24 and 160×48), and the app driven headless against the
//! real daemon through its socket for the main flows.

use crate::common::{daemon_config, seed_db, within};
use flashpick::api::session::{Incoming, Session};
use flashpick::api::{
    ChannelStatus, LineWalk, OrderView, Request, ScanOutcome, ScanReply, ScannerStatus, Status,
};
use flashpick::api::{OutboxDepth, SkuInfo};
use flashpick::daemon::Daemon;
use flashpick::model::{
    Fen, Order, OrderId, OrderLine, OrderState, Platform, ShortReason, SkuCode, SlaState,
    Timestamp, Unit,
};
use flashpick::tui::app::{App, Cmd, Key, Msg, Packing, Picking, Screen, StockScreen, Tag};
use flashpick::tui::i18n::Lang;
use flashpick::tui::view;
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use std::collections::HashMap;
use std::time::{Duration, Instant};

pub(crate) const NOW: Timestamp = Timestamp(1_800_000_000_000);

/// The screen as text, one line per row, wide characters once.
pub(crate) fn screen(app: &App, w: u16, h: u16) -> String {
    let mut terminal = Terminal::new(TestBackend::new(w, h)).unwrap();
    terminal.draw(|f| view::render(app, f)).unwrap();
    let buf = terminal.backend().buffer().clone();
    let mut out = String::new();
    for y in 0..h {
        let mut line = String::new();
        let mut skip = 0;
        for x in 0..w {
            if skip > 0 {
                skip -= 1;
                continue;
            }
            let sym = buf[(x, y)].symbol();
            skip = unicode_width::UnicodeWidthStr::width(sym).saturating_sub(1);
            line.push_str(sym);
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

#[allow(clippy::too_many_arguments)]
fn line(
    n: u32,
    sku: &str,
    name: &str,
    qty: i64,
    picked: i64,
    short: i64,
    weighed: Option<i64>,
) -> OrderLine {
    OrderLine {
        line_no: n,
        sku: SkuCode::new(sku),
        name: name.into(),
        qty,
        picked,
        short,
        short_reason: (short > 0).then_some(ShortReason::OutOfStock),
        unit_price: Fen(350),
        weighed_g: weighed,
        put_back: 0,
    }
}

fn walk(n: u32, location: &str, spec: &str, unit: Unit) -> LineWalk {
    LineWalk {
        line_no: n,
        location: location.into(),
        walk_seq: n as i64,
        unit,
        spec: Some(spec.into()),
    }
}

#[allow(clippy::too_many_arguments)]
fn view_of(
    id: i64,
    platform: Platform,
    seq: u32,
    state: OrderState,
    left: i64,
    sla: SlaState,
    lines: Vec<OrderLine>,
    walk: Vec<LineWalk>,
) -> OrderView {
    OrderView {
        order: Order {
            id: OrderId(id),
            platform,
            external_id: format!("EXT{id}"),
            day_seq: seq,
            state,
            picker: matches!(state, OrderState::Picking).then(|| "p1".to_string()),
            return_pending: state == OrderState::Cancelled,
            bags: None,
            cancel_reason: None,
            placed_at: NOW,
            pick_deadline: NOW.plus_secs(left),
            pickup_code: None,
            delivery: None,
            remark: (id == 1).then(|| "缺货时电话与我沟通".to_string()),
            unknown_items: Vec::new(),
            rider: None,
            reminded_at: None,
            batch: None,
            lines,
        },
        sla,
        seconds_left: left,
        walk,
        scheduled_until: None,
        printed: 0,
        print_waiting: 0,
    }
}

pub(crate) fn sample(lang: Lang) -> App {
    let mut app = App::new(lang, "p1", NOW, Instant::now());
    app.store = Some("SH-0001".into());
    app.connected = true;
    app.was_connected = true;
    let water = || line(1, "DR001", "农夫山泉 饮用天然水", 3, 1, 0, None);
    app.orders = vec![
        view_of(
            3,
            Platform::Meituan,
            24,
            OrderState::New,
            -30,
            SlaState::Late,
            vec![water()],
            vec![walk(1, "A-01-1", "550ml", Unit::Piece)],
        ),
        view_of(
            1,
            Platform::Meituan,
            23,
            OrderState::Picking,
            95,
            SlaState::AtRisk,
            vec![
                water(),
                line(2, "DA001", "光明 鲜牛奶", 1, 0, 1, None),
                line(3, "VG001", "山东 西红柿", 500, 0, 0, None),
            ],
            vec![
                walk(1, "A-01-1", "550ml", Unit::Piece),
                walk(2, "B-01-1", "950ml", Unit::Piece),
                walk(3, "F-02-2", "称重", Unit::Gram),
            ],
        ),
        view_of(
            5,
            Platform::Jddj,
            8,
            OrderState::Picked,
            300,
            SlaState::OnTime,
            vec![
                line(1, "SN001", "乐事 原味薯片", 2, 2, 0, None),
                line(2, "MT001", "猪前腿肉", 500, 500, 0, Some(512)),
            ],
            vec![
                walk(1, "C-02-1", "70g", Unit::Piece),
                walk(2, "G-01-1", "称重", Unit::Gram),
            ],
        ),
        view_of(
            2,
            Platform::Jddj,
            7,
            OrderState::Accepted,
            540,
            SlaState::OnTime,
            vec![line(1, "BK001", "桃李 天然酵母面包", 2, 0, 0, None)],
            vec![walk(1, "C-01-1", "150g", Unit::Piece)],
        ),
        view_of(
            4,
            Platform::Meituan,
            21,
            OrderState::Cancelled,
            0,
            SlaState::OnTime,
            vec![line(1, "DA004", "光明 莫斯利安 常温酸奶", 2, 2, 0, None)],
            vec![walk(1, "B-02-1", "200g", Unit::Piece)],
        ),
    ];
    app.status = Some(Status {
        version: "0.1.0".into(),
        protocol: 1,
        store_id: "SH-0001".into(),
        store_name: "上海静安 前置仓".into(),
        started_at: NOW,
        uptime_secs: 3600,
        open_orders: 4,
        orders_by_state: Default::default(),
        outbox: vec![
            OutboxDepth {
                destination: "meituan".into(),
                pending: 2,
                parked: 1,
                oldest_pending_at: None,
                parked_rows: Vec::new(),
            },
            OutboxDepth {
                destination: "jddj".into(),
                pending: 1,
                parked: 0,
                oldest_pending_at: None,
                parked_rows: Vec::new(),
            },
        ],
        scanners: vec![
            ScannerStatus {
                name: "gun-1".into(),
                path: "/dev/ttyUSB0".into(),
                connected: true,
                frames: 10,
                errors: 0,
                last_error: None,
                picker: Some("p1".into()),
                station: None,
            },
            ScannerStatus {
                name: "gun-2".into(),
                path: "/dev/ttyUSB1".into(),
                connected: false,
                frames: 0,
                errors: 1,
                last_error: None,
                picker: None,
                station: None,
            },
        ],
        channels: vec![
            ChannelStatus {
                name: "meituan".into(),
                online: true,
                calls: 10,
                failures: 0,
                last_error: None,
            },
            ChannelStatus {
                name: "jddj".into(),
                online: false,
                calls: 3,
                failures: 3,
                last_error: Some("timed out".into()),
            },
        ],
        config_version: Some(12),
        clients: 2,
        alarms: Vec::new(),
        open: Vec::new(),
        printers: Vec::new(),
        batches: Vec::new(),
        batch_max: 1,
    });
    app
}

fn wrong_scan(app: &App) -> ScanReply {
    ScanReply {
        result: ScanOutcome::WrongItem,
        code: "6901209206159".into(),
        message: String::new(),
        scanner: Some("gun-1".into()),
        picker: Some("p1".into()),
        line_no: None,
        sku: Some("DA002".into()),
        name: Some("蒙牛 纯牛奶".into()),
        weight_g: None,
        expected: vec![],
        slot: None,
        order: app.order(1).cloned(),
    }
}

#[test]
fn every_screen_in_both_languages_at_both_sizes() {
    for lang in [Lang::Zh, Lang::En] {
        let tag = if lang == Lang::Zh { "zh" } else { "en" };
        let mut screens: Vec<(&str, App)> = Vec::new();
        screens.push(("queue", sample(lang)));
        let mut pick = sample(lang);
        pick.screen = Screen::Pick(Picking {
            id: 1,
            line_sel: 0,
            last_scan: Some(Box::new(wrong_scan(&pick))),
        });
        screens.push(("pick_wrong_item", pick));
        let mut pack = sample(lang);
        pack.screen = Screen::Pack(Packing { id: 5, bags: 2 });
        screens.push(("pack", pack));
        let mut stock = sample(lang);
        let mut found = StockScreen {
            query: "牛奶".into(),
            items: Vec::new(),
            item_sel: 0,
        };
        found.items = vec![SkuInfo {
            sku: SkuCode::new("DA001"),
            name: "光明 鲜牛奶".into(),
            name_en: Some("Bright fresh milk".into()),
            spec: Some("950ml".into()),
            unit: Unit::Piece,
            location: "B-01-1".into(),
            walk_seq: 20,
            price: Some(Fen(1390)),
            safety_stock: Some(2),
            barcodes: vec!["6901209206159".into()],
            on_hand: 24,
            reserved: 3,
            plu: None,
            sale_unit_g: None,
            sold_out_at: None,
        }];
        stock.screen = Screen::Stock(found);
        screens.push(("stock", stock));
        let mut cancelled = sample(lang);
        cancelled.put_back.push_back(4);
        screens.push(("put_back_alert", cancelled));
        let mut help = sample(lang);
        help.help = true;
        screens.push(("help", help));
        let mut lost = sample(lang);
        lost.connected = false;
        screens.push(("reconnecting", lost));
        for (name, app) in &screens {
            for (w, h) in [(80u16, 24u16), (160, 48)] {
                insta::assert_snapshot!(format!("tui_{name}_{tag}_{w}x{h}"), screen(app, w, h));
            }
        }
    }
}

/// The app against the real daemon: commands go over a real session, replies and events come
/// back as messages, as in the terminal shell but without a terminal.
struct Headless {
    app: App,
    session: Session,
    incoming: tokio::sync::mpsc::Receiver<Incoming>,
    tags: HashMap<u64, (Tag, flashpick::api::ReplyKind)>,
    clock: Instant,
}

impl Headless {
    async fn attach(d: &Daemon, picker: &str, lang: Lang) -> Headless {
        let (session, hello, incoming) = Session::open(d.socket_path(), "tui-test", Some(picker))
            .await
            .unwrap();
        let mut h = Headless {
            app: App::new(lang, picker, Timestamp::now(), Instant::now()),
            session,
            incoming,
            tags: HashMap::new(),
            clock: Instant::now(),
        };
        let cmds = h
            .app
            .update(Msg::Connected(hello.store_id.unwrap_or_default()));
        h.run(cmds).await;
        h.settle().await;
        h
    }

    async fn run(&mut self, cmds: Vec<Cmd>) {
        for c in cmds {
            if let Cmd::Send(tag, req) = c {
                let kind = req.reply_kind();
                let id = self.session.send(req).await.unwrap();
                self.tags.insert(id, (tag, kind));
            }
        }
    }

    /// Feeds replies and events until every request is answered.
    async fn settle(&mut self) {
        within(10, "the daemon's answers", async {
            while !self.tags.is_empty() {
                self.next().await;
            }
        })
        .await;
    }

    async fn next(&mut self) {
        let msg = match self.incoming.recv().await.unwrap() {
            Incoming::Reply(r) => {
                let (tag, kind) =
                    r.id.and_then(|id| self.tags.remove(&id))
                        .expect("a reply to our request");
                Msg::Reply(tag, flashpick::tui::read_reply(kind, r))
            }
            Incoming::Event(e) => Msg::Event(Box::new(e)),
            Incoming::Closed => Msg::Disconnected,
        };
        let cmds = self.app.update(msg);
        self.run(cmds).await;
    }

    /// Waits (on events, with a deadline) until `cond` holds.
    async fn until(&mut self, what: &str, cond: impl Fn(&App) -> bool) {
        within(10, what, async {
            while !cond(&self.app) {
                self.next().await;
            }
        })
        .await;
    }

    async fn key(&mut self, k: Key) {
        // Keys of a person: far apart, so none of them is mistaken for a scanner's burst.
        self.clock += Duration::from_millis(500);
        let cmds = self.app.update(Msg::Key(k, self.clock));
        self.run(cmds).await;
        let cmds = self.app.update(Msg::Tick(
            self.clock + Duration::from_millis(100),
            Timestamp::now(),
        ));
        self.run(cmds).await;
        self.settle().await;
    }

    /// A keyboard-wedge scanner: the code in a burst, then Enter.
    async fn wedge(&mut self, code: &str) {
        self.clock += Duration::from_millis(500);
        let mut cmds = Vec::new();
        for c in code.chars() {
            self.clock += Duration::from_millis(3);
            cmds.extend(self.app.update(Msg::Key(Key::Char(c), self.clock)));
        }
        self.clock += Duration::from_millis(3);
        cmds.extend(self.app.update(Msg::Key(Key::Enter, self.clock)));
        self.run(cmds).await;
        self.settle().await;
    }

    fn text(&self) -> String {
        screen(&self.app, 100, 30)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn claim_scan_short_complete_pack_and_hand_over() {
    let dir = tempfile::tempdir().unwrap();
    seed_db(dir.path(), &[("MT-1", &[("W550", 2), ("MILK1L", 1)])]);
    let d = Daemon::start(daemon_config(dir.path())).await.unwrap();
    let mut ops = flashpick::api::client::Client::connect(d.socket_path(), "ops", None)
        .await
        .unwrap();
    ops.request(Request::AcceptOrder { order_id: 1 })
        .await
        .unwrap();
    let mut t = Headless::attach(&d, "p1", Lang::Zh).await;
    t.until("the accepted order", |a| {
        a.orders
            .iter()
            .any(|o| o.order.state == OrderState::Accepted)
    })
    .await;
    assert!(t.text().contains("待拣货"), "{}", t.text());
    t.key(Key::Enter).await; // claim
    assert_eq!(t.app.screen.picking(), Some(1));
    assert!(t.text().contains("农夫山泉 550ml"), "{}", t.text());
    t.wedge("6901234567892").await;
    t.until("the scan result", |a| a.screen.last_scan().is_some())
        .await;
    assert!(
        t.text().contains("✔ 正确 农夫山泉 550ml 1/2"),
        "{}",
        t.text()
    );
    t.wedge("6901234567892").await;
    t.until("the second unit", |a| {
        a.order(1).is_some_and(|o| o.order.lines[0].picked == 2)
    })
    .await;
    // Milk is not on the shelf: x on line 2, one unit, reason 1 (out of stock).
    t.key(Key::Down).await;
    t.key(Key::Char('x')).await;
    assert!(t.app.prompt.is_some());
    t.key(Key::Enter).await;
    t.key(Key::Char('1')).await;
    t.until("the short line", |a| {
        a.order(1).is_some_and(|o| o.order.lines[1].short == 1)
    })
    .await;
    // Not on the shelf: the picker is asked to count it (left for later here).
    assert!(
        matches!(
            t.app.prompt.as_ref().map(|p| &p.ask),
            Some(flashpick::tui::app::Ask::Count(_))
        ),
        "{:?}",
        t.app.prompt
    );
    t.key(Key::Esc).await;
    assert!(
        t.text().contains("按 Enter 完成拣货") || t.text().contains("✔"),
        "{}",
        t.text()
    );
    t.key(Key::Enter).await; // complete
    assert_eq!(t.app.screen.packing(), Some(1));
    assert!(t.text().contains("取货码"), "{}", t.text());
    t.key(Key::Char('+')).await;
    t.key(Key::Enter).await; // pack with two bags
    t.until("packed", |a| {
        a.order(1)
            .is_some_and(|o| o.order.state == OrderState::Packed)
    })
    .await;
    // The packer scans a bag's label: another order's is refused and nothing moves; this
    // order's hands it over.
    t.wedge("ORD2").await;
    assert!(t.text().contains("ORD2"), "{}", t.text());
    let still = ops
        .request(Request::GetOrder { order_id: 1 })
        .await
        .unwrap();
    assert_eq!(still["order"]["state"], "packed");
    t.wedge("ORD1").await;
    t.until("handed over", |a| a.order(1).is_none()).await;
    assert_eq!(t.app.screen, Screen::Queue);
    let done = ops
        .request(Request::GetOrder { order_id: 1 })
        .await
        .unwrap();
    assert_eq!(done["order"]["state"], "handed_over");
    assert_eq!(done["order"]["bags"], 2);
    d.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_item_is_loud_and_a_cancel_while_picking_cannot_be_missed() {
    let dir = tempfile::tempdir().unwrap();
    seed_db(dir.path(), &[("MT-2", &[("W550", 2)])]);
    let d = Daemon::start(daemon_config(dir.path())).await.unwrap();
    let mut ops = flashpick::api::client::Client::connect(d.socket_path(), "ops", None)
        .await
        .unwrap();
    ops.request(Request::AcceptOrder { order_id: 1 })
        .await
        .unwrap();
    let mut t = Headless::attach(&d, "p1", Lang::En).await;
    t.key(Key::Enter).await;
    t.wedge("4006381333931").await; // milk: not in this order
    t.until("the wrong item", |a| {
        a.screen
            .last_scan()
            .is_some_and(|s| s.result == ScanOutcome::WrongItem)
    })
    .await;
    assert!(t.text().contains("WRONG ITEM"), "{}", t.text());
    t.wedge("6901234567892").await;
    t.until("one unit picked", |a| {
        a.order(1).is_some_and(|o| o.order.lines[0].picked == 1)
    })
    .await;
    // The customer cancels while the picker is at the shelf.
    ops.request(Request::CancelOrder {
        order_id: 1,
        reason: "customer".into(),
    })
    .await
    .unwrap();
    t.until("the put-back alert", |a| !a.put_back.is_empty())
        .await;
    let shown = t.text();
    assert!(
        shown.contains("CANCELLED") && shown.contains("Put these back"),
        "{shown}"
    );
    assert_eq!(t.app.screen, Screen::Queue, "the pick screen closed");
    t.key(Key::Enter).await; // the goods are back on the shelf
    t.until("the alert cleared", |a| a.put_back.is_empty())
        .await;
    let stock = ops
        .request(Request::StockLookup {
            query: "W550".into(),
        })
        .await
        .unwrap();
    assert_eq!(stock["items"][0]["on_hand"], 20);
    assert_eq!(stock["items"][0]["reserved"], 0);
    d.shutdown().await;
}

/// Items the catalog does not know sit on no line: the pick screen names them in red, in both
/// languages, so the picker marks them short or asks for a cancel.
#[test]
fn items_not_in_the_catalog_are_named_on_the_pick_screen() {
    for (lang, words) in [(Lang::Zh, "目录中没有"), (Lang::En, "Not in the catalog")] {
        let mut app = sample(lang);
        app.screen = Screen::pick(1);
        let before = screen(&app, 80, 24);
        assert!(!before.contains(words), "{before}");
        app.orders
            .iter_mut()
            .find(|o| o.order.id.0 == 1)
            .unwrap()
            .order
            .unknown_items = vec![flashpick::model::UnknownItem {
            name: "进口榴莲".into(),
            codes: vec!["MT-DURIAN".into()],
            qty: 2,
        }];
        let after = screen(&app, 80, 24);
        assert!(
            after.contains(words) && after.contains("进口榴莲 ×2"),
            "{after}"
        );
        // The remark is still there too.
        assert!(after.contains("缺货时电话与我沟通"), "{after}");
    }
}

/// The queue is the screen's own sort, most urgent first, whatever order the orders arrive in:
/// a list reply out of order, then events that make one later and add one more urgent.
#[test]
fn the_queue_is_most_urgent_first_whatever_order_the_orders_arrive_in() {
    let mut app = App::new(Lang::Zh, "p1", NOW, Instant::now());
    let water = || vec![line(1, "DR001", "农夫山泉 饮用天然水", 1, 0, 0, None)];
    let view = |id: i64, left: i64| {
        view_of(
            id,
            Platform::Meituan,
            id as u32,
            OrderState::Accepted,
            left,
            SlaState::OnTime,
            water(),
            Vec::new(),
        )
    };
    let queue = |app: &App| app.orders.iter().map(|o| o.order.id.0).collect::<Vec<_>>();
    // Ids against deadlines: 7 is due last, 5 first.
    let list: Vec<OrderView> = vec![view(7, 900), view(6, 300), view(5, 120)];
    app.update(Msg::Reply(
        Tag::Orders,
        Ok(flashpick::api::Response::Orders(
            flashpick::api::OrdersReply { orders: list },
        )),
    ));
    assert_eq!(queue(&app), [5, 6, 7]);
    let changed = |o: OrderView| {
        Msg::Event(Box::new(flashpick::api::Event::OrderChanged {
            cause: "ingest".into(),
            order: Box::new(o),
        }))
    };
    app.update(changed(view(8, 60)));
    app.update(changed(view(5, 1200)));
    assert_eq!(queue(&app), [8, 6, 7, 5]);
    // Equal deadlines: the older order first.
    app.update(changed(view(4, 300)));
    assert_eq!(queue(&app), [8, 4, 6, 7, 5]);
}

/// A reply that does not fit the request (a daemon of another release) is an error on the screen,
/// never an empty queue: the order list stays as it was.
#[test]
fn a_reply_of_the_wrong_shape_is_an_error_not_an_empty_queue() {
    use flashpick::api::{ApiError, ReplyKind, ReplyLine, Response};
    let mut app = sample(Lang::En);
    let before = app.orders.len();
    assert!(before > 0);
    let line = |ok: serde_json::Value| ReplyLine {
        id: Some(1),
        ok: Some(ok),
        error: None,
    };
    // The orders under another name, as a newer or older daemon might send them.
    let wrong =
        flashpick::tui::read_reply(ReplyKind::Orders, line(serde_json::json!({ "list": [] })));
    let e: ApiError = wrong.clone().unwrap_err();
    assert_eq!(e.code, "protocol");
    assert!(e.message.contains("update flashpick"), "{}", e.message);
    let cmds = app.update(Msg::Reply(Tag::Orders, wrong));
    assert_eq!(app.orders.len(), before, "the queue was not emptied");
    assert!(cmds.contains(&Cmd::Bell));
    assert!(
        screen(&app, 100, 30).contains("update flashpick"),
        "{}",
        screen(&app, 100, 30)
    );
    // A well-formed reply of another kind than the request gets: the same.
    let status = Response::read(
        ReplyKind::Subscribed,
        serde_json::json!({ "subscribed": ["orders"] }),
    )
    .unwrap();
    let cmds = app.update(Msg::Reply(Tag::Orders, Ok(status)));
    assert_eq!(app.orders.len(), before);
    assert!(cmds.contains(&Cmd::Bell));
}

/// A customer's partial-refund request on order 3 (美团 #24), 8 minutes 12 seconds left.
fn refund_notice() -> flashpick::api::Notice {
    use flashpick::model::request::{
        CustomerRequest, NewRequest, RequestItem, RequestKind, RequestState,
    };
    let request = CustomerRequest {
        id: 7,
        order_id: Some(3),
        asked: NewRequest {
            platform: Platform::Meituan,
            external_id: "27001".into(),
            kind: RequestKind::PartRefund,
            refund_id: "R1".into(),
            items: vec![RequestItem {
                code: Some("DR001".into()),
                name: "农夫山泉 饮用天然水".into(),
                count: 1,
            }],
            reason: "买多了".into(),
        },
        state: RequestState::Open,
        opened_at: Timestamp(NOW.0 - 108_000),
        decide_by: Timestamp(NOW.0 + 492_000),
        decided_by: None,
        decision_reason: None,
    };
    flashpick::api::Notice {
        key: flashpick::api::Notice::request_key(7),
        kind: flashpick::api::NoticeKind::Decision,
        level: "warning".into(),
        message: "Meituan order 27001: the customer asks a refund".into(),
        order_id: Some(3),
        since: request.opened_at.0,
        due: Some(request.decide_by.0),
        repeat_secs: 30,
        escalate_at: None,
        request: Some(request),
    }
}

/// A partial refund waiting for a manager shows under the line it asks back, live on the pick
/// screen; decided, it goes.
#[test]
fn a_partial_refund_asked_shows_under_its_line_on_the_pick_screen() {
    use flashpick::api::Event;
    for (lang, words) in [(Lang::Zh, "顾客申请退款"), (Lang::En, "asks a refund")] {
        let mut app = sample(lang);
        app.screen = Screen::pick(3);
        assert!(!screen(&app, 80, 24).contains(words));
        app.update(Msg::Event(Box::new(Event::Notice {
            notice: Box::new(refund_notice()),
        })));
        let shown = screen(&app, 80, 24);
        let under = shown
            .lines()
            .skip_while(|l| !l.contains("A-01-1"))
            .nth(1)
            .unwrap_or_default();
        assert!(under.contains(words) && under.contains("×1"), "{shown}");
        app.update(Msg::Event(Box::new(Event::NoticeResolved {
            key: flashpick::api::Notice::request_key(7),
            by: "rejected".into(),
        })));
        assert!(!screen(&app, 80, 24).contains(words));
    }
}

/// A refund nobody can tell about is parked: its alert on the screen, and `O` lists the parked
/// rows with their ids and reasons; `d` (done) and `r` (send again) go to the daemon, which
/// records who. Snapshots in both languages at 80×24.
#[test]
fn a_parked_refund_is_listed_and_resolved_from_the_screen() {
    use flashpick::api::{Event, ParkedRow};
    for lang in [Lang::Zh, Lang::En] {
        let tag = if lang == Lang::Zh { "zh" } else { "en" };
        let mut app = sample(lang);
        let reason = "cannot tell whether the refund reached meituan: the platform's refundable counts changed otherwise than this refund would (W550: asked 1, refundable fell by 2)";
        app.status.as_mut().unwrap().outbox[0].parked_rows = vec![ParkedRow {
            id: 42,
            kind: "report".into(),
            action: Some("adjust".into()),
            order: Some("27001".into()),
            reason: reason.into(),
            queued_at: NOW,
        }];
        app.update(Msg::Event(Box::new(Event::Alert {
            level: "error".into(),
            message: format!("order 27001: {reason}. Check the refund on the meituan console, then `flashpick outbox resolve 42 --done` if it is there or `--resend` if not"),
            order_id: Some(3),
        })));
        let at = app.instant + Duration::from_secs(1);
        let press = |app: &mut App, k: Key, secs: u64| {
            let mut out = app.update(Msg::Key(k, at + Duration::from_secs(secs)));
            if let Some(deadline) = app.deadline() {
                out.extend(app.update(Msg::Tick(deadline, NOW)));
            }
            out
        };
        press(&mut app, Key::Char('O'), 0);
        assert_eq!(app.parked, Some(0));
        insta::assert_snapshot!(format!("tui_parked_{tag}_80x24"), screen(&app, 80, 24));
        let out = press(&mut app, Key::Char('d'), 1);
        assert!(
            out.contains(&Cmd::Send(
                Tag::Resolve,
                Request::ResolveParked {
                    row: 42,
                    resend: false
                }
            )),
            "{out:?}"
        );
        let out = press(&mut app, Key::Char('r'), 2);
        assert!(out.contains(&Cmd::Send(
            Tag::Resolve,
            Request::ResolveParked {
                row: 42,
                resend: true
            }
        )));
        press(&mut app, Key::Esc, 3);
        assert_eq!(app.parked, None);
    }
}

/// The store closed at a platform is loud on every screen ("美团 休息中 (手动, 至 21:30)"), a
/// close not confirmed yet shows as such, and a manager closes with `C` and a reason, opens
/// with `V`. Snapshots in both languages at 80×24.
#[test]
fn the_store_closed_at_a_platform_is_shown_and_set_from_the_screen() {
    use flashpick::store::open::OpenState;
    for lang in [Lang::Zh, Lang::En] {
        let tag = if lang == Lang::Zh { "zh" } else { "en" };
        let mut app = sample(lang);
        // 21:30 China time on the sample's day.
        let until = Timestamp(NOW.0 - NOW.0.rem_euclid(86_400_000) + (13 * 60 + 30) * 60_000);
        app.status.as_mut().unwrap().open = vec![
            OpenState {
                platform: Platform::Meituan,
                want_open: false,
                reason: "晚高峰人手不足".into(),
                set_by: "boss".into(),
                automatic: false,
                until: Some(until),
                set_at: NOW,
                confirmed: Some(false),
            },
            OpenState {
                platform: Platform::Jddj,
                want_open: false,
                reason: "晚高峰人手不足".into(),
                set_by: "boss".into(),
                automatic: false,
                until: None,
                set_at: NOW,
                confirmed: Some(true),
            },
        ];
        let shown = screen(&app, 80, 24);
        insta::assert_snapshot!(format!("tui_closed_{tag}_80x24"), shown.clone());
        let words = if lang == Lang::Zh {
            ["美团 休息中 (手动, 至 21:30)", "关店中"]
        } else {
            ["Meituan closed (manual, until 21:30)", "closing"]
        };
        // The whole line on a wide screen; on 80 columns it is cut from the right.
        let wide = screen(&app, 160, 48);
        for w in words {
            assert!(wide.contains(w), "{w}: {wide}");
        }
        assert!(shown.contains(words[0]), "{shown}");
        let mut at = app.instant;
        let mut press = |app: &mut App, k: Key| {
            at += Duration::from_secs(1);
            let mut out = app.update(Msg::Key(k, at));
            if let Some(deadline) = app.deadline() {
                out.extend(app.update(Msg::Tick(deadline, NOW)));
            }
            out
        };
        press(&mut app, Key::Char('C'));
        for ch in "盘点".chars() {
            press(&mut app, Key::Char(ch));
        }
        let out = press(&mut app, Key::Enter);
        assert!(
            out.contains(&Cmd::Send(
                Tag::StoreOpen,
                Request::SetStoreOpen {
                    platform: None,
                    open: false,
                    until: None,
                    reason: "盘点".into(),
                }
            )),
            "{out:?}"
        );
        let out = press(&mut app, Key::Char('V'));
        assert!(out.contains(&Cmd::Send(
            Tag::StoreOpen,
            Request::SetStoreOpen {
                platform: None,
                open: true,
                until: None,
                reason: String::new(),
            }
        )));
    }
}

/// A decision stands on the screen with its countdown and rings again until it is decided or
/// snoozed here; `D` opens it, `N` asks the reason to reject, and what the manager chose goes to
/// the daemon; resolved elsewhere, it leaves this screen too. Snapshots of the line and the
/// dialog in both languages at 80×24.
#[test]
fn a_customers_request_stands_until_decided_and_rings_until_snoozed() {
    use flashpick::api::Event;
    for lang in [Lang::Zh, Lang::En] {
        let tag = if lang == Lang::Zh { "zh" } else { "en" };
        let mut app = sample(lang);
        let t0 = app.instant;
        let out = app.update(Msg::Event(Box::new(Event::Notice {
            notice: Box::new(refund_notice()),
        })));
        assert!(out.contains(&Cmd::Bell), "a new decision rings at once");
        insta::assert_snapshot!(format!("tui_notice_{tag}_80x24"), screen(&app, 80, 24));
        // Not yet time to ring again; then it is.
        let out = app.update(Msg::Tick(t0 + Duration::from_secs(5), NOW));
        assert!(!out.contains(&Cmd::Bell));
        let out = app.update(Msg::Tick(t0 + Duration::from_secs(31), NOW));
        assert!(out.contains(&Cmd::Bell), "rings again after repeat_secs");

        // A key alone is told from a wedge scanner's burst when the burst's time is over.
        let press = |app: &mut App, c: char, at: Instant| {
            let mut out = app.update(Msg::Key(Key::Char(c), at));
            if let Some(deadline) = app.deadline() {
                out.extend(app.update(Msg::Tick(deadline, NOW)));
            }
            out
        };
        press(&mut app, 'D', t0 + Duration::from_secs(32));
        assert_eq!(app.deciding, Some(7));
        insta::assert_snapshot!(format!("tui_decision_{tag}_80x24"), screen(&app, 80, 24));
        press(&mut app, 'N', t0 + Duration::from_secs(33));
        for ch in "已打包".chars() {
            press(&mut app, ch, t0 + Duration::from_secs(34));
        }
        let out = app.update(Msg::Key(Key::Enter, t0 + Duration::from_secs(35)));
        assert!(
            out.contains(&Cmd::Send(
                Tag::Decide,
                Request::DecideRequest {
                    request_id: 7,
                    agree: false,
                    reason: "已打包".into(),
                }
            )),
            "{out:?}"
        );
        app.update(Msg::Key(Key::Esc, t0 + Duration::from_secs(36)));
        assert_eq!(app.deciding, None);

        // Snoozed here: no more rings for five minutes, then again.
        press(&mut app, 'Z', t0 + Duration::from_secs(40));
        let out = app.update(Msg::Tick(t0 + Duration::from_secs(200), NOW));
        assert!(!out.contains(&Cmd::Bell), "snoozed");
        assert_eq!(app.visible_notices().count(), 0);
        let out = app.update(Msg::Tick(t0 + Duration::from_secs(345), NOW));
        assert!(out.contains(&Cmd::Bell), "back after the snooze");

        app.update(Msg::Event(Box::new(Event::NoticeResolved {
            key: flashpick::api::Notice::request_key(7),
            by: "agreeing by boss".into(),
        })));
        assert!(app.notices.is_empty());
        let out = app.update(Msg::Tick(t0 + Duration::from_secs(500), NOW));
        assert!(!out.contains(&Cmd::Bell), "resolved: silent");
    }
}

/// The queue names each order's rider and a chased order (which comes first); packed orders come
/// after the ones still to pick, in the order their riders reached the store; the pack screen
/// shows the rider with the masked phone. Snapshots in both languages at 80×24.
#[test]
fn riders_and_chased_orders_on_the_queue_and_the_pack_screen() {
    use flashpick::model::rider::{Rider, RiderStatus};
    let rider = |status, at: i64, arrived: Option<i64>| Rider {
        status,
        name: Some("张师傅".into()),
        phone: Some("138****5678_1234".into()),
        at: Timestamp(NOW.0 + at),
        arrived_at: arrived.map(|a| Timestamp(NOW.0 + a)),
    };
    for lang in [Lang::Zh, Lang::En] {
        let tag = if lang == Lang::Zh { "zh" } else { "en" };
        let mut app = sample(lang);
        let packed = |id: i64, seq: u32, arrived: Option<i64>| {
            let mut v = view_of(
                id,
                Platform::Meituan,
                seq,
                OrderState::Packed,
                -60,
                SlaState::OnTime,
                vec![line(1, "DR001", "农夫山泉 饮用天然水", 1, 1, 0, None)],
                vec![walk(1, "A-01-1", "550ml", Unit::Piece)],
            );
            v.order.bags = Some(1);
            v.order.rider = Some(Box::new(rider(
                if arrived.is_some() {
                    RiderStatus::AtStore
                } else {
                    RiderStatus::Assigned
                },
                0,
                arrived,
            )));
            v
        };
        let late_rider = packed(10, 30, Some(-10_000));
        let early_rider = packed(11, 31, Some(-90_000));
        let no_rider_yet = packed(12, 32, None);
        let mut msgs = vec![late_rider, no_rider_yet, early_rider];
        // JD #7 was chased by the customer.
        let mut chased = app
            .orders
            .iter()
            .find(|o| o.order.id.0 == 2)
            .cloned()
            .unwrap();
        chased.order.reminded_at = Some(NOW);
        chased.order.rider = Some(Box::new(rider(RiderStatus::Assigned, 0, None)));
        msgs.push(chased);
        for v in msgs {
            app.update(Msg::Event(Box::new(flashpick::api::Event::OrderChanged {
                cause: "rider".into(),
                order: Box::new(v),
            })));
        }
        let order: Vec<i64> = app.orders.iter().map(|o| o.order.id.0).collect();
        assert_eq!(order[0], 2, "the chased order first: {order:?}");
        let packed_order: Vec<i64> = order.iter().copied().filter(|i| *i >= 10).collect();
        assert_eq!(packed_order, [11, 10, 12], "packed by rider arrival");
        insta::assert_snapshot!(
            format!("tui_riders_queue_{tag}_80x24"),
            screen(&app, 80, 24)
        );
        app.screen = Screen::Pack(Packing { id: 11, bags: 1 });
        insta::assert_snapshot!(format!("tui_riders_pack_{tag}_80x24"), screen(&app, 80, 24));
    }
}

/// A customer at the counter: on the queue the code is typed with its platform (day numbers of
/// two platforms collide) and goes to the daemon as a pickup hand-over; without a platform the
/// screen says how to write it.
#[test]
fn a_pickup_code_typed_on_the_queue_names_its_platform() {
    let mut app = sample(Lang::Zh);
    let mut at = app.instant;
    let mut press = |app: &mut App, k: Key| {
        at += Duration::from_secs(1);
        let mut out = app.update(Msg::Key(k, at));
        if let Some(deadline) = app.deadline() {
            out.extend(app.update(Msg::Tick(deadline, NOW)));
        }
        out
    };
    let mut typed = |app: &mut App, text: &str| {
        press(app, Key::Char('g'));
        for ch in text.chars() {
            press(app, Key::Char(ch));
        }
        press(app, Key::Enter)
    };
    let out = typed(&mut app, "美团 24");
    assert!(
        out.contains(&Cmd::Send(
            Tag::Action,
            Request::HandOverPickup {
                order_id: None,
                platform: Platform::Meituan,
                code: "24".into(),
                unchecked: false,
            }
        )),
        "{out:?}"
    );
    let out = typed(&mut app, "24");
    assert!(out.contains(&Cmd::Bell));
    assert!(!out.iter().any(|c| matches!(c, Cmd::Send(..))));
    assert!(app.toast.as_ref().unwrap().text.contains("美团 23"));
}

/// A scan on the pack screen goes to the daemon to judge (and the screen says how an order that
/// needs different handling leaves): the customer's code for an order they
/// collect (a pickup hand-over, checked by its platform), the scanned code with a plain hand-over
/// otherwise (the daemon refuses a label that is not this order's).
#[test]
fn a_scan_on_the_pack_screen_is_judged_by_the_daemon() {
    let mut app = sample(Lang::Zh);
    let mut at = app.instant;
    let mut wedge = |app: &mut App, code: &str| {
        let mut out = Vec::new();
        for ch in code.chars().map(Key::Char).chain([Key::Enter]) {
            at += Duration::from_millis(3);
            out.extend(app.update(Msg::Key(ch, at)));
        }
        out
    };
    let id = app.orders[0].order.id.0;
    app.screen = Screen::Pack(Packing { id, bags: 1 });
    let out = wedge(&mut app, "ORD77");
    assert!(
        out.contains(&Cmd::Send(
            Tag::Action,
            Request::HandOver {
                order_id: id,
                code: Some("ORD77".into()),
            }
        )),
        "{out:?}"
    );
    let o = &mut app.orders[0].order;
    o.delivery = Some(flashpick::model::Delivery::Pickup);
    let platform = o.platform;
    let shown = screen(&app, 80, 24);
    assert!(shown.contains("顾客到店自提"), "{shown}");
    let out = wedge(&mut app, "1234");
    assert!(
        out.contains(&Cmd::Send(
            Tag::Action,
            Request::HandOverPickup {
                order_id: Some(id),
                platform,
                code: "1234".into(),
                unchecked: false,
            }
        )),
        "{out:?}"
    );
}

/// Booked orders wait below the live queue under their own heading, each with the time it joins
/// the queue; when one is released the screen rings as for a new order.
#[test]
fn booked_orders_wait_in_their_own_list_until_released() {
    for lang in [Lang::Zh, Lang::En] {
        let tag = if lang == Lang::Zh { "zh" } else { "en" };
        let mut app = sample(lang);
        let mut booked = view_of(
            20,
            Platform::Meituan,
            40,
            OrderState::Accepted,
            3 * 3600,
            SlaState::OnTime,
            vec![line(1, "DR001", "农夫山泉 饮用天然水", 2, 0, 0, None)],
            vec![walk(1, "A-01-1", "550ml", Unit::Piece)],
        );
        booked.scheduled_until = Some(Timestamp(NOW.0 + 3 * 3_600_000 - 2_700_000));
        app.update(Msg::Event(Box::new(flashpick::api::Event::OrderChanged {
            cause: "accept".into(),
            order: Box::new(booked.clone()),
        })));
        assert_eq!(
            app.orders.last().unwrap().order.id.0,
            20,
            "after the live ones"
        );
        insta::assert_snapshot!(format!("tui_booked_{tag}_80x24"), screen(&app, 80, 24));
        booked.scheduled_until = None;
        let out = app.update(Msg::Event(Box::new(flashpick::api::Event::OrderChanged {
            cause: "released".into(),
            order: Box::new(booked),
        })));
        assert!(out.contains(&Cmd::Bell));
        assert!(app.unclaimed_new);
    }
}

/// A weighed line lighter than ordered shows on the pack screen what the customer paid for and
/// did not get, in grams and money (neither platform gives a call to refund it).
#[test]
fn the_pack_screen_shows_a_weighed_line_under_its_ordered_weight() {
    for lang in [Lang::Zh, Lang::En] {
        let tag = if lang == Lang::Zh { "zh" } else { "en" };
        let mut app = sample(lang);
        let mut pork = line(1, "MT001", "猪前腿肉", 500, 500, 0, Some(465));
        pork.unit_price = Fen(4); // ¥0.04 a gram: ¥40 a kilo
        let v = view_of(
            30,
            Platform::Meituan,
            50,
            OrderState::Picked,
            200,
            SlaState::OnTime,
            vec![pork],
            vec![walk(1, "G-01-1", "称重", Unit::Gram)],
        );
        app.update(Msg::Event(Box::new(flashpick::api::Event::OrderChanged {
            cause: "complete_pick".into(),
            order: Box::new(v),
        })));
        app.screen = Screen::Pack(Packing { id: 30, bags: 1 });
        let text = screen(&app, 80, 24);
        assert!(text.contains("35"), "{text}");
        assert!(text.contains("¥1.40"), "{text}");
        insta::assert_snapshot!(format!("tui_under_weight_{tag}_80x24"), text);
    }
}

/// A printer out of paper with jobs stuck is on the status line, first and loud, with the way
/// out (reprint elsewhere); each order says whether its documents printed or wait; `P`
/// reprints what fits the screen (the slip on the queue, the labels once packed).
#[test]
fn a_printer_out_of_paper_and_the_orders_printed_are_shown_and_p_reprints() {
    use flashpick::api::PrinterStatus;
    use flashpick::model::document::Document;
    for lang in [Lang::Zh, Lang::En] {
        let mut app = sample(lang);
        app.status.as_mut().unwrap().printers = vec![PrinterStatus {
            name: "front".into(),
            address: "10.0.0.31:9100".into(),
            online: Some(false),
            state: Some("paper_out".into()),
            waiting: 3,
            oldest_secs: Some(300),
            printed: 12,
            failures: 4,
            last_error: None,
        }];
        app.orders[0].printed = 1;
        app.orders[1].print_waiting = 2;
        let shown = screen(&app, 160, 48);
        let words = if lang == Lang::Zh {
            [
                "打印机 front: 缺纸 · 3 张待打印 · 最久 5 分钟",
                "已打印",
                "待打印",
            ]
        } else {
            [
                "printer front: out of paper · 3 waiting · oldest 5 min",
                "printed",
                "to print",
            ]
        };
        for w in words {
            assert!(shown.contains(w), "{w} not in:\n{shown}");
        }
        // First on the status line.
        let status = shown.lines().find(|l| l.contains(words[0])).unwrap();
        assert!(status.trim_start().starts_with(words[0]), "{status}");
        // P on the queue: the selected order's slip.
        app.queue_sel = 0;
        let id = app.orders[0].order.id.0;
        // A person's key: a tick after it, so it is not taken for the start of a scan.
        let t = Instant::now() + Duration::from_secs(5);
        let mut out = app.update(Msg::Key(Key::Char('P'), t));
        out.extend(app.update(Msg::Tick(t + Duration::from_millis(100), NOW)));
        assert!(
            out.iter().any(|c| matches!(c, Cmd::Send(_, Request::Reprint { order_id, document: Document::Slip, printer: None }) if *order_id == id)),
            "{out:?}"
        );
    }
}

/// In a batch, a scan says loudly which slot of the cart the unit goes into, and the pack
/// screen shows the order's slot.
#[test]
fn a_batch_scan_says_which_slot_and_the_pack_screen_shows_it() {
    use flashpick::model::batch::BatchSlot;
    for (lang, put, slot) in [
        (Lang::Zh, "放入 B 格", "【B 格】"),
        (Lang::En, "put it in slot B", "【slot B】"),
    ] {
        let mut app = sample(lang);
        for o in &mut app.orders {
            o.order.batch = Some(Box::new(BatchSlot {
                batch: 1,
                slot: "B".into(),
            }));
        }
        let mut ok = wrong_scan(&app);
        ok.result = ScanOutcome::Ok;
        ok.slot = Some("B".into());
        app.screen = Screen::Pick(Picking {
            id: 1,
            line_sel: 0,
            last_scan: Some(Box::new(ok)),
        });
        let shown = screen(&app, 80, 24);
        assert!(shown.contains(put), "{shown}");
        app.screen = Screen::pack(5);
        let shown = screen(&app, 80, 24);
        assert!(shown.contains(slot), "{shown}");
    }
}

/// When the store picks in batches, Enter on the queue claims a batch (the most urgent orders
/// that fit, whichever is selected); the pick screen opens on its first order and follows each
/// scan to the order of the batch it went to, and moves on when an order completes by itself.
#[test]
fn in_batch_mode_enter_claims_a_batch_and_the_pick_screen_follows_the_scans() {
    use flashpick::api::{Event, OrdersReply, Response};
    use flashpick::model::batch::BatchSlot;
    let mut app = sample(Lang::Zh);
    app.status.as_mut().unwrap().batch_max = 3;
    let accepted = app
        .orders
        .iter()
        .position(|o| o.order.state == OrderState::Accepted)
        .unwrap();
    app.queue_sel = accepted;
    let t = Instant::now() + Duration::from_secs(5);
    let mut out = app.update(Msg::Key(Key::Enter, t));
    out.extend(app.update(Msg::Tick(t + Duration::from_millis(100), NOW)));
    assert!(
        out.iter().any(|c| matches!(c, Cmd::Send(Tag::ClaimBatch, Request::ClaimBatch { picker }) if picker == "p1")),
        "{out:?}"
    );
    // The daemon's answer: two orders in slots A and B.
    let mut batch: Vec<_> = app.orders.iter().take(2).cloned().collect();
    for (o, slot) in batch.iter_mut().zip(["A", "B"]) {
        o.order.state = OrderState::Picking;
        o.order.picker = Some("p1".into());
        o.order.batch = Some(Box::new(BatchSlot {
            batch: 99,
            slot: slot.into(),
        }));
    }
    let (a, b) = (batch[0].order.id.0, batch[1].order.id.0);
    app.update(Msg::Reply(
        Tag::ClaimBatch,
        Ok(Response::Orders(OrdersReply {
            orders: batch.clone(),
        })),
    ));
    assert_eq!(app.screen.picking(), Some(a));
    // A scan went to B: the screen shows B, and says the slot.
    let mut r = wrong_scan(&app);
    r.result = ScanOutcome::Ok;
    r.slot = Some("B".into());
    r.order = Some(batch[1].clone());
    app.update(Msg::Event(Box::new(Event::ScanResult {
        reply: Box::new(r.clone()),
    })));
    assert_eq!(app.screen.picking(), Some(b));
    // B completed by itself: on to A, the order of the batch still in picking.
    let mut done = batch[1].clone();
    done.order.state = OrderState::Picked;
    r.order = Some(done);
    app.update(Msg::Event(Box::new(Event::ScanResult {
        reply: Box::new(r),
    })));
    assert_eq!(app.screen.picking(), Some(a));
}
