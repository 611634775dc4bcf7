//! `spikeforge verify`: argument handling and printing around
//! `spikeforge_verify` (see docs/verify.md).

use crate::commands::Failure;
use crate::output::print_diagnostics;
use crate::Format;
use anyhow::Context;
use spikeforge_compiler::diag::{Diagnostic, Diagnostics};
use spikeforge_compiler::lower::TargetProfile;
use spikeforge_verify::{Mode, PlasticWeightBits, Protocol, ToleranceOverrides, Tolerances, VerifyOptions};
use std::path::PathBuf;

/// Arguments of `spikeforge verify`.
#[derive(Debug, clap::Args)]
pub struct VerifyArgs {
    /// Network file: YAML or binary IR (.sfir).
    net: PathBuf,
    /// Feed the float run's spike trains to both rules (the rule's quantization error alone).
    #[arg(long, conflicts_with = "protocol")]
    open_loop: bool,
    /// Run a protocol on the network's plastic rule: stdp-window, pairing-frequency,
    /// poisson-rates; free-energy rule also kernel-grid, w1-w12, dynamics.
    #[arg(long, value_parser = ["stdp-window", "pairing-frequency", "poisson-rates", "kernel-grid", "w1-w12", "dynamics"])]
    protocol: Option<String>,
    /// Output directory (report.json, summary.txt, plots as SVG and PNG).
    #[arg(short, long)]
    output: Option<PathBuf>,
    /// Steps to simulate (default: the network's duration).
    #[arg(long)]
    steps: Option<u32>,
    /// Numeric profile (default: as compile).
    #[arg(long, value_parser = ["spinnaker", "loihi"])]
    profile: Option<String>,
    /// Emulator threads (closed loop; the output does not depend on it).
    #[arg(long, default_value_t = 1)]
    threads: usize,
    /// Bits of a stored plastic weight on the spinnaker profile, as for
    /// compile and run: 16 (sPyNNaker's row weight) or 32 (the documented
    /// deviation, docs/plasticity.md). Verify what you will run.
    #[arg(long, default_value_t = 16, value_parser = crate::parse_plastic_weight_bits)]
    plastic_weight_bits: u32,
    /// Kernel-grid stride in steps (1 = the exhaustive grid).
    #[arg(long, default_value_t = 1)]
    grid_stride: u32,
    /// Pre/post pairings per lag of stdp-window and per point of
    /// pairing-frequency (default 60).
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..=100_000))]
    pairs: Option<u32>,
    /// Pairing rate of stdp-window, Hz (default 1).
    #[arg(long, value_name = "HZ", value_parser = parse_rate_hz)]
    pair_rate_hz: Option<f64>,
    /// Max per-update dw error, fraction of w_max - w_min.
    #[arg(long)]
    tol_dw_max: Option<f64>,
    /// RMS per-update dw error, fraction of w_max - w_min.
    #[arg(long)]
    tol_dw_rms: Option<f64>,
    /// Min fraction of significant updates with the float sign.
    #[arg(long)]
    tol_sign: Option<f64>,
    /// Max final-weight error, fraction of w_max - w_min.
    #[arg(long)]
    tol_final_max: Option<f64>,
    /// RMS final-weight error, fraction of w_max - w_min.
    #[arg(long)]
    tol_final_rms: Option<f64>,
    /// Min fraction of reference spikes matched within +-1 step (closed loop).
    #[arg(long)]
    tol_spike_match: Option<f64>,
    /// Max relative spike-count difference per population (closed loop).
    #[arg(long)]
    tol_spike_count: Option<f64>,
    /// Max protocol error, fraction of the protocol's peak.
    #[arg(long)]
    tol_protocol: Option<f64>,
    /// Min protocol sign agreement where |dw| > 2 % of peak.
    #[arg(long)]
    tol_protocol_sign: Option<f64>,
    #[arg(long, value_enum, default_value_t)]
    format: Format,
}

