//! Command-line definitions (clap derive), and their one conversion into the typed
//! requests `commands` executes. The only module that knows clap.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::backend::BackendKind;
use crate::commands::{
    self, ApproveRequest, CanaryRequest, CompareRequest, FlagdRequest, GateRequest, MergeRequest,
    PromoteRequest, ReportRequest, RollbackRequest, RunRequest,
};
use crate::error::{Error, Result};
use crate::plan::{self, RunOptions};
use crate::report::{ReportFormat, ReportSpec};
use crate::shard::Shard;

#[derive(Debug, Parser)]
#[command(
    name = "promptgate",
    version,
    about = "Gate prompt changes like code: versioned prompts, a frozen golden set, a written gate.",
    long_about = "Gate prompt changes like code.\n\n\
        Every prompt has a content-addressed version. `promptgate run` renders a prompt version \
        over a frozen golden set, sends each case to a backend (the deterministic `mock` by \
        default: no network, no key), scores every output with the criteria's scorers and \
        judges the gates. The exit code blocks promotion in CI.\n\n\
        Exit codes: 0 every gate held; 1 the gate failed; 2 invalid input or usage; \
        3 infrastructure failure; 130 interrupted.",
    after_help = "Start with: promptgate run --prompt prompts/support-v1.toml --criteria criteria/support.toml"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run a prompt version over the criteria's golden set and judge the gates.
    Run(Box<RunArgs>),
    /// Compare a candidate prompt version with a baseline: flipped cases, score deltas, and
    /// whether the difference is real (paired statistics) or noise.
    Compare(Box<CompareArgs>),
    /// Print a prompt file's version (sha256 of its model settings and messages).
    Hash(HashArgs),
    /// Print a golden set's hash (the value a criteria file pins) and its case count.
    Golden(GoldenArgs),
    /// Judge a finished run again, by its own criteria or by another criteria file over
    /// the same golden set (exit 0 pass, 1 fail). The run's report.json is never changed.
    Gate(GateArgs),
    /// Combine the shards of one run (`run --shard I/N`) into a new run directory and judge
    /// it (exit 0 pass, 1 fail).
    Merge(MergeArgs),
    /// Render a finished run again: md, json, junit, csv or html.
    Report(ReportArgs),
    /// Record an approval of a prompt file's current version for one environment.
    Approve(ApproveArgs),
    /// Promote a prompt version to an environment on the evidence of a passing run.
    Promote(PromoteArgs),
    /// Serve a version to a share of an environment's traffic, on the same conditions as a
    /// promotion, recorded on the ledger (`export flagd` renders it); --end ends it.
    Canary(CanaryArgs),
    /// Re-point an environment to the previously live version (or --to one that was live).
    Rollback(RollbackArgs),
    /// Print a stored (promoted) prompt file byte for byte.
    Show(ShowArgs),
    /// Live version of every prompt in every environment: since when, by whom, and whether
    /// the working copy in prompts/ differs.
    Status(StatusArgs),
    /// The promotion ledger.
    Ledger(LedgerArgs),
    /// List prompts with no owner, past review_by, or no promotion or run lately (exit 1
    /// when anything is listed).
    Audit(AuditArgs),
    /// Hand the live versions to a feature-flag engine.
    Export(ExportArgs),
}

#[derive(Debug, Args)]
pub struct ExportArgs {
    #[command(subcommand)]
    pub command: ExportCommand,
}

#[derive(Debug, Subcommand)]
pub enum ExportCommand {
    /// OpenFeature flagd flag definitions: one flag per prompt, variants keyed by short
    /// version holding {messages, model}, default = the environment's live version. Only
    /// the JSON goes to standard output.
    Flagd(FlagdArgs),
}

#[derive(Debug, Args)]
pub struct FlagdArgs {
    /// Environment whose live versions are the defaults [default: the last environment].
    #[arg(long, value_name = "ENV")]
    pub env: Option<String>,

    /// Removed: a canary is recorded with `promptgate canary`, and exported from the ledger.
    #[arg(long, value_name = "VERSION", hide = true)]
    pub canary: Option<String>,

    /// Removed with --canary.
    #[arg(long, value_name = "P", hide = true)]
    pub percent: Option<String>,

