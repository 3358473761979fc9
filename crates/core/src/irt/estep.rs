//! The E-step over distinct response patterns.
//!
//! Respondents of the same group with the same answers have the same
//! posterior: the patterns are collapsed once per calibration (summing
//! their weights), each held as its list of *slots* (an item answered in
//! a category above 0) and its list of missing items.
//!
//! Per pattern, the log posterior starts from a row shared by every
//! pattern of its group (the group's log masses plus every item's
//! `ln P(0)`), adds `ln P(k) - ln P(0)` for each slot and takes `ln P(0)`
//! off for each missing item. The posteriors of a tile of patterns are then
//! added slot by slot and missing item by missing item, and to the group's
//! total; the expected count of an item's category 0 is the total less its
//! missing answers and its other categories. Both passes keep `LANES`
//! quadrature points of the sum in registers while they run down a list of
//! rows (loads only, no stores), over the grid padded to a multiple of
//! `LANES` (padding: log mass `-inf`, posterior 0). No branch on the
//! answers. For right/wrong items a slot is a right answer, and this is
//! the classic 2PL E-step.

use std::collections::HashMap;

use rayon::prelude::*;

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
/// Quadrature points summed together in registers.
pub(super) const LANES: usize = 8;

/// Where each item's expected counts live (item `j`, category `k`, point
/// `q` at `offsets[j] + k * q_len + q`), and its slots (categories above
/// 0: item `j`'s category `k` is slot `slot_offsets[j] + k - 1`).
#[derive(Debug, Clone)]
pub(super) struct Layout {
    pub q_len: usize,
    pub categories: Vec<usize>,
    pub offsets: Vec<usize>,
    pub total: usize,
    pub slot_offsets: Vec<usize>,
    pub n_slots: usize,
}

