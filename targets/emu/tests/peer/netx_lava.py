# Builds the network of a lava-dl netx file in Lava 0.10 (as netx's hdf5.Network
# would: Dense/DelayDense + LIF per dense layer, Conv + LIF per conv layer, netx's
# parameter mapping and weight-bit optimisation), drives its input with a spike
# raster through a RingBuffer and prints every layer's spikes (and u/v of one
# layer per step) as JSON.
import json, sys
import numpy as np
import h5py
from lava.magma.core.run_conditions import RunSteps
from lava.magma.core.run_configs import Loihi2SimCfg
from lava.proc.io.source import RingBuffer
from lava.proc.monitor.process import Monitor
from lava.proc.lif.process import LIF
from lava.proc.lif.models import PyLifModelBitAcc
from lava.proc.dense.process import Dense, DelayDense
from lava.proc.dense.models import PyDenseModelBitAcc, PyDelayDenseModelBitAcc
from lava.proc.conv.process import Conv
from lava.proc.conv.models import PyConvModelFixed
from lava.utils.weightutils import SignMode

net_path, raster_path, probe_layer = sys.argv[1], sys.argv[2], int(sys.argv[3])
raster = np.load(raster_path)            # (steps, neurons): IR (C, H, W) order
T = raster.shape[0]

def optimize_weight_bits(weight):
    # lava.lib.dl.netx.utils.optimize_weight_bits (lava-dl d825ac5), verbatim logic
    max_weight = np.max(weight); min_weight = np.min(weight)
    if max_weight > 254 and min_weight < 0:
        weight = np.clip(weight, -256, 254); max_weight = np.max(weight)
    if min_weight < -256 and max_weight > 0:
        weight = np.clip(weight, -256, 254); min_weight = np.min(weight)
    if max_weight < 0:
        sign_mode, is_signed = SignMode.INHIBITORY, 0
    elif min_weight >= 0:
        sign_mode, is_signed = SignMode.EXCITATORY, 0
    else:
        sign_mode, is_signed = SignMode.MIXED, 1
    if sign_mode == SignMode.MIXED:
        scale = np.min([127 / max_weight, -128 / min_weight])
    elif sign_mode == SignMode.INHIBITORY:
        scale = -256 / min_weight
    else:
        scale = 255 / max_weight
    scale_bits = np.floor(np.log2(scale)) + is_signed
    n = 8
    while n > 0:
        if np.sum(np.abs(weight / (2**n) - np.round(weight / (2**n)))) == 0:
            break
        n -= 1
    n -= is_signed
    num_weight_bits = 8 - scale_bits - n
    weight_exponent = -scale_bits
    weight = np.left_shift(weight.astype(np.int32), int(scale_bits))
    return weight.astype(int), int(num_weight_bits), int(weight_exponent)

# netx's neuron of a dense layer without a neuron group (hdf5.py create_dense),
# including its precedence quirk: 1 << 18 - 1 == 1 << 17.
DEFAULT_NEURON = {'type': 'CUBA', 'iDecay': 0, 'vDecay': 4096, 'vThMant': 1 << 18 - 1, 'refDelay': 1, 'gradedSpike': False}

def field(neuron, key):
    x = neuron[key]
    return int(x[()]) if hasattr(x, 'shape') else int(x)

def lif_params(neuron, bias, shape):
    p = dict(shape=shape, vth=field(neuron, 'vThMant'), du=field(neuron, 'iDecay') - 1,
             dv=field(neuron, 'vDecay'), bias_exp=6)
    if bias is not None:
        p['bias_mant'] = bias.astype(np.int32)
    return p

