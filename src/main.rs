use clap::Parser;

use promptgate::cli::Cli;
use promptgate::exit;

fn main() {
    let cli = Cli::parse();
    let code = match promptgate::app::main(cli).map_err(anyhow::Error::from) {
        Ok(code) => code,
        Err(err) => {
            promptgate::interrupt::note(format_args!("error: {err}"));
            err.downcast_ref::<promptgate::Error>()
                .map_or(exit::INFRASTRUCTURE, promptgate::Error::exit_code)
        }
    };
    std::process::exit(code);
}
