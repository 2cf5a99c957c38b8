//! Ed25519 keys and signatures for bundles.
//!
//! A private key is a PKCS#8 PEM file (`-----BEGIN PRIVATE KEY-----`, mode 0600), its public
//! key a SubjectPublicKeyInfo PEM file beside it (`.pub`). These are OpenSSL's formats, so ops
//! can check a signature without Lathe:
//! `openssl pkeyutl -verify -pubin -inkey key.pub -rawin -in SHA256SUMS -sigfile SHA256SUMS.sig`.
//! The signature is the raw 64 bytes over the `SHA256SUMS` file. A key's fingerprint is
//! `SHA256:` and the hex SHA-256 of its 32 raw public-key bytes.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use ed25519_dalek::pkcs8::spki::der::pem::LineEnding;
use ed25519_dalek::pkcs8::{DecodePrivateKey, DecodePublicKey, EncodePrivateKey, EncodePublicKey};
use ed25519_dalek::{Signature, Signer, SigningKey, VerifyingKey};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::{Error, Result};

/// What the manifest says about the signature.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct SignatureInfo {
    /// `ed25519`.
    pub algorithm: String,
    /// The signed file (`SHA256SUMS`) and the signature's file.
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
    pub private_key: String,
    pub public_key: String,
    pub fingerprint: String,
}

pub fn fingerprint(key: &VerifyingKey) -> String {
    format!("SHA256:{}", hex::encode(Sha256::digest(key.as_bytes())))
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

/// Makes a key pair: `out` (private, mode 0600) and `out.pub`. Refuses to overwrite either.
pub fn new_key(out: &Path) -> Result<NewKey> {
    let public = public_path(out);
    for path in [out, public.as_path()] {
        if path.exists() {
            return Err(Error::BadArgument {
                argument: "out",
                detail: format!(
                    "{} exists; Lathe never overwrites a key, pick another path",
                    path.display()
                ),
            });
        }
    }
    let mut seed = [0u8; 32];
    getrandom::fill(&mut seed).map_err(|e| Error::Compute {
        context: "cannot make a key",
        detail: format!("the operating system gave no randomness: {e}"),
    })?;
    let key = SigningKey::from_bytes(&seed);
    let pem = key
        .to_pkcs8_pem(LineEnding::LF)
        .map_err(|e| Error::Compute {
            context: "cannot encode the key",
            detail: e.to_string(),
        })?;
    let public_pem = key
        .verifying_key()
        .to_public_key_pem(LineEnding::LF)
        .map_err(|e| Error::Compute {
            context: "cannot encode the key",
            detail: e.to_string(),
        })?;
    write_new(out, pem.as_bytes(), 0o600)?;
    write_new(&public, public_pem.as_bytes(), 0o644)?;
    Ok(NewKey {
        private_key: out.display().to_string(),
        public_key: public.display().to_string(),
        fingerprint: fingerprint(&key.verifying_key()),
    })
}

fn write_new(path: &Path, bytes: &[u8], mode: u32) -> Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(mode);
    }
    #[cfg(not(unix))]
    let _ = mode;
    let mut file = options
        .open(path)
        .map_err(|e| Error::write("write the key file", path, e))?;
    file.write_all(bytes)
        .and_then(|()| file.sync_all())
        .map_err(|e| Error::write("write the key file", path, e))
}

/// Reads a private key (PKCS#8 PEM).
pub fn read_private(path: &Path) -> Result<SigningKey> {
    let text =
        std::fs::read_to_string(path).map_err(|e| Error::io("read the key file", path, e))?;
    SigningKey::from_pkcs8_pem(&text).map_err(|e| {
        bad_key(
            path,
            format!("not an Ed25519 private key in PKCS#8 PEM ({e}); make one with `lathe key new --out FILE`"),
        )
    })
}

/// Reads a public key: SubjectPublicKeyInfo PEM, or a private key file (its public half).
pub fn read_public(path: &Path) -> Result<VerifyingKey> {
    let text =
        std::fs::read_to_string(path).map_err(|e| Error::io("read the key file", path, e))?;
    public_from_pem(&text)
        .or_else(|_| SigningKey::from_pkcs8_pem(&text).map(|k| k.verifying_key()))
        .map_err(|_| {
            bad_key(
                path,
                "not an Ed25519 public key in PEM (the `.pub` file `lathe key new` writes)",
            )
        })
}

pub fn public_from_pem(text: &str) -> std::result::Result<VerifyingKey, String> {
    VerifyingKey::from_public_key_pem(text).map_err(|e| e.to_string())
}

pub fn public_pem(key: &VerifyingKey) -> Result<String> {
    key.to_public_key_pem(LineEnding::LF)
        .map_err(|e| Error::Compute {
            context: "cannot encode the key",
            detail: e.to_string(),
        })
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