    /// Write to FILE instead of standard output.
    #[arg(short = 'o', long = "output", value_name = "FILE")]
    pub output: Option<PathBuf>,
}

/// Who acts, and why: recorded on the ledger entry.
#[derive(Debug, Args)]
pub struct ActorArgs {
    /// Who acts [default: $GITHUB_ACTOR, else git's user.email]. A name, not a proof of
    /// identity: see the README on making it binding.
    #[arg(long, value_name = "WHO")]
    pub actor: Option<String>,
}

#[derive(Debug, Args)]
pub struct ApproveArgs {
    /// Prompt file whose current version is approved.
    #[arg(value_name = "PROMPT")]
    pub prompt: PathBuf,

    /// Environment the approval is for.
    #[arg(long, value_name = "ENV")]
    pub env: String,

    #[command(flatten)]
    pub actor: ActorArgs,

    /// Why (recorded on the ledger).
    #[arg(long, value_name = "TEXT")]
    pub reason: Option<String>,
}

#[derive(Debug, Args)]
#[command(
    after_help = "Refused (exit 1, nothing recorded) unless the evidence run passed, ran \
    this exact prompt version, its criteria file is unchanged, its golden hash is the pinned one, \
    the version is live in the previous environment, and, for a sensitive prompt, enough distinct \
    approvers other than the actor approved this version for this environment."
)]
pub struct PromoteArgs {
    /// Prompt file to promote (kept byte for byte in the store).
    #[arg(value_name = "PROMPT")]
    pub prompt: PathBuf,

    /// Environment to promote to.
    #[arg(long, value_name = "ENV")]
    pub to: String,

    /// The finished run directory that passed the gate for this version.
    #[arg(long, value_name = "RUN_DIR")]
    pub evidence: PathBuf,

    #[command(flatten)]
    pub actor: ActorArgs,

    /// Why (recorded on the ledger).
    #[arg(long, value_name = "TEXT")]
    pub reason: Option<String>,
}

#[derive(Debug, Args)]
#[command(
    after_help = "Refused (exit 1, nothing recorded) on exactly the conditions `promote` is: the \
    evidence run passed when judged again, ran this exact prompt version, its criteria file is \
    unchanged, its golden hash is the pinned one, the version is live in the previous environment, \
    and, for a sensitive prompt, enough distinct approvers other than the actor approved this \
    version for this environment. Something else must be live in ENV. A later canary in ENV \
    replaces this one; --end, --percent 0, a promotion or a rollback in ENV ends it."
)]
pub struct CanaryArgs {
    /// Prompt file whose version gets the traffic (kept byte for byte in the store); with
    /// --end, the prompt file or the prompt's id.
    #[arg(value_name = "PROMPT")]
    pub prompt: PathBuf,

    /// Environment whose traffic is split.
    #[arg(long, value_name = "ENV")]
    pub env: String,

    /// Share of the environment's traffic, 1 to 100, the version gets (0 ends the canary).
    #[arg(long, value_name = "P", required_unless_present = "end", conflicts_with = "end", value_parser = clap::value_parser!(u8).range(0..=100))]
    pub percent: Option<u8>,

    /// End the canary recorded for this prompt in ENV.
    #[arg(long)]
    pub end: bool,

    /// The finished run directory that passed the gate for this version.
    #[arg(long, value_name = "RUN_DIR", conflicts_with = "end")]
    pub evidence: Option<PathBuf>,

    #[command(flatten)]
    pub actor: ActorArgs,

    /// Why (recorded on the ledger).
    #[arg(long, value_name = "TEXT")]
    pub reason: Option<String>,
}

#[derive(Debug, Args)]
pub struct RollbackArgs {
    /// The prompt's id.
    #[arg(value_name = "PROMPT_ID")]
    pub prompt_id: String,

    /// Environment to roll back.
    #[arg(long, value_name = "ENV")]
    pub env: String,

    /// A version that was live there (full sha256:… or the 12-digit short form)
    /// [default: the one live before the current one].
    #[arg(long, value_name = "VERSION")]
    pub to: Option<String>,

    #[command(flatten)]
    pub actor: ActorArgs,

