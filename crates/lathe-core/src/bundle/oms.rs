//! OpenSSF model signatures (the OMS specification, as PyPI `model-signing` 1.x writes and
//! checks them with a key): `model.sig` at the bundle's root is a Sigstore bundle (v0.3 JSON)
//! holding a DSSE envelope whose payload is an in-toto Statement v1:
//!
//! - `predicateType` `https://model_signing/signature/v1.0`;
//! - `predicate.resources`: every file of the bundle but `model.sig` (and git's files), each
//!   `{name, algorithm: "sha256", digest}`; `predicate.serialization`: `{method: "files",
//!   hash_type: "sha256", allow_symlinks: false, ignore_paths}`;
//! - one `subject`: the bundle's name and, as its `sha256`, the SHA-256 of the resources' raw
//!   digests concatenated in their order.
//!
//! The signature is ECDSA P-256 with SHA-256 (DER) over the DSSE pre-authentication encoding
//! of the payload; `verificationMaterial.publicKey.hint` is the hex SHA-256 of the signer's
//! SubjectPublicKeyInfo PEM. Offline: no transparency log entries, no certificate.

use std::collections::BTreeMap;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use p256::ecdsa::signature::{Signer as _, Verifier as _};
use p256::ecdsa::{DerSignature, SigningKey, VerifyingKey};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use super::sign::PublicKey;
use crate::Result;

/// The signature's file, at the bundle's root.
pub const SIGNATURE: &str = "model.sig";
const MEDIA_TYPE: &str = "application/vnd.dev.sigstore.bundle.v0.3+json";
const PAYLOAD_TYPE: &str = "application/vnd.in-toto+json";
const STATEMENT_TYPE: &str = "https://in-toto.io/Statement/v1";
const PREDICATE_TYPE: &str = "https://model_signing/signature/v1.0";
/// What `model_signing sign` leaves out by default, and the signature itself.
const IGNORED: [&str; 5] = [SIGNATURE, ".git", ".gitattributes", ".github", ".gitignore"];

/// The DSSE pre-authentication encoding of a payload.
fn pae(payload: &[u8]) -> Vec<u8> {
    let mut out = format!(
        "DSSEv1 {} {PAYLOAD_TYPE} {} ",
        PAYLOAD_TYPE.len(),
        payload.len()
    )
    .into_bytes();
    out.extend_from_slice(payload);
    out
}

/// The hint `model-signing` records for a key: the hex SHA-256 of its SPKI PEM.
pub fn key_hint(key: &VerifyingKey) -> Result<String> {
    let pem = PublicKey::P256(*key).pem()?;
    Ok(hex::encode(Sha256::digest(pem.as_bytes())))
}

/// Whether a path is left out of a signature: the signature, git's files, or below one.
fn ignored(path: &str, extra: &[String]) -> bool {
    IGNORED
        .iter()
        .copied()
        .chain(extra.iter().map(String::as_str))
        .any(|i| path == i || path.starts_with(&format!("{i}/")))
}

