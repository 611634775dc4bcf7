//! The emulator benchmark: a bench binary that writes one JSON document.
//!
//! ```text
//! cargo bench -p spikeforge-emu --bench emulator -- [--quick] [--out FILE.json]
//!     [--only SUBSTRING] [--reps N]
//! cargo bench -p spikeforge-emu --bench emulator -- --export DIR --case NAME
//! cargo bench -p spikeforge-emu --bench emulator -- --list
//! ```
//!
//! Every case is one entry of [`cases`]: a network (an example file plus
//! overrides), `dt`, a duration and a thread count. Each case is measured in
//! a fresh child process (this same binary with `--child NAME`) so that peak
//! memory (`VmHWM`) belongs to that case alone. The child compiles the network
//! (not timed), then runs it `reps` times from a freshly loaded emulator and
//! reports, per repetition, the wall time of `Emulator::run` ("loop time":
//! the whole run, including starting the worker threads and assembling the
//! result, excluding compilation and image loading) and the CPU time of the
//! process over the same interval (sum of `/proc/self/task/*/schedstat`, the
//! measure Brian2's single-threaded C++ standalone timer uses: `std::clock`).
//! The emulator's own counters give synaptic events (synapse words processed
//! for arriving spikes) and spikes; every repetition of a case, and the 1- and
//! 2-thread runs of one network, must give identical counters.
//!
//! `--export DIR --case NAME` writes the expanded float network of a case for
//! a peer simulator (`scripts/bench_brian2.py`): `network.json` (populations
//! with their model parameters, projections, dt, steps) and `.npy` arrays
//! (`<pop>_v_init.npy` in mV, `<pop>_spike_i.npy` / `<pop>_spike_step.npy`
//! for spike sources, `<proj>_pre.npy`, `<proj>_post.npy`, `<proj>_weight.npy`
//! in nA, `<proj>_delay.npy` in steps).

use serde_json::{json, Value};
use spikeforge_compiler::expand::{self, ExpModel};
use spikeforge_compiler::ir;
use spikeforge_compiler::expand::Stimuli;
use spikeforge_compiler::lower::{compile_with_profile, CompileOptions, ProfileOptions, TargetProfile, DEFAULT_MAX_NEURONS_PER_CORE};
use spikeforge_compiler::quantize::spinnaker_stdp::PlasticWeightBits;
use spikeforge_compiler::yaml;
use spikeforge_emu::Emulator;
use spikeforge_results::npy;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

/// A benchmark network: an example file with overrides.
#[derive(Clone, Copy, Debug)]
struct Network {
    /// Short name used in case names.
    key: &'static str,
    /// File under `examples/`.
    file: &'static str,
    /// Size of the neuron population(s) to override, if any: (population, size).
    resize: Option<(&'static str, u32)>,
    /// Compile with 32-bit stored plastic weights (`--plastic-weight-bits 32`,
    /// the documented deviation the song2000 example needs: with sPyNNaker's
    /// 16-bit weights its updates are below one weight LSB).
    plastic_weight_bits_32: bool,
}

const CUBA: Network = Network { key: "cuba", file: "cuba.yaml", resize: None, plastic_weight_bits_32: false };
/// Song, Miller & Abbott 2000: 1000 Poisson inputs → 1 LIF neuron, pair STDP.
const SONG: Network = Network { key: "song", file: "song2000.yaml", resize: None, plastic_weight_bits_32: true };
/// The same rule, 1000 Poisson inputs → 1000 LIF neurons, all-to-all plastic (1 M synapses).
const STDP_SCALED: Network = Network { key: "stdp_scaled", file: "song2000.yaml", resize: Some(("neuron", 1000)), plastic_weight_bits_32: true };

/// One measured configuration.
#[derive(Clone, Debug)]
struct Case {
    name: String,
    network: Network,
    dt_ms: f64,
    duration_s: f64,
    threads: usize,
    /// Repetitions in a full run (`--quick` uses fewer).
    reps: usize,
    /// Part of `--quick`.
    quick: bool,
}

fn case(network: Network, dt_ms: f64, duration_s: f64, threads: usize, reps: usize, quick: bool) -> Case {
    Case { name: format!("{}_dt{}_{}s_t{}", network.key, dt_ms, duration_s, threads), network, dt_ms, duration_s, threads, reps, quick }
}

/// Every case, in output order.
fn cases() -> Vec<Case> {
    let mut v = Vec::new();
    for &(dt, dur, reps, quick) in &[(1.0, 1.0, 9, true), (0.1, 1.0, 7, true), (1.0, 10.0, 3, false), (0.1, 10.0, 3, false)] {
        for threads in [1, 2] {
            v.push(case(CUBA, dt, dur, threads, reps, quick));
        }
    }
    // Plasticity (issue 4): one entry each.
    for threads in [1, 2] {
        v.push(case(SONG, 0.1, 100.0, threads, 1, false));
    }
    for dt in [1.0, 0.1] {
        for threads in [1, 2] {
            v.push(case(STDP_SCALED, dt, 10.0, threads, 1, false));
        }
    }
    v
}

fn examples_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples")
}