impl Layout {
    pub fn new(categories: &[usize], q_len: usize) -> Self {
        let (mut offsets, mut slot_offsets) = (Vec::new(), Vec::new());
        let (mut total, mut n_slots) = (0, 0);
        for &k in categories {
            offsets.push(total);
            slot_offsets.push(n_slots);
            total += k * q_len;
            n_slots += k - 1;
        }
        Self {
            q_len,
            categories: categories.to_vec(),
            offsets,
            total,
            slot_offsets,
            n_slots,
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
    missing_start: Vec<usize>,
    missing: Vec<u32>,
    /// The same by slot within each tile of `TILE` patterns: tile `t`,
    /// slot `s` lists the tile-local indices of the patterns with `s` from
    /// `tile_slot_start[t * (S + 1) + s]`.
    tile_slot_start: Vec<usize>,
    tile_slot: Vec<u16>,
    /// By missing item: tile `t`, item `j` from `tile_missing_start[t * (J + 1) + j]`.
    tile_missing_start: Vec<usize>,
    tile_missing: Vec<u16>,
    n_slots: usize,
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
            missing_start: vec![0],
            missing: Vec::new(),
            tile_slot_start: Vec::new(),
            tile_slot: Vec::new(),
            tile_missing_start: Vec::new(),
            tile_missing: Vec::new(),
            n_slots: layout.n_slots,
            n_items,
        };
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
                    x => p
                        .slots
                        .push((layout.slot_offsets[j] + usize::from(x) - 1) as u32),
                }
            }
            p.slot_start.push(p.slots.len());
            p.missing_start.push(p.missing.len());
        }
        p.index_tiles();
        p
    }

    /// Builds the per-tile lists by slot and by missing item.
    fn index_tiles(&mut self) {
        let mut slot_lists: Vec<Vec<u16>> = vec![Vec::new(); self.n_slots];
        let mut missing_lists: Vec<Vec<u16>> = vec![Vec::new(); self.n_items];
        for tile in 0..self.len().div_ceil(TILE) {
            let first = tile * TILE;
            for (local, i) in (0_u16..).zip(first..(first + TILE).min(self.len())) {
                for &s in self.slots(i) {
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

    /// Items pattern `i` has missing.
    pub fn missing(&self, i: usize) -> &[u32] {
        &self.missing[self.missing_start[i]..self.missing_start[i + 1]]
    }

    /// Whether any pattern has a missing answer.
    pub fn any_missing(&self) -> bool {
        !self.missing.is_empty()
    }

    fn tile_slot(&self, tile: usize, s: usize) -> &[u16] {
        let k = tile * (self.n_slots + 1) + s;
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
/// `qp` points: slot `s` at `delta[s * qp..]` (`ln P(k) - ln P(0)`), item
/// `j`'s `-ln P(0)` at `neg_log0[j * qp..]`, group `g`'s starting row at
/// `base[g * qp..]`.
pub(super) struct Tables {
    pub qp: usize,
    pub delta: Vec<f64>,
    pub neg_log0: Vec<f64>,
    pub base: Vec<f64>,
}

impl Tables {
    /// The tables of `items` on the grid `points`, each group starting
    /// from its log masses `log_w[g]`.
    pub fn new(layout: &Layout, items: &[ItemModel], points: &[f64], log_w: &[Vec<f64>]) -> Self {
        let (q_len, qp) = (layout.q_len, layout.padded());
        let mut delta = vec![0.0; layout.n_slots * qp];
        let mut neg_log0 = vec![0.0; items.len() * qp];
        let mut common = vec![0.0; q_len];
        let mut buf = vec![0.0; layout.categories.iter().copied().max().unwrap_or(2)];
        for (j, item) in items.iter().enumerate() {
            let k_len = layout.categories[j];
            let first = layout.slot_offsets[j];
            for (q, &t) in points.iter().enumerate() {
                item.log_probabilities_into(t, &mut buf[..k_len]);
                let lp0 = buf[0];
                neg_log0[j * qp + q] = -lp0;
                common[q] += lp0;
                for (k, lp) in buf[1..k_len].iter().enumerate() {
                    delta[(first + k) * qp + q] = lp - lp0;
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
            delta,
            neg_log0,
            base,
        }
    }

    /// Pattern `i`'s unnormalised log posterior, padded, into `out`.
    #[inline]
    pub fn log_posterior(&self, patterns: &Patterns, i: usize, out: &mut [f64]) {
        let qp = self.qp;
        let g = patterns.groups[i];
        let (slots, misses) = (patterns.slots(i), patterns.missing(i));
        for (c, chunk) in out.chunks_exact_mut(LANES).enumerate() {
            let lanes = g * qp + c * LANES;
            let mut acc = [0.0; LANES];
            acc.copy_from_slice(&self.base[lanes..lanes + LANES]);
            for &s in slots {
                let at = s as usize * qp + c * LANES;
                lane_add(&mut acc, &self.delta[at..at + LANES]);
            }
            for &j in misses {
                let at = j as usize * qp + c * LANES;
                lane_add(&mut acc, &self.neg_log0[at..at + LANES]);
            }
            chunk.copy_from_slice(&acc);
        }
    }
}

/// Turns a log posterior into weights summing to `w` in place; returns
/// `w` times the log of the normalising sum (the pattern's log-likelihood).
#[inline]
pub(super) fn normalise(post: &mut [f64], w: f64) -> f64 {
    let max = post.iter().fold(f64::NEG_INFINITY, |m, &x| m.max(x));
    let mut sum = 0.0;
    for l in post.iter_mut() {
        *l = (*l - max).exp();
        sum += *l;
    }
    let scale = w / sum;
    for l in post.iter_mut() {
        *l *= scale;
    }
    w * (max + sum.ln())
}

/// Expected counts of one E-step.
pub(super) struct Counts {
    /// Per item, category and point (see [`Layout`]).
    pub items: Vec<f64>,
    /// Per group and point (`g * q_len + q`).
    pub groups: Vec<f64>,
    pub log_likelihood: f64,
}

/// One range's padded sums.
struct Partial {
    slots: Vec<f64>,
    missing: Vec<f64>,
    all: Vec<f64>,
    log_likelihood: f64,
}

impl Partial {
    fn new(layout: &Layout, n_items: usize, n_groups: usize) -> Self {
        let qp = layout.padded();
        Self {
            slots: vec![0.0; layout.n_slots * qp],
            missing: vec![0.0; n_items * qp],
            all: vec![0.0; n_groups * qp],
            log_likelihood: 0.0,
        }
    }

    fn add(&mut self, other: &Partial) {
        add(&mut self.slots, &other.slots);
        add(&mut self.missing, &other.missing);
        add(&mut self.all, &other.all);
        self.log_likelihood += other.log_likelihood;
    }
}

/// Expected counts per item, category and point, per group and point, and
/// the marginal log-likelihood, given the tables of the current parameters.
pub(super) fn e_step(patterns: &Patterns, layout: &Layout, tables: &Tables) -> Counts {
    let n_items = layout.categories.len();
    let n_groups = tables.base.len() / tables.qp;
    let partials: Vec<Partial> = patterns
        .ranges(MAX_TASKS)
        .into_par_iter()
        .map(|range| {
            let mut part = Partial::new(layout, n_items, n_groups);
            let mut posts = vec![0.0; TILE * tables.qp];
            for tile in range.start / TILE..range.end.div_ceil(TILE) {
                tile_sums(patterns, tables, tile, &mut posts, &mut part);
            }
            part
        })
        .collect();
    let mut sum = Partial::new(layout, n_items, n_groups);
    for p in &partials {
        sum.add(p);
    }
    counts(layout, tables.qp, &sum)
}

/// Adds one tile's posteriors to `part`.
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
    }
    for (s, target) in part.slots.chunks_exact_mut(qp).enumerate() {
        add_listed(patterns.tile_slot(tile, s), posts, qp, target);
    }
    for (j, target) in part.missing.chunks_exact_mut(qp).enumerate() {
        add_listed(patterns.tile_missing(tile, j), posts, qp, target);
    }
}

/// Adds the posteriors (rows of `qp` in `posts`) of the listed patterns
/// to `target`, `LANES` points at a time.
#[inline]
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

/// The counts of the M-step from the summed padded sums: category 0 of
/// item `j` is every posterior less those of the patterns missing `j` and
/// those in its other categories (never below 0 by rounding).
fn counts(layout: &Layout, qp: usize, sum: &Partial) -> Counts {
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
    for (j, &k_len) in layout.categories.iter().enumerate() {
        let at = layout.offsets[j];
        let mut zero: Vec<f64> = all
            .iter()
            .zip(&sum.missing[j * qp..j * qp + q_len])
            .map(|(a, m)| a - m)
            .collect();
        for k in 1..k_len {
            let s = layout.slot_offsets[j] + k - 1;
            let row = &sum.slots[s * qp..s * qp + q_len];
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
        groups,
        log_likelihood: sum.log_likelihood,
    }
}

/// `acc += x` on `LANES` values.
#[inline(always)]
fn lane_add(acc: &mut [f64], x: &[f64]) {
    for (a, b) in acc[..LANES].iter_mut().zip(&x[..LANES]) {
        *a += b;
    }
}

/// `acc += x`, element by element.
pub(super) fn add(acc: &mut [f64], x: &[f64]) {
    for (a, b) in acc.iter_mut().zip(x) {
        *a += b;
    }
}
