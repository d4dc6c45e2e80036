//! The files on this PC: the state dir, the database, the lock, the snapshots.

use super::{Finding, Level, bad, ok};
use crate::config::Config;
use crate::model::Timestamp;
use std::path::Path;

pub(super) fn state_dir(dir: &Path) -> Finding {
    let check = "state dir";
    let probe = dir.join(".doctor-probe");
    if !dir.is_dir() {
        return bad(
            Level::Fail,
            check,
            format!("{} does not exist or is not a directory", dir.display()),
            format!(
                "create it for the service user: install -d -o flashpick -g flashpick {} (the .deb's unit does this with StateDirectory=)",
                dir.display()
            ),
        );
    }
    if let Err(e) = std::fs::write(&probe, b"probe") {
        return bad(
            Level::Fail,
            check,
            format!("{}: cannot write ({e})", dir.display()),
            format!(
                "give it to the service user: chown -R flashpick:flashpick {}",
                dir.display()
            ),
        );
    }
    let _ = std::fs::remove_file(&probe);
    match free_mb(dir) {
        Some(mb) if mb < 200 => bad(
            Level::Fail,
            check,
            format!("{}: only {mb} MB free", dir.display()),
            "free disk space (old logs: journalctl --vacuum-size=200M); the database stops taking writes when the disk is full",
        ),
        Some(mb) if mb < 1024 => bad(
            Level::Warn,
            check,
            format!("{}: {mb} MB free", dir.display()),
            "free some disk space soon",
        ),
        Some(mb) => ok(check, format!("{}: writable, {mb} MB free", dir.display())),
        None => ok(check, format!("{}: writable", dir.display())),
    }
}

/// Free space in MB, from `df` (no unsafe statvfs here).
pub(super) fn free_mb(dir: &Path) -> Option<u64> {
    let out = std::process::Command::new("df")
        .args(["-Pk"])
        .arg(dir)
        .output()
        .ok()?;
    let text = String::from_utf8_lossy(&out.stdout);
    let kb: u64 = text
        .lines()
        .nth(1)?
        .split_whitespace()
        .nth(3)?
        .parse()
        .ok()?;
    Some(kb / 1024)
}

/// The newest snapshot, as the fix for a lost or damaged database names it.
pub(super) fn restore_fix(c: &Config) -> String {
    match crate::store::backup::list(&c.store.state_dir).first() {
        Some(s) => format!(
            "stop the daemon (systemctl stop flashpick), then `flashpick restore {}` (the newest snapshot; `ls {}` for the others); with nothing to restore, `flashpick serve --new-database` starts an empty store",
            s.path.display(),
            crate::store::backup::dir(&c.store.state_dir).display()
        ),
        None => "no snapshot is in the state dir's backups folder: restore a copy of the database from elsewhere with `flashpick restore FILE`, or start an empty store with `flashpick serve --new-database`".into(),
    }
}

