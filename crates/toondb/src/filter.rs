//! A small metadata filter language for collection searches.
//!
//! Fields are looked up in a document's metadata object; a dotted name (`"author.name"`)
//! walks nested objects. Comparisons follow JSON types: numbers compare numerically (integer
//! and float alike), strings by byte order, booleans and null only for equality. A missing
//! field never matches `eq`, `in` or `range` (and so does match `not(eq(..))`).

use serde_json::{Map, Value as Json};

/// Maximum nesting depth of `and`/`or`/`not` accepted by [`Filter::matches`]; deeper filters
/// match nothing (guards against stack exhaustion on filters built from untrusted input).
pub const MAX_FILTER_DEPTH: usize = 64;

/// A predicate over document metadata.
///
/// ```
/// use toondb::Filter;
/// use serde_json::json;
/// let f = Filter::eq("lang", "en").and(Filter::range("year").gte(2020).lt(2025));
/// let meta = json!({"lang": "en", "year": 2023});
/// assert!(f.matches(meta.as_object().unwrap()));
/// assert!(!Filter::is_in("lang", ["de", "fr"]).matches(meta.as_object().unwrap()));
/// ```
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum Filter {
    /// `field == value`.
    Eq(String, Json),
    /// `field` equals one of the values.
    In(String, Vec<Json>),
    /// `field` within bounds (each bound optional).
    Range {
        /// Field name.
        field: String,
        /// Lower bound and whether it is inclusive.
        lower: Option<(Json, bool)>,
        /// Upper bound and whether it is inclusive.
        upper: Option<(Json, bool)>,
    },
    /// `field` is present (any value, including null).
    Exists(String),
    /// All must match.
    And(Vec<Filter>),
    /// At least one must match.
    Or(Vec<Filter>),
    /// Negation.
    Not(Box<Filter>),
}

impl Filter {
    /// `field == value`.
    pub fn eq(field: impl Into<String>, value: impl Into<Json>) -> Filter {
        Filter::Eq(field.into(), value.into())
    }
    /// `field` is one of `values`.
    pub fn is_in<V: Into<Json>>(
        field: impl Into<String>,
        values: impl IntoIterator<Item = V>,
    ) -> Filter {
        Filter::In(field.into(), values.into_iter().map(Into::into).collect())
    }
    /// An unbounded range on `field`; narrow it with [`gt`](Filter::gt), [`gte`](Filter::gte),
    /// [`lt`](Filter::lt), [`lte`](Filter::lte).
    pub fn range(field: impl Into<String>) -> Filter {
        Filter::Range {
            field: field.into(),
            lower: None,
            upper: None,
        }
    }
    /// `field` is present.
    pub fn exists(field: impl Into<String>) -> Filter {
        Filter::Exists(field.into())
    }
    /// Negation.
    #[allow(clippy::should_implement_trait)]
    pub fn not(f: Filter) -> Filter {
        Filter::Not(Box::new(f))
    }
    fn set_bound(self, lower: bool, v: Json, inclusive: bool) -> Filter {
        match self {
            Filter::Range {
                field,
                lower: lo,
                upper: hi,
            } => {
                if lower {
                    Filter::Range {
                        field,
                        lower: Some((v, inclusive)),
                        upper: hi,
                    }
                } else {
                    Filter::Range {
                        field,
                        lower: lo,
                        upper: Some((v, inclusive)),
                    }
                }
            }
            // Bounds only apply to ranges; on anything else they are ignored.
            other => other,
        }
    }
    /// Range: `field > v`.
    pub fn gt(self, v: impl Into<Json>) -> Filter {
        self.set_bound(true, v.into(), false)
    }
    /// Range: `field >= v`.
    pub fn gte(self, v: impl Into<Json>) -> Filter {
        self.set_bound(true, v.into(), true)
    }
    /// Range: `field < v`.
    pub fn lt(self, v: impl Into<Json>) -> Filter {
        self.set_bound(false, v.into(), false)
    }
    /// Range: `field <= v`.
    pub fn lte(self, v: impl Into<Json>) -> Filter {
        self.set_bound(false, v.into(), true)
    }
    /// Both this and `other`.
    pub fn and(self, other: Filter) -> Filter {
        match self {
            Filter::And(mut v) => {
                v.push(other);
                Filter::And(v)
            }
            f => Filter::And(vec![f, other]),
        }
    }
    /// This or `other`.
    pub fn or(self, other: Filter) -> Filter {
        match self {
            Filter::Or(mut v) => {
                v.push(other);
                Filter::Or(v)
            }
            f => Filter::Or(vec![f, other]),
        }
    }

