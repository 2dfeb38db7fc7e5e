//! The Differentiable Neural Computer (Graves et al. 2016, *Hybrid computing using a neural
//! network with dynamic external memory*, Nature 538:471, Methods): an LSTM controller and an
//! N x W memory it reaches through one write head and R read heads, with dynamic allocation
//! of free slots and a link matrix that remembers the order of writes. Stepped through time
//! with the whole recurrent state passed in and out, on the composed pieces of
//! [`crate::pieces::dnc`] or the fused kernel of [`crate::fused::dnc`].
//!
//! One step, for inputs x_t `[B, X]`:
//! ```text
//! h_t        = LSTM([x_t, r^1_{t-1} .. r^R_{t-1}], state_{t-1})                        [B, C]
//! xi_t       = h_t W_xi + b_xi, split and activated (pieces::dnc::interface)            [B, I]
//! memory     retention, usage, allocation, write weighting, M_t, L_t, p_t, read weightings,
//!            r^i_t = M_t^T w^{r,i}_t (pieces::dnc, in that order)                        [B, W] each
//! y_t        = [h_t, r^1_t .. r^R_t] W_y + b_y   (logits)                                 [B, Y]
//! ```
//! The reads of step t reach the controller at step t + 1 and the output at step t (as in
//! deepmind/dnc; ixaxaar/pytorch-dnc feeds the controller the reads of the call's start).
//!
//! The initial state: usage, precedence, link matrix, write and read weightings, read vectors
//! and the memory all zero (the paper's u_0 = p_0 = L_0 = 0; deepmind/dnc's zeros for the
//! rest), fixed; the controller's h_0 and c_0 learned, per layer, starting at zero (as the
//! NTM's controller). A zero memory gives every slot cosine 0 with any key, so the first write
//! goes where the allocation sends it: slot 0, the first free one.
//!
//! Nothing the DNC learns depends on N (no parameter has a slot axis), so a trained DNC runs
//! with any number of slots as it is (`--slots`).

use candle_core::{DType, Device, Result, Tensor, D};
use serde::{Deserialize, Serialize};

use crate::base::kinds::{ControllerKind, Engine, ReadMode};
use crate::fused::dnc::{DncRun, DncSizes};
use crate::models::controller::{Controller, ControllerState};
use crate::models::{unroll, MemoryRecord, SequenceModel};
use crate::pieces::addressing::content_weighting;
use crate::pieces::dnc::interface::{split, Interface, InterfaceParts};
use crate::pieces::dnc::{allocation, linkage, weighting};
use crate::pieces::memory;
use crate::pieces::params::{Dense, ParamBuilder};
use crate::pieces::trace::{link_steps, DncReadStep, DncStep, DncTrace, LinkSnapshot};

/// The `memory` table of a DNC.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DncMemoryConfig {
    /// Number of memory slots N (at least 2: the link matrix orders writes between slots).
    pub slots: usize,
    /// Width W of each slot.
    pub width: usize,
}

impl Default for DncMemoryConfig {
    /// The NTM's default, the NTM paper's 128 x 20.
    fn default() -> Self {
        Self { slots: 128, width: 20 }
    }
}

/// The `[models.<name>]` table of a DNC (`kind = "dnc"`); by default the sizes of the NTM's
/// defaults (controller 100, memory 128 x 20, one read head), so the two compare like for like.
/// deepmind/dnc's `train.py` uses controller 64, memory 16 x 16 and 4 read heads.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DncConfig {
    /// Units per LSTM controller layer C.
    pub controller_size: usize,
    /// LSTM controller layers (the interface and the output read the top one).
    pub controller_layers: usize,
    /// Number of read heads R (at least 1).
    pub read_heads: usize,
    /// Each read head's modes, in the order of its mode weights pi: any of `"backward"`,
    /// `"content"` and `"forward"`, each once (default: all three, the paper's order). Without
    /// `"backward"` and `"forward"` the model keeps no link matrix (a DNC without temporal
    /// links).
    pub read_modes: Vec<ReadMode>,
    /// The memory matrix.
    pub memory: DncMemoryConfig,
    /// Implementation: `fused` (default; the whole sequence as one custom op,
    /// [`crate::fused::dnc`]) or `reference` (composed candle ops, stepped); same parameters,
    /// same function.
    #[serde(default)]
    pub engine: Engine,
}

