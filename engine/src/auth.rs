//! Organisations and API keys.
//!
//! - **Orgs** are the directories of the pipelines directory; `pipelines/orgs.toml` may mark one
//!   as `open` (no key needed: for local demos only). A new org requires keys.
//! - **Keys** are created by `trackway keys create --org <org> --scope read|write|admin`, shown
//!   once, and kept only as their sha256 in `<data-dir>/keys.toml` (the keys are 256 random
//!   bits, so a fast hash is enough: there is nothing to brute-force). The server re-reads the
//!   file when it changes, so keys work without a restart.
//! - **Requests** carry `X-API-KEY: <key>` or `Authorization: Bearer <key>`. A missing or
//!   unknown key is a 401; a key of another org gets the 404 of an org that does not exist (no
//!   hint that it does); a key whose scope is too small is a 403. Routes without an org in their
//!   path (the seed-compatible ones) act on the key's org, or on the open `default` org.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::sync::RwLock;
use std::time::SystemTime;

use anyhow::Context as _;
use axum::extract::{FromRequestParts, Path as PathParams};
use axum::http::StatusCode;
use axum::http::request::Parts;
use base64::Engine as _;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::http::AppState;
use crate::http::error::ApiError;

/// What a key may do. Ordered: `admin` includes `write`, which includes `read`.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, clap::ValueEnum,
)]
#[serde(rename_all = "lowercase")]
pub enum Scope {
    /// Read routes (`GET`).
    Read,
    /// Read, and submit events and reports.
    Write,
    /// Everything, including replaying dead letters.
    Admin,
}

impl Scope {
    fn as_str(self) -> &'static str {
        match self {
            Self::Read => "read",
            Self::Write => "write",
            Self::Admin => "admin",
        }
    }
}

/// One stored key (never the key itself).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct KeyEntry {
    /// Short public id, for listing and revoking.
    pub id: String,
    /// The org the key belongs to.
    pub org: String,
    /// What it may do.
    pub scope: Scope,
    /// A label for people.
    #[serde(default)]
    pub name: String,
    /// Hex sha256 of the key.
    pub sha256: String,
    /// RFC 3339 creation time.
    pub created: String,
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct KeysFile {
    #[serde(default)]
    keys: Vec<KeyEntry>,
}

/// The key file of a data directory.
pub fn keys_path(data_dir: &Path) -> PathBuf {
    data_dir.join("keys.toml")
}

fn hash(key: &str) -> String {
    hex_encode(&Sha256::digest(key.as_bytes()))
}

fn hex_encode(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn read_keys(path: &Path) -> anyhow::Result<KeysFile> {
    match std::fs::read_to_string(path) {
        Ok(text) => {
            toml::from_str(&text).with_context(|| format!("invalid key file `{}`", path.display()))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(KeysFile::default()),
        Err(e) => Err(e).with_context(|| format!("cannot read `{}`", path.display())),
    }
}

fn write_keys(path: &Path, file: &KeysFile) -> anyhow::Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let text = format!(
        "# API keys of this trackway: sha256 hashes only (each key was shown once, when created).\n# Manage with `trackway keys create|list|revoke`.\n\n{}",
        toml::to_string(file)?
    );
    let tmp = path.with_extension("toml.tmp");
    std::fs::write(&tmp, text)?;
    std::fs::rename(&tmp, path)?;
    Ok(())
}

/// Create a key for `org` with `scope`; returns the key (to show once) and its entry.
pub fn create_key(
    data_dir: &Path,
    org: &str,
    scope: Scope,
    name: &str,
) -> anyhow::Result<(String, KeyEntry)> {
    let mut secret = [0u8; 32];
    getrandom::fill(&mut secret).map_err(|e| anyhow::anyhow!("no randomness: {e}"))?;
    let key = format!(
        "tw_{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(secret)
    );
    let digest = hash(&key);
    let entry = KeyEntry {
        id: format!("k_{}", &digest[..12]),
        org: org.to_owned(),
        scope,
        name: name.to_owned(),
        sha256: digest,
        created: crate::http::inventory::rfc3339(crate::executor::pipeline::now_ms()),
    };
    let path = keys_path(data_dir);
    let mut file = read_keys(&path)?;
    file.keys.push(entry.clone());
    write_keys(&path, &file)?;
    Ok((key, entry))
}

/// Every stored key.
pub fn list_keys(data_dir: &Path) -> anyhow::Result<Vec<KeyEntry>> {
    Ok(read_keys(&keys_path(data_dir))?.keys)
}

/// Remove key `id`; `false` if there was none.
pub fn revoke_key(data_dir: &Path, id: &str) -> anyhow::Result<bool> {
    let path = keys_path(data_dir);
    let mut file = read_keys(&path)?;
    let before = file.keys.len();
    file.keys.retain(|k| k.id != id);
    let removed = file.keys.len() != before;
    if removed {
        write_keys(&path, &file)?;
    }
    Ok(removed)
}

/// Per-org settings from `pipelines/orgs.toml`.
#[derive(Debug, Default, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct OrgSettings {
    /// No key needed for this org's routes (local demos only).
    #[serde(default)]
    pub open: bool,
}

