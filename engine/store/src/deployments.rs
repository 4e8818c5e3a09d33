//! The deployment-tracker projection: deployments and the servers they ran on, kept from the
//! `deployment.*` and `server.*` events the deployment API appends, in the same transaction.
//! Lists read newest first by an order number assigned when a deployment (or a server of a
//! deployment) is first recorded, so offset pagination is stable while new ones arrive.

use redb::{ReadableDatabase, ReadableTable};
use serde::{Deserialize, Serialize};

use crate::Store;
use crate::error::Result;
use crate::inventory::decode;
use crate::tables;

/// A deployment as the deployment-tracker API shows it.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Deployment {
    /// The id given by the client (the path of `POST /v1/deployments/{id}`).
    pub deployment_id: String,
    /// The deployment engine, e.g. `vagrant_orchestrate`.
    pub engine: Option<String>,
    /// Its version.
    pub engine_version: Option<String>,
    /// The host the deployment ran from.
    pub host: Option<String>,
    /// Who started it.
    pub user: Option<String>,
    /// The target environment, e.g. `prod`.
    pub environment: Option<String>,
    /// What was deployed.
    pub package: Option<String>,
    /// Where the package came from.
    pub package_url: Option<String>,
    /// Which version of it.
    pub version: Option<String>,
    /// The engine's arguments.
    pub arguments: Option<String>,
    /// `success` or `failure`, once finished.
    pub result: Option<String>,
    /// How long it took, once finished.
    pub elapsed_seconds: Option<f64>,
    /// When it was first recorded (ms since epoch).
    pub created_ms: u64,
    /// When it was last changed (ms since epoch).
    pub updated_ms: u64,
    /// Position in the org's list (assigned by the store; newest has the highest).
    pub order: u64,
}

/// One server of a deployment.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Server {
    /// The deployment.
    pub deployment_id: String,
    /// The server's host name.
    pub hostname: String,
    /// Its address.
    pub ip_address: Option<String>,
    /// `success` or `failure`, once finished.
    pub result: Option<String>,
    /// How long it took, once finished.
    pub elapsed_seconds: Option<f64>,
    /// When it was first recorded (ms since epoch).
    pub created_ms: u64,
    /// When it was last changed (ms since epoch).
    pub updated_ms: u64,
    /// Position among the servers of the org (assigned by the store; newest is the highest).
    pub order: u64,
}

impl Store {
    /// Deployment `id` of `org`, with its servers (by host name).
    pub fn deployment(&self, org: &str, id: &str) -> Result<Option<(Deployment, Vec<Server>)>> {
        let txn = self.db.begin_read()?;
        let table = txn.open_table(tables::DEPLOYMENTS)?;
        let Some(value) = table.get((org, id))? else {
            return Ok(None);
        };
        let deployment: Deployment = decode(value.value(), "deployment")?;
        let servers = servers_of(&txn.open_table(tables::SERVERS)?, org, id)?;
        Ok(Some((deployment, servers)))
    }

    /// Up to `limit` deployments of `org` after skipping the `offset` newest, newest first, each
    /// with its servers.
    pub fn deployments(
        &self,
        org: &str,
        offset: usize,
        limit: usize,
    ) -> Result<Vec<(Deployment, Vec<Server>)>> {
        let txn = self.db.begin_read()?;
        let order = txn.open_table(tables::DEPLOYMENT_ORDER)?;
        let deployments = txn.open_table(tables::DEPLOYMENTS)?;
        let servers = txn.open_table(tables::SERVERS)?;
        let mut out = Vec::new();
        for entry in order
            .range((org, 0)..=(org, u64::MAX))?
            .rev()
            .skip(offset)
            .take(limit)
        {
            let (_, id) = entry?;
            let id = id.value();
            let Some(value) = deployments.get((org, id))? else {
                continue;
            };
            out.push((
                decode(value.value(), "deployment")?,
                servers_of(&servers, org, id)?,
            ));
        }
        Ok(out)
    }

    /// Host names of `org`'s servers, in descending order (as the seed listed them), after
    /// skipping `offset`.
    pub fn hostnames(&self, org: &str, offset: usize, limit: usize) -> Result<Vec<String>> {
        let txn = self.db.begin_read()?;
        let table = txn.open_table(tables::HOSTNAMES)?;
        let mut out = Vec::new();
        for entry in table
            .range((org, "")..=(org, crate::inventory::MAX_STR))?
            .rev()
            .skip(offset)
            .take(limit)
        {
            out.push(entry?.0.value().1.to_owned());
        }
        Ok(out)
    }

    /// The deployments that ran on server `hostname` of `org`, as that server's rows, newest
    /// first, after skipping `offset`.
    pub fn servers_by_host(
        &self,
        org: &str,
        hostname: &str,
        offset: usize,
        limit: usize,
    ) -> Result<Vec<Server>> {
        let txn = self.db.begin_read()?;
        let index = txn.open_table(tables::HOST_DEPLOYMENTS)?;
        let servers = txn.open_table(tables::SERVERS)?;
        let mut out = Vec::new();
        for entry in index
            .range((org, hostname, 0)..=(org, hostname, u64::MAX))?
            .rev()
            .skip(offset)
            .take(limit)
        {
            let (_, id) = entry?;
            if let Some(value) = servers.get((org, id.value(), hostname))? {
                out.push(decode(value.value(), "server")?);
            }
        }
        Ok(out)
    }
}

fn servers_of(
    table: &impl ReadableTable<(&'static str, &'static str, &'static str), &'static [u8]>,
    org: &str,
    id: &str,
) -> Result<Vec<Server>> {
    let mut out = Vec::new();
    for entry in table.range((org, id, "")..=(org, id, crate::inventory::MAX_STR))? {
        out.push(decode(entry?.1.value(), "server")?);
    }
    Ok(out)
}
