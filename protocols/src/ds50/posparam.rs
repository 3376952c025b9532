//! `posparam.ini` (spec 3.1, 3.2): the device configuration posgate produces for TMS.
//!
//! Despite its name the file is JSON (UTF-8) with two sections, `mqtt` and `payment`.
//! [`PosParam::render`] fills the spec's template from a typed struct, keys in the
//! template's order; [`PosParam::parse`] reads the same format back, so a test can round
//! trip it and an operator can check a file before pushing it. The device's parser is a
//! small embedded one, so values are refused, not escaped, when they hold control
//! characters (a newline in a password or path would be a broken configuration pushed to
//! a fleet). The API key and the MQTT password are [`Sensitive`]: `Debug` masks them.

use super::broadcast::validate_topic_prefix;
use super::card::Sensitive;
use super::codes::Ds50Error;
use super::json::{parse_object, req_digits, req_str, req_u64, Object};
use super::limits::{firmware_field_bytes_max, PARAM_VALUE_CHARS_MAX, POSPARAM_BYTES_MAX};
use super::types::WireDate;
use serde::Serialize;
use serde_json::Value;

/// The whole configuration file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PosParam {
    /// The `mqtt` section.
    pub mqtt: MqttParams,
    /// The `payment` section.
    pub payment: PaymentParams,
}

/// The `mqtt` section (spec 3.2.1).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MqttParams {
    /// `mqtt_endpoint`: broker host name or IP address.
    pub endpoint: String,
    /// `mqtt_port` (a string on the wire).
    pub port: u16,
    /// `mqtt_auth_cert` with `mqtt_username` / `mqtt_password`.
    pub auth: MqttAuth,
    /// `mqtt_topic`: the topic prefix; the device appends `/{SN}`.
    pub topic: String,
}

/// How the device authenticates to the broker (`mqtt_auth_cert`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MqttAuth {
    /// `0`: user name and password (both may be empty for an open broker, as in the
    /// spec's template).
    Password {
        /// `mqtt_username`.
        username: String,
        /// `mqtt_password`.
        password: Sensitive<String>,
    },
    /// `1`: client certificate (installed on the device through TMS); user name and
    /// password are written empty.
    Certificate,
}

/// The `payment` section (spec 3.2.2).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PaymentParams {
    /// `pgw_endpoint`: base URL or host of posgate's HTTPS listener.
    pub endpoint: String,
    /// `pgw_port` (a string on the wire).
    pub port: u16,
    /// `pgw_ssl_cert`: whether the device verifies the server certificate.
    pub ssl_verify: bool,
    /// `pgw_api_key` (`pgw_auth_type` is always `api_key`).
    pub api_key: Sensitive<String>,
    /// `pgw_api_key_expiry` (`YYYYMMDD`).
    pub api_key_expiry: WireDate,
    /// `pgw_api_sale`: path of the sale endpoint.
    pub sale_path: String,
    /// `pgw_api_details`: path of the transaction details endpoint.
    pub details_path: String,
}

#[derive(Serialize)]
struct FileWire<'a> {
    mqtt: MqttWire<'a>,
    payment: PaymentWire<'a>,
}

#[derive(Serialize)]
struct MqttWire<'a> {
    mqtt_endpoint: &'a str,
    mqtt_port: String,
    mqtt_auth_cert: u8,
    mqtt_username: &'a str,
    mqtt_password: &'a str,
    mqtt_topic: &'a str,
}

#[derive(Serialize)]
struct PaymentWire<'a> {
    pgw_endpoint: &'a str,
    pgw_port: String,
    pgw_auth_type: &'a str,
    pgw_ssl_cert: u8,
    pgw_api_key: &'a str,
    pgw_api_key_expiry: String,
    pgw_api_sale: &'a str,
    pgw_api_details: &'a str,
}

/// The only `pgw_auth_type` the spec allows.
const AUTH_TYPE_API_KEY: &str = "api_key";

