//! The packed transport of processors, host side (the `packed-processor` world in
//! `wit/plugin.wit`): a batch crosses as one postcard-encoded `list<event>`, its answer as one
//! postcard-encoded `packed-answer`. Both are written and read here by hand, as the SDK does on
//! the guest side (`plugins/sdk/src/packed.rs`): serde's generic visitors cost more per field
//! than the bytes they move, and the answer is read straight into the executor's [`Output`]s.
//! The two rare results, `replace` and `fail`, are read through serde.
//!
//! The answer comes from the guest, so it is checked as any input is: every length against what
//! is left, every string's UTF-8, every tag, and nothing may follow it.

use serde::de::DeserializeOwned;
use trackway_store::Event;
use ulid::ULID_LEN;

use crate::bindings::types;
use crate::instance::Output;

/// A state write: the key, and its new value (`None` deletes it).
pub(crate) type Write = (String, Option<Vec<u8>>);

/// Append `events`, encoded as the batch of `process-packed`, to `buffer`.
pub(crate) fn encode_events(events: &[Event], buffer: &mut Vec<u8>) {
    let mut id = [0; ULID_LEN];
    varint(buffer, events.len() as u64);
    for event in events {
        text(buffer, event.id.array_to_str(&mut id));
        text(buffer, &event.org);
        text(buffer, &event.kind);
        text(buffer, &event.source);
        varint(buffer, event.time_ms);
        text(buffer, &event.subject);
        varint(buffer, event.attributes.len() as u64);
        for (name, value) in &event.attributes {
            text(buffer, name);
            text(buffer, value);
        }
        text(buffer, &event.payload);
        match event.parent {
            None => buffer.push(0),
            Some(parent) => {
                buffer.push(1);
                text(buffer, parent.array_to_str(&mut id));
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

fn text(buffer: &mut Vec<u8>, text: &str) {
    varint(buffer, text.len() as u64);
    buffer.extend_from_slice(text.as_bytes());
}

/// The answer of `process-packed` to `events`: one [`Output`] per event, in order, and the state
/// writes, which only a stage granted `state` may send.
pub(crate) fn decode_answer(
    bytes: &[u8],
    events: &[Event],
    state_granted: bool,
) -> Result<(Vec<Output>, Vec<Write>), String> {
    let mut reader = Reader(bytes);
    let invalid =
        |error: &str| format!("process-packed returned an invalid packed-answer: {error}");
    let results = reader.len().map_err(invalid)?;
    if results != events.len() {
        return Err(format!(
            "process returned {results} results for {} events",
            events.len()
        ));
    }
    let outputs = events
        .iter()
        .map(|input| reader.output(input))
        .collect::<Result<Vec<_>, _>>()
        .map_err(invalid)?;
    let writes = reader.writes().map_err(invalid)?;
    if !reader.0.is_empty() {
        return Err(invalid("bytes after its end"));
    }
    if !writes.is_empty() && !state_granted {
        return Err("process-packed returned state writes without the `state` grant".into());
    }
    Ok((outputs, writes))
}

/// The unread rest of an answer.
struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    /// The result for `input`: a `processed`, as the executor takes it.
    fn output(&mut self, input: &Event) -> Result<Output, &'static str> {
        Ok(match self.varint()? {
            0 => Output::Keep,
            1 => Output::replaced(input, self.serde()?),
            2 => {
                // `Output::annotated`, without collecting the pairs first (that Vec per event
                // cost ~5 % of a `semver` stage).
                let count = self.len()?;
                let mut event = input.clone();
                event.attributes.reserve(count);
                for _ in 0..count {
                    let name = self.text()?;
                    let value = self.text()?;
                    event.set_attribute(name.to_owned(), value.to_owned());
                }
                Output::Replace(vec![event])
            }
            3 => Output::Fail(self.serde::<types::Error>()?.into()),
            _ => return Err("an unknown result tag"),
        })
    }

    /// The `state` field: the writes, in the order made.
    fn writes(&mut self) -> Result<Vec<Write>, &'static str> {
        let count = self.len()?;
        let mut writes = Vec::with_capacity(count.min(self.0.len()));
        for _ in 0..count {
            let key = self.text()?.to_owned();
            let value = match self.byte()? {
                0 => None,
                1 => Some(self.bytes()?.to_vec()),
                _ => return Err("an invalid option tag"),
            };
            writes.push((key, value));
        }
        Ok(writes)
    }

    fn byte(&mut self) -> Result<u8, &'static str> {
        let (&byte, rest) = self.0.split_first().ok_or("truncated")?;
        self.0 = rest;
        Ok(byte)
    }

    fn varint(&mut self) -> Result<u64, &'static str> {
        let mut value = 0;
        for shift in (0..64).step_by(7) {
            let byte = self.byte()?;
            value |= u64::from(byte & 0x7f) << shift;
            if byte & 0x80 == 0 {
                return Ok(value);
            }
        }
        Err("a varint is too long")
    }

    /// A length of a list or a string.
    fn len(&mut self) -> Result<usize, &'static str> {
        usize::try_from(self.varint()?).map_err(|_| "a length is too large")
    }

    fn bytes(&mut self) -> Result<&'a [u8], &'static str> {
        let len = self.len()?;
        let (bytes, rest) = self.0.split_at_checked(len).ok_or("truncated")?;
        self.0 = rest;
        Ok(bytes)
    }

    fn text(&mut self) -> Result<&'a str, &'static str> {
        std::str::from_utf8(self.bytes()?).map_err(|_| "a string is not UTF-8")
    }

    /// A value of a rarer shape, through postcard's serde decoder.
    fn serde<T: DeserializeOwned>(&mut self) -> Result<T, &'static str> {
        let (value, rest) = postcard::take_from_bytes(self.0)
            .map_err(|_| "a `replace` or `fail` result does not decode")?;
        self.0 = rest;
        Ok(value)
    }
}

