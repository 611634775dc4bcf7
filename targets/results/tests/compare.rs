//! `compare_exact`, `spike_agreement` and `summary_text`.

mod common;

use common::sample;
use spikeforge_results::{
    compare_exact, spike_agreement, AgreementError, Mismatch, RunResult, SpikeRecord,
};

#[test]
fn equal_results_compare_equal_whatever_the_record_order_and_backend() {
    let a = sample();
    let mut b = sample();
    b.backend = "reference".into();
    b.network = "other".into();
    b.counters.clear();
    b.spikes.reverse();
    b.states.reverse();
    b.weights.reverse();
    b.spikes[0].events.reverse();
    compare_exact(&a, &b).unwrap();
}

fn first(a: &RunResult, b: &RunResult) -> Mismatch {
    compare_exact(a, b).unwrap_err()
}

#[test]
fn reports_the_first_differing_spike() {
    let a = sample();
    let mut b = sample();
    // exc events: (1,0) (1,3) (7,1) (7,2) (20,0) (49,3) (50,3); B moves (7,2) to (8,2).
    b.spikes[0].events[3] = (8, 2);
    let m = first(&a, &b);
    assert_eq!(
        (m.record.as_str(), m.field.as_str(), m.step, m.neuron),
        ("spikes[exc]", "events", Some(7), Some(2))
    );
    assert_eq!(m.a, "a spike");
    assert_eq!(m.b, "no spike");
    assert_eq!(
        m.to_string(),
        "spikes[exc]: events differ at step 7, neuron 2: A has a spike, B has no spike"
    );
    // An extra spike of B.
    let mut b = sample();
    b.spikes[1].events.push((4, 12));
    let m = first(&a, &b);
    assert_eq!(
        (m.step, m.neuron, m.b.as_str()),
        (Some(4), Some(12), "a spike")
    );
    assert_eq!(m.record, "spikes[in/put äö]");
    // A duplicated spike counts.
    let mut b = sample();
    b.spikes[0].events.insert(0, (1, 0));
    assert_eq!(first(&a, &b).step, Some(1));
}

#[test]
fn reports_every_state_word() {
    let a = sample();
    // The raw word differs first (step 20 is the second sample; neuron 2 the second column).
    let mut b = sample();
    b.states[0].raw.as_mut().unwrap()[4] = 3;
    b.states[0].values[5] = 0.0;
    let m = first(&a, &b);
    assert_eq!(
        (
            m.record.as_str(),
            m.field.as_str(),
            m.step,
            m.neuron,
            m.a.as_str(),
            m.b.as_str()
        ),
        ("states[exc.v]", "raw", Some(20), Some(2), "2", "3")
    );
    // -0.0 and 0.0 are different values here.
    let mut b = sample();
    b.states[0].values[4] = 0.0;
    let m = first(&a, &b);
    assert_eq!(
        (m.field.as_str(), m.step, m.neuron),
        ("values", Some(20), Some(2))
    );
    assert_eq!(m.a, "-0.0 (0x8000000000000000)");
    // A last-bit difference in a float-only record.
    let mut b = sample();
    b.states[1].values[2] = f64::from_bits(b.states[1].values[2].to_bits() + 1);
    let m = first(&a, &b);
    assert_eq!(
        (m.record.as_str(), m.step, m.neuron),
        ("states[exc.u]", Some(3), Some(1))
    );
    // Raw words present in one only.
    let mut b = sample();
    b.states[0].raw = None;
    assert_eq!(first(&a, &b).field, "raw");
    let mut b = sample();
    b.states[1].unit = "mV".into();
    assert_eq!(first(&a, &b).field, "unit");
    let mut b = sample();
    b.states[0].steps[1] = 21;
    assert_eq!(first(&a, &b).field, "steps");
}

#[test]
fn reports_every_raw_weight_word() {
    let a = sample();
    let mut b = sample();
    b.weights[0].raw.as_mut().unwrap()[5] = 255;
    let m = first(&a, &b);
    assert_eq!(
        (m.record.as_str(), m.field.as_str(), m.step, m.synapse),
        ("weights[exc->exc]", "raw", Some(50), Some((2, 3)))
    );
    assert_eq!(
        m.to_string(),
        "weights[exc->exc]: raw differ at step 50, synapse 2->3: A has 256, B has 255"
    );
    let mut b = sample();
    b.weights[0].synapses.swap(0, 1);
    assert_eq!(first(&a, &b).field, "synapses");
}

#[test]
fn reports_run_level_and_missing_records() {
    let a = sample();
    let mut b = sample();
    b.dt_ms = 0.1 + 1e-17;
    assert_eq!(first(&a, &b).field, "dt_ms");
    let mut b = sample();
    b.n_steps += 1;
    assert_eq!(first(&a, &b).field, "n_steps");
    let mut b = sample();
    b.weights.pop();
    let m = first(&a, &b);
    assert_eq!(
        (m.record.as_str(), m.field.as_str(), m.b.as_str()),
        ("weights[never_sampled]", "record", "none")
    );
    let m = first(&b, &a);
    assert_eq!(
        (m.record.as_str(), m.a.as_str()),
        ("weights[never_sampled]", "none")
    );
    let mut b = sample();
    b.spikes[0].neurons.push(9);
    assert_eq!(first(&a, &b).field, "neurons");
}

fn pop(events: &[(u32, u32)], neurons: &[u32]) -> RunResult {
    RunResult {
        dt_ms: 1.0,
        n_steps: 100,
        spikes: vec![SpikeRecord {
            population: "p".into(),
            neurons: neurons.to_vec(),
            events: events.to_vec(),
        }],
        ..RunResult::default()
    }
}

