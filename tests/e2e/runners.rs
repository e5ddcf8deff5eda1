//! The batch runners, `runner-examples/{slurm,sge,htcondor,lsf}/grunter`, command by command,
//! with fake scheduler commands first on `PATH` that log their arguments and print the
//! recorded outputs of `tests/data/schedulers/`: the batch script each writes from a resource
//! profile, submit's parsing of the scheduler's answer, status and batch-status (the state
//! words, the exit codes, one scheduler call per refresh), cancel, queue and results. The job
//! script itself runs for real (`sh job.sbatch`, as the scheduler would start it). Where a
//! real Grid Engine answers (`runner-examples/sge/one-node-cluster.sh start`), the SGE runner
//! is also run against it; the real Slurm tests are in `slurm.rs`. `GRUNT_RUNNER_AWK=mawk`
//! (or busybox's, or macOS's) runs them all with another awk.

use std::fs;
use std::io::Read;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use grunt_tests::write_exec;

const RUNNERS: [&str; 4] = ["slurm", "sge", "htcondor", "lsf"];

/// Every scheduler command any of the runners calls: each is faked in every test, so that
/// nothing reaches a real scheduler installed on this machine.
const SCHEDULER_COMMANDS: [&str; 18] = [
    "sbatch",
    "squeue",
    "sacct",
    "scontrol",
    "scancel",
    "sinfo",
    "qsub",
    "qstat",
    "qacct",
    "qdel",
    "condor_submit",
    "condor_q",
    "condor_history",
    "condor_rm",
    "bsub",
    "bjobs",
    "bkill",
    "bqueues",
];

/// Far above what a runner needs with fake schedulers.
const RUNNER_DEADLINE: Duration = Duration::from_secs(30);

/// `name` if it is a path, else where `sh` finds it.
fn which(name: &str) -> PathBuf {
    if name.contains('/') {
        return PathBuf::from(name);
    }
    let out = Command::new("sh")
        .args(["-c", "command -v \"$1\"", "sh", name])
        .output()
        .unwrap();
    let path = String::from_utf8_lossy(&out.stdout).trim().to_string();
    assert!(!path.is_empty(), "no {name} here");
    PathBuf::from(path)
}

fn repo(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join(rel)
}

fn runner(name: &str) -> PathBuf {
    repo(&format!("runner-examples/{name}/grunter"))
}

fn data(rel: &str) -> String {
    repo(&format!("tests/data/schedulers/{rel}"))
        .display()
        .to_string()
}

#[derive(Debug)]
struct Out {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

/// A temp tree with a directory of fake scheduler commands and the log they write.
struct Bench {
    root: tempfile::TempDir,
    bin: PathBuf,
    log: PathBuf,
}

impl Bench {
    fn new() -> Bench {
        let root = tempfile::Builder::new()
            .prefix("grunt runners ")
            .tempdir()
            .unwrap();
        let bin = root.path().join("fake bin");
        fs::create_dir_all(&bin).unwrap();
        fs::create_dir_all(root.path().join("home")).unwrap();
        let log = root.path().join("calls.log");
        let b = Bench { root, bin, log };
        for c in SCHEDULER_COMMANDS {
            b.fake(c, &format!("echo 'fake {c}: no answer set up' >&2\nexit 1"));
        }
        // GRUNT_RUNNER_AWK=mawk (or a path): run the runners with another awk.
        if let Some(awk) = std::env::var_os("GRUNT_RUNNER_AWK") {
            let awk = which(&awk.to_string_lossy());
            std::os::unix::fs::symlink(awk, b.bin.join("awk")).unwrap();
        }
        b
    }

    /// A fake `name`: logs "name args…" (one line) and runs the sh `body`.
    fn fake(&self, name: &str, body: &str) {
        let text = format!(
            "#!/bin/sh\nprintf '%s\\n' \"{name} $*\" >> '{}'\n{body}\n",
            self.log.display()
        );
        write_exec(&self.bin.join(name), &text);
    }

    fn calls(&self) -> Vec<String> {
        fs::read_to_string(&self.log)
            .unwrap_or_default()
            .lines()
            .map(str::to_string)
            .collect()
    }

    /// How many calls of `cmd` the log holds.
    fn count(&self, cmd: &str) -> usize {
        self.calls()
            .iter()
            .filter(|l| l.split_whitespace().next() == Some(cmd))
            .count()
    }

    /// A job directory as grund lays it out (with spaces in its path) holding `runner`.
    fn job(&self, runner_name: &str, jobid: &str) -> Job {
        let dir = self.root.path().join("active").join(jobid).join("my proj");
        fs::create_dir_all(&dir).unwrap();
        fs::copy(runner(runner_name), dir.join("grunter")).unwrap();
        Job {
            dir,
            jobid: jobid.to_string(),
            home: self.root.path().join("home"),
            path: format!("{}:/usr/local/bin:/usr/bin:/bin", self.bin.display()),
            env: vec![("GRUNT_RUN_COMMAND".into(), "sh job.sh".into())],
        }
    }
}

struct Job {
    dir: PathBuf,
    jobid: String,
    home: PathBuf,
    path: String,
    env: Vec<(String, String)>,
}

impl Job {
    fn with(mut self, k: &str, v: &str) -> Job {
        self.env.retain(|(n, _)| n != k);
        self.env.push((k.into(), v.into()));
        self
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }

    fn read(&self, name: &str) -> String {
        fs::read_to_string(self.path(name)).unwrap_or_else(|e| panic!("reading {name}: {e}"))
    }

    fn write(&self, name: &str, text: &str) {
        fs::write(self.path(name), text).unwrap();
    }

    fn has(&self, name: &str) -> bool {
        self.path(name).exists()
    }

    /// The runner as grund runs it: cleared environment plus the documented variables, cwd
    /// in the job, its own process group, with a deadline.
    fn run(&self, word: &str) -> Out {
        let mut c = Command::new(self.dir.join("grunter"));
        c.arg(word)
            .current_dir(&self.dir)
            .env_clear()
            .env("PATH", &self.path)
            .env("HOME", &self.home)
            .env("USER", "ore")
            .env("LANG", "C")
            .env("GRUNT_JOBID", &self.jobid)
            .env("GRUNT_PROJECT", "my proj")
            .env("GRUNT_JOB_DIR", &self.dir)
            .env("GRUNT_SERVER", "clust")
            .env("GRUNT_USER", "ore")
            .envs(self.env.iter().map(|(k, v)| (k, v)));
        run_with_deadline(c, &format!("grunter {word}"))
    }

    /// The job script as the scheduler starts it, in the job directory.
    fn run_script(&self) -> Out {
        let mut c = Command::new("sh");
        c.arg("job.sbatch")
            .current_dir(&self.dir)
            .env_clear()
            .env("PATH", "/usr/local/bin:/usr/bin:/bin")
            .env("HOME", &self.home);
        run_with_deadline(c, "sh job.sbatch")
    }
}

fn run_with_deadline(mut c: Command, what: &str) -> Out {
    c.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0);
    // A runner copied in just now may be "text file busy" for a moment: a child another test
    // thread forked meanwhile holds the copy's descriptor until its own exec.
    let mut tries = 0;
    let mut child = loop {
        match c.spawn() {
            Ok(child) => break child,
            Err(e) if e.raw_os_error() == Some(26) && tries < 100 => {
                tries += 1;
                thread::sleep(Duration::from_millis(10));
            }
            Err(e) => panic!("starting {what}: {e}"),
        }
    };
    let drain = |mut p: Box<dyn Read + Send>| {
        let (tx, rx) = mpsc::channel();
        thread::spawn(move || {
            let mut b = Vec::new();
            let _ = p.read_to_end(&mut b);
            let _ = tx.send(String::from_utf8_lossy(&b).into_owned());
        });
        rx
    };
    let out = drain(Box::new(child.stdout.take().unwrap()));
    let err = drain(Box::new(child.stderr.take().unwrap()));
    let status = grunt_tests::exit_within(&mut child, RUNNER_DEADLINE)
        .unwrap_or_else(|| panic!("{what} did not return within {RUNNER_DEADLINE:?}"));
    Out {
        code: status.code(),
        stdout: out.recv_timeout(RUNNER_DEADLINE).unwrap_or_default(),
        stderr: err.recv_timeout(RUNNER_DEADLINE).unwrap_or_default(),
    }
}

/// sh that prints the lines of the recorded `file`s whose first field (split at `|`, space or
/// `=`… as `key`) is one of `ids`, the comma- or space-separated ids in `$IDS`.
fn filter_by_ids(files: &[&str], field: &str) -> String {
    let files: Vec<String> = files.iter().map(|f| format!("'{}'", data(f))).collect();
    format!(
        r#"cat {} | awk -v ids="$IDS" '
BEGIN {{ n = split(ids, a, /[, ]+/); for (i = 1; i <= n; i++) ok[a[i]] = 1 }}
{{ {field}; if (ids == "" || (id in ok)) print }}'"#,
        files.join(" ")
    )
}

/// A batch file as grund writes it: "<jobid> TAB <batch id> TAB <dir>".
fn batch_file(b: &Bench, lines: &[(&str, &str, &Path)]) -> String {
    let path = b.root.path().join("batch-status.in");
    let text: String = lines
        .iter()
        .map(|(j, id, d)| format!("{j}\t{id}\t{}\n", d.display()))
        .collect();
    fs::write(&path, text).unwrap();
    path.display().to_string()
}

/// A batch file for `ids`, the jobs numbered ore000001, ore000002, … in that order, all in
/// `dir`.
fn numbered_batch(b: &Bench, ids: &[&str], dir: &Path) -> String {
    let names: Vec<String> = (1..=ids.len()).map(|i| format!("ore{i:06}")).collect();
    let spec: Vec<(&str, &str, &Path)> = names
        .iter()
        .zip(ids)
        .map(|(n, id)| (n.as_str(), *id, dir))
        .collect();
    batch_file(b, &spec)
}

fn sorted_lines(s: &str) -> Vec<String> {
    let mut v: Vec<String> = s.lines().map(str::to_string).collect();
    v.sort();
    v
}

const JOB_SH: &str = r#"printf '[%s]\n' "$@" > args.txt
echo "a=$A b=$B from_script=$FROM_SCRIPT" > env.txt
echo to-out
echo to-err >&2
exit "${CODE:-0}"
"#;

// ---------------------------------------------------------------- the common part

/// The committed runners are what `runner-examples/src/generate.sh` makes from the sources
/// (the scheduler parts and the common part), byte for byte.
#[test]
fn the_runners_are_generated_from_their_sources() {
    let examples = Path::new(env!("CARGO_MANIFEST_DIR")).join("../runner-examples");
    let out = tempfile::tempdir().unwrap();
    let st = Command::new("sh")
        .arg(examples.join("src/generate.sh"))
        .arg(out.path())
        .status()
        .unwrap();
    assert!(st.success(), "generate.sh failed: {st}");
    for name in RUNNERS.iter().chain(&["local"]) {
        let generated = fs::read_to_string(out.path().join(name).join("grunter")).unwrap();
        let committed = fs::read_to_string(runner(name)).unwrap();
        assert!(
            generated == committed,
            "runner-examples/{name}/grunter is not what its sources make: edit \
             runner-examples/src/ and run runner-examples/src/generate.sh"
        );
    }
}

