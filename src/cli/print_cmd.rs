//! `flashpick print test [--printer NAME]`: a test page on each printer of the config (or the
//! one named), straight from this command — no daemon needed — so a manager can check a printer
//! (reached, paper width, Chinese) while installing it. `flashpick print slip|pick-list|label
//! ORDER [--printer NAME]`: an order's document again, queued by the running daemon like any
//! print job (it prints when the printer can, once).

use super::{Failure, config_failure, fail};
use crate::api::{Request, Response};
use crate::config::Config;
use crate::model::document::Document;
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
    /// An order's slip again.
    Slip(Again),
    /// An order's pick list again.
    PickList(Again),
    /// An order's bag labels again (every bag's).
    Label(Again),
}

/// Which order's document, where.
#[derive(Debug, clap::Args)]
pub struct Again {
    /// The order: its number as `flashpick orders` lists it, or its label's code (e.g. ORD1042).
    order: String,
    /// On this printer (by its `name`); where the document goes by the config when absent.
    #[arg(long)]
    printer: Option<String>,
    /// Who asks (recorded on the job).
    #[arg(long = "as")]
    actor: Option<String>,
}

/// Runs `print`.
pub(super) fn run(config: Option<&Path>, action: PrintAction) -> Result<(), Failure> {
    let (document, again) = match action {
        PrintAction::Test { printer } => return test(&super::config_path(config), printer),
        PrintAction::Slip(a) => (Document::Slip, a),
        PrintAction::PickList(a) => (Document::PickList, a),
        PrintAction::Label(a) => (Document::Label, a),
    };
    let order_id = order_number(&again.order).ok_or_else(|| {
        fail(
            2,
            anyhow::anyhow!(
                "`{}` is not an order: give its number as `flashpick orders` lists it, or its label's code",
                again.order
            ),
        )
    })?;
    let socket = super::socket_path(config)?;
    let req = Request::Reprint {
        order_id,
        document,
        printer: again.printer,
    };
    let Response::Printing(r) =
        super::client_cmds::ask_as(&socket, Some(again.actor.as_deref().unwrap_or("cli")), req)?
    else {
        unreachable!("Client::call reads the kind the request gets")
    };
    println!(
        "order #{} (number {order_id}): {} {} queued on {}",
        r.day_seq,
        r.jobs,
        document.as_str(),
        r.printers.join(", ")
    );
    Ok(())
}

/// An order's number from what was typed: `1042`, or a label's code `ORD1042`.
fn order_number(typed: &str) -> Option<i64> {
    let digits = typed
        .trim()
        .trim_start_matches(|c: char| c.is_ascii_alphabetic());
    (!digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()))
        .then(|| digits.parse().ok())
        .flatten()
        .filter(|n| *n > 0)
}

/// The test page on each printer of the config, or the one named.
fn test(config_path: &Path, printer: Option<String>) -> Result<(), Failure> {
    let config = Config::load(config_path).map_err(config_failure)?;
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
