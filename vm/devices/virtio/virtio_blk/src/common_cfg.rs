//! The common configuration structure (§4.1.4.3): feature negotiation, device status
//! and per-queue registers. Pure register logic; the device acts on the returned
//! [`Action`]s (starting and stopping queue workers).

use crate::queue::QueueParams;
use crate::spec::features;
use crate::spec::status;
use crate::spec::NO_VECTOR;

/// Size of the structure as mapped in the BAR.
pub const COMMON_CFG_LEN: u64 = 0x40;

const DEVICE_FEATURE_SELECT: u64 = 0x00;
const DEVICE_FEATURE: u64 = 0x04;
const DRIVER_FEATURE_SELECT: u64 = 0x08;
const DRIVER_FEATURE: u64 = 0x0c;
const CONFIG_MSIX_VECTOR: u64 = 0x10;
const NUM_QUEUES: u64 = 0x12;
const DEVICE_STATUS: u64 = 0x14;
const CONFIG_GENERATION: u64 = 0x15;
const QUEUE_SELECT: u64 = 0x16;
const QUEUE_SIZE: u64 = 0x18;
const QUEUE_MSIX_VECTOR: u64 = 0x1a;
const QUEUE_ENABLE: u64 = 0x1c;
const QUEUE_NOTIFY_OFF: u64 = 0x1e;
const QUEUE_DESC: u64 = 0x20;
const QUEUE_DRIVER: u64 = 0x28;
const QUEUE_DEVICE: u64 = 0x30;
const QUEUE_NOTIFY_DATA: u64 = 0x38;
const QUEUE_RESET: u64 = 0x3a;

/// Every field: offset and width. Accesses of any width are split onto these.
const FIELDS: &[(u64, usize)] = &[
    (DEVICE_FEATURE_SELECT, 4),
    (DEVICE_FEATURE, 4),
    (DRIVER_FEATURE_SELECT, 4),
    (DRIVER_FEATURE, 4),
    (CONFIG_MSIX_VECTOR, 2),
    (NUM_QUEUES, 2),
    (DEVICE_STATUS, 1),
    (CONFIG_GENERATION, 1),
    (QUEUE_SELECT, 2),
    (QUEUE_SIZE, 2),
    (QUEUE_MSIX_VECTOR, 2),
    (QUEUE_ENABLE, 2),
    (QUEUE_NOTIFY_OFF, 2),
    (QUEUE_DESC, 8),
    (QUEUE_DRIVER, 8),
    (QUEUE_DEVICE, 8),
    (QUEUE_NOTIFY_DATA, 2),
    (QUEUE_RESET, 2),
];

/// One queue's registers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, inspect::Inspect)]
pub struct QueueRegs {
    /// Where the rings are.
    #[inspect(flatten)]
    pub params: QueueParams,
    /// MSI-X vector (or [`NO_VECTOR`]).
    #[inspect(hex)]
    pub msix_vector: u16,
    /// Whether the driver enabled it.
    pub enabled: bool,
}

/// What the device must do after a register write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Nothing.
    None,
    /// The driver wrote 0 to the status: stop the queues, then call
    /// [`CommonConfig::reset`].
    Reset,
    /// DRIVER_OK was accepted: start every enabled queue.
    DriverOk,
    /// Queue `n` was enabled (start it if the driver is already running).
    QueueEnabled(u16),
    /// The driver enabled a queue with unusable parameters: ask for a reset.
    BadQueue(u16),
    /// The driver wrote something the device ignored (for rate-limited logs).
    Ignored(&'static str),
}

/// The common configuration registers.
#[derive(Debug, inspect::Inspect)]
pub struct CommonConfig {
    #[inspect(hex)]
    device_features: u64,
    device_feature_select: u32,
    driver_feature_select: u32,
    #[inspect(hex)]
    driver_features: u64,
    #[inspect(hex)]
    config_msix_vector: u16,
    #[inspect(hex)]
    status: u8,
    queue_select: u16,
    queues: Vec<QueueRegs>,
    max_queue_size: u16,
    msix_count: u16,
}