// ---------------------------------------------------------------- what every runner shares

#[test]
fn every_runner_refuses_a_second_submit_and_needs_a_command() {
    for name in RUNNERS {
        let b = Bench::new();
        let job = b.job(name, "ore000001");
        job.write("job.slurmid", "77\n");
        let again = job.run("submit");
        assert_eq!(again.code, Some(3), "{name}: {again:?}");
        assert_eq!(job.read("job.slurmid"), "77\n", "{name}");

        let fresh = b.job(name, "ore000002").with("GRUNT_RUN_COMMAND", "  ");
        let none = fresh.run("submit");
        assert_eq!(none.code, Some(2), "{name}: {none:?}");
        assert!(none.stderr.contains("[run] command"), "{name}: {none:?}");
        assert!(
            !fresh.has("job.slurmid") && !fresh.has("job.sbatch"),
            "{name}"
        );

        let canceled = b.job(name, "ore000003");
        canceled.write("job.canceled", "2026-11-21 09:30:00 UTC\n");
        assert_eq!(canceled.run("submit").code, Some(3), "{name}");
        assert!(
            b.calls().is_empty(),
            "{name}: nothing asked: {:?}",
            b.calls()
        );
    }
}

#[test]
fn every_runner_rejects_bad_profile_values_before_submitting() {
    for name in RUNNERS {
        for (key, value) in [
            ("GRUNT_RES_TIME", "soon"),
            ("GRUNT_RES_MEM", "4 G"),
            ("GRUNT_RES_ACCOUNT", "lab'; rm -rf ~"),
            ("GRUNT_RES_ENV", "not an assignment"),
        ] {
            let b = Bench::new();
            let job = b.job(name, "ore000001").with(key, value);
            let r = job.run("submit");
            assert_eq!(r.code, Some(2), "{name} {key}={value}: {r:?}");
            assert!(!job.has("job.slurmid"), "{name} {key}");
            assert!(b.calls().is_empty(), "{name} {key}: {:?}", b.calls());
        }
    }
}

#[test]
fn every_runners_job_script_runs_the_command_and_records_its_end() {
    for name in RUNNERS {
        let b = Bench::new();
        b.fake("sbatch", "echo 101");
        b.fake("qsub", "echo 101");
        b.fake("condor_submit", "echo '101.0 - 101.0'");
        b.fake(
            "bsub",
            "cat > /dev/null; echo 'Job <101> is submitted to default queue <normal>.'",
        );
        let job = b
            .job(name, "ore000001")
            .with("GRUNT_RES_ENV", "A=1\n  B=two words and $HOME  \n")
            .with("GRUNT_RES_ENV_SCRIPT", "setup.sh")
            .with("CODE", "3");
        job.write("job.sh", JOB_SH);
        job.write("setup.sh", "export FROM_SCRIPT=yes CODE=3\n");
        job.write("job.args", "two words\nit's \"quoted\"\n$HOME\n*\n");
        let r = job.run("submit");
        assert_eq!(r.code, Some(0), "{name}: {r:?}");
        assert_eq!(r.stdout, format!("submitted: {name} job 101\n"), "{name}");
        assert_eq!(job.read("job.slurmid"), "101\n", "{name}");

        let s = job.run_script();
        assert_eq!(
            s.code,
            Some(3),
            "{name}: the script exits with the command's status"
        );
        assert_eq!(job.read("job.exitcode"), "3\n", "{name}");
        for f in ["job.start", "job.end"] {
            let t = job.read(f);
            assert!(t.ends_with(" UTC\n") && t.len() == 24, "{name} {f}: {t:?}");
        }
        assert_eq!(
            job.read("args.txt"),
            "[two words]\n[it's \"quoted\"]\n[$HOME]\n[*]\n",
            "{name}"
        );
        assert_eq!(
            job.read("env.txt"),
            "a=1 b=two words and $HOME from_script=yes\n",
            "{name}"
        );
    }
}

#[test]
fn a_job_stopped_by_the_scheduler_leaves_the_verdict_to_the_scheduler() {
    let b = Bench::new();
    b.fake("sbatch", "echo 5");
    let job = b.job("slurm", "ore000001");
    job.write("job.sh", "touch started; exec sleep 30\n");
    assert_eq!(job.run("submit").code, Some(0));
    // As Slurm does at the time limit: TERM to every process of the job.
    let mut child = Command::new("sh")
        .arg("job.sbatch")
        .current_dir(&job.dir)
        .process_group(0)
        .spawn()
        .unwrap();
    let end = Instant::now() + Duration::from_secs(10);
    while !job.has("started") {
        assert!(Instant::now() < end, "the job never started");
        thread::sleep(Duration::from_millis(20));
    }
    let pgid = child.id().to_string();
    Command::new("kill")
        .args(["-TERM", "--", &format!("-{pgid}")])
        .status()
        .unwrap();
    let status = child.wait().unwrap();
    assert!(!status.success());
    assert!(job.has("job.start"));
    assert!(
        !job.has("job.exitcode") && !job.has("job.end"),
        "a killed job writes neither: the scheduler's TIMEOUT or CANCELLED is the state"
    );
}

#[test]
fn every_runner_lists_results_and_has_help() {
    for name in RUNNERS {
        let b = Bench::new();
        let job = b
            .job(name, "ore000001")
            .with("GRUNT_RUN_RESULTS", "*.csv\nlogs/*.txt\n../*\n/etc/passwd");
        for f in ["a.csv", "b c.csv", "notes.md"] {
            job.write(f, "x\n");
        }
        fs::create_dir_all(job.path("logs")).unwrap();
        job.write("logs/x.txt", "x\n");
        let r = job.run("results");
        assert_eq!(r.code, Some(0), "{name}: {r:?}");
        assert_eq!(r.stdout, "a.csv\nb c.csv\nlogs/x.txt\n", "{name}");

        let h = job.run("help");
        assert!(h.stdout.contains("batch-status"), "{name}: {h:?}");
        let u = job.run("frobnicate");
        assert_eq!(u.code, Some(1), "{name}");
        assert!(u.stderr.contains("frobnicate"), "{name}: {u:?}");
        let nb = job.run("batch-status");
        assert_eq!(
            nb.code,
            Some(2),
            "{name}: batch-status needs GRUNT_BATCH_FILE"
        );
    }
}

// ---------------------------------------------------------------- Slurm

#[test]
fn slurm_submit_writes_the_profile_into_job_sbatch() {
    let b = Bench::new();
    b.fake(
        "sbatch",
        "cp job.sbatch \"$HOME/submitted\"; echo '836;gruntci'",
    );
    let job = b
        .job("slurm", "ore000042")
        .with("GRUNT_RES_TIME", "1:00:00")
        .with("GRUNT_RES_MEM", "4G")
        .with("GRUNT_RES_CPUS", "4")
        .with("GRUNT_RES_GPUS", "a100:2")
        .with("GRUNT_RES_PARTITION", "gpu")
        .with("GRUNT_RES_QOS", "high")
        .with("GRUNT_RES_ACCOUNT", "lab")
        .with(
            "GRUNT_RES_SBATCH",
            "--constraint=haswell\n#SBATCH --exclusive\n",
        )
        .with("GRUNT_RES_ENV_SCRIPT", "~/venv/bin/activate")
        // Without a profile, [resources] of grunt.toml is read.
        .with("GRUNT_RESOURCES_TIME", "5");
    let r = job.run("submit");
    assert_eq!(r.code, Some(0), "{r:?}");
    assert_eq!(r.stdout, "submitted: slurm job 836\n");
    assert_eq!(job.read("job.slurmid"), "836\n");
    assert_eq!(b.calls(), ["sbatch --parsable job.sbatch"]);
    let script = job.read("job.sbatch");
    assert_eq!(
        script,
        fs::read_to_string(job.home.join("submitted")).unwrap()
    );
    let head: Vec<&str> = script.lines().take_while(|l| l.starts_with('#')).collect();
    assert_eq!(
        head,
        [
            "#!/bin/sh",
            "#SBATCH --job-name=ore000042",
            "#SBATCH --output=job.out",
            "#SBATCH --error=job.err",
            "#SBATCH --time=1:00:00",
            "#SBATCH --mem=4G",
            "#SBATCH --cpus-per-task=4",
            "#SBATCH --gres=gpu:a100:2",
            "#SBATCH --partition=gpu",
            "#SBATCH --qos=high",
            "#SBATCH --account=lab",
            "#SBATCH --constraint=haswell",
            "#SBATCH --exclusive",
            "# grunt job ore000042 of project my proj, written by grunter submit",
        ]
    );
    assert!(
        script.contains("\t. \"$HOME\"/'venv/bin/activate' || exit\n"),
        "{script}"
    );

    let plain = b
        .job("slurm", "ore000043")
        .with("GRUNT_RESOURCES_TIME", "5");
    b.fake("sbatch", "echo 837");
    assert_eq!(plain.run("submit").code, Some(0));
    assert!(plain.read("job.sbatch").contains("#SBATCH --time=5\n"));
    let unlimited = b
        .job("slurm", "ore000044")
        .with("GRUNT_RES_TIME", "UNLIMITED");
    assert_eq!(unlimited.run("submit").code, Some(0));
    assert!(unlimited
        .read("job.sbatch")
        .contains("#SBATCH --time=UNLIMITED\n"));
}

#[test]
fn slurm_submit_failure_frees_the_job_for_another_try() {
    let b = Bench::new();
    b.fake(
        "sbatch",
        "echo 'sbatch: error: Batch job submission failed: Invalid partition name specified' >&2; exit 1",
    );
    let job = b.job("slurm", "ore000001");
    let r = job.run("submit");
    assert_eq!(r.code, Some(1), "{r:?}");
    assert!(r.stderr.contains("Invalid partition"), "{r:?}");
    assert!(
        !job.has("job.slurmid"),
        "nothing was queued: submit may run again"
    );

    // Queued, but the answer is unreadable: keep the claim, never submit twice.
    b.fake("sbatch", "echo 'something odd'");
    let r = job.run("submit");
    assert_eq!(r.code, Some(1), "{r:?}");
    assert!(job.has("job.slurmid"));
    assert_eq!(job.run("submit").code, Some(3));
}

/// Fakes for squeue, sacct and scontrol that answer from the recordings for the ids asked.
fn slurm_fakes(b: &Bench, accounting: bool) {
    let ids_from_j =
        r#"IDS=; while [ $# -gt 0 ]; do case $1 in -j) IDS=$2; shift ;; esac; shift; done"#;
    b.fake(
        "squeue",
        &format!(
            "{ids_from_j}\n{}",
            filter_by_ids(&["slurm/squeue.txt"], "id = $1")
        ),
    );
    if accounting {
        b.fake(
            "sacct",
            &format!(
                "{ids_from_j}\n{}",
                filter_by_ids(
                    &["slurm/sacct.txt", "slurm/sacct-other-states.txt"],
                    "split($0, f, \"|\"); id = f[1]"
                )
            ),
        );
    } else {
        b.fake(
            "sacct",
            &format!("cat '{}' >&2; exit 1", data("slurm/sacct-disabled.stderr")),
        );
    }
    // scontrol -o show job [ID]
    b.fake(
        "scontrol",
        &format!(
            "IDS=$4\n{}",
            filter_by_ids(
                &["slurm/scontrol-all.txt"],
                "id = $1; sub(/^JobId=/, \"\", id)"
            )
        ),
    );
}

