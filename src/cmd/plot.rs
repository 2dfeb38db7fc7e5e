//! `ntm plot`: the figures, from a run folder's saved records or by running its models
//! (each drawn by the library's [`ntm::plot::figures`] and [`ntm::plot::dynamics`]).

use anyhow::Result;
use ntm::plot::dynamics::{evolution, gradient_flow};
use ntm::plot::figures::{bench, contexts, curves, generalisation, heads, links, outputs, priorities};

use crate::cmd::cli::PlotCommand;

pub fn plot(command: &PlotCommand) -> Result<()> {
    match command {
        PlotCommand::Heads { path, length, repeats, slots, seed, output, no_trace, trace_limit } => {
            let trace = match no_trace {
                true => None,
                false => Some(trace_limit.unwrap_or(ntm::plot::figures::TRACE_LIMIT)),
            };
            for file in heads(path, (*length, *repeats), *slots, *seed, (output.as_deref(), trace))? {
                super::print(&file.display().to_string())?;
            }
        }
        PlotCommand::Links { path, length, repeats, slots, seed, output } => {
            for file in links(path, (*length, *repeats), *slots, *seed, output.as_deref())? {
                super::print(&file.display().to_string())?;
            }
        }
        PlotCommand::Contexts { path, length, seed, output } => {
            for file in contexts(path, *length, *seed, output.as_deref())? {
                super::print(&file.display().to_string())?;
            }
        }
        PlotCommand::Priorities { path, length, seed, output } => {
            for file in priorities(path, *length, *seed, output.as_deref())? {
                super::print(&file.display().to_string())?;
            }
        }
        PlotCommand::GradientFlow { path, models, length, seed, output } => {
            let file = gradient_flow(path, models.as_deref(), *length, *seed, output.as_deref())?;
            super::print(&file.display().to_string())?
        }
        PlotCommand::Evolution { path, length, seed, frame_ms, until, output } => {
            let file = evolution(path, *length, *seed, *frame_ms, *until, output.as_deref())?;
            super::print(&file.display().to_string())?
        }
        PlotCommand::Curves { run, output } => {
            let file = curves(run, output.as_deref())?;
            for (name, dir) in ntm::records::run_dir::model_dirs(run)?.iter().filter_map(|d| Some((d.file_name()?, d)))
            {
                super::note_history(dir, &name.to_string_lossy())?;
            }
            super::print(&file.display().to_string())?
        }
        PlotCommand::Generalisation { run, output } => {
            super::print(&generalisation(run, output.as_deref())?.display().to_string())?
        }
        PlotCommand::Bench { files, output } => super::print(&bench(files, output.as_deref())?.display().to_string())?,
        PlotCommand::Outputs { run, lengths, cells, slots, seed, output } => {
            let cells = cells.as_ref().map(|c| c.0.as_slice());
            let (file, left_out) = outputs(run, (lengths.as_deref(), cells), *slots, *seed, output.as_deref())?;
            super::note_left_out(&slots.map_or(String::new(), |n| n.to_string()), &left_out);
            super::print(&file.display().to_string())?
        }
    }
    Ok(())
}
