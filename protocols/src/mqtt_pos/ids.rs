//! Validated identifiers and names: device id, user id, acknowledgement id, photo path, secrets.
//!
//! Each is a newtype built only through a checking constructor, so code further in (topics,
//! idempotency keys `mqtt:{device}:{posNum}`, file names of uploaded photos) can use the text
//! without escaping. Charsets are deliberately narrow: the spec's ids are digits, and anything
//! that ends up in an MQTT topic or a file name must not carry `/`, `+`, `#`, `..` or spaces.

use std::fmt;

use super::error::MqttPosError;
use super::limits::{
    ACK_ID_BYTES_MAX, DEVICE_ID_BYTES_MAX, IMG_PATH_BYTES_MAX, IMG_PATH_COMPONENTS_MAX,
    USER_ID_BYTES_MAX,
};

/// `true` for the identifier charset `[A-Za-z0-9_.-]`.
pub(crate) fn is_id_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_' || b == b'-' || b == b'.'
}

/// Checks `text` is 1..=`max` bytes of `[A-Za-z0-9_.-]`.
pub(crate) fn check_id(text: &str, max: usize) -> bool {
    !text.is_empty() && text.len() <= max && text.bytes().all(is_id_byte)
}

/// Checks free text: 1..=`max_chars` characters, no control characters.
pub(crate) fn check_display_text(text: &str, max_chars: usize) -> bool {
    !text.is_empty()
        && text.len() <= max_chars * 4
        && text.chars().count() <= max_chars
        && !text.chars().any(char::is_control)
}

/// A terminal's id as it appears in its topics: 1 to 32 of `[A-Za-z0-9_-]`, never `all`.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct DeviceId(String);

impl DeviceId {
    /// Validates a device id. `all` is refused: `{prefix}/pos/all/api` is the broadcast topic.
    pub fn new(text: &str) -> Result<DeviceId, MqttPosError> {
        let ok = !text.is_empty()
            && text.len() <= DEVICE_ID_BYTES_MAX
            && text
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
            && text != "all";
        if ok {
            Ok(DeviceId(text.to_owned()))
        } else {
            Err(MqttPosError::BadDeviceId)
        }
    }

    /// The id text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for DeviceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DeviceId({})", self.0)
    }
}

impl fmt::Display for DeviceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A user (person) id, `userId`: 1 to 32 of `[A-Za-z0-9_.-]`. Devices send it as a string or
/// a number; both become this text.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct UserId(String);

impl UserId {
    /// Validates a user id.
    pub fn new(text: &str) -> Result<UserId, MqttPosError> {
        if check_id(text, USER_ID_BYTES_MAX) {
            Ok(UserId(text.to_owned()))
        } else {
            Err(MqttPosError::BadText("userId"))
        }
    }

    /// The id text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for UserId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// An acknowledgement id, `sAckId`: 1 to 64 of `[A-Za-z0-9_.-]`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct AckId(String);

impl AckId {
    /// Validates an acknowledgement id.
    pub fn new(text: &str) -> Result<AckId, MqttPosError> {
        if check_id(text, ACK_ID_BYTES_MAX) {
            Ok(AckId(text.to_owned()))
        } else {
            Err(MqttPosError::BadText("sAckId"))
        }
    }