#[test]
fn slurm_batch_status_asks_squeue_then_sacct_once_each() {
    let b = Bench::new();
    slurm_fakes(&b, true);
    let job = b.job("slurm", "ore000013");
    let d = job.dir.clone();
    let ids = [
        "829",
        "830",
        "831",
        "832",
        "833",
        "834",
        "835",
        "901",
        "902",
        "903",
        "904",
        "905",
        "99999",
        "not-a-number",
    ];
    let bf = numbered_batch(&b, &ids, &d);
    let r = job.with("GRUNT_BATCH_FILE", &bf).run("batch-status");
    assert_eq!(r.code, Some(0), "{r:?}");
    assert_eq!(
        sorted_lines(&r.stdout),
        [
            "ore000001 FAILED 3",
            "ore000002 COMPLETED 0",
            "ore000003 RUNNING",
            "ore000004 CANCELLED",
            "ore000005 FAILED 139",
            "ore000006 PENDING",
            "ore000007 RUNNING",
            "ore000008 OUT_OF_MEMORY",
            "ore000009 NODE_FAIL",
            "ore000010 PREEMPTED",
            "ore000011 BOOT_FAIL",
            "ore000012 DEADLINE",
        ]
    );
    let calls = b.calls();
    assert_eq!(b.count("squeue"), 1, "{calls:?}");
    assert_eq!(b.count("sacct"), 1, "{calls:?}");
    // Only the job nobody knows is left for scontrol: one call, for that id.
    assert_eq!(b.count("scontrol"), 1, "{calls:?}");
    assert!(
        calls[0]
            .starts_with("squeue -h -r -j 829,830,831,832,833,834,835,901,902,903,904,905,99999 "),
        "{calls:?}"
    );
    assert_eq!(
        calls[1],
        "sacct -j 829,830,832,833,901,902,903,904,905,99999 -P -n -X -o JobID,State,ExitCode"
    );
    assert_eq!(calls[2], "scontrol -o show job 99999");
}

#[test]
fn slurm_without_accounting_falls_back_to_one_scontrol_call() {
    let b = Bench::new();
    slurm_fakes(&b, false);
    let job = b.job("slurm", "ore000001");
    let d = job.dir.clone();
    let bf = batch_file(
        &b,
        &[
            ("ore000001", "829", &d),
            ("ore000002", "830", &d),
            ("ore000003", "831", &d),
            ("ore000004", "832", &d),
            ("ore000005", "833", &d),
        ],
    );
    let r = job.with("GRUNT_BATCH_FILE", &bf).run("batch-status");
    assert_eq!(r.code, Some(0), "{r:?}");
    assert_eq!(
        r.stdout,
        "ore000001 FAILED 3\nore000002 COMPLETED 0\nore000003 RUNNING\nore000004 CANCELLED\nore000005 FAILED 139\n"
    );
    assert_eq!(b.count("scontrol"), 1, "{:?}", b.calls());
    assert!(b.calls().contains(&"scontrol -o show job".to_string()));
}

#[test]
fn slurm_status_writes_the_word_and_a_missing_exit_code() {
    let b = Bench::new();
    slurm_fakes(&b, true);
    let job = b.job("slurm", "ore000001");
    job.write("job.slurmid", "829\n");
    let r = job.run("status");
    assert_eq!(r.stdout, "FAILED\n", "{r:?}");
    assert_eq!(job.read("job.status"), "FAILED\n");
    assert_eq!(job.read("job.exitcode"), "3\n");

    // The job's own exit code is never overwritten.
    let own = b.job("slurm", "ore000002");
    own.write("job.slurmid", "833\n");
    own.write("job.exitcode", "7\n");
    assert_eq!(own.run("status").stdout, "FAILED\n");
    assert_eq!(own.read("job.exitcode"), "7\n");

    // A job Slurm has forgotten keeps the word it had.
    let gone = b.job("slurm", "ore000003");
    gone.write("job.slurmid", "99999\n");
    gone.write("job.status", "TIMEOUT\n");
    let r = gone.run("status");
    assert_eq!(r.stdout, "TIMEOUT\n", "{r:?}");
    assert_eq!(gone.read("job.status"), "TIMEOUT\n");

    let live = b.job("slurm", "ore000004");
    live.write("job.slurmid", "834\n");
    assert_eq!(live.run("status").stdout, "PENDING\n");
    assert!(!live.has("job.exitcode"));
}

#[test]
fn slurm_cancel_and_queue() {
    let b = Bench::new();
    b.fake("scancel", "exit 0");
    b.fake(
        "squeue",
        "echo '  JOBID PARTITION NAME USER ST TIME NODES NODELIST(REASON)'",
    );
    b.fake(
        "sinfo",
        "echo 'PARTITION AVAIL  TIMELIMIT   NODES(A/I/O/T) NODELIST'",
    );
    let job = b.job("slurm", "ore000001");
    job.write("job.slurmid", "836\n");
    let r = job.run("cancel");
    assert_eq!(r.code, Some(0), "{r:?}");
    assert_eq!(r.stdout, "canceled: slurm job 836\n");
    let first = job.read("job.canceled");
    assert_eq!(job.run("cancel").code, Some(0));
    assert_eq!(job.read("job.canceled"), first, "the first time is kept");
    assert_eq!(b.count("scancel"), 2);
    assert!(b.calls().contains(&"scancel 836".to_string()));

    // An older scancel's complaint about an ended job is fine; a real failure is not.
    let ended = b.job("slurm", "ore000002");
    ended.write("job.slurmid", "830\n");
    b.fake(
        "scancel",
        "echo 'scancel: error: Kill job error on job id 830: Job/step already completing or completed' >&2; exit 1",
    );
    assert_eq!(ended.run("cancel").code, Some(0));
    let down = b.job("slurm", "ore000003");
    down.write("job.slurmid", "831\n");
    b.fake(
        "scancel",
        "echo 'scancel: error: Unable to contact slurm controller (connect failure)' >&2; exit 1",
    );
    let r = down.run("cancel");
    assert_eq!(r.code, Some(1), "{r:?}");
    assert!(
        !down.has("job.canceled"),
        "not canceled while it may still run"
    );

    let q = job.run("queue");
    assert_eq!(q.code, Some(0), "{q:?}");
    assert!(q.stdout.contains("JOBID") && q.stdout.contains("PARTITION AVAIL"));
    assert_eq!(job.read("job.queue"), q.stdout);
    let me = Command::new("id").arg("-un").output().unwrap();
    let me = String::from_utf8_lossy(&me.stdout).trim().to_string();
    assert!(
        b.calls().contains(&format!("squeue -u {me}")),
        "the scheduler's name for the uid, not $USER: {:?}",
        b.calls()
    );
}

// ---------------------------------------------------------------- Grid Engine

#[test]
fn sge_submit_writes_the_profile_as_qsub_directives() {
    let b = Bench::new();
    b.fake("qsub", &format!("cat '{}'", data("sge/qsub-terse.txt")));
    let job = b
        .job("sge", "ore000001")
        .with("GRUNT_RES_TIME", "90")
        .with("GRUNT_RES_MEM", "16G")
        .with("GRUNT_RES_CPUS", "4")
        .with("GRUNT_RES_GPUS", "1")
        .with("GRUNT_RES_PARTITION", "long.q")
        .with("GRUNT_RES_ACCOUNT", "lab")
        .with("GRUNT_RES_QOS", "high")
        .with("GRUNT_RES_SBATCH", "-l scratch=10G")
        .with("GRUNT_SGE_PE", "threads");
    let r = job.run("submit");
    assert_eq!(r.code, Some(0), "{r:?}");
    assert_eq!(r.stdout, "submitted: sge job 19\n");
    assert!(r.stderr.contains("qos"), "qos is ignored, loudly: {r:?}");
    assert_eq!(b.calls(), ["qsub -terse job.sbatch"]);
    let script = job.read("job.sbatch");
    let head: Vec<&str> = script.lines().take_while(|l| l.starts_with('#')).collect();
    assert_eq!(
        head,
        [
            "#!/bin/sh",
            "#$ -N ore000001",
            "#$ -S /bin/sh",
            "#$ -cwd",
            "#$ -V",
            "#$ -o job.out",
            "#$ -e job.err",
            "#$ -l h_rt=1:30:00",
            "#$ -pe threads 4",
            "#$ -l h_vmem=4096M",
            "#$ -l gpu=1",
            "#$ -q long.q",
            "#$ -A lab",
            "#$ -l scratch=10G",
            "# grunt job ore000001 of project my proj, written by grunter submit",
        ]
    );

    // Without -terse, old versions say so in words.
    b.fake("qsub", &format!("cat '{}'", data("sge/qsub.txt")));
    let old = b.job("sge", "ore000002");
    assert_eq!(old.run("submit").stdout, "submitted: sge job 20\n");
}

