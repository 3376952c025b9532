//! The sealed `data` of the HTTP uploads and the zipped `data` of WJ091 replies.
//!
//! HTTP uploads: `data = base64(AES-128(gzip(json)))` ("数据会先经过ZIP压缩后再经过 AES128
//! 加密"). The spec names no mode and no IV, and says the scheme is the one the RabbitMQ
//! channel already used; the Java `Cipher.getInstance("AES")` default that such gateways use
//! is AES/ECB/PKCS5Padding (PKCS#7 on 16-byte blocks), so ECB + PKCS7 is the default.
//! For venue systems configured with CBC, [`AesMode::Cbc`] is AES-128-CBC + PKCS7 with a
//! fresh IV per message sent in front of the ciphertext (`base64(IV || ciphertext)`), the
//! usual way to carry it when a protocol has no IV field.
//!
//! WJ091 over RabbitMQ: "MQ 通道被认为是可信任通道，数据无需再进行加密", so `zip: 1`
//! replies are `base64(gzip(json))` without AES ([`zip_encode`] / [`zip_decode`]). The spec's
//! own example blobs (`"H4sI..."`) are of this form.
//!
//! What is accepted: standard base64 (`+/`) with or without `=` padding, with ASCII
//! whitespace anywhere (Java's MIME and `sun.misc.BASE64Encoder` break lines every 76
//! characters); one gzip member (what Java's `GZIPOutputStream` writes). Decompression stops
//! at [`DECOMPRESSED_BYTES_MAX`] (the zip-bomb guard).

use super::codes::RetCode;
use super::limits::{DECOMPRESSED_BYTES_MAX, UPLOAD_BODY_BYTES_MAX};
use crate::secret::Secret;
use aes::cipher::{block_padding::Pkcs7, BlockModeDecrypt, BlockModeEncrypt, KeyInit, KeyIvInit};
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig};
use base64::engine::DecodePaddingMode;
use base64::Engine;
use flate2::read::GzDecoder;
use flate2::write::GzEncoder;
use flate2::Compression;
use std::fmt;
use std::io::{Read, Write};

type Aes128EcbEnc = ecb::Encryptor<aes::Aes128>;
type Aes128EcbDec = ecb::Decryptor<aes::Aes128>;
type Aes128CbcEnc = cbc::Encryptor<aes::Aes128>;
type Aes128CbcDec = cbc::Decryptor<aes::Aes128>;

/// Standard alphabet; padding written on encode, optional on decode.
const BASE64: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    GeneralPurposeConfig::new()
        .with_encode_padding(true)
        .with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// AES block size in bytes.
const AES_BLOCK_BYTES: usize = 16;

/// Why `data` could not be opened.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CryptoError {
    /// Not base64 (after removing whitespace).
    #[error("data is not valid base64")]
    Base64,
    /// AES decryption failed: the ciphertext is empty or not whole blocks, or the PKCS7
    /// padding is wrong (the usual sign of a wrong key).
    #[error("data could not be decrypted (wrong key or corrupted ciphertext)")]
    Decrypt,
    /// The plaintext is not a valid gzip stream.
    #[error("data is not a valid gzip stream")]
    Decompress,
    /// The encoded or decompressed data is over its limit.
    #[error("data is larger than {max} bytes")]
    TooLarge {
        /// The limit that was hit.
        max: usize,
    },
    /// A key of the wrong length was configured.
    #[error("AES-128 key must be 16 bytes, got {0}")]
    KeyLength(usize),
}

impl CryptoError {
    /// The reply code for this error.
    pub fn code(&self) -> RetCode {
        match self {
            CryptoError::Base64 => RetCode::BadBase64,
            CryptoError::Decrypt => RetCode::DecryptFailed,
            CryptoError::Decompress => RetCode::DecompressFailed,
            CryptoError::TooLarge { .. } => RetCode::TooLarge,
            // A venue whose configured key is unusable is, for the gateway, a venue posgate
            // cannot serve.
            CryptoError::KeyLength(_) => RetCode::UnknownVenue,
        }
    }
}

/// The AES block-cipher mode of the sealed uploads.
///
/// ECB is the default (the spec gives no IV and names the RabbitMQ scheme, which is ECB);
/// CBC, with a fresh IV sent in front of the ciphertext, is there for venue systems that use
/// it. The gateway's mode is `ktv.cipher_mode`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum AesMode {
    /// AES-128-ECB with PKCS#7 (= Java's PKCS5Padding) padding: the default.
    #[default]
    Ecb,
    /// AES-128-CBC with PKCS#7 padding; the 16-byte IV comes first in the decoded data.
    Cbc,
}

