//! Compiled programs: the file round-trips, and a wrong version, a truncated
//! or corrupted file, or a malformed core image is refused with a clear error.

use spikeforge_compiler::lower::{compile, CompileOptions, TargetProfile};
use spikeforge_compiler::program::{MachineProgram, ProgramError};
use spikeforge_compiler::yaml;
use spikeforge_kernel::program::{CoreImage, ImageError, SectionKind, SynapticMatrix};
use std::path::Path;

fn program(example: &str, profile: TargetProfile) -> MachineProgram {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples").join(example);
    let net = yaml::parse(&std::fs::read_to_string(&path).unwrap(), example).unwrap();
    compile(&net, &CompileOptions { profile, max_neurons_per_core: 256, n_steps: 50 }).unwrap().program
}

fn reseal(mut bytes: Vec<u8>) -> Vec<u8> {
    let n = bytes.len() - 4;
    let crc = crc32fast::hash(&bytes[..n]);
    bytes[n..].copy_from_slice(&crc.to_le_bytes());
    bytes
}

#[test]
fn programs_round_trip() {
    for (ex, p) in [("ei_triplet.yaml", TargetProfile::Spinnaker), ("lava_learning.yaml", TargetProfile::Loihi), ("song2000.yaml", TargetProfile::Spinnaker)] {
        let prog = program(ex, p);
        let back = MachineProgram::from_bytes(&prog.to_bytes()).unwrap();
        assert_eq!(prog, back, "{ex}");
        // Deterministic compilation: the same network gives the same bytes.
        assert_eq!(prog.to_bytes(), program(ex, p).to_bytes(), "{ex}");
    }
}

#[test]
fn placement_splits_populations_at_256_neurons() {
    let prog = program("ei_triplet.yaml", TargetProfile::Spinnaker);
    let exc: Vec<_> = prog.manifest.cores.iter().filter(|c| c.population == "exc").collect();
    assert_eq!(exc.iter().map(|c| (c.first_neuron, c.n_neurons)).collect::<Vec<_>>(), vec![(0, 256), (256, 144)]);
    // Every neuron core that receives synapses is the target of a route from each of its sources.
    for (c, img) in prog.images.iter().enumerate() {
        let img = CoreImage::parse(img).unwrap();
        if let Some((sec, _)) = img.section(SectionKind::SynapticMatrix) {
            let m = SynapticMatrix::parse(sec).unwrap();
            for b in m.blocks {
                let src = b.key_base >> spikeforge_kernel::program::KEY_CORE_SHIFT;
                let r = prog.manifest.routes.iter().find(|r| r.source == src).unwrap();
                assert!(r.targets.contains(&(c as u32)));
            }
        }
    }
}

#[test]
fn bad_program_files_are_refused() {
    let good = program("lava_learning.yaml", TargetProfile::Loihi).to_bytes();
    assert!(matches!(MachineProgram::from_bytes(b"SFIR0000000000000000"), Err(ProgramError::BadMagic(_))));
    assert!(matches!(MachineProgram::from_bytes(&good[..10]), Err(ProgramError::Truncated(_))));
    assert!(matches!(MachineProgram::from_bytes(&good[..good.len() - 9]), Err(ProgramError::Checksum { .. })));
    let mut v = good.clone();
    v[4] = 9;
    assert!(matches!(MachineProgram::from_bytes(&v), Err(ProgramError::Version { found: 9, supported: 1 })));
    let mut v = good.clone();
    v[100] ^= 1;
    assert!(matches!(MachineProgram::from_bytes(&v), Err(ProgramError::Checksum { .. })));
    // A core image of a newer layout inside a well-sealed file.
    let prog = program("lava_learning.yaml", TargetProfile::Loihi);
    let mut p2 = prog.clone();
    p2.images[0][1] = (p2.images[0][1] & 0xFFFF_0000) | 7; // version half-word
    let e = MachineProgram::from_bytes(&p2.to_bytes()).unwrap_err();
    assert!(matches!(&e, ProgramError::Image { core: 0, .. }), "{e}");
    assert!(e.to_string().contains("version 7"), "{e}");
    // Truncated image words.
    let mut p3 = prog.clone();
    p3.images[2].truncate(10);
    assert!(matches!(MachineProgram::from_bytes(&p3.to_bytes()), Err(ProgramError::Image { core: 2, .. })));
    // Trailing garbage before the checksum.
    let mut v = good[..good.len() - 4].to_vec();
    v.extend_from_slice(&[1, 2, 3, 4, 0, 0, 0, 0]);
    assert!(matches!(MachineProgram::from_bytes(&reseal(v)), Err(ProgramError::Truncated(_))));
}

#[test]
fn core_image_parser_rejects_malformed_images() {
    let prog = program("lava_learning.yaml", TargetProfile::Loihi);
    let img = &prog.images[3];
    assert!(CoreImage::parse(img).is_ok());
    assert!(matches!(CoreImage::parse(&img[..4]), Err(ImageError::Truncated { .. })));
    let mut bad = img.clone();
    bad[0] = u32::from_le_bytes(*b"XXXX");
    assert!(matches!(CoreImage::parse(&bad), Err(ImageError::BadMagic(_))));
    let mut bad = img.clone();
    bad[9] = 1_000_000; // first section offset far outside
    assert!(matches!(CoreImage::parse(&bad), Err(ImageError::SectionBounds { .. })));
    // Every truncation of every image is an error, never a panic.
    for img in &prog.images {
        for cut in 0..img.len() {
            let _ = CoreImage::parse(&img[..cut]).map(|i| i.section(SectionKind::SynapticMatrix).map(|(s, _)| SynapticMatrix::parse(s)));
        }
    }
}

/// Two projections that share synaptic rows (same pre, post and receptor)
/// cannot be read back apart: a weight recording of one is refused with
/// L013 instead of silently holding both; a different receptor is fine on
/// SpiNNaker (the rows keep the synapse type).
#[test]
fn weight_recording_of_projections_sharing_rows_is_refused() {
    let text = |receptor: &str| {
        format!(
            "spikeforge: 1\nname: shared\ndt_ms: 1.0\nduration_ms: 10\npopulations:\n  - name: a\n    size: 4\n    spike_source_poisson: {{rate_hz: 10}}\n  - name: b\n    size: 4\n    if_curr_exp: {{tau_m_ms: 20, cm_nf: 1.0, v_rest_mv: -65, v_reset_mv: -70, v_thresh_mv: -50, tau_refrac_ms: 2, tau_syn_e_ms: 5, tau_syn_i_ms: 5}}\nprojections:\n  - {{name: p1, pre: a, post: b, connector: one_to_one, weight: 0.5, delay_ms: 1}}\n  - {{name: p2, pre: a, post: b, receptor: {receptor}, connector: all_to_all, weight: 0.1, delay_ms: 2}}\nrecord:\n  - weights: {{projection: p1}}\n"
        )
    };
    let opts = |profile| CompileOptions { profile, max_neurons_per_core: 256, n_steps: 10 };
    let net = yaml::parse(&text("excitatory"), "shared.yaml").unwrap();
    let d = compile(&net, &opts(TargetProfile::Spinnaker)).expect_err("L013");
    let e = d.errors().find(|e| e.code == "L013").expect("L013");
    assert!(e.message.contains("projection 'p2' has the same pre and post populations and receptor"), "{}", e.message);
    assert_eq!(e.field, "projection");
    let net = yaml::parse(&text("inhibitory"), "shared.yaml").unwrap();
    compile(&net, &opts(TargetProfile::Spinnaker)).unwrap();
}
