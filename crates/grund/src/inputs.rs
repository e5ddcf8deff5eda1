//! Data provenance: the paths `[inputs] paths = [...]` of a job's `grunt.toml` names (files or
//! directories on the server, absolute or relative to the home directory, `~/` allowed) are
//! content-hashed when the job is submitted and recorded in `job.inputs` (see
//! `grunt_core::provenance`): a file by its sha256, a directory as a tree hash (the sha256 of
//! its files' `<sha256> <size> <path>` lines, sorted; links are hashed as their target, never
//! followed). Each file is hashed once while unchanged: hashes are cached by path, size and
//! mtime in `~/gruntsrv/grund-inputs.cache`. A path that does not exist is recorded as missing
//! and logged, not an error.

use std::collections::BTreeMap;
use std::io::Read;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use grunt_core::config::ProjectConfig;
use grunt_core::provenance::{self, InputKind, InputRecord};
use grunt_core::{fsutil, jobfile, Error, Result};
use sha2::{Digest, Sha256};

/// The cache file, in `~/gruntsrv`.
pub const CACHE_FILE: &str = "grund-inputs.cache";
/// At most this many files are hashed below one input directory.
const MAX_FILES: usize = 1_000_000;

/// Locked while the cache is read, extended and written back: projects are processed side by
/// side. A file lock, not a static mutex, so it belongs to one `~/gruntsrv` (grunds run
/// in-process in tests share no state).
pub const CACHE_LOCK_FILE: &str = "grund-inputs.cache.lock";

/// Takes the cache's lock; `None` (logged) when it cannot be had: the cache is then read and
/// written without it, which at worst loses an entry (it is written atomically).
fn lock_cache(root: &Path) -> Option<std::fs::File> {
    let path = root.join(CACHE_LOCK_FILE);
    let f = std::fs::File::options()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .and_then(|f| f.lock().map(|()| f));
    f.map_err(|e| log::warn!("inputs cache: locking {}: {e}", path.display()))
        .ok()
}

