//! What consumption machines upload besides payments (MQTT POS spec section 6): device
//! messages, photos (metadata and image, so that any replica serves them) and dish
//! records, written once against [`Db`] for both backends.
//!
//! MQTT QoS 1 redelivers, so every write is idempotent on the upload's natural key: a notice
//! on (terminal, user, time, type, param), a photo on (terminal, imgPath), a dish record on
//! (terminal, posNum). Listings are per terminal, newest first.

use super::sql::{query_opt, Db, Row, StoreError};
use serde::{Deserialize, Serialize};

/// A device message (`message` topic) as stored.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DeviceNoticeRecord {
    /// Row id.
    pub id: i64,
    /// The terminal that sent it.
    pub terminal_id: i64,
    /// `user`: the user concerned.
    pub user_id: String,
    /// `time`, as the device sent it (`YYYY-MM-DD HH:MM:SS`, device local time).
    pub time: String,
    /// `type` (`fe`, `ad`, `af`, `uk`, `ap` or another device-specific text).
    pub kind: String,
    /// `param`.
    pub param: String,
    /// When posgate received it, unix ms.
    pub received_at_ms: i64,
}

/// A new device message to store.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewNotice {
    /// The terminal that sent it.
    pub terminal_id: i64,
    /// `user`.
    pub user_id: String,
    /// `time`, as sent.
    pub time: String,
    /// `type`.
    pub kind: String,
    /// `param`.
    pub param: String,
}

/// The metadata of a photo (`frame_imgup`); its image is read with [`photo_content`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PhotoRecord {
    /// Row id.
    pub id: i64,
    /// The terminal that sent it.
    pub terminal_id: i64,
    /// `imgPath`, sanitised (the name the consumption request carried).
    pub img_path: String,
    /// The photo's name: `{deviceId}/{img_path}` (also its file under `mqtt.photo_dir`
    /// for photos stored before images moved into the database).
    pub file_path: String,
    /// Size in bytes.
    pub bytes: i64,
    /// SHA-256 of the bytes, lowercase hex.
    pub sha256: String,
    /// When posgate received it (or the latest replacement), unix ms.
    pub received_at_ms: i64,
}

/// A new photo to store.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewPhoto {
    /// The terminal that sent it.
    pub terminal_id: i64,
    /// `imgPath`, sanitised.
    pub img_path: String,
    /// The photo's name: `{deviceId}/{img_path}`.
    pub file_path: String,
    /// The image.
    pub content: Vec<u8>,
    /// Size in bytes.
    pub bytes: i64,
    /// SHA-256 of the bytes, lowercase hex.
    pub sha256: String,
}

/// One line of a dish record.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DishLine {
    /// `id`: the dish id.
    pub id: String,
    /// `num`: how many.
    pub num: i64,
}

/// A dish record (`menu_rec`) as stored, with the consumption it belongs to when that is
/// known.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DishRecord {
    /// Row id.
    pub id: i64,
    /// The terminal that sent it.
    pub terminal_id: i64,
    /// `posNum` of the consumption.
    pub pos_num: i64,
    /// The consumption's idempotency key, `mqtt:{deviceId}:{posNum}`.
    pub consumption_key: String,
    /// The journal id of that consumption, when it has arrived.
    pub transaction_id: Option<i64>,
    /// `payTime`, as the device sent it.
    pub pay_time: String,
    /// `group`: menu group 0-6.
    pub group: i64,
    /// `list`: the dishes.
    pub lines: Vec<DishLine>,
    /// When posgate received it, unix ms.
    pub received_at_ms: i64,
}

/// A new dish record to store.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewDishRecord {
    /// The terminal that sent it.
    pub terminal_id: i64,
    /// `posNum`.
    pub pos_num: i64,
    /// `mqtt:{deviceId}:{posNum}`.
    pub consumption_key: String,
    /// `payTime`, as sent.
    pub pay_time: String,
    /// `group`.
    pub group: i64,
    /// `list`.
    pub lines: Vec<DishLine>,
}

const NOTICE_COLS: &str = "id, terminal_id, user_id, notice_time, kind, param, received_at_ms";
const PHOTO_COLS: &str = "id, terminal_id, img_path, file_path, bytes, sha256, received_at_ms";

fn notice_row(r: &Row) -> Result<DeviceNoticeRecord, StoreError> {
    Ok(DeviceNoticeRecord {
        id: r.i64(0)?,
        terminal_id: r.i64(1)?,
        user_id: r.text(2)?,
        time: r.text(3)?,
        kind: r.text(4)?,
        param: r.text(5)?,
        received_at_ms: r.i64(6)?,
    })
}

