//! The emulator benchmark: a bench binary that writes one JSON document.
//!
//! ```text
//! cargo bench -p spikeforge-emu --bench emulator -- [--quick] [--out FILE.json]
//!     [--only SUBSTRING] [--reps N]
//! cargo bench -p spikeforge-emu --bench emulator -- --export DIR --case NAME
//! cargo bench -p spikeforge-emu --bench emulator -- --list
//! emulator-<hash> --child NAME [--reps N] [--start-at-ms UNIX_MS]
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
//! Cases with plasticity also report, from the compiled program and the run:
//! * `pre_events` (= `synaptic_events`) and `pre_post_updates` = pre events +
//!   post spikes × plastic in-degree of the spiking neuron (the in-degrees are
//!   read from the control half-words of the compiled plastic rows, the post
//!   spikes from the run's spike recording), with their rates per loop second;
//! * `bytes_per_plastic_synapse`: the bytes of every `SpinnakerPlasticMatrix`
//!   section of the core images (matrix header, block table, row index and
//!   the rows: size words, per-row pre-event history, weights, control
//!   half-words) divided by the plastic synapses in them, with a breakdown in
//!   `plastic_memory` (the post-event histories, one per neuron, and the
//!   rule/LUT sections are listed there but not included). The emulator keeps
//!   exactly these row words and row index (`targets/emu/src/plastic.rs`);
//! * `weights_final`: statistics of the last weight sample of each plastic
//!   projection (the weights stored after each synapse's last pre spike).
//!
//! `--start-at-ms` makes a child wait after compiling until that wall-clock
//! time (milliseconds since the Unix epoch) before its repetitions: two
//! children given the same time run at once. `scripts/bench_brian2.py` runs
//! two copies of a one-thread case so, as the host's own two-way ceiling for
//! the two-thread case (see docs/performance.md); the record's
//! `start_late_s` says by how much a child missed the time.
//!
//! `--export DIR --case NAME` writes the expanded float network of a case for
//! a peer simulator (`scripts/bench_brian2.py`): `network.json` (populations
//! with their model parameters, projections, dt, steps) and `.npy` arrays
//! (`<pop>_v_init.npy` in mV, `<pop>_spike_i.npy` / `<pop>_spike_step.npy`
//! for spike sources, `<proj>_pre.npy`, `<proj>_post.npy`, `<proj>_weight.npy`
//! in nA (initial weights, before quantization), `<proj>_delay.npy` in steps).
//! A plastic projection's `plasticity` in `network.json` holds the rule's
//! parameters (pair STDP: pairing, weight dependence, `tau_plus_ms`,
//! `tau_minus_ms`, `a_plus`, `a_minus`, `w_min`, `w_max` in the IR's units)
//! and the timing convention; `recordings` lists what the network records.
//! Case records and exports carry `network_fnv1a64`, a fingerprint of the
//! network (its IR) they were built from, so that a peer run on an example
//! that changed in between is detected.

use serde_json::{json, Value};
use spikeforge_compiler::expand::{self, ExpModel};
use spikeforge_compiler::ir;
use spikeforge_compiler::expand::Stimuli;
use spikeforge_compiler::lower::{compile_with_profile, CompileOptions, ProfileOptions, TargetProfile, DEFAULT_MAX_NEURONS_PER_CORE};
use spikeforge_compiler::quantize::spinnaker_stdp::PlasticWeightBits;
use spikeforge_compiler::program::MachineProgram;
use spikeforge_compiler::yaml;
use spikeforge_emu::Emulator;
use spikeforge_kernel::program::{CoreImage, PlasticRowLayout, SectionKind, SpinnakerRing, StdpRule, SynapticMatrix};
use spikeforge_kernel::spinnaker::stdp::PlasticSynapse;
use spikeforge_results::{npy, RunResult};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

