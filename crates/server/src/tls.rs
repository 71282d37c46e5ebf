//! The HTTPS certificate: the one given, or a self-signed one made on first start.

use std::fs;
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use axum_server::tls_rustls::RustlsConfig;

/// Loads the given certificate and key, or the generated pair in `DATA_DIR/tls`.
pub(crate) async fn rustls_config(
    data_dir: &Path,
    cert: Option<&Path>,
    key: Option<&Path>,
    hostname: &str,
) -> anyhow::Result<RustlsConfig> {
    let (cert, key) = match (cert, key) {
        (Some(c), Some(k)) => (c.to_path_buf(), k.to_path_buf()),
        (None, None) => generated_pair(data_dir, hostname)?,
        _ => bail!("--cert and --key must be given together"),
    };
    RustlsConfig::from_pem_file(&cert, &key)
        .await
        .with_context(|| {
            format!(
                "cannot load TLS certificate {} and key {}",
                cert.display(),
                key.display()
            )
        })
}

fn generated_pair(data_dir: &Path, hostname: &str) -> anyhow::Result<(PathBuf, PathBuf)> {
    let dir = data_dir.join("tls");
    let (cert, key) = (dir.join("cert.pem"), dir.join("key.pem"));
    if cert.exists() && key.exists() {
        return Ok((cert, key));
    }
    fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let names = vec![
        "localhost".to_string(),
        hostname.to_string(),
        "127.0.0.1".into(),
        "::1".into(),
    ];
    let pair =
        rcgen::generate_simple_self_signed(names).context("cannot generate a TLS certificate")?;
    write_file(&key, pair.key_pair.serialize_pem().as_bytes(), 0o600)?;
    write_file(&cert, pair.cert.pem().as_bytes(), 0o644)?;
    tracing::info!(cert = %cert.display(), "generated a self-signed TLS certificate");
    Ok((cert, key))
}

fn write_file(path: &Path, bytes: &[u8], mode: u32) -> anyhow::Result<()> {
    let mut f = fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(mode)
        .open(path)
        .with_context(|| format!("cannot write {}", path.display()))?;
    f.write_all(bytes)?;
    f.sync_all()?;
    Ok(())
}
