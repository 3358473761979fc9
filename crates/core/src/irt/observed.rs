//! The observed information of the marginal likelihood, exactly, by Louis'
//! (1982) identity: the complete-data information less the posterior
//! covariance of the complete-data score, summed over response patterns.
//! For every item model but the 3PL (whose complete-data score is not
//! linear in a sufficient statistic; `mml.rs` differences its gradient).
//!
//! It is computed in *natural* parameters and then mapped to the free
//! ones. An item with `K` categories has the natural parameters
//! `(a, d_1..d_{K-1})` of the GPCM (a 2PL item: `(a, d)`), in which its
//! complete-data score for an answer in category `x` at `theta` is
//! `alpha_u(x) t_u(theta) - beta_u(theta)`: the slope has `alpha = x`,
//! `t = theta`; intercept `d_c` has `alpha = [x = c]`, `t = 1`; and `beta_u`
//! is the model's expectation of the first term, `sum_b alpha_u(b) P_b t_u`.
//! The complete-data information is the same for every answer (the
//! category score is sufficient), `t_u t_v Cov(alpha_u, alpha_v)` per point.
//! A free group's latent distribution has the natural parameters
//! `(mean / sd^2, -1 / (2 sd^2))` of the discretised normal, with score
//! `(theta - m1, theta^2 - m2)` (`m` the masses' moments) and information
//! the masses' covariance of `(theta, theta^2)`.
//!
//! Expanding the products of two scores, the sum over patterns of the
//! posterior second moments needs, per pattern, only its posterior
//! moments of `theta` for each pair of its answers above category 0
//! (slots), the posterior means of `P_s theta^m` for each slot `s` of an
//! answered item (added to the rows of its own slots), and its score mean
//! (an outer product); the `beta beta` part comes from posterior totals per
//! quadrature point of the patterns answering both items (all, less those
//! missing either). About three E-steps of work, where differencing the
//! gradient costs two E-steps per parameter. The group rows use the
//! posterior counts of each free group's own patterns.
//!
//! Natural to free: the Rasch and PCM slopes are dropped, the 1PL items'
//! slopes add up to the common slope's, and a group's natural parameters
//! go to `(mean, sd)` by the chain rule, including the second-derivative
//! term (the gradient there is zero only at the exact maximum).

use rayon::prelude::*;

use super::ItemModel;
use super::estep::{Tables, add, normalise};
use super::lanes::dot;
use super::mml::{Fit, State};

/// The patterns are split into at most this many fixed ranges (each range's
/// sums are as large as a few information matrices).
const MAX_TASKS: usize = 8;

/// No free slot (a slot of an anchored item).
const NONE: usize = usize::MAX;

/// The observed information of the free parameters of `fit` at `s`
/// (row-major, `n_free x n_free`). Needs every free item to be of a
/// natural-parameter model (no free 3PL item).
pub(super) fn information(fit: &Fit, s: &State) -> Vec<f64> {
    let nat = Natural::new(fit, s);
    let sums = pattern_sums(fit, s, &nat);
    let mut info = nat.complete_information(&sums);
    nat.subtract_item_covariance(&sums, &mut info);
    nat.subtract_group_covariance(&sums, &mut info);
    let w = nat.width;
    for u in 0..w {
        for v in u..w {
            let x = sums.mean_outer[u * w + v];
            info[u * w + v] += x;
            if v != u {
                info[v * w + u] += x;
            }
        }
    }
    nat.to_free(fit, s, &sums, &info)
}

/// The natural parameters and the tables at the estimate.
struct Natural<'a> {
    q_len: usize,
    theta: &'a [f64],
    /// Per free item: its column, categories, first natural index, first
    /// free slot and first probability.
    items: Vec<NaturalItem>,
    /// Per free group: its index, first natural index and masses' moments
    /// `(m1, m2)` and covariance `(c11, c12, c22)` of `(theta, theta^2)`.
    groups: Vec<NaturalGroup>,
    /// Per group: its index among the free groups.
    free_group: Vec<Option<usize>>,
    /// Per item: its index among the free items.
    free_item: Vec<Option<usize>>,
    /// Global slot to free slot (`NONE` for an anchored item's).
    slot_map: Vec<usize>,
    n_slots: usize,
    width: usize,
    /// `P_k(theta_q)` of every free item, category and point.
    probs: Vec<f64>,
    /// `P_s theta^m` of each free slot `s`, in rows padded to `qp` points
    /// (padding 0): `(3 * s + m) * qp + q`.
    p_moments: Vec<f64>,
    qp: usize,
}

