//! The audit log: an append-only record of what was done to a project, when, by whom and with
//! which tool. Every capability appends to it in the same transaction as the change it records.
//! The table's triggers refuse updates and deletes.

use rusqlite::Connection;
use serde::Serialize;
use time::OffsetDateTime;
use time::macros::format_description;

/// Who makes a change: the OS user and the Lathe front end they used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    pub user: String,
    pub tool: String,
}

impl Actor {
    /// The current OS user, acting through `tool`: from `USER`/`LOGNAME`/`USERNAME`, else (on
    /// Unix, where services and CI often run without them) the passwd entry of our uid.
    pub fn current(tool: &str) -> Actor {
        let user = ["USER", "LOGNAME", "USERNAME"]
            .iter()
            .find_map(|var| std::env::var(var).ok().filter(|u| !u.is_empty()))
            .or_else(passwd_name)
            .unwrap_or_else(|| "unknown".to_owned());
        Actor {
            user,
            tool: tool.to_owned(),
        }
    }
}

#[cfg(unix)]
fn passwd_name() -> Option<String> {
    use std::os::unix::fs::MetadataExt;
    let uid = std::fs::metadata("/proc/self").ok()?.uid().to_string();
    let passwd = std::fs::read_to_string("/etc/passwd").ok()?;
    passwd.lines().find_map(|line| {
        let mut fields = line.split(':');
        let name = fields.next()?;
        (fields.nth(1)? == uid).then(|| name.to_owned())
    })
}

#[cfg(not(unix))]
fn passwd_name() -> Option<String> {
    None
}

/// An entry to append.
#[derive(Debug, Clone)]
pub struct NewAuditEntry<'a> {
    /// Dotted verb: `project.create`, `dataset.import`, ...
    pub action: &'a str,
    /// What it was done to, for a person: a project, dataset or model name.
    pub target: &'a str,
    /// Anything else worth keeping, as a JSON object.
    pub details: serde_json::Value,
}

/// A stored entry, as `lathe log --json` prints it.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct AuditEntry {
    pub id: i64,
    /// RFC 3339, UTC, millisecond precision.
    pub at: String,
    pub user: String,
    pub tool: String,
    pub action: String,
    pub target: String,
    #[cfg_attr(feature = "ts", ts(type = "Record<string, unknown>"))]
    pub details: serde_json::Value,
}

/// Now as RFC 3339 UTC with milliseconds: sortable as text, readable as is.
pub fn now() -> String {
    let fmt =
        format_description!("[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z");
    // Formatting a UTC time with a fixed numeric description cannot fail.
    OffsetDateTime::now_utc().format(&fmt).unwrap_or_default()
}

/// Seconds since the Unix epoch of an RFC 3339 time as [`now`] writes it.
pub fn unix_seconds(text: &str) -> Option<u64> {
    let t = OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339).ok()?;
    u64::try_from(t.unix_timestamp()).ok()
}

/// Appends one entry and returns its id.
pub fn append(conn: &Connection, actor: &Actor, entry: &NewAuditEntry) -> rusqlite::Result<i64> {
    conn.execute(
        "INSERT INTO audit_log (at, user, tool, action, target, details) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        (now(), &actor.user, &actor.tool, entry.action, entry.target, entry.details.to_string()),
    )?;
    Ok(conn.last_insert_rowid())
}

/// The newest entries first.
pub fn list(conn: &Connection, limit: Option<u64>) -> rusqlite::Result<Vec<AuditEntry>> {
    let limit = limit.map_or(-1, |n| n.min(i64::MAX as u64) as i64);
    let mut stmt = conn.prepare(
        "SELECT id, at, user, tool, action, target, details FROM audit_log ORDER BY id DESC LIMIT ?1",
    )?;
    let rows = stmt.query_map([limit], |r| {
        let details: String = r.get(6)?;
        Ok(AuditEntry {
            id: r.get(0)?,
            at: r.get(1)?,
            user: r.get(2)?,
            tool: r.get(3)?,
            action: r.get(4)?,
            target: r.get(5)?,
            // Written by `append` from a serde_json::Value, so it parses; keep the raw text if not.
            details: serde_json::from_str(&details).unwrap_or(serde_json::Value::String(details)),
        })
    })?;
    rows.collect()
}
