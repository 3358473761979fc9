//! The marginal maximum likelihood problem EM solves: the parameters of an
//! iterate, their free entries as one vector (what SQUAREM extrapolates
//! and the covariance is ordered by), the M-step and the exact gradient of
//! the marginal log-likelihood (Fisher's identity).
//!
//! M-step: Fisher scoring with step halving on each free item's expected
//! complete-data log-likelihood (plus the log prior of 3PL guessing); the
//! 1PL items jointly, their common slope with their intercepts (the
//! arrowhead system solved by its Schur complement); the exact maximum
//! for each free group's latent distribution (`latent.rs`).

use super::calibrate::{
    BetaPrior, C_MIN, CalibrationOptions, GroupEstimate, ItemEstimate, ModelKind,
};
use rayon::prelude::*;

use super::em::EmModel;
use super::estep::{self, Counts, ItemCounts, Layout, Patterns, Tables};
use super::latent::LatentGrid;
use super::linalg::{invert, solve};
use super::{CategoryResponses, Grid, IrtError, ItemModel, ItemParams, log_pq, logistic};

/// Smallest latent SD accepted from an extrapolation.
const SD_MIN: f64 = 1e-6;

/// Where an item's free parameters sit in the free vector (the 1PL items
/// share the common slope at 0).
#[derive(Debug, Clone, Default)]
pub(super) struct FreeIndex {
    pub a: Option<usize>,
    pub d: Vec<usize>,
    pub c: Option<usize>,
}

impl FreeIndex {
    /// The free index of each of the item's M-step terms (see
    /// [`terms_vector`]).
    fn targets(&self, kind: ModelKind) -> Vec<usize> {
        let mut t = Vec::with_capacity(self.d.len() + 2);
        if kind == ModelKind::OnePl || kind.own_slope() {
            t.extend(self.a);
        }
        t.extend_from_slice(&self.d);
        t.extend(self.c);
        t
    }
}

/// The parameters of one EM iterate.
#[derive(Debug, Clone)]
pub(super) struct State {
    pub items: Vec<ItemModel>,
    /// `(mean, sd)` per group.
    pub groups: Vec<(f64, f64)>,
}

/// An item's M-step target, gradient and Fisher information (dense, in
/// the item's terms: see [`terms_vector`]).
pub(super) struct ItemTerms {
    pub value: f64,
    pub grad: Vec<f64>,
    pub info: Vec<f64>,
}

/// Everything one EM run needs.
pub(super) struct Fit<'a> {
    pub patterns: Patterns,
    pub layout: Layout,
    pub grid: &'a Grid,
    /// The latent distributions on the grid.
    pub latent: LatentGrid,
    pub kinds: &'a [ModelKind],
    pub anchored: Vec<bool>,
    pub free_group: Vec<bool>,
    pub prior: BetaPrior,
    /// Per item, where its free parameters are (`None`: an anchor).
    pub index: Vec<Option<FreeIndex>>,
    /// Per group, where its free mean is (its SD follows).
    pub group_index: Vec<Option<usize>>,
    n_free: usize,
    /// Whether there is a common 1PL slope (at free index 0).
    common: bool,
}

impl<'a> Fit<'a> {
    /// The problem of calibrating `responses` under `options`.
    pub fn new(
        responses: &CategoryResponses,
        group_of: &[usize],
        weights: Option<&[f64]>,
        options: &'a CalibrationOptions,
        anchored: Vec<bool>,
        free_group: Vec<bool>,
    ) -> Self {
        let grid = &options.grid;
        let kinds = options.kinds.as_slice();
        let linear: Vec<bool> = kinds
            .iter()
            .enumerate()
            .map(
                |(j, &kind)| match options.anchors.iter().find(|(at, _)| *at == j) {
                    Some((_, ItemModel::Dichotomous(p))) => p.c == 0.0,
                    Some((_, ItemModel::Gpcm { .. })) => true,
                    None => kind != ModelKind::ThreePl,
                },
            )
            .collect();
        let layout = Layout::new(responses.categories(), &linear, grid.len());
        let common = kinds
            .iter()
            .zip(&anchored)
            .any(|(k, a)| *k == ModelKind::OnePl && !a);
        let mut at = usize::from(common);
        let mut take = |n: usize| {
            at += n;
            at - n..at
        };
        let index = kinds
            .iter()
            .zip(&anchored)
            .zip(responses.categories())
            .map(|((&kind, &fixed), &k)| {
                if fixed {
                    return None;
                }
                let a = match kind {
                    ModelKind::OnePl => Some(0),
                    kind if kind.own_slope() => Some(take(1).start),
                    _ => None,
                };
                let d = take(k - 1).collect();
                let c = (kind == ModelKind::ThreePl).then(|| take(1).start);
                Some(FreeIndex { a, d, c })
            })
            .collect();
        let group_index = free_group
            .iter()
            .map(|&free| free.then(|| take(2).start))
            .collect();
        Self {
            patterns: Patterns::new(responses, group_of, weights, &layout),
            layout,
            grid,
            latent: LatentGrid::new(grid),
            kinds,
            anchored,
            free_group,
            prior: options.guessing_prior,
            index,
            group_index,
            n_free: at,
            common,
        }
    }

