//! Keys and signatures for bundles.
//!
//! Two kinds of key, chosen with `lathe key new --type`:
//! - **Ed25519** (the default): the raw 64-byte signature over the `SHA256SUMS` file, as
//!   `SHA256SUMS.sig`. Ops check it without Lathe:
//!   `openssl pkeyutl -verify -pubin -inkey key.pub -rawin -in SHA256SUMS -sigfile SHA256SUMS.sig`.
//! - **ECDSA P-256**: an OpenSSF model signature (`model.sig`, see [`super::oms`]) over every
//!   file of the bundle, which PyPI `model-signing` verifies
//!   (`model_signing verify key DIR --signature DIR/model.sig --public_key key.pub`).
//!
//! A private key is a PKCS#8 PEM file (`-----BEGIN PRIVATE KEY-----`, mode 0600), its public key
//! a SubjectPublicKeyInfo PEM file beside it (`.pub`): OpenSSL's formats (an OpenSSL
//! `BEGIN EC PRIVATE KEY` P-256 key is read too). A key's fingerprint is `SHA256:` and the hex
//! SHA-256 of its raw public key (Ed25519's 32 bytes; P-256's 65-byte uncompressed point).

use std::io::Write as _;
use std::path::{Path, PathBuf};

use ed25519_dalek::pkcs8::spki::der::pem::LineEnding;
use ed25519_dalek::pkcs8::{DecodePrivateKey, DecodePublicKey, EncodePrivateKey, EncodePublicKey};
use ed25519_dalek::{Signature, Signer, SigningKey, VerifyingKey};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::{Error, Result};

/// The kinds of key `lathe key new` makes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "kebab-case")]
pub enum KeyType {
    /// Signs `SHA256SUMS` (`SHA256SUMS.sig`).
    #[default]
    Ed25519,
    /// Signs every file as an OpenSSF model signature (`model.sig`).
    EcdsaP256,
}

impl KeyType {
    pub fn name(self) -> &'static str {
        match self {
            KeyType::Ed25519 => "ed25519",
            KeyType::EcdsaP256 => "ecdsa-p256",
        }
    }

    pub fn parse(text: &str) -> Result<KeyType> {
        match text.to_ascii_lowercase().as_str() {
            "ed25519" => Ok(KeyType::Ed25519),
            "ecdsa-p256" | "p256" | "p-256" => Ok(KeyType::EcdsaP256),
            other => Err(Error::bad_argument(
                "type",
                format!("'{other}' is not a key type: use ed25519 or ecdsa-p256"),
            )),
        }
    }
}

/// A private key of either kind.
pub enum PrivateKey {
    Ed25519(SigningKey),
    P256(p256::ecdsa::SigningKey),
}

/// A public key of either kind.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PublicKey {
    Ed25519(VerifyingKey),
    P256(p256::ecdsa::VerifyingKey),
}

/// Names the key by its public half only: a private key is never printed.
impl std::fmt::Debug for PrivateKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "PrivateKey({})", self.public().fingerprint())
    }
}

impl PrivateKey {
    pub fn public(&self) -> PublicKey {
        match self {
            PrivateKey::Ed25519(k) => PublicKey::Ed25519(k.verifying_key()),
            PrivateKey::P256(k) => PublicKey::P256(*k.verifying_key()),
        }
    }
}

impl PublicKey {
    /// `SHA256:` and the hex SHA-256 of the raw public key.
    pub fn fingerprint(&self) -> String {
        let raw: Vec<u8> = match self {
            PublicKey::Ed25519(k) => k.as_bytes().to_vec(),
            PublicKey::P256(k) => k.to_encoded_point(false).as_bytes().to_vec(),
        };
        format!("SHA256:{}", hex::encode(Sha256::digest(raw)))
    }

    /// SubjectPublicKeyInfo PEM (LF line ends).
    pub fn pem(&self) -> Result<String> {
        let encoded = match self {
            PublicKey::Ed25519(k) => k.to_public_key_pem(LineEnding::LF),
            PublicKey::P256(k) => {
                p256::pkcs8::EncodePublicKey::to_public_key_pem(k, LineEnding::LF)
            }
        };
        encoded.map_err(|e| Error::Compute {
            context: "cannot encode the key",
            detail: e.to_string(),
        })
    }

