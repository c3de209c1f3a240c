//! Relative links in README.md and docs/ point at files that exist.

use std::path::{Path, PathBuf};

fn markdown_files() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = vec![root.join("README.md"), root.join("data/README.md")];
    for entry in std::fs::read_dir(root.join("docs")).unwrap() {
        let p = entry.unwrap().path();
        if p.extension().is_some_and(|e| e == "md") {
            files.push(p);
        }
    }
    files
}

/// The targets of `[text](target)` links.
fn links(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(i) = rest.find("](") {
        rest = &rest[i + 2..];
        if let Some(j) = rest.find(')') {
            out.push(rest[..j].to_string());
            rest = &rest[j..];
        }
    }
    out
}

/// GitHub's anchor for a heading: lower case, punctuation dropped, spaces
/// to hyphens.
fn slug(heading: &str) -> String {
    heading
        .trim()
        .to_lowercase()
        .chars()
        .filter(|c| c.is_alphanumeric() || *c == ' ' || *c == '-' || *c == '_')
        .map(|c| if c == ' ' { '-' } else { c })
        .collect()
}

#[test]
fn slugs_follow_github() {
    assert_eq!(slug(" Training: T1"), "training-t1");
    assert_eq!(slug("Record once, replay many"), "record-once-replay-many");
}

#[test]
fn relative_links_resolve() {
    let mut checked = 0;
    for file in markdown_files() {
        let text = std::fs::read_to_string(&file).unwrap();
        for target in links(&text) {
            if target.starts_with("http") || target.starts_with('#') || target.contains(' ') {
                continue;
            }
            let (path, anchor) = match target.split_once('#') {
                Some((p, a)) => (p, Some(a)),
                None => (target.as_str(), None),
            };
            let resolved = file.parent().unwrap().join(path);
            assert!(
                resolved.exists(),
                "{}: link to {target} does not resolve",
                file.display()
            );
            if let Some(anchor) = anchor.filter(|_| path.ends_with(".md")) {
                let headings = std::fs::read_to_string(&resolved).unwrap();
                assert!(
                    headings
                        .lines()
                        .filter(|l| l.starts_with('#'))
                        .any(|l| slug(l.trim_start_matches('#')) == anchor),
                    "{}: link to {target}: no heading with anchor #{anchor}",
                    file.display()
                );
            }
            checked += 1;
        }
    }
    assert!(checked >= 5, "the check looked at {checked} links");
}
