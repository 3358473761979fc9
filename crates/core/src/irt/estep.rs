//! The E-step over distinct response patterns.
//!
//! Respondents of the same group with the same answers have the same
//! posterior: the patterns are collapsed once per calibration (summing
//! their weights), each held as its list of *slots* (an item answered in
//! a category above 0) and its list of missing items.
//!
//! Every item model but the 3PL is *linear* (see [`Layout`]): its
//! `ln P(k) - ln P(0)` is `a k theta + d_k`. Per pattern, the log posterior
//! is the group's row (its log masses plus every item's `ln P(0)`), plus
//! one line, `theta` times the sum of `a k` and the sum of `d_k` over the
//! pattern's linear answers, plus the row of `ln P(k) - ln P(0)` of each
//! other answer, less `ln P(0)` of each missing item. After the
//! exponential, the posteriors are added to the group's total, and each
//! pattern's weighted posterior mean to its slots' sums; those of a tile of
//! patterns are added point by point only for the slots of items that are
//! not linear and for the missing items (the answered counts of an item
//! are the total less its missing answers; the M-step of a linear item
//! needs nothing else). The sums keep `LANES` quadrature points in
//! registers while they run down a list of rows, over the grid padded to a
//! multiple of `LANES` (padding: log mass `-inf`, posterior 0). For 2PL
//! items the work per pattern is its answers plus a few passes over the
//! grid, instead of answers times points.

use std::collections::HashMap;

use rayon::prelude::*;

use super::lanes::{LANES, dot, exp_nonpositive, lane_add};
use super::{CategoryResponses, ItemModel};

/// The patterns are split into at most this many fixed ranges (multiples of
/// `TILE` patterns, at least `MIN_RANGE`, depending only on their number),
/// each summed in pattern order, the partial sums added in range order: the
/// result does not depend on the thread count, and memory for partial
/// counts stays bounded however many patterns there are.
const MAX_TASKS: usize = 64;
/// Smallest range of patterns per task.
const MIN_RANGE: usize = 1024;
/// Patterns per tile (at most 2^16: tile-local indices are `u16`): their
/// posteriors stay in cache while they are added slot by slot.
const TILE: usize = 128;

/// Where each item's expected counts live (item `j`, category `k`, point
/// `q` at `offsets[j] + k * q_len + q`), and its slots (categories above
/// 0: item `j`'s category `k` is slot `slot_offsets[j] + k - 1`).
///
/// An item is *linear* when `ln P(k) - ln P(0)` is `a k theta + d_k` (every
/// model but the 3PL): its answers enter a posterior only through the
/// pattern's sums of `a k` and `d_k`, and its M-step only through its
/// answered counts per point and, per category, the summed weight and
/// weighted posterior mean of the patterns in it (the sufficient
/// statistics of an exponential family). Only the other items' categories
/// are counted point by point.
#[derive(Debug, Clone)]
pub(super) struct Layout {
    pub q_len: usize,
    pub categories: Vec<usize>,
    pub linear: Vec<bool>,
    pub offsets: Vec<usize>,
    pub total: usize,
    pub slot_offsets: Vec<usize>,
    pub n_slots: usize,
    /// Where each item's categories above 0 start among the *full slots*:
    /// the slots of the items that are not linear, numbered in order, the
    /// only ones counted point by point (item `j`'s category `k` is full
    /// slot `full_offsets[j] + k - 1` when `j` is not linear).
    pub full_offsets: Vec<usize>,
    /// Number of full slots.
    pub n_full: usize,
}

impl Layout {
    pub fn new(categories: &[usize], linear: &[bool], q_len: usize) -> Self {
        let (mut offsets, mut slot_offsets) = (Vec::new(), Vec::new());
        let (mut total, mut n_slots) = (0, 0);
        let (mut full_offsets, mut n_full) = (Vec::new(), 0);
        for (&k, &linear) in categories.iter().zip(linear) {
            offsets.push(total);
            slot_offsets.push(n_slots);
            full_offsets.push(n_full);
            if !linear {
                n_full += k - 1;
            }
            total += k * q_len;
            n_slots += k - 1;
        }
        Self {
            q_len,
            categories: categories.to_vec(),
            linear: linear.to_vec(),
            offsets,
            total,
            slot_offsets,
            n_slots,
            full_offsets,
            n_full,
        }
    }

