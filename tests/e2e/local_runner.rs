//! The local runner, `runner-examples/local/grunter`, run for real: a job
//! directory with a space in its path, the environment grund gives a runner,
//! and real detached processes. Set `GRUNTER_LOCAL` to test another copy of
//! the script.

use std::fs;
use std::io::Read;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

/// How long a job or a process group gets to reach the state a test expects.
const JOB_DEADLINE: Duration = Duration::from_secs(10);
/// Far below grund's 300 s, far above what a healthy runner needs: a runner
/// that does not return by then has left a detached job holding its pipes.
const RUNNER_DEADLINE: Duration = Duration::from_secs(30);

fn script() -> PathBuf {
    match std::env::var_os("GRUNTER_LOCAL") {
        Some(path) => PathBuf::from(path),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("../runner-examples/local/grunter"),
    }
}

/// `2026-11-21 09:30:00 UTC` plus a newline, and nothing else.
fn assert_timestamp(name: &str, text: &str) {
    let line = text
        .strip_suffix('\n')
        .unwrap_or_else(|| panic!("{name} is not newline-terminated: {text:?}"));
    let shape = "dddd-dd-dd dd:dd:dd UTC";
    let fits = line.len() == shape.len()
        && line.bytes().zip(shape.bytes()).all(|(c, s)| match s {
            b'd' => c.is_ascii_digit(),
            _ => c == s,
        });
    assert!(fits, "{name} is not a UTC timestamp: {text:?}");
}

fn ps(args: &[&str]) -> String {
    let out = Command::new("ps")
        .args(args)
        .stderr(Stdio::null())
        .output()
        .expect("run ps");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn pgid_of(pid: u32) -> Option<u32> {
    ps(&["-o", "pgid=", "-p", &pid.to_string()])
        .trim()
        .parse()
        .ok()
}

/// Zombies do not count: where nothing reaps orphans they linger after the
/// job is long dead.
fn group_has_live_members(pgid: u32) -> bool {
    ps(&["-A", "-o", "pgid=", "-o", "stat="])
        .lines()
        .any(|line| {
            let mut fields = line.split_whitespace();
            fields.next().and_then(|g| g.parse::<u32>().ok()) == Some(pgid)
                && !fields.next().unwrap_or("Z").contains('Z')
        })
}

#[derive(Debug)]
struct Output {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

/// A job directory laid out as grund lays it out, with the runner copied in.
/// Dropping it kills whatever job it still runs.
struct Job {
    root: tempfile::TempDir,
    dir: PathBuf,
    jobid: String,
    env: Vec<(String, String)>,
}

impl Job {
    fn new() -> Job {
        // Unique per test and per test process, so `queue` (which sees every
        // job of the user) can be checked for this one.
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let jobid = format!("loc{:06}", (std::process::id() % 10_000) * 100 + n % 100);

        let root = tempfile::Builder::new()
            .prefix("grunt local runner ")
            .tempdir()
            .expect("create temp dir");
        let dir = root.path().join("active").join(&jobid).join("demo");
        fs::create_dir_all(&dir).expect("create job dir");
        fs::create_dir_all(root.path().join("home")).expect("create home");
        // fs::copy keeps the execute bit.
        fs::copy(script(), dir.join("grunter")).expect("copy the local runner into the job");
        fs::write(dir.join("job.message"), "testing the local runner\n")
            .expect("write job.message");
        fs::write(dir.join("job.submit"), "2026-11-21 09:30:00 UTC\n").expect("write job.submit");
        Job {
            root,
            dir,
            jobid,
            env: Vec::new(),
        }
    }

    fn with(mut self, name: &str, value: &str) -> Job {
        self.env.push((name.to_owned(), value.to_owned()));
        self
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }

    fn read(&self, name: &str) -> String {
        fs::read_to_string(self.path(name)).unwrap_or_else(|e| panic!("read {name}: {e}"))
    }

    fn write(&self, name: &str, text: &str) {
        let path = self.path(name);
        if let Some(parent) = path.parent() {
            fs::create_dir_all(parent).expect("create parent dir");
        }
        fs::write(&path, text).unwrap_or_else(|e| panic!("write {name}: {e}"));
    }

    fn slurmid(&self) -> u32 {
        let text = self.read("job.slurmid");
        text.trim()
            .parse()
            .unwrap_or_else(|_| panic!("job.slurmid is not a pid: {text:?}"))
    }

    fn wait_for_file(&self, name: &str) {
        assert!(
            grunt_tests::holds_within(JOB_DEADLINE, || self.path(name).exists()),
            "no {name} within {JOB_DEADLINE:?}; job.out: {:?}",
            fs::read_to_string(self.path("job.out")).unwrap_or_default()
        );
    }

    /// Runs the runner as grund does: cleared environment, cwd in the job, its
    /// own process group, output through pipes (so a job left holding them
    /// shows up as a runner that never finishes).
    fn run(&self, command: &str) -> Output {
        let mut cmd = Command::new(self.dir.join("grunter"));
        cmd.arg(command)
            .current_dir(&self.dir)
            .env_clear()
            .env(
                "PATH",
                std::env::var("PATH").unwrap_or_else(|_| "/usr/local/bin:/usr/bin:/bin".into()),
            )
            .env("HOME", self.root.path().join("home"))
            .env("USER", "tester")
            .env("LANG", "C")
            .env("GRUNT_JOBID", &self.jobid)
            .env("GRUNT_PROJECT", "demo")
            .env("GRUNT_JOB_DIR", &self.dir)
            .env("GRUNT_SERVER", "testsrv")
            .env("GRUNT_USER", "tester")
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .process_group(0);
        let mut child = cmd.spawn().expect("start the runner");
        let stdout = drain(child.stdout.take().expect("stdout is piped"));
        let stderr = drain(child.stderr.take().expect("stderr is piped"));

        let end = Instant::now() + RUNNER_DEADLINE;
        let status = grunt_tests::exit_within(&mut child, RUNNER_DEADLINE).unwrap_or_else(|| {
            panic!("`grunter {command}` did not return within {RUNNER_DEADLINE:?}")
        });
        let left = end.saturating_duration_since(Instant::now());
        let collect = |rx: mpsc::Receiver<Vec<u8>>, name: &str| {
            // Still open after the runner exited: the detached job inherited it.
            let bytes = rx
                .recv_timeout(left)
                .unwrap_or_else(|_| panic!("`grunter {command}` left its {name} open"));
            String::from_utf8_lossy(&bytes).into_owned()
        };
        Output {
            code: status.code(),
            stdout: collect(stdout, "stdout"),
            stderr: collect(stderr, "stderr"),
        }
    }
}

fn drain(mut pipe: impl Read + Send + 'static) -> mpsc::Receiver<Vec<u8>> {
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        let mut bytes = Vec::new();
        let _ = pipe.read_to_end(&mut bytes);
        let _ = tx.send(bytes);
    });
    rx
}

