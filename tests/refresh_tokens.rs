//! Refresh tokens: the one canonical encoding `wgrt1.<uuid>.<secret>`, refusal of every other
//! spelling, redacted `Debug`, hash equality, and sealing successors.

use base64ct::{Base64Unpadded, Base64UrlUnpadded, Encoding};
use sha2::{Digest, Sha256};
use webgates_sessions::random::SeededRandom;
use webgates_sessions::session::SessionId;
use webgates_sessions::tokens::refresh::{
    MalformedRefreshToken, RefreshSecret, RefreshToken, SealedSecret, SecretHash,
    REFRESH_TOKEN_LEN, REFRESH_TOKEN_PREFIX, SECRET_BYTES,
};

const B64URL: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

fn token(seed: u64) -> RefreshToken {
    let rng = SeededRandom::new(seed);
    RefreshToken::new(
        SessionId::generate(&rng).expect("sid"),
        RefreshSecret::generate(&rng).expect("secret"),
    )
}

/// `(prefix, sid, secret)` of an encoded token.
fn parts(encoded: &str) -> (&str, &str, &str) {
    let mut it = encoded.splitn(3, '.');
    let p = it.next().expect("prefix");
    let s = it.next().expect("sid");
    let x = it.next().expect("secret");
    (p, s, x)
}

fn secret_bytes(secret: &RefreshSecret) -> [u8; SECRET_BYTES] {
    let encoded = RefreshToken::new(
        SessionId::generate(&SeededRandom::new(0)).expect("sid"),
        secret.clone(),
    )
    .encode();
    let (_, _, b64) = parts(&encoded);
    let mut out = [0u8; SECRET_BYTES];
    let n = Base64UrlUnpadded::decode(b64, &mut out)
        .expect("canonical")
        .len();
    assert_eq!(n, SECRET_BYTES);
    out
}

#[track_caller]
fn refused(s: &str, what: &str) {
    match RefreshToken::parse(s) {
        Err(MalformedRefreshToken) => {}
        Ok(t) => panic!("{what}: accepted {:?} as {t:?}", truncate(s)),
    }
}

fn truncate(s: &str) -> String {
    s.chars().take(120).collect()
}

// ---------------------------------------------------------------------------------------------
// The canonical encoding
// ---------------------------------------------------------------------------------------------

#[test]
fn encode_parse_round_trip() -> Result<(), webgates_sessions::Error> {
    let rng = SeededRandom::new(42);
    let sid = SessionId::generate(&rng)?;
    let secret = RefreshSecret::generate(&rng)?;
    let hash = secret.hash();
    let tok = RefreshToken::new(sid, secret);
    assert_eq!(tok.session_id(), sid);
    assert_eq!(tok.secret().hash(), hash);

    let encoded = tok.encode();
    let parsed = RefreshToken::parse(&encoded).expect("canonical token parses");
    assert_eq!(parsed.session_id(), sid);
    assert_eq!(parsed.secret().hash(), hash);
    assert_eq!(parsed.encode(), encoded, "re-encoding is stable");
    Ok(())
}

#[test]
fn encoding_has_the_exact_canonical_shape() {
    assert_eq!(REFRESH_TOKEN_PREFIX, "wgrt1");
    assert_eq!(REFRESH_TOKEN_LEN, 5 + 1 + 36 + 1 + 43);
    for seed in 0..64 {
        let tok = token(seed);
        let encoded = tok.encode();
        assert_eq!(encoded.len(), REFRESH_TOKEN_LEN);
        assert!(encoded.is_ascii());
        let (prefix, sid, secret) = parts(&encoded);
        assert_eq!(prefix, "wgrt1");

        assert_eq!(sid, tok.session_id().to_string());
        assert_eq!(sid.len(), 36);
        for (i, c) in sid.char_indices() {
            if matches!(i, 8 | 13 | 18 | 23) {
                assert_eq!(c, '-', "{sid}");
            } else {
                assert!(matches!(c, '0'..='9' | 'a'..='f'), "{sid}");
            }
        }
        // A random (v4, RFC 4122 variant) UUID.
        assert_eq!(&sid[14..15], "4", "{sid}");
        assert!(matches!(&sid[19..20], "8" | "9" | "a" | "b"), "{sid}");

        assert_eq!(secret.len(), 43);
        assert!(secret.bytes().all(|b| B64URL.contains(&b)), "{secret}");
        // The last character carries 4 data bits and 2 zero bits.
        let last = B64URL
            .iter()
            .position(|&b| b == *secret.as_bytes().last().expect("last"))
            .expect("alphabet");
        assert_eq!(last & 0b11, 0, "{secret}");
        assert_eq!(
            secret,
            Base64UrlUnpadded::encode_string(&secret_bytes(tok.secret()))
        );
    }
}

