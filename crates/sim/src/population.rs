//! The synthetic population of adults aged 18-69, held as cells rather
//! than people: one cell per province x urban/rural x sex x age group x
//! education x occupation (about 26,000 cells with people in them, for
//! about a billion adults), each with its population count and the mean of
//! the latent literacy theta of its members.
//!
//! Counts: the province's census population times the adult share of its
//! region, split by the assumed urban share, sex share, age distribution
//! (by urban/rural), education distribution (by urban/rural and age) and
//! occupation weights (by urban/rural and education, times a factor by
//! age). Theta in a cell is normal with mean
//! `mu = sex + urban_rural + region + age_group + education` (calibrated
//! effects) `+ occupation + province` (assumed), and standard deviation
//! `sqrt(sd_psu^2 + sd_within^2)` (a PSU effect shared by neighbours plus
//! an individual part).
//!
//! Calibration: the five effects are fitted so that the share qualified of
//! every published group, and of the nation, matches its target: Gauss-Newton
//! least squares on the 18 published shares (17 groups and the nation) over
//! 13 effects (the first group of sex, urban/rural, region and age group is
//! the reference), with step halving, until no effect moves by more than
//! 1e-10 (at most [`MAX_ITERATIONS`]). Shares and derivatives come from the
//! monotone link of [`crate::qualify::Link`]. When the published figures and
//! the assumed composition agree (each variable's groups, weighted by their
//! population, average to the national figure), every target is met
//! exactly; otherwise the misfit is spread in the least-squares sense and
//! reported. It is deterministic: sums run over cells in a fixed order.
//!
//! Truth: the population share qualified of any domain is the
//! count-weighted mean over its cells of `Q(mu)`, the exact probability
//! of qualifying integrated over the cell's normal abilities: the model's
//! (superpopulation) share, exact up to the numerical integration (about
//! 1e-5). Nobody is materialised: a sample draws its people from the cells
//! and gives each PSU drawn a fresh effect, so it is a draw from exactly
//! this population, and design-based estimates target this truth. (A
//! materialised population would differ from it by the mean effect of its
//! hundreds of thousands of PSUs: negligible next to any sampling error.)

use std::ops::Range;

use literacy_core::demographics::PROVINCES;

use crate::qualify::Link;
use crate::structure::{
    AGE_GROUPS, Census, EDUCATION_LEVELS, OCCUPATIONS, Structure, province_index, region_index,
    region_name,
};

/// Most Gauss-Newton iterations of the calibration.
pub const MAX_ITERATIONS: usize = 100;

/// A variable defining population groups (also a column of the outputs).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PopulationVariable {
    /// GB/T 2260 province code.
    Province,
    /// `east`, `central` or `west`.
    Region,
    /// 1 urban, 2 rural.
    UrbanRural,
    /// 1 male, 2 female.
    Sex,
    /// 1 (18-29) to 5 (60-69).
    AgeGroup,
    /// 1 (primary or less) to 5 (bachelor or above).
    Education,
    /// 1 to 9.
    Occupation,
}

/// The variables with published targets, whose effects are calibrated.
pub const CALIBRATED: [PopulationVariable; 5] = [
    PopulationVariable::Sex,
    PopulationVariable::UrbanRural,
    PopulationVariable::Region,
    PopulationVariable::AgeGroup,
    PopulationVariable::Education,
];

