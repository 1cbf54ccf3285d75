//! One module per provider, each owning its wire format; the HTTP transport they share.
//!
//! Nothing outside `providers/` and `emulator/` builds or reads XML. A send returns a typed
//! [`SendError`] so that "nothing left the machine" and "it may have arrived" are never
//! confused: the second is always pending (DESIGN.md rule 3).

pub mod allpay;
pub mod soap;
pub mod upay;
pub mod webmoney;
pub mod wooppay;

use std::sync::Arc;
use std::time::Duration;

/// Why a send did not give a readable reply.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SendError {
    /// Nothing can have reached the server (connection refused, bad address).
    #[error("not sent: {0}")]
    NotSent(String),
    /// The request may have been processed: timeout, reset, HTTP 5xx, an unreadable reply.
    #[error("outcome unknown: {0}")]
    OutcomeUnknown(String),
    /// The server answered with a SOAP Fault.
    #[error("SOAP Fault {code}: {message}")]
    Fault { code: String, message: String },
}

impl SendError {
    /// The catalogue key that tells a cashier what happened.
    pub fn message_key(&self) -> &'static str {
        match self {
            SendError::NotSent(_) => "send.not_sent",
            SendError::OutcomeUnknown(_) => "send.unknown",
            SendError::Fault { .. } => "send.fault",
        }
    }
}

/// A reply that could not be read as expected: a Fault stays a Fault, anything else means
/// the outcome is unknown.
pub fn reply_error(e: soap::SoapError) -> SendError {
    match e {
        soap::SoapError::Fault { code, message } => SendError::Fault { code, message },
        other => SendError::OutcomeUnknown(other.to_string()),
    }
}

/// Local time with its offset, as the providers' headers want it (DESIGN.md "Time").
pub fn now_rfc3339() -> String {
    chrono::Local::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, false)
}

/// How long an idle connection is kept for the next request. Shorter than the shortest
/// keep-alive servers commonly give (Apache's 5 s), so that it is kassa that lets a
/// connection go, never a server that closes one just as a request is written on it (a
/// request lost that way would be an unknown outcome).
pub const POOL_IDLE: Duration = Duration::from_secs(4);

/// Builds the HTTP client every provider uses: rustls on the ring provider with the webpki
/// roots (DESIGN.md "TLS"); certificate verification is always on. No proxy from the
/// environment is ever used: only `[network] proxy`, when the config names one.
pub fn http_client(timeout: Duration) -> Result<reqwest::Client, String> {
    http_client_tls(timeout, None, None)
}

/// Every certificate in a PEM file (a chain, a CA bundle); none is an error.
pub fn pem_certificates(
    path: &std::path::Path,
) -> Result<Vec<rustls::pki_types::CertificateDer<'static>>, String> {
    use rustls::pki_types::CertificateDer;
    use rustls::pki_types::pem::PemObject;
    let chain = CertificateDer::pem_file_iter(path)
        .map_err(|e| format!("{}: {e}", path.display()))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| format!("{}: {e}", path.display()))?;
    if chain.is_empty() {
        return Err(format!("{}: no certificate in it", path.display()));
    }
    Ok(chain)
}

/// The first private key (PKCS#8, PKCS#1 or SEC1) in a PEM file. The file's bytes are
/// read into a buffer cleared when dropped, and the key itself is cleared by rustls.
pub fn pem_private_key(
    path: &std::path::Path,
) -> Result<rustls::pki_types::PrivateKeyDer<'static>, String> {
    use rustls::pki_types::PrivateKeyDer;
    use rustls::pki_types::pem::{self, PemObject};
    let pem = zeroize::Zeroizing::new(
        std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?,
    );
    PrivateKeyDer::from_pem_slice(&pem).map_err(|e| match e {
        pem::Error::NoItemsFound => format!("{}: no private key in it", path.display()),
        e => format!("{}: {e}", path.display()),
    })
}

