//! The one-line result an office action redirects back with (`?done=` or `?error=`).
//! It travels in the URL, so it is signed: a page shows only a message this daemon made,
//! never text someone put in a link they send to the office (a spoofing aid).

use std::collections::HashMap;
use std::sync::OnceLock;

use axum::response::{IntoResponse, Redirect, Response};
use hmac::{Hmac, Mac};
use sha2::Sha256;

/// This process's key: a notice outlives neither the redirect nor the daemon.
fn key() -> &'static [u8; 32] {
    static KEY: OnceLock<[u8; 32]> = OnceLock::new();
    KEY.get_or_init(rand::random)
}

fn tag(kind: &str, msg: &str) -> Vec<u8> {
    let mut m = Hmac::<Sha256>::new_from_slice(key()).expect("HMAC takes any key length");
    m.update(kind.as_bytes());
    m.update(&[0]);
    m.update(msg.as_bytes());
    m.finalize().into_bytes().to_vec()
}

/// Back to `path` with `msg` as its `kind` (`done` or `error`) notice, signed.
pub fn redirect(path: &str, kind: &str, msg: &str) -> Response {
    let q: String = url::form_urlencoded::Serializer::new(String::new())
        .append_pair(kind, msg)
        .append_pair("sig", &hex::encode(tag(kind, msg)))
        .finish();
    Redirect::to(&format!("{path}?{q}")).into_response()
}

/// The `kind` notice of a page's query, when this daemon signed it.
pub fn of<'a>(q: &'a HashMap<String, String>, kind: &str) -> Option<&'a str> {
    let msg = q.get(kind)?;
    let sig = hex::decode(q.get("sig")?).ok()?;
    let ok: bool = subtle::ConstantTimeEq::ct_eq(sig.as_slice(), tag(kind, msg).as_slice()).into();
    ok.then_some(msg.as_str())
}
