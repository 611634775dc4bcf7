//! Unit tests of `spikeforge_kernel::loihi::learning`: impulse split,
//! stochastic decay, epoch timing, the spike phase's random consumption and
//! the configuration errors. (Bit-exactness of whole runs is checked against
//! Lava in `loihi_fixtures.rs` and `loihi_learning_lava.rs`.)

use spikeforge_kernel::loihi::dense::SignMode;
use spikeforge_kernel::loihi::learning::{
    add_impulse, decay_trace, history_scratch_len, in_epoch_time, is_learning_step, learning_phase,
    spike_phase, LearningError, LearningParams, LearningState, Rules, TraceParams,
};
use spikeforge_kernel::loihi::rule::{ProductSeries, Target};
use spikeforge_kernel::rng::{LearningRandoms, TraceRandom};

const E10: f64 = 0.9048374180359595; // 0x1.cf46d99d52b3ap-1 = np.exp(-1/10)

fn params(t_epoch: u8) -> LearningParams {
    LearningParams {
        x: [
            TraceParams::from_impulse(16.0, E10).unwrap(),
            TraceParams::OFF,
        ],
        y: [
            TraceParams::from_impulse(16.0, E10).unwrap(),
            TraceParams::OFF,
            TraceParams::OFF,
        ],
        rng_seed: 42,
        t_epoch,
        sign_mode: SignMode::Mixed as u8,
        _pad: [0; 6],
    }
}

#[test]
fn decay_factor_constant_is_the_fixture_bits() {
    assert_eq!(E10.to_bits(), 0x3fecf46d99d52b3a);
}

#[test]
fn impulse_split_rounds_half_to_even() {
    let t = |imp: f64| {
        let p = TraceParams::from_impulse(imp, 0.5).unwrap();
        (p.impulse_int, p.impulse_frac)
    };
    assert_eq!(t(16.0), (16, 0));
    assert_eq!(t(16.3), (16, 77)); // 76.8 -> 77
    assert_eq!(t(5.75), (5, 192));
    assert_eq!(t(7.5), (7, 128));
    assert_eq!(t(0.999), (0, 256)); // 255.744 -> 256
    assert_eq!(t(0.5 / 256.0), (0, 0)); // 0.5 -> 0 (even)
    assert_eq!(t(1.5 / 256.0), (0, 2)); // 1.5 -> 2 (even)
    assert_eq!(t(2.5 / 256.0), (0, 2)); // 2.5 -> 2 (even)
    assert_eq!(t(1.0e6), (65535, 0)); // saturated; the trace saturates at 127 anyway
    assert!(TraceParams::from_impulse(-1.0, 0.5).is_none());
    assert!(TraceParams::from_impulse(f64::NAN, 0.5).is_none());
    assert!(TraceParams::from_impulse(1.0, 1.0).is_none());
    assert!(TraceParams::from_impulse(1.0, -0.1).is_none());
    assert_eq!(core::mem::size_of::<TraceParams>(), 16);
    assert_eq!(core::mem::size_of::<LearningParams>(), 96);
}

#[test]
fn impulse_fraction_quirk_and_saturation() {
    let half = TraceParams::from_impulse(3.5, 0.5).unwrap(); // frac 128 > every 7-bit random
    for r in 0..128u8 {
        assert_eq!(add_impulse(10, r, &half), 14);
    }
    let quarter = TraceParams::from_impulse(3.25, 0.5).unwrap(); // frac 64
    assert_eq!(add_impulse(10, 63, &quarter), 14);
    assert_eq!(add_impulse(10, 64, &quarter), 13);
    assert_eq!(add_impulse(120, 0, &half), 124);
    assert_eq!(add_impulse(125, 0, &half), 127);
    let p = TraceParams::from_impulse(16.0, E10).unwrap();
    assert_eq!(add_impulse(127, 0, &p), 127);
}

