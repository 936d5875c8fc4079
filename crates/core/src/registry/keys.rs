//! Signing keys: minisign-compatible Ed25519 key pairs.
//!
//! Each user has one key pair in their own config dir (`runlens.key`, `runlens.pub`), made on first
//! use, the secret key unencrypted (as `minisign -G -W` makes it) and readable by its owner only.
//! A public key is published into the project at `.runlens/registry/keys/<ID>.pub`, in minisign's
//! public key file format, by the first event it signs; `minisign -V -p` takes that file as it is.

use std::io::Cursor;
use std::path::Path;

use minisign::{PublicKey, PublicKeyBox, SecretKey, SecretKeyBox, SignatureBox};

use crate::Error;

pub const SECRET_FILE: &str = "runlens.key";
pub const PUBLIC_FILE: &str = "runlens.pub";
/// The trusted comment of every event signature (signed together with the signature).
pub const TRUSTED_COMMENT: &str = "runlens registry event";

/// A key id as minisign prints it: the 8-byte key number, little-endian, 16 uppercase hex digits.
pub fn key_id(keynum: &[u8]) -> String {
    let mut b = [0u8; 8];
    b.copy_from_slice(&keynum[..8]);
    format!("{:016X}", u64::from_le_bytes(b))
}

pub fn is_key_id(s: &str) -> bool {
    s.len() == 16 && s.bytes().all(|b| b.is_ascii_digit() || (b'A'..=b'F').contains(&b))
}

pub struct Signer {
    pk: PublicKey,
    sk: SecretKey,
    pub id: String,
}

impl Signer {
    /// The key pair in `key_dir`, made there (and the folder with it) when there is none yet.
    pub fn load_or_create(key_dir: &Path) -> Result<Signer, Error> {
        let sk_path = key_dir.join(SECRET_FILE);
        let pk_path = key_dir.join(PUBLIC_FILE);
        let err = |what: &str, p: &Path, e: &dyn std::fmt::Display| {
            Error::Io(format!("your signing key {what} {}: {e}", p.display()))
        };
        match std::fs::read_to_string(&sk_path) {
            Ok(text) => {
                let sk = SecretKeyBox::from_string(&text)
                    .and_then(SecretKey::from_unencrypted_box)
                    .map_err(|e| err("cannot be read from", &sk_path, &e))?;
                let pk = PublicKey::from_secret_key(&sk).map_err(|e| err("cannot be read from", &sk_path, &e))?;
                let id = key_id(pk.keynum());
                Ok(Signer { pk, sk, id })
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                std::fs::create_dir_all(key_dir).map_err(|e| err("folder cannot be made:", key_dir, &e))?;
                let kp = minisign::KeyPair::generate_unencrypted_keypair()
                    .map_err(|e| Error::Io(format!("a signing key cannot be made: {e}")))?;
                let id = key_id(kp.pk.keynum());
                let sk_text = kp
                    .sk
                    .to_box(Some(&format!("runlens secret key {id} (unencrypted: keep this file private)")))
                    .map_err(|e| Error::Io(e.to_string()))?
                    .to_string();
                write_private(&sk_path, sk_text.as_bytes()).map_err(|e| err("cannot be written to", &sk_path, &e))?;
                let pub_text = kp.pk.to_box().map_err(|e| Error::Io(e.to_string()))?.to_string();
                crate::files::write_file_atomic(&pk_path, pub_text.as_bytes())
                    .map_err(|e| err("cannot be written to", &pk_path, &e))?;
                Ok(Signer { pk: kp.pk, sk: kp.sk, id })
            }
            Err(e) => Err(err("cannot be read from", &sk_path, &e)),
        }
    }

    /// The key id of the pair in `key_dir`, if there is one; never makes one.
    pub fn existing_id(key_dir: &Path) -> Option<String> {
        let text = std::fs::read_to_string(key_dir.join(SECRET_FILE)).ok()?;
        let sk = SecretKeyBox::from_string(&text).and_then(SecretKey::from_unencrypted_box).ok()?;
        let pk = PublicKey::from_secret_key(&sk).ok()?;
        Some(key_id(pk.keynum()))
    }

    /// The minisign signature file's text for `message`, with the trusted comment
    /// `runlens registry event`.
    pub fn sign(&self, message: &[u8]) -> Result<String, Error> {
        self.sign_with_comment(message, TRUSTED_COMMENT)
    }

