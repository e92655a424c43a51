//! MSI-X (PCI 3.0 §6.8.2): the capability, the vector table and pending-bit array in a
//! BAR, per-vector and function masking.
//!
//! Programming a vector hands its message to the vector's route (remapped there); raising
//! a masked vector sets its pending bit, and unmasking delivers it.

use crate::config_space::ConfigSpace;
use crate::config_space::ConfigSpaceFull;
use crate::device::MsiController;
use crate::device::MsiVector;
use crate::device::RequesterIdCell;
use crate::spec;
use iommu_common::MsiMessage;
use parking_lot::Mutex;
use std::sync::Arc;

const ENTRY_SIZE: u64 = 16;
const CONTROL_ENABLE: u16 = 1 << 15;
const CONTROL_FUNCTION_MASK: u16 = 1 << 14;
const VECTOR_MASKED: u32 = 1;

struct Vector {
    address: u64,
    data: u32,
    control: u32,
    pending: bool,
    route: Arc<dyn MsiVector>,
    installed: Option<MsiMessage>,
}

struct State {
    enabled: bool,
    function_mask: bool,
    vectors: Vec<Vector>,
}

/// A function's MSI-X state.
pub struct Msix {
    cap: u16,
    bar: u8,
    table_offset: u64,
    pba_offset: u64,
    state: Mutex<State>,
}

impl Msix {
    /// Adds an MSI-X capability with `count` vectors whose table and PBA live in `bar`
    /// at the given offsets (8-byte aligned); creates the vectors' routes.
    pub fn new(
        config: &mut ConfigSpace,
        count: u16,
        bar: u8,
        table_offset: u32,
        pba_offset: u32,
        controller: &dyn MsiController,
        rid: &RequesterIdCell,
    ) -> Result<Arc<Self>, ConfigSpaceFull> {
        assert!((1..=2048).contains(&count), "MSI-X vector count");
        let mut body = [0u8; 10];
        body[..2].copy_from_slice(&(count - 1).to_le_bytes());
        body[2..6].copy_from_slice(&(table_offset | bar as u32).to_le_bytes());
        body[6..10].copy_from_slice(&(pba_offset | bar as u32).to_le_bytes());
        let mut wmask = [0u8; 10];
        wmask[..2].copy_from_slice(&(CONTROL_ENABLE | CONTROL_FUNCTION_MASK).to_le_bytes());
        let cap = config.add_capability(spec::CAP_ID_MSIX, &body, &wmask)?;
        let vectors = (0..count)
            .map(|_| Vector {
                address: 0,
                data: 0,
                control: VECTOR_MASKED,
                pending: false,
                route: controller.new_vector(rid.clone()),
                installed: None,
            })
            .collect();
        Ok(Arc::new(Self {
            cap,
            bar,
            table_offset: table_offset as u64,
            pba_offset: pba_offset as u64,
            state: Mutex::new(State {
                enabled: false,
                function_mask: false,
                vectors,
            }),
        }))
    }

    /// The BAR holding the table and PBA.
    pub fn bar(&self) -> u8 {
        self.bar
    }

    /// Size of the table in bytes.
    fn table_len(&self, s: &State) -> u64 {
        s.vectors.len() as u64 * ENTRY_SIZE
    }

    /// Whether a BAR offset belongs to the table or the PBA.
    pub fn claims(&self, offset: u64) -> bool {
        let s = self.state.lock();
        let pba_len = (s.vectors.len() as u64).div_ceil(64) * 8;
        (self.table_offset..self.table_offset + self.table_len(&s)).contains(&offset)
            || (self.pba_offset..self.pba_offset + pba_len).contains(&offset)
    }

    /// Re-reads the capability's control word after a guest config write.
    pub fn config_changed(&self, config: &ConfigSpace) {
        let control = config.read_u16(self.cap + 2);
        let mut to_signal = Vec::new();
        {
            let mut s = self.state.lock();
            s.enabled = control & CONTROL_ENABLE != 0;
            s.function_mask = control & CONTROL_FUNCTION_MASK != 0;
            for i in 0..s.vectors.len() {
                Self::sync_route(&mut s, i);
                if let Some(v) = Self::take_pending(&mut s, i) {
                    to_signal.push(v);
                }
            }
        }
        for route in to_signal {
            route.signal();
        }
    }

