//! Bytes <-> inputs: the decoding is `arbitrary`'s (derived on the action types), the encoding is a
//! hand-written mirror of it, so seed inputs can be written as action sequences.
//!
//! The format is the one `arbitrary` 1.x defines for the types used here, and nothing more:
//! integers are little-endian and zero-filled when the bytes run out; `bool` is the low bit of one
//! byte; `Option<T>` is a `bool` then `T`; an enum variant is a `u32` `v` mapped to
//! `(v * variant_count) >> 32`; a bounded vector (ours, [`bounded_vec`]) is a "keep going" `bool`
//! before each element, with no terminator once the bound is reached. A top-level input is a list
//! of elements read until the bytes run out ([`take_rest_vec`]).
//!
//! Tests check `decode(encode(x)) == x` for every seed, so a change of `arbitrary`'s format (a
//! Cargo.lock bump) shows up as a test failure, not as a silently different corpus.

use arbitrary::{Arbitrary, Unstructured};

/// Writes a value in the byte format `arbitrary` reads it from.
pub trait Encode {
    fn encode(&self, out: &mut Vec<u8>);
}

macro_rules! encode_le {
    ($($ty:ty),*) => {
        $(impl Encode for $ty {
            fn encode(&self, out: &mut Vec<u8>) {
                out.extend_from_slice(&self.to_le_bytes());
            }
        })*
    };
}

encode_le!(u8, u16, u32, u64, i8, i16, i32, i64);

impl Encode for bool {
    fn encode(&self, out: &mut Vec<u8>) {
        out.push(u8::from(*self));
    }
}

impl<T: Encode> Encode for Option<T> {
    fn encode(&self, out: &mut Vec<u8>) {
        self.is_some().encode(out);
        if let Some(value) = self {
            value.encode(out);
        }
    }
}

impl<T: Encode> Encode for Box<T> {
    fn encode(&self, out: &mut Vec<u8>) {
        (**self).encode(out);
    }
}

/// Writes the `u32` that derived `Arbitrary` maps to variant `index` of an enum with `count`
/// variants: the smallest `v` with `(v * count) >> 32 == index`.
pub fn encode_variant(out: &mut Vec<u8>, index: u32, count: u32) {
    assert!(count > 0, "an enum has at least one variant");
    assert!(index < count, "variant {index} of an enum with {count}");
    let v = ((u64::from(index)) << 32).div_ceil(u64::from(count));
    let v = u32::try_from(v).expect("the variant selector fits a u32");
    assert_eq!((u64::from(v) * u64::from(count)) >> 32, u64::from(index));
    v.encode(out);
}

/// Decodes a vector of at most `MAX` elements: a "keep going" flag before each element.
pub fn bounded_vec<'a, T: Arbitrary<'a>, const MAX: usize>(
    u: &mut Unstructured<'a>,
) -> arbitrary::Result<Vec<T>> {
    let mut items = Vec::new();
    let mut iter = u.arbitrary_iter::<T>()?;
    while items.len() < MAX {
        match iter.next() {
            Some(item) => items.push(item?),
            None => break,
        }
    }
    assert!(items.len() <= MAX);
    Ok(items)
}

/// Encodes what [`bounded_vec`] decodes.
pub fn encode_bounded_vec<T: Encode>(items: &[T], max: usize, out: &mut Vec<u8>) {
    assert!(
        items.len() <= max,
        "{} elements for a vector bounded at {max}",
        items.len()
    );
    for item in items {
        true.encode(out);
        item.encode(out);
    }
    if items.len() < max {
        false.encode(out);
    }
}

/// Decodes a top-level list: elements until the bytes run out or `max` are read. A partial last
/// element is completed with zero bytes, as `arbitrary` does.
pub fn take_rest_vec<'a, T: Arbitrary<'a>>(
    mut u: Unstructured<'a>,
    max: usize,
) -> arbitrary::Result<Vec<T>> {
    let mut items = Vec::new();
    while !u.is_empty() && items.len() < max {
        items.push(T::arbitrary(&mut u)?);
    }
    assert!(items.len() <= max);
    Ok(items)
}

/// Encodes what [`take_rest_vec`] decodes.
pub fn encode_take_rest_vec<T: Encode>(items: &[T], max: usize) -> Vec<u8> {
    assert!(
        items.len() <= max,
        "{} elements for a list bounded at {max}",
        items.len()
    );
    let mut out = Vec::new();
    for item in items {
        let before = out.len();
        item.encode(&mut out);
        // An element that encodes to nothing would end the list early when decoded.
        assert!(out.len() > before, "an element encoded to no bytes");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Arbitrary, Debug, PartialEq)]
    enum Three {
        A,
        B(u8),
        C { x: i32, y: Option<u16> },
    }

    impl Encode for Three {
        fn encode(&self, out: &mut Vec<u8>) {
            match self {
                Three::A => encode_variant(out, 0, 3),
                Three::B(b) => {
                    encode_variant(out, 1, 3);
                    b.encode(out);
                }
                Three::C { x, y } => {
                    encode_variant(out, 2, 3);
                    x.encode(out);
                    y.encode(out);
                }
            }
        }
    }

    #[test]
    fn variant_selector_round_trips_for_every_index_and_count() {
        for count in 1..=40u32 {
            for index in 0..count {
                let mut out = Vec::new();
                encode_variant(&mut out, index, count);
                let v = u32::from_le_bytes(out.try_into().unwrap());
                assert_eq!((u64::from(v) * u64::from(count)) >> 32, u64::from(index));
            }
        }
    }

    #[test]
    fn derived_enum_and_bounded_vec_decode_what_was_encoded() {
        let values = vec![
            Three::A,
            Three::B(7),
            Three::C {
                x: -5,
                y: Some(300),
            },
        ];
        for max in 3..5 {
            let mut out = Vec::new();
            encode_bounded_vec(&values, max, &mut out);
            let mut u = Unstructured::new(&out);
            let back: Vec<Three> = match max {
                3 => bounded_vec::<Three, 3>(&mut u).unwrap(),
                _ => bounded_vec::<Three, 4>(&mut u).unwrap(),
            };
            assert_eq!(back, values);
            assert!(u.is_empty(), "every byte consumed (max {max})");
        }
        let bytes = encode_take_rest_vec(&values, 8);
        let back: Vec<Three> = take_rest_vec(Unstructured::new(&bytes), 8).unwrap();
        assert_eq!(back, values);
    }

    #[test]
    fn exhausted_bytes_decode_as_zeros() {
        let mut u = Unstructured::new(&[]);
        assert_eq!(Three::arbitrary(&mut u).unwrap(), Three::A);
        let none: Vec<Three> = bounded_vec::<Three, 4>(&mut u).unwrap();
        assert!(none.is_empty());
    }
}
