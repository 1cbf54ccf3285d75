//! A client for UPay STWS: each call builds its AccessToken, posts to the service URL and
//! reads the reply. Results are returned as the provider wrote them; what they mean for a
//! journal row is the worker's business (issue 6).

use super::codec::{self, CardRequest, CheckBy, Common, HoldRequest, Reply};
use zeroize::Zeroizing;

use super::token;
use crate::config::{Secret, UpaySettings};
use crate::providers::{SendError, post_soap, reply_error};

/// A client for one UPay partner.
#[derive(Clone)]
pub struct UpayClient {
    pub http: reqwest::Client,
    pub url: String,
    username: String,
    password: Secret,
    partner_key: Secret,
    lang: String,
}

impl UpayClient {
    /// Reads the partner's secrets from the config (inline or environment) now.
    pub fn from_settings(s: &UpaySettings, lang: &str) -> Result<UpayClient, String> {
        if s.username.is_empty() {
            return Err("upay.username is not set in the config".into());
        }
        Ok(UpayClient {
            http: crate::providers::http_client(s.timeout)?,
            url: s.url.clone(),
            username: s.username.clone(),
            password: s.password.get()?,
            partner_key: s.partner_key.get()?,
            lang: lang.to_string(),
        })
    }

    /// Sends `body` (built in a buffer cleared when dropped; it carries the partner key, and
    /// a card registration the card number and CVV) without copying it.
    async fn call(&self, method: &str, body: Zeroizing<String>) -> Result<Reply, SendError> {
        let bytes = post_soap(&self.http, &self.url, method, body).await?;
        codec::decode(method, &bytes).map_err(reply_error)
    }

    fn common<'a>(&'a self, token: &'a str) -> Common<'a> {
        Common {
            partner_key: self.partner_key.expose(),
            access_token: token,
            lang: Some(&self.lang),
        }
    }

    pub async fn register_card(&self, c: &CardRequest<'_>) -> Result<Reply, SendError> {
        // The token is a digest of the card number, its CVV and the password.
        let t = Zeroizing::new(token::register_card(
            &self.username,
            c.number,
            c.expiry,
            c.cvv,
            self.password.expose(),
        ));
        let body = codec::encode_register_card(&self.common(&t), c);
        self.call("partnerRegisterCardIPS", body).await
    }

    pub async fn hold_create(&self, h: &HoldRequest<'_>) -> Result<Reply, SendError> {
        let t = token::hold_create(
            &self.username,
            h.card_token,
            h.service_id,
            h.account,
            h.amount_tiyin,
            self.password.expose(),
        );
        let body = codec::encode_hold_create(&self.common(&t), h);
        self.call("partnerHoldCreateIPS", body).await
    }

    /// Captures a hold; a retry must carry the same `partner_trx_id`.
    pub async fn hold_payment(
        &self,
        hold_id: &str,
        partner_trx_id: &str,
    ) -> Result<Reply, SendError> {
        let t = token::hold_payment(
            &self.username,
            hold_id,
            partner_trx_id,
            self.password.expose(),
        );
        let body = codec::encode_hold_payment(&self.common(&t), hold_id, partner_trx_id);
        self.call("partnerHoldPaymentIPS", body).await
    }

    pub async fn hold_check(&self, by: CheckBy, target: &str) -> Result<Reply, SendError> {
        let t = token::hold_check(&self.username, target, self.password.expose());
        let body = codec::encode_hold_check(&self.common(&t), by, target);
        self.call("partnerHoldCheckIPS", body).await
    }

    pub async fn hold_cancel(&self, hold_id: &str) -> Result<Reply, SendError> {
        let t = token::hold_cancel(&self.username, hold_id, self.password.expose());
        let body = codec::encode_hold_cancel(&self.common(&t), hold_id);
        self.call("partnerHoldCancelIPS", body).await
    }
}
