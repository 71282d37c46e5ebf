//! The console must be built (npm ci && npm run build in web/) before ivm: say so plainly
//! instead of embedding nothing.

fn main() {
    let index = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../web/dist/index.html");
    println!("cargo:rerun-if-changed=../../web/dist");
    if !index.is_file() {
        panic!(
            "the browser console is not built ({} is missing): run `npm ci && npm run build` in web/ \
             (scripts/run.sh and scripts/test.sh do)",
            index.display()
        );
    }
}
