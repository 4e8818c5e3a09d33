//! Finding the value at a [`FieldPath`] in a JSON payload in one pass over its text, without
//! building a tree of it: the stage needs one string of a payload that may carry dozens of
//! fields, and a `serde_json::Value` of all of them is an allocation per key and per value.
//! The rest of the payload is still read to its end, so a payload that is not JSON is refused
//! exactly as a full parse would refuse it.

use std::borrow::Cow;
use std::fmt;

use serde::de::{self, DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor};

use crate::config::FieldPath;

/// What a payload holds at a path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Found<'a> {
    /// Nothing, or `null`.
    Missing,
    /// A string (borrowed from the payload unless it had escapes).
    Text(Cow<'a, str>),
    /// Another kind of value: "a number", "an object", ... for messages.
    Other(&'static str),
}

impl FieldPath {
    /// The value at this path in the JSON text `payload`. As with a `serde_json::Value`, a
    /// repeated key means its last value, and a segment of digits also indexes an array.
    pub fn find<'a>(&self, payload: &'a str) -> serde_json::Result<Found<'a>> {
        let mut deserializer = serde_json::Deserializer::from_str(payload);
        let found = At(self.segments()).deserialize(&mut deserializer)?;
        deserializer.end()?;
        Ok(found)
    }
}

/// The rest of the path below the value being read.
struct At<'p>(&'p [String]);

impl<'de> DeserializeSeed<'de> for At<'_> {
    type Value = Found<'de>;

    fn deserialize<D: de::Deserializer<'de>>(
        self,
        deserializer: D,
    ) -> Result<Found<'de>, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl At<'_> {
    /// A value that is not a container: found when the path ends here, missing otherwise.
    fn scalar<'de>(&self, found: Found<'de>) -> Found<'de> {
        if self.0.is_empty() {
            found
        } else {
            Found::Missing
        }
    }
}

impl<'de> Visitor<'de> for At<'_> {
    type Value = Found<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_borrowed_str<E>(self, text: &'de str) -> Result<Found<'de>, E> {
        Ok(self.scalar(Found::Text(Cow::Borrowed(text))))
    }

    fn visit_str<E>(self, text: &str) -> Result<Found<'de>, E> {
        Ok(self.scalar(Found::Text(Cow::Owned(text.to_owned()))))
    }

    fn visit_unit<E>(self) -> Result<Found<'de>, E> {
        Ok(Found::Missing)
    }

    fn visit_bool<E>(self, _: bool) -> Result<Found<'de>, E> {
        Ok(self.scalar(Found::Other("a boolean")))
    }

    fn visit_i64<E>(self, _: i64) -> Result<Found<'de>, E> {
        Ok(self.scalar(Found::Other("a number")))
    }

    fn visit_u64<E>(self, _: u64) -> Result<Found<'de>, E> {
        Ok(self.scalar(Found::Other("a number")))
    }

    fn visit_f64<E>(self, _: f64) -> Result<Found<'de>, E> {
        Ok(self.scalar(Found::Other("a number")))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Found<'de>, A::Error> {
        let Some((segment, rest)) = self.0.split_first() else {
            while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
            return Ok(Found::Other("an object"));
        };
        let mut found = Found::Missing;
        while let Some(is_segment) = map.next_key_seed(KeyIs(segment))? {
            if is_segment {
                found = map.next_value_seed(At(rest))?;
            } else {
                map.next_value::<IgnoredAny>()?;
            }
        }
        Ok(found)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut items: A) -> Result<Found<'de>, A::Error> {
        let Some((segment, rest)) = self.0.split_first() else {
            while items.next_element::<IgnoredAny>()?.is_some() {}
            return Ok(Found::Other("an array"));
        };
        let wanted = segment.parse::<usize>().ok();
        let mut found = Found::Missing;
        for index in 0.. {
            if Some(index) == wanted {
                match items.next_element_seed(At(rest))? {
                    Some(value) => found = value,
                    None => break,
                }
            } else if items.next_element::<IgnoredAny>()?.is_none() {
                break;
            }
        }
        Ok(found)
    }
}

/// Reads a map key and says whether it is the wanted segment, without keeping it.
struct KeyIs<'p>(&'p str);

impl<'de> DeserializeSeed<'de> for KeyIs<'_> {
    type Value = bool;

    fn deserialize<D: de::Deserializer<'de>>(self, deserializer: D) -> Result<bool, D::Error> {
        deserializer.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for KeyIs<'_> {
    type Value = bool;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a key")
    }

    fn visit_str<E>(self, key: &str) -> Result<bool, E> {
        Ok(key == self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(path: &str, payload: &str) -> Found<'static> {
        match FieldPath::parse(path).expect("valid path").find(payload) {
            Ok(Found::Text(text)) => Found::Text(Cow::Owned(text.into_owned())),
            Ok(Found::Missing) => Found::Missing,
            Ok(Found::Other(kind)) => Found::Other(kind),
            Err(error) => panic!("{payload}: {error}"),
        }
    }

    fn text(value: &str) -> Found<'static> {
        Found::Text(Cow::Owned(value.to_owned()))
    }

    #[test]
    fn follows_the_path_like_a_parsed_value() {
        let payload = r#"{"version": "1.0.0", "app": {"version": "2.0.0", "n": [1, 2.5, -3]},
            "releases": [{"version": "3.0.0"}, {"version": "4.0.0"}], "empty": null,
            "escaped": "1.0.0-\u0061", "flag": true, "0": "key zero"}"#;
        assert_eq!(at("version", payload), text("1.0.0"));
        assert_eq!(at("app.version", payload), text("2.0.0"));
        assert_eq!(at("releases.1.version", payload), text("4.0.0"));
        assert_eq!(at("escaped", payload), text("1.0.0-a"));
        assert_eq!(at("0", payload), text("key zero"));
        for missing in [
            "missing",
            "releases.2.version",
            "releases.x",
            "version.deeper",
            "app.missing",
            "empty",
            "empty.deeper",
        ] {
            assert_eq!(at(missing, payload), Found::Missing, "{missing}");
        }
        assert_eq!(at("app", payload), Found::Other("an object"));
        assert_eq!(at("releases", payload), Found::Other("an array"));
        assert_eq!(at("app.n", payload), Found::Other("an array"));
        assert_eq!(at("app.n.1", payload), Found::Other("a number"));
        assert_eq!(at("flag", payload), Found::Other("a boolean"));
    }

    #[test]
    fn a_repeated_key_means_its_last_value() {
        let payload = r#"{"version": "1.0.0", "version": "2.0.0"}"#;
        assert_eq!(at("version", payload), text("2.0.0"));
    }

    #[test]
    fn the_whole_payload_must_be_json() {
        let path = FieldPath::parse("version").expect("valid path");
        for bad in [
            "not json",
            r#"{"version": "1.0.0""#,
            r#"{"version": "1.0.0", "x": [1,}"#,
            r#"{"version": "1.0.0"} trailing"#,
            r#"{"version": "1.0.0", "x": tru}"#,
        ] {
            assert!(path.find(bad).is_err(), "{bad}");
        }
    }
}
