//! Flags + promptgate.toml + file contents, resolved and validated once into a `RunPlan`.
//! Nothing downstream re-reads flags or files; every input error surfaces here, before
//! any call is made.

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::backend::Backend;
use crate::backend::BackendKind;
use crate::backend::command::CommandBackend;
use crate::backend::mock::MockBackend;
use crate::backend::openai::OpenAiBackend;
use crate::backend::resilience::{CallPolicy, RateLimiter, RetryPolicy};
use crate::error::{Error, Location, Result};
use crate::golden::GoldenSet;
use crate::judging::Judging;
use crate::project::Project;
use crate::prompt::Prompt;
use crate::run::cache::{BackendKey, Cache};
use crate::rundir::{BackendRef, GoldenRef, Identity, PromptRef, Settings};
use crate::shard::Shard;

pub const DEFAULT_CONCURRENCY: usize = 8;
pub const DEFAULT_OUT: &str = ".promptgate/runs";
pub const DEFAULT_OPENAI_BASE_URL: &str = "https://api.openai.com/v1";
/// Beyond these, a value is a typo, not a plan: refuse it before allocating for it.
pub const MAX_CONCURRENCY: usize = 10_000;
pub const MAX_REPEAT: u32 = 1_000;

/// How a prompt version is to be run, as the user asked (command-line flags, or a
/// manifest's settings for a resumed run). Unset values fall back to promptgate.toml, then
/// to the defaults; `RunPlan::build` validates everything once.
#[derive(Debug, Clone)]
pub struct RunOptions {
    pub backend: Option<BackendKind>,
    pub mock_rules: Option<PathBuf>,
    pub mock_latency_ms: u64,
    pub command: Option<String>,
    pub base_url: Option<String>,
    pub api_key_env: String,
    pub timeout_secs: f64,
    pub max_retries: u32,
    pub rpm: Option<u32>,
    pub max_error_rate: Option<f64>,
    pub no_cache: bool,
    pub concurrency: Option<usize>,
    pub repeat: u32,
    pub out: Option<PathBuf>,
    pub no_progress: bool,
}

impl Default for RunOptions {
    fn default() -> Self {
        RunOptions {
            backend: None,
            mock_rules: None,
            mock_latency_ms: 0,
            command: None,
            base_url: None,
            api_key_env: DEFAULT_API_KEY_ENV.to_string(),
            timeout_secs: DEFAULT_TIMEOUT_SECS,
            max_retries: DEFAULT_MAX_RETRIES,
            rpm: None,
            max_error_rate: None,
            no_cache: false,
            concurrency: None,
            repeat: 1,
            out: None,
            no_progress: false,
        }
    }
}

pub const DEFAULT_API_KEY_ENV: &str = "OPENAI_API_KEY";
pub const DEFAULT_TIMEOUT_SECS: f64 = 60.0;
pub const DEFAULT_MAX_RETRIES: u32 = 3;

pub struct RunPlan {
    pub project: Project,
    pub prompt: Prompt,
    /// The criteria, the golden set they pin and the compiled scorers.
    pub judging: Judging,
    pub backend: Backend,
    /// The backend as the manifest records it: never a key.
    pub backend_ref: BackendRef,
    pub policy: CallPolicy,
    /// None for the mock backend and with --no-cache.
    pub cache: Option<Cache>,
    /// Share of calls that may fail for good before the run ends with exit 3.
    pub max_error_rate: f64,
    pub concurrency: usize,
    pub repeat: u32,
    pub out_dir: PathBuf,
    pub show_progress: bool,
    /// The settings a resumed run is rebuilt from.
    pub settings: Settings,
    /// Set when this run is one shard of a run split across machines.
    pub shard: Option<Shard>,
    /// The judge `llm_judge` scorers call; None when no scorer is one.
    pub judge: Option<JudgePlan>,
}

/// The judge's backend, built apart from the candidate's from the criteria's `[judge]`.
/// Its calls go through the run's CallPolicy.
pub struct JudgePlan {
    pub backend: Backend,
    pub kind: BackendKind,
    pub endpoint: Option<String>,
    pub command: Option<String>,
    /// `[judge] model`, which replaces the judge prompt's model name.
    pub model: Option<String>,
    /// None for the mock judge and with --no-cache.
    pub cache: Option<Cache>,
}

impl JudgePlan {
    pub fn cache_identity(&self) -> BackendKey<'_> {
        BackendKey {
            kind: self.kind.name(),
            endpoint: self.endpoint.as_deref(),
            command: self.command.as_deref(),
        }
    }
}