    /// Number of free parameters.
    pub fn n_free(&self) -> usize {
        self.n_free
    }

    /// The free parameters in their fixed order.
    pub fn free(&self, s: &State) -> Vec<f64> {
        let mut v = vec![0.0; self.n_free];
        for (model, idx) in s.items.iter().zip(&self.index) {
            let Some(idx) = idx else { continue };
            let (a, d, c) = parts(model);
            if let Some(i) = idx.a {
                v[i] = a;
            }
            for (&i, &x) in idx.d.iter().zip(d) {
                v[i] = x;
            }
            if let Some(i) = idx.c {
                v[i] = c;
            }
        }
        for (&(mean, sd), at) in s.groups.iter().zip(&self.group_index) {
            if let Some(i) = *at {
                v[i] = mean;
                v[i + 1] = sd;
            }
        }
        v
    }

    /// `template` with its free parameters replaced by `v`.
    pub fn unfree(&self, template: &State, v: &[f64]) -> State {
        let items = template
            .items
            .iter()
            .zip(&self.index)
            .map(|(model, idx)| {
                let Some(idx) = idx else {
                    return model.clone();
                };
                let (a, _, c) = parts(model);
                let a = idx.a.map_or(a, |i| v[i]);
                let d: Vec<f64> = idx.d.iter().map(|&i| v[i]).collect();
                match model {
                    ItemModel::Dichotomous(_) => ItemModel::Dichotomous(ItemParams {
                        a,
                        d: d.first().copied().unwrap_or(f64::NAN),
                        c: idx.c.map_or(c, |i| v[i]),
                    }),
                    ItemModel::Gpcm { .. } => ItemModel::Gpcm { a, d },
                }
            })
            .collect();
        let groups = template
            .groups
            .iter()
            .zip(&self.group_index)
            .map(|(&ms, at)| at.map_or(ms, |i| (v[i], v[i + 1])))
            .collect();
        State { items, groups }
    }

    /// Names of the free parameters, in order.
    pub fn labels(&self) -> Vec<String> {
        let mut out = vec![String::new(); self.n_free];
        if self.common {
            out[0] = "common.a".into();
        }
        for (j, idx) in self.index.iter().enumerate() {
            let Some(idx) = idx else { continue };
            if let Some(i) = idx.a.filter(|_| self.kinds[j] != ModelKind::OnePl) {
                out[i] = format!("item{j}.a");
            }
            if let [i] = idx.d[..] {
                out[i] = format!("item{j}.d");
            } else {
                for (k, &i) in idx.d.iter().enumerate() {
                    out[i] = format!("item{j}.d{}", k + 1);
                }
            }
            if let Some(i) = idx.c {
                out[i] = format!("item{j}.c");
            }
        }
        for (g, at) in self.group_index.iter().enumerate() {
            if let Some(i) = *at {
                out[i] = format!("group{g}.mean");
                out[i + 1] = format!("group{g}.sd");
            }
        }
        out
    }

