//! Stepping the cores: on the calling thread, or on persistent workers that
//! meet at one barrier per step.
//!
//! Each worker owns a fixed set of cores for a whole segment of steps (see
//! [`assign`]) and, in every step `t`:
//!
//! 1. delivers the spikes of `t − 1` (its local copy) through its
//!    [`Fanout`] to the cores whose rows it merges, then steps its cores
//!    (the others receive the spikes themselves; update, record) and
//!    publishes each core's spikes of `t` on the shared [`SpikeBoard`]
//!    (slot parity `t & 1`);
//! 2. waits at the barrier;
//! 3. copies every core's spikes of `t` from the board into its local copy
//!    (the input of step `t + 1`) and runs the learning pass of its cores.
//!
//! One barrier per step suffices: a worker writes parity `(t + 1) & 1` only
//! after the barrier of `t`, which every worker reaches after it has read
//! parity `(t − 1) & 1`, the same slots. Cores never share mutable state, so
//! the result does not depend on the number of workers or on which worker
//! steps which core.

use crate::core::{CoreState, Recorder};
use crate::fanout::Fanout;
use spikeforge_kernel::spinnaker::ring_buffer::RingBufferLayout;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicUsize, Ordering};

/// Spins before a waiting worker starts yielding its time slice (on a busy
/// machine the other worker may be descheduled).
const SPIN_LIMIT: u32 = 1 << 11;

/// A reusable barrier for a fixed number of threads that spins, then yields.
pub struct SpinBarrier {
    n: usize,
    count: AtomicUsize,
    generation: AtomicUsize,
    poisoned: AtomicBool,
}

impl SpinBarrier {
    pub fn new(n: usize) -> SpinBarrier {
        SpinBarrier { n, count: AtomicUsize::new(0), generation: AtomicUsize::new(0), poisoned: AtomicBool::new(false) }
    }

    /// Blocks until all `n` threads have called `wait` for this round.
    /// Panics if another participant panicked (so nobody waits forever).
    pub fn wait(&self) {
        if self.n <= 1 {
            return;
        }
        let generation = self.generation.load(Ordering::Acquire);
        if self.count.fetch_add(1, Ordering::AcqRel) + 1 == self.n {
            self.count.store(0, Ordering::Relaxed);
            self.generation.store(generation.wrapping_add(1), Ordering::Release);
            return;
        }
        let mut spins = 0u32;
        while self.generation.load(Ordering::Acquire) == generation {
            if self.poisoned.load(Ordering::Relaxed) {
                panic!("another emulator worker panicked");
            }
            if spins < SPIN_LIMIT {
                spins += 1;
                std::hint::spin_loop();
            } else {
                std::thread::yield_now();
            }
        }
    }
}

/// Marks the barrier poisoned when the owning worker unwinds.
struct PoisonOnPanic<'a>(&'a SpinBarrier);

impl Drop for PoisonOnPanic<'_> {
    fn drop(&mut self) {
        if std::thread::panicking() {
            self.0.poisoned.store(true, Ordering::Relaxed);
        }
    }
}

/// Sixteen spike counts on one cache line of their own.
#[repr(align(64))]
struct CountLine([AtomicU32; 16]);

/// Every core's spike list of the last two steps, written by the core's
/// worker and read by all after the barrier (plain loads and stores; the
/// barrier orders them).
///
/// The counts are what every worker reads for every core in every step, so
/// they sit on cache lines per worker (a worker's cores side by side, no
/// line shared between workers): a reader touches one line per worker, not
/// one per core, and writers never contend for a line. The ids are read only
/// for cores that spiked.
pub struct SpikeBoard {
    /// Per core: its count line and lane, and its ids for parity 0 and 1.
    place: Vec<(usize, usize)>,
    counts: [Vec<CountLine>; 2],
    ids: Vec<[Box<[AtomicU32]>; 2]>,
}

