//! `grunt ui`: its JSON API (the token, id and path checks) with a real `grunt ui` process, and
//! the page in headless Chromium (WebDriver): the runs table, a job page with its plot, and an
//! action answered by a real grund. Set `GRUNT_UI_SCREENSHOTS=DIR` to keep screenshots.

use std::path::Path;

use grunt_tests::ui::{browser_or_skip, fill_jobs, http, Browser, UiServer};
use grunt_tests::{local_runner_text, wait_until, World};

const TOML: &str = "[run]\ncommand = \"sh sim.sh\"\nresults = [\"*.csv\"]\n";

/// A sim.sh whose out.csv has a curve worth plotting: 40 epochs of a loss scaled by $1.
const SIM: &str = "if [ \"$1\" = fail ]; then echo 'loss diverged at epoch 3' >&2; exit 3; fi\n\
echo \"epoch,loss,acc\" > out.csv\n\
i=1; while [ $i -le 40 ]; do\n\
  awk -v i=$i -v s=\"$1\" 'BEGIN { printf \"%d,%.4f,%.4f\\n\", i, s*exp(-i/12)+0.05*sin(i), 1-exp(-i/(10*s)) }' >> out.csv\n\
  i=$((i+1)); done\n\
echo \"ran with: $*\"\n";

#[test]
fn api_refuses_requests_without_the_token() {
    let w = World::new(&local_runner_text(), TOML);
    // The port asked for (a free one), on 127.0.0.1.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .unwrap()
        .port();
    let ui = UiServer::start(
        &w.client,
        &w.project,
        &["--refresh", "1", "--port", &port.to_string()],
    );
    assert_eq!(ui.base, format!("http://127.0.0.1:{port}"));
    for path in [
        "/",
        "/api/jobs",
        "/jobs/ore000001",
        "/assets/app.js",
        "/sweeps",
    ] {
        let url = format!("{}{path}", ui.base);
        let (code, body) = http(ureq::get(&url), None);
        assert_eq!(code, 401, "{path} without a token: {body}");
        let (code, _) = http(ureq::get(&url).set("Authorization", "Bearer nope"), None);
        assert_eq!(code, 401, "{path} with a wrong bearer token");
        let wrong = format!("{}{path}?token={}0", ui.base, ui.token);
        assert_eq!(
            http(ureq::get(&wrong), None).0,
            401,
            "{path} with a wrong ?token="
        );
        let (code, _) = http(ureq::get(&url).set("Cookie", "grunt_ui=nope"), None);
        assert_eq!(code, 401, "{path} with a wrong cookie");
    }
    let (code, _) = http(
        ureq::post(&format!("{}/api/jobs/ore000001/cancel", ui.base)),
        Some("{}"),
    );
    assert_eq!(code, 401, "an action without the token");

    // ?token= works and sets the cookie, which then works alone.
    let r = ureq::get(&ui.url()).call().expect("page with ?token=");
    let cookie = r.header("set-cookie").unwrap_or_default().to_string();
    assert!(
        cookie.starts_with(&format!("grunt_ui={};", ui.token)) && cookie.contains("HttpOnly"),
        "{cookie}"
    );
    let csp = r.header("content-security-policy").unwrap_or_default();
    assert!(csp.contains("default-src 'self'"), "{csp}");
    assert_eq!(r.header("referrer-policy"), Some("no-referrer"));
    assert!(r.into_string().unwrap().contains("/assets/app.js"));
    let (code, _) = http(
        ureq::get(&format!("{}/api/jobs", ui.base))
            .set("Cookie", &format!("other=1; grunt_ui={}", ui.token)),
        None,
    );
    assert_eq!(code, 200, "the cookie the page set");
    let (code, body) = ui.get("/api/jobs");
    assert_eq!(code, 200);
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert!(v["jobs"].is_array(), "{body}");
    for asset in ["app.js", "app.css", "uPlot.iife.min.js", "uPlot.min.css"] {
        assert_eq!(
            ui.get(&format!("/assets/{asset}")).0,
            200,
            "{asset} is embedded"
        );
    }
    // Ctrl-C stops it, cleanly.
    let mut ui = ui;
    let st = ui.interrupt(30).expect("grunt ui stops on Ctrl-C");
    assert!(st.success(), "{st:?}");
}

