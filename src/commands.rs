//! The subcommands.

use crate::output::print_diagnostics;
use crate::Format;
use anyhow::Context;
use serde::Serialize;
use spikeforge_compiler::diag::Diagnostics;
use spikeforge_compiler::{dump, ir, load, sfir, summary};
use std::path::Path;

/// How a command failed.
pub enum Failure {
    /// The user's input is at fault; diagnostics have been printed. Exit 1.
    User,
    /// Something went wrong inside spikeforge. Exit 2.
    Internal(anyhow::Error),
}

impl From<anyhow::Error> for Failure {
    fn from(e: anyhow::Error) -> Self {
        Failure::Internal(e)
    }
}

/// Loads and validates a network, printing diagnostics; `Err(User)` when unusable.
fn load_valid(path: &Path, format: Format) -> Result<(ir::Network, Diagnostics), Failure> {
    load::load_file_and_validate(path).map_err(|d| {
        print_diagnostics(&d, format);
        Failure::User
    })
}

#[derive(Serialize)]
struct CheckJson<'a> {
    ok: bool,
    file: String,
    summary: &'a summary::Summary,
    diagnostics: &'a Diagnostics,
}

pub fn check(path: &Path, format: Format) -> Result<(), Failure> {
    let (net, warnings) = load_valid(path, format)?;
    let s = summary::summarize(&net);
        match format {
        Format::Json => {
            let doc = CheckJson { ok: true, file: path.display().to_string(), summary: &s, diagnostics: &warnings };
            println!("{}", serde_json::to_string_pretty(&doc).context("serializing the summary")?);
        }
        Format::Text => {
            for w in warnings.iter() {
                eprintln!("{w}");
            }
            println!("{}: ok", path.display());
            println!("  network      {:?}, dt {} ms, duration {} ms", s.name, s.dt_ms, s.duration_ms);
            println!("  populations  {} ({} neurons, {} spike sources)", s.populations, s.neurons, s.sources);
            println!(
                "  projections  {} ({}{} synapses, {} plastic)",
                s.projections,
                if s.synapses_exact { "" } else { "~" },
                s.synapses,
                s.plastic_synapses
            );
            if s.rules.is_empty() {
                println!("  rules        none");
            }
            for r in &s.rules {
                println!("  rule         {} ({}) on {}", r.name, r.kind, if r.projections.is_empty() { "nothing".into() } else { r.projections.join(", ") });
            }
            println!("  recordings   {}", s.recordings);
        }
    }
    Ok(())
}

pub fn ir(path: &Path, output: Option<&Path>, dump_it: bool, format: Format) -> Result<(), Failure> {
    if dump_it {
        // Dumping shows what a file holds, valid or not: only reading must succeed.
        let net = match load::load(path) {
            Ok(n) => n,
            Err(e) => {
                print_diagnostics(&e.to_diagnostics(), format);
                return Err(Failure::User);
            }
        };
        match format {
            Format::Text => print!("{}", dump::dump(&net)),
            Format::Json => println!("{}", serde_json::to_string_pretty(&net).context("serializing the IR")?),
        }
        return Ok(());
    }
    let (net, warnings) = load_valid(path, format)?;
    let out = output.expect("clap requires --output unless --dump");
    let bytes = sfir::encode(&net);
    if let Err(e) = std::fs::write(out, &bytes) {
        let d = Diagnostics(vec![spikeforge_compiler::diag::Diagnostic::error(
            "E002",
            format!("file '{}'", out.display()),
            "",
            format!("cannot write: {e}"),
        )]);
        print_diagnostics(&d, format);
        return Err(Failure::User);
    }
    match format {
        Format::Text => {
            for w in warnings.iter() {
                eprintln!("{w}");
            }
            println!("wrote {} ({} bytes, IR schema version {})", out.display(), bytes.len(), ir::SCHEMA_VERSION);
        }
        Format::Json => println!(
            "{}",
            serde_json::json!({"ok": true, "output": out.display().to_string(), "bytes": bytes.len(), "schema_version": ir::SCHEMA_VERSION})
        ),
    }
    Ok(())
}

/// Options shared by `compile` and `run` for turning a network into a program.
pub struct CompileArgs {
    pub profile: Option<String>,
    pub strict: bool,
    pub max_neurons_per_core: u32,
    /// `--input [POPULATION=]FILE` values.
    pub inputs: Vec<String>,
    /// `--plastic-weight-bits`: 16 or 32.
    pub plastic_weight_bits: u32,
}

