//! Building event records for the faults the translation pipeline finds
//! (IHI 0070 §7.3).

use crate::spec::event::id;
use crate::spec::event::Event0;
use crate::spec::event::EventFault1;
use crate::spec::event::EventRecord;
use crate::spec::event::FaultClass;
use crate::spec::event::FETCH_ADDR_MASK;
use crate::spec::event::IPA_MASK;
use crate::walk::WalkFault;
use iommu_common::DmaFaultKind;

/// Who faulted: the transaction's identity as event records carry it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Origin {
    /// StreamID.
    pub sid: u32,
    /// SubstreamID, when the transaction carried one.
    pub ssid: Option<u32>,
    /// Input address.
    pub iova: u64,
    /// Write (else read).
    pub write: bool,
    /// Privileged after STE override.
    pub privileged: bool,
}

impl Origin {
    fn w0(&self, event: u8) -> u64 {
        Event0::new()
            .with_event_type(event)
            .with_sid(self.sid)
            .with_ssv(self.ssid.is_some())
            .with_ssid(self.ssid.unwrap_or(0) & 0xf_ffff)
            .into_bits()
    }

    /// A record with only StreamID/SubstreamID (C_BAD_STREAMID, C_BAD_STE,
    /// C_BAD_SUBSTREAMID, F_STREAM_DISABLED, C_BAD_CD).
    pub fn simple(&self, event: u8) -> EventRecord {
        EventRecord([self.w0(event), 0, 0, 0])
    }

    /// A fetch-abort record (F_STE_FETCH, F_CD_FETCH) carrying FetchAddr.
    pub fn fetch(&self, event: u8, addr: u64) -> EventRecord {
        EventRecord([self.w0(event), 0, 0, addr & FETCH_ADDR_MASK])
    }

    fn fault1(&self, s2: bool, class: FaultClass) -> u64 {
        EventFault1::new()
            .with_rnw(!self.write)
            .with_pnu(self.privileged)
            .with_s2(s2)
            .with_class(class as u8)
            .into_bits()
    }

    /// A translation-related fault record (F_TRANSLATION, F_ADDR_SIZE, F_ACCESS,
    /// F_PERMISSION). `ipa` is recorded for stage 2 faults.
    pub fn translation(&self, event: u8, s2: bool, class: FaultClass, ipa: u64) -> EventRecord {
        let w3 = if s2 { ipa & IPA_MASK } else { 0 };
        EventRecord([self.w0(event), self.fault1(s2, class), self.iova, w3])
    }

    /// F_WALK_EABT: a descriptor fetch aborted at `addr`.
    pub fn walk_eabt(&self, class: FaultClass, addr: u64) -> EventRecord {
        EventRecord([
            self.w0(id::F_WALK_EABT),
            self.fault1(false, class),
            self.iova,
            addr & FETCH_ADDR_MASK,
        ])
    }
}

/// Event number for a walk fault (IHI 0070 §7.3.13-§7.3.16).
pub(crate) const fn walk_event(f: WalkFault) -> u8 {
    match f {
        WalkFault::Translation => id::F_TRANSLATION,
        WalkFault::AddressSize => id::F_ADDR_SIZE,
        WalkFault::Access => id::F_ACCESS,
        WalkFault::Permission => id::F_PERMISSION,
    }
}

/// The coarse kind callers see for a walk fault.
pub(crate) const fn walk_kind(f: WalkFault) -> DmaFaultKind {
    match f {
        WalkFault::Translation => DmaFaultKind::NotMapped,
        WalkFault::AddressSize => DmaFaultKind::AddressSize,
        WalkFault::Access => DmaFaultKind::Access,
        WalkFault::Permission => DmaFaultKind::Permission,
    }
}

/// A failed translation: what the caller sees and what, if anything, to record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Fault {
    /// Coarse reason.
    pub kind: DmaFaultKind,
    /// The event to record, if the configuration says to record it.
    pub event: Option<EventRecord>,
}

impl Fault {
    /// A fault with an event.
    pub fn recorded(kind: DmaFaultKind, event: EventRecord) -> Self {
        Self {
            kind,
            event: Some(event),
        }
    }

    /// A fault terminated silently.
    pub fn silent(kind: DmaFaultKind) -> Self {
        Self { kind, event: None }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn record_layout() {
        let o = Origin {
            sid: 0x1234,
            ssid: Some(5),
            iova: 0xdead_b000,
            write: false,
            privileged: false,
        };
        let r = o.translation(id::F_PERMISSION, true, FaultClass::In, 0x8765_4321);
        assert_eq!(r.event_type(), id::F_PERMISSION);
        assert_eq!(r.w0().sid(), 0x1234);
        assert!(r.w0().ssv());
        assert_eq!(r.w0().ssid(), 5);
        assert!(r.fault().rnw());
        assert!(r.fault().s2());
        assert_eq!(r.fault().class(), FaultClass::In as u8);
        assert_eq!(r.input_addr(), 0xdead_b000);
        assert_eq!(r.addr3(), 0x8765_4000);
        let f = o.fetch(id::F_STE_FETCH, 0x1_2345_6789);
        assert_eq!(f.addr3(), 0x1_2345_6788);
    }
}