/// A benchmark network: an example file with overrides.
#[derive(Clone, Copy, Debug)]
struct Network {
    /// Short name used in case names.
    key: &'static str,
    /// The network file, relative to the repository root.
    file: &'static str,
    /// Size of the neuron population(s) to override, if any: (population, size).
    resize: Option<(&'static str, u32)>,
    /// Every projection's delay in ms, if overridden.
    delay_ms: Option<f64>,
    /// Compile with 32-bit stored plastic weights (`--plastic-weight-bits 32`,
    /// the documented deviation the song2000 example needs: with sPyNNaker's
    /// 16-bit weights its updates are below one weight LSB).
    plastic_weight_bits_32: bool,
}

const CUBA: Network = Network { key: "cuba", file: "examples/cuba.yaml", resize: None, delay_ms: None, plastic_weight_bits_32: false };
/// CUBA with every delay 1 ms, as in the network of Brette et al. (2007)
/// run with delays: at dt = 0.1 ms the workers exchange spikes every 10 steps
/// (`Emulator::exchange_window`) instead of every step.
const CUBA_DELAY_1MS: Network = Network { key: "cuba_delay1ms", file: "examples/cuba.yaml", resize: None, delay_ms: Some(1.0), plastic_weight_bits_32: false };
/// Song, Miller & Abbott 2000: 1000 Poisson inputs → 1 LIF neuron, pair STDP.
const SONG: Network = Network { key: "song", file: "examples/song2000.yaml", resize: None, delay_ms: None, plastic_weight_bits_32: true };
/// The same rule, 1000 Poisson inputs → 1000 LIF neurons, all-to-all plastic (1 M synapses).
const STDP_SCALED: Network = Network { key: "stdp_scaled", file: "examples/song2000.yaml", resize: Some(("neuron", 1000)), delay_ms: None, plastic_weight_bits_32: true };
/// The scaled network at the example's earlier parameters (output ~3.5 Hz),
/// where the emulator and Brian2 fire nearly the same post spikes: the
/// plastic comparison on equal work.
const STDP_LOWRATE: Network =
    Network { key: "stdp_lowrate", file: "targets/emu/benches/networks/stdp_lowrate.yaml", resize: Some(("neuron", 1000)), delay_ms: None, plastic_weight_bits_32: true };

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
    for threads in [1, 2] {
        v.push(case(CUBA_DELAY_1MS, 0.1, 1.0, threads, 7, false));
    }
    // Plasticity (issue 4): one entry each.
    for threads in [1, 2] {
        v.push(case(SONG, 0.1, 100.0, threads, 1, false));
    }
    for network in [STDP_SCALED, STDP_LOWRATE] {
        for dt in [1.0, 0.1] {
            for threads in [1, 2] {
                v.push(case(network, dt, 10.0, threads, 1, false));
            }
        }
    }
    v
}

fn repo_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The network of a case as IR, with dt, duration and sizes overridden, and
/// its [`fingerprint`].
fn network_ir(c: &Case) -> Result<(ir::Network, String), String> {
    let path = repo_dir().join(c.network.file);
    let text = std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut net = yaml::parse(&text, c.network.file).map_err(|e| format!("{}: {e}", c.network.file))?;
    net.dt_ms = c.dt_ms;
    net.duration_ms = c.duration_s * 1000.0;
    if let Some((pop, size)) = c.network.resize {
        let p = net.populations.iter_mut().find(|p| p.name == pop).ok_or_else(|| format!("no population '{pop}'"))?;
        p.size = size;
    }
    if let Some(d) = c.network.delay_ms {
        for p in &mut net.projections {
            p.delay_ms = Some(ir::Distribution { kind: Some(ir::distribution::Kind::Constant(d)) });
        }
    }
    let print = fingerprint(format!("{net:?}").as_bytes());
    Ok((net, print))
}

/// FNV-1a (64 bit), in hex, of the network read from the example (its IR,
/// so edits of comments do not count): recorded with every case and every
/// export so that a peer run on a network that changed in between is caught.
fn fingerprint(bytes: &[u8]) -> String {
    let h = bytes.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, &b| (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3));
    format!("{h:016x}")
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

