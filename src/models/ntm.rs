//! The Neural Turing Machine (paper section 3, figure 1): a controller, read and write heads
//! and an N x M memory, stepped through time with the whole recurrent state passed in and out.
//!
//! One step, for inputs x_t `[B, X]`:
//! ```text
//! h_t            = controller([x_t, r_{t-1}^1 .. r_{t-1}^R], state_{t-1})      [B, C]
//! for each write head i: w_i = address(h_t, M_{t-1}, w_{t-1})
//! M_t            = M_{t-1} prod_i (1 - w_i e_i^T) + sum_i w_i a_i^T                [B, N, M]
//! for each read head:  w = address(h_t, M_t, w_{t-1});      r_t = w^T M_t      [B, M]
//! y_t (logits)   = dense([h_t, r_t^1 .. r_t^R])                                [B, Y]
//! ```
//! Writing before reading lets a value written at step t be read at step t.

use candle_core::{DType, Device, Result, Tensor, D};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use crate::base::kinds::{ControllerKind, Engine, HeadKind, InitialWeighting, MemoryInit};
use crate::fused::ntm::{NtmRun, NtmSizes, INITIAL_MEMORY};
use crate::models::controller::{Controller, ControllerState};
use crate::models::{unroll, MemoryRecord, SequenceModel};
use crate::pieces::addressing::softmax;
use crate::pieces::heads::{Head, HeadParams};
use crate::pieces::memory;
use crate::pieces::params::{Dense, Init, ParamBuilder};
use crate::pieces::trace::{HeadStep, HeadTrace};

/// The initial weighting of every head is softmax of a learned logit vector that starts with
/// this value at slot 0 and 0 elsewhere: the heads start focused on slot 0. A uniform start
/// over a constant memory could never be broken by content addressing or shifts (every slot
/// stays identical), so some asymmetry is needed; this is the one a copying head wants.
pub const INITIAL_FOCUS_LOGIT: f64 = 10.0;

/// The `memory` table of an NTM model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MemoryConfig {
    /// Number of memory slots N (the paper: 128).
    pub slots: usize,
    /// Width M of each slot (the paper: 20).
    pub width: usize,
    /// Initial memory at the start of every sequence: `constant`, `learned` or `random`.
    pub init: MemoryInit,
}

impl Default for MemoryConfig {
    fn default() -> Self {
        Self { slots: 128, width: 20, init: MemoryInit::Constant }
    }
}

/// The `[models.<name>]` table of an NTM (the paper's table 1 sizes by default).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct NtmConfig {
    /// Controller network: `lstm` or `feed-forward`.
    pub controller: ControllerKind,
    /// Units per controller layer (the paper: 100).
    pub controller_size: usize,
    /// Controller layers (the paper: 1, 2 for priority sort).
    pub controller_layers: usize,
    /// Number of read heads.
    pub read_heads: usize,
    /// Number of write heads.
    pub write_heads: usize,
    /// Allowed shifts of the convolutional shift (eq. 8); +1 moves attention to the next slot.
    pub shifts: Vec<i64>,
    /// The memory matrix.
    pub memory: MemoryConfig,
    /// Implementation: `fused` (default; the whole sequence as one custom op,
    /// [`crate::fused::ntm`]) or `reference` (composed candle ops, stepped); same parameters,
    /// same function.
    #[serde(default)]
    pub engine: Engine,
    /// Every head's initial weighting: `focused` (softmax of learned logits that start at
    /// [`INITIAL_FOCUS_LOGIT`] on slot 0) or `uniform` (learned logits that start at 0).
    pub initial_weighting: InitialWeighting,
    /// The LSTM controller's weights start uniform in +-this/sqrt(units).
    pub controller_init_scale: f64,
    /// The heads' projection weights start uniform in +-this/sqrt(controller units).
    pub heads_init_scale: f64,
    /// Set when a trained model runs with another number of slots than it was trained with
    /// ([`crate::models::resize`]): the slots it was trained with. A `random` initial memory then keeps
    /// its trained rows and scale (the same generator, continued or cut). Never in a file.
    #[serde(skip)]
    pub trained_slots: Option<usize>,
}

impl Default for NtmConfig {
    fn default() -> Self {
        Self {
            controller: ControllerKind::Lstm,
            controller_size: 100,
            controller_layers: 1,
            read_heads: 1,
            write_heads: 1,
            shifts: vec![-1, 0, 1],
            memory: MemoryConfig::default(),
            engine: Engine::default(),
            initial_weighting: InitialWeighting::default(),
            controller_init_scale: 1.0,
            heads_init_scale: 1.0,
            trained_slots: None,
        }
    }
}

