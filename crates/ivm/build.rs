//! Release builds lay out the daemon's code with the functions it runs first (see
//! `symbol-order.txt`), so the pages the kernel maps in around them are its own.

fn main() {
    println!("cargo:rerun-if-changed=symbol-order.txt");
    println!("cargo:rerun-if-env-changed=IVM_SYMBOL_ORDER");
    if std::env::var("PROFILE").as_deref() != Ok("release") {
        return;
    }
    let file = std::env::var("IVM_SYMBOL_ORDER").unwrap_or_else(|_| {
        format!(
            "{}/symbol-order.txt",
            std::env::var("CARGO_MANIFEST_DIR").unwrap()
        )
    });
    if std::path::Path::new(&file).exists() {
        println!("cargo:rustc-link-arg-bins=-Wl,--symbol-ordering-file={file}");
        // Names no longer in the binary (code changed since the list was made) are skipped.
        println!("cargo:rustc-link-arg-bins=-Wl,--no-warn-symbol-ordering");
    }
}