    /// Why (required; recorded on the ledger).
    #[arg(long, value_name = "TEXT")]
    pub reason: String,
}

#[derive(Debug, Args)]
pub struct ShowArgs {
    /// Version: full sha256:… or the 12-digit short form.
    #[arg(value_name = "VERSION")]
    pub version: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum StatusFormat {
    Text,
    Json,
}

#[derive(Debug, Args)]
pub struct StatusArgs {
    /// Output format.
    #[arg(long, value_enum, default_value_t = StatusFormat::Text)]
    pub format: StatusFormat,
}

#[derive(Debug, Args)]
pub struct LedgerArgs {
    #[command(subcommand)]
    pub command: LedgerCommand,
}

#[derive(Debug, Subcommand)]
pub enum LedgerCommand {
    /// Check the hash chain (exit 1 naming the first edited, deleted, inserted or reordered
    /// entry).
    Verify(VerifyArgs),
}

#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// Also require the ledger as committed at this git revision to be an unchanged prefix
    /// of today's (catches a ledger rebuilt from scratch): the check a pull request runs.
    #[arg(long, value_name = "REV")]
    pub base_ref: Option<String>,
}

#[derive(Debug, Args)]
pub struct AuditArgs {
    /// A prompt neither promoted nor run within this many days is listed.
    #[arg(long, value_name = "DAYS", default_value_t = 60)]
    pub max_age_days: u64,
}

/// The formats a run's report is rendered in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FormatArg {
    /// GitHub-flavoured Markdown (what the job summary shows).
    Md,
    /// The full report (report.json's content).
    Json,
    /// JUnit XML for test-report tabs (GitHub, GitLab, Jenkins).
    Junit,
    /// One row per (case, repeat) for spreadsheets.
    Csv,
    /// One self-contained page for a release manager.
    Html,
}

impl From<FormatArg> for ReportFormat {
    fn from(format: FormatArg) -> ReportFormat {
        match format {
            FormatArg::Md => ReportFormat::Md,
            FormatArg::Json => ReportFormat::Json,
            FormatArg::Junit => ReportFormat::Junit,
            FormatArg::Csv => ReportFormat::Csv,
            FormatArg::Html => ReportFormat::Html,
        }
    }
}

#[derive(Debug, Args)]
pub struct GateArgs {
    /// A finished run directory (holding manifest.json and calls.jsonl).
    #[arg(value_name = "RUN_DIR")]
    pub run_dir: PathBuf,

    /// Criteria to judge by; default the criteria file the run recorded. Must pin the run's
    /// golden set. Every call is scored again from its recorded output.
    #[arg(long, value_name = "FILE")]
    pub criteria: Option<PathBuf>,

    /// Write a report of this judgement: md, json, junit, csv or html, to PATH or (without
    /// =PATH) to <run dir>/gate.<ext>. Repeatable; `--report md,html` writes several.
    #[arg(long, value_name = "FMT[=PATH]")]
    pub report: Vec<String>,
}

#[derive(Debug, Args)]
pub struct MergeArgs {
    /// The shard run directories: every shard 1/N .. N/N of one run, in any order.
    #[arg(value_name = "RUN_DIR", required = true)]
    pub shards: Vec<PathBuf>,

    /// The merged run directory to create (it must not exist).
    #[arg(long, value_name = "RUN_DIR")]
    pub out: PathBuf,

    /// Also write a report: md, json, junit, csv or html, to PATH or (without =PATH) to
    /// <out>/report.<ext>. Repeatable; `--report md,html` writes several.
    #[arg(long, value_name = "FMT[=PATH]")]
    pub report: Vec<String>,
}

#[derive(Debug, Args)]
pub struct ReportArgs {
    /// A finished run directory (holding manifest.json, calls.jsonl and report.json).
    #[arg(value_name = "RUN_DIR")]
    pub run_dir: PathBuf,

    /// Output format.
    #[arg(long, value_enum)]
    pub format: FormatArg,

