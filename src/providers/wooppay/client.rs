//! A client for Wooppay: logs in once, keeps the session key in memory only (never in the
//! journal or the log) and sends it as `Cookie: session=<key>`; on error 5, 606 or 607 it
//! logs in again once and repeats the same request (same referenceId), invisibly to the
//! caller. Replies are returned as the provider wrote them; what they mean for a journal row
//! is the worker's business.

use std::sync::Arc;

use tokio::sync::Mutex;
use zeroize::Zeroizing;

use super::codec::{self, InvoiceRequest, Reply, Variant};
use super::{ErrorClass, error_class};
use crate::config::{Secret, SecretRef, WooppaySettings};
use crate::providers::{SendError, post_soap_with, reply_error};

/// A client for one merchant. Clones share the session.
#[derive(Clone)]
pub struct WooppayClient {
    pub http: reqwest::Client,
    pub url: String,
    login: String,
    password: SecretRef,
    session: Arc<Mutex<Option<Secret>>>,
}

impl std::fmt::Debug for WooppayClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WooppayClient")
            .field("url", &self.url)
            .field("login", &self.login)
            .finish_non_exhaustive()
    }
}

impl WooppayClient {
    /// The password is read (from the file or its environment variable) when logging in.
    pub fn from_settings(s: &WooppaySettings) -> Result<WooppayClient, String> {
        if s.login.is_empty() {
            return Err("wooppay.login is not set in the config".into());
        }
        Ok(WooppayClient {
            http: crate::providers::http_client(s.timeout)?,
            url: s.url.clone(),
            login: s.login.clone(),
            password: s.password.clone(),
            session: Arc::new(Mutex::new(None)),
        })
    }

    async fn post(
        &self,
        method: &str,
        body: &str,
        session: Option<&Secret>,
    ) -> Result<Reply, SendError> {
        let cookie = session.map(|s| Zeroizing::new(format!("session={}", s.expose())));
        let action = format!("{}#{method}", codec::NAMESPACE);
        // A request may be sent twice (again after a new login), so each send gets its own
        // copy, made straight into a buffer that is cleared once it is sent.
        let bytes = post_soap_with(
            &self.http,
            &self.url,
            &action,
            Zeroizing::new(body.to_string()),
            cookie.as_deref().map(String::as_str),
        )
        .await?;
        codec::decode(method, &bytes).map_err(reply_error)
    }

    /// `core_login`; on success the key is kept for the calls that follow. A refused login
    /// is returned as its reply (error 101 and the like).
    pub async fn login(&self) -> Result<Reply, SendError> {
        let password = self.password.get().map_err(SendError::NotSent)?;
        // The login request carries the password: held in a buffer cleared when dropped.
        // (The codec builds it by appending to a String; a grown String's earlier, smaller
        // buffers are freed without being cleared, which this cannot reach.)
        let body = Zeroizing::new(codec::encode_login(&self.login, password.expose()));
        let reply = self.post("core_login", &body, None).await?;
        if reply.ok() {
            match reply.session() {
                Some(key) => {
                    *self.session.lock().await = Some(Secret::new(key.to_string()));
                    tracing::info!(login = %self.login, "wooppay session opened");
                }
                None => {
                    return Err(SendError::OutcomeUnknown(
                        "core_login answered without a session".into(),
                    ));
                }
            }
        } else {
            tracing::warn!(login = %self.login, code = reply.error_code, "wooppay login refused");
        }
        Ok(reply)
    }

    /// Whether a session key is held (for tests and the status line; the key never leaves).
    pub async fn has_session(&self) -> bool {
        self.session.lock().await.is_some()
    }

    /// Forgets the session key (the next call logs in).
    pub async fn forget_session(&self) {
        *self.session.lock().await = None;
    }

    /// Sends `body` with the session, logging in first when there is none; on a session
    /// error logs in again once and repeats the same body.
    async fn call(&self, method: &str, body: &str) -> Result<Reply, SendError> {
        let mut session = self.session.lock().await.clone();
        if session.is_none() {
            let r = self.login().await?;
            if !r.ok() {
                return Ok(r);
            }
            session = self.session.lock().await.clone();
        }
        let reply = self.post(method, body, session.as_ref()).await?;
        if error_class(reply.error_code) != ErrorClass::Session {
            return Ok(reply);
        }
        // Once: a second session error is returned to the caller, never a loop.
        tracing::info!(
            method,
            code = reply.error_code,
            "wooppay session stale; logging in again"
        );
        self.forget_session().await;
        let r = self.login().await?;
        if !r.ok() {
            return Ok(r);
        }
        let session = self.session.lock().await.clone();
        self.post(method, body, session.as_ref()).await
    }

    /// Creates an invoice of `variant`; a repeat must carry the same referenceId.
    pub async fn create_invoice(
        &self,
        variant: Variant,
        r: &InvoiceRequest<'_>,
    ) -> Result<Reply, SendError> {
        let body = codec::encode_invoice(variant, r);
        self.call(variant.method(), &body).await
    }

    /// `core_requestConfirmationCode`: sends the customer an SMS code. Not repeated here.
    pub async fn request_code(&self, phone: &str) -> Result<Reply, SendError> {
        self.call(
            "core_requestConfirmationCode",
            &codec::encode_request_code(phone),
        )
        .await
    }

    pub async fn balance(&self) -> Result<Reply, SendError> {
        self.call("cash_getBalance", &codec::encode_balance()).await
    }

    pub async fn operation_data(&self, ids: &[i64]) -> Result<Reply, SendError> {
        self.call("cash_getOperationData", &codec::encode_operation_data(ids))
            .await
    }
}
