//! Canonical JSON written straight from a `Serialize` value: object keys
//! sorted by their bytes, no whitespace, strings and numbers as serde_json
//! writes them. The bytes are those of `serde_json::to_value` followed by a
//! sorted write of the `Value` (which node ids were first computed with),
//! without building the `Value`: a node id of the 530-crate graph spent
//! most of its time allocating one (issue #14).
//!
//! What `to_value` does is what this does: `None`, `()` and unit structs
//! are `null`; a newtype is its content; an enum variant with content is a
//! one-key object; bytes are an array of numbers; an `f32` is widened to
//! `f64`, and a non-finite float is `null`; a map key must be a string,
//! a `char`, a bool, a number or a unit variant (written as a string); a
//! key given twice keeps its last value.

use serde::ser::{self, Impossible, Serialize};
use std::fmt;

/// Why a value has no canonical JSON (a map key that is not a string,
/// an integer out of JSON's range, a `Serialize` impl's own error).
#[derive(Debug)]
pub(crate) struct Error(String);

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Error {}

impl ser::Error for Error {
    fn custom<T: fmt::Display>(msg: T) -> Self {
        Error(msg.to_string())
    }
}

/// Appends the canonical JSON of `value` to `out`.
pub(crate) fn write<T: Serialize + ?Sized>(value: &T, out: &mut Vec<u8>) -> Result<(), Error> {
    value.serialize(Canon(out))
}

/// A key or scalar as serde_json writes it, straight into `out` (a `Vec`
/// write cannot fail).
pub(crate) fn json_into<T: Serialize + ?Sized>(value: &T, out: &mut Vec<u8>) {
    let _ = serde_json::to_writer(out, value);
}

struct Canon<'a>(&'a mut Vec<u8>);

/// An array being written: elements go straight to the output.
struct Seq<'a> {
    out: &'a mut Vec<u8>,
    first: bool,
    /// `]` and, for a variant, the `}` of its one-key object.
    close: &'static [u8],
}

/// An object being written: its values are written one after another in
/// `values`, and the entries sorted by key when it ends.
struct Map<'a> {
    out: &'a mut Vec<u8>,
    values: Vec<u8>,
    entries: Vec<(String, std::ops::Range<usize>)>,
    key: Option<String>,
    /// Whether it is a variant's content (`{"Variant":{…}}`).
    in_variant: bool,
}

impl Canon<'_> {
    fn raw(self, bytes: &[u8]) -> Result<(), Error> {
        self.0.extend_from_slice(bytes);
        Ok(())
    }

    /// Opens `{"variant":`, the object an enum variant with content is.
    fn variant(&mut self, variant: &str) {
        self.0.push(b'{');
        json_into(variant, self.0);
        self.0.push(b':');
    }
}

impl<'a> ser::Serializer for Canon<'a> {
    type Ok = ();
    type Error = Error;
    type SerializeSeq = Seq<'a>;
    type SerializeTuple = Seq<'a>;
    type SerializeTupleStruct = Seq<'a>;
    type SerializeTupleVariant = Seq<'a>;
    type SerializeMap = Map<'a>;
    type SerializeStruct = Map<'a>;
    type SerializeStructVariant = Map<'a>;