fn photo_row(r: &Row) -> Result<PhotoRecord, StoreError> {
    Ok(PhotoRecord {
        id: r.i64(0)?,
        terminal_id: r.i64(1)?,
        img_path: r.text(2)?,
        file_path: r.text(3)?,
        bytes: r.i64(4)?,
        sha256: r.text(5)?,
        received_at_ms: r.i64(6)?,
    })
}

fn dish_row(r: &Row) -> Result<DishRecord, StoreError> {
    let lines = serde_json::from_str(&r.text(7)?)
        .map_err(|e| StoreError::Decode(format!("dish record lines: {e}")))?;
    Ok(DishRecord {
        id: r.i64(0)?,
        terminal_id: r.i64(1)?,
        pos_num: r.i64(2)?,
        consumption_key: r.text(3)?,
        transaction_id: r.opt_i64(8)?,
        pay_time: r.text(4)?,
        group: r.i64(5)?,
        lines,
        received_at_ms: r.i64(6)?,
    })
}

/// Stores a device message; returns `false` when the same message was already stored.
pub async fn insert_notice(db: &dyn Db, n: &NewNotice, now_ms: i64) -> Result<bool, StoreError> {
    let changed = db
        .execute(
            "INSERT INTO mqtt_notices (terminal_id, user_id, notice_time, kind, param, \
             received_at_ms) VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING",
            &[
                n.terminal_id.into(),
                n.user_id.as_str().into(),
                n.time.as_str().into(),
                n.kind.as_str().into(),
                n.param.as_str().into(),
                now_ms.into(),
            ],
        )
        .await?;
    Ok(changed > 0)
}

/// Stores a photo (metadata and image); returns `false` when the same photo (same terminal, imgPath
/// and SHA-256) was already stored. A different photo under a stored imgPath replaces the
/// metadata, as its file replaced the old file.
pub async fn upsert_photo(db: &dyn Db, p: &NewPhoto, now_ms: i64) -> Result<bool, StoreError> {
    let changed = db
        .execute(
            "INSERT INTO mqtt_photos (terminal_id, img_path, file_path, bytes, sha256, \
             received_at_ms, content) VALUES ($1, $2, $3, $4, $5, $6, $7) \
             ON CONFLICT (terminal_id, img_path) DO UPDATE SET file_path = excluded.file_path, \
             bytes = excluded.bytes, sha256 = excluded.sha256, \
             received_at_ms = excluded.received_at_ms, content = excluded.content \
             WHERE mqtt_photos.sha256 <> excluded.sha256 OR mqtt_photos.content IS NULL",
            &[
                p.terminal_id.into(),
                p.img_path.as_str().into(),
                p.file_path.as_str().into(),
                p.bytes.into(),
                p.sha256.as_str().into(),
                now_ms.into(),
                p.content.clone().into(),
            ],
        )
        .await?;
    Ok(changed > 0)
}

/// Stores a dish record; returns `false` when the terminal's record of that posNum was
/// already stored (the first one is kept).
pub async fn insert_dish_record(
    db: &dyn Db,
    d: &NewDishRecord,
    now_ms: i64,
) -> Result<bool, StoreError> {
    let lines = serde_json::to_string(&d.lines)
        .map_err(|e| StoreError::Decode(format!("dish record lines: {e}")))?;
    let changed = db
        .execute(
            "INSERT INTO mqtt_dish_records (terminal_id, pos_num, consumption_key, pay_time, \
             menu_group, lines, received_at_ms) VALUES ($1, $2, $3, $4, $5, $6, $7) \
             ON CONFLICT DO NOTHING",
            &[
                d.terminal_id.into(),
                d.pos_num.into(),
                d.consumption_key.as_str().into(),
                d.pay_time.as_str().into(),
                d.group.into(),
                lines.into(),
                now_ms.into(),
            ],
        )
        .await?;
    Ok(changed > 0)
}

/// A terminal's device messages, newest first, at most `limit`.
pub async fn list_notices(
    db: &dyn Db,
    terminal_id: i64,
    limit: i64,
) -> Result<Vec<DeviceNoticeRecord>, StoreError> {
    let sql = format!(
        "SELECT {NOTICE_COLS} FROM mqtt_notices WHERE terminal_id = $1 ORDER BY id DESC LIMIT $2"
    );
    db.query(&sql, &[terminal_id.into(), limit.into()])
        .await?
        .iter()
        .map(notice_row)
        .collect()
}