#[cfg(test)]
mod tests {
    use trackway_store::Ulid;

    use super::*;
    use crate::error::PluginError;

    fn event(i: u64) -> Event {
        Event {
            id: Ulid::new(),
            org: "acme".into(),
            kind: "deployment.finished".into(),
            source: "api".into(),
            time_ms: 1_700_000_000_000 + i,
            subject: "prod/wéb".into(),
            attributes: (0..i)
                .map(|n| (format!("k{n}"), "välue".repeat(n as usize)))
                .collect(),
            payload: format!(r#"{{"version":"1.{i}.0","note":"{}"}}"#, "x".repeat(200)),
            parent: (i % 2 == 1).then(Ulid::new),
        }
    }

    #[test]
    fn a_batch_is_encoded_as_postcard_encodes_the_wit_events() {
        let events: Vec<Event> = (0..4).map(event).collect();
        let wit: Vec<types::Event> = events
            .iter()
            .map(|e| types::Event {
                id: e.id.to_string(),
                org: e.org.clone(),
                kind: e.kind.clone(),
                source: e.source.clone(),
                time: e.time_ms,
                subject: e.subject.clone(),
                attributes: e.attributes.clone(),
                payload: e.payload.clone(),
                parent: e.parent.map(|id| id.to_string()),
            })
            .collect();
        let mut buffer = Vec::new();
        encode_events(&events, &mut buffer);
        assert_eq!(buffer, postcard::to_allocvec(&wit).expect("encodes"));
    }

    #[test]
    fn an_answer_is_read_into_outputs_and_writes() {
        let inputs: Vec<Event> = (0..4).map(event).collect();
        let replacement = types::Event {
            id: String::new(),
            org: "acme".into(),
            kind: "deployment.replaced".into(),
            source: "semver".into(),
            time: 1,
            subject: "prod/web".into(),
            attributes: Vec::new(),
            payload: inputs[1].payload.clone(),
            parent: None,
        };
        let answer = types::PackedAnswer {
            results: vec![
                types::Processed::Keep,
                types::Processed::Replace(vec![replacement]),
                types::Processed::Annotate(vec![
                    ("k0".into(), "new".into()),
                    ("semver.major".into(), "1".into()),
                ]),
                types::Processed::Fail(types::Error::Permanent("no version".into())),
            ],
            state: vec![("a".into(), Some(b"1".to_vec())), ("b".into(), None)],
        };
        let bytes = postcard::to_allocvec(&answer).expect("encodes");
        let (outputs, writes) = decode_answer(&bytes, &inputs, true).expect("an answer");
        assert_eq!(outputs[0], Output::Keep);
        let Output::Replace(replaced) = &outputs[1] else {
            panic!("expected replace, got {:?}", outputs[1]);
        };
        assert_eq!(replaced[0].kind, "deployment.replaced");
        assert_eq!(replaced[0].payload, inputs[1].payload);
        let mut annotated = inputs[2].clone();
        annotated.set_attribute("k0".into(), "new".into());
        annotated.set_attribute("semver.major".into(), "1".into());
        assert_eq!(outputs[2], Output::Replace(vec![annotated]));
        assert_eq!(
            outputs[3],
            Output::Fail(PluginError::Permanent("no version".into()))
        );
        assert_eq!(answer.state, writes);
    }

    #[test]
    fn a_bad_answer_is_refused() {
        let inputs = [event(0)];
        let answer = |results, state| {
            postcard::to_allocvec(&types::PackedAnswer { results, state }).expect("encodes")
        };
        let write = || vec![("k".to_owned(), Some(b"1".to_vec()))];
        let keep = || vec![types::Processed::Keep];

        let bytes = answer(keep(), write());
        assert!(decode_answer(&bytes, &inputs, true).is_ok());
        assert_eq!(
            decode_answer(&bytes, &inputs, false).expect_err("no grant"),
            "process-packed returned state writes without the `state` grant"
        );
        assert!(decode_answer(&answer(keep(), Vec::new()), &inputs, false).is_ok());
        assert_eq!(
            decode_answer(&answer(Vec::new(), Vec::new()), &inputs, true).expect_err("count"),
            "process returned 0 results for 1 events"
        );
        let invalid = |bytes: &[u8]| {
            let error = decode_answer(bytes, &inputs, true).expect_err("invalid");
            assert!(
                error.starts_with("process-packed returned an invalid packed-answer: "),
                "{error}"
            );
            error
        };
        invalid(&bytes[..bytes.len() - 1]);
        invalid(&[bytes.as_slice(), &[0]].concat());
        // An annotate answer whose value is not UTF-8.
        let mut bad = answer(
            vec![types::Processed::Annotate(vec![("k".into(), "é".into())])],
            Vec::new(),
        );
        let last = bad.len() - 2;
        bad[last] = 0xff;
        assert!(invalid(&bad).contains("not UTF-8"), "{bad:?}");
    }
}