    fn serialize_bool(self, v: bool) -> Result<(), Error> {
        self.raw(if v { b"true" } else { b"false" })
    }
    fn serialize_i8(self, v: i8) -> Result<(), Error> {
        self.serialize_i64(v.into())
    }
    fn serialize_i16(self, v: i16) -> Result<(), Error> {
        self.serialize_i64(v.into())
    }
    fn serialize_i32(self, v: i32) -> Result<(), Error> {
        self.serialize_i64(v.into())
    }
    fn serialize_i64(self, v: i64) -> Result<(), Error> {
        json_into(&v, self.0);
        Ok(())
    }
    fn serialize_i128(self, v: i128) -> Result<(), Error> {
        match (i64::try_from(v), u64::try_from(v)) {
            (Ok(v), _) => self.serialize_i64(v),
            (_, Ok(v)) => self.serialize_u64(v),
            _ => Err(Error("number out of range".into())),
        }
    }
    fn serialize_u8(self, v: u8) -> Result<(), Error> {
        self.serialize_u64(v.into())
    }
    fn serialize_u16(self, v: u16) -> Result<(), Error> {
        self.serialize_u64(v.into())
    }
    fn serialize_u32(self, v: u32) -> Result<(), Error> {
        self.serialize_u64(v.into())
    }
    fn serialize_u64(self, v: u64) -> Result<(), Error> {
        json_into(&v, self.0);
        Ok(())
    }
    fn serialize_u128(self, v: u128) -> Result<(), Error> {
        match u64::try_from(v) {
            Ok(v) => self.serialize_u64(v),
            Err(_) => Err(Error("number out of range".into())),
        }
    }
    fn serialize_f32(self, v: f32) -> Result<(), Error> {
        self.serialize_f64(v.into())
    }
    fn serialize_f64(self, v: f64) -> Result<(), Error> {
        json_into(&serde_json::Value::from(v), self.0);
        Ok(())
    }
    fn serialize_char(self, v: char) -> Result<(), Error> {
        self.serialize_str(v.encode_utf8(&mut [0; 4]))
    }
    fn serialize_str(self, v: &str) -> Result<(), Error> {
        json_into(v, self.0);
        Ok(())
    }
    fn serialize_bytes(self, v: &[u8]) -> Result<(), Error> {
        use ser::SerializeSeq;
        let mut seq = self.serialize_seq(Some(v.len()))?;
        for b in v {
            seq.serialize_element(b)?;
        }
        seq.end()
    }
    fn serialize_none(self) -> Result<(), Error> {
        self.raw(b"null")
    }
    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Result<(), Error> {
        value.serialize(self)
    }
    fn serialize_unit(self) -> Result<(), Error> {
        self.raw(b"null")
    }
    fn serialize_unit_struct(self, _: &'static str) -> Result<(), Error> {
        self.raw(b"null")
    }
    fn serialize_unit_variant(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
    ) -> Result<(), Error> {
        self.serialize_str(variant)
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        value: &T,
    ) -> Result<(), Error> {
        value.serialize(self)
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        mut self,
        _: &'static str,
        _: u32,
        variant: &'static str,
        value: &T,
    ) -> Result<(), Error> {
        self.variant(variant);
        value.serialize(Canon(self.0))?;
        self.raw(b"}")
    }
    fn serialize_seq(self, _: Option<usize>) -> Result<Seq<'a>, Error> {
        self.0.push(b'[');
        Ok(Seq {
            out: self.0,
            first: true,
            close: b"]",
        })
    }
    fn serialize_tuple(self, len: usize) -> Result<Seq<'a>, Error> {
        self.serialize_seq(Some(len))
    }
    fn serialize_tuple_struct(self, _: &'static str, len: usize) -> Result<Seq<'a>, Error> {
        self.serialize_seq(Some(len))
    }
    fn serialize_tuple_variant(
        mut self,
        _: &'static str,
        _: u32,
        variant: &'static str,
        _: usize,
    ) -> Result<Seq<'a>, Error> {
        self.variant(variant);
        self.0.push(b'[');
        Ok(Seq {
            out: self.0,
            first: true,
            close: b"]}",
        })
    }
    fn serialize_map(self, _: Option<usize>) -> Result<Map<'a>, Error> {
        Ok(Map {
            out: self.0,
            values: Vec::new(),
            entries: Vec::new(),
            key: None,
            in_variant: false,
        })
    }
    fn serialize_struct(self, _: &'static str, len: usize) -> Result<Map<'a>, Error> {
        self.serialize_map(Some(len))
    }
    fn serialize_struct_variant(
        mut self,
        _: &'static str,
        _: u32,
        variant: &'static str,
        _: usize,
    ) -> Result<Map<'a>, Error> {
        self.variant(variant);
        let mut map = self.serialize_map(None)?;
        map.in_variant = true;
        Ok(map)
    }
}

impl Seq<'_> {
    fn element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Error> {
        if !std::mem::take(&mut self.first) {
            self.out.push(b',');
        }
        value.serialize(Canon(self.out))
    }
    fn close(self) -> Result<(), Error> {
        self.out.extend_from_slice(self.close);
        Ok(())
    }
}

macro_rules! seq_like {
    ($($trait:ident :: $method:ident),*) => {$(
        impl ser::$trait for Seq<'_> {
            type Ok = ();
            type Error = Error;
            fn $method<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Error> {
                self.element(value)
            }
            fn end(self) -> Result<(), Error> {
                self.close()
            }
        }
    )*};
}
seq_like!(
    SerializeSeq::serialize_element,
    SerializeTuple::serialize_element,
    SerializeTupleStruct::serialize_field,
    SerializeTupleVariant::serialize_field
);

