//! One writer per state dir: an exclusive lock on `flashpick.lock`, held by the daemon for its
//! whole life (across the in-process restarts a config from HQ causes) and by offline commands
//! that write the database. Two daemons on one database would both run outbox workers and send
//! every platform action twice.
//!
//! The lock is `flock(2)` through `File::try_lock`: the kernel drops it when the holder dies, so
//! a killed daemon never leaves a stale lock behind. The file itself stays and names the last
//! holder.

use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read, Seek, Write};
use std::path::{Path, PathBuf};

/// The lock file's name in the state dir.
pub const LOCK_FILE: &str = "flashpick.lock";

/// The state dir cannot be locked.
#[derive(Debug, thiserror::Error)]
pub enum LockError {
    /// Another process holds it.
    #[error(
        "another flashpick ({holder}) is using the state dir {dir}; stop it first (systemctl stop flashpick): two of them on one database would send every platform action twice"
    )]
    Held {
        /// The state dir.
        dir: PathBuf,
        /// What the holder wrote in the lock file (its pid and command).
        holder: String,
    },
    /// The lock file cannot be opened.
    #[error(
        "cannot open the lock file {path}: {cause}; the state dir must exist and belong to the service user"
    )]
    Io {
        /// The lock file.
        path: PathBuf,
        /// Why.
        cause: std::io::Error,
    },
}

/// A held lock; dropping it lets go.
#[derive(Debug)]
pub struct StateLock {
    _file: File,
}

impl StateLock {
    /// Takes the lock of `state_dir` for `what` (e.g. `serve`), or says who holds it.
    pub fn acquire(state_dir: &Path, what: &str) -> Result<StateLock, LockError> {
        let path = state_dir.join(LOCK_FILE);
        let io = |cause| LockError::Io {
            path: path.clone(),
            cause,
        };
        let mut file = open(&path).map_err(io)?;
        super::file::adopt_owner(&path);
        match file.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => {
                return Err(LockError::Held {
                    dir: state_dir.to_path_buf(),
                    holder: holder_of(&mut file),
                });
            }
            Err(TryLockError::Error(e)) => return Err(io(e)),
        }
        let line = format!(
            "pid {} ({what}) since {} (unix ms)\n",
            std::process::id(),
            crate::model::Timestamp::now().0
        );
        file.set_len(0)
            .and_then(|()| file.rewind())
            .and_then(|()| file.write_all(line.as_bytes()))
            .map_err(io)?;
        Ok(StateLock { _file: file })
    }
}

/// Who holds the lock of `state_dir` now, if anyone (for `doctor`). Read from the kernel's
/// table of locks (`/proc/locks`), so that looking never takes the lock itself: a daemon
/// starting at that moment would be refused.
pub fn holder(state_dir: &Path) -> Option<String> {
    use std::os::unix::fs::MetadataExt;
    let path = state_dir.join(LOCK_FILE);
    let inode = std::fs::metadata(&path).ok()?.ino();
    let locks = std::fs::read_to_string("/proc/locks").ok()?;
    let held = locks.lines().any(|l| {
        // `1: FLOCK  ADVISORY  WRITE 1234 08:01:123456 0 EOF`
        let f: Vec<&str> = l.split_whitespace().collect();
        f.get(1) == Some(&"FLOCK")
            && f.get(5)
                .and_then(|id| id.rsplit(':').next())
                .and_then(|i| i.parse::<u64>().ok())
                == Some(inode)
    });
    if !held {
        return None;
    }
    let mut file = File::open(&path).ok()?;
    Some(holder_of(&mut file))
}

fn open(path: &Path) -> std::io::Result<File> {
    use std::os::unix::fs::OpenOptionsExt;
    OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .mode(0o640)
        .open(path)
}

fn holder_of(file: &mut File) -> String {
    let mut text = String::new();
    let _ = file.rewind();
    let _ = file.take(200).read_to_string(&mut text);
    match text.trim() {
        "" => "a process that has not written its pid yet".into(),
        t => t.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_holder_is_refused_with_the_first_ones_pid_until_it_lets_go() {
        let dir = tempfile::tempdir().unwrap();
        let first = StateLock::acquire(dir.path(), "serve").unwrap();
        let e = StateLock::acquire(dir.path(), "catalog import").unwrap_err();
        let pid = format!("pid {}", std::process::id());
        assert!(
            e.to_string().contains(&pid) && e.to_string().contains("(serve)"),
            "{e}"
        );
        assert!(holder(dir.path()).is_some_and(|h| h.contains(&pid)));
        drop(first);
        assert_eq!(holder(dir.path()), None);
        let again = StateLock::acquire(dir.path(), "catalog import").unwrap();
        drop(again);
    }
}
