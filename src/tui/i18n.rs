//! Every word the screens show, once per language. Chinese is the default; English by config
//! or `--lang en`.

use crate::model::{OrderState, Platform, SlaState};

pub use crate::model::Lang;

/// The fixed strings of one language.
#[derive(Debug)]
pub struct Strings {
    /// Queue title.
    pub queue: &'static str,
    /// Queue column headers: due, platform, #, lines, units, picker, state.
    pub queue_cols: [&'static str; 7],
    /// Queue keys.
    pub queue_keys: &'static str,
    /// Empty queue.
    pub no_orders: &'static str,
    /// The flashing banner while a new order waits.
    pub new_order: &'static str,
    /// Pick column headers: location, item, spec, qty, picked, short.
    pub pick_cols: [&'static str; 6],
    /// Pick keys.
    pub pick_keys: &'static str,
    /// Pack keys.
    pub pack_keys: &'static str,
    /// Stock column headers: sku, item, location, on hand, reserved, barcode.
    pub stock_cols: [&'static str; 6],
    /// Stock keys.
    pub stock_keys: &'static str,
    /// The report screen's title.
    pub report: &'static str,
    /// Keys on the report screen.
    pub report_keys: &'static str,
    /// Stock title.
    pub stock: &'static str,
    /// The search prompt.
    pub search: &'static str,
    /// The connection-lost banner.
    pub reconnecting: &'static str,
    /// Connecting.
    pub connecting: &'static str,
    /// Online / offline.
    pub online: &'static str,
    /// Offline.
    pub offline: &'static str,
    /// Outbox label.
    pub outbox: &'static str,
    /// Scanners label.
    pub scanners: &'static str,
    /// Local config only.
    pub local_config: &'static str,
    /// Short reasons, in key order 1–4.
    pub reasons: [&'static str; 4],
    /// Help title.
    pub help: &'static str,
    /// All keys, for the help screen.
    pub help_lines: &'static [&'static str],
    /// Bags.
    pub bags: &'static str,
    /// Prompt: why the store closes at the platforms.
    pub close_reason: &'static str,
    /// Under a pick line: a customer asks for some of it back (a partial refund waiting).
    pub refund_asked: &'static str,
    /// The parked-rows list: title, keys, and what it says when empty.
    pub parked: [&'static str; 3],
    /// Pickup code.
    pub pickup: &'static str,
    /// How an order that needs different handling on the floor leaves: the store's own rider,
    /// the customer at the counter.
    pub leaves_by: [&'static str; 2],
    /// "Put back:" in the cancel alert.
    pub put_back: &'static str,
    /// Keys of the cancel alert.
    pub cancel_keys: &'static str,
    /// Title of a customer's request.
    pub request_title: &'static str,
    /// Prompt: a customer's pickup code.
    pub pickup_prompt: &'static str,
    /// The heading of booked orders not yet in the queue.
    pub booked: &'static str,
    /// The mark of an item sold out.
    pub sold_out: &'static str,
    /// A weighed line lighter than ordered: "short by".
    pub under_weight: &'static str,
    /// The stock screen before a search: the items marked sold out.
    pub sold_out_list: &'static str,
    /// How to type a pickup code with its platform.
    pub pickup_hint: &'static str,
    /// Keys of the decision dialog.
    pub decide_keys: &'static str,
    /// Keys of the notice line.
    pub notice_keys: &'static str,
    /// Prompt: the reason to reject a customer's request.
    pub reject_reason: &'static str,
    /// The customer's reason.
    pub customer_reason: &'static str,
    /// Prompt: how many short.
    pub short_qty: &'static str,
    /// Prompt: short reason.
    pub short_reason: &'static str,
    /// Prompt: received quantity.
    pub receive_qty: &'static str,
    /// Prompt: counted quantity.
    pub count_qty: &'static str,
    /// Prompt: adjustment.
    pub adjust_qty: &'static str,
    /// Prompt: reason.
    pub reason: &'static str,
    /// Weighed marker.
    pub weighed: &'static str,
    /// The remark label.
    pub remark: &'static str,
    /// Items of the order the catalog does not have.
    pub not_in_catalog: &'static str,
    /// Everything picked: press Enter.
    pub ready_to_complete: &'static str,
    /// Pieces unit.
    pub pieces: &'static str,
    /// Grams unit.
    pub grams: &'static str,
    /// Orders waiting / pickers.
    pub capacity: &'static str,
    /// An order's documents printed; waiting at a printer.
    pub printed: [&'static str; 2],
    /// A reprint queued: `{n}` jobs on `{printers}`.
    pub reprinted: &'static str,
    /// A printer's problems: the word, then "{n} waiting", then "oldest {m} min".
    pub printer: [&'static str; 3],
}

const ZH: Strings = Strings {
    queue: "订单队列",
    queue_cols: ["截止", "平台", "序号", "行", "件数", "拣货员", "状态"],
    queue_keys: "↑↓选择 Enter领取 a接单 p打包 P重打 s库存 R数据 ?帮助 q退出",
    no_orders: "暂无待处理订单",
    new_order: "新订单！",
    pick_cols: ["货位", "商品", "规格", "数量", "已拣", "缺货"],
    pick_keys: "扫码拣货 x缺货 u撤销 r放回 Enter完成 Esc返回",
    pack_keys: "+/-袋数 Enter打包 h交接 P重打标签 Esc返回",
    stock_cols: ["货号", "商品", "货位", "在库", "占用", "条码"],
    stock_keys: "/搜索 r收货 n盘点 j调整 Esc返回",
    report: "今日数据",
    report_keys: "r刷新 Esc返回（每15秒自动刷新）",
    stock: "库存",
    search: "搜索（货号/条码/名称）：",
    reconnecting: "与守护进程的连接已断开，正在重连…",
    connecting: "正在连接守护进程…",
    online: "在线",
    offline: "离线",
    outbox: "待发",
    scanners: "扫描枪",
    local_config: "本地配置",
    reasons: ["缺货", "破损", "过期", "其他"],
    help: "按键说明",
    help_lines: &[
        "队列：↑↓ 选择订单，Enter 领取拣货，a 接单，p 打包选中订单，s 库存",
        "队列：t 接手他人正在拣的订单（转交会被记录）",
        "拣货：扫描商品条码；x 标记缺货，u 撤销上次扫描，r 放回队列，Enter 完成拣货",
        "打包：+ / - 调整袋数，Enter 确认打包，h 交给骑手（或扫描取货码）",
        "库存：/ 搜索，r 收货，n 盘点，j 调整（需原因）",
        "取消提醒：Enter 确认商品已放回货架",
        "顾客申请（退款、取消）：D 打开并决定（店长），Z 本屏暂缓 5 分钟",
        "平台拒收或无法确认的记录：O 查看，d 标为完成 / r 重新发送（店长）",
        "店铺营业状态：C 暂停营业（需原因），V 恢复营业（店长）",
        "今日数据：R 查看接单、准时率、缺货、拣货员效率和每小时图表",
        "重新打印：P（队列：小票，已打包则为标签；拣货：拣货单；打包：标签）",
        "顾客自提：队列 g 输入取货码（美团 23），打包界面 h 输入取货码",
        "任意界面：? 帮助，Esc 返回，q 退出",
    ],
    bags: "袋数",
    close_reason: "暂停营业（休息）的原因，各平台都将不再派单：",
    refund_asked: "顾客申请退款，等店长决定",
    parked: [
        "平台拒收 / 无法确认的记录（店长处理）",
        "↑↓ 选择  d 平台上已有，标为完成  r 重新发送  Esc 关闭",
        "没有搁置的记录",
    ],
    pickup: "取货码",
    leaves_by: ["本店骑手配送", "顾客到店自提：问顾客要取货码（h）"],
    put_back: "请把以下商品放回货架：",
    cancel_keys: "Enter 已放回  Esc 稍后处理",
    request_title: "顾客申请",
    sold_out: "【售罄】",
    under_weight: "少称",
    sold_out_list: "已标记售罄的商品（各平台显示 0；收货、盘点或 o 键（店长）解除）  / 搜索",
    booked: "预订单（到点自动进入队列，时间为入队时间）",
    pickup_prompt: "顾客取货码（队列中请带平台：美团 23 / 京东 …）",
    pickup_hint: "取货码前请写平台：美团 23、京东 123456",
    decide_keys: "Y 同意  N 拒绝（需原因）  Esc 稍后",
    notice_keys: "D 决定  Z 暂缓5分钟",
    reject_reason: "拒绝原因（顾客可见）",
    customer_reason: "顾客原因：",
    short_qty: "缺货数量",
    short_reason: "原因：1缺货 2破损 3过期 4其他",
    receive_qty: "收货数量",
    count_qty: "盘点实数",
    adjust_qty: "调整数量（负数为减少）",
    reason: "原因",
    weighed: "称重",
    remark: "备注",
    not_in_catalog: "目录中没有（标缺货或取消订单）",
    ready_to_complete: "已全部拣完或标记缺货，按 Enter 完成拣货",
    pieces: "件",
    grams: "克",
    capacity: "待拣 {open} 单 · 拣货中 {picking} 单",
    printed: ["已打印", "待打印"],
    reprinted: "已加入打印：{n} 张（{printers}）",
    printer: [
        "打印机",
        "{n} 张待打印",
        "最久 {m} 分钟，可换打印机重打（P）",
    ],
};

const EN: Strings = Strings {
    queue: "Order queue",
    queue_cols: ["Due", "Platform", "#", "Ln", "Units", "Picker", "State"],
    queue_keys: "↑↓ select Enter claim a accept p pack P print s stock R numbers ? help q quit",
    no_orders: "No open orders",
    new_order: "NEW ORDER!",
    pick_cols: ["Location", "Item", "Spec", "Qty", "Picked", "Short"],
    pick_keys: "scan items x short u undo r release Enter complete Esc back",
    pack_keys: "+/- bags Enter pack h hand over P print labels Esc back",
    stock_cols: ["SKU", "Item", "Location", "On hand", "Reserved", "Barcode"],
    stock_keys: "/ search r receive n count j adjust Esc back",
    report: "Today's numbers",
    report_keys: "r refresh Esc back (refreshed every 15 s)",
    stock: "Stock",
    search: "Search (sku, barcode, name): ",
    reconnecting: "Lost the connection to the daemon — reconnecting…",
    connecting: "Connecting to the daemon…",
    online: "online",
    offline: "OFFLINE",
    outbox: "outbox",
    scanners: "scanners",
    local_config: "local config",
    reasons: ["out of stock", "damaged", "expired", "other"],
    help: "Keys",
    help_lines: &[
        "Queue: ↑↓ select, Enter claim and pick, a accept, p pack the selected order, s stock",
        "Queue: t take over an order another picker has (the transfer is logged)",
        "Pick: scan each item; x mark short, u undo the last scan, r release, Enter complete",
        "Pack: + / - bags, Enter pack, h hand to the rider (or scan the pickup code)",
        "Stock: / search, r receive, n count a shelf, j adjust (with a reason)",
        "Cancel alert: Enter when the goods are back on the shelf",
        "Customer requests (refunds, cancels): D to decide (a manager), Z snoozes them here for 5 min",
        "Parked rows (refused, or nobody can tell): O to see, d done / r send again (a manager)",
        "The store at the platforms: C close it (with a reason), V open it again (a manager)",
        "Today's numbers: R for orders, on-time rate, shorts, pickers and charts per hour",
        "P print again: the slip, labels once packed, the pick list when picking",
        "Customer pickup: g on the queue with the code (m23), h on the pack screen",
        "Anywhere: ? help, Esc back, q quit",
    ],
    bags: "Bags",
    close_reason: "Why the store closes (no new orders from any platform):",
    refund_asked: "the customer asks a refund, a manager decides",
    parked: [
        "Rows the platforms refused, or nobody can tell about (a manager's)",
        "↑↓ select  d it is at the platform: done  r send again  Esc close",
        "No parked rows",
    ],
    pickup: "Pickup code",
    leaves_by: [
        "The store's own rider delivers",
        "The customer collects: ask for their code (h)",
    ],
    put_back: "Put these back on the shelf:",
    cancel_keys: "Enter done  Esc later",
    request_title: "Customer request",
    sold_out: "[SOLD OUT]",
    under_weight: "under by",
    sold_out_list: "Items marked sold out (0 on every platform; a receipt, a count or o (a manager) clears)  / search",
    booked: "Booked orders (join the queue by themselves at the time shown)",
    pickup_prompt: "Customer's pickup code (on the queue with its platform: m23 / j…)",
    pickup_hint: "Name the platform before the code: m23 (Meituan), j123456 (JD)",
    decide_keys: "Y agree  N reject (with a reason)  Esc later",
    notice_keys: "D decide  Z snooze 5 min",
    reject_reason: "Reason to reject (the customer sees it)",
    customer_reason: "Customer's reason: ",
    short_qty: "Units short",
    short_reason: "Reason: 1 out of stock 2 damaged 3 expired 4 other",
    receive_qty: "Units received",
    count_qty: "Units counted",
    adjust_qty: "Change (negative removes)",
    reason: "Reason",
    weighed: "weighed",
    remark: "Remark",
    not_in_catalog: "Not in the catalog (mark short or cancel)",
    ready_to_complete: "Every line is picked or short: press Enter to complete",
    pieces: "pc",
    grams: "g",
    capacity: "{open} open · {picking} picking",
    printed: ["printed", "to print"],
    reprinted: "queued to print: {n} ({printers})",
    printer: [
        "printer",
        "{n} waiting",
        "oldest {m} min: reprint elsewhere (P)",
    ],
};

impl Lang {
    /// This language's strings.
    pub fn strings(self) -> &'static Strings {
        match self {
            Lang::Zh => &ZH,
            Lang::En => &EN,
        }
    }

    /// A platform's name.
    pub fn platform(self, p: Platform) -> &'static str {
        match (self, p) {
            (Lang::Zh, Platform::Meituan) => "美团",
            (Lang::Zh, Platform::Jddj) => "京东到家",
            (Lang::Zh, Platform::Hq) => "总部",
            (Lang::En, Platform::Meituan) => "Meituan",
            (Lang::En, Platform::Jddj) => "JD Daojia",
            (Lang::En, Platform::Hq) => "HQ",
        }
    }

    /// An order state's name.
    pub fn state(self, s: OrderState) -> &'static str {
        use OrderState::*;
        match (self, s) {
            (Lang::Zh, New) => "新订单",
            (Lang::Zh, Accepted) => "待拣货",
            (Lang::Zh, Picking) => "拣货中",
            (Lang::Zh, Picked) => "待打包",
            (Lang::Zh, Packed) => "待交接",
            (Lang::Zh, HandedOver) => "已交接",
            (Lang::Zh, Cancelled) => "已取消",
            (Lang::En, New) => "new",
            (Lang::En, Accepted) => "to pick",
            (Lang::En, Picking) => "picking",
            (Lang::En, Picked) => "to pack",
            (Lang::En, Packed) => "to hand over",
            (Lang::En, HandedOver) => "handed over",
            (Lang::En, Cancelled) => "cancelled",
        }
    }

    /// An SLA state's word.
    pub fn sla(self, s: SlaState) -> &'static str {
        match (self, s) {
            (Lang::Zh, SlaState::OnTime) => "准时",
            (Lang::Zh, SlaState::AtRisk) => "紧急",
            (Lang::Zh, SlaState::Late) => "超时",
            (Lang::En, SlaState::OnTime) => "on time",
            (Lang::En, SlaState::AtRisk) => "at risk",
            (Lang::En, SlaState::Late) => "LATE",
        }
    }

    /// A channel's name in the status bar.
    pub fn channel(self, name: &str) -> &'static str {
        match name {
            "meituan" => self.platform(Platform::Meituan),
            "jddj" => self.platform(Platform::Jddj),
            _ => self.platform(Platform::Hq),
        }
    }

    /// The big line after a scan.
    pub fn scan_result(self, r: &crate::api::ScanReply) -> String {
        use crate::api::ScanOutcome::*;
        let name = r.name.clone().unwrap_or_default();
        let code = &r.code;
        let line = r.line_no.and_then(|l| {
            r.order
                .as_ref()
                .and_then(|o| o.order.lines.iter().find(|x| x.line_no == l))
                .map(|x| (x.picked, x.qty))
        });
        let progress = line.map_or(String::new(), |(p, q)| format!(" {p}/{q}"));
        match (self, r.result) {
            (Lang::Zh, Ok) => format!("✔ 正确 {name}{progress}"),
            (Lang::Zh, WrongItem) => format!("✘ 拿错了：{name}（{code}）不在本单"),
            (Lang::Zh, Over) => format!("✘ 多拿了：{name} 已够数"),
            (Lang::Zh, Unknown) => format!("✘ 未知条码 {code}"),
            (Lang::Zh, Invalid) => format!("✘ 条码无效 {code}：{}", r.message),
            (Lang::Zh, NoOrder) => format!("✘ 没有拣货中的订单：{}", r.message),
            (Lang::Zh, Badge) => format!(
                "✔ 扫描枪已绑定拣货员 {}",
                r.picker.clone().unwrap_or_default()
            ),
            (Lang::En, Ok) => format!("✔ OK {name}{progress}"),
            (Lang::En, WrongItem) => format!("✘ WRONG ITEM: {name} ({code}) is not in this order"),
            (Lang::En, Over) => format!("✘ OVER: the order has all the {name} it needs"),
            (Lang::En, Unknown) => format!("✘ UNKNOWN code {code}"),
            (Lang::En, Invalid) => format!("✘ BAD CODE {code}: {}", r.message),
            (Lang::En, NoOrder) => format!("✘ NO ORDER: {}", r.message),
            (Lang::En, Badge) => format!(
                "✔ scanner bound to picker {}",
                r.picker.clone().unwrap_or_default()
            ),
            (Lang::Zh, Slot) => format!("✔ 下一件放入 {} 格", r.slot.clone().unwrap_or_default()),
            (Lang::En, Slot) => format!(
                "✔ the next unit goes into slot {}",
                r.slot.clone().unwrap_or_default()
            ),
        }
    }

    /// The order title: `美团 #23`.
    pub fn order_title(self, p: Platform, seq: u32) -> String {
        format!("{} #{seq}", self.platform(p))
    }

    /// Where a picked unit goes in a batch: "放入 B 格" / "put it in slot B".
    pub fn put_in(self, slot: &str) -> String {
        match self {
            Lang::Zh => format!("放入 {slot} 格"),
            Lang::En => format!("put it in slot {slot}"),
        }
    }

    /// A cart slot: "B 格" / "slot B".
    pub fn slot(self, slot: &str) -> String {
        match self {
            Lang::Zh => format!("{slot} 格"),
            Lang::En => format!("slot {slot}"),
        }
    }

    /// The store closed, or not yet confirmed, at a platform: "美团 休息中 (手动, 至 21:30)".
    pub fn store_state(self, s: &crate::model::capacity::OpenState) -> Option<String> {
        if s.want_open && !s.pending() {
            return None;
        }
        let until = s
            .until
            .map(|t| crate::model::china_time::time_of_day(t)[..5].to_string());
        let zh = self == Lang::Zh;
        let what = match (s.want_open, s.pending()) {
            (false, false) if zh => "休息中",
            (false, false) => "closed",
            (false, true) if zh => "关店中(待平台确认)",
            (false, true) => "closing (not confirmed)",
            (true, _) if zh => "开店中(待平台确认)",
            (true, _) => "opening (not confirmed)",
        };
        let how = match (s.automatic, zh) {
            (true, true) => "自动",
            (false, true) => "手动",
            (true, false) => "auto",
            (false, false) => "manual",
        };
        let until = match (until, zh) {
            (Some(t), true) => format!(", 至 {t}"),
            (Some(t), false) => format!(", until {t}"),
            (None, _) => String::new(),
        };
        Some(format!(
            "{} {what} ({how}{until})",
            self.platform(s.platform)
        ))
    }

    /// A parked row resolved by hand.
    pub fn resolved(self, row: i64, done: bool) -> String {
        match (self, done) {
            (Lang::Zh, true) => format!("记录 {row} 已标为完成"),
            (Lang::Zh, false) => format!("记录 {row} 将重新发送"),
            (Lang::En, true) => format!("row {row} marked done"),
            (Lang::En, false) => format!("row {row} will be sent again"),
        }
    }

    /// What a customer's request asks, in words.
    pub fn request_kind(self, r: &crate::model::request::CustomerRequest) -> String {
        use crate::model::request::RequestKind as K;
        let items: Vec<String> = r.asked.items.iter().map(|i| i.label()).collect();
        match (self, r.asked.kind) {
            (Lang::Zh, K::FullRefund) => "申请全额退款".into(),
            (Lang::Zh, K::Cancel) => "申请取消订单".into(),
            (Lang::Zh, K::PartRefund) => format!("申请部分退款：{}", items.join("、")),
            (Lang::En, K::FullRefund) => "asks a full refund".into(),
            (Lang::En, K::Cancel) => "asks to cancel the order".into(),
            (Lang::En, K::PartRefund) => format!("asks a refund of {}", items.join(", ")),
        }
    }

    /// Time left to decide: `剩 08:12`, or that the platform may have decided.
    pub fn decide_left(self, secs: i64) -> String {
        let mmss = format!("{:02}:{:02}", secs / 60, secs % 60);
        match (self, secs > 0) {
            (Lang::Zh, true) => format!("剩 {mmss}"),
            (Lang::Zh, false) => "已超时，平台可能已自动处理".into(),
            (Lang::En, true) => format!("{mmss} left"),
            (Lang::En, false) => "time is up: the platform may have decided".into(),
        }
    }

    /// A rider's status, short, for the queue and the pack screen.
    pub fn rider(self, r: &crate::model::rider::Rider) -> String {
        use crate::model::rider::RiderStatus as R;
        let status = match (self, r.status) {
            (Lang::Zh, R::Dispatching) => "待派骑手",
            (Lang::Zh, R::Assigned) => "骑手已接单",
            (Lang::Zh, R::AtStore) => "骑手到店",
            (Lang::Zh, R::PickedUp) => "骑手已取货",
            (Lang::Zh, R::Delivered) => "已送达",
            (Lang::Zh, R::Cancelled) => "配送取消",
            (Lang::En, R::Dispatching) => "finding rider",
            (Lang::En, R::Assigned) => "rider assigned",
            (Lang::En, R::AtStore) => "RIDER HERE",
            (Lang::En, R::PickedUp) => "rider has it",
            (Lang::En, R::Delivered) => "delivered",
            (Lang::En, R::Cancelled) => "delivery CANCELLED",
        };
        status.to_string()
    }

    /// The customer chased the order.
    pub fn reminded(self) -> &'static str {
        match self {
            Lang::Zh => "催单",
            Lang::En => "CHASED",
        }
    }

    /// The rider line of the pack screen: status, name, masked phone.
    pub fn rider_line(self, r: &crate::model::rider::Rider) -> String {
        let who = [r.name.as_deref(), r.phone.as_deref()]
            .into_iter()
            .flatten()
            .collect::<Vec<_>>()
            .join(" ");
        let label = match self {
            Lang::Zh => "骑手",
            Lang::En => "Rider",
        };
        format!("{label}: {} {who}", self.rider(r))
    }

    /// "Order #23: part refunded".
    pub fn refunded(self, seq: u32) -> String {
        match self {
            Lang::Zh => format!("订单 #{seq} 部分退款已同意！"),
            Lang::En => format!("Order #{seq}: partial refund GRANTED!"),
        }
    }

    /// "Order #23 was cancelled".
    pub fn cancelled(self, seq: u32) -> String {
        match self {
            Lang::Zh => format!("订单 #{seq} 已取消！"),
            Lang::En => format!("Order #{seq} was CANCELLED!"),
        }
    }
}
