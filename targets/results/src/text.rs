//! `RunResult::summary_text`: a one-screen plain-text summary.

use std::fmt::Write;

use crate::RunResult;

/// Rows shown per section; the rest is summarised as "... N more".
const MAX_ROWS: usize = 8;
/// Widest name column.
const MAX_NAME: usize = 28;

/// Six significant digits, `%g`-like: `0.512`, `-65`, `1.5e-07`, `nan`.
pub(crate) fn num(x: f64) -> String {
    if x.is_nan() {
        return "nan".to_string();
    }
    if x.is_infinite() {
        return if x > 0.0 { "inf" } else { "-inf" }.to_string();
    }
    if x == 0.0 {
        return "0".to_string();
    }
    let e = x.abs().log10().floor() as i32;
    if !(-4..6).contains(&e) {
        let s = format!("{x:.5e}");
        // Trim trailing zeros of the mantissa: 1.50000e-7 -> 1.5e-7.
        match s.split_once('e') {
            Some((m, exp)) => {
                let m = if m.contains('.') {
                    m.trim_end_matches('0').trim_end_matches('.')
                } else {
                    m
                };
                format!("{m}e{exp}")
            }
            None => s,
        }
    } else {
        let decimals = (5 - e).max(0) as usize;
        let s = format!("{x:.decimals$}");
        if s.contains('.') {
            s.trim_end_matches('0').trim_end_matches('.').to_string()
        } else {
            s
        }
    }
}

fn name(s: &str) -> String {
    let chars: Vec<char> = s.chars().collect();
    if chars.len() <= MAX_NAME {
        s.to_string()
    } else {
        let mut out: String = chars[..MAX_NAME - 3].iter().collect();
        out.push_str("...");
        out
    }
}

fn more(out: &mut String, total: usize) {
    if total > MAX_ROWS {
        let _ = writeln!(out, "  ... {} more", total - MAX_ROWS);
    }
}

pub(crate) fn summary_text(r: &RunResult) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{} on {}: {} steps of {} ms ({} ms)",
        if r.network.is_empty() {
            "(unnamed network)"
        } else {
            &r.network
        },
        if r.backend.is_empty() {
            "(unknown backend)"
        } else {
            &r.backend
        },
        r.n_steps,
        num(r.dt_ms),
        num(r.duration_ms())
    );

    if r.spikes.is_empty() {
        let _ = writeln!(out, "spikes: none recorded");
    } else {
        let total: usize = r.spikes.iter().map(|s| s.events.len()).sum();
        let _ = writeln!(
            out,
            "spikes: {total} in {} population(s)\n  {:<w$} {:>9} {:>10} {:>12}",
            r.spikes.len(),
            "population",
            "neurons",
            "spikes",
            "rate (Hz)",
            w = MAX_NAME
        );
        for s in r.spikes.iter().take(MAX_ROWS) {
            let rate = s
                .mean_rate_hz(r.dt_ms, r.n_steps)
                .map(num)
                .unwrap_or_else(|| "-".to_string());
            let _ = writeln!(
                out,
                "  {:<w$} {:>9} {:>10} {:>12}",
                name(&s.population),
                s.neurons.len(),
                s.events.len(),
                rate,
                w = MAX_NAME
            );
        }
        more(&mut out, r.spikes.len());
    }

    if !r.states.is_empty() {
        let _ = writeln!(out, "states: {} record(s)", r.states.len());
        for s in r.states.iter().take(MAX_ROWS) {
            let label = format!("{}.{} [{}]", s.population, s.variable, s.unit);
            let raw = match (&s.raw, &s.raw_format) {
                (Some(_), Some(f)) => format!(", raw {f}"),
                (Some(_), None) => ", raw".to_string(),
                _ => String::new(),
            };
            let _ = writeln!(
                out,
                "  {:<w$} {} neurons x {} samples{raw}",
                name(&label),
                s.neurons.len(),
                s.steps.len(),
                w = MAX_NAME
            );
        }
        more(&mut out, r.states.len());
    }

    if !r.weights.is_empty() {
        let _ = writeln!(
            out,
            "weights: {} projection(s), last sample\n  {:<w$} {:>9} {:>8} {:>10} {:>10} {:>10}",
            r.weights.len(),
            "projection",
            "synapses",
            "samples",
            "min",
            "mean",
            "max",
            w = MAX_NAME
        );
        for w in r.weights.iter().take(MAX_ROWS) {
            let (min, mean, max) = match w.final_stats() {
                Some(st) => (num(st.min), num(st.mean), num(st.max)),
                None => ("-".to_string(), "-".to_string(), "-".to_string()),
            };
            let _ = writeln!(
                out,
                "  {:<wd$} {:>9} {:>8} {:>10} {:>10} {:>10}",
                name(&w.projection),
                w.synapses.len(),
                w.steps.len(),
                min,
                mean,
                max,
                wd = MAX_NAME
            );
        }
        more(&mut out, r.weights.len());
    }

    if !r.counters.is_empty() {
        let _ = writeln!(out, "counters:");
        for (k, v) in r.counters.iter().take(MAX_ROWS) {
            let _ = writeln!(out, "  {:<w$} {v}", name(k), w = MAX_NAME);
        }
        more(&mut out, r.counters.len());
    }
    out
}