#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
struct OrgsFile {
    #[serde(default)]
    orgs: BTreeMap<String, OrgSettings>,
}

/// The org settings file of a pipelines directory.
pub fn orgs_path(pipelines_dir: &Path) -> PathBuf {
    pipelines_dir.join("orgs.toml")
}

/// Orgs with settings in `pipelines_dir/orgs.toml` (none if the file does not exist).
pub fn read_orgs(pipelines_dir: &Path) -> anyhow::Result<BTreeMap<String, OrgSettings>> {
    let path = orgs_path(pipelines_dir);
    match std::fs::read_to_string(&path) {
        Ok(text) => Ok(toml::from_str::<OrgsFile>(&text)
            .with_context(|| format!("invalid `{}`", path.display()))?
            .orgs),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(BTreeMap::new()),
        Err(e) => Err(e).with_context(|| format!("cannot read `{}`", path.display())),
    }
}

/// Create org `org`: its pipelines directory, and its entry in `orgs.toml`.
pub fn create_org(pipelines_dir: &Path, org: &str, open: bool) -> anyhow::Result<()> {
    org.parse::<trackway_config::OrgId>()
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    std::fs::create_dir_all(pipelines_dir.join(org))?;
    let path = orgs_path(pipelines_dir);
    let mut file = match std::fs::read_to_string(&path) {
        Ok(text) => toml::from_str::<OrgsFile>(&text)?,
        Err(_) => OrgsFile::default(),
    };
    file.orgs.insert(org.to_owned(), OrgSettings { open });
    let text = format!(
        "# Organisations and their access settings. `open = true`: no API key needed (local demos\n# only). Every directory here is an org; an org not listed requires keys.\n\n{}",
        toml::to_string(&file)?
    );
    std::fs::write(path, text)?;
    Ok(())
}

/// The key file as last read: its (mtime, length) when read, and its keys by hash.
type LoadedKeys = (Option<(SystemTime, u64)>, HashMap<String, KeyEntry>);

/// Everything needed to authorise requests.
pub struct Access {
    /// Every org.
    pub orgs: BTreeSet<String>,
    /// Orgs that need no key.
    pub open: BTreeSet<String>,
    keys_path: PathBuf,
    keys: RwLock<LoadedKeys>,
}

/// The org a request acts on, once authorised.
#[derive(Debug, Clone)]
pub struct Caller {
    /// The org.
    pub org: String,
}

impl Access {
    /// Access control over `orgs`, `open` ones, and the keys of `data_dir`.
    pub fn new(orgs: BTreeSet<String>, open: BTreeSet<String>, data_dir: &Path) -> Self {
        Self {
            orgs,
            open,
            keys_path: keys_path(data_dir),
            keys: RwLock::default(),
        }
    }

    fn lookup(&self, key: &str) -> Result<Option<KeyEntry>, ApiError> {
        // The file's (mtime, length) says whether it changed since it was last read.
        let mtime = std::fs::metadata(&self.keys_path)
            .and_then(|m| Ok((m.modified()?, m.len())))
            .ok();
        let fresh = self
            .keys
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .0
            == mtime;
        if !fresh {
            let file = read_keys(&self.keys_path).map_err(ApiError::internal)?;
            let map = file
                .keys
                .into_iter()
                .map(|k| (k.sha256.clone(), k))
                .collect();
            *self
                .keys
                .write()
                .unwrap_or_else(std::sync::PoisonError::into_inner) = (mtime, map);
        }
        Ok(self
            .keys
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .1
            .get(&hash(key))
            .cloned())
    }

    /// The orgs a request may see: the org of its valid key, or, without a key, the open ones.
    pub fn visible_orgs(&self, headers: &axum::http::HeaderMap) -> BTreeSet<String> {
        match request_key(headers) {
            Some(key) => self
                .lookup(key)
                .ok()
                .flatten()
                .map(|entry| BTreeSet::from([entry.org]))
                .unwrap_or_default(),
            None => self.open.clone(),
        }
    }

