//! Helpers shared by the store's tests.
#![allow(dead_code)]

use lock2build_store::{Digests, MultiHasher, NodeId};

/// A node id for a test output called `name`.
pub fn node(name: &str) -> NodeId {
    NodeId::compute(
        name,
        &serde_json::json!({"kind": "test"}),
        &[],
        &[],
        "x86_64-linux",
    )
    .unwrap()
}

/// Every digest of `bytes` (md5 included).
pub fn digests(bytes: &[u8]) -> Digests {
    let mut h = MultiHasher::new(true);
    h.update(bytes);
    h.finish()
}
