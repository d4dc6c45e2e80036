//! The delivery platforms (Meituan Shangou, JD Daojia): signatures, envelopes, actions, intake,
//! and the outbox delivery workers. Every platform detail lives in that platform's file.

pub mod channel;
pub mod intake;
pub mod jddj;
pub mod look;
mod lookup;
pub mod meituan;
pub mod plan;
pub mod poll;
pub mod sign;
pub mod webhook;
pub mod worker;

use crate::model::{Fen, Platform, Report, Timestamp};
use crate::store::payload::PlatformPayload;
use serde_json::Value;

/// What a platform's answer means for the outbox row that caused the call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Done (including "already in that state").
    Done,
    /// Try again later (server error, timeout, network).
    Retry(String),
    /// Slow down, then try again.
    RateLimited(String),
    /// The platform will never accept it, because of the store's side (credentials, signature,
    /// a call it does not know): park the row with this reason for a person.
    Permanent(String),
    /// The platform answered and said no for reasons of the order's or the request's own (a
    /// state that does not allow it, nothing to decide): a row is parked as for `Permanent`,
    /// except a decision, whose refusal is the answer (the request fails and a manager is told).
    Refused(String),
}

/// An HTTP request ready to send. Its `Debug` hides the values of credentials.
#[derive(Clone, PartialEq, Eq)]
pub struct HttpCall {
    /// GET (parameters in the query) or POST (form body).
    pub post: bool,
    /// The URL without query.
    pub url: String,
    /// Parameters, signature included.
    pub params: Vec<(String, String)>,
}

impl std::fmt::Debug for HttpCall {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let shown: Vec<(&str, &str)> = self
            .params
            .iter()
            .map(|(k, v)| match k.as_str() {
                "token" | "access_token" | "sig" | "sign" => (k.as_str(), "***"),
                _ => (k.as_str(), v.as_str()),
            })
            .collect();
        f.debug_struct("HttpCall")
            .field("post", &self.post)
            .field("url", &self.url)
            .field("params", &shown)
            .finish()
    }
}

/// An order as a platform describes it, before its items are matched to the catalog.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DraftOrder {
    /// The code a customer collecting the order shows (Meituan: the day number).
    pub pickup_code: Option<String>,
    /// Platform.
    pub platform: Platform,
    /// The platform's order id.
    pub external_id: String,
    /// Day sequence number.
    pub day_seq: Option<u32>,
    /// Paid at.
    pub placed_at: Timestamp,
    /// Promised delivery.
    pub promised_at: Option<Timestamp>,
    /// The platform's pick deadline.
    pub platform_deadline: Option<Timestamp>,
    /// Customer remark.
    pub remark: Option<String>,
    /// Items.
    pub lines: Vec<DraftLine>,
    /// Already cancelled on the platform (a fetch or poll found it so).
    pub cancelled: bool,
    /// Who delivers it, when the platform said.
    pub delivery: Option<crate::model::Delivery>,
    /// A carrier the platform named that flashpick does not know (taken as the platform's
    /// riders, and told).
    pub unknown_carrier: Option<String>,
}

/// One item of a [`DraftOrder`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DraftLine {
    /// The merchant's code (our sku code when the catalog was set up that way).
    pub merchant_code: Option<String>,
    /// The barcode the platform has for it.
    pub upc: Option<String>,
    /// The platform's own id of the item.
    pub platform_item: Option<String>,
    /// Name as sold.
    pub name: String,
    /// Count ordered.
    pub count: i64,
    /// Price of one.
    pub unit_price: Fen,
    /// Grams per unit, for weighed goods.
    pub unit_weight_g: Option<i64>,
}

/// One line of an order as a report carries it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportLine {
    /// Store sku.
    pub sku: String,
    /// The item's code on the platform (its merchant code; the sku unless the platform sent
    /// another).
    pub code: String,
    /// The platform's item id.
    pub platform_item: Option<String>,
    /// Ordered.
    pub qty: i64,
    /// Picked.
    pub picked: i64,
    /// Short.
    pub short: i64,
    /// Weighed goods: the grams of one portion as the platform sold it (the quantities above
    /// are grams then).
    pub unit_g: Option<i64>,
}

impl ReportLine {
    /// Grams in the platform's portions, to the nearest whole one; pieces as they are.
    fn portions(&self, qty: i64) -> i64 {
        match self.unit_g {
            Some(g) if g > 0 => (qty + g / 2) / g,
            _ => qty,
        }
    }

    /// What to refund, in the platform's units.
    pub fn short_units(&self) -> i64 {
        self.portions(self.short)
    }

