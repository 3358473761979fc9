//! Progress against the national targets: the data files, the one-sided
//! test against a target, the change between rounds and the projected year.
//!
//! References: p-values from R 4 (`pt`, `pnorm`; the command is next to
//! each literal), projections from R's `lm(qlogis(share) ~ year)`, every
//! other number by hand.
//!
//! Tolerances: 1e-12 relative for closed forms (gaps, statistics,
//! changes, intervals, the OLS fit and the solved year); 1e-12 relative for
//! p-values (an incomplete beta by continued fraction; measured against R
//! on a grid of t in [-30, 37] and df in [0.5, 1e9]: at most 2.1e-13).

#![expect(
    clippy::excessive_precision,
    reason = "reference values are R's sprintf(\"%.17g\") output, kept digit for digit"
)]

use literacy_core::estimate::Contrast;
use literacy_core::progress::{
    self, NationalSeries, PROJECTION_METHOD, Projection, ProjectionError, Target, Targets,
    TargetsError, assess, change, gap_change, normal_upper, project, project_with, t_upper,
};
use literacy_test_support::tolerance::{Tol, assert_close, relative_error};

const TARGETS: &str = include_str!("../../../surveys/targets.json");
const SERIES: &str = include_str!("../../../surveys/national-series.json");

fn targets() -> Targets {
    match Targets::from_json("surveys/targets.json", TARGETS) {
        Ok(t) => t,
        Err(e) => panic!("{e}"),
    }
}

fn series() -> NationalSeries {
    match NationalSeries::from_json("surveys/national-series.json", SERIES) {
        Ok(s) => s,
        Err(e) => panic!("{e}"),
    }
}

fn target(share: f64) -> Target {
    Target {
        plan: "test".to_owned(),
        year: 2025,
        share,
        above: true,
        source: "test".to_owned(),
    }
}

// ------------------------------------------------------------- tails --

#[test]
fn t_upper_tail_equals_r() {
    // Rscript -e 'for (v in list(c(2.5,1),c(-2.5,1),c(0.3,2),c(1.96,5),c(-1.2,7.5),c(4,30),
    //   c(12,30),c(0.01,120),c(1.7,1000),c(-3,1000),c(6,1e4),c(2,1e5),c(1.7,4e5),c(9,4e5),
    //   c(2,1e9),c(37,1e9))) cat(sprintf("(%s, %s, %.17g),\n", v[1], v[2],
    //   pt(v[1], v[2], lower.tail=FALSE)))'
    let cases = [
        (2.5, 1.0, 0.12111894159084335),
        (-2.5, 1.0, 0.87888105840915665),
        (0.3, 2.0, 0.39624283042008879),
        (1.96, 5.0, 0.053643976252647052),
        (-1.2, 7.5, 0.86666553860338902),
        (4.0, 30.0, 0.00019092281804187819),
        (12.0, 30.0, 2.7900927075996303e-13),
        (0.01, 120.0, 0.49601894664982316),
        (1.7, 1000.0, 0.044720943479620058),
        (-3.0, 1000.0, 0.99861664547788087),
        (6.0, 1e4, 1.0208092364613102e-09),
        (2.0, 1e5, 0.022751481728753232),
        (1.7, 4e5, 0.044565851475099533),
        (9.0, 4e5, 1.1333392868987972e-19),
        (2.0, 1e9, 0.022750132083156665),
        (37.0, 1e9, 5.728258428776944e-300),
    ];
    // Far tails (t^2 / df > 1e100):
    // Rscript -e 'for (v in list(c(1e60,1),c(1e200,0.5),c(1e51,1e-3))) cat(sprintf("(%s, %s,
    //   %.17g),\n", v[1], v[2], pt(v[1], v[2], lower.tail=FALSE)))'
    let far = [
        (1e60, 1.0, 3.1830988618379707e-61),
        (1e200, 0.5, 3.2070097541422692e-101),
        (1e51, 1e-3, 0.44276078912089728),
        (-1e51, 1e-3, 1.0 - 0.44276078912089728),
    ];
    for (t, df, want) in cases.into_iter().chain(far) {
        let e = relative_error(t_upper(t, df), want);
        assert!(e <= 1e-12, "t = {t}, df = {df}: relative error {e:e}");
    }
    assert_eq!(t_upper(0.0, 17.0), 0.5);
    assert_eq!(t_upper(f64::INFINITY, 17.0), 0.0);
    assert_eq!(t_upper(f64::NEG_INFINITY, 17.0), 1.0);
    assert!(t_upper(1.0, 0.0).is_nan());
    assert!(t_upper(1.0, -3.0).is_nan());
    assert!(t_upper(f64::NAN, 3.0).is_nan());
    assert_eq!(t_upper(1.3, f64::INFINITY), normal_upper(1.3));
}