    /// Whether extrapolated parameters are usable.
    pub fn valid(&self, s: &State) -> bool {
        let items_ok = s.items.iter().enumerate().all(|(j, m)| match m {
            ItemModel::Dichotomous(p) => {
                p.a.is_finite()
                    && p.d.is_finite()
                    && (self.anchored[j]
                        || self.kinds[j] != ModelKind::ThreePl
                        || (p.c >= C_MIN && p.c < 1.0))
            }
            ItemModel::Gpcm { a, d } => a.is_finite() && d.iter().all(|x| x.is_finite()),
        });
        items_ok
            && s.groups
                .iter()
                .all(|&(m, sd)| m.is_finite() && sd.is_finite() && sd > SD_MIN)
    }

    /// Whether a 3PL item is estimated.
    pub fn free_3pl(&self) -> bool {
        self.index
            .iter()
            .zip(self.kinds)
            .any(|(idx, k)| idx.is_some() && *k == ModelKind::ThreePl)
    }

    /// Normalised log prior density of the free 3PL guessing parameters.
    pub fn log_prior(&self, s: &State) -> f64 {
        let (al, be) = (self.prior.alpha, self.prior.beta);
        let mut total = 0.0;
        for (j, m) in s.items.iter().enumerate() {
            if let (false, ModelKind::ThreePl, ItemModel::Dichotomous(p)) =
                (self.anchored[j], self.kinds[j], m)
            {
                total += (al - 1.0) * p.c.ln() + (be - 1.0) * (1.0 - p.c).ln()
                    - statrs::function::beta::ln_beta(al, be);
            }
        }
        total
    }

    /// Log masses of every group's latent distribution on the grid.
    pub fn group_log_weights(&self, s: &State) -> Vec<Vec<f64>> {
        s.groups
            .iter()
            .map(|&(m, sd)| self.latent.log_weights(m, sd))
            .collect()
    }

    /// The E-step's tables at `s`.
    pub fn tables(&self, s: &State) -> Tables {
        Tables::new(
            &self.layout,
            &s.items,
            &self.grid.points,
            &self.group_log_weights(s),
        )
    }

    /// Expected counts per item, category and point, per group and point,
    /// and the marginal log-likelihood.
    pub fn e_step(&self, s: &State) -> Counts {
        estep::e_step(&self.patterns, &self.layout, &self.tables(s))
    }

    /// Item `j`'s counts from the E-step's.
    pub fn item_counts<'c>(&'c self, counts: &'c Counts, j: usize) -> ItemCounts<'c> {
        counts.item(&self.layout, &self.patterns, j)
    }

    /// Item `j`'s expected complete-data log-likelihood (plus log prior),
    /// gradient and Fisher information in its terms, from its expected
    /// counts. A linear item's answers enter through its sufficient
    /// statistics: `ln P(k) = ln P(0) + a k theta + d_k`, so the sum over
    /// points of its category counts times `ln P(k)` (or its derivatives)
    /// is the answered counts times `ln P(0)` (its derivatives) plus, per
    /// category, `a k` times its weighted posterior mean sum and `d_k`
    /// times its weight (their derivatives: `k` times the former for the
    /// slope, the latter for `d_k`).
    pub fn item_terms(&self, j: usize, model: &ItemModel, counts: &ItemCounts) -> ItemTerms {
        let kind = self.kinds[j];
        let k_len = self.layout.categories[j];
        let q_len = self.layout.q_len;
        let m = n_terms(kind, k_len);
        let mut t = ItemTerms {
            value: 0.0,
            grad: vec![0.0; m],
            info: vec![0.0; m * m],
        };
        let mut logp = vec![0.0; k_len];
        let mut g = vec![0.0; k_len * m];
        for (q, &theta) in self.grid.points.iter().enumerate() {
            let n_q: f64 = match counts {
                ItemCounts::Full(r) => (0..k_len).map(|k| r[k * q_len + q]).sum(),
                ItemCounts::Linear { answered, .. } => answered[q],
            };
            if n_q == 0.0 {
                continue;
            }
            item_derivatives(kind, model, theta, &mut logp, &mut g);
            for k in 0..k_len {
                let gk = &g[k * m..(k + 1) * m];
                let rk = match counts {
                    ItemCounts::Full(r) => r[k * q_len + q],
                    ItemCounts::Linear { .. } if k == 0 => n_q,
                    ItemCounts::Linear { .. } => 0.0,
                };
                if rk != 0.0 {
                    t.value += rk * logp[k];
                    for (o, x) in t.grad.iter_mut().zip(gk) {
                        *o += rk * x;
                    }
                }
                let wk = n_q * logp[k].exp();
                if wk > 0.0 {
                    for (u, gu) in gk.iter().enumerate() {
                        let f = wk * gu;
                        for (o, gv) in t.info[u * m..(u + 1) * m].iter_mut().zip(gk) {
                            *o += f * gv;
                        }
                    }
                }
            }
        }
        if let ItemCounts::Linear { weights, theta, .. } = counts {
            let slope = usize::from(kind == ModelKind::OnePl || kind.own_slope());
            for (k, (w, th)) in (1..k_len).zip(weights.iter().zip(theta.iter())) {
                let (ak, dk) = model.log_odds_line(k);
                t.value += ak * th + dk * w;
                if slope == 1 {
                    t.grad[0] += k as f64 * th;
                }
                t.grad[slope + k - 1] += w;
            }
        }
        if kind == ModelKind::ThreePl
            && let ItemModel::Dichotomous(p) = model
        {
            let (al, be, c) = (self.prior.alpha, self.prior.beta, p.c);
            t.value += (al - 1.0) * c.ln() + (be - 1.0) * (1.0 - c).ln();
            t.grad[2] += (al - 1.0) / c - (be - 1.0) / (1.0 - c);
            t.info[8] += (al - 1.0) / (c * c) + (be - 1.0) / ((1.0 - c) * (1.0 - c));
        }
        t
    }

