//! `grunt share REMOTE [--jobs SPEC]` and `grunt clone-shared REMOTE`: a read-only mirror of a
//! project's record on any git remote (a colleague's server, a GitHub repo), and browsing one
//! without a server.
//!
//! `share` pushes the jobs and results repos to the branches `grunt/<project>/jobs` and
//! `grunt/<project>/results` of REMOTE through the system `git` (so the user's ssh setup and
//! credential helpers apply), never forced: a branch there whose history is not this project's
//! is refused before anything is pushed. With `--jobs`, a snapshot commit holding only the
//! chosen jobs is pushed instead (on top of the previous snapshot, if any), so nothing else of
//! the project leaves.
//!
//! `clone-shared` fetches those branches into local bare mirrors
//! (`~/gruntdat/shared/<server>/<project>/`) and sets up an ordinary client project on them
//! (`grunt.server`, `grunt.projname`, clones in `~/gruntdat/wc/`), so `jobs`, `show`, `out`,
//! `diff`, `log` work as usual; running it again updates the mirrors.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result};
use git2::{Oid, Repository};
use grunt_core::config::{self, PROJNAME_FILE, SERVER_FILE};
use grunt_core::git::{self, tree};
use grunt_core::layout::{self, ClientLayout, Location};
use grunt_core::{name, project};

use crate::context::Ctx;
use crate::error;
use crate::ui;

/// Message prefix of snapshot commits (`--jobs`).
const SNAPSHOT: &str = "grunt share:";

#[derive(Debug, Clone, clap::Args)]
#[command(after_long_help = "Examples:
  grunt share git@github.com:me/sim-runs.git
  grunt share /shared/colleague/runs.git --jobs 3,7..9
and on the colleague's side:
  grunt clone-shared git@github.com:me/sim-runs.git && cd sim && grunt jobs")]
pub struct ShareArgs {
    /// Any git remote: a URL or a path to a bare repo.
    pub remote: String,
    /// Only these jobs (ids, numbers, ranges, comma lists), as a snapshot without the rest of
    /// the history.
    #[arg(long, value_name = "SPEC")]
    pub jobs: Option<String>,
}

#[derive(Debug, Clone, clap::Args)]
pub struct CloneArgs {
    /// The remote `grunt share` pushed to.
    pub remote: String,
    /// The project to take, when the remote holds several.
    #[arg(long, value_name = "NAME")]
    pub project: Option<String>,
    /// Where to make the project directory (default: ./<project>).
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,
    /// The name this shared record goes by, as a server would (default: shared).
    #[arg(long, value_name = "NAME", default_value = "shared")]
    pub server: String,
}

fn branch(project: &str, kind: &str) -> String {
    format!("grunt/{project}/{kind}")
}