/// Reads the `--input` rasters of `net` (see `CompileFlags::inputs`);
/// errors are `E005` diagnostics.
fn load_stimuli(net: &ir::Network, inputs: &[String]) -> Result<spikeforge_compiler::expand::Stimuli, Diagnostics> {
    use spikeforge_compiler::diag::Diagnostic;
    use spikeforge_compiler::expand::{is_input, Stimuli};
    let mut st = Stimuli::default();
    let err = |object: String, message: String| Diagnostics(vec![Diagnostic::error("E005", object, "", message)]);
    let ports: Vec<&str> = net.populations.iter().filter(|p| is_input(p)).map(|p| p.name.as_str()).collect();
    for arg in inputs {
        let (pop, file) = match arg.split_once('=') {
            Some((p, f)) if !p.is_empty() && !f.is_empty() => (p.to_string(), f),
            _ => match ports.as_slice() {
                [one] => (one.to_string(), arg.as_str()),
                _ => {
                    return Err(err(
                        "option --input".into(),
                        format!("'{arg}' names no population, and the network has {} input populations ({}); write POPULATION=FILE", ports.len(), ports.join(", ")),
                    ))
                }
            },
        };
        let object = format!("input file '{file}'");
        let path = Path::new(file);
        let rows: Vec<Vec<i64>> = if path.extension().is_some_and(|e| e.eq_ignore_ascii_case("json")) {
            let text = std::fs::read_to_string(path).map_err(|e| err(object.clone(), format!("cannot read: {e}")))?;
            serde_json::from_str::<Vec<Vec<f64>>>(&text)
                .map_err(|e| err(object.clone(), format!("not a JSON array of rows of numbers: {e}")))?
                .into_iter()
                .map(|r| r.into_iter().map(|x| i64::from(x != 0.0)).collect())
                .collect()
        } else {
            use spikeforge_results::npy::{self, NpyData};
            let a = npy::read(path).map_err(|e| err(object.clone(), e.to_string()))?;
            let (t, n) = a.expect_2d().map_err(|e| err(object.clone(), format!("{e}; expected (steps, neurons)")))?;
            let flat: Vec<i64> = match a.data {
                NpyData::F8(v) => v.into_iter().map(|x| i64::from(x != 0.0)).collect(),
                NpyData::I8(v) => v,
                NpyData::I4(v) => v.into_iter().map(i64::from).collect(),
                NpyData::U4(v) => v.into_iter().map(i64::from).collect(),
            };
            (0..t).map(|r| flat[r * n..(r + 1) * n].to_vec()).collect()
        };
        st.insert_raster(&pop, &rows).map_err(|m| err(object.clone(), m))?;
    }
    Ok(st)
}

/// Loads a network (YAML or .sfir), validates and compiles it for `n_steps`
/// (None = the network's duration). Diagnostics are printed; warnings too.
fn compile_network(path: &Path, args: &CompileArgs, n_steps: Option<u32>, format: Format) -> Result<(ir::Network, spikeforge_compiler::program::MachineProgram), Failure> {
    use spikeforge_compiler::lower::{self, CompileOptions, TargetProfile};
    let (net, warnings) = load_valid(path, format)?;
    let profile = match args.profile.as_deref() {
        None => TargetProfile::for_network(&net),
        Some("spinnaker") => TargetProfile::Spinnaker,
        Some("loihi") => TargetProfile::Loihi,
        Some(other) => {
            let d = Diagnostics(vec![spikeforge_compiler::diag::Diagnostic::error("E003", "option --profile", "", format!("unknown profile '{other}'; expected spinnaker or loihi"))]);
            print_diagnostics(&d, format);
            return Err(Failure::User);
        }
    };
    let steps = n_steps.unwrap_or_else(|| spikeforge_compiler::expand::steps_for(net.duration_ms, net.dt_ms));
    let opts = CompileOptions { profile, max_neurons_per_core: args.max_neurons_per_core, n_steps: steps };
    let stimuli = load_stimuli(&net, &args.inputs).map_err(|d| {
        print_diagnostics(&d, format);
        Failure::User
    })?;
    let popts = lower::ProfileOptions {
        plastic_weight_bits: spikeforge_compiler::quantize::spinnaker_stdp::PlasticWeightBits::from_bits(args.plastic_weight_bits).unwrap_or_default(),
    };
    let mut compiled = match lower::compile_with_profile(&net, &opts, &stimuli, &popts) {
        Ok(c) => c,
        Err(d) => {
            print_diagnostics(&d, format);
            return Err(Failure::User);
        }
    };
    let mut all = warnings;
    all.0.append(&mut compiled.diagnostics.0);
    if args.strict {
        lower::strict(&mut all);
    }
    if all.has_errors() {
        print_diagnostics(&all, format);
        return Err(Failure::User);
    }
    if format == Format::Text {
        for d in all.iter() {
            eprintln!("{d}");
        }
    }
    Ok((net, compiled.program))
}

