//! The storage behind the disk: a raw image file read and written with positional I/O.

use std::fs::File;
use std::fs::OpenOptions;
use std::io;
use std::os::unix::fs::FileExt;
use std::path::Path;

/// Storage a virtio-blk device serves. Offsets are in bytes and have been checked
/// against [`BlockBackend::len`] by the caller.
pub trait BlockBackend: Send + Sync {
    /// Size in bytes (the guest sees it rounded down to whole sectors).
    fn len(&self) -> u64;
    /// Whether the disk has no bytes at all.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// Whether writes are refused.
    fn read_only(&self) -> bool;
    /// Fills `buf` from `offset`.
    fn read_at(&self, buf: &mut [u8], offset: u64) -> io::Result<()>;
    /// Writes `buf` at `offset`.
    fn write_at(&self, buf: &[u8], offset: u64) -> io::Result<()>;
    /// Makes completed writes durable.
    fn flush(&self) -> io::Result<()>;
}

/// A raw image file.
#[derive(Debug)]
pub struct FileBackend {
    file: File,
    len: u64,
    read_only: bool,
}

impl FileBackend {
    /// Opens `path` (read-write unless `read_only`).
    pub fn open(path: &Path, read_only: bool) -> io::Result<Self> {
        let file = OpenOptions::new().read(true).write(!read_only).open(path)?;
        Self::from_file(file, read_only)
    }

    /// Serves an already opened file.
    pub fn from_file(file: File, read_only: bool) -> io::Result<Self> {
        let len = file.metadata()?.len();
        Ok(Self {
            file,
            len,
            read_only,
        })
    }
}

impl BlockBackend for FileBackend {
    fn len(&self) -> u64 {
        self.len
    }

    fn read_only(&self) -> bool {
        self.read_only
    }

    fn read_at(&self, buf: &mut [u8], offset: u64) -> io::Result<()> {
        self.file.read_exact_at(buf, offset)
    }

    fn write_at(&self, buf: &[u8], offset: u64) -> io::Result<()> {
        if self.read_only {
            return Err(io::Error::from(io::ErrorKind::PermissionDenied));
        }
        self.file.write_all_at(buf, offset)
    }

    fn flush(&self) -> io::Result<()> {
        if self.read_only {
            return Ok(());
        }
        self.file.sync_data()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::TempFile;

    #[test]
    fn file_round_trip() {
        let tmp = TempFile::new(4096);
        let b = FileBackend::open(tmp.path(), false).unwrap();
        assert_eq!(b.len(), 4096);
        b.write_at(&[1, 2, 3], 510).unwrap();
        let mut buf = [0u8; 4];
        b.read_at(&mut buf, 509).unwrap();
        assert_eq!(buf, [0, 1, 2, 3]);
        b.flush().unwrap();
        // Reading past the end is an error, not a short read.
        assert!(b.read_at(&mut buf, 4094).is_err());
    }

    #[test]
    fn read_only_refuses_writes() {
        let tmp = TempFile::new(1024);
        let b = FileBackend::open(tmp.path(), true).unwrap();
        assert!(b.read_only());
        assert!(b.write_at(&[1], 0).is_err());
        b.flush().unwrap();
    }
}
