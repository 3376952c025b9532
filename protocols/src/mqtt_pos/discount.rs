//! The group discount (`dz`, 打折): percent of the full price the user pays.
//!
//! It lives in the codec because the device applies the same rule offline (its `offlineDz`),
//! and the server must compute what the device would have computed. Rules, fixed here once:
//!
//! * `dz` is a percentage of the gross: 100 = full price, 85 = 15 % off.
//! * `dz` 0 means "no discount configured" and charges the **full price**: a group rule left
//!   at zero must never make meals free. (The spec gives the range 0..=100 without saying what
//!   0 means; free meals are a decision an operator should make explicitly, e.g. a 100 %
//!   subsidy, not a default.)
//! * Values above 100 never reach here from the wire (decoders and command validation refuse
//!   them); if one does, it is treated as 100: a discount never raises a price.
//! * What a device is sent is the percentage the server applies ([`effective_percent`]): a
//!   group rule stored with `dz` 0 goes out as `"dz": 100`, so a device charging offline
//!   charges what the server would (the spec's range 0..=100 lets a device read 0 as free).
//! * The result is rounded half up to the fen (`gross × dz / 100`, 0.5 fen and above rounds
//!   up). Negative amounts are rounded on their magnitude, so a refund of a discounted
//!   payment mirrors the payment exactly.

use super::limits::DISCOUNT_MAX;
use crate::money::Fen;

/// The percentage of the full price paid under discount `dz`: `dz` itself within 1..=99,
/// 100 (full price) for 0 and anything from 100 up. The one rule of what `dz` means, used for
/// charging and for what devices are sent.
pub fn effective_percent(dz: u8) -> u8 {
    if dz == 0 || dz >= DISCOUNT_MAX {
        DISCOUNT_MAX
    } else {
        dz
    }
}

/// The amount to charge for `gross` under discount `dz` (see the module doc for the rules).
pub fn apply_discount(gross: Fen, dz: u8) -> Fen {
    let dz = effective_percent(dz);
    if dz == DISCOUNT_MAX {
        return gross;
    }
    let magnitude = i128::from(gross.get()).abs();
    let rounded = (magnitude * i128::from(dz) + 50) / 100;
    // `rounded` <= |gross| because dz < 100, so it fits back into i64.
    let rounded = i64::try_from(rounded).unwrap_or(i64::MAX);
    if gross.get() < 0 {
        Fen(-rounded)
    } else {
        Fen(rounded)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn discounts() {
        assert_eq!(apply_discount(Fen(1000), 100), Fen(1000));
        assert_eq!(apply_discount(Fen(1000), 0), Fen(1000));
        assert_eq!(apply_discount(Fen(1000), 85), Fen(850));
        assert_eq!(apply_discount(Fen(117), 35), Fen(41)); // 40.95 -> 41
        assert_eq!(apply_discount(Fen(10), 25), Fen(3)); // 2.5 -> 3 (half up)
        assert_eq!(apply_discount(Fen(10), 24), Fen(2)); // 2.4 -> 2
        assert_eq!(apply_discount(Fen(1), 49), Fen(0)); // 0.49 -> 0
        assert_eq!(apply_discount(Fen(1), 50), Fen(1)); // 0.5 -> 1
        assert_eq!(apply_discount(Fen(-10), 25), Fen(-3));
        assert_eq!(apply_discount(Fen(1000), 150), Fen(1000));
        assert_eq!(
            [0, 1, 85, 99, 100, 150].map(effective_percent),
            [100, 1, 85, 99, 100, 100]
        );
        assert_eq!(
            apply_discount(Fen(i64::MAX), 99),
            Fen(9_131_138_316_486_228_049)
        );
        assert_eq!(apply_discount(Fen(i64::MIN), 50).get(), -(1i64 << 62));
    }

    proptest! {
        #[test]
        fn never_exceeds_gross(gross in any::<i64>(), dz in any::<u8>()) {
            let net = apply_discount(Fen(gross), dz);
            prop_assert!(i128::from(net.get()).abs() <= i128::from(gross).abs());
            prop_assert_eq!(net.get().signum() * gross.signum() >= 0, true);
        }
    }
}