    /// Write to PATH instead of standard output.
    #[arg(short = 'o', long = "output", value_name = "PATH")]
    pub output: Option<PathBuf>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum BackendArg {
    /// Deterministic scripted model: echo, or the rules in --mock-rules. No network.
    Mock,
    /// Any program: the request as JSON on stdin, {"output": ...} on stdout (--command).
    Command,
    /// Any OpenAI-compatible chat completions endpoint (--base-url; key from the
    /// environment): OpenAI, vLLM, Ollama, LiteLLM, llama.cpp's server, OpenRouter, Azure.
    Openai,
}

impl From<BackendArg> for BackendKind {
    fn from(backend: BackendArg) -> BackendKind {
        match backend {
            BackendArg::Mock => BackendKind::Mock,
            BackendArg::Command => BackendKind::Command,
            BackendArg::Openai => BackendKind::Openai,
        }
    }
}

#[derive(Debug, Args)]
#[command(after_help = "Examples:\n  \
    promptgate run --prompt prompts/support-v1.toml --criteria criteria/support.toml\n  \
    promptgate run --prompt prompts/support-v2.toml --criteria criteria/support.toml --repeat 3\n\n\
    Defaults for --backend, --mock-rules, --out and --concurrency come from promptgate.toml \
    (searched from the working directory upward); flags override it.")]
pub struct RunArgs {
    /// Prompt file (TOML) whose version is run.
    #[arg(long, value_name = "FILE", required_unless_present = "resume")]
    pub prompt: Option<PathBuf>,

    /// Criteria file (TOML): pinned golden set, scorers, gates.
    #[arg(long, value_name = "FILE", required_unless_present = "resume")]
    pub criteria: Option<PathBuf>,

    /// Continue an interrupted or killed run: its settings come from its manifest (an API
    /// key again from the environment); only the (case, repeat) pairs with no line in its
    /// calls.jsonl are called.
    #[arg(
        long,
        value_name = "RUN_DIR",
        conflicts_with_all = [
            "prompt", "criteria", "backend", "mock_rules", "command", "out", "timeout",
            "max_retries", "rpm", "concurrency", "repeat", "no_cache", "mock_latency_ms",
            "shard"
        ]
    )]
    pub resume: Option<PathBuf>,

    /// Run only shard I of N (1-based): the cases at golden positions I, I+N, I+2N, ... A
    /// shard is not judged; `promptgate merge` combines the N shard directories into one run
    /// and judges it.
    #[arg(long, value_name = "I/N")]
    pub shard: Option<String>,

    /// Also write a report: md, json, junit, csv or html, to PATH or (without =PATH) to
    /// <run dir>/report.<ext>. Repeatable; `--report md,html,junit` writes several.
    #[arg(long, value_name = "FMT[=PATH]")]
    pub report: Vec<String>,

    #[command(flatten)]
    pub options: RunFlags,
}

/// How a prompt version is run: shared by `run` and `compare`.
#[derive(Debug, Clone, Args)]
pub struct RunFlags {
    /// Where outputs come from [default: promptgate.toml's [backend] kind, else mock].
    #[arg(long, value_enum)]
    pub backend: Option<BackendArg>,

    /// Mock rules file (TOML) [default: promptgate.toml's [backend] mock_rules; without
    /// one the mock echoes the last user message].
    #[arg(long, value_name = "FILE")]
    pub mock_rules: Option<PathBuf>,

    /// Simulated latency of every mock call, in milliseconds.
    #[arg(long, value_name = "MS", default_value_t = 0)]
    pub mock_latency_ms: u64,

    /// Program for --backend command, split like a shell would but run without one, e.g.
    /// "python3 scripts/call_model.py --fast". One process per call.
    #[arg(long, value_name = "CMD")]
    pub command: Option<String>,

    /// OpenAI-compatible endpoint for --backend openai [default: $OPENAI_BASE_URL, else
    /// promptgate.toml's [backend] base_url, else https://api.openai.com/v1].
    #[arg(long, value_name = "URL")]
    pub base_url: Option<String>,

    /// Environment variable holding the API key for --backend openai.
    #[arg(long, value_name = "VAR", default_value = plan::DEFAULT_API_KEY_ENV)]
    pub api_key_env: String,

    /// Seconds one attempt may take before it is abandoned (and retried).
    #[arg(long, value_name = "SECS", default_value_t = plan::DEFAULT_TIMEOUT_SECS)]
    pub timeout: f64,

