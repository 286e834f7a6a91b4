//! Hashing bytes once with every algorithm the store indexes by.

use lock2build_model::{Hash, HashAlgorithm};
use md5::Md5;
use sha1::Sha1;
use sha2::{Digest, Sha256, Sha384, Sha512};

/// Hashes a stream with sha1, sha256, sha384 and sha512 (and md5 on
/// request), so one pass both verifies a download against whatever the
/// lockfile pinned and names it for every index of the store.
#[derive(Clone)]
pub struct MultiHasher {
    sha1: Sha1,
    sha256: Sha256,
    sha384: Sha384,
    sha512: Sha512,
    md5: Option<Md5>,
    len: u64,
}

impl MultiHasher {
    /// A fresh hasher; `with_md5` adds md5 (only needed to check an md5 a
    /// lockfile pins next to a stronger hash).
    pub fn new(with_md5: bool) -> Self {
        MultiHasher {
            sha1: Sha1::new(),
            sha256: Sha256::new(),
            sha384: Sha384::new(),
            sha512: Sha512::new(),
            md5: with_md5.then(Md5::new),
            len: 0,
        }
    }

    /// A hasher fit to verify `expected` (md5 only if one is pinned).
    pub fn for_expected(expected: &[Hash]) -> Self {
        MultiHasher::new(expected.iter().any(|h| h.algorithm == HashAlgorithm::Md5))
    }

    /// Feeds bytes.
    pub fn update(&mut self, bytes: &[u8]) {
        self.sha1.update(bytes);
        self.sha256.update(bytes);
        self.sha384.update(bytes);
        self.sha512.update(bytes);
        if let Some(md5) = &mut self.md5 {
            md5.update(bytes);
        }
        self.len += bytes.len() as u64;
    }

    /// Bytes fed so far.
    pub fn len(&self) -> u64 {
        self.len
    }

    /// Whether nothing was fed.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The digests.
    pub fn finish(self) -> Digests {
        Digests {
            sha1: Hash::new(HashAlgorithm::Sha1, self.sha1.finalize().to_vec()),
            sha256: Hash::new(HashAlgorithm::Sha256, self.sha256.finalize().to_vec()),
            sha384: Hash::new(HashAlgorithm::Sha384, self.sha384.finalize().to_vec()),
            sha512: Hash::new(HashAlgorithm::Sha512, self.sha512.finalize().to_vec()),
            md5: self
                .md5
                .map(|m| Hash::new(HashAlgorithm::Md5, m.finalize().to_vec())),
            len: self.len,
        }
    }
}

impl std::io::Write for MultiHasher {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.update(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// The digests of one file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Digests {
    /// sha1.
    pub sha1: Hash,
    /// sha256: the store names files by it.
    pub sha256: Hash,
    /// sha384.
    pub sha384: Hash,
    /// sha512.
    pub sha512: Hash,
    /// md5, when asked for.
    pub md5: Option<Hash>,
    /// Length in bytes.
    pub len: u64,
}

impl Digests {
    /// The digest with `algorithm`, if computed.
    pub fn get(&self, algorithm: HashAlgorithm) -> Option<&Hash> {
        match algorithm {
            HashAlgorithm::Sha1 => Some(&self.sha1),
            HashAlgorithm::Sha256 => Some(&self.sha256),
            HashAlgorithm::Sha384 => Some(&self.sha384),
            HashAlgorithm::Sha512 => Some(&self.sha512),
            HashAlgorithm::Md5 => self.md5.as_ref(),
        }
    }

    /// Every indexed digest (not md5).
    pub fn indexed(&self) -> [&Hash; 4] {
        [&self.sha256, &self.sha512, &self.sha384, &self.sha1]
    }

    /// Checks every pinned hash; the first that differs is returned as
    /// `(expected, actual)`. Strongest hashes are checked first, so the
    /// error names the one that matters.
    pub fn check(&self, expected: &[Hash]) -> Result<(), (Hash, Hash)> {
        let mut sorted: Vec<&Hash> = expected.iter().collect();
        sorted.sort_by_key(|h| std::cmp::Reverse(h.algorithm.strength()));
        for want in sorted {
            let Some(got) = self.get(want.algorithm) else {
                // md5 not computed: callers use `MultiHasher::for_expected`.
                continue;
            };
            if got.digest != want.digest {
                return Err((want.clone(), got.clone()));
            }
        }
        Ok(())
    }
}

/// Whether `hashes` has one the store trusts to identify content.
pub(crate) fn trusted(hashes: &[Hash]) -> Option<&Hash> {
    hashes
        .iter()
        .filter(|h| h.algorithm != HashAlgorithm::Md5)
        .max_by_key(|h| h.algorithm.strength())
}

/// The file name of a hash in `sources/` and `partial/`: `sha256-<hex>`.
pub(crate) fn entry_name(hash: &Hash) -> String {
    format!("{}-{}", hash.algorithm, hash.hex())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_digests_and_check() {
        let mut h = MultiHasher::new(true);
        h.update(b"abc");
        let d = h.finish();
        assert_eq!(
            d.sha256.hex(),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(d.sha1.hex(), "a9993e364706816aba3e25717850c26c9cd0d89d");
        assert_eq!(
            d.md5.as_ref().unwrap().hex(),
            "900150983cd24fb0d6963f7d28e17f72"
        );
        assert!(d.check(&[d.sha512.clone(), d.sha1.clone()]).is_ok());
        let wrong = Hash::new(HashAlgorithm::Sha1, vec![0; 20]);
        let (want, got) = d.check(&[d.sha512.clone(), wrong.clone()]).unwrap_err();
        assert_eq!(want, wrong);
        assert_eq!(got, d.sha1);
    }
}
