//! `bench`: guest disk throughput behind each emulated IOMMU, and VM exits to
//! userspace per I/O, measured in one run with interleaved rounds.
//!
//! Each configuration boots a guest with a virtio-blk disk (VIRTIO_F_ACCESS_PLATFORM,
//! so Linux's DMA API and the IOMMU are in the path) and runs the guest's `iobench`
//! (4 KiB random O_DIRECT reads, queue depth 32). Exits per I/O come from openvmm's
//! exit counters: the difference between a long and a short run of the same
//! configuration, divided by the difference in I/Os, so boot-time exits cancel out.

use petri::PetriVmConfig;

struct Config {
    name: &'static str,
    vmm: &'static [&'static str],
    kernel: &'static [&'static str],
}

const CONFIGS: &[Config] = &[
    Config {
        name: "no-iommu",
        vmm: &[],
        kernel: &[],
    },
    Config {
        name: "vtd-lazy",
        vmm: &["--intel-vtd", "rc0"],
        kernel: &["intel_iommu=on"],
    },
    Config {
        name: "vtd-strict",
        vmm: &["--intel-vtd", "rc0"],
        kernel: &["intel_iommu=on", "iommu.strict=1"],
    },
    Config {
        name: "amd-lazy",
        vmm: &["--amd-iommu", "rc0"],
        kernel: &[],
    },
    Config {
        name: "amd-strict",
        vmm: &["--amd-iommu", "rc0"],
        kernel: &["iommu.strict=1"],
    },
];

fn guest(c: &Config, round: usize, seconds: u32) -> PetriVmConfig {
    PetriVmConfig::new(&format!("bench-{}-r{round}-{seconds}s", c.name))
        .processors(2)
        .memory("1G")
        .kernel_args(c.kernel)
        .vmm_args(c.vmm)
        .vmm_args(&["--dma-test", "auto"])
        .disk("bench", 256, None)
        .host_setup("export OPENVMM_EXIT_STATS=1")
        .command(&format!("iobench /dev/vda {seconds} 32 read"))
        .timeout(std::time::Duration::from_secs(180 + seconds as u64))
}

fn parse(run: &petri::GuestRun) -> Option<(f64, u64, u64)> {
    let text = format!("{}\n{}", run.console, run.vmm_stderr);
    let line = text.lines().find(|l| l.contains("iobench: mode="))?;
    let field = |l: &str, k: &str| -> Option<String> {
        l.split_whitespace()
            .find_map(|w| w.strip_prefix(k).map(str::to_string))
    };
    let iops: f64 = field(line, "iops=")?.parse().ok()?;
    let ios: u64 = field(line, "ios=")?.parse().ok()?;
    let exits_line = text.lines().find(|l| l.contains("exits total="))?;
    let exits: u64 = field(exits_line, "total=")?.parse().ok()?;
    Some((iops, ios, exits))
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

/// Runs the benchmark.
pub fn main(rounds: usize, seconds: u32) -> anyhow::Result<i32> {
    crate::artifacts::restore(false)?;
    crate::cargo::build_openvmm_release()?;
    let mut vms = Vec::new();
    for round in 0..rounds {
        for c in CONFIGS {
            vms.push(guest(c, round, seconds));
        }
    }
    // One short run per configuration for the exits-per-I/O baseline.
    for c in CONFIGS {
        vms.push(guest(c, 0, 1));
    }
    let results = petri::run_batch("bench", vms);
    let mut failed = false;
    let mut table = Vec::new();
    for (i, c) in CONFIGS.iter().enumerate() {
        let mut iops = Vec::new();
        let mut long = None;
        for round in 0..rounds {
            match &results[round * CONFIGS.len() + i] {
                Ok(run) => match parse(run) {
                    Some((v, ios, exits)) => {
                        iops.push(v);
                        long = Some((ios, exits));
                    }
                    None => {
                        failed = true;
                        eprintln!("{}", run.report(&format!("bench {}: no result", c.name)));
                    }
                },
                Err(e) => {
                    failed = true;
                    eprintln!("bench {}: {e}", c.name);
                }
            }
        }
        let short = results[rounds * CONFIGS.len() + i]
            .as_ref()
            .ok()
            .and_then(parse)
            .map(|(_, ios, exits)| (ios, exits));
        let exits_per_io = match (long, short) {
            (Some((li, le)), Some((si, se))) if li > si => {
                Some((le as f64 - se as f64) / (li - si) as f64)
            }
            _ => None,
        };
        table.push((
            c.name,
            (!iops.is_empty()).then(|| median(&mut iops)),
            exits_per_io,
        ));
    }
    let base = table[0].1;
    println!("\n| configuration | IOPS (median of {rounds}) | vs no-iommu | exits to userspace per I/O |");
    println!("| --- | --- | --- | --- |");
    for (name, iops, epi) in &table {
        let ratio = match (iops, base) {
            (Some(v), Some(b)) if b > 0.0 => format!("{:.2}x", v / b),
            _ => "-".into(),
        };
        println!(
            "| {name} | {} | {ratio} | {} |",
            iops.map_or("-".into(), |v| format!("{v:.0}")),
            epi.map_or("-".into(), |v| format!("{v:.3}"))
        );
    }
    println!(
        "\n(4 KiB random O_DIRECT reads, QD32, {seconds} s per run, virtio-blk on a sparse raw file; {})",
        match petri::host_decision() {
            petri::HostDecision::Use(mode, _) => format!("{mode:?} host mode"),
            _ => "host mode unknown".into(),
        }
    );
    Ok(if failed { 1 } else { 0 })
}
