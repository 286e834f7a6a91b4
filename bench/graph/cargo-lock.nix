# An importCargoLock-style read of a Cargo.lock with builtins only (no
# nixpkgs): one fixed-output derivation per registry crate, by the lock's
# checksum, and one vendor directory that takes them all, as nixpkgs'
# importCargoLock does. bench/graph/run.sh instantiates it beside the
# lock2build graph of the same lock.
{ lock, system ? builtins.currentSystem }:
let
  doc = builtins.fromTOML (builtins.readFile lock);
  crates = builtins.filter (p: p ? checksum) doc.package;
  fetch = p: derivation {
    inherit system;
    name = "${p.name}-${p.version}.crate";
    builder = "builtin:fetchurl";
    url = "https://static.crates.io/crates/${p.name}/${p.name}-${p.version}.crate";
    outputHashMode = "flat";
    outputHashAlgo = "sha256";
    outputHash = p.checksum;
    executable = false;
    unpack = false;
  };
  fetched = map fetch crates;
in
derivation {
  inherit system;
  name = "cargo-vendor-dir";
  builder = "/bin/sh";
  args = [ "-c" "mkdir $out; for c in $crates; do ln -s $c $out/; done" ];
  crates = fetched;
}