impl RunPlan {
    pub fn build(
        prompt_path: &Path,
        criteria_path: &Path,
        args: &RunOptions,
        cwd: &Path,
    ) -> Result<RunPlan> {
        let project = Project::discover(cwd)?;
        let in_range = |n: usize| (1..=MAX_CONCURRENCY).contains(&n);
        let concurrency = match (args.concurrency, project.config.run.concurrency) {
            (Some(n), _) if in_range(n) => n,
            (Some(n), _) => {
                return Err(Error::usage(format!(
                    "--concurrency {n} is out of range: use 1 to {MAX_CONCURRENCY}"
                )));
            }
            (None, Some(n)) if in_range(n) => n,
            (None, Some(n)) => {
                return Err(project.config_error(format!(
                    "[run] concurrency = {n} is out of range: use 1 to {MAX_CONCURRENCY}"
                )));
            }
            (None, None) => DEFAULT_CONCURRENCY,
        };
        if !(1..=MAX_REPEAT).contains(&args.repeat) {
            return Err(Error::usage(format!(
                "--repeat {} is out of range: use 1 to {MAX_REPEAT}",
                args.repeat
            )));
        }
        let out_dir = match (&args.out, &project.config.run.out) {
            (Some(out), _) => cwd.join(out),
            (None, Some(out)) => project.resolve(out),
            (None, None) => project.root.join(DEFAULT_OUT),
        };
        // Found now, not as "File exists" after the run directory cannot be made.
        if let Some(taken) = out_dir.ancestors().find(|p| p.exists() && !p.is_dir()) {
            return Err(Error::usage(format!(
                "--out {}: {} is a file, not a folder; runs go into a folder",
                out_dir.display(),
                taken.display()
            )));
        }

        let prompt = Prompt::load(prompt_path)?;
        let judging = Judging::load(criteria_path)?;
        check_variables(&prompt, &judging.golden)?;

        let (backend, backend_ref) = build_backend(args, &project, &prompt)?;
        let policy = build_policy(args)?;
        let judges = (0..judging.golden.cases.len())
            .any(|i| judging.scorers.for_case(i).any(|s| s.judge().is_some()));
        let judge = if judges {
            Some(build_judge(args, &project, &judging)?)
        } else {
            None
        };
        let cache = (backend.is_cacheable() && !args.no_cache).then(|| Cache::new(&project.root));
        let max_error_rate = args.max_error_rate.unwrap_or(0.0);
        if !(0.0..=1.0).contains(&max_error_rate) {
            return Err(Error::usage(format!(
                "--max-error-rate {} is out of range: use a share from 0 to 1",
                max_error_rate
            )));
        }
        let settings = Settings {
            backend: backend_ref.kind,
            command: backend_ref.command.clone(),
            base_url: backend_ref.endpoint.clone(),
            key_env_var: (backend_ref.kind == BackendKind::Openai)
                .then(|| args.api_key_env.clone()),
            mock_rules: backend_ref.mock_rules.clone(),
            mock_latency_ms: args.mock_latency_ms,
            timeout_secs: args.timeout_secs,
            max_retries: args.max_retries,
            rpm: args.rpm,
            max_error_rate,
            cache: !args.no_cache,
        };
        Ok(RunPlan {
            project,
            prompt,
            judging,
            backend,
            backend_ref,
            cache,
            policy,
            max_error_rate,
            concurrency,
            repeat: args.repeat,
            out_dir,
            show_progress: !args.no_progress,
            settings,
            shard: None,
            judge,
        })
    }

    pub fn cache_identity(&self) -> BackendKey<'_> {
        BackendKey {
            kind: self.backend_ref.kind.name(),
            endpoint: self.backend_ref.endpoint.as_deref(),
            command: self.backend_ref.command.as_deref(),
        }
    }

    /// What this run is, as its manifest and report record it.
    pub fn identity(&self) -> Identity {
        let golden = &self.judging.golden;
        Identity {
            prompt: PromptRef {
                id: self.prompt.id.clone(),
                version: self.prompt.version.clone(),
                path: self.project.relative(&self.prompt.path),
            },
            golden: GoldenRef {
                path: self.project.relative(&golden.path),
                hash: golden.hash.clone(),
                cases: golden.cases.len(),
            },
            criteria: self.judging.criteria_ref(&self.project),
            backend: self.backend_ref.clone(),
        }
    }

    pub fn total_calls(&self) -> usize {
        let cases = self.judging.golden.cases.len();
        self.shard.map_or(cases, |s| s.cases(cases)) * self.repeat as usize
    }

    /// Whether this run calls the case at golden position `case`.
    pub fn runs_case(&self, case: usize) -> bool {
        self.shard.is_none_or(|s| s.holds(case))
    }

    /// Makes this run one shard; a shard that would hold no case is an input error.
    pub fn set_shard(&mut self, shard: Shard) -> Result<()> {
        // Every shard of the run must hold a case, or the shards can never all be merged.
        let golden = &self.judging.golden;
        if shard.count > golden.cases.len() {
            return Err(Error::usage(format!(
                "--shard {shard}: the golden set {} has {} cases, so some of {} shards would hold none: use at most {} shards",
                golden.path.display(),
                golden.cases.len(),
                shard.count,
                golden.cases.len()
            )));
        }
        self.shard = Some(shard);
        Ok(())
    }
}