impl CommonConfig {
    /// Registers for `num_queues` queues of up to `max_queue_size` entries, offering
    /// `device_features`, with `msix_count` MSI-X vectors.
    pub fn new(
        device_features: u64,
        num_queues: u16,
        max_queue_size: u16,
        msix_count: u16,
    ) -> Self {
        let mut c = Self {
            device_features,
            device_feature_select: 0,
            driver_feature_select: 0,
            driver_features: 0,
            config_msix_vector: NO_VECTOR,
            status: 0,
            queue_select: 0,
            queues: Vec::new(),
            max_queue_size,
            msix_count,
        };
        c.queues = vec![c.initial_queue(); num_queues as usize];
        c
    }

    fn initial_queue(&self) -> QueueRegs {
        QueueRegs {
            params: QueueParams {
                size: self.max_queue_size,
                ..Default::default()
            },
            msix_vector: NO_VECTOR,
            enabled: false,
        }
    }

    /// Back to the power-on state (the device has stopped its queues).
    pub fn reset(&mut self) {
        self.device_feature_select = 0;
        self.driver_feature_select = 0;
        self.driver_features = 0;
        self.config_msix_vector = NO_VECTOR;
        self.status = 0;
        self.queue_select = 0;
        let q = self.initial_queue();
        self.queues.fill(q);
    }

    /// The status as the driver last set it (without DEVICE_NEEDS_RESET, which the
    /// device tracks itself).
    pub fn status(&self) -> u8 {
        self.status
    }

    /// The negotiated features (meaningful once FEATURES_OK is set).
    pub fn driver_features(&self) -> u64 {
        self.driver_features
    }

    /// The configuration-change MSI-X vector.
    pub fn config_msix_vector(&self) -> u16 {
        self.config_msix_vector
    }

    /// The queues' registers.
    pub fn queues(&self) -> &[QueueRegs] {
        &self.queues
    }

    fn selected(&self) -> Option<&QueueRegs> {
        self.queues.get(self.queue_select as usize)
    }

    fn field(&self, offset: u64, needs_reset: bool) -> u64 {
        let q = self.selected();
        match offset {
            DEVICE_FEATURE_SELECT => self.device_feature_select.into(),
            DEVICE_FEATURE => match self.device_feature_select {
                0 => self.device_features & 0xffff_ffff,
                1 => self.device_features >> 32,
                _ => 0,
            },
            DRIVER_FEATURE_SELECT => self.driver_feature_select.into(),
            DRIVER_FEATURE => match self.driver_feature_select {
                0 => self.driver_features & 0xffff_ffff,
                1 => self.driver_features >> 32,
                _ => 0,
            },
            CONFIG_MSIX_VECTOR => self.config_msix_vector.into(),
            NUM_QUEUES => self.queues.len() as u64,
            DEVICE_STATUS => u64::from(
                self.status
                    | if needs_reset {
                        status::DEVICE_NEEDS_RESET
                    } else {
                        0
                    },
            ),
            CONFIG_GENERATION => 0,
            QUEUE_SELECT => self.queue_select.into(),
            QUEUE_SIZE => q.map_or(0, |q| q.params.size.into()),
            QUEUE_MSIX_VECTOR => q.map_or(NO_VECTOR, |q| q.msix_vector).into(),
            QUEUE_ENABLE => q.map_or(0, |q| q.enabled.into()),
            QUEUE_NOTIFY_OFF if q.is_some() => self.queue_select.into(),
            QUEUE_DESC => q.map_or(0, |q| q.params.desc),
            QUEUE_DRIVER => q.map_or(0, |q| q.params.avail),
            QUEUE_DEVICE => q.map_or(0, |q| q.params.used),
            _ => 0,
        }
    }

    /// Guest read of `data.len()` bytes at `offset` (any width; unknown bytes read 0).
    pub fn read(&self, offset: u64, data: &mut [u8], needs_reset: bool) {
        data.fill(0);
        for &(fo, fs) in FIELDS {
            let bytes = self.field(fo, needs_reset).to_le_bytes();
            for (i, b) in data.iter_mut().enumerate() {
                let Some(at) = offset.checked_add(i as u64) else {
                    break;
                };
                if (fo..fo + fs as u64).contains(&at) {
                    *b = bytes[(at - fo) as usize];
                }
            }
        }
    }