    /// Installs the vector's message while it can fire, and withdraws it while masked:
    /// a masked vector sends nothing, so an IOMMU must not see (or fault on) it.
    fn sync_route(s: &mut State, i: usize) {
        let msg = Self::deliverable(s, i).then(|| MsiMessage {
            address: s.vectors[i].address,
            data: s.vectors[i].data,
        });
        let v = &mut s.vectors[i];
        if v.installed != msg {
            v.installed = msg;
            v.route.set_message(msg);
        }
    }

    fn deliverable(s: &State, i: usize) -> bool {
        s.enabled && !s.function_mask && s.vectors[i].control & VECTOR_MASKED == 0
    }

    fn take_pending(s: &mut State, i: usize) -> Option<Arc<dyn MsiVector>> {
        if s.vectors[i].pending && Self::deliverable(s, i) {
            s.vectors[i].pending = false;
            Some(s.vectors[i].route.clone())
        } else {
            None
        }
    }

    /// Raises vector `index` (ignored if out of range).
    pub fn signal(&self, index: usize) {
        let route = {
            let mut s = self.state.lock();
            if index >= s.vectors.len() {
                return;
            }
            if !Self::deliverable(&s, index) {
                s.vectors[index].pending = true;
                return;
            }
            s.vectors[index].route.clone()
        };
        route.signal();
    }

    /// Number of vectors.
    pub fn len(&self) -> usize {
        self.state.lock().vectors.len()
    }

    /// Whether there are no vectors (never: at least one is required).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Guest read of the table or PBA at BAR `offset`.
    pub fn read(&self, offset: u64, data: &mut [u8]) {
        data.fill(0);
        let s = self.state.lock();
        if let Some(rel) = offset.checked_sub(self.table_offset) {
            if rel < self.table_len(&s) {
                let entry = &s.vectors[(rel / ENTRY_SIZE) as usize];
                let mut bytes = [0u8; 16];
                bytes[..8].copy_from_slice(&entry.address.to_le_bytes());
                bytes[8..12].copy_from_slice(&entry.data.to_le_bytes());
                bytes[12..].copy_from_slice(&entry.control.to_le_bytes());
                let start = (rel % ENTRY_SIZE) as usize;
                let n = data.len().min(16 - start);
                data[..n].copy_from_slice(&bytes[start..start + n]);
                return;
            }
        }
        if let Some(rel) = offset.checked_sub(self.pba_offset) {
            for (i, b) in data.iter_mut().enumerate() {
                let Some(bit_base) = rel.checked_add(i as u64).and_then(|x| x.checked_mul(8))
                else {
                    break;
                };
                for bit in 0..8u64 {
                    if usize::try_from(bit_base + bit)
                        .ok()
                        .and_then(|n| s.vectors.get(n))
                        .is_some_and(|v| v.pending)
                    {
                        *b |= 1 << bit;
                    }
                }
            }
        }
    }

