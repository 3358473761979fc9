//! Times the 2PL calibration of 100,000 respondents x 60 items (the size of
//! `bench/irt_compare.sh`), without and with standard errors, on responses
//! drawn here from a 2PL model with a fixed seed (a ~ U(0.6, 2.2),
//! b ~ N(0, 1) clipped to [-2.5, 2.5], theta ~ N(0, 1), as
//! `bench/irt_compare.py generate` draws them). Prints the best wall time
//! of `RUNS` runs (default 3) of each, with the E-step count and the
//! log-likelihood.
//!
//! `cargo run --release -p literacy-core --example irt_timing [n] [items]`

use std::time::Instant;

use literacy_core::irt::{CalibrationOptions, CategoryResponses, ItemParams, ModelKind, calibrate};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

fn normal(rng: &mut ChaCha8Rng) -> f64 {
    let u: f64 = rng.random::<f64>().max(1e-300);
    let v: f64 = rng.random();
    (-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * v).cos()
}

/// CPU seconds (user + system) this process has used (Linux; NaN elsewhere).
fn cpu_seconds() -> f64 {
    let Ok(stat) = std::fs::read_to_string("/proc/self/stat") else {
        return f64::NAN;
    };
    // Fields after the parenthesised command name; utime and stime are
    // the 14th and 15th fields, in clock ticks (100 per second).
    let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let fields: Vec<f64> = rest
        .split_whitespace()
        .skip(11)
        .take(2)
        .filter_map(|x| x.parse().ok())
        .collect();
    fields.iter().sum::<f64>() / 100.0
}

fn main() {
    let args: Vec<usize> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    let n = args.first().copied().unwrap_or(100_000);
    let k = args.get(1).copied().unwrap_or(60);
    let runs: usize = std::env::var("RUNS")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(3);
    let mut rng = ChaCha8Rng::seed_from_u64(20_261_129);
    let items: Vec<ItemParams> = (0..k)
        .map(|_| {
            let a = rng.random_range(0.6..2.2);
            let b = normal(&mut rng).clamp(-2.5, 2.5);
            ItemParams::from_difficulty(a, b, 0.0)
        })
        .collect();
    let mut cells = Vec::with_capacity(n * k);
    for _ in 0..n {
        let theta = normal(&mut rng);
        for item in &items {
            cells.push(u8::from(rng.random::<f64>() < item.p(theta)));
        }
    }
    let data = CategoryResponses::dichotomous(k, cells).expect("0/1 cells");
    for standard_errors in [false, true] {
        let options = CalibrationOptions {
            tolerance: 1e-8,
            standard_errors,
            ..CalibrationOptions::all(ModelKind::TwoPl, k)
        };
        let mut best = f64::INFINITY;
        let mut report = String::new();
        for _ in 0..runs {
            let (start, cpu) = (Instant::now(), cpu_seconds());
            let fit = calibrate(&data, None, None, &options).expect("calibrated");
            let wall = start.elapsed().as_secs_f64();
            let cpu = cpu_seconds() - cpu;
            if wall < best {
                best = wall;
                report = format!(
                    "cpu {cpu:.2} s, {} E-steps, log-likelihood {:.6}, se_a[0] {:.6}",
                    fit.convergence.iterations, fit.log_likelihood, fit.items[0].se_a
                );
            }
        }
        println!(
            "{n} x {k} 2PL, standard errors {standard_errors}: best of {runs} {best:.3} s ({report})"
        );
    }
}