struct NaturalItem {
    column: usize,
    categories: usize,
    natural: usize,
    slot: usize,
    prob: usize,
}

struct NaturalGroup {
    group: usize,
    natural: usize,
    moments: [f64; 2],
    covariance: [f64; 3],
}

impl<'a> Natural<'a> {
    fn new(fit: &'a Fit, s: &State) -> Self {
        let layout = &fit.layout;
        let q_len = layout.q_len;
        let theta = fit.grid.points.as_slice();
        let (mut items, mut free_item) = (Vec::new(), vec![None; s.items.len()]);
        let mut slot_map = vec![NONE; layout.n_slots];
        let (mut natural, mut slot, mut prob) = (0, 0, 0);
        for (j, idx) in fit.index.iter().enumerate() {
            if idx.is_none() {
                continue;
            }
            let k = layout.categories[j];
            free_item[j] = Some(items.len());
            for (c, m) in slot_map[layout.slot_offsets[j]..][..k - 1]
                .iter_mut()
                .enumerate()
            {
                *m = slot + c;
            }
            items.push(NaturalItem {
                column: j,
                categories: k,
                natural,
                slot,
                prob,
            });
            natural += k;
            slot += k - 1;
            prob += k * q_len;
        }
        let mut free_group = vec![None; s.groups.len()];
        let mut groups = Vec::new();
        for (g, at) in fit.group_index.iter().enumerate() {
            if at.is_some() {
                let (mean, sd) = s.groups[g];
                free_group[g] = Some(groups.len());
                groups.push(NaturalGroup::new(
                    g,
                    natural,
                    &fit.latent.log_weights(mean, sd),
                    theta,
                ));
                natural += 2;
            }
        }
        let mut nat = Self {
            q_len,
            theta,
            items,
            groups,
            free_group,
            free_item,
            slot_map,
            n_slots: slot,
            width: natural,
            probs: vec![0.0; prob],
            p_moments: vec![0.0; 3 * slot * fit.layout.padded()],
            qp: fit.layout.padded(),
        };
        nat.fill_tables(&s.items);
        nat
    }

    /// The probabilities and `P theta^m` tables of the free items.
    fn fill_tables(&mut self, models: &[ItemModel]) {
        let q_len = self.q_len;
        for it in &self.items {
            let k_len = it.categories;
            for (q, &t) in self.theta.iter().enumerate() {
                let p = models[it.column].probabilities(t);
                for (k, pk) in p.iter().enumerate().take(k_len) {
                    self.probs[it.prob + k * q_len + q] = *pk;
                    if k > 0 {
                        let at = 3 * (it.slot + k - 1) * self.qp + q;
                        self.p_moments[at] = *pk;
                        self.p_moments[at + self.qp] = pk * t;
                        self.p_moments[at + 2 * self.qp] = pk * t * t;
                    }
                }
            }
        }
    }

    /// `P_k(theta_q)` of free item `fi`.
    fn p(&self, fi: usize, k: usize, q: usize) -> f64 {
        self.probs[self.items[fi].prob + k * self.q_len + q]
    }

