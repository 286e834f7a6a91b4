//! Content hashes as lockfiles write them, and as SRI strings.
//!
//! Accepted spellings: `sha256:<hex>` (poetry, uv, pip `--hash`),
//! `sha256=<hex>` (URL fragments, `RECORD`), SRI `sha512-<base64>` (npm
//! `integrity`), and bare hex with a known algorithm (Cargo checksums).

use base64::Engine;
use serde::{Serialize, Serializer};
use std::fmt;

/// A hash algorithm a lockfile may pin.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum HashAlgorithm {
    /// MD5: accepted from old lockfiles, never trusted alone.
    Md5,
    /// SHA-1 (old npm lockfiles).
    Sha1,
    /// SHA-256.
    Sha256,
    /// SHA-384.
    Sha384,
    /// SHA-512.
    Sha512,
}

impl HashAlgorithm {
    /// The name used in `algo:hex` and SRI spellings.
    pub fn as_str(self) -> &'static str {
        match self {
            HashAlgorithm::Md5 => "md5",
            HashAlgorithm::Sha1 => "sha1",
            HashAlgorithm::Sha256 => "sha256",
            HashAlgorithm::Sha384 => "sha384",
            HashAlgorithm::Sha512 => "sha512",
        }
    }

    /// Parses an algorithm name (case-insensitive).
    pub fn parse(name: &str) -> Option<Self> {
        match name.to_ascii_lowercase().as_str() {
            "md5" => Some(HashAlgorithm::Md5),
            "sha1" => Some(HashAlgorithm::Sha1),
            "sha256" => Some(HashAlgorithm::Sha256),
            "sha384" => Some(HashAlgorithm::Sha384),
            "sha512" => Some(HashAlgorithm::Sha512),
            _ => None,
        }
    }

    /// Digest length in bytes.
    pub fn len(self) -> usize {
        match self {
            HashAlgorithm::Md5 => 16,
            HashAlgorithm::Sha1 => 20,
            HashAlgorithm::Sha256 => 32,
            HashAlgorithm::Sha384 => 48,
            HashAlgorithm::Sha512 => 64,
        }
    }

    /// How much we trust it to identify content (higher is stronger).
    pub fn strength(self) -> u8 {
        match self {
            HashAlgorithm::Md5 => 0,
            HashAlgorithm::Sha1 => 1,
            HashAlgorithm::Sha256 => 2,
            HashAlgorithm::Sha384 => 3,
            HashAlgorithm::Sha512 => 4,
        }
    }
}

impl fmt::Display for HashAlgorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A digest with its algorithm.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Hash {
    /// The algorithm.
    pub algorithm: HashAlgorithm,
    /// The raw digest bytes.
    pub digest: Vec<u8>,
}

/// Why a hash string could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HashParseError {
    /// The algorithm is not one we know.
    #[error("unknown hash algorithm `{0}` (expected sha256, sha512, sha384, sha1 or md5)")]
    UnknownAlgorithm(String),
    /// The digest is not valid hex / base64, or has the wrong length.
    #[error("`{0}` is not a valid {1} digest")]
    BadDigest(String, HashAlgorithm),
    /// No algorithm separator found.
    #[error(
        "`{0}` is not a hash (expected `sha256:<hex>` or an SRI string like `sha512-<base64>`)"
    )]
    Malformed(String),
}

impl Hash {
    /// A hash from raw bytes.
    pub fn new(algorithm: HashAlgorithm, digest: Vec<u8>) -> Self {
        Hash { algorithm, digest }
    }

    /// Parses hex digits for a known algorithm.
    pub fn from_hex(algorithm: HashAlgorithm, hex_digest: &str) -> Result<Self, HashParseError> {
        let digest = hex::decode(hex_digest.trim())
            .map_err(|_| HashParseError::BadDigest(hex_digest.to_owned(), algorithm))?;
        if digest.len() != algorithm.len() {
            return Err(HashParseError::BadDigest(hex_digest.to_owned(), algorithm));
        }
        Ok(Hash { algorithm, digest })
    }

    /// Parses `algo:hex` or `algo=hex`.
    pub fn parse_prefixed(s: &str) -> Result<Self, HashParseError> {
        let (algo, hex_digest) = s
            .split_once(':')
            .or_else(|| s.split_once('='))
            .ok_or_else(|| HashParseError::Malformed(s.to_owned()))?;
        let algorithm = HashAlgorithm::parse(algo)
            .ok_or_else(|| HashParseError::UnknownAlgorithm(algo.to_owned()))?;
        Hash::from_hex(algorithm, hex_digest)
    }