#[test]
fn sge_batch_status_reads_qstat_once_then_files_then_qacct() {
    let b = Bench::new();
    b.fake("qstat", &format!("cat '{}'", data("sge/qstat.txt")));
    b.fake(
        "qacct",
        &format!(
            r#"case $2 in
11) cat '{}' ;; 12) cat '{}' ;; 13) cat '{}' ;; 16) cat '{}' ;; 21) cat '{}' ;;
*) echo "error: job id $2 not found" >&2; exit 1 ;;
esac"#,
            data("sge/qacct-completed.txt"),
            data("sge/qacct-exit3.txt"),
            data("sge/qacct-h_rt.txt"),
            data("sge/qacct-qdel-running.txt"),
            data("sge/qacct-error-then-ran.txt"),
        ),
    );
    let mut dirs = Vec::new();
    for i in 1..=12 {
        dirs.push(b.job("sge", &format!("ore{i:06}")));
    }
    // Ended jobs that wrote their exit code, or were canceled through grunt, need no qacct.
    dirs[9].write("job.exitcode", "0\n");
    dirs[10].write("job.exitcode", "4\n");
    dirs[11].write("job.canceled", "2026-11-21 09:30:00 UTC\n");
    let ids = [
        "16", "17", "18", "15", "5", "11", "12", "13", "21", "30", "31", "32",
    ];
    let spec: Vec<(String, &str, PathBuf)> = ids
        .iter()
        .zip(&dirs)
        .map(|(id, j)| (j.jobid.clone(), *id, j.dir.clone()))
        .collect();
    let spec_ref: Vec<(&str, &str, &Path)> = spec
        .iter()
        .map(|(j, id, d)| (j.as_str(), *id, d.as_path()))
        .collect();
    let bf = batch_file(&b, &spec_ref);
    // "16" is live in the recording (r), but 16 also has a qacct record; qstat wins.
    let r = dirs[0].run_with("GRUNT_BATCH_FILE", &bf, "batch-status");
    assert_eq!(r.code, Some(0), "{r:?}");
    assert_eq!(
        r.stdout,
        "ore000001 RUNNING\n\
         ore000002 SUSPENDED\n\
         ore000003 PENDING\n\
         ore000004 PENDING\n\
         ore000005 PENDING\n\
         ore000006 COMPLETED 0\n\
         ore000007 FAILED 3\n\
         ore000008 TIMEOUT\n\
         ore000009 COMPLETED 0\n\
         ore000010 COMPLETED 0\n\
         ore000011 FAILED 4\n\
         ore000012 CANCELLED\n"
    );
    assert_eq!(b.count("qstat"), 1, "{:?}", b.calls());
    let qacct: Vec<String> = b
        .calls()
        .into_iter()
        .filter(|c| c.starts_with("qacct"))
        .collect();
    assert_eq!(
        qacct,
        ["qacct -j 11", "qacct -j 12", "qacct -j 13", "qacct -j 21"]
    );

    // A job deleted while it ran, found in qacct only.
    let b2 = Bench::new();
    b2.fake("qstat", "exit 0");
    b2.fake(
        "qacct",
        &format!("cat '{}'", data("sge/qacct-qdel-running.txt")),
    );
    let j = b2.job("sge", "ore000001");
    j.write("job.slurmid", "16\n");
    assert_eq!(j.run("status").stdout, "CANCELLED\n");
    // With qstat failing nothing is claimed, and qacct is not asked per job.
    b2.fake(
        "qstat",
        "echo 'error: unable to contact qmaster' >&2; exit 1",
    );
    let bf = batch_file(&b2, &[("ore000001", "16", &j.dir)]);
    assert_eq!(
        j.run_with("GRUNT_BATCH_FILE", &bf, "batch-status").stdout,
        ""
    );
}

#[test]
fn sge_cancel_accepts_an_ended_job() {
    let b = Bench::new();
    b.fake(
        "qdel",
        &format!("cat '{}'; exit 1", data("sge/qdel-unknown.txt")),
    );
    let job = b.job("sge", "ore000001");
    job.write("job.slurmid", "99999\n");
    let r = job.run("cancel");
    assert_eq!(r.code, Some(0), "{r:?}");
    assert!(job.has("job.canceled"));
    assert_eq!(b.calls(), ["qdel 99999"]);
}

// ---------------------------------------------------------------- HTCondor

fn condor_fakes(b: &Bench) {
    // -constraint 'ClusterId == 1 || ClusterId == 2' ... : the ids are the words after "==".
    let ids = r#"IDS=; while [ $# -gt 0 ]; do case $1 in -constraint) IDS=$(printf '%s\n' "$2" | awk '{ for (i = 1; i < NF; i++) if ($i == "==") printf "%s ", $(i + 1) }'); shift ;; esac; shift; done"#;
    b.fake(
        "condor_q",
        &format!(
            "{ids}\n{}",
            filter_by_ids(&["htcondor/condor_q-af.txt"], "id = $1")
        ),
    );
    b.fake(
        "condor_history",
        &format!(
            "{ids}\n{}",
            filter_by_ids(&["htcondor/condor_history-af.txt"], "id = $1")
        ),
    );
}

#[test]
fn htcondor_submit_writes_a_submit_description() {
    let b = Bench::new();
    b.fake(
        "condor_submit",
        &format!("cat '{}'", data("htcondor/condor_submit-terse.txt")),
    );
    let job = b
        .job("htcondor", "ore000001")
        .with("GRUNT_RES_TIME", "1:00:00")
        .with("GRUNT_RES_MEM", "2G")
        .with("GRUNT_RES_CPUS", "2")
        .with("GRUNT_RES_GPUS", "1")
        .with("GRUNT_RES_ACCOUNT", "group_lab.ore")
        .with("GRUNT_RES_PARTITION", "gpu")
        .with("GRUNT_RES_SBATCH", "requirements = (OpSys == \"LINUX\")");
    let r = job.run("submit");
    assert_eq!(r.code, Some(0), "{r:?}");
    assert_eq!(r.stdout, "submitted: htcondor job 4242\n");
    assert!(r.stderr.contains("partition"), "{r:?}");
    assert_eq!(b.calls(), ["condor_submit -terse job.condor"]);
    let desc = job.read("job.condor");
    let want = format!(
        "# grunt job ore000001 of project my proj, written by grunter submit\n\
         universe = vanilla\n\
         executable = job.sbatch\n\
         initialdir = {}\n\
         output = job.out\n\
         error = job.err\n\
         log = job.condorlog\n\
         getenv = true\n\
         batch_name = ore000001\n\
         allowed_execute_duration = 3600\n\
         request_cpus = 2\n\
         request_memory = 2048\n\
         request_gpus = 1\n\
         accounting_group = group_lab.ore\n\
         requirements = (OpSys == \"LINUX\")\n\
         queue\n",
        job.dir.display()
    );
    assert_eq!(desc, want);
    assert!(!job.read("job.sbatch").contains("#SBATCH"));
    use std::os::unix::fs::PermissionsExt;
    let mode = fs::metadata(job.path("job.sbatch"))
        .unwrap()
        .permissions()
        .mode();
    assert!(mode & 0o100 != 0, "the executable must be executable");

    b.fake(
        "condor_submit",
        &format!("cat '{}'", data("htcondor/condor_submit.txt")),
    );
    let old = b.job("htcondor", "ore000002");
    assert_eq!(old.run("submit").stdout, "submitted: htcondor job 4243\n");
}

#[test]
fn htcondor_batch_status_translates_held_jobs_and_asks_once_each() {
    let b = Bench::new();
    condor_fakes(&b);
    let job = b.job("htcondor", "ore000001");
    let d = job.dir.clone();
    let ids = [
        "4101", "4102", "4103", "4104", "4105", "4106", "4107", "4108", "4109", "4110", "4111",
        "4001", "4002", "4003", "4004", "4005", "4999",
    ];
    let bf = numbered_batch(&b, &ids, &d);
    let r = job.with("GRUNT_BATCH_FILE", &bf).run("batch-status");
    assert_eq!(r.code, Some(0), "{r:?}");
    assert_eq!(
        r.stdout,
        "ore000001 PENDING\n\
         ore000002 RUNNING\n\
         ore000003 TIMEOUT\n\
         ore000004 TIMEOUT\n\
         ore000005 OUT_OF_MEMORY\n\
         ore000006 PENDING\n\
         ore000007 PENDING\n\
         ore000008 PENDING\n\
         ore000009 SUSPENDED\n\
         ore000010 RUNNING\n\
         ore000011 CANCELLED\n\
         ore000012 COMPLETED 0\n\
         ore000013 FAILED 3\n\
         ore000014 FAILED 137\n\
         ore000015 CANCELLED\n\
         ore000016 FAILED 1\n"
    );
    assert_eq!(b.count("condor_q"), 1, "{:?}", b.calls());
    assert_eq!(b.count("condor_history"), 1, "{:?}", b.calls());
    let history = b
        .calls()
        .into_iter()
        .find(|c| c.starts_with("condor_history"))
        .unwrap();
    assert!(
        history.starts_with("condor_history -limit 6 -constraint ClusterId == 4001 || "),
        "only the jobs the queue no longer has: {history}"
    );
}

#[test]
fn htcondor_cancel_accepts_a_job_that_left_the_queue() {
    let b = Bench::new();
    b.fake(
        "condor_rm",
        &format!(
            "cat '{}' >&2; exit 1",
            data("htcondor/condor_rm-unknown.stderr")
        ),
    );
    let job = b.job("htcondor", "ore000001");
    job.write("job.slurmid", "4999\n");
    assert_eq!(job.run("cancel").code, Some(0));
    assert!(job.has("job.canceled"));
}

// ---------------------------------------------------------------- LSF

#[test]
fn lsf_submit_feeds_the_script_to_bsub_on_stdin() {
    let b = Bench::new();
    b.fake(
        "bsub",
        &format!("cat > \"$HOME/stdin\"; cat '{}'", data("lsf/bsub.txt")),
    );
    let job = b
        .job("lsf", "ore000001")
        .with("GRUNT_RES_TIME", "90")
        .with("GRUNT_RES_MEM", "8G")
        .with("GRUNT_RES_CPUS", "4")
        .with("GRUNT_RES_GPUS", "2")
        .with("GRUNT_RES_PARTITION", "long")
        .with("GRUNT_RES_ACCOUNT", "lab");
    let r = job.run("submit");
    assert_eq!(r.code, Some(0), "{r:?}");
    assert_eq!(r.stdout, "submitted: lsf job 5101\n");
    assert_eq!(
        b.calls(),
        ["bsub "],
        "the script comes on stdin, not as an argument"
    );
    let script = job.read("job.sbatch");
    assert_eq!(fs::read_to_string(job.home.join("stdin")).unwrap(), script);
    let head: Vec<&str> = script.lines().take_while(|l| l.starts_with('#')).collect();
    assert_eq!(
        head,
        [
            "#!/bin/sh",
            "#BSUB -J ore000001",
            "#BSUB -o job.out",
            "#BSUB -e job.err",
            "#BSUB -W 1:30",
            "#BSUB -n 4",
            "#BSUB -R \"span[hosts=1]\"",
            "#BSUB -M 8192MB",
            "#BSUB -R \"rusage[mem=8192MB]\"",
            "#BSUB -gpu \"num=2\"",
            "#BSUB -q long",
            "#BSUB -P lab",
            "# grunt job ore000001 of project my proj, written by grunter submit",
        ]
    );
}

#[test]
fn lsf_batch_status_reads_exit_reasons_from_one_bjobs_call() {
    let b = Bench::new();
    b.fake(
        "bjobs",
        &format!(
            r#"IDS=; for a in "$@"; do case $a in [0-9]*) IDS="$IDS $a" ;; esac; done
{}
for a in $IDS; do grep -q "^$a|" '{}' || {{ echo "Job <$a> is not found" >&2; st=255; }}; done
exit ${{st:-0}}"#,
            filter_by_ids(&["lsf/bjobs-o.txt"], "split($0, f, \"|\"); id = f[1]"),
            data("lsf/bjobs-o.txt")
        ),
    );
    let job = b.job("lsf", "ore000001");
    let d = job.dir.clone();
    let ids = [
        "5001", "5002", "5003", "5004", "5005", "5006", "5007", "5008", "5009", "5101", "5102",
        "5103", "5104", "5105", "5106", "5999",
    ];
    let bf = numbered_batch(&b, &ids, &d);
    let r = job.with("GRUNT_BATCH_FILE", &bf).run("batch-status");
    assert_eq!(r.code, Some(0), "{r:?}");
    assert_eq!(
        r.stdout,
        "ore000001 COMPLETED 0\n\
         ore000002 FAILED 3\n\
         ore000003 TIMEOUT\n\
         ore000004 OUT_OF_MEMORY\n\
         ore000005 CANCELLED\n\
         ore000006 CANCELLED\n\
         ore000007 PREEMPTED\n\
         ore000008 TIMEOUT\n\
         ore000009 FAILED 139\n\
         ore000010 PENDING\n\
         ore000011 RUNNING\n\
         ore000012 PENDING\n\
         ore000013 SUSPENDED\n\
         ore000014 SUSPENDED\n"
    );
    assert_eq!(b.count("bjobs"), 1, "{:?}", b.calls());
}