impl PosParam {
    /// Renders the file (pretty JSON, keys in the template's order) after checking every
    /// value: no control characters, at most [`PARAM_VALUE_CHARS_MAX`] characters, hosts,
    /// API key and paths non-empty, paths starting with `/`, ports not 0, topic a valid
    /// prefix.
    ///
    /// Every value must also fit the reference firmware's buffer for its field
    /// ([`FIRMWARE_FIELD_BYTES_MAX`](super::limits::FIRMWARE_FIELD_BYTES_MAX)): the firmware
    /// copies values without a length check, so a longer one would overwrite the next field.
    /// ([`PosParam::parse`] does not apply these limits: the spec's own template has a
    /// 39-byte `pgw_api_sale`.)
    pub fn render(&self) -> Result<String, Ds50Error> {
        self.validate()?;
        self.check_firmware_buffers()?;
        let (cert, username, password) = match &self.mqtt.auth {
            MqttAuth::Password { username, password } => {
                (0, username.as_str(), password.expose().as_str())
            }
            MqttAuth::Certificate => (1, "", ""),
        };
        let wire = FileWire {
            mqtt: MqttWire {
                mqtt_endpoint: &self.mqtt.endpoint,
                mqtt_port: self.mqtt.port.to_string(),
                mqtt_auth_cert: cert,
                mqtt_username: username,
                mqtt_password: password,
                mqtt_topic: &self.mqtt.topic,
            },
            payment: PaymentWire {
                pgw_endpoint: &self.payment.endpoint,
                pgw_port: self.payment.port.to_string(),
                pgw_auth_type: AUTH_TYPE_API_KEY,
                pgw_ssl_cert: u8::from(self.payment.ssl_verify),
                pgw_api_key: self.payment.api_key.expose(),
                pgw_api_key_expiry: self.payment.api_key_expiry.to_compact(),
                pgw_api_sale: &self.payment.sale_path,
                pgw_api_details: &self.payment.details_path,
            },
        };
        serde_json::to_string_pretty(&wire).map_err(|_| Ds50Error::Invalid {
            field: "posparam",
            reason: "could not be serialised",
        })
    }

    /// Checks that every value fits the reference firmware's buffer for its field.
    pub fn check_firmware_buffers(&self) -> Result<(), Ds50Error> {
        fits("mqtt_endpoint", &self.mqtt.endpoint)?;
        if let MqttAuth::Password { username, password } = &self.mqtt.auth {
            fits("mqtt_username", username)?;
            fits("mqtt_password", password.expose())?;
        }
        fits("mqtt_topic", &self.mqtt.topic)?;
        fits("pgw_endpoint", &self.payment.endpoint)?;
        fits("pgw_api_key", self.payment.api_key.expose())?;
        fits("pgw_api_sale", &self.payment.sale_path)?;
        fits("pgw_api_details", &self.payment.details_path)
    }

    /// Checks every value (see [`PosParam::render`]).
    pub fn validate(&self) -> Result<(), Ds50Error> {
        value(&self.mqtt.endpoint, "mqtt_endpoint", true)?;
        port(self.mqtt.port, "mqtt_port")?;
        if let MqttAuth::Password { username, password } = &self.mqtt.auth {
            value(username, "mqtt_username", false)?;
            value(password.expose(), "mqtt_password", false)?;
        }
        validate_topic_prefix(&self.mqtt.topic)?;
        value(&self.payment.endpoint, "pgw_endpoint", true)?;
        port(self.payment.port, "pgw_port")?;
        value(self.payment.api_key.expose(), "pgw_api_key", true)?;
        path(&self.payment.sale_path, "pgw_api_sale")?;
        path(&self.payment.details_path, "pgw_api_details")?;
        Ok(())
    }

