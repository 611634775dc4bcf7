//! LIF and Dense (`spikeforge_kernel::loihi::{lif, dense}`): hand-checked
//! edge cases plus a lava-nc 0.10.0 golden run that exercises the 24-bit
//! wrap of `u`, the clamp of `v`, per-neuron biases, two Dense projections
//! summed into one LIF, weight clipping, truncation with fewer weight bits
//! (Mixed and Inhibitory), and positive and negative weight exponents.
//!
//! `LAVA_LIF` is the JSON output of this script (lava-nc 0.10.0, Python
//! 3.10.13, numpy 1.26.4):
//!
//! ```python
//! import json, sys
//! import numpy as np
//! from lava.magma.core.run_conditions import RunSteps
//! from lava.magma.core.run_configs import Loihi2SimCfg
//! from lava.proc.dense.models import PyDenseModelBitAcc
//! from lava.proc.dense.process import Dense
//! from lava.proc.io.source import PySendModelFixed, RingBuffer
//! from lava.proc.lif.models import PyLifModelBitAcc
//! from lava.proc.lif.process import LIF
//! from lava.proc.monitor.process import Monitor
//! from lava.utils.weightutils import SignMode
//!
//! rs = np.random.RandomState(21)
//! steps, n_a, n_b, n = 80, 4, 3, 5
//! in_a = (rs.rand(n_a, steps) < 0.5).astype(int)
//! in_b = (rs.rand(n_b, steps) < 0.4).astype(int)
//! w_a = rs.randint(-300, 300, (n, n_a))           # some outside [-256, 255]: clipped
//! w_b = -rs.randint(0, 300, (n, n_b))             # inhibitory, some below -255
//! bias_mant = rs.randint(-4096, 4096, n)
//! src_a, src_b = RingBuffer(data=in_a), RingBuffer(data=in_b)
//! d_a = Dense(weights=w_a, weight_exp=6, num_weight_bits=6, sign_mode=SignMode.MIXED)
//! d_b = Dense(weights=w_b, weight_exp=-2, num_weight_bits=5, sign_mode=SignMode.INHIBITORY)
//! lif = LIF(shape=(n,), u=0, v=0, du=7, dv=300, vth=90000, bias_mant=bias_mant, bias_exp=3)
//! src_a.s_out.connect(d_a.s_in); src_b.s_out.connect(d_b.s_in)
//! d_a.a_out.connect(lif.a_in); d_b.a_out.connect(lif.a_in)
//! mon = Monitor(); mon.probe(lif.s_out, steps)
//! cfg = Loihi2SimCfg(select_tag="fixed_pt", exception_proc_model_map={
//!     LIF: PyLifModelBitAcc, Dense: PyDenseModelBitAcc, RingBuffer: PySendModelFixed})
//! rows = []
//! for _ in range(steps):
//!     src_a.run(condition=RunSteps(num_steps=1), run_cfg=cfg)
//!     rows.append([lif.u.get().astype(int).tolist(), lif.v.get().astype(int).tolist()])
//! spk = mon.get_data()[lif.name]["s_out"].astype(int).tolist()
//! wa_eff = d_a.weights.get().astype(int).tolist(); wb_eff = d_b.weights.get().astype(int).tolist()
//! src_a.stop()
//! json.dump(dict(steps=steps, in_a=in_a.T.tolist(), in_b=in_b.T.tolist(), w_a=w_a.tolist(), w_b=w_b.tolist(),
//!                w_a_eff=wa_eff, w_b_eff=wb_eff, bias_mant=bias_mant.tolist(), rows=rows, spikes=spk),
//!           sys.stdout, separators=(",", ":"))
//! ```

use serde_json::Value;
use spikeforge_kernel::loihi::dense::{
    accumulate, clip_weight, dense_step, emit, prepare_dense_weights, prepare_learning_weights,
    scale_activation, truncate_weight, DenseParamError, DenseParams, SignMode,
};
use spikeforge_kernel::loihi::lif::{
    decay_rtz, effective_bias, lif_step, lif_step_bias, lif_update, LifParamError, LifParams,
};

