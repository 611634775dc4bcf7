//! `conv_synapses` against a convolution computed directly, and against
//! netx/Lava's own recipe (flip + transpose the kernel, then a true
//! convolution in (W, H, C) order).

use spikeforge_compiler::import::conv::{conv_synapses, pool_synapses};
use spikeforge_compiler::ir;
use spikeforge_formats::netx::netx_conv_kernel;

/// Applies a synapse list to an input vector.
fn apply(syn: &[(u32, u32, f64)], input: &[f64], n_out: usize) -> Vec<f64> {
    let mut out = vec![0.0; n_out];
    for &(pre, post, w) in syn {
        out[post as usize] += w * input[pre as usize];
    }
    out
}

fn conv(cin: u32, cout: u32, k: (u32, u32), stride: (u32, u32), pad: (u32, u32), dil: (u32, u32), groups: u32) -> ir::Convolution {
    let n = (cout * cin / groups * k.0 * k.1) as usize;
    ir::Convolution {
        in_channels: cin,
        out_channels: cout,
        kernel_size: vec![k.0, k.1],
        stride: vec![stride.0, stride.1],
        padding: vec![pad.0, pad.1],
        dilation: vec![dil.0, dil.1],
        groups,
        // Distinct, sign-mixed values so that any index mix-up shows.
        weight: (0..n).map(|i| ((i * 37 % 23) as f64) - 11.0).collect(),
        weight_shape: vec![cout, cin / groups, k.0, k.1],
    }
}

#[test]
fn a_2x3_input_by_hand() {
    // One channel, input 2x3 (rows y, cols x), kernel 2x2 [[1, 2], [3, 4]], stride 1, no padding:
    // out is 1x2; out[0][0] = 1*a + 2*b + 3*d + 4*e (cross-correlation).
    let c = ir::Convolution {
        in_channels: 1,
        out_channels: 1,
        kernel_size: vec![2, 2],
        stride: vec![1, 1],
        padding: vec![0, 0],
        dilation: vec![1, 1],
        groups: 1,
        weight: vec![1.0, 2.0, 3.0, 4.0],
        weight_shape: vec![1, 1, 2, 2],
    };
    let syn = conv_synapses(&c, &[1, 2, 3], &[1, 1, 2]).unwrap();
    // input indices: a=0 b=1 c=2 / d=3 e=4 f=5
    assert_eq!(syn, vec![(0, 0, 1.0), (1, 0, 2.0), (1, 1, 1.0), (2, 1, 2.0), (3, 0, 3.0), (4, 0, 4.0), (4, 1, 3.0), (5, 1, 4.0)]);
    assert!(conv_synapses(&c, &[1, 2, 3], &[1, 2, 2]).is_err(), "wrong output shape is refused");
    assert!(conv_synapses(&c, &[2, 2, 3], &[1, 1, 2]).is_err(), "wrong channel count is refused");
}

/// Direct PyTorch-style conv2d on (C, H, W) data.
#[allow(clippy::too_many_arguments)]
fn direct(c: &ir::Convolution, x: &[f64], (ci, h, w): (usize, usize, usize), (co, ho, wo): (usize, usize, usize)) -> Vec<f64> {
    let g = c.groups as usize;
    let (kh, kw) = (c.kernel_size[0] as usize, c.kernel_size[1] as usize);
    let (sy, sx, py, px, dy, dx) =
        (c.stride[0] as i64, c.stride[1] as i64, c.padding[0] as i64, c.padding[1] as i64, c.dilation[0] as i64, c.dilation[1] as i64);
    let mut out = vec![0.0; co * ho * wo];
    for o in 0..co {
        let grp = o / (co / g);
        for yo in 0..ho {
            for xo in 0..wo {
                let mut acc = 0.0;
                for cl in 0..ci / g {
                    for ky in 0..kh {
                        for kx in 0..kw {
                            let yi = yo as i64 * sy - py + ky as i64 * dy;
                            let xi = xo as i64 * sx - px + kx as i64 * dx;
                            if yi < 0 || xi < 0 || yi >= h as i64 || xi >= w as i64 {
                                continue;
                            }
                            let cin = grp * (ci / g) + cl;
                            acc += c.weight[((o * (ci / g) + cl) * kh + ky) * kw + kx] * x[(cin * h + yi as usize) * w + xi as usize];
                        }
                    }
                }
                out[(o * ho + yo) * wo + xo] = acc;
            }
        }
    }
    out
}

