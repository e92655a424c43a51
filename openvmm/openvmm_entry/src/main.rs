//! `openvmm`: boots a Linux guest on KVM.
//!
//! Exit status: 0 when the guest powers off, 10 when it resets, 1 on a VMM error,
//! 2 on a bad command line.

#![forbid(unsafe_code)]

mod cli;
mod topology_args;

use clap::Parser;
use openvmm_core::ExitReason;
use openvmm_core::VmConfig;
use std::process::ExitCode;

/// Exit status when the guest resets.
const EXIT_RESET: u8 = 10;

fn main() -> ExitCode {
    let cli = match cli::Cli::try_parse() {
        Ok(cli) => cli,
        Err(err) if !err.use_stderr() => {
            let _ = err.print();
            return ExitCode::SUCCESS;
        }
        Err(err) => {
            eprintln!("{}", cli::one_line_error(&err));
            return ExitCode::from(2);
        }
    };
    if let Some(smmu) = cli.smmu.first() {
        eprintln!(
            "openvmm: --smmu rc={}: SMMUv3 needs an aarch64 guest, which this x86_64 host cannot run (the emulator is tested on its own: cargo test -p smmu)",
            smmu.rc
        );
        return ExitCode::from(2);
    }
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("OPENVMM_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .init();

    let config = VmConfig {
        kernel: cli.kernel.clone().unwrap_or_default(),
        initrd: cli.initrd.clone(),
        cmdline: cli.cmdline.clone(),
        memory: cli.memory,
        processors: cli.processors,
        com1: cli.com1.clone(),
        com2: cli.com2.clone(),
        topology: cli.topology(),
    };
    if let Err(err) = config.topology.place(config.memory) {
        eprintln!("openvmm: {err}");
        return ExitCode::from(2);
    }

    if let Some(dir) = &cli.dump_acpi {
        return match dump_acpi(&config, dir) {
            Ok(()) => ExitCode::SUCCESS,
            Err(err) => {
                eprintln!("openvmm: error: {err:#}");
                ExitCode::FAILURE
            }
        };
    }

    match openvmm_core::run(&config) {
        Ok(ExitReason::PowerOff) => ExitCode::SUCCESS,
        Ok(ExitReason::Reset) => ExitCode::from(EXIT_RESET),
        Ok(ExitReason::Error(msg)) => {
            eprintln!("openvmm: error: {msg}");
            ExitCode::FAILURE
        }
        Err(err) => {
            eprintln!("openvmm: error: {err:#}");
            ExitCode::FAILURE
        }
    }
}

fn dump_acpi(config: &VmConfig, dir: &std::path::Path) -> anyhow::Result<()> {
    use anyhow::Context;
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    for (name, bytes) in openvmm_core::acpi_tables(config)?.named() {
        let path = dir.join(name);
        std::fs::write(&path, bytes).with_context(|| format!("writing {}", path.display()))?;
    }
    Ok(())
}
