//! The parameter file of a simulated round (`surveys/structure-2023.json`)
//! and the census populations it is sized by.
//!
//! The file holds the published structure the population is calibrated to
//! (`qualified_percent`, in percent, with its `source`), and the
//! assumptions the simulation needs besides: the composition of the
//! population (`population`), the latent-literacy model (`model`) and the
//! sample design (`design`). Lists indexed by a code hold one entry per code
//! in increasing order (age groups 1-5, education 1-5, occupation 1-9,
//! household adults 1, 2, ...); modes are listed as paper, tablet, online.
//! Loading checks every field and reports every problem at once.

use std::collections::BTreeMap;

use literacy_core::demographics::{PROVINCES, Region};
use literacy_core::validate::{Collector, Problem};
use serde::Deserialize;

/// The structure file shipped with the engine (the 2023 national round).
pub const STRUCTURE_2023: &str = include_str!("../../../surveys/structure-2023.json");

/// The 2020 census populations shipped with the engine.
pub const CENSUS_2020: &str = include_str!("../../../surveys/provinces-census-2020.csv");

/// Number of age groups (18-29 ... 60-69).
pub const AGE_GROUPS: usize = 5;
/// Number of education levels.
pub const EDUCATION_LEVELS: usize = 5;
/// Number of occupation groups.
pub const OCCUPATIONS: usize = 9;
/// Number of survey modes.
pub const MODES: usize = 3;
/// The three regions of the published breakdown, in report order.
pub const REGIONS: [Region; 3] = [Region::East, Region::Central, Region::West];

/// Why a structure or census file cannot be used: every problem found.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StructureError {
    /// The text is not JSON of the expected shape.
    #[error("{source_name}: {message}")]
    Json {
        /// The file.
        source_name: String,
        /// The parser's message (with line and column).
        message: String,
    },
    /// Fields with values that cannot be used.
    #[error("{source_name}: {}", joined(problems))]
    Invalid {
        /// The file.
        source_name: String,
        /// Every problem, each naming its field.
        problems: Vec<Problem>,
    },
}

/// The problems on one line, separated by `; `.
fn joined(problems: &[Problem]) -> String {
    problems
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("; ")
}

/// A round's published structure and the simulation's assumptions.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Structure {
    /// Identifier of the round, e.g. `csl-2023`.
    pub id: String,
    /// What the file describes.
    pub title: String,
    /// The publication the targets come from.
    pub source: String,
    /// Free-text notes on the format.
    #[serde(default)]
    pub notes: Vec<String>,
    /// Published shares qualified, in percent.
    pub qualified_percent: Targets,
    /// Composition of the population (assumed).
    pub population: Composition,
    /// Latent-literacy and answer model (assumed).
    pub model: ModelParams,
    /// Sample design (assumed).
    pub design: DesignParams,
}

/// Published shares qualified (percent) for the nation and each group.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Targets {
    /// The nation.
    pub national: f64,
    /// By sex code.
    pub sex: BTreeMap<String, f64>,
    /// By urban/rural code.
    pub urban_rural: BTreeMap<String, f64>,
    /// By region (`east`, `central`, `west`).
    pub region: BTreeMap<String, f64>,
    /// By age group code.
    pub age_group: BTreeMap<String, f64>,
    /// By education code.
    pub education: BTreeMap<String, f64>,
}

/// One value for urban and one for rural areas.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UrbanRural<T> {
    /// Urban areas (code 1).
    pub urban: T,
    /// Rural areas (code 2).
    pub rural: T,
}

impl<T> UrbanRural<T> {
    /// The value for urban/rural code 1 or 2.
    pub fn get(&self, urban_rural: u8) -> &T {
        if urban_rural == 1 {
            &self.urban
        } else {
            &self.rural
        }
    }
}

/// Composition of the adult population (all shares are fractions).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Composition {
    /// What is assumed and why.
    pub assumptions: Vec<String>,
    /// Share of a province's census population aged 18-69, by region.
    pub adult_share_by_region: BTreeMap<String, f64>,
    /// Urban share of adults, by province code.
    pub urban_share: BTreeMap<String, f64>,
    /// Share of adults who are male.
    pub male_share: f64,
    /// Age-group distribution (5 shares).
    pub age_group: UrbanRural<Vec<f64>>,
    /// Education distribution (5 shares) for each age group.
    pub education_by_age_group: UrbanRural<Vec<Vec<f64>>>,
    /// Occupation weights (9) for each education level.
    pub occupation_by_education: UrbanRural<Vec<Vec<f64>>>,
    /// Occupation factors (9) for each age group, multiplying the weights.
    pub occupation_age_factor: Vec<Vec<f64>>,
}