#[test]
fn lsf_cancel_accepts_a_finished_job() {
    let b = Bench::new();
    b.fake(
        "bkill",
        &format!("cat '{}' >&2; exit 255", data("lsf/bkill-finished.stderr")),
    );
    let job = b.job("lsf", "ore000001");
    job.write("job.slurmid", "5001\n");
    assert_eq!(job.run("cancel").code, Some(0));
    assert!(job.has("job.canceled"));
    assert_eq!(b.calls(), ["bkill 5001"]);
}

impl Job {
    fn run_with(&self, k: &str, v: &str, word: &str) -> Out {
        let mut env = self.env.clone();
        env.push((k.into(), v.into()));
        Job {
            dir: self.dir.clone(),
            jobid: self.jobid.clone(),
            home: self.home.clone(),
            path: self.path.clone(),
            env,
        }
        .run(word)
    }
}

// ---------------------------------------------------------------- native arrays

impl Job {
    /// Task `task` of an array's script as the scheduler starts it: in the job directory
    /// that holds the script, with the task's number in `var`.
    fn run_task(&self, var: &str, task: usize) -> Out {
        let mut c = Command::new("sh");
        c.arg("job.sbatch")
            .current_dir(&self.dir)
            .env_clear()
            .env("PATH", "/usr/local/bin:/usr/bin:/bin")
            .env("HOME", &self.home)
            .env(var, task.to_string());
        run_with_deadline(c, &format!("task {task} of job.sbatch"))
    }
}

/// A batch file for `submit-batch`: "<jobid> TAB <dir>" for each job.
fn submit_batch_file(b: &Bench, jobs: &[Job]) -> String {
    let path = b.root.path().join("submit-batch.in");
    let text: String = jobs
        .iter()
        .map(|j| format!("{}\t{}\n", j.jobid, j.dir.display()))
        .collect();
    fs::write(&path, text).unwrap();
    path.display().to_string()
}

/// Three jobs of a sweep, each with its own args, for `runner_name`.
fn sweep_jobs(b: &Bench, runner_name: &str) -> Vec<Job> {
    (1..=3)
        .map(|i| {
            let j = b
                .job(runner_name, &format!("ore{i:06}"))
                .with("GRUNT_RES_ARRAY_THROTTLE", "2");
            j.write("job.sh", "echo \"point $*\"\n");
            j.write("job.args", &format!("--i={i}\n"));
            j
        })
        .collect()
}

/// A runner's array case: its name, the task variable, the first task's number, the three
/// jobs' ids, the file holding the array's directives, and text that must be in it.
type ArrayCase = (
    &'static str,
    &'static str,
    usize,
    [&'static str; 3],
    &'static str,
    &'static [&'static str],
);

/// `submit-batch`: each batch runner submits the jobs of the batch file as ONE array with
/// one call of its scheduler (the array and its throttle in the scheduler's words), writes
/// each job's task into its job.slurmid, and each task of the script, started as the
/// scheduler starts it, runs its own job in that job's directory, output included.
#[test]
fn every_batch_runner_submits_a_sweep_as_one_array() {
    let cases: [ArrayCase; 4] = [
        (
            "slurm",
            "SLURM_ARRAY_TASK_ID",
            0,
            ["836_0", "836_1", "836_2"],
            "job.sbatch",
            &["#SBATCH --array=0-2%2\n"],
        ),
        (
            "sge",
            "SGE_TASK_ID",
            1,
            ["19.1", "19.2", "19.3"],
            "job.sbatch",
            &["#$ -t 1-3\n", "#$ -tc 2\n"],
        ),
        (
            "htcondor",
            "GRUNT_ARRAY_TASK",
            0,
            ["4242.0", "4242.1", "4242.2"],
            "job.condor",
            &[
                "environment = \"GRUNT_ARRAY_TASK=$(Process)\"\n",
                "max_materialize = 2\nqueue 3\n",
            ],
        ),
        (
            "lsf",
            "LSB_JOBINDEX",
            1,
            ["5101[1]", "5101[2]", "5101[3]"],
            "job.sbatch",
            &["#BSUB -J \"ore000001[1-3]%2\"\n"],
        ),
    ];
    for (name, var, base, ids, file, wants) in cases {
        let b = Bench::new();
        b.fake(
            "sbatch",
            &format!("cat '{}'", data("slurm/sbatch-parsable.txt")),
        );
        b.fake("qsub", &format!("cat '{}'", data("sge/qsub-terse.txt")));
        b.fake(
            "condor_submit",
            &format!("cat '{}'", data("htcondor/condor_submit-terse.txt")),
        );
        b.fake(
            "bsub",
            &format!("cat > /dev/null; cat '{}'", data("lsf/bsub.txt")),
        );
        let jobs = sweep_jobs(&b, name);
        let bf = submit_batch_file(&b, &jobs);
        let r = jobs[0].run_with("GRUNT_BATCH_FILE", &bf, "submit-batch");
        assert_eq!(r.code, Some(0), "{name}: {r:?}");
        assert_eq!(b.calls().len(), 1, "{name}: one call: {:?}", b.calls());
        for (j, id) in jobs.iter().zip(ids) {
            assert_eq!(j.read("job.slurmid"), format!("{id}\n"), "{name}");
        }
        let text = jobs[0].read(file);
        for w in wants {
            assert!(text.contains(w), "{name}: {w:?} not in {file}:\n{text}");
        }
        assert!(
            !jobs[1].has("job.sbatch"),
            "{name}: one script, in the first job"
        );
        for t in 0..3 {
            let o = jobs[0].run_task(var, t + base);
            assert_eq!(o.code, Some(0), "{name} task {t}: {o:?}");
        }
        for (i, j) in jobs.iter().enumerate() {
            assert_eq!(
                j.read("job.out"),
                format!("point --i={}\n", i + 1),
                "{name}"
            );
            assert_eq!(j.read("job.exitcode"), "0\n", "{name}");
            assert!(j.has("job.end"), "{name}");
        }
    }
}

/// A failed array submit frees every job for a submit of its own; a job submitted already
/// stays out of the array; per job, status and cancel name the job's own task.
#[test]
fn slurm_array_failures_and_per_task_status_and_cancel() {
    let b = Bench::new();
    b.fake(
        "sbatch",
        "echo 'sbatch: error: Batch job submission failed' >&2; exit 1",
    );
    let jobs = sweep_jobs(&b, "slurm");
    let bf = submit_batch_file(&b, &jobs);
    let r = jobs[0].run_with("GRUNT_BATCH_FILE", &bf, "submit-batch");
    assert_eq!(r.code, Some(1), "{r:?}");
    assert!(jobs.iter().all(|j| !j.has("job.slurmid")), "claims undone");

    b.fake("sbatch", "echo 900");
    jobs[0].write("job.slurmid", "77\n");
    let r = jobs[0].run_with("GRUNT_BATCH_FILE", &bf, "submit-batch");
    assert_eq!(r.code, Some(0), "{r:?}");
    assert_eq!(jobs[0].read("job.slurmid"), "77\n", "not submitted twice");
    assert_eq!(jobs[1].read("job.slurmid"), "900_0\n");
    assert_eq!(jobs[2].read("job.slurmid"), "900_1\n");
    assert!(jobs[1]
        .read("job.sbatch")
        .contains("#SBATCH --array=0-1%2\n"));

    // More jobs than `array_max`: one array per array_max jobs, each with its own script.
    let b2 = Bench::new();
    b2.fake(
        "sbatch",
        &format!(
            "n=$(cat '{c}' 2>/dev/null || echo 500); echo $((n + 1)) > '{c}'; echo $((n + 1))",
            c = b2.root.path().join("count").display()
        ),
    );
    let big: Vec<Job> = sweep_jobs(&b2, "slurm")
        .into_iter()
        .map(|j| j.with("GRUNT_RES_ARRAY_MAX", "2"))
        .collect();
    let bf2 = submit_batch_file(&b2, &big);
    let r = big[0].run_with("GRUNT_BATCH_FILE", &bf2, "submit-batch");
    assert_eq!(r.code, Some(0), "{r:?}");
    assert_eq!(b2.count("sbatch"), 2, "{:?}", b2.calls());
    let ids: Vec<String> = big.iter().map(|j| j.read("job.slurmid")).collect();
    assert_eq!(ids, ["501_0\n", "501_1\n", "502_0\n"]);
    assert!(big[0]
        .read("job.sbatch")
        .contains("#SBATCH --array=0-1%2\n"));
    assert!(big[2]
        .read("job.sbatch")
        .contains("#SBATCH --array=0-0%2\n"));
    assert!(!big[1].has("job.sbatch"));

    b.fake("squeue", "echo '900_1 RUNNING'; echo '900_0 PENDING'");
    assert_eq!(jobs[2].run("status").stdout, "RUNNING\n");
    assert!(
        b.calls()
            .iter()
            .any(|c| c.starts_with("squeue -h -r -j 900_1 ")),
        "{:?}",
        b.calls()
    );
    b.fake("scancel", "exit 0");
    assert_eq!(jobs[2].run("cancel").code, Some(0));
    assert!(
        b.calls().iter().any(|c| c == "scancel 900_1"),
        "{:?}",
        b.calls()
    );
}

// ---------------------------------------------------------------- job.usage

/// `job.usage` as KEY=VALUE pairs, in order.
fn usage_lines(j: &Job) -> Vec<String> {
    j.read("job.usage").lines().map(str::to_string).collect()
}

/// A job that ran (it has job.start and the script submit wrote) with batch id `id`.
fn ran(b: &Bench, runner_name: &str, jobid: &str, id: &str, script: &str) -> Job {
    let j = b.job(runner_name, jobid);
    j.write("job.slurmid", &format!("{id}\n"));
    j.write("job.start", "2026-12-07 22:03:14 UTC\n");
    j.write(
        if runner_name == "htcondor" {
            "job.condor"
        } else {
            "job.sbatch"
        },
        script,
    );
    j
}

/// A batch file for `jobs`, with the batch id each holds.
fn batch_of(b: &Bench, jobs: &[&Job]) -> String {
    let ids: Vec<String> = jobs
        .iter()
        .map(|j| j.read("job.slurmid").trim().to_string())
        .collect();
    let spec: Vec<(&str, &str, &Path)> = jobs
        .iter()
        .zip(&ids)
        .map(|(j, id)| (j.jobid.as_str(), id.as_str(), j.dir.as_path()))
        .collect();
    batch_file(b, &spec)
}

