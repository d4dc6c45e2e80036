//! The socket's file: its directory made with the right mode, a stale socket told from a live
//! daemon, the group that may connect.

use super::DaemonError;
use std::path::Path;
use tokio::net::UnixListener;

pub(super) fn mkdir(path: &Path) -> Result<(), DaemonError> {
    let existed = path.exists();
    std::fs::create_dir_all(path).map_err(|cause| DaemonError::Dir {
        path: path.to_path_buf(),
        cause,
    })?;
    if !existed {
        // Made here: the service user's and its group's, nobody else's (it holds the database
        // and the config from HQ with its secrets).
        use std::os::unix::fs::PermissionsExt;
        let _ = std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o750));
    }
    Ok(())
}

/// The id of the group `name` in `/etc/group`, if it exists (no libc call).
fn group_id(name: &str) -> Option<u32> {
    std::fs::read_to_string("/etc/group")
        .ok()?
        .lines()
        .find_map(|l| {
            let mut f = l.split(':');
            (f.next()? == name).then(|| f.nth(1)?.parse().ok())?
        })
}

pub(super) async fn bind_socket(path: &Path, group: &str) -> Result<UnixListener, DaemonError> {
    use std::os::unix::fs::PermissionsExt;
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        mkdir(dir)?;
    }
    if let Ok(meta) = std::fs::symlink_metadata(path) {
        use std::os::unix::fs::FileTypeExt;
        if !meta.file_type().is_socket() {
            // Never delete what is not ours: a typo here could point at the database.
            return Err(DaemonError::Socket {
                path: path.to_path_buf(),
                cause: std::io::Error::new(
                    std::io::ErrorKind::AlreadyExists,
                    "a file that is not a socket is in the way; fix api.socket",
                ),
            });
        }
        // A socket file left by a daemon that died; refuse only if something still answers.
        if tokio::net::UnixStream::connect(path).await.is_ok() {
            return Err(DaemonError::AlreadyRunning(path.to_path_buf()));
        }
        let _ = std::fs::remove_file(path);
    }
    let sock_err = |cause| DaemonError::Socket {
        path: path.to_path_buf(),
        cause,
    };
    let listener = UnixListener::bind(path).map_err(sock_err)?;
    // 0660: the service user and the staff's group (the TUI) may connect; the staff's group is
    // not the service's, which may read the config's secrets.
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o660)).map_err(sock_err)?;
    match group_id(group) {
        Some(gid) => {
            if let Err(e) = std::os::unix::fs::chown(path, None, Some(gid)) {
                tracing::warn!(error = %e, group, "cannot give the socket to the staff's group: make the service user a member (the unit's SupplementaryGroups)");
            }
        }
        None => tracing::info!(
            group,
            "no such group here: the socket stays with the service's group (the package creates it)"
        ),
    }
    Ok(listener)
}