    /// Guest write of the table at BAR `offset` (the PBA is read-only).
    pub fn write(&self, offset: u64, data: &[u8]) {
        let route = {
            let mut s = self.state.lock();
            let Some(rel) = offset.checked_sub(self.table_offset) else {
                return;
            };
            if rel >= self.table_len(&s) || !(data.len() == 4 || data.len() == 8) || rel % 4 != 0 {
                return;
            }
            let i = (rel / ENTRY_SIZE) as usize;
            let mut bytes = [0u8; 16];
            {
                let e = &s.vectors[i];
                bytes[..8].copy_from_slice(&e.address.to_le_bytes());
                bytes[8..12].copy_from_slice(&e.data.to_le_bytes());
                bytes[12..].copy_from_slice(&e.control.to_le_bytes());
            }
            let start = (rel % ENTRY_SIZE) as usize;
            let n = data.len().min(16 - start);
            bytes[start..start + n].copy_from_slice(&data[..n]);
            let e = &mut s.vectors[i];
            e.address = u64::from_le_bytes(bytes[..8].try_into().unwrap());
            e.data = u32::from_le_bytes(bytes[8..12].try_into().unwrap());
            e.control = u32::from_le_bytes(bytes[12..].try_into().unwrap()) & VECTOR_MASKED;
            Self::sync_route(&mut s, i);
            Self::take_pending(&mut s, i)
        };
        if let Some(route) = route {
            route.signal();
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// Records what routes were told.
    #[derive(Default)]
    pub struct RecordingVector {
        pub messages: Mutex<Vec<Option<MsiMessage>>>,
        pub signals: Mutex<u32>,
    }

    impl MsiVector for RecordingVector {
        fn set_message(&self, msg: Option<MsiMessage>) {
            self.messages.lock().push(msg);
        }
        fn signal(&self) {
            *self.signals.lock() += 1;
        }
    }

    /// Hands out recording vectors and keeps them.
    #[derive(Default)]
    pub struct RecordingController {
        pub vectors: Mutex<Vec<Arc<RecordingVector>>>,
    }

    impl MsiController for RecordingController {
        fn new_vector(&self, _rid: RequesterIdCell) -> Arc<dyn MsiVector> {
            let v = Arc::new(RecordingVector::default());
            self.vectors.lock().push(v.clone());
            v
        }
    }

    fn setup() -> (ConfigSpace, Arc<Msix>, RecordingController) {
        let mut config = ConfigSpace::endpoint(0x1414, 1, 0, 1);
        let ctl = RecordingController::default();
        let msix = Msix::new(
            &mut config,
            3,
            1,
            0x0,
            0x800,
            &ctl,
            &RequesterIdCell::new(0, 8),
        )
        .unwrap();
        (config, msix, ctl)
    }

    fn program(msix: &Msix, i: u64, addr: u64, data: u32, masked: bool) {
        msix.write(i * 16, &addr.to_le_bytes());
        msix.write(i * 16 + 8, &data.to_le_bytes());
        msix.write(i * 16 + 12, &(masked as u32).to_le_bytes());
    }

    fn enable(config: &mut ConfigSpace, msix: &Msix, control: u16) {
        let cap = config.read_u8(spec::CAP_PTR) as u16;
        config.write(cap + 2, 2, control as u32);
        msix.config_changed(config);
    }

    #[test]
    fn pending_until_unmasked() {
        let (mut config, msix, ctl) = setup();
        program(&msix, 1, 0xfee0_0000, 0x41, true);
        enable(&mut config, &msix, CONTROL_ENABLE);
        let v = ctl.vectors.lock()[1].clone();
        // Masked: nothing installed.
        assert_eq!(v.messages.lock().last().copied().flatten(), None);
        msix.signal(1);
        assert_eq!(*v.signals.lock(), 0);
        let mut pba = [0u8; 8];
        msix.read(0x800, &mut pba);
        assert_eq!(pba[0], 0b10);
        // Unmask installs the message, delivers the pending interrupt, clears the bit.
        msix.write(16 + 12, &0u32.to_le_bytes());
        assert_eq!(
            v.messages.lock().last().copied().flatten(),
            Some(MsiMessage {
                address: 0xfee0_0000,
                data: 0x41
            })
        );
        assert_eq!(*v.signals.lock(), 1);
        msix.read(0x800, &mut pba);
        assert_eq!(pba[0], 0);
        msix.signal(1);
        assert_eq!(*v.signals.lock(), 2);
    }

    #[test]
    fn function_mask_and_disable() {
        let (mut config, msix, ctl) = setup();
        program(&msix, 0, 0xfee0_1000, 0x30, false);
        enable(&mut config, &msix, CONTROL_ENABLE | CONTROL_FUNCTION_MASK);
        msix.signal(0);
        let v = ctl.vectors.lock()[0].clone();
        assert_eq!(*v.signals.lock(), 0);
        enable(&mut config, &msix, CONTROL_ENABLE);
        assert_eq!(*v.signals.lock(), 1);
        enable(&mut config, &msix, 0);
        assert_eq!(v.messages.lock().last().copied(), Some(None));
    }

    #[test]
    fn hostile_table_accesses() {
        let (_config, msix, _ctl) = setup();
        msix.write(3 * 16, &[1, 2, 3, 4]); // past the table
        msix.write(2, &[1, 2, 3, 4]); // misaligned
        msix.write(0, &[1, 2]); // 2-byte
        msix.write(u64::MAX, &[1, 2, 3, 4]);
        let mut big = [0u8; 64];
        msix.read(u64::MAX - 1, &mut big);
        msix.read(0x800, &mut big);
        msix.signal(99);
        // Reserved vector-control bits read as zero.
        msix.write(12, &u32::MAX.to_le_bytes());
        let mut c = [0u8; 4];
        msix.read(12, &mut c);
        assert_eq!(u32::from_le_bytes(c), 1);
    }
}
