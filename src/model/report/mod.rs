//! The day's numbers: what a business day (midnight to midnight in China, UTC+8) did, computed
//! from the order history and the open/close log alone, so there is no counter that can drift
//! from what happened. The store reads the rows ([`DayRows`]); [`compute`] turns them into a
//! [`DayReport`]; the screens, the CLI and HQ's daily summary show that.
//!
//! Definitions (the issue's, kept here once):
//! - received: orders that arrived that day; handed over and cancelled: those that reached the
//!   state that day; each also per platform and per hour;
//! - on time: picked at or before the pick deadline; late: picked after it;
//! - pick time: accepted → picked, for orders picked that day (p50 / p90, nearest rank);
//! - short rate: of the lines (and units) of the orders picked that day, those short; a weighed
//!   line counts as one unit (its grams are not units);
//! - per picker: orders picked and their units, and units per hour over the time the picker had
//!   an order claimed (overlapping claims counted once);
//! - closed minutes: the time the store wanted to be closed at a platform, manual or automatic.

mod compute;

pub use compute::compute;

use super::{OrderState, Platform, Timestamp};
use serde::{Deserialize, Serialize};

/// The rows a day's report is computed from.
#[derive(Debug, Clone, Default)]
pub struct DayRows {
    /// The business day (days since 1970-01-01 in China time).
    pub day: i64,
    /// Every order whose state changed that day, with its whole history of state changes.
    pub orders: Vec<OrderRow>,
    /// The lines of the orders picked that day.
    pub lines: Vec<LineRow>,
    /// The open/close log: every change that day, and the last one before it per platform.
    pub open_log: Vec<OpenRow>,
}

/// One order and its state changes, oldest first.
#[derive(Debug, Clone)]
pub struct OrderRow {
    /// The store's order id.
    pub id: i64,
    /// Its platform.
    pub platform: Platform,
    /// Its day number (the number staff call it by).
    pub day_seq: i64,
    /// Picked by then is on time.
    pub pick_deadline: Timestamp,
    /// State changes (a scan that leaves the state as it was is not one).
    pub changes: Vec<Change>,
}

/// A change of an order's state.
#[derive(Debug, Clone)]
pub struct Change {
    /// From (none: the order arrived).
    pub from: Option<OrderState>,
    /// To.
    pub to: OrderState,
    /// When.
    pub at: Timestamp,
    /// For a claim: the picker.
    pub picker: Option<String>,
}

/// A line of an order picked that day.
#[derive(Debug, Clone)]
pub struct LineRow {
    /// The order.
    pub order_id: i64,
    /// The item.
    pub sku: String,
    /// Its name on the order.
    pub name: String,
    /// Ordered (units, or grams for a weighed line).
    pub qty: i64,
    /// Picked.
    pub picked: i64,
    /// Short.
    pub short: i64,
    /// Weighed (counted in grams).
    pub weighed: bool,
}

/// A change of what the store wants at a platform.
#[derive(Debug, Clone)]
pub struct OpenRow {
    /// The platform.
    pub platform: Platform,
    /// Open or closed from then.
    pub open: bool,
    /// Set by the store itself (auto-pause, a timer), not a person.
    pub automatic: bool,
    /// When.
    pub at: Timestamp,
}

/// The day's numbers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DayReport {
    /// The business day, `YYYY-MM-DD` (China time).
    pub date: String,
    /// Computed at (for today: the figures so far).
    pub as_of: Timestamp,
    /// Whole store.
    pub total: Counts,
    /// Per platform that had orders or closed that day.
    pub platforms: Vec<PlatformDay>,
    /// Orders picked that day.
    pub picked: u32,
    /// Of those, picked at or before the pick deadline.
    pub on_time: u32,
    /// Pick time (accepted → picked), median, seconds.
    pub pick_secs_p50: Option<i64>,
    /// Pick time, 90th percentile, seconds.
    pub pick_secs_p90: Option<i64>,
    /// Lines of the orders picked.
    pub lines: u32,
    /// Of those, short.
    pub short_lines: u32,
    /// Units of the orders picked (a weighed line is one).
    pub units: i64,
    /// Of those, short.
    pub short_units: i64,
    /// The items most often short, most units first (at most 5).
    pub top_short: Vec<ShortItem>,
    /// Orders picked after their deadline, latest first.
    pub late: Vec<LateOrder>,
    /// Per picker, most units first.
    pub pickers: Vec<PickerDay>,
    /// Per hour of the day, 0-23.
    pub hours: Vec<HourDay>,
}

impl DayReport {
    /// Picked on time, in percent; none when nothing was picked.
    pub fn on_time_pct(&self) -> Option<f64> {
        pct(self.on_time, self.picked)
    }

    /// Short lines, in percent of the lines picked.
    pub fn short_lines_pct(&self) -> Option<f64> {
        pct(self.short_lines, self.lines)
    }

    /// Short units, in percent of the units.
    pub fn short_units_pct(&self) -> Option<f64> {
        (self.units > 0).then(|| self.short_units as f64 * 100.0 / self.units as f64)
    }
}

fn pct(part: u32, whole: u32) -> Option<f64> {
    (whole > 0).then(|| f64::from(part) * 100.0 / f64::from(whole))
}

/// Orders received, handed over, cancelled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Counts {
    /// Arrived.
    pub received: u32,
    /// Given to the rider or the customer.
    pub handed_over: u32,
    /// Cancelled (by anyone).
    pub cancelled: u32,
}

/// One platform's day.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlatformDay {
    /// The platform.
    pub platform: Platform,
    /// Its orders.
    #[serde(flatten)]
    pub counts: Counts,
    /// Minutes closed by a person.
    pub closed_manual_min: i64,
    /// Minutes closed by the store itself (auto-pause).
    pub closed_auto_min: i64,
    /// Its orders per hour of the day, 0-23.
    pub hours: Vec<Counts>,
}

/// An item short that day.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShortItem {
    /// The item.
    pub sku: String,
    /// Its name.
    pub name: String,
    /// Units short (a weighed line: one).
    pub units: i64,
    /// Lines short.
    pub lines: u32,
}

/// An order picked after its deadline.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LateOrder {
    /// The store's order id.
    pub order_id: i64,
    /// Its platform.
    pub platform: Platform,
    /// Its day number.
    pub day_seq: i64,
    /// How late, in seconds.
    pub late_secs: i64,
}

/// One picker's day.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PickerDay {
    /// The picker.
    pub picker: String,
    /// Orders they picked.
    pub orders: u32,
    /// Units in them.
    pub units: i64,
    /// Seconds they had an order claimed.
    pub claimed_secs: i64,
    /// Units per hour claimed; none under a minute claimed.
    pub units_per_hour: Option<f64>,
}

/// One hour of the day.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct HourDay {
    /// 0-23, China time.
    pub hour: u32,
    /// Orders that arrived.
    pub received: u32,
    /// Handed over.
    pub handed_over: u32,
    /// Cancelled.
    pub cancelled: u32,
    /// Picked.
    pub picked: u32,
    /// Of those, on time.
    pub on_time: u32,
}