const LAVA_LIF: &str = r#"
{"steps":80,"in_a":[[1,0,0,0],[1,1,1,0],[0,1,1,1],[1,1,0,1],[1,0,0,1],[1,0,0,0],[1,0,0,0],[0,0,1,0],[1,0,0,0],[0,1,1,1],[1,1,0,0],[0,0,0,1],[1,1,0,0],[1,0,1,0],[1,0,0,0],[0,1,1,0],[0,0,1,0],[0,1,0,0],[0,0,1,0],[1,1,0,1],[1,0,0,0],[0,0,0,0],[1,1,1,0],[0,1,0,1],[0,0,1,1],[0,0,0,0],[0,1,1,1],[1,0,0,1],[1,1,0,0],[1,1,1,0],[1,0,0,0],[1,0,1,0],[0,0,0,1],[1,1,0,1],[0,0,1,1],[0,0,0,1],[0,1,0,0],[1,0,0,0],[0,0,1,1],[0,1,0,0],[1,1,1,0],[1,1,0,0],[0,1,1,0],[0,0,1,0],[0,0,0,1],[1,1,1,0],[0,0,1,0],[0,0,1,1],[0,0,1,1],[0,1,1,1],[0,1,0,0],[1,1,1,1],[1,0,1,0],[0,0,1,1],[1,0,0,1],[1,1,0,0],[1,1,0,1],[0,1,0,0],[0,1,1,0],[1,0,0,1],[0,1,0,1],[0,1,1,0],[0,1,1,1],[1,1,1,1],[0,0,1,1],[1,1,0,0],[0,0,0,1],[1,1,1,0],[0,1,1,1],[0,1,1,1],[1,1,0,0],[1,1,0,0],[0,1,1,0],[1,0,1,1],[1,1,0,1],[1,1,0,1],[0,0,0,0],[0,1,1,0],[0,1,0,0],[1,1,1,0]],"in_b":[[1,0,0],[0,0,1],[0,0,0],[0,0,1],[1,0,1],[1,1,0],[0,1,0],[1,0,0],[1,0,1],[0,0,0],[1,0,1],[0,0,0],[1,0,1],[1,1,0],[0,0,0],[0,0,0],[0,0,0],[1,0,1],[0,0,0],[0,0,0],[1,1,0],[1,0,0],[1,0,1],[0,0,0],[1,0,1],[0,0,0],[1,0,0],[1,1,1],[1,1,1],[1,1,0],[1,0,0],[0,0,1],[1,0,0],[0,0,0],[0,0,0],[0,1,0],[1,0,0],[1,0,0],[0,1,0],[0,1,1],[0,1,1],[0,0,0],[0,0,0],[0,0,0],[0,1,1],[1,0,0],[0,0,0],[0,1,1],[0,1,0],[0,0,1],[1,0,0],[1,0,0],[1,1,1],[0,1,0],[0,0,1],[0,1,1],[0,1,1],[0,1,0],[1,0,0],[1,0,0],[0,0,1],[1,1,0],[0,0,0],[1,1,0],[1,0,1],[0,0,1],[0,1,0],[0,1,1],[0,0,1],[0,1,1],[0,1,1],[0,1,0],[1,0,0],[1,0,0],[0,0,1],[0,0,0],[1,0,0],[0,1,1],[0,1,0],[1,0,1]],"w_a":[[145,264,39,105],[-220,-223,-294,-241],[132,-80,72,77],[298,39,-95,-165],[252,148,38,-295]],"w_b":[[-207,-31,-48],[-261,-94,-185],[-26,-264,-47],[-61,-121,-206],[-211,-201,-163]],"w_a_eff":[[144,248,32,104],[-224,-224,-256,-248],[128,-80,72,72],[248,32,-96,-168],[248,144,32,-256]],"w_b_eff":[[-200,-24,-48],[-248,-88,-184],[-24,-248,-40],[-56,-120,-200],[-208,-200,-160]],"bias_mant":[3124,-3296,2651,2867,3267],"rows":[[[0,0,0,0,0],[24992,-26368,21208,22936,26136]],[[586624,-921472,523904,1014912,1012480],[634777,-972276,564766,1059104,1062837]],[[2321414,-3806200,1013760,1763393,2744646],[2934690,-4733632,1558369,2767861,3755774]],[[3889743,-6780654,1273924,809676,2411605],[0,-8388607,2739362,3397748,0]],[[5912993,7156046,1762315,1263646,2961390],[0,-644529,4322248,4435471,2987526]],[[6913284,5201845,2577048,1584761,2916950],[0,4578155,0,5718304,5711799]],[[7486021,4268805,3091950,2594657,3920532],[0,0,3113158,0,0]],[[8060839,3341555,3606231,3603477,4925482],[0,3315187,0,3626413,4951618]],[[8172967,2282484,3893715,3202326,5043605],[0,5328491,3914923,0,0]],[[-8034356,1353610,4409374,4207783,6043674],[-8009364,0,0,4230719,0]],[[-6445799,-1630922,4662905,3249292,5704189],[-8388607,-1657290,4684113,0,5730325]],[[-4831545,-3469656,4849381,4385729,7292792],[-8388607,-5031930,0,4408665,0]],[[-4396124,-4478687,5134821,3689035,6229972],[-8388607,-8388607,5156029,0,0]],[[-2785873,-6311859,5320376,4824613,7817548],[-8388607,-8388607,0,4847549,0]],[[-2063119,-8270987,6124832,5434965,-7834585],[-8388607,-8388607,0,0,-7808449]],[[-1469265,7604880,6637157,6440157,-6803475],[-8388607,-195695,0,0,-8388607]],[[-319515,5623946,6591425,6165434,-6069290],[-8068730,5416217,0,0,-8388607]],[[-187818,4564385,6873463,5760176,-5926363],[-7640584,0,0,0,-8388607]],[[824389,3631054,6531334,5875901,-5330852],[-6231589,3604686,0,0,-8388607]],[[953850,2575386,6813489,5471208,-5189368],[-4796331,0,0,5494144,-8388607]],[[2983603,-280461,7291701,5919274,-4622176],[-1436442,-306829,0,0,-8388607]],[[3564015,-1202793,7797395,6920704,-3603868],[2257774,-1513517,0,0,-8388607]],[[3553854,-1204411,7781781,6906291,-3600157],[5671255,-2633442,0,0,-8388607]],[[5279648,-4092554,8257078,7642370,-1862309],[0,-6559484,0,0,-8388607]],[[6711128,-6017872,8208182,7070387,-2317423],[0,-8388607,0,0,-8388607]],[[7251108,-8077414,-7996266,5971137,-3236288],[0,-8388607,-7975058,0,-8388607]],[[7236945,-8061637,-7980648,5959474,-3229967],[0,-8388607,-8388607,0,-8388607]],[[-7984742,5745469,-7703300,4996666,-3554666],[-7959750,-2055106,-8388607,5019602,-8388607]],[[-6957690,3792615,-6874046,5308570,-3589579],[-8388607,1861662,-8388607,0,-8388607]],[[-5342820,1941879,-6669004,6439065,-1986024],[-8388607,3640820,-8388607,0,-8388607]],[[-3599264,-950874,-6168810,7177336,-251969],[-8388607,2396916,-8388607,0,-8000040]],[[-3005610,-1870488,-5632857,8178229,761004],[-8388607,324504,-8388607,0,-6626959]],[[-2279611,-3835858,-4803295,-7995569,1903837],[-8388607,-3561490,-8388607,-7972633,-4211613]],[[-1852374,-4848142,-4499385,8108240,848214],[-8388607,-8175148,-8388607,742477,-3028795]],[[182860,-7689488,-3999077,-8226061,1403613],[-7566355,-8388607,-8388607,-7515029,-1377210]],[[739558,7038363,-3401442,7485878,483367],[-6247628,-762212,-8388607,544203,-766837]],[[1163713,6007400,-3103854,6781209,-569354],[-4601333,5274647,-8388607,0,-1253890]],[[2174048,5074194,-3425855,6898140,18255],[-2065281,0,-8388607,0,-1117661]],[[2756425,4142811,-2895259,7899579,1030699],[867402,4116443,-8388607,0,21034]],[[3307713,2068927,-2303748,6800886,107981],[4136576,0,-8388607,0,153610]],[[4315908,1143030,-2631536,6913555,691834],[0,1116662,-8388607,0,860329]],[[6043030,-1747139,-2139484,7648595,2421426],[0,-738632,-8388607,0,3244878]],[[7636859,-3578734,-1938697,-7996680,4022328],[0,-4289634,-8388607,-7973744,0]],[[-8008393,-5537824,-1967678,-8243205,4735367],[-7983401,-8388607,-8388607,-8388607,4761503]],[[-7861679,-6575583,-1668922,8156896,4857190],[-8388607,-8388607,-8388607,405625,0]],[[-7421492,-7582900,-1375358,7447716,3793367],[-8388607,-8388607,-8388607,0,3819503]],[[-5673492,6321575,-881535,8185937,5519334],[-8388607,-1479000,-8388607,0,0]],[[-5531338,5260652,-584901,7776732,5639626],[-8388607,3863610,-8337900,0,5665762]],[[-4964630,3181641,1458,6675079,4705347],[-8388607,0,-7704547,0,0]],[[-4398261,1109634,587311,5578777,3775452],[-8388607,1083266,-6531730,5601713,3801588]],[[-2817574,-1877366,847667,4614408,3437838],[-8388607,-899809,-5184456,0,0]],[[-1799462,-2795171,517947,4735571,4017619],[-8388607,-3655444,-4265580,4758507,4043755]],[[363541,-6693071,1302983,4790961,4694572],[-7385674,-8388607,-2628968,0,0]],[[1079374,8122818,2114646,5398179,5823194],[-5740365,322243,-300562,5421115,0]],[[1633937,6041161,2696371,4304371,4891116],[-3660999,0,2439031,0,4917252]],[[2645785,4093105,3509664,4620444,4846235],[-722082,4066737,0,4643380,0]],[[4245097,2245750,3694809,5753179,6436641],[3600894,0,3716017,0,0]],[[6267269,-613805,4174504,6195574,6975365],[0,-640173,0,0,0]],[[7270452,-1531518,3834702,6312625,7548365],[0,-2151171,3855910,0,0]],[[-8377285,-3498574,3794060,6037255,8251190],[-8352293,-5518556,0,0,0]],[[-7348315,-5429020,4605465,6352247,8198978],[-8388607,-8388607,4626673,0,0]],[[-5892938,-7354672,4563061,5779584,7721652],[-8388607,-8388607,0,0,0]],[[-4738132,7465453,4517028,5503335,-8356278],[-8388607,-335122,4538236,5526271,-8330142]],[[-3156013,4468984,4770349,4542314,8109579],[-8388607,4132040,0,0,415691]],[[-990744,555487,5543111,4596162,-8001877],[-8388607,4358519,5564319,4619098,-7590497]],[[-435720,-1516894,6121084,3501745,7867576],[-8184935,2496029,0,0,859160]],[[1169996,-3351883,6305096,4638585,-7321935],[-6390464,-1065037,0,4661521,-6499566]],[[1593310,-4362552,6583725,3939477,-8359410],[-4304110,-5375951,0,0,-8388607]],[[3325750,-7241967,7057778,4680326,-6612139],[-638125,-8388607,0,4703262,-8388607]],[[4891350,6564562,7305497,3717712,-6929464],[4324955,-1236013,0,0,-8388607]],[[6453508,3565500,7548764,2755058,-7249369],[0,2393648,0,2777994,-8388607]],[[8045383,1719176,7726020,3891437,-5635338],[0,3911139,0,0,-8388607]],[[-7142299,-120598,7903570,5028796,-4021899],[-7117307,3477712,0,5051732,-8388607]],[[-5984669,-2090410,7854981,4755934,-3296475],[-8388607,1106218,0,0,-8388607]],[[-4829300,-5072183,-7823849,4680213,-3195060],[-8388607,-4073355,-7802641,4703149,-8388607]],[[-2789019,-7916036,-7317688,5126623,-2634323],[-8388607,-8388607,-8388607,0,-8388607]],[[-751955,6025826,-6811875,5575362,-2072121],[-8388607,-1774749,-8388607,5598298,-8388607]],[[-753686,6010088,-6798954,5563576,-2071401],[-8388607,4338958,-8388607,0,-8388607]],[[393515,4027917,-6823050,5285445,-1352219],[-7355700,0,-8388607,5308381,-8388607]],[[1408170,3101137,-7141371,5404273,-762953],[-5383790,3074769,-8388607,0,-8388607]]],"spikes":[[0,0,0,0,0],[0,0,0,0,0],[0,0,0,0,0],[1,0,0,0,1],[1,0,0,0,0],[1,0,1,0,0],[1,1,0,1,1],[1,0,1,0,0],[1,0,0,1,1],[0,1,1,0,1],[0,0,0,1,0],[0,0,1,0,1],[0,0,0,1,1],[0,0,1,0,1],[0,0,1,1,0],[0,0,1,1,0],[0,0,1,1,0],[0,1,1,1,0],[0,0,1,1,0],[0,1,1,0,0],[0,0,1,1,0],[0,0,1,1,0],[0,0,1,1,0],[1,0,1,1,0],[1,0,1,1,0],[1,0,0,1,0],[1,0,0,1,0],[0,0,0,0,0],[0,0,0,1,0],[0,0,0,1,0],[0,0,0,1,0],[0,0,0,1,0],[0,0,0,0,0],[0,0,0,0,0],[0,0,0,0,0],[0,0,0,0,0],[0,0,0,1,0],[0,1,0,1,0],[0,0,0,1,0],[0,1,0,1,0],[1,0,0,1,0],[1,0,0,1,0],[1,0,0,0,1],[0,0,0,0,0],[0,0,0,0,1],[0,0,0,1,0],[0,0,0,1,1],[0,0,0,1,0],[0,1,0,1,1],[0,0,0,0,0],[0,0,0,1,1],[0,0,0,0,0],[0,0,0,1,1],[0,0,0,0,1],[0,1,0,1,0],[0,0,1,0,1],[0,1,0,1,1],[1,0,1,1,1],[1,0,0,1,1],[0,0,1,1,1],[0,0,0,1,1],[0,0,1,1,1],[0,0,0,0,0],[0,0,1,1,0],[0,0,0,0,0],[0,0,1,1,0],[0,0,1,0,0],[0,0,1,1,0],[0,0,1,0,0],[0,0,1,1,0],[1,0,1,0,0],[1,0,1,1,0],[0,0,1,0,0],[0,0,1,1,0],[0,0,0,0,0],[0,0,0,1,0],[0,0,0,0,0],[0,0,0,1,0],[0,1,0,0,0],[0,0,0,1,0]]}"#;

