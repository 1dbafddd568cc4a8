//! `promptgate merge`: the shards of one run (`run --shard I/N`, typically one per CI job)
//! combined into one run directory and judged, as if the run had been made in one piece.

use std::path::{Path, PathBuf};

use super::publish::{check_report_folders, publish};
use super::{cwd, shown};
use crate::error::{Error, Location, Result};
use crate::exit::Outcome;
use crate::judging::Judging;
use crate::project::Project;
use crate::report::view::RunView;
use crate::report::{ReportSpec, terminal};
use crate::rundir::calls::{self, ReadMode};
use crate::rundir::{self, Manifest, Report, Status};
use crate::shard::Shard;

pub struct MergeRequest {
    pub shards: Vec<PathBuf>,
    pub out: PathBuf,
    pub reports: Vec<ReportSpec>,
}

pub fn merge(request: &MergeRequest) -> Result<Outcome> {
    let cwd = cwd()?;
    check_report_folders(&request.reports, Some(&request.out))?;
    let project = Project::discover(&cwd)?;
    let report = merge_into(&project, &request.shards, &request.out)?;
    terminal::print_stdout(&terminal::summary(&report, &shown(&request.out, &cwd)));
    let annotate = Some((&report, project.root.as_path()));
    publish(&request.out, "report", &request.reports, annotate, || {
        RunView::load(&request.out)
    })?;
    Ok(Outcome::from_held(report.passed()))
}

/// One shard directory, read and checked.
struct ShardRun {
    dir: PathBuf,
    manifest: Manifest,
    shard: Shard,
}

fn read_shard(dir: &Path) -> Result<ShardRun> {
    if !dir.is_dir() {
        return Err(Error::input(
            Location::file(dir),
            "no run directory here: merge takes the directories the shard runs printed",
        ));
    }
    let manifest = Manifest::load(dir)?;
    let Some(shard) = manifest.shard else {
        return Err(Error::input(
            Location::file(dir.join(rundir::manifest::FILE_NAME)),
            "not a shard (it was run without --shard): merge combines the shards of one run",
        ));
    };
    manifest.require_completed(dir, &format!("shard {shard}"))?;
    Ok(ShardRun {
        dir: dir.to_path_buf(),
        manifest,
        shard,
    })
}

/// What every shard of one run must share, as comparable text.
fn run_key(m: &Manifest) -> Vec<(&'static str, String)> {
    let i = &m.identity;
    vec![
        ("prompt version", i.prompt.version.clone()),
        ("golden set", i.golden.hash.clone()),
        ("criteria", i.criteria.hash.clone()),
        (
            "backend",
            serde_json::to_string(&i.backend).expect("backends serialize"),
        ),
        ("repeats", m.repeats.to_string()),
        (
            "settings (timeouts, retries, error budget, cache)",
            serde_json::to_string(&m.settings).expect("settings serialize"),
        ),
    ]
}

/// Refuses shards that are not exactly the N shards of one run, and sorts them.
fn check_one_run(shards: &mut [ShardRun]) -> Result<()> {
    let first = &shards[0];
    let count = first.shard.count;
    let key = run_key(&first.manifest);
    for other in &shards[1..] {
        let at = || Location::file(other.dir.join(rundir::manifest::FILE_NAME));
        if other.shard.count != count {
            return Err(Error::input(
                at(),
                format!(
                    "shard {} is one of {} shards, {} is one of {count}: merge the shards of one run",
                    other.shard,
                    other.shard.count,
                    first.dir.display()
                ),
            ));
        }
        for ((what, mine), (_, theirs)) in run_key(&other.manifest).iter().zip(&key) {
            if mine != theirs {
                return Err(Error::input(
                    at(),
                    format!(
                        "{what}: not the same as {}'s; merge the shards of one run",
                        first.dir.display()
                    ),
                ));
            }
        }
    }
    shards.sort_by_key(|s| s.shard.index);
    for pair in shards.windows(2) {
        if pair[0].shard.index == pair[1].shard.index {
            return Err(Error::usage(format!(
                "shard {} is given twice ({} and {})",
                pair[0].shard,
                pair[0].dir.display(),
                pair[1].dir.display()
            )));
        }
    }
    let missing: Vec<String> = (1..=count)
        .filter(|i| !shards.iter().any(|s| s.shard.index == *i))
        .map(|i| format!("{i}/{count}"))
        .collect();
    if !missing.is_empty() {
        return Err(Error::usage(format!(
            "shard(s) {} missing: a merged run needs all {count} shards",
            missing.join(", ")
        )));
    }
    Ok(())
}

/// Checks every shard's calls through the one judging path: the shard's own, and complete.
fn check_shard_calls(shards: &[ShardRun], judging: &Judging) -> Result<()> {
    let cases = judging.golden.cases.len();
    for shard in shards {
        let mut stray = None;
        let (found, _) =
            judging.read_run(&shard.manifest, &shard.dir, ReadMode::Strict, |case, r| {
                if !shard.shard.holds(case) {
                    stray.get_or_insert(r.case_id);
                }
            })?;
        let calls_path = shard.dir.join(calls::FILE_NAME);
        if let Some(case) = stray {
            return Err(Error::input(
                Location::file(&calls_path),
                format!("case {case:?} is not in shard {}", shard.shard),
            ));
        }
        let expected = shard.shard.cases(cases) * shard.manifest.repeats as usize;
        if found.len() != expected {
            return Err(Error::input(
                Location::file(&calls_path),
                format!(
                    "{} of shard {}'s {expected} calls are recorded: finish it with `promptgate run --resume {}`",
                    found.len(),
                    shard.shard,
                    shard.dir.display()
                ),
            ));
        }
    }
    Ok(())
}