    /// One M-step: Fisher scoring with step halving per free item (the 1PL
    /// items jointly), and the exact maximisation for each free group's
    /// latent distribution.
    pub fn m_step(&self, s: &State, counts: &Counts) -> State {
        let mut items: Vec<ItemModel> = s
            .items
            .par_iter()
            .enumerate()
            .map(|(j, model)| {
                if self.anchored[j] || self.kinds[j] == ModelKind::OnePl {
                    model.clone()
                } else {
                    self.item_m_step(j, model, &self.item_counts(counts, j))
                }
            })
            .collect();
        if self.common {
            self.one_pl_m_step(&mut items, counts);
        }
        let q_len = self.layout.q_len;
        let groups = s
            .groups
            .iter()
            .enumerate()
            .map(|(g, &(m, sd))| {
                if self.free_group[g] {
                    self.latent
                        .m_step(&counts.groups[g * q_len..(g + 1) * q_len], m, sd)
                } else {
                    (m, sd)
                }
            })
            .collect();
        State { items, groups }
    }

    fn item_m_step(&self, j: usize, model: &ItemModel, r: &ItemCounts) -> ItemModel {
        let kind = self.kinds[j];
        let mut x = terms_vector(kind, model);
        let mut item = model.clone();
        let m = x.len();
        for _ in 0..20 {
            let t = self.item_terms(j, &item, r);
            let Some(step) = solve(&t.info, &t.grad, m) else {
                break;
            };
            let mut scale = 1.0;
            let mut accepted = false;
            for _ in 0..30 {
                let cand: Vec<f64> = x.iter().zip(&step).map(|(a, s)| a + scale * s).collect();
                let inside = kind != ModelKind::ThreePl || (cand[2] >= C_MIN && cand[2] < 1.0);
                if inside {
                    let cand_item = from_terms(kind, &cand);
                    if self.item_terms(j, &cand_item, r).value >= t.value {
                        x = cand;
                        item = cand_item;
                        accepted = true;
                        break;
                    }
                }
                scale *= 0.5;
            }
            let size = step.iter().fold(0.0_f64, |s, v| s.max(v.abs())) * scale;
            if !accepted || size < 1e-10 {
                break;
            }
        }
        item
    }

