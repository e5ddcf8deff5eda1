//! The workers: a bounded pool of threads that process projects, one project at a time per
//! worker and never one project in two workers, so a runner that hangs in one project delays
//! no other. A project whose pass fails is retried with a growing delay (its error is logged;
//! other projects go on); what each busy project is doing is kept for the heartbeat.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime};

/// First delay before a failed project is tried again; it doubles up to [`MAX_BACKOFF`].
const FIRST_BACKOFF: Duration = Duration::from_secs(1);
const MAX_BACKOFF: Duration = Duration::from_secs(60);

/// What one worker does with one project: `refresh` asks for a status refresh too. `Ok(fp)`
/// with the fingerprint of the refs it saw (see [`Pool::seen`]), `Err` for a project's error.
pub type Work<F> = dyn Fn(&str, bool, &Activity) -> anyhow::Result<F> + Send + Sync;

/// What busy projects are doing, for the heartbeat and `doctor`: project → (what, since).
#[derive(Debug, Clone, Default)]
pub struct Activity(Arc<Mutex<BTreeMap<String, (String, SystemTime)>>>);

impl Activity {
    /// Records what `project` waits on now.
    pub fn set(&self, project: &str, what: impl Into<String>) {
        lock(&self.0).insert(project.to_string(), (what.into(), SystemTime::now()));
    }

    pub fn clear(&self, project: &str) {
        lock(&self.0).remove(project);
    }

    /// Every busy project, what it waits on and since when.
    pub fn snapshot(&self) -> Vec<(String, String, SystemTime)> {
        lock(&self.0)
            .iter()
            .map(|(p, (w, t))| (p.clone(), w.clone(), *t))
            .collect()
    }
}

/// A poisoned lock only means a worker panicked while holding it; the data is still sound
/// (every update is a single insert or remove).
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

#[derive(Debug)]
struct Failing {
    failures: u32,
    until: Instant,
}

#[derive(Debug)]
struct State<F> {
    /// Projects that want a pass, and those that want a refresh with it.
    queue: BTreeSet<String>,
    refresh: BTreeSet<String>,
    busy: BTreeSet<String>,
    failing: BTreeMap<String, Failing>,
    /// Fingerprints of the refs at the start of each project's last good pass.
    seen: BTreeMap<String, F>,
    /// Passes that failed since the pool started (for `--once`'s exit status).
    failed: usize,
    stop: bool,
}

struct Shared<F> {
    state: Mutex<State<F>>,
    changed: Condvar,
    activity: Activity,
    work: Box<Work<F>>,
}

/// The pool; dropping it stops the workers once their current project is done.
pub struct Pool<F: Send + 'static> {
    shared: Arc<Shared<F>>,
    threads: Vec<JoinHandle<()>>,
}

impl<F: Send + 'static> std::fmt::Debug for Pool<F> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pool")
            .field("workers", &self.threads.len())
            .finish()
    }
}

impl<F: Send + Clone + PartialEq + 'static> Pool<F> {
    /// Starts `workers` threads (at least one) that run `work`.
    pub fn new(workers: usize, work: Box<Work<F>>) -> Pool<F> {
        let shared = Arc::new(Shared {
            state: Mutex::new(State {
                queue: BTreeSet::new(),
                refresh: BTreeSet::new(),
                busy: BTreeSet::new(),
                failing: BTreeMap::new(),
                seen: BTreeMap::new(),
                failed: 0,
                stop: false,
            }),
            changed: Condvar::new(),
            activity: Activity::default(),
            work,
        });
        let threads = (0..workers.max(1))
            .filter_map(|i| {
                let s = Arc::clone(&shared);
                std::thread::Builder::new()
                    .name(format!("grund-worker-{i}"))
                    .spawn(move || worker(&s))
                    .map_err(|e| log::error!("starting worker {i}: {e}"))
                    .ok()
            })
            .collect();
        Pool { shared, threads }
    }

    /// Asks for a pass over `projects` (with a refresh if `refresh`). Projects that failed
    /// lately wait for their retry time unless `now_anyway`; a project being processed gets
    /// another pass after the current one.
    pub fn want<'a>(
        &self,
        projects: impl IntoIterator<Item = &'a String>,
        refresh: bool,
        now_anyway: bool,
    ) {
        let mut st = lock(&self.shared.state);
        let now = Instant::now();
        let mut any = false;
        for p in projects {
            if !now_anyway && st.failing.get(p).is_some_and(|f| f.until > now) {
                continue;
            }
            st.queue.insert(p.clone());
            if refresh {
                st.refresh.insert(p.clone());
            }
            any = true;
        }
        if any {
            self.shared.changed.notify_all();
        }
    }

    /// The fingerprint of `project`'s refs when its last good pass started.
    pub fn seen(&self, project: &str) -> Option<F> {
        lock(&self.shared.state).seen.get(project).cloned()
    }

    /// Projects whose retry time has come, and the next retry time after now.
    pub fn due_retries(&self) -> (Vec<String>, Option<Instant>) {
        let st = lock(&self.shared.state);
        let now = Instant::now();
        let due = st
            .failing
            .iter()
            .filter(|(p, f)| f.until <= now && !st.queue.contains(*p) && !st.busy.contains(*p))
            .map(|(p, _)| p.clone())
            .collect();
        let next = st
            .failing
            .values()
            .map(|f| f.until)
            .filter(|t| *t > now)
            .min();
        (due, next)
    }

    /// Blocks until nothing is queued or running; returns how many passes failed so far.
    pub fn wait_idle(&self) -> usize {
        let mut st = lock(&self.shared.state);
        // Bounded by the work queued: every pass ends (runners have time limits or end).
        while !(st.queue.is_empty() && st.busy.is_empty()) {
            st = self
                .shared
                .changed
                .wait(st)
                .unwrap_or_else(|e| e.into_inner());
        }
        st.failed
    }

    pub fn activity(&self) -> &Activity {
        &self.shared.activity
    }
}