pub fn compile(path: &Path, args: &CompileArgs, n_steps: Option<u32>, output: &Path, format: Format) -> Result<(), Failure> {
    let (_, program) = compile_network(path, args, n_steps, format)?;
    let bytes = program.to_bytes();
    if let Err(e) = std::fs::write(output, &bytes) {
        let d = Diagnostics(vec![spikeforge_compiler::diag::Diagnostic::error("E002", format!("file '{}'", output.display()), "", format!("cannot write: {e}"))]);
        print_diagnostics(&d, format);
        return Err(Failure::User);
    }
    let m = &program.manifest;
    let neurons: u32 = m.cores.iter().filter(|c| c.kind == "neurons").map(|c| c.n_neurons).sum();
    let synapses: u64 = m.projections.iter().map(|p| p.n_synapses).sum();
    match format {
        Format::Text => println!(
            "wrote {} ({} bytes): profile {}, {} cores ({} neuron cores, {neurons} neurons), {synapses} synapses, {} steps of stimuli",
            output.display(),
            bytes.len(),
            m.profile,
            m.cores.len(),
            m.cores.iter().filter(|c| c.kind == "neurons").count(),
            m.stimulus_steps
        ),
        Format::Json => println!(
            "{}",
            serde_json::json!({"ok": true, "output": output.display().to_string(), "bytes": bytes.len(), "profile": m.profile, "cores": m.cores.len(), "neurons": neurons, "synapses": synapses, "stimulus_steps": m.stimulus_steps})
        ),
    }
    Ok(())
}

/// `spikeforge run`.
pub struct RunArgs {
    pub steps: Option<u32>,
    pub threads: usize,
    pub reference: bool,
    pub output: Option<std::path::PathBuf>,
}