impl SpikeBoard {
    /// `capacity[c]`: the most spikes core `c` can emit in a step (its
    /// neurons); `assignment[c]`: its worker.
    pub fn new(capacity: &[usize], assignment: &[usize]) -> SpikeBoard {
        let workers = assignment.iter().max().map_or(0, |&w| w + 1);
        let mut lanes_used = vec![0usize; workers];
        let mut place_in_worker = Vec::with_capacity(assignment.len());
        for &w in assignment {
            place_in_worker.push((w, lanes_used[w]));
            lanes_used[w] += 1;
        }
        // Each worker's lines start after the previous worker's.
        let mut first_line = vec![0usize; workers + 1];
        for w in 0..workers {
            first_line[w + 1] = first_line[w] + lanes_used[w].div_ceil(16);
        }
        let place = place_in_worker.iter().map(|&(w, i)| (first_line[w] + i / 16, i % 16)).collect();
        let lines = || (0..first_line[workers]).map(|_| CountLine(std::array::from_fn(|_| AtomicU32::new(0)))).collect();
        let ids = |n: usize| (0..n).map(|_| AtomicU32::new(0)).collect();
        SpikeBoard { place, counts: [lines(), lines()], ids: capacity.iter().map(|&n| [ids(n), ids(n)]).collect() }
    }

    fn count(&self, core: usize, t: u32) -> &AtomicU32 {
        let (line, lane) = self.place[core];
        &self.counts[(t & 1) as usize][line].0[lane]
    }

    fn publish(&self, core: usize, t: u32, spikes: &[u32]) {
        let ids = &self.ids[core][(t & 1) as usize];
        assert!(spikes.len() <= ids.len(), "core {core} emitted {} spikes, more than its {} neurons", spikes.len(), ids.len());
        for (d, &x) in ids.iter().zip(spikes) {
            d.store(x, Ordering::Relaxed);
        }
        self.count(core, t).store(spikes.len() as u32, Ordering::Relaxed);
    }

    fn read(&self, core: usize, t: u32, into: &mut Vec<u32>) {
        let n = self.count(core, t).load(Ordering::Relaxed) as usize;
        into.clear();
        if n > 0 {
            into.extend(self.ids[core][(t & 1) as usize][..n].iter().map(|x| x.load(Ordering::Relaxed)));
        }
    }
}

/// Splits cores over `workers` workers, balancing `costs` (greedy: the
/// costliest core first, each to the least loaded worker; ties to the lower
/// index). Returns the worker of each core.
pub fn assign(costs: &[u64], workers: usize) -> Vec<usize> {
    let workers = workers.max(1);
    let mut order: Vec<usize> = (0..costs.len()).collect();
    order.sort_by_key(|&c| (std::cmp::Reverse(costs[c]), c));
    let mut load = vec![0u64; workers];
    let mut out = vec![0; costs.len()];
    for c in order {
        let w = (0..workers).min_by_key(|&w| (load[w], w)).unwrap_or(0);
        load[w] += costs[c].max(1);
        out[c] = w;
    }
    out
}

/// Step `t` of one core: receive the spikes of `t − 1` (unless `merged`:
/// the worker's [`Fanout`] has delivered them), update, record.
#[inline]
fn step_core(core: &mut CoreState, rec: &mut Recorder, inputs: &[usize], prev: &[Vec<u32>], t: u32, out: &mut Vec<u32>, merged: Option<(&mut [u16], &RingBufferLayout)>) {
    out.clear();
    if merged.is_none() {
        for &s in inputs {
            if !prev[s].is_empty() {
                core.receive(s as u32, &prev[s], t);
            }
        }
    }
    core.step(t, out, merged);
    rec.sample(core, t, out);
}

/// What a segment of steps needs besides the cores.
pub struct Segment<'a> {
    /// Per core, the source cores it receives from (ascending).
    pub inputs: &'a [Vec<usize>],
    /// Whether to run the learning pass after each step.
    pub learning: bool,
    pub first: u32,
    pub last: u32,
}

/// Runs steps `first..=last` on the calling thread, every core in index
/// order. `spikes` holds every core's spikes of `first − 1` and is left with
/// those of `last`.
/// `fanout` merges the static rows of `cores` (slot = core index).
pub fn run_serial(cores: &mut [CoreState], recorders: &mut [Recorder], fanout: &mut Fanout, seg: &Segment<'_>, spikes: &mut Vec<Vec<u32>>, progress: &mut dyn FnMut(u32)) {
    let mut next: Vec<Vec<u32>> = vec![Vec::new(); cores.len()];
    let mut cores: Vec<&mut CoreState> = cores.iter_mut().collect();
    fanout.load(&cores, seg.first);
    for t in seg.first..=seg.last {
        fanout.deliver(spikes, t);
        for (c, (core, rec)) in cores.iter_mut().zip(recorders.iter_mut()).enumerate() {
            step_core(core, rec, &seg.inputs[c], spikes, t, &mut next[c], fanout.ring(c));
        }
        if seg.learning {
            for (c, core) in cores.iter_mut().enumerate() {
                core.learn(t, &next[c], &next);
            }
        }
        std::mem::swap(spikes, &mut next);
        progress(t);
    }
    fanout.store(&mut cores, seg.last);
}

