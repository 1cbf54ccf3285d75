//! `kassa webmoney invoice`: a WebMoney X1 invoice (document 002) from the command line.

use serde_json::json;

use super::{
    Exit, InvoiceArgs, fail_usage, follow_known, open_for, print_error, refused,
    trouble_before_row, wait_for,
};
use crate::config::Settings;
use crate::i18n::{t, tf};
use crate::journal::Journal;
use crate::worker::{Command, Event};

/// `kassa webmoney invoice --wmid WMID --amount AMOUNT --desc TEXT`
pub async fn wm_invoice(settings: &Settings, journal: Journal, a: InvoiceArgs) -> Exit {
    use crate::flows::webmoney::WmInvoice;

    let lang = settings.lang;
    let json_out = a.money.wait.json;
    let purse_text = a
        .purse
        .clone()
        .unwrap_or_else(|| settings.webmoney.purse.clone());
    if purse_text.trim().is_empty() {
        return fail_usage(lang, json_out, "wm.no_purse", &[]);
    }
    let form = crate::flows::webmoney::Form {
        wmid: &a.wmid,
        purse: &purse_text,
        amount: &a.amount,
        desc: &a.desc,
        address: a.address.as_deref().unwrap_or(""),
        period: a.period.as_deref().unwrap_or(""),
        expiration: a.expiration.as_deref().unwrap_or(""),
    };
    let checked = match crate::flows::webmoney::check(&form) {
        Ok(c) => c,
        Err((_, key)) => return fail_usage(lang, json_out, key, &[]),
    };
    let orderid = match &a.money.id {
        Some(raw) => match raw
            .trim()
            .parse::<u64>()
            .ok()
            .filter(|o| *o > 0 && *o < 1 << 62)
        {
            Some(o) => Some(o),
            None => return fail_usage(lang, json_out, "wm.orderid_invalid", &[]),
        },
        None => None,
    };
    for (field, trimmed) in [
        ("desc", checked.desc_trimmed),
        ("address", checked.address_trimmed),
    ] {
        if trimmed && !json_out {
            eprintln!("{}", tf(lang, "wm.trimmed", &[("field", field)]));
        }
    }
    let invoice = WmInvoice {
        orderid,
        ..checked.invoice
    };
    let amount = invoice.amount;
    // Nothing is recorded for an invoice that could not be signed or sent: say why now.
    if let Err(reason) = crate::worker::webmoney::client(&settings.webmoney) {
        let msg = format!("{}: {reason}", t(lang, "wm.not_configured"));
        print_error(json_out, "wm.not_configured", &msg, json!({}));
        return Exit::Usage;
    }
    let id = orderid.map(|o| o.to_string());
    let (known, worker, mut events) = match open_for(settings, journal, id.as_deref(), json_out) {
        Ok(x) => x,
        Err(code) => return code,
    };
    let code = if let Some(op) = known {
        let same = crate::flows::same_request(&op, &invoice.asked(orderid.unwrap_or_default()));
        follow_known(lang, &worker, &mut events, &op, same, &a.money.wait).await
    } else {
        let question = tf(
            lang,
            "cli.confirm_invoice",
            &[
                ("amount", &amount.display()),
                ("wmid", &invoice.customer_wmid),
                ("purse", &invoice.purse),
            ],
        );
        if let Some(code) = refused(lang, a.money.yes, &question, json_out) {
            worker.stop().await;
            return code;
        }
        worker.send(Command::Start {
            request: crate::flows::Request::Webmoney(invoice.clone()),
            allow_duplicate: a.money.new,
        });
        // The orderid comes from the journal's counter unless --id gave one.
        let id = loop {
            match events.recv().await {
                Some(Event::InvoiceNumbered { invoice: i }) => {
                    break i.orderid.map(|o| o.to_string());
                }
                Some(Event::Trouble { key, .. }) => {
                    worker.stop().await;
                    return trouble_before_row(lang, json_out, key);
                }
                Some(_) => {}
                None => break None,
            }
        };
        match id {
            Some(id) => {
                if !json_out {
                    eprintln!("{}", tf(lang, "wm.orderid", &[("id", &id)]));
                }
                wait_for(lang, &mut events, &id, &a.money.wait).await
            }
            None => Exit::Usage,
        }
    };
    worker.stop().await;
    code
}
