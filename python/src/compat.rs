//! The embedded `airflow` compatibility package, extracted on demand.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use include_dir::{Dir, DirEntry, include_dir};
use sha2::{Digest, Sha256};

use crate::PythonError;

static COMPAT: Dir<'_> = include_dir!("$CARGO_MANIFEST_DIR/airflow_compat");

/// Folders of `airflow_compat/` that are not shipped (tests, dev tools, caches).
fn shipped(path: &Path) -> bool {
    !path.components().any(|c| {
        matches!(
            c.as_os_str().to_str(),
            Some("tests" | "tools" | "__pycache__")
        )
    })
}

fn files() -> Vec<&'static include_dir::File<'static>> {
    fn walk(dir: &'static Dir<'static>, out: &mut Vec<&'static include_dir::File<'static>>) {
        for entry in dir.entries() {
            match entry {
                DirEntry::Dir(d) if shipped(d.path()) => walk(d, out),
                DirEntry::File(f) if shipped(f.path()) => out.push(f),
                _ => {}
            }
        }
    }
    let mut out = Vec::new();
    walk(&COMPAT, &mut out);
    out.sort_by(|a, b| a.path().cmp(b.path()));
    out
}

/// A short hash of the embedded package, naming its extraction folder.
pub fn content_hash() -> String {
    let mut hasher = Sha256::new();
    for f in files() {
        hasher.update(f.path().to_string_lossy().as_bytes());
        hasher.update([0]);
        hasher.update(f.contents());
        hasher.update([0]);
    }
    hex::encode(&hasher.finalize()[..8])
}

/// Writes the package under `base/<hash>/` unless it is already there, and
/// returns that folder (to put first on `sys.path`). Safe against concurrent
/// callers: each writes a private folder and renames it into place.
pub fn extract(base: &Path) -> Result<PathBuf, PythonError> {
    let target = base.join(content_hash());
    if target.join("airflow").join("__init__.py").is_file() {
        return Ok(target);
    }
    let err = |source: io::Error| PythonError::Extract {
        path: target.clone(),
        source,
    };
    fs::create_dir_all(base).map_err(err)?;
    let staging = base.join(format!(".staging-{}", std::process::id()));
    let _ = fs::remove_dir_all(&staging);
    for f in files() {
        let path = staging.join(f.path());
        if let Some(parent) = path.parent() {
            fs::create_dir_all(parent).map_err(err)?;
        }
        fs::write(&path, f.contents()).map_err(err)?;
    }
    match fs::rename(&staging, &target) {
        Ok(()) => Ok(target),
        // Another process won the race: its copy is identical.
        Err(_) if target.join("airflow").join("__init__.py").is_file() => {
            let _ = fs::remove_dir_all(&staging);
            Ok(target)
        }
        Err(e) => Err(err(e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn extracts_once_and_ships_no_tests() {
        let dir = tempfile::tempdir().expect("tempdir");
        let first = extract(dir.path()).expect("extract");
        assert!(first.join("airflow/__init__.py").is_file());
        assert!(first.join("updraft_runtime/parse_server.py").is_file());
        assert!(!first.join("tests").exists());
        let second = extract(dir.path()).expect("extract again");
        assert_eq!(first, second);
        assert_eq!(fs::read_dir(dir.path()).expect("ls").count(), 1);
    }
}