impl Map<'_> {
    fn entry<T: Serialize + ?Sized>(&mut self, key: String, value: &T) -> Result<(), Error> {
        let start = self.values.len();
        value.serialize(Canon(&mut self.values))?;
        self.entries.push((key, start..self.values.len()));
        Ok(())
    }

    /// Writes the entries sorted by key (a key given twice: its last value).
    fn close(mut self) -> Result<(), Error> {
        self.entries.sort_by(|a, b| a.0.cmp(&b.0));
        self.out.push(b'{');
        let mut first = true;
        for (i, (key, range)) in self.entries.iter().enumerate() {
            if self.entries.get(i + 1).is_some_and(|next| next.0 == *key) {
                continue;
            }
            if !std::mem::take(&mut first) {
                self.out.push(b',');
            }
            json_into(key.as_str(), self.out);
            self.out.push(b':');
            self.out.extend_from_slice(&self.values[range.clone()]);
        }
        self.out.push(b'}');
        if self.in_variant {
            self.out.push(b'}');
        }
        Ok(())
    }
}

impl ser::SerializeMap for Map<'_> {
    type Ok = ();
    type Error = Error;
    fn serialize_key<T: Serialize + ?Sized>(&mut self, key: &T) -> Result<(), Error> {
        self.key = Some(key.serialize(KeyString)?);
        Ok(())
    }
    fn serialize_value<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Error> {
        let key = self
            .key
            .take()
            .ok_or_else(|| Error("a map value without its key".into()))?;
        self.entry(key, value)
    }
    fn end(self) -> Result<(), Error> {
        self.close()
    }
}

macro_rules! struct_like {
    ($($trait:ident),*) => {$(
        impl ser::$trait for Map<'_> {
            type Ok = ();
            type Error = Error;
            fn serialize_field<T: Serialize + ?Sized>(&mut self, key: &'static str, value: &T) -> Result<(), Error> {
                self.entry(key.to_owned(), value)
            }
            fn end(self) -> Result<(), Error> {
                self.close()
            }
        }
    )*};
}
struct_like!(SerializeStruct, SerializeStructVariant);

/// A map key as the string serde_json's `Value` makes of it.
struct KeyString;

fn key_error() -> Error {
    Error("key must be a string".into())
}

/// A finite float key, as serde_json writes the float.
fn float_key<T: Serialize>(finite: bool, v: &T) -> Result<String, Error> {
    match finite {
        true => serde_json::to_string(v).map_err(|e| Error(e.to_string())),
        false => Err(Error("float key must be finite (got NaN or +/-inf)".into())),
    }
}

impl ser::Serializer for KeyString {
    type Ok = String;
    type Error = Error;
    type SerializeSeq = Impossible<String, Error>;
    type SerializeTuple = Impossible<String, Error>;
    type SerializeTupleStruct = Impossible<String, Error>;
    type SerializeTupleVariant = Impossible<String, Error>;
    type SerializeMap = Impossible<String, Error>;
    type SerializeStruct = Impossible<String, Error>;
    type SerializeStructVariant = Impossible<String, Error>;