/// The network of a case as IR, with dt, duration and sizes overridden.
fn network_ir(c: &Case) -> Result<ir::Network, String> {
    let path = examples_dir().join(c.network.file);
    let text = std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut net = yaml::parse(&text, c.network.file).map_err(|e| format!("{}: {e}", c.network.file))?;
    net.dt_ms = c.dt_ms;
    net.duration_ms = c.duration_s * 1000.0;
    if let Some((pop, size)) = c.network.resize {
        let p = net.populations.iter_mut().find(|p| p.name == pop).ok_or_else(|| format!("no population '{pop}'"))?;
        p.size = size;
    }
    Ok(net)
}

fn n_steps(c: &Case) -> u32 {
    expand::steps_for(c.duration_s * 1000.0, c.dt_ms)
}

/// `Key:   1234 kB` from `/proc/self/status`, in kB.
fn proc_status_kb(key: &str) -> Option<u64> {
    let s = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = s.lines().find(|l| l.starts_with(key))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// CPU time of every thread of this process so far, in seconds
/// (`/proc/self/task/*/schedstat`, first field, nanoseconds).
fn process_cpu_s() -> f64 {
    let mut ns: u64 = 0;
    if let Ok(dir) = std::fs::read_dir("/proc/self/task") {
        for e in dir.flatten() {
            if let Ok(s) = std::fs::read_to_string(e.path().join("schedstat")) {
                ns += s.split_whitespace().next().and_then(|x| x.parse::<u64>().ok()).unwrap_or(0);
            }
        }
    }
    ns as f64 * 1e-9
}

fn loadavg() -> Vec<String> {
    std::fs::read_to_string("/proc/loadavg").map(|s| s.split_whitespace().take(4).map(str::to_string).collect()).unwrap_or_default()
}

fn median(v: &[f64]) -> f64 {
    let mut s = v.to_vec();
    s.sort_by(|a, b| a.total_cmp(b));
    let n = s.len();
    if n == 0 {
        f64::NAN
    } else if n % 2 == 1 {
        s[n / 2]
    } else {
        0.5 * (s[n / 2 - 1] + s[n / 2])
    }
}

/// Runs one case in this process and returns its JSON record.
fn run_case(c: &Case, reps: usize) -> Result<Value, String> {
    let net = network_ir(c)?;
    let steps = n_steps(c);
    let t0 = Instant::now();
    let opts = CompileOptions { profile: TargetProfile::Spinnaker, max_neurons_per_core: DEFAULT_MAX_NEURONS_PER_CORE, n_steps: steps };
    let bits = if c.network.plastic_weight_bits_32 { PlasticWeightBits::ThirtyTwo } else { PlasticWeightBits::Sixteen };
    let compiled = compile_with_profile(&net, &opts, &Stimuli::default(), &ProfileOptions { plastic_weight_bits: bits })
        .map_err(|d| format!("compile: {}", d.0.iter().filter(|x| format!("{:?}", x.severity) == "Error").map(|x| x.message.clone()).collect::<Vec<_>>().join("; ")))?;
    let compile_s = t0.elapsed().as_secs_f64();
    let program = compiled.program;
    let n_neurons: u64 = program.manifest.cores.iter().filter(|c| c.kind == "neurons").map(|c| c.n_neurons as u64).sum();
    let n_synapses: u64 = program.manifest.projections.iter().map(|p| p.n_synapses).sum();
    let n_cores = program.manifest.cores.len();
    let plastic_names: Vec<&str> = net.projections.iter().filter(|p| !p.plasticity.is_empty()).map(|p| p.name.as_str()).collect();
    let n_plastic: u64 = program.manifest.projections.iter().filter(|p| plastic_names.contains(&p.name.as_str())).map(|p| p.n_synapses).sum();
    let rss_after_compile = proc_status_kb("VmRSS:");
    let mut wall = Vec::new();
    let mut cpu = Vec::new();
    let mut counters: Option<spikeforge_emu::Counters> = None;
    for _ in 0..reps {
        let mut emu = Emulator::new(program.clone(), c.threads).map_err(|e| e.to_string())?;
        let c0 = process_cpu_s();
        let t0 = Instant::now();
        let (result, k) = emu.run(steps, |_| {}).map_err(|e| e.to_string())?;
        let w = t0.elapsed().as_secs_f64();
        let cp = process_cpu_s() - c0;
        drop(result);
        wall.push(w);
        cpu.push(cp);
        match &counters {
            None => counters = Some(k),
            Some(prev) if *prev != k => return Err(format!("repetitions disagree: {prev:?} vs {k:?}")),
            Some(_) => {}
        }
    }
    let k = counters.unwrap_or_default();
    let loop_s = median(&wall);
    let cpu_s = median(&cpu);
    Ok(json!({
        "name": c.name,
        "network": c.network.key,
        "dt_ms": c.dt_ms,
        "duration_s": c.duration_s,
        "steps": steps,
        "threads": c.threads,
        "reps": reps,
        "n_neurons": n_neurons,
        "n_synapses": n_synapses,
        "n_cores": n_cores,
        "compile_s": compile_s,
        "loop_s": wall,
        "loop_s_median": loop_s,
        "loop_s_min": wall.iter().cloned().fold(f64::INFINITY, f64::min),
        "cpu_s": cpu,
        "cpu_s_median": cpu_s,
        "synaptic_events": k.synaptic_events,
        "spikes": k.spikes,
        "ring_buffer_saturations": k.ring_buffer_saturations,
        "events_per_s": k.synaptic_events as f64 / loop_s,
        "events_per_cpu_s": k.synaptic_events as f64 / cpu_s,
        "rss_after_compile_kb": rss_after_compile,
        "n_plastic_synapses": n_plastic,
        "plastic_weight_bits": if c.network.plastic_weight_bits_32 { 32 } else { 16 },
        // RSS growth from the end of compilation to the peak, per synapse: an
        // upper bound on the emulator's bytes per synapse (it includes the
        // copy of the program each repetition loads).
        "peak_growth_bytes_per_synapse": proc_status_kb("VmHWM:").zip(rss_after_compile).map(|(p, r)| (p.saturating_sub(r) * 1024) as f64 / n_synapses.max(1) as f64),
        "peak_rss_kb": proc_status_kb("VmHWM:"),
    }))
}

/// Writes the expanded float network of a case for a peer simulator.
fn export(c: &Case, dir: &Path) -> Result<(), String> {
    let net = network_ir(c)?;
    let steps = n_steps(c);
    let exp = expand::expand(&net, steps).map_err(|e| e.to_string())?;
    std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let w = |name: String, shape: &[usize], data: &[f64]| npy::write(&dir.join(name), shape, data).map_err(|e| e.to_string());
    let wi = |name: String, data: &[i64]| npy::write(&dir.join(name), &[data.len()], data).map_err(|e| e.to_string());
    let mut pops = Vec::new();
    for p in &exp.populations {
        let model = match &p.model {
            ExpModel::IfCurrExp(m) => {
                let v0 = p.v_init.clone().unwrap_or_else(|| vec![m.v_init_mv.unwrap_or(m.v_rest_mv); p.size as usize]);
                w(format!("{}_v_init.npy", p.name), &[v0.len()], &v0)?;
                json!({
                    "kind": "if_curr_exp",
                    "tau_m_ms": m.tau_m_ms, "cm_nf": m.cm_nf, "v_rest_mv": m.v_rest_mv, "v_reset_mv": m.v_reset_mv,
                    "v_thresh_mv": m.v_thresh_mv, "tau_refrac_ms": m.tau_refrac_ms, "tau_syn_e_ms": m.tau_syn_e_ms,
                    "tau_syn_i_ms": m.tau_syn_i_ms, "i_offset_na": m.i_offset_na,
                })
            }
            ExpModel::Source(trains) => {
                let mut idx = Vec::new();
                let mut st = Vec::new();
                for (i, t) in trains.iter().enumerate() {
                    for &s in t {
                        st.push(s as i64);
                        idx.push(i as i64);
                    }
                }
                // Sorted by step, then neuron, as SpikeGeneratorGroup prefers.
                let mut order: Vec<usize> = (0..st.len()).collect();
                order.sort_by_key(|&k| (st[k], idx[k]));
                let idx: Vec<i64> = order.iter().map(|&k| idx[k]).collect();
                let st: Vec<i64> = order.iter().map(|&k| st[k]).collect();
                wi(format!("{}_spike_i.npy", p.name), &idx)?;
                wi(format!("{}_spike_step.npy", p.name), &st)?;
                json!({"kind": "source", "n_spikes": st.len()})
            }
            ExpModel::LavaLif(_) => return Err(format!("population '{}': Lava LIF is not exported", p.name)),
        };
        pops.push(json!({"name": p.name, "size": p.size, "model": model}));
    }
    let mut projs = Vec::new();
    for p in &exp.projections {
        let pre: Vec<i64> = p.synapses.iter().map(|s| s.pre as i64).collect();
        let post: Vec<i64> = p.synapses.iter().map(|s| s.post as i64).collect();
        let weight: Vec<f64> = p.synapses.iter().map(|s| s.weight).collect();
        let delay: Vec<i64> = p.synapses.iter().map(|s| s.delay as i64).collect();
        wi(format!("{}_pre.npy", p.name), &pre)?;
        wi(format!("{}_post.npy", p.name), &post)?;
        w(format!("{}_weight.npy", p.name), &[weight.len()], &weight)?;
        wi(format!("{}_delay.npy", p.name), &delay)?;
        let receptor = match p.receptor {
            ir::Receptor::Inhibitory => "inhibitory",
            _ => "excitatory",
        };
        let rule = p.plasticity.map(|k| serde_json::to_value(format!("{:?}", net.plasticity_rules[k])).unwrap_or(Value::Null));
        projs.push(json!({
            "name": p.name,
            "pre": exp.populations[p.pre].name,
            "post": exp.populations[p.post].name,
            "receptor": receptor,
            "n_synapses": p.synapses.len(),
            "plasticity": rule,
        }));
    }
    let doc = json!({
        "case": c.name,
        "network": c.network.key,
        "dt_ms": c.dt_ms,
        "duration_s": c.duration_s,
        "steps": steps,
        "populations": pops,
        "projections": projs,
        "note": "delays are in steps; the emulator applies a spike emitted in step t to the neuron update of step t + delay",
    });
    let text = serde_json::to_string_pretty(&doc).map_err(|e| e.to_string())?;
    std::fs::write(dir.join("network.json"), text).map_err(|e| e.to_string())
}

fn machine() -> Value {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let field = |k: &str| cpuinfo.lines().find(|l| l.starts_with(k)).and_then(|l| l.split(':').nth(1)).map(|s| s.trim().to_string());
    let mem = std::fs::read_to_string("/proc/meminfo").ok().and_then(|s| s.lines().next().map(|l| l.split_whitespace().nth(1).unwrap_or("").to_string()));
    json!({
        "cpu_model": field("model name"),
        "cpu_mhz": field("cpu MHz"),
        "logical_cpus": std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0),
        "mem_total_kb": mem,
        "compiled_for": {
            "avx2": cfg!(target_feature = "avx2"),
            "avx512f": cfg!(target_feature = "avx512f"),
            "sse4.1": cfg!(target_feature = "sse4.1"),
        },
    })
}