    /// The signature scheme, as the manifest names it.
    pub fn algorithm(&self) -> &'static str {
        match self {
            PublicKey::Ed25519(_) => "ed25519",
            PublicKey::P256(_) => "ecdsa-p256-sha256",
        }
    }

    pub fn key_type(&self) -> KeyType {
        match self {
            PublicKey::Ed25519(_) => KeyType::Ed25519,
            PublicKey::P256(_) => KeyType::EcdsaP256,
        }
    }
}

/// What the manifest says about the signature.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct SignatureInfo {
    /// `ed25519` or `ecdsa-p256-sha256`.
    pub algorithm: String,
    /// The signed file (`SHA256SUMS`; `*` for an OpenSSF model signature over every file) and
    /// the signature's file (`SHA256SUMS.sig`, `model.sig`).
    pub signed_file: String,
    pub signature_file: String,
    /// The public key as SubjectPublicKeyInfo PEM.
    pub public_key: String,
    pub fingerprint: String,
}

/// A key pair written by [`new_key`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct NewKey {
    pub key_type: KeyType,
    pub private_key: String,
    pub public_key: String,
    pub fingerprint: String,
}

pub fn fingerprint(key: &VerifyingKey) -> String {
    PublicKey::Ed25519(*key).fingerprint()
}

fn bad_key(path: &Path, detail: impl Into<String>) -> Error {
    Error::BadInput {
        path: path.to_path_buf(),
        detail: detail.into(),
    }
}

/// The public key file's path for a private key file: `FILE.pub`.
pub fn public_path(private: &Path) -> PathBuf {
    let mut name = private.as_os_str().to_owned();
    name.push(".pub");
    PathBuf::from(name)
}

/// Makes a key pair of `kind`: `out` (private, mode 0600) and `out.pub`. Refuses to
/// overwrite either. Each file appears whole or not at all; when `out` holds a private key
/// and `out.pub` is missing (a run stopped between the two), the public half is written from
/// it and that key is the result.
pub fn new_key(out: &Path, kind: KeyType) -> Result<NewKey> {
    let public = public_path(out);
    let exists = |path: &Path| Error::BadArgument {
        argument: "out",
        detail: format!(
            "{} exists; Lathe never overwrites a key, pick another path",
            path.display()
        ),
    };
    if public.exists() {
        return Err(exists(&public));
    }
    if out.exists() {
        let key = read_private(out).map_err(|_| exists(out))?;
        let public_key = key.public();
        write_new(&public, public_key.pem()?.as_bytes(), 0o644)?;
        return Ok(NewKey {
            key_type: public_key.key_type(),
            private_key: out.display().to_string(),
            public_key: public.display().to_string(),
            fingerprint: public_key.fingerprint(),
        });
    }
    let random = || -> Result<[u8; 32]> {
        let mut seed = [0u8; 32];
        getrandom::fill(&mut seed).map_err(|e| Error::Compute {
            context: "cannot make a key",
            detail: format!("the operating system gave no randomness: {e}"),
        })?;
        Ok(seed)
    };
    let encoding = |e: &dyn std::fmt::Display| Error::Compute {
        context: "cannot encode the key",
        detail: e.to_string(),
    };
    let (key, pem) = match kind {
        KeyType::Ed25519 => {
            let key = SigningKey::from_bytes(&random()?);
            let pem = key.to_pkcs8_pem(LineEnding::LF).map_err(|e| encoding(&e))?;
            (PrivateKey::Ed25519(key), pem)
        }
        KeyType::EcdsaP256 => {
            // A random 32 bytes is a valid scalar but for odds of about 2^-32; draw again then.
            let key = loop {
                if let Ok(k) = p256::ecdsa::SigningKey::from_bytes(&random()?.into()) {
                    break k;
                }
            };
            let pem = p256::pkcs8::EncodePrivateKey::to_pkcs8_pem(&key, LineEnding::LF)
                .map_err(|e| encoding(&e))?;
            (PrivateKey::P256(key), pem)
        }
    };
    let public_key = key.public();
    write_new(out, pem.as_bytes(), 0o600)?;
    write_new(&public, public_key.pem()?.as_bytes(), 0o644)?;
    Ok(NewKey {
        key_type: kind,
        private_key: out.display().to_string(),
        public_key: public.display().to_string(),
        fingerprint: public_key.fingerprint(),
    })
}