    /// The complete-data information: per free item, the answers' counts
    /// per point times `t_u t_v Cov(alpha_u, alpha_v)`; per free group, its
    /// weight times the masses' covariance of `(theta, theta^2)`.
    fn complete_information(&self, sums: &Sums) -> Vec<f64> {
        let w = self.width;
        let mut info = vec![0.0; w * w];
        for (fi, it) in self.items.iter().enumerate() {
            let k_len = it.categories;
            for (q, &t) in self.theta.iter().enumerate() {
                let n = sums.all[q] - sums.missing_of(fi, q);
                if n <= 0.0 {
                    continue;
                }
                let (mut mean, mut second) = (0.0, 0.0);
                for k in 1..k_len {
                    let p = self.p(fi, k, q);
                    mean += k as f64 * p;
                    second += (k * k) as f64 * p;
                }
                let at = |u: usize, v: usize| (it.natural + u) * w + it.natural + v;
                info[at(0, 0)] += n * t * t * (second - mean * mean);
                for c in 1..k_len {
                    let pc = self.p(fi, c, q);
                    let x = n * t * pc * (c as f64 - mean);
                    info[at(0, c)] += x;
                    info[at(c, 0)] += x;
                    for c2 in 1..k_len {
                        let diag = if c == c2 { pc } else { 0.0 };
                        info[at(c, c2)] += n * (diag - pc * self.p(fi, c2, q));
                    }
                }
            }
        }
        for (gf, gr) in self.groups.iter().enumerate() {
            let n: f64 = sums.group_all[gf * self.q_len..(gf + 1) * self.q_len]
                .iter()
                .sum();
            let [c11, c12, c22] = gr.covariance;
            let o = gr.natural;
            info[o * w + o] += n * c11;
            info[o * w + o + 1] += n * c12;
            info[(o + 1) * w + o] += n * c12;
            info[(o + 1) * w + o + 1] += n * c22;
        }
        info
    }

    /// Less the summed posterior second moments of the item scores (their
    /// means' outer products are added back by the caller).
    fn subtract_item_covariance(&self, sums: &Sums, info: &mut [f64]) {
        let (w, q_len, fs) = (self.width, self.q_len, self.n_slots);
        let mut answered_both = vec![0.0; q_len];
        for (fj, ij) in self.items.iter().enumerate() {
            for (fk, ik) in self.items.iter().enumerate().skip(fj) {
                for (q, x) in answered_both.iter_mut().enumerate() {
                    *x = sums.all[q] - sums.missing_of(fj, q);
                    if fk != fj {
                        *x += sums.both_missing_of(fj, fk, q) - sums.missing_of(fk, q);
                    }
                }
                // c[(a - 1) * (Kk - 1) + b - 1][m]: the moment m of
                // (x_j = a)(x_k = b) less the beta terms, a, b >= 1.
                let (ka, kb) = (ij.categories - 1, ik.categories - 1);
                let mut c = vec![[0.0; 3]; ka * kb];
                for a in 0..ka {
                    let sa = ij.slot + a;
                    for b in 0..kb {
                        let sb = ik.slot + b;
                        let (lo, hi) = (sa.min(sb), sa.max(sb));
                        let mut t3 = [0.0; 3];
                        for (q, &wq) in answered_both.iter().enumerate() {
                            let pp = self.p_moments[3 * sa * self.qp + q]
                                * self.p_moments[3 * sb * self.qp + q]
                                * wq;
                            let t = self.theta[q];
                            t3[0] += pp;
                            t3[1] += pp * t;
                            t3[2] += pp * t * t;
                        }
                        for (m, cm) in c[a * kb + b].iter_mut().enumerate() {
                            *cm = sums.pair[3 * (lo * fs + hi) + m]
                                - sums.slot_e[3 * (sa * fs + sb) + m]
                                - sums.slot_e[3 * (sb * fs + sa) + m]
                                + t3[m];
                        }
                    }
                }
                // Contract with alpha: the slope's is the category, an
                // intercept's the indicator of its category.
                for u in 0..=ka {
                    for v in 0..=kb {
                        let mut total = 0.0;
                        for a in 0..ka {
                            let fa = if u == 0 {
                                (a + 1) as f64
                            } else {
                                f64::from(u == a + 1)
                            };
                            for b in 0..kb {
                                let fb = if v == 0 {
                                    (b + 1) as f64
                                } else {
                                    f64::from(v == b + 1)
                                };
                                let power = usize::from(u == 0) + usize::from(v == 0);
                                total += fa * fb * c[a * kb + b][power];
                            }
                        }
                        let (r, col) = (ij.natural + u, ik.natural + v);
                        info[r * w + col] -= total;
                        if fk != fj {
                            info[col * w + r] -= total;
                        }
                    }
                }
            }
        }
    }

