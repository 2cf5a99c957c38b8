//! One error type for the core. Every variant names the thing at fault and what to do about it;
//! [`Error::code`] gives the stable identifier that the CLI's `--json` output and the desktop
//! app's `{ code, message }` IPC errors carry.

use std::io;
use std::path::{Path, PathBuf};

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(
        "not a Lathe project (no lathe.sqlite in it); create one with `lathe init` or pick another folder: {}",
        path.display()
    )]
    NotAProject { path: PathBuf },

    #[error(
        "no Lathe project found in {} or its parents; pass --project DIR, set LATHE_PROJECT, or create one with `lathe init DIR`",
        start.display()
    )]
    NoProjectFound { start: PathBuf },

    #[error(
        "not a Lathe project: lathe.sqlite is a SQLite database of another application: {}",
        path.display()
    )]
    ForeignDatabase { path: PathBuf },

    #[error("a Lathe project already exists here; open it instead: {}", path.display())]
    AlreadyExists { path: PathBuf },

    #[error(
        "this project was written by a newer Lathe (schema version {found}; this Lathe {version} reads up to {supported}); upgrade Lathe to open it: {}",
        path.display(), version = crate::LATHE_VERSION
    )]
    SchemaTooNew {
        path: PathBuf,
        found: i64,
        supported: i64,
    },

    #[error(
        "the project is locked by another process (another Lathe window or command is writing to it); close it or try again: {}",
        path.display()
    )]
    Locked { path: PathBuf },

    #[error(
        "the project database is corrupt or not a SQLite file ({detail}); restore lathe.sqlite from a backup (lathe.sqlite.v*.bak) or create a new project: {}",
        path.display()
    )]
    Corrupt { path: PathBuf, detail: String },

    #[error(
        "cannot write to the project folder ({source}); check its permissions and free space: {}",
        path.display()
    )]
    Unwritable { path: PathBuf, source: io::Error },

    #[error("cannot {action} ({source}): {}", path.display())]
    Io {
        action: &'static str,
        path: PathBuf,
        source: io::Error,
    },

    #[error("database error ({source}): {}", path.display())]
    Database {
        path: PathBuf,
        source: rusqlite::Error,
    },

    #[error("the operation was cancelled; nothing was changed")]
    Cancelled,

    /// An input file Lathe cannot use. `detail` says what is wrong and where (row, column)
    /// when known, and what to do.
    #[error("cannot import {}: {detail}", path.display())]
    BadInput { path: PathBuf, detail: String },

    /// A computation over data failed (an unsupported column type, say).
    #[error("{context}: {detail}")]
    Compute {
        context: &'static str,
        detail: String,
    },

    /// A deployment bundle Lathe refuses to read: hostile entries (`..`, links, devices), a
    /// bomb, a truncated or foreign archive, a missing manifest. Nothing was written.
    #[error("cannot read the bundle {}: {detail}", path.display())]
    BadBundle { path: PathBuf, detail: String },

    /// A named record (dataset, version, run, ...) that the project does not hold.
    #[error("{what}")]
    NotFound { what: String },

    /// A command argument Lathe cannot use: a filter expression, a column name, a chart kind.
    /// `detail` says what is wrong (and where in the text) and what is accepted.
    #[error("invalid {argument}: {detail}")]
    BadArgument {
        argument: &'static str,
        detail: String,
    },
}

impl Error {
    /// A stable, machine-readable identifier: part of the CLI's `--json` contract and of the
    /// desktop app's IPC errors. Never rename one; add new ones.
    pub fn code(&self) -> &'static str {
        match self {
            Error::NotAProject { .. } => "not_a_project",
            Error::NoProjectFound { .. } => "no_project_found",
            Error::ForeignDatabase { .. } => "foreign_database",
            Error::AlreadyExists { .. } => "already_exists",
            Error::SchemaTooNew { .. } => "schema_too_new",
            Error::Locked { .. } => "locked",
            Error::Corrupt { .. } => "corrupt",
            Error::Unwritable { .. } => "unwritable",
            Error::Io { .. } => "io",
            Error::Database { .. } => "database",
            Error::Cancelled => "cancelled",
            Error::BadInput { .. } => "bad_input",
            Error::NotFound { .. } => "not_found",
            Error::BadBundle { .. } => "bad_bundle",
            Error::Compute { .. } => "compute",
            Error::BadArgument { .. } => "bad_argument",
        }
    }

    /// Classifies an I/O failure on a path that Lathe wanted to write.
    pub(crate) fn write(action: &'static str, path: &Path, source: io::Error) -> Error {
        match source.kind() {
            io::ErrorKind::PermissionDenied | io::ErrorKind::ReadOnlyFilesystem => {
                Error::Unwritable {
                    path: path.to_path_buf(),
                    source,
                }
            }
            _ => Error::Io {
                action,
                path: path.to_path_buf(),
                source,
            },
        }
    }

    pub(crate) fn io(action: &'static str, path: &Path, source: io::Error) -> Error {
        Error::Io {
            action,
            path: path.to_path_buf(),
            source,
        }
    }

    /// Classifies a SQLite failure on the project database at `path` (the project folder), so
    /// that busy, corrupt and read-only databases get their own clear message.
    pub(crate) fn db(path: &Path, source: rusqlite::Error) -> Error {
        use rusqlite::ErrorCode as C;
        let path = path.to_path_buf();
        match source.sqlite_error_code() {
            Some(C::DatabaseBusy | C::DatabaseLocked) => Error::Locked { path },
            Some(C::NotADatabase | C::DatabaseCorrupt) => Error::Corrupt {
                path,
                detail: source.to_string(),
            },
            Some(C::ReadOnly | C::CannotOpen | C::PermissionDenied) => Error::Unwritable {
                path,
                source: io::Error::new(io::ErrorKind::PermissionDenied, source.to_string()),
            },
            _ => Error::Database { path, source },
        }
    }
}
