//! File pools: a directory whose files are virtual disks.

use std::fs::{File, OpenOptions};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::os::unix::io::AsRawFd;
use std::path::{Path, PathBuf};

/// A file pool operation that failed.
#[derive(Debug, thiserror::Error)]
pub enum FileError {
    /// The filesystem call failed.
    #[error("{action} {path}: {source}")]
    Io {
        /// What was being done.
        action: &'static str,
        /// On which path.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// Fewer bytes arrived than were announced.
    #[error("{path}: {written} of {expected} bytes arrived; nothing was kept")]
    Short {
        /// The medium being written.
        path: PathBuf,
        /// Bytes announced.
        expected: u64,
        /// Bytes that arrived.
        written: u64,
    },
    /// The filesystem has less free space than asked for.
    #[error("the filesystem of {path} has {free_mb} MB free, {needed_mb} MB are needed")]
    NoSpace {
        /// The pool's directory.
        path: PathBuf,
        /// MB free on that filesystem.
        free_mb: u64,
        /// MB needed.
        needed_mb: u64,
    },
    /// Asked for inside a store write transaction (a bug; nothing was done).
    #[error(transparent)]
    InWriteTransaction(#[from] ivm_txguard::InWriteTransaction),
}

/// Refuses a file pool or library action inside a store write transaction.
pub(crate) fn guard(what: &'static str) -> Result<(), FileError> {
    Ok(ivm_txguard::host_action(what)?)
}

pub(crate) fn io<'a>(
    action: &'static str,
    path: &'a Path,
) -> impl FnOnce(std::io::Error) -> FileError + 'a {
    move |source| FileError::Io {
        action,
        path: path.to_path_buf(),
        source,
    }
}

/// A file pool's directory.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FilePool {
    /// The directory.
    pub dir: PathBuf,
}

impl FilePool {
    /// The pool at `dir`.
    pub fn new(dir: impl Into<PathBuf>) -> FilePool {
        FilePool { dir: dir.into() }
    }

    /// Creates the directory (private to root) if it is missing.
    pub fn create(&self) -> Result<(), FileError> {
        guard("files.create")?;
        std::fs::create_dir_all(&self.dir).map_err(io("create", &self.dir))?;
        std::fs::set_permissions(&self.dir, std::fs::Permissions::from_mode(0o700))
            .map_err(io("protect", &self.dir))
    }

    /// MB free on the pool's filesystem (for root).
    pub fn fs_free_mb(&self) -> Result<u64, FileError> {
        guard("files.fs_free_mb")?;
        let c = std::ffi::CString::new(self.dir.as_os_str().as_encoded_bytes()).map_err(|_| {
            FileError::Io {
                action: "inspect",
                path: self.dir.clone(),
                source: std::io::ErrorKind::InvalidInput.into(),
            }
        })?;
        // SAFETY: statvfs writes into the struct we own; the path is NUL-terminated.
        let mut st: libc::statvfs = unsafe { std::mem::zeroed() };
        if unsafe { libc::statvfs(c.as_ptr(), &mut st) } != 0 {
            return Err(io("inspect", &self.dir)(std::io::Error::last_os_error()));
        }
        Ok((st.f_bfree as u64 * st.f_frsize as u64) >> 20)
    }

    /// Checks that the filesystem has `mb` free.
    pub fn check_space(&self, mb: u64) -> Result<(), FileError> {
        guard("files.check_space")?;
        let free = self.fs_free_mb()?;
        if free < mb {
            return Err(FileError::NoSpace {
                path: self.dir.clone(),
                free_mb: free,
                needed_mb: mb,
            });
        }
        Ok(())
    }

    /// The file of virtual disk `name`.
    pub fn disk_path(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }

    /// Creates disk `name` of `size_mb`: every block allocated, or sparse when `thin`. Never
    /// replaces an existing file; on failure nothing is left.
    pub fn create_disk(&self, name: &str, size_mb: u64, thin: bool) -> Result<PathBuf, FileError> {
        self.create_disk_with_progress(name, size_mb, thin, &mut |_| {})
    }

