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
* spike sources: SpikeGeneratorGroup with the exported trains;
* plastic projections (pair STDP, all-to-all pairing; `plasticity` in the
  exported network.json): the standard Brian2 formulation with traces per
  synapse, decayed exactly between events ("event-driven"):
      additive:  apre += A+ ; w = clip(w + apost, w_min, w_max)  (on_pre)
                 apost -= A- ; w = clip(w + apre, w_min, w_max)  (on_post)
      multiplicative: unit traces r, o and (w_max - w) A+ r, (w - w_min) A- o,
  then `I_e_post += w` in on_pre (the delivered weight includes this pre
  spike's depression, as on the core). Timing as the emulator's: a pre spike
  is a pre event when it is emitted and its current arrives d steps later; a
  post spike reaches the synapse d steps after it is emitted (the delay is
  dendritic, sPyNNaker's backprop_delay); a post and a pre event on the same
  step are post first. With the pre pathway delayed by (d - 1) dt (as above,
  so the current arrives on the emulator's step) the post pathway is delayed
  by (2 d - 1) dt and ordered before the pre pathway. Weight recordings of the
  IR (every N steps) become a StateMonitor of w every N dt, so both sides
  record the same samples.

Brian2's loop time is its own timer around Network::run
(`device._last_run_time`, CPU time of the one thread when OpenMP is off,
the standard used in /work/shared/reference/benchmarks/bench_brian2.py);
the code generation and g++ build are excluded. Synaptic events are counted
exactly: per pre population, spikes x out-degree ("pre events"); for plastic
projections also "pre+post updates" = pre events + post spikes x plastic
in-degree, counted as the emulator bench counts them. Peak memory is the
binary's max RSS (os.wait4 on a separate run). The ratios compare
the same network, dt and duration in the same run of bench.sh. The host
may be shared and its speed drift over minutes; so, for networks without
plasticity, the two sides are also run in alternation (`--paired-rounds`:
each round our cases, then Brian2's binary, back to back) and the ratio of
each round is reported with the median and the extremes over rounds. Each
round also runs two copies of our one-thread case at once (started together
after compiling, `--start-at-ms`): what the host's two CPUs give two fully
independent runs in that minute is the ceiling for the two-thread case, and
the 1 -> 2 thread speed-up is reported as a share of it. With
`--threads 0 2` Brian2 is also built with two OpenMP threads
(`prefs.devices.cpp_standalone.openmp_threads`, its timer then wall time),
and that binary runs in the same rounds: the peer's own 1 -> 2 thread
speed-up on this host, minute by minute, next to ours. For plastic
networks the final weights (mean, spread, fractions near the bounds) and the
post spike counts of both sides are put side by side: they agree loosely,
not bit for bit (fixed point against float64).
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
p.add_argument('--paired-rounds', type=int, default=7,
               help='rounds of paired runs on networks without plasticity: in each round every one of our cases '
                    'of the network (a fresh child process, --paired-reps repetitions, their median) and then '
                    "Brian2's single-threaded binary once, back to back (0 = none)")
p.add_argument('--paired-reps', type=int, default=3)
args = p.parse_args()

import brian2  # noqa: E402
from brian2 import (NeuronGroup, Synapses, SpikeGeneratorGroup, SpikeMonitor, StateMonitor, Network,  # noqa: E402
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
    indeg = {}  # plastic in-degree per post population
    synapses = {}
    weight_mons = {}
    size = {q['name']: q['size'] for q in net['populations']}
    for proj in net['projections']:
        name = proj['name']
        pre = np.load(os.path.join(d, f'{name}_pre.npy'))
        post = np.load(os.path.join(d, f'{name}_post.npy'))
        weights = np.load(os.path.join(d, f'{name}_weight.npy'))
        delay = np.load(os.path.join(d, f'{name}_delay.npy'))
        target = 'I_i_post' if proj['receptor'] == 'inhibitory' else 'I_e_post'
        rule = proj.get('plasticity')
        homogeneous = np.all(delay == delay[0])
        if rule:
            model, on_pre, on_post, ns = stdp_model(rule, target)
            # Pre pathway: pre event when the spike is emitted, current d steps later (as the
            # static twin: Brian2 delay (d - 1) dt); post pathway: the post spike reaches the
            # synapse d steps after it is emitted, i.e. (2 d - 1) dt after the pre pathway's frame.
            s = Synapses(groups[proj['pre']], groups[proj['post']], model, on_pre=on_pre, on_post=on_post,
                         namespace=ns, name=name,
                         delay=({'pre': (int(delay[0]) - 1) * dt * ms, 'post': (2 * int(delay[0]) - 1) * dt * ms}
                                if homogeneous else None))
            s.connect(i=pre, j=post)
            s.w = weights * nA
            if not homogeneous:
                s.pre.delay = (delay - 1) * dt * ms
                s.post.delay = (2 * delay - 1) * dt * ms
            # Same-step post and pre events: post first, as on the core.
            s.post.order = s.pre.order - 1
            indeg.setdefault(proj['post'], np.zeros(size[proj['post']], dtype=np.int64))
            indeg[proj['post']] += np.bincount(post, minlength=size[proj['post']])
            for r in net.get('recordings', []):
                if r and r['kind'] == 'weights' and r['projection'] == name and r['every_n_steps'] > 0:
                    wm = StateMonitor(s, 'w', record=True, dt=r['every_n_steps'] * dt * ms, when='end', name=f'{name}_wmon')
                    weight_mons[name] = wm
                    objects.append(wm)
        else:
            s = Synapses(groups[proj['pre']], groups[proj['post']], 'w : amp', on_pre=f'{target} += w', name=name)
            s.connect(i=pre, j=post)
            s.w = weights * nA
            if homogeneous:
                s.delay = (int(delay[0]) - 1) * dt * ms
            else:
                s.delay = (delay - 1) * dt * ms
        synapses[name] = (s, rule)
        objects.append(s)
        outdeg.setdefault(proj['pre'], np.zeros(size[proj['pre']], dtype=np.int64))
        outdeg[proj['pre']] += np.bincount(pre, minlength=size[proj['pre']])
    netw = Network(*objects)
    netw.run(net['steps'] * dt * ms)

    def count():
        """Spikes of the neuron groups, pre events and (plastic) post spikes and updates."""
        spikes = 0
        events = 0
        post_spikes = 0
        post_updates = 0
        for name, mon in monitors:
            c = np.asarray(mon.count[:]).astype(np.int64)
            if groups[name].__class__.__name__ == 'NeuronGroup':
                spikes += int(c.sum())
            if name in outdeg:
                events += int((c * outdeg[name]).sum())
            if name in indeg:
                post_spikes += int(c.sum())
                post_updates += int((c * indeg[name]).sum())
        out = dict(spikes=spikes, events=events)
        if indeg:
            out.update(post_spikes=post_spikes, post_updates=post_updates, pre_post_updates=events + post_updates)
            weights = {}
            for name, (s, rule) in synapses.items():
                if not rule:
                    continue
                w = np.asarray(s.w[:] / nA)
                st = weight_stats(w, rule['w_min'], rule['w_max'])
                st['step'] = net['steps']
                if name in weight_mons:
                    m = weight_mons[name]
                    wm = np.asarray(m.w / nA)  # (synapses, samples)
                    steps = np.rint(np.asarray(m.t / ms) / dt).astype(np.int64) + 1
                    st['mean_by_sample'] = [[int(k), float(v)] for k, v in zip(steps, wm.mean(axis=0))]
                weights[name] = st
            out['weights_final'] = weights
        return out
    return count


def stdp_model(rule, target):
    """Brian2 model, on_pre, on_post and namespace of an exported pair-STDP rule."""
    if rule.get('kind') != 'pair_stdp' or rule.get('pairing') != 'all_to_all':
        raise SystemExit(f"bench_brian2: plasticity {rule!r} has no Brian2 twin here "
                         "(only pair STDP with all-to-all pairing)")
    ns = dict(tau_plus=rule['tau_plus_ms'] * ms, tau_minus=rule['tau_minus_ms'] * ms,
              w_min=rule['w_min'] * nA, w_max=rule['w_max'] * nA)
    if rule['weight_dependence'] == 'additive':
        ns.update(A_plus=rule['a_plus'] * nA, A_minus=rule['a_minus'] * nA)
        model = """
        w : amp
        dapre/dt = -apre / tau_plus : amp (event-driven)
        dapost/dt = -apost / tau_minus : amp (event-driven)
        """
        on_pre = f"""
        apre += A_plus
        w = clip(w + apost, w_min, w_max)
        {target} += w
        """
        on_post = """
        apost -= A_minus
        w = clip(w + apre, w_min, w_max)
        """
    elif rule['weight_dependence'] == 'multiplicative':
        ns.update(A_plus=rule['a_plus'], A_minus=rule['a_minus'])
        model = """
        w : amp
        dr/dt = -r / tau_plus : 1 (event-driven)
        do/dt = -o / tau_minus : 1 (event-driven)
        """
        on_pre = f"""
        r += 1
        w = clip(w - (w - w_min) * A_minus * o, w_min, w_max)
        {target} += w
        """
        on_post = """
        o += 1
        w = clip(w + (w_max - w) * A_plus * r, w_min, w_max)
        """
    else:
        raise SystemExit(f"bench_brian2: weight dependence {rule['weight_dependence']!r} has no Brian2 twin here")
    return model, on_pre, on_post, ns


def weight_stats(w, lo, hi):
    """As the emulator bench's `weight_stats`: mean, spread, fractions within 10 % of the bounds."""
    band = 0.1 * (hi - lo)
    return dict(n=int(w.size), mean=float(w.mean()), sd=float(w.std()), min=float(w.min()), max=float(w.max()),
                w_min=lo, w_max=hi, frac_within_10pct_of_w_min=float(np.mean(w <= lo + band)),
                frac_within_10pct_of_w_max=float(np.mean(w >= hi - band)))


# Started from this process, the binary's ru_maxrss would be at least this
# process's own peak (Linux keeps the high-water mark of the memory a child
# replaces at exec, here a copy of this Python with Brian2 loaded: 135-420 MB).
# A small Python in between forks and waits for it instead; what it reports is
# at least its own ~11 MB.
_RSS_OF_CHILD = (
    "import os, subprocess, sys\n"
    "p = subprocess.Popen(['./main'], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)\n"
    "_, status, ru = os.wait4(p.pid, 0)\n"
    "print(ru.ru_maxrss if status == 0 else -1)\n"
)


def max_rss_kb(outdir):
    """Runs the built binary once more, alone, and returns its max RSS (kB)."""
    out = subprocess.run([sys.executable, '-I', '-S', '-c', _RSS_OF_CHILD], cwd=outdir, capture_output=True, text=True, check=True)
    kb = int(out.stdout.strip())
    return kb if kb >= 0 else None


def brian2_run(outdir):
    """Runs the binary built in `outdir` once, as `device.run` does, and
    returns its own timer around Network::run (results/last_run_info.txt);
    for binaries other than the one built last (`device.run` reads the
    results of the last build)."""
    subprocess.run(['./main'], cwd=outdir, stdout=subprocess.DEVNULL, check=True)
    with open(os.path.join(outdir, 'results', 'last_run_info.txt')) as f:
        return float(f.read().split()[0])


def ours_child(name):
    out = subprocess.run([args.bench_bin, '--child', name, '--reps', str(args.paired_reps)],
                         check=True, capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def ours_children_at_once(name, n):
    """`n` children of one case, each told to start its repetitions at the
    same wall-clock time (after compiling); their records. A child that
    compiled past the start time is started again with a later one."""
    lead_ms = 2000
    for _ in range(3):
        at = int(time.time() * 1000) + lead_ms
        procs = [subprocess.Popen([args.bench_bin, '--child', name, '--reps', str(args.paired_reps),
                                   '--start-at-ms', str(at)], stdout=subprocess.PIPE, text=True) for _ in range(n)]
        outs = [p.communicate()[0] for p in procs]
        if any(p.returncode != 0 for p in procs):
            raise SystemExit(f"{name}: a child failed")
        recs = [json.loads(o.strip().splitlines()[-1]) for o in outs]
        if all((r.get('start_late_s') or 0.0) < 0.01 for r in recs):
            return recs
        lead_ms *= 2
    raise SystemExit(f"{name}: the children never started together (compiling took over {lead_ms // 2} ms)")


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
    # The export must be of the network the emulator ran (examples can change while bench.sh runs).
    ran = {c.get('network_fnv1a64') for c in ours['cases']
           if 'error' not in c and (c['network'], c['dt_ms'], c['duration_s']) == (network, dt, dur)}
    if ran != {net.get('network_fnv1a64')}:
        raise SystemExit(f"bench_brian2: {net.get('network_file')} changed between the emulator run "
                         f"(fingerprint {sorted(map(str, ran))}) and the export ({net.get('network_fnv1a64')}); "
                         "run bench.sh again")
    plastic = any(proj.get('plasticity') for proj in net['projections'])
    built = {}
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
        k = count()
        spikes, events = k['spikes'], k['events']
        rss = max_rss_kb(outdir)
        rec = dict(sim='brian2-' + brian2.__version__, device='cpp_standalone', network=network, dt_ms=dt,
                   duration_s=dur, threads=max(threads, 1), openmp_threads=threads, reps=args.reps,
                   compile_s=compile_s, loop_s=loops, loop_s_median=median(loops), loop_s_min=min(loops),
                   spikes=spikes, synaptic_events=events, events_per_s=events / median(loops),
                   peak_rss_kb=rss, loadavg_before=la0, loadavg_after=loadavg())
        built[threads] = (outdir, rec)
        if plastic:
            rec.update(pre_events=events, post_spikes=k['post_spikes'], post_updates=k['post_updates'],
                       pre_post_updates=k['pre_post_updates'],
                       pre_post_updates_per_s=k['pre_post_updates'] / median(loops),
                       weights_final=k['weights_final'])
        print(f"brian2 {network} dt {dt} ms {dur} s openmp {threads}: loop {rec['loop_s_median']:.4f} s, "
              f"{events / 1e6:.3f} M events, {spikes} spikes, {rec['events_per_s'] / 1e6:.1f} M events/s, "
              + (f"{rec['pre_post_updates_per_s'] / 1e6:.1f} M pre+post updates/s, " if plastic else '')
              + f"peak {rss} kB", file=sys.stderr, flush=True)
        brian.append(rec)
    if not plastic and 0 in built and args.paired_rounds > 0:
        mine = [c['name'] for c in ours['cases']
                if 'error' not in c and (c['network'], c['dt_ms'], c['duration_s']) == (network, dt, dur)]
        # Brian2's binaries with OpenMP (if built) run in the same rounds:
        # the peer's own 1 -> 2 thread speed-up on this host, minute by minute.
        omp = {th: o for th, (o, _) in built.items() if th > 0}
        paired = dict(rounds=args.paired_rounds, ours_reps=args.paired_reps, brian2_loop_s=[],
                      brian2_openmp_loop_s={str(th): [] for th in omp},
                      ours_loop_s={name: [] for name in mine},
                      two_copies_loop_s={name: [] for name in mine if name.endswith('_t1')})
        for _ in range(args.paired_rounds):
            for name in mine:
                paired['ours_loop_s'][name].append(ours_child(name)['loop_s_median'])
            # The host's two-way ceiling: two copies of the one-thread case at once.
            for name in paired['two_copies_loop_s']:
                paired['two_copies_loop_s'][name].append([r['loop_s_median'] for r in ours_children_at_once(name, 2)])
            paired['brian2_loop_s'].append(brian2_run(built[0][0]))
            for th, o in omp.items():
                paired['brian2_openmp_loop_s'][str(th)].append(brian2_run(o))
        built[0][1]['paired'] = paired

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
    # The paired rounds (every case of the network, against Brian2 single-threaded).
    b0 = next((b for b in same if b['openmp_threads'] == 0), None)
    paired = b0.get('paired') if b0 else None
    if paired and c['name'] in paired['ours_loop_s']:
        o, b = paired['ours_loop_s'][c['name']], paired['brian2_loop_s']
        per_round = [(c['synaptic_events'] / oo) / (b0['synaptic_events'] / bb) for oo, bb in zip(o, b)]
        row['paired'] = dict(rounds=len(o), ours_loop_s=o, brian2_loop_s=b,
                             two_copies_loop_s=paired.get('two_copies_loop_s', {}).get(c['name'], []),
                             events_per_s_ratio_median=median(per_round), events_per_s_ratio_min=min(per_round),
                             events_per_s_ratio_max=max(per_round))
    if c.get('n_plastic_synapses') and 'pre_post_updates' in b1:
        wo = next(iter((c.get('weights_final') or {}).values()), {})
        wb = next(iter(b1['weights_final'].values()), {})
        row.update(ours_pre_events=c['pre_events'], brian2_pre_events=b1['pre_events'],
                   ours_post_spikes=c['post_spikes'], brian2_post_spikes=b1['post_spikes'],
                   ours_pre_post_updates=c['pre_post_updates'], brian2_pre_post_updates=b1['pre_post_updates'],
                   ours_pre_post_updates_per_s=c['pre_post_updates_per_s'],
                   brian2_pre_post_updates_per_s=b1['pre_post_updates_per_s'],
                   pre_post_updates_per_s_ratio=(c['pre_post_updates_per_s'] / b1['pre_post_updates_per_s']
                                                 if c.get('pre_post_updates_per_s') else None),
                   bytes_per_plastic_synapse=c.get('bytes_per_plastic_synapse'),
                   ours_weight_mean=wo.get('mean'), brian2_weight_mean=wb.get('mean'),
                   ours_weight_frac_low_high=[wo.get('frac_within_10pct_of_w_min'), wo.get('frac_within_10pct_of_w_max')],
                   brian2_weight_frac_low_high=[wb.get('frac_within_10pct_of_w_min'), wb.get('frac_within_10pct_of_w_max')])
    rows.append(row)

print(file=sys.stderr)
hdr = f"{'case':<22} {'B2 omp':>6} {'ours loop s':>11} {'Brian2 s':>9} {'ours Mev/s':>10} {'B2 Mev/s':>9} {'ratio ev/s':>10} {'ours spikes':>11} {'B2 spikes':>9}"
print(hdr, file=sys.stderr)
for r in rows:
    print(f"{r['case']:<22} {r['brian2_openmp_threads']:>6} {r['ours_loop_s']:>11.4f} {r['brian2_loop_s']:>9.4f} {r['ours_events_per_s'] / 1e6:>10.1f} "
          f"{r['brian2_events_per_s'] / 1e6:>9.1f} {r['events_per_s_ratio']:>10.2f} {r['ours_spikes']:>11} {r['brian2_spikes']:>9}",
          file=sys.stderr)
plastic_rows = [r for r in rows if r.get('pre_post_updates_per_s_ratio') is not None]
if plastic_rows:
    print(file=sys.stderr)
    print(f"{'plastic case':<26} {'ours pre':>9} {'B2 pre':>8} {'ratio':>6} {'ours p+p':>9} {'B2 p+p':>8} {'ratio':>6} "
          f"{'B/syn':>6} {'post spikes ours / B2':>22} {'mean w ours / B2 (nA)':>24}   (M events/s)", file=sys.stderr)
    for r in plastic_rows:
        fmt = lambda x: f"{x:.3e}" if x is not None else '-'  # noqa: E731
        print(f"{r['case']:<26} {r['ours_events_per_s'] / 1e6:>9.1f} {r['brian2_events_per_s'] / 1e6:>8.1f} "
              f"{r['events_per_s_ratio']:>6.2f} {r['ours_pre_post_updates_per_s'] / 1e6:>9.1f} "
              f"{r['brian2_pre_post_updates_per_s'] / 1e6:>8.1f} {r['pre_post_updates_per_s_ratio']:>6.2f} "
              f"{r['bytes_per_plastic_synapse']:>6.2f} {str(r['ours_post_spikes']) + ' / ' + str(r['brian2_post_spikes']):>22} "
              f"{fmt(r['ours_weight_mean']) + ' / ' + fmt(r['brian2_weight_mean']):>24}", file=sys.stderr)
for s in ours.get('speedup_1_to_2_threads', []):
    print(f"speed-up 1 -> 2 threads, {s['one_thread']}: {s['speedup']:.2f}", file=sys.stderr)
paired_rows = [r for r in rows if r.get('paired')]
if paired_rows:
    print(file=sys.stderr)
    print(f"paired rounds (ours, then Brian2 single-threaded, back to back): ours / Brian2 events/s per round",
          file=sys.stderr)
    print(f"{'case':<22} {'rounds':>6} {'median':>7} {'min':>6} {'max':>6}   ours loop s / Brian2 loop s (medians)",
          file=sys.stderr)
    for r in paired_rows:
        pr = r['paired']
        print(f"{r['case']:<22} {pr['rounds']:>6} {pr['events_per_s_ratio_median']:>7.2f} "
              f"{pr['events_per_s_ratio_min']:>6.2f} {pr['events_per_s_ratio_max']:>6.2f}   "
              f"{median(pr['ours_loop_s']):.4f} / {median(pr['brian2_loop_s']):.4f}", file=sys.stderr)
    # 1 -> 2 threads from the same rounds: each round's one-thread loop over its two-thread loop.
    by_name = {r['case']: r['paired']['ours_loop_s'] for r in paired_rows}
    paired_speedups = []
    speedup_rounds = {}
    for name, one in by_name.items():
        two = by_name.get(name.replace('_t1', '_t2')) if name.endswith('_t1') else None
        if two:
            per_round = [a / b for a, b in zip(one, two)]
            speedup_rounds[name] = per_round
            paired_speedups.append(dict(one_thread=name, rounds=len(per_round), speedup_median=median(per_round),
                                        speedup_min=min(per_round), speedup_max=max(per_round)))
            print(f"speed-up 1 -> 2 threads, {name}, paired rounds: median {median(per_round):.2f} "
                  f"(min {min(per_round):.2f}, max {max(per_round):.2f})", file=sys.stderr)
    ours['speedup_1_to_2_threads_paired'] = paired_speedups
    # The peer on the same host in the same rounds: Brian2's single-threaded
    # binary over its OpenMP one (`--threads 0 2`).
    peer_speedups = []
    for b in brian:
        pr = b.get('paired') or {}
        one = pr.get('brian2_loop_s') or []
        for th, many in (pr.get('brian2_openmp_loop_s') or {}).items():
            if not many:
                continue
            per_round = [a / m for a, m in zip(one, many)]
            peer_speedups.append(dict(network=b['network'], dt_ms=b['dt_ms'], duration_s=b['duration_s'],
                                      openmp_threads=int(th), rounds=len(per_round), brian2_loop_s=one,
                                      brian2_openmp_loop_s=many, speedup_median=median(per_round),
                                      speedup_min=min(per_round), speedup_max=max(per_round)))
            print(f"Brian2 1 -> {th} OpenMP threads, {b['network']} dt {b['dt_ms']} ms {b['duration_s']} s, "
                  f"paired rounds: median {median(per_round):.2f} (min {min(per_round):.2f}, "
                  f"max {max(per_round):.2f})", file=sys.stderr)
    ours['brian2_speedup_paired'] = peer_speedups
    # The same against the host's own two-way ceiling in each round: two
    # copies of the one-thread case at once do the work of two runs in the
    # time of the slower copy, so an ideal split of one run over the two
    # CPUs would take half of that; ceiling = one-thread loop / that half.
    ceilings = []
    for r in paired_rows:
        copies = r['paired'].get('two_copies_loop_s') or []
        speedup = speedup_rounds.get(r['case'])
        if not copies or not speedup:
            continue
        ceiling = [2 * a / max(c) for a, c in zip(r['paired']['ours_loop_s'], copies)]
        share = [s / c for s, c in zip(speedup, ceiling)]
        ceilings.append(dict(one_thread=r['case'], rounds=len(ceiling), two_copies_loop_s=copies,
                             ceiling_median=median(ceiling), ceiling_min=min(ceiling), ceiling_max=max(ceiling),
                             speedup_over_ceiling_median=median(share), speedup_over_ceiling_min=min(share),
                             speedup_over_ceiling_max=max(share)))
        print(f"host two-way ceiling, {r['case']} (two copies at once): median {median(ceiling):.2f} "
              f"(min {min(ceiling):.2f}, max {max(ceiling):.2f}); our 1 -> 2 thread speed-up is "
              f"{median(share):.0%} of it (min {min(share):.0%}, max {max(share):.0%})", file=sys.stderr)
    ours['two_way_ceiling_paired'] = ceilings

doc = dict(ours, brian2=brian, comparison=rows)
os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
with open(args.out, 'w') as f:
    json.dump(doc, f, indent=2)
print(f"wrote {args.out}", file=sys.stderr)
