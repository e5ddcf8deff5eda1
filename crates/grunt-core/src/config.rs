//! Configuration: the project's `grunt.toml`, and the original's one-line files
//! (`grunt.server` and `grunt.projname` in the project directory, `~/.grunt.defserver`).
//!
//! `grunt.toml` is copied into every job, so a job's settings are those it was submitted with.
//! Its `[runner]` table is read by grund; every value is also handed to the runner as an
//! environment variable (see [`flatten_env`]), so runners in any language need no TOML parser.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use thiserror::Error;

use crate::fsutil;
use crate::name;

/// The project configuration file, in the project directory and in every job.
pub const PROJECT_CONFIG: &str = "grunt.toml";
/// Overrides the default server for one project directory (original).
pub const SERVER_FILE: &str = "grunt.server";
/// Overrides the project name, which is otherwise the directory's name (original).
pub const PROJNAME_FILE: &str = "grunt.projname";
/// The default server name, in `$HOME` (original).
pub const DEFSERVER_FILE: &str = ".grunt.defserver";

/// Default time limit of one runner call.
pub const DEFAULT_RUNNER_TIMEOUT_SECS: u64 = 300;

/// Default of `[runner] max_job_file_mib`: every client pulls what grund commits, so a
/// runaway `job.*` file must not go into the jobs repo (the original had no limit; ours was
/// 100 MiB).
pub const DEFAULT_MAX_JOB_FILE_MIB: u64 = 10;

#[derive(Debug, Error)]
pub enum ConfigError {
    #[error("{path}: {message}\n  fix the file; see docs/runner-protocol.md for the keys")]
    Parse { path: PathBuf, message: String },
    #[error("no server configured: write its short name with `grunt server NAME` (this project) or into ~/{DEFSERVER_FILE} (all projects), or pass --server NAME")]
    NoServer,
    #[error("cannot tell the user name: set USER")]
    NoUser,
    #[error("no [profile.{0}] in grunt.toml: add it, or submit without --profile")]
    NoProfile(String),
}

/// `grunt.toml`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct ProjectConfig {
    pub runner: RunnerConfig,
    /// The whole file, for [`flatten_env`].
    #[serde(skip)]
    pub raw: toml::Table,
}

/// `[runner]`: how grund calls the runner.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RunnerConfig {
    /// Shell command to run when the job has neither `grunter` nor `grunter.py`.
    pub command: Option<String>,
    /// Time limit of one runner call, in seconds. Unset: [`DEFAULT_RUNNER_TIMEOUT_SECS`], and
    /// none at all for `grunter.py` (the original contract, whose `submit` may run the job).
    pub timeout: Option<u64>,
    /// Names of grund's environment variables to pass through to the runner when `clean_env`
    /// is set (otherwise the runner gets all of grund's environment).
    pub env: Vec<String>,
    /// Largest `job.*` file grund commits into the jobs repo, in MiB (larger ones stay on the
    /// server, noted in `job.error`); default [`DEFAULT_MAX_JOB_FILE_MIB`].
    pub max_job_file_mib: Option<u64>,
    /// Start the runner from a cleared environment (a few basics, `env`, and the `GRUNT_*`
    /// variables) instead of grund's own.
    pub clean_env: bool,
}

impl ProjectConfig {
    /// Parses `grunt.toml` text; `path` is for messages.
    pub fn parse(text: &str, path: &Path) -> Result<Self, ConfigError> {
        let err = |message: String| ConfigError::Parse {
            path: path.to_path_buf(),
            message,
        };
        let raw: toml::Table = toml::from_str(text).map_err(|e| err(e.to_string()))?;
        let mut cfg: ProjectConfig = toml::Value::Table(raw.clone())
            .try_into()
            .map_err(|e: toml::de::Error| err(e.to_string()))?;
        cfg.raw = raw;
        Ok(cfg)
    }

    /// Loads `dir/grunt.toml`; a missing file is the default configuration.
    pub fn load(dir: &Path) -> crate::Result<Self> {
        Self::load_named(dir, PROJECT_CONFIG)
    }