fn ints(v: &Value) -> Vec<i64> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_i64().unwrap())
        .collect()
}

fn flat(v: &Value) -> Vec<i64> {
    v.as_array().unwrap().iter().flat_map(ints).collect()
}

fn bools(v: &Value) -> Vec<bool> {
    ints(v).iter().map(|&x| x != 0).collect()
}

#[test]
fn lava_lif_two_dense_golden() {
    let g: Value = serde_json::from_str(LAVA_LIF.trim()).unwrap();
    let steps = g["steps"].as_u64().unwrap() as usize;
    let n = 5;
    let (n_a, n_b) = (4, 3);
    let lif = LifParams {
        du: 7,
        dv: 300,
        vth: 90000,
        bias_mant: 0,
        bias_exp: 3,
    };
    lif.validate().unwrap();
    let bias_mant: Vec<i16> = ints(&g["bias_mant"]).iter().map(|&b| b as i16).collect();

    let pa = DenseParams {
        sign_mode: SignMode::Mixed as u8,
        num_weight_bits: 6,
        weight_exp: 6,
        _pad: 0,
    };
    let pb = DenseParams {
        sign_mode: SignMode::Inhibitory as u8,
        num_weight_bits: 5,
        weight_exp: -2,
        _pad: 0,
    };
    assert_eq!(pa.truncate_bits(), 3);
    assert_eq!(pb.truncate_bits(), 3);
    let mut wa: Vec<i16> = flat(&g["w_a"]).iter().map(|&w| w as i16).collect();
    let mut wb: Vec<i16> = flat(&g["w_b"]).iter().map(|&w| w as i16).collect();
    let ra = prepare_dense_weights(&mut wa, &pa).unwrap();
    let rb = prepare_dense_weights(&mut wb, &pb).unwrap();
    assert_eq!(
        wa.iter().map(|&w| w as i64).collect::<Vec<_>>(),
        flat(&g["w_a_eff"]),
        "Mixed weights after clip+truncation"
    );
    assert_eq!(
        wb.iter().map(|&w| w as i64).collect::<Vec<_>>(),
        flat(&g["w_b_eff"]),
        "Inhibitory weights after clip+truncation"
    );
    let raw_a = flat(&g["w_a"]);
    let raw_b = flat(&g["w_b"]);
    assert_eq!(
        ra.clipped,
        raw_a
            .iter()
            .filter(|&&w| !(-256..=255).contains(&w))
            .count()
    );
    assert_eq!(rb.clipped, raw_b.iter().filter(|&&w| w < -255).count());
    assert!(ra.clipped > 0 && rb.clipped > 0 && ra.truncated > 0 && rb.truncated > 0);

    let (in_a, in_b) = (g["in_a"].as_array().unwrap(), g["in_b"].as_array().unwrap());
    let rows = g["rows"].as_array().unwrap();
    let spikes = g["spikes"].as_array().unwrap();
    let (mut u, mut v) = (vec![0i32; n], vec![0i32; n]);
    let (mut buf_a, mut buf_b) = (vec![0i32; n], vec![0i32; n]);
    let mut s = vec![false; n];
    let mut wrapped = false;
    for t in 1..=steps {
        let sa = bools(&in_a[t - 1]);
        let sb = bools(&in_b[t - 1]);
        assert_eq!((sa.len(), sb.len()), (n_a, n_b));
        let mut a_in = vec![0i32; n];
        dense_step(&wa, pa.weight_exp, &sa, &mut buf_a, &mut a_in);
        dense_step(&wb, pb.weight_exp, &sb, &mut buf_b, &mut a_in);
        let prev_u = u.clone();
        lif_step_bias(&lif, &bias_mant, &mut u, &mut v, &a_in, &mut s);
        // a jump of almost 2^24 means the 24-bit wrap happened
        wrapped |= u
            .iter()
            .zip(&prev_u)
            .any(|(a, b)| (*a as i64 - *b as i64).abs() > 1 << 23);
        let row = rows[t - 1].as_array().unwrap();
        assert_eq!(
            u.iter().map(|&x| x as i64).collect::<Vec<_>>(),
            ints(&row[0]),
            "step {t}: u"
        );
        assert_eq!(
            v.iter().map(|&x| x as i64).collect::<Vec<_>>(),
            ints(&row[1]),
            "step {t}: v"
        );
        assert_eq!(s, bools(&spikes[t - 1]), "step {t}: spikes");
    }
    assert!(
        wrapped,
        "the golden run should exercise the 24-bit wrap of u"
    );
    assert!(
        rows.iter()
            .any(|r| ints(&r[1]).contains(&(-(1i64 << 23) + 1))),
        "and the clamp of v"
    );
}

