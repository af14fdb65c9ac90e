//! Watching a plugin file for new versions, for both places a plugin runs
//! (a `storm-wasm bolt|spout` process and the native worker).
//!
//! The watcher reacts to file-system events on the plugin's directory (and
//! polls once a second in case an event was missed), waits until the file
//! stops changing, and acts only when the content hash differs from the last
//! one it saw. Reads are not changes (ours included), and a deleted file
//! keeps the running version. The safe way to publish is to write the new
//! file next to the old one and rename it into place.

use std::path::{Path, PathBuf};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::time::{Duration, Instant, SystemTime};

use notify::{RecursiveMode, Watcher};

/// How long a file must stay unchanged before it is read.
const SETTLE: Duration = Duration::from_millis(30);
/// Polling interval when no event arrives.
const POLL: Duration = Duration::from_secs(1);

/// A new content of the watched file.
pub struct Change {
    /// The file's bytes.
    pub wasm: Vec<u8>,
    /// Their whole SHA-256, hex (as [`crate::cache::digest`]).
    pub digest: String,
    /// When the change was noticed (the start of the swap latency).
    pub detected: Instant,
}

/// Watches `path` on a thread of its own and calls `on_change` with each new
/// content (not the one whose digest is `current_digest`); the watcher stops
/// when `on_change` returns false.
pub fn watch(path: PathBuf, current_digest: String, mut on_change: impl FnMut(Change) -> bool + Send + 'static) {
    let mut last_digest = current_digest;
    std::thread::Builder::new()
        .name("plugin-watcher".into())
        .spawn(move || {
            let (fs_tx, fs_rx) = mpsc::channel();
            let _watcher = start_watcher(&path, fs_tx);
            let mut seen = file_stamp(&path);
            // The file may have changed between its loading and the watch:
            // its content is compared once before waiting for events.
            let mut check_now = true;
            loop {
                let next = if std::mem::take(&mut check_now) { Ok(false) } else { fs_rx.recv_timeout(POLL) };
                let (detected, renamed) = match next {
                    Ok(renamed) => (Instant::now(), renamed),
                    Err(RecvTimeoutError::Timeout | RecvTimeoutError::Disconnected) => {
                        let stamp = file_stamp(&path);
                        if stamp == seen {
                            if matches!(fs_rx.try_recv(), Err(mpsc::TryRecvError::Disconnected)) {
                                std::thread::sleep(POLL);
                            }
                            continue;
                        }
                        (Instant::now(), false)
                    }
                };
                // A file renamed into place is whole; one written in place
                // may still be growing.
                if !renamed {
                    settle(&path, &fs_rx);
                }
                seen = file_stamp(&path);
                let Ok(wasm) = std::fs::read(&path) else {
                    tracing::info!("{} is gone; the running version stays", path.display());
                    continue;
                };
                let digest = crate::cache::digest(&wasm);
                if digest == last_digest {
                    continue;
                }
                last_digest = digest.clone();
                if !on_change(Change { wasm, digest, detected }) {
                    return;
                }
            }
        })
        .expect("cannot start the plugin watcher thread");
}

/// File-system events on the plugin's directory that name the plugin
/// (`true` when the plugin was renamed into place).
fn start_watcher(path: &Path, events: Sender<bool>) -> Option<notify::RecommendedWatcher> {
    let name = path.file_name()?.to_os_string();
    let dir = path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let mut watcher = notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
        if let Ok(event) = event {
            // Reads (ours included: reading the file to hash it) are not
            // changes; reacting to them would spin. Nor are metadata changes:
            // on a strictatime mount each of our reads updates the access
            // time, which would wake the watcher again, forever.
            if matches!(
                event.kind,
                notify::EventKind::Access(_) | notify::EventKind::Modify(notify::event::ModifyKind::Metadata(_))
            ) {
                return;
            }
            if event.paths.last().is_some_and(|p| p.file_name() == Some(name.as_os_str())) {
                let renamed = matches!(
                    event.kind,
                    notify::EventKind::Modify(notify::event::ModifyKind::Name(
                        notify::event::RenameMode::To | notify::event::RenameMode::Both
                    ))
                );
                let _ = events.send(renamed);
            }
        }
    })
    .map_err(|e| tracing::warn!("cannot watch {}: {e}; polling it every {POLL:?}", dir.display()))
    .ok()?;
    match watcher.watch(dir, RecursiveMode::NonRecursive) {
        Ok(()) => Some(watcher),
        Err(e) => {
            tracing::warn!("cannot watch {}: {e}; polling it every {POLL:?}", dir.display());
            None
        }
    }
}

/// Waits until the file has not changed for [`SETTLE`] (at most 2 s), so a
/// file still being written is not read half-way.
fn settle(path: &Path, events: &Receiver<bool>) {
    let deadline = Instant::now() + Duration::from_secs(2);
    let mut stamp = file_stamp(path);
    while Instant::now() < deadline {
        std::thread::sleep(SETTLE);
        while events.try_recv().is_ok() {}
        let now = file_stamp(path);
        if now == stamp {
            return;
        }
        stamp = now;
    }
}

fn file_stamp(path: &Path) -> Option<(u64, SystemTime, u64)> {
    use std::os::unix::fs::MetadataExt;
    let meta = std::fs::metadata(path).ok()?;
    Some((meta.len(), meta.modified().ok()?, meta.ino()))
}
