use clap::Parser;

use promptgate::cli::Cli;
use promptgate::exit;

fn main() {
    let outcome = Cli::parse()
        .into_command()
        .and_then(promptgate::commands::execute);
    let code = match outcome.map_err(anyhow::Error::from) {
        Ok(outcome) => outcome.code(),
        Err(err) => {
            promptgate::interrupt::note(format_args!("error: {err}"));
            err.downcast_ref::<promptgate::Error>()
                .map_or(exit::INFRASTRUCTURE, promptgate::Error::exit_code)
        }
    };
    std::process::exit(code);
}
