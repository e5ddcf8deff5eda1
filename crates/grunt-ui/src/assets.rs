//! The page's files, embedded in the binary (no CDN: the page works offline). uPlot is
//! vendored from the npm registry: version in `assets/vendor/VERSION`, licence beside it.

use axum::extract::Path;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};

pub const INDEX: &str = include_str!("../assets/index.html");

const FILES: [(&str, &str, &[u8]); 5] = [
    (
        "app.js",
        "text/javascript",
        include_bytes!("../assets/app.js"),
    ),
    ("app.css", "text/css", include_bytes!("../assets/app.css")),
    (
        "uPlot.iife.min.js",
        "text/javascript",
        include_bytes!("../assets/vendor/uPlot.iife.min.js"),
    ),
    (
        "uPlot.min.css",
        "text/css",
        include_bytes!("../assets/vendor/uPlot.min.css"),
    ),
    (
        "uPlot.LICENSE",
        "text/plain",
        include_bytes!("../assets/vendor/uPlot.LICENSE"),
    ),
];

/// `GET /assets/NAME`.
pub async fn asset(Path(name): Path<String>) -> Response {
    match FILES.iter().find(|(n, _, _)| *n == name) {
        Some((_, mime, data)) => (
            [
                (header::CONTENT_TYPE, *mime),
                (header::CACHE_CONTROL, "no-cache"),
            ],
            *data,
        )
            .into_response(),
        None => (StatusCode::NOT_FOUND, "no such asset").into_response(),
    }
}

/// The page (one page; its script draws the table, a job or the sweeps by the URL).
pub async fn page() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CACHE_CONTROL, "no-store"),
        ],
        INDEX,
    )
        .into_response()
}