/// The latent-literacy and answer model.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelParams {
    /// What is assumed and why.
    pub assumptions: Vec<String>,
    /// Standard deviation of theta within a PSU and population cell.
    pub sd_within: f64,
    /// Standard deviation of the PSU effect on theta.
    pub sd_psu: f64,
    /// Fixed effect of each occupation on theta (9).
    pub occupation_effect: Vec<f64>,
    /// Fixed offset of each province on theta (absent: 0).
    pub province_offset: BTreeMap<String, f64>,
    /// Seed of the item parameters of the answer model.
    pub item_seed: u64,
    /// Probability that a wrong answer is given as don't know.
    pub dont_know: f64,
    /// Probability that an item is left blank.
    pub missing: f64,
}

/// The sample design.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DesignParams {
    /// What is assumed and why.
    pub assumptions: Vec<String>,
    /// Provinces get completed interviews in proportion to population^power.
    pub allocation_power: f64,
    /// Completed interviews per PSU (about).
    pub completes_per_psu: usize,
    /// Mean number of adults of a PSU in the frame.
    pub mean_psu_adults: f64,
    /// Coefficient of variation of PSU sizes (lognormal).
    pub psu_size_cv: f64,
    /// Distribution of the number of adults in a household (1, 2, ...).
    pub adults_per_household: Vec<f64>,
    /// Seed of the PSU frame (fixed, so every sample comes from one frame).
    pub frame_seed: u64,
    /// Response propensity model.
    pub response: ResponseParams,
    /// Mode shares (paper, tablet, online) for each age group.
    pub mode: UrbanRural<Vec<Vec<f64>>>,
}

/// Logistic response propensity: intercept plus one effect per group.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResponseParams {
    /// Log-odds of response of the reference respondent.
    pub intercept: f64,
    /// By urban/rural (2).
    pub urban_rural: Vec<f64>,
    /// By sex (2).
    pub sex: Vec<f64>,
    /// By age group (5).
    pub age_group: Vec<f64>,
    /// By education (5).
    pub education: Vec<f64>,
}

/// Adults in each province: 2020 census populations.
#[derive(Debug, Clone, PartialEq)]
pub struct Census {
    /// Population of each province, in the order of [`PROVINCES`].
    pub population: Vec<f64>,
}

impl Census {
    /// Parses `provinces-census-2020.csv` (columns `code` and
    /// `population_2020`, one row per province, all 31 present).
    pub fn from_csv(source_name: &str, text: &str) -> Result<Census, StructureError> {
        let invalid = |problems: Vec<Problem>| StructureError::Invalid {
            source_name: source_name.to_owned(),
            problems,
        };
        let mut lines = text.lines().filter(|l| !l.trim().is_empty());
        let header: Vec<&str> = lines.next().unwrap_or_default().split(',').collect();
        let code_col = header.iter().position(|h| h.trim() == "code");
        let pop_col = header
            .iter()
            .position(|h| h.trim().starts_with("population"));
        let (Some(code_col), Some(pop_col)) = (code_col, pop_col) else {
            return Err(invalid(vec![Problem::whole_file(
                "the header needs a `code` and a `population...` column",
            )]));
        };
        let mut population = vec![f64::NAN; PROVINCES.len()];
        let mut problems = Vec::new();
        for (i, line) in lines.enumerate() {
            let fields: Vec<&str> = line.split(',').collect();
            let code = fields
                .get(code_col)
                .and_then(|c| c.trim().parse::<u16>().ok());
            let pop = fields
                .get(pop_col)
                .and_then(|c| c.trim().parse::<f64>().ok());
            match (code.and_then(province_index), pop) {
                (Some(p), Some(n)) if n > 0.0 => population[p] = n,
                _ => problems.push(Problem::whole_file(format!(
                    "line {}: needs a province code and a positive population",
                    i + 2
                ))),
            }
        }
        for (p, n) in PROVINCES.iter().zip(&population) {
            if n.is_nan() {
                problems.push(Problem::whole_file(format!(
                    "province {} is missing",
                    p.code
                )));
            }
        }
        if problems.is_empty() {
            Ok(Census { population })
        } else {
            Err(invalid(problems))
        }
    }