impl AesMode {
    /// Every mode.
    pub const ALL: [AesMode; 2] = [AesMode::Ecb, AesMode::Cbc];

    /// The mode's configuration name.
    pub const fn name(self) -> &'static str {
        match self {
            AesMode::Ecb => "aes-128-ecb-pkcs7",
            AesMode::Cbc => "aes-128-cbc-pkcs7",
        }
    }

    /// The mode of a configuration name.
    pub fn parse(name: &str) -> Option<AesMode> {
        AesMode::ALL.into_iter().find(|m| m.name() == name)
    }
}

/// A venue's AES-128 key. `Debug` prints a mask; read the bytes with [`AesKey::expose`].
/// A newtype around the crate's [`Secret`] because it adds its own rule: exactly 16 bytes.
#[derive(Clone, PartialEq, Eq)]
pub struct AesKey(Secret<[u8; 16]>);

impl AesKey {
    /// A key from its 16 bytes.
    pub const fn from_bytes(bytes: [u8; 16]) -> AesKey {
        AesKey(Secret::new(bytes))
    }

    /// A key from a slice that must be exactly 16 bytes long.
    pub fn from_slice(bytes: &[u8]) -> Result<AesKey, CryptoError> {
        <[u8; 16]>::try_from(bytes)
            .map(AesKey::from_bytes)
            .map_err(|_| CryptoError::KeyLength(bytes.len()))
    }

    /// A key written as 32 hex digits.
    pub fn from_hex(text: &str) -> Result<AesKey, CryptoError> {
        let mut bytes = [0u8; 16];
        hex::decode_to_slice(text.trim(), &mut bytes)
            .map_err(|_| CryptoError::KeyLength(text.trim().len() / 2))?;
        Ok(AesKey::from_bytes(bytes))
    }

    /// A key given as a 16-character text whose UTF-8 bytes are the key, as Java gateways
    /// build it (`new SecretKeySpec(key.getBytes(), "AES")`).
    pub fn from_text(text: &str) -> Result<AesKey, CryptoError> {
        AesKey::from_slice(text.as_bytes())
    }

    /// The raw key bytes. Greppable on purpose: every use of the secret goes through here.
    pub fn expose(&self) -> &[u8; 16] {
        self.0.expose()
    }

    /// This key encrypted under `kek` (AES-128-ECB-PKCS7 of its 16 bytes), as hex: the form
    /// a venue key is stored in, so that the database never holds it in the clear.
    pub fn wrap(&self, kek: &AesKey) -> String {
        hex::encode(
            Aes128EcbEnc::new(&(*kek.expose()).into()).encrypt_padded_vec::<Pkcs7>(self.expose()),
        )
    }

    /// The key [`AesKey::wrap`] wrapped under `kek`.
    pub fn unwrap_with(kek: &AesKey, wrapped: &str) -> Result<AesKey, CryptoError> {
        let bytes = hex::decode(wrapped.trim()).map_err(|_| CryptoError::Decrypt)?;
        if bytes.is_empty() || bytes.len() % AES_BLOCK_BYTES != 0 {
            return Err(CryptoError::Decrypt);
        }
        let plain = Aes128EcbDec::new(&(*kek.expose()).into())
            .decrypt_padded_vec::<Pkcs7>(&bytes)
            .map_err(|_| CryptoError::Decrypt)?;
        AesKey::from_slice(&plain)
    }
}

impl fmt::Debug for AesKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("AesKey(****)")
    }
}

/// Seals a JSON payload for an upload: `base64(AES-128-ECB-PKCS7(gzip(json)))`.
pub fn seal(key: &AesKey, json: &[u8]) -> String {
    seal_with(AesMode::Ecb, key, &[0; AES_BLOCK_BYTES], json)
}

