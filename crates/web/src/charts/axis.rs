//! Nice axes: ticks at 1, 2 or 5 times a power of ten, and the linear map
//! from data to the page.

/// An axis: its ticks, which also bound its domain.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Axis {
    /// Tick values, ascending; the first and last are the domain's ends.
    pub ticks: Vec<f64>,
    /// Distance between ticks.
    pub step: f64,
}

impl Axis {
    /// A nice axis covering `[lo, hi]` with about `target` intervals
    /// (never more than `2 * target + 1`), steps of at least `min_step`.
    /// `None` when the bounds are not finite or the ticks would not be.
    pub fn nice(lo: f64, hi: f64, target: usize, min_step: f64) -> Option<Axis> {
        if !(lo.is_finite() && hi.is_finite()) || lo > hi {
            return None;
        }
        let (lo, hi) = if hi - lo > 0.0 {
            (lo, hi)
        } else if lo == 0.0 {
            (0.0, 0.1_f64.max(min_step))
        } else {
            let pad = if min_step > 0.0 {
                min_step
            } else {
                lo.abs() * 0.1
            };
            (lo - pad, hi + pad)
        };
        let raw = (hi - lo) / target.max(1) as f64;
        if !(raw.is_finite() && raw > 0.0) {
            return None;
        }
        let mag = 10f64.powi(raw.log10().floor() as i32);
        let step = [1.0, 2.0, 5.0, 10.0]
            .into_iter()
            .map(|m| m * mag)
            .find(|s| *s >= raw * (1.0 - 1e-9))
            .unwrap_or(10.0 * mag)
            .max(min_step);
        let first = (lo / step + 1e-9).floor();
        let last = (hi / step - 1e-9).ceil();
        let intervals = last - first;
        if !(first.is_finite() && last.is_finite() && step.is_finite())
            || intervals < 1.0
            || intervals > 2.0 * target as f64 + 1.0
        {
            return None;
        }
        let ticks: Vec<f64> = (0..=intervals as usize)
            .map(|i| (first + i as f64) * step)
            .collect();
        if ticks.iter().all(|t| t.is_finite()) {
            Some(Axis { ticks, step })
        } else {
            None
        }
    }

    /// The lowest tick.
    pub fn lo(&self) -> f64 {
        self.ticks.first().copied().unwrap_or(0.0)
    }

    /// The highest tick.
    pub fn hi(&self) -> f64 {
        self.ticks.last().copied().unwrap_or(1.0)
    }

    /// Decimals a percent label needs for this step (0 for 5%, 1 for 0.5%).
    pub fn percent_decimals(&self) -> usize {
        let p = self.step * 100.0;
        if p >= 1.0 - 1e-9 {
            0
        } else {
            ((-p.log10() - 1e-9).ceil().max(0.0) as usize).min(6)
        }
    }

    /// A tick as a percent label (`10%`, `2.5%`).
    pub fn percent_label(&self, tick: f64) -> String {
        format!("{:.*}%", self.percent_decimals(), tick * 100.0)
    }
}

/// The linear map from a domain onto a range of page coordinates.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Scale {
    /// Domain start.
    pub d0: f64,
    /// Domain end.
    pub d1: f64,
    /// Page coordinate of the domain start.
    pub r0: f64,
    /// Page coordinate of the domain end.
    pub r1: f64,
}

impl Scale {
    /// Where `v` goes.
    pub fn map(&self, v: f64) -> f64 {
        self.r0 + (v - self.d0) / (self.d1 - self.d0) * (self.r1 - self.r0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn is_125(step: f64) -> bool {
        let e = step.log10().floor();
        let m = step / 10f64.powf(e);
        [1.0, 2.0, 5.0, 10.0].iter().any(|k| (m - k).abs() < 1e-6)
    }

    #[test]
    fn ticks_are_1_2_5_steps_covering_the_range() {
        for &(lo, hi) in &[
            (0.0, 0.243),
            (0.0, 0.25),
            (0.0, 0.031),
            (0.0, 1.0),
            (-0.004, 0.09),
            (2010.0, 2035.0),
            (0.0, 1e-7),
            (0.0, 1e300),
        ] {
            let a = Axis::nice(lo, hi, 6, 0.0).expect("an axis");
            assert!(is_125(a.step), "{lo} {hi}: step {}", a.step);
            assert!(a.lo() <= lo + 1e-12 && a.hi() >= hi - 1e-12 * hi.abs());
            assert!(a.ticks.len() >= 2 && a.ticks.len() <= 14, "{:?}", a.ticks);
            // no more than one step beyond the data at either end
            assert!(lo - a.lo() < a.step + 1e-12 && a.hi() - hi < a.step * (1.0 + 1e-9));
        }
    }

    #[test]
    fn shares_up_to_a_quarter_get_five_point_steps() {
        let a = Axis::nice(0.0, 0.243, 6, 0.0).expect("an axis");
        let labels: Vec<String> = a.ticks.iter().map(|t| a.percent_label(*t)).collect();
        assert_eq!(labels, ["0%", "5%", "10%", "15%", "20%", "25%"]);
        let a = Axis::nice(0.0, 0.024, 6, 0.0).expect("an axis");
        assert_eq!(a.percent_label(a.ticks[1]), "0.5%");
        assert_eq!(a.percent_label(a.ticks[2]), "1.0%");
    }

    #[test]
    fn years_step_at_least_one() {
        let a = Axis::nice(2020.0, 2022.0, 6, 1.0).expect("an axis");
        assert_eq!(a.step, 1.0);
        assert_eq!(a.ticks, [2020.0, 2021.0, 2022.0]);
        let a = Axis::nice(2024.0, 2024.0, 6, 1.0).expect("an axis");
        assert!(a.lo() < 2024.0 && a.hi() > 2024.0);
    }

    #[test]
    fn degenerate_and_non_finite_ranges() {
        let a = Axis::nice(0.0, 0.0, 6, 0.0).expect("an axis");
        assert!(a.hi() > 0.0);
        assert!(Axis::nice(0.0, f64::NAN, 6, 0.0).is_none());
        assert!(Axis::nice(0.0, f64::INFINITY, 6, 0.0).is_none());
        assert!(Axis::nice(0.0, f64::MAX, 6, 0.0).is_none());
        assert!(Axis::nice(1.0, 0.0, 6, 0.0).is_none());
    }
}