/// A pairing rate: finite and in (0, 1000] Hz.
fn parse_rate_hz(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(r) if r.is_finite() && r > 0.0 && r <= 1000.0 => Ok(r),
        Ok(r) => Err(format!("{r} Hz is not a pairing rate; expected a rate in (0, 1000] Hz")),
        Err(_) => Err(format!("'{s}' is not a number of Hz")),
    }
}

fn user_error(code: &'static str, object: &str, message: String, format: Format) -> Failure {
    print_diagnostics(&Diagnostics(vec![Diagnostic::error(code, object, "", message)]), format);
    Failure::User
}

pub fn verify(a: &VerifyArgs) -> Result<(), Failure> {
    let format = a.format;
    let (net, warnings) = spikeforge_compiler::load::load_file_and_validate(&a.net).map_err(|d| {
        print_diagnostics(&d, format);
        Failure::User
    })?;
    if format == Format::Text {
        for w in warnings.iter() {
            eprintln!("{w}");
        }
    }
    let file = format!("file '{}'", a.net.display());
    // tolerances: defaults < the YAML's verify section < flags
    let mut tol = Tolerances::default();
    let is_yaml = a.net.extension().is_some_and(|e| e == "yaml" || e == "yml");
    if is_yaml {
        let text = std::fs::read_to_string(&a.net).map_err(|e| user_error("E001", &file, format!("cannot read: {e}"), format))?;
        if let Some(t) = spikeforge_verify::tolerances::from_yaml(&text).map_err(|e| user_error("V001", &file, e, format))? {
            tol = t;
        }
    }
    let o = ToleranceOverrides {
        dw_max: a.tol_dw_max,
        dw_rms: a.tol_dw_rms,
        sign_agreement: a.tol_sign,
        final_max: a.tol_final_max,
        final_rms: a.tol_final_rms,
        spike_match: a.tol_spike_match,
        spike_count: a.tol_spike_count,
        protocol_max: a.tol_protocol,
        protocol_sign: a.tol_protocol_sign,
    };
    let mode = match (&a.protocol, a.open_loop) {
        (Some(p), _) => Mode::Protocol(Protocol::parse(p).expect("clap checked the protocol name")),
        (None, true) => Mode::OpenLoop,
        (None, false) => Mode::ClosedLoop,
    };
    let mut opts = VerifyOptions {
        mode,
        n_steps: a.steps,
        tolerances: tol.with(&o),
        profile: a.profile.as_deref().map(|p| if p == "loihi" { TargetProfile::Loihi } else { TargetProfile::Spinnaker }),
        threads: a.threads.max(1),
        plastic_weight_bits: PlasticWeightBits::from_bits(a.plastic_weight_bits).expect("clap checked the width"),
        ..Default::default()
    };
    opts.protocol.grid_stride = a.grid_stride.max(1);
    if let Some(n) = a.pairs {
        opts.protocol.n_pairs = n as usize;
    }
    if let Some(r) = a.pair_rate_hz {
        opts.protocol.rate_hz = r;
    }
    let mut report = spikeforge_verify::verify(&net, &opts).map_err(|e| user_error("V002", &file, e.to_string(), format))?;
    if let Some(dir) = &a.output {
        spikeforge_verify::write_outputs(&mut report, dir).with_context(|| format!("writing {}", dir.display()))?;
    }
    match format {
        Format::Text => {
            print!("{}", report.summary());
            if let Some(dir) = &a.output {
                println!("report in {}", dir.join("report.json").display());
            }
        }
        Format::Json => println!("{}", serde_json::to_string_pretty(&report).context("serializing the report")?),
    }
    if report.pass {
        Ok(())
    } else {
        if format == Format::Text {
            for m in report.failures() {
                eprintln!("error[V010]: {}: {} = {:.4e} exceeds the tolerance {:.4e} ({})", m.scope, m.name, m.value, m.tolerance, m.unit);
            }
        }
        Err(Failure::User)
    }
}