    /// Loads `dir/name` (a file in `grunt.toml`'s format, such as grund's `grund.toml`); a
    /// missing file is the default configuration.
    pub fn load_named(dir: &Path, name: &str) -> crate::Result<Self> {
        let path = dir.join(name);
        // A job's copy may have been replaced by the runner: never block on a FIFO.
        match fsutil::read_regular(&path) {
            Ok(bytes) => Ok(Self::parse(&String::from_utf8_lossy(&bytes), &path)?),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Self::default()),
            Err(e) => Err(crate::Error::io("reading", path)(e)),
        }
    }

    /// The largest `job.*` file grund commits, in bytes.
    pub fn max_job_file_bytes(&self) -> u64 {
        self.runner
            .max_job_file_mib
            .unwrap_or(DEFAULT_MAX_JOB_FILE_MIB)
            .saturating_mul(1 << 20)
    }

    pub fn runner_timeout(&self) -> u64 {
        self.runner
            .timeout
            .unwrap_or(DEFAULT_RUNNER_TIMEOUT_SECS)
            .max(1)
    }
}

/// Every value of a `grunt.toml` as `GRUNT_<TABLE>_<KEY>` variables: upper case, each
/// character that is not a letter or digit turned into `_`, nested tables joined with `_`,
/// arrays joined with newlines. `[run] results = ["*.csv"]` becomes `GRUNT_RUN_RESULTS=*.csv`.
pub fn flatten_env(table: &toml::Table) -> BTreeMap<String, String> {
    fn key(parts: &[&str]) -> String {
        let mut k = String::from("GRUNT");
        for p in parts {
            k.push('_');
            k.extend(p.chars().map(|c| {
                if c.is_ascii_alphanumeric() {
                    c.to_ascii_uppercase()
                } else {
                    '_'
                }
            }));
        }
        k
    }
    fn scalar(v: &toml::Value) -> Option<String> {
        match v {
            toml::Value::String(s) => Some(s.clone()),
            toml::Value::Integer(i) => Some(i.to_string()),
            toml::Value::Float(f) => Some(f.to_string()),
            toml::Value::Boolean(b) => Some(b.to_string()),
            toml::Value::Datetime(d) => Some(d.to_string()),
            _ => None,
        }
    }
    fn walk<'a>(t: &'a toml::Table, path: &mut Vec<&'a str>, out: &mut BTreeMap<String, String>) {
        for (k, v) in t {
            path.push(k);
            match v {
                toml::Value::Table(sub) => walk(sub, path, out),
                toml::Value::Array(items) => {
                    let vals: Option<Vec<String>> = items.iter().map(scalar).collect();
                    if let Some(vals) = vals {
                        out.insert(key(path), vals.join("\n"));
                    }
                }
                other => {
                    if let Some(s) = scalar(other) {
                        out.insert(key(path), s);
                    }
                }
            }
            path.pop();
        }
    }
    let mut out = BTreeMap::new();
    walk(table, &mut Vec::new(), &mut out);
    out
}

/// The job's resources for the runner: `[resources]` with `[profile.<name>]` on top, as
/// `GRUNT_RES_<KEY>` variables (same spelling rules as [`flatten_env`]).
pub fn resources(
    table: &toml::Table,
    profile: Option<&str>,
) -> Result<BTreeMap<String, String>, ConfigError> {
    let mut merged = toml::Table::new();
    if let Some(toml::Value::Table(base)) = table.get("resources") {
        merged.extend(base.clone());
    }
    if let Some(name) = profile {
        let over = table
            .get("profile")
            .and_then(|p| p.get(name))
            .and_then(|t| t.as_table())
            .ok_or_else(|| ConfigError::NoProfile(name.to_string()))?;
        merged.extend(over.clone());
    }
    let mut wrapped = toml::Table::new();
    wrapped.insert("res".into(), toml::Value::Table(merged));
    Ok(flatten_env(&wrapped))
}

/// The server name: `grunt.server` in `project_dir`, else `~/.grunt.defserver`.
pub fn server_name(project_dir: &Path, home: &Path) -> crate::Result<Option<String>> {
    for path in [project_dir.join(SERVER_FILE), home.join(DEFSERVER_FILE)] {
        if let Some(s) = fsutil::read_line(&path)? {
            let s = s.trim().to_string();
            if !s.is_empty() {
                name::check("server", &s)?;
                return Ok(Some(s));
            }
        }
    }
    Ok(None)
}

/// The project name: `grunt.projname` in `dir`, else the directory's name.
pub fn project_name(dir: &Path) -> crate::Result<String> {
    let name = match fsutil::read_line(&dir.join(PROJNAME_FILE))? {
        Some(n) if !n.trim().is_empty() => n.trim().to_string(),
        _ => dir
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default(),
    };
    name::check("project", &name)?;
    Ok(name)
}