    /// The id text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A photo path (`imgPath`) made safe to use as a relative file name.
///
/// The device names its photo (`2021-05-07/jk686538.jpg`) in the consumption request and again
/// in the later `frame_imgup` upload, so the two must map to the same file; sanitising is
/// therefore deterministic rather than refusing, and never fails a payment over a photo name:
///
/// * `\` counts as a separator; empty, `.` and `..` components are dropped (so no absolute
///   path, no climbing out);
/// * every character outside `[A-Za-z0-9_.-]` becomes `_`, and leading dots of a component
///   become `_` (no hidden files);
/// * at most [`IMG_PATH_COMPONENTS_MAX`] components are kept (the last ones).
///
/// Store photos under a directory per device: two devices may well use the same names.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ImgPath(String);

impl ImgPath {
    /// Sanitises a device's `imgPath`. Refuses only text longer than [`IMG_PATH_BYTES_MAX`] or
    /// with no usable component; an empty text means "no photo" to the caller.
    pub fn sanitise(raw: &str) -> Result<ImgPath, MqttPosError> {
        if raw.len() > IMG_PATH_BYTES_MAX {
            return Err(MqttPosError::BadImgPath);
        }
        let components: Vec<String> = raw
            .split(['/', '\\'])
            .filter(|c| !c.is_empty() && *c != "." && *c != "..")
            .map(|c| {
                let mut leading = true;
                c.chars()
                    .map(|ch| {
                        let keep = ch.is_ascii() && is_id_byte(ch as u8);
                        let out = if !keep || (leading && ch == '.') {
                            '_'
                        } else {
                            ch
                        };
                        leading &= ch == '.';
                        out
                    })
                    .collect()
            })
            .collect();
        let skip = components.len().saturating_sub(IMG_PATH_COMPONENTS_MAX);
        let kept: Vec<String> = components.into_iter().skip(skip).collect();
        if kept.is_empty() {
            return Err(MqttPosError::BadImgPath);
        }
        Ok(ImgPath(kept.join("/")))
    }

    /// The safe relative path (components joined by `/`).
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ImgPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A secret (QR-code key, whitelist password) whose `Debug` prints a mask: the crate's
/// shared wrapper (see [`crate::secret`]). Read it only through `expose()`, so every use
/// is easy to find.
pub use crate::secret::Sensitive;

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn device_ids() {
        assert!(DeviceId::new("5394611").is_ok());
        assert!(DeviceId::new("POS_01-a").is_ok());
        for bad in ["", "all", "a/b", "a+b", "#", "a b", "a.b", &"9".repeat(33)] {
            assert_eq!(
                DeviceId::new(bad),
                Err(MqttPosError::BadDeviceId),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn img_paths_are_sanitised() {
        let cases = [
            ("2021-05-07/jk686538.jpg", "2021-05-07/jk686538.jpg"),
            ("/etc/passwd", "etc/passwd"),
            ("../../x.jpg", "x.jpg"),
            ("a/./b//c.jpg", "a/b/c.jpg"),
            ("C:\\photos\\x.jpg", "C_/photos/x.jpg"),
            (".hidden", "_hidden"),
            ("..a/b", "__a/b"),
            ("照片 1.jpg", "___1.jpg"),
            ("a/b/c/d/e/f/g/h/i/j.jpg", "c/d/e/f/g/h/i/j.jpg"),
        ];
        for (raw, safe) in cases {
            assert_eq!(ImgPath::sanitise(raw).unwrap().as_str(), safe, "{raw:?}");
        }
        for bad in ["", "/", "..", "./..", &"a".repeat(IMG_PATH_BYTES_MAX + 1)] {
            assert_eq!(
                ImgPath::sanitise(bad),
                Err(MqttPosError::BadImgPath),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn secrets_are_masked() {
        let s = Sensitive::new("k3y".to_owned());
        assert_eq!(format!("{s:?}"), "Sensitive(***)");
        assert_eq!(s.expose(), "k3y");
    }

    proptest! {
        #[test]
        fn sanitised_paths_are_safe(raw in "\\PC{0,80}") {
            if let Ok(path) = ImgPath::sanitise(&raw) {
                let text = path.as_str();
                prop_assert!(!text.starts_with('/'));
                prop_assert!(!text.contains('\\'));
                prop_assert!(text.split('/').all(|c| !c.is_empty() && !c.starts_with('.')));
                prop_assert!(text.bytes().all(|b| is_id_byte(b) || b == b'/'));
                let again = ImgPath::sanitise(text);
                prop_assert_eq!(again.as_ref(), Ok(&path));
            }
            let _ = DeviceId::new(&raw);
            let _ = UserId::new(&raw);
        }
    }
}