#[test]
fn normal_upper_tail_equals_r() {
    // Rscript -e 'for (z in c(-3, -0.5, 0, 0.7, 1.9999, 2, 2.0001, 5, 10, 30))
    //   cat(sprintf("(%s, %.17g),\n", z, pnorm(z, lower.tail=FALSE)))'
    let cases = [
        (-3.0, 0.9986501019683699),
        (-0.5, 0.69146246127401301),
        (0.0, 0.5),
        (0.7, 0.24196365222307298),
        (1.9999, 0.022755531584767175),
        (2.0, 0.022750131948179212),
        (2.0001, 0.022744733391410556),
        (5.0, 2.8665157187919391e-07),
        (10.0, 7.6198530241605269e-24),
        (30.0, 4.9067139271481872e-198),
    ];
    for (z, want) in cases {
        let e = relative_error(normal_upper(z), want);
        assert!(e <= 1e-12, "z = {z}: relative error {e:e}");
    }
}

// ------------------------------------------------------------ assess --

#[test]
fn assess_above_a_target_equals_r() {
    // A 2026 round: 17.12% (se 0.41 points, 300 df) against 15% by 2025.
    let a = assess(0.1712, 0.0041, 300.0, &target(0.15), 0.95);
    assert_close(a.gap, 0.1712 - 0.15, Tol::rel(1e-12), "a.gap");
    assert_close(
        a.statistic,
        (0.1712 - 0.15) / 0.0041,
        Tol::rel(1e-12),
        "a.statistic",
    );
    // Rscript -e 'sprintf("%.17g", pt((0.1712 - 0.15) / 0.0041, 300, lower.tail=FALSE))'
    assert_close(
        a.p_value,
        2.1341100845446704e-07,
        Tol::rel(1e-12),
        "a.p_value",
    );
    assert!(a.reached && a.met_at_level);
    assert_eq!(a.note, None);
    assert_eq!(a.test, progress::ASSESS_TEST);

    // Against 25% by 2035: far below.
    let a = assess(0.1712, 0.0041, 300.0, &target(0.25), 0.95);
    // Rscript -e 'sprintf("%.17g", pt((0.1712 - 0.25) / 0.0041, 300, lower.tail=FALSE))'
    assert_close(a.p_value, 1.0, Tol::rel(1e-12), "a.p_value");
    assert!(!a.reached && !a.met_at_level);

    // Against 20%.
    let a = assess(0.1712, 0.0041, 300.0, &target(0.20), 0.95);
    // Rscript -e 'sprintf("%.17g", pt((0.1712 - 0.20) / 0.0041, 300, lower.tail=FALSE))'
    assert_close(a.p_value, 0.99999999999276867, Tol::rel(1e-12), "a.p_value");
}

#[test]
fn assess_point_reached_but_not_significant() {
    let a = assess(0.152, 0.0035, 62.0, &target(0.15), 0.95);
    // Rscript -e 'sprintf("%.17g", pt((0.152 - 0.15) / 0.0035, 62, lower.tail=FALSE))'
    assert_close(a.p_value, 0.28488748024647859, Tol::rel(1e-12), "a.p_value");
    assert!(a.reached);
    assert!(!a.met_at_level);
    // At level 0.7 the verdict turns: p = 0.285 < 0.3.
    assert!(assess(0.152, 0.0035, 62.0, &target(0.15), 0.7).met_at_level);
}

#[test]
fn assess_with_infinite_df_is_a_z_test() {
    let a = assess(0.158, 0.004, f64::INFINITY, &target(0.15), 0.95);
    // Rscript -e 'sprintf("%.17g", pnorm((0.158 - 0.15) / 0.004, lower.tail=FALSE))'
    assert_close(
        a.p_value,
        0.022750131948179118,
        Tol::rel(1e-12),
        "a.p_value",
    );
    assert!(a.met_at_level);
}

#[test]
fn assess_with_one_df() {
    let a = assess(0.16, 0.02, 1.0, &target(0.15), 0.95);
    // Rscript -e 'sprintf("%.17g", pt((0.16 - 0.15) / 0.02, 1, lower.tail=FALSE))'
    assert_close(a.p_value, 0.35241638234956663, Tol::rel(1e-12), "a.p_value");
}