#[test]
fn tokens_from_different_seeds_differ() {
    let a = token(1).encode();
    let b = token(2).encode();
    assert_ne!(parts(&a).1, parts(&b).1);
    assert_ne!(parts(&a).2, parts(&b).2);
}

// ---------------------------------------------------------------------------------------------
// Every non-canonical spelling is refused
// ---------------------------------------------------------------------------------------------

/// A token whose session id has at least one letter and whose secret has both a '-' and a '_',
/// so case and alphabet variants really change the string.
fn varied_token() -> String {
    (0..10_000)
        .map(|seed| token(seed).encode())
        .find(|t| {
            let (_, sid, secret) = parts(t);
            sid.bytes().any(|b| b.is_ascii_lowercase())
                && secret.contains('-')
                && secret.contains('_')
        })
        .expect("some seed gives a varied token")
}

#[test]
fn uuid_variants_are_refused() {
    let t = varied_token();
    let (_, sid, secret) = parts(&t);
    let uuid = uuid::Uuid::parse_str(sid).expect("uuid");
    assert!(RefreshToken::parse(&t).is_ok());

    let upper = format!("wgrt1.{}.{secret}", sid.to_ascii_uppercase());
    assert_ne!(upper, t);
    refused(&upper, "uppercase uuid");

    // Only one letter uppercased.
    let i = sid.find(|c: char| c.is_ascii_lowercase()).expect("letter");
    let mut mixed = sid.to_owned();
    mixed.replace_range(i..=i, &sid[i..=i].to_ascii_uppercase());
    refused(&format!("wgrt1.{mixed}.{secret}"), "one uppercase letter");

    let braced = uuid.braced().to_string();
    let simple = uuid.simple().to_string();
    let urn = uuid.urn().to_string();
    assert_eq!(braced.len(), 38);
    assert_eq!(simple.len(), 32);
    for (form, what) in [
        (&braced, "braced"),
        (&simple, "simple"),
        (&urn, "urn"),
        (&braced.to_ascii_uppercase(), "braced upper"),
    ] {
        refused(&format!("wgrt1.{form}.{secret}"), what);
    }

    // The same forms with the total length kept at REFRESH_TOKEN_LEN, so the length check alone
    // cannot be what refuses them.
    let simple_same_len = format!("wgrt1.{simple}.{secret}ABCD");
    assert_eq!(simple_same_len.len(), REFRESH_TOKEN_LEN);
    refused(&simple_same_len, "simple uuid, padded secret");
    let braced_same_len = format!("wgrt1.{braced}.{}", &secret[..41]);
    assert_eq!(braced_same_len.len(), REFRESH_TOKEN_LEN);
    refused(&braced_same_len, "braced uuid, short secret");
    // Hyphens moved or replaced keep the length.
    let no_hyphens_padded = format!("wgrt1.{simple}0000.{secret}");
    assert_eq!(no_hyphens_padded.len(), REFRESH_TOKEN_LEN);
    refused(&no_hyphens_padded, "36 hex digits without hyphens");
    let mut moved = sid.to_owned();
    moved.replace_range(8..10, &format!("{}-", &sid[9..10]));
    assert_eq!(moved.len(), 36);
    refused(&format!("wgrt1.{moved}.{secret}"), "hyphen moved");
    // A nil UUID is lowercase-hyphenated and 36 chars: it is canonical (not a format issue).
    let nil = format!("wgrt1.{}.{secret}", uuid::Uuid::nil());
    assert!(RefreshToken::parse(&nil).is_ok());
}

