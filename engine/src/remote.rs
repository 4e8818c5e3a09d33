//! The commands that talk to a running trackway through its HTTP API (`trackway-client`):
//! `trackway track <TASK>` and `trackway tasks list|status`, the scheduled-job commands run on a
//! job's host (the first is the seed's `API_KEY='...' tracker track $TASK_ID`), and
//! `trackway dlq list|replay` for the dead letters of an org.
//!
//! They keep no local state and need no data or pipelines directory. They do not own the routes
//! (`http/tasks.rs`) nor the evaluation rules (the `tolerance` plugin).
//!
//! # Exit codes
//!
//! A job script can tell "try again later" from "fix something":
//!
//! - `0`: done; the ack id, the table or the task is on stdout.
//! - `1`: trackway could not be reached (connection refused, name not resolved, timed out), or
//!   answered something this client cannot read. Retrying later may help.
//! - `2`: trackway refused the request (any error answer: no such task id, missing or invalid
//!   key, too small a scope, an invalid `--at`), no task has the name given to `tasks status`,
//!   or `--url` or the key is malformed. Retrying will not help; clap's usage errors are `2` too.
//!
//! A failure is one line on stderr, e.g.
//! `error: trackway answered 404 not_found: no task with id 42`.

use std::process::ExitCode;

use trackway_client::{Client, DeadLetter, Error, TaskDetail, TaskId, TaskRef, TaskStatus};

/// Where trackway is, and the key to act with.
#[derive(Debug, clap::Args)]
pub struct Remote {
    /// trackway's base URL (plain http).
    #[arg(
        long,
        env = "TRACKWAY_URL",
        default_value = "http://127.0.0.1:8080",
        global = true
    )]
    url: String,
    /// API key, sent as `X-API-KEY`; not needed for an open org. Prefer the environment
    /// variable: command lines are visible to other users of the host.
    #[arg(long, env = "API_KEY", hide_env_values = true, global = true)]
    api_key: Option<String>,
}

/// `trackway tasks ...`.
#[derive(Debug, clap::Subcommand)]
pub enum TasksAction {
    /// Every task of the key's org, evaluated: id, name, status, count/expected, last backup.
    List {
        /// Evaluate as of this instant (RFC 3339, e.g. `2026-11-20T12:00:00Z`) instead of now.
        #[arg(long)]
        at: Option<String>,
    },
    /// One task, by id (digits only) or name: its evaluation, rule and recent acks.
    Status {
        /// The task's id or name.
        task: String,
        /// Evaluate as of this instant (RFC 3339) instead of now.
        #[arg(long)]
        at: Option<String>,
    },
}

/// `trackway dlq ...`.
#[derive(Debug, clap::Subcommand)]
pub enum DlqAction {
    /// The dead letters of the org, oldest first: id, pipeline/stage, attempts, event, error.
    List {
        /// The org.
        #[arg(long, default_value = "default")]
        org: String,
    },
    /// Send dead letters back to the stage they failed at (needs an `admin` key).
    Replay {
        /// The dead letter's id; every dead letter of the org when left out.
        id: Option<String>,
        /// The org.
        #[arg(long, default_value = "default")]
        org: String,
    },
}

/// `trackway dlq list|replay`.
pub async fn dlq(action: DlqAction, remote: &Remote) -> ExitCode {
    finish(remote, async {
        let client = client(remote)?;
        match action {
            DlqAction::List { org } => print!("{}", letters(&client.dead_letters(&org).await?)),
            DlqAction::Replay { id, org } => {
                let replayed = client.replay(&org, id.as_deref()).await?;
                eprintln!("replayed {} dead letter(s)", replayed.len());
                for id in replayed {
                    println!("{id}");
                }
            }
        }
        Ok(())
    })
    .await
}