/// A terminal's photos, newest first, at most `limit`.
pub async fn list_photos(
    db: &dyn Db,
    terminal_id: i64,
    img_path: Option<&str>,
    limit: i64,
) -> Result<Vec<PhotoRecord>, StoreError> {
    let sql = format!(
        "SELECT {PHOTO_COLS} FROM mqtt_photos WHERE terminal_id = $1 \
         AND ($2 IS NULL OR img_path = $2) ORDER BY id DESC LIMIT $3"
    );
    let img_path = img_path.map(str::to_string);
    db.query(&sql, &[terminal_id.into(), img_path.into(), limit.into()])
        .await?
        .iter()
        .map(photo_row)
        .collect()
}

/// One photo of a terminal.
pub async fn get_photo(
    db: &dyn Db,
    terminal_id: i64,
    photo_id: i64,
) -> Result<Option<PhotoRecord>, StoreError> {
    let sql = format!("SELECT {PHOTO_COLS} FROM mqtt_photos WHERE terminal_id = $1 AND id = $2");
    query_opt(db, &sql, &[terminal_id.into(), photo_id.into()])
        .await?
        .as_ref()
        .map(photo_row)
        .transpose()
}

/// A terminal's dish records, newest first, at most `limit`, each with the journal id of
/// its consumption when that exists.
pub async fn list_dish_records(
    db: &dyn Db,
    terminal_id: i64,
    limit: i64,
) -> Result<Vec<DishRecord>, StoreError> {
    db.query(
        "SELECT d.id, d.terminal_id, d.pos_num, d.consumption_key, d.pay_time, d.menu_group, \
         d.received_at_ms, d.lines, j.id FROM mqtt_dish_records d \
         LEFT JOIN journal j ON j.idempotency_key = d.consumption_key \
         WHERE d.terminal_id = $1 ORDER BY d.id DESC LIMIT $2",
        &[terminal_id.into(), limit.into()],
    )
    .await?
    .iter()
    .map(dish_row)
    .collect()
}

/// The image of one photo of a terminal: `Some((name, Some(bytes)))`, or `Some((name, None))`
/// for a photo stored before images moved into the database (its bytes are in the file
/// `name` under `mqtt.photo_dir`: see [`photo_file`]).
pub async fn photo_content(
    db: &dyn Db,
    terminal_id: i64,
    photo_id: i64,
) -> Result<Option<(String, Option<Vec<u8>>)>, StoreError> {
    query_opt(
        db,
        "SELECT file_path, content FROM mqtt_photos WHERE terminal_id = $1 AND id = $2",
        &[terminal_id.into(), photo_id.into()],
    )
    .await?
    .map(|r| Ok((r.text(0)?, r.opt_bytes(1)?)))
    .transpose()
}

/// The file of a photo: `photo_dir` joined with `relative` (`{deviceId}/{img_path}`), or
/// `None` when `relative` is not a plain relative path. Checked component by component
/// (the codec already sanitised `imgPath`; this is the second line): every component is
/// non-empty, is not `.` or `..`, does not start with a dot, and uses only
/// `[A-Za-z0-9_.-]`, so the result can never name anything outside `photo_dir`.
pub fn photo_file(photo_dir: &std::path::Path, relative: &str) -> Option<std::path::PathBuf> {
    let mut path = photo_dir.to_path_buf();
    let mut components = 0;
    for part in relative.split('/') {
        let plain = !part.is_empty()
            && !part.starts_with('.')
            && part
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'));
        let normal = matches!(
            std::path::Path::new(part)
                .components()
                .collect::<Vec<_>>()
                .as_slice(),
            [std::path::Component::Normal(_)]
        );
        if !plain || !normal {
            return None;
        }
        path.push(part);
        components += 1;
    }
    (components >= 2).then_some(path)
}

#[cfg(test)]
mod tests {
    use super::photo_file;
    use std::path::Path;

    #[test]
    fn photo_files_stay_inside_the_directory() {
        let dir = Path::new("/srv/photos");
        assert_eq!(
            photo_file(dir, "5394611/2021-05-07/jk686538.jpg"),
            Some(dir.join("5394611").join("2021-05-07").join("jk686538.jpg"))
        );
        for bad in [
            "",
            "5394611",
            "5394611/../x.jpg",
            "../5394611/x.jpg",
            "/etc/x.jpg",
            "5394611//x.jpg",
            "5394611/./x.jpg",
            "5394611/.hidden",
            "5394611\\..\\x.jpg",
            "5394611/a b.jpg",
            "5394611/é.jpg",
        ] {
            assert_eq!(photo_file(dir, bad), None, "{bad:?}");
        }
    }
}
