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

    /// A policy or expectation suite Lathe cannot run: malformed JSON or YAML (line and
    /// column named), an expectation it does not know, a column the table lacks, an argument
    /// of the wrong type. `detail` names each problem. Nothing was run or stored.
    #[error("cannot use the checks in {}: {detail}", path.display())]
    BadPolicy { path: PathBuf, detail: String },

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

    /// An object named by URL that could not be read: `detail` says what happened (no
    /// credentials, access denied, no such bucket or object, unreachable, timed out) and what to
    /// do. Never holds a secret; `url` carries no credentials.
    #[error("cannot read {url}: {detail}")]
    Remote { url: String, detail: String },
}

/// Declares [`ErrorCode`] once: each variant with its stable text.
macro_rules! error_codes {
    ($($(#[$doc:meta])* $variant:ident = $text:literal,)*) => {
        /// Every error code a front end may see: the CLI's `--json` errors, the desktop's
        /// `{ code, message }` (exported to TypeScript, so the UI can only name these). Stable:
        /// never rename one; add new ones.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
        #[serde(rename_all = "snake_case")]
        #[cfg_attr(feature = "ts", derive(ts_rs::TS))]
        pub enum ErrorCode {
            $($(#[$doc])* $variant,)*
        }

        impl ErrorCode {
            /// Every code, in declaration order.
            pub const ALL: &'static [ErrorCode] = &[$(ErrorCode::$variant,)*];

            pub fn as_str(self) -> &'static str {
                match self {
                    $(ErrorCode::$variant => $text,)*
                }
            }
        }
    };
}

error_codes! {
    NotAProject = "not_a_project",
    NoProjectFound = "no_project_found",
    ForeignDatabase = "foreign_database",
    AlreadyExists = "already_exists",
    SchemaTooNew = "schema_too_new",
    Locked = "locked",
    Corrupt = "corrupt",
    Unwritable = "unwritable",
    Io = "io",
    Database = "database",
    Cancelled = "cancelled",
    BadInput = "bad_input",
    NotFound = "not_found",
    BadBundle = "bad_bundle",
    Compute = "compute",
    BadArgument = "bad_argument",
    /// A policy or expectation suite that cannot run (see `Error::BadPolicy`).
    BadPolicy = "bad_policy",
    /// An object named by URL (`s3://`, `gs://`, `az://`, `https://`) could not be read.
    Remote = "remote",
    /// A front end was asked to act on the open project while none is open.
    NoProjectOpen = "no_project_open",
    /// A failure of Lathe itself (a crashed background task, a poisoned lock): not the input's.
    Internal = "internal",
}

impl std::fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl PartialEq<&str> for ErrorCode {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

impl Error {
    /// A stable, machine-readable identifier: part of the CLI's `--json` contract and of the
    /// desktop app's IPC errors.
    pub fn code(&self) -> ErrorCode {
        match self {
            Error::NotAProject { .. } => ErrorCode::NotAProject,
            Error::NoProjectFound { .. } => ErrorCode::NoProjectFound,
            Error::ForeignDatabase { .. } => ErrorCode::ForeignDatabase,
            Error::AlreadyExists { .. } => ErrorCode::AlreadyExists,
            Error::SchemaTooNew { .. } => ErrorCode::SchemaTooNew,
            Error::Locked { .. } => ErrorCode::Locked,
            Error::Corrupt { .. } => ErrorCode::Corrupt,
            Error::Unwritable { .. } => ErrorCode::Unwritable,
            Error::Io { .. } => ErrorCode::Io,
            Error::Database { .. } => ErrorCode::Database,
            Error::Cancelled => ErrorCode::Cancelled,
            Error::BadInput { .. } => ErrorCode::BadInput,
            Error::NotFound { .. } => ErrorCode::NotFound,
            Error::BadBundle { .. } => ErrorCode::BadBundle,
            Error::Compute { .. } => ErrorCode::Compute,
            Error::BadArgument { .. } => ErrorCode::BadArgument,
            Error::BadPolicy { .. } => ErrorCode::BadPolicy,
            Error::Remote { .. } => ErrorCode::Remote,
        }
    }

    /// An argument Lathe cannot use: `invalid {argument}: {detail}`.
    pub(crate) fn bad_argument(argument: &'static str, detail: impl Into<String>) -> Error {
        Error::BadArgument {
            argument,
            detail: detail.into(),
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

    /// This error as it concerns `shown` (a URL) rather than the local copy read for it: a
    /// `BadInput` names `shown`; any other error is kept as it is.
    pub(crate) fn naming(self, shown: &str) -> Error {
        match self {
            Error::BadInput { detail, .. } => Error::BadInput {
                path: shown.into(),
                detail,
            },
            other => other,
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
