#!/usr/bin/env python3
"""Brian2 C++ standalone on the emulator benchmark's networks, and the ratios.

Called by scripts/bench.sh (which creates the venv and runs the emulator
benchmark first):

  bench_brian2.py --bench-bin PATH --ours target/bench/emulator.json \
                  --out target/bench/results.json [--reps N] [--workdir DIR]

For every network configuration (network, dt, duration) in the emulator's
results, the bench binary exports the expanded float network
(`--export DIR --case NAME`: synapse lists, delays in steps, initial V,
spike-source trains, model parameters) and this script builds the identical
network in Brian2's C++ standalone device:

* IF_curr_exp in our units, exact integration (Brian2's CUBA formulation
  with the synaptic drive as a current):
      dv/dt  = (v_rest - v + R (I_e - I_i + i_offset)) / tau_m  (unless refractory)
      dI_e/dt = -I_e / tau_syn_e,  dI_i/dt = -I_i / tau_syn_i
  threshold v >= v_thresh, reset v = v_reset, refractory tau_refrac;
* one Synapses object per projection with its exported (i, j, w) lists:
  on_pre 'I_e_post += w' (or I_i for inhibitory receptors);
* delays: the emulator applies a spike of step t to the update of step
  t + d; Brian2 with delay 0 applies a spike of step t to the update of
  step t + 1, so the Brian2 delay is (d - 1) dt;
* spike sources: SpikeGeneratorGroup with the exported trains.

Brian2's loop time is its own timer around Network::run
(`device._last_run_time`, CPU time of the one thread when OpenMP is off,
the standard used in /work/shared/reference/benchmarks/bench_brian2.py);
the code generation and g++ build are excluded. Synaptic events are counted
exactly: per pre population, spikes x out-degree. Peak memory is the
binary's max RSS (os.wait4 on a separate run). The ratios compare
the same network, dt and duration in the same run of bench.sh.
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import time

import numpy as np

p = argparse.ArgumentParser()
p.add_argument('--bench-bin', required=True)
p.add_argument('--ours', required=True)
p.add_argument('--out', required=True)
p.add_argument('--reps', type=int, default=5)
p.add_argument('--workdir', default='target/bench/brian2')
p.add_argument('--threads', type=int, nargs='*', default=[0],
               help='OpenMP threads for Brian2 (0 = no OpenMP, the single-threaded reference)')
args = p.parse_args()

import brian2  # noqa: E402
from brian2 import (NeuronGroup, Synapses, SpikeGeneratorGroup, SpikeMonitor, Network,  # noqa: E402
                    set_device, device, prefs, defaultclock, ms, mV, nA, Mohm, second)


def loadavg():
    with open('/proc/loadavg') as f:
        return f.read().split()[:4]


def export(case, d):
    if os.path.exists(d):
        shutil.rmtree(d)
    subprocess.run([args.bench_bin, '--export', d, '--case', case], check=True)
    with open(os.path.join(d, 'network.json')) as f:
        return json.load(f)


def build(net, d, outdir, threads):
    """Builds the network in the C++ standalone device; returns (device, counter)."""
    device.reinit()
    device.activate()
    set_device('cpp_standalone', directory=outdir, build_on_run=False)
    prefs.devices.cpp_standalone.openmp_threads = threads
    prefs.devices.cpp_standalone.extra_make_args_unix = ['-j2']
    dt = net['dt_ms']
    defaultclock.dt = dt * ms
    groups = {}
    objects = []
    monitors = []
    for pop in net['populations']:
        m = pop['model']
        name, n = pop['name'], pop['size']
        if m['kind'] == 'if_curr_exp':
            r_mohm = m['tau_m_ms'] / m['cm_nf']
            ns = dict(v_rest=m['v_rest_mv'] * mV, R=r_mohm * Mohm, tau_m=m['tau_m_ms'] * ms,
                      tau_e=m['tau_syn_e_ms'] * ms, tau_i=m['tau_syn_i_ms'] * ms,
                      i_offset=m['i_offset_na'] * nA, v_thresh=m['v_thresh_mv'] * mV,
                      v_reset=m['v_reset_mv'] * mV)
            eqs = '''
            dv/dt = (v_rest - v + R * (I_e - I_i + i_offset)) / tau_m : volt (unless refractory)
            dI_e/dt = -I_e / tau_e : amp
            dI_i/dt = -I_i / tau_i : amp
            '''
            g = NeuronGroup(n, eqs, threshold='v >= v_thresh', reset='v = v_reset',
                            refractory=m['tau_refrac_ms'] * ms, method='exact', namespace=ns, name=name)
            g.v = np.load(os.path.join(d, f'{name}_v_init.npy')) * mV
        else:
            idx = np.load(os.path.join(d, f'{name}_spike_i.npy'))
            step = np.load(os.path.join(d, f'{name}_spike_step.npy'))
            # A spike the emulator emits in step s is a Brian2 spike in the time step (s - 1) dt.
            g = SpikeGeneratorGroup(n, idx, (step - 1) * dt * ms, name=name)
        groups[name] = g
        objects.append(g)
        mon = SpikeMonitor(g, record=False, name=f'{name}_spikes')
        monitors.append((name, mon))
        objects.append(mon)
    outdeg = {}
    for proj in net['projections']:
        name = proj['name']
        pre = np.load(os.path.join(d, f'{name}_pre.npy'))
        post = np.load(os.path.join(d, f'{name}_post.npy'))
        weights = np.load(os.path.join(d, f'{name}_weight.npy'))
        delay = np.load(os.path.join(d, f'{name}_delay.npy'))
        target = 'I_i_post' if proj['receptor'] == 'inhibitory' else 'I_e_post'
        s = Synapses(groups[proj['pre']], groups[proj['post']], 'w : amp', on_pre=f'{target} += w', name=name)
        s.connect(i=pre, j=post)
        s.w = weights * nA
        if np.all(delay == delay[0]):
            s.delay = (int(delay[0]) - 1) * dt * ms
        else:
            s.delay = (delay - 1) * dt * ms
        objects.append(s)
        n_pre = next(q['size'] for q in net['populations'] if q['name'] == proj['pre'])
        outdeg.setdefault(proj['pre'], np.zeros(n_pre, dtype=np.int64))
        outdeg[proj['pre']] += np.bincount(pre, minlength=n_pre)
    netw = Network(*objects)
    netw.run(net['steps'] * dt * ms)

    def count():
        spikes = 0
        events = 0
        for name, mon in monitors:
            c = np.asarray(mon.count[:]).astype(np.int64)
            if groups[name].__class__.__name__ == 'NeuronGroup':
                spikes += int(c.sum())
            if name in outdeg:
                events += int((c * outdeg[name]).sum())
        return spikes, events
    return count


def max_rss_kb(outdir):
    """Runs the built binary once more, alone, and returns its max RSS (kB)."""
    proc = subprocess.Popen(['./main'], cwd=outdir, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, status, ru = os.wait4(proc.pid, 0)
    return ru.ru_maxrss if status == 0 else None


def median(v):
    return float(np.median(v))


with open(args.ours) as f:
    ours = json.load(f)

ours['cases'] = [c for c in ours['cases'] if 'error' not in c] + [c for c in ours['cases'] if 'error' in c]
configs = []
for c in ours['cases']:
    if 'error' in c:
        continue
    key = (c['network'], c['dt_ms'], c['duration_s'])
    if key not in [k for k, _ in configs]:
        configs.append((key, c['name']))

brian = []
for (network, dt, dur), case in configs:
    d = os.path.join(args.workdir, 'export', case)
    net = export(case, d)
    if any(proj.get('plasticity') for proj in net['projections']):
        # This script builds static networks only; the plastic cases have no Brian2 twin here yet.
        print(f"brian2: {case} has plastic projections; skipped (no Brian2 twin in this script)", file=sys.stderr)
        continue
    for threads in args.threads:
        outdir = os.path.abspath(os.path.join(args.workdir, f'{network}_dt{dt}_{dur}s_th{threads}'))
        if os.path.exists(outdir):
            shutil.rmtree(outdir)
        count = build(net, d, outdir, threads)
        t0 = time.perf_counter()
        device.build(directory=outdir, compile=True, run=False, with_output=False)
        compile_s = time.perf_counter() - t0
        loops = []
        la0 = loadavg()
        for _ in range(args.reps):
            device.run(directory=outdir, with_output=False)
            loops.append(device._last_run_time)
        spikes, events = count()
        rss = max_rss_kb(outdir)
        rec = dict(sim='brian2-' + brian2.__version__, device='cpp_standalone', network=network, dt_ms=dt,
                   duration_s=dur, threads=max(threads, 1), openmp_threads=threads, reps=args.reps,
                   compile_s=compile_s, loop_s=loops, loop_s_median=median(loops), loop_s_min=min(loops),
                   spikes=spikes, synaptic_events=events, events_per_s=events / median(loops),
                   peak_rss_kb=rss, loadavg_before=la0, loadavg_after=loadavg())
        print(f"brian2 {network} dt {dt} ms {dur} s openmp {threads}: loop {rec['loop_s_median']:.4f} s, "
              f"{events / 1e6:.3f} M events, {spikes} spikes, {rec['events_per_s'] / 1e6:.1f} M events/s, "
              f"peak {rss} kB", file=sys.stderr, flush=True)
        brian.append(rec)

# Ratios: ours / Brian2 on the same network, dt and duration; our 1-thread
# figure against Brian2 single-threaded (and our 2 threads against both).
rows = []
for c in ours['cases']:
    if 'error' in c:
        continue
    same = [b for b in brian if (b['network'], b['dt_ms'], b['duration_s']) == (c['network'], c['dt_ms'], c['duration_s'])]
    # Brian2 with as many OpenMP threads as we use when it was run so, else single-threaded.
    b1 = next((b for b in same if b['openmp_threads'] == (0 if c['threads'] == 1 else c['threads'])), None) \
        or next((b for b in same if b['openmp_threads'] == 0), None)
    if b1 is None:
        continue
    row = dict(case=c['name'], threads=c['threads'], brian2_openmp_threads=b1['openmp_threads'],
               ours_loop_s=c['loop_s_median'], ours_cpu_s=c['cpu_s_median'],
               ours_events=c['synaptic_events'], ours_spikes=c['spikes'],
               ours_events_per_s=c['events_per_s'], ours_peak_rss_kb=c['peak_rss_kb'],
               brian2_loop_s=b1['loop_s_median'], brian2_events=b1['synaptic_events'], brian2_spikes=b1['spikes'],
               brian2_events_per_s=b1['events_per_s'], brian2_peak_rss_kb=b1['peak_rss_kb'],
               events_per_s_ratio=c['events_per_s'] / b1['events_per_s'],
               loop_time_ratio=b1['loop_s_median'] / c['loop_s_median'])
    rows.append(row)

print(file=sys.stderr)
hdr = f"{'case':<22} {'B2 omp':>6} {'ours loop s':>11} {'Brian2 s':>9} {'ours Mev/s':>10} {'B2 Mev/s':>9} {'ratio ev/s':>10} {'ours spikes':>11} {'B2 spikes':>9}"
print(hdr, file=sys.stderr)
for r in rows:
    print(f"{r['case']:<22} {r['brian2_openmp_threads']:>6} {r['ours_loop_s']:>11.4f} {r['brian2_loop_s']:>9.4f} {r['ours_events_per_s'] / 1e6:>10.1f} "
          f"{r['brian2_events_per_s'] / 1e6:>9.1f} {r['events_per_s_ratio']:>10.2f} {r['ours_spikes']:>11} {r['brian2_spikes']:>9}",
          file=sys.stderr)
for s in ours.get('speedup_1_to_2_threads', []):
    print(f"speed-up 1 -> 2 threads, {s['one_thread']}: {s['speedup']:.2f}", file=sys.stderr)

doc = dict(ours, brian2=brian, comparison=rows)
os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
with open(args.out, 'w') as f:
    json.dump(doc, f, indent=2)
print(f"wrote {args.out}", file=sys.stderr)
