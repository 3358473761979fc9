//! The R reference surveys the statistics tests share (`tests/reference/`):
//! a data file with its design, synth's population margins, and the
//! options the fixtures were made with.

#![allow(dead_code, reason = "each test file uses part of these helpers")]

use literacy_core::design::{Design, Fpc, LonelyPsu};
use literacy_core::estimate::{Options, Statistic};
use literacy_core::weighting::Margin;
use literacy_test_support::reference::Csv;

/// A data file with its design and weights.
pub struct Data {
    pub csv: Csv,
    pub weights: Vec<f64>,
    pub design: Design,
}

/// The columns of a data file's design.
pub struct Spec<'a> {
    pub file: &'a str,
    pub strata: Option<&'a str>,
    pub psu: Option<&'a str>,
    pub weight: &'a str,
    pub fpc: Option<&'a str>,
    pub lonely: LonelyPsu,
}

/// Reads a data file and builds its design.
pub fn load(spec: &Spec<'_>) -> Data {
    let csv = Csv::read(spec.file);
    let strata = spec.strata.map(|c| csv.text(c));
    let psu = spec.psu.map(|c| csv.text(c));
    let fpc = spec.fpc.map(|c| csv.num(c));
    let design = Design::new(
        csv.rows.len(),
        strata.as_deref(),
        psu.as_deref(),
        fpc.as_deref().map_or(Fpc::None, Fpc::PopulationPsus),
        spec.lonely,
    )
    .expect("valid design");
    let weights = csv.num(spec.weight);
    Data {
        csv,
        weights,
        design,
    }
}

/// R's `apistrat`: stratified by school type.
pub fn api_strat(fpc: bool) -> Data {
    load(&Spec {
        file: "data/api_strat.csv",
        strata: Some("stype"),
        psu: None,
        weight: "pw",
        fpc: fpc.then_some("fpc"),
        lonely: LonelyPsu::Fail,
    })
}

/// R's `apiclus1`: one-stage cluster sample of school districts.
pub fn api_clus1(fpc: bool) -> Data {
    load(&Spec {
        file: "data/api_clus1.csv",
        strata: None,
        psu: Some("dnum"),
        weight: "pw",
        fpc: fpc.then_some("fpc"),
        lonely: LonelyPsu::Fail,
    })
}

/// The synthetic survey: strata the provinces, PSUs `psu`.
pub fn synth(lonely: LonelyPsu, fpc: bool) -> Data {
    load(&Spec {
        file: "data/synth.csv",
        strata: Some("province"),
        psu: Some("psu"),
        weight: "weight",
        fpc: fpc.then_some("fpc"),
        lonely,
    })
}

/// synth's raking variables, in R's order.
pub const RAKING: [&str; 4] = ["sex", "urban_rural", "age_group", "province"];

/// The population margin of `variable` (`data/margin_<variable>.csv`) over
/// the rows of `csv`.
pub fn margin(csv: &Csv, variable: &str) -> Margin {
    let table = Csv::read(&format!("data/margin_{variable}.csv"));
    let population: Vec<(String, f64)> = table
        .text(variable)
        .into_iter()
        .zip(table.num("total"))
        .collect();
    Margin::from_labels(variable, &csv.text(variable), &population).expect("valid margin")
}

/// synth's four raking margins ([`RAKING`]) over the rows of `csv`.
pub fn raking_margins(csv: &Csv) -> Vec<Margin> {
    RAKING.iter().map(|v| margin(csv, v)).collect()
}

/// The options of the fixtures for `statistic` (`mean` or `total`): their
/// intervals are estimate -/+ t_df se for every statistic.
pub fn options(statistic: &str) -> Options {
    Options {
        statistic: if statistic == "total" {
            Statistic::Total
        } else {
            Statistic::Mean
        },
        proportion: false,
        ..Options::default()
    }
}
