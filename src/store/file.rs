//! The database file itself: what must hold before the store calls itself ready (a SQLite header
//! that is whole, a file flashpick may write, a database that was not lost), and whether the file
//! at the configured path is still the one open.

use super::StoreError;
use rusqlite::Connection;
use std::io::Read;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

/// Gives `path` to the owner of its directory. A command run with sudo (a catalog import before
/// the first start) would otherwise leave root-owned files the service user cannot write. Only
/// root may do this; for anyone else it is a no-op.
pub fn adopt_owner(path: &Path) {
    let Some(dir) = path.parent() else { return };
    let dir = if dir.as_os_str().is_empty() {
        Path::new(".")
    } else {
        dir
    };
    if let (Ok(d), Ok(f)) = (std::fs::metadata(dir), std::fs::metadata(path))
        && (d.uid(), d.gid()) != (f.uid(), f.gid())
    {
        let _ = std::os::unix::fs::chown(path, Some(d.uid()), Some(d.gid()));
    }
}

/// Takes the "others" bits off a file (the umask may have left it readable by every user).
pub fn not_world_readable(path: &Path) {
    use std::os::unix::fs::PermissionsExt;
    if let Ok(m) = std::fs::metadata(path) {
        let mode = m.permissions().mode();
        if mode & 0o007 != 0 {
            let _ = std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode & !0o007));
        }
    }
}

/// Which file a path names: device and inode. Two different files never share both.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FileId {
    dev: u64,
    ino: u64,
}

/// The identity of the file at `path` now.
pub fn file_id(path: &Path) -> std::io::Result<FileId> {
    let m = std::fs::metadata(path)?;
    Ok(FileId {
        dev: m.dev(),
        ino: m.ino(),
    })
}

/// The marker flashpick leaves next to a database it created: while it is there, a missing
/// database is a loss to report, not a first start. Hidden, and not named like the database, so
/// that `rm store.db*` does not take the witness with the loss.
pub fn marker_path(db: &Path) -> PathBuf {
    let mut name = std::ffi::OsString::from(".");
    name.push(db.file_name().unwrap_or_default());
    name.push(".expected");
    db.with_file_name(name)
}

/// The note left beside a database a check found damaged; restoring a snapshot (or starting a
/// new database) removes it.
pub fn damage_note(db: &Path) -> PathBuf {
    let mut name = std::ffi::OsString::from(".");
    name.push(db.file_name().unwrap_or_default());
    name.push(".damaged");
    db.with_file_name(name)
}

/// Whether a database was here before: its marker, or snapshots of it in the backups folder
/// (a second witness, should the marker go too).
pub fn was_expected(db: &Path) -> bool {
    marker_path(db).exists()
        || db
            .parent()
            .is_some_and(|dir| !super::backup::list(dir).is_empty())
}

/// Writes the marker (once; an existing one is kept).
pub fn write_marker(db: &Path, note: &str) -> std::io::Result<()> {
    let marker = marker_path(db);
    if marker.exists() {
        return Ok(());
    }
    let text = format!(
        "flashpick keeps its database at {db}.\n{note}\nWhile this file exists flashpick refuses to start without that database:\nrestore it (flashpick restore FILE), or start once with `flashpick serve --new-database`.\n",
        db = db.display()
    );
    std::fs::write(marker, text)
}

/// What was found at the database path before opening it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Found {
    /// Nothing (or an empty file) where none was expected: a first start.
    New,
    /// A database whose header is whole.
    Existing,
}

/// Checks the file at `db` before SQLite opens it: SQLite would silently create an empty
/// database where one was lost, and read a damaged header as "not a database" only on first use.
pub fn preflight(db: &Path, allow_new: bool) -> Result<Found, StoreError> {
    // Damage found by a check while the daemon ran: restarting on the same file would only
    // find it again (and a watchdog restart loop is no way to tell anyone).
    if let Ok(found) = std::fs::read_to_string(damage_note(db))
        && !allow_new
    {
        return Err(StoreError::Corrupt {
            path: db.to_path_buf(),
            reason: format!(
                "PRAGMA quick_check found damage while flashpick ran: {} (noted in {})",
                found.trim(),
                damage_note(db).display()
            ),
        });
    }
    let expected = was_expected(db);
    let meta = match std::fs::metadata(db) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            if expected && !allow_new {
                return Err(StoreError::Missing {
                    path: db.to_path_buf(),
                });
            }
            return Ok(Found::New);
        }
        Err(e) => {
            return Err(StoreError::Unwritable {
                path: db.to_path_buf(),
                cause: e.to_string(),
            });
        }
    };
    if meta.len() == 0 {
        if expected && !allow_new {
            return Err(StoreError::Corrupt {
                path: db.to_path_buf(),
                reason: "the file is empty (truncated to nothing)".into(),
            });
        }
        return Ok(Found::New);
    }
    let mut header = Vec::with_capacity(100);
    std::fs::File::open(db)
        .and_then(|f| f.take(100).read_to_end(&mut header))
        .map_err(|e| StoreError::Unwritable {
            path: db.to_path_buf(),
            cause: e.to_string(),
        })?;
    if let Some(reason) = header_problem(&header, meta.len(), wal_has_frames(db)) {
        return Err(StoreError::Corrupt {
            path: db.to_path_buf(),
            reason,
        });
    }
    Ok(Found::Existing)
}