/// Fakes for Slurm whose sacct answers the state query (`-X`) and the usage query from
/// `usage` (a recording of `sacct -n -P -o JobID,State,Elapsed,TotalCPU,AllocCPUS,NNodes,
/// ReqMem,MaxRSS,Timelimit`), by the ids asked.
fn slurm_usage_fakes(b: &Bench, usage: &str) {
    b.fake("squeue", "echo '7618 RUNNING'");
    let ids_from_j =
        r#"IDS=; while [ $# -gt 0 ]; do case $1 in -j) IDS=$2; shift ;; esac; shift; done"#;
    b.fake(
        "sacct",
        &format!(
            r#"X=; for a in "$@"; do [ "$a" = -X ] && X=1; done
{ids_from_j}
if [ -n "$X" ]; then
  {} | awk -F '|' '$1 !~ /\./ {{ print $1 "|" $2 "|" ($2 == "FAILED" ? "3:0" : "0:0") }}'
else
  {}
fi"#,
            filter_by_ids(&[usage], "split($0, f, \"|\"); id = f[1]"),
            filter_by_ids(
                &[usage],
                "split($0, f, \"|\"); id = f[1]; sub(/\\..*/, \"\", id)"
            ),
        ),
    );
}

#[test]
fn slurm_records_job_usage_of_ended_jobs_with_one_sacct_call() {
    let b = Bench::new();
    slurm_usage_fakes(&b, "slurm/sacct-usage.txt");
    let asked = "#!/bin/sh\n#SBATCH --mem=4G\n";
    let done = ran(&b, "slurm", "ore000001", "7615", asked);
    let failed = ran(&b, "slurm", "ore000002", "7616", "#SBATCH --mem=300M\n");
    // Canceled while it ran; asked for no memory (ReqMem is then the node's).
    let canceled = ran(&b, "slurm", "ore000003", "7617", "#!/bin/sh\n");
    let running = ran(&b, "slurm", "ore000004", "7618", asked);
    // Accounting that gathers nothing (jobacct_gather/none): TotalCPU 00:00:00, no MaxRSS.
    let bare = ran(&b, "slurm", "ore000005", "7386", asked);
    // Ended, but never started (canceled while pending): no usage to ask for.
    let never = b.job("slurm", "ore000006");
    never.write("job.slurmid", "7615\n");
    let limited = ran(
        &b,
        "slurm",
        "ore000007",
        "8706",
        "#SBATCH --mem=1G\n#SBATCH --time=30\n",
    );
    let all = [&done, &failed, &canceled, &running, &bare, &never, &limited];
    let bf = batch_of(&b, &all);
    let r = done.run_with("GRUNT_BATCH_FILE", &bf, "batch-status");
    assert_eq!(r.code, Some(0), "{r:?}");
    assert_eq!(
        r.stdout,
        "ore000001 COMPLETED 0\nore000002 FAILED 3\nore000003 CANCELLED\nore000004 RUNNING\n\
         ore000005 COMPLETED 0\nore000006 COMPLETED 0\nore000007 COMPLETED 0\n"
    );
    let sacct: Vec<String> = b
        .calls()
        .into_iter()
        .filter(|c| c.starts_with("sacct"))
        .collect();
    assert_eq!(
        sacct,
        [
            "sacct -j 7615,7616,7617,7386,8706 -P -n -X -o JobID,State,ExitCode",
            "sacct -j 7615,7616,7617,7386,8706 -n -P -o JobID,State,Elapsed,TotalCPU,AllocCPUS,NNodes,ReqMem,MaxRSS,Timelimit",
        ],
        "one query for the states, one for the usage of the jobs that ended"
    );
    assert_eq!(
        usage_lines(&done),
        [
            "source=sacct",
            "state=COMPLETED",
            "elapsed=00:00:03",
            "cpu_time=00:03.229",
            "cpus=2",
            "nodes=1",
            "mem_used=220456K",
            "mem_requested=4G"
        ]
    );
    assert!(usage_lines(&failed).contains(&"mem_used=117316K".to_string()));
    assert!(usage_lines(&failed).contains(&"mem_requested=300M".to_string()));
    let c = usage_lines(&canceled);
    assert!(c.contains(&"state=CANCELLED".to_string()), "{c:?}");
    assert!(
        !c.iter().any(|l| l.starts_with("mem_requested")),
        "no --mem: Slurm's default is no request: {c:?}"
    );
    assert_eq!(
        usage_lines(&bare),
        [
            "source=sacct",
            "state=COMPLETED",
            "elapsed=00:00:03",
            "cpus=1",
            "nodes=1",
            "mem_requested=500M"
        ],
        "no CPU time or peak where accounting gathered none"
    );
    assert!(!running.has("job.usage") && !never.has("job.usage"));
    let l = usage_lines(&limited);
    for want in ["mem_requested=1G", "time_requested=00:30:00"] {
        assert!(l.contains(&want.to_string()), "{want}: {l:?}");
    }
    assert!(
        !usage_lines(&done)
            .iter()
            .any(|l| l.starts_with("time_requested")),
        "asked for no time: the partition's limit is no request"
    );

    // Recorded once: the next call asks sacct for states only.
    let before = b.count("sacct");
    done.run_with("GRUNT_BATCH_FILE", &bf, "batch-status");
    assert_eq!(b.count("sacct"), before + 1, "{:?}", b.calls());

    // The status of one job records its usage the same way.
    let one = ran(&b, "slurm", "ore000008", "7616", "#!/bin/sh\n");
    assert_eq!(one.run("status").stdout, "FAILED\n");
    assert!(usage_lines(&one).contains(&"elapsed=00:00:03".to_string()));
}

/// Slurm before 21.08 wrote ReqMem per CPU (`4000Mc`) or per node (`2Gn`), other units for
/// MaxRSS and more steps; the runner copies them as they are (grunt reads them).
#[test]
fn slurm_usage_from_an_older_sacct() {
    let b = Bench::new();
    slurm_usage_fakes(&b, "slurm/sacct-usage-old.txt");
    let asked = "#SBATCH --mem-per-cpu=4000M\n#SBATCH -t 3-0\n";
    let per_cpu = ran(&b, "slurm", "ore000001", "5101", asked);
    let per_node = ran(&b, "slurm", "ore000002", "5102", asked);
    let bf = batch_of(&b, &[&per_cpu, &per_node]);
    let r = per_cpu.run_with("GRUNT_BATCH_FILE", &bf, "batch-status");
    assert_eq!(
        r.stdout, "ore000001 COMPLETED 0\nore000002 TIMEOUT\n",
        "{r:?}"
    );
    assert_eq!(
        usage_lines(&per_cpu),
        [
            "source=sacct",
            "state=COMPLETED",
            "elapsed=2-00:00:00",
            "cpu_time=1-02:03:04",
            "cpus=4",
            "nodes=1",
            "mem_used=3.50G",
            "mem_requested=4000Mc",
            "time_requested=3-00:00:00"
        ],
        "the largest step's peak"
    );
    let n = usage_lines(&per_node);
    for want in [
        "state=TIMEOUT",
        "nodes=2",
        "mem_used=1.90G",
        "mem_requested=2Gn",
        "time_requested=01:00:00",
    ] {
        assert!(n.contains(&want.to_string()), "{want}: {n:?}");
    }
}

#[test]
fn slurm_without_accounting_records_no_usage_and_still_answers() {
    let b = Bench::new();
    slurm_fakes(&b, false);
    let j = ran(&b, "slurm", "ore000001", "830", "#SBATCH --mem=1G\n");
    let r = j.run("status");
    assert_eq!(
        (r.code, r.stdout.as_str()),
        (Some(0), "COMPLETED\n"),
        "{r:?}"
    );
    assert!(!j.has("job.usage"));
    assert!(
        b.calls()
            .iter()
            .any(|c| c.starts_with("sacct -j 830 -n -P")),
        "{:?}",
        b.calls()
    );
}

/// A task of a native array has no script of its own: what the job asked for is read from
/// the array's, in the directory of the sweep's first job.
#[test]
fn slurm_usage_of_an_array_task_reads_the_arrays_script() {
    let b = Bench::new();
    slurm_usage_fakes(&b, "slurm/sacct-usage.txt");
    let first = ran(
        &b,
        "slurm",
        "ore000001",
        "8706",
        "#SBATCH --array=0-1\n#SBATCH --mem=1G\n#SBATCH --time=30\n",
    );
    first.write("job.sweep", "ore000001\n");
    let task = b.job("slurm", "ore000002");
    task.write("job.slurmid", "7616\n");
    task.write("job.start", "2026-12-07 22:03:14 UTC\n");
    task.write("job.sweep", "ore000001\n");
    // Not of a sweep, and no script: no request.
    let lone = b.job("slurm", "ore000003");
    lone.write("job.slurmid", "7615\n");
    lone.write("job.start", "2026-12-07 22:03:14 UTC\n");
    let bf = batch_of(&b, &[&first, &task, &lone]);
    let r = first.run_with("GRUNT_BATCH_FILE", &bf, "batch-status");
    assert_eq!(r.code, Some(0), "{r:?}");
    let t = usage_lines(&task);
    for want in ["mem_used=117316K", "mem_requested=300M"] {
        assert!(t.contains(&want.to_string()), "{want}: {t:?}");
    }
    assert!(
        !usage_lines(&lone)
            .iter()
            .any(|l| l.starts_with("mem_requested")),
        "{:?}",
        usage_lines(&lone)
    );
}

/// Just after a job ended, sacct may give a half-written record (seen on Slurm 22.05: ReqMem
/// `16?`, no Timelimit): no job.usage until the whole record is in.
#[test]
fn slurm_waits_for_a_whole_sacct_record() {
    let b = Bench::new();
    let rec = b.root.path().join("sacct now.txt");
    fs::copy(data("slurm/sacct-usage-incomplete.txt"), &rec).unwrap();
    b.fake("squeue", "exit 0");
    b.fake(
        "sacct",
        &format!(
            "case \"$*\" in *-X*) echo '8706|COMPLETED|0:0' ;; *) cat '{}' ;; esac",
            rec.display()
        ),
    );
    let j = ran(
        &b,
        "slurm",
        "ore000001",
        "8706",
        "#SBATCH --mem=1G\n#SBATCH --time=30\n",
    );
    assert_eq!(j.run("status").stdout, "COMPLETED\n");
    assert!(!j.has("job.usage"), "half a record is no usage");
    fs::copy(data("slurm/sacct-usage.txt"), &rec).unwrap();
    assert_eq!(j.run("status").stdout, "COMPLETED\n");
    let u = usage_lines(&j);
    for want in [
        "mem_requested=1G",
        "time_requested=00:30:00",
        "mem_used=117216K",
    ] {
        assert!(u.contains(&want.to_string()), "{want}: {u:?}");
    }
}