impl NtmConfig {
    /// The sizes of this NTM for `inputs` input channels: what the fused kernel needs, and
    /// where each parameter sits ([`NtmSizes::parameter_names`]).
    pub fn sizes(&self, inputs: usize) -> NtmSizes {
        NtmSizes {
            inputs,
            controller: self.controller,
            hidden: self.controller_size,
            layers: self.controller_layers,
            read_heads: self.read_heads,
            write_heads: self.write_heads,
            slots: self.memory.slots,
            width: self.memory.width,
            shifts: self.shifts.clone(),
        }
    }

    /// Trainable scalars of this NTM for `inputs` input and `outputs` output channels: the
    /// packed parameters of [`NtmSizes::trainable`] and the output layer `[C + R M, Y]`, `[Y]`.
    pub fn parameter_count(&self, inputs: usize, outputs: usize) -> usize {
        let sizes = self.sizes(inputs);
        sizes.trainable(self.memory.init == MemoryInit::Learned) + (sizes.features() + 1) * outputs
    }

    /// Checks every field; the error names the field, the value and what is allowed.
    pub fn validate(&self) -> std::result::Result<(), String> {
        use crate::base::limits::{check_size, MAX_LAYERS, MAX_SLOTS, MAX_UNITS};
        let sizes = [
            ("controller_size", self.controller_size, MAX_UNITS),
            ("controller_layers", self.controller_layers, MAX_LAYERS),
            ("read_heads", self.read_heads, MAX_LAYERS),
            ("write_heads", self.write_heads, MAX_LAYERS),
            ("memory.slots", self.memory.slots, MAX_SLOTS),
            ("memory.width", self.memory.width, MAX_UNITS),
        ];
        for (field, value, max) in sizes {
            check_size(field, value, max)?;
        }
        if self.shifts.is_empty() {
            return Err("shifts = []: give at least one shift, e.g. [-1, 0, 1]".into());
        }
        let n = self.memory.slots as i64;
        if let Some(s) = self.shifts.iter().find(|s| s.abs() >= n.max(1)) {
            return Err(format!("shifts contains {s}: each shift must be within +-(memory.slots - 1) = +-{}", n - 1));
        }
        let mut sorted = self.shifts.clone();
        sorted.sort_unstable();
        sorted.dedup();
        if sorted.len() != self.shifts.len() {
            return Err(format!("shifts = {:?}: each shift may appear once", self.shifts));
        }
        Ok(())
    }
}

/// The recurrent state between steps. Nothing else changes during a sequence.
#[derive(Debug, Clone)]
pub struct NtmState {
    /// Memory M_t, `[B, N, M]`.
    pub memory: Tensor,
    /// Each read head's last weighting, `[B, N]`.
    pub read_weightings: Vec<Tensor>,
    /// Each write head's last weighting, `[B, N]`.
    pub write_weightings: Vec<Tensor>,
    /// Each read head's last read vector, `[B, M]`.
    pub reads: Vec<Tensor>,
    /// The controller's state.
    pub controller: ControllerState,
}

/// What one step did, for traces: the heads' parameters and weightings.
pub struct StepRecord {
    /// Per head (read heads first): parameters, weightings, and the read vector for read heads.
    pub heads: Vec<(HeadParams, crate::pieces::addressing::Addressed, Option<Tensor>)>,
}

/// A Neural Turing Machine, run on the configured engine: composed candle operations stepped
/// through time ([`Ntm::step`]), or the fused whole-sequence kernel of [`crate::fused::ntm`].
pub struct Ntm {
    config: NtmConfig,
    controller: Controller,
    read_heads: Vec<Head>,
    write_heads: Vec<Head>,
    output: Dense,
    initial_reads: Vec<Tensor>,            // [M] each
    initial_read_weightings: Vec<Tensor>,  // [N] logits each
    initial_write_weightings: Vec<Tensor>, // [N] logits each
    initial_memory: Option<Tensor>,        // [N, M] for learned and random init
    /// The parameters in the fused kernel's order, by [`NtmSizes::parameter_names`] (the
    /// initial memory, constant or random, among them).
    packed: Vec<Tensor>,
    /// Input and output channels.
    widths: (usize, usize),
    dtype: DType,
    device: Device,
}

