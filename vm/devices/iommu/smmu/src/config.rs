//! What this SMMU advertises: the build-time description turned into ID registers.

use crate::spec::regs::oas_encode;
use crate::spec::regs::Idr0;
use crate::spec::regs::Idr1;
use crate::spec::regs::Idr3;
use crate::spec::regs::Idr5;
use thiserror::Error;

/// Features and sizes of one emulated SMMU.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SmmuConfig {
    /// Output (physical) address size in bits: 32, 36, 40, 42, 44 or 48.
    pub oas_bits: u32,
    /// StreamID bits (IDR1.SIDSIZE). 16 covers every RID of one PCI segment.
    pub sid_bits: u8,
    /// SubstreamID bits (IDR1.SSIDSIZE); 0 disables substreams.
    pub ssid_bits: u8,
    /// log2 of the largest command queue (IDR1.CMDQS).
    pub cmdq_log2: u8,
    /// log2 of the largest event queue (IDR1.EVENTQS).
    pub eventq_log2: u8,
    /// Stage 1 translation (IDR0.S1P).
    pub stage1: bool,
    /// Stage 2 translation (IDR0.S2P).
    pub stage2: bool,
    /// 2-level stream tables (IDR0.ST_LEVEL).
    pub two_level_strtab: bool,
    /// MSIs for the SMMU's own interrupts (IDR0.MSI).
    pub msi: bool,
    /// Granules supported: 4K, 16K, 64K (IDR5.GRAN*).
    pub granules: [bool; 3],
    /// GBPA.ABORT at reset: abort (true) or bypass (false) while SMMUEN = 0.
    pub gbpa_abort_at_reset: bool,
}

impl Default for SmmuConfig {
    fn default() -> Self {
        Self {
            oas_bits: 48,
            sid_bits: 16,
            ssid_bits: 8,
            cmdq_log2: 8,
            eventq_log2: 7,
            stage1: true,
            stage2: true,
            two_level_strtab: true,
            msi: true,
            granules: [true, true, true],
            gbpa_abort_at_reset: false,
        }
    }
}

/// A configuration the SMMU cannot implement.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum ConfigError {
    /// OAS is not one of the architected sizes up to 48 bits.
    #[error("unsupported output address size {0} bits (32, 36, 40, 42, 44 or 48)")]
    Oas(u32),
    /// A size field exceeds its ID register field.
    #[error("{0} out of range")]
    Size(&'static str),
    /// Neither stage is enabled, or no granule.
    #[error("at least one stage and one granule must be supported")]
    Empty,
}

impl SmmuConfig {
    /// Checks the configuration.
    pub fn validate(&self) -> Result<(), ConfigError> {
        match oas_encode(self.oas_bits) {
            Some(e) if e <= 5 => {}
            _ => return Err(ConfigError::Oas(self.oas_bits)),
        }
        if self.sid_bits > 32 {
            return Err(ConfigError::Size("sid_bits"));
        }
        if self.ssid_bits > 20 {
            return Err(ConfigError::Size("ssid_bits"));
        }
        if !(7..=19).contains(&self.cmdq_log2) {
            return Err(ConfigError::Size("cmdq_log2"));
        }
        if !(1..=19).contains(&self.eventq_log2) {
            return Err(ConfigError::Size("eventq_log2"));
        }
        if !(self.stage1 || self.stage2) || !self.granules.iter().any(|g| *g) {
            return Err(ConfigError::Empty);
        }
        Ok(())
    }

    /// SMMU_IDR0 (IHI 0070 §6.3).
    pub fn idr0(&self) -> Idr0 {
        Idr0::new()
            .with_s2p(self.stage2)
            .with_s1p(self.stage1)
            .with_ttf(0b10)
            .with_cohacc(true)
            .with_asid16(true)
            .with_vmid16(true)
            .with_msi(self.msi)
            .with_ttendian(0b10)
            .with_stall_model(0b01)
            .with_term_model(true)
            .with_st_level(self.two_level_strtab as u8)
    }

    /// SMMU_IDR1 (IHI 0070 §6.3).
    pub fn idr1(&self) -> Idr1 {
        Idr1::new()
            .with_sidsize(self.sid_bits)
            .with_ssidsize(self.ssid_bits)
            .with_eventqs(self.eventq_log2)
            .with_cmdqs(self.cmdq_log2)
    }

    /// SMMU_IDR3 (IHI 0070 §6.3): range invalidation and hierarchical attribute
    /// disable.
    pub fn idr3(&self) -> Idr3 {
        Idr3::new().with_ril(true).with_had(true)
    }

    /// SMMU_IDR5 (IHI 0070 §6.3).
    pub fn idr5(&self) -> Idr5 {
        Idr5::new()
            .with_oas(oas_encode(self.oas_bits).unwrap_or(5))
            .with_gran4k(self.granules[0])
            .with_gran16k(self.granules[1])
            .with_gran64k(self.granules[2])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_is_valid_and_linux_friendly() {
        let c = SmmuConfig::default();
        c.validate().unwrap();
        // Linux refuses command queues of 64 entries or fewer.
        assert!(c.idr1().cmdqs() > 6);
        assert_eq!(c.idr0().ttf(), 0b10);
        assert_eq!(c.idr5().oas(), 5);
    }

    #[test]
    fn rejects_bad_sizes() {
        let bad = |f: fn(&mut SmmuConfig)| {
            let mut c = SmmuConfig::default();
            f(&mut c);
            c.validate().is_err()
        };
        assert!(bad(|c| c.oas_bits = 52));
        assert!(bad(|c| c.oas_bits = 47));
        assert!(bad(|c| c.sid_bits = 33));
        assert!(bad(|c| c.cmdq_log2 = 6));
        assert!(bad(|c| {
            c.stage1 = false;
            c.stage2 = false
        }));
    }
}