    /// Less the summed posterior second moments of the group scores, with
    /// each other and with the item scores (from each free group's own
    /// posterior counts).
    fn subtract_group_covariance(&self, sums: &Sums, info: &mut [f64]) {
        let (w, q_len) = (self.width, self.q_len);
        for (gf, gr) in self.groups.iter().enumerate() {
            let all = &sums.group_all[gf * q_len..(gf + 1) * q_len];
            let centred = |q: usize| {
                let t = self.theta[q];
                [t - gr.moments[0], t * t - gr.moments[1]]
            };
            let o = gr.natural;
            for (q, &n) in all.iter().enumerate() {
                let z = centred(q);
                for u in 0..2 {
                    for v in 0..2 {
                        info[(o + u) * w + o + v] -= n * z[u] * z[v];
                    }
                }
            }
            for (fi, it) in self.items.iter().enumerate() {
                for (q, &total) in all.iter().enumerate() {
                    let n = total - sums.group_missing_of(gf, fi, q);
                    let z = centred(q);
                    // sum_a g_{a,u} r_a: u = 0 is theta (sum a r_a - mean n),
                    // u = c is r_c - P_c n.
                    let (mut score_a, mut mean) = (0.0, 0.0);
                    let mut scores = Vec::with_capacity(it.categories);
                    scores.push(0.0);
                    for c in 1..it.categories {
                        let r = sums.group_slots[(gf * self.n_slots + it.slot + c - 1) * q_len + q];
                        let pc = self.p(fi, c, q);
                        score_a += c as f64 * r;
                        mean += c as f64 * pc;
                        scores.push(r - pc * n);
                    }
                    scores[0] = self.theta[q] * (score_a - mean * n);
                    for (u, s) in scores.iter().enumerate() {
                        for (v, zv) in z.iter().enumerate() {
                            let x = s * zv;
                            info[(it.natural + u) * w + o + v] -= x;
                            info[(o + v) * w + it.natural + u] -= x;
                        }
                    }
                }
            }
        }
    }

    /// The information in natural parameters mapped to the free ones.
    fn to_free(&self, fit: &Fit, s: &State, sums: &Sums, info: &[f64]) -> Vec<f64> {
        let w = self.width;
        let k = fit.n_free();
        // Each natural parameter's free parameters and coefficients.
        let mut map: Vec<Vec<(usize, f64)>> = vec![Vec::new(); w];
        for it in &self.items {
            if let Some(idx) = &fit.index[it.column] {
                if let Some(a) = idx.a {
                    map[it.natural].push((a, 1.0));
                }
                for (c, &d) in idx.d.iter().enumerate() {
                    map[it.natural + 1 + c].push((d, 1.0));
                }
            }
        }
        let mut corrections = Vec::new();
        for (gf, gr) in self.groups.iter().enumerate() {
            let Some(i) = fit.group_index[gr.group] else {
                continue;
            };
            let (mean, sd) = s.groups[gr.group];
            let (sd2, sd3) = (sd * sd, sd * sd * sd);
            map[gr.natural].extend([(i, 1.0 / sd2), (i + 1, -2.0 * mean / sd3)]);
            map[gr.natural + 1].push((i + 1, 1.0 / sd3));
            // The gradient in the natural parameters, for the chain rule's
            // second-derivative term.
            let n = &sums.group_all[gf * self.q_len..(gf + 1) * self.q_len];
            let total: f64 = n.iter().sum();
            let s1: f64 = n.iter().zip(self.theta).map(|(c, t)| c * t).sum();
            let s2: f64 = n.iter().zip(self.theta).map(|(c, t)| c * t * t).sum();
            let g1 = s1 - total * gr.moments[0];
            let g2 = s2 - total * gr.moments[1];
            let sd4 = sd2 * sd2;
            corrections.push((i, -2.0 * g1 / sd3, 6.0 * mean * g1 / sd4 - 3.0 * g2 / sd4));
        }
        let mut out = vec![0.0; k * k];
        for u in 0..w {
            for &(r, cu) in &map[u] {
                for v in 0..w {
                    let x = info[u * w + v];
                    if x == 0.0 {
                        continue;
                    }
                    for &(c, cv) in &map[v] {
                        out[r * k + c] += cu * cv * x;
                    }
                }
            }
        }
        for (i, mean_sd, sd_sd) in corrections {
            out[i * k + i + 1] -= mean_sd;
            out[(i + 1) * k + i] -= mean_sd;
            out[(i + 1) * k + i + 1] -= sd_sd;
        }
        out
    }
}