#[test]
fn decay_rounds_toward_zero() {
    assert_eq!(decay_rtz(1000, 2048), 500);
    assert_eq!(decay_rtz(-1000, 2048), -500);
    assert_eq!(decay_rtz(3, 2048), 1); // 1.5 -> 1
    assert_eq!(decay_rtz(-3, 2048), -1); // -1.5 -> -1, not -2
    assert_eq!(decay_rtz(-1, 1), 0);
    assert_eq!(decay_rtz((1 << 23) - 1, 0), (1 << 23) - 1);
}

#[test]
fn lif_current_decay_offset_and_wrap() {
    let p = LifParams {
        du: 4095,
        dv: 0,
        vth: 131071,
        bias_mant: 0,
        bias_exp: 0,
    };
    // du = 4095: factor 4096 - 4096 = 0, u is replaced by the input
    let (mut u, mut v) = (123456, 0);
    assert!(!lif_update(&p, 0, &mut u, &mut v, 10));
    assert_eq!(u, 10 << 6);
    // du = 0 still decays by 1/4096 (offset 1)
    let p0 = LifParams { du: 0, ..p };
    let (mut u, mut v) = (4096, 0);
    lif_update(&p0, 0, &mut u, &mut v, 0);
    assert_eq!(u, 4095);
    // +2^23 exactly is not wrapped; one more wraps to -2^23 + 1
    let (mut u, mut v) = (0, 0);
    lif_update(&p, 0, &mut u, &mut v, 1 << 17);
    assert_eq!(u, 1 << 23);
    let (mut u, mut v) = (0, 0);
    lif_update(&p, 0, &mut u, &mut v, (1 << 17) + 1);
    assert_eq!(u, (1 << 23) + 64 - (1 << 24));
    // -2^23 is wrapped (<=), to +2^23
    let (mut u, mut v) = (0, 0);
    lif_update(&p, 0, &mut u, &mut v, -(1 << 17));
    assert_eq!(u, 1 << 23);
    let _ = v;
}