#[test]
fn api_checks_ids_and_paths_as_the_cli_does() {
    let w = World::new(&local_runner_text(), TOML);
    std::fs::write(w.project.join("secret.csv"), "a,b\n").unwrap();
    let ui = UiServer::start(&w.client, &w.project, &["--refresh", "1"]);
    for path in [
        "/api/jobs/..%2F..%2Fetc",
        "/api/jobs/ore000001%3Bls",
        "/api/jobs/-rf",
        "/api/jobs/ore000001,ore000002",
        "/api/jobs/ore000001/files/..%2F..%2Fsecret.csv",
        "/api/jobs/ore000001/files/%2Fetc%2Fpasswd",
        "/api/jobs/ore000001/diff?against=..%2Fx",
    ] {
        let (code, body) = ui.get(path);
        assert_eq!(code, 400, "GET {path}: {body}");
    }
    for (path, json) in [
        ("/api/jobs/-rf/status", "{}"),
        ("/api/jobs/ore000001;ls/cancel", "{}"),
        ("/api/jobs/ore000001,..%2Fx/archive", "{}"),
        ("/api/jobs/ore000001/nuke", "{}"),
        ("/api/jobs/ore000001/message", "{}"),
        (
            "/api/jobs/ore000001,ore000002/message",
            r#"{"message":"x"}"#,
        ),
        ("/api/jobs/ore000001/status", "not json"),
        ("/api/submit", r#"{"args":["-m","x"],"message":"m"}"#),
        ("/api/submit", r#"{"args":[],"message":"  "}"#),
        (
            "/api/submit",
            r#"{"args":[],"message":"m","profile":"--dry-run"}"#,
        ),
    ] {
        let (code, body) = ui.post(path, json);
        assert_eq!(code, 400, "POST {path} {json}: {body}");
    }
    let (code, body) = ui.post("/api/jobs/ore000001/frobnicate", "{}");
    assert_eq!(code, 404, "unknown action: {body}");
    // Well-formed, but no such job: the CLI's own refusal, passed on.
    let (code, body) = ui.post("/api/jobs/ore000042/cancel", "{}");
    assert_eq!(code, 422, "{body}");
    assert!(body.contains("ore000042"), "{body}");
    // Nothing was pushed for any of it: the server has no job and no command.
    assert!(
        !World::paths_in(&w.bare_jobs())
            .iter()
            .any(|p| p.contains("grcmd") || p.contains("ore0000")),
        "{:?}",
        World::paths_in(&w.bare_jobs())
    );
}

#[test]
fn browser_shows_the_table_a_job_page_a_plot_and_an_action_answered_by_grund() {
    let w = World::new(&local_runner_text(), TOML);
    std::fs::write(w.project.join("sim.sh"), SIM).unwrap();
    let _d = w.spawn_grund(&["--poll", "2"]);
    w.grunt(&["submit", "--wait=30", "1.0", "-m", "baseline lr"])
        .success();
    w.grunt(&["submit", "--wait=30", "0.5", "-m", "half the rate"])
        .success();
    w.grunt(&["submit", "--wait=30", "fail", "-m", "too high a rate"])
        .success();
    wait_until(60, "the jobs ended", || {
        w.grunt(&["status", "--wait=20"]).success();
        w.jobs_json()
            .iter()
            .all(|j| j["state"] != "Running" && j["state"] != "Pending")
    });
    w.grunt(&["results", "--wait=30", "ore000001,ore000002"])
        .success();
    assert!(w.project.join("gresults/ore000002/out.csv").is_file());

    let ui = UiServer::start(&w.client, &w.project, &["--refresh", "1"]);

    // The API the page reads: one job (show --json and its result files), a result file,
    // the output and the code diff.
    let (code, body) = ui.get("/api/jobs/ore000001");
    assert_eq!(code, 200, "{body}");
    let job: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(job["message"], "baseline lr");
    assert_eq!(job["results"], serde_json::json!(["out.csv"]));
    assert!(
        job["history"].as_array().is_some_and(|h| !h.is_empty()),
        "{body}"
    );
    let (code, csv) = ui.get("/api/jobs/ore000001/files/out.csv");
    assert_eq!(code, 200);
    assert!(csv.starts_with("epoch,loss,acc\n1,"), "{csv}");
    let (code, body) = ui.get("/api/jobs/ore000003");
    assert_eq!(code, 200);
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&body).unwrap()["state"],
        "Failed"
    );
    let (code, out) = ui.get("/api/jobs/ore000001/out");
    assert_eq!(code, 200);
    assert!(out.contains("ran with: 1.0"), "{out}");
    let (code, diff) = ui.get("/api/jobs/ore000001/diff?against=ore000002");
    assert_eq!(code, 200, "{diff}");
    assert_eq!(ui.get("/api/jobs/ore000099").0, 404, "no such job");
    // The message action: the CLI's `grunt message`, seen by the CLI.
    let (code, body) = ui.post(
        "/api/jobs/ore000003/message",
        r#"{"message":"too high a rate (diverged)"}"#,
    );
    assert_eq!(code, 200, "{body}");
    let job = w
        .jobs_json()
        .into_iter()
        .find(|j| j["id"] == "ore000003")
        .unwrap();
    assert_eq!(job["message"], "too high a rate (diverged)");

    let Some((chromium, driver)) =
        browser_or_skip("ui::browser_shows_the_table_a_job_page_a_plot_and_an_action")
    else {
        return;
    };
    let b = Browser::start(&chromium, &driver, 1280, 800);
    b.block(b.client.goto(&ui.url())).expect("open the page");

    // The table: the jobs, their state chips with reasons, the "as of" time, no token left in
    // the address bar.
    b.wait_js(30, "three rows", &format!("return {ROWS}.length === 3"));
    assert_eq!(
        ids(&b),
        ["ore000003", "ore000002", "ore000001"],
        "newest first"
    );
    let chips = b
        .eval("return [...document.querySelectorAll('#runs tbody .chip')].map(c => c.textContent)");
    assert_eq!(chips, serde_json::json!(["Failed(3)", "Done", "Done"]));
    let msg = b.eval("return document.querySelector('#runs tbody tr[data-id=ore000003] td:nth-child(3)').textContent");
    assert_eq!(msg, "too high a rate (diverged)");
    let asof = b.eval("return document.getElementById('asof').textContent");
    assert!(asof.as_str().unwrap_or("").starts_with("as of "), "{asof}");
    let url = b.block(b.client.current_url()).unwrap();
    assert!(!url.as_str().contains("token="), "{url}");
    shot(&b, "ui-table.png");
    // Instant filter, then sort by id ascending.
    b.eval("const f = document.getElementById('filter'); f.value = 'half'; f.dispatchEvent(new Event('input')); return 1");
    assert_eq!(ids(&b), ["ore000002"]);
    b.eval("const f = document.getElementById('filter'); f.value = ''; f.dispatchEvent(new Event('input')); document.querySelector('th[data-k=id]').click(); return 1");
    assert_eq!(ids(&b), ["ore000001", "ore000002", "ore000003"]);
    // Plot the two good jobs overlaid, from the table.
    b.eval("for (const id of ['ore000001', 'ore000002']) document.querySelector(`#runs tbody input[data-id=${id}]`).click(); document.getElementById('plotsel').click(); return 1");
    b.wait_js(
        30,
        "overlay plot",
        "return document.querySelectorAll('#plotbox .uplot canvas').length === 1",
    );
    let legend = b.eval("return [...document.querySelectorAll('#plotbox .u-legend .u-series th')].map(t => t.textContent.trim())");
    assert_eq!(
        legend,
        serde_json::json!(["epoch", "ore000001", "ore000002"])
    );
    shot(&b, "ui-plot.png");
    // Export: a PNG of the plot and a CSV of its data (downloads caught as they start).
    let dl = b.eval(
        "const got = []; const click = HTMLAnchorElement.prototype.click; \
         HTMLAnchorElement.prototype.click = function () { got.push([this.download, this.href.split(',')[0].split(':')[0]]); }; \
         document.querySelector('#plotbox button.png').click(); document.querySelector('#plotbox button.csv').click(); \
         HTMLAnchorElement.prototype.click = click; return got",
    );
    assert_eq!(
        dl,
        serde_json::json!([["plot.png", "data"], ["plot.csv", "blob"]])
    );

    // The job page, by its link: message, args, history, output, and the plot of out.csv.
    b.eval("document.querySelector('a[href=\"/jobs/ore000001\"]').click(); return 1");
    b.wait_js(
        30,
        "job page plot",
        "return document.querySelector('#plot .uplot canvas') !== null",
    );
    let text = b.eval("return document.getElementById('app').innerText");
    let text = text.as_str().unwrap_or("");
    for needle in [
        "ore000001",
        "baseline lr",
        "1.0",
        "History",
        "ran with: 1.0",
        "out.csv",
    ] {
        assert!(text.contains(needle), "job page lacks {needle:?}:\n{text}");
    }
    shot(&b, "ui-job.png");
    // Follow: `grunt out --follow` streamed into the page until the (ended) job's output ends.
    b.eval("document.getElementById('follow').click(); return 1");
    b.wait_js(
        60,
        "the followed output",
        "const o = document.getElementById('output'); return o.dataset.followed === 'ended' && o.textContent.includes('ran with: 1.0')",
    );

    // An action: archive job 2 from the table; pending until grund has answered, then the
    // table shows it under archive, as the CLI sees it.
    b.block(b.client.goto(&format!("{}/", ui.base))).unwrap();
    b.wait_js(
        30,
        "table again",
        "return document.querySelectorAll('#runs tbody tr[data-id]').length === 3",
    );
    let pending = b.eval("document.querySelector('#runs tbody input[data-id=ore000002]').click(); document.querySelector('#actbar button[data-action=archive]').click(); return document.querySelector('#runs tbody tr[data-id=ore000002] .pending-action').textContent");
    assert_eq!(
        pending, "archive…",
        "the row is pending until grund answers"
    );
    b.wait_js(
        90,
        "grund's answer to archive",
        "return document.querySelector('#log .entry[data-answered=ok]') !== null",
    );
    b.wait_js(
        30,
        "job 2 under archive",
        "return document.querySelector('#tabs button[data-tab=archive] .n').textContent === '1'",
    );
    let archived = w.grunt(&["jobs", "archive", "--json"]).success().stdout;
    assert!(archived.contains("ore000002"), "{archived}");
    assert!(!archived.contains("ore000001"), "{archived}");

    // Submit from the page's form: the new job shows up in the table once grund has it.
    b.eval("const f = document.getElementById('submit'); f.args.value = '0.75 --tag x'; f.message.value = 'from the page'; f.querySelector('button').click(); return 1");
    b.wait_js(
        90,
        "the submitted job in the table",
        "return document.querySelector('#runs tbody tr[data-id=ore000004]') !== null",
    );
    let job = w
        .jobs_json()
        .into_iter()
        .find(|j| j["id"] == "ore000004")
        .expect("job 4 submitted");
    assert_eq!(job["message"], "from the page");
    assert_eq!(job["args"], serde_json::json!(["0.75", "--tag", "x"]));
}

