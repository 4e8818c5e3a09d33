//! The version inventory: the current version of every app in every environment of an org, and
//! the history of every report (never overwritten; a repeated version is kept as a re-deploy).

use redb::ReadableDatabase;
use serde::{Deserialize, Serialize};
use ulid::Ulid;

use crate::Store;
use crate::error::{Error, Result};
use crate::tables;

/// One version report, as plugins submit it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Report {
    /// Environment.
    pub env: String,
    /// Application (matched exactly).
    pub app: String,
    /// Version as written.
    pub version: String,
    /// When it was reported (ms since epoch).
    pub time_ms: u64,
    /// Which tool reported it.
    pub reporter: String,
    /// Extra fields, a JSON object text.
    pub fields: String,
    /// The bump, when classified.
    pub bump: Option<String>,
    /// The event that carried it.
    pub event_id: Ulid,
}

/// The current version of an app in an environment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Current {
    /// The app's history series in this environment (see [`tables::INV_HISTORY`]).
    pub series: u32,
    /// Version as written.
    pub version: String,
    /// When it was reported (ms since epoch).
    pub time_ms: u64,
    /// Which tool reported it.
    pub reporter: String,
    /// Extra fields, a JSON object text.
    pub fields: String,
}

/// One entry of an app's history in an environment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    /// Version as written.
    pub version: String,
    /// When it was reported (ms since epoch).
    pub time_ms: u64,
    /// Which tool reported it.
    pub reporter: String,
    /// Extra fields, a JSON object text.
    pub fields: String,
    /// The bump, when classified.
    pub bump: Option<String>,
    /// The version was already the current one.
    pub redeploy: bool,
}

pub(crate) fn encode<T: Serialize>(value: &T) -> Vec<u8> {
    postcard::to_stdvec(value).expect("encoding an in-memory record into a Vec cannot fail")
}

pub(crate) fn decode<'a, T: Deserialize<'a>>(bytes: &'a [u8], what: &'static str) -> Result<T> {
    postcard::from_bytes(bytes).map_err(|source| Error::Decode { what, source })
}

/// Upper bound for string key components in range scans: above any valid UTF-8 text that does
/// not itself start with U+10FFFF.
pub(crate) const MAX_STR: &str = "\u{10FFFF}";

/// A page of an app's history in one environment, newest first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HistoryPage {
    /// Entries with the id of the event that carried each, newest first.
    pub items: Vec<(Ulid, Entry)>,
    /// Pass as `before` for the next page.
    pub next_before: Option<Ulid>,
}

impl Store {
    /// Environments of `org` with their number of apps, sorted by name.
    pub fn environments(&self, org: &str) -> Result<Vec<(String, u64)>> {
        let txn = self.db.begin_read()?;
        let table = txn.open_table(tables::INV_CURRENT)?;
        let mut out: Vec<(String, u64)> = Vec::new();
        for entry in table.range((org, "", "")..=(org, MAX_STR, MAX_STR))? {
            let (key, _) = entry?;
            let env = key.value().1;
            match out.last_mut() {
                Some((last, n)) if last == env => *n += 1,
                _ => out.push((env.to_owned(), 1)),
            }
        }
        Ok(out)
    }

    /// The apps of `env` with their current version, sorted by app.
    pub fn apps(&self, org: &str, env: &str) -> Result<Vec<(String, Current)>> {
        let txn = self.db.begin_read()?;
        let table = txn.open_table(tables::INV_CURRENT)?;
        let mut out = Vec::new();
        for entry in table.range((org, env, "")..=(org, env, MAX_STR))? {
            let (key, value) = entry?;
            out.push((
                key.value().2.to_owned(),
                decode(value.value(), "inventory entry")?,
            ));
        }
        Ok(out)
    }

    /// The current version of `app` in `env`.
    pub fn current(&self, org: &str, env: &str, app: &str) -> Result<Option<Current>> {
        let txn = self.db.begin_read()?;
        let table = txn.open_table(tables::INV_CURRENT)?;
        table
            .get((org, env, app))?
            .map(|v| decode(v.value(), "inventory entry"))
            .transpose()
    }

    /// `app` in every environment where it was reported, sorted by environment.
    pub fn app_everywhere(&self, org: &str, app: &str) -> Result<Vec<(String, Current)>> {
        let txn = self.db.begin_read()?;
        let index = txn.open_table(tables::INV_BY_APP)?;
        let current = txn.open_table(tables::INV_CURRENT)?;
        let mut out = Vec::new();
        for entry in index.range((org, app, "")..=(org, app, MAX_STR))? {
            let (key, _) = entry?;
            let env = key.value().2;
            if let Some(value) = current.get((org, env, app))? {
                out.push((env.to_owned(), decode(value.value(), "inventory entry")?));
            }
        }
        Ok(out)
    }

    /// A page of the history of `app` in `env`, newest first, older than event `before`.
    pub fn app_history(
        &self,
        org: &str,
        env: &str,
        app: &str,
        before: Option<Ulid>,
        limit: usize,
    ) -> Result<HistoryPage> {
        let txn = self.db.begin_read()?;
        let Some(current) = txn.open_table(tables::INV_CURRENT)?.get((org, env, app))? else {
            return Ok(HistoryPage {
                items: Vec::new(),
                next_before: None,
            });
        };
        let series = decode::<Current>(current.value(), "inventory entry")?.series;
        let table = txn.open_table(tables::INV_HISTORY)?;
        let upper = before.map_or(u128::MAX, |id| id.0);
        let mut items = Vec::with_capacity(limit.min(1024));
        let mut more = false;
        for entry in table.range((series, 0)..(series, upper))?.rev() {
            let (key, value) = entry?;
            if items.len() == limit {
                more = true;
                break;
            }
            items.push((
                Ulid(key.value().1),
                decode(value.value(), "inventory history entry")?,
            ));
        }
        let next_before = more.then(|| items.last().map(|(id, _)| *id)).flatten();
        Ok(HistoryPage { items, next_before })
    }

    /// Whether the report carried by `event_id` is recorded for `app` in `env`.
    pub fn inventory_has(&self, org: &str, env: &str, app: &str, event_id: Ulid) -> Result<bool> {
        let txn = self.db.begin_read()?;
        let Some(current) = txn.open_table(tables::INV_CURRENT)?.get((org, env, app))? else {
            return Ok(false);
        };
        let series = decode::<Current>(current.value(), "inventory entry")?.series;
        Ok(txn
            .open_table(tables::INV_HISTORY)?
            .get((series, event_id.0))?
            .is_some())
    }
}
