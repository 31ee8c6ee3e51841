//! An uploaded init segment (`ftyp` + `moov`), keyed by its deterministic
//! id (`wire::ids::init_id`).

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "init_segments")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub tenant_id: Uuid,
    pub camera_id: Uuid,
    pub key_id: Uuid,
    pub object_key: String,
    pub bytes: i64,
    pub sha256: String,
    pub codec: String,
    pub width: i32,
    pub height: i32,
    pub created_at: chrono::DateTime<chrono::Utc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
