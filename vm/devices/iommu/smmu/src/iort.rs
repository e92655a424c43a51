//! Building the IORT that describes SMMUs, the ITS group and root complexes to an
//! aarch64 guest, from the same topology description the VMM wires (Arm DEN 0049).
//!
//! ID flow: RID → (root complex node) StreamID = RID → (SMMUv3 node) ITS DeviceID
//! `(segment << 16) | RID` → ITS group. A root complex without an SMMU maps its RIDs
//! straight to the ITS group with the same DeviceIDs.

use acpi_spec::iort::*;
use acpi_spec::SdtHeader;
use acpi_spec::Table;
use zerocopy::IntoBytes;

/// How an SMMU signals its own interrupts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SmmuIrqs {
    /// Wired interrupts (GSIVs); 0 means none for that source.
    Wired {
        /// Event queue GSIV.
        event: u32,
        /// GERROR GSIV.
        gerror: u32,
        /// CMD_SYNC GSIV.
        sync: u32,
    },
    /// MSIs through the ITS, with this DeviceID.
    Msi {
        /// The SMMU's own ITS DeviceID.
        device_id: u32,
    },
}

/// One SMMUv3.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IortSmmu {
    /// MMIO base of page 0.
    pub base: u64,
    /// Interrupts.
    pub irqs: SmmuIrqs,
}

/// One PCI root complex.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IortRootComplex {
    /// PCI segment.
    pub segment: u16,
    /// First bus number.
    pub bus_start: u8,
    /// Last bus number.
    pub bus_end: u8,
    /// Index into [`IortDesc::smmus`] of the SMMU covering it, if any.
    pub smmu: Option<usize>,
}

/// The topology the IORT describes.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct IortDesc {
    /// GIC ITS identifiers (as in the MADT GIC ITS structures), one ITS group.
    pub its_ids: Vec<u32>,
    /// SMMUs.
    pub smmus: Vec<IortSmmu>,
    /// Root complexes.
    pub root_complexes: Vec<IortRootComplex>,
}

/// A description the builder cannot express.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum IortError {
    /// No ITS to send MSIs to.
    #[error("an IORT needs at least one ITS")]
    NoIts,
    /// A root complex names an SMMU that does not exist.
    #[error("root complex on segment {0} references missing SMMU {1}")]
    MissingSmmu(u16, usize),
    /// bus_end < bus_start.
    #[error("root complex on segment {0} has an empty bus range")]
    BusRange(u16),
}

fn header(
    node_type: u8,
    length: usize,
    revision: u8,
    id: u32,
    maps: usize,
    map_off: usize,
) -> NodeHeader {
    NodeHeader {
        node_type,
        length: length as u16,
        revision,
        identifier: id,
        num_id_mappings: maps as u32,
        id_mapping_offset: if maps == 0 { 0 } else { map_off as u32 },
    }
}

/// The RID range of a root complex: (first RID, count - 1).
fn rid_range(rc: &IortRootComplex) -> (u32, u32) {
    let first = (rc.bus_start as u32) << 8;
    let count = ((rc.bus_end as u32 - rc.bus_start as u32) + 1) << 8;
    (first, count - 1)
}

