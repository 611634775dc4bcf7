//! Every synapse of a convolution or pooling projection, for the emulator.
//!
//! Neuron indices are row-major over the population's IR shape, (C, H, W)
//! (a 1-D layer (C, L) is read as (C, 1, L)). The IR keeps the kernel as the
//! file stores it, `(outChannels, inChannels/groups, kH, kW)`, with stride,
//! padding and dilation as (y, x). The operation is PyTorch's / NIR's
//! `conv2d` (a cross-correlation):
//!
//! ```text
//! out[co, yo, xo] = sum over ci in co's group, ky, kx of
//!     w[co, ci - g0, ky, kx] * in[ci, yo*sy - py + ky*dy, xo*sx - px + kx*dx]
//! ```
//!
//! which is exactly what netx/Lava compute: netx flips the stored kernel
//! (`[:, :, ::-1, ::-1]`), transposes it to (out, W, H, in) and Lava's `Conv`
//! then performs a true convolution in (W, H, C) order; the two flips cancel.
//! Positions that fall into the zero padding have no synapse.

use crate::ir;

/// Why a convolution's synapses cannot be listed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{0}")]
pub struct ConvError(pub String);

/// A 2-D view of a (C, H, W) or (C, L) shape.
fn chw(shape: &[u32], what: &str) -> Result<(usize, usize, usize), ConvError> {
    match shape {
        [c, h, w] => Ok((*c as usize, *h as usize, *w as usize)),
        [c, l] => Ok((*c as usize, 1, *l as usize)),
        other => Err(ConvError(format!("{what} shape {other:?}: expected (C, H, W) or (C, L)"))),
    }
}

/// A (y, x) parameter: two values, or one value for both (0 values = `default`).
fn yx(v: &[u32], name: &str, default: u32) -> Result<(usize, usize), ConvError> {
    match v {
        [] => Ok((default as usize, default as usize)),
        [a] => Ok((*a as usize, *a as usize)),
        [y, x] => Ok((*y as usize, *x as usize)),
        other => Err(ConvError(format!("{name} {other:?}: expected (y, x)"))),
    }
}

/// Output size of one spatial axis, `floor((n + 2p - d(k-1) - 1) / s) + 1`, or
/// `None` when the kernel does not fit.
pub fn conv_out_len(n: usize, k: usize, s: usize, p: usize, d: usize) -> Option<usize> {
    let span = d.checked_mul(k.checked_sub(1)?)?.checked_add(1)?;
    let padded = n.checked_add(2 * p)?;
    if s == 0 || padded < span {
        return None;
    }
    Some((padded - span) / s + 1)
}