/// The user running this process: `$USER`, `$LOGNAME`, else the password database.
pub fn user_name() -> crate::Result<String> {
    let from_env = ["USER", "LOGNAME"]
        .iter()
        .filter_map(|v| std::env::var(v).ok())
        .find(|u| !u.is_empty());
    let user = match from_env {
        Some(u) => u,
        None => passwd_name().ok_or(ConfigError::NoUser)?,
    };
    name::check("user", &user)?;
    Ok(user)
}

fn passwd_name() -> Option<String> {
    // getpwuid_r, through nix (rustix has no passwd lookup).
    nix::unistd::User::from_uid(nix::unistd::Uid::current())
        .ok()
        .flatten()
        .map(|u| u.name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runner_table_and_flattening() {
        let text = r#"
[runner]
timeout = 20
env = ["MODULEPATH"]

[run]
command = "python3 sim.py"
results = ["*.csv", "logs/*.txt"]

[profile.gpu-big]
mem = "32G"
gpus = 2
"#;
        let cfg = ProjectConfig::parse(text, Path::new("grunt.toml")).unwrap();
        assert_eq!(cfg.runner_timeout(), 20);
        assert_eq!(cfg.runner.env, vec!["MODULEPATH"]);
        let env = flatten_env(&cfg.raw);
        assert_eq!(env["GRUNT_RUN_COMMAND"], "python3 sim.py");
        assert_eq!(env["GRUNT_RUN_RESULTS"], "*.csv\nlogs/*.txt");
        assert_eq!(env["GRUNT_PROFILE_GPU_BIG_GPUS"], "2");
        assert_eq!(env["GRUNT_RUNNER_TIMEOUT"], "20");
    }

    #[test]
    fn resource_profiles_merge() {
        let text = "[resources]\ntime = \"1:00:00\"\nmem = \"4G\"\nsbatch = [\"--x=1\", \"--y=2\"]\n[profile.gpu]\nmem = \"32G\"\ngpus = 2\n";
        let cfg = ProjectConfig::parse(text, Path::new("g")).unwrap();
        let base = resources(&cfg.raw, None).unwrap();
        assert_eq!(base["GRUNT_RES_MEM"], "4G");
        assert_eq!(base["GRUNT_RES_SBATCH"], "--x=1\n--y=2");
        let gpu = resources(&cfg.raw, Some("gpu")).unwrap();
        assert_eq!(gpu["GRUNT_RES_MEM"], "32G");
        assert_eq!(gpu["GRUNT_RES_GPUS"], "2");
        assert_eq!(gpu["GRUNT_RES_TIME"], "1:00:00");
        assert!(matches!(
            resources(&cfg.raw, Some("nope")),
            Err(ConfigError::NoProfile(_))
        ));
    }

    #[test]
    fn bad_toml_names_the_file() {
        let e = ProjectConfig::parse("[runner]\ntimeout = \"x\"", Path::new("/p/grunt.toml"))
            .unwrap_err();
        assert!(e.to_string().contains("/p/grunt.toml"), "{e}");
        let e = ProjectConfig::parse("[runner]\ntimout = 3", Path::new("g.toml")).unwrap_err();
        assert!(e.to_string().contains("timout"), "{e}");
    }

    #[test]
    fn server_and_project_names() {
        let d = tempfile::tempdir().unwrap();
        let home = d.path().join("home");
        let proj = d.path().join("sim");
        std::fs::create_dir_all(&home).unwrap();
        std::fs::create_dir_all(&proj).unwrap();
        assert_eq!(server_name(&proj, &home).unwrap(), None);
        std::fs::write(home.join(DEFSERVER_FILE), "clust\n").unwrap();
        assert_eq!(server_name(&proj, &home).unwrap().as_deref(), Some("clust"));
        std::fs::write(proj.join(SERVER_FILE), "other\n").unwrap();
        assert_eq!(server_name(&proj, &home).unwrap().as_deref(), Some("other"));
        std::fs::write(proj.join(SERVER_FILE), "../x\n").unwrap();
        assert!(server_name(&proj, &home).is_err());
        assert_eq!(project_name(&proj).unwrap(), "sim");
        std::fs::write(proj.join(PROJNAME_FILE), "alt\n").unwrap();
        assert_eq!(project_name(&proj).unwrap(), "alt");
    }
}
