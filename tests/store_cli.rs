//! `lock2build store verify [--repair]` end to end on a store with a
//! damaged source.

mod common;

use common::*;

#[test]
fn store_verify_finds_and_repairs_a_damaged_source() {
    let store = tempdir("verify-store");
    let verify = |extra: &[&str]| {
        let mut args = vec!["store", "verify"];
        args.extend_from_slice(extra);
        lock2build(&args, &shared_cache(), &store)
    };
    let out = verify(&[]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stdout(&out).contains("checked 0 source(s) and 0 output(s): 0 damaged"),
        "{}",
        stdout(&out)
    );

    // A file under a sha256 name whose bytes have another hash.
    let bad = store
        .join("sources")
        .join(format!("sha256-{}", sha256_hex(b"what was stored")));
    std::fs::write(&bad, b"what is there now").unwrap();
    let out = verify(&[]);
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    assert!(stdout(&out).contains("hash mismatch"), "{}", stdout(&out));
    assert!(stdout(&out).contains("--repair"), "{}", stdout(&out));

    let out = verify(&["--repair", "--json"]);
    assert!(out.status.success(), "{}", stdout(&out));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["damaged"][0]["removed"], true, "{report}");
    assert!(!bad.exists());
}
