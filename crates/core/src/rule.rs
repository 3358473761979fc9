//! Qualification rules: when a scored respondent counts as scientifically
//! literate, and what a missing answer means.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::text::Text;

/// Rounding slack for comparisons with cuts, thresholds and band edges, so
/// that a total of 69.99999999999999 obtained by adding fractions reaches 70.
pub const EPS: f64 = 1e-9;

/// The instrument's one qualification rule.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct QualificationRule {
    /// What is compared with what.
    #[serde(flatten)]
    pub kind: RuleKind,
    /// Whether reaching the cut qualifies (`true`) or only exceeding it.
    pub inclusive: bool,
    /// Graded bands on the 0-100 total, in increasing order (may be empty).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub bands: Vec<Band>,
    /// What a missing answer means.
    pub missing: MissingPolicy,
}

/// The kinds of rule the national rounds have used.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum RuleKind {
    /// Weighted 0-100 total reaches `cut` (the rule since 2022).
    TotalScore {
        /// Cut on the 0-100 total.
        cut: f64,
    },
    /// Every dimension's share of its points reaches its own threshold
    /// (the rule of the 1992-2018 rounds).
    AllDimensions {
        /// Threshold (0-1) per dimension id.
        thresholds: BTreeMap<String, f64>,
        /// The same thresholds by dimension index.
        #[serde(skip)]
        by_dimension: Vec<f64>,
    },
    /// Ability theta (or its reported scale value) reaches `cut`.
    IrtCut {
        /// Cut on theta, or on the reported scale when `scale` is given.
        cut: f64,
        /// Linear reporting scale `intercept + slope * theta`.
        #[serde(skip_serializing_if = "Option::is_none")]
        scale: Option<Scale>,
    },
}

/// Linear transformation of theta to a reporting scale.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Scale {
    /// Value at theta = 0.
    pub intercept: f64,
    /// Change per unit of theta (non-zero).
    pub slope: f64,
}

/// One graded band on the total.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Band {
    /// Identifier written in outputs, e.g. `basic`.
    pub id: String,
    /// Display name.
    pub name: Text,
    /// Lowest total in the band (inclusive).
    pub from: f64,
}

/// What a missing answer means.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(tag = "policy", rename_all = "snake_case")]
pub enum MissingPolicy {
    /// A missing answer scores zero, like a wrong one.
    CountAsWrong,
    /// Zero while at most `max_missing` items are missing; beyond that the
    /// respondent is unscorable (excluded and counted, never passed or failed).
    UnscorableAbove {
        /// Largest number of missing items a scorable respondent may have.
        max_missing: u32,
    },
}

impl MissingPolicy {
    /// Whether a respondent with `missing` missing items can be scored.
    pub fn scorable(&self, missing: u32) -> bool {
        match *self {
            MissingPolicy::CountAsWrong => true,
            MissingPolicy::UnscorableAbove { max_missing } => missing <= max_missing,
        }
    }
}

impl QualificationRule {
    /// Whether `value` reaches `cut` under this rule's inclusiveness.
    pub fn reaches(&self, value: f64, cut: f64) -> bool {
        if self.inclusive {
            value >= cut - EPS
        } else {
            value > cut + EPS
        }
    }

    /// Index of the band a total falls in, if the rule has bands.
    pub fn band(&self, total: f64) -> Option<usize> {
        self.bands.iter().rposition(|band| total >= band.from - EPS)
    }

    /// Whether applying the rule needs an ability theta per respondent.
    pub fn needs_theta(&self) -> bool {
        matches!(self.kind, RuleKind::IrtCut { .. })
    }

