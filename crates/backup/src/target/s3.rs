//! `s3://BUCKET/PREFIX`: one `PutObject` per archive. S3 shows an object only once its
//! upload has completed, so a killed upload leaves nothing to list. The object carries what
//! was written (length and SHA-256, as metadata) and S3 checks the SHA-256 on receipt
//! (`x-amz-checksum-sha256`); a `HeadObject` reads both back before the archive counts.
//! Credentials and region come from the standard AWS chain, as for DynamoDB.

use std::path::Path;
use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_s3::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_s3::primitives::ByteStream;
use base64::Engine;
use tokio::sync::OnceCell;

use super::{id_of, Stored, Target, Written};
use crate::BackupError;

pub struct S3Target {
    bucket: String,
    /// Ends in `/` unless empty.
    prefix: String,
    region: Option<String>,
    endpoint_url: Option<String>,
    client: OnceCell<aws_sdk_s3::Client>,
}

impl S3Target {
    /// `rest` is what follows `s3://`: `BUCKET` or `BUCKET/PREFIX`.
    pub fn new(rest: &str, region: Option<String>, endpoint_url: Option<String>) -> Result<S3Target, String> {
        let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
        let ok = (3..=63).contains(&bucket.len())
            && bucket
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '.');
        if !ok {
            return Err(format!(
                "`s3://{rest}`: `{bucket}` is not an S3 bucket name (3 to 63 of a-z, 0-9, - and .)"
            ));
        }
        let prefix = prefix.trim_matches('/');
        Ok(S3Target {
            bucket: bucket.into(),
            prefix: if prefix.is_empty() {
                String::new()
            } else {
                format!("{prefix}/")
            },
            region,
            endpoint_url,
            client: OnceCell::new(),
        })
    }

    async fn client(&self) -> &aws_sdk_s3::Client {
        self.client
            .get_or_init(|| async {
                let sdk = jada_dynamo::sdk_config(self.region.as_deref(), self.endpoint_url.as_deref()).await;
                let config = aws_sdk_s3::config::Builder::from(&sdk)
                    // A local S3-compatible server has no per-bucket host names.
                    .force_path_style(self.endpoint_url.is_some())
                    // An archive takes longer than an API call's 10 s to send.
                    .timeout_config(
                        aws_sdk_s3::config::timeout::TimeoutConfig::builder()
                            .connect_timeout(Duration::from_secs(5))
                            .operation_attempt_timeout(Duration::from_secs(900))
                            .build(),
                    )
                    .build();
                aws_sdk_s3::Client::from_conf(config)
            })
            .await
    }

    fn key(&self, name: &str) -> String {
        format!("{}{name}", self.prefix)
    }

    /// A failed call as the operator can act on it: a missing bucket or permission needs
    /// the configuration changed; a timeout or an outage may pass.
    fn failed<E, R>(&self, action: &str, e: SdkError<E, R>) -> BackupError
    where
        E: ProvideErrorMetadata + std::error::Error + 'static,
        R: std::fmt::Debug,
    {
        let retry = matches!(
            e,
            SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) | SdkError::ResponseError(_)
        );
        let why = match e.as_service_error().and_then(|s| s.code().map(str::to_string)) {
            Some(code) if code == "NoSuchBucket" => format!("{action}: the bucket does not exist (create it, or fix [backup] target)"),
            Some(code) if code == "AccessDenied" => format!(
                "{action}: access denied: the AWS credentials need s3:PutObject, s3:GetObject, s3:ListBucket and s3:DeleteObject on it"
            ),
            Some(code) => format!(
                "{action}: {code}: {}",
                e.as_service_error().and_then(|s| s.message()).unwrap_or("")
            ),
            None => format!("{action}: {}", aws_sdk_s3::error::DisplayErrorContext(&e)),
        };
        BackupError::Target {
            target: self.describe(),
            why,
            retry,
        }
    }

    /// The object's length and the length and SHA-256 its metadata records.
    async fn head(&self, key: &str) -> Result<(i64, Option<Written>), BackupError> {
        let head = self
            .client()
            .await
            .head_object()
            .bucket(&self.bucket)
            .key(key)
            .send()
            .await
            .map_err(|e| self.failed(&format!("s3:HeadObject {key}"), e))?;
        let meta = head.metadata();
        let written = meta.and_then(|m| {
            Some(Written {
                bytes: m.get("bytes")?.parse().ok()?,
                sha256: m.get("sha256")?.clone(),
            })
        });
        Ok((head.content_length().unwrap_or(-1), written))
    }
}

