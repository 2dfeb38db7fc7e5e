mod cmd;

use std::io::Write;
use std::process::ExitCode;

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
    ntm::base::allocator::keep_freed_memory();
    let cli = match cmd::cli::parse() {
        Ok(cli) => cli,
        // Help and version as clap writes them (`ntm` alone: the help, on stderr).
        Err(e) if !e.use_stderr() || e.kind() == clap::error::ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => {
            e.exit()
        }
        // Any other: one line and exit status 1, as every other bad input.
        Err(e) => {
            let _ = writeln!(std::io::stderr(), "{}", cmd::cli::one_line(&e));
            return ExitCode::FAILURE;
        }
    };
    match cmd::execute(cli) {
        Ok(()) => ExitCode::SUCCESS,
        // Ctrl-C, SIGTERM, SIGHUP: the checkpoints are saved and the line says how to continue.
        Err(e) if e.is::<cmd::Interrupted>() => {
            let code = e.downcast_ref::<cmd::Interrupted>().map_or(1, cmd::Interrupted::exit_code);
            let _ = writeln!(std::io::stderr(), "{e}");
            ExitCode::from(code)
        }
        Err(e) => {
            let _ = writeln!(std::io::stderr(), "error: {}", format!("{e:#}").replace('\n', " "));
            ExitCode::FAILURE
        }
    }
}
