//! Command dispatch: the library's entry point for the binary.

use std::sync::Arc;

use crate::cli::{Cli, Command, GoldenArgs, HashArgs, RunArgs};
use crate::error::{Error, Result};
use crate::exit;
use crate::golden::GoldenSet;
use crate::plan::RunPlan;
use crate::prompt::Prompt;
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
    let plan = Arc::new(RunPlan::build(args, &cwd)?);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::infrastructure(format!("cannot start the async runtime: {e}")))?;
    let outcome = runtime.block_on(run::execute(plan.clone()))?;
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
