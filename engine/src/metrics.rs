//! Every metric of trackway in one place, rendered in the Prometheus text format by
//! `GET /metrics`. Counters are bumped once per batch (not per event), so one mutex is enough.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Mutex;
use std::time::Duration;

/// Events accepted into the log through the API, by org.
pub const INGESTED: &str = "trackway_events_ingested_total";
/// Events a stage handled successfully, by org, pipeline and stage.
pub const PROCESSED: &str = "trackway_events_processed_total";
/// Events a stage failed on (plugin error or trap), by org, pipeline, stage and reason.
pub const FAILED: &str = "trackway_events_failed_total";
/// Events moved to the dead-letter queue, by org, pipeline and stage.
pub const DEAD_LETTERED: &str = "trackway_events_dead_lettered_total";
/// Plugin calls that trapped or ran out of a limit, by org, pipeline, stage, plugin and kind.
pub const TRAPS: &str = "trackway_plugin_traps_total";
/// Duration of plugin calls in seconds, by org, pipeline and stage.
pub const CALL_SECONDS: &str = "trackway_plugin_call_seconds";
/// Events waiting in a sink's outbox, by org, pipeline and sink (sampled at scrape time).
pub const OUTBOX_LAG: &str = "trackway_outbox_lag_events";
/// Dead letters waiting for replay (sampled at scrape time).
pub const DLQ_DEPTH: &str = "trackway_dlq_depth";
/// Events in the log (sampled at scrape time).
pub const LOG_SEQ: &str = "trackway_log_last_seq";

const HELP: [(&str, &str, &str); 9] = [
    (
        INGESTED,
        "counter",
        "Events accepted into the log through the API.",
    ),
    (PROCESSED, "counter", "Events a stage handled successfully."),
    (FAILED, "counter", "Events a stage failed on."),
    (
        DEAD_LETTERED,
        "counter",
        "Events moved to the dead-letter queue.",
    ),
    (
        TRAPS,
        "counter",
        "Plugin calls that trapped or hit a limit.",
    ),
    (CALL_SECONDS, "histogram", "Duration of plugin calls."),
    (OUTBOX_LAG, "gauge", "Events waiting in a sink outbox."),
    (DLQ_DEPTH, "gauge", "Dead letters waiting for replay."),
    (
        LOG_SEQ,
        "gauge",
        "Sequence number of the last event in the log.",
    ),
];

/// Bucket bounds of [`CALL_SECONDS`]: from 10 us (a tiny batch) to 10 s (past any default
/// deadline).
const BUCKETS: [f64; 13] = [
    0.00001, 0.00005, 0.0001, 0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1.0, 5.0, 10.0,
];

type Labels = Vec<(&'static str, String)>;

#[derive(Default, Clone)]
struct Histogram {
    buckets: [u64; BUCKETS.len()],
    count: u64,
    sum: f64,
}

#[derive(Default)]
struct Inner {
    counters: BTreeMap<(&'static str, Labels), u64>,
    histograms: BTreeMap<(&'static str, Labels), Histogram>,
}

/// The registry.
#[derive(Default)]
pub struct Metrics {
    inner: Mutex<Inner>,
}

/// Labels of a pipeline stage.
pub fn stage_labels(org: &str, pipeline: &str, stage: &str) -> Labels {
    vec![
        ("org", org.to_owned()),
        ("pipeline", pipeline.to_owned()),
        ("stage", stage.to_owned()),
    ]
}

impl Metrics {
    fn inner(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Add `n` to counter `name` with `labels`.
    pub fn add(&self, name: &'static str, labels: Labels, n: u64) {
        if n > 0 {
            *self.inner().counters.entry((name, labels)).or_default() += n;
        }
    }

    /// The current value of a counter (0 if never bumped).
    pub fn counter(&self, name: &'static str, labels: &Labels) -> u64 {
        self.inner()
            .counters
            .get(&(name, labels.clone()))
            .copied()
            .unwrap_or(0)
    }

    /// The sum of counter `name` over every label set.
    pub fn total(&self, name: &'static str) -> u64 {
        self.inner()
            .counters
            .iter()
            .filter(|((n, _), _)| *n == name)
            .map(|(_, v)| v)
            .sum()
    }

    /// Record one observation of histogram `name`.
    pub fn observe(&self, name: &'static str, labels: Labels, value: Duration) {
        let secs = value.as_secs_f64();
        let mut inner = self.inner();
        let h = inner.histograms.entry((name, labels)).or_default();
        for (bucket, bound) in h.buckets.iter_mut().zip(BUCKETS) {
            if secs <= bound {
                *bucket += 1;
            }
        }
        h.count += 1;
        h.sum += secs;
    }

    /// Render everything, plus the sampled `gauges`, in the Prometheus text format.
    pub fn render(&self, gauges: &[(&'static str, Labels, f64)]) -> String {
        let inner = self.inner();
        let mut out = String::new();
        for (name, kind, help) in HELP {
            let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
            for ((n, labels), value) in &inner.counters {
                if *n == name {
                    let _ = writeln!(out, "{name}{} {value}", render_labels(labels, None));
                }
            }
            for ((n, labels), h) in &inner.histograms {
                if *n != name {
                    continue;
                }
                for (count, bound) in h.buckets.iter().zip(BUCKETS) {
                    let le = bound.to_string();
                    let _ = writeln!(
                        out,
                        "{name}_bucket{} {count}",
                        render_labels(labels, Some(&le))
                    );
                }
                let _ = writeln!(
                    out,
                    "{name}_bucket{} {}",
                    render_labels(labels, Some("+Inf")),
                    h.count
                );
                let _ = writeln!(out, "{name}_sum{} {}", render_labels(labels, None), h.sum);
                let _ = writeln!(
                    out,
                    "{name}_count{} {}",
                    render_labels(labels, None),
                    h.count
                );
            }
            for (n, labels, value) in gauges {
                if *n == name {
                    let _ = writeln!(out, "{name}{} {value}", render_labels(labels, None));
                }
            }
        }
        out
    }
}

fn render_labels(labels: &Labels, le: Option<&str>) -> String {
    let mut parts: Vec<String> = labels
        .iter()
        .map(|(k, v)| {
            format!(
                "{k}=\"{}\"",
                v.replace('\\', "\\\\")
                    .replace('"', "\\\"")
                    .replace('\n', "\\n")
            )
        })
        .collect();
    if let Some(le) = le {
        parts.push(format!("le=\"{le}\""));
    }
    if parts.is_empty() {
        String::new()
    } else {
        format!("{{{}}}", parts.join(","))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_counters_histograms_and_gauges() {
        let m = Metrics::default();
        m.add(PROCESSED, stage_labels("acme", "p", "s"), 3);
        m.add(PROCESSED, stage_labels("acme", "p", "s"), 2);
        m.observe(
            CALL_SECONDS,
            stage_labels("acme", "p", "s"),
            Duration::from_micros(300),
        );
        let text = m.render(&[(DLQ_DEPTH, vec![], 4.0)]);
        assert!(text.contains(
            "trackway_events_processed_total{org=\"acme\",pipeline=\"p\",stage=\"s\"} 5"
        ));
        assert!(text.contains("trackway_plugin_call_seconds_bucket{org=\"acme\",pipeline=\"p\",stage=\"s\",le=\"0.0005\"} 1"));
        assert!(text.contains("trackway_plugin_call_seconds_bucket{org=\"acme\",pipeline=\"p\",stage=\"s\",le=\"0.0001\"} 0"));
        assert!(text.contains("trackway_dlq_depth 4"));
        assert_eq!(m.total(PROCESSED), 5);
    }
}
