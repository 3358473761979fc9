//! The synthetic national round: its population reproduces the published
//! 2023 structure, the exact qualification probabilities agree with the
//! real scoring of generated answers, the sample has the design it claims,
//! and everything is deterministic for a seed whatever the threads.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::OnceLock;

use literacy_core::demographics::PROVINCES;
use literacy_core::{Instrument, Item};
use literacy_sim::NationalModel;
use literacy_sim::design::Mode;
use literacy_sim::output::MARGIN_VARIABLES;
use literacy_sim::population::{CALIBRATED, PopulationVariable};
use literacy_sim::structure::{Census, Structure};

fn instrument(name: &str) -> Instrument {
    let json = match name {
        "csl-2026" => include_str!("../../../surveys/csl-2026/instrument.json"),
        _ => include_str!("../../../surveys/csl-legacy/instrument.json"),
    };
    Instrument::from_json(name, json).unwrap_or_else(|e| panic!("{e}"))
}

/// The 2023 model for csl-2026, built once per test binary.
fn model() -> &'static NationalModel {
    static MODEL: OnceLock<NationalModel> = OnceLock::new();
    MODEL.get_or_init(|| {
        NationalModel::embedded_2023(&instrument("csl-2026")).expect("the 2023 model builds")
    })
}

/// Published targets of the structure file, in percent: (variable, code, target).
fn published() -> Vec<(Option<PopulationVariable>, String, f64)> {
    let s = Structure::embedded_2023().expect("the 2023 structure loads");
    let t = &s.qualified_percent;
    let mut out = vec![(None, "all".to_owned(), t.national)];
    for (variable, map) in [
        (PopulationVariable::Sex, &t.sex),
        (PopulationVariable::UrbanRural, &t.urban_rural),
        (PopulationVariable::Region, &t.region),
        (PopulationVariable::AgeGroup, &t.age_group),
        (PopulationVariable::Education, &t.education),
    ] {
        for (code, v) in map {
            out.push((Some(variable), code.clone(), *v));
        }
    }
    assert_eq!(out.len(), 18);
    out
}

fn category(variable: PopulationVariable, code: &str) -> usize {
    (0..variable.len())
        .find(|&k| variable.code(k) == code)
        .unwrap_or_else(|| panic!("{} has no code {code}", variable.name()))
}

#[test]
fn the_population_reproduces_every_published_group_within_0_3_points() {
    let model = model();
    let population = model.population();
    let calibration = &population.calibration;
    assert!(calibration.converged, "{calibration:?}");
    for (variable, code, target) in published() {
        let share = match variable {
            None => population.share_of(|_| true),
            Some(v) => {
                let k = category(v, &code);
                population.share_of(|c| c.category(v) == k)
            }
        };
        let gap = (100.0 * share - target).abs();
        assert!(
            gap < 0.3,
            "{variable:?} {code}: model {:.3}% vs published {target}%",
            100.0 * share
        );
        // In fact much closer: the assumed composition agrees with the
        // published figures to a few hundredths of a point.
        assert!(gap < 0.05, "{variable:?} {code}: gap {gap}");
    }
    assert!(calibration.max_error_points < 0.05, "{calibration:?}");
}

#[test]
fn the_population_has_the_census_size_and_a_plausible_composition() {
    let model = model();
    let population = model.population();
    let census = Census::embedded().unwrap();
    let adults = population.adults();
    let total: f64 = census.population.iter().sum();
    // About 70% of 1.41 billion people are 18-69.
    assert!((adults / total - 0.70).abs() < 0.02, "{adults} of {total}");
    for (p, n) in census.population.iter().enumerate() {
        let share = population.count_of(|c| usize::from(c.province) == p) / n;
        assert!((0.68..0.73).contains(&share), "province {p}: {share}");
    }
    let urban = population.count_of(|c| c.urban_rural == 1) / adults;
    assert!((urban - 0.6156).abs() < 0.001, "{urban}");
    // The young are better educated; students are young.
    let degree = |age: u8| {
        population.count_of(|c| c.age_group == age && c.education == 5)
            / population.count_of(|c| c.age_group == age)
    };
    assert!(degree(1) > 3.0 * degree(5));
    assert_eq!(
        population.count_of(|c| c.occupation == 7 && c.age_group >= 3),
        0.0
    );
    // Every province has an urban and a rural stratum.
    assert_eq!(population.strata.len(), 62);
}