#[test]
fn assess_above_versus_at_least() {
    let mut t = target(0.15);
    let at = assess(0.15, 0.004, 100.0, &t, 0.95);
    assert!(!at.reached, "exactly 15% is not above 15%");
    assert_eq!(at.p_value, 0.5);
    t.above = false;
    let at = assess(0.15, 0.004, 100.0, &t, 0.95);
    assert!(at.reached, "exactly 15% is at least 15%");
    assert_eq!(at.p_value, 0.5);
}

#[test]
fn assess_with_zero_se_takes_the_estimate_as_exact() {
    let above = assess(0.16, 0.0, 50.0, &target(0.15), 0.95);
    assert_eq!(above.statistic, f64::INFINITY);
    assert_eq!(above.p_value, 0.0);
    assert!(above.met_at_level);
    assert!(above.note.is_some_and(|n| n.contains("zero")));

    let below = assess(0.14, 0.0, 50.0, &target(0.15), 0.95);
    assert_eq!(below.statistic, f64::NEG_INFINITY);
    assert_eq!(below.p_value, 1.0);
    assert!(!below.met_at_level);

    let equal = assess(0.15, 0.0, 50.0, &target(0.15), 0.95);
    assert!(equal.statistic.is_nan());
    assert_eq!(equal.p_value, 1.0);
    assert!(!equal.met_at_level);
}

#[test]
fn assess_without_degrees_of_freedom_gives_no_test() {
    for df in [0.0, -2.0, f64::NAN] {
        let a = assess(0.2, 0.01, df, &target(0.15), 0.95);
        assert_close(
            a.statistic,
            (0.2 - 0.15) / 0.01,
            Tol::rel(1e-12),
            "a.statistic",
        );
        assert!(a.p_value.is_nan());
        assert!(!a.met_at_level);
        assert!(a.reached);
        assert!(a.note.is_some_and(|n| n.contains("degrees of freedom")));
    }
    // df = 0 wins over se = 0 (a single-PSU domain often has both).
    let a = assess(0.2, 0.0, 0.0, &target(0.15), 0.95);
    assert!(a.p_value.is_nan());
}

#[test]
fn assess_invalid_inputs_give_no_test() {
    for (est, se, level) in [
        (f64::NAN, 0.01, 0.95),
        (0.2, -0.01, 0.95),
        (0.2, f64::NAN, 0.95),
        (0.2, 0.01, 1.0),
        (0.2, 0.01, 0.0),
    ] {
        let a = assess(est, se, 30.0, &target(0.15), level);
        assert!(a.p_value.is_nan() && a.statistic.is_nan() && !a.met_at_level);
        assert!(a.note.is_some_and(|n| n.contains("not valid")));
    }
}

#[test]
fn assessment_serializes_non_finite_as_null() {
    let a = assess(0.2, 0.01, 0.0, &target(0.15), 0.95);
    let json = serde_json::to_value(&a).expect("serializes");
    assert!(json["p_value"].is_null());
    assert_eq!(json["met_at_level"], false);
    assert_eq!(json["target"]["share"], 0.15);
    assert_eq!(json["target"]["plan"], "test");
    assert!(
        json["test"]
            .as_str()
            .is_some_and(|t| t.contains("one-sided"))
    );
}

#[test]
fn a_2026_round_against_both_plans() {
    let plans = targets().assess(2026, 0.1712, 0.0041, 300.0, 0.95);
    assert_eq!(plans.len(), 2);
    let cast = &plans[0];
    assert_eq!(cast.plan, "cast-2018");
    let due = cast.due.as_ref().expect("10% due by 2020");
    assert_eq!((due.target.year, due.target.share), (2020, 0.10));
    assert!(due.met_at_level);
    let next = cast.next.as_ref().expect("20% by 2035 next");
    assert_eq!((next.target.year, next.target.share), (2035, 0.20));
    assert!(!next.met_at_level);

    let council = &plans[1];
    assert_eq!(council.plan, "state-council-2021");
    let due = council.due.as_ref().expect("15% due by 2025");
    assert_eq!((due.target.year, due.target.share), (2025, 0.15));
    // Rscript -e 'sprintf("%.17g", pt((0.1712 - 0.15) / 0.0041, 300, lower.tail=FALSE))'
    assert_close(
        due.p_value,
        2.1341100845446704e-07,
        Tol::rel(1e-12),
        "due.p_value",
    );
    let next = council.next.as_ref().expect("25% by 2035 next");
    assert_eq!((next.target.year, next.target.share), (2035, 0.25));
}

// ------------------------------------------------------------ change --

