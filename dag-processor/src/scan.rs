//! Listing the DAG files of a folder the way Airflow does: `.py` files,
//! minus what `.airflowignore` files exclude, kept only when their content
//! mentions both "airflow" and "dag" (Airflow's safe-mode heuristic).

use std::fs;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use globset::{Glob, GlobMatcher};
use regex::Regex;
use sha2::{Digest, Sha256};

/// How `.airflowignore` lines are read (`[core] dag_ignore_file_syntax`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum IgnoreSyntax {
    #[default]
    Regexp,
    Glob,
}

/// A DAG file candidate with its content.
#[derive(Debug, Clone)]
pub struct DagFile {
    pub path: PathBuf,
    pub relative: String,
    pub content: Vec<u8>,
    pub content_hash: String,
    pub mtime: Option<SystemTime>,
}

/// Something in the folder that could not be read; reported, never fatal.
#[derive(Debug, Clone)]
pub struct ScanProblem {
    pub path: PathBuf,
    pub message: String,
}

#[derive(Debug, Default)]
pub struct Scan {
    pub files: Vec<DagFile>,
    pub problems: Vec<ScanProblem>,
}

enum Rule {
    Regexp { base: PathBuf, re: Regex },
    Glob { base: PathBuf, glob: GlobMatcher },
}

impl Rule {
    fn matches(&self, path: &Path) -> bool {
        match self {
            Rule::Regexp { base, re } => path
                .strip_prefix(base)
                .is_ok_and(|rel| re.is_match(&rel.to_string_lossy())),
            Rule::Glob { base, glob } => path.strip_prefix(base).is_ok_and(|rel| {
                glob.is_match(rel)
                    || rel
                        .ancestors()
                        .skip(1)
                        .any(|a| !a.as_os_str().is_empty() && glob.is_match(a))
            }),
        }
    }
}

/// Lists DAG files under `root`, sorted by path.
pub fn scan(root: &Path, syntax: IgnoreSyntax) -> Scan {
    let mut out = Scan::default();
    walk(root, root, syntax, &mut Vec::new(), &mut out);
    out.files.sort_by(|a, b| a.path.cmp(&b.path));
    out
}

fn walk(root: &Path, dir: &Path, syntax: IgnoreSyntax, rules: &mut Vec<Rule>, out: &mut Scan) {
    let inherited = rules.len();
    read_ignore_file(dir, syntax, rules, out);
    let mut entries = match fs::read_dir(dir) {
        Ok(e) => e
            .filter_map(|e| e.ok())
            .map(|e| e.path())
            .collect::<Vec<_>>(),
        Err(e) => {
            out.problems.push(ScanProblem {
                path: dir.to_owned(),
                message: format!("cannot list folder: {e}"),
            });
            return;
        }
    };
    entries.sort();
    for path in entries {
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
        if name == "__pycache__" || name.starts_with('.') || rules.iter().any(|r| r.matches(&path))
        {
            continue;
        }
        if path.is_dir() {
            walk(root, &path, syntax, rules, out);
        } else if name.ends_with(".py") {
            consider_file(root, path, out);
        }
    }
    rules.truncate(inherited);
}

fn read_ignore_file(dir: &Path, syntax: IgnoreSyntax, rules: &mut Vec<Rule>, out: &mut Scan) {
    let file = dir.join(".airflowignore");
    let Ok(text) = fs::read_to_string(&file) else {
        return;
    };
    for line in text.lines() {
        let line = line.split('#').next().unwrap_or("").trim();
        if line.is_empty() {
            continue;
        }
        let rule = match syntax {
            IgnoreSyntax::Regexp => Regex::new(line)
                .map(|re| Rule::Regexp {
                    base: dir.to_owned(),
                    re,
                })
                .map_err(|e| e.to_string()),
            IgnoreSyntax::Glob => Glob::new(line.trim_start_matches('/'))
                .map(|g| Rule::Glob {
                    base: dir.to_owned(),
                    glob: g.compile_matcher(),
                })
                .map_err(|e| e.to_string()),
        };
        match rule {
            Ok(r) => rules.push(r),
            Err(e) => out.problems.push(ScanProblem {
                path: file.clone(),
                message: format!("ignoring bad pattern {line:?}: {e}"),
            }),
        }
    }
}

