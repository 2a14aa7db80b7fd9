//! Deploy files. The container image's build stage gets only what `deploy/Dockerfile`
//! copies. There is no Docker daemon here, so this copies exactly those
//! paths into an empty folder and runs cargo there, as the image build
//! would (reusing the target directory, so only warroom itself compiles).

use std::path::{Path, PathBuf};
use std::process::Command;

/// `(source, destination)` of every `COPY` of the build stage (the ones
/// without `--from`), destinations relative to its `WORKDIR`.
fn build_copies(dockerfile: &str) -> Vec<(String, String)> {
    let mut copies = Vec::new();
    let mut in_builder = false;
    for line in dockerfile.lines().map(str::trim) {
        let words: Vec<&str> = line.split_whitespace().collect();
        match words.first().map(|w| w.to_ascii_uppercase()).as_deref() {
            Some("FROM") => in_builder = words.iter().any(|w| w.eq_ignore_ascii_case("builder")),
            Some("COPY") if in_builder => {
                let args: Vec<&str> = words[1..]
                    .iter()
                    .copied()
                    .filter(|w| !w.starts_with("--"))
                    .collect();
                assert!(
                    !words.iter().any(|w| w.starts_with("--from")),
                    "the build stage copies from another stage: {line}"
                );
                let (dest, sources) = args.split_last().expect("COPY needs a destination");
                for source in sources {
                    let dest = if dest.ends_with('/') || sources.len() > 1 {
                        format!("{}/{}", dest.trim_end_matches('/'), source)
                    } else {
                        dest.to_string()
                    };
                    copies.push((source.to_string(), dest));
                }
            }
            _ => {}
        }
    }
    copies
}

fn copy_tree(from: &Path, to: &Path) {
    if from.is_dir() {
        std::fs::create_dir_all(to).unwrap();
        for entry in std::fs::read_dir(from).unwrap() {
            let entry = entry.unwrap();
            copy_tree(&entry.path(), &to.join(entry.file_name()));
        }
    } else {
        if let Some(parent) = to.parent() {
            std::fs::create_dir_all(parent).unwrap();
        }
        std::fs::copy(from, to).unwrap();
    }
}

#[test]
fn dockerfile_copy_lines_are_parsed() {
    let copies = build_copies(
        "FROM rust AS builder\nWORKDIR /b\nCOPY a.toml b.lock ./\nCOPY --chown=1:1 src ./src\n\
         FROM scratch\nCOPY --from=builder /x /y\n",
    );
    assert_eq!(
        copies,
        [
            ("a.toml".into(), "./a.toml".into()),
            ("b.lock".into(), "./b.lock".into()),
            ("src".into(), "./src".into()),
        ]
    );
}

#[test]
fn the_image_build_stage_has_everything_cargo_needs() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let dockerfile = std::fs::read_to_string(root.join("deploy/Dockerfile")).unwrap();
    let copies = build_copies(&dockerfile);
    assert!(copies.len() >= 2, "{copies:?}");
    let context = tempfile::tempdir().unwrap();
    for (source, dest) in &copies {
        assert!(
            !source.contains(".."),
            "COPY reaches outside the context: {source}"
        );
        let from = root.join(source);
        assert!(
            from.exists(),
            "the Dockerfile copies {source}, which is missing"
        );
        copy_tree(&from, &context.path().join(dest));
    }
    // Reuse the suite's target directory: dependencies are already built.
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("target"));
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let out = Command::new(cargo)
        .args(["check", "--locked", "--offline", "--bin", "warroom"])
        .current_dir(context.path())
        .env("CARGO_TARGET_DIR", target)
        .env_remove("RUSTFLAGS")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "cargo check in a folder holding only what the Dockerfile copies failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// `deploy/compose.yaml`: SQLite by default with a named volume; the
/// `postgres` profile runs two replicas on one database behind one port.
#[test]
fn compose_runs_sqlite_by_default_and_two_replicas_on_postgres() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(root.join("deploy/compose.yaml")).unwrap();
    let compose: serde_yaml::Value = serde_yaml::from_str(&text).unwrap();
    let mut compose = compose;
    compose.apply_merge().unwrap();
    let services = compose["services"].as_mapping().unwrap();
    let profile = |s: &serde_yaml::Value| -> Option<String> {
        s["profiles"].as_sequence().map(|p| {
            p.iter()
                .filter_map(|v| v.as_str())
                .collect::<Vec<_>>()
                .join(",")
        })
    };
    let default: Vec<&serde_yaml::Value> =
        services.values().filter(|s| profile(s).is_none()).collect();
    assert_eq!(default.len(), 1, "one service without a profile");
    let sqlite = default[0];
    let volume = sqlite["volumes"][0].as_str().unwrap();
    let (name, mount) = volume.split_once(':').unwrap();
    assert_eq!(mount, "/var/lib/warroom");
    assert!(
        compose["volumes"].as_mapping().unwrap().contains_key(name),
        "{name} is a named volume"
    );
    let env =
        |s: &serde_yaml::Value| -> String { serde_yaml::to_string(&s["environment"]).unwrap() };
    assert!(!env(sqlite).contains("postgres://"));
    let replicas: Vec<&serde_yaml::Value> = services
        .values()
        .filter(|s| profile(s).as_deref() == Some("postgres"))
        .filter(|s| env(s).contains("WARROOM_DATABASE_URL=postgres://"))
        .collect();
    assert_eq!(replicas.len(), 2, "two warroom replicas on PostgreSQL");
    let lb = &services[&serde_yaml::Value::from("lb")];
    assert_eq!(profile(lb).as_deref(), Some("postgres"));
    let command = serde_yaml::to_string(&lb["command"]).unwrap();
    assert!(
        command.contains("warroom-a:3000") && command.contains("warroom-b:3000"),
        "{command}"
    );
    assert_eq!(lb["ports"][0].as_str(), Some("3000:3000"));
    assert!(services.contains_key("postgres"));
}
