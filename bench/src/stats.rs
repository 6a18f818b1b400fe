//! Summaries of repeated timings: median and percentiles (nearest rank).

use std::time::Duration;

/// Repeated measurements of one quantity, in milliseconds.
#[derive(Debug, Clone, Default)]
pub struct Samples {
    values: Vec<f64>,
}

impl Samples {
    /// No measurements yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds one duration.
    pub fn push(&mut self, took: Duration) {
        self.values.push(took.as_secs_f64() * 1000.0);
    }

    /// Adds one value in milliseconds.
    pub fn push_ms(&mut self, ms: f64) {
        self.values.push(ms);
    }

    /// How many measurements.
    pub fn len(&self) -> usize {
        self.values.len()
    }

    /// The median (the 50th percentile, nearest rank).
    pub fn median(&self) -> f64 {
        self.percentile(50.0)
    }

    /// The `p`th percentile (0 < p <= 100) by nearest rank; NaN with no measurement.
    pub fn percentile(&self, p: f64) -> f64 {
        percentile(&self.values, p)
    }

    /// The median of the ratios of each measurement to `baseline`'s taken beside it
    /// (the same round): a drift of the machine between rounds moves both sides of a
    /// pair, and cancels out. NaN with no pair.
    pub fn paired_ratio(&self, baseline: &Self) -> f64 {
        let ratios: Vec<f64> = self
            .values
            .iter()
            .zip(&baseline.values)
            .map(|(value, base)| value / base)
            .collect();
        percentile(&ratios, 50.0)
    }
}

/// The `p`th percentile of `values` by nearest rank: the smallest value with at least
/// `p` % of the values at or below it. NaN for no values.
pub fn percentile(values: &[f64], p: f64) -> f64 {
    if values.is_empty() {
        return f64::NAN;
    }
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    // Counts here are tiny: the conversions are exact.
    #[allow(
        clippy::cast_precision_loss,
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss
    )]
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paired_ratios_cancel_a_drift_between_rounds() {
        let mut base = Samples::new();
        let mut lulu = Samples::new();
        // The machine slows down round by round; Lulu is 2 % slower in every pair.
        for round in 0..9_u32 {
            let slow = 700.0 + 50.0 * f64::from(round);
            base.push_ms(slow);
            lulu.push_ms(slow * 1.02);
        }
        assert!((lulu.paired_ratio(&base) - 1.02).abs() < 1e-9);
        assert!(Samples::new().paired_ratio(&base).is_nan());
    }

    #[test]
    fn nearest_rank_percentiles() {
        let values: Vec<f64> = (1..=100).map(f64::from).collect();
        assert!((percentile(&values, 50.0) - 50.0).abs() < f64::EPSILON);
        assert!((percentile(&values, 99.0) - 99.0).abs() < f64::EPSILON);
        assert!((percentile(&values, 100.0) - 100.0).abs() < f64::EPSILON);
        assert!((percentile(&[7.0, 1.0, 3.0], 50.0) - 3.0).abs() < f64::EPSILON);
        assert!((percentile(&[5.0], 99.0) - 5.0).abs() < f64::EPSILON);
        assert!((percentile(&[2.0, 1.0], 50.0) - 1.0).abs() < f64::EPSILON);
    }

    #[test]
    fn no_values_is_nan() {
        assert!(percentile(&[], 50.0).is_nan());
        assert!(Samples::new().median().is_nan());
    }
}
