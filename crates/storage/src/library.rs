//! The virtual media library's directory: one file per optical medium. New media are written
//! beside their final name (`.NAME.part`) and renamed into place once whole, so a copy or an
//! upload that stops half way never leaves a medium that looks complete.

use std::fs::{File, OpenOptions};
use std::io::{Read, Write};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use crate::files::{allocate, io, FileError};

/// The library's directory.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Library {
    /// The directory.
    pub dir: PathBuf,
}

/// Bytes copied between progress reports.
const REPORT_EVERY: u64 = 8 << 20;

impl Library {
    /// The library at `dir`.
    pub fn new(dir: impl Into<PathBuf>) -> Library {
        Library { dir: dir.into() }
    }

    /// Creates the directory (private to root) if it is missing.
    pub fn create(&self) -> Result<(), FileError> {
        crate::files::guard("library.create")?;
        std::fs::create_dir_all(&self.dir).map_err(io("create", &self.dir))?;
        std::fs::set_permissions(&self.dir, std::fs::Permissions::from_mode(0o700))
            .map_err(io("protect", &self.dir))
    }

    /// Removes the directory, which must hold nothing but unfinished copies.
    pub fn remove(&self) -> Result<(), FileError> {
        crate::files::guard("library.remove")?;
        self.clean_partials()?;
        match std::fs::remove_dir(&self.dir) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(io("remove", &self.dir)(e)),
            _ => Ok(()),
        }
    }

    /// The file of medium `name`.
    pub fn media_path(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }

    fn part_path(&self, name: &str) -> PathBuf {
        self.dir.join(format!(".{name}.part"))
    }

    /// Blank media of `size_mb`, every block allocated.
    pub fn create_blank(&self, name: &str, size_mb: u64) -> Result<(), FileError> {
        crate::files::guard("library.create_blank")?;
        let up = self.begin(name)?;
        allocate(&up.file, &up.part, size_mb)?;
        up.finish_unchecked()
    }

    /// Copies `src` in as medium `name`, calling `progress(copied, total)` as it goes.
    pub fn copy_in(
        &self,
        name: &str,
        src: &Path,
        progress: &mut dyn FnMut(u64, u64),
    ) -> Result<u64, FileError> {
        crate::files::guard("library.copy_in")?;
        let mut from = File::open(src).map_err(io("open", src))?;
        let total = from.metadata().map_err(io("inspect", src))?.len();
        let mut up = self.begin(name)?;
        let mut buf = vec![0u8; 1 << 20];
        let mut since = 0;
        loop {
            let n = from.read(&mut buf).map_err(io("read", src))?;
            if n == 0 {
                break;
            }
            up.write(&buf[..n])?;
            since += n as u64;
            if since >= REPORT_EVERY {
                since = 0;
                progress(up.written, total);
            }
        }
        let written = up.written;
        up.finish(total)?;
        progress(written, total);
        Ok(written)
    }

    /// Starts writing medium `name` (an upload or a copy); nothing is visible under the name
    /// until [`Upload::finish`], and a dropped upload removes what it wrote.
    pub fn begin(&self, name: &str) -> Result<Upload, FileError> {
        crate::files::guard("library.begin")?;
        let (part, path) = (self.part_path(name), self.media_path(name));
        if path.exists() {
            return Err(io("create", &path)(
                std::io::ErrorKind::AlreadyExists.into(),
            ));
        }
        let _ = std::fs::remove_file(&part);
        let file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&part)
            .map_err(io("create", &part))?;
        Ok(Upload {
            file,
            part,
            path,
            written: 0,
            done: false,
        })
    }

    /// Renames medium `from` to `to`.
    pub fn rename(&self, from: &str, to: &str) -> Result<(), FileError> {
        crate::files::guard("library.rename")?;
        let (a, b) = (self.media_path(from), self.media_path(to));
        if b.exists() {
            return Err(io("rename to", &b)(
                std::io::ErrorKind::AlreadyExists.into(),
            ));
        }
        std::fs::rename(&a, &b).map_err(io("rename", &a))
    }

    /// Removes medium `name` and any unfinished copy of it; a missing file is fine.
    pub fn remove_media(&self, name: &str) -> Result<(), FileError> {
        crate::files::guard("library.remove_media")?;
        for path in [self.media_path(name), self.part_path(name)] {
            match std::fs::remove_file(&path) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                    return Err(io("remove", &path)(e))
                }
                _ => {}
            }
        }
        Ok(())
    }

    /// Removes every unfinished copy (after a daemon that died while copying).
    pub fn clean_partials(&self) -> Result<(), FileError> {
        crate::files::guard("library.clean_partials")?;
        let entries = match std::fs::read_dir(&self.dir) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(io("list", &self.dir)(e)),
        };
        for e in entries.flatten() {
            let n = e.file_name().to_string_lossy().into_owned();
            if n.starts_with('.') && n.ends_with(".part") {
                std::fs::remove_file(e.path()).map_err(io("remove", &e.path()))?;
            }
        }
        Ok(())
    }

    /// Opens medium `name` for QEMU: read-only media read-only.
    pub fn open_for_guest(&self, name: &str, writable: bool) -> Result<File, FileError> {
        let path = self.media_path(name);
        OpenOptions::new()
            .read(true)
            .write(writable)
            .open(&path)
            .map_err(io("open", &path))
    }
}

