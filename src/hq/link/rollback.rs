//! The config from HQ on trial: undone when it never reached HQ, and every decision about it
//! kept on disk before HQ is told.

use super::super::applied::{self, Ledger};
use super::super::host::Host;

/// The config in force never reached HQ: go back to the last good one and restart with it.
pub(super) fn roll_back<H: Host>(host: &H, ledger: &mut Ledger) {
    let reason = format!(
        "no connection to HQ within {} s of applying version {}",
        host.config().hq.rollback_after_secs,
        ledger.version().unwrap_or(0)
    );
    let next = applied::revert(host.config(), reason);
    *ledger = Ledger::load(&host.config().store.state_dir).unwrap_or_default();
    // A full channel means a restart is already on its way.
    host.reload(next);
}

/// Changes the ledger on a copy and keeps the change only once it is on disk, so what HQ is
/// told and what a restart finds never differ.
pub(super) fn commit<H: Host>(
    host: &H,
    ledger: &mut Ledger,
    change: impl FnOnce(&mut Ledger),
) -> bool {
    let mut next = ledger.clone();
    change(&mut next);
    match next.save(&host.config().store.state_dir) {
        Ok(()) => {
            *ledger = next;
            true
        }
        Err(e) => {
            tracing::error!(error = %e, "cannot record the config decision");
            false
        }
    }
}
