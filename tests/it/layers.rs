//! The house's arrows, enforced: every `crate::<module>` path in `src/` (not only `use` lines;
//! `super::` chains that climb to the crate root too) must point at a module its layer may use.
//!
//! model ← config ← store ← scan / sync / api ← daemon ← cli; tui uses api and model only; hq and
//! sim stand beside. `throttle`, `backoff` and `tls` are leaves any layer above the model may use.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// Small utilities with no arrows of their own, usable by every layer above the model.
const LEAVES: &[&str] = &["throttle", "backoff", "tls"];

/// Which layers each module may name (besides the leaves). Anything else is an arrow pointing up
/// or across.
const ALLOWED: &[(&str, &[&str])] = &[
    ("model", &[]),
    ("config", &["model"]),
    ("store", &["model", "config"]),
    ("scan", &["model", "config", "store"]),
    ("sync", &["model", "config", "store"]),
    ("api", &["model"]),
    ("hq", &["model", "config", "store"]),
    // The simulator signs and encodes with its own code: it shares none with the adapters it
    // tests.
    ("sim", &["model"]),
    ("print", &["model", "config", "store"]),
    (
        "daemon",
        &[
            "model", "config", "store", "scan", "sync", "api", "hq", "print",
        ],
    ),
    ("tui", &["api", "model"]),
    (
        "cli",
        &[
            "model", "config", "store", "scan", "sync", "api", "hq", "sim", "daemon", "tui",
            "print",
        ],
    ),
];

/// The code of a Rust file with comments and string literals blanked (so a doc link or a URL is
/// not taken for a path), line breaks kept.
fn code_only(src: &str) -> String {
    let b = src.as_bytes();
    let mut out = String::with_capacity(src.len());
    let mut i = 0;
    while i < b.len() {
        let rest = &src[i..];
        if rest.starts_with("//") {
            let end = rest.find('\n').map_or(b.len(), |n| i + n);
            i = end;
        } else if rest.starts_with("/*") {
            let end = rest.find("*/").map_or(b.len(), |n| i + n + 2);
            out.extend(src[i..end].chars().filter(|&c| c == '\n'));
            i = end;
        } else if rest.starts_with("r#\"") || rest.starts_with("r\"") {
            let hashes = rest[1..].chars().take_while(|&c| c == '#').count();
            let close = format!("\"{}", "#".repeat(hashes));
            let body = i + 2 + hashes;
            let end = src[body..]
                .find(&close)
                .map_or(b.len(), |n| body + n + close.len());
            out.extend(src[i..end].chars().filter(|&c| c == '\n'));
            i = end;
        } else if b[i] == b'"' {
            let mut j = i + 1;
            while j < b.len() && b[j] != b'"' {
                j += if b[j] == b'\\' { 2 } else { 1 };
            }
            out.extend(src[i..j.min(b.len())].chars().filter(|&c| c == '\n'));
            i = j + 1;
        } else if b[i] == b'\''
            && rest.len() > 2
            && (rest.as_bytes()[2] == b'\'' || rest.starts_with("'\\"))
        {
            // A char literal such as '"' or '\n' (not a lifetime).
            let end = rest[1..].find('\'').map_or(b.len(), |n| i + n + 2);
            i = end;
        } else {
            let c = rest.chars().next().unwrap();
            out.push(c);
            i += c.len_utf8();
        }
    }
    out
}

/// The top-level names a path group starts with: `{a::b, c, d::{e}}` → a, c, d.
fn group_heads(group: &str) -> Vec<String> {
    let (mut depth, mut heads, mut at_start) = (0, Vec::new(), true);
    let mut word = String::new();
    for c in group.chars() {
        match c {
            '{' => {
                depth += 1;
                at_start = depth == 1;
            }
            '}' => depth -= 1,
            ',' if depth == 1 => at_start = true,
            c if (c.is_alphanumeric() || c == '_') && depth == 1 && at_start => word.push(c),
            _ => {
                if !word.is_empty() {
                    heads.push(std::mem::take(&mut word));
                    at_start = false;
                }
            }
        }
    }
    heads
}