/// The share of respondents of ability `theta` who qualify when their
/// generated answers are scored by the real scoring core.
fn scored_share(model: &NationalModel, theta: f64, n: usize, seed: u64) -> f64 {
    let thetas = vec![theta; n];
    let (_, scores) = model.answer(&thetas, seed).expect("answers");
    scores.summary().qualified as f64 / n as f64
}

#[test]
fn the_exact_probability_of_qualifying_agrees_with_scoring_generated_answers() {
    let model = model();
    let n = 20_000;
    for (k, theta) in [0.0, 0.3, 0.5, 0.7, 1.0].into_iter().enumerate() {
        let exact = model.exact_rule().p_qualified(theta);
        let observed = scored_share(model, theta, n, 100 + k as u64);
        let se = (exact * (1.0 - exact) / n as f64).sqrt();
        assert!(
            (observed - exact).abs() <= 4.0 * se + 1e-3,
            "theta {theta}: exact {exact}, scored {observed}"
        );
    }
}

#[test]
fn the_exact_probability_follows_the_legacy_all_dimensions_rule_too() {
    let legacy = instrument("csl-legacy");
    let model = NationalModel::embedded_2023(&legacy).unwrap();
    let n = 20_000;
    for (k, theta) in [0.0, 0.8].into_iter().enumerate() {
        let exact = model.exact_rule().p_qualified(theta);
        let observed = scored_share(&model, theta, n, 200 + k as u64);
        let se = (exact * (1.0 - exact) / n as f64).sqrt();
        assert!(
            (observed - exact).abs() <= 4.0 * se + 1e-3,
            "theta {theta}: exact {exact}, scored {observed}"
        );
    }
    // Calibrated to the same published structure under its own rule.
    assert!(model.population().calibration.max_error_points < 0.05);
}

#[test]
fn people_drawn_from_the_population_and_scored_reproduce_the_structure() {
    // A population-level check, not through the sample design: adults drawn
    // at random from the whole population, their answers generated and
    // scored by the real scoring core, compared group by group with the
    // model's truth (binomial standard errors) and the published figures.
    let model = model();
    let population = model.population();
    let n = 200_000;
    let (cells, thetas) = model.draw_people(n, 7);
    let (_, scores) = model.answer(&thetas, 7).unwrap();
    for (variable, code, target) in published() {
        let (mut count, mut qualified) = (0usize, 0usize);
        for (r, &cell) in cells.iter().enumerate() {
            let c = &population.cells[cell as usize];
            if variable.is_none_or(|v| c.category(v) == category(v, &code)) {
                count += 1;
                qualified += usize::from(scores.get(r).qualified == Some(true));
            }
        }
        let observed = qualified as f64 / count as f64;
        let truth = match variable {
            None => population.share_of(|_| true),
            Some(v) => population.share_of(|c| c.category(v) == category(v, &code)),
        };
        let se = (truth * (1.0 - truth) / count as f64).sqrt();
        assert!(
            (observed - truth).abs() < 4.0 * se,
            "{variable:?} {code}: scored {observed} of {count}, truth {truth}"
        );
        assert!(
            (100.0 * observed - target).abs() < 0.3 + 400.0 * se,
            "{variable:?} {code}: scored {observed}, published {target}"
        );
    }
    // The group shares of the people drawn follow the population's.
    for variable in CALIBRATED {
        for k in 0..variable.len() {
            let share = population.count_of(|c| c.category(variable) == k) / population.adults();
            let drawn = cells
                .iter()
                .filter(|&&c| population.cells[c as usize].category(variable) == k)
                .count() as f64
                / n as f64;
            let se = (share * (1.0 - share) / n as f64).sqrt();
            assert!((drawn - share).abs() < 4.0 * se, "{variable:?} {k}");
        }
    }
}