    /// Item `j`'s counts.
    pub fn span(&self, j: usize) -> std::ops::Range<usize> {
        self.offsets[j]..self.offsets[j] + self.categories[j] * self.q_len
    }

    /// The grid length padded to a multiple of `LANES`.
    pub fn padded(&self) -> usize {
        self.q_len.div_ceil(LANES) * LANES
    }
}

/// The distinct response patterns of each group with their summed weights
/// (patterns of zero weight or without any answer dropped: they add
/// nothing), in order of first appearance.
pub(super) struct Patterns {
    pub weights: Vec<f64>,
    pub groups: Vec<usize>,
    slot_start: Vec<usize>,
    slots: Vec<u32>,
    /// The full slots (see [`Layout::full_offsets`]) of each pattern.
    full_start: Vec<usize>,
    full: Vec<u32>,
    missing_start: Vec<usize>,
    missing: Vec<u32>,
    /// Per slot, the summed weight of the patterns in it.
    pub slot_weights: Vec<f64>,
    /// The same by full slot within each tile of `TILE` patterns: tile
    /// `t`, full slot `f` lists the tile-local indices of the patterns
    /// with it from `tile_slot_start[t * (F + 1) + f]`.
    tile_slot_start: Vec<usize>,
    tile_slot: Vec<u16>,
    /// By missing item: tile `t`, item `j` from `tile_missing_start[t * (J + 1) + j]`.
    tile_missing_start: Vec<usize>,
    tile_missing: Vec<u16>,
    n_full: usize,
    n_items: usize,
}

impl Patterns {
    pub fn new(
        responses: &CategoryResponses,
        group_of: &[usize],
        weights: Option<&[f64]>,
        layout: &Layout,
    ) -> Self {
        let n_items = responses.n_items();
        let mut index: HashMap<(usize, &[u8]), usize> = HashMap::new();
        let mut p = Patterns {
            weights: Vec::new(),
            groups: Vec::new(),
            slot_start: vec![0],
            slots: Vec::new(),
            full_start: vec![0],
            full: Vec::new(),
            missing_start: vec![0],
            missing: Vec::new(),
            slot_weights: vec![0.0; layout.n_slots],
            tile_slot_start: Vec::new(),
            tile_slot: Vec::new(),
            tile_missing_start: Vec::new(),
            tile_missing: Vec::new(),
            n_full: layout.n_full,
            n_items,
        };
        // Room for every answer above 0 at once (no regrowing copies).
        let answered = |x: &u8| *x != 0 && *x != CategoryResponses::MISSING;
        p.slots
            .reserve(responses.cells().iter().filter(|x| answered(x)).count());
        index.reserve(responses.n_respondents());
        for (i, &g) in group_of.iter().enumerate() {
            let w = weights.map_or(1.0, |w| w[i]);
            let row = responses.row(i);
            if w == 0.0 || row.iter().all(|&x| x == CategoryResponses::MISSING) {
                continue;
            }
            if let Some(&k) = index.get(&(g, row)) {
                p.weights[k] += w;
                continue;
            }
            index.insert((g, row), p.weights.len());
            p.weights.push(w);
            p.groups.push(g);
            for (j, &x) in row.iter().enumerate() {
                match x {
                    0 => {}
                    CategoryResponses::MISSING => p.missing.push(j as u32),
                    x => {
                        let s = layout.slot_offsets[j] + usize::from(x) - 1;
                        p.slots.push(s as u32);
                        if !layout.linear[j] {
                            let f = layout.full_offsets[j] + usize::from(x) - 1;
                            p.full.push(f as u32);
                        }
                    }
                }
            }
            p.slot_start.push(p.slots.len());
            p.full_start.push(p.full.len());
            p.missing_start.push(p.missing.len());
        }
        for (i, w) in p.weights.iter().enumerate() {
            for &s in &p.slots[p.slot_start[i]..p.slot_start[i + 1]] {
                p.slot_weights[s as usize] += w;
            }
        }
        p.index_tiles();
        p
    }

