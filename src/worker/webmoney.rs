//! The WebMoney X1 invoice flow on the worker's side: the client (Light or Classic) built
//! from the config, the orderid and reqn counters in the journal, the commit-then-send of a
//! confirmed invoice, and what each reply means. X1 does not deduplicate by orderid, so an
//! invoice is sent once: an unknown outcome waits for a person (poll.rs sees `repeat_safe`).

use std::sync::Arc;

use super::{Ctx, Event, Trouble, Verdict, db};
use crate::config::{KeySource, WebmoneySettings, WmAuth};
use crate::flows::webmoney::{WmInvoice, judge, params_of};
use crate::journal::{Facts, Operation};
use crate::providers::SendError;
use crate::providers::webmoney::signer::Signer;
use crate::providers::webmoney::{Auth, Invoice, X1Client};

/// Builds the X1 client from the config: the certificate for Light, the opened key for
/// Classic. An error says what is missing, for the cashier and the log.
pub fn client(s: &WebmoneySettings) -> Result<X1Client, String> {
    if s.wmid.is_empty() {
        return Err("webmoney.wmid is not set in the config".into());
    }
    match &s.auth {
        WmAuth::Light { cert, key, ca } => {
            let (Some(cert), Some(key)) = (cert, key) else {
                return Err("Keeper Light needs webmoney.cert and webmoney.key".into());
            };
            let http = crate::providers::http_client_tls(
                s.timeout,
                Some((cert.as_path(), key.as_path())),
                ca.as_deref(),
            )?;
            Ok(X1Client {
                http,
                url: s.url.clone(),
                wmid: s.wmid.clone(),
                auth: Auth::Light,
            })
        }
        WmAuth::Classic { kwm, password } => {
            let file = match kwm {
                Some(KeySource::File(p)) => {
                    std::fs::read(p).map_err(|e| format!("webmoney.kwm {}: {e}", p.display()))?
                }
                Some(KeySource::Demo) => crate::demo::webmoney::demo_kwm(),
                None => return Err("webmoney.kwm is not set in the config".into()),
            };
            let pw = password.get()?;
            let signer = Signer::from_kwm(&file, &s.wmid, pw.expose())
                .map_err(|e| format!("webmoney.kwm: {e}"))?;
            Ok(X1Client {
                http: crate::providers::http_client(s.timeout)?,
                url: s.url.clone(),
                wmid: s.wmid.clone(),
                auth: Auth::Classic {
                    wmid: s.wmid.clone(),
                    signer: Arc::new(signer),
                },
            })
        }
    }
}

/// The X1 client, built from the config on first use.
async fn x1(ctx: &Ctx) -> &Result<X1Client, String> {
    ctx.x1
        .get_or_init(|| async { client(&ctx.settings.webmoney) })
        .await
}

/// The clock's floor for a reqn: yyMMddHHmmss and two more digits (14 digits, within 15),
/// in UTC so that a clock change of zone or season never lowers it.
fn reqn_floor() -> i64 {
    let stamp = chrono::Utc::now().format("%y%m%d%H%M%S").to_string();
    stamp.parse::<i64>().unwrap_or(0).saturating_mul(100)
}

/// Commits the invoice as pending (taking an orderid from the counter if none was given),
/// then sends it once.
pub async fn start(ctx: &Ctx, inv: WmInvoice, allow_duplicate: bool) {
    if let Err(reason) = x1(ctx).await {
        tracing::error!(%reason, "WebMoney is not set up; nothing sent");
        ctx.emit(Event::Trouble {
            id: None,
            key: "wm.not_configured",
        });
        return;
    }
    // A new invoice's orderid: the counter's next that no row uses yet. A given one
    // (`--id`) raises the counter past it, so the counter never hands it out later.
    let numbered = db(ctx, move |j| match inv.orderid {
        Some(o) => {
            let o = i64::try_from(o).unwrap_or(i64::MAX);
            j.next_counter("orderid", o).map(|_| o)
        }
        None => loop {
            let o = j.next_counter("orderid", 1)?;
            if j.find(&o.to_string())?.is_none() {
                break Ok(o);
            }
        },
    });
    let inv_orderid = inv.orderid;
    let orderid = match inv_orderid {
        Some(o) => {
            if let Err(e) = numbered.await {
                tracing::warn!(error = %e, "could not raise the orderid counter");
            }
            o
        }
        None => match numbered.await {
            Ok(o) => u64::try_from(o).unwrap_or(1),
            Err(e) => {
                tracing::error!(error = %e, "no orderid; nothing sent");
                ctx.emit(Event::Trouble {
                    id: None,
                    key: "error.not_recorded",
                });
                return;
            }
        },
    };
    let asked = inv.asked(orderid);
    let mut shown = inv;
    shown.orderid = Some(orderid);
    ctx.emit(Event::InvoiceNumbered {
        invoice: shown.clone(),
    });
    super::commit_and_drive(ctx, asked, allow_duplicate, |existing| Event::Duplicate {
        request: crate::flows::Request::Webmoney(shown),
        existing,
    })
    .await;
}