    /// The 2020 census shipped with the engine.
    pub fn embedded() -> Result<Census, StructureError> {
        Census::from_csv("surveys/provinces-census-2020.csv", CENSUS_2020)
    }
}

/// Index in [`PROVINCES`] of a province code.
pub fn province_index(code: u16) -> Option<usize> {
    PROVINCES.iter().position(|p| p.code == code)
}

/// Index in [`REGIONS`] of a province's three-region region.
pub fn region_index(province: usize) -> usize {
    REGIONS
        .iter()
        .position(|&r| r == PROVINCES[province].region3)
        .unwrap_or(0)
}

/// Name of a region as written in files.
pub fn region_name(region: usize) -> &'static str {
    ["east", "central", "west"][region]
}

impl Structure {
    /// Parses and checks a structure file; `source_name` names it in messages.
    pub fn from_json(source_name: &str, json: &str) -> Result<Structure, StructureError> {
        let structure: Structure =
            serde_json::from_str(json).map_err(|e| StructureError::Json {
                source_name: source_name.to_owned(),
                message: e.to_string(),
            })?;
        let problems = structure.problems();
        if problems.is_empty() {
            Ok(structure)
        } else {
            Err(StructureError::Invalid {
                source_name: source_name.to_owned(),
                problems,
            })
        }
    }

    /// The 2023 structure shipped with the engine.
    pub fn embedded_2023() -> Result<Structure, StructureError> {
        Structure::from_json("surveys/structure-2023.json", STRUCTURE_2023)
    }

    fn problems(&self) -> Vec<Problem> {
        let mut p = Problems::default();
        if self.source.trim().is_empty() {
            p.push("source", "must name the publication the targets come from");
        }
        let t = &self.qualified_percent;
        p.percent("qualified_percent.national", t.national);
        p.targets("qualified_percent.sex", &t.sex, &codes(2));
        p.targets("qualified_percent.urban_rural", &t.urban_rural, &codes(2));
        let regions: Vec<String> = (0..3).map(|r| region_name(r).to_owned()).collect();
        p.targets("qualified_percent.region", &t.region, &regions);
        p.targets("qualified_percent.age_group", &t.age_group, &codes(5));
        p.targets("qualified_percent.education", &t.education, &codes(5));

        let c = &self.population;
        p.keyed_fractions(
            "population.adult_share_by_region",
            &c.adult_share_by_region,
            &regions,
            false,
        );
        let provinces: Vec<String> = PROVINCES.iter().map(|p| p.code.to_string()).collect();
        p.keyed_fractions("population.urban_share", &c.urban_share, &provinces, true);
        p.fraction("population.male_share", c.male_share, false);
        for (name, ur) in [("urban", &c.age_group.urban), ("rural", &c.age_group.rural)] {
            p.distribution(&format!("population.age_group.{name}"), ur, AGE_GROUPS);
        }
        for (name, table) in [
            ("urban", &c.education_by_age_group.urban),
            ("rural", &c.education_by_age_group.rural),
        ] {
            p.table(
                &format!("population.education_by_age_group.{name}"),
                table,
                AGE_GROUPS,
                EDUCATION_LEVELS,
                true,
            );
        }
        for (name, table) in [
            ("urban", &c.occupation_by_education.urban),
            ("rural", &c.occupation_by_education.rural),
        ] {
            p.table(
                &format!("population.occupation_by_education.{name}"),
                table,
                EDUCATION_LEVELS,
                OCCUPATIONS,
                false,
            );
        }
        p.table(
            "population.occupation_age_factor",
            &c.occupation_age_factor,
            AGE_GROUPS,
            OCCUPATIONS,
            false,
        );
        // Every urban/rural x age x education cell needs some occupation.
        for (name, occ) in [
            ("urban", &c.occupation_by_education.urban),
            ("rural", &c.occupation_by_education.rural),
        ] {
            for (e, weights) in occ.iter().enumerate() {
                for (a, factors) in c.occupation_age_factor.iter().enumerate() {
                    let total: f64 = weights.iter().zip(factors).map(|(w, f)| w * f).sum();
                    if total.is_nan() || total <= 0.0 {
                        p.push(
                            &format!("population.occupation_by_education.{name}"),
                            &format!(
                                "education {} at age group {} has no occupation with a positive weight",
                                e + 1,
                                a + 1
                            ),
                        );
                    }
                }
            }
        }

        let m = &self.model;
        p.positive("model.sd_within", m.sd_within);
        p.non_negative("model.sd_psu", m.sd_psu);
        p.length(
            "model.occupation_effect",
            m.occupation_effect.len(),
            OCCUPATIONS,
        );
        p.finite_all("model.occupation_effect", &m.occupation_effect);
        for (code, v) in &m.province_offset {
            if !provinces.contains(code) {
                p.push(
                    "model.province_offset",
                    &format!("`{code}` is not a province code"),
                );
            }
            p.finite(&format!("model.province_offset.{code}"), *v);
        }
        p.fraction("model.dont_know", m.dont_know, true);
        if !(0.0..0.5).contains(&m.missing) {
            p.push("model.missing", "must be at least 0 and below 0.5");
        }

        let d = &self.design;
        if !(0.0..=1.0).contains(&d.allocation_power) {
            p.push("design.allocation_power", "must lie in 0..=1");
        }
        if d.completes_per_psu == 0 {
            p.push("design.completes_per_psu", "must be at least 1");
        }
        if !(d.mean_psu_adults >= 1.0 && d.mean_psu_adults.is_finite()) {
            p.push("design.mean_psu_adults", "must be at least 1");
        }
        p.non_negative("design.psu_size_cv", d.psu_size_cv);
        if d.adults_per_household.is_empty() {
            p.push(
                "design.adults_per_household",
                "must list at least one share",
            );
        } else {
            p.distribution(
                "design.adults_per_household",
                &d.adults_per_household,
                d.adults_per_household.len(),
            );
        }
        let r = &d.response;
        p.finite("design.response.intercept", r.intercept);
        for (name, values, len) in [
            ("urban_rural", &r.urban_rural, 2),
            ("sex", &r.sex, 2),
            ("age_group", &r.age_group, AGE_GROUPS),
            ("education", &r.education, EDUCATION_LEVELS),
        ] {
            p.length(&format!("design.response.{name}"), values.len(), len);
            p.finite_all(&format!("design.response.{name}"), values);
        }
        for (name, table) in [("urban", &d.mode.urban), ("rural", &d.mode.rural)] {
            p.table(
                &format!("design.mode.{name}"),
                table,
                AGE_GROUPS,
                MODES,
                true,
            );
        }
        p.0.into_problems()
    }
}