/// Signs `files` (path → bytes; the signature's own file is left out) as the bundle `name`:
/// the bytes of `model.sig`.
pub fn sign<'a>(
    key: &SigningKey,
    name: &str,
    files: impl IntoIterator<Item = (&'a String, &'a Vec<u8>)>,
) -> Result<Vec<u8>> {
    let mut resources: Vec<(String, [u8; 32])> = files
        .into_iter()
        .filter(|(p, _)| !ignored(p, &[]))
        .map(|(p, d)| (p.clone(), Sha256::digest(d).into()))
        .collect();
    resources.sort();
    let mut root = Sha256::new();
    for (_, d) in &resources {
        root.update(d);
    }
    let statement = json!({
        "_type": STATEMENT_TYPE,
        "subject": [{"name": name, "digest": {"sha256": hex::encode(root.finalize())}}],
        "predicateType": PREDICATE_TYPE,
        "predicate": {
            "serialization": {
                "method": "files",
                "hash_type": "sha256",
                "allow_symlinks": false,
                "ignore_paths": IGNORED,
            },
            "resources": resources.iter().map(|(p, d)| json!({
                "name": p, "algorithm": "sha256", "digest": hex::encode(d),
            })).collect::<Vec<_>>(),
        },
    });
    let payload = serde_json::to_vec_pretty(&statement).map_err(|e| crate::Error::Compute {
        context: "cannot write the model signature",
        detail: e.to_string(),
    })?;
    let signature: DerSignature = key.sign(&pae(&payload));
    let bundle = json!({
        "mediaType": MEDIA_TYPE,
        "verificationMaterial": {
            "publicKey": {"hint": key_hint(key.verifying_key())?},
            "tlogEntries": [],
        },
        "dsseEnvelope": {
            "payload": STANDARD.encode(&payload),
            "payloadType": PAYLOAD_TYPE,
            "signatures": [{"sig": STANDARD.encode(signature.as_bytes()), "keyid": ""}],
        },
    });
    let mut out = serde_json::to_vec_pretty(&bundle).map_err(|e| crate::Error::Compute {
        context: "cannot write the model signature",
        detail: e.to_string(),
    })?;
    out.push(b'\n');
    Ok(out)
}

/// What a signature that verified says was signed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Signed {
    /// The subject's name.
    pub name: String,
    /// Path → hex SHA-256.
    pub resources: BTreeMap<String, String>,
    /// Paths the signer left out besides the defaults.
    pub ignore_paths: Vec<String>,
}

/// The key hint a signature names, when it reads as one (to say whose it is when no key
/// checks it).
pub fn hint(bytes: &[u8]) -> Option<String> {
    let bundle: Value = serde_json::from_slice(bytes).ok()?;
    bundle["verificationMaterial"]["publicKey"]["hint"]
        .as_str()
        .map(str::to_owned)
}

