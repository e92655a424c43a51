//! Boot tests (issue #2 item 8). All guests run in one batch, so in the TCG
//! test host they share one L1 boot; each test checks its part of the batch.
//! The batch runs once per process (the first test to ask starts it).

use petri::GuestRun;
use petri::PetriError;
use petri::PetriVmConfig;
use std::sync::OnceLock;
use vmm_tests::find_irq;
use vmm_tests::keyed;
use vmm_tests::mem_total;
use vmm_tests::parse_size;

/// Guest command for the 1-CPU guest: facts, then console load between two
/// samples of the ttyS0 interrupt line.
const PROBE_WITH_CONSOLE_LOAD: &str = r#"
echo petri-shell-ok
echo "nproc=$(nproc)"
grep MemTotal /proc/meminfo
echo "irq-before: $(grep -w ttyS0 /proc/interrupts)"
i=0
while [ $i -lt 40 ]; do
    echo "console load line $i: the quick brown fox jumps over the lazy dog"
    i=$((i + 1))
done
echo "irq-after: $(grep -w ttyS0 /proc/interrupts)"
"#;

const PROBE: &str = r#"
echo "kernel-warnings=$(dmesg | grep -c 'WARNING: CPU')"
dmesg | grep -A2 'WARNING: CPU' | head -6
echo petri-shell-ok
echo "nproc=$(nproc)"
grep MemTotal /proc/meminfo
"#;

const P1: usize = 0;
const P2: usize = 1;
const POWEROFF: usize = 2;
const REBOOT: usize = 3;

struct Guest {
    memory: &'static str,
    processors: u32,
}

const GUESTS: [Guest; 2] = [
    Guest {
        memory: "1G",
        processors: 1,
    },
    Guest {
        memory: "2G",
        processors: 2,
    },
];

fn suite() -> &'static Vec<Result<GuestRun, String>> {
    static SUITE: OnceLock<Vec<Result<GuestRun, String>>> = OnceLock::new();
    SUITE.get_or_init(|| {
        let vms = vec![
            PetriVmConfig::new("boot_p1_1g")
                .processors(GUESTS[P1].processors)
                .memory(GUESTS[P1].memory)
                .command(PROBE_WITH_CONSOLE_LOAD),
            PetriVmConfig::new("boot_p2_2g")
                .processors(GUESTS[P2].processors)
                .memory(GUESTS[P2].memory)
                .command(PROBE),
            PetriVmConfig::new("poweroff")
                .processors(1)
                .memory("512M")
                .command("echo going down; poweroff -f"),
            PetriVmConfig::new("reboot")
                .processors(1)
                .memory("512M")
                .command("echo rebooting; reboot -f"),
        ];
        let start = std::time::Instant::now();
        let results = petri::run_batch("boot_tests", vms);
        eprintln!(
            "vmm_tests: boot batch took {:.1}s",
            start.elapsed().as_secs_f64()
        );
        results
            .into_iter()
            .map(|r| match r {
                Ok(run) => Ok(run),
                Err(PetriError::Skipped(why)) => Err(format!("SKIP:{why}")),
                Err(e) => Err(e.to_string()),
            })
            .collect()
    })
}

/// The run for guest `i`; `None` (after a loud message) if VM tests are skipped
/// on this machine. Panics on a set-up or infrastructure failure.
fn guest(i: usize) -> Option<&'static GuestRun> {
    match &suite()[i] {
        Ok(run) => Some(run),
        Err(e) if e.starts_with("SKIP:") => {
            eprintln!(
                "\n!!! SKIPPING VM TEST: {} !!!\n",
                e.trim_start_matches("SKIP:")
            );
            None
        }
        Err(e) => panic!("{e}"),
    }
}

#[test]
fn guest_reaches_its_shell() {
    for i in [P1, P2] {
        let Some(run) = guest(i) else { return };
        run.ensure_success();
        run.ensure(
            run.output.contains("petri-shell-ok"),
            "the guest shell did not run the command",
        );
    }
}

fn check_nproc(i: usize) {
    let Some(run) = guest(i) else { return };
    run.ensure_success();
    let want = GUESTS[i].processors.to_string();
    run.ensure(
        keyed(&run.output, "nproc") == Some(want.as_str()),
        &format!("nproc in the guest is not {want} (--processors {want})"),
    );
}

/// The guest kernel boots without a WARNING splat (e.g. an XSAVE size mismatch from
/// the CPUID this VMM gives it).
#[test]
fn guest_kernel_boots_without_warnings() {
    let Some(run) = guest(P2) else { return };
    run.ensure_success();
    run.ensure(
        keyed(&run.output, "kernel-warnings") == Some("0"),
        "the guest kernel logged a WARNING at boot",
    );
}

#[test]
fn nproc_matches_processors_1() {
    check_nproc(P1);
}

#[test]
fn nproc_matches_processors_2() {
    check_nproc(P2);
}

fn check_memory(i: usize) {
    let Some(run) = guest(i) else { return };
    run.ensure_success();
    let want = parse_size(GUESTS[i].memory).unwrap() as f64;
    let got = mem_total(&run.output);
    run.ensure(got.is_some(), "no MemTotal in the guest output");
    let got = got.unwrap() as f64;
    run.ensure(
        (got - want).abs() <= want * 0.10,
        &format!(
            "MemTotal {:.0} MiB is not within 10% of --memory {}",
            got / 1048576.0,
            GUESTS[i].memory
        ),
    );
}

#[test]
fn memtotal_matches_memory_1g() {
    check_memory(P1);
}

#[test]
fn memtotal_matches_memory_2g() {
    check_memory(P2);
}

#[test]
fn serial_interrupts_are_on_ioapic_and_rise() {
    let Some(run) = guest(P1) else { return };
    run.ensure_success();
    let before = find_irq(&run.output, "irq-before:", "ttyS0");
    let after = find_irq(&run.output, "irq-after:", "ttyS0");
    run.ensure(
        before.is_some() && after.is_some(),
        "no ttyS0 line in /proc/interrupts",
    );
    let (before, after) = (before.unwrap(), after.unwrap());
    run.ensure(
        after.desc.contains("IO-APIC"),
        &format!("ttyS0 is not on the IO-APIC: {}", after.desc),
    );
    run.ensure(
        after.total > before.total,
        &format!(
            "ttyS0 interrupt count did not rise while the guest wrote to the console ({} -> {})",
            before.total, after.total
        ),
    );
}

#[test]
fn poweroff_ends_vmm_with_status_0() {
    let Some(run) = guest(POWEROFF) else { return };
    run.ensure(!run.timed_out, "the guest timed out");
    run.ensure(
        run.console.contains("going down"),
        "the guest command did not run",
    );
    run.ensure(
        run.vmm_status == Some(petri::EXIT_POWEROFF),
        "openvmm did not exit with status 0 after poweroff -f",
    );
}

#[test]
fn reboot_ends_vmm_with_reset_status() {
    let Some(run) = guest(REBOOT) else { return };
    run.ensure(!run.timed_out, "the guest timed out");
    run.ensure(
        run.console.contains("rebooting"),
        "the guest command did not run",
    );
    run.ensure(
        run.vmm_status == Some(petri::EXIT_RESET),
        &format!(
            "openvmm did not exit with the reset status {} after reboot -f",
            petri::EXIT_RESET
        ),
    );
}
