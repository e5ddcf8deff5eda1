//! The JSON API under `/api/` that the page itself uses (documented in docs/ui.md): the jobs
//! table, one job, its result files, output and diff, the actions on jobs and submit. Reads
//! and actions run the grunt CLI (see `exec`); ids and paths are checked first (`validate`).

use std::path::{Path, PathBuf};

use axum::body::Bytes;
use axum::extract::{Path as UrlPath, Query, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;

use crate::exec::Outcome;
use crate::{validate, AppState};

/// How long an action waits for grund's answer (`--wait=SECS`) before it answers "pending".
const WAIT_SECS: u64 = 60;

/// Actions on jobs, each the CLI command of the same name.
pub const ACTIONS: [&str; 8] = [
    "status", "results", "cancel", "rerun", "archive", "delete", "nuke", "message",
];

fn bad(status: StatusCode, msg: impl Into<String>) -> Response {
    (
        status,
        Json(serde_json::json!({"ok": false, "error": msg.into()})),
    )
        .into_response()
}

fn outcome(out: Outcome) -> Response {
    let status = if out.ok {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    (status, Json(out)).into_response()
}

/// `GET /api/jobs`: the table as of the last pull, from memory.
pub async fn jobs(State(st): State<AppState>) -> Response {
    let body = st.table.snap.read().await.body.clone();
    (
        [
            (header::CONTENT_TYPE, "application/json"),
            (header::CACHE_CONTROL, "no-store"),
        ],
        body,
    )
        .into_response()
}

/// `POST /api/refresh`: pull now rather than at the next tick.
pub async fn refresh(State(st): State<AppState>) -> Response {
    st.table.wake.notify_one();
    (StatusCode::ACCEPTED, Json(serde_json::json!({"ok": true}))).into_response()
}

/// The job's linked results directory, `gresults/<id>` in the project.
fn results_dir(project: &Path, id: &str) -> PathBuf {
    project.join("gresults").join(id)
}

/// Files under `dir` (relative paths), a bounded walk.
fn list_files(dir: &Path) -> Vec<String> {
    let mut found = Vec::new();
    let Ok(base) = dir.canonicalize() else {
        return found;
    };
    let mut todo = vec![(base.clone(), 0usize)];
    while let Some((d, depth)) = todo.pop() {
        let Ok(rd) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in rd.flatten() {
            if found.len() >= 2000 {
                return found;
            }
            let p = e.path();
            let Ok(ft) = e.file_type() else { continue };
            if ft.is_dir() && depth < 6 {
                todo.push((p, depth + 1));
            } else if ft.is_file() {
                if let Ok(rel) = p.strip_prefix(&base) {
                    found.push(rel.to_string_lossy().into_owned());
                }
            }
        }
    }
    found.sort();
    found
}

/// `GET /api/jobs/ID`: `grunt show ID --json`, with the job's result files.
pub async fn job(State(st): State<AppState>, UrlPath(id): UrlPath<String>) -> Response {
    let id = match validate::job_id(&id) {
        Ok(id) => id.to_string(),
        Err(e) => return bad(StatusCode::BAD_REQUEST, e),
    };
    let out = st
        .cli
        .run(&[
            "show".into(),
            id.clone(),
            "--json".into(),
            "-n".into(),
            "400".into(),
        ])
        .await;
    if !out.ok {
        return (StatusCode::NOT_FOUND, Json(out)).into_response();
    }
    let mut v: serde_json::Value = match serde_json::from_str(&out.stdout) {
        Ok(v) => v,
        Err(e) => return bad(StatusCode::BAD_GATEWAY, format!("grunt show --json: {e}")),
    };
    v["results"] = serde_json::json!(list_files(&results_dir(&st.cli.project, &id)));
    Json(v).into_response()
}

/// `GET /api/jobs/ID/files/PATH`: one result file, as text.
pub async fn file(
    State(st): State<AppState>,
    UrlPath((id, path)): UrlPath<(String, String)>,
) -> Response {
    let id = match validate::job_id(&id) {
        Ok(id) => id.to_string(),
        Err(e) => return bad(StatusCode::BAD_REQUEST, e),
    };
    let full = match validate::file_in(&results_dir(&st.cli.project, &id), &path) {
        Ok(p) => p,
        Err(e) => return bad(StatusCode::BAD_REQUEST, e),
    };
    const MAX: u64 = 64 << 20;
    if std::fs::metadata(&full).map(|m| m.len()).unwrap_or(0) > MAX {
        return bad(StatusCode::PAYLOAD_TOO_LARGE, "result file over 64 MiB");
    }
    match tokio::fs::read(&full).await {
        Ok(data) => ([(header::CONTENT_TYPE, "text/plain; charset=utf-8")], data).into_response(),
        Err(e) => bad(StatusCode::NOT_FOUND, format!("{path}: {e}")),
    }
}

/// `GET /api/jobs/ID/out`: the job's whole output (`grunt out ID`).
pub async fn out(State(st): State<AppState>, UrlPath(id): UrlPath<String>) -> Response {
    let id = match validate::job_id(&id) {
        Ok(id) => id.to_string(),
        Err(e) => return bad(StatusCode::BAD_REQUEST, e),
    };
    outcome(st.cli.run(&["out".into(), id]).await)
}

/// `GET /api/jobs/ID/follow`: `grunt out --follow ID` streamed as it comes (live from the
/// server until the job ends), then what it said on stderr. Not in the one-at-a-time queue: it
/// runs as long as the job; closing the request kills it.
pub async fn follow(State(st): State<AppState>, UrlPath(id): UrlPath<String>) -> Response {
    use tokio::io::AsyncReadExt;
    let id = match validate::job_id(&id) {
        Ok(id) => id.to_string(),
        Err(e) => return bad(StatusCode::BAD_REQUEST, e),
    };
    let child = tokio::process::Command::new(&st.cli.program)
        .args(["--color=never", "out", "--follow", &id])
        .current_dir(&st.cli.project)
        .env("NO_COLOR", "1")
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn();
    let mut child = match child {
        Ok(c) => c,
        Err(e) => return bad(StatusCode::INTERNAL_SERVER_ERROR, format!("grunt out: {e}")),
    };
    let (Some(out), Some(err)) = (child.stdout.take(), child.stderr.take()) else {
        return bad(StatusCode::INTERNAL_SERVER_ERROR, "grunt out: no pipes");
    };
    // Stdout chunk by chunk, then stderr whole; the child goes (killed) with the stream.
    let stream = futures_util::stream::unfold(
        (child, Some(out), Some(err)),
        |(child, mut out, mut err)| async move {
            let mut buf = vec![0u8; 16 << 10];
            if let Some(o) = out.as_mut() {
                match o.read(&mut buf).await {
                    Ok(n) if n > 0 => {
                        buf.truncate(n);
                        return Some((
                            Ok::<_, std::io::Error>(Bytes::from(buf)),
                            (child, out, err),
                        ));
                    }
                    _ => out = None,
                }
            }
            let mut rest = Vec::new();
            err.take()?.read_to_end(&mut rest).await.ok()?;
            Some((Ok(Bytes::from(rest)), (child, out, err)))
        },
    );
    (
        [
            (header::CONTENT_TYPE, "text/plain; charset=utf-8"),
            (header::CACHE_CONTROL, "no-store"),
        ],
        axum::body::Body::from_stream(stream),
    )
        .into_response()
}

#[derive(Debug, Deserialize)]
pub struct DiffQuery {
    against: Option<String>,
}

/// `GET /api/jobs/ID/diff[?against=ID2]`: `grunt diff ID [ID2]`, against the project
/// directory or another job.
pub async fn diff(
    State(st): State<AppState>,
    UrlPath(id): UrlPath<String>,
    Query(q): Query<DiffQuery>,
) -> Response {
    let mut args = vec!["diff".to_string()];
    for one in std::iter::once(id.as_str()).chain(q.against.as_deref().filter(|a| !a.is_empty())) {
        match validate::job_id(one) {
            Ok(j) => args.push(j.to_string()),
            Err(e) => return bad(StatusCode::BAD_REQUEST, e),
        }
    }
    outcome(st.cli.run(&args).await)
}

#[derive(Debug, Default, Deserialize)]
pub struct ActionBody {
    /// The new message (`message`).
    message: Option<String>,
    /// `nuke` must be confirmed.
    #[serde(default)]
    confirm: bool,
}

/// `POST /api/jobs/IDS/ACTION`: the CLI's command for these jobs (a comma list), waiting for
/// grund's answer as `--wait` does.
pub async fn action(
    State(st): State<AppState>,
    UrlPath((ids, action)): UrlPath<(String, String)>,
    body: Bytes,
) -> Response {
    let ids = match validate::job_ids(&ids) {
        Ok(v) => v.iter().map(|j| j.to_string()).collect::<Vec<_>>(),
        Err(e) => return bad(StatusCode::BAD_REQUEST, e),
    };
    if !ACTIONS.contains(&action.as_str()) {
        return bad(
            StatusCode::NOT_FOUND,
            format!("no action {action:?}; actions: {}", ACTIONS.join(", ")),
        );
    }
    let b: ActionBody = if body.iter().all(u8::is_ascii_whitespace) {
        ActionBody::default()
    } else {
        match serde_json::from_slice(&body) {
            Ok(b) => b,
            Err(e) => return bad(StatusCode::BAD_REQUEST, format!("body: {e}")),
        }
    };
    let mut args = vec![action.clone()];
    match action.as_str() {
        "message" => {
            let [id] = ids.as_slice() else {
                return bad(StatusCode::BAD_REQUEST, "message takes one job");
            };
            let Some(m) = b.message.filter(|m| !m.trim().is_empty()) else {
                return bad(
                    StatusCode::BAD_REQUEST,
                    "message needs {\"message\": \"…\"}",
                );
            };
            args.extend([id.clone(), m]);
        }
        "nuke" if !b.confirm => {
            return bad(
                StatusCode::BAD_REQUEST,
                "nuke removes jobs and results for good: send {\"confirm\": true}",
            );
        }
        _ => {
            args.push(ids.join(","));
            if action == "nuke" {
                args.push("--yes".into());
            }
            args.push(format!("--wait={WAIT_SECS}"));
        }
    }
    let out = st.cli.run(&args).await;
    st.table.wake.notify_one();
    outcome(out)
}

#[derive(Debug, Deserialize)]
pub struct SubmitBody {
    #[serde(default)]
    args: Vec<String>,
    message: String,
    profile: Option<String>,
}

/// `POST /api/submit`: `grunt submit [--profile P] --json -- ARGS -m MSG`.
pub async fn submit(State(st): State<AppState>, body: Bytes) -> Response {
    let b: SubmitBody = match serde_json::from_slice(&body) {
        Ok(b) => b,
        Err(e) => return bad(StatusCode::BAD_REQUEST, format!("body: {e}")),
    };
    if b.message.trim().is_empty() {
        return bad(
            StatusCode::BAD_REQUEST,
            "submit needs a message: why the job exists",
        );
    }
    // After `--`, `-m` still ends the job's arguments (the CLI's grammar): refuse it as one.
    if let Some(a) = b
        .args
        .iter()
        .find(|a| *a == "-m" || a.starts_with("--message") || a.contains('\n'))
    {
        return bad(
            StatusCode::BAD_REQUEST,
            format!("{a:?} cannot be a job argument here"),
        );
    }
    let mut args = vec!["submit".to_string(), "--json".into()];
    if let Some(p) = b.profile.filter(|p| !p.trim().is_empty()) {
        if p.starts_with('-') {
            return bad(
                StatusCode::BAD_REQUEST,
                format!("{p:?} is not a profile name"),
            );
        }
        args.extend(["--profile".into(), p]);
    }
    args.push("--".into());
    args.extend(b.args);
    args.extend(["-m".into(), b.message]);
    let out = st.cli.run(&args).await;
    st.table.wake.notify_one();
    outcome(out)
}