/// Combines the shard directories into a new run directory `out` and judges it.
fn merge_into(project: &Project, dirs: &[PathBuf], out: &Path) -> Result<Report> {
    let mut shards: Vec<ShardRun> = dirs.iter().map(|d| read_shard(d)).collect::<Result<_>>()?;
    check_one_run(&mut shards)?;
    let manifest = &shards[0].manifest;
    let criteria_path = project.resolve(Path::new(&manifest.identity.criteria.path));
    let judging = Judging::load(&criteria_path)?;
    if judging.criteria.hash != manifest.identity.criteria.hash {
        return Err(Error::input(
            Location::file(&criteria_path),
            format!(
                "changed since the shards ran ({} then, {} now): judge them by the criteria they ran with",
                crate::digest::short(&manifest.identity.criteria.hash),
                crate::digest::short(&judging.criteria.hash)
            ),
        ));
    }
    check_shard_calls(&shards, &judging)?;

    // A new directory, never an existing run's, nor one inside a shard's.
    let absolute = |p: &Path| std::path::absolute(p).unwrap_or_else(|_| p.to_path_buf());
    if let Some(shard) = shards
        .iter()
        .find(|s| absolute(out).starts_with(absolute(&s.dir)))
    {
        return Err(Error::usage(format!(
            "--out {}: it is inside shard {}'s directory; write the merged run elsewhere",
            out.display(),
            shard.shard
        )));
    }
    if let Some(parent) = out.parent()
        && !parent.as_os_str().is_empty()
    {
        std::fs::create_dir_all(parent).map_err(|e| Error::write_failed(parent, &e))?;
    }
    let exists = || {
        Error::usage(format!(
            "--out {}: it exists; merge writes a new run directory",
            out.display()
        ))
    };
    if out.exists() {
        return Err(exists());
    }
    // Built beside --out and renamed into place last, so an interrupted merge leaves no
    // half-written run behind the name (nor one that blocks the next merge).
    let name = out
        .file_name()
        .map_or_else(|| "merged".into(), |n| n.to_string_lossy().into_owned());
    let building = out.with_file_name(format!(".{name}.merging-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&building);
    std::fs::create_dir(&building).map_err(|e| Error::write_failed(&building, &e))?;
    let report = match write_merged(&building, &shards, &judging) {
        Ok(report) => report,
        Err(e) => {
            let _ = std::fs::remove_dir_all(&building);
            return Err(e);
        }
    };
    // rename(2) replaces an empty directory: claim the name first so a racing merge loses.
    if let Err(e) = std::fs::create_dir(out) {
        let _ = std::fs::remove_dir_all(&building);
        return Err(if e.kind() == std::io::ErrorKind::AlreadyExists {
            exists()
        } else {
            Error::write_failed(out, &e)
        });
    }
    std::fs::rename(&building, out).map_err(|e| Error::write_failed(out, &e))?;
    Ok(report)
}

/// Writes the merged run (calls, report, manifest) into `out`. The judgement is of the
/// calls.jsonl written here, read back through the one judging path, so a shard's file
/// changed after it was checked cannot slip into a merged run unjudged.
fn write_merged(out: &Path, shards: &[ShardRun], judging: &Judging) -> Result<Report> {
    let manifest = &shards[0].manifest;
    let out_calls = out.join(calls::FILE_NAME);
    let mut log =
        std::fs::File::create(&out_calls).map_err(|e| Error::write_failed(&out_calls, &e))?;
    for shard in shards {
        let from = shard.dir.join(calls::FILE_NAME);
        let mut input = crate::error::open_regular(&from)?;
        std::io::copy(&mut input, &mut log).map_err(|e| Error::write_failed(&out_calls, &e))?;
    }
    log.sync_all()
        .map_err(|e| Error::write_failed(&out_calls, &e))?;

    let mut merged = manifest.clone();
    merged.run_id = rundir::new_run_id();
    merged.started_at = shards
        .iter()
        .map(|s| s.manifest.started_at.clone())
        .min()
        .unwrap_or_default();
    merged.shard = None;
    merged.merged_from = shards.iter().map(|s| s.manifest.run_id.clone()).collect();
    let report = judging.rejudge(&merged, out, manifest.identity.clone(), |_, _| {})?;
    report.write_json(&out.join(rundir::report::FILE_NAME))?;
    let calls = judging.golden.cases.len() * merged.repeats as usize;
    merged.finished_at = Some(rundir::now_rfc3339());
    merged.status = Status::Completed;
    merged.calls_total = calls;
    merged.calls_done = calls;
    merged.verdict = Some(report.verdict_word().to_string());
    merged.write(out)?;
    Ok(report)
}
