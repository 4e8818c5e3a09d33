//! The packed transport, guest side (the `packed-processor` world in `wit/plugin.wit`): the
//! batch of `process-packed`, a postcard-encoded `list<event>`, and its answer, a
//! postcard-encoded `packed-answer`, read and written here by hand (the host does the same,
//! `engine/runtime/src/packed.rs`).
//!
//! postcard's serde decoder would check the UTF-8 of every string again and go through serde's
//! visitors field by field, about a tenth of a `semver` call. The strings are taken as the host
//! wrote them instead, as wit-bindgen's own string lifting does in release builds: the host
//! encodes the batch from Rust strings, valid by construction (and a host that broke that
//! contract could as well write anywhere in the instance's memory). Debug builds check them.
//!
//! A batch that does not decode is the host's bug: the instance traps, and the host reports it.

use crate::{Event, Processed};

/// The events of `batch`.
pub(crate) fn decode_events(batch: &[u8]) -> Vec<Event> {
    let mut reader = Reader(batch);
    let count = reader.len();
    // Every event takes more than one byte: a corrupt count fails below, not in the allocator.
    let mut events = Vec::with_capacity(count.min(batch.len()));
    for _ in 0..count {
        events.push(reader.event());
    }
    assert!(reader.0.is_empty(), "the batch has bytes after its events");
    events
}

/// The answer to a batch: its results (`annotate`, the usual one, written by hand, the others
/// through serde) and its state writes.
pub(crate) fn encode_answer(results: &[Processed], writes: &Writes) -> Vec<u8> {
    // Enough for a handful of short attributes per result, so the buffer seldom grows.
    let mut answer = Vec::with_capacity(64 * results.len() + 16);
    varint(&mut answer, results.len() as u64);
    for result in results {
        match result {
            Processed::Annotate(attributes) => {
                answer.push(2);
                varint(&mut answer, attributes.len() as u64);
                for (name, value) in attributes {
                    bytes(&mut answer, name.as_bytes());
                    bytes(&mut answer, value.as_bytes());
                }
            }
            other => answer = postcard::to_extend(other, answer).expect("a result encodes"),
        }
    }
    varint(&mut answer, writes.count as u64);
    answer.extend_from_slice(&writes.bytes);
    answer
}

/// State writes (the `state` of a `packed-answer`), encoded as they are made: no allocation
/// per write, one copy of each key and value.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct Writes {
    count: usize,
    bytes: Vec<u8>,
}

impl Writes {
    /// Write `value` (`None`: delete) under `key`, after the writes before.
    pub(crate) fn push(&mut self, key: &str, value: Option<&[u8]>) {
        self.count += 1;
        bytes(&mut self.bytes, key.as_bytes());
        match value {
            None => self.bytes.push(0),
            Some(value) => {
                self.bytes.push(1);
                bytes(&mut self.bytes, value);
            }
        }
    }
}

/// postcard's `varint`: unsigned LEB128.
fn varint(buffer: &mut Vec<u8>, mut value: u64) {
    while value >= 0x80 {
        buffer.push(value as u8 | 0x80);
        value >>= 7;
    }
    buffer.push(value as u8);
}

/// A string or a byte list: its length, then its bytes.
fn bytes(buffer: &mut Vec<u8>, bytes: &[u8]) {
    varint(buffer, bytes.len() as u64);
    buffer.extend_from_slice(bytes);
}

/// The unread rest of a batch.
struct Reader<'a>(&'a [u8]);