struct Args {
    quick: bool,
    out: Option<PathBuf>,
    only: Vec<String>,
    reps: Option<usize>,
    child: Option<String>,
    export: Option<PathBuf>,
    case: Option<String>,
    list: bool,
}

fn parse_args() -> Result<Args, String> {
    let mut a = Args { quick: false, out: None, only: Vec::new(), reps: None, child: None, export: None, case: None, list: false };
    let mut it = std::env::args().skip(1);
    while let Some(x) = it.next() {
        let mut val = |name: &str| it.next().ok_or_else(|| format!("{name} needs a value"));
        match x.as_str() {
            "--quick" => a.quick = true,
            "--out" => a.out = Some(PathBuf::from(val("--out")?)),
            "--only" => a.only.push(val("--only")?),
            "--reps" => a.reps = Some(val("--reps")?.parse().map_err(|e| format!("--reps: {e}"))?),
            "--child" => a.child = Some(val("--child")?),
            "--export" => a.export = Some(PathBuf::from(val("--export")?)),
            "--case" => a.case = Some(val("--case")?),
            "--list" => a.list = true,
            // Flags cargo passes to every bench target.
            "--bench" => {}
            other => return Err(format!("unknown argument '{other}'")),
        }
    }
    Ok(a)
}

fn find(name: &str) -> Result<Case, String> {
    cases().into_iter().find(|c| c.name == name).ok_or_else(|| format!("no case '{name}' (see --list)"))
}