fn check_variables(prompt: &Prompt, golden: &GoldenSet) -> Result<()> {
    let needed = prompt.variables(false);
    // Attribute paths (`user.name`): strict rendering fails on any step that is missing
    // or not an object, so the first such case is named now rather than mid-run.
    let paths: Vec<Vec<String>> = prompt
        .variables(true)
        .iter()
        .map(|p| p.split('.').map(str::to_string).collect::<Vec<_>>())
        .filter(|steps| steps.len() > 1)
        .collect();
    for case in &golden.cases {
        let at = || Location::line(&golden.path, case.line);
        if let Some(missing) = needed.iter().find(|v| !case.vars.contains_key(v.as_str())) {
            return Err(Error::input(
                at(),
                format!(
                    "case {:?} has no variable {missing:?}, which {} uses; add it to the case's vars",
                    case.id,
                    prompt.path.display()
                ),
            ));
        }
        for steps in &paths {
            let mut value = case.vars.get(&steps[0]);
            for (i, step) in steps.iter().enumerate().skip(1) {
                value = value.and_then(|v| v.as_object()).and_then(|o| o.get(step));
                if value.is_none() {
                    return Err(Error::input(
                        at(),
                        format!(
                            "case {:?}: {} reads {}, but {} is not an object with a field {step:?}",
                            case.id,
                            prompt.path.display(),
                            steps.join("."),
                            steps[..i].join(".")
                        ),
                    ));
                }
            }
        }
    }
    Ok(())
}

fn build_policy(args: &RunOptions) -> Result<CallPolicy> {
    if !(args.timeout_secs.is_finite() && args.timeout_secs > 0.0 && args.timeout_secs <= 86_400.0)
    {
        return Err(Error::usage(format!(
            "--timeout {} is out of range: use seconds from 0.001 to 86400",
            args.timeout_secs
        )));
    }
    if args.max_retries > 100 {
        return Err(Error::usage(format!(
            "--max-retries {} is out of range: use 0 to 100",
            args.max_retries
        )));
    }
    let limiter = match args.rpm {
        Some(0) => return Err(Error::usage("--rpm must be at least 1")),
        Some(rpm) => Some(RateLimiter::per_minute(rpm)),
        None => None,
    };
    Ok(CallPolicy {
        timeout: Duration::from_secs_f64(args.timeout_secs),
        retry: RetryPolicy {
            max_retries: args.max_retries,
            ..RetryPolicy::default()
        },
        limiter,
    })
}

