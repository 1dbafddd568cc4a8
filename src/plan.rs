//! Flags + promptgate.toml + file contents, resolved and validated once into a `RunPlan`.
//! Nothing downstream re-reads flags or files; every input error surfaces here, before
//! any call is made.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::backend::Backend;
use crate::backend::command::CommandBackend;
use crate::backend::mock::MockBackend;
use crate::backend::openai::OpenAiBackend;
use crate::backend::resilience::{CallPolicy, RateLimiter, RetryPolicy};
use crate::cli::{BackendKind, RunOptions};
use crate::criteria::{Criteria, Metric};
use crate::error::{Error, Location, Result};
use crate::golden::GoldenSet;
use crate::project::Project;
use crate::prompt::Prompt;
use crate::run::cache::{BackendKey, Cache};
use crate::run::manifest::Settings;
use crate::score::{Scorer, ScorerSet};

pub const DEFAULT_CONCURRENCY: usize = 8;
pub const DEFAULT_OUT: &str = ".promptgate/runs";
pub const DEFAULT_OPENAI_BASE_URL: &str = "https://api.openai.com/v1";
/// Beyond these, a value is a typo, not a plan: refuse it before allocating for it.
pub const MAX_CONCURRENCY: usize = 10_000;
pub const MAX_REPEAT: u32 = 1_000;

/// The backend as the manifest records it: never a key.
#[derive(Debug, Clone)]
pub struct BackendInfo {
    pub kind: String,
    pub model: String,
    pub endpoint: Option<String>,
    pub command: Option<String>,
    pub mock_rules: Option<String>,
    pub mock_latency_ms: Option<u64>,
}

pub struct RunPlan {
    pub project: Project,
    pub prompt: Prompt,
    pub golden: GoldenSet,
    pub criteria: Criteria,
    pub scorers: ScorerSet,
    pub backend: Backend,
    pub backend_info: BackendInfo,
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
}

/// Shard `index` of `count` (1-based): the cases at golden positions index-1, index-1+count, ...
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    pub index: usize,
    pub count: usize,
}

/// More shards than this is a typo, not a plan.
pub const MAX_SHARDS: usize = 1000;

impl Shard {
    pub fn parse(text: &str) -> std::result::Result<Shard, String> {
        let bad = || {
            format!("{text:?} is not a shard: write I/N, as in 2/4 (1 <= I <= N <= {MAX_SHARDS})")
        };
        let (index, count) = text.split_once('/').ok_or_else(bad)?;
        let index: usize = index.trim().parse().map_err(|_| bad())?;
        let count: usize = count.trim().parse().map_err(|_| bad())?;
        if index == 0 || index > count || count > MAX_SHARDS {
            return Err(bad());
        }
        Ok(Shard { index, count })
    }

    /// Whether the case at golden position `case` (0-based) belongs to this shard.
    pub fn holds(&self, case: usize) -> bool {
        case % self.count == self.index - 1
    }

    /// How many of `cases` cases this shard holds.
    pub fn cases(&self, cases: usize) -> usize {
        cases / self.count + usize::from(self.index - 1 < cases % self.count)
    }
}

impl std::fmt::Display for Shard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
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

        let prompt = Prompt::load(prompt_path)?;
        let Judging {
            criteria,
            golden,
            scorers,
        } = Judging::load(criteria_path)?;
        check_variables(&prompt, &golden)?;

        let (backend, backend_info) = build_backend(args, &project, &prompt)?;
        let policy = build_policy(args)?;
        let cache = (backend.is_cacheable() && !args.no_cache).then(|| Cache::new(&project.root));
        let max_error_rate = args.max_error_rate.unwrap_or(0.0);
        if !(0.0..=1.0).contains(&max_error_rate) {
            return Err(Error::usage(format!(
                "--max-error-rate {} is out of range: use a share from 0 to 1",
                max_error_rate
            )));
        }
        let settings = Settings {
            backend: backend_info.kind.clone(),
            command: backend_info.command.clone(),
            base_url: backend_info.endpoint.clone(),
            key_env_var: (backend_info.kind == "openai").then(|| args.api_key_env.clone()),
            mock_rules: backend_info.mock_rules.clone(),
            mock_latency_ms: args.mock_latency_ms,
            timeout_secs: args.timeout,
            max_retries: args.max_retries,
            rpm: args.rpm,
            max_error_rate,
            cache: !args.no_cache,
        };
        Ok(RunPlan {
            project,
            prompt,
            golden,
            criteria,
            scorers,
            backend,
            backend_info,
            cache,
            policy,
            max_error_rate,
            concurrency,
            repeat: args.repeat,
            out_dir,
            show_progress: !args.no_progress,
            settings,
            shard: None,
        })
    }

    pub fn cache_identity(&self) -> BackendKey<'_> {
        BackendKey {
            kind: &self.backend_info.kind,
            endpoint: self.backend_info.endpoint.as_deref(),
            command: self.backend_info.command.as_deref(),
        }
    }

    pub fn total_calls(&self) -> usize {
        let cases = self.golden.cases.len();
        self.shard.map_or(cases, |s| s.cases(cases)) * self.repeat as usize
    }

    /// Whether this run calls the case at golden position `case`.
    pub fn runs_case(&self, case: usize) -> bool {
        self.shard.is_none_or(|s| s.holds(case))
    }

    /// Makes this run one shard; a shard that would hold no case is an input error.
    pub fn set_shard(&mut self, shard: Shard) -> Result<()> {
        // Every shard of the run must hold a case, or the shards can never all be merged.
        if shard.count > self.golden.cases.len() {
            return Err(Error::usage(format!(
                "--shard {shard}: the golden set {} has {} cases, so some of {} shards would hold none: use at most {} shards",
                self.golden.path.display(),
                self.golden.cases.len(),
                shard.count,
                self.golden.cases.len()
            )));
        }
        self.shard = Some(shard);
        Ok(())
    }
}