#[test]
fn change_between_rounds_by_hand() {
    let c = change((0.1712, 0.0041), (0.1537, 0.0030), 0.95);
    assert_close(
        c.difference,
        0.1712 - 0.1537,
        Tol::rel(1e-12),
        "c.difference",
    );
    // sqrt(0.0041^2 + 0.0030^2) = sqrt(2.581e-5)
    assert_close(c.se, 2.581e-5_f64.sqrt(), Tol::rel(1e-12), "c.se");
    // Rscript -e 'se <- sqrt(0.0041^2 + 0.0030^2); d <- 0.1712 - 0.1537;
    //   cat(sprintf("%.17g", c(se, d - qnorm(0.975)*se, d + qnorm(0.975)*se,
    //   2*pnorm(-abs(d/se)))))'
    assert_close(c.se, 0.0050803543183522157, Tol::rel(1e-12), "c.se");
    assert_close(c.ci_low, 0.0075426885073271114, Tol::rel(1e-12), "c.ci_low");
    assert_close(
        c.ci_high,
        0.027457311492672866,
        Tol::rel(1e-12),
        "c.ci_high",
    );
    assert_close(
        c.p_value,
        0.0005718169676455061,
        Tol::rel(1e-12),
        "c.p_value",
    );
    assert_close(
        c.statistic,
        c.difference / c.se,
        Tol::rel(1e-12),
        "c.statistic",
    );
    assert_eq!((c.current, c.earlier, c.level), (0.1712, 0.1537, 0.95));
    assert_eq!(c.note, None);
    // Symmetric: the reverse change has the opposite sign and the same p.
    let r = change((0.1537, 0.0030), (0.1712, 0.0041), 0.95);
    assert_close(r.difference, -c.difference, Tol::rel(1e-12), "r.difference");
    assert_close(r.ci_low, -c.ci_high, Tol::rel(1e-12), "r.ci_low");
    assert_close(r.p_value, c.p_value, Tol::rel(1e-12), "r.p_value");
}

#[test]
fn change_of_a_gap_between_rounds_by_hand() {
    // Urban minus rural: 8.1 points (se 1.2) now, 10.4 points (se 1.5) before.
    let contrast = |estimate: f64, se: f64| Contrast {
        estimate,
        se,
        ci_low: f64::NAN,
        ci_high: f64::NAN,
        df: 100.0,
    };
    let c = gap_change(&contrast(0.081, 0.012), &contrast(0.104, 0.015), 0.90);
    assert_close(c.difference, 0.081 - 0.104, Tol::rel(1e-12), "c.difference");
    // sqrt(0.012^2 + 0.015^2) = sqrt(3.69e-4)
    assert_close(c.se, 3.69e-4_f64.sqrt(), Tol::rel(1e-12), "c.se");
    // Rscript -e 'se <- sqrt(0.012^2 + 0.015^2); d <- 0.081 - 0.104;
    //   cat(sprintf("%.17g", c(se, d - qnorm(0.95)*se, d + qnorm(0.95)*se,
    //   2*pnorm(-abs(d/se)))))'
    assert_close(c.ci_low, -0.054596606377286881, Tol::rel(1e-12), "c.ci_low");
    assert_close(
        c.ci_high,
        0.0085966063772868959,
        Tol::rel(1e-12),
        "c.ci_high",
    );
    assert_close(c.p_value, 0.23117710850401524, Tol::rel(1e-12), "c.p_value");
    assert_eq!(c, change((0.081, 0.012), (0.104, 0.015), 0.90));
}

#[test]
fn change_against_a_published_figure_without_se() {
    let c = change((0.1712, 0.0041), (0.1537, 0.0), 0.95);
    assert_close(c.se, 0.0041, Tol::rel(1e-12), "c.se");
    let both_exact = change((0.1712, 0.0), (0.1537, 0.0), 0.95);
    assert_eq!(both_exact.ci_low, both_exact.difference);
    assert_eq!(both_exact.ci_high, both_exact.difference);
    assert_eq!(both_exact.p_value, 0.0);
    assert!(both_exact.note.is_some());
    let none = change((0.15, 0.0), (0.15, 0.0), 0.95);
    assert_eq!(none.p_value, 1.0);
}

#[test]
fn change_with_invalid_input_gives_no_test() {
    for c in [
        change((f64::NAN, 0.01), (0.15, 0.01), 0.95),
        change((0.16, -0.01), (0.15, 0.01), 0.95),
        change((0.16, 0.01), (0.15, f64::NAN), 0.95),
        change((0.16, 0.01), (0.15, 0.01), 1.5),
    ] {
        assert!(c.p_value.is_nan() && c.ci_low.is_nan() && c.ci_high.is_nan());
        assert!(c.note.is_some_and(|n| n.contains("not valid")));
    }
}