    /// Parses a `posparam.ini`. Unknown keys are ignored; every key of the template is
    /// required; the values are checked as by [`PosParam::render`].
    pub fn parse(input: &str) -> Result<PosParam, Ds50Error> {
        let file = parse_object(input.as_bytes(), POSPARAM_BYTES_MAX, "posparam")?;
        let mqtt = section(&file, "mqtt")?;
        let payment = section(&file, "payment")?;
        let auth = match req_u64(mqtt, "mqtt_auth_cert")? {
            0 => MqttAuth::Password {
                username: req_str(mqtt, "mqtt_username")?.to_owned(),
                password: Sensitive::new(req_str(mqtt, "mqtt_password")?.to_owned()),
            },
            1 => MqttAuth::Certificate,
            _ => return Err(not_flag("mqtt_auth_cert")),
        };
        if req_str(payment, "pgw_auth_type")? != AUTH_TYPE_API_KEY {
            return Err(Ds50Error::Invalid {
                field: "pgw_auth_type",
                reason: "not api_key",
            });
        }
        let ssl_verify = match req_u64(payment, "pgw_ssl_cert")? {
            0 => false,
            1 => true,
            _ => return Err(not_flag("pgw_ssl_cert")),
        };
        let params = PosParam {
            mqtt: MqttParams {
                endpoint: req_str(mqtt, "mqtt_endpoint")?.to_owned(),
                port: parse_port(mqtt, "mqtt_port")?,
                auth,
                topic: req_str(mqtt, "mqtt_topic")?.to_owned(),
            },
            payment: PaymentParams {
                endpoint: req_str(payment, "pgw_endpoint")?.to_owned(),
                port: parse_port(payment, "pgw_port")?,
                ssl_verify,
                api_key: Sensitive::new(req_str(payment, "pgw_api_key")?.to_owned()),
                api_key_expiry: WireDate::parse_compact(
                    req_str(payment, "pgw_api_key_expiry")?,
                    "pgw_api_key_expiry",
                )?,
                sale_path: req_str(payment, "pgw_api_sale")?.to_owned(),
                details_path: req_str(payment, "pgw_api_details")?.to_owned(),
            },
        };
        params.validate()?;
        Ok(params)
    }
}

fn section<'a>(file: &'a Object, name: &'static str) -> Result<&'a Object, Ds50Error> {
    match file.get(name) {
        None | Some(Value::Null) => Err(Ds50Error::Missing(name)),
        Some(Value::Object(section)) => Ok(section),
        Some(_) => Err(Ds50Error::NotObject(name)),
    }
}

fn not_flag(field: &'static str) -> Ds50Error {
    Ds50Error::Invalid {
        field,
        reason: "not 0 or 1",
    }
}

fn parse_port(obj: &Object, field: &'static str) -> Result<u16, Ds50Error> {
    let digits = req_digits(obj, field)?;
    let bad = Ds50Error::Invalid {
        field,
        reason: "not a port number 1..=65535",
    };
    if digits.is_empty() || digits.len() > 5 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad);
    }
    let number: u16 = digits.parse().map_err(|_| bad.clone())?;
    port(number, field)?;
    Ok(number)
}

fn port(number: u16, field: &'static str) -> Result<(), Ds50Error> {
    if number == 0 {
        return Err(Ds50Error::Invalid {
            field,
            reason: "not a port number 1..=65535",
        });
    }
    Ok(())
}

/// Refuses a value longer than the firmware's buffer for `field`.
fn fits(field: &'static str, text: &str) -> Result<(), Ds50Error> {
    if text.len() > firmware_field_bytes_max(field) {
        return Err(Ds50Error::Invalid {
            field,
            reason: "longer than the device firmware's buffer",
        });
    }
    Ok(())
}

fn value(text: &str, field: &'static str, required: bool) -> Result<(), Ds50Error> {
    if required && text.trim().is_empty() {
        return Err(Ds50Error::Missing(field));
    }
    if text.chars().any(char::is_control) {
        return Err(Ds50Error::Invalid {
            field,
            reason: "contains a newline or another control character",
        });
    }
    if text.chars().count() > PARAM_VALUE_CHARS_MAX {
        return Err(Ds50Error::Invalid {
            field,
            reason: "too long",
        });
    }
    Ok(())
}

