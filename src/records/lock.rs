//! One writer per folder: a process that writes into a model folder (training, `ntm eval
//! --save`) or a sweep folder (`ntm sweep`, `ntm summarize`) holds the folder's lock, a file
//! `.lock` locked with the operating system's advisory file lock (`flock(2)`; the standard
//! library's [`File::try_lock`]). A second writer is refused at once, naming the holder's
//! process id and host, which the holder writes into the file.
//!
//! The operating system releases the lock when its holder exits, however it exits (a kill, a
//! crash, a lost node): a lock left by a dead process never blocks. A holder that ends normally
//! also removes the file; a lock taken on a file that was removed meanwhile is given up and
//! taken again on the file now there, so two processes never hold the same folder.

use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read, Seek, Write};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use crate::error::{io, Error, Result};

/// The lock file inside a locked folder.
pub const LOCK_FILE: &str = ".lock";

/// The lock of one folder, held until dropped.
#[derive(Debug)]
pub struct FolderLock {
    file: File,
    path: PathBuf,
}

impl FolderLock {
    /// Creates folder `dir` if needed and takes its lock; `command` (what this process does,
    /// e.g. `ntm train`) is recorded beside the process id for a second writer's message.
    /// Refused with one line if another process holds it.
    pub fn acquire(dir: &Path, command: &str) -> Result<Self> {
        std::fs::create_dir_all(dir).map_err(io(dir))?;
        let path = dir.join(LOCK_FILE);
        loop {
            let mut file = OpenOptions::new()
                .read(true)
                .write(true)
                .create(true)
                .truncate(false)
                .open(&path)
                .map_err(io(&path))?;
            match file.try_lock() {
                Ok(()) => {}
                Err(TryLockError::WouldBlock) => {
                    let mut holder = String::new();
                    let _ = file.read_to_string(&mut holder);
                    return Err(Error::Invalid(busy(dir, holder.trim())));
                }
                Err(TryLockError::Error(e)) => return Err(io(&path)(e)),
            }
            // Locked: but if the holder before us removed the file meanwhile, this is a lock on
            // a file no one else will open; take the one at `path` now.
            let same = std::fs::metadata(&path).is_ok_and(|m| file.metadata().is_ok_and(|f| f.ino() == m.ino()));
            if !same {
                continue;
            }
            let record = format!("pid {} on {}: {command}\n", std::process::id(), host());
            file.set_len(0).map_err(io(&path))?;
            file.rewind().map_err(io(&path))?;
            file.write_all(record.as_bytes()).map_err(io(&path))?;
            return Ok(FolderLock { file, path });
        }
    }
}

impl Drop for FolderLock {
    fn drop(&mut self) {
        // Removed while still locked, so that a process waiting on this file sees it gone
        // (above) and locks the next one; the lock goes with the file descriptor.
        let _ = std::fs::remove_file(&self.path);
        let _ = self.file.unlock();
    }
}

/// The one line that refuses a second writer of `dir`, from what the holder recorded
/// (`pid 4242 on node7: ntm train`).
fn busy(dir: &Path, holder: &str) -> String {
    let who = match holder.split_once(": ") {
        Some((pid, command)) => format!("{command} ({pid})"),
        None if !holder.is_empty() => holder.to_owned(),
        None => "another process (it has not recorded its process id yet)".to_owned(),
    };
    let pid = holder.strip_prefix("pid ").and_then(|rest| rest.split_whitespace().next());
    let stop = pid.map_or(String::new(), |pid| format!(", or stop it (kill {pid})"));
    format!("{}: in use by {who}; one process writes into a folder at a time: wait for it to end{stop}", dir.display())
}

/// This machine's name, for the lock's record (a shared file system may hold folders written
/// from several machines).
fn host() -> String {
    let mut name = [0u8; 256];
    // SAFETY: gethostname writes at most `len` bytes into the buffer it is given.
    let ok = unsafe { libc::gethostname(name.as_mut_ptr().cast(), name.len()) } == 0;
    let end = name.iter().position(|&b| b == 0).unwrap_or(name.len());
    match ok && end > 0 {
        true => String::from_utf8_lossy(&name[..end]).into_owned(),
        false => "this machine".to_owned(),
    }
}

/// True if folder `dir` is absent or holds nothing but a lock file (left by a process that
/// was killed, or held by one that has written nothing yet).
pub fn is_empty(dir: &Path) -> std::io::Result<bool> {
    match std::fs::read_dir(dir) {
        Ok(entries) => {
            for entry in entries {
                if entry?.file_name() != LOCK_FILE {
                    return Ok(false);
                }
            }
            Ok(true)
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(true),
        Err(e) => Err(e),
    }
}

/// Removes everything in folder `dir` but its lock file (which the caller holds).
pub fn clear(dir: &Path) -> Result<()> {
    for entry in std::fs::read_dir(dir).map_err(io(dir))? {
        let entry = entry.map_err(io(dir))?;
        if entry.file_name() == LOCK_FILE {
            continue;
        }
        let path = entry.path();
        let removed = match entry.file_type().map_err(io(&path))?.is_dir() {
            true => std::fs::remove_dir_all(&path),
            false => std::fs::remove_file(&path),
        };
        removed.map_err(io(&path))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_lock_is_refused_naming_the_holder_and_the_file_goes_with_the_lock() {
        let dir = tempfile::tempdir().unwrap();
        let folder = dir.path().join("run");
        let lock = FolderLock::acquire(&folder, "ntm train").unwrap();
        let record = std::fs::read_to_string(folder.join(LOCK_FILE)).unwrap();
        assert!(record.starts_with(&format!("pid {} on ", std::process::id())), "{record}");
        // flock(2) locks belong to the open file: a second open in this process is refused too.
        let e = FolderLock::acquire(&folder, "ntm train").unwrap_err().to_string();
        assert!(e.contains(&format!("(pid {} on", std::process::id())), "{e}");
        assert!(e.contains("ntm train") && e.contains("kill"), "{e}");
        assert!(is_empty(&folder).unwrap(), "a lock file alone counts as empty");
        drop(lock);
        assert!(!folder.join(LOCK_FILE).exists(), "the lock file is removed with the lock");
        let again = FolderLock::acquire(&folder, "ntm eval").unwrap();
        std::fs::write(folder.join("a"), "x").unwrap();
        std::fs::create_dir(folder.join("b")).unwrap();
        assert!(!is_empty(&folder).unwrap());
        clear(&folder).unwrap();
        assert!(is_empty(&folder).unwrap() && folder.join(LOCK_FILE).is_file());
        drop(again);
    }

    #[test]
    fn a_refusal_reads_well_without_a_record() {
        let line = busy(Path::new("runs/x"), "");
        assert!(line.starts_with("runs/x: in use by another process") && !line.contains("kill"), "{line}");
        let line = busy(Path::new("runs/x"), "pid 12 on vm: ntm sweep");
        assert_eq!(line, "runs/x: in use by ntm sweep (pid 12 on vm); one process writes into a folder at a time: wait for it to end, or stop it (kill 12)");
    }
}