#[test]
fn lif_voltage_clamp_threshold_and_reset() {
    let p = LifParams {
        du: 4095,
        dv: 0,
        vth: 10,
        bias_mant: 0,
        bias_exp: 0,
    };
    assert_eq!(p.scaled_threshold(), 640);
    // v == VTH does not spike; v > VTH spikes and resets to 0
    let (mut u, mut v) = (0, 0);
    assert!(!lif_update(&p, 0, &mut u, &mut v, 10));
    assert_eq!(v, 640);
    let (mut u, mut v) = (0, 0);
    assert!(lif_update(&p, 1, &mut u, &mut v, 10));
    assert_eq!(v, 0);
    // clamp at -(2^23 - 1) (no spike below)
    let (mut u, mut v) = (0, -(1 << 23) + 100);
    assert!(!lif_update(&p, 0, &mut u, &mut v, -1000));
    assert_eq!(v, -(1 << 23) + 1);
    // the largest VTH (131071 << 6 = 2^23 - 64) is below the upper clamp
    // 2^23 - 1, so a clamped positive v always spikes
    let big = LifParams { vth: 131071, ..p };
    assert_eq!(big.scaled_threshold(), (1 << 23) - 64);
    let (mut u, mut v) = (0, (1 << 23) - 10);
    assert!(lif_update(&big, 0, &mut u, &mut v, 1000));
    assert_eq!(v, 0);
}

#[test]
fn lif_bias_and_population_step() {
    assert_eq!(effective_bias(3, 2), 12);
    assert_eq!(effective_bias(-4096, 7), -524288);
    assert_eq!(effective_bias(-5, -1), -3); // arithmetic shift: floor
    assert_eq!(effective_bias(5, -1), 2);
    // the fixture's pre population: bias 3 << 2 drives v up every step
    let p = LifParams {
        du: 1024,
        dv: 256,
        vth: 200,
        bias_mant: 3,
        bias_exp: 2,
    };
    let (mut u, mut v, mut s) = (vec![0; 2], vec![0; 2], vec![false; 2]);
    // VTH = 200 << 6 = 12800; an input of 200 gives v = 12800 + 12 > VTH at once
    let n = lif_step(&p, &mut u, &mut v, &[0, 200], &mut s);
    assert_eq!((n, s.clone()), (1, vec![false, true]));
    assert_eq!(u, vec![0, 12800]);
    assert_eq!(v, vec![12, 0]);
    let (mut u, mut v) = (vec![0; 2], vec![0; 2]);
    let n = lif_step(&p, &mut u, &mut v, &[0, 100], &mut s);
    assert_eq!(n, 0);
    assert_eq!((u.clone(), v.clone()), (vec![0, 6400], vec![12, 6412]));
    // u: rtz(6400 * 3071 / 4096) = 4798; v: rtz(6412 * 3840 / 4096) + 4798 + 12 = 10821
    let n = lif_step(&p, &mut u, &mut v, &[0, 0], &mut s);
    assert_eq!(n, 0);
    assert_eq!((u.clone(), v.clone()), (vec![0, 4798], vec![23, 10821]));
    // u: 3597 + 6400 = 9997; v: 10144 + 9997 + 12 = 20153 > 12800 -> spike, reset
    let n = lif_step(&p, &mut u, &mut v, &[0, 100], &mut s);
    assert_eq!((n, s.clone()), (1, vec![false, true]));
    assert_eq!((u, v), (vec![0, 9997], vec![33, 0]));
}