// -------------------------------------------------------- projection --

/// Checks a projection's fitted line and the year it reaches the target
/// against R's, to 1e-12 relative.
fn assert_projection(p: &Projection, intercept: f64, slope: f64, year: f64) {
    assert_close(p.intercept, intercept, Tol::rel(1e-12), "p.intercept");
    assert_close(p.slope, slope, Tol::rel(1e-12), "p.slope");
    assert_close(
        p.year.expect("a rising trend"),
        year,
        Tol::rel(1e-12),
        "projected year",
    );
}

#[test]
fn projection_equals_r_lm_on_logit() {
    let pairs = series().pairs();
    // Rscript -e 'year <- c(2010, 2015, 2020, 2022, 2023, 2024);
    //   share <- c(0.0327, 0.0620, 0.1056, 0.1293, 0.1414, 0.1537);
    //   f <- coef(lm(qlogis(share) ~ year)); cat(sprintf("%.17g", f));
    //   for (p in c(0.25, 0.20, 0.15)) cat(sprintf(" %.17g", (qlogis(p) - f[1]) / f[2]))'
    // -244.39908506459852 0.11992219932530124 2028.8193023874837 2026.4203964795672 2023.5159576331498
    for (share, year) in [
        (0.25, 2028.8193023874837),
        (0.20, 2026.4203964795672),
        (0.15, 2023.5159576331498),
    ] {
        let p = project(&pairs, share).expect("projects");
        assert_projection(&p, -244.39908506459852, 0.11992219932530124, year);
        assert_eq!(p.method, PROJECTION_METHOD);
        assert!(p.method.contains("logit") && p.method.contains("least squares"));
        assert!(!p.includes_current);
        assert_eq!(p.points.len(), 6);
        assert_eq!(p.target_share, share);
    }
}

#[test]
fn projection_with_the_current_round_equals_r() {
    let pairs = series().pairs();
    // Rscript -e 'y <- c(2010, 2015, 2020, 2022, 2023, 2024, 2026);
    //   s <- c(0.0327, 0.0620, 0.1056, 0.1293, 0.1414, 0.1537, 0.1712);
    //   g <- coef(lm(qlogis(s) ~ y)); cat(sprintf("%.17g", c(g, (qlogis(0.25) - g[1]) / g[2])))'
    let p = project_with(&pairs, (2026.0, 0.1712), 0.25).expect("projects");
    assert_projection(
        &p,
        -235.46073395904156,
        0.1154873411276239,
        2029.3316945567412,
    );
    assert!(p.includes_current);
    assert_eq!(p.points.len(), 7);
    assert_eq!(p.points[6], (2026.0, 0.1712));
}

#[test]
fn projection_with_a_current_round_of_a_published_year_replaces_it() {
    let pairs = series().pairs();
    // Rscript -e 'year <- c(2010, 2015, 2020, 2022, 2023, 2024);
    //   s <- c(0.0327, 0.0620, 0.1056, 0.1293, 0.1414, 0.16);
    //   k <- coef(lm(qlogis(s) ~ year)); cat(sprintf("%.17g", c(k, (qlogis(0.25) - k[1]) / k[2])))'
    let p = project_with(&pairs, (2024.0, 0.16), 0.25).expect("projects");
    assert_eq!(p.points.len(), 6);
    assert_projection(
        &p,
        -247.64086005721094,
        0.12153176620124666,
        2028.6239184600431,
    );
}

#[test]
fn projection_of_a_falling_or_flat_trend_is_never() {
    let falling = [(2020.0, 0.12), (2022.0, 0.11), (2024.0, 0.10)];
    let p = project(&falling, 0.15).expect("fits");
    assert!(p.slope < 0.0);
    assert_eq!(p.year, None);
    let flat = [(2020.0, 0.12), (2024.0, 0.12)];
    let p = project(&flat, 0.15).expect("fits");
    assert_eq!(p.slope, 0.0);
    assert_eq!(p.year, None);
}

#[test]
fn projection_by_hand_on_two_points() {
    // Two points: the line through them. logit 0.1 = -ln 9, logit 0.2 = -ln 4:
    // slope = ln(9/4) / 10; reaching 0.5 (logit 0) takes ln 4 / slope years
    // after 2020.
    let p = project(&[(2010.0, 0.1), (2020.0, 0.2)], 0.5).expect("fits");
    let slope = (9.0_f64 / 4.0).ln() / 10.0;
    assert_close(p.slope, slope, Tol::rel(1e-12), "p.slope");
    assert_close(
        p.year.expect("rising"),
        2020.0 + 4.0_f64.ln() / slope,
        Tol::rel(1e-12),
        "projected year",
    );
}

