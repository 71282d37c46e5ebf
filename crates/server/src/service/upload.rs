//! A request body written to a file as it arrives (never held in memory), for uploaded media
//! and disk images; refused when it breaks off, runs past its length or falls short of it.

use ivm_rules::{RuleError, UploadRefusal};
use ivm_storage::{FileError, Upload};

use super::error::host;
use super::ServiceError;

/// A request body's chunks as the API hands them over, `None` at its end.
pub(super) type Chunks<'a> = &'a mut dyn FnMut() -> Option<Result<Vec<u8>, String>>;

/// Writes the `len` bytes of `chunks` to `up` and finishes it; `progress` gets the percent
/// written, each value once.
pub(super) fn receive(
    mut up: Upload,
    len: u64,
    chunks: Chunks,
    progress: &mut dyn FnMut(u8),
) -> Result<(), ServiceError> {
    let mut last = 0;
    while let Some(chunk) = chunks() {
        let chunk = chunk.map_err(|cause| RuleError::Upload(UploadRefusal::BrokeOff { cause }))?;
        if up.written + chunk.len() as u64 > len {
            return Err(RuleError::Upload(UploadRefusal::TooLong { len }).into());
        }
        up.write(&chunk).map_err(host)?;
        let pct = (up.written * 100 / len.max(1)) as u8;
        if pct != last {
            last = pct;
            progress(pct);
        }
    }
    up.finish(len).map_err(|e| match e {
        FileError::Short {
            path,
            expected,
            written,
        } => RuleError::Upload(UploadRefusal::Short {
            path: path.display().to_string(),
            expected,
            written,
        })
        .into(),
        other => host(other),
    })
}