/// The top-level modules a file of module `path` (e.g. ["store", "write", "order"]) names.
fn named_modules(path: &[String], code: &str) -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    let ident = |s: &str| -> String {
        s.chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_')
            .collect()
    };
    let mut rest = code;
    while let Some(n) = rest.find("crate::") {
        let before = rest[..n].chars().last();
        let after = &rest[n + 7..];
        rest = after;
        if before.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == '$') {
            continue;
        }
        if after.starts_with('{') {
            let end = matching_brace(after);
            found.extend(group_heads(&after[..end]));
        } else {
            found.insert(ident(after));
        }
    }
    // `super::super::x` from a file deep enough climbs to the crate root.
    let mut rest = code;
    while let Some(n) = rest.find("super::") {
        let before = rest[..n].chars().last();
        let mut tail = &rest[n..];
        rest = &rest[n + 7..];
        if before.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == ':') {
            continue;
        }
        let mut ups = 0;
        while let Some(t) = tail.strip_prefix("super::") {
            ups += 1;
            tail = t;
        }
        if ups >= path.len() {
            if tail.starts_with('{') {
                found.extend(group_heads(&tail[..matching_brace(tail)]));
            } else {
                found.insert(ident(tail));
            }
        }
    }
    found
}

fn matching_brace(s: &str) -> usize {
    let mut depth = 0;
    for (i, c) in s.char_indices() {
        match c {
            '{' => depth += 1,
            '}' => {
                depth -= 1;
                if depth == 0 {
                    return i + 1;
                }
            }
            _ => {}
        }
    }
    s.len()
}

/// Module path of a file under `src/`: `store/write/mod.rs` → [store, write].
fn module_path(rel: &Path) -> Vec<String> {
    let mut parts: Vec<String> = rel
        .iter()
        .map(|p| p.to_string_lossy().trim_end_matches(".rs").to_string())
        .collect();
    if parts.last().is_some_and(|p| p == "mod") {
        parts.pop();
    }
    parts
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

/// Every arrow in `files` (module path, code) that the matrix does not allow.
fn violations(files: &[(Vec<String>, String)]) -> Vec<String> {
    let tops: BTreeSet<&str> = ALLOWED
        .iter()
        .map(|(m, _)| *m)
        .chain(LEAVES.iter().copied())
        .collect();
    let mut bad = Vec::new();
    for (path, src) in files {
        let Some(top) = path.first() else { continue };
        if top == "lib" || top == "main" {
            continue;
        }
        let allowed: Vec<&str> = if LEAVES.contains(&top.as_str()) {
            Vec::new()
        } else {
            let layer = ALLOWED
                .iter()
                .find(|(m, _)| m == top)
                .unwrap_or_else(|| panic!("module `{top}` is not in the matrix: place it"))
                .1;
            let leaves = if top == "model" { &[][..] } else { LEAVES };
            layer.iter().chain(leaves).copied().collect()
        };
        for named in named_modules(path, &code_only(src)) {
            if named != *top && tops.contains(named.as_str()) && !allowed.contains(&named.as_str())
            {
                bad.push(format!("{} → {named}", path.join("::")));
            }
        }
    }
    bad
}

#[test]
fn every_arrow_in_the_crate_points_down() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut paths = Vec::new();
    rust_files(&src, &mut paths);
    let files: Vec<(Vec<String>, String)> = paths
        .iter()
        .map(|p| {
            (
                module_path(p.strip_prefix(&src).unwrap()),
                std::fs::read_to_string(p).unwrap(),
            )
        })
        .collect();
    assert!(files.len() > 50, "read the crate: {} files", files.len());
    let bad = violations(&files);
    assert!(
        bad.is_empty(),
        "arrows pointing up or across (move the type down, or give the layer its own):\n{}",
        bad.join("\n")
    );
}

/// The checker itself finds what it is for: a path in an expression, a group, a `super::` climb,
/// and not a doc link, a comment or a string.
#[test]
fn the_layering_check_finds_upward_arrows_in_every_form() {
    let file = |path: &str, src: &str| {
        (
            path.split("::").map(str::to_string).collect::<Vec<_>>(),
            src.to_string(),
        )
    };
    let bad = violations(&[
        file("store::read", "fn f() { let x = crate::daemon::status(); }"),
        file("config", "use crate::{model::Sku, tui::i18n::Lang};"),
        file("api::client", "use super::super::store::Store;"),
        file("tui::app", "let s: crate::store::SkuInfo;"),
        file(
            "model::order",
            "/// See [`crate::store`].\n// crate::daemon\nlet s = \"crate::cli\"; let c = '\"'; let t = crate::model::x;",
        ),
        file(
            "hq::link",
            "use crate::{config::Config, store::{Store, StoreError}};",
        ),
        file("model::sla", "static T: crate::throttle::Throttle;"),
        file(
            "sync::worker",
            "crate::backoff::Retry::new(crate::tls::x())",
        ),
    ]);
    assert_eq!(
        bad,
        [
            "store::read → daemon",
            "config → tui",
            "api::client → store",
            "tui::app → store",
            "model::sla → throttle",
        ]
    );
}
