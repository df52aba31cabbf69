//! Reading one mail: `users.messages.get` with `format=full`, whose `payload` is the
//! message's MIME tree (`mimeType`, `filename`, `headers`, `body: {size, data |
//! attachmentId}`, `parts`). A text part's `data` is base64url of its bytes in the
//! part's own charset (transfer encoding already undone), so it is decoded with the
//! charset its `Content-Type` names.

use base64::Engine;
use reqwest::Method;
use serde_json::Value;

use crate::client::{enc, Api, GoogleClient, GoogleError};
use crate::gmail::SEARCH_SCOPES;

/// One mail as a reader needs it: who, what, the text, and what is attached.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MailMessage {
    pub id: String,
    pub from: String,
    pub to: String,
    pub cc: String,
    pub subject: String,
    pub date: String,
    /// The text/plain part, else the HTML part as text, else empty.
    pub text: String,
    /// Whether `text` came from the HTML part.
    pub from_html: bool,
    pub attachments: Vec<Attachment>,
}

/// An attachment, named only: its content is never read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attachment {
    pub filename: String,
    pub mime_type: String,
    pub size: u64,
}

impl GoogleClient {
    /// One message of the mailbox, read whole (`format=full`).
    pub async fn gmail_message(&self, id: &str) -> Result<MailMessage, GoogleError> {
        let url = format!(
            "{}/gmail/v1/users/me/messages/{}?format=full",
            self.urls().gmail,
            enc(id)
        );
        let resource = format!("message {id}");
        let v = self
            .call(Api::Gmail, &resource, SEARCH_SCOPES, Method::GET, url, None)
            .await?;
        Ok(message(id, &v["payload"]))
    }
}

/// The message read from its payload tree.
pub fn message(id: &str, payload: &Value) -> MailMessage {
    let header = |name: &str| {
        payload["headers"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|h| h["name"].as_str().is_some_and(|n| n.eq_ignore_ascii_case(name)))
            .filter_map(|h| h["value"].as_str())
            .collect::<Vec<_>>()
            .join(", ")
    };
    let mut parts = Vec::new();
    walk(payload, &mut parts);
    let text_of = |mime: &str| {
        parts
            .iter()
            .find(|p| p.filename.is_empty() && p.mime_type.eq_ignore_ascii_case(mime) && p.data.is_some())
    };
    let (text, from_html) = match (text_of("text/plain"), text_of("text/html")) {
        (Some(p), _) => (decode(p), false),
        (None, Some(p)) => (html_to_text(&decode(p)), true),
        (None, None) => (String::new(), false),
    };
    let attachments = parts
        .iter()
        .filter(|p| !p.filename.is_empty())
        .map(|p| Attachment {
            filename: p.filename.clone(),
            mime_type: p.mime_type.clone(),
            size: p.size,
        })
        .collect();
    MailMessage {
        id: id.to_string(),
        from: header("From"),
        to: header("To"),
        cc: header("Cc"),
        subject: header("Subject"),
        date: header("Date"),
        text,
        from_html,
        attachments,
    }
}

/// A leaf of the MIME tree.
struct Part {
    mime_type: String,
    filename: String,
    charset: Option<String>,
    size: u64,
    data: Option<Vec<u8>>,
}

fn walk(p: &Value, out: &mut Vec<Part>) {
    if let Some(children) = p["parts"].as_array().filter(|c| !c.is_empty()) {
        children.iter().for_each(|c| walk(c, out));
        return;
    }
    let content_type = p["headers"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|h| {
            h["name"]
                .as_str()
                .is_some_and(|n| n.eq_ignore_ascii_case("Content-Type"))
        })
        .and_then(|h| h["value"].as_str())
        .unwrap_or_default();
    out.push(Part {
        mime_type: p["mimeType"].as_str().unwrap_or("text/plain").to_string(),
        filename: p["filename"].as_str().unwrap_or_default().to_string(),
        charset: charset(content_type),
        size: p["body"]["size"].as_u64().unwrap_or(0),
        data: p["body"]["data"].as_str().and_then(|d| {
            base64::engine::general_purpose::URL_SAFE
                .decode(d)
                .or_else(|_| base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(d))
                .ok()
        }),
    });
}

