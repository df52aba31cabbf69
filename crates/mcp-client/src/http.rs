//! rmcp's streamable-HTTP client transport over jada's own `reqwest` (0.12).
//!
//! rmcp ships this adapter for reqwest 0.13 only; taking it would build a second reqwest
//! (and, with its default TLS, aws-lc's C code) next to the one every other jada client
//! uses. What the transport needs from HTTP is small — POST a message and read JSON or an
//! SSE stream back, open a GET stream, DELETE a session — so it is written here, following
//! the streamable HTTP transport of the MCP specification (2025-06-18 and later).

use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::Arc;

use futures::stream::{BoxStream, StreamExt};
use http::{HeaderName, HeaderValue, StatusCode};
use rmcp::model::{ClientJsonRpcMessage, JsonRpcMessage, ServerJsonRpcMessage};
use rmcp::transport::streamable_http_client::{
    AuthRequiredError, SseError, StreamableHttpClient, StreamableHttpError, StreamableHttpPostResponse,
};
use sse_stream::{Sse, SseStream};

/// The header that carries a stateful server's session.
const SESSION: &str = "mcp-session-id";
const JSON: &str = "application/json";
const EVENT_STREAM: &str = "text/event-stream";
/// A JSON answer larger than this is refused (a tool result is cut far below it anyway).
const MAX_JSON_BYTES: usize = 16 * 1024 * 1024;
/// How much of an error page is kept for the message.
const MAX_ERROR_BYTES: usize = 4 * 1024;

type Error = StreamableHttpError<reqwest::Error>;

/// jada's HTTP client, as rmcp's transport wants it.
#[derive(Clone)]
pub struct Http(pub reqwest::Client);

impl Http {
    fn request(
        &self,
        method: reqwest::Method,
        uri: &str,
        accept: &str,
        session: Option<&str>,
        auth: Option<String>,
        custom: HashMap<HeaderName, HeaderValue>,
    ) -> reqwest::RequestBuilder {
        let mut req = self.0.request(method, uri).header(reqwest::header::ACCEPT, accept);
        if let Some(token) = auth {
            req = req.bearer_auth(token);
        }
        if let Some(s) = session {
            req = req.header(SESSION, s);
        }
        for (name, value) in custom {
            req = req.header(name.as_str(), value.as_bytes());
        }
        req
    }
}

/// A 401 with its challenge, so rmcp reports "auth required" rather than a bare status.
fn refused_auth(resp: &reqwest::Response) -> Option<Error> {
    (resp.status() == StatusCode::UNAUTHORIZED).then(|| {
        let challenge = resp
            .headers()
            .get(reqwest::header::WWW_AUTHENTICATE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("Bearer")
            .to_string();
        StreamableHttpError::AuthRequired(AuthRequiredError::new(challenge))
    })
}

fn media_type(resp: &reqwest::Response) -> Option<String> {
    let ct = resp.headers().get(reqwest::header::CONTENT_TYPE)?.to_str().ok()?;
    Some(ct.split(';').next().unwrap_or_default().trim().to_ascii_lowercase())
}

/// The body, refusing one over `max` bytes.
async fn body(resp: reqwest::Response, max: usize) -> Result<Vec<u8>, Error> {
    let mut out = Vec::new();
    let mut chunks = resp.bytes_stream();
    while let Some(chunk) = chunks.next().await {
        let chunk = chunk.map_err(StreamableHttpError::Client)?;
        if out.len() + chunk.len() > max {
            return Err(StreamableHttpError::ResponseBodyTooLarge { max_size: max });
        }
        out.extend_from_slice(&chunk);
    }
    Ok(out)
}

fn events(resp: reqwest::Response) -> BoxStream<'static, Result<Sse, SseError>> {
    SseStream::from_bytes_stream(resp.bytes_stream()).boxed()
}

impl StreamableHttpClient for Http {
    type Error = reqwest::Error;