#[test]
fn lif_parameter_validation() {
    let ok = LifParams {
        du: 4095,
        dv: 4095,
        vth: 131071,
        bias_mant: -4096,
        bias_exp: 7,
    };
    assert_eq!(ok.validate(), Ok(()));
    assert_eq!(
        LifParams { du: 4096, ..ok }.validate(),
        Err(LifParamError::Du(4096))
    );
    assert_eq!(
        LifParams { dv: 5000, ..ok }.validate(),
        Err(LifParamError::Dv(5000))
    );
    assert_eq!(
        LifParams { du: -2, ..ok }.validate(),
        Err(LifParamError::Du(-2))
    );
    assert_eq!(
        LifParams { dv: 4097, ..ok }.validate(),
        Err(LifParamError::Dv(4097))
    );
    assert_eq!(
        LifParams { vth: 131073, ..ok }.validate(),
        Err(LifParamError::Vth(131073))
    );
    // netx's default neuron: du = -1, dv = 4096, vth = 2^17 (Lava runs it)
    let netx_default = LifParams {
        du: -1,
        dv: 4096,
        vth: 131072,
        ..ok
    };
    assert_eq!(netx_default.validate(), Ok(()));
    assert_eq!(
        LifParams { vth: -1, ..ok }.validate(),
        Err(LifParamError::Vth(-1))
    );
    assert_eq!(
        LifParams {
            bias_mant: 4096,
            ..ok
        }
        .validate(),
        Err(LifParamError::BiasMant(4096))
    );
    assert_eq!(
        LifParams { bias_exp: 8, ..ok }.validate(),
        Err(LifParamError::BiasExp(8))
    );
    assert!(LifParamError::Du(4096).to_string().contains("12-bit"));
    // image layout: 12 bytes, no padding
    assert_eq!(core::mem::size_of::<LifParams>(), 12);
    let bytes = bytemuck::bytes_of(&ok);
    assert_eq!(*bytemuck::from_bytes::<LifParams>(bytes), ok);
}

#[test]
fn sign_modes_clip_and_truncate() {
    assert_eq!(SignMode::Mixed.weight_range(), (-256, 255));
    assert_eq!(SignMode::Excitatory.weight_range(), (0, 255));
    assert_eq!(SignMode::Inhibitory.weight_range(), (-255, 0));
    assert_eq!(SignMode::determine(&[0, 3, 0]), SignMode::Excitatory);
    assert_eq!(SignMode::determine(&[0, 0]), SignMode::Excitatory);
    assert_eq!(SignMode::determine(&[-1, 0]), SignMode::Inhibitory);
    assert_eq!(SignMode::determine(&[-1, 1]), SignMode::Mixed);
    assert_eq!(clip_weight(300, SignMode::Mixed), 255);
    assert_eq!(clip_weight(-300, SignMode::Mixed), -256);
    assert_eq!(clip_weight(-5, SignMode::Excitatory), 0);
    assert_eq!(clip_weight(-300, SignMode::Inhibitory), -255);
    assert_eq!(clip_weight(7, SignMode::Inhibitory), 0);
    // Mixed/Excitatory truncate toward -inf, Inhibitory toward zero
    assert_eq!(truncate_weight(41, SignMode::Mixed, 1), 40);
    assert_eq!(truncate_weight(-21, SignMode::Mixed, 1), -22);
    assert_eq!(truncate_weight(-31, SignMode::Mixed, 1), -32);
    assert_eq!(truncate_weight(-21, SignMode::Inhibitory, 2), -20);
    assert_eq!(truncate_weight(23, SignMode::Excitatory, 3), 16);
    // k = 8 - bits + mixed
    let p = |m: SignMode, bits: u8| DenseParams {
        sign_mode: m as u8,
        num_weight_bits: bits,
        weight_exp: 0,
        _pad: 0,
    };
    assert_eq!(p(SignMode::Mixed, 8).truncate_bits(), 1);
    assert_eq!(p(SignMode::Excitatory, 8).truncate_bits(), 0);
    assert_eq!(p(SignMode::Inhibitory, 6).truncate_bits(), 2);
    assert_eq!(p(SignMode::Mixed, 1).truncate_bits(), 8);
    // Dense: clip then truncate, both reported
    let mut w = [41i16, -21, 300, -300, 0];
    let r = prepare_dense_weights(&mut w, &p(SignMode::Mixed, 8)).unwrap();
    assert_eq!(w, [40, -22, 254, -256, 0]);
    assert_eq!((r.clipped, r.truncated, r.out_of_range), (2, 3, 0));
    assert!(!r.is_lossless());
    // LearningDense: no clip; out-of-range weights reported, left as they are
    let mut w = [41i16, -21, 300, -300, 0];
    let r = prepare_learning_weights(&mut w, &p(SignMode::Mixed, 8)).unwrap();
    assert_eq!(w, [40, -22, 300, -300, 0]);
    assert_eq!((r.clipped, r.truncated, r.out_of_range), (0, 2, 2));
    let mut w = [2i16, 4];
    assert!(prepare_dense_weights(&mut w, &p(SignMode::Mixed, 8))
        .unwrap()
        .is_lossless());
    // invalid parameters
    assert_eq!(
        prepare_dense_weights(&mut w, &p(SignMode::Mixed, 9)),
        Err(DenseParamError::NumWeightBits(9))
    );
    let bad = DenseParams {
        sign_mode: 0,
        num_weight_bits: 8,
        weight_exp: 0,
        _pad: 0,
    };
    assert_eq!(bad.validate(), Err(DenseParamError::SignMode(0)));
    let bad = DenseParams {
        weight_exp: 40,
        ..p(SignMode::Mixed, 8)
    };
    assert_eq!(bad.validate(), Err(DenseParamError::WeightExp(40)));
    assert_eq!(core::mem::size_of::<DenseParams>(), 4);
}

