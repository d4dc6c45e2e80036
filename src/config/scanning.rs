//! `[barcodes]`, `[picking]` and `[[scanners]]`: how codes are read and who each scanner is for.

use crate::model::barcode::{DecodeRules, ScaleLayout};
use serde::Deserialize;
use std::collections::HashSet;

/// `[barcodes]`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BarcodesSection {
    /// Codes starting with one of these are picker badges.
    #[serde(default)]
    pub badge_prefixes: Vec<String>,
    /// Codes starting with one of these are order or pickup codes.
    #[serde(default)]
    pub order_prefixes: Vec<String>,
    /// Codes starting with one of these are a batch cart's slot labels (`<prefix><slot>`): the
    /// next unit scanned goes into that slot's order.
    #[serde(default)]
    pub slot_prefixes: Vec<String>,
    /// The store's scale label layouts, tried in order.
    #[serde(default)]
    pub scale: Vec<ScaleLayout>,
}

impl BarcodesSection {
    /// The decoder's rules.
    pub fn rules(&self) -> DecodeRules {
        DecodeRules {
            scale: self.scale.clone(),
            badge_prefixes: self.badge_prefixes.clone(),
            order_prefixes: self.order_prefixes.clone(),
            slot_prefixes: self.slot_prefixes.clone(),
        }
    }
}

/// `[picking]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PickingSection {
    /// How far a weighed item's label may be from the ordered weight, in percent.
    #[serde(default = "default_tolerance")]
    pub weight_tolerance_pct: u32,
    /// The same code from the same scanner within this many milliseconds is the scanner
    /// repeating one read, not a second unit.
    #[serde(default = "default_repeat")]
    pub repeat_window_ms: u64,
    /// An order in picking with no scan and no request touching it for this many seconds goes
    /// back to the queue (its picked units stay picked): a screen that died must not hold it.
    /// 0: never.
    #[serde(default = "default_claim_idle")]
    pub claim_idle_secs: u32,
    /// A short for "out of stock" (not on the shelf at all) marks the item sold out: every
    /// platform shows 0 until the next receipt or count, or a manager clears it. Stock the
    /// system believes in but the shelf lacks otherwise keeps selling.
    #[serde(default = "yes")]
    pub sold_out_on_short: bool,
    /// Batch picking: the most orders one picker takes in one walk (1: one order at a time).
    #[serde(default = "one_order")]
    pub batch_max: u32,
    /// The cart's slot labels, one per order of a batch.
    #[serde(default = "default_slots")]
    pub batch_slots: Vec<String>,
    /// Only orders whose pick deadlines lie within this many seconds of the batch's first
    /// order join it (0: any).
    #[serde(default)]
    pub batch_window_secs: u32,
    /// Seconds of walking and picking per line: an order joins a batch only if the first
    /// order's time left exceeds the batch's lines times this.
    #[serde(default = "default_secs_per_line")]
    pub secs_per_line: u32,
}

fn one_order() -> u32 {
    1
}
fn default_slots() -> Vec<String> {
    ["A", "B", "C", "D"].map(String::from).to_vec()
}
fn default_secs_per_line() -> u32 {
    20
}

impl PickingSection {
    /// The batch rules, for the model.
    pub fn batch_rules(&self) -> crate::model::batch::BatchRules {
        crate::model::batch::BatchRules {
            max: self.batch_max as usize,
            window_secs: i64::from(self.batch_window_secs),
            secs_per_line: i64::from(self.secs_per_line),
        }
    }
}

fn yes() -> bool {
    true
}

fn default_claim_idle() -> u32 {
    900
}

fn default_tolerance() -> u32 {
    10
}
fn default_repeat() -> u64 {
    80
}

impl Default for PickingSection {
    fn default() -> Self {
        PickingSection {
            weight_tolerance_pct: default_tolerance(),
            repeat_window_ms: default_repeat(),
            claim_idle_secs: default_claim_idle(),
            sold_out_on_short: true,
            batch_max: one_order(),
            batch_slots: default_slots(),
            batch_window_secs: 0,
            secs_per_line: default_secs_per_line(),
        }
    }
}

/// What a scanner is for: picking (items into the picker's order) or packing (an order's label
/// hands the packed order over).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ScannerRole {
    /// Items into the order its picker is picking.
    #[default]
    Pick,
    /// At a packing station: an order's code hands the packed order over to the rider.
    Pack,
}

/// How a scanner ends each code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Suffix {
    /// Carriage return (the factory default of most scanners).
    Cr,
    /// Carriage return and line feed.
    Crlf,
    /// Line feed.
    Lf,
    /// Nothing: a frame ends when the line goes quiet for `inter_byte_timeout_ms`.
    None,
}

/// Serial parity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Parity {
    /// 8N1 and friends.
    None,
    /// Odd parity.
    Odd,
    /// Even parity.
    Even,
}

