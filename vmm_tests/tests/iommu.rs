//! IOMMU VM tests (issues #4 and #6): guests behind the emulated AMD IOMMU and Intel
//! VT-d unit, with a second root complex that no IOMMU covers. One batch, so one
//! test-host boot.

use petri::GuestRun;
use petri::PetriVmConfig;
use std::sync::OnceLock;
use vmm_tests::find_irq;
use vmm_tests::keyed;
use vmm_tests::Batch;
use vmm_tests::IOMMU_PROBE;

const AMD: usize = 0;
const AMD_NO_IR: usize = 1;
const VTD: usize = 2;
const VTD_NO_IR: usize = 3;

/// Two root complexes (segment 0 behind the IOMMU, segment 1 not) with a DMA test
/// device on a port of each.
fn two_root_complexes(iommu: &[&str]) -> Vec<String> {
    let mut args: Vec<String> = [
        "--pcie-root-complex",
        "rc0",
        "--pcie-root-complex",
        "rc1,segment=1,end_bus=15",
        "--pcie-root-port",
        "rc0:rp0",
        "--pcie-root-port",
        "rc1:rp1",
        "--dma-test",
        "pcie_port=rp0",
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

fn batch() -> &'static Batch {
    static BATCH: OnceLock<Batch> = OnceLock::new();
    BATCH.get_or_init(|| {
        Batch::run(
            "iommu_tests",
            vec![
                PetriVmConfig::new("amd_iommu")
                    .processors(2)
                    .memory("1G")
                    .vmm_args(&two_root_complexes(&["--amd-iommu", "rc0"]))
                    .command(IOMMU_PROBE),
                PetriVmConfig::new("amd_iommu_no_ir")
                    .processors(1)
                    .memory("1G")
                    .vmm_args(&two_root_complexes(&["--amd-iommu", "rc0,intremap=off"]))
                    .command(IOMMU_PROBE),
                PetriVmConfig::new("intel_vtd")
                    .processors(2)
                    .memory("1G")
                    .kernel_args(&["intel_iommu=on"])
                    .vmm_args(&two_root_complexes(&["--intel-vtd", "rc0"]))
                    .command(IOMMU_PROBE),
                PetriVmConfig::new("intel_vtd_no_ir")
                    .processors(1)
                    .memory("1G")
                    .kernel_args(&["intel_iommu=on"])
                    .vmm_args(&two_root_complexes(&[
                        "--intel-vtd",
                        "rc0,intremap=off,eim=off",
                    ]))
                    .command(IOMMU_PROBE),
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