fn consider_file(root: &Path, path: PathBuf, out: &mut Scan) {
    let content = match fs::read(&path) {
        Ok(c) => c,
        Err(e) => {
            out.problems.push(ScanProblem {
                path,
                message: format!("cannot read file: {e}"),
            });
            return;
        }
    };
    if !might_contain_dag(&content) {
        return;
    }
    let relative = path
        .strip_prefix(root)
        .unwrap_or(&path)
        .to_string_lossy()
        .into_owned();
    let mtime = fs::metadata(&path).and_then(|m| m.modified()).ok();
    out.files.push(DagFile {
        content_hash: hex::encode(Sha256::digest(&content)),
        path,
        relative,
        content,
        mtime,
    });
}

/// Airflow's default heuristic: the file mentions both words, any case.
pub fn might_contain_dag(content: &[u8]) -> bool {
    contains_ignore_case(content, b"airflow") && contains_ignore_case(content, b"dag")
}

fn contains_ignore_case(haystack: &[u8], needle: &[u8]) -> bool {
    haystack
        .windows(needle.len())
        .any(|w| w.eq_ignore_ascii_case(needle))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(root: &Path, rel: &str, text: &str) {
        let p = root.join(rel);
        fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
        fs::write(p, text).expect("write");
    }

    fn rels(s: &Scan) -> Vec<&str> {
        s.files.iter().map(|f| f.relative.as_str()).collect()
    }

    const DAG: &str = "from airflow import DAG\n";

    #[test]
    fn follows_airflows_rules() {
        let dir = tempfile::tempdir().expect("tempdir");
        let root = dir.path();
        write(root, "a.py", DAG);
        write(root, "helper.py", "def f(): return 1\n"); // no heuristic words
        write(root, "notes.txt", DAG); // not .py
        write(root, "sub/b.py", "import AIRFLOW  # a Dag\n");
        write(root, "sub/skip_me.py", DAG);
        write(root, "sub/.airflowignore", "skip_.*\n# comment\n");
        write(root, "vendored/c.py", DAG);
        write(root, ".airflowignore", "^vendored/\n");
        write(root, "__pycache__/x.py", DAG);
        let s = scan(root, IgnoreSyntax::Regexp);
        assert_eq!(rels(&s), ["a.py", "sub/b.py"]);
        assert!(s.problems.is_empty());
        assert_eq!(s.files[0].content_hash.len(), 64);
    }

    #[test]
    fn ignore_rules_apply_below_their_folder_only() {
        let dir = tempfile::tempdir().expect("tempdir");
        let root = dir.path();
        write(root, "one/x_dag.py", DAG);
        write(root, "one/.airflowignore", "x_\n");
        write(root, "two/x_dag.py", DAG);
        assert_eq!(rels(&scan(root, IgnoreSyntax::Regexp)), ["two/x_dag.py"]);
    }

    #[test]
    fn glob_syntax_and_bad_patterns() {
        let dir = tempfile::tempdir().expect("tempdir");
        let root = dir.path();
        write(root, "keep.py", DAG);
        write(root, "tmp/drop.py", DAG);
        write(root, "old_dag.py", DAG);
        write(root, ".airflowignore", "tmp\nold_*.py\n");
        assert_eq!(rels(&scan(root, IgnoreSyntax::Glob)), ["keep.py"]);

        write(root, ".airflowignore", "(unclosed\n");
        let s = scan(root, IgnoreSyntax::Regexp);
        assert_eq!(s.files.len(), 3);
        assert_eq!(s.problems.len(), 1);
        assert!(s.problems[0].message.contains("(unclosed"));
    }
}