    /// Fisher scoring on the free 1PL items jointly: their common slope and
    /// their intercepts. The information is an arrowhead (the slope row and
    /// column, a diagonal for the intercepts), solved through its Schur
    /// complement in linear time.
    fn one_pl_m_step(&self, items: &mut [ItemModel], counts: &Counts) {
        let members: Vec<usize> = (0..items.len())
            .filter(|&j| !self.anchored[j] && self.kinds[j] == ModelKind::OnePl)
            .collect();
        let spans: Vec<ItemCounts> = members
            .iter()
            .map(|&j| self.item_counts(counts, j))
            .collect();
        let target = |items: &[ItemModel]| -> f64 {
            members
                .iter()
                .zip(&spans)
                .map(|(&j, r)| self.item_terms(j, &items[j], r).value)
                .sum()
        };
        for _ in 0..20 {
            let (mut g_a, mut i_aa, mut value) = (0.0, 0.0, 0.0);
            let mut rows = Vec::with_capacity(members.len());
            for (&j, r) in members.iter().zip(&spans) {
                let t = self.item_terms(j, &items[j], r);
                value += t.value;
                g_a += t.grad[0];
                i_aa += t.info[0];
                // (gradient in d, information (a, d), information (d, d))
                rows.push((t.grad[1], t.info[1], t.info[3]));
            }
            let (mut schur, mut rhs) = (i_aa, g_a);
            for &(gd, ad, dd) in &rows {
                schur -= ad * ad / dd;
                rhs -= ad * gd / dd;
            }
            if !(schur > 0.0 && schur.is_finite()) {
                break;
            }
            let step_a = rhs / schur;
            let step_d: Vec<f64> = rows
                .iter()
                .map(|&(gd, ad, dd)| (gd - ad * step_a) / dd)
                .collect();
            let size = step_d.iter().fold(step_a.abs(), |s, v| s.max(v.abs()));
            let mut scale = 1.0;
            let mut accepted = false;
            for _ in 0..30 {
                let mut cand = items.to_vec();
                for (&j, sd) in members.iter().zip(&step_d) {
                    if let ItemModel::Dichotomous(p) = &mut cand[j] {
                        p.a += scale * step_a;
                        p.d += scale * sd;
                    }
                }
                if target(&cand) >= value {
                    items.clone_from_slice(&cand);
                    accepted = true;
                    break;
                }
                scale *= 0.5;
            }
            if !accepted || size * scale < 1e-10 {
                break;
            }
        }
    }

    /// Gradient of the marginal log-likelihood (plus log prior) in the
    /// free parameters, by Fisher's identity from the E-step at `s`.
    pub fn gradient(&self, s: &State, counts: &Counts) -> Vec<f64> {
        let mut g = vec![0.0; self.n_free];
        for (j, (model, idx)) in s.items.iter().zip(&self.index).enumerate() {
            let Some(idx) = idx else { continue };
            let t = self.item_terms(j, model, &self.item_counts(counts, j));
            for (&i, x) in idx.targets(self.kinds[j]).iter().zip(&t.grad) {
                g[i] += x;
            }
        }
        let q_len = self.layout.q_len;
        for (gi, (&(mean, sd), at)) in s.groups.iter().zip(&self.group_index).enumerate() {
            if let Some(i) = *at {
                let n = &counts.groups[gi * q_len..(gi + 1) * q_len];
                let [gm, gs] = self.latent.gradient(n, mean, sd);
                g[i] = gm;
                g[i + 1] = gs;
            }
        }
        g
    }

    /// Covariance of the free parameters: the inverse of the observed
    /// information, exact by Louis' identity without a free 3PL item, from
    /// central differences of the exact gradient with one.
    pub fn covariance(&self, s: &State) -> Result<Vec<f64>, IrtError> {
        let k = self.n_free;
        let info = if self.free_3pl() {
            self.information_by_differences(s)
        } else {
            super::observed::information(self, s)
        };
        invert(&info, k).ok_or(IrtError::Singular)
    }

    /// The negative central-difference Hessian of the marginal
    /// log-likelihood (plus log prior), from its exact gradient: two
    /// E-steps per free parameter.
    fn information_by_differences(&self, s: &State) -> Vec<f64> {
        let base = self.free(s);
        let k = base.len();
        let mut hess = vec![0.0; k * k];
        for col in 0..k {
            let h = 1e-4 * base[col].abs().max(1.0);
            let mut grads = [Vec::new(), Vec::new()];
            for (side, sign) in [1.0, -1.0].into_iter().enumerate() {
                let mut v = base.clone();
                v[col] += sign * h;
                let p = self.unfree(s, &v);
                let counts = self.e_step(&p);
                grads[side] = self.gradient(&p, &counts);
            }
            for row in 0..k {
                hess[row * k + col] = (grads[0][row] - grads[1][row]) / (2.0 * h);
            }
        }
        let mut info = vec![0.0; k * k];
        for r in 0..k {
            for c in 0..k {
                info[r * k + c] = -0.5 * (hess[r * k + c] + hess[c * k + r]);
            }
        }
        info
    }

