//! Comparing two results: bit-exact ([`compare_exact`]) and spike-train
//! agreement ([`spike_agreement`]).

use std::collections::BTreeMap;
use std::fmt;

use crate::{RunResult, SpikeRecord};

/// The first difference [`compare_exact`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mismatch {
    /// `run`, `spikes[exc]`, `states[exc.v]` or `weights[ee]`.
    pub record: String,
    /// What differs: `dt_ms`, `n_steps`, `record` (present in one result
    /// only), `events`, `neurons`, `unit`, `raw_format`, `steps`,
    /// `synapses`, `raw` (words, or present in one only), `values`.
    pub field: String,
    /// The step of the differing spike or sample, when there is one.
    pub step: Option<u32>,
    /// The neuron of the differing spike or state value.
    pub neuron: Option<u32>,
    /// The `(pre, post)` of the differing weight.
    pub synapse: Option<(u32, u32)>,
    /// What A has there.
    pub a: String,
    /// What B has there.
    pub b: String,
}

impl fmt::Display for Mismatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {} differ", self.record, self.field)?;
        let mut at = Vec::new();
        if let Some(s) = self.step {
            at.push(format!("step {s}"));
        }
        if let Some(n) = self.neuron {
            at.push(format!("neuron {n}"));
        }
        if let Some((pre, post)) = self.synapse {
            at.push(format!("synapse {pre}->{post}"));
        }
        if !at.is_empty() {
            write!(f, " at {}", at.join(", "))?;
        }
        write!(f, ": A has {}, B has {}", self.a, self.b)
    }
}

impl std::error::Error for Mismatch {}

fn mm(record: &str, field: &str, a: impl Into<String>, b: impl Into<String>) -> Mismatch {
    Mismatch {
        record: record.to_string(),
        field: field.to_string(),
        step: None,
        neuron: None,
        synapse: None,
        a: a.into(),
        b: b.into(),
    }
}

fn show_f64(x: f64) -> String {
    format!("{x:?} (0x{:016x})", x.to_bits())
}

/// The first index where two lists differ, described.
fn list_diff<T: PartialEq + fmt::Debug>(a: &[T], b: &[T]) -> Option<(String, String)> {
    for (i, (x, y)) in a.iter().zip(b).enumerate() {
        if x != y {
            return Some((format!("{x:?} at index {i}"), format!("{y:?} at index {i}")));
        }
    }
    if a.len() != b.len() {
        return Some((
            format!("{} entries", a.len()),
            format!("{} entries", b.len()),
        ));
    }
    None
}

/// Pairs records of A and B by key: the k-th record of a key in A with the
/// k-th of the same key in B. Returns (A's index, B's index) in A's order,
/// then B's unpaired indices.
fn pair_by_key<K: Ord + Clone>(a: &[K], b: &[K]) -> (Vec<(usize, Option<usize>)>, Vec<usize>) {
    let mut pool: BTreeMap<K, std::collections::VecDeque<usize>> = BTreeMap::new();
    for (j, k) in b.iter().enumerate() {
        pool.entry(k.clone()).or_default().push_back(j);
    }
    let pairs: Vec<(usize, Option<usize>)> = a
        .iter()
        .enumerate()
        .map(|(i, k)| (i, pool.get_mut(k).and_then(|q| q.pop_front())))
        .collect();
    let mut rest: Vec<usize> = pool.into_values().flatten().collect();
    rest.sort_unstable();
    (pairs, rest)
}

fn sorted_events(s: &SpikeRecord) -> Vec<(u32, u32)> {
    let mut v = s.events.clone();
    v.sort_unstable();
    v
}