/// CPU time of every thread of this process so far, in seconds, including
/// threads that have ended (the emulator's workers end with the run):
/// `getrusage(RUSAGE_SELF)`, user + system, in microseconds (NaN elsewhere
/// than 64-bit Linux).
#[cfg(all(target_os = "linux", target_pointer_width = "64"))]
fn process_cpu_s() -> f64 {
    #[repr(C)]
    struct Timeval {
        sec: i64,
        usec: i64,
    }
    /// `struct rusage` of Linux x86_64 / aarch64: two timevals, 14 longs.
    #[repr(C)]
    struct Rusage {
        utime: Timeval,
        stime: Timeval,
        rest: [i64; 14],
    }
    extern "C" {
        fn getrusage(who: i32, usage: *mut Rusage) -> i32;
    }
    const RUSAGE_SELF: i32 = 0;
    let mut r = Rusage { utime: Timeval { sec: 0, usec: 0 }, stime: Timeval { sec: 0, usec: 0 }, rest: [0; 14] };
    // SAFETY: `r` is a valid, writable `struct rusage` (LP64 layout).
    if unsafe { getrusage(RUSAGE_SELF, &mut r) } != 0 {
        return f64::NAN;
    }
    (r.utime.sec + r.stime.sec) as f64 + (r.utime.usec + r.stime.usec) as f64 * 1e-6
}