    /// Per-item and per-group estimates with their standard errors.
    pub fn estimates(
        &self,
        s: &State,
        cov: Option<&[f64]>,
        group_weight: &[f64],
    ) -> (Vec<ItemEstimate>, Vec<GroupEstimate>) {
        let k = self.n_free;
        let var = |i: usize, j: usize| cov.map_or(f64::NAN, |c| c[i * k + j]);
        let se = |i: Option<usize>| i.map_or(f64::NAN, |i| var(i, i).sqrt());
        let items = s
            .items
            .iter()
            .zip(&self.index)
            .zip(self.kinds)
            .map(|((model, idx), &kind)| {
                let n_steps = model.n_categories() - 1;
                let Some(idx) = idx else {
                    return ItemEstimate {
                        kind,
                        model: model.clone(),
                        anchored: true,
                        se_a: f64::NAN,
                        se_d: vec![f64::NAN; n_steps],
                        se_c: f64::NAN,
                        steps: model.steps(),
                        se_steps: vec![f64::NAN; n_steps],
                    };
                };
                // b_k = -(d_k - d_{k-1}) / a: gradient in a, d_k, d_{k-1}.
                let (a, d, _) = parts(model);
                let se_steps = (0..n_steps)
                    .map(|s_k| {
                        let prev = if s_k == 0 { 0.0 } else { d[s_k - 1] };
                        let mut grad: Vec<(usize, f64)> = vec![(idx.d[s_k], -1.0 / a)];
                        if s_k > 0 {
                            grad.push((idx.d[s_k - 1], 1.0 / a));
                        }
                        if let Some(ia) = idx.a {
                            grad.push((ia, (d[s_k] - prev) / (a * a)));
                        }
                        let mut v = 0.0;
                        for &(u, gu) in &grad {
                            for &(w, gw) in &grad {
                                v += gu * gw * var(u, w);
                            }
                        }
                        v.sqrt()
                    })
                    .collect();
                ItemEstimate {
                    kind,
                    model: model.clone(),
                    anchored: false,
                    se_a: se(idx.a),
                    se_d: idx.d.iter().map(|&i| se(Some(i))).collect(),
                    se_c: se(idx.c),
                    steps: model.steps(),
                    se_steps,
                }
            })
            .collect();
        let groups = s
            .groups
            .iter()
            .zip(&self.group_index)
            .zip(group_weight)
            .map(|((&(mean, sd), at), &weight)| GroupEstimate {
                mean,
                sd,
                se_mean: se(*at),
                se_sd: se(at.map(|i| i + 1)),
                free: at.is_some(),
                weight,
            })
            .collect();
        (items, groups)
    }
}

impl EmModel for Fit<'_> {
    type State = State;
    type Counts = Counts;

    fn e_step(&self, state: &State) -> Counts {
        Fit::e_step(self, state)
    }
    fn m_step(&self, state: &State, counts: &Counts) -> State {
        Fit::m_step(self, state, counts)
    }
    fn log_likelihood(counts: &Counts) -> f64 {
        counts.log_likelihood
    }
    fn log_prior(&self, state: &State) -> f64 {
        Fit::log_prior(self, state)
    }
    fn free(&self, state: &State) -> Vec<f64> {
        Fit::free(self, state)
    }
    fn unfree(&self, template: &State, free: &[f64]) -> State {
        Fit::unfree(self, template, free)
    }
    fn valid(&self, state: &State) -> bool {
        Fit::valid(self, state)
    }
}

/// An item's slope, intercepts and guessing (0 for a partial credit item).
pub(super) fn parts(model: &ItemModel) -> (f64, &[f64], f64) {
    match model {
        ItemModel::Dichotomous(p) => (p.a, std::slice::from_ref(&p.d), p.c),
        ItemModel::Gpcm { a, d } => (*a, d.as_slice(), 0.0),
    }
}