    /// Authorise a request for `org` (from the path; `None` for seed-compatible routes) that
    /// needs `scope`.
    pub fn authorize(
        &self,
        key: Option<&str>,
        org: Option<&str>,
        scope: Scope,
    ) -> Result<Caller, ApiError> {
        let not_found = |org: &str| ApiError::not_found(format!("unknown org `{org}`"));
        let Some(key) = key else {
            let org = org.unwrap_or("default");
            return if self.open.contains(org) && self.orgs.contains(org) {
                Ok(Caller {
                    org: org.to_owned(),
                })
            } else {
                Err(ApiError::new(
                    StatusCode::UNAUTHORIZED,
                    "unauthorized",
                    "an API key is required: send `X-API-KEY: <key>` or `Authorization: Bearer <key>`",
                ))
            };
        };
        let Some(entry) = self.lookup(key)? else {
            return Err(ApiError::new(
                StatusCode::UNAUTHORIZED,
                "unauthorized",
                "invalid API key",
            ));
        };
        if let Some(org) = org
            && (org != entry.org || !self.orgs.contains(org))
        {
            return Err(not_found(org));
        }
        if !self.orgs.contains(&entry.org) {
            return Err(not_found(&entry.org));
        }
        if entry.scope < scope {
            return Err(ApiError::new(
                StatusCode::FORBIDDEN,
                "forbidden",
                format!(
                    "this key has scope `{}`; this route needs `{}`",
                    entry.scope.as_str(),
                    scope.as_str()
                ),
            ));
        }
        Ok(Caller { org: entry.org })
    }
}

/// The API key of a request, from `X-API-KEY` or `Authorization: Bearer`.
fn request_key(headers: &axum::http::HeaderMap) -> Option<&str> {
    headers
        .get("x-api-key")
        .and_then(|v| v.to_str().ok())
        .or_else(|| {
            headers
                .get(axum::http::header::AUTHORIZATION)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.strip_prefix("Bearer "))
        })
        .map(str::trim)
}

async fn extract(
    parts: &mut Parts,
    state: &std::sync::Arc<AppState>,
    scope: Scope,
) -> Result<Caller, ApiError> {
    let params = PathParams::<HashMap<String, String>>::from_request_parts(parts, state)
        .await
        .map(|p| p.0)
        .unwrap_or_default();
    state.access.authorize(
        request_key(&parts.headers),
        params.get("org").map(String::as_str),
        scope,
    )
}

/// An authorised caller with at least read access (to the `{org}` of the path, if any).
pub struct Read(pub Caller);
/// An authorised caller with at least write access.
pub struct Write(pub Caller);
/// An authorised caller with admin access (replaying dead letters).
pub struct Admin(pub Caller);

impl FromRequestParts<std::sync::Arc<AppState>> for Admin {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &std::sync::Arc<AppState>,
    ) -> Result<Self, ApiError> {
        extract(parts, state, Scope::Admin).await.map(Admin)
    }
}

impl FromRequestParts<std::sync::Arc<AppState>> for Read {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &std::sync::Arc<AppState>,
    ) -> Result<Self, ApiError> {
        extract(parts, state, Scope::Read).await.map(Read)
    }
}

impl FromRequestParts<std::sync::Arc<AppState>> for Write {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &std::sync::Arc<AppState>,
    ) -> Result<Self, ApiError> {
        extract(parts, state, Scope::Write).await.map(Write)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_hashed_scoped_and_org_bound() {
        let dir = tempfile::tempdir().unwrap();
        let (read, _) = create_key(dir.path(), "acme", Scope::Read, "ci").unwrap();
        let (write, entry) = create_key(dir.path(), "acme", Scope::Write, "").unwrap();
        let (other, _) = create_key(dir.path(), "umbrella", Scope::Admin, "").unwrap();
        let text = std::fs::read_to_string(keys_path(dir.path())).unwrap();
        assert!(!text.contains(&read) && !text.contains(&write) && text.contains(&entry.sha256));

        let orgs: BTreeSet<String> = ["acme", "umbrella", "default"].map(String::from).into();
        let access = Access::new(orgs, ["default".to_owned()].into(), dir.path());
        let status =
            |r: Result<Caller, ApiError>| r.map(|c| c.org).map_err(|e| e.status().as_u16());
        assert_eq!(
            status(access.authorize(Some(&write), Some("acme"), Scope::Write)),
            Ok("acme".into())
        );
        assert_eq!(
            status(access.authorize(Some(&read), Some("acme"), Scope::Read)),
            Ok("acme".into())
        );
        assert_eq!(
            status(access.authorize(Some(&read), Some("acme"), Scope::Write)),
            Err(403)
        );
        assert_eq!(
            status(access.authorize(Some(&other), Some("acme"), Scope::Read)),
            Err(404)
        );
        assert_eq!(
            status(access.authorize(Some("tw_nope"), Some("acme"), Scope::Read)),
            Err(401)
        );
        assert_eq!(
            status(access.authorize(None, Some("acme"), Scope::Read)),
            Err(401)
        );
        assert_eq!(
            status(access.authorize(None, None, Scope::Write)),
            Ok("default".into())
        );
        assert_eq!(
            status(access.authorize(Some(&write), None, Scope::Write)),
            Ok("acme".into())
        );
        assert!(revoke_key(dir.path(), &entry.id).unwrap());
        assert_eq!(
            status(access.authorize(Some(&write), Some("acme"), Scope::Read)),
            Err(401)
        );
    }
}
