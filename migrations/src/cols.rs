//! Column and key builders shared by the migrations, so every table spells
//! ids, tenant ids and timestamps the same way on both backends.

use sea_orm_migration::prelude::*;

pub fn table(name: &str) -> TableCreateStatement {
    Table::create()
        .table(Alias::new(name))
        .if_not_exists()
        .to_owned()
}

pub fn id() -> ColumnDef {
    ColumnDef::new(Alias::new("id"))
        .uuid()
        .not_null()
        .primary_key()
        .to_owned()
}

pub fn uuid(name: &str) -> ColumnDef {
    ColumnDef::new(Alias::new(name))
        .uuid()
        .not_null()
        .to_owned()
}

pub fn uuid_null(name: &str) -> ColumnDef {
    ColumnDef::new(Alias::new(name)).uuid().null().to_owned()
}

pub fn text(name: &str) -> ColumnDef {
    ColumnDef::new(Alias::new(name))
        .text()
        .not_null()
        .to_owned()
}

pub fn text_null(name: &str) -> ColumnDef {
    ColumnDef::new(Alias::new(name)).text().null().to_owned()
}

pub fn ts(name: &str) -> ColumnDef {
    ColumnDef::new(Alias::new(name))
        .timestamp_with_time_zone()
        .not_null()
        .to_owned()
}

pub fn ts_null(name: &str) -> ColumnDef {
    ColumnDef::new(Alias::new(name))
        .timestamp_with_time_zone()
        .null()
        .to_owned()
}

pub fn json(name: &str) -> ColumnDef {
    ColumnDef::new(Alias::new(name))
        .json_binary()
        .not_null()
        .to_owned()
}

pub fn int(name: &str) -> ColumnDef {
    ColumnDef::new(Alias::new(name))
        .integer()
        .not_null()
        .to_owned()
}

pub fn big(name: &str) -> ColumnDef {
    ColumnDef::new(Alias::new(name))
        .big_integer()
        .not_null()
        .to_owned()
}

pub fn boolean(name: &str) -> ColumnDef {
    ColumnDef::new(Alias::new(name))
        .boolean()
        .not_null()
        .to_owned()
}

/// A foreign key from `(tenant_id, column)` to `(tenant_id, id)` of `target`:
/// a row can only point at an object of its own tenant.
pub fn tenant_fk(from: &str, column: &str, target: &str) -> ForeignKeyCreateStatement {
    ForeignKey::create()
        .name(format!("fk_{from}_{column}"))
        .from(
            Alias::new(from),
            (Alias::new("tenant_id"), Alias::new(column)),
        )
        .to(
            Alias::new(target),
            (Alias::new("tenant_id"), Alias::new("id")),
        )
        .on_delete(ForeignKeyAction::Cascade)
        .to_owned()
}

/// Like `tenant_fk`, but deleting the target is refused while rows point
/// at it: the application clears the reference first.
pub fn tenant_fk_restrict(from: &str, column: &str, target: &str) -> ForeignKeyCreateStatement {
    tenant_fk(from, column, target)
        .on_delete(ForeignKeyAction::Restrict)
        .to_owned()
}

/// A plain foreign key to `target.id`.
pub fn fk(from: &str, column: &str, target: &str) -> ForeignKeyCreateStatement {
    ForeignKey::create()
        .name(format!("fk_{from}_{column}"))
        .from(Alias::new(from), Alias::new(column))
        .to(Alias::new(target), Alias::new("id"))
        .on_delete(ForeignKeyAction::Cascade)
        .to_owned()
}

/// A unique index over `columns` of `table_name`.
pub fn unique(table_name: &str, columns: &[&str]) -> IndexCreateStatement {
    let mut index = Index::create();
    index
        .name(format!("ux_{table_name}_{}", columns.join("_")))
        .table(Alias::new(table_name))
        .unique()
        .if_not_exists();
    for c in columns {
        index.col(Alias::new(*c));
    }
    index.to_owned()
}

/// An inline `UNIQUE (tenant_id, id)` constraint: the target of `tenant_fk`.
pub fn tenant_key(table_name: &str) -> IndexCreateStatement {
    Index::create()
        .name(format!("ux_{table_name}_tenant_id_id"))
        .unique()
        .col(Alias::new("tenant_id"))
        .col(Alias::new("id"))
        .to_owned()
}

/// One `ALTER TABLE … ADD COLUMN` (SQLite takes one column per statement).
pub async fn add_column(
    m: &SchemaManager<'_>,
    table: &str,
    mut def: ColumnDef,
) -> Result<(), DbErr> {
    let alter = Table::alter()
        .table(Alias::new(table))
        .add_column(&mut def)
        .to_owned();
    m.alter_table(alter).await
}