/// Number of M-step terms of an item of `kind` with `k` categories: its
/// own free parameters, and for a 1PL item its slope too.
fn n_terms(kind: ModelKind, k: usize) -> usize {
    match kind {
        ModelKind::OnePl => 2,
        kind => kind.item_parameters(k),
    }
}

/// The item's M-step terms in order: slope (when free or common),
/// intercepts, guessing (3PL).
fn terms_vector(kind: ModelKind, model: &ItemModel) -> Vec<f64> {
    let (a, d, c) = parts(model);
    let mut v = Vec::with_capacity(d.len() + 2);
    if kind == ModelKind::OnePl || kind.own_slope() {
        v.push(a);
    }
    v.extend_from_slice(d);
    if kind == ModelKind::ThreePl {
        v.push(c);
    }
    v
}

/// Inverse of [`terms_vector`] (Rasch and PCM slopes are 1).
fn from_terms(kind: ModelKind, x: &[f64]) -> ItemModel {
    let at = |i: usize| x.get(i).copied().unwrap_or(f64::NAN);
    match kind {
        ModelKind::Rasch => ItemModel::Dichotomous(ItemParams {
            a: 1.0,
            d: at(0),
            c: 0.0,
        }),
        ModelKind::OnePl | ModelKind::TwoPl => ItemModel::Dichotomous(ItemParams {
            a: at(0),
            d: at(1),
            c: 0.0,
        }),
        ModelKind::ThreePl => ItemModel::Dichotomous(ItemParams {
            a: at(0),
            d: at(1),
            c: at(2),
        }),
        ModelKind::Gpcm => ItemModel::Gpcm {
            a: at(0),
            d: x.get(1..).unwrap_or_default().to_vec(),
        },
        ModelKind::Pcm => ItemModel::Gpcm {
            a: 1.0,
            d: x.to_vec(),
        },
    }
}

/// `ln P_k` and `g[k * m + u] = d ln P_k / d x_u` at `theta` for the `m`
/// M-step terms `x` of `kind`.
fn item_derivatives(
    kind: ModelKind,
    model: &ItemModel,
    theta: f64,
    logp: &mut [f64],
    g: &mut [f64],
) {
    match model {
        ItemModel::Dichotomous(p) => {
            let (lp, lq) = log_pq(p, theta);
            logp[0] = lq;
            logp[1] = lp;
            let z = p.a * theta + p.d;
            let (s, sm) = (logistic(z), logistic(-z));
            // d ln P / d(a, d, c) and d ln Q / d(a, d, c), Q = (1 - c) sm.
            let (ratio, dc1) = if p.c == 0.0 {
                (sm, sm / s.max(f64::MIN_POSITIVE))
            } else {
                let pr = p.c + (1.0 - p.c) * s;
                ((1.0 - p.c) * s * sm / pr, sm / pr)
            };
            let right = [ratio * theta, ratio, dc1];
            let wrong = [-s * theta, -s, -1.0 / (1.0 - p.c)];
            let idx: &[usize] = match kind {
                ModelKind::Rasch | ModelKind::Pcm => &[1],
                ModelKind::OnePl | ModelKind::TwoPl | ModelKind::Gpcm => &[0, 1],
                ModelKind::ThreePl => &[0, 1, 2],
            };
            let m = idx.len();
            for (u, &i) in idx.iter().enumerate() {
                g[u] = wrong[i];
                g[m + u] = right[i];
            }
        }
        ItemModel::Gpcm { .. } => {
            model.log_probabilities_into(theta, logp);
            let k_len = logp.len();
            let mean: f64 = logp
                .iter()
                .enumerate()
                .map(|(k, l)| k as f64 * l.exp())
                .sum();
            let slope = usize::from(kind != ModelKind::Pcm);
            let m = k_len - 1 + slope;
            for k in 0..k_len {
                let row = &mut g[k * m..(k + 1) * m];
                if slope == 1 {
                    row[0] = theta * (k as f64 - mean);
                }
                for c in 1..k_len {
                    let indicator = if c == k { 1.0 } else { 0.0 };
                    row[slope + c - 1] = indicator - logp[c].exp();
                }
            }
        }
    }
}
