//! The DNC's interface activations for one batch row on flat buffers, forward and backward:
//! [`crate::pieces::dnc::interface::split`]'s arithmetic (clip, then oneplus strengths, sigmoid
//! erase and gates, softmax read modes per head; keys and the write vector as they are).
//!
//! Backward: strengths (1 + softplus)' = sigmoid(raw); sigmoid y' = y (1 - y); each head's
//! softmax pi: d raw = pi (d pi - <pi, d pi>); keys and write vector pass the gradient; the
//! clip passes it strictly inside the bound, half at it and none beyond (candle's clamp).

use crate::fused::addressing::{clip, softplus};
use crate::fused::kernel::{dot, sigmoid, simd_routine, softmax, Real};
use crate::pieces::dnc::interface::InterfaceParts;
use crate::pieces::heads::PRE_ACTIVATION_CLIP;

simd_routine! {
/// The activated interface `act` `[I]` from its raw values `raw` `[I]`, laid out as `parts`
/// says.
pub(crate) fn activate<T: Real>(raw: &[T], act: &mut [T], parts: InterfaceParts) {
    let one = T::from_f64(1.0);
    for (a, &r) in act.iter_mut().zip(raw) {
        *a = clip(r);
    }
    for i in 0..parts.reads() {
        let s = parts.read_strength(i);
        act[s] = one + softplus(act[s]);
        let f = parts.free_gate(i);
        act[f] = sigmoid(act[f]);
        softmax(&mut act[parts.read_modes(i)]);
    }
    let s = parts.write_strength();
    act[s] = one + softplus(act[s]);
    for e in &mut act[parts.erase()] {
        *e = sigmoid(*e);
    }
    for g in [parts.allocation_gate(), parts.write_gate()] {
        act[g] = sigmoid(act[g]);
    }
}
}

simd_routine! {
/// The gradient of the raw interface `draw` `[I]` from that of the activated one `dact`
/// (`act`: [`activate`]'s output for `raw`).
pub(crate) fn activation_backward<T: Real>(raw: &[T], act: &[T], dact: &[T], draw: &mut [T], parts: InterfaceParts) {
    let one = T::from_f64(1.0);
    draw.copy_from_slice(dact); // keys and the write vector
    let strengths = (0..parts.reads()).map(|i| parts.read_strength(i)).chain([parts.write_strength()]);
    for s in strengths {
        draw[s] = dact[s] * sigmoid(clip(raw[s]));
    }
    let sigmoids = parts.erase().chain(parts.free_gates()).chain([parts.allocation_gate(), parts.write_gate()]);
    for g in sigmoids {
        draw[g] = dact[g] * act[g] * (one - act[g]);
    }
    for i in 0..parts.reads() {
        let range = parts.read_modes(i);
        let (pi, dpi) = (&act[range.clone()], &dact[range.clone()]);
        let inner = dot(pi, dpi);
        for (k, j) in range.enumerate() {
            draw[j] = pi[k] * (dpi[k] - inner);
        }
    }
    let c = T::from_f64(PRE_ACTIVATION_CLIP);
    for (d, &r) in draw.iter_mut().zip(raw) {
        if r > c || r < -c {
            *d = T::from_f64(0.0);
        } else if r == c || r == -c {
            *d *= T::from_f64(0.5);
        }
    }
}
}
