//! The live probe behind `jada auth check` and the `token-health` job: get a token, ask
//! Google's `tokeninfo` what it grants, and compare with what is configured.

use serde::Serialize;
use serde_json::Value;

use super::grant::number;
use super::{AuthError, TokenService};

/// What a probe found.
#[derive(Debug, Clone, Serialize)]
pub struct Probe {
    pub credential: String,
    pub ok: bool,
    pub granted: Vec<String>,
    /// Configured scopes the token does not carry.
    pub missing: Vec<String>,
    pub expires_in: Option<i64>,
    /// Why the probe failed, in the operator's words.
    pub problem: Option<String>,
}

impl TokenService {
    /// Probes one credential live, and records the outcome in its state.
    pub async fn probe(&self, name: &str) -> Result<Probe, AuthError> {
        let scopes = self.config_of(name)?.scopes.clone();
        let wanted: Vec<&str> = scopes.iter().map(String::as_str).collect();
        let mut probe = Probe {
            credential: name.into(),
            ok: false,
            granted: vec![],
            missing: vec![],
            expires_in: None,
            problem: None,
        };
        match self.get(name, &wanted).await {
            Err(e) => probe.problem = Some(e.to_string()),
            Ok(token) => match self.tokeninfo(token.secret()).await {
                Err(problem) => probe.problem = Some(problem),
                Ok(info) => {
                    probe.granted = info
                        .get("scope")
                        .and_then(Value::as_str)
                        .unwrap_or("")
                        .split_whitespace()
                        .map(str::to_string)
                        .collect();
                    probe.expires_in = info.get("expires_in").and_then(number);
                    probe.missing = scopes.iter().filter(|s| !probe.granted.contains(s)).cloned().collect();
                    if !probe.missing.is_empty() {
                        probe.problem = Some(format!("Google did not grant {}", probe.missing.join(", ")));
                    }
                }
            },
        }
        probe.ok = probe.problem.is_none();
        self.record_probe(name, probe.ok).await;
        Ok(probe)
    }

    async fn tokeninfo(&self, token: &str) -> Result<Value, String> {
        let url = &self.options().tokeninfo_url;
        // The token travels as a query parameter, so errors are reported without the URL.
        let resp = self
            .http()
            .get(url)
            .query(&[("access_token", token)])
            .send()
            .await
            .map_err(|e| format!("{url}: {}", e.without_url()))?;
        let status = resp.status();
        let body: Value = resp.json().await.unwrap_or(Value::Null);
        if status.is_success() {
            Ok(body)
        } else {
            let said = body.get("error_description").and_then(Value::as_str).unwrap_or("");
            Err(format!(
                "tokeninfo refused the token (HTTP {}{}{said})",
                status.as_u16(),
                if said.is_empty() { "" } else { ": " }
            ))
        }
    }
}

/// What an API's refusal means for the credential that made the call: a 403 for a
/// missing scope becomes [`AuthError::InsufficientScope`], a 401 means the token is no
/// longer valid. Other refusals are the API's own business (`None`).
pub fn classify_api_refusal(credential: &str, status: u16, body: &Value) -> Option<AuthError> {
    let error = body.get("error")?;
    let reasons: Vec<&str> = error
        .get("errors")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|e| e.get("reason").and_then(Value::as_str))
                .collect()
        })
        .unwrap_or_default();
    let message = error.get("message").and_then(Value::as_str).unwrap_or("");
    match status {
        403 if reasons.contains(&"insufficientPermissions")
            || message.contains("insufficient authentication scopes") =>
        {
            Some(AuthError::InsufficientScope {
                credential: credential.into(),
                detail: message.into(),
                reauth: "",
            })
        }
        401 => Some(AuthError::Transient {
            credential: credential.into(),
            attempts: 1,
            last: format!("the API refused the access token (HTTP 401: {message}); it will be refreshed"),
        }),
        _ => None,
    }
}
