//! `flashpick print test [--printer NAME]`: a test page on each printer of the config (or the
//! one named), straight from this command — no daemon needed — so a manager can check a printer
//! (reached, paper width, Chinese) while installing it.

use super::{Failure, config_failure, fail};
use crate::config::Config;
use crate::model::{Timestamp, china_time};
use crate::print::{bytes, device, test_page};
use clap::Subcommand;
use std::path::Path;

/// What to print.
#[derive(Debug, Subcommand)]
pub enum PrintAction {
    /// A test page: the printer's name and width, Chinese, a ruler and a barcode.
    Test {
        /// Only this printer (by its `name`).
        #[arg(long)]
        printer: Option<String>,
    },
}

/// Runs `print`.
pub(super) fn run(config_path: &Path, action: PrintAction) -> Result<(), Failure> {
    let config = Config::load(config_path).map_err(config_failure)?;
    let PrintAction::Test { printer } = action;
    if config.printers.is_empty() {
        return Err(fail(
            1,
            anyhow::anyhow!(
                "{} has no [[printers]]: add one (the example config shows every key)",
                config_path.display()
            ),
        ));
    }
    let chosen: Vec<_> = config
        .printers
        .iter()
        .filter(|p| printer.as_ref().is_none_or(|n| &p.name == n))
        .collect();
    if chosen.is_empty() {
        let names: Vec<&str> = config.printers.iter().map(|p| p.name.as_str()).collect();
        return Err(fail(
            2,
            anyhow::anyhow!(
                "no printer `{}`: the config has {}",
                printer.unwrap_or_default(),
                names.join(", ")
            ),
        ));
    }
    let now = Timestamp::now();
    let mut failed = 0;
    for p in chosen {
        let doc = test_page(&p.name, p.lang, p.columns(), now);
        let data = bytes::encode(&doc)?;
        let job = format!("test-{}-{}", p.name, china_time::compact(now));
        match device::send(p, &job, &data) {
            Ok(Some(path)) => println!("{}: test page written to {}", p.name, path.display()),
            Ok(None) => println!("{}: test page sent ({} bytes)", p.name, data.len()),
            Err(e) => {
                failed += 1;
                eprintln!("{e}");
            }
        }
    }
    if failed > 0 {
        return Err(fail(
            1,
            anyhow::anyhow!("{failed} printer(s) did not take the test page"),
        ));
    }
    Ok(())
}