/// A medium being written.
pub struct Upload {
    file: File,
    part: PathBuf,
    path: PathBuf,
    /// Bytes written so far.
    pub written: u64,
    done: bool,
}

impl Upload {
    /// Appends `data`.
    pub fn write(&mut self, data: &[u8]) -> Result<(), FileError> {
        self.file.write_all(data).map_err(io("write", &self.part))?;
        self.written += data.len() as u64;
        Ok(())
    }

    /// Checks that exactly `expected` bytes arrived, then makes the medium visible.
    pub fn finish(self, expected: u64) -> Result<(), FileError> {
        if self.written != expected {
            return Err(FileError::Short {
                path: self.path.clone(),
                expected,
                written: self.written,
            });
        }
        self.finish_unchecked()
    }

    fn finish_unchecked(mut self) -> Result<(), FileError> {
        self.file.sync_all().map_err(io("sync", &self.part))?;
        std::fs::rename(&self.part, &self.path).map_err(io("rename", &self.part))?;
        self.done = true;
        Ok(())
    }
}

impl Drop for Upload {
    fn drop(&mut self) {
        if !self.done {
            let _ = std::fs::remove_file(&self.part);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn media_appear_only_once_whole() {
        let t = tempfile::tempdir().unwrap();
        let lib = Library::new(t.path().join("VMLibrary"));
        lib.create().unwrap();
        let src = t.path().join("src.iso");
        std::fs::write(&src, vec![7u8; (3 << 20) + 5]).unwrap();
        let mut seen = Vec::new();
        let n = lib
            .copy_in("a.iso", &src, &mut |c, total| seen.push((c, total)))
            .unwrap();
        assert_eq!(n, (3 << 20) + 5);
        assert_eq!(seen.last(), Some(&(n, n)));
        assert_eq!(
            std::fs::read(lib.media_path("a.iso")).unwrap().len() as u64,
            n
        );
        assert!(
            lib.copy_in("a.iso", &src, &mut |_, _| {}).is_err(),
            "never replaced"
        );
        // An upload that stops half way leaves nothing.
        let mut up = lib.begin("b.iso").unwrap();
        up.write(b"half").unwrap();
        assert!(lib.part_path("b.iso").exists());
        drop(up);
        assert!(!lib.part_path("b.iso").exists());
        assert!(!lib.media_path("b.iso").exists());
        // One that is short of its announced size fails and leaves nothing either.
        let mut up = lib.begin("c.iso").unwrap();
        up.write(b"abc").unwrap();
        assert!(up.finish(4).is_err());
        assert!(!lib.media_path("c.iso").exists() && !lib.part_path("c.iso").exists());
        lib.create_blank("blank", 2).unwrap();
        assert_eq!(
            std::fs::metadata(lib.media_path("blank")).unwrap().len(),
            2 << 20
        );
        lib.rename("blank", "b2").unwrap();
        assert!(lib.open_for_guest("b2", true).is_ok());
        // A partial copy left by a dead daemon is swept.
        std::fs::write(lib.part_path("x"), b"x").unwrap();
        lib.clean_partials().unwrap();
        assert!(!lib.part_path("x").exists());
        assert!(lib.remove().is_err(), "not empty");
        lib.remove_media("a.iso").unwrap();
        lib.remove_media("b2").unwrap();
        lib.remove_media("b2").unwrap();
        lib.remove().unwrap();
        assert!(!lib.dir.exists());
    }
}
