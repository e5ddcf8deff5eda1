//! The core's error type. Each error names the operation and the path, and says what to do.

use std::io;
use std::path::PathBuf;

use thiserror::Error;

use crate::config::ConfigError;
use crate::jobid::JobIdError;
use crate::name::NameError;
use crate::runner::RunnerError;

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[derive(Debug, Error)]
pub enum Error {
    #[error(
        "HOME is not set: grunt keeps its repos under $HOME/gruntdat and $HOME/gruntsrv; set HOME"
    )]
    NoHome,

    #[error(transparent)]
    Name(#[from] NameError),

    #[error(transparent)]
    JobId(#[from] JobIdError),

    #[error(transparent)]
    Config(#[from] ConfigError),

    #[error(transparent)]
    Runner(#[from] RunnerError),

    #[error("{op} {path}: {source}")]
    Io {
        op: &'static str,
        path: PathBuf,
        #[source]
        source: io::Error,
    },

    #[error("git: {op} ({path}): {}", .source.message())]
    Git {
        op: &'static str,
        path: PathBuf,
        #[source]
        source: git2::Error,
    },

    #[error("git: {}", .0.message())]
    GitOther(#[from] git2::Error),

    #[error("{path} is not a grunt repo: {why}")]
    NotARepo { path: PathBuf, why: String },

    #[error("{remote}: {message}")]
    Remote { remote: String, message: String },

    #[error("gave up after {tries} tries: {what} kept changing under us (others pushing?); run the command again")]
    Contention { what: String, tries: u32 },

    #[error("project {project:?} already exists at {path}")]
    ProjectExists { project: String, path: PathBuf },
}

impl Error {
    pub fn io(op: &'static str, path: impl Into<PathBuf>) -> impl FnOnce(io::Error) -> Error {
        let path = path.into();
        move |source| Error::Io { op, path, source }
    }

    pub fn git(op: &'static str, path: impl Into<PathBuf>) -> impl FnOnce(git2::Error) -> Error {
        let path = path.into();
        move |source| Error::Git { op, path, source }
    }
}
