//! The `spinnaker` kernel's integer free-energy rule
//! (`spikeforge_kernel::spinnaker::fep`, LUT design C) as a [`FepFixed`],
//! plus its own weight dynamics (the kernel's [`FepSynapse`] with the 32-bit
//! weight accumulator and the folded pending state).

use crate::fep::FepFixed;
use spikeforge_kernel::spinnaker::fep::{self as kf, FepSynapse, Uq8p24};
use spikeforge_kernel::spinnaker::fep_host::{self, FepBuild, FepHostParams};
use spikeforge_reference::fep::{FepParams, VarianceForm};

/// The kernel evaluation with its host-built tables.
#[derive(Debug, Clone)]
pub struct SpinnakerFep {
    pub build: FepBuild,
}

/// `w` (units of w) to [`Uq8p24`], rounded, saturated to the format.
pub fn to_uq8p24(w: f64) -> Uq8p24 {
    Uq8p24((w * 16_777_216.0).round().clamp(0.0, u32::MAX as f64) as u32)
}

impl SpinnakerFep {
    /// Tables for `p` with the upper weight clamp `w_max`. Only the Eq. 14
    /// variance form has an integer realisation.
    pub fn new(p: &FepParams, w_max: f64) -> Result<SpinnakerFep, String> {
        if p.variance_form != VarianceForm::Eq14 {
            return Err(format!("the spinnaker free-energy kernel implements the Eq. 14 variance only, not '{}'", p.variance_form.reference_name()));
        }
        let hp = FepHostParams { tau_m: p.tau_m, u0: p.u0, theta: p.theta, u_reset: p.u_reset, gamma: p.gamma, sigma0: p.sigma0, r0: p.r0, eta: p.eta, kappa: p.kappa, w_min: p.w_min, w_max };
        fep_host::build(&hp).map(|build| SpinnakerFep { build }).map_err(|e| format!("free-energy tables: {e:?}"))
    }

    /// Weight trajectory with the kernel's synapse state machine: `(post step, w after)`
    /// at every post spike (the first post spike only starts the ISI).
    pub fn weight_trajectory(&self, w0: f64, pre: &[u32], post: &[u32]) -> Vec<(u32, f64)> {
        let t = &self.build.tables;
        let mut syn = FepSynapse::new(t, to_uq8p24(w0));
        let mut out = Vec::with_capacity(post.len());
        let mut k = 0;
        for &t2 in post {
            while k < pre.len() && pre[k] < t2 {
                syn.on_pre(t, pre[k]);
                k += 1;
            }
            out.push((t2, syn.on_post(t, t2).w_after.to_f64()));
        }
        out
    }
}

impl FepFixed for SpinnakerFep {
    fn name(&self) -> String {
        format!("spinnaker kernel, LUT design C, N = {}, 32-bit tables", kf::FEP_N)
    }
    fn dw(&self, dt1: u32, dt2: u32, w: f64) -> f64 {
        kf::dw(&self.build.tables, dt1, dt2, to_uq8p24(w)).to_f64()
    }
    fn memory_bytes(&self) -> usize {
        self.build.memory.tables_total
    }
}