/// `[[scanners]]`: one serial barcode scanner.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScannerConfig {
    /// A short name shown on screens and in status.
    pub name: String,
    /// The device; prefer stable `/dev/serial/by-id/…` paths.
    pub path: String,
    /// Baud rate.
    #[serde(default = "default_baud")]
    pub baud: u32,
    /// Data bits: 5, 6, 7 or 8.
    #[serde(default = "default_data_bits")]
    pub data_bits: u8,
    /// Parity.
    #[serde(default = "default_parity")]
    pub parity: Parity,
    /// Stop bits: 1 or 2.
    #[serde(default = "default_stop_bits")]
    pub stop_bits: u8,
    /// What ends a code.
    #[serde(default = "default_suffix")]
    pub suffix: Suffix,
    /// A frame without its suffix is flushed after the line is quiet this long.
    #[serde(default = "default_gap")]
    pub inter_byte_timeout_ms: u64,
    /// Longer frames are noise and are dropped.
    #[serde(default = "default_max_frame")]
    pub max_frame: usize,
    /// The packing station this scanner belongs to.
    #[serde(default)]
    pub station: Option<String>,
    /// The picker this scanner belongs to (until someone scans another badge on it).
    #[serde(default)]
    pub picker: Option<String>,
    /// `pick` (default) or `pack`: a packer's scanner hands a packed order over by its code.
    #[serde(default)]
    pub role: ScannerRole,
}

fn default_baud() -> u32 {
    9600
}
fn default_data_bits() -> u8 {
    8
}
fn default_parity() -> Parity {
    Parity::None
}
fn default_stop_bits() -> u8 {
    1
}
fn default_suffix() -> Suffix {
    Suffix::Cr
}
fn default_gap() -> u64 {
    50
}
fn default_max_frame() -> usize {
    512
}

/// Checks these sections; `Err((key, reason))`.
pub(super) fn validate(
    barcodes: &BarcodesSection,
    picking: &PickingSection,
    scanners: &[ScannerConfig],
) -> Result<(), (String, String)> {
    for (i, l) in barcodes.scale.iter().enumerate() {
        l.validate()
            .map_err(|r| (format!("barcodes.scale[{i}].layout"), r))?;
    }
    for (key, list) in [
        ("barcodes.badge_prefixes", &barcodes.badge_prefixes),
        ("barcodes.slot_prefixes", &barcodes.slot_prefixes),
        ("barcodes.order_prefixes", &barcodes.order_prefixes),
    ] {
        if let Some(p) = list.iter().find(|p| p.trim().is_empty()) {
            return Err((key.into(), format!("`{p}` is empty; remove it")));
        }
    }
    if picking.weight_tolerance_pct > 50 {
        return Err((
            "picking.weight_tolerance_pct".into(),
            format!(
                "{}% is too loose: use 0 to 50",
                picking.weight_tolerance_pct
            ),
        ));
    }
    if !(1..=8).contains(&picking.batch_max) {
        return Err((
            "picking.batch_max".into(),
            format!(
                "{}: use 1 (one order at a time) to 8 orders in one walk",
                picking.batch_max
            ),
        ));
    }
    let mut slots = HashSet::new();
    if let Some(s) = picking
        .batch_slots
        .iter()
        .find(|s| s.trim().is_empty() || s.chars().count() > 4 || !slots.insert(s.as_str()))
    {
        return Err((
            "picking.batch_slots".into(),
            format!("`{s}` is empty, longer than 4 characters, or used twice"),
        ));
    }
    if picking.batch_slots.len() < picking.batch_max as usize {
        return Err((
            "picking.batch_slots".into(),
            format!(
                "{} slots for batches of {}: name one slot per order",
                picking.batch_slots.len(),
                picking.batch_max
            ),
        ));
    }
    if !(1..=600).contains(&picking.secs_per_line) {
        return Err((
            "picking.secs_per_line".into(),
            format!("{}: use 1 to 600 seconds", picking.secs_per_line),
        ));
    }
    if picking.repeat_window_ms > 1000 {
        return Err((
            "picking.repeat_window_ms".into(),
            "above 1000 ms would swallow a person scanning twice on purpose".into(),
        ));
    }
    let mut names = HashSet::new();
    let mut paths = HashSet::new();
    for (i, s) in scanners.iter().enumerate() {
        let key = |k: &str| format!("scanners[{i}].{k}");
        if s.name.trim().is_empty() || !names.insert(s.name.as_str()) {
            return Err((key("name"), format!("`{}` is empty or used twice", s.name)));
        }
        if s.path.trim().is_empty() || !paths.insert(s.path.as_str()) {
            return Err((key("path"), format!("`{}` is empty or used twice", s.path)));
        }
        if !(300..=921_600).contains(&s.baud) {
            return Err((
                key("baud"),
                format!(
                    "{} is not a serial speed; scanners use 9600 or 115200",
                    s.baud
                ),
            ));
        }
        if !(5..=8).contains(&s.data_bits) {
            return Err((
                key("data_bits"),
                format!("{} must be 5, 6, 7 or 8", s.data_bits),
            ));
        }
        if !(1..=2).contains(&s.stop_bits) {
            return Err((key("stop_bits"), format!("{} must be 1 or 2", s.stop_bits)));
        }
        if !(5..=2000).contains(&s.inter_byte_timeout_ms) {
            return Err((key("inter_byte_timeout_ms"), "use 5 to 2000 ms".into()));
        }
        if !(16..=8192).contains(&s.max_frame) {
            return Err((key("max_frame"), "use 16 to 8192 bytes".into()));
        }
    }
    Ok(())
}
