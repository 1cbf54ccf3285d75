//! What an operation does: its [`Kind`], the stable tag the journal stores, its provider
//! and its catalogue keys.

/// What an operation does; stored by its stable tag. Each kind says whether a re-send is
/// safe (DESIGN.md rule 2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    /// Allpay cash-in (document 003), keyed by its GUID.
    AllpayCashIn,
    /// Allpay utility payment (document 001), keyed by its rrn.
    AllpayPay,
    /// WebMoney X1 invoice (document 002), keyed by its orderid; not deduplicated by X1.
    WebmoneyInvoice,
    /// UPay card registration (document 004): `issued` once the CardToken and 3-D Secure
    /// link came back, `completed` when the customer confirmed. Never re-sent: the CVV is
    /// not kept.
    UpayCard,
    /// UPay hold (document 004): created (not safe to repeat), then `held` until captured
    /// (PartnerTrxId, safe to repeat), cancelled or expired; one row for the hold's life.
    UpayHold,
    /// Wooppay invoice (document 000), keyed by its referenceId (a repeat gets error 221,
    /// never a second invoice); `issued` until paid, declined or expired.
    WooppayInvoice,
}

impl Kind {
    pub const ALL: [Kind; 6] = [
        Kind::AllpayCashIn,
        Kind::AllpayPay,
        Kind::WebmoneyInvoice,
        Kind::WooppayInvoice,
        Kind::UpayCard,
        Kind::UpayHold,
    ];

    pub fn tag(self) -> &'static str {
        match self {
            Kind::AllpayCashIn => "allpay.cash_in",
            Kind::AllpayPay => "allpay.pay",
            Kind::WebmoneyInvoice => "webmoney.invoice",
            Kind::UpayCard => "upay.card",
            Kind::UpayHold => "upay.hold",
            Kind::WooppayInvoice => "wooppay.invoice",
        }
    }

    pub fn from_tag(tag: &str) -> Option<Kind> {
        match tag {
            "allpay.cash_in" => Some(Kind::AllpayCashIn),
            "allpay.pay" => Some(Kind::AllpayPay),
            "webmoney.invoice" => Some(Kind::WebmoneyInvoice),
            "upay.card" => Some(Kind::UpayCard),
            "upay.hold" => Some(Kind::UpayHold),
            "wooppay.invoice" => Some(Kind::WooppayInvoice),
            _ => None,
        }
    }

    pub fn provider(self) -> &'static str {
        match self {
            Kind::AllpayCashIn | Kind::AllpayPay => "allpay",
            Kind::WebmoneyInvoice => "webmoney",
            Kind::UpayCard | Kind::UpayHold => "upay",
            Kind::WooppayInvoice => "wooppay",
        }
    }

    pub fn message_key(self) -> &'static str {
        match self {
            Kind::AllpayCashIn => "kind.allpay.cash_in",
            Kind::AllpayPay => "kind.allpay.pay",
            Kind::WebmoneyInvoice => "kind.webmoney.invoice",
            Kind::UpayCard => "kind.upay.card",
            Kind::UpayHold => "kind.upay.hold",
            Kind::WooppayInvoice => "kind.wooppay.invoice",
        }
    }

    /// A label short enough for a table column.
    pub fn short_key(self) -> &'static str {
        match self {
            Kind::AllpayCashIn => "kind.short.allpay.cash_in",
            Kind::AllpayPay => "kind.short.allpay.pay",
            Kind::WebmoneyInvoice => "kind.short.webmoney.invoice",
            Kind::UpayCard => "kind.short.upay.card",
            Kind::UpayHold => "kind.short.upay.hold",
            Kind::WooppayInvoice => "kind.short.wooppay.invoice",
        }
    }
}
