//! Each benchmark's figures, appended to `target/flashpick-bench.jsonl` (one JSON object per
//! line: name, value, unit, baseline, ratio); `benches/all` turns them into the report.
#![allow(dead_code)]

use std::io::Write;
use std::time::Duration;

fn path() -> std::path::PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("target"));
    target.join("flashpick-bench.jsonl")
}

/// Records a figure beside its baseline from the same run (`baseline` 0 when there is none).
pub fn figure(name: &str, value: f64, unit: &str, baseline: f64) {
    // Only real runs (`cargo bench`) report; `cargo test --benches` smoke runs do not.
    if !std::env::args().any(|a| a == "--bench") {
        return;
    }
    let ratio = if baseline > 0.0 {
        value / baseline
    } else {
        0.0
    };
    let line = serde_json::json!({
        "name": name, "value": value, "unit": unit, "baseline": baseline, "ratio": ratio,
    });
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path())
        .expect("target/ is writable");
    writeln!(f, "{line}").expect("write the figure");
}

/// A duration in milliseconds.
pub fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}