impl PopulationVariable {
    /// Column name in microdata, margins and truth files.
    pub fn name(self) -> &'static str {
        match self {
            PopulationVariable::Province => "province",
            PopulationVariable::Region => "region",
            PopulationVariable::UrbanRural => "urban_rural",
            PopulationVariable::Sex => "sex",
            PopulationVariable::AgeGroup => "age_group",
            PopulationVariable::Education => "education",
            PopulationVariable::Occupation => "occupation",
        }
    }

    /// Number of categories.
    pub fn len(self) -> usize {
        match self {
            PopulationVariable::Province => PROVINCES.len(),
            PopulationVariable::Region => 3,
            PopulationVariable::UrbanRural | PopulationVariable::Sex => 2,
            PopulationVariable::AgeGroup => AGE_GROUPS,
            PopulationVariable::Education => EDUCATION_LEVELS,
            PopulationVariable::Occupation => OCCUPATIONS,
        }
    }

    /// Always false: every variable has categories.
    pub fn is_empty(self) -> bool {
        false
    }

    /// The code of category `index` as written in files.
    pub fn code(self, index: usize) -> String {
        match self {
            PopulationVariable::Province => PROVINCES[index].code.to_string(),
            PopulationVariable::Region => region_name(index).to_owned(),
            _ => (index + 1).to_string(),
        }
    }
}

/// One stratum: a province's urban or rural part.
#[derive(Debug, Clone, PartialEq)]
pub struct Stratum {
    /// Index in [`PROVINCES`].
    pub province: usize,
    /// 1 urban, 2 rural.
    pub urban_rural: u8,
    /// Adults aged 18-69.
    pub adults: f64,
    /// Its cells in [`Population::cells`].
    pub cells: Range<usize>,
}

impl Stratum {
    /// Stratum code: province code x 10 + urban/rural (`111` is Beijing's urban part).
    pub fn code(&self) -> u32 {
        u32::from(PROVINCES[self.province].code) * 10 + u32::from(self.urban_rural)
    }
}

/// One cell of the population: people alike in every variable.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PopCell {
    /// Index of the stratum in [`Population::strata`].
    pub stratum: u16,
    /// Index in [`PROVINCES`].
    pub province: u8,
    /// Index of the region (0 east, 1 central, 2 west).
    pub region: u8,
    /// 1 urban, 2 rural.
    pub urban_rural: u8,
    /// 1 male, 2 female.
    pub sex: u8,
    /// 1 to 5.
    pub age_group: u8,
    /// 1 to 5.
    pub education: u8,
    /// 1 to 9.
    pub occupation: u8,
    /// Adults in the cell.
    pub count: f64,
    /// Mean theta.
    pub mu: f64,
    /// Exact share qualified (`Q(mu)`).
    pub share: f64,
    /// Probability of responding when selected.
    pub response: f64,
}

impl PopCell {
    /// Index (0-based) of the cell's category of `variable`.
    pub fn category(&self, variable: PopulationVariable) -> usize {
        usize::from(match variable {
            PopulationVariable::Province => self.province,
            PopulationVariable::Region => self.region,
            PopulationVariable::UrbanRural => self.urban_rural - 1,
            PopulationVariable::Sex => self.sex - 1,
            PopulationVariable::AgeGroup => self.age_group - 1,
            PopulationVariable::Education => self.education - 1,
            PopulationVariable::Occupation => self.occupation - 1,
        })
    }
}

/// How the calibration went.
#[derive(Debug, Clone, PartialEq)]
pub struct Calibration {
    /// Gauss-Newton iterations run.
    pub iterations: usize,
    /// Whether the effects stopped moving (by 1e-10) within [`MAX_ITERATIONS`].
    pub converged: bool,
    /// Largest |model share - target| over the published groups and the
    /// nation, in percentage points.
    pub max_error_points: f64,
    /// Calibrated effects on theta, one list per variable of [`CALIBRATED`]
    /// (the first group of every variable but education is the reference, 0).
    pub effects: Vec<Vec<f64>>,
}

/// The population, its calibrated latent literacy and its truth.
#[derive(Debug, Clone)]
pub struct Population {
    /// Strata with adults, in province order, urban before rural.
    pub strata: Vec<Stratum>,
    /// Cells with adults, stratum by stratum.
    pub cells: Vec<PopCell>,
    /// The calibration's report.
    pub calibration: Calibration,
    /// Published targets (fractions) for each calibrated variable.
    targets: Vec<Vec<f64>>,
    national_target: f64,
}