/// Compares two results bit for bit and returns the first difference.
///
/// Compared, in this order: `dt_ms` (bits) and `n_steps`; then each spike
/// record (paired by population), each state record (paired by population
/// and variable) and each weight record (paired by projection), the k-th
/// record of a name in A with the k-th of that name in B, a record present
/// in only one result being a difference. Within a spike record: the
/// neuron list, then the events in (step, neuron) order — the first event
/// present in one result and not the other is reported. Within a state or
/// weight record: unit / raw_format, the neuron or synapse list, the sample
/// steps, whether raw words are present, then sample by sample (in time
/// order) and column by column, the raw word and then the `f64` value
/// (compared as bits: `-0.0 != 0.0`, a NaN equals the same NaN).
///
/// Not compared: `network`, `backend` and `counters` (they say who ran,
/// not what the network did), and the order of records.
#[allow(clippy::result_large_err)] // the signature other crates code against
pub fn compare_exact(a: &RunResult, b: &RunResult) -> Result<(), Mismatch> {
    if a.dt_ms.to_bits() != b.dt_ms.to_bits() {
        return Err(mm("run", "dt_ms", show_f64(a.dt_ms), show_f64(b.dt_ms)));
    }
    if a.n_steps != b.n_steps {
        return Err(mm(
            "run",
            "n_steps",
            a.n_steps.to_string(),
            b.n_steps.to_string(),
        ));
    }

    // Spikes.
    let ka: Vec<&str> = a.spikes.iter().map(|s| s.population.as_str()).collect();
    let kb: Vec<&str> = b.spikes.iter().map(|s| s.population.as_str()).collect();
    let (pairs, rest) = pair_by_key(&ka, &kb);
    for (i, j) in pairs {
        let sa = &a.spikes[i];
        let rec = format!("spikes[{}]", sa.population);
        let Some(j) = j else {
            return Err(mm(&rec, "record", "it", "none"));
        };
        let sb = &b.spikes[j];
        if let Some((x, y)) = list_diff(&sa.neurons, &sb.neurons) {
            return Err(mm(&rec, "neurons", x, y));
        }
        let (ea, eb) = (sorted_events(sa), sorted_events(sb));
        let (mut p, mut q) = (0, 0);
        loop {
            let (x, y) = (ea.get(p), eb.get(q));
            let (event, in_a) = match (x, y) {
                (None, None) => break,
                (Some(x), Some(y)) if x == y => {
                    p += 1;
                    q += 1;
                    continue;
                }
                (Some(x), Some(y)) => {
                    if x < y {
                        (*x, true)
                    } else {
                        (*y, false)
                    }
                }
                (Some(x), None) => (*x, true),
                (None, Some(y)) => (*y, false),
            };
            let (sp, no) = ("a spike".to_string(), "no spike".to_string());
            let mut m = if in_a {
                mm(&rec, "events", sp, no)
            } else {
                mm(&rec, "events", no, sp)
            };
            m.step = Some(event.0);
            m.neuron = Some(event.1);
            return Err(m);
        }
    }
    if let Some(&j) = rest.first() {
        let rec = format!("spikes[{}]", b.spikes[j].population);
        return Err(mm(&rec, "record", "none", "it"));
    }

    // States.
    let ka: Vec<(&str, &str)> = a
        .states
        .iter()
        .map(|s| (s.population.as_str(), s.variable.as_str()))
        .collect();
    let kb: Vec<(&str, &str)> = b
        .states
        .iter()
        .map(|s| (s.population.as_str(), s.variable.as_str()))
        .collect();
    let (pairs, rest) = pair_by_key(&ka, &kb);
    for (i, j) in pairs {
        let sa = &a.states[i];
        let rec = format!("states[{}.{}]", sa.population, sa.variable);
        let Some(j) = j else {
            return Err(mm(&rec, "record", "it", "none"));
        };
        let sb = &b.states[j];
        if sa.unit != sb.unit {
            return Err(mm(
                &rec,
                "unit",
                format!("{:?}", sa.unit),
                format!("{:?}", sb.unit),
            ));
        }
        if sa.raw_format != sb.raw_format {
            return Err(mm(
                &rec,
                "raw_format",
                format!("{:?}", sa.raw_format),
                format!("{:?}", sb.raw_format),
            ));
        }
        if let Some((x, y)) = list_diff(&sa.neurons, &sb.neurons) {
            return Err(mm(&rec, "neurons", x, y));
        }
        if let Some((x, y)) = list_diff(&sa.steps, &sb.steps) {
            return Err(mm(&rec, "steps", x, y));
        }
        grid(
            &rec,
            &sa.steps,
            sa.neurons.len(),
            (&sa.values, &sb.values),
            (sa.raw.as_deref(), sb.raw.as_deref()),
            |m, col| m.neuron = Some(sa.neurons[col]),
        )?;
    }
    if let Some(&j) = rest.first() {
        let s = &b.states[j];
        let rec = format!("states[{}.{}]", s.population, s.variable);
        return Err(mm(&rec, "record", "none", "it"));
    }

    // Weights.
    let ka: Vec<&str> = a.weights.iter().map(|w| w.projection.as_str()).collect();
    let kb: Vec<&str> = b.weights.iter().map(|w| w.projection.as_str()).collect();
    let (pairs, rest) = pair_by_key(&ka, &kb);
    for (i, j) in pairs {
        let wa = &a.weights[i];
        let rec = format!("weights[{}]", wa.projection);
        let Some(j) = j else {
            return Err(mm(&rec, "record", "it", "none"));
        };
        let wb = &b.weights[j];
        if wa.raw_format != wb.raw_format {
            return Err(mm(
                &rec,
                "raw_format",
                format!("{:?}", wa.raw_format),
                format!("{:?}", wb.raw_format),
            ));
        }
        if let Some((x, y)) = list_diff(&wa.synapses, &wb.synapses) {
            return Err(mm(&rec, "synapses", x, y));
        }
        if let Some((x, y)) = list_diff(&wa.steps, &wb.steps) {
            return Err(mm(&rec, "steps", x, y));
        }
        grid(
            &rec,
            &wa.steps,
            wa.synapses.len(),
            (&wa.values, &wb.values),
            (wa.raw.as_deref(), wb.raw.as_deref()),
            |m, col| m.synapse = Some(wa.synapses[col]),
        )?;
    }
    if let Some(&j) = rest.first() {
        let rec = format!("weights[{}]", b.weights[j].projection);
        return Err(mm(&rec, "record", "none", "it"));
    }
    Ok(())
}