#[test]
fn api_keeps_the_last_table_and_says_why_when_the_server_is_gone() {
    let w = World::new(&local_runner_text(), TOML);
    w.grunt(&["submit", "0.5", "-m", "pending forever"])
        .success();
    let ui = UiServer::start(&w.client, &w.project, &["--refresh", "1"]);
    ui.wait_jobs(60, "job 1 listed", |j| j.len() == 1);
    let snap = |ui: &UiServer| -> serde_json::Value {
        serde_json::from_str(&ui.get("/api/jobs").1).unwrap()
    };
    let before = snap(&ui);
    assert!(before["error"].is_null(), "{before}");
    std::fs::rename(
        w.server.home.join("gruntsrv"),
        w.server.home.join("gruntsrv-away"),
    )
    .unwrap();
    assert_eq!(ui.post("/api/refresh", "").0, 202);
    wait_until(60, "the failed pull reported", || {
        snap(&ui)["error"]
            .as_str()
            .is_some_and(|e| e.contains("cannot reach the server"))
    });
    let after = snap(&ui);
    assert_eq!(
        after["as_of"], before["as_of"],
        "not pulled: as of the last pull"
    );
    assert_eq!(
        after["jobs"][0]["id"], "ore000001",
        "the local copy still shown"
    );
}

