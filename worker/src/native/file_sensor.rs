//! FileSensor: done when `filepath` (joined to the `path` extra of the
//! `fs_conn_id` connection, a glob pattern allowed) names a file, or a
//! folder with a file somewhere inside it. `recursive` lets `**` cross
//! folders, as Python's `glob(..., recursive=True)`.

use std::path::{Component, Path, PathBuf};

use globset::GlobBuilder;
use serde_json::Value as Json;
use updraft_core::store::connections;

use super::{fail, field};
use crate::dispatch::TryCtx;
use crate::outcome::{Outcome, Poke};
use crate::sensor;

/// Paths looked at per poke at most: a pattern over a huge tree stays bounded.
const MAX_ENTRIES: usize = 200_000;

fn has_magic(s: &str) -> bool {
    s.contains(['*', '?', '['])
}

/// Whether `pattern` matches a file, or a folder holding a file, right now.
pub fn poke_path(pattern: &Path, recursive: bool) -> Result<bool, String> {
    let text = pattern.to_string_lossy();
    if !has_magic(&text) {
        return Ok(satisfies(pattern));
    }
    // Walk from the last folder before the first component with a wildcard.
    let mut root = PathBuf::new();
    let mut rest = 0usize;
    let mut in_magic = false;
    for c in pattern.components() {
        let s = c.as_os_str().to_string_lossy();
        if in_magic || (matches!(c, Component::Normal(_)) && has_magic(&s)) {
            in_magic = true;
            rest += 1;
        } else {
            root.push(c);
        }
    }
    let globbed = if recursive {
        text.into_owned()
    } else {
        // Without recursive=True Python's `**` is a plain `*`.
        text.replace("**", "*")
    };
    let matcher = GlobBuilder::new(&globbed)
        .literal_separator(true)
        .build()
        .map_err(|e| format!("invalid pattern {globbed:?}: {e}"))?
        .compile_matcher();
    let deep = recursive && globbed.contains("**");
    let mut stack = vec![(root, 0usize)];
    let mut seen = 0usize;
    while let Some((dir, depth)) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            seen += 1;
            if seen > MAX_ENTRIES {
                return Ok(false);
            }
            let path = entry.path();
            if matcher.is_match(&path) && satisfies(&path) {
                return Ok(true);
            }
            let is_dir = entry.file_type().is_ok_and(|t| t.is_dir());
            if is_dir && (deep || depth + 1 < rest) {
                stack.push((path, depth + 1));
            }
        }
    }
    Ok(false)
}

/// A file, or a folder with a file anywhere below it (Airflow's `os.walk`).
fn satisfies(path: &Path) -> bool {
    if path.is_file() {
        return true;
    }
    let mut stack = vec![path.to_owned()];
    let mut seen = 0usize;
    while let Some(dir) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            seen += 1;
            if seen > MAX_ENTRIES {
                return false;
            }
            match entry.file_type() {
                Ok(t) if t.is_dir() => stack.push(entry.path()),
                Ok(_) => return true,
                Err(_) => {}
            }
        }
    }
    false
}

/// The `path` extra of connection `conn_id`. Airflow ships `fs_default`
/// (path `/`) as a default connection; here a missing `fs_default` means no
/// base path, any other missing connection is an error.
async fn base_path(cx: &TryCtx<'_>, conn_id: &str) -> Result<String, String> {
    let mut conn = cx.conn().await?;
    let rows = connections::all(&mut conn)
        .await
        .map_err(|e| format!("reading connections: {e}"))?;
    let Some(row) = rows.into_iter().find(|r| r.conn_id == conn_id) else {
        return if conn_id == "fs_default" {
            Ok(String::new())
        } else {
            Err(format!("The conn_id `{conn_id}` isn't defined"))
        };
    };
    let extra = row
        .extra_text()
        .filter(|t| !t.trim().is_empty())
        .map(|t| serde_json::from_str::<Json>(&t))
        .transpose()
        .map_err(|e| format!("connection {conn_id}: extra is not JSON: {e}"))?;
    Ok(extra
        .as_ref()
        .and_then(|e| e.get("path"))
        .and_then(Json::as_str)
        .unwrap_or("")
        .to_owned())
}

/// `file_sensor`.
pub async fn run(cx: &TryCtx<'_>) -> Outcome {
    let Some(filepath) = field(cx, "filepath").and_then(Json::as_str) else {
        return fail(cx, "FileSensor needs filepath (a string)");
    };
    let conn_id = field(cx, "fs_conn_id")
        .and_then(Json::as_str)
        .unwrap_or("fs_default");
    let base = match base_path(cx, conn_id).await {
        Ok(b) => b,
        Err(e) => return fail(cx, &e),
    };
    let full = Path::new(&base).join(filepath);
    let recursive = field(cx, "recursive").and_then(Json::as_bool) == Some(true);
    cx.sink.info(&format!("Poking for file {}", full.display()));
    let full = &full;
    sensor::drive(cx, || async move {
        let path = full.clone();
        match tokio::task::spawn_blocking(move || poke_path(&path, recursive)).await {
            Ok(Ok(true)) => Poke::Done { xcom: None },
            Ok(Ok(false)) => Poke::NotYet,
            Ok(Err(e)) => {
                cx.sink.error(&e);
                Poke::Ended(Outcome::failed())
            }
            Err(e) => {
                cx.sink.error(&format!("checking the path failed: {e}"));
                Poke::Ended(Outcome::failed())
            }
        }
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    // Plain paths, `*` within a folder, `**` only when recursive, and a
    // folder counting only when a file is inside it.
    #[test]
    fn globs_like_python() {
        let dir = tempfile::tempdir().expect("tempdir");
        let d = dir.path();
        assert!(!poke_path(&d.join("a.txt"), false).expect("poke"));
        std::fs::create_dir_all(d.join("sub/deep")).expect("mkdir");
        assert!(
            !poke_path(&d.join("sub"), false).expect("poke"),
            "empty folder"
        );
        std::fs::write(d.join("sub/deep/x.csv"), "1").expect("write");
        assert!(
            poke_path(&d.join("sub"), false).expect("poke"),
            "folder with a file"
        );
        assert!(!poke_path(&d.join("*.csv"), false).expect("poke"));
        assert!(poke_path(&d.join("sub/deep/*.csv"), false).expect("poke"));
        assert!(!poke_path(&d.join("**/x.csv"), false).expect("poke"));
        assert!(poke_path(&d.join("**/x.csv"), true).expect("poke"));
        std::fs::write(d.join("a.txt"), "1").expect("write");
        assert!(poke_path(&d.join("a.txt"), false).expect("poke"));
        assert!(poke_path(&d.join("?.txt"), false).expect("poke"));
    }
}