    /// Guest write of `data` at `offset` (any width, split onto the fields it covers).
    pub fn write(&mut self, offset: u64, data: &[u8]) -> Action {
        let mut action = Action::None;
        for &(fo, fs) in FIELDS {
            let end = fo + fs as u64;
            let mut bytes = self.field(fo, false).to_le_bytes();
            let mut touched = false;
            for (i, &b) in data.iter().enumerate() {
                let Some(at) = offset.checked_add(i as u64) else {
                    break;
                };
                if (fo..end).contains(&at) {
                    bytes[(at - fo) as usize] = b;
                    touched = true;
                }
            }
            if touched {
                let a = self.set_field(fo, u64::from_le_bytes(bytes));
                if a != Action::None {
                    action = a;
                }
            }
        }
        action
    }

    fn valid_vector(&self, v: u16) -> u16 {
        if v < self.msix_count {
            v
        } else {
            NO_VECTOR
        }
    }

    fn set_field(&mut self, offset: u64, v: u64) -> Action {
        let sel = self.queue_select as usize;
        match offset {
            DEVICE_FEATURE_SELECT => self.device_feature_select = v as u32,
            DRIVER_FEATURE_SELECT => self.driver_feature_select = v as u32,
            DRIVER_FEATURE => {
                if self.status & status::FEATURES_OK != 0 {
                    return Action::Ignored("driver features changed after FEATURES_OK");
                }
                match self.driver_feature_select {
                    0 => self.driver_features = (self.driver_features & !0xffff_ffff) | v,
                    1 => self.driver_features = (self.driver_features & 0xffff_ffff) | v << 32,
                    _ => {}
                }
            }
            CONFIG_MSIX_VECTOR => self.config_msix_vector = self.valid_vector(v as u16),
            DEVICE_STATUS => return self.set_status(v as u8),
            QUEUE_SELECT => self.queue_select = v as u16,
            QUEUE_MSIX_VECTOR => {
                let v = self.valid_vector(v as u16);
                if let Some(q) = self.queues.get_mut(sel) {
                    q.msix_vector = v;
                }
            }
            QUEUE_SIZE | QUEUE_DESC | QUEUE_DRIVER | QUEUE_DEVICE => {
                let Some(q) = self.queues.get_mut(sel) else {
                    return Action::None;
                };
                if q.enabled {
                    return Action::Ignored("queue register written while enabled");
                }
                match offset {
                    QUEUE_SIZE => q.params.size = v as u16,
                    QUEUE_DESC => q.params.desc = v,
                    QUEUE_DRIVER => q.params.avail = v,
                    _ => q.params.used = v,
                }
            }
            QUEUE_ENABLE => {
                let max = self.max_queue_size;
                let Some(q) = self.queues.get_mut(sel) else {
                    return Action::None;
                };
                if v != 1 {
                    // Disabling needs VIRTIO_F_RING_RESET, which is not offered.
                    return Action::Ignored("queue_enable written with a value other than 1");
                }
                if q.enabled {
                    return Action::None;
                }
                if q.params.validate(max).is_err() {
                    return Action::BadQueue(sel as u16);
                }
                q.enabled = true;
                return Action::QueueEnabled(sel as u16);
            }
            // Read-only fields.
            _ => {}
        }
        Action::None
    }

    fn features_acceptable(&self) -> bool {
        self.driver_features & !self.device_features == 0
            && self.driver_features & features::VERSION_1 != 0
    }

    fn set_status(&mut self, v: u8) -> Action {
        if v == 0 {
            return Action::Reset;
        }
        let v = v & !status::DEVICE_NEEDS_RESET;
        if self.status & !v != 0 {
            return Action::Ignored("driver cleared device status bits");
        }
        let newly = v & !self.status;
        let mut v = v;
        if newly & status::FEATURES_OK != 0 && !self.features_acceptable() {
            // The driver reads FEATURES_OK back and sees the features were refused.
            v &= !status::FEATURES_OK;
        }
        if newly & status::DRIVER_OK != 0 && v & status::FEATURES_OK == 0 {
            v &= !status::DRIVER_OK;
            self.status = v;
            return Action::Ignored("DRIVER_OK without FEATURES_OK");
        }
        self.status = v;
        if newly & status::DRIVER_OK != 0 {
            Action::DriverOk
        } else {
            Action::None
        }
    }
}

#[cfg(test)]
mod tests;