    /// Parses one SRI token `algo-base64` (options after `?` are ignored).
    pub fn parse_sri(s: &str) -> Result<Self, HashParseError> {
        let s = s.trim();
        let (algo, b64) = s
            .split_once('-')
            .ok_or_else(|| HashParseError::Malformed(s.to_owned()))?;
        let algorithm = HashAlgorithm::parse(algo)
            .ok_or_else(|| HashParseError::UnknownAlgorithm(algo.to_owned()))?;
        let b64 = b64.split('?').next().unwrap_or_default();
        let digest = base64::engine::general_purpose::STANDARD
            .decode(b64)
            .map_err(|_| HashParseError::BadDigest(s.to_owned(), algorithm))?;
        if digest.len() != algorithm.len() {
            return Err(HashParseError::BadDigest(s.to_owned(), algorithm));
        }
        Ok(Hash { algorithm, digest })
    }

    /// Parses a whitespace-separated SRI string (npm `integrity` may hold
    /// several).
    pub fn parse_sri_list(s: &str) -> Result<Vec<Self>, HashParseError> {
        s.split_whitespace().map(Hash::parse_sri).collect()
    }

    /// The SRI spelling, `sha256-<base64>`.
    pub fn to_sri(&self) -> String {
        format!(
            "{}-{}",
            self.algorithm,
            base64::engine::general_purpose::STANDARD.encode(&self.digest)
        )
    }

    /// The digest as lowercase hex.
    pub fn hex(&self) -> String {
        hex::encode(&self.digest)
    }

    /// Picks the strongest of several hashes.
    pub fn strongest(hashes: &[Hash]) -> Option<&Hash> {
        hashes.iter().max_by_key(|h| h.algorithm.strength())
    }
}

/// How a lockfile writes its hashes, so that messages show them the way
/// the user sees them in the lock.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum HashNotation {
    /// `sha256:<hex>`: poetry.lock, uv.lock, requirements.txt `--hash`.
    Prefixed,
    /// Bare hex: Cargo.lock's `checksum`.
    Hex,
    /// Subresource Integrity, `sha512-<base64>`: package-lock.json's
    /// `integrity` (and the plan).
    #[default]
    Sri,
}

impl HashNotation {
    /// The notation of an ecosystem's lockfiles.
    pub fn of(ecosystem: crate::Ecosystem) -> HashNotation {
        match ecosystem {
            crate::Ecosystem::Pypi => HashNotation::Prefixed,
            crate::Ecosystem::Crates => HashNotation::Hex,
            crate::Ecosystem::Npm => HashNotation::Sri,
        }
    }
}

impl Hash {
    /// The hash as `notation` writes it.
    pub fn in_notation(&self, notation: HashNotation) -> String {
        match notation {
            HashNotation::Prefixed => self.to_string(),
            HashNotation::Hex => self.hex(),
            HashNotation::Sri => self.to_sri(),
        }
    }
}

/// `algo:hex`.
impl fmt::Display for Hash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.algorithm, self.hex())
    }
}

/// Serialised as SRI, the form the plan uses.
impl Serialize for Hash {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_sri())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefixed_and_sri_agree() {
        // sha256 of the empty string.
        let hex = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
        let h = Hash::parse_prefixed(&format!("sha256:{hex}")).unwrap();
        assert_eq!(
            h.to_sri(),
            "sha256-47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="
        );
        assert_eq!(Hash::parse_sri(&h.to_sri()).unwrap(), h);
        assert_eq!(Hash::parse_prefixed(&format!("sha256={hex}")).unwrap(), h);
        assert_eq!(h.to_string(), format!("sha256:{hex}"));
    }

    #[test]
    fn rejects_bad_input() {
        assert!(matches!(
            Hash::parse_prefixed("sha256:zz"),
            Err(HashParseError::BadDigest(..))
        ));
        assert!(matches!(
            Hash::parse_prefixed("sha256:abcd"),
            Err(HashParseError::BadDigest(..))
        ));
        assert!(matches!(
            Hash::parse_prefixed("whirl:abcd"),
            Err(HashParseError::UnknownAlgorithm(_))
        ));
        assert!(matches!(
            Hash::parse_prefixed("nohash"),
            Err(HashParseError::Malformed(_))
        ));
        assert!(Hash::parse_sri("sha512-notbase64!!").is_err());
    }

    #[test]
    fn sri_list_and_strongest() {
        let list = Hash::parse_sri_list(
            "sha1-2jmj7l5rSw0yVb/vlWAYkK/YBwk= sha512-z4PhNX7vuL3xVChQ1m2AB9Yg5AULVxXcg/SpIdNs6c5H0NE8XYXysP+DGNKHfuwvY7kxvUdBeoGlODJ6+SfaPg==",
        )
        .unwrap();
        assert_eq!(list.len(), 2);
        assert_eq!(
            Hash::strongest(&list).unwrap().algorithm,
            HashAlgorithm::Sha512
        );
    }
}
