//! Card PINs for jpos consumes: an operator sets, resets or removes the PIN of a card bound
//! to an account. The PIN is stored only as a keyed verification value; setting it (even to
//! the same digits) clears the count of wrong tries, which unblocks a card blocked after
//! [`posgate_actors::entity::PIN_TRIES_MAX`] wrong PINs.

use super::with_db;
use crate::app::Gateway;
use crate::http::error::{ApiError, ErrorBody};
use crate::http::json::{ValidJson, Validate};
use actix_web::{put, web, HttpResponse};
use posgate_actors::cards::mask_pan;
use posgate_actors::store::{catalog, jpos_pins};
use posgate_protocols::jpos::pin::Pin;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// Set or remove a card's PIN.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CardPinBody {
    /// The card (PAN, 12-19 digits), bound to this account.
    #[schema(pattern = r"^[0-9]{12,19}$")]
    pub card_number: String,
    /// The new PIN, 4-12 digits; `null` removes it (consumes need none).
    #[schema(pattern = r"^[0-9]{4,12}$")]
    pub pin: Option<String>,
}

impl Validate for CardPinBody {
    fn validate(&self) -> Result<(), ApiError> {
        posgate_actors::cards::validate_pan(&self.card_number)
            .map_err(|e| ApiError::invalid("card_number", e.to_string()))?;
        match &self.pin {
            Some(pin) if Pin::parse(pin).is_none() => {
                Err(ApiError::invalid("pin", "must be 4 to 12 digits"))
            }
            _ => Ok(()),
        }
    }
}

/// A card's PIN state after the change.
#[derive(Serialize, ToSchema)]
pub struct CardPinView {
    /// The card, masked.
    pub card: String,
    /// Whether consumes with the card need its PIN.
    pub pin_set: bool,
}

/// Set, reset (unblock) or remove the PIN of a card of account `id`.
#[utoipa::path(tag = "accounts", request_body = CardPinBody, responses(
    (status = 200, body = CardPinView), (status = 400, body = ErrorBody),
    (status = 404, body = ErrorBody)))]
#[put("/accounts/{id}/card-pin")]
pub async fn set(
    gw: web::Data<Gateway>,
    id: web::Path<i64>,
    body: ValidJson<CardPinBody>,
) -> Result<HttpResponse, ApiError> {
    let (id, CardPinBody { card_number, pin }) = (id.into_inner(), body.0);
    let hmac = gw
        .card_key
        .index(&card_number)
        .map_err(|e| ApiError::invalid("card_number", e.to_string()))?;
    let card =
        mask_pan(&card_number).map_err(|e| ApiError::invalid("card_number", e.to_string()))?;
    drop(card_number);
    let verifier = pin
        .as_deref()
        .and_then(Pin::parse)
        .map(|p| crate::http::jpos::pin_verifier(&gw, &hmac, &p));
    let pin_set = verifier.is_some();
    let changed = with_db(&gw, move |db| {
        Box::pin(async move {
            let owned = catalog::find_card(db, &hmac)
                .await?
                .is_some_and(|c| c.account_id == id);
            if !owned {
                return Ok(false);
            }
            jpos_pins::set_card_pin(db, &hmac, verifier.as_deref()).await
        })
    })
    .await?;
    if !changed {
        return Err(ApiError::not_found("card of this account"));
    }
    tracing::info!(account = id, card, pin_set, "card PIN changed");
    Ok(HttpResponse::Ok().json(CardPinView { card, pin_set }))
}
