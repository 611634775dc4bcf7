//! `spikeforge`: the command-line interface.
//!
//! Argument parsing, progress and printing live here; everything else is in
//! the library crates. Exit codes: 0 success, 1 user error (bad input, a
//! network that does not validate, a tolerance exceeded), 2 internal error.

mod commands;
mod output;

use clap::{Parser, Subcommand, ValueEnum};

use std::path::PathBuf;
use std::process::ExitCode;

/// Compile spiking networks with plasticity to neuromorphic targets, bit for bit.
#[derive(Debug, Parser)]
#[command(name = "spikeforge", version, about, long_about = None)]
#[command(after_help = "Exit codes: 0 success, 1 user error (bad input, invalid network), 2 internal error.")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

/// How results are printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub enum Format {
    /// Human-readable text.
    #[default]
    Text,
    /// One JSON document on standard output.
    Json,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Validate a network and print a summary (populations, neurons, synapses, rules).
    Check {
        /// Network file: YAML or binary IR (.sfir).
        net: PathBuf,
        #[arg(long, value_enum, default_value_t)]
        format: Format,
    },
    /// Write a network as binary IR (.sfir), or print an IR file as text.
    Ir {
        /// Network file: YAML or binary IR (.sfir).
        net: PathBuf,
        /// Output .sfir file.
        #[arg(short, long, required_unless_present = "dump", conflicts_with = "dump")]
        output: Option<PathBuf>,
        /// Print the network as readable text (or JSON with --format json) instead of writing it.
        #[arg(long)]
        dump: bool,
        #[arg(long, value_enum, default_value_t)]
        format: Format,
    },
}

fn main() -> ExitCode {
    // Usage errors are the user's: exit 1 (clap's default would be 2, which
    // spikeforge reserves for internal errors). --help and --version exit 0.
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() { 1 } else { 0 });
        }
    };
    // A panic is a bug in spikeforge, never the user's fault: report it as
    // an internal error (exit code 2), not with Rust's default code 101.
    std::panic::set_hook(Box::new(|info| {
        eprintln!("spikeforge: internal error: {info}");
        eprintln!("This is a bug in spikeforge; please report it with the command line and input file.");
    }));
    let result = std::panic::catch_unwind(|| match cli.command {
        Command::Check { net, format } => commands::check(&net, format),
        Command::Ir { net, output, dump, format } => commands::ir(&net, output.as_deref(), dump, format),
    });
    match result {
        Ok(Ok(())) => ExitCode::SUCCESS,
        Ok(Err(commands::Failure::User)) => ExitCode::from(1),
        Ok(Err(commands::Failure::Internal(e))) => {
            eprintln!("spikeforge: internal error: {e:#}");
            ExitCode::from(2)
        }
        Err(_) => ExitCode::from(2),
    }
}