#[test]
fn browser_table_of_many_jobs_keeps_only_the_rows_in_view() {
    let w = World::new(&local_runner_text(), TOML);
    fill_jobs(&w, 600);
    let ui = UiServer::start(&w.client, &w.project, &["--refresh", "60"]);
    ui.wait_jobs(120, "600 jobs pulled", |j| j.len() == 600);
    let Some((chromium, driver)) = browser_or_skip("ui::browser_table_of_many_jobs") else {
        return;
    };
    let b = Browser::start(&chromium, &driver, 1280, 800);
    b.block(b.client.goto(&ui.url())).unwrap();
    b.wait_js(
        60,
        "the table",
        "return document.body.dataset.rows === '600'",
    );
    let in_dom = ids(&b);
    assert!(
        in_dom.len() < 200 && in_dom.first().map(String::as_str) == Some("ore000600"),
        "{} rows in the page, from {:?}",
        in_dom.len(),
        in_dom.first()
    );
    // The page is as tall as every row; scrolled to the bottom, the last rows are there.
    b.eval("window.scrollTo(0, document.body.scrollHeight); return 1");
    b.wait_js(
        10,
        "the last row drawn",
        "return document.querySelector('#runs tbody tr[data-id=ore000001]') !== null",
    );
    assert!(ids(&b).len() < 200);
    // The state chips with their reasons, and the tabs count every job.
    let tabs =
        b.eval("return [...document.querySelectorAll('#tabs button')].map(t => t.textContent)");
    assert_eq!(
        tabs,
        serde_json::json!(["all600", "active150", "done450", "archive0", "delete0"])
    );
}