#[test]
fn accumulation_exponent_and_delay() {
    // 2 post x 3 pre, row-major [post][pre]
    let w = [10i16, -20, 30, 1, 2, -3];
    let mut a = [0i32; 2];
    accumulate(&w, 0, &[true, false, true], &mut a);
    assert_eq!(a, [40, -2]);
    accumulate(&w, 2, &[true, true, true], &mut a);
    assert_eq!(a, [80, 0]);
    accumulate(&w, -2, &[false, true, false], &mut a);
    assert_eq!(a, [-5, 0]); // -20 >> 2 = -5
    accumulate(&w, -3, &[false, true, true], &mut a);
    assert_eq!(a, [1, -1]); // 10 >> 3 = 1, -1 >> 3 = -1 (floor)
    assert_eq!(scale_activation(-1, -8), -1);
    assert_eq!(scale_activation(1 << 31, 0), i32::MIN); // numpy int32 channel wraps
                                                        // one-step delay: what goes in at t comes out at t + 1
    let mut buf = [0i32; 2];
    let mut out = [0i32; 2];
    dense_step(&w, 0, &[true, false, false], &mut buf, &mut out);
    assert_eq!(out, [0, 0]);
    assert_eq!(buf, [10, 1]);
    let mut out = [5i32, 5];
    dense_step(&w, 0, &[false, false, false], &mut buf, &mut out);
    assert_eq!(out, [15, 6]); // added to what was already there
    assert_eq!(buf, [0, 0]);
    let mut out = [i32::MAX, 0];
    emit(&[1, 0], &mut out);
    assert_eq!(out, [i32::MIN, 0]);
}

/// netx's default neuron values, which Lava runs and `LifParams` accepts
/// beyond the hardware fields: `du = −1` (u never decays), `dv = 4096` (v
/// zeroed before u and the bias are added), `vth = 2^17` (never spikes);
/// population `b` has `du = −1` with an ordinary `dv`/`vth` and spikes.
/// `NETX_DEFAULT_LAVA` is the output of this lava-nc 0.10.0 script (Python
/// 3.10.13, numpy 1.26.4):
///
/// ```python
/// import json, sys
/// import numpy as np
/// from lava.magma.core.run_conditions import RunSteps
/// from lava.magma.core.run_configs import Loihi2SimCfg
/// from lava.proc.dense.models import PyDenseModelBitAcc
/// from lava.proc.dense.process import Dense
/// from lava.proc.io.source import PySendModelFixed, RingBuffer
/// from lava.proc.lif.models import PyLifModelBitAcc
/// from lava.proc.lif.process import LIF
///
/// rs = np.random.RandomState(3)
/// steps, n_in, n = 40, 3, 3
/// inp = (rs.rand(n_in, steps) < 0.5).astype(int)
/// w = rs.randint(-200, 256, (n, n_in))
/// src = RingBuffer(data=inp)
/// d_a = Dense(weights=w, weight_exp=2)
/// d_b = Dense(weights=w, weight_exp=2)
/// a = LIF(shape=(n,), u=0, v=0, du=-1, dv=4096, vth=131072, bias_mant=np.array([5, -7, 0]), bias_exp=6)
/// b = LIF(shape=(n,), u=0, v=0, du=-1, dv=100, vth=300, bias_mant=np.array([5, -7, 0]), bias_exp=6)
/// src.s_out.connect(d_a.s_in); src.s_out.connect(d_b.s_in)
/// d_a.a_out.connect(a.a_in); d_b.a_out.connect(b.a_in)
/// cfg = Loihi2SimCfg(select_tag="fixed_pt", exception_proc_model_map={
///     LIF: PyLifModelBitAcc, Dense: PyDenseModelBitAcc, RingBuffer: PySendModelFixed})
/// rows = []
/// for _ in range(steps):
///     src.run(condition=RunSteps(num_steps=1), run_cfg=cfg)
///     g = lambda x: x.get().astype(int).tolist()
///     rows.append([g(a.u), g(a.v), g(b.u), g(b.v)])
/// src.stop()
/// json.dump(dict(inp=inp.T.tolist(), w=w.tolist(), rows=rows), sys.stdout, separators=(",", ":"))
/// ```
const NETX_DEFAULT_LAVA: &str = r#"{"inp":[[0,1,1],[0,1,0],[1,1,1],[0,1,0],[0,1,0],[0,0,0],[1,0,0],[1,1,1],[1,1,0],[1,1,0],[1,1,0],[1,1,1],[0,0,0],[1,1,0],[0,1,0],[0,1,0],[1,0,0],[0,0,1],[1,0,0],[1,0,1],[1,1,1],[0,0,0],[1,1,0],[1,0,0],[0,1,0],[0,1,0],[1,1,1],[1,1,1],[1,0,0],[0,1,0],[0,0,1],[0,0,1],[0,0,1],[0,1,1],[1,0,1],[1,1,0],[0,1,0],[0,1,1],[1,1,1],[1,1,1]],"w":[[52,-183,235],[127,-187,-105],[252,22,-137]],"rows":[[[0,0,0],[320,-448,0],[0,0,0],[320,-448,0]],[[12800,-75264,-29696],[13120,-75712,-29696],[12800,-75264,-29696],[13432,-76149,-29696]],[[-34304,-123392,-24064],[-33984,-123840,-24064],[-34304,-123392,-24064],[-20880,-198129,-53035]],[[-8192,-166400,10752],[-7872,-166848,10752],[-8192,-166400,10752],[-28242,-360139,-40988]],[[-55296,-214528,16384],[-54976,-214976,16384],[-55296,-214528,16384],[-82528,-566322,-23603]],[[-102400,-262656,22016],[-102080,-263104,22016],[-102400,-262656,22016],[-182593,-815599,-1010]],[[-102400,-262656,22016],[-102080,-263104,22016],[-102400,-262656,22016],[-280215,-1058790,0]],[[-89088,-230400,86528],[-88768,-230848,86528],[-89088,-230400,86528],[-362141,-1263788,0]],[[-62976,-273408,121344],[-62656,-273856,121344],[-62976,-273408,121344],[-415955,-1506789,0]],[[-96768,-289280,191488],[-96448,-289728,191488],[-96768,-289280,191488],[-502247,-1759730,0]],[[-130560,-305152,261632],[-130240,-305600,261632],[-130560,-305152,261632],[-620225,-2022367,0]],[[-164352,-321024,331776],[-164032,-321472,331776],[-164352,-321024,331776],[-769114,-2294464,0]],[[-138240,-364032,366592],[-137920,-364480,366592],[-138240,-364032,366592],[-888256,-2602926,0]],[[-138240,-364032,366592],[-137920,-364480,366592],[-138240,-364032,366592],[-1004490,-2903858,0]],[[-172032,-379904,436736],[-171712,-380352,436736],[-172032,-379904,436736],[-1151678,-3213315,0]],[[-219136,-428032,442368],[-218816,-428480,442368],[-219136,-428032,442368],[-1342376,-3563344,0]],[[-266240,-476160,448000],[-265920,-476608,448000],[-266240,-476160,448000],[-1575523,-3952956,0]],[[-252928,-443904,512512],[-252608,-444352,512512],[-252928,-443904,512512],[-1789666,-4300800,0]],[[-193024,-471040,477184],[-192704,-471488,477184],[-193024,-471040,477184],[-1938676,-4667288,0]],[[-179712,-438784,541696],[-179392,-439232,541696],[-179712,-438784,541696],[-2070737,-4992572,0]],[[-106496,-433664,570880],[-106176,-434112,570880],[-106496,-433664,570880],[-2126357,-5304795,0]],[[-80384,-476672,605696],[-80064,-477120,605696],[-80384,-476672,605696],[-2154507,-5652403,0]],[[-80384,-476672,605696],[-80064,-477120,605696],[-80384,-476672,605696],[-2181970,-5991524,0]],[[-114176,-492544,675840],[-113856,-492992,675840],[-114176,-492544,675840],[-2242555,-6338238,0]],[[-100864,-460288,740352],[-100544,-460736,740352],[-100864,-460288,740352],[-2288349,-6644231,0]],[[-147968,-508416,745984],[-147648,-508864,745984],[-147968,-508416,745984],[-2380129,-6990882,0]],[[-195072,-556544,751616],[-194752,-556992,751616],[-195072,-556544,751616],[-2516772,-7377198,0]],[[-168960,-599552,786432],[-168640,-600000,786432],[-168960,-599552,786432],[-2623967,-7797090,0]],[[-142848,-642560,821248],[-142528,-643008,821248],[-142848,-642560,821248],[-2702433,-8249739,0]],[[-129536,-610304,885760],[-129216,-610752,885760],[-129536,-610304,885760],[-2765671,-8388607,0]],[[-176640,-658432,891392],[-176320,-658880,891392],[-176640,-658432,891392],[-2874469,-8388607,0]],[[-116736,-685568,856064],[-116416,-686016,856064],[-116736,-685568,856064],[-2920707,-8388607,0]],[[-56832,-712704,820736],[-56512,-713152,820736],[-56832,-712704,820736],[-2905912,-8388607,0]],[[3072,-739840,785408],[3392,-740288,785408],[3072,-739840,785408],[-2831574,-8388607,0]],[[15872,-815104,755712],[16192,-815552,755712],[15872,-815104,755712],[-2746251,-8388607,0]],[[89088,-809984,784896],[89408,-810432,784896],[89088,-809984,784896],[-2589795,-8388607,0]],[[55296,-825856,855040],[55616,-826304,855040],[55296,-825856,855040],[-2470951,-8388607,0]],[[8192,-873984,860672],[8512,-874432,860672],[8192,-873984,860672],[-2402113,-8388607,0]],[[20992,-949248,830976],[21312,-949696,830976],[20992,-949248,830976],[-2322155,-8388607,0]],[[47104,-992256,865792],[47424,-992704,865792],[47104,-992256,865792],[-2218037,-8388607,0]]]}"#;

