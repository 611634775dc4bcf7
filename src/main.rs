//! `spikeforge`: the command-line interface.
//!
//! Argument parsing, progress and printing live here; everything else is in
//! the library crates. Exit codes: 0 success, 1 user error (bad input, a
//! network that does not validate, a tolerance exceeded), 2 internal error.

mod commands;
mod import_cmd;
mod output;
mod verify_cmd;

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
    /// Compile a network into a program for a target.
    Compile {
        /// Network file: YAML or binary IR (.sfir).
        net: PathBuf,
        /// Target backend (the software emulator is the built-in default).
        #[arg(long, default_value = "emu", value_parser = ["emu"])]
        target: String,
        #[command(flatten)]
        compile: CompileFlags,
        /// Steps of stimuli to generate (default: the network's duration).
        #[arg(long)]
        steps: Option<u32>,
        /// Output program file.
        #[arg(short, long)]
        output: PathBuf,
        #[arg(long, value_enum, default_value_t)]
        format: Format,
    },
    /// Run a network or a compiled program on the emulator (or the float64 reference).
    Run {
        /// Network file (YAML, .sfir) or a compiled program.
        net: PathBuf,
        #[arg(long, default_value = "emu", value_parser = ["emu"])]
        target: String,
        #[command(flatten)]
        compile: CompileFlags,
        /// Steps to run (default: the network's duration).
        #[arg(long)]
        steps: Option<u32>,
        /// Worker threads of the emulator, at most (a network too small to
        /// split runs on fewer; the output does not depend on it). Workers
        /// meet every step: asking for more than the idle cores makes a run
        /// several times slower.
        #[arg(long, default_value_t = 1)]
        threads: usize,
        /// Run the float64 reference semantics instead of the fixed-point emulator.
        #[arg(long)]
        reference: bool,
        /// Output directory (summary.json, .npy arrays, timing.json).
        #[arg(short, long)]
        output: Option<PathBuf>,
        #[arg(long, value_enum, default_value_t)]
        format: Format,
    },
    /// Compare the float64 reference with the fixed-point rules: open loop, closed loop or a protocol; exit 1 when a tolerance is exceeded.
    Verify(verify_cmd::VerifyArgs),
    /// Import a lava-dl netx (.net) or NIR (.nir) network, optionally with plasticity rules; or export a network to NIR.
    Import {
        /// .net or .nir file (with --export-nir also a YAML or .sfir network).
        file: PathBuf,
        /// Plasticity overlay: `plasticity:` rules plus `attach: [{projection, rule}]`.
        #[arg(long)]
        plasticity: Option<PathBuf>,
        /// Time step for NIR's continuous time, ms (netx: always 1).
        #[arg(long, default_value_t = 1.0)]
        dt_ms: f64,
        /// Output .sfir file.
        #[arg(short, long)]
        output: Option<PathBuf>,
        /// Also write the plasticity-free part of the network as a NIR file.
        #[arg(long)]
        export_nir: Option<PathBuf>,
        #[arg(long, value_enum, default_value_t)]
        format: Format,
    },
}

/// How a network is compiled.
#[derive(Debug, clap::Args)]
struct CompileFlags {
    /// Numeric profile (default: loihi for Loihi-style neurons, else spinnaker).
    #[arg(long, value_parser = ["spinnaker", "loihi"])]
    profile: Option<String>,
    /// Treat every precision-loss warning as an error.
    #[arg(long)]
    strict: bool,
    /// Most neurons placed on one core.
    #[arg(long, default_value_t = 256)]
    max_neurons_per_core: u32,
    /// Spike raster of an input population (a netx input layer, the `input` port of a
    /// netx file without one, a NIR Input): `[POPULATION=]FILE`, FILE a 2-D `.npy`
    /// (int or float) or `.json` array of rows, one row per step (row t-1 = step t),
    /// one column per neuron, non-zero = spike. POPULATION may be left out when the
    /// network has one input population. Repeatable.
    #[arg(long = "input", value_name = "[POPULATION=]FILE")]
    inputs: Vec<String>,
    /// Bits of a stored plastic weight on the spinnaker profile: 16 (sPyNNaker's
    /// row weight) or 32 (s16.15 in ring-buffer units, rounded at delivery; a
    /// documented deviation that lets amplitudes below one 16-bit LSB learn, see
    /// docs/plasticity.md).
    #[arg(long, default_value_t = 16, value_parser = parse_plastic_weight_bits)]
    plastic_weight_bits: u32,
}

fn parse_plastic_weight_bits(s: &str) -> Result<u32, String> {
    match s {
        "16" => Ok(16),
        "32" => Ok(32),
        _ => Err(format!("'{s}' is not a plastic weight width; expected 16 or 32")),
    }
}

impl CompileFlags {
    fn args(&self) -> commands::CompileArgs {
        commands::CompileArgs {
            profile: self.profile.clone(),
            strict: self.strict,
            max_neurons_per_core: self.max_neurons_per_core,
            inputs: self.inputs.clone(),
            plastic_weight_bits: self.plastic_weight_bits,
        }
    }
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
        Command::Verify(args) => verify_cmd::verify(&args),
        Command::Ir { net, output, dump, format } => commands::ir(&net, output.as_deref(), dump, format),
        Command::Import { file, plasticity, dt_ms, output, export_nir, format } => {
            import_cmd::import(&import_cmd::ImportArgs { file, plasticity, dt_ms, output, export_nir }, format)
        }
        Command::Compile { net, target: _, compile, steps, output, format } => commands::compile(&net, &compile.args(), steps, &output, format),
        Command::Run { net, target: _, compile, steps, threads, reference, output, format } => commands::run(
            &net,
            &compile.args(),
            &commands::RunArgs { steps, threads, reference, output },
            format,
        ),
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