#[cfg(not(all(target_os = "linux", target_pointer_width = "64")))]
fn process_cpu_s() -> f64 {
    f64::NAN
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

/// The plastic synapses of a compiled program as the cores hold them
/// (SpiNNaker STDP sections, kinds 16–19), read from the core images.
#[derive(Debug, Default)]
struct PlasticMemory {
    /// Plastic synapses in the rows (their control half-words).
    synapses: u64,
    /// Non-empty plastic rows.
    rows: u64,
    /// Stored plastic weight width in bits (the rule header's `weight_bits`).
    weight_bits: u32,
    /// Bytes of the `SpinnakerPlasticMatrix` sections, everything below included.
    matrix_section_bytes: u64,
    /// Matrix header, block table and row index.
    index_bytes: u64,
    /// Per row: the plastic-region size word `P` and the counts `F`, `n`.
    row_count_bytes: u64,
    /// Per row: the pre-event history and the padding of the plastic region.
    pre_history_bytes: u64,
    /// The stored weights (2 or 4 B per synapse).
    weight_bytes: u64,
    /// The control half-words, padded to a word per row.
    control_bytes: u64,
    /// Static words inside plastic rows (the compiler writes none).
    fixed_bytes: u64,
    /// `SpinnakerPostHistories`: one post-event history per neuron.
    post_history_bytes: u64,
    /// `SpinnakerStdpRule` and `SpinnakerStdpLuts`, once per core.
    rule_bytes: u64,
    /// Plastic in-degree of every neuron, by population.
    in_degree: BTreeMap<String, Vec<u64>>,
}

impl PlasticMemory {
    fn bytes_per_synapse(&self) -> Option<f64> {
        (self.synapses > 0).then(|| self.matrix_section_bytes as f64 / self.synapses as f64)
    }

    fn to_json(&self) -> Value {
        let per = |b: u64| if self.synapses > 0 { json!(b as f64 / self.synapses as f64) } else { Value::Null };
        json!({
            "synapses": self.synapses,
            "rows": self.rows,
            "weight_bits": self.weight_bits,
            "matrix_section_bytes": self.matrix_section_bytes,
            "index_bytes": self.index_bytes,
            "row_count_bytes": self.row_count_bytes,
            "pre_history_bytes": self.pre_history_bytes,
            "weight_bytes": self.weight_bytes,
            "control_bytes": self.control_bytes,
            "fixed_bytes": self.fixed_bytes,
            "post_history_bytes": self.post_history_bytes,
            "rule_bytes": self.rule_bytes,
            "bytes_per_synapse": per(self.matrix_section_bytes),
            "row_bytes_per_synapse": per(self.matrix_section_bytes - self.index_bytes),
            "bytes_per_synapse_with_post_histories_and_rules": per(self.matrix_section_bytes + self.post_history_bytes + self.rule_bytes),
        })
    }
}

/// Measures the plastic sections of every core image of `program`.
fn plastic_memory(program: &MachineProgram) -> Result<PlasticMemory, String> {
    let mut m = PlasticMemory::default();
    for (c, words) in program.images.iter().enumerate() {
        let err = |e: &dyn std::fmt::Display| format!("core {c}: {e}");
        let img = CoreImage::parse(words).map_err(|e| err(&e))?;
        let Some((sec, _)) = img.section(SectionKind::SpinnakerPlasticMatrix) else { continue };
        let info = program.manifest.cores.get(c).ok_or_else(|| err(&"not in the manifest"))?;
        let (rsec, _) = img.section(SectionKind::SpinnakerStdpRule).ok_or_else(|| err(&"plastic matrix without a rule"))?;
        let rule = StdpRule::parse(rsec).map_err(|e| err(&e))?;
        let wbytes = u64::from(rule.header.weight_bits / 8);
        if m.weight_bits != 0 && m.weight_bits != rule.header.weight_bits {
            return Err(err(&"cores with different plastic weight widths"));
        }
        m.weight_bits = rule.header.weight_bits;
        let ring: &SpinnakerRing = img.single(SectionKind::SpinnakerRing).map_err(|e| err(&e))?;
        let matrix = SynapticMatrix::parse_as(sec, SectionKind::SpinnakerPlasticMatrix).map_err(|e| err(&e))?;
        let deg = m.in_degree.entry(info.population.clone()).or_default();
        let end = (info.first_neuron + info.n_neurons) as usize;
        if deg.len() < end {
            deg.resize(end, 0);
        }
        let mut row_words = 0u64;
        for (b, blk) in matrix.blocks.iter().enumerate() {
            for r in 0..blk.n_sources {
                let row = matrix.row(b, r);
                if row.is_empty() {
                    continue;
                }
                let l = PlasticRowLayout::parse(row).map_err(|e| err(&e))?;
                let n = l.n_plastic as u64;
                row_words += row.len() as u64;
                m.rows += 1;
                m.synapses += n;
                m.row_count_bytes += 3 * 4;
                m.weight_bytes += n * wbytes;
                m.pre_history_bytes += (l.plastic.len() as u64 * 4).checked_sub(n * wbytes).ok_or_else(|| err(&"a plastic region shorter than its weights"))?;
                m.control_bytes += l.controls.len() as u64 * 4;
                m.fixed_bytes += l.fixed.len() as u64 * 4;
                for &h in l.control_halfwords(row) {
                    let s = PlasticSynapse::from_control(h, &ring.layout);
                    let j = (info.first_neuron + s.neuron) as usize;
                    *deg.get_mut(j).ok_or_else(|| err(&"a plastic synapse onto a neuron outside the core"))? += 1;
                }
            }
        }
        m.matrix_section_bytes += sec.len() as u64 * 4;
        m.index_bytes += (sec.len() as u64 - row_words) * 4;
        m.post_history_bytes += img.section(SectionKind::SpinnakerPostHistories).map_or(0, |(h, _)| h.len() as u64 * 4);
        m.rule_bytes += rsec.len() as u64 * 4 + img.section(SectionKind::SpinnakerStdpLuts).map_or(0, |(l, _)| l.len() as u64 * 4);
    }
    let parts = m.index_bytes + m.row_count_bytes + m.pre_history_bytes + m.weight_bytes + m.control_bytes + m.fixed_bytes;
    if parts != m.matrix_section_bytes {
        return Err(format!("plastic matrix bytes do not add up: {parts} != {}", m.matrix_section_bytes));
    }
    Ok(m)
}

/// Post spikes of the populations with plastic inputs and the updates they
/// cause (spikes × plastic in-degree), from the run's spike recordings;
/// `None` when a population with plastic inputs is not recorded whole.
fn post_updates(result: &RunResult, mem: &PlasticMemory) -> Option<(u64, u64)> {
    let mut spikes = 0u64;
    let mut updates = 0u64;
    for (pop, deg) in &mem.in_degree {
        let rec = result.spikes.iter().find(|r| &r.population == pop && r.neurons.len() >= deg.len())?;
        for &(_, j) in &rec.events {
            spikes += 1;
            updates += deg.get(j as usize).copied().unwrap_or(0);
        }
    }
    Some((spikes, updates))
}

/// `(w_min, w_max)` of the STDP rule of projection `proj`, if it has one.
fn stdp_bounds(net: &ir::Network, proj: &str) -> Option<(f64, f64)> {
    use ir::plasticity_rule::Rule;
    let p = net.projections.iter().find(|p| p.name == proj)?;
    match &net.plasticity_rules.iter().find(|r| r.name == p.plasticity)?.rule {
        Some(Rule::PairStdp(r)) => Some((r.w_min, r.w_max)),
        Some(Rule::TripletStdp(r)) => Some((r.w_min, r.w_max)),
        _ => None,
    }
}

/// Mean, spread and the fractions near the bounds of one weight sample.
fn weight_stats(w: &[f64], bounds: Option<(f64, f64)>) -> Value {
    let n = w.len().max(1) as f64;
    let mean = w.iter().sum::<f64>() / n;
    let sd = (w.iter().map(|x| (x - mean) * (x - mean)).sum::<f64>() / n).sqrt();
    let mut v = json!({
        "n": w.len(),
        "mean": mean,
        "sd": sd,
        "min": w.iter().cloned().fold(f64::INFINITY, f64::min),
        "max": w.iter().cloned().fold(f64::NEG_INFINITY, f64::max),
    });
    if let Some((lo, hi)) = bounds {
        let band = 0.1 * (hi - lo);
        v["w_min"] = json!(lo);
        v["w_max"] = json!(hi);
        v["frac_within_10pct_of_w_min"] = json!(w.iter().filter(|&&x| x <= lo + band).count() as f64 / n);
        v["frac_within_10pct_of_w_max"] = json!(w.iter().filter(|&&x| x >= hi - band).count() as f64 / n);
    }
    v
}

/// The last weight sample of every plastic projection, and the mean of every sample.
fn plastic_weights(result: &RunResult, net: &ir::Network) -> Value {
    let mut out = serde_json::Map::new();
    for r in &result.weights {
        let plastic = net.projections.iter().any(|p| p.name == r.projection && !p.plasticity.is_empty());
        let n = r.synapses.len();
        if !plastic || n == 0 || r.values.len() < n {
            continue;
        }
        let samples = r.values.len() / n;
        let last = &r.values[(samples - 1) * n..samples * n];
        let mut v = weight_stats(last, stdp_bounds(net, &r.projection));
        v["step"] = json!(r.steps.last());
        v["mean_by_sample"] = r.values.chunks(n).zip(&r.steps).map(|(w, s)| json!([s, w.iter().sum::<f64>() / n as f64])).collect();
        out.insert(r.projection.clone(), v);
    }
    Value::Object(out)
}

/// Runs one case in this process and returns its JSON record.
fn run_case(c: &Case, reps: usize, start_at: Option<std::time::SystemTime>) -> Result<Value, String> {
    let (net, net_hash) = network_ir(c)?;
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
    let mem = plastic_memory(&program)?;
    if mem.synapses != n_plastic {
        return Err(format!("the plastic rows hold {} synapses, the manifest {n_plastic}", mem.synapses));
    }
    let rss_after_compile = proc_status_kb("VmRSS:");
    // Several children given one start time (`--start-at-ms`) run their
    // repetitions at the same time; `start_late_s` says by how much this one
    // missed it (compiling took longer).
    let start_late_s = start_at.map(|at| match at.duration_since(std::time::SystemTime::now()) {
        Ok(wait) => {
            std::thread::sleep(wait);
            0.0
        }
        Err(late) => late.duration().as_secs_f64(),
    });
    let mut wall = Vec::new();
    let mut cpu = Vec::new();
    let mut counters: Option<spikeforge_emu::Counters> = None;
    // From the first repetition (all repetitions give the same counters, spikes and weights).
    let mut post: Option<(u64, u64)> = None;
    let mut weights_final = Value::Null;
    // As `spikeforge run --threads` does: at most `c.threads` workers, fewer
    // for a network too small to split (Song: one neuron core).
    let mut workers = 0;
    let mut window = 1;
    for _ in 0..reps {
        let mut emu = Emulator::with_max_threads(program.clone(), c.threads).map_err(|e| e.to_string())?;
        workers = emu.workers();
        window = emu.exchange_window();
        let c0 = process_cpu_s();
        let t0 = Instant::now();
        let (result, k) = emu.run(steps, |_| {}).map_err(|e| e.to_string())?;
        let w = t0.elapsed().as_secs_f64();
        let cp = process_cpu_s() - c0;
        if counters.is_none() && n_plastic > 0 {
            post = post_updates(&result, &mem);
            weights_final = plastic_weights(&result, &net);
        }
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
    let pre_post = post.map(|(_, u)| k.synaptic_events + u);
    Ok(json!({
        "name": c.name,
        "network": c.network.key,
        "network_file": c.network.file,
        "network_fnv1a64": net_hash,
        "dt_ms": c.dt_ms,
        "duration_s": c.duration_s,
        "steps": steps,
        "threads": c.threads,
        "workers": workers,
        "exchange_window": window,
        "reps": reps,
        "n_neurons": n_neurons,
        "n_synapses": n_synapses,
        "n_cores": n_cores,
        "compile_s": compile_s,
        "start_late_s": start_late_s,
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
        // Plastic cases: pre events (the counter) and pre + post updates
        // (pre events + post spikes × plastic in-degree), see the module docs.
        "pre_events": k.synaptic_events,
        "post_spikes": post.map(|p| p.0),
        "post_updates": post.map(|p| p.1),
        "pre_post_updates": pre_post,
        "pre_post_updates_per_s": pre_post.map(|u| u as f64 / loop_s),
        "bytes_per_plastic_synapse": mem.bytes_per_synapse(),
        "plastic_memory": if n_plastic > 0 { mem.to_json() } else { Value::Null },
        "weights_final": weights_final,
        // RSS growth from the end of compilation to the peak, per synapse: an
        // upper bound on the emulator's bytes per synapse (it includes the
        // copy of the program each repetition loads and the run's recordings).
        "peak_growth_bytes_per_synapse": proc_status_kb("VmHWM:").zip(rss_after_compile).map(|(p, r)| (p.saturating_sub(r) * 1024) as f64 / n_synapses.max(1) as f64),
        "peak_rss_kb": proc_status_kb("VmHWM:"),
    }))
}

/// The parameters of a plasticity rule for a peer simulator.
fn rule_json(rule: &ir::PlasticityRule) -> Value {
    use ir::plasticity_rule::Rule;
    match &rule.rule {
        Some(Rule::PairStdp(p)) => json!({
            "name": rule.name,
            "kind": "pair_stdp",
            "pairing": match ir::Pairing::try_from(p.pairing) {
                Ok(ir::Pairing::AllToAll) => "all_to_all",
                Ok(ir::Pairing::Nearest) => "nearest",
                _ => "unspecified",
            },
            "weight_dependence": match ir::WeightDependence::try_from(p.weight_dependence) {
                Ok(ir::WeightDependence::Additive) => "additive",
                Ok(ir::WeightDependence::Multiplicative) => "multiplicative",
                _ => "unspecified",
            },
            "tau_plus_ms": p.tau_plus_ms,
            "tau_minus_ms": p.tau_minus_ms,
            // additive: weight units (nA) per unit trace; multiplicative: dimensionless
            "a_plus": p.a_plus,
            "a_minus": p.a_minus,
            "w_min": p.w_min,
            "w_max": p.w_max,
            "units": "ms; weights and additive amplitudes in the projection's weight unit (nA)",
            "timing": "traces jump by 1 and decay exactly; a pre spike emitted in step s is a pre event at step s (depression against the post trace, then the trace jump; the weight delivered at s + delay is the updated one); a post spike of step s reaches the synapse at step s + delay (the synapse's delay is dendritic, sPyNNaker's backprop_delay) as a post event (potentiation against the pre trace); when a post and a pre event fall on the same step the post event comes first",
        }),
        other => json!({"name": rule.name, "kind": "other", "ir": format!("{other:?}")}),
    }
}

/// One recording of the network for a peer simulator.
fn recording_json(r: &ir::Recording) -> Value {
    use ir::recording::What;
    match &r.what {
        Some(What::Spikes(s)) => json!({"kind": "spikes", "population": s.population, "neurons": s.neurons}),
        Some(What::State(s)) => json!({"kind": "state", "population": s.population, "variable": s.variable, "neurons": s.neurons, "every_n_steps": s.every_n_steps}),
        Some(What::Weights(w)) => json!({"kind": "weights", "projection": w.projection, "every_n_steps": w.every_n_steps}),
        None => Value::Null,
    }
}

/// Writes the expanded float network of a case for a peer simulator.
fn export(c: &Case, dir: &Path) -> Result<(), String> {
    let (net, net_hash) = network_ir(c)?;
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
        let rule = p.plasticity.map(|k| rule_json(&net.plasticity_rules[k]));
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
        "network_file": c.network.file,
        "network_fnv1a64": net_hash,
        "dt_ms": c.dt_ms,
        "duration_s": c.duration_s,
        "steps": steps,
        "populations": pops,
        "projections": projs,
        "recordings": net.recordings.iter().map(recording_json).collect::<Vec<_>>(),
        "plastic_weight_bits": if c.network.plastic_weight_bits_32 { 32 } else { 16 },
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
    start_at: Option<std::time::SystemTime>,
    export: Option<PathBuf>,
    case: Option<String>,
    list: bool,
}

fn parse_args() -> Result<Args, String> {
    let mut a = Args { quick: false, out: None, only: Vec::new(), reps: None, child: None, start_at: None, export: None, case: None, list: false };
    let mut it = std::env::args().skip(1);
    while let Some(x) = it.next() {
        let mut val = |name: &str| it.next().ok_or_else(|| format!("{name} needs a value"));
        match x.as_str() {
            "--quick" => a.quick = true,
            "--out" => a.out = Some(PathBuf::from(val("--out")?)),
            "--only" => a.only.push(val("--only")?),
            "--reps" => a.reps = Some(val("--reps")?.parse().map_err(|e| format!("--reps: {e}"))?),
            "--child" => a.child = Some(val("--child")?),
            "--start-at-ms" => {
                let ms: u64 = val("--start-at-ms")?.parse().map_err(|e| format!("--start-at-ms: {e}"))?;
                a.start_at = Some(std::time::UNIX_EPOCH + std::time::Duration::from_millis(ms));
            }
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
        let rec = run_case(&c, a.reps.unwrap_or(c.reps), a.start_at)?;
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
        let plastic = match (rec["pre_post_updates_per_s"].as_f64(), rec["bytes_per_plastic_synapse"].as_f64()) {
            (Some(u), Some(b)) => format!("  {:.1} M pre+post updates/s  {b:.2} B/plastic synapse", u / 1e6),
            (None, Some(b)) => format!("  {b:.2} B/plastic synapse"),
            _ => String::new(),
        };
        eprintln!(
            "{:<24} {} worker(s)  loop {:>9.4} s (min {:.4}, cpu {:.4})  {:>7.1} M events/s  {:>9} events  {:>7} spikes  peak {} kB{plastic}",
            c.name,
            rec["workers"],
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
                if s["network_fnv1a64"] != r["network_fnv1a64"] {
                    return Err(format!("{} changed while {} and {} ran; run the benchmark again", r["network_file"].as_str().unwrap_or("?"), r["name"], s["name"]));
                }
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
