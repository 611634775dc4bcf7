//! The free-energy rule: a pluggable fixed-point side and its comparison
//! with the float64 reference (`spikeforge_reference::fep`).
//!
//! The protocols take any [`FepFixed`]. `spikeforge verify` uses the
//! spinnaker kernel's integer rule (`crate::fep_kernel::SpinnakerFep`, LUT
//! design C); [`TableA16`] models LUT design A of `fep-synapse-rule.md`
//! §4.2 — two 2-D tables `W_LTP[i][j]`, `W_LTD[i][j]` (N × N, unsigned
//! 16-bit, one scale per table), indexed by `i = min(dt1, N−1)`,
//! `j = min(dt2 − dt1, N−1)` in steps, with
//! `dw = W_LTP − ((1 − r0)/(2 r0) + w)·W_LTD + 1/(2w)` evaluated in f64 — and
//! is kept to compare designs (table quantization and depth only).

use spikeforge_reference::fep::{self, FepParams};

/// A fixed-point realisation of the rule's kernel.
pub trait FepFixed {
    /// Name for the report.
    fn name(&self) -> String;
    /// `dw` of a triplet with `dt1`, `dt2` in steps (`1 <= dt1 < dt2`) at weight `w`.
    fn dw(&self, dt1: u32, dt2: u32, w: f64) -> f64;
    /// Bytes of tables it needs.
    fn memory_bytes(&self) -> usize;
}

/// LUT design A, 16-bit (see the module docs).
#[derive(Debug, Clone)]
pub struct TableA16 {
    p: FepParams,
    n: usize,
    ltp: Vec<u16>,
    ltd: Vec<u16>,
    s_ltp: f64,
    s_ltd: f64,
}

impl TableA16 {
    /// Tables of depth `n` steps on the grid `dt_ms`.
    pub fn new(p: &FepParams, n: usize, dt_ms: f64) -> TableA16 {
        let mut ltp = vec![0.0f64; n * n];
        let mut ltd = vec![0.0f64; n * n];
        for i in 1..n {
            for j in 1..n {
                let (dt1, dt2) = (i as f64 * dt_ms, (i + j) as f64 * dt_ms);
                ltp[i * n + j] = fep::w_ltp(p, dt1, dt2).max(0.0);
                ltd[i * n + j] = fep::w_ltd(p, dt1, dt2).max(0.0);
            }
        }
        let q = |v: &[f64]| -> (Vec<u16>, f64) {
            let m = v.iter().fold(0.0f64, |a, &b| a.max(b));
            let s = if m > 0.0 { m / 65535.0 } else { 1.0 };
            (v.iter().map(|&x| (x / s).round() as u16).collect(), s)
        };
        let (ltp, s_ltp) = q(&ltp);
        let (ltd, s_ltd) = q(&ltd);
        TableA16 { p: *p, n, ltp, ltd, s_ltp, s_ltd }
    }
}

impl FepFixed for TableA16 {
    fn name(&self) -> String {
        format!("LUT design A, 16-bit, N = {}", self.n)
    }
    fn dw(&self, dt1: u32, dt2: u32, w: f64) -> f64 {
        let n = self.n as u32;
        let i = dt1.min(n - 1) as usize;
        let j = (dt2 - dt1).min(n - 1) as usize;
        let w = w.max(self.p.w_min);
        let ltp = self.ltp[i * self.n + j] as f64 * self.s_ltp;
        let ltd = self.ltd[i * self.n + j] as f64 * self.s_ltd;
        ltp - (self.p.ltd_offset() + w) * ltd + 1.0 / (2.0 * w)
    }
    fn memory_bytes(&self) -> usize {
        4 * self.n * self.n
    }
}

/// Sum of the fixed `dw` over the triplets of step trains.
pub fn total_dw_fixed(f: &dyn FepFixed, pre: &[u32], post: &[u32], w: f64) -> (f64, usize) {
    let mut sum = 0.0;
    let mut n = 0;
    let mut k = 0;
    for pair in post.windows(2) {
        let (t1, t2) = (pair[0], pair[1]);
        while k < pre.len() && pre[k] <= t1 {
            k += 1;
        }
        let mut m = k;
        while m < pre.len() && pre[m] < t2 {
            sum += f.dw(t2 - pre[m], t2 - t1, w);
            n += 1;
            m += 1;
        }
    }
    (sum, n)
}

/// Sum of the float `dw` over the triplets of step trains (times `step·dt`).
pub fn total_dw_float(p: &FepParams, pre: &[u32], post: &[u32], w: f64, dt_ms: f64) -> (f64, usize) {
    let f: Vec<f64> = pre.iter().map(|&t| t as f64 * dt_ms).collect();
    let g: Vec<f64> = post.iter().map(|&t| t as f64 * dt_ms).collect();
    let tr = fep::triplets(&f, &g);
    (tr.iter().map(|&(x, t)| fep::dw(p, x, t, w)).sum(), tr.len())
}

/// Weight trajectory of the fixed side: `w ← clamp(w + eta·Σdw, w_min, w_max)`
/// at every post spike, Σ over the pre spikes since the previous post spike.
/// Returns `(post step, w after)`.
pub fn weight_fixed(f: &dyn FepFixed, p: &FepParams, w_max: f64, w0: f64, pre: &[u32], post: &[u32]) -> Vec<(u32, f64)> {
    let mut w = w0;
    let mut out = Vec::with_capacity(post.len());
    let mut k = 0;
    for (n, &t2) in post.iter().enumerate() {
        if n == 0 {
            while k < pre.len() && pre[k] <= t2 {
                k += 1;
            }
            out.push((t2, w));
            continue;
        }
        let t1 = post[n - 1];
        let mut sum = 0.0;
        while k < pre.len() && pre[k] < t2 {
            if pre[k] > t1 {
                sum += f.dw(t2 - pre[k], t2 - t1, w);
            }
            k += 1;
        }
        while k < pre.len() && pre[k] == t2 {
            k += 1;
        }
        w = (w + p.eta * sum).min(w_max).max(p.w_min);
        out.push((t2, w));
    }
    out
}

/// The float trajectory with the same convention (exact kernel, no depth limit).
pub fn weight_float(p: &FepParams, w_max: f64, w0: f64, pre: &[u32], post: &[u32], dt_ms: f64) -> Vec<(u32, f64)> {
    let mut syn = match fep::FepSynapse::unbounded(*p, w0.max(p.w_min)) {
        Ok(s) => s.with_w_max(w_max),
        Err(_) => return Vec::new(),
    };
    let pre_ms: Vec<f64> = pre.iter().map(|&t| t as f64 * dt_ms).collect();
    let post_ms: Vec<f64> = post.iter().map(|&t| t as f64 * dt_ms).collect();
    let mut out = Vec::with_capacity(post.len());
    for ev in fep::merge_events(&pre_ms, &post_ms) {
        if let Ok(Some(u)) = syn.on_event(ev) {
            out.push(((u.t_post / dt_ms).round() as u32, u.w_after));
        }
    }
    out
}
