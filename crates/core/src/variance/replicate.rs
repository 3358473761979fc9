//! Replicate weights as multipliers of each PSU's weights (never a dense
//! rows x replicates matrix): jackknives (JK1, JKn), the Rao-Wu rescaled
//! bootstrap, balanced repeated replication (BRR) and Fay's method, and the
//! replicate variance `scale * sum_r rscale_r (theta_r - centre)^2`.

use std::fmt;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::Serialize;

use crate::design::{Design, LonelyPsu};
use crate::estimate::domains::natural;

/// How replicates are formed.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(tag = "method", rename_all = "snake_case")]
pub enum ReplicateMethod {
    /// Delete-one-PSU jackknife of an unstratified design: `(n - 1) / n * f`.
    Jk1,
    /// Delete-one-PSU jackknife within strata: rscale `(n_h - 1) / n_h * f_h`.
    Jkn,
    /// Rao-Wu rescaled bootstrap: `n_h - 1` PSUs drawn with replacement in
    /// each stratum, multiplier `count * n_h / (n_h - 1)`, scale `1 / (R - 1)`
    /// (R's `subbootstrap`), deterministic for the seed.
    Bootstrap {
        /// Number of replicates.
        replicates: usize,
        /// Random seed.
        seed: u64,
    },
    /// Balanced repeated replication (every stratum exactly 2 PSUs), from a
    /// Sylvester Hadamard matrix: scale `1 / R`.
    Brr,
    /// Fay's method: BRR with multipliers `2 - rho` and `rho`, scale
    /// `1 / (R (1 - rho)^2)`.
    Fay {
        /// Fay's rho in [0, 1).
        rho: f64,
    },
}

impl fmt::Display for ReplicateMethod {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Jk1 => "jk1",
            Self::Jkn => "jkn",
            Self::Bootstrap { .. } => "bootstrap",
            Self::Brr => "brr",
            Self::Fay { .. } => "fay",
        })
    }
}

/// Why replicates cannot be formed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ReplicateError {
    /// JK1 needs an unstratified design.
    #[error("JK1 is for unstratified designs; this one has {0} strata (use jkn)")]
    Stratified(usize),
    /// BRR and Fay need exactly two PSUs per stratum.
    #[error("{method} needs exactly 2 PSUs in every stratum; stratum {stratum:?} has {psus}")]
    NotPaired {
        /// The method.
        method: String,
        /// The stratum.
        stratum: String,
        /// Its PSUs.
        psus: u32,
    },
    /// A parameter out of range.
    #[error("{0}")]
    Parameter(String),
    /// Given multipliers of the wrong shape.
    #[error("{given} multipliers do not make {replicates} replicates of {psus} PSUs")]
    Shape {
        /// Multipliers given.
        given: usize,
        /// Replicates.
        replicates: usize,
        /// PSUs.
        psus: usize,
    },
}

/// Replicate multipliers per PSU, with the variance's scale factors.
#[derive(Debug, Clone, PartialEq)]
pub struct Replicates {
    n_psu: usize,
    /// Replicate-major: `factors[r * n_psu + psu]`.
    factors: Vec<f64>,
    scale: f64,
    rscales: Vec<f64>,
}

/// The PSUs of each stratum, in order of the PSUs' first rows.
fn psus_by_stratum(design: &Design) -> Vec<Vec<usize>> {
    let mut out = vec![Vec::new(); design.n_strata()];
    for (psu, &h) in design.psu_stratum().iter().enumerate() {
        out[h as usize].push(psu);
    }
    out
}

/// Sylvester Hadamard matrix entry `H[i][j]` (order a power of two).
fn hadamard(i: usize, j: usize) -> bool {
    (i & j).count_ones().is_multiple_of(2)
}