/// The cores of each worker (ascending), from the worker of each core.
pub fn members(assignment: &[usize], workers: usize) -> Vec<Vec<usize>> {
    let mut m = vec![Vec::new(); workers];
    for (c, &w) in assignment.iter().enumerate() {
        m[w].push(c);
    }
    m
}

/// A worker's cores, in slot order (ascending global index).
struct Part<'a> {
    ids: Vec<usize>,
    cores: Vec<&'a mut CoreState>,
    recorders: Vec<&'a mut Recorder>,
}

/// Runs steps `first..=last` on `workers` persistent threads (the calling
/// thread is worker 0 and calls `progress`), cores split by `assignment`;
/// `fanouts[w]` merges the static rows of worker `w`'s cores (slots as in
/// [`members`]). `Err` when a worker thread cannot be started.
#[allow(clippy::too_many_arguments)]
pub fn run_parallel(
    cores: &mut [CoreState],
    recorders: &mut [Recorder],
    assignment: &[usize],
    fanouts: &mut [Fanout],
    capacity: &[usize],
    seg: &Segment<'_>,
    spikes: &mut Vec<Vec<u32>>,
    progress: &mut dyn FnMut(u32),
) -> Result<(), std::io::Error> {
    let workers = fanouts.len();
    let board = SpikeBoard::new(capacity, assignment);
    let barrier = SpinBarrier::new(workers);
    let mut parts: Vec<Part<'_>> = (0..workers).map(|_| Part { ids: Vec::new(), cores: Vec::new(), recorders: Vec::new() }).collect();
    for (c, (core, rec)) in cores.iter_mut().zip(recorders.iter_mut()).enumerate() {
        let p = &mut parts[assignment[c]];
        p.ids.push(c);
        p.cores.push(core);
        p.recorders.push(rec);
    }
    let mut parts = parts.into_iter().zip(fanouts.iter_mut());
    let mine = parts.next();
    let start: &Vec<Vec<u32>> = spikes;
    let (board, barrier) = (&board, &barrier);
    let result = std::thread::scope(|s| {
        let mut handles = Vec::new();
        for (k, (part, fanout)) in parts.enumerate() {
            let local = start.clone();
            let spawned = std::thread::Builder::new()
                .name(format!("spikeforge-emu-{}", k + 1))
                .spawn_scoped(s, move || {
                    worker(part, fanout, board, barrier, seg, local, &mut |_| {});
                });
            match spawned {
                Ok(h) => handles.push(h),
                Err(e) => {
                    // The workers already started stop at their next barrier.
                    barrier.poisoned.store(true, Ordering::Relaxed);
                    for h in handles {
                        let _ = h.join();
                    }
                    return Err(e);
                }
            }
        }
        let local = match mine {
            Some((part, fanout)) => worker(part, fanout, board, barrier, seg, start.clone(), progress),
            None => start.clone(),
        };
        for h in handles {
            if let Err(e) = h.join() {
                std::panic::resume_unwind(e);
            }
        }
        Ok(local)
    });
    *spikes = result?;
    Ok(())
}

fn worker(
    mut part: Part<'_>,
    fanout: &mut Fanout,
    board: &SpikeBoard,
    barrier: &SpinBarrier,
    seg: &Segment<'_>,
    mut local: Vec<Vec<u32>>,
    progress: &mut dyn FnMut(u32),
) -> Vec<Vec<u32>> {
    let _guard = PoisonOnPanic(barrier);
    let mut out = Vec::new();
    fanout.load(&part.cores, seg.first);
    for t in seg.first..=seg.last {
        fanout.deliver(&local, t);
        for (k, (core, rec)) in part.cores.iter_mut().zip(part.recorders.iter_mut()).enumerate() {
            let c = part.ids[k];
            step_core(core, rec, &seg.inputs[c], &local, t, &mut out, fanout.ring(k));
            board.publish(c, t, &out);
        }
        barrier.wait();
        for (c, l) in local.iter_mut().enumerate() {
            board.read(c, t, l);
        }
        if seg.learning {
            for (k, core) in part.cores.iter_mut().enumerate() {
                let c = part.ids[k];
                core.learn(t, &local[c], &local);
            }
        }
        progress(t);
    }
    fanout.store(&mut part.cores, seg.last);
    local
}