    async fn post_message(
        &self,
        uri: Arc<str>,
        message: ClientJsonRpcMessage,
        session_id: Option<Arc<str>>,
        auth_header: Option<String>,
        custom_headers: HashMap<HeaderName, HeaderValue>,
    ) -> Result<StreamableHttpPostResponse, Error> {
        let accept = format!("{JSON}, {EVENT_STREAM}");
        let resp = self
            .request(
                reqwest::Method::POST,
                &uri,
                &accept,
                session_id.as_deref(),
                auth_header,
                custom_headers,
            )
            .json(&message)
            .send()
            .await
            .map_err(StreamableHttpError::Client)?;
        if let Some(e) = refused_auth(&resp) {
            return Err(e);
        }
        let status = resp.status();
        if matches!(status, StatusCode::ACCEPTED | StatusCode::NO_CONTENT) {
            return Ok(StreamableHttpPostResponse::Accepted);
        }
        if status == StatusCode::NOT_FOUND && session_id.is_some() {
            return Err(StreamableHttpError::SessionExpired);
        }
        let session = resp
            .headers()
            .get(SESSION)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let answers_nothing = !matches!(message, JsonRpcMessage::Request(_));
        let kind = media_type(&resp);
        if !status.is_success() {
            // A JSON-RPC error in an error status is still the server's answer.
            let raw = body(resp, MAX_JSON_BYTES).await.unwrap_or_default();
            if let Ok(m @ JsonRpcMessage::Error(_)) = serde_json::from_slice::<ServerJsonRpcMessage>(&raw) {
                return Ok(StreamableHttpPostResponse::Json(m, session));
            }
            let text = String::from_utf8_lossy(&raw[..raw.len().min(MAX_ERROR_BYTES)]).into_owned();
            return Err(StreamableHttpError::UnexpectedServerResponse(Cow::Owned(format!(
                "HTTP {status}: {}",
                text.trim()
            ))));
        }
        match kind.as_deref() {
            Some(EVENT_STREAM) => Ok(StreamableHttpPostResponse::Sse(events(resp), session)),
            Some(JSON) => {
                let raw = body(resp, MAX_JSON_BYTES).await?;
                match serde_json::from_slice::<ServerJsonRpcMessage>(&raw) {
                    Ok(m) => Ok(StreamableHttpPostResponse::Json(m, session)),
                    Err(_) if answers_nothing => Ok(StreamableHttpPostResponse::Accepted),
                    Err(e) => Err(StreamableHttpError::Deserialize(e)),
                }
            }
            // A notification needs nothing back: some servers answer it 200 with no body.
            _ if answers_nothing => Ok(StreamableHttpPostResponse::Accepted),
            other => Err(StreamableHttpError::UnexpectedContentType(other.map(str::to_string))),
        }
    }

    async fn delete_session(
        &self,
        uri: Arc<str>,
        session_id: Arc<str>,
        auth_header: Option<String>,
        custom_headers: HashMap<HeaderName, HeaderValue>,
    ) -> Result<(), Error> {
        let resp = self
            .request(
                reqwest::Method::DELETE,
                &uri,
                JSON,
                Some(&session_id),
                auth_header,
                custom_headers,
            )
            .send()
            .await
            .map_err(StreamableHttpError::Client)?;
        // A server that keeps no sessions may refuse the method: nothing to end then.
        if resp.status() == StatusCode::METHOD_NOT_ALLOWED {
            return Ok(());
        }
        resp.error_for_status().map(|_| ()).map_err(StreamableHttpError::Client)
    }

    async fn get_stream(
        &self,
        uri: Arc<str>,
        session_id: Option<Arc<str>>,
        last_event_id: Option<String>,
        auth_header: Option<String>,
        custom_headers: HashMap<HeaderName, HeaderValue>,
    ) -> Result<BoxStream<'static, Result<Sse, SseError>>, Error> {
        let mut req = self.request(
            reqwest::Method::GET,
            &uri,
            EVENT_STREAM,
            session_id.as_deref(),
            auth_header,
            custom_headers,
        );
        if let Some(id) = last_event_id {
            req = req.header("last-event-id", id);
        }
        let resp = req.send().await.map_err(StreamableHttpError::Client)?;
        if resp.status() == StatusCode::METHOD_NOT_ALLOWED {
            return Err(StreamableHttpError::ServerDoesNotSupportSse);
        }
        if let Some(e) = refused_auth(&resp) {
            return Err(e);
        }
        let resp = resp.error_for_status().map_err(StreamableHttpError::Client)?;
        match media_type(&resp).as_deref() {
            Some(EVENT_STREAM) => Ok(events(resp)),
            other => Err(StreamableHttpError::UnexpectedContentType(other.map(str::to_string))),
        }
    }
}