/// Builds the judge's backend from the criteria's `[judge]` with the candidate's
/// constructors; paths are relative to the criteria file, the key comes from the
/// environment and is kept nowhere else.
fn build_judge(args: &RunOptions, project: &Project, judging: &Judging) -> Result<JudgePlan> {
    let config = &judging.criteria.judge;
    let dir = judging.criteria.dir();
    let at = || Location::file(&judging.criteria.path);
    let kind = config.backend;
    if kind != BackendKind::Mock && config.mock_rules.is_some() {
        return Err(Error::input(
            at(),
            "[judge] mock_rules needs backend = \"mock\"",
        ));
    }
    if kind != BackendKind::Command && config.command.is_some() {
        return Err(Error::input(
            at(),
            "[judge] command needs backend = \"command\"",
        ));
    }
    if kind != BackendKind::Openai && (config.base_url.is_some() || config.api_key_env.is_some()) {
        return Err(Error::input(
            at(),
            "[judge] base_url and api_key_env need backend = \"openai\"",
        ));
    }
    let (backend, endpoint, command) = match kind {
        BackendKind::Mock => {
            let latency = Duration::from_millis(args.mock_latency_ms);
            let mock = match &config.mock_rules {
                Some(path) => MockBackend::from_rules_file(&dir.join(path), latency)?,
                None => MockBackend::echo(latency),
            };
            (Backend::Mock(Box::new(mock)), None, None)
        }
        BackendKind::Command => {
            let Some(command) = &config.command else {
                return Err(Error::input(
                    at(),
                    "[judge] backend = \"command\" needs command = \"PROGRAM ARG...\"",
                ));
            };
            let backend = CommandBackend::new(command, dir.clone())?;
            let line = backend.command_line();
            (Backend::Command(backend), None, Some(line))
        }
        BackendKind::Openai => {
            let base_url = config
                .base_url
                .clone()
                .unwrap_or_else(|| DEFAULT_OPENAI_BASE_URL.to_string());
            let key_env = config.api_key_env.as_deref().unwrap_or(DEFAULT_API_KEY_ENV);
            let api_key = std::env::var(key_env).ok().filter(|k| !k.trim().is_empty());
            let backend = OpenAiBackend::new(
                &base_url,
                api_key,
                Duration::from_secs_f64(args.timeout_secs),
            )?;
            let endpoint = backend.endpoint();
            (Backend::OpenAi(Box::new(backend)), Some(endpoint), None)
        }
    };
    let cache = (backend.is_cacheable() && !args.no_cache).then(|| Cache::new(&project.root));
    Ok(JudgePlan {
        backend,
        kind,
        endpoint,
        command,
        model: config.model.clone(),
        cache,
    })
}

fn build_backend(
    args: &RunOptions,
    project: &Project,
    prompt: &Prompt,
) -> Result<(Backend, BackendRef)> {
    let kind = args
        .backend
        .or(project.config.backend.kind)
        .unwrap_or_default();
    if kind != BackendKind::Command && args.command.is_some() {
        return Err(Error::usage("--command needs --backend command"));
    }
    if kind != BackendKind::Openai && args.base_url.is_some() {
        return Err(Error::usage("--base-url needs --backend openai"));
    }
    match kind {
        BackendKind::Mock => {
            let latency = Duration::from_millis(args.mock_latency_ms);
            let rules = match (&args.mock_rules, &project.config.backend.mock_rules) {
                (Some(path), _) => Some(path.clone()),
                (None, Some(path)) => Some(project.resolve(path)),
                (None, None) => None,
            };
            let mock = match &rules {
                Some(path) => MockBackend::from_rules_file(path, latency)?,
                None => MockBackend::echo(latency),
            };
            let info = BackendRef {
                kind: BackendKind::Mock,
                model: prompt.model.name.clone(),
                endpoint: None,
                command: None,
                mock_rules: rules.as_deref().map(|p| project.relative(p)),
                mock_latency_ms: Some(args.mock_latency_ms),
            };
            Ok((Backend::Mock(Box::new(mock)), info))
        }
        BackendKind::Command => {
            let Some(command) = &args.command else {
                return Err(Error::usage(
                    "--backend command needs --command \"PROGRAM ARG...\"",
                ));
            };
            let backend = CommandBackend::new(command, project.root.clone())?;
            let info = BackendRef {
                kind: BackendKind::Command,
                model: prompt.model.name.clone(),
                endpoint: None,
                command: Some(backend.command_line()),
                mock_rules: None,
                mock_latency_ms: None,
            };
            Ok((Backend::Command(backend), info))
        }
        BackendKind::Openai => {
            let base_url = args
                .base_url
                .clone()
                .or_else(|| {
                    std::env::var("OPENAI_BASE_URL")
                        .ok()
                        .filter(|u| !u.trim().is_empty())
                })
                .or_else(|| project.config.backend.base_url.clone())
                .unwrap_or_else(|| DEFAULT_OPENAI_BASE_URL.to_string());
            // The key is read here and handed to the client only: it is never stored in the
            // plan, the manifest or any message.
            let api_key = std::env::var(&args.api_key_env)
                .ok()
                .filter(|k| !k.trim().is_empty());
            let backend = OpenAiBackend::new(
                &base_url,
                api_key,
                Duration::from_secs_f64(args.timeout_secs),
            )?;
            let info = BackendRef {
                kind: BackendKind::Openai,
                model: prompt.model.name.clone(),
                endpoint: Some(backend.endpoint()),
                command: None,
                mock_rules: None,
                mock_latency_ms: None,
            };
            Ok((Backend::OpenAi(Box::new(backend)), info))
        }
    }
}