impl Reader<'_> {
    /// An `event` record: its fields in the WIT order, as postcard writes a struct.
    fn event(&mut self) -> Event {
        // Fields are evaluated in the order written, which is the order of the wire.
        Event {
            id: self.text(),
            org: self.text(),
            kind: self.text(),
            source: self.text(),
            time: self.varint(),
            subject: self.text(),
            attributes: {
                let count = self.len();
                (0..count).map(|_| (self.text(), self.text())).collect()
            },
            payload: self.text(),
            parent: match self.byte() {
                0 => None,
                1 => Some(self.text()),
                tag => panic!("invalid option tag {tag} in the batch"),
            },
        }
    }

    fn byte(&mut self) -> u8 {
        let (&byte, rest) = self.0.split_first().expect("the batch is truncated");
        self.0 = rest;
        byte
    }

    /// An unsigned LEB128 integer (postcard's `varint`).
    fn varint(&mut self) -> u64 {
        let mut value = 0;
        for shift in (0..64).step_by(7) {
            let byte = self.byte();
            value |= u64::from(byte & 0x7f) << shift;
            if byte & 0x80 == 0 {
                return value;
            }
        }
        panic!("a varint of the batch is too long")
    }

    /// A length (of a string or a list).
    fn len(&mut self) -> usize {
        usize::try_from(self.varint()).expect("a length of the batch fits in memory")
    }

    /// A string: its length, then its UTF-8 bytes.
    fn text(&mut self) -> String {
        let len = self.len();
        let (bytes, rest) = self
            .0
            .split_at_checked(len)
            .expect("the batch is truncated");
        self.0 = rest;
        host_text(bytes).to_owned()
    }
}

/// `bytes` as text the host wrote (see the module's comment).
#[expect(
    unsafe_code,
    reason = "the host's strings are trusted to be UTF-8, as in wit-bindgen's string lifting"
)]
fn host_text(bytes: &[u8]) -> &str {
    if cfg!(debug_assertions) {
        std::str::from_utf8(bytes).expect("the host writes UTF-8")
    } else {
        // SAFETY: the host encodes the batch from Rust strings (see the module's comment).
        unsafe { std::str::from_utf8_unchecked(bytes) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(i: u64) -> Event {
        Event {
            id: format!("01J000000000000000000000{i:02}"),
            org: "acme".into(),
            kind: "deployment.finished".into(),
            source: "api".into(),
            // Several varint bytes.
            time: 1_700_000_000_000 + i,
            subject: "prod/wéb".into(),
            attributes: (0..i)
                .map(|n| (format!("k{n}"), "välue".repeat(n as usize)))
                .collect(),
            // Longer than 127 bytes: a two-byte length.
            payload: format!(r#"{{"version":"1.{i}.0","note":"{}"}}"#, "x".repeat(200)),
            parent: (i % 2 == 1).then(|| format!("01J0000000000000000000PA{i:02}")),
        }
    }

    #[test]
    fn reads_what_postcard_writes() {
        let events: Vec<Event> = (0..5).map(event).collect();
        let batch = postcard::to_allocvec(&events).expect("encodes");
        assert_eq!(decode_events(&batch), events);
        let empty = postcard::to_allocvec(&Vec::<Event>::new()).expect("encodes");
        assert_eq!(decode_events(&empty), Vec::new());
    }

    #[test]
    fn writes_answers_as_postcard_does() {
        use crate::Error;
        use crate::bindings::host::trackway::plugin::types::PackedAnswer;

        let answer = PackedAnswer {
            results: vec![
                Processed::Keep,
                Processed::Annotate(vec![("semver.major".into(), "1".into())]),
                Processed::Replace(vec![event(2)]),
                Processed::Annotate(Vec::new()),
                Processed::Fail(Error::permanent("no version")),
            ],
            state: vec![("a".into(), Some(vec![0xff; 300])), ("b".into(), None)],
        };
        let mut writes = Writes::default();
        for (key, value) in &answer.state {
            writes.push(key, value.as_deref());
        }
        assert_eq!(
            encode_answer(&answer.results, &writes),
            postcard::to_allocvec(&answer).expect("encodes")
        );
    }

    #[test]
    #[should_panic(expected = "the batch is truncated")]
    fn a_truncated_batch_is_refused() {
        let batch = postcard::to_allocvec(&vec![event(3)]).expect("encodes");
        decode_events(&batch[..batch.len() - 1]);
    }

    #[test]
    #[should_panic(expected = "the batch has bytes after its events")]
    fn trailing_bytes_are_refused() {
        let mut batch = postcard::to_allocvec(&vec![event(1)]).expect("encodes");
        batch.push(0);
        decode_events(&batch);
    }
}