/// Compares a `[sample][column]` grid of raw words and values.
#[allow(clippy::result_large_err)]
fn grid(
    rec: &str,
    steps: &[u32],
    cols: usize,
    values: (&[f64], &[f64]),
    raw: (Option<&[i64]>, Option<&[i64]>),
    locate: impl Fn(&mut Mismatch, usize),
) -> Result<(), Mismatch> {
    let present = |r: Option<&[i64]>| {
        if r.is_some() {
            "raw words"
        } else {
            "no raw words"
        }
    };
    if raw.0.is_some() != raw.1.is_some() {
        return Err(mm(rec, "raw", present(raw.0), present(raw.1)));
    }
    let need = steps.len() * cols;
    for (field, la, lb) in [
        ("values", values.0.len(), values.1.len()),
        (
            "raw",
            raw.0.map_or(need, <[i64]>::len),
            raw.1.map_or(need, <[i64]>::len),
        ),
    ] {
        if la != need || lb != need {
            return Err(mm(
                rec,
                field,
                format!("{la} elements (expected {need})"),
                format!("{lb} elements (expected {need})"),
            ));
        }
    }
    for (s, &step) in steps.iter().enumerate() {
        for col in 0..cols {
            let k = s * cols + col;
            let mut m = if let (Some(ra), Some(rb)) = raw {
                if ra[k] != rb[k] {
                    Some(mm(rec, "raw", ra[k].to_string(), rb[k].to_string()))
                } else {
                    None
                }
            } else {
                None
            };
            if m.is_none() && values.0[k].to_bits() != values.1[k].to_bits() {
                m = Some(mm(
                    rec,
                    "values",
                    show_f64(values.0[k]),
                    show_f64(values.1[k]),
                ));
            }
            if let Some(mut m) = m {
                m.step = Some(step);
                locate(&mut m, col);
                return Err(m);
            }
        }
    }
    Ok(())
}

/// How well the spike trains of one population agree between a result A
/// (the reference) and a result B. See [`spike_agreement`].
#[derive(Debug, Clone, PartialEq)]
pub struct SpikeAgreement {
    pub population: String,
    /// `k`: a spike of B at most this many steps before or after a spike of
    /// A on the same neuron can match it.
    pub tolerance_steps: u32,
    /// The recorded neurons, ascending.
    pub neurons: Vec<u32>,
    /// Spikes of each neuron of `neurons` in A.
    pub counts_a: Vec<u64>,
    /// Spikes of each neuron of `neurons` in B.
    pub counts_b: Vec<u64>,
    pub total_a: u64,
    pub total_b: u64,
    /// `|total_b - total_a| / total_a`; 0 when both are 0, infinite when
    /// only `total_a` is 0.
    pub total_rel_diff: f64,
    /// Spikes of A matched one-to-one by a spike of B.
    pub matched: u64,
    /// `matched / total_a`; 1 when `total_a` is 0.
    pub matched_fraction: f64,
}

