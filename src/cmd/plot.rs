//! `ntm plot`: the figures, from a run folder's saved records or by running its models
//! (each drawn by the library's [`ntm::plot::figures`]).

use anyhow::Result;
use ntm::plot::figures::{bench, curves, generalisation, heads, links, outputs};

use crate::cmd::cli::PlotCommand;

pub fn plot(command: &PlotCommand) -> Result<()> {
    match command {
        PlotCommand::Heads { path, length, repeats, slots, seed, output } => {
            for file in heads(path, (*length, *repeats), *slots, *seed, output.as_deref())? {
                println!("{}", file.display());
            }
        }
        PlotCommand::Links { path, length, repeats, slots, seed, output } => {
            for file in links(path, (*length, *repeats), *slots, *seed, output.as_deref())? {
                println!("{}", file.display());
            }
        }
        PlotCommand::Curves { run, output } => println!("{}", curves(run, output.as_deref())?.display()),
        PlotCommand::Generalisation { run, output } => {
            println!("{}", generalisation(run, output.as_deref())?.display())
        }
        PlotCommand::Bench { files, output } => println!("{}", bench(files, output.as_deref())?.display()),
        PlotCommand::Outputs { run, lengths, cells, slots, seed, output } => {
            let cells = cells.as_ref().map(|c| c.0.as_slice());
            let (file, left_out) = outputs(run, (lengths.as_deref(), cells), *slots, *seed, output.as_deref())?;
            super::note_left_out(&slots.map_or(String::new(), |n| n.to_string()), &left_out);
            println!("{}", file.display())
        }
    }
    Ok(())
}