#[test]
fn projection_errors() {
    assert_eq!(
        project(&[(2020.0, 0.1), (2020.0, 0.12)], 0.2),
        Err(ProjectionError::TooFewYears(1))
    );
    assert_eq!(project(&[], 0.2), Err(ProjectionError::TooFewYears(0)));
    assert_eq!(
        project(&[(2020.0, 0.1), (2022.0, 1.0)], 0.2),
        Err(ProjectionError::Point {
            year: 2022.0,
            share: 1.0
        })
    );
    assert_eq!(
        project(&[(2020.0, 0.1), (2022.0, 0.12)], 0.0),
        Err(ProjectionError::Target(0.0))
    );
    let e = project(&[(2020.0, 0.1)], 0.2).expect_err("one year");
    assert_eq!(
        e.to_string(),
        "a trend needs at least two distinct years, the series has 1"
    );
}

// --------------------------------------------------------- data files --

#[test]
fn targets_file_due_and_next() {
    let t = targets();
    assert_eq!(t.targets.len(), 4);
    assert_eq!(t.plans(), ["cast-2018", "state-council-2021"]);
    assert!(t.targets.iter().all(|t| t.above && !t.source.is_empty()));
    // (year, [(due year, due share), (next year, next share)] for cast-2018
    // then state-council-2021); 0 for none.
    let expected: [(i32, [(i32, f64); 4]); 7] = [
        (2019, [(0, 0.0), (2020, 0.10), (0, 0.0), (2025, 0.15)]),
        (2020, [(2020, 0.10), (2035, 0.20), (0, 0.0), (2025, 0.15)]),
        (2021, [(2020, 0.10), (2035, 0.20), (0, 0.0), (2025, 0.15)]),
        (
            2025,
            [(2020, 0.10), (2035, 0.20), (2025, 0.15), (2035, 0.25)],
        ),
        (
            2026,
            [(2020, 0.10), (2035, 0.20), (2025, 0.15), (2035, 0.25)],
        ),
        (2035, [(2035, 0.20), (0, 0.0), (2035, 0.25), (0, 0.0)]),
        (2036, [(2035, 0.20), (0, 0.0), (2035, 0.25), (0, 0.0)]),
    ];
    let key = |t: Option<&Target>| t.map_or((0, 0.0), |t| (t.year, t.share));
    for (year, want) in expected {
        let plans = t.for_year(year);
        assert_eq!(plans.len(), 2, "{year}");
        assert_eq!(plans[0].plan, "cast-2018");
        assert_eq!(plans[1].plan, "state-council-2021");
        let got = [
            key(plans[0].due),
            key(plans[0].next),
            key(plans[1].due),
            key(plans[1].next),
        ];
        assert_eq!(got, want, "round in {year}");
        let due: Vec<(i32, f64)> = t.due(year).into_iter().map(|t| (t.year, t.share)).collect();
        let want_due: Vec<(i32, f64)> = [want[0], want[2]]
            .into_iter()
            .filter(|d| d.0 != 0)
            .collect();
        assert_eq!(due, want_due, "due in {year}");
        let next: Vec<(i32, f64)> = t
            .next(year)
            .into_iter()
            .map(|t| (t.year, t.share))
            .collect();
        let want_next: Vec<(i32, f64)> = [want[1], want[3]]
            .into_iter()
            .filter(|d| d.0 != 0)
            .collect();
        assert_eq!(next, want_next, "next in {year}");
    }
}

#[test]
fn series_file_loads() {
    let s = series();
    let pairs = s.pairs();
    assert_eq!(
        pairs,
        [
            (2010.0, 0.0327),
            (2015.0, 0.0620),
            (2020.0, 0.1056),
            (2022.0, 0.1293),
            (2023.0, 0.1414),
            (2024.0, 0.1537)
        ]
    );
    assert!(s.points.iter().all(|p| !p.source.is_empty()));
    assert_eq!(s.before(2026).map(|p| p.year), Some(2024));
    assert_eq!(s.before(2024).map(|p| p.year), Some(2023));
    assert_eq!(s.before(2010), None);
}

#[test]
fn series_is_sorted_by_year() {
    let json = r#"{"points": [
        {"year": 2024, "share": 0.1537, "source": "b"},
        {"year": 2010, "share": 0.0327, "source": "a"}]}"#;
    let s = NationalSeries::from_json("s.json", json).expect("valid");
    assert_eq!(s.pairs(), [(2010.0, 0.0327), (2024.0, 0.1537)]);
    assert_eq!(s.description, None);
}