/// Dead letters as aligned columns under a header.
fn letters(letters: &[DeadLetter]) -> String {
    let header = ["ID", "STAGE", "ATTEMPTS", "EVENT", "ERROR"].map(String::from);
    let rows = std::iter::once(header).chain(letters.iter().map(|l| {
        let event = format!(
            "{} {}",
            l.event["kind"].as_str().unwrap_or_default(),
            l.event["subject"].as_str().unwrap_or_default()
        );
        [
            l.id.clone(),
            format!("{}/{}", l.pipeline, l.stage),
            l.attempts.to_string(),
            printable(&event),
            printable(&l.error),
        ]
    }));
    columns(rows.collect())
}

/// Why a command failed.
enum Failure {
    Client(Error),
    /// `tasks status <NAME>` found no task of that name.
    NoTaskNamed(String),
}

impl From<Error> for Failure {
    fn from(error: Error) -> Self {
        Failure::Client(error)
    }
}

/// `trackway track <TASK>`: record one run of `task` (an id if all digits, else a name, which
/// creates the task on its first run) and print the ack's id.
pub async fn track(task: &str, remote: &Remote) -> ExitCode {
    let task = TaskRef::parse(task);
    finish(remote, async {
        let ack = client(remote)?.track(&task).await?;
        println!("{ack}");
        Ok(())
    })
    .await
}

/// `trackway tasks list|status`.
pub async fn tasks(action: TasksAction, remote: &Remote) -> ExitCode {
    finish(remote, async {
        let client = client(remote)?;
        match action {
            TasksAction::List { at } => {
                print!("{}", table(&client.tasks(at.as_deref()).await?));
            }
            TasksAction::Status { task, at } => {
                let id = match TaskRef::parse(&task) {
                    TaskRef::Id(id) => TaskId(id),
                    TaskRef::Name(name) => client
                        .tasks(at.as_deref())
                        .await?
                        .into_iter()
                        .find(|t| t.name == name)
                        .map(|t| t.id)
                        .ok_or(Failure::NoTaskNamed(name))?,
                };
                print!("{}", detail(&client.task(id, at.as_deref()).await?));
            }
        }
        Ok(())
    })
    .await
}

fn client(remote: &Remote) -> Result<Client, Error> {
    // An empty key (`API_KEY=`) means none, as an unset variable does.
    let key = remote.api_key.clone().filter(|k| !k.is_empty());
    Client::new(&remote.url, key)
}

/// Run `command`; on failure print one line on stderr and pick the exit code (see the module
/// docs).
async fn finish(remote: &Remote, command: impl Future<Output = Result<(), Failure>>) -> ExitCode {
    let error = match command.await {
        Ok(()) => return ExitCode::SUCCESS,
        Err(Failure::NoTaskNamed(name)) => {
            eprintln!("error: no task named `{name}` (see `trackway tasks list`)");
            return ExitCode::from(2);
        }
        Err(Failure::Client(error)) => error,
    };
    let hint = match error.status() {
        Some(401) if remote.api_key.as_deref().is_none_or(str::is_empty) => {
            " (set API_KEY or pass --api-key)"
        }
        _ => "",
    };
    eprintln!("error: {error}{hint}");
    match error {
        Error::Transport(_) | Error::Decode { .. } => ExitCode::FAILURE,
        _ => ExitCode::from(2),
    }
}

/// `name`, quoted and escaped if it holds control characters (a newline would break a table).
fn printable(name: &str) -> String {
    if name.chars().any(char::is_control) {
        format!("{name:?}")
    } else {
        name.to_owned()
    }
}

/// The task list as aligned columns under a header.
fn table(tasks: &[TaskStatus]) -> String {
    let header = ["ID", "NAME", "STATUS", "COUNT", "LAST BACKUP"].map(String::from);
    let rows = std::iter::once(header).chain(tasks.iter().map(|t| {
        [
            t.id.to_string(),
            printable(&t.name),
            t.status.to_string(),
            format!("{}/{}", t.count, t.expected),
            t.last_backup.clone().unwrap_or_else(|| "-".into()),
        ]
    }));
    columns(rows.collect())
}

