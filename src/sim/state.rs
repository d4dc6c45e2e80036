//! What the simulated platforms know: orders and their status, every effect the store caused,
//! every stock level it published, calls, refusals and faults.

use crate::model::china_time;
use crate::model::{Platform, Timestamp};
use serde::Serialize;
use serde_json::{Value, json};
use std::collections::{BTreeMap, HashMap};

/// Meituan order status: pushed to the merchant.
pub const MT_PUSHED: i64 = 2;
/// Meituan: merchant confirmed.
pub const MT_CONFIRMED: i64 = 4;
/// Meituan: cancelled.
pub const MT_CANCELLED: i64 = 9;
/// JD: waiting for the merchant.
pub const JD_WAITING: i64 = 41000;
/// JD: accepted.
pub const JD_ACCEPTED: i64 = 41010;
/// JD: picked, waiting to leave the store.
pub const JD_PICKED: i64 = 32000;
/// JD: the customer cancelled.
pub const JD_CANCELLED: i64 = 20020;

/// One item of a simulated order.
#[derive(Debug, Clone, Serialize)]
pub struct SimItem {
    /// Merchant code (the store's sku).
    pub sku: String,
    /// The platform's own item id.
    pub platform_item: String,
    /// Name.
    pub name: String,
    /// Barcode.
    pub upc: Option<String>,
    /// Units ordered.
    pub count: i64,
    /// Price of one unit, fen.
    pub price_fen: i64,
    /// Grams per unit for weighed goods.
    pub weight_g: Option<i64>,
    /// Units refunded so far, by the store's partial refunds and the customer's granted ones:
    /// each applied as it comes, as a platform without dedupe would (a refund sent twice is
    /// paid twice).
    pub refunded: i64,
}

impl SimItem {
    /// Units that can still be refunded.
    pub fn refundable(&self) -> i64 {
        self.count - self.refunded
    }
}

/// A simulated order.
#[derive(Debug, Clone, Serialize)]
pub struct SimOrder {
    /// Platform.
    pub platform: Platform,
    /// Order id.
    pub id: String,
    /// Day sequence.
    pub day_seq: u32,
    /// The platform's status code.
    pub status: i64,
    /// Items.
    pub items: Vec<SimItem>,
    /// Created (Unix seconds).
    pub ctime: i64,
    /// Confirmed by the store.
    pub accepted: bool,
    /// Pick complete reported.
    pub picked: bool,
    /// Adjusted / partly refunded.
    pub adjusted: bool,
    /// Cancelled (by anyone).
    pub cancelled: bool,
    /// Remark.
    pub remark: String,
    /// JD's `deliveryCarrierNo`: 9966 JD's riders, 2938 the store's own, 9999 the customer
    /// collects (empty for Meituan).
    pub carrier: String,
    /// The customer's latest refund or cancel request.
    pub request: Option<super::after_sale::SimRequest>,
    /// A booked delivery (预订单), Unix seconds; 0: as soon as possible.
    pub deliver_at: i64,
    /// The rider's last status pushed (`at_store`, …, or a raw code); empty before any.
    pub rider: String,
    /// Reminders (催单) pushed.
    pub reminders: u32,
}

/// Something the store did on the platform, accepted, in arrival order.
#[derive(Debug, Clone, Serialize)]
pub struct Effect {
    /// Platform.
    pub platform: Platform,
    /// `confirm`, `pick_complete`, `adjust`, `refund`, `cancel`, `reject`, `stock`.
    pub action: String,
    /// The order, when there is one.
    pub order: Option<String>,
    /// Details (refunded lines, remaining lines, levels).
    pub detail: Value,
}

/// A fault to inject.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum FaultKind {
    /// HTTP 503.
    ServerError,
    /// Meituan 711 / JD 10032.
    RateLimit,
    /// Answer after this many milliseconds.
    Slow(u64),
    /// Never answer (the client times out).
    Drop,
    /// Cut the connection mid-answer (the client reads a broken answer).
    Cut,
    /// HTTP 429.
    TooMany,
    /// Do what was asked, then lose the answer (HTTP 503): the client must not do it twice.
    LoseAnswer,
    /// Do what was asked, then cut the connection instead of answering.
    CutAfter,
}

