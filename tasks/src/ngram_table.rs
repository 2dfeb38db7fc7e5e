//! The randomness of the dynamic N-grams task and its optimum (Graves et al. 2014, sec. 4.4):
//! an N-gram table drawn afresh per episode, a bit sequence drawn from it, and the Bayes-optimal
//! prediction of each next bit.
//!
//! With `C = context` (`N = C + 1`), a table holds `2^C` probabilities, entry `c` the
//! probability that the next bit is 1 when the `C` bits before it, read as a binary number
//! with the oldest bit most significant, are `c`. Each entry is drawn from Beta(1/2, 1/2); the
//! first `C` bits of a sequence have no context yet and are fair coins, every later bit is 1
//! with its context's probability.
//!
//! The optimum: given the bits so far, the posterior of an entry that has been followed by
//! `N1` ones and `N0` zeros in this episode is Beta(1/2 + N1, 1/2 + N0) (the entries are
//! independent a priori and each bit depends on one entry only), so the probability that the
//! next bit after that context is 1 is the posterior mean `(N1 + 1/2) / (N1 + N0 + 1)` (the
//! paper's estimator; the Krichevsky-Trofimov estimator). A bit without a full context is a
//! fair coin, predicted at 1/2. All in f64.

use rand::{Rng, RngCore};
use std::f64::consts::PI;

/// A draw from Beta(1/2, 1/2), the arcsine distribution, as `sin^2(pi u / 2)` for `u` uniform
/// in `[0, 1)`: `P(sin^2(pi u / 2) <= x) = P(u <= (2 / pi) arcsin(sqrt x))`, which is
/// Beta(1/2, 1/2)'s CDF ([`beta_half_cdf`]). Mean 1/2, variance 1/8. One uniform per draw, no
/// rejection, and no dependency beyond rand.
pub fn beta_half(rng: &mut dyn RngCore) -> f64 {
    let u: f64 = rng.random();
    (PI * u / 2.0).sin().powi(2)
}

/// The CDF of Beta(1/2, 1/2) at `x` in `[0, 1]`: `(2 / pi) arcsin(sqrt x)`.
pub fn beta_half_cdf(x: f64) -> f64 {
    2.0 / PI * x.sqrt().asin()
}

/// One episode's N-gram table: `2^context` probabilities (see the module docs for the order).
#[derive(Debug, Clone, PartialEq)]
pub struct NgramTable {
    context: usize,
    probabilities: Vec<f64>,
}

impl NgramTable {
    /// A fresh table: `2^context` draws of [`beta_half`], entry 0 first.
    pub fn draw(rng: &mut dyn RngCore, context: usize) -> Self {
        let probabilities = (0..1usize << context).map(|_| beta_half(rng)).collect();
        NgramTable { context, probabilities }
    }

    /// The bits of context each probability depends on (`N - 1`).
    pub fn context(&self) -> usize {
        self.context
    }

    /// The probabilities, `[2^context]`.
    pub fn probabilities(&self) -> &[f64] {
        &self.probabilities
    }

    /// A sequence of `length` bits: the first `context` (or all, if fewer) fair coins, then
    /// each bit 1 with the probability of the `context` bits before it (one uniform each).
    pub fn sequence(&self, rng: &mut dyn RngCore, length: usize) -> Vec<bool> {
        let mut bits: Vec<bool> = (0..length.min(self.context)).map(|_| rng.random()).collect();
        let mut index = context_index(&bits);
        while bits.len() < length {
            let bit = rng.random::<f64>() < self.probabilities[index];
            bits.push(bit);
            index = next_index(index, bit, self.context);
        }
        bits
    }
}

/// The table index of a context, its bits given oldest first: the bits read as a binary number,
/// the oldest most significant.
pub fn context_index(window: &[bool]) -> usize {
    window.iter().fold(0, |index, &bit| (index << 1) | bit as usize)
}

/// The index of the context after `bit` follows the context `index` of `context` bits.
fn next_index(index: usize, bit: bool, context: usize) -> usize {
    ((index << 1) | bit as usize) & ((1 << context) - 1)
}

/// The Bayes-optimal probability that each bit after the first is 1, given the bits before it
/// in `bits`, `[bits.len() - 1]` (entry `i` for bit `i + 1`): 1/2 for a bit without a full
/// context (`i + 1 < context`), else `(N1 + 1/2) / (N1 + N0 + 1)` with `N1`, `N0` the ones and
/// zeros that followed the same context earlier in `bits`.
pub fn optimal_predictions(bits: &[bool], context: usize) -> Vec<f64> {
    let mut counts = vec![[0u32; 2]; 1 << context]; // [2^context][zeros, ones]
    let mut predictions = Vec::with_capacity(bits.len().saturating_sub(1));
    let mut index = 0;
    for (i, &bit) in bits.iter().enumerate().skip(1) {
        index = next_index(index, bits[i - 1], context);
        if i < context {
            predictions.push(0.5);
            continue;
        }
        let [n0, n1] = counts[index];
        predictions.push((n1 as f64 + 0.5) / ((n0 + n1) as f64 + 1.0));
        counts[index][bit as usize] += 1;
    }
    predictions
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn context_indices_read_oldest_bit_first() {
        assert_eq!(context_index(&[true, false, false, false, false]), 16);
        assert_eq!(context_index(&[false, false, false, true, true]), 3);
        assert_eq!(next_index(0b10110, true, 5), 0b01101);
        assert_eq!(next_index(0b1, false, 1), 0);
    }

    #[test]
    fn the_module_docs_example_of_dynamic_ngrams() {
        // The channel diagram of dynamic_ngrams.rs: C = 2, bits 1 0 1 1 0 1 1 0.
        let bits = [true, false, true, true, false, true, true, false];
        assert_eq!(optimal_predictions(&bits, 2), [0.5, 0.5, 0.5, 0.5, 0.75, 0.75, 0.25]);
    }

    #[test]
    fn cdf_at_known_points() {
        assert_eq!(beta_half_cdf(0.0), 0.0);
        assert!((beta_half_cdf(0.5) - 0.5).abs() < 1e-15);
        assert!((beta_half_cdf(1.0) - 1.0).abs() < 1e-15);
        // arcsin(sqrt(1/4)) = pi / 6.
        assert!((beta_half_cdf(0.25) - 1.0 / 3.0).abs() < 1e-15);
    }
}
