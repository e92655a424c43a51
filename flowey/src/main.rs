//! flowey: the project's automation, run as `cargo xflowey ...`.
//!
//! - `restore-artifacts`: fetch the Debian guest kernel and busybox, build the
//!   guest and test-host initramfs images (cached under `target/artifacts/`).
//! - `run`: boot the default guest under openvmm (directly or in the test host).
//! - `test`: everything CI runs.
//! - `bench`: disk IOPS behind each IOMMU and VM exits per I/O.
//! - `testhost-check`: boot the test host with a stand-in job (no openvmm needed).

mod artifacts;
mod bench;
mod cargo;
mod initramfs;
mod modules;
mod run;
mod test;
mod testhost_check;
mod util;

use clap::Parser;
use clap::Subcommand;

#[derive(Parser)]
#[command(
    name = "cargo xflowey",
    about = "openvmm automation: artifacts, run, test"
)]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Download the guest kernel and busybox and build the initramfs images.
    RestoreArtifacts {
        /// Rebuild the initramfs images even if they are up to date.
        #[arg(long)]
        force: bool,
    },
    /// Boot the default guest: `run [OPENVMM FLAGS] [--append "KERNEL ARGS"] [-- GUEST COMMAND...]`.
    ///
    /// Without a guest command the guest prints its IOMMU / interrupt report.
    /// With one, its output is streamed and its exit status is this command's.
    #[command(disable_help_flag = true)]
    Run {
        /// openvmm flags, `--append ARGS`, then `--` and the guest command.
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<String>,
    },
    /// Run everything CI runs: fmt, clippy, unit tests, artifacts, VM tests.
    Test,
    /// Measure guest disk IOPS behind each IOMMU and VM exits per I/O.
    Bench {
        /// Interleaved rounds per configuration.
        #[arg(long, default_value_t = 3)]
        rounds: usize,
        /// Seconds of I/O per run.
        #[arg(long, default_value_t = 10)]
        seconds: u32,
    },
    /// Boot the test host with stand-in jobs (checks KVM in L1, measures boot time).
    TesthostCheck {
        /// Stand-in jobs to run in one boot.
        #[arg(long, default_value_t = 1)]
        jobs: usize,
    },
}

fn main() {
    // `cargo xflowey run` receives its arguments raw, with the `--` kept.
    let argv: Vec<String> = std::env::args().collect();
    let code = if argv.get(1).map(String::as_str) == Some("run") {
        run::main(&argv[2..])
    } else {
        let cli = Cli::parse();
        match cli.cmd {
            Cmd::RestoreArtifacts { force } => artifacts::restore(force).map(|_| 0),
            Cmd::Run { args } => run::main(&args),
            Cmd::Test => test::main(),
            Cmd::Bench { rounds, seconds } => bench::main(rounds.max(1), seconds.max(2)),
            Cmd::TesthostCheck { jobs } => testhost_check::main(jobs),
        }
    };
    match code {
        Ok(c) => std::process::exit(c),
        Err(e) => {
            eprintln!("flowey: error: {e:#}");
            std::process::exit(1);
        }
    }
}