impl<F: Send + 'static> Drop for Pool<F> {
    fn drop(&mut self) {
        lock(&self.shared.state).stop = true;
        self.shared.changed.notify_all();
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
    }
}

fn worker<F: Send + Clone + PartialEq>(s: &Shared<F>) {
    loop {
        let (name, refresh) = {
            let mut st = lock(&s.state);
            // Bounded: each wake-up either takes a project or waits again for a change.
            loop {
                if st.stop {
                    return;
                }
                let next = st.queue.iter().find(|p| !st.busy.contains(*p)).cloned();
                if let Some(p) = next {
                    st.queue.remove(&p);
                    let refresh = st.refresh.remove(&p);
                    st.busy.insert(p.clone());
                    break (p, refresh);
                }
                st = s.changed.wait(st).unwrap_or_else(|e| e.into_inner());
            }
        };
        s.activity.set(&name, "processing");
        let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            (s.work)(&name, refresh, &s.activity)
        }))
        .unwrap_or_else(|_| Err(anyhow::anyhow!("processing panicked (a bug in grund)")));
        s.activity.clear(&name);
        let mut st = lock(&s.state);
        st.busy.remove(&name);
        match result {
            Ok(fp) => {
                st.failing.remove(&name);
                st.seen.insert(name, fp);
            }
            Err(e) => {
                st.failed += 1;
                st.seen.remove(&name);
                let failures = st.failing.get(&name).map_or(0, |f| f.failures) + 1;
                let delay = FIRST_BACKOFF
                    .saturating_mul(1 << failures.min(16).saturating_sub(1))
                    .min(MAX_BACKOFF);
                log::error!("{name}: {e:#} (retrying in {} s)", delay.as_secs());
                st.failing.insert(
                    name,
                    Failing {
                        failures,
                        until: Instant::now() + delay,
                    },
                );
            }
        }
        s.changed.notify_all();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

    #[test]
    fn a_hung_project_does_not_hold_up_another_and_failures_back_off() {
        let release = Arc::new(AtomicBool::new(false));
        let calls = Arc::new(AtomicUsize::new(0));
        let (r, c) = (Arc::clone(&release), Arc::clone(&calls));
        let pool: Pool<u32> = Pool::new(
            2,
            Box::new(move |name: &str, _, _: &Activity| {
                c.fetch_add(1, Ordering::SeqCst);
                match name {
                    "hung" => {
                        let end = Instant::now() + Duration::from_secs(20);
                        while !r.load(Ordering::SeqCst) && Instant::now() < end {
                            std::thread::sleep(Duration::from_millis(5));
                        }
                        Ok(1)
                    }
                    "bad" => anyhow::bail!("broken"),
                    _ => Ok(2),
                }
            }),
        );
        pool.want([&"hung".to_string()], false, false);
        pool.want([&"ok".to_string(), &"bad".to_string()], false, false);
        let deadline = Instant::now() + Duration::from_secs(10);
        while pool.seen("ok").is_none() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(5));
        }
        assert_eq!(pool.seen("ok"), Some(2), "ok was held up by hung");
        assert!(pool
            .activity()
            .snapshot()
            .iter()
            .any(|(p, _, _)| p == "hung"));
        release.store(true, Ordering::SeqCst);
        assert_eq!(pool.wait_idle(), 1);
        // A failed project is not retried before its time, unless asked to be.
        pool.want([&"bad".to_string()], false, false);
        assert_eq!(pool.wait_idle(), 1);
        pool.want([&"bad".to_string()], false, true);
        assert_eq!(pool.wait_idle(), 2);
        assert_eq!(calls.load(Ordering::SeqCst), 4);
    }
}
