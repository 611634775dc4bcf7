//! Stepping the cores: on the calling thread, or on persistent workers that
//! exchange each step's spikes through a shared board.
//!
//! Each worker owns a fixed set of cores for a whole segment of steps (see
//! [`assign`]) and, in every step `t`:
//!
//! 1. delivers the spikes of `t − 1` (its local copy) through its
//!    [`Fanout`] to the cores whose rows it merges, then steps its cores
//!    (the others receive the spikes themselves; update, record) and
//!    publishes each core's spikes of `t` on the shared [`SpikeBoard`]
//!    (slot parity `t & 1`), then its stamp `t + 1` (on the same cache line
//!    as its cores' spike counts);
//! 2. waits until every other worker's stamp of parity `t & 1` says `t + 1`
//!    and copies their cores' spikes of `t` into its local copy (the input
//!    of step `t + 1`; its own cores' it copies directly), then runs the
//!    learning pass of its cores.
//!
//! The stamps are the only synchronisation: a worker writes parity
//! `(t + 1) & 1` only after it has seen every other worker's stamp of `t`,
//! which each sets after it has read parity `(t − 1) & 1`, the same slots.
//! Waiting on the stamp line fetches the counts with it, so a step costs one
//! cache-line transfer per other worker plus the lines of the ids that are
//! read (a counting barrier costs two more round trips). Cores never share
//! mutable state, so the result does not depend on the number of workers or
//! on which worker steps which core.

use crate::core::{CoreState, Recorder};
use crate::fanout::Fanout;
use spikeforge_kernel::spinnaker::ring_buffer::RingBufferLayout;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};

/// Spins before a waiting worker starts yielding its time slice (on a busy
/// machine the other worker may be descheduled).
const SPIN_LIMIT: u32 = 1 << 11;

/// Sixteen words on one cache line of their own: a worker's stamp (lane 0
/// of its first line) and its cores' spike counts.
#[repr(align(64))]
struct CountLine([AtomicU32; 16]);

impl CountLine {
    fn new() -> CountLine {
        CountLine(std::array::from_fn(|_| AtomicU32::new(0)))
    }
}

/// Every core's spike list of the last two steps, written by the core's
/// worker and read by the others once the writer's stamp says the step is
/// complete (the ids and counts are plain relaxed stores, ordered by the
/// stamp's release store).
///
/// A worker's stamp and the counts of its cores sit on cache lines of their
/// own (per parity; no line shared between workers): a reader touches one
/// line per worker, not one per core, and writers never contend for a line.
/// The ids are read only for cores that spiked.
pub struct SpikeBoard {
    /// Per core: its count line and lane, and its ids for parity 0 and 1.
    place: Vec<(usize, usize)>,
    /// Per worker: its first count line (lane 0: its stamp).
    stamp_line: Vec<usize>,
    counts: [Vec<CountLine>; 2],
    ids: Vec<[Box<[AtomicU32]>; 2]>,
    /// Set when a worker panics, so that nobody waits for it forever.
    poisoned: AtomicBool,
}

impl SpikeBoard {
    /// `capacity[c]`: the most spikes core `c` can emit in a step (its
    /// neurons); `assignment[c]`: its worker.
    pub fn new(capacity: &[usize], assignment: &[usize]) -> SpikeBoard {
        let workers = assignment.iter().max().map_or(0, |&w| w + 1);
        // Lane 0 of a worker's first line is its stamp.
        let mut lanes_used = vec![1usize; workers];
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
        let lines = || (0..first_line[workers]).map(|_| CountLine::new()).collect();
        let ids = |n: usize| (0..n).map(|_| AtomicU32::new(0)).collect();
        SpikeBoard {
            place,
            stamp_line: first_line[..workers].to_vec(),
            counts: [lines(), lines()],
            ids: capacity.iter().map(|&n| [ids(n), ids(n)]).collect(),
            poisoned: AtomicBool::new(false),
        }
    }

    fn count(&self, core: usize, t: u32) -> &AtomicU32 {
        let (line, lane) = self.place[core];
        &self.counts[(t & 1) as usize][line].0[lane]
    }

    fn stamp(&self, worker: usize, t: u32) -> &AtomicU32 {
        &self.counts[(t & 1) as usize][self.stamp_line[worker]].0[0]
    }

    fn publish(&self, core: usize, t: u32, spikes: &[u32]) {
        let ids = &self.ids[core][(t & 1) as usize];
        assert!(spikes.len() <= ids.len(), "core {core} emitted {} spikes, more than its {} neurons", spikes.len(), ids.len());
        for (d, &x) in ids.iter().zip(spikes) {
            d.store(x, Ordering::Relaxed);
        }
        self.count(core, t).store(spikes.len() as u32, Ordering::Relaxed);
    }

