//! Bytes → str → `RefreshToken::parse`. Never panics; a parsed token has exactly one spelling:
//! `encode()` gives back the input byte for byte, and it parses again to the same token.
#![no_main]

use libfuzzer_sys::fuzz_target;
use webgates_sessions::tokens::refresh::{RefreshToken, REFRESH_TOKEN_LEN};

fuzz_target!(|data: &[u8]| {
    let Ok(s) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(token) = RefreshToken::parse(s) else {
        return;
    };
    let encoded = token.encode();
    assert_eq!(
        encoded, s,
        "a second spelling of one refresh token was accepted"
    );
    assert_eq!(encoded.len(), REFRESH_TOKEN_LEN);
    let again = RefreshToken::parse(&encoded).expect("the canonical encoding parses");
    assert_eq!(again.session_id(), token.session_id());
    assert!(
        again.secret().hash().ct_eq(&token.secret().hash()),
        "same secret"
    );
});
