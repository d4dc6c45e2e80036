//! What can go wrong in the store, and which of it a restart cannot fix.

use super::{CatalogError, file, schema};
use crate::model::{OrderId, SkuCode, StockError, TransitionError};
use std::path::PathBuf;

/// Something went wrong in the store. `is_refusal` tells a refused request from a broken store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database file cannot be opened or created.
    #[error(
        "cannot open the database {path}: {cause}; check that the state dir exists and the service user may write it"
    )]
    Open {
        /// The file.
        path: PathBuf,
        /// Why.
        cause: rusqlite::Error,
    },
    /// The schema cannot be brought up to date.
    #[error(transparent)]
    Migrate(#[from] schema::MigrateError),
    /// SQLite failed.
    #[error("database error: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// No such order.
    #[error("no order {0}")]
    NoSuchOrder(OrderId),
    /// No such item.
    #[error("no sku {0} in the catalog; import the catalog or check the code")]
    NoSuchSku(SkuCode),
    /// The order state machine refused the event.
    #[error(transparent)]
    Transition(#[from] TransitionError),
    /// The stock operation is not possible.
    #[error(transparent)]
    Stock(#[from] StockError),
    /// A catalog file is bad; nothing was imported.
    #[error(transparent)]
    Catalog(#[from] CatalogError),
    /// A new order is malformed.
    #[error("bad order: {0}")]
    BadOrder(String),
    /// No customer request by that id.
    #[error("no customer request {0}")]
    NoSuchRequest(i64),
    /// An outbox row a person was to resolve is not parked (or does not exist).
    #[error("{0}")]
    NotParked(String),
    /// A decision on a customer request was refused by its rules.
    #[error(transparent)]
    Decide(#[from] crate::model::request::DecideError),
    /// A request the store's rules refuse; the message says what to do instead.
    #[error("{0}")]
    Refused(String),
    /// A bug in flashpick; the write was rolled back.
    #[error("internal error (a bug, please report it): {0}; nothing was written")]
    Bug(String),
    /// The writer has stopped (the daemon is shutting down).
    #[error("the store is closed (flashpick is shutting down)")]
    Closed,
    /// The database cannot be written by this process: restarting will not help.
    #[error(
        "the database {path} cannot be written ({cause}); give the state dir and its files back to the service user, e.g. `sudo chown -R flashpick:flashpick {dir}` (a command run with sudo may have created them as root)",
        dir = path.parent().unwrap_or(path).display()
    )]
    Unwritable {
        /// The file.
        path: PathBuf,
        /// What SQLite or the system said.
        cause: String,
    },
    /// The database file is damaged: restarting will not help.
    #[error(
        "the database {path} is damaged: {reason}; restore the last good copy (`flashpick restore FILE`; `flashpick doctor` lists the snapshots), or move the file away and start a new empty one with `flashpick serve --new-database`"
    )]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// The database is gone from where flashpick created it.
    #[error(
        "the database {path} is missing, but flashpick created one there before (see {marker}); restore it (`flashpick restore FILE`; `flashpick doctor` lists the snapshots), or start a new empty one with `flashpick serve --new-database`",
        marker = file::marker_path(path).display()
    )]
    Missing {
        /// Where it should be.
        path: PathBuf,
    },
    /// A file next to the database (a snapshot, a restore) cannot be read or written.
    #[error("{path}: {cause}")]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        cause: std::io::Error,
    },
    /// Writes are refused: the store found something wrong with its file while running.
    #[error("{0}")]
    Unusable(String),
}

impl StoreError {
    /// True when the request was refused by a rule and the store is fine; false when it is broken.
    pub fn is_refusal(&self) -> bool {
        matches!(
            self,
            StoreError::NoSuchOrder(_)
                | StoreError::NoSuchSku(_)
                | StoreError::Transition(_)
                | StoreError::Stock(_)
                | StoreError::Catalog(_)
                | StoreError::BadOrder(_)
                | StoreError::NoSuchRequest(_)
                | StoreError::NotParked(_)
                | StoreError::Refused(_)
                | StoreError::Decide(_)
        )
    }

    /// The exit status for an error that restarting cannot fix, so the unit does not restart
    /// on it (`RestartPreventExitStatus=`): 77 the database cannot be written, 74 it is damaged,
    /// missing where one was, or newer than this build. `None`: restarting may help.
    pub fn exit_code(&self) -> Option<u8> {
        match self {
            StoreError::Unwritable { .. } => Some(EXIT_NOPERM),
            StoreError::Corrupt { .. }
            | StoreError::Missing { .. }
            | StoreError::Migrate(schema::MigrateError::TooNew { .. }) => Some(EXIT_IOERR),
            _ => None,
        }
    }
}

/// Exit status: the database or state dir cannot be written (EX_NOPERM).
pub const EXIT_NOPERM: u8 = 77;
/// Exit status: the database is damaged, missing or too new (EX_IOERR).
pub const EXIT_IOERR: u8 = 74;