    /// Whether `metadata` satisfies the filter.
    pub fn matches(&self, metadata: &Map<String, Json>) -> bool {
        self.eval(metadata, 0)
    }

    fn eval(&self, m: &Map<String, Json>, depth: usize) -> bool {
        if depth > MAX_FILTER_DEPTH {
            return false;
        }
        match self {
            Filter::Eq(f, v) => lookup(m, f).is_some_and(|x| json_eq(x, v)),
            Filter::In(f, vs) => lookup(m, f).is_some_and(|x| vs.iter().any(|v| json_eq(x, v))),
            Filter::Range {
                field,
                lower,
                upper,
            } => {
                let Some(x) = lookup(m, field) else {
                    return false;
                };
                let lo_ok = lower.as_ref().is_none_or(|(b, inc)| match json_cmp(x, b) {
                    Some(std::cmp::Ordering::Greater) => true,
                    Some(std::cmp::Ordering::Equal) => *inc,
                    _ => false,
                });
                let hi_ok = upper.as_ref().is_none_or(|(b, inc)| match json_cmp(x, b) {
                    Some(std::cmp::Ordering::Less) => true,
                    Some(std::cmp::Ordering::Equal) => *inc,
                    _ => false,
                });
                lo_ok && hi_ok
            }
            Filter::Exists(f) => lookup(m, f).is_some(),
            Filter::And(fs) => fs.iter().all(|f| f.eval(m, depth + 1)),
            Filter::Or(fs) => fs.iter().any(|f| f.eval(m, depth + 1)),
            Filter::Not(f) => depth < MAX_FILTER_DEPTH && !f.eval(m, depth + 1),
        }
    }
}

fn lookup<'a>(m: &'a Map<String, Json>, field: &str) -> Option<&'a Json> {
    if let Some(v) = m.get(field) {
        return Some(v);
    }
    let mut parts = field.split('.');
    let mut cur = m.get(parts.next()?)?;
    for p in parts {
        cur = cur.as_object()?.get(p)?;
    }
    Some(cur)
}

fn json_eq(a: &Json, b: &Json) -> bool {
    match (a, b) {
        (Json::Number(x), Json::Number(y)) => match (x.as_i64(), y.as_i64()) {
            (Some(i), Some(j)) => i == j,
            _ => x.as_f64() == y.as_f64(),
        },
        _ => a == b,
    }
}

fn json_cmp(a: &Json, b: &Json) -> Option<std::cmp::Ordering> {
    match (a, b) {
        (Json::Number(x), Json::Number(y)) => match (x.as_i64(), y.as_i64()) {
            (Some(i), Some(j)) => Some(i.cmp(&j)),
            _ => x.as_f64()?.partial_cmp(&y.as_f64()?),
        },
        (Json::String(x), Json::String(y)) => Some(x.cmp(y)),
        _ => None,
    }
}

/// The JSON filter syntax shared by every SDK and the C ABI.
impl Filter {
    /// Parses a filter written as a JSON object:
    ///
    /// - `{"lang": "en"}`: equality; several keys are AND-ed.
    /// - `{"year": {"$gte": 2020, "$lt": 2025}}`: ranges (`$gt`, `$gte`, `$lt`, `$lte`), `$eq`,
    ///   `$ne`, `$in: [..]`, `$nin: [..]`, `$exists: true|false`.
    /// - `{"$and": [f, ..]}`, `{"$or": [f, ..]}`, `{"$not": f}`.
    ///
    /// Unknown operators, wrong operand types and nesting deeper than 32 levels are
    /// [`Error::InvalidArgument`](crate::Error::InvalidArgument).
    ///
    /// ```
    /// use toondb::Filter;
    /// use serde_json::json;
    /// let f = Filter::from_json(&json!({"lang": "en", "year": {"$gte": 2020}})).unwrap();
    /// assert!(f.matches(json!({"lang": "en", "year": 2023}).as_object().unwrap()));
    /// assert!(Filter::from_json(&json!({"year": {"$regex": "a"}})).is_err());
    /// ```
    pub fn from_json(v: &Json) -> crate::Result<Filter> {
        parse_at(v, 0).map_err(crate::Error::InvalidArgument)
    }

