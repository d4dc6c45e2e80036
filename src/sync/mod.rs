//! The delivery platforms (Meituan Shangou, JD Daojia): signatures, envelopes, actions, intake,
//! and the outbox delivery workers. Every platform detail lives in that platform's file.

pub mod sign;
