//! Log files another process appends to (QEMU's console log, opened with `O_APPEND`): kept
//! within a size by moving the newest part aside (`NAME.1`) and truncating the file in place,
//! which the writer's next append follows.

use std::fs::{File, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

/// When `path` holds more than `max` bytes, keeps its last `max / 2` bytes in `path.1`
/// (replacing the previous one) and empties `path`; returns whether it did. Links are never
/// followed (the directory is ivm's, but a log must not point root elsewhere).
pub fn bound(path: &Path, max: u64) -> io::Result<bool> {
    let mut f = match OpenOptions::new()
        .read(true)
        .write(true)
        .custom_flags(libc::O_NOFOLLOW)
        .open(path)
    {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(false),
        Err(e) => return Err(e),
    };
    let len = f.metadata()?.len();
    if len <= max {
        return Ok(false);
    }
    let keep = max / 2;
    f.seek(SeekFrom::Start(len - keep))?;
    let mut tail = Vec::with_capacity(keep as usize);
    (&mut f).take(keep).read_to_end(&mut tail)?;
    let old = path.with_extension("log.1");
    let tmp = path.with_extension("log.1.new");
    let mut t: File = OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .custom_flags(libc::O_NOFOLLOW)
        .open(&tmp)?;
    t.write_all(&tail)?;
    std::fs::rename(&tmp, &old)?;
    // What the writer appends between the copy and the truncation (microseconds of console
    // output) is lost: the price of bounding a file another process holds open.
    f.set_len(0)?;
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_log_over_its_bound_keeps_its_newest_half_aside() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("console.log");
        assert!(!bound(&p, 10).unwrap(), "no log yet");
        let mut w = OpenOptions::new()
            .append(true)
            .create(true)
            .open(&p)
            .unwrap();
        w.write_all(b"0123456789").unwrap();
        assert!(!bound(&p, 10).unwrap());
        w.write_all(b"abcdef").unwrap();
        assert!(bound(&p, 10).unwrap());
        assert_eq!(
            std::fs::read(d.path().join("console.log.1")).unwrap(),
            b"bcdef"
        );
        assert_eq!(std::fs::metadata(&p).unwrap().len(), 0);
        // The appending writer goes on at the new end.
        w.write_all(b"xyz").unwrap();
        assert_eq!(std::fs::read(&p).unwrap(), b"xyz");
        std::os::unix::fs::symlink(&p, d.path().join("link.log")).unwrap();
        assert!(
            bound(&d.path().join("link.log"), 1).is_err(),
            "links are not followed"
        );
    }
}