    /// Builds the per-tile lists by slot and by missing item.
    fn index_tiles(&mut self) {
        let mut slot_lists: Vec<Vec<u16>> = vec![Vec::new(); self.n_full];
        let mut missing_lists: Vec<Vec<u16>> = vec![Vec::new(); self.n_items];
        for tile in 0..self.len().div_ceil(TILE) {
            let first = tile * TILE;
            for (local, i) in (0_u16..).zip(first..(first + TILE).min(self.len())) {
                for &s in self.full_slots(i) {
                    slot_lists[s as usize].push(local);
                }
                for &j in self.missing(i) {
                    missing_lists[j as usize].push(local);
                }
            }
            for list in &mut slot_lists {
                self.tile_slot_start.push(self.tile_slot.len());
                self.tile_slot.append(list);
            }
            self.tile_slot_start.push(self.tile_slot.len());
            for list in &mut missing_lists {
                self.tile_missing_start.push(self.tile_missing.len());
                self.tile_missing.append(list);
            }
            self.tile_missing_start.push(self.tile_missing.len());
        }
    }

    /// Number of patterns.
    pub fn len(&self) -> usize {
        self.weights.len()
    }

    /// Slots of pattern `i` (its answers above category 0), in item order.
    pub fn slots(&self, i: usize) -> &[u32] {
        &self.slots[self.slot_start[i]..self.slot_start[i + 1]]
    }

    /// Full slots of pattern `i` (see [`Layout::full_offsets`]).
    pub fn full_slots(&self, i: usize) -> &[u32] {
        &self.full[self.full_start[i]..self.full_start[i + 1]]
    }

    /// Items pattern `i` has missing.
    pub fn missing(&self, i: usize) -> &[u32] {
        &self.missing[self.missing_start[i]..self.missing_start[i + 1]]
    }

    /// Whether any pattern has a missing answer.
    pub fn any_missing(&self) -> bool {
        !self.missing.is_empty()
    }

    fn tile_slot(&self, tile: usize, f: usize) -> &[u16] {
        let k = tile * (self.n_full + 1) + f;
        &self.tile_slot[self.tile_slot_start[k]..self.tile_slot_start[k + 1]]
    }

    fn tile_missing(&self, tile: usize, j: usize) -> &[u16] {
        let k = tile * (self.n_items + 1) + j;
        &self.tile_missing[self.tile_missing_start[k]..self.tile_missing_start[k + 1]]
    }

    /// Fixed ranges of patterns, one per task (see `MAX_TASKS`).
    pub fn ranges(&self, max_tasks: usize) -> Vec<std::ops::Range<usize>> {
        let n = self.len();
        let size = n.div_ceil(max_tasks).div_ceil(TILE).max(MIN_RANGE / TILE) * TILE;
        (0..n.div_ceil(size))
            .map(|r| r * size..((r + 1) * size).min(n))
            .collect()
    }
}

/// The log-probability tables of an E-step at given parameters, padded to
/// `qp` points: the grid at `theta` (padding 0); per slot `s` the line
/// `ln P(k) - ln P(0) = line[s][0] theta + line[s][1]` of a linear item
/// (0 and 0 for the others); per full slot `f` (see [`Layout::full_offsets`]) the
/// row `delta[f * qp..]` of `ln P(k) - ln P(0)` at each point; item `j`'s
/// `-ln P(0)` at
/// `neg_log0[j * qp..]`; group `g`'s starting row at `base[g * qp..]`.
pub(super) struct Tables {
    pub qp: usize,
    pub theta: Vec<f64>,
    pub line: Vec<[f64; 2]>,
    pub delta: Vec<f64>,
    pub neg_log0: Vec<f64>,
    pub base: Vec<f64>,
}

