//! The task of one sink: drain its outbox in order. A retryable failure stops at the failing
//! event and retries it after an exponential backoff with jitter (order is kept); a permanent
//! failure, or the last allowed attempt, moves the event to the dead-letter queue.

use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::{Mutex, Notify};
use trackway_config::{Retry, Stage};
use trackway_runtime::{CallError, Instance, PluginError};
use trackway_store::{DeadLetter, Event, WriteBatch};

use super::pipeline::now_ms;
use super::{FAULT_BACKOFF, Shared, pause};
use crate::metrics::{self, stage_labels};

/// How long an idle sink sleeps before looking at its outbox again without being woken
/// (covers events queued by a replay or by another process).
const IDLE_RECHECK: Duration = Duration::from_secs(1);

/// Attempts made on the event at the head of the outbox.
struct HeadAttempts {
    seq: u64,
    attempts: u32,
    first_failed_ms: u64,
}

/// The task of one sink.
pub struct SinkTask {
    shared: Arc<Shared>,
    /// Shared with the pipeline task, which delivers to a host-local sink itself while the
    /// outbox is empty (see `pipeline::SinkRoute`); whoever holds the lock delivers.
    instance: Arc<Mutex<Instance>>,
    scope: String,
    org: String,
    pipeline: String,
    stage: String,
    batch_max: usize,
    retry: Retry,
    notify: Arc<Notify>,
    head: Option<HeadAttempts>,
    /// After a trap, deliver one event at a time until the one at fault is found.
    isolate: usize,
}

impl SinkTask {
    /// The task of `stage`, whose outbox is `scope` (`org/pipeline/sink`).
    pub fn new(
        shared: Arc<Shared>,
        instance: Arc<Mutex<Instance>>,
        context: trackway_runtime::StageContext,
        scope: String,
        stage: &Stage,
        notify: Arc<Notify>,
    ) -> Self {
        Self {
            shared,
            instance,
            scope,
            org: context.org,
            pipeline: context.pipeline,
            stage: context.stage,
            batch_max: stage.batch_max_events,
            retry: stage.retry.unwrap_or_default(),
            notify,
            head: None,
            isolate: 0,
        }
    }

    /// Run until shutdown.
    pub async fn run(mut self) {
        let mut shutdown = self.shared.shutdown.clone();
        while !*shutdown.borrow() {
            let limit = if self.isolate > 0 { 1 } else { self.batch_max };
            let instance = self.instance.clone();
            let mut instance = instance.lock().await;
            let entries = match self.shared.store.outbox(&self.scope, limit) {
                Ok(entries) => entries,
                Err(error) => {
                    tracing::error!(sink = %self.scope, "cannot read the outbox: {error}");
                    pause(&mut shutdown, FAULT_BACKOFF).await;
                    continue;
                }
            };
            if entries.is_empty() {
                drop(instance);
                tokio::select! {
                    () = self.notify.notified() => {}
                    () = tokio::time::sleep(IDLE_RECHECK) => {}
                    _ = shutdown.changed() => {}
                }
                continue;
            }
            let wait = self.deliver(&mut instance, entries).await;
            drop(instance);
            if let Some(wait) = wait {
                pause(&mut shutdown, wait).await;
            }
        }
    }

    fn labels(&self) -> Vec<(&'static str, String)> {
        stage_labels(&self.org, &self.pipeline, &self.stage)
    }

