//! Wiring the placed PCI Express topology: a root complex per entry with its ECAM
//! window on the MMIO bus.

use crate::topology::Topology;
use anyhow::Context;
use device_bus::Bus;
use pci_core::RootComplex;
use pci_core::RootPortDescription;
use std::sync::Arc;

/// Creates the root complexes of `topology` and maps their ECAM windows.
pub fn build_root_complexes(
    topology: &Topology,
    mmio: &Arc<Bus>,
) -> anyhow::Result<Vec<Arc<RootComplex>>> {
    let mut out = Vec::new();
    for placed in &topology.root_complexes {
        let config = placed.config();
        let ports: Vec<_> = placed
            .ports
            .iter()
            .map(|p| RootPortDescription {
                name: p.name.clone(),
                acs: p.acs,
            })
            .collect();
        let ecam_size = config.ecam_size();
        let rc = RootComplex::new(config, &ports, mmio.clone());
        mmio.insert("ecam", placed.ecam_base, ecam_size, rc.clone())
            .with_context(|| format!("mapping the ECAM window of {}", placed.spec.name))?;
        out.push(rc);
    }
    Ok(out)
}
