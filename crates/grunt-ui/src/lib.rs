//! `grunt ui`: a local web dashboard of a project's jobs: the runs table, job pages, plots of
//! result files and every client action, served on 127.0.0.1 behind a random token. The web
//! stack (axum on tokio) lives only here, so grunt-core and grund stay free of it; the page
//! reads and acts through the grunt CLI itself (see `exec`).

mod api;
mod assets;
mod auth;
mod exec;
mod snapshot;
mod token;
pub mod validate;

use std::net::{Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use axum::routing::{get, post};
use axum::Router;

pub use token::Token;

/// What `grunt ui` was asked for.
#[derive(Debug, Clone)]
pub struct Options {
    /// Port on 127.0.0.1; 0 lets the system choose.
    pub port: u16,
    /// Open the browser on the URL.
    pub open: bool,
    /// Seconds between background pulls of the jobs table.
    pub refresh: u64,
    /// The grunt CLI to run for reads and actions (the running binary).
    pub grunt: PathBuf,
    /// The project directory.
    pub project: PathBuf,
}

/// What every handler shares.
#[derive(Debug, Clone)]
pub struct AppState {
    token: Arc<Token>,
    cli: Arc<exec::Cli>,
    table: Arc<snapshot::Table>,
}

/// The routes, all behind the token.
fn router(st: AppState) -> Router {
    Router::new()
        .route("/", get(assets::page))
        .route("/jobs/{id}", get(assets::page))
        .route("/sweeps", get(assets::page))
        .route("/assets/{name}", get(assets::asset))
        .route("/api/jobs", get(api::jobs))
        .route("/api/refresh", post(api::refresh))
        .route("/api/submit", post(api::submit))
        .route("/api/jobs/{id}", get(api::job))
        .route("/api/jobs/{id}/out", get(api::out))
        .route("/api/jobs/{id}/follow", get(api::follow))
        .route("/api/jobs/{id}/diff", get(api::diff))
        .route("/api/jobs/{id}/files/{*path}", get(api::file))
        .route("/api/jobs/{id}/{action}", post(api::action))
        .layer(axum::middleware::from_fn_with_state(
            st.clone(),
            auth::require_token,
        ))
        .layer(axum::middleware::from_fn(auth::harden))
        .with_state(st)
}

/// Serves until Ctrl-C: prints the URL (with the token) on stdout, opens the browser.
pub fn run(opts: Options) -> anyhow::Result<()> {
    let token = Token::generate()?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    rt.block_on(serve(opts, token))
}

async fn serve(opts: Options, token: Token) -> anyhow::Result<()> {
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, opts.port));
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|e| anyhow::anyhow!("cannot listen on {addr}: {e}"))?;
    let port = listener.local_addr()?.port();
    let st = AppState {
        token: Arc::new(token),
        cli: Arc::new(exec::Cli::new(opts.grunt.clone(), opts.project.clone())),
        table: Arc::new(snapshot::Table::new()),
    };
    tokio::spawn(snapshot::refresher(
        st.cli.clone(),
        st.table.clone(),
        Duration::from_secs(opts.refresh.max(1)),
    ));
    let url = format!("http://127.0.0.1:{port}/?token={}", st.token.as_str());
    {
        use std::io::Write;
        let mut o = std::io::stdout().lock();
        let _ = writeln!(o, "{url}");
        let _ = o.flush();
    }
    eprintln!("grunt ui: serving this project on 127.0.0.1:{port} (Ctrl-C stops it)");
    if opts.open {
        if let Err(e) = open::that_detached(&url) {
            eprintln!("grunt ui: cannot open a browser ({e}); open the URL above");
        }
    }
    // Ctrl-C ends it at once: a followed output would hold a graceful shutdown open until
    // its job ends. Commands under way are killed with their requests (`kill_on_drop`).
    tokio::select! {
        served = axum::serve(listener, router(st)) => served?,
        _ = tokio::signal::ctrl_c() => eprintln!("grunt ui: stopped"),
    }
    Ok(())
}