#[async_trait]
impl Target for S3Target {
    fn describe(&self) -> String {
        format!("s3://{}/{}", self.bucket, self.prefix.trim_end_matches('/'))
    }

    async fn put(&self, name: &str, file: &Path, bytes: u64, sha256: &str) -> Result<(), BackupError> {
        let key = self.key(name);
        let body = ByteStream::from_path(file).await.map_err(|e| BackupError::Io {
            path: file.display().to_string(),
            source: std::io::Error::other(e),
        })?;
        let digest = hex::decode(sha256).expect("a hex digest");
        self.client()
            .await
            .put_object()
            .bucket(&self.bucket)
            .key(&key)
            .body(body)
            .content_length(bytes as i64)
            .content_type("application/octet-stream")
            .checksum_sha256(base64::engine::general_purpose::STANDARD.encode(digest))
            .metadata("bytes", bytes.to_string())
            .metadata("sha256", sha256)
            .send()
            .await
            .map_err(|e| self.failed(&format!("s3:PutObject {key}"), e))?;
        let (length, written) = self.head(&key).await?;
        let expected = Written {
            bytes,
            sha256: sha256.into(),
        };
        if length != bytes as i64 || written.as_ref() != Some(&expected) {
            return Err(BackupError::Target {
                target: self.describe(),
                why: format!("{key} reads back as {length} bytes with {written:?}, not what was sent"),
                retry: true,
            });
        }
        Ok(())
    }

    async fn list(&self) -> Result<Vec<Stored>, BackupError> {
        let client = self.client().await;
        let mut pages = client
            .list_objects_v2()
            .bucket(&self.bucket)
            .prefix(&self.prefix)
            .into_paginator()
            .send();
        let mut out = vec![];
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| self.failed("s3:ListObjectsV2", e))?;
            for object in page.contents() {
                let Some(key) = object.key() else { continue };
                let name = key.strip_prefix(&self.prefix).unwrap_or(key);
                let Some((id, created_at)) = id_of(name) else { continue };
                out.push(Stored {
                    id,
                    name: name.to_string(),
                    created_at,
                    bytes: object.size().unwrap_or(0).max(0) as u64,
                    // In the object's metadata: asked for by `written` when verifying.
                    written: None,
                });
            }
        }
        out.sort_by_key(|s| std::cmp::Reverse(s.created_at));
        Ok(out)
    }

    async fn written(&self, stored: &Stored) -> Result<Option<Written>, BackupError> {
        Ok(self.head(&self.key(&stored.name)).await?.1)
    }

    async fn fetch(&self, name: &str, to: &Path) -> Result<(), BackupError> {
        let key = self.key(name);
        let got = self
            .client()
            .await
            .get_object()
            .bucket(&self.bucket)
            .key(&key)
            .send()
            .await
            .map_err(|e| match e.as_service_error().map(|s| s.is_no_such_key()) {
                Some(true) => BackupError::NotFound {
                    id: name.into(),
                    target: self.describe(),
                },
                _ => self.failed(&format!("s3:GetObject {key}"), e),
            })?;
        let mut file = tokio::fs::File::create(to).await.map_err(|e| BackupError::io(to, e))?;
        let mut body = got.body.into_async_read();
        tokio::io::copy(&mut body, &mut file)
            .await
            .map_err(|e| BackupError::Target {
                target: self.describe(),
                why: format!("reading {key}: {e}"),
                retry: true,
            })?;
        file.sync_all().await.map_err(|e| BackupError::io(to, e))
    }

    async fn delete(&self, name: &str) -> Result<(), BackupError> {
        let key = self.key(name);
        self.client()
            .await
            .delete_object()
            .bucket(&self.bucket)
            .key(&key)
            .send()
            .await
            .map_err(|e| self.failed(&format!("s3:DeleteObject {key}"), e))?;
        Ok(())
    }
}
