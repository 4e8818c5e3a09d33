//! `redis`: RPUSH (plain, or once per id) and PUBLISH on granted servers, one reconnecting
//! connection per server.

use std::collections::HashMap;
use std::sync::{LazyLock, Mutex};
use std::time::Duration;

use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::{IntoConnectionInfo, RedisError, RetryMethod, Script};

use super::{budget, dry_run, granted, permanent, redact, retryable, within};
use crate::bindings::{redis as wit, types};
use crate::host::HostState;

/// Connecting, and waiting for one answer: a Redis on the same network answers in
/// milliseconds, so two seconds without one means it is down, not slow.
const TIMEOUT: Duration = Duration::from_secs(2);

/// `rpush-once`: KEYS[1] is the list, KEYS[2..] one marker per item; ARGV[1] the window in
/// seconds, ARGV[2..] the values. The type is checked first because a script is not rolled
/// back: a WRONGTYPE after the first marker would leave an id remembered but never pushed.
static RPUSH_ONCE: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
local kind = redis.call('TYPE', KEYS[1]).ok
if kind ~= 'list' and kind ~= 'none' then
  return redis.error_reply('WRONGTYPE Operation against a key holding the wrong kind of value')
end
local pushed = 0
for i = 2, #KEYS do
  if redis.call('EXISTS', KEYS[i]) == 0 then
    redis.call('RPUSH', KEYS[1], ARGV[i])
    redis.call('SET', KEYS[i], '1', 'EX', ARGV[1])
    pushed = pushed + 1
  end
end
return pushed
",
    )
});

/// One connection manager per server (normalised target).
#[derive(Default)]
pub(super) struct Pools {
    managers: Mutex<HashMap<String, ConnectionManager>>,
}

impl Pools {
    /// The connection to `target`, created (lazily: it connects on first use) if there is none.
    fn connection(&self, target: &str) -> Result<ConnectionManager, types::Error> {
        let key = normalise(target);
        let mut managers = self
            .managers
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(manager) = managers.get(&key) {
            return Ok(manager.clone());
        }
        let client = redis::Client::open(target)
            .map_err(|e| permanent(format!("invalid redis target `{}`: {e}", redact(target))))?;
        // Reconnection is retried by the next call, not by the manager in the background: the
        // sink's backoff already spaces the attempts out.
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(TIMEOUT))
            .set_response_timeout(Some(TIMEOUT))
            .set_number_of_retries(1);
        let manager = ConnectionManager::new_lazy_with_config(client, config)
            .map_err(|e| classify(&e, target))?;
        managers.insert(key, manager.clone());
        Ok(manager)
    }

    pub(super) async fn probe(&self, target: &str) -> Result<(), String> {
        let mut connection = self.connection(target).map_err(message)?;
        redis::cmd("PING")
            .query_async::<String>(&mut connection)
            .await
            .map(drop)
            .map_err(|e| message(classify(&e, target)))
    }
}

fn message(error: types::Error) -> String {
    match error {
        types::Error::Retryable(r) => r.message,
        types::Error::Permanent(m) => m,
        types::Error::InvalidConfig(_) => "invalid configuration".into(),
    }
}

/// `target` as `redis://host:port/db`, so that `redis://h` and `redis://h:6379/0` are one server.
/// Credentials are left out: they do not make another server.
fn normalise(target: &str) -> String {
    match target.into_connection_info() {
        Ok(info) => format!("redis://{}/{}", info.addr(), info.redis_settings().db()),
        Err(_) => target.to_owned(),
    }
}

/// A server that cannot be reached, or stopped answering, is worth retrying; anything the
/// server itself refused (wrong type, no permission) is not.
fn classify(error: &RedisError, target: &str) -> types::Error {
    let text = format!("redis `{}`: {error}", redact(target));
    match error.retry_method() {
        RetryMethod::NoRetry if !error.is_io_error() && !error.is_timeout() => permanent(text),
        _ => retryable(text),
    }
}

impl HostState {
    fn redis_target(&self, target: Option<&str>) -> Result<String, types::Error> {
        granted(&self.grants, "redis", target, normalise).map(str::to_owned)
    }

    async fn redis_command<T: redis::FromRedisValue>(
        &mut self,
        target: Option<String>,
        command: Command<'_>,
        what: &str,
    ) -> Result<T, types::Error> {
        if self.dry {
            return Err(dry_run(what));
        }
        let target = self.redis_target(target.as_deref())?;
        let mut connection = self.connections.redis.connection(&target)?;
        within(budget(self.deadline), what, async {
            match command {
                Command::Plain(command) => command.query_async::<T>(&mut connection).await,
                Command::Script(invocation) => invocation.invoke_async::<T>(&mut connection).await,
            }
            .map_err(|e| classify(&e, &target))
        })
        .await
    }
}

/// What [`HostState::redis_command`] sends.
enum Command<'a> {
    Plain(redis::Cmd),
    /// EVALSHA, loading the script first if the server does not know it (after a restart).
    Script(redis::ScriptInvocation<'a>),
}

/// The key that remembers `id` was pushed to `key`; the braces put it in `key`'s cluster slot,
/// which a script touching both needs.
fn pushed_marker(key: &str, id: &str) -> String {
    format!("trackway:{{{key}}}:pushed:{id}")
}

impl wit::Host for HostState {
    async fn resolve(&mut self, target: Option<String>) -> Result<String, types::Error> {
        self.redis_target(target.as_deref())
            .map(|t| redact(&normalise(&t)))
    }

    async fn rpush(
        &mut self,
        target: Option<String>,
        key: String,
        values: Vec<String>,
    ) -> Result<u64, types::Error> {
        if values.is_empty() {
            return Err(permanent("RPUSH needs at least one value"));
        }
        let mut command = redis::cmd("RPUSH");
        command.arg(&key).arg(&values);
        self.redis_command(target, Command::Plain(command), "redis RPUSH")
            .await
    }

    async fn rpush_once(
        &mut self,
        target: Option<String>,
        key: String,
        items: Vec<wit::KeyedValue>,
        window_seconds: u32,
    ) -> Result<u64, types::Error> {
        if items.is_empty() {
            return Err(permanent("RPUSH needs at least one value"));
        }
        if window_seconds == 0 {
            return Err(permanent(
                "the window of rpush-once must be at least a second",
            ));
        }
        let mut invocation = RPUSH_ONCE.key(&key);
        invocation.arg(window_seconds);
        for item in &items {
            invocation
                .key(pushed_marker(&key, &item.id))
                .arg(&item.value);
        }
        self.redis_command(target, Command::Script(invocation), "redis RPUSH")
            .await
    }

    async fn publish(
        &mut self,
        target: Option<String>,
        channel: String,
        message: String,
    ) -> Result<u64, types::Error> {
        let mut command = redis::cmd("PUBLISH");
        command.arg(&channel).arg(&message);
        self.redis_command(target, Command::Plain(command), "redis PUBLISH")
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_server_has_one_name() {
        assert_eq!(normalise("redis://127.0.0.1"), "redis://127.0.0.1:6379/0");
        assert_eq!(
            normalise("redis://:pw@127.0.0.1:6379/0"),
            "redis://127.0.0.1:6379/0"
        );
        assert_ne!(
            normalise("redis://127.0.0.1/1"),
            normalise("redis://127.0.0.1/2")
        );
    }
}