/// Why two spike trains cannot be compared.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AgreementError {
    /// A result has no spike record of the population.
    #[error("result {which} has no spike record of population '{population}'")]
    MissingPopulation { which: char, population: String },
    /// The two results use different time steps or lengths.
    #[error("the results differ in time base: A has {a}, B has {b}")]
    TimeBase { a: String, b: String },
    /// The two records list different sets of neurons.
    #[error("population '{population}': A records {a} neurons, B records {b}, not the same set")]
    NeuronsDiffer {
        population: String,
        a: usize,
        b: usize,
    },
    /// An event names a neuron that its record does not list.
    #[error("result {which}: spike of population '{population}' at step {step} on neuron {neuron}, which is not recorded")]
    UnlistedNeuron {
        which: char,
        population: String,
        step: u32,
        neuron: u32,
    },
}

/// Spike-train agreement of `population` between A (the reference) and B.
///
/// Both results must have the same `dt_ms` (bits) and `n_steps`, and the
/// first spike record of `population` in each must list the same set of
/// neurons (order aside) and have no event on an unlisted neuron.
///
/// Matching, done per neuron: A's spikes and B's spikes of that neuron are
/// each sorted by step; A's spikes are visited in time order and each takes
/// the earliest not-yet-taken spike of B whose step lies in
/// `[step_a - k, step_a + k]`, if any (B's spikes earlier than
/// `step_a - k` can match no later spike of A and are passed over). Each
/// spike of B matches at most one spike of A. For intervals of equal width
/// this greedy choice yields a maximum one-to-one matching. Two spikes on
/// the same neuron and step count as two spikes.
pub fn spike_agreement(
    a: &RunResult,
    b: &RunResult,
    population: &str,
    tolerance_steps: u32,
) -> Result<SpikeAgreement, AgreementError> {
    if a.dt_ms.to_bits() != b.dt_ms.to_bits() || a.n_steps != b.n_steps {
        return Err(AgreementError::TimeBase {
            a: format!("dt_ms {} x {} steps", a.dt_ms, a.n_steps),
            b: format!("dt_ms {} x {} steps", b.dt_ms, b.n_steps),
        });
    }
    let missing = |which: char| AgreementError::MissingPopulation {
        which,
        population: population.to_string(),
    };
    let sa = a.spike_record(population).ok_or_else(|| missing('A'))?;
    let sb = b.spike_record(population).ok_or_else(|| missing('B'))?;
    let mut neurons = sa.neurons.clone();
    neurons.sort_unstable();
    neurons.dedup();
    let mut nb = sb.neurons.clone();
    nb.sort_unstable();
    nb.dedup();
    if neurons != nb {
        return Err(AgreementError::NeuronsDiffer {
            population: population.to_string(),
            a: neurons.len(),
            b: nb.len(),
        });
    }
    let index: BTreeMap<u32, usize> = neurons.iter().enumerate().map(|(i, &n)| (n, i)).collect();
    let trains = |s: &SpikeRecord, which: char| -> Result<Vec<Vec<u32>>, AgreementError> {
        let mut t = vec![Vec::new(); neurons.len()];
        for &(step, neuron) in &s.events {
            let i = *index
                .get(&neuron)
                .ok_or_else(|| AgreementError::UnlistedNeuron {
                    which,
                    population: population.to_string(),
                    step,
                    neuron,
                })?;
            t[i].push(step);
        }
        for v in &mut t {
            v.sort_unstable();
        }
        Ok(t)
    };
    let (ta, tb) = (trains(sa, 'A')?, trains(sb, 'B')?);
    let k = u64::from(tolerance_steps);
    let mut matched = 0u64;
    for (xa, xb) in ta.iter().zip(&tb) {
        let mut j = 0;
        for &s in xa {
            let s = u64::from(s);
            while j < xb.len() && u64::from(xb[j]) + k < s {
                j += 1;
            }
            if j < xb.len() && u64::from(xb[j]) <= s + k {
                matched += 1;
                j += 1;
            }
        }
    }
    let counts_a: Vec<u64> = ta.iter().map(|v| v.len() as u64).collect();
    let counts_b: Vec<u64> = tb.iter().map(|v| v.len() as u64).collect();
    let total_a: u64 = counts_a.iter().sum();
    let total_b: u64 = counts_b.iter().sum();
    let total_rel_diff = match (total_a, total_b) {
        (0, 0) => 0.0,
        (0, _) => f64::INFINITY,
        _ => total_a.abs_diff(total_b) as f64 / total_a as f64,
    };
    let matched_fraction = if total_a == 0 {
        1.0
    } else {
        matched as f64 / total_a as f64
    };
    Ok(SpikeAgreement {
        population: population.to_string(),
        tolerance_steps,
        neurons,
        counts_a,
        counts_b,
        total_a,
        total_b,
        total_rel_diff,
        matched,
        matched_fraction,
    })
}