#[test]
fn the_sample_has_the_design_it_claims() {
    let model = model();
    let population = model.population();
    let n = 30_000;
    let round = model.simulate(n, 11).unwrap();
    let sample = &round.sample;
    assert_eq!(sample.respondents.len(), n);
    assert_eq!(round.scores.len(), n);
    // Every province is sampled, with urban and rural strata; small
    // provinces are oversampled (allocation by the square root of size).
    let per_province = |p: usize| {
        sample
            .respondents
            .iter()
            .filter(|r| population.strata[usize::from(r.stratum)].province == p)
            .count()
    };
    let tibet = PROVINCES.iter().position(|p| p.code == 54).unwrap();
    let guangdong = PROVINCES.iter().position(|p| p.code == 44).unwrap();
    assert!(per_province(tibet) > 200);
    let ratio = per_province(guangdong) as f64 / per_province(tibet) as f64;
    assert!((5.0..6.5).contains(&ratio), "{ratio}");
    assert_eq!(sample.strata.len(), 62);
    // PSUs are nested in strata, at least two per stratum, about 25
    // completes each.
    let mut psu_stratum = BTreeMap::new();
    let mut psus_of = BTreeMap::<u16, BTreeSet<u32>>::new();
    for r in &sample.respondents {
        assert_eq!(*psu_stratum.entry(r.psu).or_insert(r.stratum), r.stratum);
        psus_of.entry(r.stratum).or_default().insert(r.psu);
    }
    for (stratum, psus) in &psus_of {
        assert!(psus.len() >= 2, "stratum {stratum}");
    }
    let psus = psu_stratum.len();
    assert!((n / 26..=n / 24 + 62).contains(&psus), "{psus} PSUs");
    // Respondents' demographics match their stratum.
    for r in &sample.respondents {
        let cell = &population.cells[r.cell as usize];
        let stratum = &population.strata[usize::from(r.stratum)];
        assert_eq!(usize::from(cell.province), stratum.province);
        assert_eq!(cell.urban_rural, stratum.urban_rural);
        assert!(r.base_weight > 0.0 && r.weight >= r.base_weight * 0.999);
    }
    // The weights estimate the population size; nonresponse shows in the
    // contacts.
    let weight: f64 = sample.respondents.iter().map(|r| r.weight).sum();
    assert!(
        (weight / population.adults() - 1.0).abs() < 0.02,
        "{weight}"
    );
    let contacted: u64 = sample.strata.iter().map(|s| s.contacted).sum();
    let rate = n as f64 / contacted as f64;
    assert!((0.5..0.75).contains(&rate), "response rate {rate}");
    // Every mode is used; rural and older respondents use paper more.
    let paper = |keep: &dyn Fn(&literacy_sim::population::PopCell) -> bool| {
        let group: Vec<_> = sample
            .respondents
            .iter()
            .filter(|r| keep(&population.cells[r.cell as usize]))
            .collect();
        group.iter().filter(|r| r.mode == Mode::Paper).count() as f64 / group.len() as f64
    };
    assert!(paper(&|c| c.urban_rural == 2) > paper(&|c| c.urban_rural == 1) + 0.1);
    assert!(paper(&|c| c.age_group == 5) > paper(&|c| c.age_group == 1) + 0.2);
    for mode in Mode::ALL {
        assert!(sample.respondents.iter().any(|r| r.mode == mode));
    }
}

/// Every output of a round, as bytes, in a fixed order.
fn all_outputs(model: &NationalModel, n: usize, seed: u64) -> Vec<(String, Vec<u8>)> {
    let round = model.simulate(n, seed).expect("a round");
    let mut out = Vec::new();
    let mut push = |name: &str, f: &dyn Fn(&mut Vec<u8>) -> std::io::Result<()>| {
        let mut bytes = Vec::new();
        f(&mut bytes).expect("written");
        out.push((name.to_owned(), bytes));
    };
    push("answers", &|w| model.write_answers(&round, w));
    push("microdata", &|w| model.write_microdata(&round, w));
    push("truth", &|w| model.write_truth(w));
    push("items", &|w| model.write_items(w));
    push("strata", &|w| model.write_strata(&round, w));
    for v in MARGIN_VARIABLES {
        push(v.name(), &|w| model.write_margin(v, w));
    }
    let batches = model.paper_batches(&round);
    let manifest = batches.manifest();
    for (name, text) in batches.files {
        out.push((name, text.into_bytes()));
    }
    out.push(("manifest".to_owned(), manifest.into_bytes()));
    out
}

