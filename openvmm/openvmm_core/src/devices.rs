//! Creating the PCI endpoints of the placed topology and plugging them into their
//! root ports, each with the DMA target and interrupt domain of its root complex.

use crate::iommu::Domain;
use crate::topology::EndpointSpec;
use crate::topology::Topology;
use anyhow::Context;
use guestmem::GuestMemory;
use iommu_common::DmaTarget;
use pci_core::DoorbellRegistrar;
use pci_core::PciDevice;
use pci_core::RootComplex;
use std::sync::Arc;

/// Something whose state `inspect` shows.
pub type Inspectable = Arc<dyn inspect::Inspect + Send + Sync>;

/// Creates every device of `topology` and attaches it to its port; returns them by
/// name for inspection.
pub fn attach_devices(
    topology: &Topology,
    root_complexes: &[Arc<RootComplex>],
    domains: &[Domain],
    memory: &GuestMemory,
    doorbells: &Arc<dyn DoorbellRegistrar>,
    processors: u32,
) -> anyhow::Result<Vec<(String, Inspectable)>> {
    let mut inspected: Vec<(String, Inspectable)> = Vec::new();
    for (n, placed) in topology.devices.iter().enumerate() {
        let index = topology
            .root_complexes
            .iter()
            .position(|rc| rc.spec.name == placed.root_complex)
            .expect("placed devices name placed root complexes");
        let (rc, domain) = (&root_complexes[index], &domains[index]);
        let rid = rc.device_rid(&placed.port).expect("placed ports exist");
        let dma = DmaTarget::new(memory.clone(), domain.translator.clone(), rid.clone());
        let msi = domain.registry.clone();
        let (device, item): (Arc<dyn PciDevice>, Inspectable) = match &placed.endpoint {
            EndpointSpec::Disk { path, read_only } => {
                let backend = virtio_blk::FileBackend::open(path, *read_only)
                    .with_context(|| format!("--disk: opening {}", path.display()))?;
                let d = virtio_blk::VirtioBlkDevice::new(
                    format!("disk{n}"),
                    virtio_blk::VirtioBlkOptions {
                        // One queue per vCPU (up to 4): each queue's vector can follow
                        // its CPU.
                        num_queues: processors.clamp(1, 4) as u16,
                        queue_size: 256,
                        serial: format!("openvmm-disk{n}"),
                    },
                    Arc::new(backend),
                    dma,
                    msi,
                    rid,
                    doorbells.clone(),
                )
                .with_context(|| format!("--disk {}", path.display()))?;
                (d.clone(), d)
            }
            EndpointSpec::DmaTest => {
                let d = dma_test::DmaTestDevice::new(format!("dma-test{n}"), dma, msi, rid)
                    .context("--dma-test")?;
                (d.clone(), d)
            }
        };
        inspected.push((format!("{}/{}", placed.root_complex, placed.port), item));
        rc.attach(&placed.port, device)
            .with_context(|| format!("attaching a device to {}", placed.port))?;
    }
    Ok(inspected)
}
