//! The token check in front of every route: `Authorization: Bearer …`, `?token=…` or the
//! `grunt_ui` cookie. A page visited with `?token=` gets the cookie, so the page's own requests
//! and later visits carry it; anything else without the token gets 401.

use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::AppState;

/// The cookie that carries the token after the first visit.
pub const COOKIE: &str = "grunt_ui";

/// Where the request carries a token, if it does.
fn given_tokens(req: &Request) -> (Option<String>, Vec<String>) {
    let mut found = Vec::new();
    if let Some(h) = req.headers().get(header::AUTHORIZATION) {
        if let Some(t) = h.to_str().ok().and_then(|v| v.strip_prefix("Bearer ")) {
            found.push(t.trim().to_string());
        }
    }
    for h in req.headers().get_all(header::COOKIE) {
        for part in h.to_str().unwrap_or("").split(';') {
            if let Some((k, v)) = part.trim().split_once('=') {
                if k == COOKIE {
                    found.push(v.to_string());
                }
            }
        }
    }
    let query = req.uri().query().and_then(|q| {
        q.split('&')
            .filter_map(|kv| kv.split_once('='))
            .find(|(k, _)| *k == "token")
            .map(|(_, v)| v.to_string())
    });
    (query, found)
}

pub async fn require_token(State(st): State<AppState>, req: Request, next: Next) -> Response {
    let (query, others) = given_tokens(&req);
    let by_query = query.as_deref().is_some_and(|t| st.token.matches(t));
    let ok = by_query || others.iter().any(|t| st.token.matches(t));
    if !ok {
        return (
            StatusCode::UNAUTHORIZED,
            [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
            "401: this grunt ui needs its token: open the URL `grunt ui` printed \
             (http://127.0.0.1:PORT/?token=…)\n",
        )
            .into_response();
    }
    let mut resp = next.run(req).await;
    if by_query {
        let cookie = format!(
            "{COOKIE}={}; HttpOnly; SameSite=Strict; Path=/",
            st.token.as_str()
        );
        if let Ok(v) = HeaderValue::from_str(&cookie) {
            resp.headers_mut().append(header::SET_COOKIE, v);
        }
    }
    resp
}

/// Headers on every answer: the page loads only its own embedded files, cannot be framed,
/// and never sends its address (with a token in it) elsewhere.
pub async fn harden(req: Request, next: Next) -> Response {
    let mut resp = next.run(req).await;
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; \
             frame-ancestors 'none'; form-action 'self'; base-uri 'none'",
        ),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    resp
}
