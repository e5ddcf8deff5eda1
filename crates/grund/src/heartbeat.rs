//! `~/gruntsrv/grund.heartbeat`: when grund last looked for work, its pid and version, so a
//! client (or a person) can tell a live daemon from a dead one. The format is
//! `grunt_core::heartbeat`'s, plus one `busy:` line per project a worker is on (what it waits
//! on, since when), which readers of the format skip.

use std::path::Path;
use std::time::SystemTime;

use chrono::{DateTime, Utc};

use grunt_core::fsutil;
use grunt_core::heartbeat::Heartbeat;

/// Age after which a client should call grund dead: a few poll intervals.
pub use grunt_core::heartbeat::STALE_AFTER_SECS;

/// Writes the heartbeat; `busy` is (project, what it waits on, since).
pub fn write(path: &Path, busy: &[(String, String, SystemTime)]) -> grunt_core::Result<()> {
    let mut text = Heartbeat::now(env!("CARGO_PKG_VERSION")).render();
    for (project, what, since) in busy {
        let since = grunt_core::time::format(DateTime::<Utc>::from(*since));
        text.push_str(&format!("busy: {project}: {what} (since {since})\n"));
    }
    fsutil::atomic_write(path, text.as_bytes())
}
