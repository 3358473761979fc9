//! Shares written as percentages, the same way on every page, chart and
//! file: two decimals, as the national figures are published (`12.93%`).

/// A share as a percentage with two decimals (`12.93%`); `—` when not finite.
pub fn percent(x: f64) -> String {
    if x.is_finite() {
        format!("{:.2}%", x * 100.0)
    } else {
        "—".to_owned()
    }
}

/// A share as a percentage without trailing zeros, for round values such
/// as targets (`15%`, `12.5%`); `—` when not finite.
pub fn percent_trimmed(x: f64) -> String {
    if !x.is_finite() {
        return "—".to_owned();
    }
    let s = format!("{:.2}", x * 100.0);
    let s = s.trim_end_matches('0').trim_end_matches('.');
    format!("{s}%")
}

/// A confidence interval in percent with two decimals (`12.10–13.74`), or
/// `None` when a limit is not finite.
pub fn interval(low: f64, high: f64) -> Option<String> {
    (low.is_finite() && high.is_finite()).then(|| format!("{:.2}–{:.2}", low * 100.0, high * 100.0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shares_read_as_published() {
        assert_eq!(percent(0.1293), "12.93%");
        assert_eq!(percent(0.129_349), "12.93%");
        assert_eq!(percent(f64::NAN), "—");
        assert_eq!(percent_trimmed(0.15), "15%");
        assert_eq!(percent_trimmed(0.125), "12.5%");
        assert_eq!(interval(0.121, 0.1375).as_deref(), Some("12.10–13.75"));
        assert_eq!(interval(0.1, f64::INFINITY), None);
    }
}
