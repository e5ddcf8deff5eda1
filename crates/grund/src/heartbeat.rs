//! `~/gruntsrv/grund.heartbeat`: when grund last looked for work, its pid and version, so a
//! client (or a person) can tell a live daemon from a dead one. The format is
//! `grunt_core::heartbeat`'s.

use std::path::Path;

use grunt_core::fsutil;
use grunt_core::heartbeat::Heartbeat;

/// Age after which a client should call grund dead: a few poll intervals.
pub use grunt_core::heartbeat::STALE_AFTER_SECS;

pub fn write(path: &Path) -> grunt_core::Result<()> {
    let text = Heartbeat::now(env!("CARGO_PKG_VERSION")).render();
    fsutil::atomic_write(path, text.as_bytes())
}