#[test]
fn prefix_variants_are_refused() {
    let t = varied_token();
    let rest = &t["wgrt1".len()..]; // ".<sid>.<secret>"
    for prefix in [
        "WGRT1", "Wgrt1", "wgrT1", "wgrt2", "wgrt0", "xgrt1", "wgrtl", "wgrt", "wgrt11", "",
    ] {
        refused(&format!("{prefix}{rest}"), prefix);
    }
    // Same length, different separator after the prefix.
    for sep in [":", "_", "-", "x", "/"] {
        refused(&format!("wgrt1{sep}{}", &rest[1..]), sep);
    }
}

#[test]
fn dot_variants_are_refused() {
    let t = varied_token();
    let (_, sid, secret) = parts(&t);
    for (s, what) in [
        (format!("wgrt1{sid}.{secret}"), "first dot missing"),
        (format!("wgrt1.{sid}{secret}"), "second dot missing"),
        (format!("wgrt1{sid}{secret}"), "both dots missing"),
        (format!("wgrt1..{sid}.{secret}"), "double first dot"),
        (format!("wgrt1.{sid}..{secret}"), "double second dot"),
        (format!("wgrt1.{sid}.{secret}."), "trailing dot"),
        (format!(".wgrt1.{sid}.{secret}"), "leading dot"),
        // Length preserved:
        (format!("wgrt1.{sid}.{}.", &secret[..42]), "last char a dot"),
        (
            format!("wgrt1.{sid}.{}.{}", &secret[..20], &secret[21..]),
            "dot inside secret",
        ),
        (
            format!("wgrt1.{}.{}.{secret}", &sid[..8], &sid[9..]),
            "dot for a uuid hyphen",
        ),
        (format!("wgrt1x{sid}.{secret}"), "first dot replaced"),
        (format!("wgrt1.{sid}x{secret}"), "second dot replaced"),
        (format!("wgrt1.{sid}-{secret}"), "second dot as hyphen"),
    ] {
        refused(&s, what);
    }
}

#[test]
fn secret_alphabet_and_length_variants_are_refused() {
    let t = varied_token();
    let (_, sid, secret) = parts(&t);
    let with = |sec: &str| format!("wgrt1.{sid}.{sec}");

    refused(&with(&format!("{secret}=")), "'=' padding (44 chars)");
    refused(
        &with(&format!("{}=", &secret[..42])),
        "'=' as the last char",
    );
    refused(&with(&format!("{}==", &secret[..41])), "'==' at the end");
    refused(&with(&secret[..42]), "42 chars");
    refused(&with(&format!("{secret}A")), "44 chars");
    refused(
        &with(&format!("{}AA", &secret[..42])),
        "44 chars, same prefix",
    );
    refused(&with(""), "empty secret");

    // The standard-alphabet spelling of the very same bytes.
    let bytes = {
        let mut b = [0u8; SECRET_BYTES];
        Base64UrlUnpadded::decode(secret, &mut b).expect("canonical");
        b
    };
    let standard = Base64Unpadded::encode_string(&bytes);
    assert_eq!(standard, secret.replace('-', "+").replace('_', "/"));
    assert_ne!(standard, secret);
    refused(&with(&standard), "standard base64 of the same bytes");
    // Single substitutions.
    let dash = secret.find('-').expect("has '-'");
    let under = secret.find('_').expect("has '_'");
    let mut plus = secret.to_owned();
    plus.replace_range(dash..=dash, "+");
    refused(&with(&plus), "one '+'");
    let mut slash = secret.to_owned();
    slash.replace_range(under..=under, "/");
    refused(&with(&slash), "one '/'");
    for bad in ['+', '/', '=', '.', '~', '!', '*', '%', '"', '\\'] {
        let mut s = secret.to_owned();
        s.replace_range(10..11, &bad.to_string());
        refused(&with(&s), &format!("char {bad:?} inside"));
    }
}

