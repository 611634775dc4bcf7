//! Lowering of plastic loihi projections (`compiler/src/lower/learning.rs`)
//! into the `LoihiLearning*` image sections, as the emulator reads them:
//! the layout for a projection split over cores, the routes, the rejected
//! connectivities (`L020`, `L021`) and the reader's checks.

use spikeforge_compiler::ir;
use spikeforge_compiler::lower::{compile, CompileOptions, TargetProfile};
use spikeforge_compiler::program::MachineProgram;
use spikeforge_compiler::yaml;
use spikeforge_kernel::loihi::encoding::{decode_rules, RULES_WORDS};
use spikeforge_kernel::loihi::learning::TraceParams;
use spikeforge_kernel::loihi::rule::{ProductSeries, Target};
use spikeforge_kernel::program::{key, CoreImage, ImageError, LoihiPlasticSections, SectionKind, SynapticMatrix};
use std::path::Path;

fn example() -> ir::Network {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/lava_learning.yaml");
    yaml::parse(&std::fs::read_to_string(path).unwrap(), "lava_learning.yaml").unwrap()
}

fn compile_net(net: &ir::Network, per_core: u32) -> Result<MachineProgram, Vec<String>> {
    compile(net, &CompileOptions { profile: TargetProfile::Loihi, max_neurons_per_core: per_core, n_steps: 100 })
        .map(|c| c.program)
        .map_err(|d| d.0.iter().filter(|x| x.severity == spikeforge_compiler::diag::Severity::Error).map(|x| format!("{} {}: {}", x.code, x.object, x.message)).collect())
}

fn cores_of<'a>(p: &'a MachineProgram, pop: &str) -> Vec<&'a spikeforge_compiler::program::CoreInfo> {
    p.manifest.cores.iter().filter(|c| c.population == pop).collect()
}

#[test]
fn split_projection_layout_routes_and_matrix() {
    let p = compile_net(&example(), 1).unwrap();
    let pre_cores: Vec<u32> = cores_of(&p, "lif_pre").iter().map(|c| c.index).collect();
    let post = cores_of(&p, "lif_post");
    assert_eq!((pre_cores.len(), post.len()), (3, 2));
    let k = p.manifest.projections.iter().position(|q| q.name == "plastic").unwrap() as u32;
    // Lava's truncation of the initial weights (MIXED, 8 bits: to even), [post][pre]
    let truncated = [[40i16, -22, 60], [10, 50, -32]];
    let dw = ProductSeries::parse(Target::Dw, "2^-2 * x1 * y0 - 2^-2 * y1 * x0").unwrap();
    for (j, info) in post.iter().enumerate() {
        let words = &p.images[info.index as usize];
        let img = CoreImage::parse(words).unwrap();
        let set = LoihiPlasticSections::parse(&img).unwrap().expect("plastic sections");
        assert_eq!(set.len(), 1);
        let v = set.view(0);
        assert_eq!((v.desc.projection, v.desc.n_pre, v.desc.n_post, v.desc.delay, v.desc.flags), (k, 3, 1, 1, 0));
        assert_eq!(v.weights, &truncated[j][..], "core {} rows", info.index);
        assert!(v.d.is_empty() && v.t.is_empty());
        let cols: Vec<(u32, u32, u32)> = v.sources.iter().map(|s| (s.key_base, s.n, s.first_pre)).collect();
        assert_eq!(cols, pre_cores.iter().enumerate().map(|(i, &c)| (key(c, 0), 1, i as u32)).collect::<Vec<_>>());
        assert!(v.x_init.iter().chain(v.y_init.iter()).all(|t| t.iter().all(|&x| x == 0)));
        assert_eq!(v.rules.len(), RULES_WORDS);
        let rs = decode_rules(v.rules).unwrap();
        assert_eq!((rs.dw, rs.dd, rs.dt), (Some(dw), None, None));
        let lp = v.desc.learning;
        assert_eq!((lp.t_epoch, lp.rng_seed, lp.sign_mode), (2, 42, 1));
        // tau 10 = 0x1.cf46d99d52b3ap-1, the fixtures' factor
        assert_eq!(lp.x[0], TraceParams::from_impulse(16.0, f64::from_bits(0x3FECF46D99D52B3A)).unwrap());
        assert_eq!(lp.y[0], lp.x[0]);
        assert_eq!((lp.x[1], lp.y[1], lp.y[2]), (TraceParams::OFF, TraceParams::OFF, TraceParams::OFF));
        // the synaptic matrix holds only the teacher's synapse, no plastic words
        let (m, _) = img.section(SectionKind::SynapticMatrix).unwrap();
        let m = SynapticMatrix::parse(m).unwrap();
        let n_words: usize = (0..m.blocks.len()).map(|b| (0..m.blocks[b].n_sources).map(|r| m.row(b, r).len()).sum::<usize>()).sum();
        assert_eq!(n_words, 1, "core {}", info.index);
        // every lif_pre core routes to this core
        for &c in &pre_cores {
            let r = p.manifest.routes.iter().find(|r| r.source == c).unwrap();
            assert!(r.targets.contains(&info.index) && r.targets.windows(2).all(|w| w[0] < w[1]), "route {c}: {:?}", r.targets);
        }
    }
}