f = h5py.File(net_path, 'r')
keys = sorted(f['layer'].keys(), key=int)
layers = []       # (name, lif process, ir_to_lava index permutation or None)
prev_out = None   # OutPort feeding the next layer
prev_shape = None # Lava shape of prev_out
src = None
procs = []
for k in keys:
    g = f['layer'][k]
    kind = g['type'][()][0].decode() if g['type'].shape else g['type'][()].decode()
    if kind == 'input':
        shape = tuple(int(x) for x in g['shape'][()][::-1])  # (W, H, C)
        # the raster gives the input layer's output spikes
        C, H, W = shape[2], shape[1], shape[0]
        data = raster.T.reshape(C, H, W, T).transpose(2, 1, 0, 3)   # (W, H, C, T)
        src = RingBuffer(data=data.astype(float))
        prev_out, prev_shape = src.s_out, shape
        continue
    if kind == 'flatten':
        continue
    if kind in ('dense', 'dense_rec'):
        w = g['weight'][()]
        n = int(np.prod(g['shape'][()]))
        if w.ndim == 1:
            w = w.reshape(n, -1)
        if prev_out is None:
            src = RingBuffer(data=raster.T.astype(float))
            prev_out, prev_shape = src.s_out, (w.shape[1],)
        w, nwb, wexp = optimize_weight_bits(w)
        if 'delay' in g:
            d = g['delay'][()]
            if d.max() > 62:
                d = np.clip(d, 0, 62)
            if np.isscalar(d) or d.ndim == 0:
                d = d * np.ones_like(w)
            elif d.size == w.shape[0]:
                d = np.repeat(d.reshape(-1, 1), w.shape[1], axis=1)
            else:
                d = np.repeat(d.reshape(1, -1), w.shape[0], axis=0)
            syn = DelayDense(weights=w, delays=d.astype(int), weight_exp=wexp, max_delay=62, num_weight_bits=nwb, num_message_bits=0)
        else:
            syn = Dense(weights=w, weight_exp=wexp, num_weight_bits=nwb, num_message_bits=0)
        bias = g['bias'][()] if 'bias' in g else None
        lif = LIF(**lif_params(g['neuron'] if 'neuron' in g else DEFAULT_NEURON, bias, (n,)))
        if len(prev_shape) > 1:
            prev_out.transpose([2, 1, 0]).flatten().connect(syn.s_in)
        else:
            prev_out.connect(syn.s_in)
        syn.a_out.connect(lif.a_in)
        layers.append((k, lif, None))
        prev_out, prev_shape = lif.s_out, (n,)
        continue
    if kind == 'conv':
        def expand(x):
            x = np.array(x)
            return np.array([x, x]) if x.ndim == 0 or x.size == 1 and x.ndim == 0 else x[::-1]
        shape = tuple(int(x) for x in g['shape'][()][::-1])
        w = g['weight'][()][:, :, ::-1, ::-1]
        w = w.reshape(w.shape[:4]).transpose((0, 3, 2, 1))
        syn = Conv(weight=w.astype(int), input_shape=prev_shape, stride=expand(g['stride'][()]),
                   padding=expand(g['padding'][()]), dilation=expand(g['dilation'][()]),
                   groups=int(g['groups'][()]))
        bias = g['bias'][()] if 'bias' in g else None
        lif = LIF(**lif_params(g['neuron'], bias, shape))
        prev_out.connect(syn.s_in)
        syn.a_out.connect(lif.a_in)
        layers.append((k, lif, shape))
        prev_out, prev_shape = lif.s_out, shape
        continue
    raise SystemExit(f'layer {k}: type {kind} not handled by the peer script')

mons = []
for name, lif, shape in layers:
    m = Monitor(); m.probe(lif.s_out, T); mons.append(m)
probe = layers[probe_layer][1]
mu = Monitor(); mu.probe(probe.u, T)
mv = Monitor(); mv.probe(probe.v, T)
cfg = Loihi2SimCfg(select_tag='fixed_pt', exception_proc_model_map={
    LIF: PyLifModelBitAcc, Dense: PyDenseModelBitAcc, DelayDense: PyDelayDenseModelBitAcc, Conv: PyConvModelFixed})
src.run(condition=RunSteps(num_steps=T), run_cfg=cfg)

def ir_order(x, shape):
    # x: (..., W, H, C) flattened in Lava order -> IR (C, H, W) row-major
    if shape is None:
        return x
    W, H, C = shape
    return x.reshape(x.shape[0], W, H, C).transpose(0, 3, 2, 1).reshape(x.shape[0], -1)

out = {'spikes': {}, 'u': None, 'v': None}
for (name, lif, shape), m in zip(layers, mons):
    d = m.get_data()[lif.name][lif.s_out.name]          # (T, *shape)
    d = ir_order(d.reshape(T, -1), shape)
    out['spikes'][f'layer{name}'] = [[int(t) + 1, int(i)] for t, i in zip(*np.nonzero(d))]
pshape = layers[probe_layer][2]
out['u'] = ir_order(mu.get_data()[probe.name][probe.u.name].reshape(T, -1), pshape).astype(int).tolist()
out['v'] = ir_order(mv.get_data()[probe.name][probe.v.name].reshape(T, -1), pshape).astype(int).tolist()
out['probe'] = f'layer{layers[probe_layer][0]}'
src.stop()
print(json.dumps(out))
