//! CPUID for each vCPU: KVM's supported set with the topology (APIC ids) of this VM,
//! the hypervisor bit and the TSC-deadline timer the in-kernel LAPIC emulates.

use kvm_bindings::CpuId;

const LEAF_FEATURES: u32 = 1;
const LEAF_CACHE_PARAMS: u32 = 4;
const LEAF_THERMAL: u32 = 6;
const LEAF_TOPOLOGY: u32 = 0xb;
const LEAF_TOPOLOGY_V2: u32 = 0x1f;
const LEAF_XSAVE: u32 = 0xd;
const LEAF_AMD_SIZE: u32 = 0x8000_0008;
const LEAF_AMD_TOPOLOGY: u32 = 0x8000_001e;

const ECX_TSC_DEADLINE: u32 = 1 << 24;
const ECX_HYPERVISOR: u32 = 1 << 31;
const EDX_HTT: u32 = 1 << 28;
const EAX_ARAT: u32 = 1 << 2;

/// Bits needed to number `n` cores.
fn core_bits(n: u32) -> u32 {
    32 - n.saturating_sub(1).leading_zeros()
}

/// Adjusts `cpuid` (KVM's supported set) for vCPU `apic_id` of `count`: one socket of
/// `count` single-threaded cores.
pub fn customize(cpuid: &mut CpuId, apic_id: u32, count: u32, tsc_deadline: bool) {
    let bits = core_bits(count);
    for e in cpuid.as_mut_slice() {
        match e.function {
            LEAF_FEATURES => {
                e.ebx = (e.ebx & 0x0000_ffff) | (apic_id << 24) | (count.min(255) << 16);
                e.ecx |= ECX_HYPERVISOR;
                if tsc_deadline {
                    e.ecx |= ECX_TSC_DEADLINE;
                }
                if count > 1 {
                    e.edx |= EDX_HTT;
                } else {
                    e.edx &= !EDX_HTT;
                }
            }
            LEAF_CACHE_PARAMS => {
                e.eax = (e.eax & 0x03ff_ffff) | ((count.next_power_of_two() - 1).min(63) << 26);
            }
            LEAF_THERMAL => e.eax |= EAX_ARAT,
            // XSAVE area size for the features enabled in XCR0 (KVM recomputes it
            // from the vCPU's XCR0; see `regs::setup_xcr0`).
            LEAF_XSAVE if e.index == 0 => e.ebx = e.ecx,
            LEAF_TOPOLOGY | LEAF_TOPOLOGY_V2 => {
                let (shift, logical, level_type) = match e.index {
                    0 => (0, 1, 1),
                    1 => (bits, count, 2),
                    _ => (0, 0, 0),
                };
                e.eax = shift;
                e.ebx = logical;
                e.ecx = (level_type << 8) | e.index;
                e.edx = apic_id;
            }
            LEAF_AMD_SIZE => {
                e.ecx = (e.ecx & !0xf0ff) | (bits << 12) | (count - 1).min(255);
            }
            LEAF_AMD_TOPOLOGY => {
                e.eax = apic_id;
                e.ebx = (e.ebx & !0xff) | (apic_id & 0xff);
                e.ecx &= !0xff;
            }
            _ => {}
        }
    }
}

/// The user state components XCR0 may enable (CPUID.0xD.0 EDX:EAX), or 0 without XSAVE.
pub fn supported_xcr0(cpuid: &CpuId) -> u64 {
    cpuid
        .as_slice()
        .iter()
        .find(|e| e.function == LEAF_XSAVE && e.index == 0)
        .map_or(0, |e| (e.edx as u64) << 32 | e.eax as u64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use kvm_bindings::kvm_cpuid_entry2;

    #[test]
    fn topology_and_ids() {
        let mut cpuid = CpuId::from_entries(&[
            kvm_cpuid_entry2 {
                function: 1,
                ..Default::default()
            },
            kvm_cpuid_entry2 {
                function: 0xb,
                index: 1,
                ..Default::default()
            },
        ])
        .unwrap();
        customize(&mut cpuid, 3, 4, true);
        let e = cpuid.as_slice();
        assert_eq!(e[0].ebx >> 24, 3);
        assert_ne!(e[0].ecx & ECX_TSC_DEADLINE, 0);
        assert_ne!(e[0].ecx & ECX_HYPERVISOR, 0);
        assert_eq!((e[1].eax, e[1].ebx, e[1].edx), (2, 4, 3));
    }

    #[test]
    fn xsave_size_covers_all_supported_features() {
        let mut cpuid = CpuId::from_entries(&[kvm_cpuid_entry2 {
            function: 0xd,
            index: 0,
            eax: 7,
            ebx: 0x240,
            ecx: 0x340,
            ..Default::default()
        }])
        .unwrap();
        customize(&mut cpuid, 0, 1, false);
        assert_eq!(cpuid.as_slice()[0].ebx, 0x340);
    }

    #[test]
    fn core_bits_values() {
        assert_eq!(core_bits(1), 0);
        assert_eq!(core_bits(2), 1);
        assert_eq!(core_bits(3), 2);
        assert_eq!(core_bits(256), 8);
    }
}