impl Replicates {
    /// Forms replicates for `design`. In BRR and Fay, strata take the
    /// Hadamard rows in natural order of their labels, and the PSU with the
    /// smaller id comes first in its pair (R's convention).
    pub fn new(design: &Design, method: ReplicateMethod) -> Result<Self, ReplicateError> {
        let psu_labels = design.psu_labels();
        let n_psu = design.n_psus();
        let fpc = design.stratum_fpc();
        let strata = psus_by_stratum(design);
        let mut factors = Vec::new();
        let mut rscales = Vec::new();
        let mut scale = 1.0;
        match method {
            ReplicateMethod::Jk1 => {
                if design.n_strata() != 1 {
                    return Err(ReplicateError::Stratified(design.n_strata()));
                }
                let n = n_psu as f64;
                for j in 0..n_psu {
                    let mut row = vec![n / (n - 1.0); n_psu];
                    row[j] = 0.0;
                    factors.extend(row);
                    rscales.push(1.0);
                }
                scale = (n - 1.0) / n * fpc[0];
            }
            ReplicateMethod::Jkn => {
                let h_count = design.n_strata() as f64;
                for (h, psus) in strata.iter().enumerate() {
                    let n_h = psus.len() as f64;
                    if psus.len() == 1 {
                        match design.lonely() {
                            LonelyPsu::Adjust => {
                                // R: the stratum's PSU out, every other weight
                                // times H / (H - 1), rscale (H - 1) / H.
                                let mut row = vec![h_count / (h_count - 1.0); n_psu];
                                for &j in psus {
                                    row[j] = 0.0;
                                }
                                factors.extend(row);
                                rscales.push((h_count - 1.0) / h_count);
                            }
                            _ => continue,
                        }
                        continue;
                    }
                    for &drop in psus {
                        let mut row = vec![1.0; n_psu];
                        for &j in psus {
                            row[j] = if j == drop { 0.0 } else { n_h / (n_h - 1.0) };
                        }
                        factors.extend(row);
                        rscales.push((n_h - 1.0) / n_h * fpc[h]);
                    }
                }
                if design.lonely() == LonelyPsu::Average && rscales.len() < n_psu {
                    scale = n_psu as f64 / rscales.len() as f64;
                }
            }
            ReplicateMethod::Bootstrap { replicates, seed } => {
                if replicates < 2 {
                    return Err(ReplicateError::Parameter(format!(
                        "the bootstrap needs at least 2 replicates, not {replicates}"
                    )));
                }
                let mut rng = ChaCha8Rng::seed_from_u64(seed);
                for _ in 0..replicates {
                    let mut row = vec![1.0; n_psu];
                    for psus in &strata {
                        let n_h = psus.len();
                        if n_h < 2 {
                            continue; // a lonely PSU keeps its weight
                        }
                        let mut counts = vec![0u32; n_h];
                        for _ in 0..n_h - 1 {
                            counts[rng.random_range(0..n_h)] += 1;
                        }
                        let rescale = n_h as f64 / (n_h as f64 - 1.0);
                        for (k, &j) in psus.iter().enumerate() {
                            row[j] = f64::from(counts[k]) * rescale;
                        }
                    }
                    factors.extend(row);
                    rscales.push(1.0);
                }
                scale = 1.0 / (replicates as f64 - 1.0);
            }
            ReplicateMethod::Brr | ReplicateMethod::Fay { .. } => {
                let rho = match method {
                    ReplicateMethod::Fay { rho } if (0.0..1.0).contains(&rho) => rho,
                    ReplicateMethod::Fay { rho } => {
                        return Err(ReplicateError::Parameter(format!(
                            "Fay's rho {rho} is not in [0, 1)"
                        )));
                    }
                    _ => 0.0,
                };
                let mut order: Vec<usize> = (0..design.n_strata()).collect();
                let labels = design.stratum_labels();
                order.sort_by(|&a, &b| natural(&labels[a], &labels[b]));
                for &h in &order {
                    if strata[h].len() != 2 {
                        return Err(ReplicateError::NotPaired {
                            method: method.to_string(),
                            stratum: labels[h].clone(),
                            psus: design.stratum_psus()[h],
                        });
                    }
                }
                // Rows 1..=H of a Sylvester matrix of order > H; row 0 (all
                // ones) is not used, as in R.
                let order_size = (order.len() + 1).next_power_of_two();
                for r in 0..order_size {
                    let mut row = vec![1.0; n_psu];
                    for (k, &h) in order.iter().enumerate() {
                        let mut pair = strata[h].clone();
                        pair.sort_by(|&a, &b| natural(&psu_labels[a], &psu_labels[b]));
                        let (first, second) = if hadamard(k + 1, r) {
                            (2.0 - rho, rho)
                        } else {
                            (rho, 2.0 - rho)
                        };
                        row[pair[0]] = first;
                        row[pair[1]] = second;
                    }
                    factors.extend(row);
                    rscales.push(1.0);
                }
                scale = 1.0 / (order_size as f64 * (1.0 - rho) * (1.0 - rho));
            }
        }
        Ok(Self {
            n_psu,
            factors,
            scale,
            rscales,
        })
    }

    /// Replicates from given multipliers (replicate-major, one per PSU),
    /// for replicate weights made elsewhere.
    pub fn from_factors(
        n_psu: usize,
        factors: Vec<f64>,
        scale: f64,
        rscales: Vec<f64>,
    ) -> Result<Self, ReplicateError> {
        if n_psu == 0 || factors.len() != rscales.len() * n_psu {
            return Err(ReplicateError::Shape {
                given: factors.len(),
                replicates: rscales.len(),
                psus: n_psu,
            });
        }
        Ok(Self {
            n_psu,
            factors,
            scale,
            rscales,
        })
    }

    /// Number of replicates.
    pub fn len(&self) -> usize {
        self.rscales.len()
    }

    /// Whether there are no replicates.
    pub fn is_empty(&self) -> bool {
        self.rscales.is_empty()
    }

    /// Overall scale factor.
    pub fn scale(&self) -> f64 {
        self.scale
    }

    /// Per-replicate scale factors.
    pub fn rscales(&self) -> &[f64] {
        &self.rscales
    }

    /// Multiplier of each PSU in replicate `r`.
    pub fn factors(&self, r: usize) -> &[f64] {
        &self.factors[r * self.n_psu..(r + 1) * self.n_psu]
    }

    /// Replicate `r`'s weights: `weights` times the multiplier of each row's PSU.
    pub fn weights_into(&self, design: &Design, weights: &[f64], r: usize, out: &mut [f64]) {
        let factors = self.factors(r);
        for ((o, &w), &psu) in out.iter_mut().zip(weights).zip(design.row_psu()) {
            *o = w * factors[psu as usize];
        }
    }

    /// `scale * sum_r rscale_r (theta_r - centre)^2`, centred on the mean of
    /// the replicates (with rscale > 0) or, with `mse`, on the full-sample
    /// estimate.
    pub fn variance(&self, full: f64, thetas: &[f64], mse: bool) -> f64 {
        let centre = if mse {
            full
        } else {
            let used: Vec<f64> = thetas
                .iter()
                .zip(&self.rscales)
                .filter(|(_, s)| **s > 0.0)
                .map(|(t, _)| *t)
                .collect();
            used.iter().sum::<f64>() / used.len() as f64
        };
        self.scale
            * thetas
                .iter()
                .zip(&self.rscales)
                .map(|(t, s)| s * (t - centre) * (t - centre))
                .sum::<f64>()
    }
}