/// Lava's recipe: netx flips/transposes the kernel to (out, kW, kH, in/g); Lava
/// convolves (true convolution, scipy `convolve2d` 'valid' on the padded
/// input, then strides) in (X=W, Y=H, C) order.
fn lava(c: &ir::Convolution, x_chw: &[f64], (ci, h, w): (usize, usize, usize), (co, ho, wo): (usize, usize, usize)) -> Vec<f64> {
    let ws: Vec<usize> = c.weight_shape.iter().map(|&d| d as usize).collect();
    let (shape, kern) = netx_conv_kernel(&ws, &c.weight).unwrap(); // [out, kW, kH, in/g]
    let (kw, kh, cig) = (shape[1], shape[2], shape[3]);
    let g = c.groups as usize;
    let (sx, sy) = (c.stride[1] as usize, c.stride[0] as usize);
    let (px, py) = (c.padding[1] as usize, c.padding[0] as usize);
    let (dx, dy) = (c.dilation[1] as usize, c.dilation[0] as usize);
    // Input in (X, Y, C), zero padded.
    let (xp, yp) = (w + 2 * px, h + 2 * py);
    let mut inp = vec![0.0; xp * yp * ci];
    for cc in 0..ci {
        for yy in 0..h {
            for xx in 0..w {
                inp[((xx + px) * yp + (yy + py)) * ci + cc] = x_chw[(cc * h + yy) * w + xx];
            }
        }
    }
    // Dilated kernel size.
    let (kxd, kyd) = (dx * (kw - 1) + 1, dy * (kh - 1) + 1);
    let mut out_xyc = vec![0.0; wo * ho * co];
    for o in 0..co {
        let grp = o / (co / g);
        for cl in 0..cig {
            let cc = grp * cig + cl;
            // 'valid' true convolution: full[x][y] = sum_{a,b} in[x + a][y + b] * kd[kxd-1-a][kyd-1-b]
            for xo in 0..wo {
                for yo in 0..ho {
                    let (x0, y0) = (xo * sx, yo * sy);
                    let mut acc = 0.0;
                    for a in 0..kxd {
                        for b in 0..kyd {
                            let (p, q) = (kxd - 1 - a, kyd - 1 - b);
                            if p % dx != 0 || q % dy != 0 {
                                continue;
                            }
                            let kv = kern[((o * kw + p / dx) * kh + q / dy) * cig + cl];
                            acc += inp[((x0 + a) * yp + (y0 + b)) * ci + cc] * kv;
                        }
                    }
                    out_xyc[(xo * ho + yo) * co + o] += acc;
                }
            }
        }
    }
    // Back to (C, H, W).
    let mut out = vec![0.0; co * ho * wo];
    for o in 0..co {
        for yo in 0..ho {
            for xo in 0..wo {
                out[(o * ho + yo) * wo + xo] = out_xyc[(xo * ho + yo) * co + o];
            }
        }
    }
    out
}

#[test]
fn matches_a_direct_convolution_and_netx_lava_semantics() {
    let cases = [
        // (cin, cout, k, stride, pad, dil, groups, h, w)
        (1u32, 1u32, (3u32, 3u32), (1u32, 1u32), (0u32, 0u32), (1u32, 1u32), 1u32, 5u32, 6u32),
        (3, 4, (5, 5), (2, 2), (0, 0), (1, 1), 1, 16, 16), // lava_tiny's first layer
        (2, 4, (2, 3), (1, 2), (1, 0), (1, 1), 2, 5, 7),
        (4, 2, (3, 2), (2, 1), (2, 1), (2, 1), 2, 9, 6),
        (2, 3, (3, 3), (1, 1), (1, 1), (1, 2), 1, 6, 8),
    ];
    for (ci, co, k, s, p, d, g, h, w) in cases {
        let c = conv(ci, co, k, s, p, d, g);
        let ho = (h + 2 * p.0 - d.0 * (k.0 - 1) - 1) / s.0 + 1;
        let wo = (w + 2 * p.1 - d.1 * (k.1 - 1) - 1) / s.1 + 1;
        let (ins, outs) = ((ci as usize, h as usize, w as usize), (co as usize, ho as usize, wo as usize));
        let x: Vec<f64> = (0..ci * h * w).map(|i| ((i * 13 % 17) as f64) * 0.5 - 3.0).collect();
        let syn = conv_synapses(&c, &[ci, h, w], &[co, ho, wo]).unwrap();
        let got = apply(&syn, &x, outs.0 * outs.1 * outs.2);
        assert_eq!(got, direct(&c, &x, ins, outs), "direct, case {:?}", (ci, co, k, s, p, d, g));
        let l = lava(&c, &x, ins, outs);
        for (a, b) in got.iter().zip(&l) {
            assert!((a - b).abs() < 1e-9, "lava, case {:?}: {a} vs {b}", (ci, co, k, s, p, d, g));
        }
        assert!(syn.windows(2).all(|p| (p[0].0, p[0].1) < (p[1].0, p[1].1)), "sorted, no duplicates");
    }
}

#[test]
fn conv1d_shapes_read_as_one_row() {
    let c = conv(2, 3, (1, 3), (1, 2), (0, 1), (1, 1), 1);
    let syn = conv_synapses(&c, &[2, 9], &[3, 5]).unwrap();
    let x: Vec<f64> = (0..18).map(|i| i as f64).collect();
    assert_eq!(apply(&syn, &x, 15), direct(&c, &x, (2, 1, 9), (3, 1, 5)));
}

#[test]
fn sum_pooling_pools_each_channel() {
    let p = ir::Pooling { kernel_size: vec![2, 2], stride: vec![2, 2], padding: vec![0, 0], dilation: vec![1, 1], weight: vec![1.0], weight_shape: vec![1] };
    let syn = pool_synapses(&p, &[2, 4, 4], &[2, 2, 2]).unwrap();
    let x: Vec<f64> = (0..32).map(|i| i as f64).collect();
    let y = apply(&syn, &x, 8);
    // channel 0, top-left window: 0 + 1 + 4 + 5
    assert_eq!(y[0], 10.0);
    // channel 1, bottom-right window: 16 + (10 + 11 + 14 + 15)
    assert_eq!(y[7], 16.0 * 4.0 + 50.0);
    assert!(pool_synapses(&p, &[2, 4, 4], &[1, 2, 2]).is_err());
}