impl NaturalGroup {
    fn new(group: usize, natural: usize, log_weights: &[f64], theta: &[f64]) -> Self {
        let masses: Vec<f64> = log_weights.iter().map(|l| l.exp()).collect();
        let m1: f64 = masses.iter().zip(theta).map(|(w, t)| w * t).sum();
        let m2: f64 = masses.iter().zip(theta).map(|(w, t)| w * t * t).sum();
        let mut cov = [0.0; 3];
        for (w, t) in masses.iter().zip(theta) {
            let (u1, u2) = (t - m1, t * t - m2);
            cov[0] += w * u1 * u1;
            cov[1] += w * u1 * u2;
            cov[2] += w * u2 * u2;
        }
        Self {
            group,
            natural,
            moments: [m1, m2],
            covariance: cov,
        }
    }
}

/// Sums over patterns (see the module documentation).
struct Sums {
    /// `sum w (1, mu, E theta^2)` over patterns with both free slots
    /// `s <= s'`: `3 * (s * S + s') + m`.
    pair: Vec<f64>,
    /// `sum w E[P_s' theta^m]` over patterns with slot `s` answering the
    /// item of `s'`: `3 * (s * S + s') + m`.
    slot_e: Vec<f64>,
    /// `sum w m m'`, the score means' outer products (upper triangle).
    mean_outer: Vec<f64>,
    /// Posterior totals per point.
    all: Vec<f64>,
    /// The same, of the patterns missing free item `i` (`i * Q + q`;
    /// empty without missing answers).
    missing: Vec<f64>,
    /// The same, of the patterns missing both `i < i'` (`(i * I + i') * Q + q`).
    both_missing: Vec<f64>,
    /// Per free group: posterior totals, by free slot, by missing free item.
    group_all: Vec<f64>,
    group_slots: Vec<f64>,
    group_missing: Vec<f64>,
    n_items: usize,
    q_len: usize,
}

impl Sums {
    fn new(nat: &Natural, any_missing: bool) -> Self {
        let (fs, ni, q, ng) = (nat.n_slots, nat.items.len(), nat.q_len, nat.groups.len());
        let if_missing = |n: usize| if any_missing { n } else { 0 };
        Self {
            pair: vec![0.0; 3 * fs * fs],
            slot_e: vec![0.0; 3 * fs * fs],
            mean_outer: vec![0.0; nat.width * nat.width],
            all: vec![0.0; q],
            missing: vec![0.0; if_missing(ni * q)],
            both_missing: vec![0.0; if_missing(ni * ni * q)],
            group_all: vec![0.0; ng * q],
            group_slots: vec![0.0; ng * fs * q],
            group_missing: vec![0.0; if_missing(ng * ni * q)],
            n_items: ni,
            q_len: q,
        }
    }

    fn add(&mut self, o: &Sums) {
        add(&mut self.pair, &o.pair);
        add(&mut self.slot_e, &o.slot_e);
        add(&mut self.mean_outer, &o.mean_outer);
        add(&mut self.all, &o.all);
        add(&mut self.missing, &o.missing);
        add(&mut self.both_missing, &o.both_missing);
        add(&mut self.group_all, &o.group_all);
        add(&mut self.group_slots, &o.group_slots);
        add(&mut self.group_missing, &o.group_missing);
    }

    fn missing_of(&self, fi: usize, q: usize) -> f64 {
        self.missing
            .get(fi * self.q_len + q)
            .copied()
            .unwrap_or(0.0)
    }