impl Default for DncConfig {
    fn default() -> Self {
        Self {
            controller_size: 100,
            controller_layers: 1,
            read_heads: 1,
            read_modes: ReadMode::ALL.to_vec(),
            memory: DncMemoryConfig::default(),
            engine: Engine::default(),
        }
    }
}

impl DncConfig {
    /// The sizes of this DNC for `inputs` input channels: what the fused kernel needs, and
    /// where each parameter sits ([`DncSizes::parameter_names`]).
    pub fn sizes(&self, inputs: usize) -> DncSizes {
        DncSizes {
            inputs,
            hidden: self.controller_size,
            layers: self.controller_layers,
            read_heads: self.read_heads,
            slots: self.memory.slots,
            width: self.memory.width,
            read_modes: self.read_modes.clone(),
        }
    }

    /// Trainable scalars for `inputs` input and `outputs` output channels: the controller
    /// (weights, biases, h_0, c_0), the interface `[C, I]`, `[I]` and the output layer
    /// `[C + R W, Y]`, `[Y]`.
    pub fn parameter_count(&self, inputs: usize, outputs: usize) -> usize {
        let sizes = self.sizes(inputs);
        sizes.parameter_shapes().iter().map(|s| s.iter().product::<usize>()).sum::<usize>()
            + (sizes.features() + 1) * outputs
    }

    /// Checks every field; the error names the field, the value and what is allowed.
    pub fn validate(&self) -> std::result::Result<(), String> {
        use crate::base::limits::{check_size, MAX_LAYERS, MAX_LINKED_SLOTS, MAX_UNITS};
        if self.read_heads == 0 {
            return Err("read_heads = 0: a DNC needs at least one read head (its only way to read memory)".into());
        }
        if self.memory.slots < 2 {
            return Err(format!(
                "memory.slots = {}: a DNC needs at least 2 slots (its link matrix orders writes between slots)",
                self.memory.slots
            ));
        }
        let sizes = [
            ("controller_size", self.controller_size, MAX_UNITS),
            ("controller_layers", self.controller_layers, MAX_LAYERS),
            ("read_heads", self.read_heads, MAX_LAYERS),
            ("memory.slots", self.memory.slots, MAX_LINKED_SLOTS),
            ("memory.width", self.memory.width, MAX_UNITS),
        ];
        for (field, value, max) in sizes {
            check_size(field, value, max)?;
        }
        let names: Vec<&str> = self.read_modes.iter().map(|m| m.name()).collect();
        if self.read_modes.is_empty() {
            return Err("read_modes = []: give one or more of \"backward\", \"content\", \"forward\"".into());
        }
        if (1..names.len()).any(|i| names[..i].contains(&names[i])) {
            return Err(format!("read_modes = {names:?}: each mode may appear once"));
        }
        Ok(())
    }
}

/// The recurrent state between steps. Nothing else changes during a sequence.
#[derive(Debug, Clone)]
pub struct DncState {
    /// Memory M_t `[B, N, W]`.
    pub memory: Tensor,
    /// Usage u_t `[B, N]`.
    pub usage: Tensor,
    /// Precedence p_t `[B, N]`.
    pub precedence: Tensor,
    /// Link matrix L_t `[B, N, N]`; none when no read mode follows links.
    pub link: Option<Tensor>,
    /// The last write weighting w^w_t `[B, N]`.
    pub write_weighting: Tensor,
    /// Each read head's last weighting `[B, N]`.
    pub read_weightings: Vec<Tensor>,
    /// Each read head's last read vector `[B, W]`.
    pub reads: Vec<Tensor>,
    /// The controller's state.
    pub controller: ControllerState,
}

/// What one read head did at one step, for traces; each `[B, ·]`.
pub struct ReadRecord {
    pub content: Tensor,
    pub forward: Tensor,
    pub backward: Tensor,
    pub weighting: Tensor,
    pub read: Tensor,
}

