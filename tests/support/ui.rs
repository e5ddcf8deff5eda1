//! For `grunt ui`'s tests and bench: a running `grunt ui` (its URL and token read from its
//! stdout, killed by pid when dropped), a small HTTP client, and headless Chromium driven
//! through chromedriver (WebDriver, with fantoccini). Under `CI=true` a missing Chromium fails;
//! elsewhere the browser tests skip, saying so.

use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use git2::FileMode;
use grunt_core::git::{self, refs, tree};
use grunt_core::jobid::JobId;

use crate::{grunt_bin, Account, World};

/// A `grunt ui --no-open` serving a project.
#[derive(Debug)]
pub struct UiServer {
    child: Child,
    /// `http://127.0.0.1:PORT`
    pub base: String,
    pub token: String,
}

impl UiServer {
    /// Starts `grunt ui --no-open ARGS` (`--port 0` unless ARGS name one) as `who` in `project`; waits for its URL.
    pub fn start(who: &Account, project: &Path, extra: &[&str]) -> UiServer {
        let mut child = who
            .command(&grunt_bin(), project)
            .args(["ui", "--no-open"])
            .args(if extra.contains(&"--port") {
                &[][..]
            } else {
                &["--port", "0"][..]
            })
            .args(extra)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("starting grunt ui");
        let stdout = child.stdout.take().expect("stdout");
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut line = String::new();
            let _ = BufReader::new(stdout).read_line(&mut line);
            let _ = tx.send(line);
        });
        let line = match rx.recv_timeout(Duration::from_secs(60)) {
            Ok(l) => l,
            Err(_) => {
                let _ = child.kill();
                panic!("grunt ui printed no URL within 60 s");
            }
        };
        let line = line.trim();
        let (base, token) = line.split_once("/?token=").unwrap_or_else(|| {
            panic!("grunt ui printed {line:?}, not http://127.0.0.1:P/?token=…")
        });
        assert!(
            base.starts_with("http://127.0.0.1:"),
            "grunt ui must serve on 127.0.0.1: {line}"
        );
        UiServer {
            child,
            base: base.to_string(),
            token: token.to_string(),
        }
    }

    /// Ctrl-C (SIGINT to its pid): its exit status, waited for up to `secs`.
    pub fn interrupt(&mut self, secs: u64) -> Option<std::process::ExitStatus> {
        // SAFETY: a signal to the child this guard started (and has not reaped).
        unsafe { libc::kill(self.child.id() as libc::pid_t, libc::SIGINT) };
        let end = Instant::now() + Duration::from_secs(secs);
        while Instant::now() < end {
            if let Ok(Some(st)) = self.child.try_wait() {
                return Some(st);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        None
    }

    /// The URL it printed (with the token).
    pub fn url(&self) -> String {
        format!("{}/?token={}", self.base, self.token)
    }

    /// GET `path` with the token as a bearer: (status, body).
    pub fn get(&self, path: &str) -> (u16, String) {
        http(
            ureq::get(&format!("{}{path}", self.base))
                .set("Authorization", &format!("Bearer {}", self.token)),
            None,
        )
    }

    /// POST JSON to `path` with the token as a bearer: (status, body).
    pub fn post(&self, path: &str, json: &str) -> (u16, String) {
        http(
            ureq::post(&format!("{}{path}", self.base))
                .set("Authorization", &format!("Bearer {}", self.token))
                .set("Content-Type", "application/json"),
            Some(json),
        )
    }

    /// Waits until `GET /api/jobs` has been pulled at least once and `cond` holds for its jobs.
    pub fn wait_jobs(&self, secs: u64, what: &str, cond: impl Fn(&[serde_json::Value]) -> bool) {
        crate::wait_until(secs, what, || {
            let (code, body) = self.get("/api/jobs");
            let v: serde_json::Value = serde_json::from_str(&body).unwrap_or_default();
            code == 200 && !v["as_of"].is_null() && v["jobs"].as_array().is_some_and(|j| cond(j))
        });
    }
}

impl Drop for UiServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Sends a request (any status is an answer): (status, body).
pub fn http(req: ureq::Request, body: Option<&str>) -> (u16, String) {
    let res = match body {
        Some(b) => req.send_string(b),
        None => req.call(),
    };
    match res {
        Ok(r) => (r.status(), r.into_string().unwrap_or_default()),
        Err(ureq::Error::Status(code, r)) => (code, r.into_string().unwrap_or_default()),
        Err(e) => panic!("HTTP request failed: {e}"),
    }
}

/// Debian's chromium and chromium-driver, if installed.
pub fn chromium() -> Option<(PathBuf, PathBuf)> {
    let find = |names: &[&str]| -> Option<PathBuf> {
        let path = std::env::var_os("PATH")?;
        names.iter().find_map(|n| {
            std::env::split_paths(&path)
                .map(|d| d.join(n))
                .find(|p| p.is_file())
        })
    };
    Some((
        find(&["chromium", "chromium-browser"])?,
        find(&["chromedriver", "chromium-driver"])?,
    ))
}

/// Chromium, or: under CI a failure, elsewhere `None` after saying the test is skipped.
pub fn browser_or_skip(test: &str) -> Option<(PathBuf, PathBuf)> {
    match chromium() {
        Some(c) => Some(c),
        None if std::env::var("CI").as_deref() == Ok("true") => {
            panic!("{test}: chromium and chromedriver are needed under CI (apt-get install chromium chromium-driver)")
        }
        None => {
            eprintln!(
                "SKIPPED {test}: no chromium/chromedriver on PATH (apt-get install chromium chromium-driver)"
            );
            None
        }
    }
}

/// Headless Chromium under chromedriver (both killed by pid when dropped), driven with
/// fantoccini on a runtime of its own so tests stay synchronous.
#[derive(Debug)]
pub struct Browser {
    driver: Child,
    pub rt: tokio::runtime::Runtime,
    pub client: fantoccini::Client,
}

impl Browser {
    pub fn start(chromium: &Path, driver: &Path, width: u32, height: u32) -> Browser {
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("free port")
            .port();
        let mut child = Command::new(driver)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("starting chromedriver");
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        let mut caps = serde_json::Map::new();
        caps.insert(
            "goog:chromeOptions".into(),
            serde_json::json!({
                "binary": chromium,
                "args": ["--headless=new", "--no-sandbox", "--disable-gpu",
                         "--disable-dev-shm-usage", format!("--window-size={width},{height}"),
                         "--no-first-run", "--no-default-browser-check"],
            }),
        );
        let url = format!("http://127.0.0.1:{port}");
        let deadline = Instant::now() + Duration::from_secs(60);
        let client = loop {
            let made = rt.block_on(
                fantoccini::ClientBuilder::new(
                    hyper_util::client::legacy::connect::HttpConnector::new(),
                )
                .capabilities(caps.clone())
                .connect(&url),
            );
            match made {
                Ok(c) => break c,
                Err(e) if Instant::now() > deadline => {
                    let _ = child.kill();
                    panic!("chromedriver on {url} did not start a session: {e}");
                }
                Err(_) => std::thread::sleep(Duration::from_millis(100)),
            }
        };
        Browser {
            driver: child,
            rt,
            client,
        }
    }

    /// Runs browser steps to their end.
    pub fn block<T>(&self, f: impl std::future::Future<Output = T>) -> T {
        self.rt.block_on(f)
    }

    /// Evaluates a JavaScript expression in the page (`return …`).
    pub fn eval(&self, script: &str) -> serde_json::Value {
        self.block(self.client.execute(script, vec![]))
            .unwrap_or_else(|e| panic!("script {script:?} failed: {e}"))
    }

    /// Waits until a JavaScript expression is truthy.
    pub fn wait_js(&self, secs: u64, what: &str, script: &str) {
        crate::wait_until(secs, what, || {
            let v = self
                .block(self.client.execute(script, vec![]))
                .unwrap_or_default();
            !(v.is_null() || v == false || v == 0 || v == "")
        });
    }

    /// A PNG of the page as it is.
    pub fn screenshot(&self) -> Vec<u8> {
        self.block(self.client.screenshot()).expect("screenshot")
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let c = self.client.clone();
        let _ = self.rt.block_on(c.close());
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

/// `n` jobs (ore000001…) on the server's jobs repo, in four states, the first 8 a sweep, in
/// one commit.
pub fn fill_jobs(w: &World, n: u64) {
    let bare = git::open(&w.bare_jobs()).unwrap();
    let sig = git2::Signature::now("bench", "b@x").unwrap();
    let mut active = bare.treebuilder(None).unwrap();
    let states = [
        ("COMPLETED", Some("0")),
        ("FAILED", Some("3")),
        ("RUNNING", None),
        ("TIMEOUT", Some("1")),
    ];
    for i in 1..=n {
        let (status, code) = states[(i % 4) as usize];
        let mut files = vec![
            ("job.message", format!("sweep lr {i}\n")),
            ("job.args", format!("--lr\n0.{i}\n--epochs\n{}\n", i % 50)),
            ("job.submit", "2026-11-21 09:30:00 UTC\n".to_string()),
            ("job.start", "2026-11-21 09:31:00 UTC\n".to_string()),
            ("job.status", format!("{status}\n")),
            ("sim.sh", "echo hi\n".to_string()),
        ];
        // Jobs 1..=8 are the points of one sweep (issue 11's job.sweep and job.params).
        if i <= 8 {
            files.push(("job.sweep", "ore000001\n".to_string()));
            files.push(("job.params", format!("lr=0.{}\nseed={}\n", i % 4, i / 4)));
        }
        if let Some(c) = code {
            files.push(("job.end", "2026-11-21 10:02:13 UTC\n".to_string()));
            files.push(("job.exitcode", format!("{c}\n")));
        }
        let mut tb = bare.treebuilder(None).unwrap();
        for (name, text) in files {
            tb.insert(name, bare.blob(text.as_bytes()).unwrap(), 0o100644)
                .unwrap();
        }
        let mut wrap = bare.treebuilder(None).unwrap();
        wrap.insert("sim", tb.write().unwrap(), 0o040000).unwrap();
        let id = JobId::new("ore", i).unwrap();
        active
            .insert(id.to_string(), wrap.write().unwrap(), 0o040000)
            .unwrap();
    }
    let active = active.write().unwrap();
    refs::commit_edits(&bare, &sig, &format!("{n} jobs"), 1, |_, _| {
        Ok(vec![tree::Edit::Put {
            path: "active".into(),
            oid: active,
            mode: FileMode::Tree,
        }])
    })
    .unwrap();
}
