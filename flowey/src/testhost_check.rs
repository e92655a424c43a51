//! `testhost-check`: boots the test host with stand-in jobs (no openvmm), to
//! check nested KVM in L1 and measure the L1 boot.

use petri::testhost::L1Job;
use petri::testhost::L1Options;
use std::time::Duration;

const STAND_IN: &str = "ls -l /dev/kvm; echo kvm_amd npt=$(cat /sys/module/kvm_amd/parameters/npt); \
                        echo cpus=$(grep -c ^processor /proc/cpuinfo); cat /tmp/insmod.log 2>/dev/null; echo hi";

/// Runs `jobs` stand-in jobs in one L1 boot.
pub fn main(jobs: usize) -> anyhow::Result<i32> {
    let a = crate::artifacts::restore(false)?;
    let opts = L1Options::from_env();
    let list: Vec<L1Job> = (0..jobs)
        .map(|i| L1Job {
            name: format!("stand-in-{i}"),
            argv: vec!["/bin/sh".into(), "-c".into(), STAND_IN.into()],
            timeout: Duration::from_secs(60),
            stream: true,
        })
        .collect();
    let report = petri::testhost::run_jobs("testhost-check", &a, &[], &list, &opts);
    let mut ok = true;
    for (i, j) in report.jobs.iter().enumerate() {
        match j {
            Ok(r) => {
                let good =
                    r.status == 0 && r.console.contains("/dev/kvm") && r.console.contains("npt=Y");
                ok &= good;
                eprintln!(
                    "flowey: stand-in {i}: status {} in {} ms, /dev/kvm and npt=Y {}",
                    r.status,
                    r.l1_ms,
                    if good { "present" } else { "MISSING" }
                );
            }
            Err(e) => {
                ok = false;
                eprintln!("flowey: stand-in {i}: {e}");
            }
        }
    }
    for b in &report.boots {
        eprintln!(
            "flowey: L1 boot {} (-smp {}): ready after {}, total {:.1}s, {}",
            b.attempt,
            opts.smp,
            b.ready_after
                .map_or("-".into(), |d| format!("{:.1}s", d.as_secs_f64())),
            b.total.as_secs_f64(),
            b.failure.as_deref().unwrap_or("ok")
        );
    }
    eprintln!("flowey: logs in {}", report.log_dir.display());
    Ok(if ok { 0 } else { 1 })
}