/// The `charset` parameter of a Content-Type, unquoted.
fn charset(content_type: &str) -> Option<String> {
    content_type.split(';').skip(1).find_map(|param| {
        let (k, v) = param.split_once('=')?;
        k.trim()
            .eq_ignore_ascii_case("charset")
            .then(|| v.trim().trim_matches('"').to_string())
    })
}

/// A part's bytes as text, in its charset (UTF-8 when it names none or one unknown).
fn decode(p: &Part) -> String {
    let bytes = p.data.as_deref().unwrap_or_default();
    let encoding = p
        .charset
        .as_deref()
        .and_then(|c| encoding_rs::Encoding::for_label(c.as_bytes()))
        .unwrap_or(encoding_rs::UTF_8);
    encoding.decode(bytes).0.into_owned()
}

/// HTML as the text a person reads: scripts and styles dropped, block ends as line
/// breaks, tags removed, entities decoded, blank runs folded.
pub fn html_to_text(html: &str) -> String {
    let mut out = String::with_capacity(html.len() / 2);
    let lower = html.to_ascii_lowercase();
    let mut i = 0;
    while i < html.len() {
        let rest = &html[i..];
        if !rest.starts_with('<') {
            let next = rest.find('<').map_or(html.len(), |n| i + n);
            out.push_str(&entities(&html[i..next]));
            i = next;
            continue;
        }
        let end = rest.find('>').map_or(html.len(), |n| i + n + 1);
        let tag = lower[i + 1..end.saturating_sub(1).max(i + 1)]
            .trim_start_matches('/')
            .split(|c: char| c.is_whitespace() || c == '/')
            .next()
            .unwrap_or_default()
            .to_string();
        i = end;
        if tag == "script" || tag == "style" {
            let close = format!("</{tag}");
            i = lower[i..].find(&close).map_or(html.len(), |n| i + n);
            i = html[i..].find('>').map_or(html.len(), |n| i + n + 1);
            continue;
        }
        if matches!(
            tag.as_str(),
            "br" | "p" | "div" | "li" | "tr" | "h1" | "h2" | "h3" | "h4" | "h5" | "h6" | "table" | "ul" | "ol"
        ) {
            out.push('\n');
        }
    }
    let lines: Vec<String> = out
        .lines()
        .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
        .collect();
    let mut text = String::new();
    let mut blank = 0;
    for l in lines {
        if l.is_empty() {
            blank += 1;
            if blank > 1 {
                continue;
            }
        } else {
            blank = 0;
        }
        text.push_str(&l);
        text.push('\n');
    }
    text.trim().to_string()
}

/// The HTML entities mail uses, decoded.
fn entities(s: &str) -> String {
    if !s.contains('&') {
        return s.to_string();
    }
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(at) = rest.find('&') {
        out.push_str(&rest[..at]);
        rest = &rest[at..];
        let Some(end) = rest.find(';').filter(|e| *e <= 10) else {
            out.push('&');
            rest = &rest[1..];
            continue;
        };
        let name = &rest[1..end];
        let c = match name {
            "amp" => Some('&'),
            "lt" => Some('<'),
            "gt" => Some('>'),
            "quot" => Some('"'),
            "apos" => Some('\''),
            "nbsp" => Some(' '),
            n if n.starts_with("#x") || n.starts_with("#X") => {
                u32::from_str_radix(&n[2..], 16).ok().and_then(char::from_u32)
            }
            n if n.starts_with('#') => n[1..].parse().ok().and_then(char::from_u32),
            _ => None,
        };
        match c {
            Some(c) => {
                out.push(c);
                rest = &rest[end + 1..];
            }
            None => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn html_reads_as_text() {
        let html = "<html><head><style>p{color:red}</style><script>alert(1)</script></head>\
            <body><p>Hi&nbsp;there,</p><p>Can we move to <b>10:00</b>?&#x2019;s ok &amp; fine</p>\
            <ul><li>one</li><li>two</li></ul></body></html>";
        assert_eq!(
            html_to_text(html),
            "Hi there,\n\nCan we move to 10:00?\u{2019}s ok & fine\n\none\n\ntwo"
        );
    }

    #[test]
    fn charsets_are_named_in_content_type() {
        assert_eq!(
            charset("text/plain; charset=\"ISO-8859-1\"").as_deref(),
            Some("ISO-8859-1")
        );
        assert_eq!(
            charset("text/plain;format=flowed; Charset=utf-8").as_deref(),
            Some("utf-8")
        );
        assert_eq!(charset("text/plain"), None);
    }
}