/// Builds the IORT bytes (header, ITS group, SMMUv3 nodes, root complex nodes).
pub fn build_iort(desc: &IortDesc) -> Result<Vec<u8>, IortError> {
    if desc.its_ids.is_empty() {
        return Err(IortError::NoIts);
    }
    for rc in &desc.root_complexes {
        if rc.bus_end < rc.bus_start {
            return Err(IortError::BusRange(rc.segment));
        }
        if let Some(i) = rc.smmu {
            if i >= desc.smmus.len() {
                return Err(IortError::MissingSmmu(rc.segment, i));
            }
        }
    }
    let map_size = size_of::<IdMapping>();
    // Layout pass: node offsets.
    let node_offset = size_of::<SdtHeader>() + size_of::<IortHeader>();
    let its_offset = node_offset;
    let its_len = size_of::<ItsGroup>() + 4 * desc.its_ids.len();
    let mut offset = its_offset + its_len;
    // Each SMMU maps the RIDs of the root complexes it covers, plus its own MSI id.
    let smmu_maps: Vec<Vec<&IortRootComplex>> = (0..desc.smmus.len())
        .map(|i| {
            desc.root_complexes
                .iter()
                .filter(|rc| rc.smmu == Some(i))
                .collect()
        })
        .collect();
    let mut smmu_offsets = Vec::new();
    for (i, s) in desc.smmus.iter().enumerate() {
        smmu_offsets.push(offset);
        let own = matches!(s.irqs, SmmuIrqs::Msi { .. }) as usize;
        offset += size_of::<SmmuV3>() + (smmu_maps[i].len() + own) * map_size;
    }

    let mut t = Table::new(SdtHeader::new(&SIGNATURE, REVISION));
    let num_nodes = 1 + desc.smmus.len() + desc.root_complexes.len();
    t.push(&IortHeader {
        num_nodes: num_nodes as u32,
        node_offset: node_offset as u32,
        reserved: 0,
    });
    let mut next_id = 0u32;
    let mut id = || {
        next_id += 1;
        next_id - 1
    };

    // ITS group.
    t.push(&ItsGroup {
        header: header(
            node_type::ITS_GROUP,
            its_len,
            ITS_GROUP_REVISION,
            id(),
            0,
            0,
        ),
        its_count: desc.its_ids.len() as u32,
    });
    for its in &desc.its_ids {
        t.push(&its.to_le_bytes());
    }

    // SMMUv3 nodes.
    for (i, s) in desc.smmus.iter().enumerate() {
        debug_assert_eq!(t.len(), smmu_offsets[i]);
        let own = matches!(s.irqs, SmmuIrqs::Msi { .. });
        let maps = smmu_maps[i].len() + own as usize;
        let len = size_of::<SmmuV3>() + maps * map_size;
        let (event, gerr, sync) = match s.irqs {
            SmmuIrqs::Wired {
                event,
                gerror,
                sync,
            } => (event, gerror, sync),
            SmmuIrqs::Msi { .. } => (0, 0, 0),
        };
        let mut flags = SMMU_V3_FLAG_COHACC;
        if own {
            flags |= SMMU_V3_FLAG_DEVICEID_VALID;
        }
        t.push(&SmmuV3 {
            header: header(
                node_type::SMMU_V3,
                len,
                SMMU_V3_REVISION,
                id(),
                maps,
                size_of::<SmmuV3>(),
            ),
            base_address: s.base,
            flags,
            reserved: 0,
            vatos_address: 0,
            model: 0,
            event_gsiv: event,
            pri_gsiv: 0,
            gerr_gsiv: gerr,
            sync_gsiv: sync,
            proximity_domain: 0,
            device_id_mapping_index: if own { smmu_maps[i].len() as u32 } else { 0 },
        });
        for rc in &smmu_maps[i] {
            let (first, n) = rid_range(rc);
            t.push(&IdMapping {
                input_base: first,
                num_ids: n,
                output_base: ((rc.segment as u32) << 16) | first,
                output_reference: its_offset as u32,
                flags: 0,
            });
        }
        if let SmmuIrqs::Msi { device_id } = s.irqs {
            t.push(&IdMapping {
                input_base: 0,
                num_ids: 0,
                output_base: device_id,
                output_reference: its_offset as u32,
                flags: ID_MAPPING_SINGLE,
            });
        }
    }

    // Root complex nodes: RID → StreamID (= RID) at the SMMU, or → DeviceID at the ITS.
    for rc in &desc.root_complexes {
        let len = size_of::<RootComplex>() + map_size;
        t.push(&RootComplex {
            header: header(
                node_type::ROOT_COMPLEX,
                len,
                ROOT_COMPLEX_REVISION,
                id(),
                1,
                size_of::<RootComplex>(),
            ),
            cache_coherent: 1,
            allocation_hints: 0,
            reserved0: 0,
            memory_access_flags: 0,
            ats_attribute: 0,
            pci_segment_number: rc.segment as u32,
            memory_address_size_limit: 48,
            reserved1: [0; 3],
        });
        let (first, n) = rid_range(rc);
        let map = match rc.smmu {
            Some(i) => IdMapping {
                input_base: first,
                num_ids: n,
                output_base: first,
                output_reference: smmu_offsets[i] as u32,
                flags: 0,
            },
            None => IdMapping {
                input_base: first,
                num_ids: n,
                output_base: ((rc.segment as u32) << 16) | first,
                output_reference: its_offset as u32,
                flags: 0,
            },
        };
        t.push(map.as_bytes());
    }
    Ok(t.finish())
}

#[cfg(test)]
mod tests {
    use super::*;
    use zerocopy::FromBytes;

    fn desc() -> IortDesc {
        IortDesc {
            its_ids: vec![0],
            smmus: vec![IortSmmu {
                base: 0x0900_0000,
                irqs: SmmuIrqs::Wired {
                    event: 106,
                    gerror: 107,
                    sync: 108,
                },
            }],
            root_complexes: vec![
                IortRootComplex {
                    segment: 0,
                    bus_start: 0,
                    bus_end: 0xff,
                    smmu: Some(0),
                },
                IortRootComplex {
                    segment: 1,
                    bus_start: 0x10,
                    bus_end: 0x1f,
                    smmu: None,
                },
            ],
        }
    }

    /// Follows the ID mappings for `rid` on `segment` to the ITS DeviceID.
    fn resolve(bytes: &[u8], segment: u16, rid: u32) -> Option<u32> {
        let hdr = IortHeader::read_from_prefix(&bytes[36..]).ok()?.0;
        let mut off = hdr.node_offset as usize;
        for _ in 0..hdr.num_nodes {
            let n = NodeHeader::read_from_prefix(&bytes[off..]).ok()?.0;
            if n.node_type == node_type::ROOT_COMPLEX {
                let rc = RootComplex::read_from_prefix(&bytes[off..]).ok()?.0;
                if rc.pci_segment_number == segment as u32 {
                    return follow(bytes, off, rid);
                }
            }
            off += n.length as usize;
        }
        None
    }