/// As [`http_client`], with a client certificate and key (PEM: WebMoney Keeper Light) and
/// an extra CA file to trust beside the webpki roots.
pub fn http_client_tls(
    timeout: Duration,
    client_auth: Option<(&std::path::Path, &std::path::Path)>,
    extra_ca: Option<&std::path::Path>,
) -> Result<reqwest::Client, String> {
    let mut roots = rustls::RootCertStore::empty();
    roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    if let Some(ca) = extra_ca {
        for cert in pem_certificates(ca)? {
            roots
                .add(cert)
                .map_err(|e| format!("{}: {e}", ca.display()))?;
        }
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .with_root_certificates(roots);
    let tls = match client_auth {
        None => builder.with_no_client_auth(),
        Some((cert, key)) => builder
            .with_client_auth_cert(pem_certificates(cert)?, pem_private_key(key)?)
            .map_err(|e| format!("client certificate: {e}"))?,
    };
    let builder = reqwest::Client::builder()
        .use_preconfigured_tls(tls)
        .timeout(timeout)
        .connect_timeout(timeout.min(Duration::from_secs(10)))
        // Polls reuse their connections: as many kept as may be out at once by default.
        .pool_max_idle_per_host(crate::config::DEFAULT_MAX_IN_FLIGHT)
        .pool_idle_timeout(POOL_IDLE)
        // A redirect would send the request (with its id) to a host the journal never
        // recorded (DESIGN.md rule 1): a 3xx is an answer we cannot read, so pending.
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(concat!("kassa/", env!("CARGO_PKG_VERSION")));
    // reqwest reads HTTPS_PROXY, HTTP_PROXY and ALL_PROXY by default: a variable set in a
    // till's environment (by a login script, a VPN client, malware) would route payments
    // and their keys through a host nobody configured. Only `[network] proxy` is used.
    let builder = match crate::config::process().proxy {
        None => builder.no_proxy(),
        Some(p) => {
            builder.proxy(reqwest::Proxy::all(&p).map_err(|e| format!("network.proxy: {e}"))?)
        }
    };
    builder.build().map_err(|e| e.to_string())
}

/// A request body for reqwest that leaves no copy of its own behind: the buffer is handed
/// over (not copied) and cleared when the last reference to it drops, after the request is
/// written or abandoned. What kassa cannot reach: hyper writes it to the socket as is, but
/// rustls encrypts it through buffers of its own (cleared only by being reused), and the
/// kernel's socket buffer holds it until sent.
pub fn zeroizing_body(body: zeroize::Zeroizing<String>) -> reqwest::Body {
    reqwest::Body::from(bytes::Bytes::from_owner(body))
}

/// Posts a SOAP request and returns the body of a 200 reply, or of a 500 that carries a
/// Fault; anything else is an error classified for the money rules. The body may carry a
/// password, a partner key or a card: it is cleared once sent ([`zeroizing_body`]).
pub async fn post_soap(
    http: &reqwest::Client,
    url: &str,
    action: &str,
    body: zeroize::Zeroizing<String>,
) -> Result<Vec<u8>, SendError> {
    post_soap_with(http, url, action, body, None).await
}

/// As [`post_soap`], with a `Cookie` header (Wooppay's session). The cookie is a secret: it
/// is never logged, and reqwest marks it sensitive.
pub async fn post_soap_with(
    http: &reqwest::Client,
    url: &str,
    action: &str,
    body: zeroize::Zeroizing<String>,
    cookie: Option<&str>,
) -> Result<Vec<u8>, SendError> {
    let mut req = http
        .post(url)
        .header("Content-Type", "text/xml; charset=utf-8")
        .header("SOAPAction", format!("\"{action}\""));
    if let Some(c) = cookie {
        let mut v = reqwest::header::HeaderValue::from_str(c)
            .map_err(|_| SendError::NotSent("the session key is not a valid header".into()))?;
        v.set_sensitive(true);
        req = req.header(reqwest::header::COOKIE, v);
    }
    let resp = req
        .body(zeroizing_body(body))
        .send()
        .await
        .map_err(classify)?;
    let status = resp.status();
    let bytes = read_capped(resp).await?;
    if status.is_success() {
        return Ok(bytes.to_vec());
    }
    if status.is_server_error() {
        // JAX-WS sends a Fault with HTTP 500; a bare 500 says nothing about the outcome.
        if let Some(soap::SoapError::Fault { code, message }) = soap::fault_in(&bytes) {
            return Err(SendError::Fault { code, message });
        }
        return Err(SendError::OutcomeUnknown(format!(
            "HTTP {}",
            status.as_u16()
        )));
    }
    // A 4xx is the server refusing the request as sent; still, nothing proves it was not
    // acted on, so it is not a decline.
    Err(SendError::OutcomeUnknown(format!(
        "HTTP {}",
        status.as_u16()
    )))
}

/// The most of a reply kassa reads; SOAP replies here are a few KiB.
pub const MAX_REPLY: usize = 1 << 20;

pub(crate) async fn read_capped(mut resp: reqwest::Response) -> Result<Vec<u8>, SendError> {
    let mut out = Vec::new();
    while let Some(chunk) = resp.chunk().await.map_err(classify)? {
        if out.len() + chunk.len() > MAX_REPLY {
            return Err(SendError::OutcomeUnknown(format!(
                "reply larger than {MAX_REPLY} bytes"
            )));
        }
        out.extend_from_slice(&chunk);
    }
    Ok(out)
}

pub(crate) fn classify(e: reqwest::Error) -> SendError {
    if (e.is_connect() && !e.is_timeout()) || e.is_builder() {
        SendError::NotSent(short(&e))
    } else {
        SendError::OutcomeUnknown(short(&e))
    }
}

/// The error with its causes, on one line, for the log.
fn short(e: &reqwest::Error) -> String {
    let mut s = e.to_string();
    let mut src = std::error::Error::source(e);
    while let Some(c) = src {
        s.push_str(": ");
        s.push_str(&c.to_string());
        src = c.source();
    }
    s
}