    /// The minisign signature file's text for `message` (prehashed with BLAKE2b-512, as minisign
    /// signs by default) with `trusted` as its trusted comment. Plain Ed25519 signs
    /// deterministically, so the same message and key always give the same text (the minisign
    /// crate adds random noise to its signatures; a reproducible export cannot use that).
    pub fn sign_with_comment(&self, message: &[u8], trusted: &str) -> Result<String, Error> {
        use blake2::Digest;
        use ct_codecs::{Base64, Encoder};
        use ed25519_dalek::Signer as _;
        // The secret key's bytes: sig_alg(2) kdf_alg(2) chk_alg(2) salt(32) opslimit(8) memlimit(8)
        // keynum(8) sk(64: the Ed25519 seed, then the public key) chk(32).
        let raw = self.sk.to_bytes();
        let (keynum, sk) = (&raw[54..62], &raw[62..126]);
        let seed: [u8; 32] = sk[..32].try_into().map_err(|_| Error::Io("a malformed secret key".into()))?;
        let key = ed25519_dalek::SigningKey::from_bytes(&seed);
        if key.verifying_key().to_bytes()[..] != sk[32..] {
            return Err(Error::Io("the secret key does not match its public key".into()));
        }
        let trusted: String = trusted.chars().filter(|c| !c.is_control()).collect();
        let prehash = blake2::Blake2b512::digest(message);
        let sig = key.sign(&prehash).to_bytes();
        let mut line = b"ED".to_vec();
        line.extend_from_slice(keynum);
        line.extend_from_slice(&sig);
        let mut signed_comment = sig.to_vec();
        signed_comment.extend_from_slice(trusted.as_bytes());
        let global = key.sign(&signed_comment).to_bytes();
        let b64 = |b: &[u8]| Base64::encode_to_string(b).map_err(|e| Error::Io(format!("signing failed: {e}")));
        Ok(format!(
            "untrusted comment: signature from runlens key {}\n{}\ntrusted comment: {trusted}\n{}\n",
            self.id,
            b64(&line)?,
            b64(&global)?
        ))
    }

    /// The public key file published into the project: minisign's format, its comment naming whose
    /// key it is (a comment is not signed: the key is what counts).
    pub fn public_file(&self, owner: &str) -> String {
        let owner: String = owner.chars().filter(|c| !c.is_control()).collect();
        format!("untrusted comment: minisign public key {} of {owner}\n{}\n", self.id, self.pk.to_base64())
    }
}

/// Writes a file only its owner may read (the secret key), created exclusively.
fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let mut o = std::fs::OpenOptions::new();
    o.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        o.mode(0o600);
    }
    let mut f = o.open(path)?;
    f.write_all(bytes)?;
    f.sync_all()
}

/// Parses a public key file (or a bare base64 key line) and returns the key and its id.
pub fn parse_public(text: &str) -> Option<(PublicKey, String)> {
    let line = text.lines().map(str::trim).find(|l| !l.is_empty() && !l.starts_with("untrusted comment:"))?;
    let pk =
        PublicKey::from_base64(line).or_else(|_| PublicKeyBox::from_string(text).and_then(|b| b.into_public_key()));
    let pk = pk.ok()?;
    let id = key_id(pk.keynum());
    Some((pk, id))
}

/// Checks a minisign signature (prehashed, with its trusted comment) of `message` by `pk`.
pub fn verify(pk: &PublicKey, signature: &str, message: &[u8]) -> Result<(), String> {
    let sig = SignatureBox::from_string(signature).map_err(|e| format!("the signature does not parse: {e}"))?;
    if sig.trusted_comment().ok().as_deref() != Some(TRUSTED_COMMENT) {
        return Err("the signature's trusted comment is not Runlens's".into());
    }
    minisign::verify(pk, &sig, Cursor::new(message), true, false, false).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures_are_deterministic_and_verify_as_minisign_signatures() {
        let dir = tempfile::tempdir().unwrap();
        let signer = Signer::load_or_create(dir.path()).unwrap();
        let a = signer.sign(b"{\"kind\":\"register\"}").unwrap();
        assert_eq!(a, signer.sign(b"{\"kind\":\"register\"}").unwrap(), "same message, same signature");
        let text = std::fs::read_to_string(dir.path().join(PUBLIC_FILE)).unwrap();
        let (pk, id) = parse_public(&text).unwrap();
        assert_eq!(id, signer.id);
        verify(&pk, &a, b"{\"kind\":\"register\"}").unwrap();
        assert!(verify(&pk, &a, b"{\"kind\":\"registers\"}").is_err());
        // Signed by the minisign crate's own verifier with a foreign comment: refused as not ours.
        let other = signer.sign_with_comment(b"x", "something else").unwrap();
        assert!(verify(&pk, &other, b"x").unwrap_err().contains("trusted comment"));
    }
}
