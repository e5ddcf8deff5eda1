//! Waking up for work: inotify (through `notify`) on each project's `jobs/refs/` and on the
//! repo directory (for `packed-refs`), plus a poll timer for network file systems, which send
//! no events. Access events and `*.lock` names are ignored, or grund would wake itself.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::mpsc::{channel, Receiver, RecvTimeoutError};
use std::time::Duration;

use notify::{EventKind, RecursiveMode, Watcher as _};

/// How grund learns of new commits.
#[derive(Debug)]
pub enum Source {
    /// Native events, with the poll timer as a backstop.
    Native(notify::RecommendedWatcher, BTreeSet<PathBuf>),
    /// Polling only (events unavailable, e.g. the inotify watch limit was reached).
    Poll,
}

#[derive(Debug)]
pub struct Watcher {
    source: Source,
    rx: Receiver<()>,
    user_dir: PathBuf,
}

impl Watcher {
    /// Watches `user_dir` (`bb/<server>/<user>`) for new projects.
    pub fn new(user_dir: &Path) -> Watcher {
        let (tx, rx) = channel();
        let top = user_dir.to_path_buf();
        let handler = move |res: notify::Result<notify::Event>| {
            if let Ok(ev) = res {
                if relevant(&ev, &top) {
                    let _ = tx.send(());
                }
            }
        };
        let source = match notify::recommended_watcher(handler) {
            Ok(mut w) => {
                let _ = std::fs::create_dir_all(user_dir);
                match w.watch(user_dir, RecursiveMode::NonRecursive) {
                    Ok(()) => Source::Native(w, BTreeSet::new()),
                    Err(e) => {
                        log::warn!("{}; polling only", explain(&e));
                        Source::Poll
                    }
                }
            }
            Err(e) => {
                log::warn!("{}; polling only", explain(&e));
                Source::Poll
            }
        };
        Watcher {
            source,
            rx,
            user_dir: user_dir.to_path_buf(),
        }
    }

    /// Makes sure each project's jobs repo is watched.
    pub fn watch_projects(&mut self, projects: &[String]) {
        let Source::Native(w, watched) = &mut self.source else {
            return;
        };
        for p in projects {
            let jobs = self.user_dir.join(p).join("jobs");
            if watched.contains(&jobs) {
                continue;
            }
            let r = w
                .watch(&jobs.join("refs"), RecursiveMode::Recursive)
                .and_then(|()| w.watch(&jobs, RecursiveMode::NonRecursive));
            match r {
                Ok(()) => {
                    watched.insert(jobs);
                }
                Err(e) => log::warn!("watching {}: {}; it is polled", jobs.display(), explain(&e)),
            }
        }
    }

    pub fn is_native(&self) -> bool {
        matches!(self.source, Source::Native(..))
    }

    /// Waits for a change or the poll timeout; returns true if woken by an event.
    pub fn wait(&self, poll: Duration) -> bool {
        match self.rx.recv_timeout(poll) {
            Ok(()) => {
                // Coalesce the burst of events one push makes.
                while self.rx.try_recv().is_ok() {}
                true
            }
            Err(RecvTimeoutError::Timeout) | Err(RecvTimeoutError::Disconnected) => false,
        }
    }
}

/// A ref changed, `packed-refs` changed, or a project appeared in `top`.
fn relevant(ev: &notify::Event, top: &Path) -> bool {
    if matches!(ev.kind, EventKind::Access(_)) {
        return false;
    }
    ev.paths.iter().any(|p| {
        let name = p
            .file_name()
            .map(|n| n.to_string_lossy())
            .unwrap_or_default();
        if name.ends_with(".lock") {
            return false;
        }
        let in_refs = p
            .strip_prefix(top)
            .map(|rel| rel.components().any(|c| c.as_os_str() == "refs"))
            .unwrap_or(false);
        in_refs || name == "packed-refs" || p.parent() == Some(top)
    })
}

fn explain(e: &notify::Error) -> String {
    match &e.kind {
        notify::ErrorKind::MaxFilesWatch => {
            "the inotify watch limit is reached (raise fs.inotify.max_user_watches, or ignore: grund polls)".into()
        }
        _ => format!("file events unavailable ({e})"),
    }
}
