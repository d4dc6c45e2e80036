//! The benchmark report: the figures every benchmark of this run appended to
//! `target/flashpick-bench.jsonl`, as a table and as `target/flashpick-bench.json`. Run by
//! `benches/all` after the benchmarks themselves.

use serde_json::Value;

fn main() {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("target"));
    let lines = match std::fs::read_to_string(target.join("flashpick-bench.jsonl")) {
        Ok(t) => t,
        Err(_) => {
            println!("no figures yet: run benches/all (or cargo bench) first");
            return;
        }
    };
    let figures: Vec<Value> = lines
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect();
    println!(
        "\n{:<62} {:>12} {:>12} {:>8}  unit",
        "figure", "value", "baseline", "ratio"
    );
    for f in &figures {
        let num = |k: &str| f[k].as_f64().unwrap_or(0.0);
        let ratio = if num("baseline") > 0.0 {
            format!("{:.2}x", num("ratio"))
        } else {
            "-".into()
        };
        println!(
            "{:<62} {:>12.3} {:>12.3} {:>8}  {}",
            f["name"].as_str().unwrap_or("?"),
            num("value"),
            num("baseline"),
            ratio,
            f["unit"].as_str().unwrap_or("")
        );
    }
    let out = target.join("flashpick-bench.json");
    std::fs::write(
        &out,
        serde_json::to_string_pretty(&figures).expect("serialises"),
    )
    .expect("write the report");
    println!("\n{} figures written to {}", figures.len(), out.display());
}