#[test]
fn a_round_is_the_same_bytes_for_a_seed_whatever_the_threads() {
    let model = model();
    let in_pool = |threads: usize, seed: u64| {
        rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap()
            .install(|| all_outputs(model, 12_000, seed))
    };
    let one = in_pool(1, 5);
    let three = in_pool(3, 5);
    assert_eq!(one.len(), three.len());
    for ((name, a), (_, b)) in one.iter().zip(&three) {
        assert!(a == b, "{name} differs between 1 and 3 threads");
    }
    // A model built again (in another pool) gives the same population.
    let rebuilt = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .unwrap()
        .install(|| NationalModel::embedded_2023(&instrument("csl-2026")).unwrap());
    assert_eq!(rebuilt.population().cells, model.population().cells);
    // Another seed: another sample, the same population truth.
    let other = in_pool(2, 6);
    let get = |outputs: &[(String, Vec<u8>)], name: &str| {
        outputs
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, b)| b.clone())
            .unwrap()
    };
    for name in ["answers", "microdata", "strata", "manifest"] {
        assert_ne!(get(&one, name), get(&other, name), "{name}");
    }
    for name in ["truth", "items", "province", "sex"] {
        assert_eq!(get(&one, name), get(&other, name), "{name}");
    }
}

#[test]
fn another_structure_can_be_loaded() {
    // A structure with other published figures calibrates to them.
    let mut v: serde_json::Value =
        serde_json::from_str(literacy_sim::structure::STRUCTURE_2023).unwrap();
    let scale = 10.56 / 14.14;
    let t = &mut v["qualified_percent"];
    t["national"] = 10.56.into();
    for group in ["sex", "urban_rural", "region", "age_group", "education"] {
        let map = t[group].as_object_mut().unwrap();
        for value in map.values_mut() {
            *value = (value.as_f64().unwrap() * scale).into();
        }
    }
    let structure = Structure::from_json("s.json", &v.to_string()).unwrap();
    let model = NationalModel::new(
        &instrument("csl-2026"),
        &structure,
        &Census::embedded().unwrap(),
    )
    .unwrap();
    let share = model.population().share_of(|_| true);
    assert!((100.0 * share - 10.56).abs() < 0.05, "{share}");
    assert!(model.population().calibration.max_error_points < 0.3);
}

#[test]
fn items_answered_are_every_item_of_the_instrument_with_dont_know() {
    let model = model();
    let round = model.simulate(5_000, 3).unwrap();
    let items: &[Item] = &model.instrument().items;
    for (i, item) in items.iter().enumerate() {
        let column = || round.cells.iter().skip(i).step_by(items.len()).copied();
        assert!(column().any(|c| c != 0), "{} is answered", item.id);
        if (1..item.cell_count()).any(|c| item.is_dont_know(c as u16)) {
            assert!(
                column().any(|c| item.is_dont_know(c)),
                "{} has don't know answers",
                item.id
            );
        }
    }
}

#[test]
fn the_tabulated_link_agrees_with_direct_integration() {
    // Q(mu) = E q(mu + s Z), integrated directly with the exact q at every
    // node (trapezoid, step 0.05 over +-7: spectrally accurate here).
    let model = model();
    let link = model.link();
    let sd = link.sd();
    for mu in [-0.9, -0.3, 0.4] {
        let (mut sum, mut norm) = (0.0, 0.0);
        for k in 0..=280 {
            let z = -7.0 + 0.05 * f64::from(k);
            let w = (-0.5 * z * z).exp();
            sum += w * model.exact_rule().p_qualified(mu + sd * z);
            norm += w;
        }
        let direct = sum / norm;
        assert!(
            (link.share(mu) - direct).abs() < 2e-5,
            "mu {mu}: table {}, direct {direct}",
            link.share(mu)
        );
    }
}