#[test]
fn non_canonical_final_character_is_refused() {
    // 43 chars carry 258 bits for 256: the final character's two low bits are unused and must be
    // zero. Setting them changes the character but not the decoded bytes of a lax decoder.
    let mut checked = 0;
    for seed in 0..256 {
        let t = token(seed).encode();
        let (_, sid, secret) = parts(&t);
        let last = *secret.as_bytes().last().expect("last");
        let idx = B64URL.iter().position(|&b| b == last).expect("alphabet");
        assert_eq!(idx & 0b11, 0);
        for low in 1..=3 {
            let alt = char::from(B64URL[idx | low]);
            let variant = format!("wgrt1.{sid}.{}{alt}", &secret[..42]);
            assert_eq!(variant.len(), REFRESH_TOKEN_LEN);
            assert_ne!(variant, t);
            refused(&variant, "nonzero unused bits");
            checked += 1;
        }
    }
    assert_eq!(checked, 256 * 3);
}

#[test]
fn whitespace_and_control_characters_are_refused() {
    let t = varied_token();
    for ws in [
        " ", "\t", "\n", "\r\n", "\r", "\u{b}", "\u{c}", "\u{a0}", "\u{feff}",
    ] {
        refused(&format!("{ws}{t}"), "leading whitespace");
        refused(&format!("{t}{ws}"), "trailing whitespace");
    }
    refused(&format!(" {} ", &t[..t.len() - 2]), "spaces, same length");
    refused(&format!("{} ", &t[..t.len() - 1]), "last char a space");
    refused(&format!("{}\n", &t[..t.len() - 1]), "last char a newline");
    let mut inner = t.clone();
    inner.replace_range(60..61, " ");
    refused(&inner, "space inside the secret");

    refused(&format!("{t}\0"), "trailing NUL");
    refused(&format!("\0{t}"), "leading NUL");
    refused(&format!("{}\0", &t[..t.len() - 1]), "last char NUL");
    let mut nul = t.clone();
    nul.replace_range(70..71, "\0");
    refused(&nul, "NUL inside the secret");
    let mut nul_sid = t.clone();
    nul_sid.replace_range(10..11, "\0");
    refused(&nul_sid, "NUL inside the session id");
}

#[test]
fn empty_and_huge_inputs_are_refused() {
    let t = varied_token();
    refused("", "empty");
    refused(".", "one dot");
    refused("wgrt1", "prefix only");
    refused("wgrt1.", "prefix and dot");
    refused("wgrt1..", "two dots");
    refused(&"A".repeat(REFRESH_TOKEN_LEN), "right length, no structure");
    refused(&".".repeat(REFRESH_TOKEN_LEN), "right length, all dots");

    let mb = 1 << 20;
    refused(&"A".repeat(mb), "1 MB of 'A'");
    let mut huge = t.clone();
    while huge.len() < mb {
        huge.push_str(&t);
    }
    refused(&huge, "token repeated to 1 MB");
    refused(&format!("{t}{}", "A".repeat(mb)), "token followed by 1 MB");
    refused(
        &format!("wgrt1.{}.{}", parts(&t).1, "A".repeat(mb)),
        "1 MB secret",
    );
}

