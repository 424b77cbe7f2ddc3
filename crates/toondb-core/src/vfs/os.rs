//! The operating-system [`Vfs`].

use super::{FileLock, RandomAccessFile, Vfs, WritableFile};
use std::fs::{self, File, OpenOptions};
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Permission bits of files ToonDB creates unless told otherwise: owner read/write only,
/// like a private database.
pub const DEFAULT_FILE_MODE: u32 = 0o600;

/// The real file system.
#[derive(Debug, Clone, Copy)]
pub struct OsVfs {
    /// Permission bits for newly created files (Unix; the process umask still applies).
    mode: u32,
}

impl Default for OsVfs {
    fn default() -> Self {
        OsVfs::new()
    }
}

impl OsVfs {
    /// A handle creating files with [`DEFAULT_FILE_MODE`] (owner read/write only).
    pub fn new() -> Self {
        OsVfs {
            mode: DEFAULT_FILE_MODE,
        }
    }

    /// A handle creating files with permission bits `mode` (e.g. `0o640`; Unix only, ignored
    /// elsewhere; the process umask still applies).
    pub fn with_file_mode(mode: u32) -> Self {
        OsVfs {
            mode: mode & 0o7777,
        }
    }

    /// The permission bits new files get.
    pub fn file_mode(&self) -> u32 {
        self.mode
    }

    fn options(&self) -> OpenOptions {
        #[allow(unused_mut)]
        let mut o = OpenOptions::new();
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            o.mode(self.mode);
        }
        o
    }
}

struct OsWritable {
    w: BufWriter<File>,
    len: u64,
}

impl WritableFile for OsWritable {
    fn append(&mut self, data: &[u8]) -> io::Result<()> {
        self.w.write_all(data)?;
        self.len += data.len() as u64;
        Ok(())
    }
    fn flush(&mut self) -> io::Result<()> {
        self.w.flush()
    }
    fn sync(&mut self) -> io::Result<()> {
        self.w.flush()?;
        self.w.get_ref().sync_data()
    }
    fn len(&self) -> u64 {
        self.len
    }
}

struct OsReadable {
    #[cfg(unix)]
    f: File,
    #[cfg(not(unix))]
    f: parking_lot::Mutex<File>,
    len: u64,
}

impl RandomAccessFile for OsReadable {
    #[cfg(unix)]
    fn read_exact_at(&self, offset: u64, buf: &mut [u8]) -> io::Result<()> {
        use std::os::unix::fs::FileExt;
        self.f.read_exact_at(buf, offset)
    }
    #[cfg(not(unix))]
    fn read_exact_at(&self, offset: u64, buf: &mut [u8]) -> io::Result<()> {
        use std::io::{Read, Seek, SeekFrom};
        let mut f = self.f.lock();
        f.seek(SeekFrom::Start(offset))?;
        f.read_exact(buf)
    }
    fn len(&self) -> u64 {
        self.len
    }
}

#[derive(Debug)]
struct OsLock {
    _file: File,
}
impl FileLock for OsLock {}