    /// Marks `worker`'s spikes of step `t` complete.
    fn complete(&self, worker: usize, t: u32) {
        self.stamp(worker, t).store(t.wrapping_add(1), Ordering::Release);
    }

    /// Waits until `worker` has completed step `t`. Panics if a worker
    /// panicked (so nobody waits forever).
    fn wait_for(&self, worker: usize, t: u32) {
        let stamp = self.stamp(worker, t);
        let mut spins = 0u32;
        while stamp.load(Ordering::Acquire) != t.wrapping_add(1) {
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

    fn read(&self, core: usize, t: u32, into: &mut Vec<u32>) {
        let n = self.count(core, t).load(Ordering::Relaxed) as usize;
        into.clear();
        if n > 0 {
            into.extend(self.ids[core][(t & 1) as usize][..n].iter().map(|x| x.load(Ordering::Relaxed)));
        }
    }
}

/// Marks the board poisoned when the owning worker unwinds.
struct PoisonOnPanic<'a>(&'a SpikeBoard);

impl Drop for PoisonOnPanic<'_> {
    fn drop(&mut self) {
        if std::thread::panicking() {
            self.0.poisoned.store(true, Ordering::Relaxed);
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
    /// The worker's index.
    me: usize,
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
    let mut parts: Vec<Part<'_>> = (0..workers).map(|me| Part { me, ids: Vec::new(), cores: Vec::new(), recorders: Vec::new() }).collect();
    for (c, (core, rec)) in cores.iter_mut().zip(recorders.iter_mut()).enumerate() {
        let p = &mut parts[assignment[c]];
        p.ids.push(c);
        p.cores.push(core);
        p.recorders.push(rec);
    }
    // Per worker, the cores of the others (whose spikes it copies from the board).
    let others: Vec<Vec<usize>> = (0..workers).map(|me| (0..assignment.len()).filter(|&c| assignment[c] != me).collect()).collect();
    let mut parts = parts.into_iter().zip(fanouts.iter_mut());
    let mine = parts.next();
    let start: &Vec<Vec<u32>> = spikes;
    let (board, others) = (&board, &others);
    let result = std::thread::scope(|s| {
        let mut handles = Vec::new();
        for (k, (part, fanout)) in parts.enumerate() {
            let local = start.clone();
            let spawned = std::thread::Builder::new()
                .name(format!("spikeforge-emu-{}", k + 1))
                .spawn_scoped(s, move || {
                    let others = &others[part.me];
                    worker(part, fanout, board, others, seg, local, &mut |_| {});
                });
            match spawned {
                Ok(h) => handles.push(h),
                Err(e) => {
                    // The workers already started stop at their next wait.
                    board.poisoned.store(true, Ordering::Relaxed);
                    for h in handles {
                        let _ = h.join();
                    }
                    return Err(e);
                }
            }
        }
        let local = match mine {
            Some((part, fanout)) => worker(part, fanout, board, &others[0], seg, start.clone(), progress),
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

/// One worker's steps. `others`: the cores it does not step.
fn worker(
    mut part: Part<'_>,
    fanout: &mut Fanout,
    board: &SpikeBoard,
    others: &[usize],
    seg: &Segment<'_>,
    mut local: Vec<Vec<u32>>,
    progress: &mut dyn FnMut(u32),
) -> Vec<Vec<u32>> {
    let _guard = PoisonOnPanic(board);
    // This step's spikes of the worker's own cores (slot order).
    let mut own: Vec<Vec<u32>> = vec![Vec::new(); part.cores.len()];
    fanout.load(&part.cores, seg.first);
    for t in seg.first..=seg.last {
        fanout.deliver(&local, t);
        for (k, (core, rec)) in part.cores.iter_mut().zip(part.recorders.iter_mut()).enumerate() {
            let c = part.ids[k];
            step_core(core, rec, &seg.inputs[c], &local, t, &mut own[k], fanout.ring(k));
            board.publish(c, t, &own[k]);
        }
        board.complete(part.me, t);
        for (k, &c) in part.ids.iter().enumerate() {
            std::mem::swap(&mut local[c], &mut own[k]);
        }
        for w in (0..board.stamp_line.len()).filter(|&w| w != part.me) {
            board.wait_for(w, t);
        }
        for &c in others {
            board.read(c, t, &mut local[c]);
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
