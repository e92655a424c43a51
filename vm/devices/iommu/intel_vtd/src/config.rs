//! Unit configuration and the capabilities derived from it.

use crate::spec::regs::Cap;
use crate::spec::regs::Ecap;
use crate::spec::regs::FRCD_BASE;
use crate::spec::regs::IVA;
use crate::spec::regs::MAX_FAULT_RECORDS;

/// How a VT-d unit is built. The lead's CLI maps `--intel-vtd` options onto this.
#[derive(Debug, Clone, PartialEq, Eq, inspect::Inspect)]
pub struct VtdConfig {
    /// Guest address width: 39 (3-level tables) or 48 (4-level tables, and 3-level
    /// too). Also the host address width the unit checks table pointers against; the
    /// DMAR table's HAW must say the same ([`VtdConfig::host_address_width`]).
    pub aw_bits: u8,
    /// Interrupt remapping (ECAP.IR).
    pub intremap: bool,
    /// Extended interrupt mode, x2APIC destinations (ECAP.EIM). Needs `intremap`.
    pub eim: bool,
    /// DMA remapping. Off: CAP.SAGAW = 0, which Linux reads as "interrupt remapping
    /// only" for this unit.
    pub dma_translation: bool,
    /// PCI segment the unit covers; requests from other segments are refused.
    pub segment: u16,
    /// Number of fault recording registers: 8 ..= 222.
    pub fault_records: usize,
}

impl Default for VtdConfig {
    fn default() -> Self {
        Self {
            aw_bits: 48,
            intremap: true,
            eim: true,
            dma_translation: true,
            segment: 0,
            fault_records: 8,
        }
    }
}

/// A configuration the unit cannot honour exactly.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    /// `aw_bits` is neither 39 nor 48.
    #[error("intel-vtd: aw-bits must be 39 or 48, not {0}")]
    AddressWidth(u8),
    /// `eim` without `intremap`.
    #[error("intel-vtd: eim=on needs intremap=on")]
    EimWithoutIntremap,
    /// `fault_records` outside 8 ..= 222.
    #[error("intel-vtd: fault records must be 8..={max}, not {0}", max = MAX_FAULT_RECORDS)]
    FaultRecords(usize),
}

/// Most address bits a page-selective invalidation may mask (CAP.MAMV).
pub(crate) const MAMV: u8 = 18;
/// Largest index mask of an index-selective IEC invalidation (ECAP.MHMV).
pub(crate) const MHMV: u8 = 15;

impl VtdConfig {
    /// Checks the configuration; [`crate::IntelVtd::new`] normalizes what this
    /// rejects (nearest supported width, clamped record count, EIM dropped).
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.aw_bits != 39 && self.aw_bits != 48 {
            return Err(ConfigError::AddressWidth(self.aw_bits));
        }
        if self.eim && !self.intremap {
            return Err(ConfigError::EimWithoutIntremap);
        }
        if !(8..=MAX_FAULT_RECORDS).contains(&self.fault_records) {
            return Err(ConfigError::FaultRecords(self.fault_records));
        }
        Ok(())
    }

    /// The host address width (DMAR `HAW` + 1): the same as the guest address width.
    pub fn host_address_width(&self) -> u8 {
        self.normalized().aw_bits
    }

    /// The configuration the unit actually uses.
    pub(crate) fn normalized(&self) -> Self {
        Self {
            aw_bits: if self.aw_bits <= 39 { 39 } else { 48 },
            intremap: self.intremap,
            eim: self.eim && self.intremap,
            dma_translation: self.dma_translation,
            segment: self.segment,
            fault_records: self.fault_records.clamp(8, MAX_FAULT_RECORDS),
        }
    }

    /// The capability register this configuration advertises (VT-d §11.4, CAP_REG).
    pub fn capability(&self) -> u64 {
        Caps::new(self).cap.into_bits()
    }

    /// The extended capability register this configuration advertises (VT-d §11.4,
    /// ECAP_REG).
    pub fn extended_capability(&self) -> u64 {
        Caps::new(self).ecap.into_bits()
    }
}

/// Everything derived from the configuration.
#[derive(Debug, Clone, inspect::Inspect)]
pub(crate) struct Caps {
    #[inspect(flatten)]
    pub config: VtdConfig,
    #[inspect(with = "cap_hex")]
    pub cap: Cap,
    #[inspect(with = "ecap_hex")]
    pub ecap: Ecap,
}

fn cap_hex(c: &Cap) -> inspect::AsHex<u64> {
    inspect::AsHex(c.into_bits())
}

