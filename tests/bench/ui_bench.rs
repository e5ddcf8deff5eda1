//! `grunt ui` at scale: a project with 10,000 jobs (argument: another count), then
//! - `GET /api/jobs` (target ≤ 200 ms), against a floor: `GET` of a tiny embedded asset;
//! - the table drawn in headless Chromium with every job (target ≤ 1 s), against a floor:
//!   the same table drawn with no row (filtered out).
//!
//! Prints medians and ratios. Run with `cargo run --release -p grunt-tests --bin ui-bench`.

#![allow(clippy::unwrap_used)] // a bench: failing loudly is fine

use std::time::{Duration, Instant};

use grunt_tests::ui::{chromium, fill_jobs, Browser, UiServer};
use grunt_tests::{local_runner_text, World};

fn main() {
    let n: u64 = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(10_000);
    let w = World::new(&local_runner_text(), "[run]\ncommand = \"sh sim.sh\"\n");
    let t = Instant::now();
    fill_jobs(&w, n);
    println!(
        "built a jobs repo with {n} jobs in {:.1} s",
        t.elapsed().as_secs_f64()
    );

    let t = Instant::now();
    let r = w.grunt(&["jobs", "active", "done", "archive", "delete", "--json"]);
    assert!(r.ok, "{}", r.stderr);
    println!(
        "grunt jobs --json at {n} jobs (what the background refresh runs; first pull included): {}",
        ms(t.elapsed())
    );

    // A long refresh period: the figures are for answering from the snapshot.
    let ui = UiServer::start(&w.client, &w.project, &["--refresh", "3600"]);
    let t = Instant::now();
    ui.wait_jobs(300, "the first snapshot", |j| j.len() as u64 == n);
    println!("first snapshot in grunt ui: {}", ms(t.elapsed()));

    let floor = median(31, || {
        assert_eq!(ui.get("/assets/uPlot.LICENSE").0, 200);
    });
    let mut size = 0;
    let api = median(31, || {
        let (code, body) = ui.get("/api/jobs");
        assert_eq!(code, 200);
        size = body.len();
    });
    println!(
        "GET /api/jobs at {n} jobs ({} KiB): median {} = {:.1}x the floor (GET of a tiny asset: {}); target <= 200 ms: {}",
        size / 1024,
        ms(api),
        ratio(api, floor),
        ms(floor),
        if api <= Duration::from_millis(200) { "met" } else { "MISSED" }
    );

    let Some((chrome, driver)) = chromium() else {
        println!("no chromium/chromedriver: table render not measured");
        return;
    };
    let b = Browser::start(&chrome, &driver, 1280, 900);
    let t = Instant::now();
    b.block(b.client.goto(&ui.url())).unwrap();
    b.wait_js(
        120,
        "the full table",
        &format!("return window.gruntDraw && window.gruntDraw.rows === {n}"),
    );
    let first = b.eval("return window.gruntDraw.at");
    println!(
        "page load to a drawn table of {n} rows: {:.0} ms in the page ({} as the driver sees it)",
        first.as_f64().unwrap_or(-1.0),
        ms(t.elapsed())
    );
    // Redraws: with every row, and with none (the floor), by the filter the page has.
    let draw = |filter: &str| -> f64 {
        b.eval(&format!(
            "const f = document.getElementById('filter'); f.value = '{filter}'; \
             f.dispatchEvent(new Event('input')); return window.gruntDraw.ms"
        ))
        .as_f64()
        .unwrap_or(f64::NAN)
    };
    let mut full = Vec::new();
    let mut empty = Vec::new();
    for _ in 0..7 {
        empty.push(draw("no-such-job-anywhere"));
        full.push(draw(""));
    }
    let (full, empty) = (med(full), med(empty));
    println!(
        "table draw of {n} rows (build, insert, layout): median {full:.0} ms = {:.1}x the floor (no row: {empty:.1} ms); target <= 1000 ms: {}",
        full / empty.max(0.1),
        if full <= 1000.0 { "met" } else { "MISSED" }
    );
}

fn median(runs: usize, mut f: impl FnMut()) -> Duration {
    let mut v: Vec<Duration> = (0..runs)
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed()
        })
        .collect();
    v.sort();
    v[runs / 2]
}

fn med(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

fn ratio(a: Duration, b: Duration) -> f64 {
    a.as_secs_f64() / b.as_secs_f64().max(1e-9)
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1000.0)
}