#[test]
fn netx_default_neuron_values_match_lava() {
    let g: Value = serde_json::from_str(NETX_DEFAULT_LAVA).unwrap();
    let ints = |v: &Value| -> Vec<i64> { v.as_array().unwrap().iter().map(|x| x.as_i64().unwrap()).collect() };
    let mut w: Vec<i16> = g["w"].as_array().unwrap().iter().flat_map(&ints).map(|x| x as i16).collect();
    let dp = DenseParams { weight_exp: 2, ..DenseParams::new(SignMode::determine(&w)) };
    prepare_dense_weights(&mut w, &dp).unwrap();
    let bias = [5i16, -7, 0];
    let pa = LifParams { du: -1, dv: 4096, vth: 131072, bias_mant: 0, bias_exp: 6 };
    let pb = LifParams { dv: 100, vth: 300, ..pa };
    pa.validate().unwrap();
    pb.validate().unwrap();
    let n = 3;
    let (mut ua, mut va, mut ub, mut vb) = (vec![0; n], vec![0; n], vec![0; n], vec![0; n]);
    let (mut buf_a, mut buf_b) = (vec![0i32; n], vec![0i32; n]);
    let (mut sa, mut sb) = (vec![false; n], vec![false; n]);
    let (mut spikes_a, mut spikes_b) = (0, 0);
    for (t, (row, inp)) in g["rows"].as_array().unwrap().iter().zip(g["inp"].as_array().unwrap()).enumerate() {
        let s_in: Vec<bool> = ints(inp).iter().map(|&x| x != 0).collect();
        let (mut a_in_a, mut a_in_b) = (vec![0i32; n], vec![0i32; n]);
        dense_step(&w, dp.weight_exp, &s_in, &mut buf_a, &mut a_in_a);
        dense_step(&w, dp.weight_exp, &s_in, &mut buf_b, &mut a_in_b);
        spikes_a += lif_step_bias(&pa, &bias, &mut ua, &mut va, &a_in_a, &mut sa);
        spikes_b += lif_step_bias(&pb, &bias, &mut ub, &mut vb, &a_in_b, &mut sb);
        let r = row.as_array().unwrap();
        let got: Vec<Vec<i64>> = [&ua, &va, &ub, &vb].iter().map(|x| x.iter().map(|&y| y as i64).collect()).collect();
        let want: Vec<Vec<i64>> = r.iter().map(ints).collect();
        assert_eq!(got, want, "step {}: [a.u, a.v, b.u, b.v]", t + 1);
    }
    assert_eq!(spikes_a, 0, "vth = 2^17 never spikes");
    assert!(spikes_b > 0, "population b spikes");
}