fn ecap_hex(c: &Ecap) -> inspect::AsHex<u64> {
    inspect::AsHex(c.into_bits())
}

impl Caps {
    pub fn new(config: &VtdConfig) -> Self {
        let config = config.normalized();
        let sagaw = match (config.dma_translation, config.aw_bits) {
            (false, _) => 0,
            (true, 39) => 0b010,
            (true, _) => 0b110,
        };
        let cap = Cap::new()
            .with_nd(6)
            .with_sagaw(sagaw)
            .with_mgaw(config.aw_bits - 1)
            .with_fro((FRCD_BASE / 16) as u16)
            .with_sllps(if config.dma_translation { 0b11 } else { 0 })
            .with_psi(config.dma_translation)
            .with_nfr((config.fault_records - 1) as u8)
            .with_mamv(if config.dma_translation { MAMV } else { 0 });
        let ecap = Ecap::new()
            .with_c(true)
            .with_qi(true)
            .with_ir(config.intremap)
            .with_eim(config.eim)
            .with_pt(config.dma_translation)
            .with_iro((IVA / 16) as u16)
            .with_mhmv(if config.intremap { MHMV } else { 0 });
        Self { config, cap, ecap }
    }

    /// Host address width in bits.
    pub fn haw(&self) -> u8 {
        self.config.aw_bits
    }

    /// Whether the context-entry AW value `aw` is in CAP.SAGAW.
    pub fn aw_supported(&self, aw: u8) -> bool {
        aw < 5 && self.cap.sagaw() & (1 << aw) != 0
    }

    /// Number of fault recording registers.
    pub fn fault_records(&self) -> usize {
        self.config.fault_records
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_caps() {
        let c = VtdConfig::default();
        c.validate().unwrap();
        // ND=6, SAGAW=39|48, MGAW=47, FRO=0x22, SLLPS=2M|1G, PSI, NFR=7, MAMV=18.
        assert_eq!(c.capability(), 0x0012_078c_222f_0606);
        let ecap = Ecap::from(c.extended_capability());
        assert!(ecap.c() && ecap.qi() && ecap.ir() && ecap.eim() && ecap.pt());
        assert!(!ecap.dt() && !ecap.sc() && !ecap.smts());
        assert_eq!(ecap.iro(), 0x20);
        assert_eq!(ecap.mhmv(), 15);
        let cap = Cap::from(c.capability());
        assert!(!cap.cm() && !cap.rwbf() && !cap.afl() && !cap.plmr() && !cap.phmr());
        assert!(!cap.esirtps() && !cap.esrtps() && !cap.pi() && !cap.drd() && !cap.dwd());
    }

    #[test]
    fn variants() {
        let c = VtdConfig {
            aw_bits: 39,
            intremap: false,
            eim: false,
            fault_records: 16,
            ..Default::default()
        };
        let cap = Cap::from(c.capability());
        assert_eq!(cap.sagaw(), 0b010);
        assert_eq!(cap.mgaw(), 38);
        assert_eq!(cap.nfr(), 15);
        let ecap = Ecap::from(c.extended_capability());
        assert!(!ecap.ir() && !ecap.eim() && ecap.mhmv() == 0);

        let c = VtdConfig {
            dma_translation: false,
            ..Default::default()
        };
        let cap = Cap::from(c.capability());
        assert_eq!(cap.sagaw(), 0);
        assert_eq!(cap.sllps(), 0);
        assert!(!Ecap::from(c.extended_capability()).pt());
    }

    #[test]
    fn validation_and_normalization() {
        let bad = VtdConfig {
            aw_bits: 57,
            ..Default::default()
        };
        assert_eq!(bad.validate(), Err(ConfigError::AddressWidth(57)));
        assert_eq!(bad.host_address_width(), 48);
        let bad = VtdConfig {
            intremap: false,
            ..Default::default()
        };
        assert_eq!(bad.validate(), Err(ConfigError::EimWithoutIntremap));
        assert!(!Ecap::from(bad.extended_capability()).eim());
        let bad = VtdConfig {
            fault_records: 1000,
            ..Default::default()
        };
        assert_eq!(bad.validate(), Err(ConfigError::FaultRecords(1000)));
        assert_eq!(
            Cap::from(bad.capability()).nfr() as usize + 1,
            MAX_FAULT_RECORDS
        );
        let small = VtdConfig {
            fault_records: 0,
            ..Default::default()
        };
        assert_eq!(Cap::from(small.capability()).nfr(), 7);
    }
}