#[test]
fn sge_records_job_usage_from_qacct() {
    let b = Bench::new();
    b.fake("qstat", "exit 0");
    b.fake(
        "qacct",
        &format!(
            r#"case $2 in
161) cat '{}' ;; 184) cat '{}' ;; 11) cat '{}' ;;
*) echo "error: job id $2 not found" >&2; exit 1 ;;
esac"#,
            data("sge/qacct-usage.txt"),
            data("sge/qacct-usage-pe.txt"),
            data("sge/qacct-completed.txt"),
        ),
    );
    let one = ran(&b, "sge", "ore000001", "161", "#!/bin/sh\n");
    one.write("job.exitcode", "0\n");
    let pe = ran(&b, "sge", "ore000002", "184", "#!/bin/sh\n");
    pe.write("job.exitcode", "0\n");
    // Too short for Grid Engine to sample: maxvmem 0, so ru_maxrss (printed a unit low). (The
    // others' maxvmem is above their ru_maxrss.)
    let short = ran(&b, "sge", "ore000003", "11", "#!/bin/sh\n");
    short.write("job.exitcode", "0\n");
    let gone = ran(&b, "sge", "ore000004", "99", "#!/bin/sh\n");
    gone.write("job.exitcode", "0\n");
    // A task of an array (submit-batch): qacct -j N -t T.
    let task = ran(&b, "sge", "ore000005", "184.2", "#!/bin/sh\n");
    task.write("job.exitcode", "0\n");
    let bf = batch_of(&b, &[&one, &pe, &short, &gone, &task]);
    let r = one.run_with("GRUNT_BATCH_FILE", &bf, "batch-status");
    assert_eq!(r.code, Some(0), "{r:?}");
    assert_eq!(
        usage_lines(&one),
        [
            "source=qacct",
            "elapsed=3s",
            "cpu_time=2.449s",
            "cpus=1",
            "mem_used=209.875MB",
            "mem_requested=1000Mc"
        ]
    );
    let p = usage_lines(&pe);
    for want in ["cpus=2", "cpu_time=3.069s", "mem_requested=500Mc"] {
        assert!(p.contains(&want.to_string()), "{want}: {p:?}");
    }
    let s = usage_lines(&short);
    for want in ["mem_used=4.465M", "time_requested=60"] {
        assert!(s.contains(&want.to_string()), "{want}: {s:?}");
    }
    assert!(!gone.has("job.usage"), "qacct knows nothing: no file");
    assert!(usage_lines(&task).contains(&"cpus=2".to_string()));
    assert!(
        b.calls().contains(&"qacct -j 184 -t 2".to_string()),
        "{:?}",
        b.calls()
    );
    let qacct = |b: &Bench| b.count("qacct");
    assert_eq!(qacct(&b), 5, "{:?}", b.calls());
    // Recorded: qacct is not asked again, except for the job it knows nothing about.
    one.run_with("GRUNT_BATCH_FILE", &bf, "batch-status");
    assert_eq!(qacct(&b), 6, "{:?}", b.calls());
}

#[test]
fn lsf_records_job_usage_from_bjobs() {
    let b = Bench::new();
    b.fake(
        "bjobs",
        &format!(
            r#"IDS=; for a in "$@"; do case $a in [0-9]*) IDS="$IDS $a" ;; esac; done
case "$*" in
*run_time*) {} ;;
*) {} ;;
esac"#,
            filter_by_ids(&["lsf/bjobs-usage.txt"], "split($0, f, \"|\"); id = f[1]"),
            filter_by_ids(&["lsf/bjobs-o.txt"], "split($0, f, \"|\"); id = f[1]"),
        ),
    );
    let done = ran(&b, "lsf", "ore000001", "5001", "#!/bin/sh\n");
    let failed = ran(&b, "lsf", "ore000002", "5002", "#!/bin/sh\n");
    let bf = batch_of(&b, &[&done, &failed]);
    let r = done.run_with("GRUNT_BATCH_FILE", &bf, "batch-status");
    assert_eq!(
        r.stdout, "ore000001 COMPLETED 0\nore000002 FAILED 3\n",
        "{r:?}"
    );
    assert_eq!(
        usage_lines(&done),
        [
            "source=bjobs",
            "elapsed=754",
            "cpu_time=2890.4",
            "mem_used=1.2 Gbytes",
            "mem_requested=16 Gbytes",
            "cpus=4"
        ]
    );
    assert!(!usage_lines(&failed)
        .iter()
        .any(|l| l.starts_with("mem_requested")));
    assert_eq!(
        b.count("bjobs"),
        2,
        "one for states, one for usage: {:?}",
        b.calls()
    );
}

#[test]
fn htcondor_records_job_usage_from_condor_history() {
    let b = Bench::new();
    condor_fakes(&b);
    // condor_history answers the usage query (its attributes) from its own recording.
    let ids = r#"IDS=; while [ $# -gt 0 ]; do case $1 in -constraint) IDS=$(printf '%s\n' "$2" | awk '{ for (i = 1; i < NF; i++) if ($i == "==") printf "%s ", $(i + 1) }'); shift ;; esac; shift; done"#;
    b.fake(
        "condor_history",
        &format!(
            "case \"$*\" in *RemoteWallClockTime*) F='{}' ;; *) F='{}' ;; esac\n{ids}\ncat \"$F\" | awk -v ids=\"$IDS\" 'BEGIN {{ n = split(ids, a, / +/); for (i = 1; i <= n; i++) ok[a[i]] = 1 }} $1 in ok'",
            data("htcondor/condor_history-usage.txt"),
            data("htcondor/condor_history-af.txt"),
        ),
    );
    let done = ran(
        &b,
        "htcondor",
        "ore000001",
        "4001",
        "request_memory = 16384\n",
    );
    let failed = ran(&b, "htcondor", "ore000002", "4002", "universe = vanilla\n");
    let bf = batch_of(&b, &[&done, &failed]);
    let r = done.run_with("GRUNT_BATCH_FILE", &bf, "batch-status");
    assert_eq!(
        r.stdout, "ore000001 COMPLETED 0\nore000002 FAILED 3\n",
        "{r:?}"
    );
    assert_eq!(
        usage_lines(&done),
        [
            "source=condor_history",
            "elapsed=754.0",
            "cpu_time=2890.000",
            "cpus=4",
            "mem_used=1229M",
            "mem_requested=16384M",
            "time_requested=7200"
        ]
    );
    let f = usage_lines(&failed);
    assert!(f.contains(&"mem_used=2M".to_string()), "{f:?}");
    assert!(
        !f.iter().any(|l| l.starts_with("mem_requested")),
        "RequestMemory's default is no request: {f:?}"
    );
}

// ---------------------------------------------------------------- a real Grid Engine

/// Whether a Grid Engine answers here; under `CI=true` it must (`.ci/run` starts one).
fn sge_is_up() -> bool {
    let up = Command::new("qstat")
        .arg("-f")
        .stderr(Stdio::null())
        .output()
        .is_ok_and(|o| o.status.success() && String::from_utf8_lossy(&o.stdout).contains("@"));
    if !up {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "no Grid Engine answers (`qstat -f` fails): CI must run `runner-examples/sge/one-node-cluster.sh start` first"
        );
        eprintln!("SKIPPED: no Grid Engine (run runner-examples/sge/one-node-cluster.sh start)");
    }
    up
}

#[test]
fn sge_runner_against_a_real_grid_engine() {
    if !sge_is_up() {
        return;
    }
    let root = tempfile::Builder::new()
        .prefix("grunt sge ")
        .tempdir()
        .unwrap();
    let path = std::env::var("PATH").unwrap_or_default();
    let job = |id: &str, args: &str, time: &str| {
        let dir = root.path().join("active").join(id).join("my proj");
        fs::create_dir_all(&dir).unwrap();
        fs::copy(runner("sge"), dir.join("grunter")).unwrap();
        fs::write(
            dir.join("job.sh"),
            "case $1 in ok) echo fine ;; fail) exit 3 ;; sleep) sleep \"$2\" ;; esac\n",
        )
        .unwrap();
        fs::write(dir.join("job.args"), args).unwrap();
        Job {
            dir,
            jobid: id.to_string(),
            home: root.path().to_path_buf(),
            path: path.clone(),
            env: vec![
                ("GRUNT_RUN_COMMAND".into(), "sh job.sh".into()),
                ("GRUNT_RES_TIME".into(), time.into()),
            ],
        }
    };
    let jobs = [
        job("ore000001", "ok\n", "5"),
        job("ore000002", "fail\n", "5"),
        job("ore000003", "sleep\n60\n", "0:0:5"),
        job("ore000004", "sleep\n60\n", "5"),
    ];
    let mut ids = Vec::new();
    for j in &jobs {
        let r = j.run("submit");
        assert_eq!(r.code, Some(0), "{r:?}");
        ids.push(j.read("job.slurmid").trim().to_string());
    }
    struct Qdel(Vec<String>);
    impl Drop for Qdel {
        fn drop(&mut self) {
            let _ = Command::new("qdel")
                .args(&self.0)
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status();
        }
    }
    let _cleanup = Qdel(ids.clone());
    // Cancel the fourth once it runs.
    let end = Instant::now() + Duration::from_secs(60);
    while !jobs[3].has("job.start") {
        assert!(Instant::now() < end, "job 4 never started");
        thread::sleep(Duration::from_millis(200));
    }
    assert_eq!(jobs[3].run("status").stdout, "RUNNING\n");
    assert_eq!(jobs[3].run("cancel").code, Some(0));

    let spec: Vec<(&str, &str, &Path)> = jobs
        .iter()
        .zip(&ids)
        .map(|(j, id)| (j.jobid.as_str(), id.as_str(), j.dir.as_path()))
        .collect();
    let bf = root.path().join("batch.in");
    fs::write(
        &bf,
        spec.iter()
            .map(|(j, id, d)| format!("{j}\t{id}\t{}\n", d.display()))
            .collect::<String>(),
    )
    .unwrap();
    let want =
        "ore000001 COMPLETED 0\nore000002 FAILED 3\nore000003 TIMEOUT\nore000004 CANCELLED\n";
    let end = Instant::now() + Duration::from_secs(90);
    loop {
        let r = jobs[0].run_with(
            "GRUNT_BATCH_FILE",
            &bf.display().to_string(),
            "batch-status",
        );
        if r.stdout == want {
            break;
        }
        assert!(Instant::now() < end, "Grid Engine states: {r:?}");
        thread::sleep(Duration::from_secs(1));
    }
    assert_eq!(jobs[1].read("job.exitcode"), "3\n");
    assert!(
        !jobs[2].has("job.exitcode"),
        "killed at h_rt: no exit code of its own"
    );
}