fn codes(n: usize) -> Vec<String> {
    (1..=n).map(|c| c.to_string()).collect()
}

/// The structure's checks, collecting every problem (through the core's
/// shared [`Collector`]).
#[derive(Default)]
struct Problems(Collector);

impl Problems {
    fn push(&mut self, field: &str, message: &str) {
        self.0.problem(field, message);
    }

    fn finite(&mut self, field: &str, v: f64) {
        if !v.is_finite() {
            self.push(field, "must be a finite number");
        }
    }

    fn finite_all(&mut self, field: &str, values: &[f64]) {
        if values.iter().any(|v| !v.is_finite()) {
            self.push(field, "must hold finite numbers");
        }
    }

    fn positive(&mut self, field: &str, v: f64) {
        if !(v > 0.0 && v.is_finite()) {
            self.push(field, "must be positive");
        }
    }

    fn non_negative(&mut self, field: &str, v: f64) {
        if !(v >= 0.0 && v.is_finite()) {
            self.push(field, "must be zero or positive");
        }
    }

    fn percent(&mut self, field: &str, v: f64) {
        if !(v > 0.0 && v < 100.0) {
            self.push(field, "must be a percentage strictly between 0 and 100");
        }
    }

    /// A fraction in 0..=1 (or strictly inside when `open`).
    fn fraction(&mut self, field: &str, v: f64, closed: bool) {
        let ok = if closed {
            (0.0..=1.0).contains(&v)
        } else {
            v > 0.0 && v < 1.0
        };
        if !ok {
            let range = if closed {
                "0..=1"
            } else {
                "strictly between 0 and 1"
            };
            self.push(field, &format!("must be a fraction in {range}"));
        }
    }

    fn length(&mut self, field: &str, len: usize, expected: usize) {
        if len != expected {
            self.push(field, &format!("has {len} entries; expected {expected}"));
        }
    }

