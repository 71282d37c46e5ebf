//! The browser console's files, built by Vite into `web/dist` and embedded at compile time, so
//! one binary serves the console.

use std::borrow::Cow;

#[derive(rust_embed::RustEmbed)]
#[folder = "../../web/dist"]
struct Dist;

/// A file of the console: its bytes and content type.
pub struct Asset {
    /// File contents.
    pub bytes: Cow<'static, [u8]>,
    /// MIME type for Content-Type.
    pub mime: &'static str,
    /// Whether the name carries a content hash (safe to cache for long).
    pub immutable: bool,
}

fn mime(path: &str) -> &'static str {
    match path.rsplit('.').next().unwrap_or("") {
        "html" => "text/html; charset=utf-8",
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "ico" => "image/x-icon",
        "woff2" => "font/woff2",
        "woff" => "font/woff",
        "ttf" => "font/ttf",
        "json" => "application/json",
        _ => "application/octet-stream",
    }
}

/// The file at `path` (without the leading `/`); any other path gets the single page's
/// `index.html`, whose router shows the page.
pub fn asset(path: &str) -> Option<Asset> {
    let (name, file) = match Dist::get(path) {
        Some(f) if !path.is_empty() => (path, f),
        _ => ("index.html", Dist::get("index.html")?),
    };
    Some(Asset {
        bytes: file.data,
        mime: mime(name),
        immutable: name.starts_with("assets/"),
    })
}