    /// Retries per call on 429, 5xx, timeouts and dropped connections, with exponential
    /// backoff and jitter, honouring Retry-After. Counted in calls.jsonl's `attempts`.
    #[arg(long, value_name = "N", default_value_t = plan::DEFAULT_MAX_RETRIES)]
    pub max_retries: u32,

    /// Start at most this many requests per minute (retries included).
    #[arg(long, value_name = "N")]
    pub rpm: Option<u32>,

    /// Share of calls that may fail for good (after retries) before the run ends with
    /// exit 3 [default: 0]. Failed calls always count as failing cases, never as passes.
    /// With --resume it may be raised to finish a run that ran out of its budget.
    #[arg(long, value_name = "RATE")]
    pub max_error_rate: Option<f64>,

    /// Neither read nor write the response cache (.promptgate/cache under the project root).
    #[arg(long)]
    pub no_cache: bool,

    /// Calls in flight at once [default: promptgate.toml's [run] concurrency, else 8].
    #[arg(long, value_name = "N")]
    pub concurrency: Option<usize>,

    /// Samples per case: each (case, repeat) is one call and one line in calls.jsonl.
    #[arg(long, value_name = "K", default_value_t = 1)]
    pub repeat: u32,

    /// Folder that receives the run directory [default: promptgate.toml's [run] out, else
    /// .promptgate/runs under the project root].
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,

    /// Show no progress bar or progress lines.
    #[arg(long)]
    pub no_progress: bool,
}

#[derive(Debug, Args)]
#[command(after_help = "Examples:\n  \
    promptgate compare --baseline prompts/support-v1.toml --candidate prompts/support-v2.toml --criteria criteria/support.toml\n  \
    promptgate compare --baseline .promptgate/runs/RUN_A --candidate .promptgate/runs/RUN_B --criteria criteria/support.toml --report md=compare.md\n\n\
    A prompt file is run first (through the response cache) with the run options below; a run\n\
    directory is read as it is. Both sides must have the criteria's golden hash and criteria hash.")]
pub struct CompareArgs {
    /// Baseline: a prompt file, or the directory of a finished run.
    #[arg(long, value_name = "PROMPT|RUN_DIR")]
    pub baseline: PathBuf,

    /// Candidate: a prompt file, or the directory of a finished run.
    #[arg(long, value_name = "PROMPT|RUN_DIR")]
    pub candidate: PathBuf,

    /// Criteria file: golden set, scorers, gates and the [compare] policy.
    #[arg(long, value_name = "FILE")]
    pub criteria: PathBuf,

    /// Write a report, to PATH or (without =PATH) into the candidate's run directory: md,
    /// json or html describe the comparison (comparison.<ext>); junit or csv list the
    /// candidate run's cases (report.<ext>). Repeatable; `--report md,html` writes several.
    #[arg(long, value_name = "FMT[=PATH]")]
    pub report: Vec<String>,

    /// Seed of the paired bootstrap (reported, so the intervals can be reproduced).
    #[arg(long, value_name = "N", default_value_t = crate::compare::DEFAULT_SEED)]
    pub seed: u64,

    /// Bootstrap resamples.
    #[arg(long, value_name = "N", default_value_t = crate::compare::DEFAULT_RESAMPLES)]
    pub resamples: u32,

    #[command(flatten)]
    pub options: RunFlags,
}

#[derive(Debug, Args)]
pub struct HashArgs {
    /// Prompt file (TOML).
    #[arg(value_name = "PROMPT")]
    pub prompt: PathBuf,
}

#[derive(Debug, Args)]
pub struct GoldenArgs {
    /// Golden set (.jsonl or .csv).
    #[arg(value_name = "GOLDEN")]
    pub golden: PathBuf,
}

impl From<RunFlags> for RunOptions {
    fn from(flags: RunFlags) -> RunOptions {
        RunOptions {
            backend: flags.backend.map(BackendKind::from),
            mock_rules: flags.mock_rules,
            mock_latency_ms: flags.mock_latency_ms,
            command: flags.command,
            base_url: flags.base_url,
            api_key_env: flags.api_key_env,
            timeout_secs: flags.timeout,
            max_retries: flags.max_retries,
            rpm: flags.rpm,
            max_error_rate: flags.max_error_rate,
            no_cache: flags.no_cache,
            concurrency: flags.concurrency,
            repeat: flags.repeat,
            out: flags.out,
            no_progress: flags.no_progress,
        }
    }
}