/// `[inputs] paths` of a job's configuration.
pub fn paths(cfg: &ProjectConfig) -> Vec<String> {
    cfg.raw
        .get("inputs")
        .and_then(|t| t.get("paths"))
        .and_then(|p| p.as_array())
        .map(|a| {
            a.iter()
                .filter_map(|v| v.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

/// Writes `job.inputs` into the job directory `dir` (once: a replay keeps the first record),
/// if its `grunt.toml` names inputs.
pub fn record(root: &Path, project: &str, dir: &Path) -> Result<()> {
    let target = dir.join(jobfile::INPUTS);
    if target.exists() {
        return Ok(());
    }
    let cfg = ProjectConfig::load(dir)?;
    let wanted = paths(&cfg);
    if wanted.is_empty() {
        return Ok(());
    }
    let home = root.parent().unwrap_or(root).to_path_buf();
    let _guard = lock_cache(root);
    let cache_path = root.join(CACHE_FILE);
    let mut cache = Cache::load(&cache_path);
    let mut out = Vec::new();
    for p in &wanted {
        let abs = resolve(&home, p);
        let rec = match hash_path(&abs, &mut cache) {
            Ok(Some((kind, size, sha256))) => InputRecord {
                path: p.clone(),
                kind,
                size,
                sha256,
            },
            Ok(None) => {
                log::warn!(
                    "{project}: input {p:?} ({}) does not exist; recorded as missing",
                    abs.display()
                );
                InputRecord {
                    path: p.clone(),
                    kind: InputKind::Missing,
                    size: 0,
                    sha256: String::new(),
                }
            }
            Err(e) => {
                log::warn!("{project}: input {p:?}: {e}; recorded as missing");
                InputRecord {
                    path: p.clone(),
                    kind: InputKind::Missing,
                    size: 0,
                    sha256: String::new(),
                }
            }
        };
        out.push(rec);
    }
    if cache.changed {
        if let Err(e) = cache.save(&cache_path) {
            log::warn!("inputs cache: {e}");
        }
    }
    crate::workdir::write_file(
        dir,
        jobfile::INPUTS,
        provenance::render_inputs(&out).as_bytes(),
        0o100644,
    )
}

fn resolve(home: &Path, p: &str) -> PathBuf {
    match p.strip_prefix("~/") {
        Some(rest) => home.join(rest),
        None => home.join(p),
    }
}

/// sha256 by (path, size, mtime in ns).
#[derive(Debug, Default)]
struct Cache {
    map: BTreeMap<(String, u64, i128), String>,
    changed: bool,
}

impl Cache {
    /// Lines `<sha256> <size> <mtime_ns> <path>`; an unreadable cache is an empty one.
    fn load(path: &Path) -> Cache {
        let text = fsutil::read_regular(path).unwrap_or_default();
        let mut c = Cache::default();
        for l in String::from_utf8_lossy(&text).lines() {
            let mut p = l.splitn(4, ' ');
            if let (Some(sha), Some(size), Some(mtime), Some(path)) =
                (p.next(), p.next(), p.next(), p.next())
            {
                if let (Ok(size), Ok(mtime)) = (size.parse(), mtime.parse()) {
                    c.map
                        .insert((path.to_string(), size, mtime), sha.to_string());
                }
            }
        }
        c
    }

    fn save(&self, path: &Path) -> Result<()> {
        let mut s = String::new();
        for ((p, size, mtime), sha) in &self.map {
            s.push_str(&format!("{sha} {size} {mtime} {p}\n"));
        }
        fsutil::atomic_write(path, s.as_bytes())
    }
}

fn mtime_ns(m: &std::fs::Metadata) -> i128 {
    i128::from(m.mtime()) * 1_000_000_000 + i128::from(m.mtime_nsec())
}

/// A regular file's sha256, from the cache when its size and mtime are unchanged.
fn file_hash(path: &Path, meta: &std::fs::Metadata, cache: &mut Cache) -> Result<String> {
    let key = (
        path.to_string_lossy().into_owned(),
        meta.len(),
        mtime_ns(meta),
    );
    if let Some(h) = cache.map.get(&key) {
        return Ok(h.clone());
    }
    let mut f = fsutil::open_regular(path).map_err(Error::io("reading", path))?;
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = f.read(&mut buf).map_err(Error::io("reading", path))?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
    }
    let hex = hex(&h.finalize());
    // Entries of an older version of the file go.
    cache.map.retain(|(p, _, _), _| *p != key.0);
    cache.map.insert(key, hex.clone());
    cache.changed = true;
    Ok(hex)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// `(kind, size, sha256)` of a path; `None` when it does not exist.
fn hash_path(path: &Path, cache: &mut Cache) -> Result<Option<(InputKind, u64, String)>> {
    let meta = match std::fs::metadata(path) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(Error::io("reading", path)(e)),
    };
    if meta.is_file() {
        return Ok(Some((
            InputKind::File,
            meta.len(),
            file_hash(path, &meta, cache)?,
        )));
    }
    if !meta.is_dir() {
        return Err(Error::io("reading", path)(std::io::Error::other(
            "neither a file nor a directory",
        )));
    }
    // Every file below, by relative path; links by their target.
    let mut lines: Vec<(String, String, u64)> = Vec::new();
    let mut stack = vec![path.to_path_buf()];
    while let Some(d) = stack.pop() {
        for ent in std::fs::read_dir(&d).map_err(Error::io("listing", &d))? {
            let ent = ent.map_err(Error::io("listing", &d))?;
            let p = ent.path();
            let rel = p
                .strip_prefix(path)
                .map(|r| r.to_string_lossy().into_owned())
                .unwrap_or_default();
            let m = std::fs::symlink_metadata(&p).map_err(Error::io("reading", &p))?;
            if m.file_type().is_symlink() {
                let t = std::fs::read_link(&p).map_err(Error::io("reading link", &p))?;
                let h = hex(&Sha256::digest(t.to_string_lossy().as_bytes()));
                lines.push((rel, h, 0));
            } else if m.is_dir() {
                stack.push(p);
            } else if m.is_file() {
                lines.push((rel, file_hash(&p, &m, cache)?, m.len()));
            }
            if lines.len() > MAX_FILES {
                return Err(Error::io("hashing", path)(std::io::Error::other(format!(
                    "more than {MAX_FILES} files"
                ))));
            }
        }
    }
    lines.sort();
    let mut h = Sha256::new();
    let mut size = 0;
    for (rel, sha, len) in &lines {
        h.update(format!("{sha} {len} {rel}\n").as_bytes());
        size += len;
    }
    Ok(Some((InputKind::Dir, size, hex(&h.finalize()))))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_files_and_trees_and_uses_the_cache() {
        let d = tempfile::tempdir().unwrap();
        let data = d.path().join("data");
        std::fs::create_dir_all(data.join("sub")).unwrap();
        std::fs::write(data.join("a.csv"), "abc").unwrap();
        std::fs::write(data.join("sub/b.csv"), "x").unwrap();
        let mut c = Cache::default();
        let (k, size, sha) = hash_path(&data.join("a.csv"), &mut c).unwrap().unwrap();
        assert_eq!(k, InputKind::File);
        assert_eq!(size, 3);
        assert_eq!(
            sha,
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        let (k, size, tree1) = hash_path(&data, &mut c).unwrap().unwrap();
        assert_eq!((k, size), (InputKind::Dir, 4));
        std::fs::write(data.join("sub/b.csv"), "y").unwrap();
        let (_, _, tree2) = hash_path(&data, &mut c).unwrap().unwrap();
        assert_ne!(tree1, tree2);
        assert!(hash_path(&d.path().join("nope"), &mut c).unwrap().is_none());
        // A cached hash is used while size and mtime are unchanged.
        let m = std::fs::metadata(data.join("a.csv")).unwrap();
        let key = (
            data.join("a.csv").to_string_lossy().into_owned(),
            m.len(),
            mtime_ns(&m),
        );
        c.map.insert(key, "cached".into());
        assert_eq!(
            file_hash(&data.join("a.csv"), &m, &mut c).unwrap(),
            "cached"
        );
    }
}