/// Replicate arrays (`array` in the profile) are the Slurm runner's: its script runs the
/// command once per index with its own output; the others refuse such a job, submitting nothing.
#[test]
fn replicate_arrays_are_slurms_and_refused_elsewhere() {
    for name in ["sge", "htcondor", "lsf"] {
        let b = Bench::new();
        let j = b.job(name, "ore000001").with("GRUNT_RES_ARRAY", "0-2");
        let r = j.run("submit");
        assert_eq!(r.code, Some(2), "{name}: {r:?}");
        assert!(r.stderr.contains("replicate arrays"), "{name}: {r:?}");
        assert!(!j.has("job.slurmid") && b.calls().is_empty(), "{name}");
    }
    let b = Bench::new();
    b.fake("sbatch", "echo 700");
    let j = b.job("slurm", "ore000001").with("GRUNT_RES_ARRAY", "0-4:2");
    j.write(
        "job.sh",
        "echo \"task $GRUNT_ARRAY_TASK\"; exit $((GRUNT_ARRAY_TASK / 2))\n",
    );
    assert_eq!(j.run("submit").code, Some(0));
    assert_eq!(j.read("job.slurmid"), "700\n", "the array's id");
    let script = j.read("job.sbatch");
    for want in ["#SBATCH --array=0-4:2\n", "#SBATCH --output=job.out.%a\n"] {
        assert!(script.contains(want), "{want:?} in {script}");
    }
    // Three tasks (0, 2, 4); the job ends with the last, with the first non-zero code.
    for t in [0, 4, 2] {
        assert!(!j.has("job.end"), "not ended before its last task");
        let o = j.run_task("SLURM_ARRAY_TASK_ID", t);
        assert_eq!(o.code, Some(t as i32 / 2), "task {t}: {o:?}");
        assert_eq!(j.read(&format!("job.exitcode.{t}")), format!("{}\n", t / 2));
    }
    assert!(j.has("job.end"));
    assert_eq!(
        j.read("job.exitcode"),
        "1\n",
        "the first non-zero: task 2's"
    );
    let bad = b.job("slurm", "ore000002").with("GRUNT_RES_ARRAY", "0-x");
    assert_eq!(bad.run("submit").code, Some(2));
}

/// HTCondor and LSF tell an array's task apart (`4242.1`, `5101[2]`) in status and cancel.
#[test]
fn htcondor_and_lsf_status_and_cancel_per_array_task() {
    let b = Bench::new();
    b.fake(
        "condor_q",
        "echo '4242 2 undefined undefined undefined undefined 1'; echo '4242 1 undefined undefined undefined undefined 0'",
    );
    b.fake("condor_rm", "exit 0");
    let c = b.job("htcondor", "ore000002");
    c.write("job.slurmid", "4242.1\n");
    assert_eq!(c.run("status").stdout, "RUNNING\n");
    assert!(
        b.calls()
            .iter()
            .any(|l| l.contains("-constraint (ClusterId == 4242 && ProcId == 1) ")),
        "{:?}",
        b.calls()
    );
    assert_eq!(c.run("cancel").code, Some(0));
    assert!(b.calls().iter().any(|l| l == "condor_rm 4242.1"));

    b.fake("bjobs", "echo '5101|PEND|||1'; echo '5101|RUN|||2'");
    b.fake("bkill", "exit 0");
    let l = b.job("lsf", "ore000003");
    l.write("job.slurmid", "5101[2]\n");
    assert_eq!(l.run("status").stdout, "RUNNING\n");
    assert!(
        b.calls().iter().any(|c| c.ends_with(" -noheader 5101[2]")),
        "{:?}",
        b.calls()
    );
    assert_eq!(l.run("cancel").code, Some(0));
    assert!(b.calls().iter().any(|c| c == "bkill 5101[2]"));
}

/// A sweep as ONE Grid Engine array job (`qsub -t 1-3 -tc 2`): each job's job.slurmid is
/// its task (`N.1`..`N.3` of one job number), each task runs in its own job's directory, and
/// batch-status tells each task's end.
#[test]
fn sge_sweep_is_one_array_job_on_a_real_grid_engine() {
    if !sge_is_up() {
        return;
    }
    let b = Bench::new();
    let path = std::env::var("PATH").unwrap_or_default();
    let jobs: Vec<Job> = sweep_jobs(&b, "sge")
        .into_iter()
        .map(|mut j| {
            j.path = path.clone();
            j
        })
        .collect();
    let bf = submit_batch_file(&b, &jobs);
    let r = jobs[0].run_with("GRUNT_BATCH_FILE", &bf, "submit-batch");
    assert_eq!(r.code, Some(0), "{r:?}");
    let ids: Vec<String> = jobs
        .iter()
        .map(|j| j.read("job.slurmid").trim().to_string())
        .collect();
    let number = ids[0].split('.').next().unwrap_or_default().to_string();
    struct Qdel(String);
    impl Drop for Qdel {
        fn drop(&mut self) {
            let _ = Command::new("qdel")
                .arg(&self.0)
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status();
        }
    }
    let _cleanup = Qdel(number.clone());
    for (t, id) in ids.iter().enumerate() {
        assert_eq!(id, &format!("{number}.{}", t + 1), "{ids:?}");
    }
    let spec: Vec<(&str, &str, &Path)> = jobs
        .iter()
        .zip(&ids)
        .map(|(j, id)| (j.jobid.as_str(), id.as_str(), j.dir.as_path()))
        .collect();
    let status = batch_file(&b, &spec);
    let want = "ore000001 COMPLETED 0\nore000002 COMPLETED 0\nore000003 COMPLETED 0\n";
    let end = Instant::now() + Duration::from_secs(90);
    loop {
        let r = jobs[0].run_with("GRUNT_BATCH_FILE", &status, "batch-status");
        if r.stdout == want {
            break;
        }
        assert!(Instant::now() < end, "Grid Engine states: {r:?}");
        thread::sleep(Duration::from_millis(500));
    }
    for (i, j) in jobs.iter().enumerate() {
        assert_eq!(j.read("job.out"), format!("point --i={}\n", i + 1));
    }
}

/// `job.usage` from a real qacct: a job that touches 150M and burns a second of CPU on 2
/// slots with 1G asked for.
#[test]
fn sge_job_usage_from_a_real_qacct() {
    if !sge_is_up() {
        return;
    }
    let root = tempfile::Builder::new()
        .prefix("grunt sge usage ")
        .tempdir()
        .unwrap();
    let dir = root.path().join("active/ore000001/my proj");
    fs::create_dir_all(&dir).unwrap();
    fs::copy(runner("sge"), dir.join("grunter")).unwrap();
    fs::write(dir.join("burn.py"), crate::usage::BURN_PY).unwrap();
    fs::write(dir.join("job.args"), "150\n1\n2\n").unwrap();
    let j = Job {
        dir,
        jobid: "ore000001".into(),
        home: root.path().to_path_buf(),
        path: std::env::var("PATH").unwrap_or_default(),
        env: vec![
            ("GRUNT_RUN_COMMAND".into(), "python3 burn.py".into()),
            ("GRUNT_RES_MEM".into(), "1G".into()),
            ("GRUNT_RES_CPUS".into(), "2".into()),
        ],
    };
    let r = j.run("submit");
    assert_eq!(r.code, Some(0), "{r:?}");
    let id = j.read("job.slurmid").trim().to_string();
    struct Qdel(String);
    impl Drop for Qdel {
        fn drop(&mut self) {
            let _ = Command::new("qdel")
                .arg(&self.0)
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status();
        }
    }
    let _cleanup = Qdel(id);
    let end = Instant::now() + Duration::from_secs(90);
    while !j.has("job.usage") {
        assert!(Instant::now() < end, "no job.usage: {:?}", j.run("status"));
        assert_eq!(j.run("status").code, Some(0));
        thread::sleep(Duration::from_secs(1));
    }
    assert_eq!(j.read("job.status"), "COMPLETED\n");
    let u = usage_lines(&j);
    for want in ["source=qacct", "cpus=2", "mem_requested=512Mc"] {
        assert!(u.contains(&want.to_string()), "{want}: {u:?}");
    }
    let value = |k: &str| {
        u.iter()
            .find_map(|l| l.strip_prefix(&format!("{k}=")))
            .unwrap_or_default()
            .to_string()
    };
    // Grid Engine's own forms: "3s", "1.049s", "209.723MB" (or, where it sampled no maxvmem,
    // ru_maxrss a unit up: "207.906M").
    let secs = |v: String| v.trim_end_matches('s').parse::<f64>().unwrap_or(0.0);
    assert!(secs(value("elapsed")) >= 2.0, "{u:?}");
    assert!(secs(value("cpu_time")) >= 0.8, "{u:?}");
    let mem = value("mem_used");
    let mb = mem.trim_end_matches('B').trim_end_matches('M');
    assert!(
        (mem.ends_with('M') || mem.ends_with("MB")) && mb.parse::<f64>().unwrap_or(0.0) >= 150.0,
        "{u:?}"
    );
}

// ---------------------------------------------------------------- grunt runner

/// `grunt runner list` names every runner; `grunt runner install` writes the committed one,
/// executable, and never over an existing `grunter`.
#[test]
fn grunt_runner_installs_the_committed_runners() {
    let grunt = grunt_tests::grunt_bin();
    let dir = tempfile::tempdir().unwrap();
    let run = |args: &[&str]| {
        Command::new(&grunt)
            .args(args)
            .current_dir(dir.path())
            .output()
            .unwrap()
    };
    let list = run(&["runner", "list"]);
    assert!(list.status.success(), "{list:?}");
    let names: Vec<String> = String::from_utf8_lossy(&list.stdout)
        .lines()
        .filter_map(|l| l.split_whitespace().next().map(str::to_string))
        .collect();
    for name in RUNNERS.iter().chain(&["local"]) {
        assert!(names.iter().any(|n| n == name), "{name} not in {names:?}");
    }
    let installed = dir.path().join("grunter");
    for name in RUNNERS.iter().chain(&["local"]) {
        let out = run(&["runner", "install", name]);
        assert!(out.status.success(), "{out:?}");
        assert_eq!(
            fs::read(&installed).unwrap(),
            fs::read(runner(name)).unwrap(),
            "{name}"
        );
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            fs::metadata(&installed).unwrap().permissions().mode() & 0o777,
            0o755
        );
        // A second install keeps what is there.
        fs::write(&installed, "mine").unwrap();
        let again = run(&["runner", "install", name]);
        assert_eq!(again.status.code(), Some(2), "{again:?}");
        assert_eq!(fs::read_to_string(&installed).unwrap(), "mine");
        fs::remove_file(&installed).unwrap();
    }
    let unknown = run(&["runner", "install", "pbs"]);
    assert_eq!(unknown.status.code(), Some(2), "{unknown:?}");
    assert!(!installed.exists());
}

/// Grid Engine task ids are compared as text: task 184.20 is not task 184.2 (awk would
/// compare the two as the same number).
#[test]
fn sge_task_ids_are_compared_as_text() {
    let b = Bench::new();
    b.fake(
        "qstat",
        "printf '%s\\n' \
         'job-ID prior name user state submit/start at queue slots ja-task-ID' \
         '184 0.55500 job root r 12/07/2026 10:00:00 all.q@vm 1 2' \
         '184 0.55500 job root qw 12/07/2026 10:00:00 1 20'",
    );
    b.fake("qacct", "exit 1");
    let two = b.job("sge", "ore000001");
    two.write("job.slurmid", "184.2\n");
    let twenty = b.job("sge", "ore000002");
    twenty.write("job.slurmid", "184.20\n");
    assert_eq!(two.run("status").stdout.trim(), "RUNNING");
    assert_eq!(twenty.run("status").stdout.trim(), "PENDING");
}
