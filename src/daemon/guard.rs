//! Watches the database file while the daemon runs. A file deleted or replaced under the daemon
//! keeps taking writes (to an unlinked inode) that a restart then loses; a damaged page makes
//! requests fail one by one. Either raises an alarm: an alert on every screen, `/healthz` 503,
//! no more watchdog pings, and (for a lost file) every write refused.

use super::Shared;
use crate::api::Event;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;

/// How often the file's identity is checked (a `stat`, nothing more).
pub(super) const FILE_CHECK: Duration = Duration::from_secs(2);

/// The alarms raised so far, each with what to do.
#[derive(Default)]
pub(crate) struct Alarms(std::sync::Mutex<Vec<String>>);

impl Alarms {
    /// Every alarm raised, oldest first.
    pub(crate) fn list(&self) -> Vec<String> {
        self.0.lock().expect("alarms").clone()
    }

    /// Whether the daemon is healthy.
    pub(crate) fn is_empty(&self) -> bool {
        self.0.lock().expect("alarms").is_empty()
    }

    fn raise(&self, message: &str) -> bool {
        let mut list = self.0.lock().expect("alarms");
        if list.iter().any(|m| m == message) {
            return false;
        }
        list.push(message.to_string());
        true
    }
}

/// Raises an alarm once: logged as an error, and told to every screen.
pub(crate) fn raise(shared: &Shared, message: &str) {
    if shared.alarms.raise(message) {
        tracing::error!("{message}");
        super::notify::notify(&format!("STATUS=ALARM: {message}"));
        let _ = shared.events.send(Event::Alert {
            level: "error".into(),
            message: message.to_string(),
            order_id: None,
        });
    }
}

/// Checks every `every` that the configured path still names the file the store opened.
pub(super) async fn watch_file(
    shared: Arc<Shared>,
    every: Duration,
    mut shutdown: watch::Receiver<bool>,
) {
    let mut tick = tokio::time::interval(every);
    loop {
        tokio::select! {
            _ = shutdown.changed() => return,
            _ = tick.tick() => {}
        }
        if let Err(reason) = shared.store.check_file() {
            shared.store.refuse_writes(&reason);
            let message = shared
                .store
                .refusing_writes()
                .unwrap_or_else(|| reason.clone());
            raise(&shared, &message);
            return;
        }
    }
}

/// `PRAGMA quick_check` once, after READY (it reads every page: too slow to wait for at start),
/// and a look for stock figures an older release left out of bounds.
pub(super) async fn quick_check(shared: Arc<Shared>) {
    let path = shared.store.path().to_path_buf();
    // Both read every page of a table or more: on a connection of their own with a small cache
    // (the pooled readers' large cache would keep what they read resident).
    let checked = tokio::task::spawn_blocking(move || {
        (
            crate::store::file::quick_check(&path),
            crate::store::file::with_small_cache(&path, |c| {
                crate::store::schema::bad_stock_figures(c)
            }),
        )
    })
    .await;
    let Ok((checked, bad_figures)) = checked else {
        return;
    };
    if let Ok((n @ 1.., first)) = bad_figures {
        tracing::error!(
            "{n} sku(s) (first: {}) hold stock figures that are not whole numbers or beyond 1000000000 (written by an older flashpick): the platforms are told 0 for them; count those shelves",
            first.join(", ")
        );
    }
    if let Err(problems) = checked {
        // Noted beside the file: the next start refuses it with exit 74 instead of coming up
        // READY on it again (the withheld watchdog would restart the daemon in a loop).
        let note = crate::store::file::damage_note(shared.store.path());
        if let Err(e) = std::fs::write(&note, format!("{problems}\n")) {
            tracing::error!(error = %e, "cannot note the damage in {}", note.display());
        }
        let message = format!(
            "the database {} is damaged ({problems}); restore the last good copy (`flashpick doctor` lists the snapshots, `flashpick restore FILE` puts one back)",
            shared.store.path().display()
        );
        raise(&shared, &message);
    }
}