    /// Qualified flag from a respondent's dimension shares (0-1), total
    /// (0-100) and theta. `None` when the rule needs a theta and has none.
    pub fn qualifies(&self, shares: &[f64], total: f64, theta: Option<f64>) -> Option<bool> {
        match &self.kind {
            RuleKind::TotalScore { cut } => Some(self.reaches(total, *cut)),
            RuleKind::AllDimensions { by_dimension, .. } => Some(
                shares
                    .iter()
                    .zip(by_dimension)
                    .all(|(&share, &threshold)| self.reaches(share, threshold)),
            ),
            RuleKind::IrtCut { cut, scale } => {
                let theta = theta.filter(|t| t.is_finite())?;
                let value = scale.map_or(theta, |s| s.intercept + s.slope * theta);
                Some(self.reaches(value, *cut))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(kind: RuleKind, inclusive: bool) -> QualificationRule {
        QualificationRule {
            kind,
            inclusive,
            bands: ["low", "basic", "qualified", "advanced"]
                .iter()
                .zip([0.0, 55.0, 70.0, 85.0])
                .map(|(id, from)| Band {
                    id: (*id).to_owned(),
                    name: Text::default(),
                    from,
                })
                .collect(),
            missing: MissingPolicy::CountAsWrong,
        }
    }

    #[test]
    fn total_score_cut_is_inclusive_by_default_and_absorbs_rounding() {
        let r = rule(RuleKind::TotalScore { cut: 70.0 }, true);
        assert_eq!(r.qualifies(&[], 70.0, None), Some(true));
        // 0.1 + 0.2 style rounding just below the cut still reaches it.
        assert_eq!(r.qualifies(&[], 69.999_999_999_999_99, None), Some(true));
        assert_eq!(r.qualifies(&[], 69.99, None), Some(false));
        let exclusive = rule(RuleKind::TotalScore { cut: 70.0 }, false);
        assert_eq!(exclusive.qualifies(&[], 70.0, None), Some(false));
        assert_eq!(exclusive.qualifies(&[], 70.01, None), Some(true));
    }

    #[test]
    fn bands_follow_the_published_edges() {
        let r = rule(RuleKind::TotalScore { cut: 70.0 }, true);
        assert_eq!(r.band(0.0), Some(0));
        assert_eq!(r.band(54.99), Some(0));
        assert_eq!(r.band(55.0), Some(1));
        assert_eq!(r.band(69.999_999_999_999_99), Some(2));
        assert_eq!(r.band(84.9), Some(2));
        assert_eq!(r.band(85.0), Some(3));
        assert_eq!(r.band(100.0), Some(3));
    }

    #[test]
    fn all_dimensions_needs_every_share() {
        let r = rule(
            RuleKind::AllDimensions {
                thresholds: BTreeMap::new(),
                by_dimension: vec![0.6, 0.5],
            },
            true,
        );
        assert_eq!(r.qualifies(&[0.6, 0.5], 0.0, None), Some(true));
        assert_eq!(r.qualifies(&[1.0, 0.49], 0.0, None), Some(false));
        assert_eq!(r.qualifies(&[0.59, 1.0], 0.0, None), Some(false));
    }

    #[test]
    fn irt_cut_on_theta_and_on_the_reported_scale() {
        let on_theta = rule(
            RuleKind::IrtCut {
                cut: 0.5,
                scale: None,
            },
            true,
        );
        assert_eq!(on_theta.qualifies(&[], 0.0, Some(0.5)), Some(true));
        assert_eq!(on_theta.qualifies(&[], 0.0, Some(0.49)), Some(false));
        assert_eq!(on_theta.qualifies(&[], 0.0, None), None);
        assert_eq!(on_theta.qualifies(&[], 0.0, Some(f64::NAN)), None);
        let on_scale = rule(
            RuleKind::IrtCut {
                cut: 550.0,
                scale: Some(Scale {
                    intercept: 500.0,
                    slope: 100.0,
                }),
            },
            true,
        );
        assert_eq!(on_scale.qualifies(&[], 0.0, Some(0.5)), Some(true));
        assert_eq!(on_scale.qualifies(&[], 0.0, Some(0.4999)), Some(false));
    }

    #[test]
    fn missing_policy() {
        assert!(MissingPolicy::CountAsWrong.scorable(60));
        let p = MissingPolicy::UnscorableAbove { max_missing: 3 };
        assert!(p.scorable(3));
        assert!(!p.scorable(4));
    }
}
