//! IOMMU VM tests (issues #4 and #6): guests behind the emulated AMD IOMMU and Intel
//! VT-d unit, with a second root complex that no IOMMU covers. One batch, so one
//! test-host boot.

use petri::GuestRun;
use petri::PetriVmConfig;
use std::sync::OnceLock;
use vmm_tests::find_irq;
use vmm_tests::keyed;
use vmm_tests::Batch;
use vmm_tests::DISK_CHECK;
use vmm_tests::DMA_TEST;
use vmm_tests::IOMMU_PROBE;

const AMD: usize = 0;
const AMD_NO_IR: usize = 1;
const AMD_STRICT: usize = 2;
const AMD_PT: usize = 3;
const VTD: usize = 4;
const VTD_NO_IR: usize = 5;
const VTD_STRICT: usize = 6;
const VTD_PT: usize = 7;

/// An unmapped bus address the DMA test device is told to read.
const UNMAPPED: &str = "0x12345000";

/// Two root complexes (segment 0 behind the IOMMU, segment 1 not): a disk (added by
/// `with_disk`) on rc0's rp0, DMA test devices on rc0's rp2 (01:00.0 is the disk,
/// 02:00.0 the DMA test device) and on rc1.
fn two_root_complexes(iommu: &[&str]) -> Vec<String> {
    let mut args: Vec<String> = [
        "--pcie-root-complex",
        "rc0",
        "--pcie-root-complex",
        "rc1,segment=1,end_bus=15",
        "--pcie-root-port",
        "rc0:rp0",
        "--pcie-root-port",
        "rc0:rp2",
        "--pcie-root-port",
        "rc1:rp1",
        "--dma-test",
        "pcie_port=rp2",
        "--dma-test",
        "pcie_port=rp1",
        "--com2",
        "none",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    args.extend(iommu.iter().map(|s| s.to_string()));
    args
}

/// A guest behind `iommu` with a disk; `full` adds the serial probe and the DMA fault.
fn guest_cfg(name: &str, iommu: &[&str], kernel: &[&str], full: bool) -> PetriVmConfig {
    let script = if full {
        format!(
            "{IOMMU_PROBE}\n{DISK_CHECK}\nDMA_A={UNMAPPED} DMA_B=0x1000 DMA_LEN=64\n{DMA_TEST}\n{AFTER_FAULT}"
        )
    } else {
        DISK_CHECK.to_string()
    };
    PetriVmConfig::new(name)
        .processors(2)
        .memory("1G")
        .kernel_args(kernel)
        .vmm_args(&two_root_complexes(iommu))
        .disk("disk0", 64, Some("rp0"))
        .host_check(&vmm_tests::host_md5("disk0"))
        .command(&script)
}

/// After the fault: the disk still reads back what was written.
const AFTER_FAULT: &str = r#"
echo "after-fault-want=$(head -c 65536 /tmp/pat | md5sum | cut -d' ' -f1)"
echo "after-fault-got=$(dd if=/dev/vda bs=4096 count=16 iflag=direct 2>/dev/null | md5sum | cut -d' ' -f1)"
"#;

fn batch() -> &'static Batch {
    static BATCH: OnceLock<Batch> = OnceLock::new();
    BATCH.get_or_init(|| {
        let amd = ["--amd-iommu", "rc0"];
        let vtd = ["--intel-vtd", "rc0"];
        Batch::run(
            "iommu_tests",
            vec![
                guest_cfg("amd_iommu", &amd, &[], true),
                PetriVmConfig::new("amd_iommu_no_ir")
                    .processors(1)
                    .memory("1G")
                    .vmm_args(&two_root_complexes(&["--amd-iommu", "rc0,intremap=off"]))
                    .command(IOMMU_PROBE),
                guest_cfg("amd_iommu_strict", &amd, &["iommu.strict=1"], false),
                guest_cfg("amd_iommu_pt", &amd, &["iommu=pt"], false),
                guest_cfg("intel_vtd", &vtd, &["intel_iommu=on"], true),
                PetriVmConfig::new("intel_vtd_no_ir")
                    .processors(1)
                    .memory("1G")
                    .kernel_args(&["intel_iommu=on"])
                    .vmm_args(&two_root_complexes(&[
                        "--intel-vtd",
                        "rc0,intremap=off,eim=off",
                    ]))
                    .command(IOMMU_PROBE),
                guest_cfg(
                    "intel_vtd_strict",
                    &vtd,
                    &["intel_iommu=on", "iommu.strict=1"],
                    false,
                ),
                guest_cfg("intel_vtd_pt", &vtd, &["intel_iommu=on", "iommu=pt"], false),
            ],
        )
    })
}