/// How often the daemon looks whether a day has passed since the newest snapshot.
const SNAPSHOT_CHECK: Duration = Duration::from_secs(3600);

/// A snapshot of the database a day after the newest one (the first a minute after start, so
/// that a start stays quick), keeping the newest [`crate::store::backup::KEEP`].
pub(super) async fn snapshots(shared: Arc<Shared>, mut shutdown: watch::Receiver<bool>) {
    let start = tokio::time::Instant::now() + Duration::from_secs(60);
    let mut tick = tokio::time::interval_at(start, SNAPSHOT_CHECK);
    let mut warned = false;
    loop {
        tokio::select! {
            _ = shutdown.changed() => return,
            _ = tick.tick() => {}
        }
        let state_dir = shared.config.store.state_dir.clone();
        let db = shared.store.path().to_path_buf();
        let now = crate::model::Timestamp::now();
        let alarm = !shared.alarms.is_empty();
        let taken =
            tokio::task::spawn_blocking(move || snapshot_round(&state_dir, &db, now, alarm)).await;
        match taken {
            Ok(Ok(Some((out, bytes)))) => {
                tracing::info!(file = %out.display(), bytes, "database snapshot written");
                warned = false;
            }
            Ok(Ok(None)) => {}
            Ok(Err(e)) if !warned => {
                tracing::warn!(error = %e, "cannot write the nightly database snapshot");
                warned = true;
            }
            _ => {}
        }
    }
}

/// One round of the nightly snapshot: none while an alarm stands (a file deleted, replaced or
/// damaged: its copy is no snapshot to keep, and pruning would throw good ones away) or when
/// the newest is less than a day old; else one taken and the oldest beyond `backup::KEEP`
/// pruned. Returns the file written and its size.
pub(crate) fn snapshot_round(
    state_dir: &std::path::Path,
    db: &std::path::Path,
    now: crate::model::Timestamp,
    alarm: bool,
) -> Result<Option<(std::path::PathBuf, u64)>, crate::store::StoreError> {
    use crate::store::backup;
    if alarm {
        return Ok(None);
    }
    let newest = backup::list(state_dir).first().map(|s| s.modified);
    if newest.is_some_and(|m| now.0 / 1000 - m < 24 * 3600 - 300) {
        return Ok(None);
    }
    let stamp = crate::model::china_time::compact(now);
    let out = backup::dir(state_dir).join(backup::file_name(&stamp));
    let bytes = backup::snapshot(db, &out)?;
    backup::prune(state_dir, backup::KEEP);
    Ok(Some((out, bytes)))
}

#[cfg(test)]
mod tests {
    use super::snapshot_round;
    use crate::model::Timestamp;
    use crate::store::{Store, StoreOptions, backup};

    #[test]
    fn a_snapshot_a_day_none_while_an_alarm_stands_and_the_oldest_pruned() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("store.db");
        let store = Store::open(&db, StoreOptions::default()).unwrap();
        let now = Timestamp::now();
        let day = |n: i64| Timestamp(now.0 + n * 86_400_000);
        // An alarm stands: nothing taken, nothing pruned.
        assert!(
            snapshot_round(dir.path(), &db, now, true)
                .unwrap()
                .is_none()
        );
        assert!(backup::list(dir.path()).is_empty());
        let (first, bytes) = snapshot_round(dir.path(), &db, now, false)
            .unwrap()
            .unwrap();
        assert!(first.exists() && bytes > 0);
        // The newest is less than a day old: none more.
        assert!(
            snapshot_round(dir.path(), &db, now, false)
                .unwrap()
                .is_none()
        );
        // A day at a time for ten days: one each, never more than KEEP kept.
        for n in 1..=10 {
            assert!(
                snapshot_round(dir.path(), &db, day(n), false)
                    .unwrap()
                    .is_some()
            );
        }
        assert_eq!(backup::list(dir.path()).len(), backup::KEEP);
        assert!(!first.exists(), "the oldest went first");
        store.close();
    }
}