#[test]
fn stochastic_decay() {
    // 0.9048374180359595 * 34 = 30.76447...
    assert_eq!(decay_trace(34, E10, 0.76), 31);
    assert_eq!(decay_trace(34, E10, 0.77), 30);
    assert_eq!(decay_trace(0, E10, 0.0), 0);
    // tau = 0: E = 0 zeroes the trace whatever the random
    assert_eq!(decay_trace(127, 0.0, 0.0), 0);
    // an exact product never rounds up
    assert_eq!(decay_trace(10, 0.5, 0.0), 5);
    // 127 * E = 114.914...
    assert_eq!(decay_trace(127, E10, 0.9), 115);
    assert_eq!(decay_trace(127, E10, 0.92), 114);
}

#[test]
fn epoch_timing() {
    assert_eq!(in_epoch_time(4, 1), 1);
    assert_eq!(in_epoch_time(4, 4), 4);
    assert_eq!(in_epoch_time(4, 5), 1);
    assert_eq!(in_epoch_time(1, 7), 1);
    let p = params(3);
    assert!(!is_learning_step(&p, 1));
    assert!(is_learning_step(&p, 3));
    assert!(is_learning_step(&p, 6));
    assert_eq!(history_scratch_len(3, 4, 2), 4 * (8 + 6));
}

#[test]
fn spike_phase_consumes_two_draws_and_reports_multi_spikes() {
    let p = params(4);
    let mut rnd = LearningRandoms::new(42);
    let mut y_ref = TraceRandom::new(44, 45);
    let mut x_ref = TraceRandom::new(42, 43);
    let (mut x1, mut x2, mut tx) = (vec![0u8; 2], vec![0u8; 2], vec![0u8; 2]);
    let (mut y1, mut y2, mut y3, mut ty) = (vec![0u8; 1], vec![0u8; 1], vec![0u8; 1], vec![0u8; 1]);
    let mut w = vec![0i16; 2];
    let mut st = LearningState {
        x: [&mut x1, &mut x2],
        tx: &mut tx,
        y: [&mut y1, &mut y2, &mut y3],
        ty: &mut ty,
        w: &mut w,
        d: &mut [],
        t: &mut [],
    };
    // step 1: both spike for the first time: times recorded, no impulse yet
    let r = spike_phase(&p, 1, &[true, false], &[true], &mut st, &mut rnd).unwrap();
    assert_eq!(r.multi_spike_y_impulse, None);
    assert_eq!((st.tx[0], st.tx[1], st.ty[0]), (1, 0, 1));
    assert_eq!((st.x[0][0], st.y[0][0]), (0, 0));
    x_ref.advance();
    y_ref.advance();
    x_ref.advance();
    y_ref.advance();
    assert_eq!((rnd.x, rnd.y), (x_ref, y_ref));
    // step 3: second spikes in the epoch: immediate impulse (x: random 0,
    // y: the y-impulse random after the first advance), times overwritten
    let r = spike_phase(&p, 3, &[true, true], &[true], &mut st, &mut rnd).unwrap();
    x_ref.advance();
    y_ref.advance();
    assert_eq!(r.multi_spike_y_impulse, Some(y_ref.impulse()));
    x_ref.advance();
    y_ref.advance();
    assert_eq!((st.tx[0], st.tx[1], st.ty[0]), (3, 3, 3));
    assert_eq!((st.x[0][0], st.x[0][1], st.y[0][0]), (16, 0, 16));
    assert_eq!((st.x[1][0], st.y[1][0], st.y[2][0]), (0, 0, 0));
    assert_eq!((rnd.x, rnd.y), (x_ref, y_ref));
}