#[test]
fn rules_reading_tags_get_tag_arrays() {
    let mut net = example();
    let Some(ir::plasticity_rule::Rule::SumOfProducts(s)) = &mut net.plasticity_rules[0].rule else { unreachable!() };
    s.dd = "2^-2*x0*y1".into();
    let p = compile_net(&net, 256).unwrap();
    let post = cores_of(&p, "lif_post")[0].index as usize;
    let img = CoreImage::parse(&p.images[post]).unwrap();
    let v = LoihiPlasticSections::parse(&img).unwrap().unwrap().view(0);
    assert_eq!(v.desc.flags, spikeforge_kernel::program::PLASTIC_HAS_TAGS);
    assert_eq!((v.d, v.t), (&[0i16; 6][..], &[0i16; 6][..]));
    assert_eq!(v.weights, &[40, -22, 60, 10, 50, -32]);
}

#[test]
fn non_dense_plastic_projections_are_rejected() {
    use ir::projection::Connectivity;
    // one_to_one: 3 of the 6 (pre, post) pairs have no synapse
    let mut net = example();
    let pl = net.projections.iter_mut().find(|p| p.name == "plastic").unwrap();
    pl.connectivity = Some(Connectivity::OneToOne(ir::OneToOne::default()));
    pl.weight = Some(ir::Distribution { kind: Some(ir::distribution::Kind::Constant(10.0)) });
    let e = compile_net(&net, 256).unwrap_err();
    assert!(e.iter().any(|m| m.starts_with("L020 projection 'plastic'") && m.contains("4 of the 6 pairs have no synapse")), "{e:?}");
    // all_to_all is dense
    let pl = net.projections.iter_mut().find(|p| p.name == "plastic").unwrap();
    pl.connectivity = Some(Connectivity::AllToAll(ir::AllToAll::default()));
    compile_net(&net, 256).unwrap();
}

#[test]
fn plastic_synapses_share_one_delay() {
    use ir::projection::Connectivity;
    let mut net = example();
    let pl = net.projections.iter_mut().find(|p| p.name == "plastic").unwrap();
    let mut conns = Vec::new();
    for pre in 0..3 {
        for post in 0..2 {
            conns.push(ir::Connection { pre, post, weight: Some(8.0), delay_ms: Some(if pre == 2 && post == 1 { 2.0 } else { 1.0 }) });
        }
    }
    pl.connectivity = Some(Connectivity::FromList(ir::FromList { connections: conns }));
    let e = compile_net(&net, 256).unwrap_err();
    assert!(e.iter().any(|m| m.starts_with("L021 projection 'plastic'") && m.contains("found 1 and 2 steps")), "{e:?}");
}

#[test]
fn the_reader_rejects_inconsistent_sections() {
    let p = compile_net(&example(), 256).unwrap();
    let post = cores_of(&p, "lif_post")[0].index as usize;
    let words = &p.images[post];
    let img = CoreImage::parse(words).unwrap();
    let (sec, _) = img.section(SectionKind::LoihiLearning).unwrap();
    let base = sec.as_ptr() as usize - words.as_ptr() as usize;
    let at = base / 4;
    // descriptor words: LearningParams (24 words), DenseParams (1), projection, delay, n_pre, n_post, ...
    let corrupt = |word: usize, value: u32| {
        let mut w = words.clone();
        w[at + word] = value;
        let img = CoreImage::parse(&w).unwrap();
        LoihiPlasticSections::parse(&img).map(|_| ())
    };
    assert_eq!(corrupt(24 + 1 + 1, 0), Err(ImageError::BadSection { kind: SectionKind::LoihiLearning, reason: "zero delay or pre neurons, rows other than the core's neurons, or reserved flag bits" }));
    assert_eq!(corrupt(24 + 1 + 3, 3), Err(ImageError::BadSection { kind: SectionKind::LoihiLearning, reason: "zero delay or pre neurons, rows other than the core's neurons, or reserved flag bits" }));
    assert!(matches!(corrupt(24 + 1 + 2, 4), Err(ImageError::BadSection { kind: SectionKind::LoihiPlasticWeights, .. } | ImageError::BadSection { kind: SectionKind::LoihiPlasticSources, .. })));
    // t_epoch 0 (byte 88 of LearningParams: word 22)
    assert_eq!(corrupt(22, 0), Err(ImageError::BadSection { kind: SectionKind::LoihiLearning, reason: "invalid learning parameters" }));
    // a broken rule block
    let (rules, _) = img.section(SectionKind::LoihiLearningRules).unwrap();
    let r_at = (rules.as_ptr() as usize - words.as_ptr() as usize) / 4;
    let mut w = words.clone();
    w[r_at] = 0;
    assert_eq!(LoihiPlasticSections::parse(&CoreImage::parse(&w).unwrap()).map(|_| ()), Err(ImageError::BadSection { kind: SectionKind::LoihiLearningRules, reason: "a rule block does not decode" }));
    assert!(spikeforge_emu::Emulator::new(MachineProgram { manifest: p.manifest.clone(), images: { let mut i = p.images.clone(); i[post] = w; i } }, 1).is_err());
}
