//! A round's estimates from its stored responses: the share and its
//! Taylor standard error equal the closed form of a stratified
//! with-replacement sample (strata = provinces, each respondent a PSU);
//! raking hits the population margins; bad queries are refused by name.

mod common;

use literacy_core::estimate::IntervalMethod;
use literacy_core::round::{
    self, PopulationMargins, Query, Respondent, RoundEstimateError, Variable, VarianceChoice,
};
use literacy_core::{Cell, Instrument, ResponseMatrix};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

const PROVINCES: [u16; 3] = [11, 44, 65];

fn matrix(instrument: &Instrument, cells: &[Cell]) -> ResponseMatrix {
    ResponseMatrix::from_rows(instrument, cells).expect("valid cells")
}

fn data(n: usize, seed: u64) -> (Instrument, Vec<Cell>, Vec<Respondent>) {
    let instrument = common::instrument(&common::base());
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut cells = Vec::with_capacity(n * instrument.items.len());
    let mut people = Vec::with_capacity(n);
    // The best-scoring cell of every item (a correct answer).
    let best: Vec<Cell> = instrument
        .items
        .iter()
        .map(|item| {
            let t = item.score_table();
            (0..t.len())
                .max_by(|&a, &b| t[a].total_cmp(&t[b]))
                .expect("an item has cells") as Cell
        })
        .collect();
    for i in 0..n {
        let able = rng.random_bool(0.4);
        for (j, item) in instrument.items.iter().enumerate() {
            if able && rng.random_bool(0.9) {
                cells.push(best[j]);
                continue;
            }
            // Any valid cell, sometimes missing.
            let top = item.cell_count() as u16;
            let c = if rng.random_bool(0.35) {
                0
            } else {
                rng.random_range(1..top)
            };
            let c = if item.decode(c).is_empty() && c != 0 {
                1
            } else {
                c
            };
            cells.push(c);
        }
        people.push(Respondent {
            province: PROVINCES[i % 3],
            urban_rural: 1 + (i % 2) as u16,
            sex: 1 + rng.random_range(0..2u16),
            birth_year: (instrument.fieldwork_year - 18 - rng.random_range(0..50)) as u16,
            education: 1 + rng.random_range(0..5u16),
            occupation: 1 + rng.random_range(0..9u16),
            mode: "online".into(),
            stratum: None,
            psu: None,
            weight: None,
        });
    }
    (instrument, cells, people)
}

fn query(by: Vec<Variable>) -> Query {
    Query {
        by,
        variance: VarianceChoice::Taylor,
        interval: IntervalMethod::Wald,
        level: 0.95,
    }
}

/// The qualified flags the scoring gives (scoring is tested on its own).
fn flags(instrument: &Instrument, cells: &[Cell]) -> Vec<Option<bool>> {
    let m = ResponseMatrix::from_rows(instrument, cells).expect("valid cells");
    let s = literacy_core::score(instrument, &m, None).expect("scored");
    (0..m.n_rows()).map(|r| s.get(r).qualified).collect()
}

#[test]
fn the_share_and_its_se_are_the_stratified_closed_form() {
    let (instrument, cells, people) = data(900, 1);
    let got = round::estimate_round(
        &instrument,
        &matrix(&instrument, &cells),
        &people,
        &PopulationMargins::new(),
        &query(vec![]),
    )
    .unwrap();
    let q = flags(&instrument, &cells);
    let kept: Vec<(u16, f64)> = people
        .iter()
        .zip(&q)
        .filter_map(|(p, f)| f.map(|f| (p.province, f64::from(u8::from(f)))))
        .collect();
    assert!(
        kept.len() < 900 && kept.len() > 500,
        "some are not classified"
    );
    let n = kept.len() as f64;
    let p = kept.iter().map(|k| k.1).sum::<f64>() / n;
    // Linearized z = (y - p) / n; within-stratum with-replacement variance.
    let mut var = 0.0;
    for h in PROVINCES {
        let z: Vec<f64> = kept
            .iter()
            .filter(|k| k.0 == h)
            .map(|k| (k.1 - p) / n)
            .collect();
        let nh = z.len() as f64;
        let mean = z.iter().sum::<f64>() / nh;
        var += nh / (nh - 1.0) * z.iter().map(|v| (v - mean).powi(2)).sum::<f64>();
    }
    let e = &got.estimates[0];
    assert_eq!(got.classified, kept.len());
    assert!((e.estimate - p).abs() < 1e-14, "{} vs {p}", e.estimate);
    assert!(
        (e.se - var.sqrt()).abs() < 1e-14,
        "{} vs {}",
        e.se,
        var.sqrt()
    );
    // df = PSUs - strata.
    assert_eq!(e.df, n - 3.0);
}