    /// What the customer still gets, in the platform's units.
    pub fn kept_units(&self) -> i64 {
        (self.portions(self.qty) - self.short_units()).max(0)
    }
}

/// One stock level to publish.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Level {
    /// The item's code on the platform: the store sku, unless the platform sells it under a
    /// merchant code of its own.
    pub code: String,
    /// The platform's own item id, when learned from its orders (Meituan's `sku_id`).
    pub item: Option<String>,
    /// Units the platform may sell.
    pub level: i64,
}

/// Something to do on a platform.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Accept the order.
    Confirm {
        /// The platform's order id.
        order: String,
    },
    /// Picking is done.
    PickComplete {
        /// The platform's order id.
        order: String,
        /// Who delivers it, when the order said (else the store's setting).
        delivery: Option<crate::model::Delivery>,
    },
    /// Some units are missing: refund them (Meituan) or adjust the order (JD).
    Adjust {
        /// The platform's order id.
        order: String,
        /// Every line of the order.
        lines: Vec<ReportLine>,
    },
    /// The store cancels.
    Cancel {
        /// The platform's order id.
        order: String,
        /// Why.
        reason: String,
        /// Whether the store had accepted it before.
        was_accepted: bool,
    },
    /// Publish stock levels.
    Stock(Vec<Level>),
    /// Fetch one order's details (JD pushes carry ids only).
    FetchOrder {
        /// The platform's order id.
        order: String,
    },
    /// Ask the platform whether the code a customer collecting the order shows is right (JD
    /// `ocs/checkSelfPickCode`); never queued: the answer is needed at the counter.
    CheckPickupCode {
        /// The platform's order id.
        order: String,
        /// The code the customer showed.
        code: String,
    },
    /// Open the store at the platform (营业), or close it (休息): the state wanted, not a
    /// command (repeating it is harmless).
    SetOpen {
        /// Open (else closed).
        open: bool,
    },
    /// A manager's decision on a customer's request (refund or cancel).
    Decide {
        /// The platform's order id.
        order: String,
        /// What the customer asked.
        kind: crate::model::request::RequestKind,
        /// Agreed (else rejected).
        agree: bool,
        /// The store's reason.
        reason: String,
    },
}

/// What kind of call an answer belongs to: "already in that state" means success for some
/// actions and not for others.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Accept.
    Confirm,
    /// Pick complete.
    PickComplete,
    /// Refund / adjustment.
    Adjust,
    /// Store cancel.
    Cancel,
    /// Stock levels.
    Stock,
    /// A read (order detail, day sequence, …).
    Query,
    /// A decision on a customer's request.
    Decide,
    /// A check at the counter.
    Check,
    /// The store's open / closed state.
    Open,
}

impl Action {
    /// Its kind.
    pub fn kind(&self) -> Kind {
        match self {
            Action::Confirm { .. } => Kind::Confirm,
            Action::PickComplete { .. } => Kind::PickComplete,
            Action::Adjust { .. } => Kind::Adjust,
            Action::Cancel { .. } => Kind::Cancel,
            Action::Stock(_) => Kind::Stock,
            Action::FetchOrder { .. } => Kind::Query,
            Action::Decide { .. } => Kind::Decide,
            Action::CheckPickupCode { .. } => Kind::Check,
            Action::SetOpen { .. } => Kind::Open,
        }
    }
}

/// The action an outbox row about an order (a report or a fetch) stands for. A row of another
/// kind, or an adjustment that cannot be sent right, is refused with the reason (the row is
/// parked with it).
pub fn action_from_row(row: &PlatformPayload) -> Result<Action, String> {
    let r = match row {
        PlatformPayload::FetchOrder(f) => {
            return Ok(Action::FetchOrder {
                order: f.external_id.clone(),
            });
        }
        PlatformPayload::Decision(d) => {
            return Ok(Action::Decide {
                order: d.external_id.clone(),
                kind: d.kind,
                agree: d.agree,
                reason: d.reason.clone(),
            });
        }
        PlatformPayload::StoreOpen(s) => return Ok(Action::SetOpen { open: s.open }),
        PlatformPayload::Report(r) => r,
        other => return Err(format!("a {} row is not about an order", other.kind())),
    };
    let order = r.external_id.clone();
    match &r.report {
        Report::Confirm => Ok(Action::Confirm { order }),
        Report::PickComplete => Ok(Action::PickComplete {
            order,
            delivery: r.delivery,
        }),
        Report::Adjust { .. } => {
            // An adjustment of a weighed line whose portion is unknown would go back in grams:
            // refuse it, visibly (the row is parked with this reason).
            if let Some(l) = r
                .order_lines
                .iter()
                .find(|l| l.weighed && l.unit_g.is_none())
            {
                return Err(format!(
                    "line {} ({}) is weighed and its portion size is unknown: import the catalog with sale_unit_g, then retry this report",
                    l.line_no, l.sku.0
                ));
            }
            let lines = r
                .order_lines
                .iter()
                .map(|l| ReportLine {
                    sku: l.sku.0.clone(),
                    code: l.code().to_string(),
                    platform_item: l.platform_item.clone(),
                    qty: l.qty,
                    picked: l.picked,
                    short: l.short,
                    unit_g: l.unit_g,
                })
                .collect();
            Ok(Action::Adjust { order, lines })
        }
        Report::Cancel { reason } => Ok(Action::Cancel {
            order,
            reason: reason.clone(),
            was_accepted: r.from_state != "new",
        }),
    }
}