#[test]
fn spike_agreement_counts_and_greedy_matching() {
    let a = pop(&[(10, 0), (20, 0), (30, 0), (5, 1), (50, 2)], &[0, 1, 2]);
    let b = pop(
        &[(11, 0), (12, 0), (29, 0), (5, 1), (9, 1), (60, 2)],
        &[2, 1, 0],
    );
    let s = spike_agreement(&a, &b, "p", 1).unwrap();
    assert_eq!(s.neurons, [0, 1, 2]);
    assert_eq!(s.counts_a, [3, 1, 1]);
    assert_eq!(s.counts_b, [3, 2, 1]);
    assert_eq!((s.total_a, s.total_b), (5, 6));
    assert_eq!(s.total_rel_diff, 0.2);
    // 10~11, 30~29, 5~5 match; 20 and 50 do not; 12 is used at most once.
    assert_eq!(s.matched, 3);
    assert_eq!(s.matched_fraction, 0.6);
    let s = spike_agreement(&a, &b, "p", 10).unwrap();
    // 10~11, 20~12, 30~29, 5~5, 50~60.
    assert_eq!(s.matched, 5);
    assert_eq!(s.matched_fraction, 1.0);
    let s = spike_agreement(&a, &b, "p", 0).unwrap();
    assert_eq!(s.matched, 1);

    // One-to-one: two spikes of A cannot share one spike of B.
    let a2 = pop(&[(10, 0), (11, 0)], &[0]);
    let b2 = pop(&[(10, 0)], &[0]);
    assert_eq!(spike_agreement(&a2, &b2, "p", 5).unwrap().matched, 1);
    // Greedy in time order takes the earliest B spike in the window, which
    // leaves the later one for the next A spike: A 10, 14; B 9, 13 with k=4.
    let a3 = pop(&[(10, 0), (14, 0)], &[0]);
    let b3 = pop(&[(13, 0), (9, 0)], &[0]);
    assert_eq!(spike_agreement(&a3, &b3, "p", 4).unwrap().matched, 2);
    // Matching is per neuron.
    let a4 = pop(&[(10, 0)], &[0, 1]);
    let b4 = pop(&[(10, 1)], &[0, 1]);
    assert_eq!(spike_agreement(&a4, &b4, "p", 3).unwrap().matched, 0);
}

#[test]
fn spike_agreement_edge_cases_and_errors() {
    let empty = pop(&[], &[0]);
    let one = pop(&[(3, 0)], &[0]);
    let s = spike_agreement(&empty, &empty, "p", 2).unwrap();
    assert_eq!((s.total_rel_diff, s.matched_fraction), (0.0, 1.0));
    let s = spike_agreement(&empty, &one, "p", 2).unwrap();
    assert!(s.total_rel_diff.is_infinite());
    let s = spike_agreement(&one, &empty, "p", 2).unwrap();
    assert_eq!((s.total_rel_diff, s.matched_fraction), (1.0, 0.0));
    // Tolerance near u32::MAX does not overflow.
    let far = pop(&[(u32::MAX, 0)], &[0]);
    assert_eq!(
        spike_agreement(&far, &one, "p", u32::MAX).unwrap().matched,
        1
    );

    assert_eq!(
        spike_agreement(&one, &one, "q", 0).unwrap_err(),
        AgreementError::MissingPopulation {
            which: 'A',
            population: "q".into()
        }
    );
    let other = pop(&[], &[1]);
    assert!(matches!(
        spike_agreement(&one, &other, "p", 0).unwrap_err(),
        AgreementError::NeuronsDiffer { .. }
    ));
    let stray = pop(&[(3, 7)], &[0]);
    assert_eq!(
        spike_agreement(&one, &stray, "p", 0)
            .unwrap_err()
            .to_string(),
        "result B: spike of population 'p' at step 3 on neuron 7, which is not recorded"
    );
    let mut slower = one.clone();
    slower.dt_ms = 0.5;
    assert!(matches!(
        spike_agreement(&one, &slower, "p", 0).unwrap_err(),
        AgreementError::TimeBase { .. }
    ));
}

#[test]
fn summary_text_fits_one_screen() {
    let r = sample();
    let t = r.summary_text();
    let lines: Vec<&str> = t.lines().collect();
    assert_eq!(
        lines[0],
        "stdp_pair \"demo\" on emu/loihi: 50 steps of 0.1 ms (5 ms)"
    );
    // exc: 7 spikes over 4 neurons x 5 ms = 350 Hz.
    assert!(
        lines
            .iter()
            .any(|l| l.split_whitespace().collect::<Vec<_>>() == ["exc", "4", "7", "350"]),
        "{t}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l.contains("silent") && l.trim_end().ends_with('-')),
        "{t}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l.split_whitespace().collect::<Vec<_>>()
                == ["exc->exc", "3", "2", "0", "0.541667", "1"]),
        "{t}"
    );
    assert!(
        t.contains("exc.v [lava]") && t.contains("3 neurons x 2 samples, raw i24"),
        "{t}"
    );
    assert!(
        t.contains("ring_buffer_saturations") && t.contains("18446744073709551615"),
        "{t}"
    );
    assert!(
        lines.len() <= 24 && lines.iter().all(|l| l.chars().count() <= 100),
        "{t}"
    );

    // Many populations are cut, not listed.
    let mut big = RunResult::default();
    for i in 0..50 {
        big.spikes.push(SpikeRecord {
            population: format!("pop{i}"),
            ..SpikeRecord::default()
        });
    }
    let t = big.summary_text();
    assert!(t.lines().count() <= 24, "{t}");
    assert!(t.contains("... 42 more"), "{t}");
}