    /// As [`FilePool::create_disk`], allocating a large disk in steps and calling
    /// `progress(percent)` after each.
    pub fn create_disk_with_progress(
        &self,
        name: &str,
        size_mb: u64,
        thin: bool,
        progress: &mut dyn FnMut(u8),
    ) -> Result<PathBuf, FileError> {
        guard("files.create_disk_with_progress")?;
        let path = self.disk_path(name);
        let f = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&path)
            .map_err(io("create", &path))?;
        let sized = if thin {
            size(&f, &path, size_mb, true)
        } else {
            allocate_in_steps(&f, &path, size_mb, progress)
        };
        if let Err(e) = sized {
            let _ = std::fs::remove_file(&path);
            return Err(e);
        }
        f.sync_all().map_err(io("sync", &path))?;
        Ok(path)
    }

    /// Opens disk `name` for writing its contents (an image import).
    pub fn open_disk(&self, name: &str) -> Result<File, FileError> {
        guard("files.open_disk")?;
        let path = self.disk_path(name);
        OpenOptions::new()
            .read(true)
            .write(true)
            .open(&path)
            .map_err(io("open", &path))
    }

    /// Allocates every block of disk `name` again (after an import, whose zeroes may have
    /// been written as holes), so that a full pool's disk keeps the space it committed.
    pub fn reallocate_disk(&self, name: &str, size_mb: u64) -> Result<(), FileError> {
        guard("files.reallocate_disk")?;
        let path = self.disk_path(name);
        let f = self.open_disk(name)?;
        allocate(&f, &path, size_mb)?;
        f.sync_all().map_err(io("sync", &path))
    }

    /// Grows disk `name` to `size_mb` (never shrinks).
    pub fn grow_disk(&self, name: &str, size_mb: u64, thin: bool) -> Result<(), FileError> {
        guard("files.grow_disk")?;
        let path = self.disk_path(name);
        let f = OpenOptions::new()
            .write(true)
            .open(&path)
            .map_err(io("open", &path))?;
        let now = f.metadata().map_err(io("inspect", &path))?.len();
        if now >= size_mb << 20 {
            return Ok(());
        }
        size(&f, &path, size_mb, thin)?;
        f.sync_all().map_err(io("sync", &path))
    }

    /// Renames disk `from` to `to`.
    pub fn rename_disk(&self, from: &str, to: &str) -> Result<(), FileError> {
        guard("files.rename_disk")?;
        let (a, b) = (self.disk_path(from), self.disk_path(to));
        if b.exists() {
            return Err(io("rename to", &b)(
                std::io::ErrorKind::AlreadyExists.into(),
            ));
        }
        std::fs::rename(&a, &b).map_err(io("rename", &a))
    }

    /// Removes disk `name`; a missing file is fine (an interrupted removal).
    pub fn remove_disk(&self, name: &str) -> Result<(), FileError> {
        guard("files.remove_disk")?;
        let path = self.disk_path(name);
        match std::fs::remove_file(&path) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(io("remove", &path)(e)),
            _ => Ok(()),
        }
    }
}

/// Opens a disk file for QEMU: read-write, with direct I/O when the filesystem has it (QEMU
/// matches a passed descriptor's flags to the cache mode it uses). Returns the file and
/// whether it is direct.
pub fn open_for_guest(path: &Path) -> Result<(File, bool), FileError> {
    let path = path.to_path_buf();
    {
        let open = |direct: bool| {
            OpenOptions::new()
                .read(true)
                .write(true)
                .custom_flags(if direct { libc::O_DIRECT } else { 0 })
                .open(&path)
        };
        match open(true) {
            Ok(f) => Ok((f, true)),
            // tmpfs and some others have no O_DIRECT.
            Err(e) if e.raw_os_error() == Some(libc::EINVAL) => {
                open(false).map(|f| (f, false)).map_err(io("open", &path))
            }
            Err(e) => Err(io("open", &path)(e)),
        }
    }
}

fn size(f: &File, path: &Path, size_mb: u64, thin: bool) -> Result<(), FileError> {
    if thin {
        return f.set_len(size_mb << 20).map_err(io("size", path));
    }
    allocate(f, path, size_mb)
}