#[test]
fn learning_phase_configuration_errors() {
    let dw = ProductSeries::parse(Target::Dw, "x0*y1*2^-2").unwrap();
    let dd = ProductSeries::parse(Target::Dd, "u1*x0").unwrap();
    let dt_u2 = ProductSeries::parse(Target::Dt, "u2*y0").unwrap();
    let uses_t = ProductSeries::parse(Target::Dw, "x0*t").unwrap();
    let mut rnd = LearningRandoms::new(1);
    let (mut x1, mut x2, mut tx) = (vec![0u8; 2], vec![0u8; 2], vec![0u8; 2]);
    let (mut y1, mut y2, mut y3, mut ty) = (vec![0u8; 1], vec![0u8; 1], vec![0u8; 1], vec![0u8; 1]);
    let mut w = vec![10i16; 2];
    let mut d = vec![0i16; 2];
    let mut scratch = vec![0u8; 64];
    let mut st = LearningState {
        x: [&mut x1, &mut x2],
        tx: &mut tx,
        y: [&mut y1, &mut y2, &mut y3],
        ty: &mut ty,
        w: &mut w,
        d: &mut d,
        t: &mut [],
    };
    let p = params(2);
    let before = rnd;
    let call = |rules: Rules<'_>,
                p: &LearningParams,
                st: &mut LearningState<'_>,
                rnd: &mut LearningRandoms,
                s: &mut [u8]| { learning_phase(p, &rules, 2, st, rnd, s) };
    let r = Rules {
        dw: Some(&dw),
        dd: None,
        dt: Some(&dw),
    };
    assert_eq!(
        call(r, &p, &mut st, &mut rnd, &mut scratch),
        Err(LearningError::WrongTarget(Target::Dw))
    );
    let r = Rules {
        dw: Some(&dw),
        dd: None,
        dt: Some(&dt_u2),
    };
    assert_eq!(
        call(r, &p, &mut st, &mut rnd, &mut scratch),
        Err(LearningError::MissingTagArray(Target::Dt))
    );
    let r = Rules {
        dw: Some(&uses_t),
        dd: None,
        dt: None,
    };
    assert_eq!(
        call(r, &p, &mut st, &mut rnd, &mut scratch),
        Err(LearningError::MissingTagArray(Target::Dw))
    );
    let mut t = vec![0i16; 2];
    let mut st2 = LearningState { t: &mut t, ..st };
    let r = Rules {
        dw: Some(&dw),
        dd: Some(&dd),
        dt: Some(&dt_u2),
    };
    assert_eq!(
        call(r, &p, &mut st2, &mut rnd, &mut scratch),
        Err(LearningError::MixedDecimateExponent)
    );
    let r = Rules {
        dw: Some(&dw),
        dd: Some(&dd),
        dt: None,
    };
    assert_eq!(
        call(r, &p, &mut st2, &mut rnd, &mut scratch[..5]),
        Err(LearningError::ScratchTooSmall {
            needed: history_scratch_len(2, 2, 1)
        })
    );
    assert_eq!(
        call(r, &params(0), &mut st2, &mut rnd, &mut scratch),
        Err(LearningError::TEpoch(0))
    );
    assert_eq!(
        call(r, &params(64), &mut st2, &mut rnd, &mut scratch),
        Err(LearningError::TEpoch(64))
    );
    let mut bad = params(2);
    bad.sign_mode = 7;
    assert_eq!(
        call(r, &bad, &mut st2, &mut rnd, &mut scratch),
        Err(LearningError::SignMode(7))
    );
    let mut bad = params(2);
    bad.y[2].decay_factor = 1.5;
    assert_eq!(
        call(r, &bad, &mut st2, &mut rnd, &mut scratch),
        Err(LearningError::Trace(4))
    );
    // no error consumed a random or touched the state
    assert_eq!(rnd, before);
    assert_eq!(st2.w, &[10, 10]);
    // shape errors
    let mut short = [0u8; 1];
    let mut st3 = LearningState {
        tx: &mut short,
        ..st2
    };
    assert_eq!(
        call(r, &p, &mut st3, &mut rnd, &mut scratch),
        Err(LearningError::Shape)
    );
    assert_eq!(
        spike_phase(&p, 1, &[true], &[false], &mut st3, &mut rnd),
        Err(LearningError::Shape)
    );
    assert!(LearningError::Trace(4).to_string().contains("y3"));
}