/// What judging needs: the criteria, the golden set they pin (hash checked) and the
/// compiled scorers. Shared by `run` and by `compare` on finished run directories.
pub struct Judging {
    pub criteria: Criteria,
    pub golden: GoldenSet,
    pub scorers: ScorerSet,
}

impl Judging {
    pub fn load(criteria_path: &Path) -> Result<Judging> {
        let criteria = Criteria::load(criteria_path)?;
        let golden_path = criteria.golden_path();
        let golden = GoldenSet::load(&golden_path)?;
        if golden.hash != criteria.golden.sha256 {
            return Err(Error::input(
                Location::file(&golden_path),
                format!(
                    "golden set hash {} does not match the {} pinned by {}: the golden set \
                     changed since the criteria were written. If the change is intended, \
                     update [golden] sha256 in {} (and its version)",
                    golden.hash,
                    criteria.golden.sha256,
                    criteria.path.display(),
                    criteria.path.display()
                ),
            ));
        }
        let scorers = compile_scorers(&criteria, &golden)?;
        check_gates(&criteria, &golden, &scorers)?;
        Ok(Judging {
            criteria,
            golden,
            scorers,
        })
    }
}

fn compile_scorers(criteria: &Criteria, golden: &GoldenSet) -> Result<ScorerSet> {
    let mut global = Vec::new();
    for named in &criteria.scorers {
        let scorer = Scorer::compile(&named.spec).map_err(|e| {
            Error::input(
                Location::line(&criteria.path, named.line),
                format!("scorer {:?}: {e}", named.spec.name),
            )
        })?;
        global.push(scorer);
    }
    let mut set = ScorerSet::new(global, golden.cases.len());
    for (index, case) in golden.cases.iter().enumerate() {
        let at = || Location::line(&golden.path, case.line);
        for spec in &case.asserts {
            let scorer = Scorer::compile(spec).map_err(|e| {
                Error::input(
                    at(),
                    format!("case {:?}: assert {:?}: {e}", case.id, spec.name),
                )
            })?;
            set.add_case_scorer(index, scorer)
                .map_err(|e| Error::input(at(), format!("case {:?}: {e}", case.id)))?;
        }
        let mut scorers = 0;
        for scorer in set.for_case(index) {
            scorers += 1;
            scorer
                .check_case(case)
                .map_err(|e| Error::input(at(), format!("case {:?}: {e}", case.id)))?;
        }
        // A case nothing scores would pass whatever the model says.
        if scorers == 0 {
            return Err(Error::input(
                at(),
                format!(
                    "case {:?} has no scorer: add [[scorers]] to {} or an `assert` list to the case",
                    case.id,
                    criteria.path.display()
                ),
            ));
        }
    }
    if set.is_empty() {
        return Err(Error::input(
            Location::file(&criteria.path),
            "no scorers: add [[scorers]] (or `assert` lists to the golden cases); \
             without them every output would pass",
        ));
    }
    Ok(set)
}