    /// Deliver one batch; returns how long to wait before the next attempt, if any.
    async fn deliver(
        &mut self,
        instance: &mut Instance,
        entries: Vec<(u64, Event)>,
    ) -> Option<Duration> {
        let events: Vec<Event> = entries.iter().map(|(_, e)| e.clone()).collect();
        let started = Instant::now();
        let result = instance.deliver(&events).await;
        self.shared
            .metrics
            .observe(metrics::CALL_SECONDS, self.labels(), started.elapsed());
        let mut write = WriteBatch::new();
        let mut wait = None;
        match result {
            Ok((results, pending)) => {
                self.isolate = self.isolate.saturating_sub(entries.len());
                super::apply_pending(pending, instance.context(), &mut write);
                let mut delivered = 0;
                for ((seq, event), result) in entries.into_iter().zip(results) {
                    match result {
                        Ok(()) => {
                            write.outbox_remove(&self.scope, seq);
                            delivered += 1;
                        }
                        Err(PluginError::Retryable {
                            message,
                            retry_after_ms,
                        }) => {
                            self.count_failure("retryable");
                            match self.attempt_failed(seq, event, &message, &mut write) {
                                Some(backoff) => {
                                    wait =
                                        Some(retry_after_ms.map_or(backoff, Duration::from_millis));
                                    break;
                                }
                                None => continue,
                            }
                        }
                        Err(error) => {
                            self.count_failure(error.label());
                            self.dead_letter(
                                seq,
                                event,
                                &error.to_string(),
                                1,
                                now_ms(),
                                &mut write,
                            );
                        }
                    }
                }
                self.shared
                    .metrics
                    .add(metrics::PROCESSED, self.labels(), delivered);
            }
            Err(error @ (CallError::Init(_) | CallError::Instantiate(_))) => {
                tracing::error!(sink = %self.scope, "sink cannot start: {error}");
                return Some(FAULT_BACKOFF);
            }
            Err(error) => {
                let mut labels = self.labels();
                labels.push(("plugin", instance.context().plugin.clone()));
                labels.push(("kind", error.label().to_owned()));
                self.shared.metrics.add(metrics::TRAPS, labels, 1);
                self.count_failure(error.label());
                if entries.len() > 1 {
                    tracing::warn!(sink = %self.scope, "batch of {} trapped ({error}); isolating the event at fault", entries.len());
                    self.isolate = entries.len();
                    return None;
                }
                let (seq, event) = entries.into_iter().next().expect("one entry");
                wait = self.attempt_failed(seq, event, &error.to_string(), &mut write);
            }
        }
        if !write.is_empty() {
            match self.shared.store.commit(write).await {
                Ok(Ok(_)) => {}
                Ok(Err(error)) => {
                    instance.forget_cached_state();
                    tracing::error!(sink = %self.scope, "commit failed, the batch will be delivered again: {error}");
                    return Some(FAULT_BACKOFF);
                }
                Err(_) => return None,
            }
        }
        wait
    }

    fn count_failure(&self, reason: &str) {
        let mut labels = self.labels();
        labels.push(("reason", reason.to_owned()));
        self.shared.metrics.add(metrics::FAILED, labels, 1);
    }

    /// Record a failed attempt on the head event. Returns the backoff before the next attempt,
    /// or `None` if the event was dead-lettered (attempts exhausted).
    fn attempt_failed(
        &mut self,
        seq: u64,
        event: Event,
        error: &str,
        write: &mut WriteBatch,
    ) -> Option<Duration> {
        let now = now_ms();
        let head = match &mut self.head {
            Some(head) if head.seq == seq => head,
            _ => self.head.insert(HeadAttempts {
                seq,
                attempts: 0,
                first_failed_ms: now,
            }),
        };
        head.attempts += 1;
        let (attempts, first) = (head.attempts, head.first_failed_ms);
        if attempts >= self.retry.max_attempts {
            self.dead_letter(seq, event, error, attempts, first, write);
            self.head = None;
            return None;
        }
        tracing::warn!(sink = %self.scope, attempt = attempts, "delivery failed, will retry: {error}");
        Some(jitter(self.retry.backoff(attempts)))
    }

    fn dead_letter(
        &self,
        seq: u64,
        event: Event,
        error: &str,
        attempts: u32,
        first_failed_ms: u64,
        write: &mut WriteBatch,
    ) {
        self.shared
            .metrics
            .add(metrics::DEAD_LETTERED, self.labels(), 1);
        write.outbox_remove(&self.scope, seq);
        write.dead_letter(DeadLetter {
            id: trackway_store::event::next_id(),
            org: self.org.clone(),
            pipeline: self.pipeline.clone(),
            stage: self.stage.clone(),
            event,
            error: error.to_owned(),
            attempts,
            first_failed_ms,
            last_failed_ms: now_ms(),
        });
    }
}

/// "Equal jitter": half the backoff fixed, half random, so retries of many sinks after a shared
/// outage spread out instead of arriving together.
fn jitter(backoff: Duration) -> Duration {
    let half = backoff / 2;
    half + half.mul_f64(fastrand::f64())
}