impl Tables {
    /// The tables of `items` on the grid `points`, each group starting
    /// from its log masses `log_w[g]`.
    pub fn new(layout: &Layout, items: &[ItemModel], points: &[f64], log_w: &[Vec<f64>]) -> Self {
        let (q_len, qp) = (layout.q_len, layout.padded());
        let mut theta = vec![0.0; qp];
        theta[..q_len].copy_from_slice(points);
        let mut line = vec![[0.0; 2]; layout.n_slots];
        let mut delta = vec![0.0; layout.n_full * qp];
        let mut neg_log0 = vec![0.0; items.len() * qp];
        let mut common = vec![0.0; q_len];
        let mut buf = vec![0.0; layout.categories.iter().copied().max().unwrap_or(2)];
        for (j, item) in items.iter().enumerate() {
            let k_len = layout.categories[j];
            let first = layout.slot_offsets[j];
            if layout.linear[j] {
                for (k, l) in (1..k_len).zip(&mut line[first..]) {
                    *l = item.log_odds_line(k).into();
                }
            }
            for (q, &t) in points.iter().enumerate() {
                item.log_probabilities_into(t, &mut buf[..k_len]);
                let lp0 = buf[0];
                neg_log0[j * qp + q] = -lp0;
                common[q] += lp0;
                if !layout.linear[j] {
                    let f = layout.full_offsets[j];
                    for (k, lp) in buf[1..k_len].iter().enumerate() {
                        delta[(f + k) * qp + q] = lp - lp0;
                    }
                }
            }
        }
        let mut base = vec![f64::NEG_INFINITY; log_w.len() * qp];
        for (g, lw) in log_w.iter().enumerate() {
            for (q, (b, w)) in base[g * qp..g * qp + q_len].iter_mut().zip(lw).enumerate() {
                *b = w + common[q];
            }
        }
        Self {
            qp,
            theta,
            line,
            delta,
            neg_log0,
            base,
        }
    }

    /// Pattern `i`'s unnormalised log posterior, padded, into `out`: its
    /// group's row, the line of its linear answers, the rows of its other
    /// answers, less `ln P(0)` of each item it left out.
    #[inline(always)]
    pub fn log_posterior(&self, patterns: &Patterns, i: usize, out: &mut [f64]) {
        let qp = self.qp;
        let g = patterns.groups[i];
        // Four running sums (in registers), so that the additions do not
        // wait on each other.
        let mut sums = [[0.0; 2]; 4];
        let slots = patterns.slots(i).chunks_exact(4);
        let rest = slots.remainder();
        for chunk in slots {
            for (sum, &s) in sums.iter_mut().zip(chunk) {
                let l = self.line[s as usize];
                sum[0] += l[0];
                sum[1] += l[1];
            }
        }
        for (sum, &s) in sums.iter_mut().zip(rest) {
            let l = self.line[s as usize];
            sum[0] += l[0];
            sum[1] += l[1];
        }
        let total = |u: usize| (sums[0][u] + sums[1][u]) + (sums[2][u] + sums[3][u]);
        let (slope, intercept) = (total(0), total(1));
        let (full, misses) = (patterns.full_slots(i), patterns.missing(i));
        for (c, chunk) in out.chunks_exact_mut(LANES).enumerate() {
            let lanes = c * LANES;
            let mut acc = [0.0; LANES];
            for ((a, b), t) in acc
                .iter_mut()
                .zip(&self.base[g * qp + lanes..])
                .zip(&self.theta[lanes..lanes + LANES])
            {
                *a = b + (slope * t + intercept);
            }
            for &s in full {
                let at = s as usize * qp + lanes;
                lane_add(&mut acc, &self.delta[at..at + LANES]);
            }
            for &j in misses {
                let at = j as usize * qp + lanes;
                lane_add(&mut acc, &self.neg_log0[at..at + LANES]);
            }
            chunk.copy_from_slice(&acc);
        }
    }
}

