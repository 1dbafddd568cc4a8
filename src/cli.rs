//! Command-line definitions (clap derive). No logic lives here.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

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
    Run(RunArgs),
    /// Print a prompt file's version (sha256 of its model settings and messages).
    Hash(HashArgs),
    /// Print a golden set's hash (the value a criteria file pins) and its case count.
    Golden(GoldenArgs),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum BackendKind {
    /// Deterministic scripted model: echo, or the rules in --mock-rules. No network.
    Mock,
}

#[derive(Debug, Args)]
#[command(after_help = "Examples:\n  \
    promptgate run --prompt prompts/support-v1.toml --criteria criteria/support.toml\n  \
    promptgate run --prompt prompts/support-v2.toml --criteria criteria/support.toml --repeat 3\n\n\
    Defaults for --backend, --mock-rules, --out and --concurrency come from promptgate.toml \
    (searched from the working directory upward); flags override it.")]
pub struct RunArgs {
    /// Prompt file (TOML) whose version is run.
    #[arg(long, value_name = "FILE")]
    pub prompt: PathBuf,

    /// Criteria file (TOML): pinned golden set, scorers, gates.
    #[arg(long, value_name = "FILE")]
    pub criteria: PathBuf,

    /// Where outputs come from [default: promptgate.toml's [backend] kind, else mock].
    #[arg(long, value_enum)]
    pub backend: Option<BackendKind>,

    /// Mock rules file (TOML) [default: promptgate.toml's [backend] mock_rules; without
    /// one the mock echoes the last user message].
    #[arg(long, value_name = "FILE")]
    pub mock_rules: Option<PathBuf>,

    /// Simulated latency of every mock call, in milliseconds.
    #[arg(long, value_name = "MS", default_value_t = 0)]
    pub mock_latency_ms: u64,

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