    fn serialize_str(self, v: &str) -> Result<String, Error> {
        Ok(v.to_owned())
    }
    fn serialize_char(self, v: char) -> Result<String, Error> {
        Ok(v.to_string())
    }
    fn serialize_bool(self, v: bool) -> Result<String, Error> {
        Ok(v.to_string())
    }
    fn serialize_i8(self, v: i8) -> Result<String, Error> {
        Ok(v.to_string())
    }
    fn serialize_i16(self, v: i16) -> Result<String, Error> {
        Ok(v.to_string())
    }
    fn serialize_i32(self, v: i32) -> Result<String, Error> {
        Ok(v.to_string())
    }
    fn serialize_i64(self, v: i64) -> Result<String, Error> {
        Ok(v.to_string())
    }
    fn serialize_i128(self, v: i128) -> Result<String, Error> {
        Ok(v.to_string())
    }
    fn serialize_u8(self, v: u8) -> Result<String, Error> {
        Ok(v.to_string())
    }
    fn serialize_u16(self, v: u16) -> Result<String, Error> {
        Ok(v.to_string())
    }
    fn serialize_u32(self, v: u32) -> Result<String, Error> {
        Ok(v.to_string())
    }
    fn serialize_u64(self, v: u64) -> Result<String, Error> {
        Ok(v.to_string())
    }
    fn serialize_u128(self, v: u128) -> Result<String, Error> {
        Ok(v.to_string())
    }
    fn serialize_unit_variant(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
    ) -> Result<String, Error> {
        Ok(variant.to_owned())
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        value: &T,
    ) -> Result<String, Error> {
        value.serialize(self)
    }
    fn serialize_f32(self, v: f32) -> Result<String, Error> {
        float_key(v.is_finite(), &v)
    }
    fn serialize_f64(self, v: f64) -> Result<String, Error> {
        float_key(v.is_finite(), &v)
    }
    fn serialize_bytes(self, _: &[u8]) -> Result<String, Error> {
        Err(key_error())
    }
    fn serialize_none(self) -> Result<String, Error> {
        Err(key_error())
    }
    fn serialize_some<T: Serialize + ?Sized>(self, _: &T) -> Result<String, Error> {
        Err(key_error())
    }
    fn serialize_unit(self) -> Result<String, Error> {
        Err(key_error())
    }
    fn serialize_unit_struct(self, _: &'static str) -> Result<String, Error> {
        Err(key_error())
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: &T,
    ) -> Result<String, Error> {
        Err(key_error())
    }
    fn serialize_seq(self, _: Option<usize>) -> Result<Self::SerializeSeq, Error> {
        Err(key_error())
    }
    fn serialize_tuple(self, _: usize) -> Result<Self::SerializeTuple, Error> {
        Err(key_error())
    }
    fn serialize_tuple_struct(
        self,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeTupleStruct, Error> {
        Err(key_error())
    }
    fn serialize_tuple_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeTupleVariant, Error> {
        Err(key_error())
    }
    fn serialize_map(self, _: Option<usize>) -> Result<Self::SerializeMap, Error> {
        Err(key_error())
    }
    fn serialize_struct(self, _: &'static str, _: usize) -> Result<Self::SerializeStruct, Error> {
        Err(key_error())
    }
    fn serialize_struct_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeStructVariant, Error> {
        Err(key_error())
    }
}

#[cfg(test)]
mod tests {
    use serde::Serialize;
    use serde_json::Value;
    use std::collections::BTreeMap;

    /// How ids were first computed: `to_value`, then the value written
    /// with each object's keys sorted.
    fn through_value<T: Serialize>(value: &T) -> Result<Vec<u8>, String> {
        fn write(value: &Value, out: &mut Vec<u8>) {
            match value {
                Value::Object(map) => {
                    let mut entries: Vec<_> = map.iter().collect();
                    entries.sort_by(|a, b| a.0.cmp(b.0));
                    out.push(b'{');
                    for (i, (k, v)) in entries.into_iter().enumerate() {
                        if i > 0 {
                            out.push(b',');
                        }
                        serde_json::to_writer(&mut *out, k).unwrap();
                        out.push(b':');
                        write(v, out);
                    }
                    out.push(b'}');
                }
                Value::Array(items) => {
                    out.push(b'[');
                    for (i, item) in items.iter().enumerate() {
                        if i > 0 {
                            out.push(b',');
                        }
                        write(item, out);
                    }
                    out.push(b']');
                }
                other => serde_json::to_writer(&mut *out, other).unwrap(),
            }
        }
        let value = serde_json::to_value(value).map_err(|e| e.to_string())?;
        let mut out = Vec::new();
        write(&value, &mut out);
        Ok(out)
    }

    fn direct<T: Serialize>(value: &T) -> Result<Vec<u8>, String> {
        let mut out = Vec::new();
        super::write(value, &mut out).map_err(|e| e.to_string())?;
        Ok(out)
    }

    fn same<T: Serialize>(value: &T) {
        let expected = through_value(value).expect("the value path accepts it");
        assert_eq!(
            String::from_utf8_lossy(&direct(value).unwrap()),
            String::from_utf8_lossy(&expected)
        );
    }

    #[derive(Serialize)]
    struct Unit;

    #[derive(Serialize)]
    struct Newtype(u8);

    #[derive(Serialize)]
    enum Shape {
        Plain,
        Wrapped(String),
        Pair(u8, Option<u8>),
        Named { zeta: bool, alpha: Vec<Shape> },
    }