/// Yuan as the platforms write them (`12.5`, `"3.99"`) in fen, rounded half up.
pub fn yuan_to_fen(v: &Value) -> Option<i64> {
    let text = match v {
        Value::Number(n) => n.to_string(),
        Value::String(s) => s.trim().to_string(),
        _ => return None,
    };
    let (neg, text) = match text.strip_prefix('-') {
        Some(rest) => (true, rest.to_string()),
        None => (false, text),
    };
    let (int, frac) = text.split_once('.').unwrap_or((&text, ""));
    if int.is_empty() && frac.is_empty() {
        return None;
    }
    let int: i64 = if int.is_empty() { 0 } else { int.parse().ok()? };
    let digits: Vec<u32> = frac
        .chars()
        .map(|c| c.to_digit(10))
        .collect::<Option<_>>()?;
    let d = |i: usize| i64::from(digits.get(i).copied().unwrap_or(0));
    let mut fen = int.checked_mul(100)? + d(0) * 10 + d(1);
    if d(2) >= 5 {
        fen += 1;
    }
    Some(if neg { -fen } else { fen })
}

/// A JSON value that is an id, whether the platform wrote it as a number or a string.
pub fn id_text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn yuan_become_fen_exactly() {
        for (v, fen) in [
            (json!(12.5), 1250),
            (json!("3.99"), 399),
            (json!(0.1), 10),
            (json!("7"), 700),
            (json!(2.345), 235),
            (json!("-1.20"), -120),
        ] {
            assert_eq!(yuan_to_fen(&v), Some(fen), "{v}");
        }
        assert_eq!(yuan_to_fen(&json!("abc")), None);
        assert_eq!(yuan_to_fen(&json!(null)), None);
    }

    #[test]
    fn weighed_lines_go_back_in_portions_to_the_nearest() {
        let line = |qty, short, unit_g| ReportLine {
            sku: "FR003".into(),
            code: "FR003".into(),
            platform_item: None,
            qty,
            picked: qty - short,
            short,
            unit_g,
        };
        // 3 portions of 500 g; 480 g short is one portion, 1,000 g two.
        for (short, refund, kept) in [(0, 0, 3), (480, 1, 2), (1000, 2, 1), (1500, 3, 0)] {
            let l = line(1500, short, Some(500));
            assert_eq!(
                (l.short_units(), l.kept_units()),
                (refund, kept),
                "{short} g"
            );
        }
        // Pieces as they are.
        let l = line(3, 1, None);
        assert_eq!((l.short_units(), l.kept_units()), (1, 2));
    }

    #[test]
    fn an_adjustment_of_a_weighed_line_without_its_portion_is_refused_with_the_fix() {
        let payload = |action: &str| {
            let v = json!({"v": 1, "type": "report", "caused_by": "e", "order_id": 1,
                "platform": "meituan", "external_id": "1", "from_state": "picking",
                "action": action, "lines": [], "at": 0, "order_lines": [
                {"line_no": 2, "sku": "PORK", "qty": 1000, "picked": 0, "short": 1000,
                 "unit_g": null, "weighed": true}
            ]});
            PlatformPayload::read(&v).unwrap()
        };
        let e = action_from_row(&payload("adjust")).unwrap_err();
        assert!(
            e.contains("line 2 (PORK)") && e.contains("sale_unit_g"),
            "{e}"
        );
        // Nothing else about the order needs the portion.
        assert!(action_from_row(&payload("pick_complete")).is_ok());
        // A level is not about an order.
        let level = PlatformPayload::read(&json!({"v": 1, "type": "stock_level",
            "platform": "jddj", "sku": "W550", "level": 3, "at": 0}))
        .unwrap();
        assert!(action_from_row(&level).is_err());
    }
}