pub fn run(path: &Path, compile_args: &CompileArgs, run: &RunArgs, format: Format) -> Result<(), Failure> {
    use spikeforge_compiler::program::MachineProgram;
    let bytes = std::fs::read(path).map_err(|e| {
        print_diagnostics(&Diagnostics(vec![spikeforge_compiler::diag::Diagnostic::error("E001", format!("file '{}'", path.display()), "", format!("cannot read: {e}"))]), format);
        Failure::User
    })?;
    let started = std::time::Instant::now();
    let (result, counters, backend_note) = if run.reference {
        if bytes.starts_with(&spikeforge_compiler::program::MAGIC) {
            let d = Diagnostics(vec![spikeforge_compiler::diag::Diagnostic::error(
                "E004",
                format!("file '{}'", path.display()),
                "",
                "--reference runs the float64 semantics of a network; give the network (YAML or .sfir), not a compiled program".to_string(),
            )]);
            print_diagnostics(&d, format);
            return Err(Failure::User);
        }
        let (net, warnings) = load_valid(path, format)?;
        if format == Format::Text {
            for w in warnings.iter() {
                eprintln!("{w}");
            }
        }
        let steps = run.steps.unwrap_or_else(|| spikeforge_compiler::expand::steps_for(net.duration_ms, net.dt_ms));
        let stimuli = load_stimuli(&net, &compile_args.inputs).map_err(|d| {
            print_diagnostics(&d, format);
            Failure::User
        })?;
        let exp = spikeforge_compiler::expand::expand_with(&net, steps, &stimuli).map_err(|e| {
            print_diagnostics(&Diagnostics(vec![spikeforge_compiler::diag::Diagnostic::error("L001", "network", "", e.to_string())]), format);
            Failure::User
        })?;
        let (result, notes) = spikeforge_reference::network::simulate(&net, &exp, steps, &Default::default()).map_err(|e| {
            print_diagnostics(&Diagnostics(vec![spikeforge_compiler::diag::Diagnostic::error("R001", "network", "", e.to_string())]), format);
            Failure::User
        })?;
        (result, None, notes)
    } else {
        let program = if bytes.starts_with(&spikeforge_compiler::program::MAGIC) {
            if !compile_args.inputs.is_empty() {
                let d = Diagnostics(vec![spikeforge_compiler::diag::Diagnostic::error(
                    "E005",
                    "option --input",
                    "",
                    format!("'{}' is a compiled program, whose stimuli are fixed; give --input when compiling, or run the network (YAML or .sfir)", path.display()),
                )]);
                print_diagnostics(&d, format);
                return Err(Failure::User);
            }
            MachineProgram::from_bytes(&bytes).map_err(|e| {
                print_diagnostics(&Diagnostics(vec![spikeforge_compiler::diag::Diagnostic::error("P001", format!("file '{}'", path.display()), "", e.to_string())]), format);
                Failure::User
            })?
        } else {
            compile_network(path, compile_args, run.steps, format)?.1
        };
        let steps = run.steps.unwrap_or(program.manifest.default_steps);
        let mut emu = spikeforge_emu::Emulator::with_max_threads(program, run.threads).map_err(|e| {
            print_diagnostics(&Diagnostics(vec![spikeforge_compiler::diag::Diagnostic::error("P002", format!("file '{}'", path.display()), "", e.to_string())]), format);
            Failure::User
        })?;
        let bar = progress_bar(steps as u64);
        let loop_start = std::time::Instant::now();
        let (result, counters) = emu
            .run(steps, |t| {
                if t % 64 == 0 || t == steps {
                    bar.tick(t as u64, loop_start);
                }
            })
            .map_err(|e| {
                print_diagnostics(&Diagnostics(vec![spikeforge_compiler::diag::Diagnostic::error("P003", format!("file '{}'", path.display()), "", e.to_string())]), format);
                Failure::User
            })?;
        bar.finish();
        (result, Some((counters, loop_start.elapsed(), emu.workers(), emu.exchange_window())), Vec::new())
    };
    let wall = started.elapsed();
    if let Some(dir) = &run.output {
        result.write_dir(dir).with_context(|| format!("writing {}", dir.display()))?;
        let mut timing = serde_json::json!({"wall_s": wall.as_secs_f64(), "threads": run.threads, "backend": result.backend});
        if let Some((c, loop_time, workers, window)) = &counters {
            timing["workers"] = serde_json::json!(workers);
            timing["exchange_window"] = serde_json::json!(window);
            timing["loop_s"] = serde_json::json!(loop_time.as_secs_f64());
            timing["synaptic_events"] = serde_json::json!(c.synaptic_events);
            timing["synaptic_events_per_s"] = serde_json::json!(c.synaptic_events as f64 / loop_time.as_secs_f64().max(1e-12));
        }
        std::fs::write(dir.join("timing.json"), serde_json::to_string_pretty(&timing).context("timing")?).with_context(|| format!("writing {}/timing.json", dir.display()))?;
    }
    match format {
        Format::Text => {
            for n in &backend_note {
                eprintln!("note: {n}");
            }
            print!("{}", result.summary_text());
            if let Some((c, loop_time, workers, _)) = &counters {
                let fewer = if *workers < run.threads { format!(" of {} allowed: the network is too small to split further", run.threads) } else { String::new() };
                println!(
                    "{} synaptic events in {:.3} s ({:.1} M events/s, {} thread(s){fewer}); {} ring-buffer saturations",
                    c.synaptic_events,
                    loop_time.as_secs_f64(),
                    c.synaptic_events as f64 / loop_time.as_secs_f64().max(1e-12) / 1e6,
                    workers,
                    c.ring_buffer_saturations
                );
            }
            if let Some(dir) = &run.output {
                println!("results in {}", dir.display());
            }
        }
        Format::Json => {
            let mut doc = serde_json::json!({"ok": true, "backend": result.backend, "network": result.network, "n_steps": result.n_steps, "wall_s": wall.as_secs_f64(), "notes": backend_note});
            doc["spikes"] = serde_json::json!(result.spikes.iter().map(|s| serde_json::json!({"population": s.population, "count": s.events.len()})).collect::<Vec<_>>());
            doc["counters"] = serde_json::json!(result.counters);
            if let Some(dir) = &run.output {
                doc["output"] = serde_json::json!(dir.display().to_string());
            }
            println!("{}", serde_json::to_string_pretty(&doc).context("serializing")?);
        }
    }
    Ok(())
}

/// A progress bar that appears only once a run has taken more than a second.
struct Progress {
    bar: indicatif::ProgressBar,
    shown: std::cell::Cell<bool>,
}

fn progress_bar(total: u64) -> Progress {
    let bar = indicatif::ProgressBar::with_draw_target(Some(total), indicatif::ProgressDrawTarget::hidden());
    bar.set_style(
        indicatif::ProgressStyle::with_template("{bar:40} {pos}/{len} steps, {per_sec}, eta {eta}").unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    Progress { bar, shown: std::cell::Cell::new(false) }
}

impl Progress {
    fn tick(&self, pos: u64, start: std::time::Instant) {
        if !self.shown.get() && start.elapsed() > std::time::Duration::from_secs(1) {
            self.bar.set_draw_target(indicatif::ProgressDrawTarget::stderr());
            self.shown.set(true);
        }
        self.bar.set_position(pos);
    }

    fn finish(&self) {
        self.bar.finish_and_clear();
    }
}