    /// The JSON form of this filter, which [`Filter::from_json`] reads back to an equal
    /// filter (how a client sends a filter to a server). A filter nested deeper than
    /// [`Filter::from_json`] accepts is refused with
    /// [`Error::InvalidArgument`](crate::Error::InvalidArgument).
    ///
    /// ```
    /// use toondb::Filter;
    /// use serde_json::json;
    /// let f = Filter::from_json(&json!({"lang": "en", "year": {"$gte": 2020}})).unwrap();
    /// assert_eq!(Filter::from_json(&f.to_json().unwrap()).unwrap(), f);
    /// ```
    pub fn to_json(&self) -> crate::Result<Json> {
        to_json_at(self, 0).map_err(crate::Error::InvalidArgument)
    }
}

fn to_json_at(f: &Filter, depth: usize) -> Result<Json, String> {
    if depth > MAX_JSON_DEPTH {
        return Err(format!("filter nested deeper than {MAX_JSON_DEPTH}"));
    }
    let one = |k: &str, v: Json| {
        let mut m = Map::new();
        m.insert(k.to_string(), v);
        Json::Object(m)
    };
    Ok(match f {
        Filter::Eq(field, v) => one(field, one("$eq", v.clone())),
        Filter::In(field, vs) => one(field, one("$in", Json::Array(vs.clone()))),
        Filter::Range {
            field,
            lower,
            upper,
        } => {
            let mut ops = Map::new();
            if let Some((v, incl)) = lower {
                ops.insert(if *incl { "$gte" } else { "$gt" }.into(), v.clone());
            }
            if let Some((v, incl)) = upper {
                ops.insert(if *incl { "$lte" } else { "$lt" }.into(), v.clone());
            }
            if ops.is_empty() {
                // An unbounded range matches documents that have the field.
                one(field, one("$exists", Json::Bool(true)))
            } else {
                one(field, Json::Object(ops))
            }
        }
        Filter::Exists(field) => one(field, one("$exists", Json::Bool(true))),
        Filter::And(fs) | Filter::Or(fs) => {
            let items = fs
                .iter()
                .map(|f| to_json_at(f, depth + 1))
                .collect::<Result<Vec<_>, _>>()?;
            let k = if matches!(f, Filter::And(_)) {
                "$and"
            } else {
                "$or"
            };
            one(k, Json::Array(items))
        }
        Filter::Not(inner) => one("$not", to_json_at(inner, depth + 1)?),
    })
}

/// Deepest nesting accepted by [`Filter::from_json`].
const MAX_JSON_DEPTH: usize = 32;

fn parse_at(v: &Json, depth: usize) -> Result<Filter, String> {
    if depth > MAX_JSON_DEPTH {
        return Err(format!("filter nested deeper than {MAX_JSON_DEPTH}"));
    }
    let obj = v
        .as_object()
        .ok_or_else(|| "a filter must be an object".to_string())?;
    let mut parts = Vec::new();
    for (key, val) in obj {
        parts.push(match key.as_str() {
            "$and" | "$or" => {
                let arr = val
                    .as_array()
                    .ok_or_else(|| format!("{key} takes an array of filters"))?;
                let fs = arr
                    .iter()
                    .map(|f| parse_at(f, depth + 1))
                    .collect::<Result<Vec<_>, _>>()?;
                if key == "$and" {
                    Filter::And(fs)
                } else {
                    Filter::Or(fs)
                }
            }
            "$not" => Filter::not(parse_at(val, depth + 1)?),
            k if k.starts_with('$') => return Err(format!("unknown filter operator {k}")),
            field => match val {
                Json::Object(ops) if ops.keys().any(|k| k.starts_with('$')) => {
                    field_ops(field, ops)?
                }
                other => Filter::eq(field, other.clone()),
            },
        });
    }
    Ok(match parts.len() {
        1 => parts.remove(0),
        _ => Filter::And(parts),
    })
}

