//! Release builds lay out the daemon's code with the functions it runs first (see
//! `symbol-order.txt`), so the pages the kernel maps in around them are its own.

fn main() {
    println!("cargo:rerun-if-changed=symbol-order.txt");
    if std::env::var("PROFILE").as_deref() != Ok("release") {
        return;
    }
    let dir = std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR");
    let file = format!("{dir}/symbol-order.txt");
    // A missing list would give a release binary of twice the resident code without a word.
    assert!(
        std::path::Path::new(&file).exists(),
        "{file} is missing: write it with scripts/symbol-order.sh"
    );
    println!("cargo:rustc-link-arg-bins=-Wl,--symbol-ordering-file={file}");
    // Names no longer in the binary (code changed since the list was made) are skipped.
    println!("cargo:rustc-link-arg-bins=-Wl,--no-warn-symbol-ordering");
}
