//! Permissions and the built-in roles that group them.
//!
//! A role is a set of permissions; a binding gives a role to a user either
//! for the whole tenant or for one site. Permissions marked *site-level*
//! can be limited to one site by such a binding; the others only ever come
//! from a tenant-wide binding.

use serde::{Deserialize, Serialize};

/// One thing a user may do inside a tenant.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Permission {
    #[serde(rename = "users.read")]
    UsersRead,
    #[serde(rename = "users.write")]
    UsersWrite,
    #[serde(rename = "roles.read")]
    RolesRead,
    #[serde(rename = "roles.write")]
    RolesWrite,
    #[serde(rename = "sites.read")]
    SitesRead,
    #[serde(rename = "sites.write")]
    SitesWrite,
    #[serde(rename = "cameras.read")]
    CamerasRead,
    #[serde(rename = "cameras.write")]
    CamerasWrite,
    #[serde(rename = "relays.read")]
    RelaysRead,
    #[serde(rename = "relays.write")]
    RelaysWrite,
    #[serde(rename = "audit.read")]
    AuditRead,
    #[serde(rename = "live.view")]
    LiveView,
    #[serde(rename = "playback.view")]
    PlaybackView,
    #[serde(rename = "export.create")]
    ExportCreate,
}

use Permission::*;

/// Every permission, in a stable order.
pub const ALL: &[Permission] = &[
    UsersRead,
    UsersWrite,
    RolesRead,
    RolesWrite,
    SitesRead,
    SitesWrite,
    CamerasRead,
    CamerasWrite,
    RelaysRead,
    RelaysWrite,
    AuditRead,
    LiveView,
    PlaybackView,
    ExportCreate,
];

impl Permission {
    /// True when a site-scoped binding may grant this permission for its site.
    pub fn is_site_level(self) -> bool {
        matches!(
            self,
            SitesRead
                | CamerasRead
                | CamerasWrite
                | RelaysRead
                | RelaysWrite
                | LiveView
                | PlaybackView
                | ExportCreate
        )
    }
}

/// A role every tenant has from its creation; it cannot be changed or deleted.
pub struct BuiltinRole {
    pub name: &'static str,
    pub description: &'static str,
    pub permissions: &'static [Permission],
}

/// The built-in roles, created in every new tenant.
pub const BUILTIN_ROLES: &[BuiltinRole] = &[
    BuiltinRole {
        name: "owner",
        description: "Everything in the tenant",
        permissions: ALL,
    },
    BuiltinRole {
        name: "admin",
        description: "Users, roles, sites, cameras, relays",
        permissions: ALL,
    },
    BuiltinRole {
        name: "operator",
        description: "Live view, playback and export",
        permissions: &[SitesRead, CamerasRead, LiveView, PlaybackView, ExportCreate],
    },
    BuiltinRole {
        name: "viewer",
        description: "Live view only",
        permissions: &[SitesRead, CamerasRead, LiveView],
    },
    BuiltinRole {
        name: "auditor",
        description: "Reads the audit log",
        permissions: &[AuditRead],
    },
    BuiltinRole {
        name: "installer",
        description: "Relays and cameras on site",
        permissions: &[
            SitesRead,
            CamerasRead,
            CamerasWrite,
            RelaysRead,
            RelaysWrite,
        ],
    },
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_through_json() {
        for p in ALL {
            let s = serde_json::to_string(p).unwrap();
            assert_eq!(serde_json::from_str::<Permission>(&s).unwrap(), *p);
        }
        assert!(serde_json::from_str::<Permission>("\"root\"").is_err());
    }

    #[test]
    fn tenant_level_permissions_are_not_site_level() {
        assert!(!UsersWrite.is_site_level());
        assert!(!AuditRead.is_site_level());
        assert!(LiveView.is_site_level());
    }
}
