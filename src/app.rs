//! Command dispatch: the library's entry point for the binary.

use std::path::Path;
use std::sync::Arc;

use crate::cli::{BackendKind, Cli, Command, GoldenArgs, HashArgs, RunArgs, RunOptions};
use crate::error::{Error, Location, Result};
use crate::exit;
use crate::golden::GoldenSet;
use crate::plan::RunPlan;
use crate::project::Project;
use crate::prompt::Prompt;
use crate::run::manifest::Manifest;
use crate::{report, run};

/// Runs one command and returns the process exit code.
pub fn main(cli: Cli) -> Result<i32> {
    match cli.command {
        Command::Run(args) => run_command(&args),
        Command::Hash(args) => hash_command(&args),
        Command::Golden(args) => golden_command(&args),
    }
}

fn run_command(args: &RunArgs) -> Result<i32> {
    let cwd = std::env::current_dir()
        .map_err(|e| Error::infrastructure(format!("cannot read the working directory: {e}")))?;
    let (plan, resume) = match &args.resume {
        Some(run_dir) => {
            let (plan, resume) = resume_plan(args, run_dir, &cwd)?;
            (plan, Some(resume))
        }
        None => {
            let (Some(prompt), Some(criteria)) = (&args.prompt, &args.criteria) else {
                return Err(Error::usage(
                    "run needs --prompt and --criteria (or --resume RUN_DIR)",
                ));
            };
            (RunPlan::build(prompt, criteria, &args.options, &cwd)?, None)
        }
    };
    let plan = Arc::new(plan);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::infrastructure(format!("cannot start the async runtime: {e}")))?;
    let outcome = runtime.block_on(run::execute(plan.clone(), resume))?;
    let shown_dir = outcome
        .run_dir
        .strip_prefix(&cwd)
        .unwrap_or(&outcome.run_dir)
        .display()
        .to_string();
    print_stdout(&report::terminal::summary(&outcome.report, &shown_dir));
    Ok(if outcome.report.passed() {
        exit::PASS
    } else {
        exit::GATE_FAILED
    })
}

/// Rebuilds the plan of an earlier run from its manifest and checks that the prompt, golden
/// set and criteria are still the ones it ran with.
fn resume_plan(args: &RunArgs, run_dir: &Path, cwd: &Path) -> Result<(RunPlan, run::Resume)> {
    let manifest = Manifest::load(run_dir)?;
    let manifest_path = run_dir.join(run::manifest::FILE_NAME);
    let root = Project::discover(cwd)?.root;
    let settings = &manifest.settings;
    let backend = match settings.backend.as_str() {
        "mock" => BackendKind::Mock,
        "command" => BackendKind::Command,
        "openai" => BackendKind::Openai,
        other => {
            return Err(Error::input(
                Location::file(&manifest_path),
                format!("backend {other:?} cannot be resumed by this build"),
            ));
        }
    };
    let identity = &manifest.identity;
    let resumed = RunOptions {
        backend: Some(backend),
        mock_rules: settings.mock_rules.as_ref().map(|p| root.join(p)),
        mock_latency_ms: settings.mock_latency_ms,
        command: settings.command.clone(),
        // A redacted endpoint cannot be called: take it from the flags and environment again.
        base_url: settings.base_url.clone().filter(|url| !url.contains("***")),
        api_key_env: settings
            .key_env_var
            .clone()
            .unwrap_or_else(|| args.options.api_key_env.clone()),
        timeout: settings.timeout_secs,
        max_retries: settings.max_retries,
        rpm: settings.rpm,
        max_error_rate: settings.max_error_rate,
        no_cache: !settings.cache,
        concurrency: Some(manifest.concurrency),
        repeat: manifest.repeats,
        out: None,
        no_progress: args.options.no_progress,
    };
    let plan = RunPlan::build(
        &root.join(&identity.prompt.path),
        &root.join(&identity.criteria.path),
        &resumed,
        cwd,
    )?;
    let changed = |what: &str, path: &str, then: &str, now: &str| {
        Error::input(
            Location::file(root.join(path)),
            format!(
                "{what} changed since run {} started ({} then, {} now): a resumed run must \
                 finish what it started; start a new run instead",
                manifest.run_id,
                crate::digest::short(then),
                crate::digest::short(now)
            ),
        )
    };
    if plan.prompt.version != identity.prompt.version {
        return Err(changed(
            "the prompt version",
            &identity.prompt.path,
            &identity.prompt.version,
            &plan.prompt.version,
        ));
    }
    if plan.golden.hash != identity.golden.hash {
        return Err(changed(
            "the golden set",
            &identity.golden.path,
            &identity.golden.hash,
            &plan.golden.hash,
        ));
    }
    if plan.criteria.hash != identity.criteria.hash {
        return Err(changed(
            "the criteria file",
            &identity.criteria.path,
            &identity.criteria.hash,
            &plan.criteria.hash,
        ));
    }
    let finished = run::resume::finished_calls(&plan.golden, &plan.scorers, plan.repeat, run_dir)?;
    Ok((
        plan,
        run::Resume {
            run_dir: run_dir.to_path_buf(),
            manifest,
            finished,
        },
    ))
}

fn hash_command(args: &HashArgs) -> Result<i32> {
    let prompt = Prompt::load(&args.prompt)?;
    print_stdout(&format!(
        "{}\nshort: {}\n",
        prompt.version,
        prompt.short_version()
    ));
    Ok(exit::PASS)
}

fn golden_command(args: &GoldenArgs) -> Result<i32> {
    let golden = GoldenSet::load(&args.golden)?;
    print_stdout(&format!("{}\ncases: {}\n", golden.hash, golden.cases.len()));
    Ok(exit::PASS)
}

/// Writes to stdout without panicking when it is closed (`promptgate run ... | head`): the
/// exit code and the run directory carry the result either way.
fn print_stdout(text: &str) {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(text.as_bytes()).and_then(|()| out.flush());
}
