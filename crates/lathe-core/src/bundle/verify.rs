//! Verifying a bundle: every file against `SHA256SUMS` and the manifest, naming the culprit,
//! and the signature (Ed25519's `SHA256SUMS.sig`, or an OpenSSF model signature `model.sig`)
//! against a trusted key or the manifest's.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::sign::PublicKey;
use super::*;
use crate::Result;

/// A file's state after [`verify()`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum FileStatus {
    Ok,
    /// Its bytes differ from what `SHA256SUMS` (or the manifest) records.
    Mismatch,
    /// Listed, not present.
    Missing,
    /// Present, not listed.
    Extra,
    /// `SHA256SUMS` or `manifest.json` cannot be parsed.
    Unreadable,
    /// The signature file does not verify.
    Invalid,
}

impl FileStatus {
    /// The name `--json` prints (`ok`, `mismatch`, ...), for text and the viewer too.
    pub fn name(self) -> &'static str {
        match self {
            FileStatus::Ok => "ok",
            FileStatus::Mismatch => "mismatch",
            FileStatus::Missing => "missing",
            FileStatus::Extra => "extra",
            FileStatus::Unreadable => "unreadable",
            FileStatus::Invalid => "invalid",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct FileCheck {
    pub path: String,
    pub status: FileStatus,
    /// Why, when not ok.
    pub detail: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum SignatureStatus {
    /// Signed, and the signature verifies (with `--key`: by that key).
    Valid,
    /// Signed, but the signature does not verify.
    Invalid,
    /// Not signed.
    Absent,
    /// Validly signed by a key other than the one given.
    Untrusted,
}

impl SignatureStatus {
    /// The name `--json` prints (`valid`, `invalid`, `absent`, `untrusted`).
    pub fn name(self) -> &'static str {
        match self {
            SignatureStatus::Valid => "valid",
            SignatureStatus::Invalid => "invalid",
            SignatureStatus::Absent => "absent",
            SignatureStatus::Untrusted => "untrusted",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct SignatureCheck {
    pub status: SignatureStatus,
    /// The fingerprint of the key that signed, when known.
    pub fingerprint: Option<String>,
    /// Whether the signer was checked against a key the caller trusts (`--key`).
    pub trusted_key: bool,
    pub detail: String,
}

/// What `lathe bundle verify --json` prints.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Verification {
    /// Every file intact, listed and (when signed or a key is given) the signature valid.
    pub ok: bool,
    pub path: String,
    /// `NAME@VERSION` from the manifest, when readable.
    pub model: Option<String>,
    pub files: Vec<FileCheck>,
    pub signature: SignatureCheck,
    /// Each problem in a sentence (empty when ok).
    pub problems: Vec<String>,
}

pub(super) fn parse_sums(text: &[u8]) -> std::result::Result<BTreeMap<String, String>, String> {
    let text = std::str::from_utf8(text).map_err(|_| "it is not UTF-8 text".to_owned())?;
    let mut out = BTreeMap::new();
    for (i, line) in text.lines().enumerate() {
        if line.is_empty() {
            continue;
        }
        let (sha, path) = line
            .split_once("  ")
            .or_else(|| line.split_once(" *"))
            .ok_or_else(|| format!("line {} is not `<sha256>  <path>`", i + 1))?;
        if sha.len() != 64 || !sha.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(format!("line {} has no SHA-256 ({sha:?})", i + 1));
        }
        if out
            .insert(path.to_owned(), sha.to_ascii_lowercase())
            .is_some()
        {
            return Err(format!("'{path}' is listed twice"));
        }
    }
    Ok(out)
}

/// Checks every file against `SHA256SUMS` and the manifest, and the signature (against
/// `trusted` when given, else the key the manifest carries).
pub fn verify(path: &Path, trusted: Option<&PublicKey>) -> Result<Verification> {
    let bundle = read(path)?;
    Ok(verify_files(&bundle, trusted))
}

/// [`verify()`] on files already read.
pub fn verify_files(bundle: &BundleFiles, trusted: Option<&PublicKey>) -> Verification {
    let mut problems = Vec::new();
    let mut checks: BTreeMap<String, (FileStatus, Option<String>)> = BTreeMap::new();
    let manifest: Option<Manifest> = match bundle.get(MANIFEST).map(serde_json::from_slice) {
        Some(Ok(m)) => Some(m),
        Some(Err(e)) => {
            let why = format!("manifest.json cannot be read: {e}");
            checks.insert(MANIFEST.into(), (FileStatus::Unreadable, Some(why.clone())));
            problems.push(why);
            None
        }
        None => None,
    };
    let sums = match bundle.get(SUMS).map(parse_sums) {
        Some(Ok(s)) => s,
        Some(Err(e)) => {
            let why = format!("SHA256SUMS cannot be read: {e}");
            checks.insert(SUMS.into(), (FileStatus::Unreadable, Some(why.clone())));
            problems.push(why);
            BTreeMap::new()
        }
        None => {
            let why = "SHA256SUMS is missing".to_owned();
            checks.insert(SUMS.into(), (FileStatus::Missing, Some(why.clone())));
            problems.push(why);
            BTreeMap::new()
        }
    };
    let listed: BTreeMap<&str, &FileEntry> = manifest
        .iter()
        .flat_map(|m| m.files.iter().map(|f| (f.path.as_str(), f)))
        .collect();
    let actual: BTreeMap<&str, String> = bundle
        .files
        .iter()
        .filter(|(p, _)| *p != SUMS && *p != SUMS_SIG && *p != oms::SIGNATURE)
        .map(|(p, d)| (p.as_str(), sha_hex(d)))
        .collect();
    // The manifest agrees with every file it lists: independent evidence when a SHA256SUMS
    // line and a file disagree.
    let manifest_consistent = manifest.is_some()
        && listed.iter().all(|(p, f)| {
            bundle
                .get(p)
                .is_some_and(|d| d.len() as u64 == f.size && actual.get(p) == Some(&f.sha256))
        });
    let mut sums_wrong: Vec<String> = Vec::new();
    let mut paths: Vec<&str> = actual.keys().copied().collect();
    paths.extend(sums.keys().map(String::as_str));
    paths.extend(listed.keys().copied());
    paths.sort_unstable();
    paths.dedup();
    for p in paths {
        if checks.contains_key(p) {
            continue;
        }
        let have = actual.get(p);
        let in_sums = sums.get(p);
        let in_manifest = listed.get(p);
        let status = match (have, in_sums, in_manifest) {
            (None, _, _) => (
                FileStatus::Missing,
                Some(format!("'{p}' is listed but not in the bundle")),
            ),
            (Some(_), None, None) => (
                FileStatus::Extra,
                Some(format!("'{p}' is in the bundle but listed nowhere")),
            ),
            (Some(h), Some(s), m) if h != s => {
                let vouched = match m {
                    Some(f) => *h == f.sha256 && manifest_consistent,
                    None => p == MANIFEST && manifest_consistent,
                };
                if vouched && !sums.is_empty() {
                    sums_wrong.push(p.to_owned());
                    (FileStatus::Ok, None)
                } else {
                    (
                        FileStatus::Mismatch,
                        Some(format!(
                            "'{p}' does not match its SHA-256 in SHA256SUMS: it was altered"
                        )),
                    )
                }
            }
            (Some(h), s, Some(f)) if *h != f.sha256 => {
                if s.is_none() {
                    sums_wrong.push(p.to_owned());
                }
                (
                    FileStatus::Mismatch,
                    Some(format!("'{p}' does not match its SHA-256 in manifest.json")),
                )
            }
            (Some(_), None, Some(_)) => {
                sums_wrong.push(p.to_owned());
                (FileStatus::Ok, None)
            }
            (Some(_), Some(_), None) if p != MANIFEST && manifest.is_some() => (
                FileStatus::Mismatch,
                Some(format!("'{p}' is in SHA256SUMS but not in manifest.json")),
            ),
            _ => (FileStatus::Ok, None),
        };
        if let Some(why) = &status.1 {
            problems.push(why.clone());
        }
        checks.insert(p.to_owned(), status);
    }
    if !sums_wrong.is_empty() && !checks.contains_key(SUMS) {
        let why = format!(
            "SHA256SUMS disagrees with manifest.json and the files on: {}",
            sums_wrong.join(", ")
        );
        problems.push(why.clone());
        checks.insert(SUMS.into(), (FileStatus::Mismatch, Some(why)));
    }
    checks.entry(SUMS.into()).or_insert((FileStatus::Ok, None));

    let signature = check_signature(bundle, manifest.as_ref(), trusted);
    match signature.status {
        SignatureStatus::Valid => {}
        SignatureStatus::Absent if trusted.is_none() => {}
        _ => problems.push(signature.detail.clone()),
    }
    for file in [SUMS_SIG, oms::SIGNATURE] {
        if bundle.get(file).is_some() {
            let status = if signature.status == SignatureStatus::Valid {
                (FileStatus::Ok, None)
            } else {
                (FileStatus::Invalid, Some(signature.detail.clone()))
            };
            checks.insert(file.into(), status);
        }
    }
    let files: Vec<FileCheck> = checks
        .into_iter()
        .map(|(path, (status, detail))| FileCheck {
            path,
            status,
            detail,
        })
        .collect();
    Verification {
        ok: problems.is_empty(),
        path: bundle.source.display().to_string(),
        model: manifest
            .as_ref()
            .map(|m| format!("{}@{}", m.model.name, m.model.version)),
        files,
        signature,
        problems,
    }
}

pub(super) fn check_signature(
    bundle: &BundleFiles,
    manifest: Option<&Manifest>,
    trusted: Option<&PublicKey>,
) -> SignatureCheck {
    let declared = manifest.and_then(|m| m.signature.as_ref());
    let declared_key = declared.and_then(|s| sign::public_from_pem(&s.public_key).ok());
    let out = |status, fingerprint, detail: String| SignatureCheck {
        status,
        fingerprint,
        trusted_key: trusted.is_some(),
        detail,
    };
    if let Some(sig) = bundle.get(oms::SIGNATURE) {
        return check_model_signature(bundle, sig, declared_key.as_ref(), trusted, out);
    }
    let Some(sig) = bundle.get(SUMS_SIG) else {
        return match (declared, trusted) {
            (Some(d), _) => out(
                SignatureStatus::Invalid,
                Some(d.fingerprint.clone()),
                format!(
                    "manifest.json says the bundle is signed, but {} is missing",
                    d.signature_file
                ),
            ),
            (None, Some(_)) => out(
                SignatureStatus::Absent,
                None,
                "a trusted key was given, but the bundle is not signed".into(),
            ),
            (None, None) => out(
                SignatureStatus::Absent,
                None,
                "the bundle is not signed".into(),
            ),
        };
    };
    let sums = bundle.get(SUMS).unwrap_or_default();
    let ed25519 = |k: Option<&PublicKey>| match k {
        Some(PublicKey::Ed25519(k)) => Some(*k),
        _ => None,
    };
    let declared_key = ed25519(declared_key.as_ref());
    if let Some(t) = trusted {
        let Some(k) = ed25519(Some(t)) else {
            return out(
                SignatureStatus::Invalid,
                declared.map(|s| s.fingerprint.clone()),
                format!(
                    "the bundle is signed with Ed25519 (SHA256SUMS.sig), and the trusted key {} is an ECDSA P-256 key",
                    t.fingerprint()
                ),
            );
        };
        if sign::verify(&k, sums, sig) {
            return out(
                SignatureStatus::Valid,
                Some(sign::fingerprint(&k)),
                "signed by the trusted key".into(),
            );
        }
        if let Some(d) = declared_key.filter(|d| sign::verify(d, sums, sig)) {
            return out(
                SignatureStatus::Untrusted,
                Some(sign::fingerprint(&d)),
                format!(
                    "signed by {}, not by the trusted key {}",
                    sign::fingerprint(&d),
                    sign::fingerprint(&k)
                ),
            );
        }
        return out(
            SignatureStatus::Invalid,
            declared.map(|s| s.fingerprint.clone()),
            format!(
                "SHA256SUMS.sig is not a valid signature of SHA256SUMS by the trusted key {}",
                sign::fingerprint(&k)
            ),
        );
    }
    match declared_key {
        Some(d) if sign::verify(&d, sums, sig) => {
            if declared.is_some_and(|s| s.fingerprint != sign::fingerprint(&d)) {
                return out(
                    SignatureStatus::Invalid,
                    Some(sign::fingerprint(&d)),
                    "manifest.json's key fingerprint does not match its public key".into(),
                );
            }
            out(
                SignatureStatus::Valid,
                Some(sign::fingerprint(&d)),
                format!(
                    "signed by {} (the key in manifest.json; pass --key to pin the signer)",
                    sign::fingerprint(&d)
                ),
            )
        }
        Some(d) => out(
            SignatureStatus::Invalid,
            Some(sign::fingerprint(&d)),
            "SHA256SUMS.sig is not a valid signature of SHA256SUMS by the key in manifest.json"
                .into(),
        ),
        None => out(
            SignatureStatus::Invalid,
            None,
            "SHA256SUMS.sig is present but manifest.json names no readable Ed25519 public key"
                .into(),
        ),
    }
}

/// An OpenSSF model signature (`model.sig`): the envelope against the trusted key (else the
/// manifest's), then every file of the bundle against the signed list.
fn check_model_signature(
    bundle: &BundleFiles,
    sig: &[u8],
    declared: Option<&PublicKey>,
    trusted: Option<&PublicKey>,
    out: impl Fn(SignatureStatus, Option<String>, String) -> SignatureCheck,
) -> SignatureCheck {
    let check = |key: &PublicKey| -> std::result::Result<(), String> {
        let PublicKey::P256(k) = key else {
            return Err(format!(
                "{} is an ECDSA P-256 signature (OpenSSF model signing), and the key {} is Ed25519",
                oms::SIGNATURE,
                key.fingerprint()
            ));
        };
        let signed = oms::verify(sig, k)?;
        let problems = oms::compare(&signed, &bundle.files);
        if problems.is_empty() {
            Ok(())
        } else {
            Err(problems.join("; "))
        }
    };
    if let Some(t) = trusted {
        return match check(t) {
            Ok(()) => out(
                SignatureStatus::Valid,
                Some(t.fingerprint()),
                "signed by the trusted key (OpenSSF model signature, model.sig)".into(),
            ),
            Err(e) => match declared.filter(|d| *d != t && check(d).is_ok()) {
                Some(d) => out(
                    SignatureStatus::Untrusted,
                    Some(d.fingerprint()),
                    format!(
                        "signed by {}, not by the trusted key {}",
                        d.fingerprint(),
                        t.fingerprint()
                    ),
                ),
                None => out(SignatureStatus::Invalid, None, e),
            },
        };
    }
    match declared {
        Some(d) => match check(d) {
            Ok(()) => out(
                SignatureStatus::Valid,
                Some(d.fingerprint()),
                format!(
                    "signed by {} (OpenSSF model signature; the key in manifest.json, pass --key to pin the signer)",
                    d.fingerprint()
                ),
            ),
            Err(e) => out(SignatureStatus::Invalid, Some(d.fingerprint()), e),
        },
        None => out(
            SignatureStatus::Untrusted,
            None,
            format!(
                "{} is an OpenSSF model signature by a key the bundle does not name{}: pass --key KEY.pub to check it",
                oms::SIGNATURE,
                oms::hint(sig)
                    .map(|h| format!(" (key hint {h})"))
                    .unwrap_or_default()
            ),
        ),
    }
}
