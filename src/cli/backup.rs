//! `flashpick backup` and `flashpick restore`: a snapshot of the database while the daemon runs,
//! and one put back while it is stopped.

use super::{Failure, config_failure, fail};
use crate::config::Config;
use crate::model::Timestamp;
use crate::store::{StoreError, backup};
use std::path::{Path, PathBuf};

fn store_failure(e: StoreError) -> Failure {
    fail(e.exit_code().unwrap_or(1), e)
}

/// Writes a snapshot of the database (to `out`, or into the state dir's backups folder).
pub fn backup(config_path: &Path, out: Option<PathBuf>) -> Result<(), Failure> {
    let config = Config::load(config_path).map_err(config_failure)?;
    let db = config.db_path();
    if !db.exists() {
        return Err(fail(
            1,
            anyhow::anyhow!("there is no database at {} to back up", db.display()),
        ));
    }
    let stamp = crate::model::china_time::compact(Timestamp::now());
    let out =
        out.unwrap_or_else(|| backup::dir(&config.store.state_dir).join(backup::file_name(&stamp)));
    let bytes = backup::snapshot(&db, &out).map_err(store_failure)?;
    println!("wrote {} ({bytes} bytes)", out.display());
    Ok(())
}

/// Puts `file` back as the database, keeping what was there beside it. Refused while a daemon
/// holds the state dir.
pub fn restore(config_path: &Path, file: &Path) -> Result<(), Failure> {
    let config = Config::load(config_path).map_err(config_failure)?;
    std::fs::create_dir_all(&config.store.state_dir).map_err(|e| {
        fail(
            crate::store::EXIT_NOPERM,
            anyhow::anyhow!("cannot create {}: {e}", config.store.state_dir.display()),
        )
    })?;
    let _lock = crate::store::lock::StateLock::acquire(&config.store.state_dir, "restore")
        .map_err(|e| fail(crate::daemon::EXIT_LOCKED, e))?;
    let db = config.db_path();
    let stamp = crate::model::china_time::compact(Timestamp::now());
    let kept = backup::restore(&db, file, &stamp).map_err(store_failure)?;
    println!("restored {} as {}", file.display(), db.display());
    if let Some(kept) = kept {
        println!("the database it replaced is kept as {}", kept.display());
    }
    println!("start flashpick again: sudo systemctl start flashpick");
    Ok(())
}