impl FaultKind {
    /// Hits after the call took effect (the answer is what is lost).
    pub fn after(&self) -> bool {
        matches!(self, FaultKind::LoseAnswer | FaultKind::CutAfter)
    }
}

/// A fault and how many more requests it hits.
#[derive(Debug, Clone, Serialize)]
pub struct Fault {
    /// Only this platform, or both.
    pub platform: Option<Platform>,
    /// What happens.
    pub kind: FaultKind,
    /// Requests left; `None` until cleared.
    pub remaining: Option<u32>,
    /// Only calls whose path contains this (e.g. `applyPartRefund`), or every call.
    pub path: Option<String>,
    /// Matching calls to let through before it starts.
    pub skip: u32,
}

impl Fault {
    fn hits(&self, platform: Platform, path: &str) -> bool {
        self.platform.is_none_or(|p| p == platform)
            && self.path.as_deref().is_none_or(|p| path.contains(p))
    }
}

/// A catalog item the generator sells.
#[derive(Debug, Clone)]
struct CatalogItem {
    sku: String,
    name: String,
    upc: Option<String>,
    price_fen: i64,
    /// Weighed goods: grams per portion sold.
    portion_g: Option<i64>,
}

/// The simulated platforms' state.
pub struct State {
    /// Orders by id.
    pub orders: BTreeMap<String, SimOrder>,
    /// Every accepted effect, in order.
    pub effects: Vec<Effect>,
    /// Every level published, per `platform:sku`.
    pub levels: BTreeMap<String, Vec<i64>>,
    /// Calls per `platform path`.
    pub calls: BTreeMap<String, u64>,
    /// Stock calls (each may carry many levels).
    pub stock_calls: u64,
    /// Requests refused for their signature.
    pub bad_signatures: u64,
    /// Faults to inject.
    pub faults: Vec<Fault>,
    /// Pushes sent: (platform, message, order, answered ok).
    pub pushes: Vec<(Platform, String, String, bool)>,
    /// The agent's push receiver.
    pub push_to: Option<String>,
    /// Platforms at which the store is closed (休息): they send it no new orders.
    pub closed: Vec<Platform>,
    next_id: u64,
    day_seq: HashMap<Platform, u32>,
    catalog: Vec<CatalogItem>,
    rng: u64,
}

/// The items a platform sells, from a catalog CSV: sku, name, the first barcode, the price and,
/// for weighed items, the portion. Rows it cannot read are not sold.
fn sim_catalog(text: &str) -> Vec<CatalogItem> {
    let mut reader = csv::ReaderBuilder::new()
        .flexible(true)
        .trim(csv::Trim::All)
        .from_reader(text.as_bytes());
    let Ok(headers) = reader.headers().cloned() else {
        return Vec::new();
    };
    let col = |name: &str| headers.iter().position(|h| h == name);
    let (sku, name, barcode) = (col("sku"), col("name"), col("barcode"));
    let (price, unit, portion) = (col("price_fen"), col("unit"), col("sale_unit_g"));
    reader
        .records()
        .filter_map(Result::ok)
        .filter_map(|r| {
            let get = |c: Option<usize>| c.and_then(|i| r.get(i)).filter(|v| !v.is_empty());
            let weighed = matches!(get(unit), Some("g" | "gram" | "克"));
            Some(CatalogItem {
                sku: get(sku)?.to_string(),
                name: get(name)?.to_string(),
                upc: get(barcode)
                    .and_then(|b| b.split('|').next())
                    .map(str::to_string),
                price_fen: get(price).and_then(|p| p.parse().ok()).unwrap_or(1500),
                portion_g: get(portion)
                    .and_then(|p| p.parse().ok())
                    .filter(|_| weighed),
            })
        })
        .collect()
}

impl State {
    /// An empty platform with the sample catalog.
    pub fn new() -> Self {
        Self::with_catalog(include_str!("../../assets/catalog-sample.csv"))
    }

    /// An empty platform selling the items of a catalog CSV (the file `catalog import` reads).
    /// Read here with the csv crate alone, not with the store's importer: the simulator stands
    /// for the platform, which knows the items it sells without the agent's code.
    pub fn with_catalog(csv: &str) -> Self {
        let catalog = sim_catalog(csv);
        State {
            orders: BTreeMap::new(),
            effects: Vec::new(),
            levels: BTreeMap::new(),
            calls: BTreeMap::new(),
            stock_calls: 0,
            bad_signatures: 0,
            faults: Vec::new(),
            pushes: Vec::new(),
            push_to: None,
            closed: Vec::new(),
            next_id: 0,
            day_seq: HashMap::new(),
            catalog,
            rng: 0x9e37_79b9_7f4a_7c15,
        }
    }