// ------------------------------------------------- broken data files --

/// A valid targets file with its first target's `field` set to `value`
/// (`None`: removed).
fn targets_with(field: &str, value: Option<serde_json::Value>) -> String {
    let mut json: serde_json::Value = serde_json::from_str(TARGETS).expect("JSON");
    let first = json["targets"][0]
        .as_object_mut()
        .expect("targets[0] is an object");
    match value {
        Some(v) => first.insert(field.to_owned(), v),
        None => first.remove(field),
    };
    json.to_string()
}

/// Asserts that the targets file with the first target's `field` set to
/// `value` is refused with the single message that the field `says`.
#[track_caller]
fn assert_field_refused(field: &str, value: serde_json::Value, says: &str) {
    assert_eq!(
        targets_message(&targets_with(field, Some(value))),
        format!("t.json: invalid data (1 problem)\n  t.json: field `targets[0].{field}`: {says}")
    );
}

/// The single message of a file that fails validation.
#[track_caller]
fn targets_message(json: &str) -> String {
    let e: TargetsError = Targets::from_json("t.json", json).expect_err("invalid");
    assert_eq!(e.problems.len(), 1, "{e}");
    e.to_string()
}

#[track_caller]
fn series_message(json: &str) -> String {
    let e = NationalSeries::from_json("s.json", json).expect_err("invalid");
    assert_eq!(e.problems.len(), 1, "{e}");
    e.to_string()
}

#[test]
fn broken_json() {
    let m = targets_message("{\"targets\": [");
    assert!(
        m.starts_with(
            "t.json: invalid data (1 problem)\n  t.json: not valid JSON: EOF while parsing"
        ),
        "{m}"
    );
    assert!(m.contains("line 1 column 13"), "{m}");
}

#[test]
fn top_level_not_an_object() {
    assert_eq!(
        targets_message("[]"),
        "t.json: invalid data (1 problem)\n  t.json: expected an object with a `targets` array, found an array"
    );
}