/// MB allocated per step of a disk being made, between progress reports.
const ALLOCATE_STEP_MB: u64 = 1024;

fn allocate_in_steps(
    f: &File,
    path: &Path,
    size_mb: u64,
    progress: &mut dyn FnMut(u8),
) -> Result<(), FileError> {
    let mut done = 0;
    while done < size_mb {
        let step = ALLOCATE_STEP_MB.min(size_mb - done);
        // SAFETY: fallocate on a descriptor we own.
        let r = unsafe {
            libc::fallocate(
                f.as_raw_fd(),
                0,
                (done << 20) as libc::off_t,
                (step << 20) as libc::off_t,
            )
        };
        if r != 0 {
            return Err(io("allocate", path)(std::io::Error::last_os_error()));
        }
        done += step;
        progress((done * 100 / size_mb.max(1)) as u8);
    }
    Ok(())
}

/// Allocates every block of the first `size_mb` of `f`.
pub(crate) fn allocate(f: &File, path: &Path, size_mb: u64) -> Result<(), FileError> {
    let bytes = size_mb << 20;
    // SAFETY: fallocate on a descriptor we own.
    let r = unsafe { libc::fallocate(f.as_raw_fd(), 0, 0, bytes as libc::off_t) };
    if r != 0 {
        return Err(io("allocate", path)(std::io::Error::last_os_error()));
    }
    Ok(())
}

/// Whether this kernel lets a process set up io_uring (some disable it by sysctl or seccomp).
pub fn io_uring_available() -> bool {
    // SAFETY: io_uring_setup with a zeroed params struct; the returned descriptor is closed.
    let mut params = [0u8; 120];
    let fd = unsafe { libc::syscall(libc::SYS_io_uring_setup, 1u32, params.as_mut_ptr()) };
    if fd >= 0 {
        unsafe { libc::close(fd as i32) };
        true
    } else {
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::MetadataExt;

    #[test]
    fn disks_are_allocated_grown_renamed_and_removed() {
        let t = tempfile::tempdir().unwrap();
        let pool = FilePool::new(t.path().join("pool"));
        pool.create().unwrap();
        assert_eq!(
            std::fs::metadata(&pool.dir).unwrap().permissions().mode() & 0o777,
            0o700
        );
        let p = pool.create_disk("d1", 8, false).unwrap();
        let m = std::fs::metadata(&p).unwrap();
        assert_eq!(m.len(), 8 << 20);
        assert!(m.blocks() * 512 >= 8 << 20, "preallocated");
        assert_eq!(m.permissions().mode() & 0o777, 0o600);
        assert!(pool.create_disk("d1", 8, false).is_err(), "never replaced");
        let thin = pool.create_disk("t1", 64, true).unwrap();
        let mut seen = Vec::new();
        pool.create_disk_with_progress("big", 2500, false, &mut |p| seen.push(p))
            .unwrap();
        assert_eq!(seen, vec![40, 81, 100]);
        assert!(std::fs::metadata(pool.disk_path("big")).unwrap().blocks() * 512 >= 2500 << 20);
        pool.remove_disk("big").unwrap();
        assert!(
            std::fs::metadata(&thin).unwrap().blocks() * 512 < 64 << 20,
            "sparse"
        );
        pool.grow_disk("d1", 16, false).unwrap();
        assert_eq!(std::fs::metadata(&p).unwrap().len(), 16 << 20);
        pool.grow_disk("d1", 4, false).unwrap();
        assert_eq!(
            std::fs::metadata(&p).unwrap().len(),
            16 << 20,
            "never shrunk"
        );
        let (f, direct) = open_for_guest(&pool.disk_path("d1")).unwrap();
        assert!(direct, "ext4 has O_DIRECT");
        drop(f);
        pool.rename_disk("d1", "d2").unwrap();
        assert!(pool.rename_disk("t1", "d2").is_err());
        pool.remove_disk("d2").unwrap();
        pool.remove_disk("d2").unwrap();
        assert!(!pool.disk_path("d2").exists());
        assert!(pool.fs_free_mb().unwrap() > 0);
        assert!(pool.check_space(u64::MAX >> 21).is_err());
    }
}