/// Lists every synapse `(pre, post, weight)` of convolution `c` from a
/// population of shape `in_shape` to one of shape `out_shape`, sorted by
/// (pre, post). Checks channels, groups, the kernel size and the output shape.
pub fn conv_synapses(c: &ir::Convolution, in_shape: &[u32], out_shape: &[u32]) -> Result<Vec<(u32, u32, f64)>, ConvError> {
    let (ci_n, h, w) = chw(in_shape, "input")?;
    let (co_n, ho, wo) = chw(out_shape, "output")?;
    let groups = c.groups.max(1) as usize;
    if c.in_channels as usize != ci_n || c.out_channels as usize != co_n {
        return Err(ConvError(format!(
            "convolution has {} -> {} channels but the populations have {ci_n} -> {co_n}",
            c.in_channels, c.out_channels
        )));
    }
    if ci_n % groups != 0 || co_n % groups != 0 {
        return Err(ConvError(format!("{groups} groups do not divide {ci_n} input and {co_n} output channels")));
    }
    let (kh, kw) = match c.weight_shape.as_slice() {
        [o, i, kh, kw] if *o as usize == co_n && *i as usize == ci_n / groups => (*kh as usize, *kw as usize),
        other => {
            return Err(ConvError(format!(
                "weight_shape {other:?}: expected (outChannels {co_n}, inChannels/groups {}, kH, kW)",
                ci_n / groups
            )))
        }
    };
    if c.weight.len() != co_n * (ci_n / groups) * kh * kw {
        return Err(ConvError(format!("{} weights for weight_shape {:?}", c.weight.len(), c.weight_shape)));
    }
    let (sy, sx) = yx(&c.stride, "stride", 1)?;
    let (py, px) = yx(&c.padding, "padding", 0)?;
    let (dy, dx) = yx(&c.dilation, "dilation", 1)?;
    let want = (conv_out_len(h, kh, sy, py, dy), conv_out_len(w, kw, sx, px, dx));
    if want != (Some(ho), Some(wo)) {
        return Err(ConvError(format!(
            "an input of (H, W) = ({h}, {w}) with kernel ({kh}, {kw}), stride ({sy}, {sx}), padding ({py}, {px}), dilation ({dy}, {dx}) gives (H, W) = {:?}, but the output population is ({ho}, {wo})",
            (want.0.unwrap_or(0), want.1.unwrap_or(0))
        )));
    }
    let cig = ci_n / groups;
    let cog = co_n / groups;
    let mut out = Vec::new();
    for co in 0..co_n {
        let g0 = (co / cog) * cig;
        for yo in 0..ho {
            for xo in 0..wo {
                let post = (co * ho + yo) * wo + xo;
                for cl in 0..cig {
                    for ky in 0..kh {
                        let Some(yi) = (yo * sy + ky * dy).checked_sub(py).filter(|&y| y < h) else { continue };
                        for kx in 0..kw {
                            let Some(xi) = (xo * sx + kx * dx).checked_sub(px).filter(|&x| x < w) else { continue };
                            let pre = ((g0 + cl) * h + yi) * w + xi;
                            let wt = c.weight[((co * cig + cl) * kh + ky) * kw + kx];
                            out.push((pre as u32, post as u32, wt));
                        }
                    }
                }
            }
        }
    }
    out.sort_by_key(|s| (s.0, s.1));
    Ok(out)
}

/// Lists every synapse of a (sum) pooling projection: each channel is pooled
/// on its own, `out[c, yo, xo] = sum over ky, kx of weight * in[c, yo*sy - py +
/// ky*dy, xo*sx - px + kx*dx]`. `weight` holds one value for every tap, or one
/// per kernel position (kH x kW). Sorted by (pre, post).
pub fn pool_synapses(p: &ir::Pooling, in_shape: &[u32], out_shape: &[u32]) -> Result<Vec<(u32, u32, f64)>, ConvError> {
    let (c_n, h, w) = chw(in_shape, "input")?;
    let (co_n, ho, wo) = chw(out_shape, "output")?;
    if c_n != co_n {
        return Err(ConvError(format!("pooling keeps the channels, but the populations have {c_n} -> {co_n}")));
    }
    let (kh, kw) = yx(&p.kernel_size, "kernelSize", 1)?;
    let (sy, sx) = yx(&p.stride, "stride", 1)?;
    let (py, px) = yx(&p.padding, "padding", 0)?;
    let (dy, dx) = yx(&p.dilation, "dilation", 1)?;
    if !(p.weight.len() == 1 || p.weight.len() == kh * kw) {
        return Err(ConvError(format!("{} pooling weights; expected 1 or kH x kW = {}", p.weight.len(), kh * kw)));
    }
    if (conv_out_len(h, kh, sy, py, dy), conv_out_len(w, kw, sx, px, dx)) != (Some(ho), Some(wo)) {
        return Err(ConvError(format!("pooling ({h}, {w}) with kernel ({kh}, {kw}) and stride ({sy}, {sx}) does not give the output population's ({ho}, {wo})")));
    }
    let mut out = Vec::new();
    for c in 0..c_n {
        for yo in 0..ho {
            for xo in 0..wo {
                let post = (c * ho + yo) * wo + xo;
                for ky in 0..kh {
                    let Some(yi) = (yo * sy + ky * dy).checked_sub(py).filter(|&y| y < h) else { continue };
                    for kx in 0..kw {
                        let Some(xi) = (xo * sx + kx * dx).checked_sub(px).filter(|&x| x < w) else { continue };
                        let wt = if p.weight.len() == 1 { p.weight[0] } else { p.weight[ky * kw + kx] };
                        out.push((((c * h + yi) * w + xi) as u32, post as u32, wt));
                    }
                }
            }
        }
    }
    out.sort_by_key(|s| (s.0, s.1));
    Ok(out)
}
