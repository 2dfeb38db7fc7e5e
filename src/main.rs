mod cmd;

use std::process::ExitCode;

use clap::Parser;

/// Training allocates and frees thousands of small tensors per sequence; mimalloc keeps that
/// off the system allocator's slow paths (memory-sized buffers would otherwise be mmapped and
/// unmapped every step).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    // `ntm eval ... | head -2`: when the reader closes the pipe, end quietly as other Unix
    // tools do (killed by SIGPIPE) instead of panicking at the next print (Rust ignores SIGPIPE
    // by default, so a print into a closed pipe fails). Files are not pipes: a run's saved
    // outputs are written as before.
    #[cfg(unix)]
    // SAFETY: restoring the default disposition of one signal, before any thread is started.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
    // These tiny ops only slow down with a second thread; users may override.
    ntm::base::pool::prefer_one_thread();
    let cli = match cmd::cli::Cli::try_parse() {
        Ok(cli) => cli,
        // A value our parsers refuse (`--repeats 0,-1`): clap's first line says which option,
        // which value and why; one line and exit status 1, as every other bad input.
        Err(e) if e.kind() == clap::error::ErrorKind::ValueValidation => {
            let rendered = e.render().to_string();
            eprintln!("{}", rendered.lines().next().unwrap_or("error: invalid value"));
            return ExitCode::FAILURE;
        }
        Err(e) => e.exit(),
    };
    match cmd::execute(cli) {
        Ok(()) => ExitCode::SUCCESS,
        // Ctrl-C: the checkpoints are saved and the line says how to continue.
        Err(e) if e.is::<cmd::Interrupted>() => {
            eprintln!("{e}");
            ExitCode::from(cmd::INTERRUPTED_EXIT)
        }
        Err(e) => {
            eprintln!("error: {}", format!("{e:#}").replace('\n', " "));
            ExitCode::FAILURE
        }
    }
}