#[test]
fn u_dependency_follows_the_epoch_index() {
    // dw = u1*2^0*... : with k = 1, u = 1 on even epoch indices t / t_epoch
    let dw = ProductSeries::parse(Target::Dw, "u1*2^-2*x1").unwrap();
    let p = LearningParams {
        x: [
            TraceParams::from_impulse(0.0, 0.5).unwrap(),
            TraceParams::OFF,
        ],
        ..params(1)
    };
    let mut rnd = LearningRandoms::new(3);
    let (mut x1, mut x2, mut tx) = (vec![40u8], vec![0u8], vec![0u8]);
    let (mut y1, mut y2, mut y3, mut ty) = (vec![0u8], vec![0u8], vec![0u8], vec![0u8]);
    let mut w = vec![0i16];
    let mut scratch = vec![0u8; history_scratch_len(1, 1, 1)];
    let mut seen = Vec::new();
    for t in 1..=4u32 {
        let mut st = LearningState {
            x: [&mut x1, &mut x2],
            tx: &mut tx,
            y: [&mut y1, &mut y2, &mut y3],
            ty: &mut ty,
            w: &mut w,
            d: &mut [],
            t: &mut [],
        };
        st.x[0][0] = 40; // x1 read at T_e after one decay by E = 0.5: 20
        spike_phase(&p, t, &[false], &[false], &mut st, &mut rnd).unwrap();
        let before = st.w[0];
        learning_phase(
            &p,
            &Rules {
                dw: Some(&dw),
                dd: None,
                dt: None,
            },
            t,
            &mut st,
            &mut rnd,
            &mut scratch,
        )
        .unwrap();
        seen.push(st.w[0] - before);
    }
    // 20 * 1 * 2^-2 = 5 on epochs 2 and 4 (u = 1), nothing on 1 and 3
    assert_eq!(seen, vec![0, 5, 0, 5]);
}

/// The accumulator's asymmetric lower bound -32769 (not -32768) is visible
/// through the stochastic rounding. Expected values from lava-nc 0.10.0:
///
/// ```python
/// rule = Loihi2FLearningRule(dw="-8*2^8*u0 + 2^-2*u0 + 7*2^-7*u0",
///                            dt="-8*2^8*u0 + 2^-2*u0 + 7*2^-7*u0", t_epoch=1, rng_seed=1)
/// src, bap = RingBuffer(data=np.zeros((1, 3), int)), RingBuffer(data=np.zeros((1, 3), int))
/// ld = LearningDense(weights=np.array([[100]]), learning_rule=rule)
/// # ... connect, run 3 x RunSteps(1) with the fixed-point models:
/// # weights [[-156]] [[-256]] [[-255]]; tag_1 [[-256]] [[-256]] [[-255]]
/// ```
///
/// Step 2: acc = clip(-156·128 - 32769) + 32 + 7 = -32730, whose low 7 bits
/// (38) are below 128 × the rounding random (38.21), so w = -256; with a
/// bound of -32768 it would be -255.
#[test]
fn accumulator_lower_bound_is_minus_32769() {
    let rule = "-8*2^8*u0 + 2^-2*u0 + 7*2^-7*u0";
    let dw = ProductSeries::parse(Target::Dw, rule).unwrap();
    let dt = ProductSeries::parse(Target::Dt, rule).unwrap();
    let p = LearningParams {
        x: [TraceParams::OFF; 2],
        y: [TraceParams::OFF; 3],
        rng_seed: 1,
        ..params(1)
    };
    let mut rnd = LearningRandoms::new(1);
    let (mut x1, mut x2, mut tx) = (vec![0u8], vec![0u8], vec![0u8]);
    let (mut y1, mut y2, mut y3, mut ty) = (vec![0u8], vec![0u8], vec![0u8], vec![0u8]);
    let mut w = vec![100i16];
    let mut t = vec![0i16];
    let mut scratch = vec![0u8; history_scratch_len(1, 1, 1)];
    let mut got = Vec::new();
    for step in 1..=3u32 {
        let mut st = LearningState {
            x: [&mut x1, &mut x2],
            tx: &mut tx,
            y: [&mut y1, &mut y2, &mut y3],
            ty: &mut ty,
            w: &mut w,
            d: &mut [],
            t: &mut t,
        };
        spike_phase(&p, step, &[false], &[false], &mut st, &mut rnd).unwrap();
        let rules = Rules {
            dw: Some(&dw),
            dd: None,
            dt: Some(&dt),
        };
        learning_phase(&p, &rules, step, &mut st, &mut rnd, &mut scratch).unwrap();
        got.push((st.w[0], st.t[0]));
    }
    assert_eq!(got, vec![(-156, -256), (-256, -256), (-255, -255)]);
}
