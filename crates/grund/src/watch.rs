//! Waking up for work: inotify (through `notify`) on the user's directory (new projects), on
//! each project's directory (its `jobs/` and `results/` appearing after it), on each jobs
//! repo's `refs/` and on the repo directory (for `packed-refs`), plus a poll timer for network
//! file systems, which send no events. An event names the project it concerns, so only that
//! project is processed. Access events and `*.lock` names are ignored, or grund would wake
//! itself.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Component, Path, PathBuf};
use std::sync::mpsc::{channel, Receiver, RecvTimeoutError};
use std::time::Duration;

use notify::{EventKind, RecursiveMode, Watcher as _};

/// How grund learns of new commits.
#[derive(Debug)]
pub enum Source {
    /// Native events, with the poll timer as a backstop.
    Native(notify::RecommendedWatcher),
    /// Polling only (events unavailable, e.g. the inotify watch limit was reached).
    Poll,
}

/// What woke grund.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Wake {
    /// The poll timer: look at every project.
    Timeout,
    /// File events in these projects (directory names under the user's directory).
    Changed(BTreeSet<String>),
}

/// How much of a project directory is watched.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Level {
    /// The directory itself (for `jobs/` and `results/` to appear).
    Dir,
    /// Also its jobs repo's `refs/` and `packed-refs`.
    Refs,
}

#[derive(Debug)]
pub struct Watcher {
    source: Source,
    rx: Receiver<String>,
    user_dir: PathBuf,
    watched: BTreeMap<String, Level>,
}

impl Watcher {
    /// Watches `user_dir` (`bb/<server>/<user>`) for new projects.
    pub fn new(user_dir: &Path) -> Watcher {
        let (tx, rx) = channel();
        let top = user_dir.to_path_buf();
        let handler = move |res: notify::Result<notify::Event>| {
            if let Ok(ev) = res {
                for name in relevant(&ev, &top) {
                    let _ = tx.send(name);
                }
            }
        };
        let source = match notify::recommended_watcher(handler) {
            Ok(mut w) => {
                let _ = std::fs::create_dir_all(user_dir);
                match w.watch(user_dir, RecursiveMode::NonRecursive) {
                    Ok(()) => Source::Native(w),
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
            watched: BTreeMap::new(),
        }
    }

    /// Makes sure each project's jobs repo is watched, and each directory that is not yet a
    /// project (`partial`) too; both lists are sorted. Returns the projects whose refs are watched from now on: they
    /// may have changed before the watch began, so they want a pass.
    pub fn watch_projects(&mut self, projects: &[String], partial: &[String]) -> Vec<String> {
        let Source::Native(w) = &mut self.source else {
            return Vec::new();
        };
        // A project that went away is forgotten, so one created again under its name is
        // watched afresh (the kernel dropped the old watches with the directories).
        let gone: Vec<String> = self
            .watched
            .keys()
            .filter(|p| projects.binary_search(p).is_err() && partial.binary_search(p).is_err())
            .cloned()
            .collect();
        for p in gone {
            let dir = self.user_dir.join(&p);
            if self.watched.remove(&p) == Some(Level::Refs) {
                let _ = w.unwatch(&dir.join("jobs").join("refs"));
                let _ = w.unwatch(&dir.join("jobs"));
            } else {
                let _ = w.unwatch(&dir);
            }
        }
        let mut new = Vec::new();
        for p in partial {
            if self.watched.contains_key(p) {
                continue;
            }
            let dir = self.user_dir.join(p);
            match w.watch(&dir, RecursiveMode::NonRecursive) {
                Ok(()) => {
                    self.watched.insert(p.clone(), Level::Dir);
                }
                Err(e) => log::warn!("watching {}: {}; it is polled", dir.display(), explain(&e)),
            }
        }
        for p in projects {
            if self.watched.get(p) == Some(&Level::Refs) {
                continue;
            }
            let jobs = self.user_dir.join(p).join("jobs");
            let r = w
                .watch(&jobs.join("refs"), RecursiveMode::Recursive)
                .and_then(|()| w.watch(&jobs, RecursiveMode::NonRecursive));
            match r {
                Ok(()) => {
                    if self.watched.remove(p) == Some(Level::Dir) {
                        let _ = w.unwatch(&self.user_dir.join(p));
                    }
                    self.watched.insert(p.clone(), Level::Refs);
                    new.push(p.clone());
                }
                Err(e) => log::warn!("watching {}: {}; it is polled", jobs.display(), explain(&e)),
            }
        }
        new
    }

    pub fn is_native(&self) -> bool {
        matches!(self.source, Source::Native(..))
    }

    /// Waits for a change or the poll timeout.
    pub fn wait(&self, poll: Duration) -> Wake {
        match self.rx.recv_timeout(poll) {
            Ok(first) => {
                // Coalesce the burst of events one push makes.
                let mut names = BTreeSet::from([first]);
                names.extend(self.rx.try_iter());
                Wake::Changed(names)
            }
            Err(RecvTimeoutError::Timeout) | Err(RecvTimeoutError::Disconnected) => Wake::Timeout,
        }
    }
}

/// The projects an event concerns: a ref or `packed-refs` changed in its jobs repo, or the
/// project's directory or an entry of it appeared.
fn relevant(ev: &notify::Event, top: &Path) -> Vec<String> {
    if matches!(ev.kind, EventKind::Access(_)) {
        return Vec::new();
    }
    let mut out = Vec::new();
    for p in &ev.paths {
        let Ok(rel) = p.strip_prefix(top) else {
            continue;
        };
        let parts: Vec<&str> = rel
            .components()
            .filter_map(|c| match c {
                Component::Normal(s) => s.to_str(),
                _ => None,
            })
            .collect();
        let name = parts.last().copied().unwrap_or_default();
        if name.ends_with(".lock") {
            continue;
        }
        let wanted = match parts.as_slice() {
            [_] | [_, _] => true,
            [_, "jobs", rest @ ..] => rest.first() == Some(&"refs") || name == "packed-refs",
            _ => false,
        };
        if wanted {
            if let Some(project) = parts.first() {
                out.push(project.to_string());
            }
        }
    }
    out
}

fn explain(e: &notify::Error) -> String {
    match &e.kind {
        notify::ErrorKind::MaxFilesWatch => {
            "the inotify watch limit is reached (raise fs.inotify.max_user_watches, or ignore: grund polls)".into()
        }
        _ => format!("file events unavailable ({e})"),
    }
}
