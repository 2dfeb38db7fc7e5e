//! The Differentiable Neural Computer's memory access (Graves et al. 2016, *Hybrid computing
//! using a neural network with dynamic external memory*, Nature 538:471, Methods), one small
//! function per equation, composed of differentiable candle operations as
//! [`crate::pieces::addressing`] is for the NTM: [`interface`] (the controller's interface
//! vector split by its width table, the paper's activations applied), [`allocation`]
//! (retention, usage and the allocation weighting: dynamic memory allocation), [`linkage`]
//! (precedence, the temporal link matrix, forward and backward weightings) and [`weighting`]
//! (the write weighting and the read heads' mix of their read modes). Content weighting, the
//! erase-then-add write and the read are the NTM's ([`crate::pieces::addressing::content_weighting`],
//! [`crate::pieces::memory`]).
//!
//! Shapes: batch B, memory slots N, slot width W, read heads R, read modes K (3: backward,
//! content, forward). One step t, in this order (w^w: the write weighting, w^{r,i}: read head
//! i's weighting, both of the previous step where marked t-1):
//! ```text
//! retention   psi_t = prod_i (1 - f^i_t w^{r,i}_{t-1})                                 [B, N]
//! usage       u_t = (u_{t-1} + w^w_{t-1} - u_{t-1} w^w_{t-1}) psi_t                    [B, N]
//! allocation  phi = slots by ascending u_t; a[phi_j] = (1 - u[phi_j]) prod_{i<j} u[phi_i] [B, N]
//! write       c^w = C(M_{t-1}, k^w, beta^w); w^w_t = g^w (g^a a + (1 - g^a) c^w)       [B, N]
//!             M_t = M_{t-1} (1 - w^w e^T) + w^w v^T                                     [B, N, W]
//! link        L_t[i,j] = (1 - w^w_t[i] - w^w_t[j]) L_{t-1}[i,j] + w^w_t[i] p_{t-1}[j], L_t[i,i] = 0   [B, N, N]
//! precedence  p_t = (1 - sum_i w^w_t[i]) p_{t-1} + w^w_t                                 [B, N]
//! read        f^i = L_t w^{r,i}_{t-1}, b^i = L_t^T w^{r,i}_{t-1}, c^{r,i} = C(M_t, k^{r,i}, beta^{r,i})
//!             w^{r,i}_t = pi^i_b b^i + pi^i_c c^{r,i} + pi^i_f f^i;  r^i_t = M_t^T w^{r,i}_t  [B, N], [B, W]
//! ```
//! The state starts at zero (u_0, p_0, L_0, w^w_0, w^{r,i}_0 and the memory M_0), as in the paper
//! and deepmind/dnc; `crate::models::dnc` documents the model around these pieces.
//!
//! Two choices the paper leaves open, made here:
//! - **The usage is differentiable in w^w_{t-1}** (the equation above, as the paper writes
//!   it). deepmind/dnc stops the gradient there ("usage is not differentiable with respect to
//!   write weights"); we do not, so the gradient of the whole model is the derivative of the
//!   function it computes (finite differences check it), with one exception the paper makes:
//! - **The sort is constant in the backward pass.** The free list phi is a piecewise constant
//!   function of the usage: its order is taken as fixed, and the gradient flows through the
//!   sorted values only (deepmind's `top_k` does the same). Ties go to the lower slot index
//!   (a stable sort, as deepmind's `tf.nn.top_k`), so at t = 1, every usage 0, the allocation
//!   is one-hot on slot 0.
//!
//! Epsilons: the content weighting's are the NTM's (`NORM_EPSILON` under each norm's root,
//! `COSINE_EPSILON` on the cosine's denominator, with their reasons there). The allocation
//! has none: deepmind/dnc shifts the usage to 1e-6 + (1 - 1e-6) u before its cumulative
//! product only because TensorFlow's gradient of `cumprod` divides by its input; these
//! products are built by multiplication (and the fused kernel's backward is a scan), so a
//! usage of exactly 0 is safe, and a free slot is allocated with weight exactly 1.

pub mod allocation;
pub mod interface;
pub mod linkage;
pub mod weighting;