/// Sends the invoice once, with a new reqn from the journal and its signature.
pub async fn send(ctx: &Ctx, op: &Operation) -> (Verdict, Facts, Option<Trouble>) {
    let not_sent = |why: &str| {
        (
            Verdict::Pending,
            Facts::default(),
            Some(Trouble::Send(SendError::NotSent(why.to_string()))),
        )
    };
    let Some(p) = params_of(op) else {
        return not_sent("the invoice's parameters are unreadable");
    };
    let Ok(client) = x1(ctx).await else {
        return not_sent("WebMoney is not set up");
    };
    // reqn rises in the order the requests reach WebMoney: from the reqn taken to the
    // reply, no other X1 send for this WMID, in this process or at another till of the
    // chain.
    let _one = ctx.x1_send.lock().await;
    let lock = format!("x1:{}", client.reqn_scope());
    let deadline = tokio::time::Instant::now() + X1_LOCK_WAIT;
    loop {
        let name = lock.clone();
        match db(ctx, move |j| j.try_lock(&name)).await {
            Ok(true) => break,
            Ok(false) if tokio::time::Instant::now() < deadline => {
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            }
            Ok(false) => return not_sent("another till sends for this WMID"),
            Err(e) => return not_sent(&format!("the chain's X1 lock: {e}")),
        }
    }
    let sent = send_locked(ctx, op, client, p).await;
    if let Err(e) = db(ctx, move |j| j.unlock(&lock)).await {
        tracing::warn!(error = %e, "could not let the X1 lock go; it ends with the connection");
    }
    sent
}

/// How long an X1 send waits for another till's to end.
const X1_LOCK_WAIT: std::time::Duration = std::time::Duration::from_secs(30);

async fn send_locked(
    ctx: &Ctx,
    op: &Operation,
    client: &X1Client,
    p: crate::flows::webmoney::Params,
) -> (Verdict, Facts, Option<Trouble>) {
    let not_sent = |why: &str| {
        (
            Verdict::Pending,
            Facts::default(),
            Some(Trouble::Send(SendError::NotSent(why.to_string()))),
        )
    };
    let scope = client.reqn_scope();
    let reqn = match db(ctx, move |j| j.next_counter(&scope, reqn_floor())).await {
        Ok(r) if (1..=999_999_999_999_999).contains(&r) => u64::try_from(r).unwrap_or(0),
        Ok(r) => return not_sent(&format!("reqn {r} is outside 15 digits")),
        Err(e) => return not_sent(&format!("no reqn: {e}")),
    };
    // The reqn goes to the audit trail: the facts to look the request up with WebMoney.
    let (rid, detail) = (op.id.clone(), format!("reqn {reqn}"));
    if let Err(e) = db(ctx, move |j| j.note(&rid, "reqn", &detail)).await {
        return not_sent(&format!("cannot record the reqn: {e}"));
    }
    let inv = Invoice {
        orderid: p.orderid,
        customer_wmid: p.customer_wmid,
        store_purse: p.purse,
        amount: op.amount,
        desc: p.desc,
        address: p.address,
        period: p.period,
        expiration: p.expiration,
    };
    tracing::info!(op = %op.id, reqn, "sending X1 invoice");
    judge(op, &client.send(&inv, reqn).await)
}