/// Turns a padded log posterior into weights summing to `w` in place;
/// returns `w` times the log of the normalising sum (the pattern's
/// log-likelihood).
#[inline(always)]
pub(super) fn normalise(post: &mut [f64], w: f64) -> f64 {
    let mut top = [f64::NEG_INFINITY; LANES];
    for chunk in post.chunks_exact(LANES) {
        for (m, x) in top.iter_mut().zip(chunk) {
            *m = m.max(*x);
        }
    }
    let max = top.iter().fold(f64::NEG_INFINITY, |m, &x| m.max(x));
    for l in post.iter_mut() {
        *l = exp_nonpositive(*l - max);
    }
    let mut sums = [0.0; LANES];
    for chunk in post.chunks_exact(LANES) {
        lane_add(&mut sums, chunk);
    }
    let sum: f64 = sums.iter().sum();
    let scale = w / sum;
    for l in post.iter_mut() {
        *l *= scale;
    }
    w * (max + sum.ln())
}

/// Expected counts of one E-step.
pub(super) struct Counts {
    /// Per category and point of the items that are not linear (see
    /// [`Layout`]; the spans of linear items are left 0).
    pub items: Vec<f64>,
    /// Per item and point (`j * q_len + q`): the expected number answering it.
    pub answered: Vec<f64>,
    /// Per slot: the summed weight times posterior mean of theta of the
    /// patterns in it.
    pub slot_theta: Vec<f64>,
    /// Per group and point (`g * q_len + q`).
    pub groups: Vec<f64>,
    pub log_likelihood: f64,
}

/// What the M-step sees of one item's expected counts.
pub(super) enum ItemCounts<'a> {
    /// Per category and point, category-major.
    Full(&'a [f64]),
    /// A linear item: the expected number answering it at each point and,
    /// per category above 0, the summed weight and weight times posterior
    /// mean of theta of the patterns in it.
    Linear {
        answered: &'a [f64],
        weights: &'a [f64],
        theta: &'a [f64],
    },
}

impl Counts {
    /// Item `j`'s counts (`patterns`: those of the E-step).
    pub fn item<'a>(&'a self, layout: &Layout, patterns: &'a Patterns, j: usize) -> ItemCounts<'a> {
        if layout.linear[j] {
            let slots = layout.slot_offsets[j]..layout.slot_offsets[j] + layout.categories[j] - 1;
            ItemCounts::Linear {
                answered: &self.answered[j * layout.q_len..(j + 1) * layout.q_len],
                weights: &patterns.slot_weights[slots.clone()],
                theta: &self.slot_theta[slots],
            }
        } else {
            ItemCounts::Full(&self.items[layout.span(j)])
        }
    }
}

/// One range's padded sums.
struct Partial {
    slots: Vec<f64>,
    slot_theta: Vec<f64>,
    missing: Vec<f64>,
    all: Vec<f64>,
    log_likelihood: f64,
}

impl Partial {
    /// Zero sums (`missing` empty when no pattern misses an answer).
    fn new(layout: &Layout, any_missing: bool, n_groups: usize) -> Self {
        let qp = layout.padded();
        let n_items = if any_missing {
            layout.categories.len()
        } else {
            0
        };
        Self {
            slots: vec![0.0; layout.n_full * qp],
            slot_theta: vec![0.0; layout.n_slots],
            missing: vec![0.0; n_items * qp],
            all: vec![0.0; n_groups * qp],
            log_likelihood: 0.0,
        }
    }

    fn add(&mut self, other: &Partial) {
        add(&mut self.slots, &other.slots);
        add(&mut self.slot_theta, &other.slot_theta);
        add(&mut self.missing, &other.missing);
        add(&mut self.all, &other.all);
        self.log_likelihood += other.log_likelihood;
    }
}

/// Expected counts per item, category and point, per group and point, and
/// the marginal log-likelihood, given the tables of the current parameters.
pub(super) fn e_step(patterns: &Patterns, layout: &Layout, tables: &Tables) -> Counts {
    let any_missing = patterns.any_missing();
    let n_groups = tables.base.len() / tables.qp;
    let partials: Vec<Partial> = patterns
        .ranges(MAX_TASKS)
        .into_par_iter()
        .map_init(
            || vec![0.0; TILE * tables.qp],
            |posts, range| {
                let mut part = Partial::new(layout, any_missing, n_groups);
                pulp::Arch::new().dispatch(RangeSums {
                    patterns,
                    tables,
                    range,
                    posts,
                    part: &mut part,
                });
                part
            },
        )
        .collect();
    let mut sum = Partial::new(layout, any_missing, n_groups);
    for p in &partials {
        sum.add(p);
    }
    counts(layout, tables.qp, sum)
}