impl Cli {
    /// The flags as the typed request of their command: every value parsed once, here,
    /// with the error naming the flag.
    pub fn into_command(self) -> Result<commands::Command> {
        use commands::Command as C;
        Ok(match self.command {
            Command::Run(args) => {
                let args = *args;
                C::Run(RunRequest {
                    prompt: args.prompt,
                    criteria: args.criteria,
                    resume: args.resume,
                    shard: args
                        .shard
                        .map(|s| s.parse::<Shard>())
                        .transpose()
                        .map_err(|e| Error::usage(format!("--shard {e}")))?,
                    reports: report_specs(args.report)?,
                    options: args.options.into(),
                })
            }
            Command::Compare(args) => {
                let args = *args;
                C::Compare(CompareRequest {
                    baseline: args.baseline,
                    candidate: args.candidate,
                    criteria: args.criteria,
                    reports: report_specs(args.report)?,
                    seed: args.seed,
                    resamples: args.resamples,
                    options: args.options.into(),
                })
            }
            Command::Hash(args) => C::Hash(args.prompt),
            Command::Golden(args) => C::Golden(args.golden),
            Command::Gate(args) => C::Gate(GateRequest {
                run_dir: args.run_dir,
                criteria: args.criteria,
                reports: report_specs(args.report)?,
            }),
            Command::Merge(args) => C::Merge(MergeRequest {
                shards: args.shards,
                out: args.out,
                reports: report_specs(args.report)?,
            }),
            Command::Report(args) => C::Report(ReportRequest {
                run_dir: args.run_dir,
                format: args.format.into(),
                output: args.output,
            }),
            Command::Approve(args) => C::Approve(ApproveRequest {
                prompt: args.prompt,
                env: args.env,
                actor: args.actor.actor,
                reason: args.reason,
            }),
            Command::Promote(args) => C::Promote(PromoteRequest {
                prompt: args.prompt,
                env: args.to,
                evidence: args.evidence,
                actor: args.actor.actor,
                reason: args.reason,
            }),
            Command::Canary(args) => C::Canary(CanaryRequest {
                prompt: args.prompt,
                env: args.env,
                percent: args.percent,
                end: args.end,
                evidence: args.evidence,
                actor: args.actor.actor,
                reason: args.reason,
            }),
            Command::Rollback(args) => C::Rollback(RollbackRequest {
                prompt_id: args.prompt_id,
                env: args.env,
                to: args.to,
                actor: args.actor.actor,
                reason: args.reason,
            }),
            Command::Show(args) => C::Show(args.version),
            Command::Status(args) => C::Status {
                json: args.format == StatusFormat::Json,
            },
            Command::Ledger(args) => match args.command {
                LedgerCommand::Verify(args) => C::LedgerVerify {
                    base_ref: args.base_ref,
                },
            },
            Command::Audit(args) => C::Audit {
                max_age_days: args.max_age_days,
            },
            Command::Export(args) => match args.command {
                ExportCommand::Flagd(args) => {
                    if args.canary.is_some() || args.percent.is_some() {
                        return Err(Error::usage(
                            "export flagd no longer takes --canary or --percent: it renders what the ledger records. Record a canary with `promptgate canary PROMPT --env ENV --percent P --evidence RUN_DIR` (refused as `promote` would be), then export",
                        ));
                    }
                    C::ExportFlagd(FlagdRequest {
                        env: args.env,
                        output: args.output,
                    })
                }
            },
        })
    }
}

/// `--report` values: `FMT[=PATH]`, or a comma list of formats (`md,html,junit`), each to
/// its default file.
fn report_specs(specs: Vec<String>) -> Result<Vec<ReportSpec>> {
    specs
        .iter()
        .flat_map(|spec| match spec.contains('=') {
            true => vec![spec.as_str()],
            false => spec.split(',').map(str::trim).collect(),
        })
        .map(|spec| spec.parse().map_err(Error::usage))
        .collect()
}