fn guest(i: usize) -> Option<&'static GuestRun> {
    let run = batch().guest(i)?;
    run.ensure_success();
    Some(run)
}

fn has(run: &GuestRun, line: &str) {
    run.ensure(
        run.output.contains(line),
        &format!("no `{line}` in the guest log"),
    );
}

fn lacks(run: &GuestRun, line: &str) {
    run.ensure(
        !run.output.contains(line),
        &format!("unexpected `{line}` in the guest log"),
    );
}

/// The O_DIRECT pattern reads back the same in the guest and in the host's image, and
/// the disk's vectors are on `chip` with counts rising.
fn disk_ok(run: &GuestRun, chip: &str) {
    let pattern = keyed(&run.output, "vda-pattern");
    let back = keyed(&run.output, "vda-readback");
    let host = keyed(&run.console, "host-disk0");
    run.ensure(
        pattern.is_some() && pattern == back && pattern == host,
        &format!("disk pattern {pattern:?}, read back {back:?}, host image {host:?}"),
    );
    let line = run
        .output
        .lines()
        .find_map(|l| l.strip_prefix("vda-irq-line: "))
        .unwrap_or("");
    run.ensure(
        line.contains(&format!(" {chip} ")),
        &format!("the disk's vector is not {chip}: {line}"),
    );
    let n = |k: &str| -> u64 {
        keyed(&run.output, k)
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    };
    run.ensure(
        n("vda-irqs-after") > n("vda-irqs-before"),
        "the disk's interrupt count did not rise",
    );
}

/// The DMA test device's read of an unmapped address failed, the guest logged the
/// IOMMU's fault naming the device and the address, and the guest lives on.
fn dma_fault_reported(run: &GuestRun, line_has: &[&str]) {
    run.ensure(
        keyed(&run.output, "dma-bdf") == Some("0000:02:00.0"),
        "the DMA test device is not at 0000:02:00.0",
    );
    run.ensure(
        keyed(&run.output, "dma-status") == Some("0x00000003"),
        &format!(
            "DMA status {:?}, want DMA_FAILED",
            keyed(&run.output, "dma-status")
        ),
    );
    run.ensure(
        keyed(&run.output, "dma-fault-addr") == Some("0x12345000"),
        "the device did not report the faulting address",
    );
    let logged = run
        .output
        .lines()
        .filter_map(|l| l.strip_prefix("dma-log: "))
        .any(|l| line_has.iter().all(|w| l.contains(w)));
    run.ensure(logged, &format!("no guest fault line with {line_has:?}"));
    run.ensure(
        keyed(&run.output, "after-fault-got").is_some()
            && keyed(&run.output, "after-fault-got") == keyed(&run.output, "after-fault-want"),
        "the disk did not work after the DMA fault",
    );
}

fn no_faults(run: &GuestRun) {
    run.ensure(
        keyed(&run.output, "faults") == Some("0"),
        "the guest logged IOMMU faults",
    );
}

/// ttyS`n`'s interrupt line is on `chip` and its count rose.
fn serial_irq_rises(run: &GuestRun, n: u8, chip: &str) {
    let name = format!("ttyS{n}");
    let before = find_irq(&run.output, &format!("irq{n}-before:"), &name);
    let after = find_irq(&run.output, &format!("irq{n}-after:"), &name);
    run.ensure(
        before.is_some() && after.is_some(),
        &format!("no {name} line in /proc/interrupts"),
    );
    let (before, after) = (before.unwrap(), after.unwrap());
    run.ensure(
        after.desc.split_whitespace().next() == Some(chip),
        &format!("{name} is on `{}`, not {chip}", after.desc),
    );
    run.ensure(
        after.total > before.total,
        &format!(
            "{name} interrupt count did not rise ({} -> {})",
            before.total, after.total
        ),
    );
}

