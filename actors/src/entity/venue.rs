//! VenueActor: one per KTV venue (key: `companycode`). Caches the venue record; the KTV
//! uploads and WJ091 pulls of a venue are handled here, one at a time and in order.

use super::cached::{cached_entity, Loaded};
use super::{Entity, EntityDeps, Lifecycle};
use crate::model::Venue;
use crate::store::{catalog, StoreError};

/// Actor of one venue.
pub struct VenueActor {
    life: Lifecycle,
    deps: EntityDeps,
    state: Loaded<Venue>,
}

impl VenueActor {
    async fn load(deps: &EntityDeps, key: &str) -> Result<Option<Venue>, StoreError> {
        let code = key.to_string();
        deps.store
            .transaction(move |db| Box::pin(async move { catalog::find_venue(db, &code).await }))
            .await
    }
}

cached_entity!(VenueActor, Venue);

impl Entity for VenueActor {
    const KIND: &'static str = "venue";

    fn create(life: Lifecycle, deps: EntityDeps) -> Self {
        VenueActor {
            life,
            deps,
            state: Loaded::Pending,
        }
    }
}