    fn both_missing_of(&self, fi: usize, fk: usize, q: usize) -> f64 {
        let (lo, hi) = (fi.min(fk), fi.max(fk));
        let at = (lo * self.n_items + hi) * self.q_len + q;
        self.both_missing.get(at).copied().unwrap_or(0.0)
    }

    fn group_missing_of(&self, gf: usize, fi: usize, q: usize) -> f64 {
        let at = (gf * self.n_items + fi) * self.q_len + q;
        self.group_missing.get(at).copied().unwrap_or(0.0)
    }
}

/// The sums of every pattern, over fixed ranges added in order.
fn pattern_sums(fit: &Fit, s: &State, nat: &Natural) -> Sums {
    let tables = fit.tables(s);
    let patterns = &fit.patterns;
    let any_missing = patterns.any_missing();
    let partials: Vec<Sums> = patterns
        .ranges(MAX_TASKS)
        .into_par_iter()
        .map(|range| {
            let mut sums = Sums::new(nat, any_missing);
            pulp::Arch::new().dispatch(RangeSums {
                fit,
                tables: &tables,
                nat,
                range,
                sums: &mut sums,
            });
            sums
        })
        .collect();
    let mut total = Sums::new(nat, any_missing);
    for p in &partials {
        total.add(p);
    }
    total
}

/// Adds the patterns of a range to `sums`: run through
/// `pulp::Arch::dispatch` with everything it calls inlined, so that it
/// runs with the widest vector instructions the CPU has (the same
/// operations in the same order on any CPU).
struct RangeSums<'a> {
    fit: &'a Fit<'a>,
    tables: &'a Tables,
    nat: &'a Natural<'a>,
    range: std::ops::Range<usize>,
    sums: &'a mut Sums,
}

impl pulp::WithSimd for RangeSums<'_> {
    type Output = ();

    #[inline(always)]
    fn with_simd<S: pulp::Simd>(self, _: S) {
        let mut scratch = Scratch::new(self.nat, self.tables.qp);
        for i in self.range {
            self.tables
                .log_posterior(&self.fit.patterns, i, &mut scratch.post);
            normalise(&mut scratch.post, 1.0);
            self.sums.add_pattern(self.nat, self.fit, i, &mut scratch);
        }
    }
}

/// Per-pattern work space.
struct Scratch {
    post: Vec<f64>,
    /// `E[P_s theta^m]` per free slot.
    e: Vec<f64>,
    /// The pattern's free slots and missing free items.
    slots: Vec<usize>,
    missing: Vec<usize>,
    /// The score mean in natural parameters.
    mean: Vec<f64>,
    /// The posterior mean and mean square of theta.
    mu: f64,
    nu: f64,
}

impl Scratch {
    fn new(nat: &Natural, qp: usize) -> Self {
        Self {
            post: vec![0.0; qp],
            e: vec![0.0; 3 * nat.n_slots],
            slots: Vec::new(),
            missing: Vec::new(),
            mean: vec![0.0; nat.width],
            mu: 0.0,
            nu: 0.0,
        }
    }
}

impl Sums {
    /// Adds pattern `i`, whose normalised posterior is in `sc.post`.
    #[inline(always)]
    fn add_pattern(&mut self, nat: &Natural, fit: &Fit, i: usize, sc: &mut Scratch) {
        let patterns = &fit.patterns;
        let (q_len, fs) = (nat.q_len, nat.n_slots);
        let w = patterns.weights[i];
        let post = &sc.post[..q_len];
        let (mut mu, mut nu) = (0.0, 0.0);
        for (l, t) in post.iter().zip(nat.theta) {
            mu += l * t;
            nu += l * t * t;
        }
        (sc.mu, sc.nu) = (mu, nu);
        sc.slots.clear();
        sc.slots.extend(
            patterns
                .slots(i)
                .iter()
                .map(|&s| nat.slot_map[s as usize])
                .filter(|&s| s != NONE),
        );
        sc.missing.clear();
        sc.missing.extend(
            patterns
                .missing(i)
                .iter()
                .filter_map(|&j| nat.free_item[j as usize]),
        );
        // Posterior means of P_s theta^m, zero for missing items.
        for (e, row) in sc.e.iter_mut().zip(nat.p_moments.chunks_exact(nat.qp)) {
            *e = dot(&sc.post, row);
        }
        for &fi in &sc.missing {
            let it = &nat.items[fi];
            sc.e[3 * it.slot..3 * (it.slot + it.categories - 1)].fill(0.0);
        }
        // Pairs of slots: the theta moments.
        let moments = [w, w * mu, w * nu];
        for (u, &s) in sc.slots.iter().enumerate() {
            for &s2 in &sc.slots[u..] {
                let at = 3 * (s * fs + s2);
                for (x, m) in self.pair[at..at + 3].iter_mut().zip(&moments) {
                    *x += m;
                }
            }
            // Each slot's row: the posterior means of every answered slot.
            for (x, e) in self.slot_e[3 * s * fs..3 * (s + 1) * fs]
                .iter_mut()
                .zip(&sc.e)
            {
                *x += w * e;
            }
        }
        self.add_score_mean(nat, fit, i, w, sc);
        self.add_posterior_totals(nat, fit, i, w, sc);
    }

