//! Helpers shared by the integration tests.
#![allow(dead_code)]

/// The line of `source` (a test file's text) holding `text`, which must
/// occur there once: tests compare reported source locations against it.
pub fn line_of(source: &str, text: &str) -> u32 {
    let hits: Vec<usize> = source
        .lines()
        .enumerate()
        .filter(|(_, l)| l.trim() == text)
        .map(|(i, _)| i + 1)
        .collect();
    assert_eq!(hits.len(), 1, "{text} must occur once");
    hits[0] as u32
}