/// [`seal`] with an explicit mode. `iv` is used by [`AesMode::Cbc`] only (and sent in front
/// of the ciphertext): give a fresh random one per message. ECB has no IV and ignores it.
pub fn seal_with(mode: AesMode, key: &AesKey, iv: &[u8; AES_BLOCK_BYTES], json: &[u8]) -> String {
    let zipped = gzip(json);
    let encrypted = match mode {
        AesMode::Ecb => {
            Aes128EcbEnc::new(&(*key.expose()).into()).encrypt_padded_vec::<Pkcs7>(&zipped)
        }
        AesMode::Cbc => {
            let mut out = iv.to_vec();
            out.extend(
                Aes128CbcEnc::new(&(*key.expose()).into(), &(*iv).into())
                    .encrypt_padded_vec::<Pkcs7>(&zipped),
            );
            out
        }
    };
    BASE64.encode(encrypted)
}

/// Opens an upload's sealed `data`: base64, then AES-128-ECB-PKCS7, then gunzip (capped at
/// [`DECOMPRESSED_BYTES_MAX`]). Returns the JSON bytes, not yet parsed.
pub fn open(key: &AesKey, data: &str) -> Result<Vec<u8>, CryptoError> {
    open_with(AesMode::Ecb, key, data)
}

/// [`open`] with an explicit mode.
pub fn open_with(mode: AesMode, key: &AesKey, data: &str) -> Result<Vec<u8>, CryptoError> {
    let encrypted = base64_decode(data)?;
    if encrypted.is_empty() || encrypted.len() % AES_BLOCK_BYTES != 0 {
        return Err(CryptoError::Decrypt);
    }
    let zipped = match mode {
        AesMode::Ecb => Aes128EcbDec::new(&(*key.expose()).into())
            .decrypt_padded_vec::<Pkcs7>(&encrypted)
            .map_err(|_| CryptoError::Decrypt)?,
        AesMode::Cbc => {
            // The IV block, then at least one block of ciphertext.
            let (iv, body) = encrypted.split_at(AES_BLOCK_BYTES);
            if body.is_empty() {
                return Err(CryptoError::Decrypt);
            }
            let iv: [u8; AES_BLOCK_BYTES] = iv.try_into().map_err(|_| CryptoError::Decrypt)?;
            Aes128CbcDec::new(&(*key.expose()).into(), &iv.into())
                .decrypt_padded_vec::<Pkcs7>(body)
                .map_err(|_| CryptoError::Decrypt)?
        }
    };
    gunzip(&zipped, DECOMPRESSED_BYTES_MAX)
}

/// WJ091 `zip: 1` data: `base64(gzip(json))`, no encryption.
pub fn zip_encode(json: &[u8]) -> String {
    BASE64.encode(gzip(json))
}

/// Opens WJ091 `zip: 1` data: base64, then gunzip capped at [`DECOMPRESSED_BYTES_MAX`].
pub fn zip_decode(data: &str) -> Result<Vec<u8>, CryptoError> {
    let zipped = base64_decode(data)?;
    gunzip(&zipped, DECOMPRESSED_BYTES_MAX)
}

/// Decodes base64, ignoring ASCII whitespace; refuses text over the upload body limit.
fn base64_decode(data: &str) -> Result<Vec<u8>, CryptoError> {
    if data.len() > UPLOAD_BODY_BYTES_MAX {
        return Err(CryptoError::TooLarge {
            max: UPLOAD_BODY_BYTES_MAX,
        });
    }
    let compact: Vec<u8> = data.bytes().filter(|b| !b.is_ascii_whitespace()).collect();
    BASE64.decode(compact).map_err(|_| CryptoError::Base64)
}

/// gzip with the default level. Writing into a `Vec` cannot fail.
fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = GzEncoder::new(
        Vec::with_capacity(bytes.len() / 4 + 64),
        Compression::default(),
    );
    encoder
        .write_all(bytes)
        .expect("writing to a Vec cannot fail");
    encoder.finish().expect("writing to a Vec cannot fail")
}