impl Vfs for OsVfs {
    fn create(&self, path: &Path) -> io::Result<Box<dyn WritableFile>> {
        let f = self
            .options()
            .write(true)
            .create(true)
            .truncate(true)
            .open(path)?;
        Ok(Box::new(OsWritable {
            w: BufWriter::with_capacity(64 * 1024, f),
            len: 0,
        }))
    }
    fn open_append(&self, path: &Path) -> io::Result<Box<dyn WritableFile>> {
        let f = OpenOptions::new().append(true).open(path)?;
        let len = f.metadata()?.len();
        Ok(Box::new(OsWritable {
            w: BufWriter::with_capacity(64 * 1024, f),
            len,
        }))
    }
    fn open_read(&self, path: &Path) -> io::Result<Arc<dyn RandomAccessFile>> {
        let f = File::open(path)?;
        let len = f.metadata()?.len();
        #[cfg(not(unix))]
        let f = parking_lot::Mutex::new(f);
        Ok(Arc::new(OsReadable { f, len }))
    }
    fn read_all(&self, path: &Path) -> io::Result<Vec<u8>> {
        fs::read(path)
    }
    fn exists(&self, path: &Path) -> bool {
        path.exists()
    }
    fn remove(&self, path: &Path) -> io::Result<()> {
        fs::remove_file(path)
    }
    fn rename(&self, from: &Path, to: &Path) -> io::Result<()> {
        fs::rename(from, to)
    }
    fn list_dir(&self, path: &Path) -> io::Result<Vec<PathBuf>> {
        let mut out = Vec::new();
        for e in fs::read_dir(path)? {
            out.push(PathBuf::from(e?.file_name()));
        }
        out.sort();
        Ok(out)
    }
    fn create_dir_all(&self, path: &Path) -> io::Result<()> {
        fs::create_dir_all(path)
    }
    fn sync_dir(&self, path: &Path) -> io::Result<()> {
        #[cfg(unix)]
        {
            File::open(path)?.sync_all()
        }
        #[cfg(not(unix))]
        {
            let _ = path;
            Ok(())
        }
    }
    fn file_size(&self, path: &Path) -> io::Result<u64> {
        Ok(fs::metadata(path)?.len())
    }
    fn truncate(&self, path: &Path, len: u64) -> io::Result<()> {
        let f = OpenOptions::new().write(true).open(path)?;
        f.set_len(len)?;
        f.sync_all()
    }
    fn hard_link(&self, from: &Path, to: &Path) -> io::Result<()> {
        fs::hard_link(from, to)
    }
    fn lock(&self, path: &Path) -> io::Result<Box<dyn FileLock>> {
        let f = self
            .options()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(path)?;
        match f.try_lock() {
            Ok(()) => Ok(Box::new(OsLock { _file: f })),
            Err(fs::TryLockError::WouldBlock) => Err(io::Error::new(
                io::ErrorKind::WouldBlock,
                format!("{} is locked", path.display()),
            )),
            Err(fs::TryLockError::Error(e)) => Err(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn write_read_rename_lock() {
        let dir = tempfile::tempdir().unwrap();
        let vfs = OsVfs::new();
        let p = dir.path().join("a");
        let mut w = vfs.create(&p).unwrap();
        w.append(b"hello ").unwrap();
        w.append(b"world").unwrap();
        assert_eq!(w.len(), 11);
        w.sync().unwrap();
        drop(w);
        let mut w = vfs.open_append(&p).unwrap();
        assert_eq!(w.len(), 11);
        w.append(b"!").unwrap();
        w.sync().unwrap();
        let r = vfs.open_read(&p).unwrap();
        let mut buf = [0u8; 5];
        r.read_exact_at(6, &mut buf).unwrap();
        assert_eq!(&buf, b"world");
        assert!(r.read_exact_at(10, &mut [0u8; 5]).is_err());
        vfs.truncate(&p, 5).unwrap();
        assert_eq!(vfs.read_all(&p).unwrap(), b"hello");
        let q = dir.path().join("b");
        vfs.rename(&p, &q).unwrap();
        assert!(!vfs.exists(&p));
        vfs.sync_dir(dir.path()).unwrap();
        let names = vfs.list_dir(dir.path()).unwrap();
        assert_eq!(names, vec![PathBuf::from("b")]);

        let lp = dir.path().join("LOCK");
        let g = vfs.lock(&lp).unwrap();
        let e = vfs.lock(&lp).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::WouldBlock);
        drop(g);
        vfs.lock(&lp).unwrap();
    }

    #[cfg(unix)]
    #[test]
    fn files_are_created_with_the_chosen_mode() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let mode_of = |p: &Path| fs::metadata(p).unwrap().permissions().mode() & 0o777;
        let p = dir.path().join("private");
        drop(OsVfs::new().create(&p).unwrap());
        assert_eq!(mode_of(&p), 0o600);
        let q = dir.path().join("group");
        drop(OsVfs::with_file_mode(0o640).create(&q).unwrap());
        // The umask may clear bits, never add them.
        assert_eq!(mode_of(&q) & !0o640, 0);
        assert_eq!(mode_of(&q) & 0o600, 0o600);
        let l = dir.path().join("LOCK");
        drop(OsVfs::new().lock(&l).unwrap());
        assert_eq!(mode_of(&l), 0o600);
        OsVfs::new()
            .hard_link(&p, &dir.path().join("link"))
            .unwrap();
        assert!(dir.path().join("link").exists());
    }
}