/// The logistic function.
fn logistic(x: f64) -> f64 {
    1.0 / (1.0 + (-x).exp())
}

impl Population {
    /// Builds the population of `structure` sized by `census` and calibrates
    /// its latent literacy through `link`.
    pub fn new(structure: &Structure, census: &Census, link: &Link) -> Population {
        let c = &structure.population;
        let m = &structure.model;
        let r = &structure.design.response;
        let mut strata = Vec::new();
        let mut cells = Vec::new();
        for (p, province) in PROVINCES.iter().enumerate() {
            let region = region_index(p);
            let code = province.code.to_string();
            let adult_share = c
                .adult_share_by_region
                .get(region_name(region))
                .copied()
                .unwrap_or(0.0);
            let adults = census.population[p] * adult_share;
            let urban = c.urban_share.get(&code).copied().unwrap_or(0.0);
            let offset = m.province_offset.get(&code).copied().unwrap_or(0.0);
            for ur in [1u8, 2] {
                let stratum_adults = adults * if ur == 1 { urban } else { 1.0 - urban };
                if stratum_adults <= 0.0 {
                    continue;
                }
                let start = cells.len();
                let stratum = strata.len() as u16;
                let u = usize::from(ur - 1);
                for sex in [1u8, 2] {
                    let p_sex = if sex == 1 {
                        c.male_share
                    } else {
                        1.0 - c.male_share
                    };
                    for a in 0..AGE_GROUPS {
                        let p_age = c.age_group.get(ur)[a];
                        for e in 0..EDUCATION_LEVELS {
                            let p_edu = c.education_by_age_group.get(ur)[a][e];
                            let weights: Vec<f64> = (0..OCCUPATIONS)
                                .map(|o| {
                                    c.occupation_by_education.get(ur)[e][o]
                                        * c.occupation_age_factor[a][o]
                                })
                                .collect();
                            let total: f64 = weights.iter().sum();
                            for (o, w) in weights.iter().enumerate() {
                                let count = stratum_adults * p_sex * p_age * p_edu * w / total;
                                if count.is_nan() || count <= 0.0 {
                                    continue;
                                }
                                let logit = r.intercept
                                    + r.urban_rural[u]
                                    + r.sex[usize::from(sex - 1)]
                                    + r.age_group[a]
                                    + r.education[e];
                                cells.push(PopCell {
                                    stratum,
                                    province: p as u8,
                                    region: region as u8,
                                    urban_rural: ur,
                                    sex,
                                    age_group: a as u8 + 1,
                                    education: e as u8 + 1,
                                    occupation: o as u8 + 1,
                                    count,
                                    // The fixed part; calibrated effects are added below.
                                    mu: m.occupation_effect[o] + offset,
                                    share: 0.0,
                                    response: logistic(logit),
                                });
                            }
                        }
                    }
                }
                strata.push(Stratum {
                    province: p,
                    urban_rural: ur,
                    adults: cells[start..].iter().map(|c| c.count).sum(),
                    cells: start..cells.len(),
                });
            }
        }
        let t = &structure.qualified_percent;
        let targets: Vec<Vec<f64>> = CALIBRATED
            .iter()
            .map(|&v| {
                let map = match v {
                    PopulationVariable::Sex => &t.sex,
                    PopulationVariable::UrbanRural => &t.urban_rural,
                    PopulationVariable::Region => &t.region,
                    PopulationVariable::AgeGroup => &t.age_group,
                    _ => &t.education,
                };
                (0..v.len())
                    .map(|g| map.get(&v.code(g)).copied().unwrap_or(f64::NAN) / 100.0)
                    .collect()
            })
            .collect();
        let mut population = Population {
            strata,
            cells,
            calibration: Calibration {
                iterations: 0,
                converged: false,
                max_error_points: f64::NAN,
                effects: Vec::new(),
            },
            targets,
            national_target: t.national / 100.0,
        };
        population.calibrate(link);
        population
    }