/// Checks `model.sig`'s bytes against `key`: the envelope's signature over its payload, then
/// the statement's shape. `Err` says what is wrong, in a sentence.
pub fn verify(bytes: &[u8], key: &VerifyingKey) -> std::result::Result<Signed, String> {
    let bundle: Value = serde_json::from_slice(bytes)
        .map_err(|e| format!("{SIGNATURE} is not a Sigstore bundle (JSON: {e})"))?;
    let text = |v: &Value, what: &str| -> std::result::Result<String, String> {
        v.as_str()
            .map(str::to_owned)
            .ok_or_else(|| format!("{SIGNATURE} has no {what}"))
    };
    let media = text(&bundle["mediaType"], "mediaType")?;
    if media != MEDIA_TYPE {
        return Err(format!(
            "{SIGNATURE} is a {media}, not a Sigstore bundle v0.3 ({MEDIA_TYPE})"
        ));
    }
    if let Some(h) = bundle["verificationMaterial"]["publicKey"]["hint"].as_str() {
        let want = key_hint(key).map_err(|e| e.to_string())?;
        if h != want {
            return Err(format!(
                "{SIGNATURE} was made with another key (its hint {h} is not this key's {want})"
            ));
        }
    }
    let envelope = &bundle["dsseEnvelope"];
    let payload_type = text(&envelope["payloadType"], "dsseEnvelope.payloadType")?;
    if payload_type != PAYLOAD_TYPE {
        return Err(format!(
            "{SIGNATURE}'s payload is {payload_type}, not an in-toto statement ({PAYLOAD_TYPE})"
        ));
    }
    let decode = |v: &Value, what: &str| -> std::result::Result<Vec<u8>, String> {
        STANDARD
            .decode(text(v, what)?)
            .map_err(|e| format!("{SIGNATURE}'s {what} is not base64: {e}"))
    };
    let payload = decode(&envelope["payload"], "dsseEnvelope.payload")?;
    let signatures = envelope["signatures"]
        .as_array()
        .filter(|s| !s.is_empty())
        .ok_or_else(|| format!("{SIGNATURE} holds no signature"))?;
    let sig = decode(&signatures[0]["sig"], "signature")?;
    let sig = DerSignature::try_from(sig.as_slice())
        .map_err(|_| format!("{SIGNATURE}'s signature is not a DER ECDSA signature"))?;
    key.verify(&pae(&payload), &sig).map_err(|_| {
        format!("{SIGNATURE}'s signature does not verify with the key: the statement was altered, or another key signed it")
    })?;

    let statement: Value = serde_json::from_slice(&payload)
        .map_err(|e| format!("{SIGNATURE}'s statement is not JSON: {e}"))?;
    if statement["_type"] != STATEMENT_TYPE {
        return Err(format!(
            "{SIGNATURE}'s statement is not an in-toto {STATEMENT_TYPE}"
        ));
    }
    if statement["predicateType"] != PREDICATE_TYPE {
        return Err(format!(
            "{SIGNATURE}'s predicate is {}, not {PREDICATE_TYPE}",
            statement["predicateType"]
        ));
    }
    let subject = match statement["subject"].as_array().map(Vec::as_slice) {
        Some([one]) => one,
        _ => return Err(format!("{SIGNATURE}'s statement must have one subject")),
    };
    let serialization = &statement["predicate"]["serialization"];
    if serialization["method"] != "files" || serialization["hash_type"] != "sha256" {
        return Err(format!(
            "{SIGNATURE} hashes {} by {}: Lathe checks whole files by SHA-256 (method files, hash_type sha256)",
            serialization["hash_type"], serialization["method"]
        ));
    }
    let ignore_paths = serialization["ignore_paths"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default();
    let mut root = Sha256::new();
    let mut resources = BTreeMap::new();
    for r in statement["predicate"]["resources"]
        .as_array()
        .ok_or_else(|| format!("{SIGNATURE}'s predicate lists no resources"))?
    {
        let name = text(&r["name"], "resource name")?;
        let digest = text(&r["digest"], "resource digest")?;
        if r["algorithm"] != "sha256" {
            return Err(format!("{SIGNATURE} hashes '{name}' by {}", r["algorithm"]));
        }
        let raw = hex::decode(&digest)
            .ok()
            .filter(|d| d.len() == 32)
            .ok_or_else(|| format!("{SIGNATURE}'s digest of '{name}' is not a SHA-256"))?;
        root.update(&raw);
        if resources
            .insert(name.clone(), digest.to_ascii_lowercase())
            .is_some()
        {
            return Err(format!("{SIGNATURE} lists '{name}' twice"));
        }
    }
    let root = hex::encode(root.finalize());
    if subject["digest"]["sha256"] != root.as_str() {
        return Err(format!(
            "{SIGNATURE} is inconsistent: its subject's digest is not the digest of its resources"
        ));
    }
    Ok(Signed {
        name: text(&subject["name"], "subject name")?,
        resources,
        ignore_paths,
    })
}

/// How the bundle's files differ from what was signed: one sentence per file (empty when
/// they are what was signed).
pub fn compare<'a>(
    signed: &Signed,
    files: impl IntoIterator<Item = (&'a String, &'a Vec<u8>)>,
) -> Vec<String> {
    let mut problems = Vec::new();
    let mut seen = Vec::new();
    for (path, data) in files {
        if ignored(path, &signed.ignore_paths) {
            continue;
        }
        seen.push(path.as_str());
        match signed.resources.get(path) {
            None => problems.push(format!(
                "'{path}' is in the bundle but not in {SIGNATURE}'s signed files"
            )),
            Some(d) if *d != hex::encode(Sha256::digest(data)) => problems.push(format!(
                "'{path}' differs from what {SIGNATURE} signed: it was altered"
            )),
            Some(_) => {}
        }
    }
    for path in signed.resources.keys() {
        if !seen.contains(&path.as_str()) {
            problems.push(format!(
                "'{path}' was signed in {SIGNATURE} but is not in the bundle"
            ));
        }
    }
    problems
}