/// Adds the posteriors of a range of patterns (whole tiles) to `part`.
///
/// Run through `pulp::Arch::dispatch`, with everything it calls inlined:
/// it is compiled once per instruction set and runs with the widest the
/// CPU has (AVX-512, AVX2 or SSE2), the same operations in the same order
/// on each (no fused multiply-add), so the sums do not depend on the CPU.
struct RangeSums<'a> {
    patterns: &'a Patterns,
    tables: &'a Tables,
    range: std::ops::Range<usize>,
    posts: &'a mut [f64],
    part: &'a mut Partial,
}

impl pulp::WithSimd for RangeSums<'_> {
    type Output = ();

    #[inline(always)]
    fn with_simd<S: pulp::Simd>(self, _: S) {
        for tile in self.range.start / TILE..self.range.end.div_ceil(TILE) {
            tile_sums(self.patterns, self.tables, tile, self.posts, self.part);
        }
    }
}

/// Adds one tile's posteriors to `part`.
#[inline(always)]
fn tile_sums(
    patterns: &Patterns,
    tables: &Tables,
    tile: usize,
    posts: &mut [f64],
    part: &mut Partial,
) {
    let qp = tables.qp;
    let first = tile * TILE;
    let len = TILE.min(patterns.len() - first);
    for (local, post) in posts.chunks_exact_mut(qp).take(len).enumerate() {
        let i = first + local;
        tables.log_posterior(patterns, i, post);
        part.log_likelihood += normalise(post, patterns.weights[i]);
        let g = patterns.groups[i];
        add(&mut part.all[g * qp..(g + 1) * qp], post);
        let mean = dot(post, &tables.theta);
        for &s in patterns.slots(i) {
            part.slot_theta[s as usize] += mean;
        }
    }
    for (f, target) in part.slots.chunks_exact_mut(qp).enumerate() {
        add_listed(patterns.tile_slot(tile, f), posts, qp, target);
    }
    for (j, target) in part.missing.chunks_exact_mut(qp).enumerate() {
        add_listed(patterns.tile_missing(tile, j), posts, qp, target);
    }
}

/// Adds the posteriors (rows of `qp` in `posts`) of the listed patterns
/// to `target`, `LANES` points at a time.
#[inline(always)]
fn add_listed(list: &[u16], posts: &[f64], qp: usize, target: &mut [f64]) {
    if list.is_empty() {
        return;
    }
    for c in 0..qp / LANES {
        let mut acc = [0.0; LANES];
        for &i in list {
            let at = usize::from(i) * qp + c * LANES;
            lane_add(&mut acc, &posts[at..at + LANES]);
        }
        lane_add(&mut target[c * LANES..(c + 1) * LANES], &acc);
    }
}

/// The counts of the M-step from the summed padded sums: item `j` is
/// answered by every posterior less those of the patterns missing it; the
/// category 0 of an item that is not linear by those less its other
/// categories (never below 0 by rounding).
fn counts(layout: &Layout, qp: usize, sum: Partial) -> Counts {
    let q_len = layout.q_len;
    let n_groups = sum.all.len() / qp;
    let mut all = vec![0.0; q_len];
    let mut groups = Vec::with_capacity(n_groups * q_len);
    for g in 0..n_groups {
        let row = &sum.all[g * qp..g * qp + q_len];
        add(&mut all, row);
        groups.extend_from_slice(row);
    }
    let mut items = vec![0.0; layout.total];
    let mut answered = Vec::with_capacity(layout.categories.len() * q_len);
    let none_missing = vec![0.0; q_len];
    for (j, &k_len) in layout.categories.iter().enumerate() {
        let missing = sum
            .missing
            .get(j * qp..j * qp + q_len)
            .unwrap_or(&none_missing);
        answered.extend(all.iter().zip(missing).map(|(a, m)| (a - m).max(0.0)));
        if layout.linear[j] {
            continue;
        }
        let at = layout.offsets[j];
        let first = layout.full_offsets[j];
        let mut zero: Vec<f64> = all.iter().zip(missing).map(|(a, m)| a - m).collect();
        for k in 1..k_len {
            let f = first + k - 1;
            let row = &sum.slots[f * qp..f * qp + q_len];
            items[at + k * q_len..at + (k + 1) * q_len].copy_from_slice(row);
            for (z, r) in zero.iter_mut().zip(row) {
                *z -= r;
            }
        }
        for (o, z) in items[at..at + q_len].iter_mut().zip(&zero) {
            *o = z.max(0.0);
        }
    }
    Counts {
        items,
        answered,
        slot_theta: sum.slot_theta,
        groups,
        log_likelihood: sum.log_likelihood,
    }
}