fn main() {
    if let Err(e) = real_main() {
        eprintln!("emulator bench: {e}");
        std::process::exit(1);
    }
}

fn real_main() -> Result<(), String> {
    let a = parse_args()?;
    if a.list {
        for c in cases() {
            println!("{}", c.name);
        }
        return Ok(());
    }
    if let Some(dir) = &a.export {
        let c = find(a.case.as_deref().ok_or("--export needs --case NAME")?)?;
        return export(&c, dir);
    }
    if let Some(name) = &a.child {
        let c = find(name)?;
        let rec = run_case(&c, a.reps.unwrap_or(c.reps))?;
        println!("{}", serde_json::to_string(&rec).map_err(|e| e.to_string())?);
        return Ok(());
    }
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let selected: Vec<Case> = cases()
        .into_iter()
        .filter(|c| !a.quick || c.quick)
        .filter(|c| a.only.is_empty() || a.only.iter().any(|o| c.name.contains(o.as_str())))
        .collect();
    let load_before = loadavg();
    let mut records = Vec::new();
    for c in &selected {
        let reps = a.reps.unwrap_or(if a.quick { c.reps.min(3) } else { c.reps });
        let out = Command::new(&exe).args(["--child", &c.name, "--reps", &reps.to_string()]).output().map_err(|e| format!("{}: {e}", exe.display()))?;
        if !out.status.success() {
            let error = String::from_utf8_lossy(&out.stderr).trim().to_string();
            eprintln!("{:<24} FAILED: {error}", c.name);
            records.push(json!({"name": c.name, "network": c.network.key, "dt_ms": c.dt_ms, "duration_s": c.duration_s, "threads": c.threads, "error": error}));
            continue;
        }
        let rec: Value = serde_json::from_slice(&out.stdout).map_err(|e| format!("case {}: bad child output: {e}", c.name))?;
        eprintln!(
            "{:<24} loop {:>9.4} s (min {:.4}, cpu {:.4})  {:>7.1} M events/s  {:>9} events  {:>7} spikes  peak {} kB",
            c.name,
            rec["loop_s_median"].as_f64().unwrap_or(f64::NAN),
            rec["loop_s_min"].as_f64().unwrap_or(f64::NAN),
            rec["cpu_s_median"].as_f64().unwrap_or(f64::NAN),
            rec["events_per_s"].as_f64().unwrap_or(f64::NAN) / 1e6,
            rec["synaptic_events"],
            rec["spikes"],
            rec["peak_rss_kb"],
        );
        records.push(rec);
    }
    // The same network at 1 and 2 threads must give the same counters; record the speed-up.
    let mut speedups = Vec::new();
    for r in &records {
        if r["threads"] != 1 || r.get("error").is_some() {
            continue;
        }
        for s in &records {
            if s.get("error").is_none() && s["network"] == r["network"] && s["dt_ms"] == r["dt_ms"] && s["duration_s"] == r["duration_s"] && s["threads"] == 2 {
                if s["synaptic_events"] != r["synaptic_events"] || s["spikes"] != r["spikes"] {
                    return Err(format!("{} and {} disagree: the emulator is not thread-count independent", r["name"], s["name"]));
                }
                let sp = r["loop_s_median"].as_f64().unwrap_or(f64::NAN) / s["loop_s_median"].as_f64().unwrap_or(f64::NAN);
                speedups.push(json!({"one_thread": r["name"], "two_threads": s["name"], "speedup": sp}));
            }
        }
    }
    let doc = json!({
        "tool": "spikeforge-emu bench (targets/emu/benches/emulator.rs)",
        "command": std::env::args().collect::<Vec<_>>().join(" "),
        "profile": if cfg!(debug_assertions) { "debug" } else { "optimised" },
        "machine": machine(),
        "loadavg_before": load_before,
        "loadavg_after": loadavg(),
        "cases": records,
        "speedup_1_to_2_threads": speedups,
    });
    let text = serde_json::to_string_pretty(&doc).map_err(|e| e.to_string())?;
    match &a.out {
        Some(p) => {
            if let Some(d) = p.parent() {
                std::fs::create_dir_all(d).map_err(|e| format!("{}: {e}", d.display()))?;
            }
            std::fs::write(p, text).map_err(|e| format!("{}: {e}", p.display()))?;
            eprintln!("wrote {}", p.display());
        }
        None => println!("{text}"),
    }
    Ok(())
}
