//! What a caller may do: the permissions of their role bindings.
//!
//! A tenant-wide binding grants its role's permissions everywhere in the
//! tenant. A site binding grants only the role's site-level permissions,
//! and only for objects of that site.

use argus_core::Permission;
use std::collections::HashSet;
use uuid::Uuid;

/// The permissions of one binding and where they apply.
#[derive(Clone, Debug)]
pub struct Grant {
    pub permissions: HashSet<Permission>,
    /// `None` for the whole tenant.
    pub site: Option<Uuid>,
}

/// All of a caller's grants inside their tenant.
#[derive(Clone, Debug, Default)]
pub struct Grants(pub Vec<Grant>);

/// Which sites a caller may see for one permission.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Sites {
    All,
    Only(Vec<Uuid>),
}

impl Grants {
    /// A tenant-wide grant of `perm`.
    pub fn tenant_wide(&self, perm: Permission) -> bool {
        self.0
            .iter()
            .any(|g| g.site.is_none() && g.permissions.contains(&perm))
    }

    /// `perm` on an object of `site`.
    pub fn on_site(&self, perm: Permission, site: Uuid) -> bool {
        self.tenant_wide(perm) || self.site_grants(perm).any(|s| s == site)
    }

    /// `perm` anywhere at all (tenant-wide or on some site).
    pub fn anywhere(&self, perm: Permission) -> bool {
        self.tenant_wide(perm) || self.site_grants(perm).next().is_some()
    }

    /// The sites on which `perm` holds.
    pub fn sites(&self, perm: Permission) -> Sites {
        if self.tenant_wide(perm) {
            return Sites::All;
        }
        let mut sites: Vec<Uuid> = self.site_grants(perm).collect();
        sites.sort();
        sites.dedup();
        Sites::Only(sites)
    }

    /// True when every permission `grant` would give is one `self` already
    /// has, where it would apply: nobody hands out more than they hold.
    pub fn covers(&self, grant: &Grant) -> bool {
        grant.permissions.iter().all(|&p| match grant.site {
            None => self.tenant_wide(p),
            // A site binding grants only site-level permissions.
            Some(site) => !p.is_site_level() || self.on_site(p, site),
        })
    }

    /// True when `self` covers all of `other`'s grants.
    pub fn covers_all(&self, other: &Grants) -> bool {
        other.0.iter().all(|g| self.covers(g))
    }

    fn site_grants(&self, perm: Permission) -> impl Iterator<Item = Uuid> + '_ {
        self.0
            .iter()
            .filter(move |g| perm.is_site_level() && g.permissions.contains(&perm))
            .filter_map(|g| g.site)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use Permission::*;

    fn grant(perms: &[Permission], site: Option<Uuid>) -> Grant {
        Grant {
            permissions: perms.iter().copied().collect(),
            site,
        }
    }

    #[test]
    fn a_site_binding_reaches_only_its_site_and_only_site_level_permissions() {
        let (a, b) = (Uuid::new_v4(), Uuid::new_v4());
        let g = Grants(vec![grant(&[CamerasRead, UsersWrite], Some(a))]);
        assert!(g.on_site(CamerasRead, a));
        assert!(!g.on_site(CamerasRead, b));
        assert!(!g.anywhere(UsersWrite), "users.write is tenant-level only");
        assert_eq!(g.sites(CamerasRead), Sites::Only(vec![a]));
    }

    #[test]
    fn covering_means_holding_every_permission_where_it_applies() {
        let site = Uuid::new_v4();
        let admin = Grants(vec![grant(&[CamerasRead, UsersWrite], None)]);
        let local = Grants(vec![grant(&[CamerasRead, RelaysWrite], Some(site))]);
        assert!(admin.covers(&grant(&[CamerasRead], Some(site))));
        assert!(admin.covers(&grant(&[UsersWrite], None)));
        assert!(!admin.covers(&grant(&[AuditRead], None)));
        assert!(local.covers(&grant(&[RelaysWrite], Some(site))));
        assert!(!local.covers(&grant(&[RelaysWrite], Some(Uuid::new_v4()))));
        assert!(!local.covers(&grant(&[CamerasRead], None)));
        assert!(!local.covers_all(&admin));
    }

    #[test]
    fn a_tenant_binding_reaches_every_site() {
        let g = Grants(vec![grant(&[CamerasRead], None)]);
        assert!(g.on_site(CamerasRead, Uuid::new_v4()));
        assert_eq!(g.sites(CamerasRead), Sites::All);
        assert!(!g.anywhere(CamerasWrite));
    }
}