    fn targets(&mut self, field: &str, map: &BTreeMap<String, f64>, keys: &[String]) {
        self.keys(field, map, keys);
        for (k, v) in map {
            self.percent(&format!("{field}.{k}"), *v);
        }
    }

    fn keys(&mut self, field: &str, map: &BTreeMap<String, f64>, keys: &[String]) {
        for k in keys {
            if !map.contains_key(k) {
                self.push(field, &format!("`{k}` is missing"));
            }
        }
        for k in map.keys() {
            if !keys.contains(k) {
                self.push(field, &format!("`{k}` is not one of {}", keys.join(", ")));
            }
        }
    }

    fn keyed_fractions(
        &mut self,
        field: &str,
        map: &BTreeMap<String, f64>,
        keys: &[String],
        closed: bool,
    ) {
        self.keys(field, map, keys);
        for (k, v) in map {
            self.fraction(&format!("{field}.{k}"), *v, closed);
        }
    }

    /// `len` non-negative shares adding up to 1.
    fn distribution(&mut self, field: &str, shares: &[f64], len: usize) {
        self.length(field, shares.len(), len);
        if shares.iter().any(|s| !(*s >= 0.0 && s.is_finite())) {
            self.push(field, "shares must be zero or positive");
        } else if (shares.iter().sum::<f64>() - 1.0).abs() > 1e-6 {
            self.push(
                field,
                &format!("shares add up to {}, not 1", shares.iter().sum::<f64>()),
            );
        }
    }

    /// `rows` rows of `cols` non-negative numbers (each a distribution when `shares`).
    fn table(&mut self, field: &str, table: &[Vec<f64>], rows: usize, cols: usize, shares: bool) {
        self.length(field, table.len(), rows);
        for (i, row) in table.iter().enumerate() {
            let name = format!("{field}[{i}]");
            if shares {
                self.distribution(&name, row, cols);
            } else {
                self.length(&name, row.len(), cols);
                if row.iter().any(|v| !(*v >= 0.0 && v.is_finite())) {
                    self.push(&name, "values must be zero or positive");
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shipped_files_load() {
        let s = Structure::embedded_2023().unwrap();
        assert_eq!(s.qualified_percent.national, 14.14);
        assert!(s.source.contains("2023"));
        let c = Census::embedded().unwrap();
        assert_eq!(c.population.len(), 31);
        assert_eq!(c.population[0], 21_893_095.0);
    }

    #[test]
    fn every_problem_is_reported() {
        let mut v: serde_json::Value = serde_json::from_str(STRUCTURE_2023).unwrap();
        v["qualified_percent"]["sex"]["3"] = 1.0.into();
        v["qualified_percent"]["national"] = 140.0.into();
        v["population"]["age_group"]["urban"][0] = 0.5.into();
        v["design"]["mode"]["rural"] = serde_json::json!([[1.0, 0.0, 0.0]]);
        let err = Structure::from_json("s.json", &v.to_string()).unwrap_err();
        let StructureError::Invalid { problems, .. } = &err else {
            panic!("{err}");
        };
        let all = problems
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join("\n");
        assert!(
            all.contains("field `qualified_percent.sex`: `3` is not one of 1, 2"),
            "{all}"
        );
        assert!(
            all.contains("field `qualified_percent.national`: must be a percentage"),
            "{all}"
        );
        assert!(
            all.contains("field `population.age_group.urban`: shares add up to"),
            "{all}"
        );
        assert!(
            all.contains("field `design.mode.rural`: has 1 entries; expected 5"),
            "{all}"
        );
    }

    #[test]
    fn unknown_fields_are_rejected() {
        let mut v: serde_json::Value = serde_json::from_str(STRUCTURE_2023).unwrap();
        v["model"]["sd_withn"] = 1.0.into();
        let err = Structure::from_json("s.json", &v.to_string()).unwrap_err();
        assert!(err.to_string().contains("sd_withn"), "{err}");
    }

    #[test]
    fn census_rows_are_checked() {
        let err = Census::from_csv("c.csv", "code,population_2020\n11,5\n99,3\n").unwrap_err();
        let text = err.to_string();
        assert!(text.contains("line 3"), "{text}");
        assert!(text.contains("province 12 is missing"), "{text}");
    }
}
