//! `[[printers]]`: the store's ESC/POS thermal printers — how each is reached, its paper and
//! language, which documents it prints and how many copies, and the station it serves.

use crate::model::Lang;
use serde::Deserialize;
use std::collections::HashSet;

/// How a printer is reached.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PrinterKind {
    /// A network printer's raw port (9100).
    Tcp,
    /// A serial port.
    Serial,
    /// A USB printer as its device file (`/dev/usb/lp0`).
    Usb,
    /// A directory: each job a file (the demo, tests).
    File,
}

/// One printer.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PrinterConfig {
    /// A short name shown on screens and in status.
    pub name: String,
    /// How it is reached.
    pub kind: PrinterKind,
    /// tcp: `host:port` (port 9100 when left out); serial and usb: the device; file: a directory.
    pub address: String,
    /// Serial speed (serial only).
    #[serde(default = "default_baud")]
    pub baud: u32,
    /// Paper width in mm: 58 or 80.
    #[serde(default = "default_paper")]
    pub paper_mm: u32,
    /// Characters per line at normal size; by default 32 on 58 mm paper, 48 on 80 mm (some
    /// 80 mm printers print 42).
    #[serde(default)]
    pub columns: Option<u32>,
    /// The printer's text encoding: `gb18030` (Chinese thermal printers' own).
    #[serde(default = "default_encoding")]
    pub encoding: String,
    /// The documents' language.
    #[serde(default)]
    pub lang: Lang,
    /// The station whose pick lists and labels it prints; none: the store's slips.
    #[serde(default)]
    pub station: Option<String>,
    /// Copies of the order slip on accept (0: none).
    #[serde(default = "one")]
    pub slip: u32,
    /// Copies of the pick list on claim (0: none).
    #[serde(default)]
    pub pick_list: u32,
    /// Labels per bag on pack (0: none); `bag_label` is the same key.
    #[serde(default = "one", alias = "bag_label")]
    pub label: u32,
}

fn default_baud() -> u32 {
    9600
}
fn default_paper() -> u32 {
    80
}
fn default_encoding() -> String {
    "gb18030".into()
}
fn one() -> u32 {
    1
}

impl PrinterConfig {
    /// Characters per line.
    pub fn columns(&self) -> usize {
        self.columns
            .unwrap_or(if self.paper_mm == 58 { 32 } else { 48 }) as usize
    }

    /// Where a tcp printer listens (`:9100` added when no port is given).
    pub fn socket_address(&self) -> String {
        if self
            .address
            .rsplit_once(':')
            .is_some_and(|(_, p)| p.parse::<u16>().is_ok())
        {
            self.address.clone()
        } else {
            format!("{}:9100", self.address)
        }
    }
}

/// What is wrong with the printers, with the key.
pub fn validate(printers: &[PrinterConfig]) -> Result<(), (String, String)> {
    let (mut names, mut places) = (HashSet::new(), HashSet::new());
    for (i, p) in printers.iter().enumerate() {
        let key = |k: &str| format!("printers[{i}].{k}");
        if p.name.trim().is_empty() || !names.insert(p.name.as_str()) {
            return Err((key("name"), format!("`{}` is empty or used twice", p.name)));
        }
        // Two threads on one device would take each other's status answers.
        let place = if p.kind == PrinterKind::Tcp {
            p.socket_address()
        } else {
            p.address.clone()
        };
        if !places.insert(place.clone()) {
            return Err((
                key("address"),
                format!("`{place}` is another printer's too: one entry per printer"),
            ));
        }
        if p.address.trim().is_empty() {
            return Err((
                key("address"),
                "say where it is: host:port, a device such as /dev/usb/lp0, or a directory".into(),
            ));
        }
        if p.kind == PrinterKind::Tcp && p.address.starts_with('/') {
            return Err((
                key("address"),
                format!("`{}` is a path: a tcp printer is host:port", p.address),
            ));
        }
        if p.kind != PrinterKind::Tcp && !p.address.starts_with('/') {
            return Err((
                key("address"),
                format!("`{}`: give the absolute path", p.address),
            ));
        }
        if !matches!(p.paper_mm, 58 | 80) {
            return Err((key("paper_mm"), format!("{}: use 58 or 80", p.paper_mm)));
        }
        let max = if p.paper_mm == 58 { 32 } else { 64 };
        if p.columns.is_some_and(|c| !(24..=max).contains(&c)) {
            return Err((
                key("columns"),
                format!(
                    "use 24 to {max} on {} mm paper (usually 32, 42 or 48)",
                    p.paper_mm
                ),
            ));
        }
        if !p.encoding.eq_ignore_ascii_case("gb18030") {
            return Err((
                key("encoding"),
                format!(
                    "`{}`: only gb18030, what Chinese thermal printers read (most lack UTF-8)",
                    p.encoding
                ),
            ));
        }
        if p.kind == PrinterKind::Serial && !(1200..=921_600).contains(&p.baud) {
            return Err((key("baud"), format!("{} is not a serial speed", p.baud)));
        }
        for (k, n) in [
            ("slip", p.slip),
            ("pick_list", p.pick_list),
            ("label", p.label),
        ] {
            if n > 5 {
                return Err((key(k), format!("{n} copies: use 0 to 5")));
            }
        }
    }
    Ok(())
}