impl Drop for Job {
    fn drop(&mut self) {
        let Ok(text) = fs::read_to_string(self.path("job.slurmid")) else {
            return;
        };
        // Never signal group 0 or 1: that would be our own group or everyone.
        if let Ok(pgid) = text.trim().parse::<u32>() {
            if pgid > 1 && group_has_live_members(pgid) {
                let _ = Command::new("sh")
                    .args(["-c", "kill -KILL \"-$1\"", "sh", &pgid.to_string()])
                    .stderr(Stdio::null())
                    .status();
            }
        }
    }
}

#[test]
fn submit_runs_the_command_detached_with_each_job_args_line_as_one_argument() {
    let command = r#"sh -c 'printf "[%s]\n" "$@" > args.txt; echo "it'\''s made" > made.txt; echo to-out; echo to-err >&2' job"#;
    let job = Job::new().with("GRUNT_RUN_COMMAND", command);
    job.write(
        "job.args",
        "two words\nit's \"quoted\"\n$HOME\n*\n  padded  \n",
    );

    let out = job.run("submit");
    assert_eq!(out.code, Some(0), "{out:?}");
    let pid = job.slurmid();
    assert_eq!(out.stdout, format!("submitted: local job {pid}\n"));

    job.wait_for_file("job.end");
    assert_eq!(job.read("job.exitcode"), "0\n");
    let (start, end) = (job.read("job.start"), job.read("job.end"));
    assert_timestamp("job.start", &start);
    assert_timestamp("job.end", &end);
    assert!(start <= end, "job.start {start:?} after job.end {end:?}");

    assert_eq!(
        job.read("args.txt"),
        "[two words]\n[it's \"quoted\"]\n[$HOME]\n[*]\n[  padded  ]\n"
    );
    assert_eq!(job.read("made.txt"), "it's made\n");
    let log = job.read("job.out");
    assert!(
        log.contains("to-out\n") && log.contains("to-err\n"),
        "job.out: {log:?}"
    );

    let status = job.run("status");
    assert_eq!(status.stdout, "COMPLETED\n", "{status:?}");
    assert_eq!(job.read("job.status"), "COMPLETED\n");
}

#[test]
fn a_failing_command_records_its_exit_code() {
    let job = Job::new().with("GRUNT_RUN_COMMAND", "sh -c 'exit 3'");

    let out = job.run("submit");
    assert_eq!(out.code, Some(0), "{out:?}");
    job.wait_for_file("job.end");
    assert_eq!(job.read("job.exitcode"), "3\n");
    assert_timestamp("job.end", &job.read("job.end"));

    assert_eq!(job.run("status").stdout, "FAILED\n");
    assert_eq!(job.read("job.status"), "FAILED\n");
}

