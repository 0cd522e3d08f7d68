//! JWKS files of trusted issuers. A file is read by the server on behalf of whoever
//! configured the issuer, so only files under the directory the operator named at start
//! (`--trusted-jwks-dir`) are read, only regular files (never a FIFO or a device, which could
//! block or never end), and at most `MAX_SIZE` bytes of them.

use std::io::Read;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// The largest JWKS file read; a real one is a few kilobytes.
pub const MAX_SIZE: u64 = 1 << 20;

/// The path a configured name denotes: relative names are under `dir`; the canonical path
/// (symbolic links resolved) must be under `dir`'s.
pub fn resolve(dir: Option<&Path>, name: &str) -> Result<PathBuf> {
    let Some(dir) = dir else {
        return Err(Error::InvalidValue(
            "this server reads no JWKS files: start it with --trusted-jwks-dir to allow files under a directory".into(),
        ));
    };
    let dir = dir
        .canonicalize()
        .map_err(|e| Error::Internal(format!("the trusted JWKS directory {} is unusable: {e}", dir.display())))?;
    let path = dir.join(name);
    let canonical = path
        .canonicalize()
        .map_err(|e| Error::InvalidValue(format!("the JWKS file '{name}' cannot be opened: {e}")))?;
    if !canonical.starts_with(&dir) {
        return Err(Error::InvalidValue(format!(
            "the JWKS file '{name}' is not under the trusted JWKS directory {}",
            dir.display()
        )));
    }
    Ok(canonical)
}

/// Reads a JWKS file: a regular file under `dir`, at most `MAX_SIZE` bytes. Opening does not
/// block (a FIFO opened without a writer would), and what was opened is checked, not the name.
pub fn read(dir: Option<&Path>, name: &str) -> Result<String> {
    let path = resolve(dir, name)?;
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK | libc::O_NOFOLLOW)
        .open(&path)
        .map_err(|e| Error::InvalidValue(format!("the JWKS file '{name}' cannot be opened: {e}")))?;
    let meta = file.metadata().map_err(|e| Error::InvalidValue(format!("the JWKS file '{name}': {e}")))?;
    if !meta.is_file() {
        return Err(Error::InvalidValue(format!("the JWKS file '{name}' is not a regular file")));
    }
    if meta.len() > MAX_SIZE {
        return Err(Error::InvalidValue(format!("the JWKS file '{name}' is larger than {MAX_SIZE} bytes")));
    }
    let mut text = String::new();
    file.take(MAX_SIZE + 1)
        .read_to_string(&mut text)
        .map_err(|e| Error::InvalidValue(format!("the JWKS file '{name}' cannot be read: {e}")))?;
    if text.len() as u64 > MAX_SIZE {
        return Err(Error::InvalidValue(format!("the JWKS file '{name}' is larger than {MAX_SIZE} bytes")));
    }
    Ok(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_regular_files_under_the_directory_are_read() -> anyhow::Result<()> {
        let dir = tempfile::tempdir()?;
        std::fs::write(dir.path().join("ok.json"), r#"{"keys":[]}"#)?;
        assert_eq!(read(Some(dir.path()), "ok.json")?, r#"{"keys":[]}"#);
        assert!(read(None, "ok.json").is_err(), "no directory named: no files");
        assert!(read(Some(dir.path()), "/etc/passwd").is_err(), "absolute paths outside");
        assert!(read(Some(dir.path()), "../../../../etc/passwd").is_err(), "escapes");
        std::os::unix::fs::symlink("/dev/zero", dir.path().join("zero"))?;
        assert!(read(Some(dir.path()), "zero").is_err(), "a link out of the directory");
        std::fs::write(dir.path().join("big.json"), vec![b' '; (MAX_SIZE + 1) as usize])?;
        assert!(read(Some(dir.path()), "big.json").is_err(), "too large");
        std::fs::create_dir(dir.path().join("sub"))?;
        assert!(read(Some(dir.path()), "sub").is_err(), "a directory");
        Ok(())
    }
}
