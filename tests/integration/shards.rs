//! `run --shard I/N` and `merge`: a run split across jobs, each shard recording its part of
//! the golden set unjudged, the merge judging the whole exactly as a run in one piece.

use std::collections::BTreeSet;

use serde_json::Value;

use crate::support::{PROMPT_PATH, RUN, Test, numbered_project};

fn shard(t: &Test, spec: &str) -> String {
    let mut args = RUN.to_vec();
    args.extend(["--shard", spec]);
    let out = t.run_with(&args);
    out.code(0)
        .stdout_has(&format!("shard {spec} recorded"))
        .stdout_has("not judged");
    // A shard has no report.json, so it is found by the line that names it.
    let shown = out
        .stdout
        .lines()
        .find_map(|l| l.strip_prefix("run directory: "))
        .expect("a shard names its run directory");
    out.cwd.join(shown.trim()).display().to_string()
}

fn call_ids(dir: &str) -> BTreeSet<String> {
    std::fs::read_to_string(format!("{dir}/calls.jsonl"))
        .unwrap()
        .lines()
        .map(|l| {
            serde_json::from_str::<Value>(l).unwrap()["case_id"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect()
}

fn json(path: String) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

#[test]
fn shards_split_the_cases_and_merge_judges_like_one_run() {
    let t = numbered_project(10);
    let dirs: Vec<String> = ["1/3", "2/3", "3/3"].iter().map(|s| shard(&t, s)).collect();
    let mut all = BTreeSet::new();
    for dir in &dirs {
        let ids = call_ids(dir);
        assert!(ids.is_disjoint(&all), "shards overlap");
        all.extend(ids);
        let manifest = json(format!("{dir}/manifest.json"));
        assert_eq!(manifest["verdict"], "partial");
        assert!(!std::path::Path::new(&format!("{dir}/report.json")).exists());
    }
    assert_eq!(all.len(), 10);
    // A shard is not a run to judge, compare, report or promote.
    t.run_with(&["gate", &dirs[0]])
        .input_error(&["is shard 1/3", "promptgate merge"]);
    t.run_with(&["report", &dirs[0], "--format", "md"])
        .input_error(&["is shard 1/3"]);

    // Merged in any order, the verdict, gates and failing cases are a whole run's.
    let mut args = vec!["merge", &dirs[2], &dirs[0], &dirs[1], "--out", "merged"];
    args.extend(["--report", "md"]);
    let merged = t.run_with(&args);
    let whole = t.run_with(&RUN);
    assert_eq!(merged.code, whole.code);
    let merged_report = json(t.path().join("merged/report.json").display().to_string());
    let whole_report = json(format!("{}/report.json", whole.run_dir().path.display()));
    for key in [
        "verdict",
        "gates",
        "must_pass",
        "failing_cases",
        "scorers",
        "tags",
    ] {
        assert_eq!(merged_report[key], whole_report[key], "{key}");
    }
    assert!(t.path().join("merged/report.md").is_file());
    // Built aside and renamed into place: nothing half-made is left next to it.
    let leftovers: Vec<_> = std::fs::read_dir(t.path())
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().contains(".merging-"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
    let manifest = json(t.path().join("merged/manifest.json").display().to_string());
    assert_eq!(manifest["status"], "completed");
    assert_eq!(manifest["shard"], Value::Null);
    assert_eq!(manifest["merged_from"].as_array().unwrap().len(), 3);
    assert_eq!(
        call_ids(&t.path().join("merged").display().to_string()).len(),
        10
    );
    // The merged run is a run like any other.
    t.run_with(&["gate", "merged"]).code(whole.code);
}

#[test]
fn merge_refuses_what_is_not_one_whole_run() {
    let t = numbered_project(6);
    let a = shard(&t, "1/2");
    let b = shard(&t, "2/2");
    t.run_with(&["merge", &a, "--out", "m"])
        .input_error(&["2/2 missing"]);
    t.run_with(&["merge", &a, &a, &b, "--out", "m"])
        .input_error(&["shard 1/2 is given twice"]);
    let other = shard(&t, "1/3");
    t.run_with(&["merge", &a, &b, &other, "--out", "m"])
        .input_error(&["one of 3 shards"]);
    // Not a shard at all.
    let whole = t.run_with(&RUN);
    let whole = whole.run_dir().path.display().to_string();
    t.run_with(&["merge", &a, &whole, "--out", "m"])
        .input_error(&["not a shard"]);
    // Another prompt version.
    let original = t.read(PROMPT_PATH);
    let edited = original.replace("Answer briefly.", "Answer tersely.");
    t.write(PROMPT_PATH, edited);
    let changed = shard(&t, "2/2");
    t.run_with(&["merge", &a, &changed, "--out", "m"])
        .input_error(&["prompt version: not the same"]);
    // An incomplete shard.
    let calls = format!("{b}/calls.jsonl");
    let text = std::fs::read_to_string(&calls).unwrap();
    let first = text.lines().next().unwrap();
    std::fs::write(&calls, format!("{first}\n")).unwrap();
    t.run_with(&["merge", &a, &b, "--out", "m"])
        .input_error(&["1 of shard 2/2's 3 calls"]);
    assert!(!t.path().join("m").exists(), "nothing was written");
    // An existing --out, and shards that cannot be empty.
    std::fs::write(&calls, &text).unwrap();
    std::fs::create_dir(t.path().join("m")).unwrap();
    t.run_with(&["merge", &a, &b, "--out", "m"])
        .input_error(&["it exists"]);
    let mut args = RUN.to_vec();
    args.extend(["--shard", "1/7"]);
    t.run_with(&args)
        .input_error(&["some of 7 shards would hold none", "at most 6"]);
    // --out inside a shard's directory.
    std::fs::remove_dir(t.path().join("m")).unwrap();
    let inside = format!("{a}/merged");
    t.run_with(&["merge", &a, &b, "--out", &inside])
        .input_error(&["inside shard 1/2"]);
    // A shard whose calls.jsonl was copied from another run.
    let foreign = shard(&t, "2/2");
    std::fs::copy(format!("{foreign}/calls.jsonl"), format!("{b}/calls.jsonl")).unwrap();
    t.run_with(&["merge", &a, &b, "--out", "m"])
        .input_error(&["calls.jsonl:1", "not by this run"]);
    std::fs::write(format!("{b}/calls.jsonl"), &text).unwrap();
    // Shards run with different settings (here the error budget) are not one run.
    t.write(PROMPT_PATH, &original);
    let mut args = RUN.to_vec();
    args.extend(["--shard", "2/2", "--max-error-rate", "0.5"]);
    let out = t.run_with(&args);
    out.code(0);
    let lax = out
        .stdout
        .lines()
        .find_map(|l| l.strip_prefix("run directory: "))
        .map(|d| t.path().join(d.trim()).display().to_string())
        .unwrap();
    t.run_with(&["merge", &a, &lax, "--out", "m"])
        .input_error(&["settings", "not the same"]);
    // The merged run's report may go into the directory merge creates.
    t.run_with(&["merge", &a, &b, "--out", "m", "--report", "md=m/r.md"])
        .code(0);
    assert!(t.path().join("m/r.md").is_file());
    // A resumed shard writes no report either.
    t.run_with(&["run", "--resume", &a, "--report", "md"])
        .input_error(&["a shard is not judged"]);
    let mut args = RUN.to_vec();
    args.extend(["--shard", "3/2"]);
    t.run_with(&args).input_error(&["not a shard"]);
}

/// An interrupted shard resumes as that shard: only its missing calls are made.
#[test]
fn a_shard_resumes_as_a_shard() {
    let t = numbered_project(7);
    let dir = shard(&t, "2/3");
    let calls = format!("{dir}/calls.jsonl");
    let text = std::fs::read_to_string(&calls).unwrap();
    let kept: Vec<&str> = text.lines().take(1).collect();
    std::fs::write(&calls, format!("{}\n", kept.join("\n"))).unwrap();
    let manifest = format!("{dir}/manifest.json");
    let m = std::fs::read_to_string(&manifest).unwrap();
    std::fs::write(&manifest, m.replace("\"completed\"", "\"interrupted\"")).unwrap();
    t.run_with(&["run", "--resume", &dir])
        .code(0)
        .stdout_has("shard 2/3 recorded 2 calls");
    let ids = call_ids(&dir);
    assert_eq!(
        ids,
        BTreeSet::from(["case-001".to_string(), "case-004".to_string()])
    );
    assert_eq!(json(manifest)["status"], "completed");
    // --shard belongs to the run: a resume cannot change it.
    t.run_with(&["run", "--resume", &dir, "--shard", "1/3"])
        .code(2);
}