const ROWS: &str = "document.querySelectorAll('#runs tbody tr[data-id]')";

/// The ids of the table's rows, top to bottom.
fn ids(b: &Browser) -> Vec<String> {
    let v = b.eval(&format!("return [...{ROWS}].map(r => r.dataset.id)"));
    serde_json::from_value(v).unwrap()
}

/// Keeps a screenshot when `GRUNT_UI_SCREENSHOTS` names a directory.
fn shot(b: &Browser, name: &str) {
    if let Some(dir) = std::env::var_os("GRUNT_UI_SCREENSHOTS") {
        std::fs::write(Path::new(&dir).join(name), b.screenshot()).unwrap();
    }
}

#[test]
fn browser_sweeps_page_shows_the_points_and_a_parameter_against_a_metric() {
    let w = World::new(&local_runner_text(), TOML);
    fill_jobs(&w, 10); // jobs 1..=8: one sweep over lr and seed
    for i in 1..=8u32 {
        let dir = w.project.join(format!("gresults/ore{i:06}"));
        std::fs::create_dir_all(&dir).unwrap();
        let lr = f64::from(i % 4) / 10.0;
        std::fs::write(
            dir.join("out.csv"),
            format!("epoch,loss\n1,0.9\n2,{}\n", 1.0 - lr),
        )
        .unwrap();
    }
    let ui = UiServer::start(&w.client, &w.project, &["--refresh", "60"]);
    ui.wait_jobs(60, "10 jobs pulled", |j| j.len() == 10);
    let (_, body) = ui.get("/api/jobs");
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    let swept = v["jobs"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|j| j["sweep"] == "ore000001")
        .count();
    assert_eq!(swept, 8, "{body}");
    let Some((chromium, driver)) = browser_or_skip("ui::browser_sweeps_page") else {
        return;
    };
    let b = Browser::start(&chromium, &driver, 1280, 800);
    b.block(
        b.client
            .goto(&format!("{}/sweeps?token={}", ui.base, ui.token)),
    )
    .unwrap();
    b.wait_js(
        30,
        "the sweep's 8 points",
        "return document.querySelectorAll('section.sweep[data-sweep=ore000001] tr.point').length === 8",
    );
    let heads = b.eval(
        "return [...document.querySelectorAll('section.sweep thead th')].map(t => t.textContent)",
    );
    assert_eq!(
        heads,
        serde_json::json!(["job", "lr", "seed", "state", "message"])
    );
    b.eval("document.querySelector('section.sweep button.metric').click(); return 1");
    b.wait_js(
        30,
        "the parameter-vs-metric plot",
        "return document.querySelector('.metricbox .uplot canvas') !== null",
    );
    let legend = b.eval("return [...document.querySelectorAll('.metricbox .u-legend .u-series th')].map(t => t.textContent.trim())");
    assert_eq!(legend, serde_json::json!(["lr", "loss"]));
    shot(&b, "ui-sweeps.png");
}
