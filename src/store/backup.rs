//! Snapshots of the database and putting one back: the way back when a database was lost or
//! damaged (the daemon refuses to start a new empty one by itself).
//!
//! A snapshot is `VACUUM INTO` on a connection of its own: a consistent copy of one commit,
//! taken while the writer carries on. Nightly ones live in `<state_dir>/backups`.

use super::{StoreError, file, schema};
use rusqlite::{Connection, OpenFlags};
use std::path::{Path, PathBuf};

/// How many nightly snapshots are kept (one a day: a week).
pub const KEEP: usize = 7;
/// Every snapshot file starts with this.
const PREFIX: &str = "flashpick-";

/// The snapshot folder of a state dir.
pub fn dir(state_dir: &Path) -> PathBuf {
    state_dir.join("backups")
}

/// A snapshot on disk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Snapshot {
    /// The file.
    pub path: PathBuf,
    /// Its size in bytes.
    pub bytes: u64,
    /// When it was written (unix seconds).
    pub modified: i64,
}

/// The file name of a snapshot stamped `stamp` (e.g. `20261129-030000`).
pub fn file_name(stamp: &str) -> String {
    format!("{PREFIX}{stamp}.db")
}

/// Writes a consistent copy of the database `db` to `out` (which must not exist yet): into a
/// temporary file first, renamed when whole, so a half-written snapshot never looks like one.
pub fn snapshot(db: &Path, out: &Path) -> Result<u64, StoreError> {
    if out.exists() {
        return Err(StoreError::BadOrder(format!(
            "{} already exists; choose another name",
            out.display()
        )));
    }
    if let Some(parent) = out.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent).map_err(|e| io(parent, e))?;
        // `sudo flashpick backup` must not leave a folder the service's nightly snapshots
        // cannot write into.
        super::file::adopt_owner(parent);
    }
    let mut tmp = out.as_os_str().to_os_string();
    tmp.push(".partial");
    let tmp = PathBuf::from(tmp);
    let _ = std::fs::remove_file(&tmp);
    // Made empty and private first (VACUUM INTO fills an empty file): the copy is never
    // readable by others, not even while it is written.
    {
        use std::os::unix::fs::OpenOptionsExt;
        std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&tmp)
            .map_err(|e| io(&tmp, e))?;
    }
    let conn = Connection::open_with_flags(db, OpenFlags::SQLITE_OPEN_READ_WRITE)
        .map_err(|e| file::classify(db, e))?;
    conn.busy_timeout(std::time::Duration::from_secs(5))?;
    let target = tmp
        .to_str()
        .ok_or_else(|| StoreError::BadOrder(format!("{} is not a UTF-8 path", tmp.display())))?;
    conn.execute("VACUUM INTO ?1", [target])
        .map_err(|e| file::classify(db, e))?;
    drop(conn);
    std::fs::File::open(&tmp)
        .and_then(|f| f.sync_all())
        .and_then(|()| std::fs::rename(&tmp, out))
        .map_err(|e| io(out, e))?;
    restrict(out);
    super::file::adopt_owner(out);
    Ok(std::fs::metadata(out).map(|m| m.len()).unwrap_or(0))
}

/// The snapshots in the state dir's folder, newest first.
pub fn list(state_dir: &Path) -> Vec<Snapshot> {
    let Ok(entries) = std::fs::read_dir(dir(state_dir)) else {
        return Vec::new();
    };
    let mut out: Vec<Snapshot> = entries
        .filter_map(Result::ok)
        .filter(|e| {
            let name = e.file_name();
            let name = name.to_string_lossy();
            name.starts_with(PREFIX) && name.ends_with(".db")
        })
        .filter_map(|e| {
            let m = e.metadata().ok()?;
            let modified = m
                .modified()
                .ok()?
                .duration_since(std::time::UNIX_EPOCH)
                .ok()?
                .as_secs() as i64;
            Some(Snapshot {
                path: e.path(),
                bytes: m.len(),
                modified,
            })
        })
        .collect();
    out.sort_by(|a, b| b.modified.cmp(&a.modified).then(b.path.cmp(&a.path)));
    out
}

/// Removes all but the newest `keep` snapshots; returns how many went.
pub fn prune(state_dir: &Path, keep: usize) -> usize {
    list(state_dir)
        .into_iter()
        .skip(keep)
        .filter(|s| std::fs::remove_file(&s.path).is_ok())
        .count()
}

/// Checks that `from` is a whole flashpick database this build can run: the header, `PRAGMA
/// quick_check`, and a schema no newer than this build. Returns its schema version.
pub fn verify(from: &Path) -> Result<u32, StoreError> {
    match file::preflight(from, false)? {
        file::Found::Existing => {}
        file::Found::New => {
            return Err(StoreError::Corrupt {
                path: from.to_path_buf(),
                reason: "there is no database in it (missing or empty)".into(),
            });
        }
    }
    file::quick_check(from).map_err(|reason| StoreError::Corrupt {
        path: from.to_path_buf(),
        reason,
    })?;
    let conn = Connection::open_with_flags(from, OpenFlags::SQLITE_OPEN_READ_ONLY)
        .map_err(|e| file::classify(from, e))?;
    let version = schema::version(&conn).map_err(|e| file::classify(from, e))?;
    if version > schema::latest() {
        return Err(StoreError::Migrate(schema::MigrateError::TooNew {
            found: version,
            known: schema::latest(),
        }));
    }
    Ok(version)
}

/// Puts the snapshot `from` back as the database `db`. The caller holds the state dir's lock
/// (no daemon runs). What was at `db` (with its log) is kept beside it as
/// `<db>.before-restore-<stamp>`; returns that path when there was something.
pub fn restore(db: &Path, from: &Path, stamp: &str) -> Result<Option<PathBuf>, StoreError> {
    verify(from)?;
    let mut kept = None;
    if db.exists() {
        let aside = sibling(db, &format!(".before-restore-{stamp}"));
        std::fs::rename(db, &aside).map_err(|e| io(db, e))?;
        for log in ["-wal", "-shm"] {
            let from_log = sibling(db, log);
            if from_log.exists() {
                let _ = std::fs::rename(&from_log, sibling(&aside, log));
            }
        }
        kept = Some(aside);
    }
    let tmp = sibling(db, ".restoring");
    std::fs::copy(from, &tmp)
        .and_then(|_| std::fs::File::open(&tmp)?.sync_all())
        .and_then(|()| std::fs::rename(&tmp, db))
        .map_err(|e| io(db, e))?;
    restrict(db);
    super::file::adopt_owner(db);
    if let Some(parent) = db.parent() {
        let _ = std::fs::File::open(parent).and_then(|d| d.sync_all());
    }
    file::write_marker(db, "It was restored from a snapshot.").map_err(|e| io(db, e))?;
    let _ = std::fs::remove_file(file::damage_note(db));
    super::file::adopt_owner(&file::marker_path(db));
    Ok(kept)
}

fn sibling(path: &Path, suffix: &str) -> PathBuf {
    let mut s = path.as_os_str().to_os_string();
    s.push(suffix);
    PathBuf::from(s)
}

/// Snapshots hold the whole store: readable by the service user only.
fn restrict(path: &Path) {
    use std::os::unix::fs::PermissionsExt;
    let _ = std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600));
}

fn io(path: &Path, e: std::io::Error) -> StoreError {
    if e.kind() == std::io::ErrorKind::PermissionDenied {
        StoreError::Unwritable {
            path: path.to_path_buf(),
            cause: e.to_string(),
        }
    } else {
        StoreError::Io {
            path: path.to_path_buf(),
            cause: e,
        }
    }
}