/// `git ARGS` in `dir`; its stdout, or an error with its stderr.
fn git_out(dir: &Path, args: &[&str]) -> Result<String> {
    let out = Command::new("git")
        .current_dir(dir)
        .args(args)
        .output()
        .context("running git")?;
    if !out.status.success() {
        return Err(error::error(format!(
            "git {} failed: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        ))
        .into());
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// The remote's branches under `grunt/`, name to commit.
fn remote_branches(dir: &Path, remote: &str) -> Result<Vec<(String, String)>> {
    let text = git_out(dir, &["ls-remote", "--heads", remote, "refs/heads/grunt/*"])?;
    Ok(text
        .lines()
        .filter_map(|l| {
            let (sha, r) = l.split_once('\t')?;
            Some((r.strip_prefix("refs/heads/")?.to_string(), sha.to_string()))
        })
        .collect())
}

pub fn share(ctx: &Ctx, a: ShareArgs) -> Result<()> {
    ctx.pull_for_reading()?;
    if let Err(e) = ctx.pull_results() {
        ui::warn(format!(
            "results not pulled ({}); sharing the local copy",
            error::one_line(&e)
        ));
    }
    let chosen = match &a.jobs {
        Some(spec) => Some(ctx.resolve(std::slice::from_ref(spec), &ctx.list()?)?),
        None => None,
    };
    let there = remote_branches(&ctx.dirs.jobs(), &a.remote)?;
    let results = git::open(&ctx.dirs.results())?;
    // First every check, then every push: a refusal pushes nothing.
    let mut plan = Vec::new();
    for (kind, repo) in [("jobs", &ctx.jobs), ("results", &results)] {
        let b = branch(&ctx.key.project, kind);
        let Some(tip) = git::head(repo)? else {
            continue;
        };
        let theirs = there.iter().find(|(n, _)| *n == b).map(|(_, s)| s.clone());
        let theirs = match theirs {
            Some(s) => {
                git_out(
                    repo.path(),
                    &[
                        "fetch",
                        "-q",
                        &a.remote,
                        &format!("+refs/heads/{b}:refs/grunt/share-{kind}"),
                    ],
                )?;
                Some(Oid::from_str(&s)?)
            }
            None => None,
        };
        let new = match &chosen {
            None => {
                if let Some(t) = theirs {
                    if t != tip && !repo.graph_descendant_of(tip, t).unwrap_or(false) {
                        return Err(unrelated(&a.remote, &b));
                    }
                }
                tip
            }
            Some(jobs) => {
                if let Some(t) = theirs {
                    let ours = repo
                        .find_commit(t)
                        .map(|c| c.message().unwrap_or("").starts_with(SNAPSHOT))
                        .unwrap_or(false)
                        || t == tip
                        || repo.graph_descendant_of(tip, t).unwrap_or(false);
                    if !ours {
                        return Err(unrelated(&a.remote, &b));
                    }
                }
                snapshot(ctx, repo, tip, theirs, jobs)?
            }
        };
        if Some(new) != theirs {
            plan.push((b, repo.path().to_path_buf(), new));
        }
    }
    for (b, dir, new) in &plan {
        git_out(
            dir,
            &["push", "-q", &a.remote, &format!("{new}:refs/heads/{b}")],
        )?;
    }
    let what = match &chosen {
        Some(j) => format!("{} job(s)", j.len()),
        None => "all jobs".to_string(),
    };
    ui::out(format!(
        "shared {what} of {} to {} ({}): `grunt clone-shared {}` browses it",
        ctx.key.project,
        a.remote,
        if plan.is_empty() {
            "already up to date".to_string()
        } else {
            plan.iter()
                .map(|(b, _, _)| b.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        },
        a.remote
    ))?;
    Ok(())
}

fn unrelated(remote: &str, b: &str) -> anyhow::Error {
    error::error(format!(
        "{remote} has a branch {b} whose history is not this project's: nothing was pushed"
    ))
    .hint("share to another remote, or remove that branch there first (grunt never forces)")
    .into()
}

/// A commit of `tip`'s tree without the jobs not in `keep`, on top of `parent`.
fn snapshot(
    ctx: &Ctx,
    repo: &Repository,
    tip: Oid,
    parent: Option<Oid>,
    keep: &[grunt_core::jobs::JobRecord],
) -> Result<Oid> {
    let root = repo.find_commit(tip)?.tree()?;
    let mut edits = Vec::new();
    for loc in Location::ALL {
        let Some(dir) = tree::subtree(repo, &root, loc.dir()) else {
            continue;
        };
        for e in dir.iter() {
            let Some(n) = e.name().ok() else { continue };
            if e.kind() == Some(git2::ObjectType::Tree)
                && !keep.iter().any(|j| j.id.to_string() == n)
            {
                edits.push(tree::Edit::Remove {
                    path: format!("{}/{n}", loc.dir()),
                });
            }
        }
    }
    let t = repo.find_tree(tree::apply(repo, Some(root.id()), &edits)?)?;
    if let Some(p) = parent {
        if repo.find_commit(p)?.tree_id() == t.id() {
            return Ok(p);
        }
    }
    let sig = git::signature(repo, &ctx.key.user)?;
    let parents: Vec<git2::Commit<'_>> = parent
        .map(|p| repo.find_commit(p))
        .transpose()?
        .into_iter()
        .collect();
    let refs: Vec<&git2::Commit<'_>> = parents.iter().collect();
    let ids: Vec<String> = keep.iter().map(|j| j.id.to_string()).collect();
    Ok(repo.commit(
        None,
        &sig,
        &sig,
        &format!("{SNAPSHOT} {} of {}", ids.join(" "), ctx.key.project),
        &t,
        &refs,
    )?)
}

/// Where `clone-shared` keeps the mirrors (`jobs`, `results`) of `project` shared as `server`.
pub fn mirror_dir(cl: &ClientLayout, server: &str, project: &str) -> PathBuf {
    cl.root.join("shared").join(server).join(project)
}

pub fn clone_shared(a: CloneArgs) -> Result<()> {
    name::check("server", &a.server)?;
    let cwd = std::env::current_dir()?;
    let branches = remote_branches(&cwd, &a.remote)?;
    let mut projects: Vec<String> = branches
        .iter()
        .filter_map(|(b, _)| {
            b.strip_prefix("grunt/")?
                .strip_suffix("/jobs")
                .map(str::to_string)
        })
        .collect();
    projects.sort();
    projects.dedup();
    let project = match (&a.project, projects.as_slice()) {
        (Some(p), _) if projects.contains(p) => p.clone(),
        (Some(p), _) => {
            return Err(
                error::error(format!("{} shares no project {p:?}", a.remote))
                    .hint(format!("it shares: {}", projects.join(", ")))
                    .into(),
            )
        }
        (None, [one]) => one.clone(),
        (None, []) => {
            return Err(error::error(format!(
                "{} holds nothing `grunt share` pushed (no grunt/<project>/jobs branch)",
                a.remote
            ))
            .into())
        }
        (None, many) => {
            return Err(error::usage(format!(
                "{} shares several projects: {}",
                a.remote,
                many.join(", ")
            ))
            .hint("choose one with --project NAME")
            .into())
        }
    };
    name::check("project", &project)?;
    let home = layout::home()?;
    let user = config::user_name()?;
    let cl = ClientLayout::from_home(&home);
    let mirror = mirror_dir(&cl, &a.server, &project);
    for kind in ["jobs", "results"] {
        let b = branch(&project, kind);
        if !branches.iter().any(|(n, _)| *n == b) {
            if kind == "jobs" {
                return Err(error::error(format!("{} has no {b}", a.remote)).into());
            }
            // A share of a project whose results repo was empty: an empty one here too.
            let r = git::init(&mirror.join(kind), true)?;
            drop(r);
            continue;
        }
        let dir = mirror.join(kind);
        if !dir.exists() {
            git::init(&dir, true)?;
        }
        git_out(
            &dir,
            &[
                "fetch",
                "-q",
                &a.remote,
                &format!("+refs/heads/{b}:{}", layout::BRANCH_REF),
            ],
        )?;
    }
    let dir = a.dir.clone().unwrap_or_else(|| cwd.join(&project));
    // Never turn someone's own project directory into a shared one.
    let set = |name: &str| {
        std::fs::read_to_string(dir.join(name))
            .ok()
            .map(|t| t.trim().to_string())
    };
    if set(SERVER_FILE).is_some_and(|s| s != a.server)
        || set(PROJNAME_FILE).is_some_and(|p| p != project)
    {
        return Err(error::usage(format!(
            "{} is set up for another server or project: nothing was changed",
            dir.display()
        ))
        .hint("name another directory with --dir")
        .into());
    }
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    std::fs::write(dir.join(SERVER_FILE), format!("{}\n", a.server))?;
    std::fs::write(dir.join(PROJNAME_FILE), format!("{project}\n"))?;
    let key = grunt_core::layout::ProjectKey::new(&a.server, &user, &project);
    let work = cl.work(&key);
    if work.jobs().exists() {
        let jobs = git::open(&work.jobs())?;
        git::sync::pull(&jobs, false)?;
        let results = git::open(&work.results())?;
        crate::context::move_results(&results, |whole| git::sync::pull(&results, whole).map(drop))?;
        ui::out(format!(
            "updated the shared record of {project} from {} in {}",
            a.remote,
            dir.display()
        ))?;
        return Ok(());
    }
    project::create_client(&cl, &key, &mirror.display().to_string())?;
    ui::out(format!(
        "cloned the shared record of {project} from {} into {}: `cd {}` and `grunt jobs`, `show`, `out`, `log`, `diff` (read-only: no server runs it; run this again to update)",
        a.remote,
        dir.display(),
        dir.display()
    ))?;
    Ok(())
}
