//! `job.key`: what a job is, as one hash of its project files (the git tree of the files the
//! job copies), its arguments and its profile. `grunt submit` refuses a job whose key an
//! existing job (in `active/` or `archive/`) already has, unless `--force`; `rerun` is
//! deliberate and keeps the key. Jobs submitted before keys existed have none and never match.

use std::collections::HashMap;

use git2::{ObjectType, Oid, Repository, Tree};

use crate::git::tree;
use crate::jobfile;
use crate::jobid::JobId;
use crate::layout::Location;

/// Version of the key's recipe, part of what is hashed (a new recipe never matches old keys).
const RECIPE: &str = "grunt-job-key 1";

/// The key of a job with project files `files` (a tree id), arguments and profile.
pub fn compute(files: Oid, args: &[String], profile: Option<&str>) -> String {
    let mut text = format!(
        "{RECIPE}\nfiles {files}\nprofile {}\n",
        profile.unwrap_or("")
    );
    for a in args {
        text.push_str("arg ");
        text.push_str(a);
        text.push('\n');
    }
    // git's own hash: no new dependency, and stable across versions.
    Oid::hash_object(ObjectType::Blob, text.as_bytes())
        .map(|o| o.to_string())
        .unwrap_or_default()
}

/// Every key in `root` (a jobs tree) of a job in `active/` or `archive/`, with its job.
/// Deleted jobs do not count: deleting one says it should not stand in the way.
pub fn keys_in(repo: &Repository, root: &Tree<'_>) -> HashMap<String, JobId> {
    let mut out = HashMap::new();
    for loc in [Location::Active, Location::Archive] {
        let Some(dir) = tree::subtree(repo, root, loc.dir()) else {
            continue;
        };
        for entry in dir.iter() {
            let Some(id) = entry.name().ok().and_then(|n| n.parse::<JobId>().ok()) else {
                continue;
            };
            let Ok(job) = repo.find_tree(entry.id()) else {
                continue;
            };
            for sub in job.iter().filter(|e| e.kind() == Some(ObjectType::Tree)) {
                let Ok(proj) = repo.find_tree(sub.id()) else {
                    continue;
                };
                let Some(key) = proj
                    .get_name(jobfile::KEY)
                    .and_then(|e| repo.find_blob(e.id()).ok())
                    .map(|b| String::from_utf8_lossy(b.content()).trim().to_string())
                else {
                    continue;
                };
                if !key.is_empty() {
                    out.entry(key).or_insert_with(|| id.clone());
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn args_and_profile_change_the_key() {
        let t = Oid::ZERO_SHA1;
        let a = compute(t, &["1".into()], None);
        assert_eq!(a, compute(t, &["1".into()], None));
        assert_ne!(a, compute(t, &["2".into()], None));
        assert_ne!(a, compute(t, &["1".into()], Some("gpu")));
        // One argument "a b" is not two arguments.
        assert_ne!(
            compute(t, &["a b".into()], None),
            compute(t, &["a".into(), "b".into()], None)
        );
        assert_eq!(a.len(), 40);
    }
}
