//! A stage's `config` table: converted to the JSON handed to its plugin, and problem paths
//! reported by the plugin resolved back to spans in the file.
//!
//! JSON has no datetimes, infinities or NaN: datetimes become their RFC 3339 text (TOML's own
//! syntax, e.g. `1979-05-27T07:32:00Z`), and non-finite floats are rejected so the plugin never
//! sees a silently changed value.

use std::ops::Range;

use serde_json::{Map, Number, Value as Json};
use serde_spanned::Spanned;
use toml::de::DeValue;

/// Converts a TOML value to JSON, pushing `(span, message)` for each value JSON cannot hold.
pub(crate) fn to_json(
    value: &Spanned<DeValue<'_>>,
    problems: &mut Vec<(Range<usize>, String)>,
) -> Json {
    match value.get_ref() {
        DeValue::String(text) => Json::String(text.to_string()),
        DeValue::Integer(integer) => match i64::from_str_radix(integer.as_str(), integer.radix()) {
            Ok(n) => Json::Number(n.into()),
            Err(_) => {
                problems.push((
                    value.span(),
                    format!("integer `{integer}` does not fit in 64 bits"),
                ));
                Json::Null
            }
        },
        DeValue::Float(float) => {
            match float
                .as_str()
                .parse::<f64>()
                .ok()
                .and_then(Number::from_f64)
            {
                Some(n) => Json::Number(n),
                None => {
                    problems.push((
                        value.span(),
                        format!("float `{float}` cannot be passed to a plugin: JSON has no infinities or NaN"),
                    ));
                    Json::Null
                }
            }
        }
        DeValue::Boolean(b) => Json::Bool(*b),
        DeValue::Datetime(datetime) => Json::String(datetime.to_string()),
        DeValue::Array(items) => {
            Json::Array(items.iter().map(|item| to_json(item, problems)).collect())
        }
        DeValue::Table(table) => Json::Object(
            table
                .iter()
                .map(|(key, value)| (key.get_ref().to_string(), to_json(value, problems)))
                .collect::<Map<String, Json>>(),
        ),
    }
}

/// One step of a problem path.
#[derive(Debug, PartialEq)]
enum Step<'p> {
    Key(&'p str),
    Index(usize),
}

/// Splits `policy.rules[0].name` into `policy`, `rules`, `[0]`, `name`.
fn steps(path: &str) -> Vec<Step<'_>> {
    let mut steps = Vec::new();
    for part in path.split('.').filter(|part| !part.is_empty()) {
        let (key, mut indexes) = part.split_at(part.find('[').unwrap_or(part.len()));
        if !key.is_empty() {
            steps.push(Step::Key(key));
        }
        while let Some(rest) = indexes.strip_prefix('[') {
            let Some((index, after)) = rest.split_once(']') else {
                break;
            };
            match index.parse() {
                Ok(index) => steps.push(Step::Index(index)),
                Err(_) => steps.push(Step::Key(index.trim_matches('"'))),
            }
            indexes = after;
        }
    }
    steps
}

/// The span in `config` that `path` points to: the key for a table entry, the element for an
/// array index. When only a prefix of the path exists (e.g. a missing field), the span of the
/// deepest part that does; `None` when not even the first step exists.
pub(crate) fn resolve(config: &Spanned<DeValue<'_>>, path: &str) -> Option<Range<usize>> {
    let mut current = config;
    let mut found = None;
    for step in steps(path) {
        let next = match (current.get_ref(), step) {
            (DeValue::Table(table), Step::Key(key)) => table
                .get_key_value(key)
                .map(|(key, value)| (key.span(), value)),
            (DeValue::Array(items), Step::Index(index)) => {
                items.get(index).map(|item| (item.span(), item))
            }
            // Paths like `rules.0` name array elements with plain numbers.
            (DeValue::Array(items), Step::Key(key)) => key
                .parse::<usize>()
                .ok()
                .and_then(|index| items.get(index))
                .map(|item| (item.span(), item)),
            _ => None,
        };
        let Some((span, value)) = next else {
            break;
        };
        found = Some(span);
        current = value;
    }
    found
}

#[cfg(test)]
mod tests {
    use toml::de::DeTable;

    use super::*;

    fn config(text: &str) -> Spanned<DeValue<'_>> {
        let doc = DeTable::parse(text).unwrap();
        let span = doc.span();
        Spanned::new(span, DeValue::Table(doc.into_inner()))
    }

    #[test]
    fn converts_every_toml_type() {
        let text = r#"
s = "x"
i = 0x10
n = -5
f = 1.5
b = true
d = 1979-05-27T07:32:00Z
ld = 1979-05-27
a = [1, "two"]
t = { nested = { deep = 1 } }
"#;
        let mut problems = Vec::new();
        let json = to_json(&config(text), &mut problems);
        assert!(problems.is_empty(), "{problems:?}");
        assert_eq!(
            json,
            serde_json::json!({
                "s": "x", "i": 16, "n": -5, "f": 1.5, "b": true,
                "d": "1979-05-27T07:32:00Z", "ld": "1979-05-27",
                "a": [1, "two"], "t": {"nested": {"deep": 1}},
            })
        );
    }

    #[test]
    fn rejects_values_json_cannot_hold() {
        let text = "a = nan\nb = -inf\nc = 99999999999999999999\n";
        let mut problems = Vec::new();
        to_json(&config(text), &mut problems);
        let messages: Vec<&str> = problems.iter().map(|(_, m)| m.as_str()).collect();
        assert_eq!(
            messages,
            [
                "float `nan` cannot be passed to a plugin: JSON has no infinities or NaN",
                "float `-inf` cannot be passed to a plugin: JSON has no infinities or NaN",
                "integer `99999999999999999999` does not fit in 64 bits",
            ]
        );
    }

    #[test]
    fn splits_paths() {
        assert_eq!(
            steps("policy.rules[0].name"),
            [
                Step::Key("policy"),
                Step::Key("rules"),
                Step::Index(0),
                Step::Key("name")
            ]
        );
        assert_eq!(steps("[\"a b\"][2]"), [Step::Key("a b"), Step::Index(2)]);
        assert_eq!(steps(""), []);
    }

    #[test]
    fn resolves_paths_to_keys_and_elements() {
        let text = "policy = { range = \"^1\" }\nrules = [{ name = \"a\" }, { name = \"b\" }]\n";
        let config = config(text);
        let at = |path: &str| resolve(&config, path).map(|span| &text[span]);
        assert_eq!(at("policy.range"), Some("range"));
        assert_eq!(at("policy"), Some("policy"));
        assert_eq!(at("rules[1].name"), Some("name"));
        assert_eq!(at("rules.1"), Some("{ name = \"b\" }"));
        // A missing field points at its deepest existing parent.
        assert_eq!(at("policy.missing"), Some("policy"));
        assert_eq!(at("nothing"), None);
        assert_eq!(at(""), None);
    }
}