    fn calibrate(&mut self, link: &Link) {
        // Parameters: one effect per group, except the first group of every
        // variable but the last (reference coding, so the fit is identified).
        let mut param_of: Vec<Vec<Option<usize>>> = Vec::new();
        let mut n_params = 0;
        for (v, variable) in CALIBRATED.iter().enumerate() {
            let free_from = usize::from(v + 1 < CALIBRATED.len());
            param_of.push(
                (0..variable.len())
                    .map(|g| {
                        (g >= free_from).then(|| {
                            n_params += 1;
                            n_params - 1
                        })
                    })
                    .collect(),
            );
        }
        // Residuals: every published group, then the nation.
        let mut targets: Vec<f64> = self.targets.iter().flatten().copied().collect();
        targets.push(self.national_target);
        let offsets: Vec<usize> = CALIBRATED
            .iter()
            .scan(0, |acc, v| {
                let start = *acc;
                *acc += v.len();
                Some(start)
            })
            .collect();
        let fixed: Vec<f64> = self.cells.iter().map(|c| c.mu).collect();
        // For each cell: its residual rows and its parameters.
        let rows_of = |c: &PopCell| -> [usize; 5] {
            std::array::from_fn(|v| offsets[v] + c.category(CALIBRATED[v]))
        };
        let params_of = |c: &PopCell| -> [Option<usize>; 5] {
            std::array::from_fn(|v| param_of[v][c.category(CALIBRATED[v])])
        };
        let n_rows = targets.len();
        let national = n_rows - 1;
        let mut size = vec![0.0; n_rows];
        for c in &self.cells {
            for row in rows_of(c) {
                size[row] += c.count;
            }
            size[national] += c.count;
        }
        let mu_of = |theta: &[f64], i: usize, c: &PopCell| -> f64 {
            fixed[i]
                + params_of(c)
                    .iter()
                    .flatten()
                    .map(|&k| theta[k])
                    .sum::<f64>()
        };
        // Residuals (and, when asked, the Jacobian) at parameters `theta`.
        let evaluate = |theta: &[f64], jacobian: Option<&mut Vec<Vec<f64>>>| -> Vec<f64> {
            let mut share = vec![0.0; n_rows];
            let mut jac = jacobian;
            if let Some(j) = jac.as_deref_mut() {
                *j = vec![vec![0.0; n_params]; n_rows];
            }
            for (i, c) in self.cells.iter().enumerate() {
                let mu = mu_of(theta, i, c);
                let q = c.count * link.share(mu);
                let rows = rows_of(c);
                for &row in &rows {
                    share[row] += q;
                }
                share[national] += q;
                if let Some(j) = jac.as_deref_mut() {
                    let dq = c.count * link.slope(mu);
                    for &k in params_of(c).iter().flatten() {
                        for &row in &rows {
                            j[row][k] += dq;
                        }
                        j[national][k] += dq;
                    }
                }
            }
            if let Some(j) = jac {
                for (row, values) in j.iter_mut().enumerate() {
                    for x in values.iter_mut() {
                        *x /= size[row];
                    }
                }
            }
            (0..n_rows)
                .map(|row| share[row] / size[row] - targets[row])
                .collect()
        };
        let sum_squares = |r: &[f64]| r.iter().map(|x| x * x).sum::<f64>();

        // Gauss-Newton with step halving.
        let mut theta = vec![0.0; n_params];
        let mut jacobian = Vec::new();
        let mut iterations = 0;
        let mut converged = false;
        while iterations < MAX_ITERATIONS && !converged {
            iterations += 1;
            let residuals = evaluate(&theta, Some(&mut jacobian));
            let ssr = sum_squares(&residuals);
            let step = gauss_newton_step(&jacobian, &residuals);
            let mut scale = 1.0;
            loop {
                let trial: Vec<f64> = theta
                    .iter()
                    .zip(&step)
                    .map(|(t, d)| t + scale * d)
                    .collect();
                if sum_squares(&evaluate(&trial, None)) <= ssr || scale < 1e-6 {
                    let moved = step.iter().fold(0.0f64, |m, d| m.max((scale * d).abs()));
                    theta = trial;
                    converged = moved < 1e-10;
                    break;
                }
                scale /= 2.0;
            }
        }
        let residuals = evaluate(&theta, None);
        for (i, c) in self.cells.iter_mut().enumerate() {
            c.mu = fixed[i]
                + params_of(c)
                    .iter()
                    .flatten()
                    .map(|&k| theta[k])
                    .sum::<f64>();
            c.share = link.share(c.mu);
        }
        let effects = param_of
            .iter()
            .map(|groups| groups.iter().map(|k| k.map_or(0.0, |k| theta[k])).collect())
            .collect();
        self.calibration = Calibration {
            iterations,
            converged,
            max_error_points: 100.0 * residuals.iter().fold(0.0f64, |m, r| m.max(r.abs())),
            effects,
        };
    }