/// What one step did, for traces; each `[B, ·]`.
pub struct DncStepRecord {
    pub interface: Interface,
    pub retention: Tensor,
    pub usage: Tensor,
    pub allocation: Tensor,
    pub write_content: Tensor,
    pub write_weighting: Tensor,
    pub precedence: Tensor,
    pub reads: Vec<ReadRecord>,
    /// L_t `[B, N, N]` (none without links).
    pub link: Option<Tensor>,
}

/// A Differentiable Neural Computer, run on the configured engine: composed candle
/// operations stepped through time ([`Dnc::step`]), or the fused whole-sequence kernel of
/// [`crate::fused::dnc`].
pub struct Dnc {
    config: DncConfig,
    controller: Controller,
    interface: Dense,
    output: Dense,
    /// The parameters in the fused kernel's order, by [`DncSizes::parameter_names`].
    packed: Vec<Tensor>,
    /// Input and output channels.
    widths: (usize, usize),
    dtype: DType,
    device: Device,
}

impl Dnc {
    /// A DNC for `inputs` input and `outputs` output channels; its parameters named
    /// `controller.layer<l>.{weight,bias,h0,c0}`, `interface.{weight,bias}` and
    /// `output.{weight,bias}`.
    pub fn new(config: &DncConfig, params: &ParamBuilder, inputs: usize, outputs: usize) -> Result<Self> {
        let (c, w) = (config.controller_size, config.memory.width);
        let controller = Controller::new(
            &params.pp("controller"),
            ControllerKind::Lstm,
            inputs + config.read_heads * w,
            c,
            config.controller_layers,
            1.0,
        )?;
        let sizes = config.sizes(inputs);
        let interface = Dense::new(params, "interface", c, sizes.parts().width())?;
        let output = Dense::new(params, "output", sizes.features(), outputs)?;
        let packed = sizes
            .parameter_names()
            .iter()
            .map(|name| {
                params.existing(name).ok_or_else(|| {
                    candle_core::Error::Msg(format!("the DNC has no parameter {name}, which the fused kernel takes"))
                })
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(Self {
            config: config.clone(),
            controller,
            interface,
            output,
            packed,
            widths: (inputs, outputs),
            dtype: params.dtype(),
            device: params.device().clone(),
        })
    }

    /// The model's configuration.
    pub fn config(&self) -> &DncConfig {
        &self.config
    }

    fn parts(&self) -> InterfaceParts {
        InterfaceParts::new(self.config.memory.width, self.config.read_heads, self.config.read_modes.len())
    }

    fn uses_links(&self) -> bool {
        self.config.sizes(self.widths.0).uses_links()
    }

    /// The state at the start of every sequence, for `batch` rows: all zero but the
    /// controller's learned h_0 and c_0.
    pub fn initial_state(&self, batch: usize) -> Result<DncState> {
        let (n, w) = (self.config.memory.slots, self.config.memory.width);
        let zeros = |shape: &[usize]| Tensor::zeros(shape, self.dtype, &self.device);
        Ok(DncState {
            memory: zeros(&[batch, n, w])?,
            usage: zeros(&[batch, n])?,
            precedence: zeros(&[batch, n])?,
            link: if self.uses_links() { Some(zeros(&[batch, n, n])?) } else { None },
            write_weighting: zeros(&[batch, n])?,
            read_weightings: (0..self.config.read_heads).map(|_| zeros(&[batch, n])).collect::<Result<_>>()?,
            reads: (0..self.config.read_heads).map(|_| zeros(&[batch, w])).collect::<Result<_>>()?,
            controller: self.controller.initial_state(batch)?,
        })
    }

    /// One time step. `x`: `[B, inputs]` -> logits `[B, outputs]`, the next state, and (when
    /// `record`) what the memory access did.
    pub fn step(&self, x: &Tensor, state: DncState, record: bool) -> Result<(Tensor, DncState, Option<DncStepRecord>)> {
        let mut controller_input = Vec::with_capacity(1 + state.reads.len());
        controller_input.push(x.clone());
        controller_input.extend(state.reads.iter().cloned());
        let controller_input = Tensor::cat(&controller_input, D::Minus1)?; // [B, X + R W]
        let (h, controller) = self.controller.step(&controller_input, &state.controller)?; // [B, C]
        let xi = split(&self.interface.forward(&h)?, self.parts())?;

        // Dynamic allocation, then the write (on M_{t-1}).
        let retention = allocation::retention(&xi.free_gates, &state.read_weightings)?; // [B, N]
        let usage = allocation::usage(&state.usage, &state.write_weighting, &retention)?;
        let allocated = allocation::allocation(&usage)?;
        let write_content = content_weighting(&xi.write_key, &xi.write_strength, &state.memory)?;
        let write_weighting =
            weighting::write_weighting(&allocated, &write_content, &xi.allocation_gate, &xi.write_gate)?;
        let memory = memory::write(&state.memory, &write_weighting, &xi.erase, &xi.write_vector)?; // [B, N, W]

        // Temporal links (with p_{t-1}), then the precedence.
        let link = match &state.link {
            Some(previous) => Some(linkage::link(previous, &write_weighting, &state.precedence)?), // [B, N, N]
            None => None,
        };
        let precedence = linkage::precedence(&state.precedence, &write_weighting)?;

        // The reads, on M_t.
        let mut read_weightings = Vec::with_capacity(self.config.read_heads);
        let mut reads = Vec::with_capacity(self.config.read_heads);
        let mut read_records = Vec::new();
        for (i, previous) in state.read_weightings.iter().enumerate() {
            let (forward, backward) = match &link {
                Some(link) => linkage::directional(link, previous)?,
                None => (previous.zeros_like()?, previous.zeros_like()?),
            };
            let content = content_weighting(&xi.read_keys[i], &xi.read_strengths[i], &memory)?;
            let by_mode: Vec<Tensor> = self
                .config
                .read_modes
                .iter()
                .map(|mode| match mode {
                    ReadMode::Backward => backward.clone(),
                    ReadMode::Content => content.clone(),
                    ReadMode::Forward => forward.clone(),
                })
                .collect();
            let w = weighting::read_weighting(&xi.read_modes[i], &by_mode)?; // [B, N]
            let r = memory::read(&w, &memory)?; // [B, W]
            if record {
                let read = r.clone();
                read_records.push(ReadRecord { content, forward, backward, weighting: w.clone(), read });
            }
            read_weightings.push(w);
            reads.push(r);
        }
        let mut output_input = Vec::with_capacity(1 + reads.len());
        output_input.push(h);
        output_input.extend(reads.iter().cloned());
        let logits = self.output.forward(&Tensor::cat(&output_input, D::Minus1)?)?; // [B, Y]
        let record = record.then(|| DncStepRecord {
            interface: xi,
            retention,
            usage: usage.clone(),
            allocation: allocated,
            write_content,
            write_weighting: write_weighting.clone(),
            precedence: precedence.clone(),
            reads: read_records,
            link: link.clone(),
        });
        let next = DncState { memory, usage, precedence, link, write_weighting, read_weightings, reads, controller };
        Ok((logits, next, record))
    }

    /// The whole sequence on the fused kernel: `inputs` `[T, B, X]` -> logits `[T, B, Y]` and
    /// the kernel's run (for traces).
    fn forward_fused(&self, inputs: &Tensor) -> Result<(Tensor, DncRun)> {
        let (time, batch, x) = inputs.dims3()?;
        let run = crate::fused::dnc::run(&self.config.sizes(x), &self.packed, inputs)?;
        let features = run.features.reshape((time * batch, run.features.dim(2)?))?;
        let logits = self.output.forward(&features)?;
        Ok((logits.reshape((time, batch, logits.dim(1)?))?, run))
    }

    /// The memory record every trace starts from: the initial memory (zeros `[N][W]`).
    fn record(&self, dnc: DncTrace) -> MemoryRecord {
        let (n, w) = (self.config.memory.slots, self.config.memory.width);
        MemoryRecord {
            initial_memory: vec![vec![0.0; w]; n],
            shifts: Vec::new(),
            heads: Vec::new(),
            dnc: Some(dnc),
            memory: None,
        }
    }
}

/// Batch element 0 of a `[B, ...]` tensor as a flat `Vec<f32>`.
fn first_row(t: &Tensor) -> Result<Vec<f32>> {
    t.get(0)?.flatten_all()?.to_dtype(DType::F32)?.to_vec1()
}

fn first_scalar(t: &Tensor) -> Result<f32> {
    Ok(first_row(t)?[0])
}

/// Batch element 0 of a step's record.
fn trace_step(record: &DncStepRecord) -> Result<DncStep> {
    let xi = &record.interface;
    let reads = record
        .reads
        .iter()
        .enumerate()
        .map(|(i, r)| {
            Ok(DncReadStep {
                key: first_row(&xi.read_keys[i])?,
                strength: first_scalar(&xi.read_strengths[i])?,
                modes: first_row(&xi.read_modes[i])?,
                content: first_row(&r.content)?,
                forward: first_row(&r.forward)?,
                backward: first_row(&r.backward)?,
                weighting: first_row(&r.weighting)?,
                read: first_row(&r.read)?,
            })
        })
        .collect::<Result<Vec<_>>>()?;
    let free_gates = xi.free_gates.iter().map(first_scalar).collect::<Result<Vec<_>>>()?;
    Ok(DncStep {
        usage: first_row(&record.usage)?,
        retention: first_row(&record.retention)?,
        allocation: first_row(&record.allocation)?,
        write_content: first_row(&record.write_content)?,
        write_weighting: first_row(&record.write_weighting)?,
        precedence: first_row(&record.precedence)?,
        write_key: first_row(&xi.write_key)?,
        write_strength: first_scalar(&xi.write_strength)?,
        erase: first_row(&xi.erase)?,
        write_vector: first_row(&xi.write_vector)?,
        free_gates,
        allocation_gate: first_scalar(&xi.allocation_gate)?,
        write_gate: first_scalar(&xi.write_gate)?,
        reads,
    })
}

impl SequenceModel for Dnc {
    fn forward(&self, inputs: &Tensor) -> Result<Tensor> {
        if self.config.engine == Engine::Fused {
            return Ok(self.forward_fused(inputs)?.0);
        }
        let state = self.initial_state(inputs.dim(1)?)?;
        unroll(inputs, state, |x, state| {
            let (y, next, _) = self.step(x, state, false)?;
            Ok((y, next))
        })
    }

    /// The fused engine's [`crate::fused::dnc::forward_only`], then the output layer: the bits
    /// of [`Self::forward`] without the tape. The reference engine steps as `forward`.
    fn forward_eval(&self, inputs: &Tensor) -> Result<Tensor> {
        if self.config.engine != Engine::Fused {
            return self.forward(inputs);
        }
        let (time, batch, x) = inputs.dims3()?;
        let features = crate::fused::dnc::forward_only(&self.config.sizes(x), &self.packed, inputs)?;
        let features = features.reshape((time * batch, features.dim(2)?))?; // [T B, C + R W]
        let logits = self.output.forward(&features)?.detach(); // [T B, Y]
        logits.reshape((time, batch, logits.dim(1)?))
    }

    fn forward_traced(&self, inputs: &Tensor) -> Result<(Tensor, Option<MemoryRecord>)> {
        if self.config.engine == Engine::Fused {
            let (logits, run) = self.forward_fused(inputs)?;
            return Ok((logits, Some(self.record(run.trace()?))));
        }
        let time = inputs.dim(0)?;
        let mut state = self.initial_state(inputs.dim(1)?)?;
        let kept = link_steps(time, self.config.memory.slots);
        let (mut outputs, mut steps, mut links) = (Vec::new(), Vec::new(), Vec::new());
        for t in 0..time {
            let (y, next, record) = self.step(&inputs.get(t)?, state, true)?;
            state = next;
            outputs.push(y);
            let record = record.expect("a recording step returns its record");
            steps.push(trace_step(&record)?);
            if let (Some(link), true) = (&record.link, kept.contains(&t)) {
                let matrix: Vec<Vec<f32>> = link.get(0)?.to_dtype(DType::F32)?.to_vec2()?;
                links.push(LinkSnapshot { step: t, matrix });
            }
        }
        let trace = DncTrace { read_modes: self.config.read_modes.clone(), steps, links };
        Ok((Tensor::stack(&outputs, 0)?, Some(self.record(trace))))
    }

    fn parameter_count(&self) -> usize {
        self.config.parameter_count(self.widths.0, self.widths.1)
    }
}
