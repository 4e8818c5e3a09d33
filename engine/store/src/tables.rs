//! Every redb table of trackway, in one place. Names carry a version suffix: a change of key or
//! value encoding gets a new name (and a migration), never a silent reinterpretation.

use redb::TableDefinition;

/// The event log: log sequence number -> encoded [`crate::Event`].
pub const EVENTS: TableDefinition<u64, &[u8]> = TableDefinition::new("events_v1");
/// Client-supplied event id (ULID as u128) -> log sequence number: a retry with the same id
/// appends nothing.
pub const EVENT_IDS: TableDefinition<u128, u64> = TableDefinition::new("event_ids_v1");
/// (org, idempotency key) -> request fingerprint (16 bytes) followed by the ids (16 bytes each).
pub const IDEMPOTENCY: TableDefinition<(&str, &str), &[u8]> =
    TableDefinition::new("idempotency_v1");
/// Consumer name (`org/pipeline`) -> last processed log sequence number.
pub const CURSORS: TableDefinition<&str, u64> = TableDefinition::new("cursors_v1");
/// (stage scope `org/pipeline/stage`, key) -> value written by the plugin through `state`.
pub const STATE: TableDefinition<(&str, &str), &[u8]> = TableDefinition::new("state_v1");
/// (sink scope `org/pipeline/sink`, outbox sequence number) -> encoded event awaiting delivery.
pub const OUTBOX: TableDefinition<(&str, u64), &[u8]> = TableDefinition::new("outbox_v1");
/// Dead-letter id (a monotonic ULID, so the table reads in failure order) -> encoded
/// [`crate::DeadLetter`].
pub const DLQ: TableDefinition<u128, &[u8]> = TableDefinition::new("dlq_v1");
/// (history stream `org/stream`, event id) -> encoded event, or the event's log sequence number
/// (8 bytes, big-endian; an encoded event is always longer) when the event is in the log as it
/// is (a pipeline's output appended in the same commit): the log is never trimmed, so the
/// reference stays valid, and such an entry costs 8 bytes instead of a second copy. Ids sort by
/// time (ULIDs), so a stream reads newest first in reverse, and appending an event again hits
/// the same key (replays never duplicate).
pub const HISTORY: TableDefinition<(&str, u128), &[u8]> = TableDefinition::new("history_v2");
/// The first layout of history, (stream, history sequence number) -> encoded event, with an id
/// index; migrated into [`HISTORY`] when a database is opened, then deleted.
pub const HISTORY_V1: TableDefinition<(&str, u64), &[u8]> = TableDefinition::new("history_v1");
/// The id index of [`HISTORY_V1`], deleted with it.
pub const HISTORY_IDS_V1: TableDefinition<(&str, u128), u64> =
    TableDefinition::new("history_ids_v1");
/// Counters: `log_seq`, `outbox_seq`, `inventory_series`, `task_id`, `ack_id`, `deployment_seq`,
/// `server_seq` (the last number handed out).
pub const COUNTERS: TableDefinition<&str, u64> = TableDefinition::new("counters_v1");
/// Inventory: (org, env, app) -> encoded [`crate::inventory::Current`] (which also names the
/// app's history series in that environment).
pub const INV_CURRENT: TableDefinition<(&str, &str, &str), &[u8]> =
    TableDefinition::new("inventory_current_v1");
/// Inventory history: (series, event id) -> encoded [`crate::inventory::Entry`]. A series is one
/// (org, env, app); ULIDs sort by time, so a series reads newest first in reverse, and recording
/// the same event again hits the same key (replays never duplicate). The compact key is what
/// keeps 260,000 reports under the SVT seed's 46 MB (BENCHMARKS.md).
pub const INV_HISTORY: TableDefinition<(u32, u128), &[u8]> =
    TableDefinition::new("inventory_history_v1");
/// Index for "one app across environments": (org, app, env) -> nothing.
pub const INV_BY_APP: TableDefinition<(&str, &str, &str), ()> =
    TableDefinition::new("inventory_by_app_v1");
/// Scheduled-job tasks: (org, task id) -> encoded [`crate::tasks::Task`].
pub const TASKS: TableDefinition<(&str, u64), &[u8]> = TableDefinition::new("tasks_v1");
/// Task names: (org, name) -> task id; names are unique per org.
pub const TASK_NAMES: TableDefinition<(&str, &str), u64> = TableDefinition::new("task_names_v1");
/// Acks: (org, task id, time in ms, ack id) -> 1 if the run succeeded, 0 if it reported a failure.
pub const ACKS: TableDefinition<(&str, u64, u64, u64), u8> = TableDefinition::new("acks_v1");
/// Last status the scheduler recorded per task: (org, task id) -> `OK` | `ERROR` | `INSUFFICIENT`.
pub const TASK_STATUS: TableDefinition<(&str, u64), &str> = TableDefinition::new("task_status_v1");
/// Deployments: (org, deployment id) -> encoded [`crate::deployments::Deployment`].
pub const DEPLOYMENTS: TableDefinition<(&str, &str), &[u8]> =
    TableDefinition::new("deployments_v1");
/// Deployments newest first: (org, order number) -> deployment id.
pub const DEPLOYMENT_ORDER: TableDefinition<(&str, u64), &str> =
    TableDefinition::new("deployment_order_v1");
/// Servers of deployments: (org, deployment id, host name) -> encoded
/// [`crate::deployments::Server`].
pub const SERVERS: TableDefinition<(&str, &str, &str), &[u8]> = TableDefinition::new("servers_v1");
/// Deployments per server, newest first: (org, host name, server order number) -> deployment id.
pub const HOST_DEPLOYMENTS: TableDefinition<(&str, &str, u64), &str> =
    TableDefinition::new("host_deployments_v1");
/// Every host name of an org's servers: (org, host name) -> how many deployments ran there.
pub const HOSTNAMES: TableDefinition<(&str, &str), u64> = TableDefinition::new("hostnames_v1");