#[test]
fn design_weights_given_for_some_respondents_only_are_warned_of() {
    let (instrument, cells, mut people) = data(300, 4);
    let m = matrix(&instrument, &cells);
    let estimate = |people: &[Respondent]| {
        round::estimate_round(
            &instrument,
            &m,
            people,
            &PopulationMargins::new(),
            &query(vec![]),
        )
        .unwrap()
    };
    // None has a design weight, then all have one: nothing to say.
    assert!(estimate(&people).warnings.is_empty());
    for p in &mut people {
        p.weight = Some(2500.0);
    }
    assert!(estimate(&people).warnings.is_empty());
    // The first 100 without (online), the rest with (a paper batch).
    for p in &mut people[..100] {
        p.weight = None;
    }
    let q = flags(&instrument, &cells);
    let classified = q.iter().filter(|f| f.is_some()).count();
    let without = q[..100].iter().filter(|f| f.is_some()).count();
    let got = estimate(&people);
    assert_eq!(got.warnings.len(), 1);
    let w = &got.warnings[0];
    assert_eq!(w.code, "partial_design_weights");
    assert_eq!(
        w.message,
        format!(
            "{without} of {classified} classified respondents have no design weight and were weighted 1 before raking, while the other {} carry their design weights: the two groups' weights are not on one scale",
            classified - without
        )
    );
    assert!(
        w.message_zh.starts_with(&format!(
            "在 {classified} 名可判定的受访者中，{without} 名没有设计权数"
        )),
        "{}",
        w.message_zh
    );
}

#[test]
fn domains_by_province_are_each_provinces_own_share() {
    let (instrument, cells, people) = data(600, 2);
    let got = round::estimate_round(
        &instrument,
        &matrix(&instrument, &cells),
        &people,
        &PopulationMargins::new(),
        &query(vec![Variable::Province, Variable::Sex]),
    )
    .unwrap();
    let q = flags(&instrument, &cells);
    for e in &got.estimates {
        let province: u16 = e.domain[0].1.parse().unwrap();
        let sex: u16 = e.domain[1].1.parse().unwrap();
        let ys: Vec<f64> = people
            .iter()
            .zip(&q)
            .filter(|(p, _)| p.province == province && p.sex == sex)
            .filter_map(|(_, f)| f.map(|f| f64::from(u8::from(f))))
            .collect();
        assert_eq!(e.n, ys.len());
        let p = ys.iter().sum::<f64>() / ys.len() as f64;
        assert!((e.estimate - p).abs() < 1e-14);
    }
    assert_eq!(got.estimates.len(), 6);
}

#[test]
fn raking_reproduces_every_population_margin() {
    let (instrument, cells, people) = data(900, 3);
    let mut margins = PopulationMargins::new();
    margins.insert(
        Variable::Province,
        [
            ("11", 21_893_095.0),
            ("44", 126_012_510.0),
            ("65", 25_852_345.0),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect(),
    );
    margins.insert(
        Variable::Sex,
        [("1", 88_000_000.0), ("2", 85_757_950.0)]
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v))
            .collect(),
    );
    for variance in [
        VarianceChoice::Taylor,
        VarianceChoice::Bootstrap,
        VarianceChoice::Jkn,
    ] {
        let got = round::estimate_round(
            &instrument,
            &matrix(&instrument, &cells),
            &people,
            &margins,
            &Query {
                variance,
                ..query(vec![Variable::Province])
            },
        )
        .unwrap();
        let population = [21_893_095.0, 126_012_510.0, 25_852_345.0];
        for (e, want) in got.estimates.iter().zip(population) {
            assert!((e.weighted_total - want).abs() < 1e-6 * want, "{e:?}");
            assert!(e.se > 0.0 && e.se < 0.1, "{variance:?} {e:?}");
        }
        assert_eq!(got.weighting.len(), 2);
    }
}

#[test]
fn bad_queries_and_data_are_refused_by_name() {
    assert!(matches!(
        Variable::parse("colour"),
        Err(RoundEstimateError::UnknownVariable(_))
    ));
    assert!(VarianceChoice::parse("brr").is_err());
    let (instrument, cells, mut people) = data(300, 4);
    let mut margins = PopulationMargins::new();
    margins.insert(
        Variable::Province,
        [("11".to_owned(), 1.0)].into_iter().collect(),
    );
    let err = round::estimate_round(
        &instrument,
        &matrix(&instrument, &cells),
        &people,
        &margins,
        &query(vec![]),
    )
    .unwrap_err();
    assert!(
        err.to_string().contains("44"),
        "a row of an unknown category: {err}"
    );
    people[7].weight = Some(-1.0);
    let err = round::estimate_round(
        &instrument,
        &matrix(&instrument, &cells),
        &people,
        &PopulationMargins::new(),
        &query(vec![]),
    )
    .unwrap_err();
    assert!(matches!(err, RoundEstimateError::Weight { weight, .. } if weight == -1.0));
    people[7].weight = None;
    let err = round::estimate_round(
        &instrument,
        &matrix(&instrument, &cells[..cells.len() - instrument.items.len()]),
        &people,
        &PopulationMargins::new(),
        &query(vec![]),
    )
    .unwrap_err();
    assert!(matches!(err, RoundEstimateError::Answers(_)));
}
