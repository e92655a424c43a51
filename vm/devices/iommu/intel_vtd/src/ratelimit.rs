//! Rate limiting of guest-triggerable log lines (the shared `ratelimit` crate).

pub(crate) use ::ratelimit::RateLimit;