fn path(text: &str, field: &'static str) -> Result<(), Ds50Error> {
    value(text, field, true)?;
    if !text.starts_with('/') || text.contains(char::is_whitespace) {
        return Err(Ds50Error::Invalid {
            field,
            reason: "not an absolute path without spaces",
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// The spec's template, verbatim (3.1).
    const TEMPLATE: &str = r#"{
  "mqtt":{
    "mqtt_endpoint":"q123b328.ala.cn-hangzhou.emqxsl.cn",
    "mqtt_port":"8883",
    "mqtt_auth_cert":0,
    "mqtt_username":"",
    "mqtt_password":"",
    "mqtt_topic":"pos/message"
  },
  "payment":{
    "pgw_endpoint":"https://ypparbjfugzgwijijfnb.supabase.co",
    "pgw_port":"443",
    "pgw_auth_type":"api_key",
    "pgw_ssl_cert":1,
    "pgw_api_key":"sk_58a7b6c4d3e2f1a9b8c7d6e5f4a3b2c1",
    "pgw_api_key_expiry":"20261231",
    "pgw_api_sale":"/functions/v1/request-online-result-pos",
    "pgw_api_details":"/functions/v1/get-transaction-records-pos"
  }
}"#;

    fn sample() -> PosParam {
        PosParam {
            mqtt: MqttParams {
                endpoint: "mqtt.example.com".into(),
                port: 8883,
                auth: MqttAuth::Password {
                    username: "ds50".into(),
                    password: Sensitive::new("p\"ss\\word".into()),
                },
                topic: "pos/message".into(),
            },
            payment: PaymentParams {
                endpoint: "https://posgate.example.com".into(),
                port: 443,
                ssl_verify: true,
                api_key: Sensitive::new("sk_secret".into()),
                api_key_expiry: WireDate::new(2026, 12, 31).unwrap(),
                sale_path: "/v1/ds50/sale".into(),
                details_path: "/v1/ds50/details".into(),
            },
        }
    }

    #[test]
    fn parses_spec_template_and_renders_it_back() {
        let params = PosParam::parse(TEMPLATE).unwrap();
        assert_eq!(params.mqtt.port, 8883);
        assert_eq!(params.mqtt.topic, "pos/message");
        assert!(
            matches!(&params.mqtt.auth, MqttAuth::Password { username, .. } if username.is_empty())
        );
        assert!(params.payment.ssl_verify);
        assert_eq!(params.payment.api_key_expiry.to_compact(), "20261231");
        assert_eq!(
            params.payment.sale_path,
            "/functions/v1/request-online-result-pos"
        );
        // The template's own 39-byte pgw_api_sale overflows the firmware's 32-byte buffer.
        assert!(matches!(
            params.render(),
            Err(Ds50Error::Invalid {
                field: "pgw_api_sale",
                ..
            })
        ));
        let mut params = params;
        params.payment.sale_path = "/functions/v1/sale".into();
        params.payment.details_path = "/functions/v1/records".into();
        let rendered = params.render().unwrap();
        let template = TEMPLATE
            .replace(
                "/functions/v1/request-online-result-pos",
                "/functions/v1/sale",
            )
            .replace(
                "/functions/v1/get-transaction-records-pos",
                "/functions/v1/records",
            );
        let b: Value = serde_json::from_str(&template).unwrap();
        let a: Value = serde_json::from_str(&rendered).unwrap();
        assert_eq!(a, b);
        // Keys come out in the template's order.
        let keys: Vec<usize> = [
            "mqtt_endpoint",
            "mqtt_topic",
            "pgw_endpoint",
            "pgw_api_details",
        ]
        .iter()
        .map(|k| rendered.find(k).unwrap())
        .collect();
        assert!(keys.windows(2).all(|w| w[0] < w[1]));
        assert!(!format!("{params:?}").contains("sk_58a7"));
    }

    #[test]
    fn round_trips() {
        let params = sample();
        assert_eq!(PosParam::parse(&params.render().unwrap()).unwrap(), params);
        let mut cert = sample();
        cert.mqtt.auth = MqttAuth::Certificate;
        cert.payment.ssl_verify = false;
        assert_eq!(PosParam::parse(&cert.render().unwrap()).unwrap(), cert);
    }

    #[test]
    fn refuses_values_longer_than_the_firmware_buffers() {
        let at_limit = sample_with(|p| {
            p.mqtt.topic = "t".repeat(31);
            p.payment.sale_path = format!("/{}", "s".repeat(30));
            p.mqtt.endpoint = "h".repeat(127);
        });
        assert!(at_limit.render().is_ok());
        let cases: Vec<(&str, PosParam)> = vec![
            ("mqtt_topic", sample_with(|p| p.mqtt.topic = "t".repeat(32))),
            (
                "pgw_api_sale",
                sample_with(|p| p.payment.sale_path = format!("/{}", "s".repeat(31))),
            ),
            (
                "pgw_api_details",
                sample_with(|p| p.payment.details_path = format!("/{}", "d".repeat(31))),
            ),
            (
                "mqtt_endpoint",
                sample_with(|p| p.mqtt.endpoint = "h".repeat(128)),
            ),
            (
                "pgw_endpoint",
                sample_with(|p| p.payment.endpoint = "h".repeat(128)),
            ),
            (
                "mqtt_password",
                sample_with(|p| {
                    p.mqtt.auth = MqttAuth::Password {
                        username: "u".into(),
                        password: Sensitive::new("p".repeat(64)),
                    }
                }),
            ),
        ];
        for (field, params) in cases {
            match params.render() {
                Err(Ds50Error::Invalid { field: f, .. }) => assert_eq!(f, field),
                other => panic!("{field}: {other:?}"),
            }
        }
    }

    fn sample_with(change: impl FnOnce(&mut PosParam)) -> PosParam {
        let mut params = sample();
        change(&mut params);
        params
    }

    #[test]
    fn refuses_bad_values() {
        let mut newline = sample();
        newline.payment.api_key = Sensitive::new("sk\nx".into());
        assert!(newline.render().is_err());
        let mut path = sample();
        path.payment.sale_path = "v1/sale".into();
        assert!(path.render().is_err());
        let mut topic = sample();
        topic.mqtt.topic = "pos/#".into();
        assert!(topic.render().is_err());
        let mut port = sample();
        port.payment.port = 0;
        assert!(port.render().is_err());
        for (from, to) in [
            ("\"mqtt_auth_cert\":0", "\"mqtt_auth_cert\":2"),
            ("\"pgw_ssl_cert\":1", "\"pgw_ssl_cert\":\"1\""),
            ("\"api_key\",", "\"basic\","),
            ("\"443\"", "\"70000\""),
            ("\"20261231\"", "\"20261331\""),
            ("\"pos/message\"", "\"pos/message/\""),
            ("\"payment\":{", "\"payment\":[{"),
        ] {
            let bad = TEMPLATE.replacen(from, to, 1);
            assert_ne!(bad, TEMPLATE);
            assert!(PosParam::parse(&bad).is_err(), "{to}");
        }
    }

    proptest! {
        #[test]
        fn parse_never_panics(text in ".{0,300}") {
            let _ = PosParam::parse(&text);
        }

        #[test]
        fn template_mutations_never_panic(at in 0..TEMPLATE.len(), byte in any::<u8>()) {
            let mut bytes = TEMPLATE.as_bytes().to_vec();
            bytes[at] = byte;
            let _ = PosParam::parse(&String::from_utf8_lossy(&bytes));
        }

        #[test]
        fn values_round_trip(user in "[ -~]{0,40}", password in "[ -~é]{0,30}", key in "[!-~]{1,60}") {
            let mut params = sample();
            params.mqtt.auth = MqttAuth::Password { username: user, password: Sensitive::new(password) };
            params.payment.api_key = Sensitive::new(key);
            prop_assert_eq!(PosParam::parse(&params.render().unwrap()).unwrap(), params);
        }
    }
}