impl Ntm {
    /// An NTM for `inputs` input and `outputs` output channels.
    pub fn new(config: &NtmConfig, params: &ParamBuilder, inputs: usize, outputs: usize) -> Result<Self> {
        let (n, m) = (config.memory.slots, config.memory.width);
        let (c, s) = (config.controller_size, config.shifts.len());
        let controller = Controller::new(
            &params.pp("controller"),
            config.controller,
            inputs + config.read_heads * m,
            c,
            config.controller_layers,
            config.controller_init_scale,
        )?;
        let heads = params.pp("heads");
        let read_heads = (0..config.read_heads)
            .map(|i| Head::new(&heads, &format!("read{i}"), HeadKind::Read, c, m, s, config.heads_init_scale))
            .collect::<Result<Vec<_>>>()?;
        let write_heads = (0..config.write_heads)
            .map(|i| Head::new(&heads, &format!("write{i}"), HeadKind::Write, c, m, s, config.heads_init_scale))
            .collect::<Result<Vec<_>>>()?;
        let output = Dense::new(params, "output", c + config.read_heads * m, outputs)?;
        let init = params.pp("initial");
        let mut focus = vec![0.0; n];
        if config.initial_weighting == InitialWeighting::Focused {
            focus[0] = INITIAL_FOCUS_LOGIT;
        }
        let bound = 1.0 / ((n + m) as f64).sqrt();
        // The random memory's scale is the one it was trained with.
        let memory_bound = 1.0 / ((config.trained_slots.unwrap_or(n) + m) as f64).sqrt();
        let initial_reads = (0..config.read_heads)
            .map(|i| init.get(&[m], &format!("read{i}"), Init::Uniform(bound)))
            .collect::<Result<Vec<_>>>()?;
        let initial_read_weightings = (0..config.read_heads)
            .map(|i| init.get(&[n], &format!("read{i}_weighting"), Init::Values(focus.clone())))
            .collect::<Result<Vec<_>>>()?;
        let initial_write_weightings = (0..config.write_heads)
            .map(|i| init.get(&[n], &format!("write{i}_weighting"), Init::Values(focus.clone())))
            .collect::<Result<Vec<_>>>()?;
        let initial_memory = match config.memory.init {
            MemoryInit::Constant => None,
            MemoryInit::Learned => Some(init.get(&[n, m], "memory", Init::Uniform(bound))?),
            MemoryInit::Random => {
                // A fixed generator: the same matrix for every seed and whatever else is built.
                let mut rng = ChaCha8Rng::seed_from_u64(0x4e544d); // "NTM"
                let values: Vec<f64> = (0..n * m).map(|_| rng.random_range(-memory_bound..=memory_bound)).collect();
                Some(Tensor::from_vec(values, (n, m), params.device())?.to_dtype(params.dtype())?)
            }
        };
        // The fused kernel's parameters, by the names its packing gives, in its order.
        let packed = config
            .sizes(inputs)
            .parameter_names()
            .iter()
            .map(|name| match (name == INITIAL_MEMORY, &initial_memory) {
                (true, Some(memory)) => Ok(memory.clone()),
                (true, None) => memory::constant_memory(1, n, m, params.dtype(), params.device())?.squeeze(0),
                (false, _) => params.existing(name).ok_or_else(|| {
                    candle_core::Error::Msg(format!("the NTM has no parameter {name}, which the fused kernel takes"))
                }),
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(Self {
            config: config.clone(),
            controller,
            read_heads,
            write_heads,
            output,
            initial_reads,
            initial_read_weightings,
            initial_write_weightings,
            initial_memory,
            packed,
            widths: (inputs, outputs),
            dtype: params.dtype(),
            device: params.device().clone(),
        })
    }

    /// The model's configuration.
    pub fn config(&self) -> &NtmConfig {
        &self.config
    }

    /// The state at the start of every sequence, for `batch` rows.
    pub fn initial_state(&self, batch: usize) -> Result<NtmState> {
        let (n, m) = (self.config.memory.slots, self.config.memory.width);
        let memory = match &self.initial_memory {
            None => memory::constant_memory(batch, n, m, self.dtype, &self.device)?,
            Some(mem) => mem.unsqueeze(0)?.broadcast_as((batch, n, m))?,
        };
        let weighting = |logits: &Tensor| softmax(&logits.unsqueeze(0)?)?.broadcast_as((batch, n));
        Ok(NtmState {
            memory,
            read_weightings: self.initial_read_weightings.iter().map(weighting).collect::<Result<_>>()?,
            write_weightings: self.initial_write_weightings.iter().map(weighting).collect::<Result<_>>()?,
            reads: self
                .initial_reads
                .iter()
                .map(|r| r.unsqueeze(0)?.broadcast_as((batch, m)))
                .collect::<Result<_>>()?,
            controller: self.controller.initial_state(batch)?,
        })
    }

    /// The whole sequence on the fused kernel: `inputs` `[T, B, X]` -> logits `[T, B, Y]` and
    /// the kernel's run (for traces).
    fn forward_fused(&self, inputs: &Tensor) -> Result<(Tensor, NtmRun)> {
        let (time, batch, x) = inputs.dims3()?;
        let run = crate::fused::ntm::run(&self.config.sizes(x), &self.packed, inputs)?;
        let features = run.features.reshape((time * batch, run.features.dim(2)?))?;
        let logits = self.output.forward(&features)?;
        Ok((logits.reshape((time, batch, logits.dim(1)?))?, run))
    }

    /// M_t = M_{t-1} prod_i (1 - w_i e_i) + sum_i w_i a_i over the write heads' `(w, e, a)`
    /// (eqs. 3, 4). One head is one erase-and-add write; several are erased first, then added.
    fn write(&self, memory: Tensor, writes: &[(Tensor, Tensor, Tensor)]) -> Result<Tensor> {
        if let [(w, e, a)] = writes {
            return memory::write(&memory, w, e, a);
        }
        let mut memory = memory;
        for (w, e, a) in writes {
            memory = memory::write(&memory, w, e, &a.zeros_like()?)?;
        }
        for (w, e, a) in writes {
            memory = memory::write(&memory, w, &e.zeros_like()?, a)?;
        }
        Ok(memory)
    }

    /// One time step. `x`: `[B, inputs]` -> logits `[B, outputs]`, the next state, and (when
    /// `record`) what the heads did.
    pub fn step(&self, x: &Tensor, state: NtmState, record: bool) -> Result<(Tensor, NtmState, Option<StepRecord>)> {
        let shifts = &self.config.shifts;
        let mut controller_input = Vec::with_capacity(1 + state.reads.len());
        controller_input.push(x.clone());
        controller_input.extend(state.reads.iter().cloned());
        let controller_input = Tensor::cat(&controller_input, D::Minus1)?; // [B, X + R*M]
        let (h, controller) = self.controller.step(&controller_input, &state.controller)?; // [B, C]

        let mut records = Vec::new();
        // Every write head addresses M_{t-1}; then all erases, then all adds (section 3.2: the
        // erase products commute and the adds sum, so the heads' order does not matter).
        let mut writes = Vec::with_capacity(self.write_heads.len()); // (w, e, a), each [B, ·]
        let mut write_weightings = Vec::with_capacity(self.write_heads.len());
        for (head, previous) in self.write_heads.iter().zip(&state.write_weightings) {
            let (params, addressed) = head.address(&h, &state.memory, previous, shifts)?;
            let (erase, add) = match (&params.erase, &params.add) {
                (Some(e), Some(a)) => (e.clone(), a.clone()),
                _ => candle_core::bail!("a write head produced no erase or add vector"),
            };
            writes.push((addressed.weighting.clone(), erase, add));
            write_weightings.push(addressed.weighting.clone());
            if record {
                records.push((params, addressed, None));
            }
        }
        let memory = self.write(state.memory, &writes)?; // [B, N, M]
        let mut read_weightings = Vec::with_capacity(self.read_heads.len());
        let mut reads = Vec::with_capacity(self.read_heads.len());
        let mut read_records = Vec::new();
        for (head, previous) in self.read_heads.iter().zip(&state.read_weightings) {
            let (params, addressed) = head.address(&h, &memory, previous, shifts)?;
            let r = memory::read(&addressed.weighting, &memory)?; // [B, M]
            read_weightings.push(addressed.weighting.clone());
            if record {
                read_records.push((params, addressed, Some(r.clone())));
            }
            reads.push(r);
        }
        let mut output_input = Vec::with_capacity(1 + reads.len());
        output_input.push(h);
        output_input.extend(reads.iter().cloned());
        let logits = self.output.forward(&Tensor::cat(&output_input, D::Minus1)?)?; // [B, Y]
        let record = record.then(|| {
            read_records.extend(records);
            StepRecord { heads: read_records }
        });
        let next = NtmState { memory, read_weightings, write_weightings, reads, controller };
        Ok((logits, next, record))
    }
}

/// Batch element 0 of a `[B, ...]` tensor as a flat `Vec<f32>`.
fn first_row(t: &Tensor) -> Result<Vec<f32>> {
    t.get(0)?.flatten_all()?.to_dtype(DType::F32)?.to_vec1()
}

fn first_scalar(t: &Tensor) -> Result<f32> {
    Ok(first_row(t)?[0])
}

impl SequenceModel for Ntm {
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

    /// The fused engine's [`crate::fused::ntm::forward_only`], then the output layer: the
    /// bits of [`Self::forward`] without the tape. The reference engine steps as `forward`.
    fn forward_eval(&self, inputs: &Tensor) -> Result<Tensor> {
        if self.config.engine != Engine::Fused {
            return self.forward(inputs);
        }
        let (time, batch, x) = inputs.dims3()?;
        let features = crate::fused::ntm::forward_only(&self.config.sizes(x), &self.packed, inputs)?;
        let features = features.reshape((time * batch, features.dim(2)?))?; // [T B, C + R M]
        let logits = self.output.forward(&features)?.detach(); // [T B, Y]
        logits.reshape((time, batch, logits.dim(1)?))
    }

    fn forward_traced(&self, inputs: &Tensor) -> Result<(Tensor, Option<MemoryRecord>)> {
        self.traced(inputs, false).map(|(logits, record)| (logits, Some(record)))
    }

    fn forward_traced_with_memory(&self, inputs: &Tensor) -> Result<(Tensor, Option<MemoryRecord>)> {
        self.traced(inputs, true).map(|(logits, record)| (logits, Some(record)))
    }

    fn parameter_count(&self) -> usize {
        self.config.parameter_count(self.widths.0, self.widths.1)
    }
}

impl Ntm {
    /// The logits and what the heads did in batch element 0, with the memory after every step
    /// if `memory` (see [`SequenceModel::forward_traced_with_memory`]).
    fn traced(&self, inputs: &Tensor, memory: bool) -> Result<(Tensor, MemoryRecord)> {
        let mut state = self.initial_state(inputs.dim(1)?)?;
        let initial_memory: Vec<Vec<f32>> = state.memory.get(0)?.to_dtype(DType::F32)?.to_vec2()?;
        let shifts = self.config.shifts.clone();
        if self.config.engine == Engine::Fused {
            let (logits, run) = self.forward_fused(inputs)?;
            let (heads, memory) = (run.head_traces()?, memory.then(|| run.memories()).transpose()?);
            return Ok((logits, MemoryRecord { initial_memory, shifts, heads, memory, dnc: None }));
        }
        let mut heads: Vec<HeadTrace> = self
            .read_heads
            .iter()
            .enumerate()
            .chain(self.write_heads.iter().enumerate())
            .map(|(index, head)| HeadTrace { kind: head.kind(), index, steps: Vec::new() })
            .collect();
        let mut outputs = Vec::new();
        let mut memories = memory.then(Vec::new); // [T, N, M]
        for t in 0..inputs.dim(0)? {
            let (y, next, record) = self.step(&inputs.get(t)?, state, true)?;
            state = next;
            outputs.push(y);
            if let Some(memories) = &mut memories {
                memories.extend(first_row(&state.memory)?);
            }
            let record = record.expect("a recording step returns its record");
            for (trace, (params, addressed, read)) in heads.iter_mut().zip(record.heads) {
                let a = &params.addressing;
                trace.steps.push(HeadStep {
                    weighting: first_row(&addressed.weighting)?,
                    content_weighting: first_row(&addressed.content)?,
                    key: first_row(&a.key)?,
                    beta: first_scalar(&a.beta)?,
                    gate: first_scalar(&a.gate)?,
                    shift: first_row(&a.shift)?,
                    gamma: first_scalar(&a.gamma)?,
                    erase: params.erase.as_ref().map(first_row).transpose()?,
                    add: params.add.as_ref().map(first_row).transpose()?,
                    read: read.as_ref().map(first_row).transpose()?,
                });
            }
        }
        let record = MemoryRecord { initial_memory, shifts, heads, memory: memories, dnc: None };
        Ok((Tensor::stack(&outputs, 0)?, record))
    }
}