/// `rows` as left-aligned columns two spaces apart (the last column unpadded).
fn columns<const N: usize>(rows: Vec<[String; N]>) -> String {
    let widths: Vec<usize> = (0..N)
        .map(|c| rows.iter().map(|r| r[c].chars().count()).max().unwrap_or(0))
        .collect();
    let mut out = String::new();
    for row in &rows {
        let mut line = String::new();
        for (c, cell) in row.iter().enumerate() {
            if c + 1 == N {
                line.push_str(cell);
            } else {
                line.push_str(&format!("{cell:<width$}  ", width = widths[c]));
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

/// One task as `label  value` lines, then its acks.
fn detail(detail: &TaskDetail) -> String {
    let t = &detail.task;
    let mut rule = format!("{} datapoints, tolerance {}", t.datapoints, t.tolerance);
    for key in ["mode", "timezone"] {
        if let Some(value) = detail.settings[key].as_str() {
            rule.push_str(&format!(", {key} {value}"));
        }
    }
    let mut out = String::new();
    for (label, value) in [
        ("id", t.id.to_string()),
        ("name", printable(&t.name)),
        ("status", t.status.to_string()),
        ("count", format!("{}/{}", t.count, t.expected)),
        ("ready", if t.is_ready { "yes" } else { "no" }.into()),
        (
            "last backup",
            t.last_backup.clone().unwrap_or_else(|| "-".into()),
        ),
        ("reason", t.reason.clone().unwrap_or_else(|| "-".into())),
        ("rule", rule),
        ("created", t.created.clone()),
        ("evaluated at", detail.time.clone()),
        ("acks", format!("{} (newest first)", detail.acks.len())),
    ] {
        out.push_str(&format!("{label:<13}{value}\n"));
    }
    let id_width = detail.acks.iter().map(|a| a.id.to_string().len()).max();
    let time_width = detail.acks.iter().map(|a| a.time.chars().count()).max();
    for ack in &detail.acks {
        let ok = if ack.ok { "ok" } else { "failed" };
        out.push_str(&format!(
            "  {:<iw$}  {:<tw$}  {ok}\n",
            ack.id.to_string(),
            ack.time,
            iw = id_width.unwrap_or(0),
            tw = time_width.unwrap_or(0),
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use clap::{CommandFactory as _, Parser as _};
    use trackway_client::Status;

    use super::*;

    #[test]
    fn the_commands_parse_with_url_and_key_anywhere() {
        crate::cli::Cli::command().debug_assert();
        for args in [
            &["trackway", "track", "42", "--url", "http://h:1"][..],
            &[
                "trackway",
                "tasks",
                "--api-key",
                "k",
                "list",
                "--at",
                "2026-01-01T00:00:00Z",
            ],
            &[
                "trackway",
                "tasks",
                "status",
                "nightly",
                "--url",
                "http://h:1",
            ],
        ] {
            assert!(crate::cli::Cli::try_parse_from(args).is_ok(), "{args:?}");
        }
    }

    #[test]
    fn the_table_is_aligned_and_has_no_trailing_spaces() {
        let task = |id, name: &str, last: Option<&str>| TaskStatus {
            id: TaskId(id),
            name: name.into(),
            status: Status::Insufficient,
            count: 1,
            expected: 7,
            is_ready: false,
            last_backup: last.map(String::from),
            reason: None,
            datapoints: 7,
            tolerance: 0,
            created: "2026-11-23T00:00:00Z".into(),
        };
        let text = table(&[
            task(1, "nightly-backup", Some("2026-11-23T03:00:00Z")),
            task(12, "a\nb", None),
        ]);
        assert_eq!(
            text,
            "ID  NAME            STATUS        COUNT  LAST BACKUP\n\
             1   nightly-backup  INSUFFICIENT  1/7    2026-11-23T03:00:00Z\n\
             12  \"a\\nb\"          INSUFFICIENT  1/7    -\n"
        );
    }
}
