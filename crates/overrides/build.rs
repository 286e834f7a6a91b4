//! `include_dir!` does not tell cargo which files it read: rebuild when
//! the community database changes (a directory here means every file
//! below it).
fn main() {
    println!("cargo:rerun-if-changed=../../overrides");
}