/// `acc += x`, element by element.
#[inline(always)]
pub(super) fn add(acc: &mut [f64], x: &[f64]) {
    for (a, b) in acc.iter_mut().zip(x) {
        *a += b;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::irt::{Grid, ItemParams};

    /// A 2PL, a 3PL (counted point by point), a GPCM and a missing answer
    /// now and then, in two groups: the E-step's sums with the widest
    /// vector instructions this CPU has are the baseline's, bit for bit.
    #[test]
    fn the_sums_are_the_same_bits_with_any_vector_instructions() {
        let categories = [2, 2, 3];
        let n = 3000;
        let cells: Vec<u8> = (0..n * 3)
            .map(|k: usize| {
                let x = (k * 7919 + k / 3 * 104_729) % 11;
                match x {
                    10 => CategoryResponses::MISSING,
                    x => (x % categories[k % 3]) as u8,
                }
            })
            .collect();
        let responses = CategoryResponses::new(categories.to_vec(), cells).unwrap();
        let groups: Vec<usize> = (0..n).map(|i| usize::from(i % 5 == 0)).collect();
        let grid = Grid::standard();
        let layout = Layout::new(&categories, &[true, false, true], grid.len());
        let patterns = Patterns::new(&responses, &groups, None, &layout);
        let items = [
            ItemModel::Dichotomous(ItemParams {
                a: 1.2,
                d: -0.4,
                c: 0.0,
            }),
            ItemModel::Dichotomous(ItemParams {
                a: 0.8,
                d: 0.3,
                c: 0.2,
            }),
            ItemModel::Gpcm {
                a: 0.9,
                d: vec![0.5, -0.7],
            },
        ];
        let log_w: Vec<Vec<f64>> = [(0.0, 1.0), (0.4, 1.3)]
            .iter()
            .map(|&(m, sd): &(f64, f64)| {
                let w: Vec<f64> = grid
                    .points
                    .iter()
                    .map(|t| -0.5 * ((t - m) / sd).powi(2))
                    .collect();
                let log_sum = w.iter().map(|x| x.exp()).sum::<f64>().ln();
                w.iter().map(|x| x - log_sum).collect()
            })
            .collect();
        let tables = Tables::new(&layout, &items, &grid.points, &log_w);
        let sums = |widest: bool| {
            let mut part = Partial::new(&layout, patterns.any_missing(), 2);
            let mut posts = vec![0.0; TILE * tables.qp];
            let range = RangeSums {
                patterns: &patterns,
                tables: &tables,
                range: 0..patterns.len(),
                posts: &mut posts,
                part: &mut part,
            };
            if widest {
                pulp::Arch::new().dispatch(range);
            } else {
                pulp::WithSimd::with_simd(range, pulp::Scalar::new());
            }
            part
        };
        let (widest, baseline) = (sums(true), sums(false));
        assert!(patterns.any_missing() && !widest.slots.is_empty());
        let bits = |p: &Partial| -> Vec<u64> {
            [&p.slots, &p.slot_theta, &p.missing, &p.all]
                .iter()
                .flat_map(|v| v.iter().map(|x| x.to_bits()))
                .chain([p.log_likelihood.to_bits()])
                .collect()
        };
        assert_eq!(bits(&widest), bits(&baseline));
        assert!(widest.log_likelihood.is_finite() && widest.log_likelihood < 0.0);
    }
}