    /// Population share qualified of the cells selected by `keep`.
    pub fn share_of(&self, keep: impl Fn(&PopCell) -> bool) -> f64 {
        let (mut n, mut q) = (0.0, 0.0);
        for c in self.cells.iter().filter(|c| keep(c)) {
            n += c.count;
            q += c.count * c.share;
        }
        q / n
    }

    /// Adults in the cells selected by `keep`.
    pub fn count_of(&self, keep: impl Fn(&PopCell) -> bool) -> f64 {
        self.cells.iter().filter(|c| keep(c)).map(|c| c.count).sum()
    }

    /// Adults in the whole population.
    pub fn adults(&self) -> f64 {
        self.count_of(|_| true)
    }

    /// The published target (fraction) of a group, if it has one:
    /// `None` variable for the nation.
    pub fn target(&self, variable: Option<PopulationVariable>, category: usize) -> Option<f64> {
        match variable {
            None => Some(self.national_target),
            Some(v) => CALIBRATED
                .iter()
                .position(|&c| c == v)
                .map(|i| self.targets[i][category]),
        }
    }

    /// Index of the stratum of a province code and urban/rural code.
    pub fn stratum_of(&self, province_code: u16, urban_rural: u8) -> Option<usize> {
        let p = province_index(province_code)?;
        self.strata
            .iter()
            .position(|s| s.province == p && s.urban_rural == urban_rural)
    }
}

/// The Gauss-Newton step: the least-squares solution of `J d = -r`, from
/// the normal equations by Gaussian elimination with partial pivoting.
fn gauss_newton_step(jacobian: &[Vec<f64>], residuals: &[f64]) -> Vec<f64> {
    let n = jacobian.first().map_or(0, Vec::len);
    // [J'J | -J'r]
    let mut a = vec![vec![0.0; n + 1]; n];
    for (row, r) in jacobian.iter().zip(residuals) {
        for i in 0..n {
            for j in 0..n {
                a[i][j] += row[i] * row[j];
            }
            a[i][n] -= row[i] * r;
        }
    }
    for col in 0..n {
        let pivot = (col..n)
            .max_by(|&x, &y| a[x][col].abs().total_cmp(&a[y][col].abs()))
            .unwrap_or(col);
        a.swap(col, pivot);
        if a[col][col].abs() < 1e-300 {
            continue;
        }
        let pivot_row = a[col].clone();
        for (row, values) in a.iter_mut().enumerate() {
            let f = values[col] / pivot_row[col];
            if row != col && f != 0.0 {
                for (v, p) in values[col..].iter_mut().zip(&pivot_row[col..]) {
                    *v -= f * p;
                }
            }
        }
    }
    (0..n)
        .map(|i| {
            if a[i][i].abs() < 1e-300 {
                0.0
            } else {
                a[i][n] / a[i][i]
            }
        })
        .collect()
}