/// Writes a new file whole or not at all: a temporary file beside it (with `mode`), synced,
/// then linked into place unless something is there.
fn write_new(path: &Path, bytes: &[u8], mode: u32) -> Result<()> {
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let mut builder = tempfile::Builder::new();
    builder.prefix(".lathe-key");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        builder.permissions(std::fs::Permissions::from_mode(mode));
    }
    #[cfg(not(unix))]
    let _ = mode;
    let mut tmp = builder
        .tempfile_in(dir)
        .map_err(|e| Error::write("write the key file", path, e))?;
    tmp.write_all(bytes)
        .and_then(|()| tmp.as_file().sync_all())
        .map_err(|e| Error::write("write the key file", path, e))?;
    tmp.persist_noclobber(path).map_err(|e| {
        if e.error.kind() == std::io::ErrorKind::AlreadyExists {
            Error::BadArgument {
                argument: "out",
                detail: format!(
                    "{} exists; Lathe never overwrites a key, pick another path",
                    path.display()
                ),
            }
        } else {
            Error::write("write the key file", path, e.error)
        }
    })?;
    Ok(())
}

/// Reads a private key: PKCS#8 PEM of either kind, or an OpenSSL SEC1 P-256 key.
pub fn read_private(path: &Path) -> Result<PrivateKey> {
    let text =
        std::fs::read_to_string(path).map_err(|e| Error::io("read the key file", path, e))?;
    if let Ok(k) = SigningKey::from_pkcs8_pem(&text) {
        return Ok(PrivateKey::Ed25519(k));
    }
    if let Ok(k) = <p256::ecdsa::SigningKey as p256::pkcs8::DecodePrivateKey>::from_pkcs8_pem(&text)
    {
        return Ok(PrivateKey::P256(k));
    }
    if let Ok(k) = p256::SecretKey::from_sec1_pem(&text) {
        return Ok(PrivateKey::P256(k.into()));
    }
    Err(bad_key(
        path,
        "not a private key Lathe signs with (Ed25519 or ECDSA P-256, in PKCS#8 PEM; an EC key on another curve is refused); make one with `lathe key new --out FILE [--type ecdsa-p256]`",
    ))
}

/// Reads a public key: SubjectPublicKeyInfo PEM of either kind, or a private key file (its
/// public half).
pub fn read_public(path: &Path) -> Result<PublicKey> {
    let text =
        std::fs::read_to_string(path).map_err(|e| Error::io("read the key file", path, e))?;
    public_from_pem(&text)
        .or_else(|_| read_private(path).map(|k| k.public()).map_err(|e| e.to_string()))
        .map_err(|_| {
            bad_key(
                path,
                "not an Ed25519 or ECDSA P-256 public key in PEM (the `.pub` file `lathe key new` writes)",
            )
        })
}

pub fn public_from_pem(text: &str) -> std::result::Result<PublicKey, String> {
    if let Ok(k) = VerifyingKey::from_public_key_pem(text) {
        return Ok(PublicKey::Ed25519(k));
    }
    <p256::ecdsa::VerifyingKey as p256::pkcs8::DecodePublicKey>::from_public_key_pem(text)
        .map(PublicKey::P256)
        .map_err(|e| e.to_string())
}

pub fn sign(key: &SigningKey, message: &[u8]) -> [u8; 64] {
    key.sign(message).to_bytes()
}

/// Whether `signature` is `key`'s over `message`.
pub fn verify(key: &VerifyingKey, message: &[u8], signature: &[u8]) -> bool {
    let Ok(bytes) = <[u8; 64]>::try_from(signature) else {
        return false;
    };
    key.verify_strict(message, &Signature::from_bytes(&bytes))
        .is_ok()
}