fn check_gates(criteria: &Criteria, golden: &GoldenSet, scorers: &ScorerSet) -> Result<()> {
    let tags: HashSet<&str> = golden
        .cases
        .iter()
        .flat_map(|c| c.tags.iter().map(String::as_str))
        .collect();
    for gate in &criteria.gates {
        let at = || Location::line(&criteria.path, gate.line);
        if let Some(name) = gate.metric.scorer()
            && scorers.slot(name).is_none()
        {
            return Err(Error::input(
                at(),
                format!(
                    "gate {}: no scorer is named {name:?} (scorers: {})",
                    gate.metric,
                    scorers.names.join(", ")
                ),
            ));
        }
        if let Some(name) = gate.metric.scorer() {
            // A scorer that only some cases assert must apply somewhere in the gate's slice,
            // or the gate could never be measured.
            let slot = scorers.slot(name).expect("checked above");
            let applies = golden.cases.iter().enumerate().any(|(i, c)| {
                gate.tag.as_ref().is_none_or(|t| c.has_tag(t))
                    && scorers.slots_for_case(i).any(|s| s == slot)
            });
            if !applies {
                return Err(Error::input(
                    at(),
                    format!(
                        "gate {}{}: no case{} has the scorer {name:?}",
                        gate.metric,
                        gate.tag
                            .as_ref()
                            .map(|t| format!(" [{t}]"))
                            .unwrap_or_default(),
                        gate.tag
                            .as_ref()
                            .map(|t| format!(" tagged {t:?}"))
                            .unwrap_or_default(),
                    ),
                ));
            }
        }
        if let Some(tag) = &gate.tag
            && !tags.contains(tag.as_str())
        {
            return Err(Error::input(
                at(),
                format!(
                    "gate {} [{tag}]: no case in {} has the tag {tag:?}",
                    gate.metric,
                    golden.path.display()
                ),
            ));
        }
    }
    if let Some(policy) = &criteria.compare {
        let at = || Location::file(&criteria.path);
        match Metric::parse(&policy.metric) {
            Ok(Metric::PassRate) => {}
            Ok(Metric::ScorerMean(name)) if scorers.slot(&name).is_some() => {}
            Ok(Metric::ScorerMean(name)) => {
                return Err(Error::input(
                    at(),
                    format!(
                        "[compare] metric mean:{name}: no scorer is named {name:?} (scorers: {})",
                        scorers.names.join(", ")
                    ),
                ));
            }
            Ok(other) => {
                return Err(Error::input(
                    at(),
                    format!("[compare] metric {other}: compare judges pass_rate or mean:<scorer>"),
                ));
            }
            Err(e) => return Err(Error::input(at(), format!("[compare] {e}"))),
        }
    }
    for id in &criteria.must_pass {
        if !golden.cases.iter().any(|c| &c.id == id) {
            return Err(Error::input(
                Location::file(&criteria.path),
                format!(
                    "must_pass names case {id:?}, which is not in {}",
                    golden.path.display()
                ),
            ));
        }
    }
    Ok(())
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
    if !(args.timeout.is_finite() && args.timeout > 0.0 && args.timeout <= 86_400.0) {
        return Err(Error::usage(format!(
            "--timeout {} is out of range: use seconds from 0.001 to 86400",
            args.timeout
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
        timeout: Duration::from_secs_f64(args.timeout),
        retry: RetryPolicy {
            max_retries: args.max_retries,
            ..RetryPolicy::default()
        },
        limiter,
    })
}

fn build_backend(
    args: &RunOptions,
    project: &Project,
    prompt: &Prompt,
) -> Result<(Backend, BackendInfo)> {
    let kind = match (args.backend, project.config.backend.kind.as_deref()) {
        (Some(kind), _) => kind,
        (None, None | Some("mock")) => BackendKind::Mock,
        (None, Some("command")) => BackendKind::Command,
        (None, Some("openai")) => BackendKind::Openai,
        (None, Some(other)) => {
            return Err(project.config_error(format!(
                "[backend] kind = {other:?} is not a backend this build has (available: mock, openai, command)"
            )));
        }
    };
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
            let info = BackendInfo {
                kind: "mock".into(),
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
            let info = BackendInfo {
                kind: "command".into(),
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
            let backend =
                OpenAiBackend::new(&base_url, api_key, Duration::from_secs_f64(args.timeout))?;
            let info = BackendInfo {
                kind: "openai".into(),
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shards_split_the_cases_without_overlap() {
        for cases in [1, 7, 10, 51] {
            for count in 1..=cases.min(9) {
                let mut seen = vec![0; cases];
                for index in 1..=count {
                    let shard = Shard::parse(&format!("{index}/{count}")).unwrap();
                    let held: Vec<usize> = (0..cases).filter(|&c| shard.holds(c)).collect();
                    assert_eq!(held.len(), shard.cases(cases), "{shard} of {cases}");
                    for c in held {
                        seen[c] += 1;
                    }
                }
                assert!(seen.iter().all(|&n| n == 1), "{count} shards of {cases}");
            }
        }
        assert_eq!(Shard::parse("2/4").unwrap().to_string(), "2/4");
        for bad in ["0/4", "5/4", "1", "a/b", "1/0", "1/1001", "-1/2"] {
            assert!(Shard::parse(bad).is_err(), "{bad}");
        }
    }
}