#[test]
fn an_empty_job_args_passes_no_arguments() {
    let job = Job::new().with("GRUNT_RUN_COMMAND", r#"sh -c 'echo "argc=$#"' job"#);
    job.write("job.args", "");

    assert_eq!(job.run("submit").code, Some(0));
    job.wait_for_file("job.end");
    assert_eq!(job.read("job.out"), "argc=0\n");
}

#[test]
fn cancel_kills_the_whole_process_group() {
    // Two sleeps, one in the background: cancel must reach grandchildren too.
    let job = Job::new().with("GRUNT_RUN_COMMAND", "sh -c 'sleep 30 & sleep 30; wait'");

    let out = job.run("submit");
    assert_eq!(out.code, Some(0), "{out:?}");
    job.wait_for_file("job.start");
    let pid = job.slurmid();
    assert_eq!(
        pgid_of(pid),
        Some(pid),
        "the job leads its own process group"
    );
    assert!(group_has_live_members(pid));

    let status = job.run("status");
    assert_eq!(status.stdout, "RUNNING\n", "{status:?}");

    let queue = job.run("queue");
    assert_eq!(queue.code, Some(0), "{queue:?}");
    let row = queue
        .stdout
        .lines()
        .find(|line| line.starts_with(&job.jobid))
        .unwrap_or_else(|| panic!("{} not in queue: {:?}", job.jobid, queue.stdout));
    assert!(row.contains(&pid.to_string()), "queue row: {row:?}");
    assert_eq!(job.read("job.queue"), queue.stdout);

    let cancel = job.run("cancel");
    assert_eq!(cancel.code, Some(0), "{cancel:?}");
    assert!(
        grunt_tests::holds_within(JOB_DEADLINE, || !group_has_live_members(pid)),
        "process group {pid} still alive after cancel"
    );
    let canceled = job.read("job.canceled");
    assert_timestamp("job.canceled", &canceled);
    assert_eq!(job.run("status").stdout, "CANCELLED\n");

    let again = job.run("cancel");
    assert_eq!(again.code, Some(0), "cancel is idempotent: {again:?}");
    assert_eq!(job.read("job.canceled"), canceled);
    let queue = job.run("queue");
    assert!(
        !queue.stdout.contains(&job.jobid),
        "canceled job still queued: {:?}",
        queue.stdout
    );
}

#[test]
fn results_prints_exactly_the_matching_files_once() {
    let job = Job::new().with(
        "GRUNT_RUN_RESULTS",
        "*.csv\nlogs/*.txt\na.csv\n./b.csv\n\n../*\n/etc/passwd\n.*/*.csv\nout/*\n*.none",
    );
    for name in [
        "a.csv",
        "b.csv",
        "with space.csv",
        "logs/x.txt",
        "logs/deeper/y.txt",
        "notes.md",
        "d.csv/inner",
    ] {
        job.write(name, "data\n");
    }
    let outside = job.root.path().join("outside");
    fs::create_dir_all(&outside).expect("create outside dir");
    fs::write(outside.join("o.csv"), "secret\n").expect("write outside file");
    std::os::unix::fs::symlink("/etc/passwd", job.path("link.csv")).expect("symlink file");
    std::os::unix::fs::symlink(&outside, job.path("out")).expect("symlink dir");

    let out = job.run("results");
    assert_eq!(out.code, Some(0), "{out:?}");
    assert_eq!(out.stdout, "a.csv\nb.csv\nwith space.csv\nlogs/x.txt\n");

    let none = Job::new().run("results");
    assert_eq!((none.code, none.stdout.as_str()), (Some(0), ""));
}

#[test]
fn submit_without_a_command_exits_2_and_writes_nothing() {
    let job = Job::new();
    let listing = |job: &Job| {
        let mut names: Vec<_> = fs::read_dir(&job.dir)
            .expect("list job dir")
            .map(|e| e.expect("dir entry").file_name())
            .collect();
        names.sort();
        names
    };
    let before = listing(&job);

    let out = job.run("submit");
    assert_eq!(out.code, Some(2), "{out:?}");
    assert!(out.stderr.contains("[run] command"), "{out:?}");
    assert_eq!(listing(&job), before);
}

#[test]
fn a_second_submit_is_refused_with_exit_3() {
    let job = Job::new().with("GRUNT_RUN_COMMAND", "sh -c 'echo ran >> runs.txt'");

    assert_eq!(job.run("submit").code, Some(0));
    let pid = job.slurmid();
    let again = job.run("submit");
    assert_eq!(again.code, Some(3), "{again:?}");
    assert_eq!(job.slurmid(), pid);

    job.wait_for_file("job.end");
    assert_eq!(job.read("runs.txt"), "ran\n", "the job ran once");
}

#[test]
fn help_prints_usage_and_unknown_words_fail() {
    let job = Job::new();
    let help = job.run("help");
    assert_eq!(help.code, Some(0), "{help:?}");
    assert!(help.stdout.contains("submit"), "{help:?}");

    let unknown = job.run("frobnicate");
    assert_eq!(unknown.code, Some(1), "{unknown:?}");
    assert!(unknown.stderr.contains("frobnicate"), "{unknown:?}");
}