    /// Adds `w m m'` for the pattern's score mean `m` in natural parameters.
    #[inline(always)]
    fn add_score_mean(&mut self, nat: &Natural, fit: &Fit, i: usize, w: f64, sc: &mut Scratch) {
        let (mu, nu) = (sc.mu, sc.nu);
        let m = &mut sc.mean;
        for it in &nat.items {
            let mut slope = 0.0;
            for c in 1..it.categories {
                let e = &sc.e[3 * (it.slot + c - 1)..];
                slope -= c as f64 * e[1];
                m[it.natural + c] = -e[0];
            }
            m[it.natural] = slope;
        }
        for &s in &sc.slots {
            // The free item owning slot s, and the slot's category.
            let fi = nat.items.partition_point(|it| it.slot <= s) - 1;
            let it = &nat.items[fi];
            let c = s - it.slot + 1;
            m[it.natural] += c as f64 * mu;
            m[it.natural + c] += 1.0;
        }
        for gr in &nat.groups {
            m[gr.natural] = 0.0;
            m[gr.natural + 1] = 0.0;
        }
        if let Some(gf) = nat.free_group[fit.patterns.groups[i]] {
            let gr = &nat.groups[gf];
            m[gr.natural] = mu - gr.moments[0];
            m[gr.natural + 1] = nu - gr.moments[1];
        }
        let width = nat.width;
        for u in 0..width {
            let f = w * m[u];
            if f != 0.0 {
                for (r, x) in self.mean_outer[u * width + u..(u + 1) * width]
                    .iter_mut()
                    .zip(&m[u..])
                {
                    *r += f * x;
                }
            }
        }
    }

    /// Adds the weighted posterior to the totals: all patterns, those
    /// missing an item or a pair of items, and the pattern's free group's.
    #[inline(always)]
    fn add_posterior_totals(&mut self, nat: &Natural, fit: &Fit, i: usize, w: f64, sc: &Scratch) {
        let q_len = nat.q_len;
        let post = &sc.post[..q_len];
        let ni = self.n_items;
        let add_w = |target: &mut [f64]| {
            for (a, l) in target.iter_mut().zip(post) {
                *a += w * l;
            }
        };
        add_w(&mut self.all);
        for (u, &fi) in sc.missing.iter().enumerate() {
            add_w(&mut self.missing[fi * q_len..(fi + 1) * q_len]);
            for &fk in &sc.missing[u + 1..] {
                let at = (fi.min(fk) * ni + fi.max(fk)) * q_len;
                add_w(&mut self.both_missing[at..at + q_len]);
            }
        }
        let Some(gf) = nat.free_group[fit.patterns.groups[i]] else {
            return;
        };
        add_w(&mut self.group_all[gf * q_len..(gf + 1) * q_len]);
        for &s in &sc.slots {
            let at = (gf * nat.n_slots + s) * q_len;
            add_w(&mut self.group_slots[at..at + q_len]);
        }
        for &fi in &sc.missing {
            let at = (gf * ni + fi) * q_len;
            add_w(&mut self.group_missing[at..at + q_len]);
        }
    }
}