    fn random(&mut self, n: usize) -> usize {
        // xorshift: reproducible, no dependency.
        self.rng ^= self.rng << 13;
        self.rng ^= self.rng >> 7;
        self.rng ^= self.rng << 17;
        (self.rng % n.max(1) as u64) as usize
    }

    /// Creates an order; random items from the catalog when `items` is empty.
    pub fn create_order(
        &mut self,
        platform: Platform,
        items: &[(String, i64)],
        now: Timestamp,
    ) -> Result<SimOrder, String> {
        // A store resting at a platform gets no orders from it.
        if self.closed.contains(&platform) {
            return Err(format!("the store is closed (休息) at {platform}"));
        }
        let picks: Vec<(CatalogItem, i64)> = if items.is_empty() {
            let n = 1 + self.random(4);
            (0..n)
                .map(|_| {
                    let i = self.random(self.catalog.len());
                    let q = 1 + self.random(3) as i64;
                    (self.catalog[i].clone(), q)
                })
                .collect()
        } else {
            items
                .iter()
                .map(|(sku, q)| {
                    let item = self
                        .catalog
                        .iter()
                        .find(|c| &c.sku == sku)
                        .cloned()
                        .unwrap_or(CatalogItem {
                            sku: sku.clone(),
                            name: format!("商品 {sku}"),
                            upc: None,
                            price_fen: 1000,
                            portion_g: None,
                        });
                    (item, *q)
                })
                .collect()
        };
        if picks.is_empty() {
            return Err("the order has no items".into());
        }
        self.next_id += 1;
        let id = match platform {
            Platform::Meituan => format!("2700{:011}", self.next_id),
            _ => format!("9{:011}", self.next_id),
        };
        let seq = self.day_seq.entry(platform).or_insert(0);
        *seq += 1;
        let order = SimOrder {
            platform,
            id: id.clone(),
            day_seq: *seq,
            status: if platform == Platform::Meituan {
                MT_PUSHED
            } else {
                JD_WAITING
            },
            items: picks
                .into_iter()
                .enumerate()
                .map(|(i, (c, q))| SimItem {
                    platform_item: format!("{}-{}", c.sku, i + 1),
                    weight_g: c.portion_g,
                    sku: c.sku,
                    name: c.name,
                    upc: c.upc,
                    count: q,
                    refunded: 0,
                    price_fen: c.price_fen,
                })
                .collect(),
            ctime: now.0 / 1000,
            accepted: false,
            picked: false,
            adjusted: false,
            cancelled: false,
            remark: "缺货时电话与我沟通".into(),
            carrier: if platform == Platform::Jddj {
                "9966".into()
            } else {
                String::new()
            },
            request: None,
            deliver_at: 0,
            rider: String::new(),
            reminders: 0,
        };
        self.orders.insert(id, order.clone());
        Ok(order)
    }

    /// The customer cancels.
    pub fn customer_cancel(&mut self, platform: Platform, id: &str) -> Result<(), String> {
        let o = self
            .orders
            .get_mut(id)
            .filter(|o| o.platform == platform)
            .ok_or("no such order")?;
        if o.cancelled {
            return Err("already cancelled".into());
        }
        o.cancelled = true;
        o.status = if platform == Platform::Meituan {
            MT_CANCELLED
        } else {
            JD_CANCELLED
        };
        Ok(())
    }

    /// Counts a call and returns the fault to inject into it, if any.
    pub fn call(&mut self, platform: Platform, path: &str) -> Option<FaultKind> {
        *self
            .calls
            .entry(format!("{} {path}", platform.as_str()))
            .or_default() += 1;
        let i = self
            .faults
            .iter()
            .position(|f| f.hits(platform, path) && !f.kind.after())?;
        if self.faults[i].skip > 0 {
            self.faults[i].skip -= 1;
            return None;
        }
        let kind = self.faults[i].kind.clone();
        if let Some(left) = &mut self.faults[i].remaining {
            *left -= 1;
            if *left == 0 {
                self.faults.remove(i);
            }
        }
        Some(kind)
    }