#[test]
fn targets_missing() {
    assert_eq!(
        targets_message(r#"{"description": "x"}"#),
        "t.json: invalid data (1 problem)\n  t.json: field `targets`: missing"
    );
}

#[test]
fn targets_empty() {
    assert_eq!(
        targets_message(r#"{"targets": []}"#),
        "t.json: invalid data (1 problem)\n  t.json: field `targets`: no targets listed"
    );
}

#[test]
fn targets_not_an_array() {
    assert_eq!(
        targets_message(r#"{"targets": {}}"#),
        "t.json: invalid data (1 problem)\n  t.json: field `targets`: expected an array, found an object"
    );
}

#[test]
fn unknown_top_level_field() {
    let json = TARGETS.replacen("\"targets\"", "\"version\": 1, \"targets\"", 1);
    assert_eq!(
        targets_message(&json),
        "t.json: invalid data (1 problem)\n  t.json: field `version`: unknown field (expected `description` or `targets`)"
    );
}

#[test]
fn description_not_a_string() {
    let json = TARGETS.replacen("\"description\": \"", "\"description\": 3, \"x-\": \"", 1);
    let e = Targets::from_json("t.json", &json).expect_err("invalid");
    let text = e.to_string();
    assert!(
        text.contains("t.json: field `description`: expected a string, found 3"),
        "{text}"
    );
}

#[test]
fn target_not_an_object() {
    assert_eq!(
        targets_message(r#"{"targets": [2020]}"#),
        "t.json: invalid data (1 problem)\n  t.json: field `targets[0]`: expected an object, found 2020"
    );
}

#[test]
fn target_unknown_field() {
    assert_field_refused(
        "yaer",
        2020.into(),
        "unknown field \
         (expected one of `plan`, `year`, `share`, `above`, `source`)",
    );
}

#[test]
fn target_missing_field() {
    for field in ["plan", "year", "share", "above", "source"] {
        let m = targets_message(&targets_with(field, None));
        assert_eq!(
            m,
            format!(
                "t.json: invalid data (1 problem)\n  t.json: field `targets[0].{field}`: missing"
            )
        );
    }
}

#[test]
fn share_out_of_range() {
    for (value, shown) in [
        (serde_json::json!(0), "0"),
        (serde_json::json!(1.0), "1.0"),
        (serde_json::json!(15), "15"),
        (serde_json::json!(-0.1), "-0.1"),
    ] {
        let m = targets_message(&targets_with("share", Some(value)));
        assert_eq!(
            m,
            format!(
                "t.json: invalid data (1 problem)\n  t.json: field `targets[0].share`: {shown} is not a \
                 fraction strictly between 0 and 1 (write 15% as 0.15)"
            )
        );
    }
}

#[test]
fn share_not_a_number() {
    assert_field_refused(
        "share",
        "10%".into(),
        "expected a number, found the string \"10%\"",
    );
}

#[test]
fn year_out_of_range() {
    assert_field_refused("year", 2101.into(), "2101 is not a year from 1990 to 2100");
    let m = targets_message(&targets_with("year", Some(1989.into())));
    assert!(
        m.ends_with("field `targets[0].year`: 1989 is not a year from 1990 to 2100"),
        "{m}"
    );
}

#[test]
fn year_not_whole() {
    assert_field_refused("year", 2020.5.into(), "expected a whole year, found 2020.5");
}

#[test]
fn plan_not_an_id() {
    assert_field_refused(
        "plan",
        "CAST 2018".into(),
        "\"CAST 2018\" is not a plan id \
         (1-64 lower-case letters, digits and `-`)",
    );
}

#[test]
fn plan_not_a_string() {
    let m = targets_message(&targets_with("plan", Some(7.into())));
    assert!(
        m.ends_with("field `targets[0].plan`: expected a string, found 7"),
        "{m}"
    );
}

#[test]
fn above_not_a_boolean() {
    assert_field_refused(
        "above",
        "yes".into(),
        "expected true or false, found the string \"yes\"",
    );
}

#[test]
fn source_empty() {
    assert_field_refused("source", " ".into(), "empty");
}

#[test]
fn duplicate_plan_and_year() {
    // The first target made a second 2035 target of cast-2018.
    let m = targets_message(&targets_with("year", Some(2035.into())));
    assert_eq!(
        m,
        "t.json: invalid data (1 problem)\n  t.json: field `targets[1]`: plan \"cast-2018\" already has a \
         target for 2035 (targets[0])"
    );
    let e = Targets::from_json("t.json", &targets_with("year", Some(2035.into())))
        .expect_err("invalid");
    assert_eq!(e.problems[0].field, "targets[1]");
}

#[test]
fn same_year_in_two_plans_is_fine() {
    // Both plans have a 2035 target in the real file.
    let t = targets();
    assert_eq!(t.targets.iter().filter(|t| t.year == 2035).count(), 2);
}

#[test]
fn every_problem_is_reported() {
    let json = r#"{"targets": [
        {"plan": "a", "year": 3000, "share": 2, "above": true, "source": "s"},
        {"plan": "a", "year": 2020, "share": 0.1, "source": ""}]}"#;
    let e = Targets::from_json("t.json", json).expect_err("invalid");
    let fields: Vec<&str> = e.problems.iter().map(|p| p.field.as_str()).collect();
    assert_eq!(
        fields,
        [
            "targets[0].year",
            "targets[0].share",
            "targets[1].above",
            "targets[1].source",
        ]
    );
    assert!(
        e.to_string()
            .starts_with("t.json: invalid data (4 problems)")
    );
}

#[test]
fn series_duplicate_year() {
    let json = r#"{"points": [
        {"year": 2020, "share": 0.1056, "source": "a"},
        {"year": 2020, "share": 0.1293, "source": "b"}]}"#;
    assert_eq!(
        series_message(json),
        "s.json: invalid data (1 problem)\n  s.json: field `points[1].year`: 2020 already has a figure (points[0])"
    );
}

#[test]
fn series_share_out_of_range() {
    let json = r#"{"points": [{"year": 2020, "share": 10.56, "source": "a"}]}"#;
    assert_eq!(
        series_message(json),
        "s.json: invalid data (1 problem)\n  s.json: field `points[0].share`: 10.56 is not a fraction \
         strictly between 0 and 1 (write 15% as 0.15)"
    );
}

#[test]
fn series_unknown_field() {
    let json = r#"{"points": [{"year": 2020, "share": 0.1056, "source": "a", "se": 0.002}]}"#;
    assert_eq!(
        series_message(json),
        "s.json: invalid data (1 problem)\n  s.json: field `points[0].se`: unknown field \
         (expected one of `year`, `share`, `source`)"
    );
}

#[test]
fn series_points_missing() {
    assert_eq!(
        series_message("{}"),
        "s.json: invalid data (1 problem)\n  s.json: field `points`: missing"
    );
}

#[test]
fn series_empty() {
    assert_eq!(
        series_message(r#"{"points": []}"#),
        "s.json: invalid data (1 problem)\n  s.json: field `points`: no figures listed"
    );
}