    fn follow(bytes: &[u8], node: usize, id: u32) -> Option<u32> {
        let n = NodeHeader::read_from_prefix(&bytes[node..]).ok()?.0;
        if n.node_type == node_type::ITS_GROUP {
            return Some(id);
        }
        for i in 0..n.num_id_mappings as usize {
            let m =
                IdMapping::read_from_prefix(&bytes[node + n.id_mapping_offset as usize + i * 20..])
                    .ok()?
                    .0;
            if m.flags & ID_MAPPING_SINGLE == 0
                && id >= m.input_base
                && id - m.input_base <= m.num_ids
            {
                return follow(
                    bytes,
                    m.output_reference as usize,
                    m.output_base + (id - m.input_base),
                );
            }
        }
        None
    }

    #[test]
    fn lengths_and_checksum() {
        let b = build_iort(&desc()).unwrap();
        assert_eq!(&b[..4], b"IORT");
        assert_eq!(
            u32::from_le_bytes(b[4..8].try_into().unwrap()) as usize,
            b.len()
        );
        assert_eq!(b.iter().fold(0u8, |a, x| a.wrapping_add(*x)), 0);
        // header 48 + ITS 24 + SMMU 68+20 + RC (36+20) * 2
        assert_eq!(b.len(), 48 + 24 + 88 + 112);
    }

    #[test]
    fn rid_to_device_id() {
        let b = build_iort(&desc()).unwrap();
        assert_eq!(resolve(&b, 0, 0x0108), Some(0x0108));
        assert_eq!(resolve(&b, 1, 0x1208), Some(0x0001_1208));
        assert_eq!(resolve(&b, 1, 0x2000), None);
    }

    #[test]
    fn msi_smmu_has_single_mapping() {
        let mut d = desc();
        d.smmus[0].irqs = SmmuIrqs::Msi {
            device_id: 0xffff_0000,
        };
        let b = build_iort(&d).unwrap();
        let s = SmmuV3::read_from_prefix(&b[72..]).unwrap().0;
        assert_eq!({ s.header.num_id_mappings }, 2);
        assert_eq!({ s.device_id_mapping_index }, 1);
        let m = IdMapping::read_from_prefix(&b[72 + 68 + 20..]).unwrap().0;
        assert_eq!({ m.flags }, ID_MAPPING_SINGLE);
        assert_eq!({ m.output_base }, 0xffff_0000);
        assert_eq!(resolve(&b, 0, 0x0108), Some(0x0108));
    }

    #[test]
    fn bad_descriptions() {
        let mut d = desc();
        d.its_ids.clear();
        assert_eq!(build_iort(&d), Err(IortError::NoIts));
        let mut d = desc();
        d.root_complexes[0].smmu = Some(3);
        assert_eq!(build_iort(&d), Err(IortError::MissingSmmu(0, 3)));
        let mut d = desc();
        d.root_complexes[1].bus_end = 0;
        assert_eq!(build_iort(&d), Err(IortError::BusRange(1)));
    }

    /// `iasl -d` must decode the table without checksum or length complaints.
    #[test]
    fn iasl_decodes_cleanly() {
        let Ok(out) = std::process::Command::new("iasl").arg("-v").output() else {
            eprintln!("!!!!! iasl not installed: SKIPPING the IORT iasl -d check !!!!!");
            return;
        };
        let _ = out;
        let dir = std::env::temp_dir().join(format!("smmu-iort-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let mut d = desc();
        d.smmus.push(IortSmmu {
            base: 0x0920_0000,
            irqs: SmmuIrqs::Msi { device_id: 0x10000 },
        });
        d.root_complexes[1].smmu = Some(1);
        let bin = dir.join("iort.dat");
        std::fs::write(&bin, build_iort(&d).unwrap()).unwrap();
        let out = std::process::Command::new("iasl")
            .arg("-d")
            .arg(&bin)
            .current_dir(&dir)
            .output()
            .unwrap();
        let log = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        let dsl = std::fs::read_to_string(dir.join("iort.dsl")).unwrap_or_default();
        std::fs::remove_dir_all(&dir).ok();
        if std::env::var_os("SMMU_IORT_DUMP").is_some() {
            eprintln!("{log}\n{dsl}");
        }
        assert!(out.status.success(), "iasl failed: {log}");
        for bad in [
            "Error",
            "Warning",
            "checksum",
            "Invalid",
            "too long",
            "too short",
        ] {
            assert!(!log.contains(bad), "iasl complained ({bad}): {log}");
        }
        assert!(!dsl.contains("**** "), "iasl flagged a problem:\n{dsl}");
        assert!(dsl.contains("IORT"), "{dsl}");
    }
}
