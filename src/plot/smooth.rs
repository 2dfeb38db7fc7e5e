//! The smoothing of learning curves: a centred moving average taken in log space (a running
//! geometric mean, which suits a log axis and, being centred, does not lag behind a falling
//! curve), over a window that grows with the run. Used by the learning-curve figures of a run
//! and of a sweep, with or without a known optimum.

/// `(x, y)` points in increasing x.
type Points = Vec<(f64, f64)>;

/// Half the smoothing window, in points: none for a few dozen points, then about 1/40
/// of the run, at most 25 either side.
pub(crate) fn half_window(points: usize) -> usize {
    (points / 40).min(25)
}

/// Centred moving average of `ln y` over `half` points either side (fewer at the ends),
/// shown as `exp`: a running geometric mean. Points whose x or y is not finite, or whose y
/// is not positive, are left out.
pub(crate) fn smoothed(points: &[(f64, f64)], half: usize) -> Points {
    let good: Vec<(f64, f64)> =
        points.iter().filter(|p| p.0.is_finite() && p.1.is_finite() && p.1 > 0.0).map(|&(x, y)| (x, y.ln())).collect();
    // prefix[i] = sum of the first i logs, so every window sum is one subtraction.
    let mut prefix = vec![0.0; good.len() + 1];
    for (i, p) in good.iter().enumerate() {
        prefix[i + 1] = prefix[i] + p.1;
    }
    (0..good.len())
        .map(|i| {
            let (a, b) = (i.saturating_sub(half), (i + half + 1).min(good.len()));
            (good[i].0, ((prefix[b] - prefix[a]) / (b - a) as f64).exp())
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn smoothing_keeps_constants_and_damps_spikes() {
        let flat: Points = (0..50).map(|i| (i as f64, 3.0)).collect();
        for (_, y) in smoothed(&flat, 5) {
            assert!((y - 3.0).abs() < 1e-9);
        }
        let spike = [(0.0, 1.0), (1.0, 1.0), (2.0, 1000.0), (3.0, 1.0), (4.0, 1.0)];
        let s = smoothed(&spike, 1);
        assert!((s[2].1 - 10.0).abs() < 1e-9, "geometric mean of 1, 1000, 1: {s:?}");
        assert!((s[0].1 - 1.0).abs() < 1e-9);
        for (a, b) in smoothed(&spike, 0).iter().zip(&spike) {
            assert!((a.1 / b.1 - 1.0).abs() < 1e-12);
        }
    }

    #[test]
    fn smoothing_skips_bad_values_and_window_is_bounded() {
        let pts = [(0.0, 1.0), (1.0, f64::NAN), (2.0, 0.0), (f64::NAN, 1.0), (3.0, 1.0)];
        assert_eq!(smoothed(&pts, 3).len(), 2);
        assert!(smoothed(&[], 3).is_empty());
        assert_eq!(half_window(20), 0);
        assert_eq!(half_window(200), 5);
        assert_eq!(half_window(1_000_000), 25);
    }
}