pub(super) fn database(c: &Config) -> Finding {
    use crate::store::{StoreError, file};
    let check = "database";
    let path = c.db_path();
    match file::preflight(&path, false) {
        Ok(file::Found::Existing) => {}
        Ok(file::Found::New) => {
            return bad(
                Level::Warn,
                check,
                format!("{} does not exist yet", path.display()),
                "it is created when the daemon first starts (systemctl start flashpick)",
            );
        }
        Err(e @ (StoreError::Missing { .. } | StoreError::Corrupt { .. })) => {
            return bad(Level::Fail, check, e.to_string(), restore_fix(c));
        }
        Err(e) => {
            return bad(
                Level::Fail,
                check,
                e.to_string(),
                format!(
                    "give the state dir back to the service user: chown -R flashpick:flashpick {}",
                    c.store.state_dir.display()
                ),
            );
        }
    }
    // A database the service user cannot write (created by `sudo flashpick …`) stops the
    // daemon at start with exit 77.
    {
        use std::os::unix::fs::MetadataExt;
        if let Ok(f) = std::fs::metadata(&path)
            && f.mode() & 0o200 == 0
        {
            return bad(
                Level::Fail,
                check,
                format!(
                    "{} is read-only (mode {:o}): the daemon cannot write it",
                    path.display(),
                    f.mode() & 0o777
                ),
                format!("chmod 0640 {}", path.display()),
            );
        }
        if let (Ok(d), Ok(f)) = (
            std::fs::metadata(&c.store.state_dir),
            std::fs::metadata(&path),
        ) && d.uid() != f.uid()
        {
            return bad(
                Level::Fail,
                check,
                format!(
                    "{} belongs to user {}, the state dir to user {}: the daemon cannot write it",
                    path.display(),
                    f.uid(),
                    d.uid()
                ),
                format!(
                    "chown -R --reference={dir} {dir} (give every file in it to the state dir's owner)",
                    dir = c.store.state_dir.display()
                ),
            );
        }
    }
    let conn = match rusqlite::Connection::open_with_flags(
        &path,
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
    ) {
        Ok(c) => c,
        Err(e) => {
            return bad(
                Level::Fail,
                check,
                format!("{}: {e}", path.display()),
                "check the file's owner and permissions (chown flashpick:flashpick)",
            );
        }
    };
    let integrity: Result<String, _> = conn.query_row("PRAGMA integrity_check", [], |r| r.get(0));
    let version: i64 = conn
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .unwrap_or(-1);
    let ours = crate::store::schema::MIGRATIONS.len() as i64;
    match integrity {
        Ok(s) if s == "ok" => {}
        Ok(s) => {
            return bad(
                Level::Fail,
                check,
                format!("integrity check: {s}"),
                restore_fix(c),
            );
        }
        Err(e) => {
            return bad(
                Level::Fail,
                check,
                format!("cannot read: {e}"),
                restore_fix(c),
            );
        }
    }
    if version > ours {
        return bad(
            Level::Fail,
            check,
            format!("schema version {version}, this flashpick knows up to {ours}"),
            "the database comes from a newer flashpick: install that version again",
        );
    }
    if let Ok((n @ 1.., first)) = crate::store::schema::bad_stock_figures(&conn) {
        return bad(
            Level::Fail,
            check,
            format!(
                "{n} sku(s) (first: {}) hold stock figures that are not whole numbers or beyond 1000000000: the platforms are told 0 for them",
                first.join(", ")
            ),
            "count those shelves and set each figure (stock screen `n`), or restore a snapshot from before",
        );
    }
    // One GTIN on two skus (imported before codes were compared as GTINs): a scan finds one of
    // them, never the other.
    if let Ok(conflicts) = crate::store::conflicting_codes(&conn)
        && let Some((code, skus)) = conflicts.first()
    {
        return bad(
            Level::Warn,
            check,
            format!(
                "{} barcode(s) are one GTIN on several skus (first: {code} on {}): a scan finds only one of them",
                conflicts.len(),
                skus.join(", ")
            ),
            "import the catalog again with each code on one sku (the import names every conflict)",
        );
    }
    // Weighed items without their portion size (imported before the column existed) have no
    // honest level: the daemon sends 0 for them, and says so here.
    // (Before migration 4 the column is missing: the daemon's next start tells.)
    if let Ok((n @ 1.., first)) = crate::store::weighed_without_portion(&conn) {
        return bad(
            Level::Warn,
            check,
            format!(
                "{n} weighed item(s) (first: {}) have no sale_unit_g: the platforms are told 0 (not for sale)",
                first.unwrap_or_default()
            ),
            "import the catalog again with a sale_unit_g column (the grams of one portion as the platforms sell it)",
        );
    }
    ok(
        check,
        format!(
            "{}: integrity ok, schema {version}{}",
            path.display(),
            if version < ours {
                format!(" (migrated to {ours} at the next start)")
            } else {
                String::new()
            }
        ),
    )
}

/// Who holds the state dir: the daemon when it runs; anyone else is in the way.
pub(super) fn state_lock(c: &Config, daemon_answers: bool) -> Finding {
    let check = "state dir lock";
    match (
        crate::store::lock::holder(&c.store.state_dir),
        daemon_answers,
    ) {
        (None, true) => bad(
            Level::Warn,
            check,
            "a daemon answers on the socket but holds no lock on the state dir",
            "it is an older flashpick: restart it (systemctl restart flashpick)",
        ),
        (None, false) => ok(check, "free: no flashpick is running on this state dir"),
        (Some(h), true) => ok(check, format!("held by the daemon: {h}")),
        (Some(h), false) => bad(
            Level::Fail,
            check,
            format!(
                "held by {h}, which does not answer on {}",
                c.api.socket.display()
            ),
            "a second daemon or a stuck command holds it: stop that process (see the pid), or check api.socket",
        ),
    }
}

/// The snapshots the daemon writes each day.
pub(super) fn snapshots(c: &Config) -> Finding {
    let check = "snapshots";
    let list = crate::store::backup::list(&c.store.state_dir);
    let Some(newest) = list.first() else {
        return ok(
            check,
            "none yet: the daemon writes one a day (`flashpick backup` writes one now)",
        );
    };
    let age_h = (Timestamp::now().0 / 1000 - newest.modified) / 3600;
    let detail = format!(
        "{} snapshot(s), the newest {} ({age_h} h old)",
        list.len(),
        newest.path.display()
    );
    if age_h > 48 {
        return bad(
            Level::Warn,
            check,
            detail,
            "the daemon writes one a day while it runs: is it running? `flashpick backup` writes one now",
        );
    }
    ok(check, detail)
}