fn wal_has_frames(db: &Path) -> bool {
    let mut wal = db.as_os_str().to_os_string();
    wal.push("-wal");
    std::fs::metadata(wal).is_ok_and(|m| m.len() > 32)
}

/// What is wrong with a database header (the first 100 bytes; see sqlite.org/fileformat.html),
/// given the file's length. The page count in the header is trusted only when SQLite marked it
/// valid and no write-ahead log holds pages not yet copied into the file.
pub fn header_problem(header: &[u8], file_len: u64, wal_has_frames: bool) -> Option<String> {
    if header.len() < 100 || &header[..16] != b"SQLite format 3\0" {
        return Some("it is not a SQLite database (its header is wrong or cut short)".into());
    }
    let be32 = |at: usize| {
        u32::from_be_bytes([header[at], header[at + 1], header[at + 2], header[at + 3]])
    };
    let page_size = match u16::from_be_bytes([header[16], header[17]]) {
        1 => 65536,
        n if n >= 512 && n.is_power_of_two() => u64::from(n),
        n => return Some(format!("its header gives an impossible page size ({n})")),
    };
    let pages = u64::from(be32(28));
    let count_valid = be32(24) == be32(92) && pages > 0;
    if count_valid && !wal_has_frames && pages * page_size > file_len {
        return Some(format!(
            "it is truncated: its header says {pages} pages of {page_size} bytes, the file holds {file_len} bytes"
        ));
    }
    None
}

/// A write that is rolled back: proves the database, its journal and its directory can be
/// written by this process before anyone is told the store is ready.
pub fn write_probe(conn: &Connection) -> rusqlite::Result<()> {
    let probe = conn.execute_batch(
        "BEGIN IMMEDIATE;
         INSERT INTO sync_state (key, value) VALUES ('write_probe', 'ok')
             ON CONFLICT (key) DO UPDATE SET value = excluded.value;
         ROLLBACK;",
    );
    if probe.is_err() && !conn.is_autocommit() {
        let _ = conn.execute_batch("ROLLBACK");
    }
    probe
}

/// Sorts a SQLite failure at open into what the operator must do about it.
pub fn classify(path: &Path, e: rusqlite::Error) -> StoreError {
    use rusqlite::ErrorCode as C;
    let path = path.to_path_buf();
    match e.sqlite_error_code() {
        Some(C::ReadOnly | C::CannotOpen | C::PermissionDenied) => StoreError::Unwritable {
            path,
            cause: e.to_string(),
        },
        Some(C::DatabaseCorrupt | C::NotADatabase) => StoreError::Corrupt {
            path,
            reason: e.to_string(),
        },
        _ => StoreError::Open { path, cause: e },
    }
}

/// Runs `f` on a read-only connection of its own with a small page cache: for reads of every
/// page once, which the OS caches anyway and the daemon need not keep.
pub fn with_small_cache<T>(
    db: &Path,
    f: impl FnOnce(&Connection) -> rusqlite::Result<T>,
) -> rusqlite::Result<T> {
    let conn = Connection::open_with_flags(db, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)?;
    conn.pragma_update(None, "cache_size", -256)?;
    f(&conn)
}

/// `PRAGMA quick_check` on its own connection: "ok", or the first problems it lists.
pub fn quick_check(db: &Path) -> Result<(), String> {
    let conn = Connection::open_with_flags(db, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
        .map_err(|e| e.to_string())?;
    // It reads every page once: through a small cache (the OS caches the file anyway), so the
    // check does not leave the daemon tens of MB bigger.
    conn.pragma_update(None, "cache_size", -256)
        .map_err(|e| e.to_string())?;
    let mut stmt = conn
        .prepare("PRAGMA quick_check(5)")
        .map_err(|e| e.to_string())?;
    let lines: Vec<String> = stmt
        .query_map([], |r| r.get(0))
        .and_then(|rows| rows.collect())
        .map_err(|e| e.to_string())?;
    if lines.len() == 1 && lines[0] == "ok" {
        Ok(())
    } else {
        Err(lines.join("; "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(page_size: u16, pages: u32, valid: bool) -> Vec<u8> {
        let mut h = vec![0u8; 100];
        h[..16].copy_from_slice(b"SQLite format 3\0");
        h[16..18].copy_from_slice(&page_size.to_be_bytes());
        h[24..28].copy_from_slice(&7u32.to_be_bytes());
        h[28..32].copy_from_slice(&pages.to_be_bytes());
        h[92..96].copy_from_slice(&(if valid { 7u32 } else { 6 }).to_be_bytes());
        h
    }

    #[test]
    fn a_header_tells_a_cut_file_from_a_whole_one() {
        assert_eq!(header_problem(&header(4096, 10, true), 40960, false), None);
        let cut = header_problem(&header(4096, 10, true), 20480, false).unwrap();
        assert!(cut.contains("truncated"), "{cut}");
        // Pages still in the log, or a count SQLite did not vouch for: no verdict from length.
        assert_eq!(header_problem(&header(4096, 10, true), 20480, true), None);
        assert_eq!(header_problem(&header(4096, 10, false), 20480, false), None);
        assert!(header_problem(b"garbage", 7, false).is_some());
        assert!(header_problem(&header(1000, 1, true), 4096, false).is_some());
        assert_eq!(header_problem(&header(1, 1, true), 65536, false), None);
    }
}
