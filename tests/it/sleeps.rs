//! Tests wait for facts, never for time: a sleep in `tests/it/` is allowed
//! only in the places listed here. A test that sleeps and then asserts
//! passes or fails with the machine's load; one that waits for a fact
//! (`helpers::eventually`, `TestApp::idle`) does not.

use std::path::Path;

/// Where a sleep may appear: (file, the function it is in, why).
const ALLOWED: &[(&str, &str, &str)] = &[
    (
        "helpers.rs",
        "eventually",
        "the one polling helper: a short pause between two looks",
    ),
    (
        "outage.rs",
        "ride_out",
        "the load's pace while the database is away: the outage itself lasts real time",
    ),
];

/// The calls that wait for time, spelled in two halves so that this file
/// does not match itself.
const SLEEPS: [&str; 2] = [concat!("sleep", "("), concat!("sleep_until", "(")];

/// The name of the last function declared before `line` (the one it is
/// in, for code laid out as rustfmt does).
fn enclosing_fn(lines: &[&str], line: usize) -> Option<String> {
    lines[..=line].iter().rev().find_map(|l| {
        let (_, rest) = l.split_once("fn ")?;
        let name: String = rest
            .chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_')
            .collect();
        (!name.is_empty()).then_some(name)
    })
}

#[test]
fn tests_sleep_only_where_allowed() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/it");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "rs"))
        .collect();
    files.sort();
    // A check that read nothing must not pass.
    let names: Vec<String> = files
        .iter()
        .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    for must in ["main.rs", "helpers.rs", "socket.rs", "sleeps.rs"] {
        assert!(names.iter().any(|n| n == must), "{must} not in {names:?}");
    }

    let mut offenders = Vec::new();
    let mut seen_allowed = Vec::new();
    for (path, name) in files.iter().zip(&names) {
        let text = std::fs::read_to_string(path).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        for (i, line) in lines.iter().enumerate() {
            if !SLEEPS.iter().any(|s| line.contains(s)) {
                continue;
            }
            let func = enclosing_fn(&lines, i).unwrap_or_default();
            match ALLOWED
                .iter()
                .find(|(file, f, _)| file == name && *f == func)
            {
                Some(allowed) => seen_allowed.push(allowed),
                None => offenders.push(format!("{name}:{}: in fn {func}: {}", i + 1, line.trim())),
            }
        }
    }
    assert!(
        offenders.is_empty(),
        "tests wait for a fact (helpers::eventually, TestApp::idle), not for time; \
         sleeps outside {ALLOWED:?}:\n{}",
        offenders.join("\n")
    );
    // Each allowed place still sleeps: the list is not stale.
    for allowed in ALLOWED {
        assert!(
            seen_allowed.contains(&allowed),
            "{allowed:?} no longer sleeps: take it off the list"
        );
    }
}