fn field_ops(field: &str, ops: &Map<String, Json>) -> Result<Filter, String> {
    let mut parts = Vec::new();
    let mut range: Option<Filter> = None;
    for (op, v) in ops {
        let r = || range.clone().unwrap_or_else(|| Filter::range(field));
        match op.as_str() {
            "$eq" => parts.push(Filter::eq(field, v.clone())),
            "$ne" => parts.push(Filter::not(Filter::eq(field, v.clone()))),
            "$in" | "$nin" => {
                let arr = v.as_array().ok_or_else(|| format!("{op} takes an array"))?;
                let f = Filter::is_in(field, arr.iter().cloned());
                parts.push(if op == "$in" { f } else { Filter::not(f) });
            }
            "$gt" => range = Some(r().gt(v.clone())),
            "$gte" => range = Some(r().gte(v.clone())),
            "$lt" => range = Some(r().lt(v.clone())),
            "$lte" => range = Some(r().lte(v.clone())),
            "$exists" => {
                let yes = v
                    .as_bool()
                    .ok_or_else(|| "$exists takes true or false".to_string())?;
                let f = Filter::exists(field);
                parts.push(if yes { f } else { Filter::not(f) });
            }
            other => return Err(format!("unknown filter operator {other}")),
        }
    }
    if let Some(r) = range {
        parts.push(r);
    }
    Ok(match parts.len() {
        1 => parts.remove(0),
        _ => Filter::And(parts),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn m(v: Json) -> Map<String, Json> {
        v.as_object().cloned().unwrap()
    }

    #[test]
    fn operators() {
        let d = m(json!({"a": 1, "b": "x", "c": 2.5, "n": {"k": true}, "z": null}));
        assert!(Filter::eq("a", 1.0).matches(&d));
        assert!(!Filter::eq("a", 2).matches(&d));
        assert!(Filter::eq("n.k", true).matches(&d));
        assert!(Filter::is_in("b", ["y", "x"]).matches(&d));
        assert!(Filter::range("c").gt(2).lte(2.5).matches(&d));
        assert!(!Filter::range("c").gt(2.5).matches(&d));
        assert!(!Filter::range("b").gt(0).matches(&d));
        assert!(Filter::range("b").gte("x").lt("y").matches(&d));
        assert!(Filter::exists("z").matches(&d));
        assert!(!Filter::exists("q").matches(&d));
        assert!(Filter::not(Filter::eq("q", 1)).matches(&d));
        assert!(Filter::eq("a", 1).and(Filter::eq("b", "x")).matches(&d));
        assert!(!Filter::eq("a", 1).and(Filter::eq("b", "y")).matches(&d));
        assert!(Filter::eq("a", 9).or(Filter::eq("b", "x")).matches(&d));
    }

    #[test]
    fn deep_filters_are_bounded() {
        let d = m(json!({"a": 1}));
        let mut f = Filter::exists("a");
        for _ in 0..500 {
            f = Filter::not(Filter::not(f));
        }
        // Too deep: evaluation stops (and matches nothing) instead of recursing further.
        assert!(!f.matches(&d));
        let shallow = Filter::not(Filter::not(Filter::exists("a")));
        assert!(shallow.matches(&d));
    }

    #[test]
    fn to_json_reads_back_equal_and_refuses_what_from_json_would() {
        let f = Filter::eq("lang", "en")
            .and(Filter::range("year").gte(2020).lt(2030))
            .and(Filter::not(Filter::is_in("tag", ["a", "b"])).or(Filter::exists("x")));
        assert_eq!(Filter::from_json(&f.to_json().unwrap()).unwrap(), f);
        let mut deep = Filter::exists("a");
        for _ in 0..=MAX_JSON_DEPTH {
            deep = Filter::not(deep);
        }
        let e = deep.to_json().unwrap_err();
        assert_eq!(e.kind(), crate::ErrorKind::InvalidArgument);
    }
}
