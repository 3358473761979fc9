//! Simulation check of the intervals: over repeated stratified cluster
//! samples from a known finite population, 95% intervals for the share and
//! for a domain's share must cover the true value between 93% and 97% of
//! the time (2,000 samples: the Monte Carlo standard error of a 95%
//! coverage is 0.5 points). Deterministic for its seed.

use literacy_core::design::{Design, Fpc, LonelyPsu};
use literacy_core::estimate::{self, Calibration, Domains, IntervalMethod, Options, Variance};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

const STRATA: usize = 4;
const PSUS_PER_STRATUM: usize = 60;
const UNITS_PER_PSU: usize = 40;
const SAMPLED_PSUS: usize = 10;

struct Unit {
    qualified: f64,
    urban: bool,
}

/// A population whose clusters differ (intra-cluster correlation), so the
/// design effect is well above 1.
fn population(rng: &mut ChaCha8Rng) -> Vec<Vec<Vec<Unit>>> {
    (0..STRATA)
        .map(|h| {
            (0..PSUS_PER_STRATUM)
                .map(|_| {
                    let urban_share = rng.random_range(0.2..0.8);
                    let base = 0.08 + 0.04 * h as f64 + rng.random_range(-0.06..0.06);
                    (0..UNITS_PER_PSU)
                        .map(|_| {
                            let urban = rng.random::<f64>() < urban_share;
                            let p = base + if urban { 0.08 } else { 0.0 };
                            Unit {
                                qualified: f64::from(u8::from(rng.random::<f64>() < p)),
                                urban,
                            }
                        })
                        .collect()
                })
                .collect()
        })
        .collect()
}

#[test]
fn ninety_five_percent_intervals_cover_about_95_percent() {
    let mut rng = ChaCha8Rng::seed_from_u64(2026);
    let pop = population(&mut rng);
    let all: Vec<&Unit> = pop.iter().flatten().flatten().collect();
    let truth = all.iter().map(|u| u.qualified).sum::<f64>() / all.len() as f64;
    let urban: Vec<&&Unit> = all.iter().filter(|u| u.urban).collect();
    let truth_urban = urban.iter().map(|u| u.qualified).sum::<f64>() / urban.len() as f64;

    let reps = 2000;
    let (mut covered, mut covered_urban) = (0, 0);
    for _ in 0..reps {
        let (mut strata, mut psus, mut weights, mut y, mut fpc, mut area) = (
            Vec::new(),
            Vec::new(),
            Vec::new(),
            Vec::new(),
            Vec::new(),
            Vec::new(),
        );
        for (h, stratum) in pop.iter().enumerate() {
            // Simple random sample of PSUs without replacement.
            let mut ids: Vec<usize> = (0..PSUS_PER_STRATUM).collect();
            for k in 0..SAMPLED_PSUS {
                let j = rng.random_range(k..PSUS_PER_STRATUM);
                ids.swap(k, j);
            }
            for &j in &ids[..SAMPLED_PSUS] {
                for unit in &stratum[j] {
                    strata.push(h.to_string());
                    psus.push(format!("{h}-{j}"));
                    weights.push(PSUS_PER_STRATUM as f64 / SAMPLED_PSUS as f64);
                    fpc.push(PSUS_PER_STRATUM as f64);
                    y.push(unit.qualified);
                    area.push(if unit.urban { "urban" } else { "rural" }.to_owned());
                }
            }
        }
        let design = Design::new(
            y.len(),
            Some(&strata),
            Some(&psus),
            Fpc::PopulationPsus(&fpc),
            LonelyPsu::Fail,
        )
        .expect("design");
        let options = Options {
            interval: IntervalMethod::Logit,
            ..Options::default()
        };
        let whole = estimate::estimate(
            &design,
            &weights,
            &y,
            &Domains::whole(y.len()),
            Variance::Taylor(Calibration::None),
            &options,
        )
        .expect("estimate");
        covered += usize::from(whole[0].ci_low <= truth && truth <= whole[0].ci_high);
        let by_area = Domains::crossing(&["area".to_owned()], &[&area[..]]);
        let domains = estimate::estimate(
            &design,
            &weights,
            &y,
            &by_area,
            Variance::Taylor(Calibration::None),
            &options,
        )
        .expect("estimate");
        let e = &domains[by_area.find(&["urban"]).expect("urban")];
        covered_urban += usize::from(e.ci_low <= truth_urban && truth_urban <= e.ci_high);
    }
    let rate = covered as f64 / reps as f64;
    let rate_urban = covered_urban as f64 / reps as f64;
    eprintln!("coverage: population {rate}, urban domain {rate_urban}");
    assert!((0.93..=0.97).contains(&rate), "population coverage {rate}");
    assert!(
        (0.93..=0.97).contains(&rate_urban),
        "urban domain coverage {rate_urban}"
    );
}