#[test]
fn non_ascii_of_the_same_byte_length_is_refused() {
    let t = varied_token();
    assert_eq!(t.len(), REFRESH_TOKEN_LEN);
    // (byte offset, replacement) pairs; each replacement has exactly as many bytes as it replaces.
    let cases: &[(usize, &str, &str)] = &[
        (80, "é", "2-byte char in the secret"),
        (84, "é", "2-byte char at the end of the secret"),
        (70, "€", "3-byte char in the secret"),
        (82, "🔐", "4-byte char at the end"),
        (45, "ａ", "3-byte fullwidth letter in the secret"),
        (10, "é", "2-byte char in the session id"),
        (20, "٣", "Arabic-Indic digit in the session id"),
        (0, "ŵ", "2-byte char in the prefix"),
        (2, "ｒ", "fullwidth letter for \"rt1\" in the prefix"),
        (42, "·", "middle dot for the second dot"),
        (5, "\u{2024}", "one-dot leader for the first dot (3 bytes)"),
    ];
    for &(at, repl, what) in cases {
        let mut s = t.clone();
        s.replace_range(at..at + repl.len(), repl);
        assert_eq!(s.len(), REFRESH_TOKEN_LEN, "{what}");
        assert!(!s.is_ascii());
        refused(&s, what);
    }
    // Unicode look-alike hyphen in the UUID (3 bytes for 1) with the secret shortened by 2.
    let (_, sid, secret) = parts(&t);
    let lookalike = format!(
        "wgrt1.{}.{}",
        sid.replacen('-', "\u{2010}", 1),
        &secret[..41]
    );
    assert_eq!(lookalike.len(), REFRESH_TOKEN_LEN);
    refused(&lookalike, "unicode hyphen in the uuid");
}

// ---------------------------------------------------------------------------------------------
// Redaction, hashes, sealing
// ---------------------------------------------------------------------------------------------

#[test]
fn debug_never_shows_the_secret() {
    for seed in 0..32 {
        let tok = token(seed);
        let encoded = tok.encode();
        let (_, sid, secret_b64) = parts(&encoded);
        let bytes = secret_bytes(tok.secret());
        let forms = [
            secret_b64.to_owned(),
            Base64Unpadded::encode_string(&bytes),
            bytes.iter().map(|b| format!("{b:02x}")).collect::<String>(),
            format!("{bytes:?}"),
            // A fragment is a leak too.
            secret_b64[..12].to_owned(),
        ];
        let debugs = [
            format!("{tok:?}"),
            format!("{tok:#?}"),
            format!("{:?}", tok.secret()),
            format!("{:#?}", tok.secret()),
            format!("{:?}", tok.secret().hash()),
            format!("{:?}", tok.secret().seal(tok.secret())),
        ];
        for d in &debugs {
            for f in &forms {
                assert!(!d.contains(f.as_str()), "Debug {d:?} leaks the secret");
            }
        }
        // The token's Debug is still useful: it names the session.
        assert!(debugs[0].contains(sid), "{}", debugs[0]);
    }
}

#[test]
fn secret_hash_equality() {
    let rng = SeededRandom::new(9);
    let a = RefreshSecret::generate(&rng).expect("secret");
    let b = RefreshSecret::generate(&rng).expect("secret");
    assert_eq!(a.hash(), a.hash());
    assert_eq!(a.hash(), a.clone().hash());
    assert!(a.hash().ct_eq(&a.hash()));
    assert_ne!(a.hash(), b.hash());
    assert!(!a.hash().ct_eq(&b.hash()));

    // Same seed, same secret, same hash.
    let again = RefreshSecret::generate(&SeededRandom::new(9)).expect("secret");
    assert_eq!(again.hash(), a.hash());

    // Round trip through bytes, and a hash differing in one bit is different.
    let h = a.hash();
    assert_eq!(SecretHash::from_bytes(*h.as_bytes()), h);
    for i in [0, 15, 31] {
        let mut bytes = *h.as_bytes();
        bytes[i] ^= 0x80;
        assert_ne!(SecretHash::from_bytes(bytes), h);
    }

    // It is SHA-256 of the raw secret bytes.
    let want: [u8; 32] = Sha256::digest(secret_bytes(&a)).into();
    assert_eq!(h.as_bytes(), &want);
}