/// Gunzips one member, refusing output longer than `max_bytes`.
pub(crate) fn gunzip(bytes: &[u8], max_bytes: usize) -> Result<Vec<u8>, CryptoError> {
    if bytes.is_empty() {
        return Err(CryptoError::Decompress);
    }
    let limit = u64::try_from(max_bytes)
        .unwrap_or(u64::MAX)
        .saturating_add(1);
    let mut out = Vec::new();
    GzDecoder::new(bytes)
        .take(limit)
        .read_to_end(&mut out)
        .map_err(|_| CryptoError::Decompress)?;
    if out.len() > max_bytes {
        return Err(CryptoError::TooLarge { max: max_bytes });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// FIPS-197 appendix C.1 key.
    const FIPS_KEY_HEX: &str = "000102030405060708090a0b0c0d0e0f";

    /// A fixture sealed outside Rust (Python gzip + `openssl enc -aes-128-ecb`), so that the
    /// test checks interoperability, not just that `open` inverts `seal`.
    /// Key: the 16 ASCII bytes "posgate-ktv-key!"; plaintext: [`FIXTURE_JSON`].
    const FIXTURE_KEY_TEXT: &str = "posgate-ktv-key!";
    const FIXTURE_JSON: &str = include_str!("testdata/fixture.json");
    const FIXTURE_SEALED: &str = include_str!("testdata/fixture.sealed");

    #[test]
    fn aes_known_answer() {
        // FIPS-197 C.1: one block; PKCS7 then adds a full block of 0x10.
        let key = AesKey::from_hex(FIPS_KEY_HEX).expect("hex key");
        let plain = hex::decode("00112233445566778899aabbccddeeff").expect("hex");
        let sealed = Aes128EcbEnc::new(&(*key.expose()).into()).encrypt_padded_vec::<Pkcs7>(&plain);
        assert_eq!(
            hex::encode(&sealed[..16]),
            "69c4e0d86a7b0430d8cdb78070b4c55a"
        );
        assert_eq!(sealed.len(), 32);
    }

    #[test]
    fn opens_a_fixture_sealed_by_openssl() {
        let key = AesKey::from_text(FIXTURE_KEY_TEXT).expect("16-byte key");
        let json = open(&key, FIXTURE_SEALED).expect("fixture opens");
        assert_eq!(json, FIXTURE_JSON.as_bytes());
    }

    #[test]
    fn round_trip_with_a_known_key() {
        let key = AesKey::from_hex(FIPS_KEY_HEX).expect("hex key");
        for json in ["{}", "{\"revenue\":18203300}", FIXTURE_JSON] {
            let sealed = seal(&key, json.as_bytes());
            assert_eq!(open(&key, &sealed).expect("opens"), json.as_bytes());
            // Line breaks inserted by MIME-style encoders are ignored.
            let wrapped: String = sealed
                .as_bytes()
                .chunks(76)
                .map(|c| String::from_utf8_lossy(c).into_owned())
                .collect::<Vec<_>>()
                .join("\r\n");
            assert_eq!(
                open(&key, &wrapped).expect("opens wrapped"),
                json.as_bytes()
            );
        }
    }

    #[test]
    fn wrong_key_is_refused() {
        let right = AesKey::from_text(FIXTURE_KEY_TEXT).expect("key");
        let sealed = seal(&right, FIXTURE_JSON.as_bytes());
        let mut wrong_count = 0;
        for byte in 0u8..32 {
            let wrong = AesKey::from_bytes([byte; 16]);
            // ECB is deterministic: a wrong key almost always breaks the padding; in the rare
            // case it does not, gzip's header and CRC catch it.
            match open(&wrong, &sealed) {
                Err(CryptoError::Decrypt) => wrong_count += 1,
                Err(CryptoError::Decompress) => {}
                other => panic!("wrong key opened: {other:?}"),
            }
        }
        assert!(wrong_count > 20);
        assert_eq!(
            open(&AesKey::from_bytes([7; 16]), &sealed).map_err(|e| e.code()),
            Err(RetCode::DecryptFailed)
        );
    }

    #[test]
    fn corrupted_inputs() {
        let key = AesKey::from_text(FIXTURE_KEY_TEXT).expect("key");
        assert_eq!(open(&key, "not base64!"), Err(CryptoError::Base64));
        assert_eq!(open(&key, ""), Err(CryptoError::Decrypt));
        assert_eq!(open(&key, "AAAA"), Err(CryptoError::Decrypt));
        // Valid AES + padding around bytes that are not gzip.
        let not_gzip = BASE64.encode(
            Aes128EcbEnc::new(&(*key.expose()).into()).encrypt_padded_vec::<Pkcs7>(b"{\"a\":1}"),
        );
        assert_eq!(open(&key, &not_gzip), Err(CryptoError::Decompress));
        // A gzip stream with a flipped byte in its deflate body: CRC or inflate fails.
        let mut zipped = gzip(FIXTURE_JSON.as_bytes());
        let middle = zipped.len() / 2;
        zipped[middle] ^= 0x55;
        let corrupted = BASE64.encode(
            Aes128EcbEnc::new(&(*key.expose()).into()).encrypt_padded_vec::<Pkcs7>(&zipped),
        );
        assert_eq!(open(&key, &corrupted), Err(CryptoError::Decompress));
        // Truncated gzip.
        let truncated = BASE64.encode(&gzip(FIXTURE_JSON.as_bytes())[..20]);
        assert_eq!(zip_decode(&truncated), Err(CryptoError::Decompress));
        assert_eq!(CryptoError::Decompress.code(), RetCode::DecompressFailed);
        assert_eq!(CryptoError::Base64.code(), RetCode::BadBase64);
    }

    #[test]
    fn zip_bomb_is_cut_off() {
        let bomb = gzip(&vec![b' '; 4096]);
        assert_eq!(
            gunzip(&bomb, 1024),
            Err(CryptoError::TooLarge { max: 1024 })
        );
        assert_eq!(gunzip(&bomb, 4096).map(|v| v.len()), Ok(4096));
        // A real bomb against the real limit: 33 MiB of zeros compresses to ~33 KiB.
        let big = gzip(&vec![0u8; DECOMPRESSED_BYTES_MAX + 1]);
        assert!(big.len() < 100_000);
        assert_eq!(
            zip_decode(&BASE64.encode(&big)),
            Err(CryptoError::TooLarge {
                max: DECOMPRESSED_BYTES_MAX
            })
        );
    }

    #[test]
    fn wrapped_keys_round_trip_and_need_the_kek() {
        let key = AesKey::from_text(FIXTURE_KEY_TEXT).expect("key");
        let kek = AesKey::from_hex(FIPS_KEY_HEX).expect("kek");
        let wrapped = key.wrap(&kek);
        assert!(!wrapped.contains(&hex::encode(FIXTURE_KEY_TEXT)));
        assert_eq!(wrapped.len(), 64);
        assert_eq!(AesKey::unwrap_with(&kek, &wrapped), Ok(key));
        let other = AesKey::from_bytes([9; 16]);
        assert!(AesKey::unwrap_with(&other, &wrapped).is_err());
        assert!(AesKey::unwrap_with(&kek, "zz").is_err());
        assert!(AesKey::unwrap_with(&kek, "").is_err());
    }

    #[test]
    fn keys_are_masked_and_checked() {
        let key = AesKey::from_text(FIXTURE_KEY_TEXT).expect("key");
        assert_eq!(format!("{key:?}"), "AesKey(****)");
        assert!(!format!("{key:?}").contains("posgate"));
        assert_eq!(AesKey::from_text("short"), Err(CryptoError::KeyLength(5)));
        assert!(AesKey::from_hex("zz").is_err());
        assert_eq!(
            AesKey::from_slice(&[0; 17]),
            Err(CryptoError::KeyLength(17))
        );
    }

    #[test]
    fn spec_example_blobs_are_zip_not_aes() {
        // The upload envelope example's `data` decodes with gzip alone (no AES).
        let json = zip_decode(super::super::spec_examples::UPLOAD_ENVELOPE_DATA).expect("gzip");
        let value: serde_json::Value = serde_json::from_slice(&json).expect("json");
        assert!(value.is_array());
        let key = AesKey::from_text(FIXTURE_KEY_TEXT).expect("key");
        assert!(open(&key, super::super::spec_examples::UPLOAD_ENVELOPE_DATA).is_err());
    }

    proptest! {
        #[test]
        fn open_never_panics(data in ".{0,300}", key in proptest::array::uniform16(any::<u8>())) {
            let _ = open(&AesKey::from_bytes(key), &data);
            let _ = zip_decode(&data);
        }

        #[test]
        fn open_never_panics_on_base64_of_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
            let key = AesKey::from_text(FIXTURE_KEY_TEXT).expect("key");
            let text = BASE64.encode(&bytes);
            let _ = open(&key, &text);
            let _ = zip_decode(&text);
        }

        #[test]
        fn seal_open_round_trips(bytes in proptest::collection::vec(any::<u8>(), 0..2000),
                                 key in proptest::array::uniform16(any::<u8>())) {
            let key = AesKey::from_bytes(key);
            prop_assert_eq!(open(&key, &seal(&key, &bytes)).expect("round trip"), bytes);
        }
    }
}
