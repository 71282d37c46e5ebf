//! A small blocking HTTP/1.1 client for the daemon's Unix socket. The commands make one or two
//! requests each, so a runtime and connection pool would only add start-up time.

use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};

use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::CliError;

/// A connection target: the daemon's socket in the data directory.
pub struct Client {
    socket: PathBuf,
}

#[derive(serde::Deserialize)]
struct ErrorBody {
    message: String,
}

impl Client {
    /// A client for the daemon whose data directory is `data_dir`.
    pub fn new(data_dir: &Path) -> Client {
        Client {
            socket: data_dir.join("ivm.sock"),
        }
    }

    /// The data directory whose daemon this client reaches.
    pub fn data_dir(&self) -> &Path {
        self.socket.parent().unwrap_or(Path::new("/"))
    }

    /// GETs a JSON resource (the routes module names each).
    pub(crate) fn get<T: DeserializeOwned>(&self, path: &str) -> Result<T, CliError> {
        let body = self.call("GET", path, None)?;
        serde_json::from_slice(&body)
            .map_err(|e| CliError::Protocol(format!("unexpected reply to {path}: {e}")))
    }

    /// Sends a change and decodes the reply.
    pub(crate) fn request<B: Serialize + ?Sized, T: DeserializeOwned>(
        &self,
        method: &str,
        path: &str,
        body: Option<&B>,
    ) -> Result<T, CliError> {
        let reply = self.call(method, path, body.map(encode).transpose()?)?;
        serde_json::from_slice(&reply)
            .map_err(|e| CliError::Protocol(format!("unexpected reply to {path}: {e}")))
    }

    /// Sends a change; the reply body is not needed.
    pub(crate) fn send<B: Serialize + ?Sized>(
        &self,
        method: &str,
        path: &str,
        body: Option<&B>,
    ) -> Result<(), CliError> {
        self.call(method, path, body.map(encode).transpose()?)
            .map(|_| ())
    }

    fn call(&self, method: &str, path: &str, body: Option<String>) -> Result<Vec<u8>, CliError> {
        let mut stream = UnixStream::connect(&self.socket).map_err(|e| {
            CliError::Daemon(format!(
                "cannot reach the ivm daemon at {}: {e}; is 'ivm serve' running (and IVM_DATA_DIR right)?",
                self.socket.display()
            ))
        })?;
        let payload = body.unwrap_or_default();
        let request = format!(
            "{method} /api/v1{path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\
             Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{payload}",
            payload.len()
        );
        stream.write_all(request.as_bytes()).map_err(io_err)?;
        // Sized for a listing of a thousand partitions at once rather than grown to it.
        let mut raw = Vec::with_capacity(1 << 20);
        stream.read_to_end(&mut raw).map_err(io_err)?;
        let (status, body) = parse_response(raw)?;
        if (200..300).contains(&status) {
            return Ok(body);
        }
        let message = serde_json::from_slice::<ErrorBody>(&body)
            .map(|e| e.message)
            .unwrap_or_else(|_| String::from_utf8_lossy(&body).into_owned());
        Err(CliError::Api { status, message })
    }
}

fn encode<B: Serialize + ?Sized>(body: &B) -> Result<String, CliError> {
    serde_json::to_string(body)
        .map_err(|e| CliError::Protocol(format!("cannot encode the request: {e}")))
}

fn io_err(e: std::io::Error) -> CliError {
    CliError::Daemon(format!("connection to the ivm daemon failed: {e}"))
}

/// Splits a complete HTTP/1.1 response into status and body (chunked or not).
fn parse_response(mut raw: Vec<u8>) -> Result<(u16, Vec<u8>), CliError> {
    let bad = |what: &str| CliError::Protocol(format!("malformed reply from the daemon: {what}"));
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or_else(|| bad("no header end"))?;
    let head = std::str::from_utf8(&raw[..split]).map_err(|_| bad("header not UTF-8"))?;
    let mut lines = head.split("\r\n");
    let status: u16 = lines
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| bad("status line"))?;
    let chunked = lines.any(|l| {
        let l = l.to_ascii_lowercase();
        l.starts_with("transfer-encoding:") && l.contains("chunked")
    });
    if !chunked {
        // The body moved to the front of the buffer it arrived in, not copied.
        raw.drain(..split + 4);
        return Ok((status, raw));
    }
    let rest = &raw[split + 4..];
    let mut body = Vec::new();
    let mut pos = 0;
    loop {
        let end = rest[pos..]
            .windows(2)
            .position(|w| w == b"\r\n")
            .ok_or_else(|| bad("chunk size"))?
            + pos;
        let size_text = std::str::from_utf8(&rest[pos..end]).map_err(|_| bad("chunk size"))?;
        let size = usize::from_str_radix(size_text.split(';').next().unwrap_or("").trim(), 16)
            .map_err(|_| bad("chunk size"))?;
        pos = end + 2;
        if size == 0 {
            return Ok((status, body));
        }
        let chunk = rest
            .get(pos..pos + size)
            .ok_or_else(|| bad("short chunk"))?;
        body.extend_from_slice(chunk);
        pos += size + 2;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_plain_and_chunked_replies() {
        let plain = b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n{}";
        assert_eq!(
            parse_response(plain.to_vec()).unwrap(),
            (200, b"{}".to_vec())
        );
        let chunked = b"HTTP/1.1 404 Not Found\r\ntransfer-encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n";
        assert_eq!(
            parse_response(chunked.to_vec()).unwrap(),
            (404, b"abcde".to_vec())
        );
        assert!(parse_response(b"garbage".to_vec()).is_err());
    }
}
