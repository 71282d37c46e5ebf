//! Failure injection for tests: named points on the paths that change the host, armed by the
//! `IVM_FAILPOINTS` environment variable of `ivm serve` (`name=action;name=action`).
//!
//! Actions: `error` (the step fails as a host error would), `abort` (the daemon dies on the
//! spot, as with SIGKILL), `wait:FIFO` (the step blocks until a test opens the FIFO for writing
//! and closes it, so a test can hold a request at an exact point without sleeping). Unset, every
//! point is a no-op; production daemons never set it.

use std::collections::HashMap;
use std::sync::OnceLock;

/// The armed points, read once.
fn armed() -> &'static HashMap<String, String> {
    static ARMED: OnceLock<HashMap<String, String>> = OnceLock::new();
    ARMED.get_or_init(|| {
        std::env::var("IVM_FAILPOINTS")
            .unwrap_or_default()
            .split(';')
            .filter_map(|item| item.split_once('='))
            .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
            .collect()
    })
}

/// A failure injected at a point.
#[derive(Debug, thiserror::Error)]
#[error("injected failure at {0}")]
pub struct Injected(pub String);

/// Passes point `name`: returns an error, dies or waits when a test armed it.
pub fn hit(name: &str) -> Result<(), Injected> {
    let Some(action) = armed().get(name) else {
        return Ok(());
    };
    match action.as_str() {
        "error" => Err(Injected(name.to_string())),
        "abort" => {
            tracing::warn!(point = name, "failpoint: aborting the daemon");
            std::process::abort()
        }
        other => {
            if let Some(fifo) = other.strip_prefix("wait:") {
                // Opening a FIFO for reading blocks until a writer opens it; reading to the
                // end waits for the writer to close it.
                if let Ok(mut f) = std::fs::File::open(fifo) {
                    let mut sink = Vec::new();
                    let _ = std::io::Read::read_to_end(&mut f, &mut sink);
                }
            }
            Ok(())
        }
    }
}
