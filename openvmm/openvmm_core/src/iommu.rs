//! The DMA and interrupt domain of each root complex: its IOMMU (if any) as the DMA
//! translator and MSI remapper, and the route registry its devices' vectors live in.

use crate::platform;
use crate::topology::IommuKind;
use crate::topology::Topology;
use anyhow::Context;
use device_bus::Bus;
use device_bus::BusDevice;
use guestmem::GuestMemory;
use iommu_common::DmaTranslator;
use iommu_common::IdentityTranslator;
use iommu_common::MsiSink;
use pci_core::RootComplex;
use std::sync::Arc;
use vmm_core::irq::GsiRoutes;
use vmm_core::msi_routes::IrqfdRegistrar;
use vmm_core::msi_routes::MsiRouteRegistry;

/// What the devices of one root complex translate and remap through.
#[derive(Clone)]
pub struct Domain {
    /// The IOMMU, for inspection (`None`: no IOMMU).
    pub iommu: Option<crate::devices::Inspectable>,
    /// DMA translation for its devices.
    pub translator: Arc<dyn DmaTranslator>,
    /// Route registry for its devices' vectors (remapping through its IOMMU).
    pub registry: Arc<MsiRouteRegistry>,
}

struct AmdIommuMmio(Arc<amd_iommu::AmdIommu>);

impl BusDevice for AmdIommuMmio {
    fn read(&self, offset: u64, data: &mut [u8]) {
        self.0.mmio_read(offset, data)
    }
    fn write(&self, offset: u64, data: &[u8]) {
        self.0.mmio_write(offset, data)
    }
}

struct VtdMmio(Arc<intel_vtd::IntelVtd>);

impl BusDevice for VtdMmio {
    fn read(&self, offset: u64, data: &mut [u8]) {
        self.0.mmio_read(offset, data)
    }
    fn write(&self, offset: u64, data: &[u8]) {
        self.0.mmio_write(offset, data)
    }
}

/// Creates each root complex's IOMMU and domain (same order as `root_complexes`).
#[allow(clippy::too_many_arguments)]
pub fn build_domains(
    topology: &Topology,
    root_complexes: &[Arc<RootComplex>],
    memory: &GuestMemory,
    mmio: &Arc<Bus>,
    routes: &Arc<GsiRoutes>,
    irqfd: &Arc<dyn IrqfdRegistrar>,
    msi_sink: &Arc<dyn MsiSink>,
    passthrough: &Arc<MsiRouteRegistry>,
) -> anyhow::Result<Vec<Domain>> {
    let mut domains = Vec::new();
    for (placed, rc) in topology.root_complexes.iter().zip(root_complexes) {
        let domain = match placed.iommu {
            None => Domain {
                iommu: None,
                translator: Arc::new(IdentityTranslator),
                registry: passthrough.clone(),
            },
            Some((IommuKind::Amd { .. }, base)) => {
                let config = platform::amd_iommu_config(placed).expect("AMD IOMMU configured");
                let iommu = amd_iommu::AmdIommu::new(config, memory.clone(), msi_sink.clone());
                iommu.set_mmio_base(base);
                mmio.insert(
                    "amd-iommu",
                    base,
                    amd_iommu::AmdIommu::MMIO_SIZE,
                    Arc::new(AmdIommuMmio(iommu.clone())),
                )
                .context("mapping the AMD IOMMU registers")?;
                rc.attach_root_function(
                    platform::AMD_IOMMU_DEVFN,
                    Arc::new(amd_iommu::pci_function::AmdIommuPciFunction::new(
                        iommu.clone(),
                    )),
                );
                let registry = MsiRouteRegistry::new(routes.clone(), irqfd.clone(), iommu.clone());
                iommu.set_remap_listener(registry.clone());
                Domain {
                    iommu: Some(iommu.clone()),
                    translator: iommu,
                    registry,
                }
            }
            Some((
                IommuKind::IntelVtd {
                    intremap,
                    eim,
                    aw_bits,
                    dma_translation,
                },
                base,
            )) => {
                let config = intel_vtd::VtdConfig {
                    aw_bits,
                    intremap,
                    eim,
                    dma_translation,
                    segment: placed.spec.segment,
                    fault_records: 8,
                };
                config
                    .validate()
                    .with_context(|| format!("--intel-vtd {}", placed.spec.name))?;
                let unit = intel_vtd::IntelVtd::new(config, memory.clone(), msi_sink.clone());
                mmio.insert(
                    "intel-vtd",
                    base,
                    intel_vtd::IntelVtd::MMIO_SIZE,
                    Arc::new(VtdMmio(unit.clone())),
                )
                .context("mapping the VT-d registers")?;
                let registry = MsiRouteRegistry::new(routes.clone(), irqfd.clone(), unit.clone());
                unit.set_remap_listener(registry.clone());
                Domain {
                    iommu: Some(unit.clone()),
                    translator: unit,
                    registry,
                }
            }
        };
        let registry = domain.registry.clone();
        rc.set_rid_listener(Arc::new(move || registry.retranslate_all()));
        domains.push(domain);
    }
    Ok(domains)
}

/// The IOMMUs by root complex, for inspection.
pub fn inspectables(
    topology: &Topology,
    domains: &[Domain],
) -> Vec<(String, crate::devices::Inspectable)> {
    topology
        .root_complexes
        .iter()
        .zip(domains)
        .filter_map(|(rc, d)| Some((format!("{}/iommu", rc.spec.name), d.iommu.clone()?)))
        .collect()
}
