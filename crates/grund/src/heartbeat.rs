//! `~/gruntsrv/grund.heartbeat`: when grund last looked for work, its pid and version, so a
//! client (or a person) can tell a live daemon from a dead one.

use std::path::Path;

use grunt_core::{fsutil, time};

/// Age after which a client should call grund dead: a few poll intervals.
pub const STALE_AFTER_SECS: i64 = 60;

pub fn write(path: &Path) -> grunt_core::Result<()> {
    let text = format!(
        "time: {}\npid: {}\nversion: {}\n",
        time::now(),
        std::process::id(),
        env!("CARGO_PKG_VERSION")
    );
    fsutil::atomic_write(path, text.as_bytes())
}