#[test]
fn seal_and_unseal() {
    let rng = SeededRandom::new(10);
    let a = RefreshSecret::generate(&rng).expect("secret");
    let b = RefreshSecret::generate(&rng).expect("secret");
    let c = RefreshSecret::generate(&rng).expect("secret");

    let sealed = a.seal(&b);
    assert_eq!(a.unseal(&sealed).hash(), b.hash());
    assert_eq!(secret_bytes(&a.unseal(&sealed)), secret_bytes(&b));
    assert_ne!(c.unseal(&sealed).hash(), b.hash());
    assert_ne!(b.unseal(&sealed).hash(), b.hash());
    assert_ne!(
        sealed.as_bytes(),
        &secret_bytes(&b),
        "sealed form is not the plain secret"
    );
    assert_ne!(sealed.as_bytes(), &secret_bytes(&a));

    // Deterministic in both inputs; a different sealer gives a different sealed form.
    assert_eq!(a.seal(&b), sealed);
    assert_ne!(c.seal(&b), sealed);
    assert_ne!(a.seal(&c), sealed);

    // Survives storage as bytes.
    let stored = SealedSecret::from_bytes(*sealed.as_bytes());
    assert_eq!(a.unseal(&stored).hash(), b.hash());

    // The pad is SHA-256("webgates-successor" ‖ a): sealed XOR b's bytes.
    let pad: [u8; 32] = Sha256::new()
        .chain_update(b"webgates-successor")
        .chain_update(secret_bytes(&a))
        .finalize()
        .into();
    let b_bytes = secret_bytes(&b);
    for i in 0..SECRET_BYTES {
        assert_eq!(sealed.as_bytes()[i], b_bytes[i] ^ pad[i]);
    }
}

// ---------------------------------------------------------------------------------------------
// Many seeded tokens (proptest is not available)
// ---------------------------------------------------------------------------------------------

#[test]
fn seeded_tokens_round_trip_and_single_char_flips_change_the_hash() {
    let picker = SeededRandom::new(0xC0FFEE);
    let mut flips = 0usize;
    let mut refused_flips = 0usize;
    for seed in 1000..3000u64 {
        let tok = token(seed);
        let hash = tok.secret().hash();
        let encoded = tok.encode();
        assert_eq!(encoded.len(), REFRESH_TOKEN_LEN);
        let parsed = RefreshToken::parse(&encoded).expect("canonical parses");
        assert_eq!(parsed.session_id(), tok.session_id());
        assert_eq!(parsed.secret().hash(), hash);

        let secret_start = REFRESH_TOKEN_LEN - 43;
        let bytes = encoded.as_bytes();
        for pos in secret_start..REFRESH_TOKEN_LEN {
            // Every position, flipped to one other base64url character chosen at random (all 63
            // alternatives for the first few tokens).
            let alternatives: Vec<u8> = if seed < 1010 {
                B64URL
                    .iter()
                    .copied()
                    .filter(|&c| c != bytes[pos])
                    .collect()
            } else {
                let mut c = bytes[pos];
                while c == bytes[pos] {
                    c = B64URL[(picker.next_u64() % 64) as usize];
                }
                vec![c]
            };
            for c in alternatives {
                let mut flipped = bytes.to_vec();
                flipped[pos] = c;
                let flipped = String::from_utf8(flipped).expect("ascii");
                flips += 1;
                match RefreshToken::parse(&flipped) {
                    Ok(p) => {
                        assert_eq!(p.session_id(), tok.session_id());
                        assert_ne!(p.secret().hash(), hash, "flip at {pos} kept the hash");
                        // The only accepted flips are canonical: they re-encode as given.
                        assert_eq!(p.encode(), flipped);
                    }
                    Err(MalformedRefreshToken) => {
                        // Only the final character can make a base64url flip non-canonical.
                        assert_eq!(pos, REFRESH_TOKEN_LEN - 1, "flip at {pos} refused");
                        refused_flips += 1;
                    }
                }
            }
        }
    }
    assert!(flips > 2000 * 43);
    assert!(refused_flips > 0);
}