    /// How the answer to this call is lost after the call took effect, if it is.
    pub fn take_lost_answer(&mut self, platform: Platform, path: &str) -> Option<FaultKind> {
        let i = self
            .faults
            .iter()
            .position(|f| f.hits(platform, path) && f.kind.after())?;
        if self.faults[i].skip > 0 {
            self.faults[i].skip -= 1;
            return None;
        }
        let kind = self.faults[i].kind.clone();
        if let Some(left) = &mut self.faults[i].remaining {
            *left -= 1;
            if *left == 0 {
                self.faults.remove(i);
            }
        }
        Some(kind)
    }

    /// Records an accepted effect.
    pub fn effect(&mut self, platform: Platform, action: &str, order: Option<&str>, detail: Value) {
        self.effects.push(Effect {
            platform,
            action: action.into(),
            order: order.map(str::to_string),
            detail,
        });
    }

    /// Records a published level.
    pub fn level(&mut self, platform: Platform, sku: &str, level: i64) {
        self.levels
            .entry(format!("{}:{sku}", platform.as_str()))
            .or_default()
            .push(level);
    }

    /// Everything, for `GET /sim/state`.
    pub fn to_json(&self) -> Value {
        json!({
            "orders": self.orders.values().collect::<Vec<_>>(),
            "effects": self.effects,
            "levels": self.levels,
            "calls": self.calls,
            "stock_calls": self.stock_calls,
            "bad_signatures": self.bad_signatures,
            "faults": self.faults,
            "pushes": self.pushes.iter().map(|(p, m, o, ok)| json!({"platform": p, "message": m, "order": o, "ok": ok})).collect::<Vec<_>>(),
        })
    }
}

impl Default for State {
    fn default() -> Self {
        Self::new()
    }
}

/// The order as Meituan describes it (push `paid` and `order/getOrderDetail`).
pub fn mt_order_json(o: &SimOrder) -> Value {
    let detail: Vec<Value> = o
        .items
        .iter()
        .map(|i| {
            json!({
                "app_food_code": i.sku, "sku_id": i.platform_item, "upc": i.upc.clone().unwrap_or_default(),
                "food_name": i.name, "quantity": i.count,
                "price": format!("{}.{:02}", i.price_fen / 100, i.price_fen % 100),
                "weight": i.weight_g.unwrap_or(0), "unit": if i.weight_g.is_some() { "份" } else { "件" },
            })
        })
        .collect();
    json!({
        "order_id": o.id.parse::<i64>().unwrap_or(0), "day_seq": o.day_seq, "ctime": o.ctime,
        "status": o.status, "delivery_time": o.deliver_at,
        "estimate_arrival_time": if o.deliver_at > 0 { o.deliver_at } else { o.ctime + 1800 },
        "caution": o.remark, "detail": detail, "wm_poi_name": "flashpick 测试店",
        // The customer collects it when the order was created for pickup.
        "pick_type": if o.carrier == "pickup" { 1 } else { 0 },
    })
}

/// The order as JD describes it (`order/es/query`).
pub fn jd_order_json(o: &SimOrder) -> Value {
    let t = |secs: i64| china_time::format(Timestamp(secs * 1000));
    let products: Vec<Value> = o
        .items
        .iter()
        .map(|i| {
            json!({
                "skuId": i.platform_item, "skuIdIsv": i.sku, "upcCode": i.upc.clone().unwrap_or_default(),
                "skuName": i.name, "skuCount": i.count, "skuStorePrice": i.price_fen,
                "skuWeight": i.weight_g.unwrap_or(0),
            })
        })
        .collect();
    json!({
        "orderId": o.id.parse::<i64>().unwrap_or(0), "orderNum": o.day_seq, "orderStatus": o.status,
        "orderStartTime": t(o.ctime),
        // A booked delivery moves both: JD gives its own pick deadline 20 minutes before.
        "orderPreEndDeliveryTime": t(if o.deliver_at > 0 { o.deliver_at } else { o.ctime + 1800 }),
        "pickDeadline": t(if o.deliver_at > 0 { o.deliver_at - 1200 } else { o.ctime + 600 }),
        "orderBuyerRemark": o.remark,
        "deliveryCarrierNo": o.carrier, "product": products,
    })
}