    #[derive(Serialize)]
    #[serde(rename_all = "kebab-case")]
    struct Recipe {
        kind: String,
        skipped_when_none: Option<String>,
        #[serde(skip_serializing_if = "Option::is_none")]
        left_out: Option<String>,
        #[serde(flatten)]
        rest: BTreeMap<String, Value>,
        env: BTreeMap<String, String>,
        shapes: Vec<Shape>,
        unit: Unit,
        newtype: Newtype,
        tuple: (i8, u64, char, ()),
        #[serde(with = "serde_bytes_like")]
        bytes: Vec<u8>,
        floats: (f32, f64, f64),
    }

    mod serde_bytes_like {
        pub fn serialize<S: serde::Serializer>(v: &[u8], s: S) -> Result<S::Ok, S::Error> {
            s.serialize_bytes(v)
        }
    }

    #[test]
    fn writes_the_bytes_the_value_path_wrote() {
        let rest = serde_json::json!({
            "zz": {"é": [1, -2.5, null], "a": {"b": {}, "a": []}},
            "A": "x\"y\\\n\u{1}\u{7f}é😀/",
            "kind2": u64::MAX,
        });
        let recipe = Recipe {
            kind: "npm-app/2".into(),
            skipped_when_none: None,
            left_out: None,
            rest: serde_json::from_value(rest).unwrap(),
            env: [("PATH".into(), "/bin".into()), ("A_B".into(), "".into())].into(),
            shapes: vec![
                Shape::Plain,
                Shape::Wrapped("w".into()),
                Shape::Pair(1, None),
                Shape::Named {
                    zeta: true,
                    alpha: vec![Shape::Pair(2, Some(3))],
                },
            ],
            unit: Unit,
            newtype: Newtype(7),
            tuple: (-8, 9, 'ç', ()),
            bytes: vec![0, 255],
            floats: (0.1, 1e21, f64::NAN),
        };
        same(&recipe);
        same(&Vec::<u8>::new());
        same(&BTreeMap::<String, u8>::new());
        same(&"plain");
        same(&Some(1));
    }

    /// A map with float keys (no std map has them).
    struct FloatKeys(Vec<(f64, u8)>);

    impl Serialize for FloatKeys {
        fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
            s.collect_map(self.0.iter().map(|(k, v)| (k, v)))
        }
    }

    #[test]
    fn keys_that_are_not_strings_are_written_as_the_value_path_wrote_them() {
        same(&BTreeMap::from([(10, "ten"), (9, "nine"), (-1, "minus")]));
        same(&BTreeMap::from([(true, 1), (false, 0)]));
        same(&BTreeMap::from([('b', 1), ('a', 0)]));
        same(&FloatKeys(vec![(1.5f32.into(), 1), (-0.0, 2), (1e21, 3)]));
        #[derive(Serialize, PartialEq, Eq, PartialOrd, Ord)]
        enum Key {
            Second,
            First,
        }
        same(&BTreeMap::from([(Key::Second, 2), (Key::First, 1)]));
        // Keys neither path can write.
        for bad in [
            direct(&BTreeMap::from([(vec![1], 1)])),
            direct(&FloatKeys(vec![(f64::NAN, 1)])),
        ] {
            assert!(bad.is_err());
        }
        assert!(through_value(&BTreeMap::from([(vec![1], 1)])).is_err());
        assert!(through_value(&FloatKeys(vec![(f64::NAN, 1)])).is_err());
    }

    #[test]
    fn a_key_given_twice_keeps_its_last_value() {
        #[derive(Serialize)]
        struct Twice {
            kind: &'static str,
            #[serde(flatten)]
            rest: BTreeMap<&'static str, &'static str>,
        }
        let twice = Twice {
            kind: "first",
            rest: BTreeMap::from([("kind", "second"), ("a", "b")]),
        };
        same(&twice);
        assert_eq!(direct(&twice).unwrap(), br#"{"a":"b","kind":"second"}"#);
    }

    #[test]
    fn numbers_out_of_range_are_refused_as_the_value_path_refuses_them() {
        assert!(through_value(&u128::MAX).is_err());
        assert!(direct(&u128::MAX).is_err());
        assert!(direct(&i128::MIN).is_err());
        same(&(i128::from(i64::MIN), u128::from(u64::MAX)));
    }
}
