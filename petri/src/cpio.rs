//! A minimal writer for `newc` cpio archives, the format Linux unpacks as an
//! initramfs. Entries are written with uid/gid 0 and an explicit mode, so no
//! root privileges are needed to build images that contain device nodes.
//!
//! Several archives may be concatenated: the kernel unpacks them in order and a
//! later entry replaces an earlier one with the same name.

use std::collections::BTreeSet;
use std::io;
use std::io::Write;

/// `S_IFDIR`.
const S_IFDIR: u32 = 0o040000;
/// `S_IFREG`.
const S_IFREG: u32 = 0o100000;
/// `S_IFLNK`.
const S_IFLNK: u32 = 0o120000;
/// `S_IFCHR`.
const S_IFCHR: u32 = 0o020000;

/// Builds one `newc` archive in memory-friendly streaming fashion.
pub struct CpioWriter<W: Write> {
    out: W,
    written: u64,
    ino: u32,
    dirs: BTreeSet<String>,
}

impl<W: Write> CpioWriter<W> {
    /// Starts an archive written to `out`.
    pub fn new(out: W) -> Self {
        Self {
            out,
            written: 0,
            ino: 1,
            dirs: BTreeSet::new(),
        }
    }

    /// Adds a directory (and its missing parents). `path` is relative, without a
    /// leading `/`.
    pub fn dir(&mut self, path: &str) -> io::Result<()> {
        let path = path.trim_matches('/');
        if path.is_empty() || self.dirs.contains(path) {
            return Ok(());
        }
        if let Some((parent, _)) = path.rsplit_once('/') {
            self.dir(parent)?;
        }
        self.dirs.insert(path.to_string());
        self.entry(path, S_IFDIR | 0o755, 0, &[])
    }

    /// Adds a regular file with the given permission bits (e.g. `0o755`).
    pub fn file(&mut self, path: &str, perm: u32, data: &[u8]) -> io::Result<()> {
        let path = path.trim_start_matches('/');
        self.parent(path)?;
        self.entry(path, S_IFREG | (perm & 0o7777), 0, data)
    }

    /// Adds a symbolic link `path` pointing at `target`.
    pub fn symlink(&mut self, path: &str, target: &str) -> io::Result<()> {
        let path = path.trim_start_matches('/');
        self.parent(path)?;
        self.entry(path, S_IFLNK | 0o777, 0, target.as_bytes())
    }

    /// Adds a character device node.
    pub fn char_dev(&mut self, path: &str, perm: u32, major: u32, minor: u32) -> io::Result<()> {
        let path = path.trim_start_matches('/');
        self.parent(path)?;
        self.entry(path, S_IFCHR | (perm & 0o7777), (major << 8) | minor, &[])
    }

    /// Writes the trailer and returns the underlying writer.
    pub fn finish(mut self) -> io::Result<W> {
        self.entry("TRAILER!!!", 0, 0, &[])?;
        // Pad the archive to a 512-byte boundary like cpio(1) does.
        let pad = (512 - (self.written % 512)) % 512;
        self.out.write_all(&vec![0; pad as usize])?;
        Ok(self.out)
    }

    fn parent(&mut self, path: &str) -> io::Result<()> {
        match path.rsplit_once('/') {
            Some((parent, _)) => self.dir(parent),
            None => Ok(()),
        }
    }

    fn entry(&mut self, name: &str, mode: u32, rdev: u32, data: &[u8]) -> io::Result<()> {
        let ino = self.ino;
        self.ino += 1;
        let namesize = name.len() + 1;
        let header = format!(
            "070701{:08x}{:08x}{:08x}{:08x}{:08x}{:08x}{:08x}{:08x}{:08x}{:08x}{:08x}{:08x}{:08x}",
            ino,
            mode,
            0, // uid
            0, // gid
            if mode & S_IFDIR == S_IFDIR { 2 } else { 1 },
            0, // mtime: fixed, so archives are reproducible
            data.len(),
            0, // devmajor
            0, // devminor
            rdev >> 8,
            rdev & 0xff,
            namesize,
            0, // check
        );
        self.put(header.as_bytes())?;
        self.put(name.as_bytes())?;
        self.put(&[0])?;
        self.align()?;
        self.put(data)?;
        self.align()
    }

    fn put(&mut self, b: &[u8]) -> io::Result<()> {
        self.out.write_all(b)?;
        self.written += b.len() as u64;
        Ok(())
    }

    fn align(&mut self) -> io::Result<()> {
        let pad = (4 - (self.written % 4)) % 4;
        self.put(&[0; 4][..pad as usize])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn build() -> Vec<u8> {
        let mut w = CpioWriter::new(Vec::new());
        w.file("a/b/c.txt", 0o644, b"hello").unwrap();
        w.symlink("bin/sh", "busybox").unwrap();
        w.char_dev("dev/console", 0o600, 5, 1).unwrap();
        w.finish().unwrap()
    }

    #[test]
    fn layout_is_newc() {
        let a = build();
        assert_eq!(a.len() % 512, 0);
        assert!(a.starts_with(b"070701"));
        // Parents come before children.
        let s = String::from_utf8_lossy(&a);
        let pa = s.find("a\0").unwrap();
        let pab = s.find("a/b\0").unwrap();
        let pc = s.find("a/b/c.txt\0").unwrap();
        assert!(pa < pab && pab < pc);
        assert!(s.contains("TRAILER!!!\0"));
    }

    #[test]
    fn entries_are_aligned() {
        let a = build();
        // Walk the headers: every header starts at a 4-byte boundary with the magic.
        let mut off = 0;
        loop {
            assert_eq!(&a[off..off + 6], b"070701", "at {off}");
            let field = |i: usize| {
                let s = std::str::from_utf8(&a[off + 6 + i * 8..off + 14 + i * 8]).unwrap();
                usize::from_str_radix(s, 16).unwrap()
            };
            let filesize = field(6);
            let namesize = field(11);
            let name = &a[off + 110..off + 110 + namesize - 1];
            if name == b"TRAILER!!!" {
                break;
            }
            if name == b"dev/console" {
                assert_eq!(field(9), 5);
                assert_eq!(field(10), 1);
            }
            off = (off + 110 + namesize).div_ceil(4) * 4;
            off = (off + filesize).div_ceil(4) * 4;
        }
    }
}
