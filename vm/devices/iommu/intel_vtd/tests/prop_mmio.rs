//! Random register traffic, DMA and MSIs against random guest memory never panic,
//! and the unit keeps its invariants (GCMD reads zero, FSTS reserved bits zero).

mod common;

use common::Harness;
use intel_vtd::spec::regs;
use intel_vtd::VtdConfig;
use iommu_common::DmaAccess;
use iommu_common::DmaRequest;
use iommu_common::DmaTranslator;
use iommu_common::MsiMessage;
use iommu_common::MsiRemapper;
use iommu_common::RequesterId;
use proptest::prelude::*;

#[derive(Debug, Clone)]
enum Op {
    Write { off: u64, len: usize, val: u64 },
    Read { off: u64, len: usize },
    Mem { gpa: u64, val: u64 },
    Dma { bdf: u16, iova: u64, write: bool },
    Msi { bdf: u16, address: u64, data: u32 },
}

fn op() -> impl Strategy<Value = Op> {
    let off = prop_oneof![0u64..0x300, 0u64..0x1010, any::<u64>()];
    let len = prop_oneof![Just(4usize), Just(8usize), 0usize..9];
    prop_oneof![
        4 => (off.clone(), len.clone(), any::<u64>()).prop_map(|(off, len, val)| Op::Write { off, len, val }),
        1 => (off, len).prop_map(|(off, len)| Op::Read { off, len }),
        4 => (0x10_0000u64..0x10_8000, any::<u64>()).prop_map(|(gpa, val)| Op::Mem { gpa: gpa & !7, val }),
        2 => (any::<u16>(), any::<u64>(), any::<bool>()).prop_map(|(bdf, iova, write)| Op::Dma { bdf, iova, write }),
        2 => (any::<u16>(), prop_oneof![0xfee0_0000u64..0xfef0_0000, any::<u64>()], any::<u32>())
            .prop_map(|(bdf, address, data)| Op::Msi { bdf, address, data }),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]
    #[test]
    fn never_panics(ops in proptest::collection::vec(op(), 1..200)) {
        let h = Harness::new(VtdConfig::default());
        // Point every table pointer at the scribbled area.
        h.w64(regs::RTADDR, 0x10_0000);
        h.w64(regs::IRTA, 0x10_4000 | 0xf);
        h.w64(regs::IQA, 0x10_2000);
        for op in ops {
            match op {
                Op::Write { off, len, val } => {
                    let bytes = val.to_le_bytes();
                    h.vtd.mmio_write(off, &bytes[..len.min(8)]);
                }
                Op::Read { off, len } => {
                    let mut b = vec![0; len];
                    h.vtd.mmio_read(off, &mut b);
                }
                Op::Mem { gpa, val } => h.write_u64(gpa, val),
                Op::Dma { bdf, iova, write } => {
                    let access = if write { DmaAccess::Write } else { DmaAccess::Read };
                    let _ = h.vtd.translate(&DmaRequest::new(RequesterId::new(0, bdf), iova, access));
                }
                Op::Msi { bdf, address, data } => {
                    let _ = h.vtd.remap(RequesterId::new(0, bdf), MsiMessage { address, data });
                }
            }
            prop_assert_eq!(h.r32(regs::GCMD), 0);
            prop_assert_eq!(h.r32(regs::FSTS) & 0xffff_00ec, 0);
        }
    }
}
