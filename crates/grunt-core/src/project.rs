//! Creating a project: the bare repos and working copies on the server, and the client's
//! clones. Both sides start with `active/`, `archive/` and `delete/` holding a `placeholder`,
//! committed as `Initial commit for <project> project`, as the original does.

use std::fs;
use std::path::Path;

use git2::Repository;

use crate::git::{
    self, refs,
    remote::{set_ref, Remote, TRACKING_REF},
    tree,
};
use crate::layout::{
    ClientLayout, Location, ProjectDirs, ProjectKey, ServerLayout, BRANCH_REF, PLACEHOLDER,
};
use crate::name;
use crate::{Error, Result};

/// Creates `bb/<server>/<user>/<project>/{jobs,results}` (bare, with the first commit) and the
/// working copies under `wc/`, where grund runs jobs.
pub fn create_server(layout: &ServerLayout, key: &ProjectKey) -> Result<ProjectDirs> {
    check_names(key)?;
    let ProjectKey { user, project, .. } = key;
    let bare = layout.bare(key);
    let work = layout.work(key);
    if bare.jobs().exists() {
        return Err(Error::ProjectExists {
            project: project.to_string(),
            path: bare.base,
        });
    }
    let made = (|| {
        for (b, w) in [(bare.jobs(), work.jobs()), (bare.results(), work.results())] {
            let repo = git::init(&b, true)?;
            let head = initial_commit(&repo, user, project)?;
            link_working_copy(&w, &b, head)?;
        }
        Ok(())
    })();
    if made.is_err() {
        let _ = fs::remove_dir_all(&bare.base);
    }
    made.map(|()| bare)
}

/// Commits a project's first commit, `Initial commit for <project> project`, with `active/`,
/// `archive/` and `delete/` each holding a `placeholder`, on `master` of an empty `repo`.
/// Returns it (`None` when the branch already had these files).
pub fn initial_commit(repo: &Repository, user: &str, project: &str) -> Result<Option<git2::Oid>> {
    let sig = git::signature(repo, user)?;
    let msg = format!("Initial commit for {project} project");
    refs::commit_edits(repo, &sig, &msg, 1, |r, _| {
        Location::ALL
            .iter()
            .map(|l| {
                tree::put_bytes(
                    r,
                    &format!("{}/{PLACEHOLDER}", l.dir()),
                    PLACEHOLDER.as_bytes(),
                    false,
                )
            })
            .collect()
    })
}

/// A server working copy that shares the bare repo's objects (no copy of the history) and
/// knows its tip; jobs are written into its directory as grund needs them.
fn link_working_copy(wc: &Path, bare: &Path, head: Option<git2::Oid>) -> Result<()> {
    let repo = match git::open(wc) {
        Ok(r) => r,
        Err(_) => git::init(wc, false)?,
    };
    if repo.find_remote("origin").is_err() {
        repo.remote("origin", &bare.display().to_string())
            .map_err(Error::git("adding origin", wc))?;
    }
    let alt = repo.path().join("objects/info/alternates");
    let objects = bare.join("objects");
    crate::fsutil::atomic_write(&alt, format!("{}\n", objects.display()).as_bytes())?;
    if let Some(h) = head {
        // Reopen: the alternates are read when the object database is opened.
        let repo = git::open(wc)?;
        set_ref(&repo, TRACKING_REF, h)?;
        set_ref(&repo, BRANCH_REF, h)?;
    }
    Ok(())
}

/// Creates the client's clones of a project whose bare repos are at `remote_base`
/// (`<…>/bb/<server>/<server user>/<project>`, a path or an ssh URL prefix).
pub fn create_client(
    layout: &ClientLayout,
    key: &ProjectKey,
    remote_base: &str,
) -> Result<ProjectDirs> {
    check_names(key)?;
    let project = &key.project;
    let work = layout.work(key);
    if work.jobs().exists() {
        return Err(Error::ProjectExists {
            project: project.to_string(),
            path: work.base,
        });
    }
    let made = (|| {
        for (dir, kind, checkout) in [
            (work.jobs(), "jobs", false),
            (work.results(), "results", true),
        ] {
            let url = format!("{remote_base}/{kind}");
            let repo = git::init(&dir, false)?;
            repo.remote("origin", &url)
                .map_err(Error::git("adding origin", &dir))?;
            if git::sync::pull(&repo, checkout)?.is_none() {
                return Err(Error::Remote {
                    remote: url,
                    message: "the server repo has no commits: was it created with `grunt newproj` on the server?".into(),
                });
            }
        }
        Ok(())
    })();
    if made.is_err() {
        let _ = fs::remove_dir_all(&work.base);
    }
    made.map(|()| work)
}

fn check_names(
    ProjectKey {
        server,
        user,
        project,
    }: &ProjectKey,
) -> Result<()> {
    name::check("server", server)?;
    name::check("user", user)?;
    name::check("project", project)?;
    Ok(())
}

/// The URL of a remote's repos as the original writes it: `<user>@<host>:gruntsrv/bb/…`, or a
/// path under a local server home.
pub fn remote_base(remote: &Remote, server: &str, server_user: &str, project: &str) -> String {
    let rel = format!(
        "{}/bb/{server}/{server_user}/{project}",
        crate::layout::SERVER_ROOT
    );
    match remote {
        Remote::Local(home) => home.join(rel).display().to_string(),
        Remote::Url(host) => format!("{host}:{rel}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_then_client() {
        let d = tempfile::tempdir().unwrap();
        let srv_home = d.path().join("srv");
        let cli_home = d.path().join("cli");
        let s = ServerLayout::from_home(&srv_home);
        let key = ProjectKey::new("clust", "ore", "sim");
        create_server(&s, &key).unwrap();
        assert!(matches!(
            create_server(&s, &key),
            Err(Error::ProjectExists { .. })
        ));
        assert!(create_server(&s, &ProjectKey::new("clust", "ore", "../x")).is_err());
        // The working copy sees the history through the shared objects.
        let wc = git::open(&s.work(&key).jobs()).unwrap();
        let head = git::head(&wc).unwrap().unwrap();
        assert_eq!(
            wc.find_commit(head).unwrap().message().ok(),
            Some("Initial commit for sim project")
        );

        let c = ClientLayout::from_home(&cli_home);
        let base = remote_base(&Remote::Local(srv_home.clone()), "clust", "ore", "sim");
        let w = create_client(&c, &key, &base).unwrap();
        let res = git::open(&w.results()).unwrap();
        assert!(git::head(&res).unwrap().is_some());
        assert!(
            w.results().join("active/placeholder").is_file(),
            "results are checked out"
        );
        // A missing server project leaves nothing behind.
        let bad = remote_base(&Remote::Local(srv_home), "clust", "ore", "nope");
        let nope = ProjectKey::new("clust", "ore", "nope");
        assert!(create_client(&c, &nope, &bad).is_err());
        assert!(!c.work(&nope).base.exists());
    }
}
