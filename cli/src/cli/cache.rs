//! `kiln cache`: where the compiled-artifact cache lives, and emptying it.

use anyhow::Result;
use clap::Subcommand;
use kiln::Cache;
use std::process::ExitCode;

#[derive(Subcommand)]
pub(crate) enum CacheCommand {
    /// Print the cache directory ($KILN_CACHE_DIR, else $XDG_CACHE_HOME/kiln, else ~/.cache/kiln).
    Dir,
    /// Remove every cached library.
    Clean,
}

pub(crate) fn cache(command: CacheCommand) -> Result<ExitCode> {
    let cache = Cache::user()?;
    match command {
        CacheCommand::Dir => println!("{}", cache.dir().display()),
        CacheCommand::Clean => {
            let cleaned = cache.clean()?;
            println!(
                "removed {} cache entries ({:.1} MiB) from {}",
                cleaned.entries,
                cleaned.bytes as f64 / (1024.0 * 1024.0),
                cache.dir().display()
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}
