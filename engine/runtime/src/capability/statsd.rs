//! `statsd`: metrics as statsd lines over UDP, one connected socket per granted server.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::UdpSocket;
use tokio::sync::Mutex;

use super::{budget, dry_run, granted, permanent, retryable, within};
use crate::bindings::{statsd as wit, types};
use crate::host::HostState;

/// The largest datagram sent: fits the payload of one Ethernet frame over IPv4 or IPv6 without
/// fragmentation (1500 - 40 - 8 - 20 of headroom), the size statsd clients conventionally use.
const MAX_DATAGRAM: usize = 1432;

/// One socket per server, connected so that an ICMP "port unreachable" from a missing listener
/// comes back as an error on the next send.
#[derive(Default)]
pub(super) struct Sockets {
    sockets: Mutex<HashMap<String, Arc<UdpSocket>>>,
}

impl Sockets {
    async fn socket(&self, target: &str) -> Result<Arc<UdpSocket>, types::Error> {
        let mut sockets = self.sockets.lock().await;
        if let Some(socket) = sockets.get(target) {
            return Ok(socket.clone());
        }
        let socket = Arc::new(connect(target).await?);
        sockets.insert(target.to_owned(), socket.clone());
        Ok(socket)
    }

    /// Forget the socket of `target` (after an error: the next call resolves the name again).
    async fn drop_socket(&self, target: &str) {
        self.sockets.lock().await.remove(target);
    }

    /// A fresh socket sends an empty datagram (statsd ignores it); a listener that is not there
    /// shows as an ICMP error picked up shortly after.
    pub(super) async fn probe(&self, target: &str) -> Result<(), String> {
        let socket = connect(target).await.map_err(|e| format!("{e:?}"))?;
        socket.send(&[]).await.map_err(|e| e.to_string())?;
        tokio::time::sleep(Duration::from_millis(50)).await;
        match socket.take_error() {
            Ok(None) => Ok(()),
            Ok(Some(error)) | Err(error) => Err(error.to_string()),
        }
    }
}

async fn connect(target: &str) -> Result<UdpSocket, types::Error> {
    let unreachable = |e: std::io::Error| retryable(format!("statsd `{target}`: {e}"));
    let address = tokio::net::lookup_host(target)
        .await
        .map_err(unreachable)?
        .next()
        .ok_or_else(|| retryable(format!("statsd `{target}`: the name resolves to nothing")))?;
    let local = if address.is_ipv4() {
        "0.0.0.0:0"
    } else {
        "[::]:0"
    };
    let socket = UdpSocket::bind(local).await.map_err(unreachable)?;
    socket.connect(address).await.map_err(unreachable)?;
    Ok(socket)
}

/// The statsd line of `metric`, or why its name cannot be sent.
fn line(metric: &wit::Metric) -> Result<String, String> {
    let name = &metric.name;
    if name.is_empty()
        || name.split('.').any(str::is_empty)
        || name
            .chars()
            .any(|c| matches!(c, ':' | '|' | '@' | '\n' | '\r') || c.is_whitespace())
    {
        return Err(format!(
            "invalid statsd name `{name}`: dot-separated non-empty segments without `:`, `|`, `@` or white space"
        ));
    }
    if !metric.value.is_finite() {
        return Err(format!("metric `{name}` has no finite value"));
    }
    let kind = match metric.kind {
        wit::MetricKind::Counter => "c",
        wit::MetricKind::Timer => "ms",
        wit::MetricKind::Gauge => "g",
    };
    Ok(format!("{name}:{}|{kind}", metric.value))
}

/// Lines joined by `\n` into datagrams of at most [`MAX_DATAGRAM`] bytes (a longer line alone).
fn datagrams(lines: &[String]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for line in lines {
        match out.last_mut() {
            Some(last) if last.len() + 1 + line.len() <= MAX_DATAGRAM => {
                let _ = write!(last, "\n{line}");
            }
            _ => out.push(line.clone()),
        }
    }
    out
}

impl wit::Host for HostState {
    async fn resolve(&mut self, target: Option<String>) -> Result<String, types::Error> {
        granted(&self.grants, "statsd", target.as_deref(), |t| {
            t.trim().to_owned()
        })
        .map(str::to_owned)
    }

    async fn send(
        &mut self,
        target: Option<String>,
        metrics: Vec<wit::Metric>,
    ) -> Result<(), types::Error> {
        if self.dry {
            return Err(dry_run("statsd"));
        }
        let target = granted(&self.grants, "statsd", target.as_deref(), |t| {
            t.trim().to_owned()
        })?
        .to_owned();
        let lines = metrics
            .iter()
            .map(line)
            .collect::<Result<Vec<_>, _>>()
            .map_err(permanent)?;
        let connections = self.connections.clone();
        within(budget(self.deadline), "statsd send", async {
            let socket = connections.statsd.socket(&target).await?;
            for datagram in datagrams(&lines) {
                if let Err(error) = socket.send(datagram.as_bytes()).await {
                    connections.statsd.drop_socket(&target).await;
                    return Err(retryable(format!("statsd `{target}`: {error}")));
                }
            }
            Ok(())
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn metric(name: &str, kind: wit::MetricKind, value: f64) -> wit::Metric {
        wit::Metric {
            name: name.into(),
            kind,
            value,
        }
    }

    #[test]
    fn lines_follow_the_statsd_format_and_refuse_broken_names() {
        assert_eq!(
            line(&metric("a.b", wit::MetricKind::Counter, 1.0)).unwrap(),
            "a.b:1|c"
        );
        assert_eq!(
            line(&metric("t", wit::MetricKind::Timer, 234.5)).unwrap(),
            "t:234.5|ms"
        );
        assert_eq!(
            line(&metric("g", wit::MetricKind::Gauge, -3.0)).unwrap(),
            "g:-3|g"
        );
        for bad in ["", "a..b", ".a", "a:b", "a|b", "a b", "a@b"] {
            assert!(
                line(&metric(bad, wit::MetricKind::Counter, 1.0)).is_err(),
                "{bad}"
            );
        }
        assert!(line(&metric("a", wit::MetricKind::Gauge, f64::NAN)).is_err());
    }

    #[test]
    fn datagrams_pack_lines_up_to_the_limit() {
        let lines: Vec<String> = (0..200).map(|i| format!("metric.{i}:1|c")).collect();
        let packed = datagrams(&lines);
        assert!(packed.len() > 1);
        assert!(packed.iter().all(|d| d.len() <= MAX_DATAGRAM));
        let rejoined: Vec<&str> = packed.iter().flat_map(|d| d.split('\n')).collect();
        assert_eq!(
            rejoined,
            lines.iter().map(String::as_str).collect::<Vec<_>>()
        );
    }
}
