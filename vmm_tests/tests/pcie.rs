//! PCI Express VM tests (issue #3): two root complexes (segments 0 and 1) with a disk
//! on each and the DMA test device, no IOMMU.

use petri::GuestRun;
use petri::PetriVmConfig;
use std::sync::OnceLock;
use vmm_tests::keyed;
use vmm_tests::Batch;
use vmm_tests::DISK_CHECK;
use vmm_tests::DMA_TEST;

/// A reserved physical window (kernel `memmap=`) the DMA test copies within.
const WINDOW: u64 = 0x3000_0000;

fn script() -> String {
    format!(
        r#"
echo "== devices"
ls /sys/bus/pci/devices
for d in /sys/bus/pci/devices/*; do echo "dev ${{d##*/}} $(cat $d/vendor):$(cat $d/device) $(cat $d/class)"; done
DISKS="vda vdb"
{DISK_CHECK}
# Pattern at A, copy A -> B with the device, read B back.
devmem {a:#x} 32 0x11223344
devmem {a4:#x} 32 0x55667788
devmem {b:#x} 32 0
DMA_A={a:#x} DMA_B={b:#x} DMA_LEN=8
{DMA_TEST}
echo "dma-copy=$(devmem {b:#x} 32) $(devmem {b4:#x} 32)"
"#,
        a = WINDOW,
        a4 = WINDOW + 4,
        b = WINDOW + 0x1000,
        b4 = WINDOW + 0x1004,
    )
}

fn batch() -> &'static Batch {
    static BATCH: OnceLock<Batch> = OnceLock::new();
    BATCH.get_or_init(|| {
        let cfg = PetriVmConfig::new("pcie_two_segments")
            .processors(2)
            .memory("1G")
            .kernel_args(&[format!("memmap=1M${WINDOW:#x}")])
            .vmm_args(&[
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
            ])
            .disk("disk0", 64, Some("rp0"))
            .disk("disk1", 64, Some("rp1"))
            .host_setup("export OPENVMM_INSPECT_ON_EXIT=1")
            .host_check(&vmm_tests::host_md5("disk0"))
            .host_check(&vmm_tests::host_md5("disk1"))
            .command(&script());
        Batch::run("pcie_tests", vec![cfg])
    })
}

fn guest() -> Option<&'static GuestRun> {
    let run = batch().guest(0)?;
    run.ensure_success();
    Some(run)
}

#[test]
fn disks_appear_under_both_segments() {
    let Some(run) = guest() else { return };
    for (disk, seg) in [("vda", "pci0000:00"), ("vdb", "pci0001:00")] {
        let path = run
            .output
            .lines()
            .find_map(|l| l.strip_prefix(&format!("{disk}-path: ")))
            .unwrap_or("");
        run.ensure(
            path.contains(seg),
            &format!("{disk} is not under {seg}: {path}"),
        );
    }
    run.ensure(
        run.output.contains("dev 0001:01:00.0 0x1af4:0x1042"),
        "no virtio-blk at 0001:01:00.0",
    );
    run.ensure(
        run.output.contains("dev 0000:01:00.0 0x1af4:0x1042"),
        "no virtio-blk at 0000:01:00.0",
    );
}

#[test]
fn o_direct_pattern_matches_in_guest_and_host_file() {
    let Some(run) = guest() else { return };
    for (disk, image) in [("vda", "disk0"), ("vdb", "disk1")] {
        let pattern = keyed(&run.output, &format!("{disk}-pattern"));
        let back = keyed(&run.output, &format!("{disk}-readback"));
        let host = keyed(&run.console, &format!("host-{image}"));
        run.ensure(
            pattern.is_some() && pattern == back,
            &format!("{disk}: read back {back:?}, wrote {pattern:?}"),
        );
        run.ensure(
            pattern == host,
            &format!("{disk}: host file {image} has {host:?}, guest wrote {pattern:?}"),
        );
    }
}

#[test]
fn virtio_vectors_are_pci_msi_and_count() {
    let Some(run) = guest() else { return };
    for disk in ["vda", "vdb"] {
        let line = run
            .output
            .lines()
            .find_map(|l| l.strip_prefix(&format!("{disk}-irq-line: ")))
            .unwrap_or("");
        run.ensure(
            line.contains(" PCI-MSI "),
            &format!("{disk}'s vector is not PCI-MSI: {line}"),
        );
        let before: u64 = keyed(&run.output, &format!("{disk}-irqs-before"))
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        let after: u64 = keyed(&run.output, &format!("{disk}-irqs-after"))
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        run.ensure(
            after > before,
            &format!("{disk}: request interrupts did not rise ({before} -> {after})"),
        );
    }
}

#[test]
fn dma_test_copies_between_guest_physical_addresses() {
    let Some(run) = guest() else { return };
    run.ensure(
        keyed(&run.output, "dma-status") == Some("0x00000002"),
        &format!(
            "DMA test status {:?}, want DONE",
            keyed(&run.output, "dma-status")
        ),
    );
    run.ensure(
        keyed(&run.output, "dma-copy") == Some("0x11223344 0x55667788"),
        &format!("copied {:?}", keyed(&run.output, "dma-copy")),
    );
}

#[test]
fn device_state_is_inspectable_at_exit() {
    let Some(run) = guest() else { return };
    let text = format!("{}\n{}", run.console, run.vmm_stderr);
    let json = text
        .lines()
        .find_map(|l| l.split_once("openvmm: inspect ").map(|(_, j)| j))
        .unwrap_or("");
    for key in [
        "\"ioapic\"",
        "\"rc0/rp0\"",
        "\"rc1/rp1\"",
        "\"rc0/rp2\"",
        "\"pins\"",
    ] {
        run.ensure(
            json.contains(key),
            &format!("no {key} in the inspect dump: {json:.200}"),
        );
    }
}
