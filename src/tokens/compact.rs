//! The JWS compact serialization (RFC 7515 §7.1) of Ed25519-signed JSON tokens:
//! `base64url(header) "." base64url(payload) "." base64url(signature)`, unpadded.
//!
//! Only the framing lives here; which header and claims are acceptable is the caller's policy
//! (see [`super::access`]). It replaces a general JWT library on both sides: one pass over the
//! token, no intermediate JSON values, and only the code this format needs in the wasm build.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use ed25519_dalek::Signature;
use serde::Serialize;

use crate::keys::SigningKey;

/// A token split into its segments, with the header and payload base64-decoded. Nothing in it
/// is trusted until the signature has been checked over [`Compact::signing_input`].
#[derive(Debug)]
pub(crate) struct Compact<'a> {
    /// The decoded header JSON.
    pub header: Vec<u8>,
    /// The decoded payload JSON.
    pub payload: Vec<u8>,
    /// `header "." payload` exactly as received: what the signature covers.
    pub signing_input: &'a str,
    /// The decoded signature; `None` when it is not 64 bytes long.
    pub signature: Option<Signature>,
}

/// Why a token could not be split.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Malformed;

/// Splits `token` into exactly three segments and decodes them (strict unpadded base64url:
/// padding, the standard alphabet and non-canonical trailing bits are refused).
///
/// Every segment is public, so it is decoded with the table-driven `base64` engine rather than
/// the constant-time `base64ct` the crate uses for secrets: a quarter of the cost of a
/// verification outside the signature itself.
///
/// # Errors
/// [`Malformed`] for any other number of segments or a bad encoding.
pub(crate) fn split(token: &str) -> Result<Compact<'_>, Malformed> {
    let (signing_input, signature) = token.rsplit_once('.').ok_or(Malformed)?;
    let (header, payload) = signing_input.split_once('.').ok_or(Malformed)?;
    if payload.contains('.') {
        return Err(Malformed);
    }
    let header = URL_SAFE_NO_PAD.decode(header).map_err(|_| Malformed)?;
    let payload = URL_SAFE_NO_PAD.decode(payload).map_err(|_| Malformed)?;
    // 86 characters are exactly 64 bytes: decoded on the stack. Any other length is still
    // decoded, so that bad base64 is reported as malformed, but cannot be a signature.
    let mut raw = [0u8; 64];
    let signature = if signature.len() == 86 {
        URL_SAFE_NO_PAD
            .decode_slice(signature, &mut raw)
            .map_err(|_| Malformed)?;
        Some(Signature::from_bytes(&raw))
    } else {
        URL_SAFE_NO_PAD.decode(signature).map_err(|_| Malformed)?;
        None
    };
    Ok(Compact {
        header,
        payload,
        signing_input,
        signature,
    })
}

/// Serializes `header` and `payload` as JSON and signs them with `key`.
///
/// # Errors
/// The serializer's error when either value cannot be represented as JSON.
pub(crate) fn sign<H: Serialize, P: Serialize>(
    header: &H,
    payload: &P,
    key: &SigningKey,
) -> Result<String, serde_json::Error> {
    let header = serde_json::to_vec(header)?;
    let payload = serde_json::to_vec(payload)?;
    let mut token = URL_SAFE_NO_PAD.encode(header);
    token.push('.');
    URL_SAFE_NO_PAD.encode_string(payload, &mut token);
    let signature = key.sign(token.as_bytes());
    token.push('.');
    URL_SAFE_NO_PAD.encode_string(signature, &mut token);
    Ok(token)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // tests
mod tests {
    use super::*;

    fn key() -> SigningKey {
        SigningKey::from_seed(&[7u8; 32], None).unwrap()
    }

    #[test]
    fn sign_then_split_round_trips() {
        let token = sign(
            &serde_json::json!({"alg": "EdDSA"}),
            &serde_json::json!({"a": 1}),
            &key(),
        )
        .unwrap();
        let parts = split(&token).unwrap();
        assert_eq!(parts.header, br#"{"alg":"EdDSA"}"#);
        assert_eq!(parts.payload, br#"{"a":1}"#);
        let signature = parts.signature.unwrap();
        assert!(key()
            .public_key()
            .dalek()
            .verify_strict(parts.signing_input.as_bytes(), &signature)
            .is_ok());
        assert_eq!(token.matches('.').count(), 2);
    }

    #[test]
    fn wrong_segment_counts_and_encodings_are_malformed() {
        let token = sign(&1, &2, &key()).unwrap();
        let sig = token.rsplit_once('.').unwrap().1;
        for bad in [
            String::new(),
            "e30".into(),
            "e30.e30".into(),
            format!("{token}.e30"),
            format!("e30..e30.{sig}"),
            format!("e30.e30.{sig}="),
            format!("e30=.e30.{sig}"),
            format!("e3+.e30.{sig}"),
            format!("e3/.e30.{sig}"),
            format!("e31.e30.{sig}"),
            format!("e30.e3 0.{sig}"),
            format!("e30.e30.{sig}+"),
        ] {
            assert_eq!(split(&bad).map(|_| ()), Err(Malformed), "{bad:?}");
        }
        assert!(split(&format!("e30.e30.{sig}")).is_ok());
    }

    /// The fast decoder accepts exactly what the constant-time one does, byte for byte, on
    /// strings over the base64url alphabet plus the characters a mistaken encoder would emit.
    #[test]
    fn fast_decoder_agrees_with_base64ct() {
        use base64ct::{Base64UrlUnpadded, Encoding};
        const CHARS: &[u8] =
            b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_+/=. \n\xff";
        let mut state = 0x9e37_79b9_7f4a_7c15_u64;
        let mut next = || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        let (mut accepted, mut refused) = (0, 0);
        for _ in 0..200_000 {
            let len = usize::try_from(next() % 12).unwrap();
            let mut text = Vec::with_capacity(len);
            for _ in 0..len {
                // Mostly alphabet characters, so valid strings are common.
                let r = usize::try_from(next() % 1000).unwrap();
                text.push(if r < 980 {
                    CHARS[r % 64]
                } else {
                    CHARS[64 + r % 7]
                });
            }
            let text = String::from_utf8_lossy(&text);
            let fast = URL_SAFE_NO_PAD.decode(text.as_bytes()).ok();
            assert_eq!(fast, Base64UrlUnpadded::decode_vec(&text).ok(), "{text:?}");
            if fast.is_some() {
                accepted += 1;
            } else {
                refused += 1;
            }
        }
        assert!(
            accepted > 10_000 && refused > 10_000,
            "{accepted} / {refused}"
        );
    }

    #[test]
    fn signatures_of_the_wrong_length_decode_to_none() {
        for sig in ["", "AAAA", &"A".repeat(85 + 1 + 4), &"A".repeat(400)] {
            let token = format!("e30.e30.{sig}");
            assert!(split(&token).unwrap().signature.is_none(), "{}", sig.len());
        }
    }
}