/// Every device on segment 0 behind the IOMMU is alone in its IOMMU group, and no
/// segment 1 device (no IOMMU there) has one.
fn own_groups(run: &GuestRun) {
    let groups = vmm_tests::iommu_groups(&run.output);
    run.ensure(!groups.is_empty(), "no IOMMU groups");
    for (g, devs) in &groups {
        run.ensure(
            devs.len() == 1,
            &format!("IOMMU group {g} holds several devices: {devs:?}"),
        );
        run.ensure(
            devs.iter().all(|d| d.starts_with("0000:")),
            &format!("a device outside the IOMMU's segment is in group {g}: {devs:?}"),
        );
    }
}

#[test]
fn amd_iommu_found_with_interrupt_remapping() {
    let Some(run) = guest(AMD) else { return };
    has(run, "AMD-Vi: Found IOMMU");
    has(run, "AMD-Vi: Interrupt remapping enabled");
    lacks(run, "Firmware Bug");
    lacks(run, "Unknown");
    no_faults(run);
}

#[test]
fn amd_iommu_groups_are_per_device() {
    let Some(run) = guest(AMD) else { return };
    own_groups(run);
}

#[test]
fn amd_iommu_remaps_serial_interrupts() {
    let Some(run) = guest(AMD) else { return };
    serial_irq_rises(run, 0, "IR-IO-APIC");
    serial_irq_rises(run, 1, "IR-IO-APIC");
}

#[test]
fn amd_iommu_intremap_off_leaves_ioapic_unremapped() {
    let Some(run) = guest(AMD_NO_IR) else { return };
    has(run, "AMD-Vi: Found IOMMU");
    lacks(run, "AMD-Vi: Interrupt remapping enabled");
    serial_irq_rises(run, 0, "IO-APIC");
    no_faults(run);
}

#[test]
fn intel_vtd_enabled_with_x2apic_interrupt_remapping() {
    let Some(run) = guest(VTD) else { return };
    has(run, "DMAR: IOMMU enabled");
    has(run, "DMAR-IR: Enabled IRQ remapping in x2apic mode");
    has(run, "Intel(R) Virtualization Technology for Directed I/O");
    has(run, "DMAR: dmar0: Using Queued invalidation");
    no_faults(run);
}

#[test]
fn intel_vtd_groups_are_per_device() {
    let Some(run) = guest(VTD) else { return };
    own_groups(run);
}

#[test]
fn intel_vtd_remaps_serial_interrupts() {
    let Some(run) = guest(VTD) else { return };
    serial_irq_rises(run, 0, "IR-IO-APIC");
    serial_irq_rises(run, 1, "IR-IO-APIC");
}

#[test]
fn intel_vtd_intremap_off_boots_without_ir() {
    let Some(run) = guest(VTD_NO_IR) else { return };
    has(run, "DMAR: IOMMU enabled");
    lacks(run, "Enabled IRQ remapping");
    serial_irq_rises(run, 0, "IO-APIC");
    no_faults(run);
}

#[test]
fn amd_iommu_disk_dma_in_lazy_strict_and_pt_modes() {
    for i in [AMD, AMD_STRICT, AMD_PT] {
        let Some(run) = guest(i) else { return };
        disk_ok(run, "IR-PCI-MSI");
    }
}

#[test]
fn amd_iommu_reports_dma_fault_and_guest_lives_on() {
    let Some(run) = guest(AMD) else { return };
    dma_fault_reported(run, &["IO_PAGE_FAULT", "02:00.0", "address=0x12345000"]);
}

#[test]
fn intel_vtd_disk_dma_in_lazy_strict_and_pt_modes() {
    for i in [VTD, VTD_STRICT, VTD_PT] {
        let Some(run) = guest(i) else { return };
        disk_ok(run, "IR-PCI-MSI");
    }
}

#[test]
fn intel_vtd_reports_dma_fault_and_guest_lives_on() {
    let Some(run) = guest(VTD) else { return };
    dma_fault_reported(run, &["[02:00.0]", "fault addr 0x12345000"]);
}
