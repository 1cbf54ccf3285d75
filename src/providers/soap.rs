//! SOAP 1.1 plumbing shared by the providers and the emulator: an envelope writer with a
//! place for a header signer, a namespace-agnostic reader into a small element tree, and
//! the SOAP Fault as a typed error.
//!
//! It knows no provider's messages: each provider module builds its body and reads its
//! reply from the tree this module gives back.
//!
//! One file, past 500 lines with its tests: the reader and the writer every SOAP provider
//! shares; its namespace rules are one contract.

use std::borrow::Cow;
use std::fmt::Write as _;

use quick_xml::NsReader;
use quick_xml::events::Event;
use quick_xml::name::ResolveResult;

/// What can go wrong reading a SOAP reply.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SoapError {
    /// The bytes are not XML we can read (truncated, malformed, not UTF-8).
    #[error("malformed XML: {0}")]
    Malformed(String),
    /// Well-formed XML without a SOAP Body, or a Body without content.
    #[error("no SOAP Body in the reply")]
    NoBody,
    /// The server answered with a SOAP Fault.
    #[error("SOAP Fault {code}: {message}")]
    Fault { code: String, message: String },
    /// The Envelope is not in a SOAP namespace: whatever it says is not a SOAP reply.
    #[error("the reply's Envelope is in namespace {0:?}, not SOAP's")]
    WrongNamespace(String),
    /// The Body holds something other than the expected reply.
    #[error("unexpected reply element <{found}>, expected <{expected}>")]
    Unexpected { expected: String, found: String },
    /// A field the reply must carry is missing.
    #[error("reply field {0} is missing")]
    Missing(&'static str),
}

/// One element of a reply: local name (namespace prefix dropped), attributes by local name,
/// the text it holds directly, and its children in document order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Element {
    pub name: String,
    /// The namespace URI the element's name is in, as its document declared it (none for
    /// an unprefixed name with no default namespace in scope).
    pub ns: Option<String>,
    pub attrs: Vec<(String, String)>,
    pub text: String,
    pub children: Vec<Element>,
}

impl Element {
    /// The first child with this local name.
    pub fn child(&self, name: &str) -> Option<&Element> {
        self.children.iter().find(|c| c.name == name)
    }

    /// The first child whose local name matches ignoring ASCII case (documents disagree on
    /// `code` and `Code`).
    pub fn child_ci(&self, name: &str) -> Option<&Element> {
        self.children
            .iter()
            .find(|c| c.name.eq_ignore_ascii_case(name))
    }

    /// The trimmed text of the first child with this name; `None` when absent or empty.
    pub fn text_of(&self, name: &str) -> Option<&str> {
        self.child(name)
            .map(|c| c.text.trim())
            .filter(|t| !t.is_empty())
    }

    /// The trimmed, non-empty texts of every child with this local name, in order: a value
    /// given twice is read from all its places, never from the first alone.
    pub fn texts_of(&self, name: &str) -> Vec<&str> {
        self.children
            .iter()
            .filter(|c| c.name == name)
            .map(|c| c.text.trim())
            .filter(|t| !t.is_empty())
            .collect()
    }

    /// The first descendant (depth first, self excluded) with this local name.
    pub fn find(&self, name: &str) -> Option<&Element> {
        for c in &self.children {
            if c.name == name {
                return Some(c);
            }
            if let Some(found) = c.find(name) {
                return Some(found);
            }
        }
        None
    }

    /// Follows a path of child names.
    pub fn path(&self, names: &[&str]) -> Option<&Element> {
        let mut at = self;
        for n in names {
            at = at.child(n)?;
        }
        Some(at)
    }

    pub fn attr(&self, name: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

fn local(name: &[u8]) -> String {
    let local = match name.iter().rposition(|&b| b == b':') {
        Some(i) => &name[i + 1..],
        None => name,
    };
    String::from_utf8_lossy(local).into_owned()
}

fn unescape_lenient(raw: &str) -> Cow<'_, str> {
    // An entity that does not parse is kept as raw text rather than failing the reply.
    match quick_xml::escape::unescape(raw) {
        Ok(s) => s,
        Err(_) => Cow::Borrowed(raw),
    }
}

fn start_element(
    res: &ResolveResult<'_>,
    e: &quick_xml::events::BytesStart<'_>,
) -> Result<Element, SoapError> {
    let ns = match res {
        ResolveResult::Bound(ns) => Some(String::from_utf8_lossy(ns.as_ref()).into_owned()),
        ResolveResult::Unbound => None,
        // A prefix nobody declared: the name is in no namespace anyone can know.
        ResolveResult::Unknown(p) => {
            return Err(SoapError::Malformed(format!(
                "undeclared namespace prefix {:?}",
                String::from_utf8_lossy(p)
            )));
        }
    };
    let mut el = Element {
        name: local(e.name().as_ref()),
        ns,
        ..Element::default()
    };
    for a in e.attributes().with_checks(false).flatten() {
        if a.key.as_ref().starts_with(b"xmlns") {
            continue;
        }
        let key = local(a.key.as_ref());
        let raw = String::from_utf8_lossy(&a.value);
        el.attrs.push((key, unescape_lenient(&raw).into_owned()));
    }
    Ok(el)
}

/// How deep a reply may nest. The tree is recursive (drop, clone, find): without a limit a
/// hostile reply could overflow the stack, which no panic hook survives.
pub const MAX_DEPTH: usize = 64;

/// Parses a whole XML document into its root element, whatever the namespaces.
pub fn parse_document(xml: &[u8]) -> Result<Element, SoapError> {
    let mut reader = NsReader::from_reader(xml);
    let cfg = reader.config_mut();
    cfg.allow_dangling_amp = true;
    cfg.check_end_names = true;
    let mut stack: Vec<Element> = Vec::new();
    let mut root: Option<Element> = None;
    loop {
        let (res, ev) = reader
            .read_resolved_event()
            .map_err(|e| SoapError::Malformed(e.to_string()))?;
        match ev {
            Event::Start(e) => {
                if stack.len() >= MAX_DEPTH {
                    return Err(SoapError::Malformed(format!(
                        "nested deeper than {MAX_DEPTH}"
                    )));
                }
                stack.push(start_element(&res, &e)?);
            }
            Event::Empty(e) => {
                let el = start_element(&res, &e)?;
                match stack.last_mut() {
                    Some(parent) => parent.children.push(el),
                    None if root.is_none() => root = Some(el),
                    None => return Err(SoapError::Malformed("content after the root".into())),
                }
            }
            Event::End(_) => {
                let el = stack
                    .pop()
                    .ok_or_else(|| SoapError::Malformed("unbalanced end tag".into()))?;
                match stack.last_mut() {
                    Some(parent) => parent.children.push(el),
                    None if root.is_none() => root = Some(el),
                    None => return Err(SoapError::Malformed("content after the root".into())),
                }
            }
            Event::Text(t) => {
                if let Some(top) = stack.last_mut() {
                    let s = t
                        .decode()
                        .map_err(|e| SoapError::Malformed(e.to_string()))?;
                    // Indentation between elements is not content; text around an entity
                    // (`a &amp; b`) is, so only all-blank text at the start is dropped.
                    if !(top.text.is_empty() && s.trim().is_empty()) {
                        top.text.push_str(&s);
                    }
                }
            }
            Event::CData(t) => {
                if let Some(top) = stack.last_mut() {
                    top.text.push_str(&String::from_utf8_lossy(&t));
                }
            }
            Event::GeneralRef(r) => {
                if let Some(top) = stack.last_mut() {
                    if let Ok(Some(c)) = r.resolve_char_ref() {
                        top.text.push(c);
                    } else {
                        let name = String::from_utf8_lossy(&r);
                        match quick_xml::escape::resolve_predefined_entity(&name) {
                            Some(s) => top.text.push_str(s),
                            // Not an entity at all: a raw `&` the server forgot to escape.
                            None => {
                                let _ = write!(top.text, "&{name};");
                            }
                        }
                    }
                }
            }
            Event::Eof => break,
            Event::Decl(_) | Event::PI(_) | Event::Comment(_) | Event::DocType(_) => {}
        }
    }
    if !stack.is_empty() {
        return Err(SoapError::Malformed("truncated: unclosed elements".into()));
    }
    root.ok_or_else(|| SoapError::Malformed("empty document".into()))
}

pub const SOAP11_NS: &str = "http://schemas.xmlsoap.org/soap/envelope/";
pub const SOAP12_NS: &str = "http://www.w3.org/2003/05/soap-envelope";

/// Parses a SOAP 1.1 reply and returns the element inside its Body: the reply of one of
/// `namespaces` (the provider's service namespaces), or a Fault as an `Err`. Anything else
/// is not a reply kassa reads, whatever it holds (SOAP 1.1, 4.1.2: an Envelope in another
/// namespace is a version mismatch to discard): a SOAP 1.2 Envelope, a Body or Fault
/// outside SOAP 1.1's namespace, a reply element outside the provider's. Only these are
/// checked: the documents' reply children carry no namespace.
pub fn parse_body(xml: &[u8], namespaces: &[&str]) -> Result<Element, SoapError> {
    let root = parse_document(xml)?;
    if root.name != "Envelope" {
        return Err(SoapError::NoBody);
    }
    let soap11 = |el: &Element| el.ns.as_deref() == Some(SOAP11_NS);
    let wrong = |el: &Element| SoapError::WrongNamespace(el.ns.clone().unwrap_or_default());
    if !soap11(&root) {
        return Err(wrong(&root));
    }
    let body = root
        .children
        .into_iter()
        .find(|c| c.name == "Body")
        .ok_or(SoapError::NoBody)?;
    if !soap11(&body) {
        return Err(wrong(&body));
    }
    let first = body.children.into_iter().next().ok_or(SoapError::NoBody)?;
    if first.name == "Fault" && soap11(&first) {
        return Err(fault_of(&first));
    }
    if !namespaces.contains(&first.ns.as_deref().unwrap_or_default()) {
        return Err(wrong(&first));
    }
    Ok(first)
}

/// A Fault in a SOAP 1.1 reply that may carry nothing else (an HTTP error's body).
pub fn fault_in(xml: &[u8]) -> Option<SoapError> {
    match parse_body(xml, &[]) {
        Err(f @ SoapError::Fault { .. }) => Some(f),
        _ => None,
    }
}

/// Reads a Fault element, SOAP 1.1 (`faultcode`, `faultstring`) or 1.2 (`Code/Value`,
/// `Reason/Text`).
pub fn fault_of(f: &Element) -> SoapError {
    let code = f
        .text_of("faultcode")
        .or_else(|| f.path(&["Code", "Value"]).map(|e| e.text.trim()))
        .unwrap_or("")
        .to_string();
    let message = f
        .text_of("faultstring")
        .or_else(|| f.path(&["Reason", "Text"]).map(|e| e.text.trim()))
        .unwrap_or("")
        .to_string();
    SoapError::Fault { code, message }
}

/// Checks that a reply element is the one expected.
pub fn expect<'a>(el: &'a Element, name: &str) -> Result<&'a Element, SoapError> {
    if el.name == name {
        Ok(el)
    } else {
        Err(SoapError::Unexpected {
            expected: name.to_string(),
            found: el.name.clone(),
        })
    }
}

/// Appends XML-escaped text.
pub fn escape_into(out: &mut String, text: &str) {
    for c in text.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c => out.push(c),
        }
    }
}

/// A small writer for request bodies: elements in, escaped text, nothing else.
#[derive(Debug, Default)]
pub struct XmlWriter {
    buf: String,
}

impl XmlWriter {
    pub fn with_capacity(n: usize) -> XmlWriter {
        XmlWriter {
            buf: String::with_capacity(n),
        }
    }

    pub fn open(&mut self, tag: &str) -> &mut Self {
        self.buf.push('<');
        self.buf.push_str(tag);
        self.buf.push('>');
        self
    }

    pub fn close(&mut self, tag: &str) -> &mut Self {
        self.buf.push_str("</");
        self.buf.push_str(tag);
        self.buf.push('>');
        self
    }

    /// `<tag a="v" ...>` with the attribute values escaped.
    pub fn open_with(&mut self, tag: &str, attrs: &[(&str, &str)]) -> &mut Self {
        self.buf.push('<');
        self.buf.push_str(tag);
        for (k, v) in attrs {
            self.buf.push(' ');
            self.buf.push_str(k);
            self.buf.push_str("=\"");
            escape_into(&mut self.buf, v);
            self.buf.push('"');
        }
        self.buf.push('>');
        self
    }

    /// `<tag xsi:type="ty">text</tag>`, the rpc/encoded style (PHP's SoapServer); an empty
    /// text gives `<tag xsi:type="ty"/>` as the documents' examples send unset fields.
    pub fn typed_leaf(&mut self, tag: &str, ty: &str, text: &str) -> &mut Self {
        if text.is_empty() {
            self.buf.push('<');
            self.buf.push_str(tag);
            self.buf.push_str(" xsi:type=\"");
            self.buf.push_str(ty);
            self.buf.push_str("\"/>");
            return self;
        }
        self.open_with(tag, &[("xsi:type", ty)]);
        escape_into(&mut self.buf, text);
        self.close(tag)
    }

    /// `<tag>text</tag>` with the text escaped.
    pub fn leaf(&mut self, tag: &str, text: &str) -> &mut Self {
        self.open(tag);
        escape_into(&mut self.buf, text);
        self.close(tag)
    }

    pub fn into_string(self) -> String {
        self.buf
    }

    pub fn as_str(&self) -> &str {
        &self.buf
    }
}

/// Something that adds a SOAP Header to a request, e.g. an XML signature over the body.
/// Allpay's sample client signs requests although its documents never ask for it; this is
/// where such a signer would go.
pub trait HeaderSigner: Send + Sync {
    /// The inner XML of `<soapenv:Header>` for this body.
    fn header_for(&self, body_xml: &str) -> String;
}

/// Writes a SOAP 1.1 envelope with one namespace prefix for the body's operation element.
pub fn envelope(
    prefix: &str,
    namespace: &str,
    signer: Option<&dyn HeaderSigner>,
    body: impl FnOnce(&mut XmlWriter),
) -> String {
    let mut b = XmlWriter::with_capacity(512);
    body(&mut b);
    let body = b.into_string();
    let header = signer.map(|s| s.header_for(&body));
    let mut out = String::with_capacity(body.len() + 256);
    out.push_str(
        "<soapenv:Envelope xmlns:soapenv=\"http://schemas.xmlsoap.org/soap/envelope/\" xmlns:",
    );
    out.push_str(prefix);
    out.push_str("=\"");
    out.push_str(namespace);
    out.push_str("\">");
    match header {
        Some(h) => {
            out.push_str("<soapenv:Header>");
            out.push_str(&h);
            out.push_str("</soapenv:Header>");
        }
        None => out.push_str("<soapenv:Header/>"),
    }
    out.push_str("<soapenv:Body>");
    out.push_str(&body);
    out.push_str("</soapenv:Body></soapenv:Envelope>");
    out
}

/// Namespaces an rpc/encoded envelope declares (SOAP 1.1 section 5 encoding).
const ENCODED_NS: &str = " xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\" \
xmlns:xsd=\"http://www.w3.org/2001/XMLSchema\" \
xmlns:SOAP-ENC=\"http://schemas.xmlsoap.org/soap/encoding/\"";

/// Writes a SOAP 1.1 rpc/encoded envelope: the operation element `prefix:method` carries
/// `soapenv:encodingStyle`, and `xsi`, `xsd` and `SOAP-ENC` are declared for typed values
/// and arrays (PHP's SoapServer, Wooppay).
pub fn rpc_encoded_envelope(
    prefix: &str,
    namespace: &str,
    method: &str,
    body: impl FnOnce(&mut XmlWriter),
) -> String {
    let mut b = XmlWriter::with_capacity(512);
    body(&mut b);
    let body = b.into_string();
    let mut out = String::with_capacity(body.len() + 512);
    out.push_str("<soapenv:Envelope xmlns:soapenv=\"http://schemas.xmlsoap.org/soap/envelope/\"");
    out.push_str(ENCODED_NS);
    let _ = write!(
        out,
        " xmlns:{prefix}=\"{namespace}\"><soapenv:Header/><soapenv:Body>"
    );
    let _ = write!(
        out,
        "<{prefix}:{method} soapenv:encodingStyle=\"http://schemas.xmlsoap.org/soap/encoding/\">"
    );
    out.push_str(&body);
    let _ = write!(
        out,
        "</{prefix}:{method}></soapenv:Body></soapenv:Envelope>"
    );
    out
}

/// The items of a SOAP-ENC array (`<x SOAP-ENC:arrayType="t[n]"><item>...`), whatever
/// their element name; with the count its `arrayType` announces, when it says one.
pub fn array_items(el: &Element) -> (Vec<&Element>, Option<usize>) {
    let declared = el.attr("arrayType").and_then(|t| {
        let inner = t.rsplit_once('[')?.1.strip_suffix(']')?;
        inner.trim().parse::<usize>().ok()
    });
    (el.children.iter().collect(), declared)
}

/// Reads a boolean the way SOAP stacks write it (`true`, `1`, any case).
pub fn parse_bool(text: &str) -> Option<bool> {
    match text.trim().to_ascii_lowercase().as_str() {
        "true" | "1" => Some(true),
        "false" | "0" => Some(false),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_across_prefixes_and_entities() {
        let xml = br#"<?xml version="1.0"?><S:Envelope xmlns:S="http://schemas.xmlsoap.org/soap/envelope/"><S:Body><ns2:x xmlns:ns2="urn:a"><a b="1">t&amp;u&#1072;</a><c/></ns2:x></S:Body></S:Envelope>"#;
        let body = parse_body(xml, &["urn:a"]).map_err(|e| e.to_string());
        let body = body.as_ref().ok();
        assert_eq!(body.map(|b| b.name.as_str()), Some("x"));
        assert_eq!(body.and_then(|b| b.text_of("a")), Some("t&uа"));
        assert_eq!(
            body.and_then(|b| b.child("a")).and_then(|a| a.attr("b")),
            Some("1")
        );
        assert!(body.and_then(|b| b.child("c")).is_some());
    }

    #[test]
    fn keeps_a_raw_ampersand() {
        let xml = b"<E><Body><r><url>https://x/y?id=1&key=abc</url><u2>https://x/y?id=1&amp;key=abc</u2></r></Body></E>";
        let doc = parse_document(xml).ok();
        let r = doc.as_ref().and_then(|d| d.path(&["Body", "r"]));
        assert_eq!(
            r.and_then(|r| r.text_of("url")),
            Some("https://x/y?id=1&key=abc")
        );
        assert_eq!(
            r.and_then(|r| r.text_of("u2")),
            Some("https://x/y?id=1&key=abc")
        );
    }

    #[test]
    fn rpc_encoded_envelope_and_arrays() {
        let x = rpc_encoded_envelope("urn", "urn:X", "m", |w| {
            w.open_with("req", &[("xsi:type", "urn:Req")])
                .typed_leaf("a", "xsd:string", "1&2")
                .typed_leaf("b", "xsd:int", "")
                .close("req");
        });
        assert!(x.contains("xmlns:urn=\"urn:X\"><soapenv:Header/><soapenv:Body><urn:m soapenv:encodingStyle=\"http://schemas.xmlsoap.org/soap/encoding/\"><req xsi:type=\"urn:Req\"><a xsi:type=\"xsd:string\">1&amp;2</a><b xsi:type=\"xsd:int\"/></req></urn:m>"), "{x}");
        let doc = parse_document(x.as_bytes()).ok();
        assert!(doc.is_some());
        let arr = parse_document(
            br#"<r xmlns:E="e" E:arrayType="xsd:int[2]"><item>1</item><item>2</item></r>"#,
        )
        .ok();
        let (items, n) = arr.as_ref().map(array_items).unwrap_or_default();
        assert_eq!((items.len(), n), (2, Some(2)));
    }

    #[test]
    fn fault_is_an_error() {
        let xml = b"<soap:Envelope xmlns:soap=\"http://schemas.xmlsoap.org/soap/envelope/\"><soap:Body><soap:Fault><faultcode>soap:Server</faultcode><faultstring>boom</faultstring></soap:Fault></soap:Body></soap:Envelope>";
        assert_eq!(
            parse_body(xml, &[]),
            Err(SoapError::Fault {
                code: "soap:Server".into(),
                message: "boom".into()
            })
        );
    }

    #[test]
    fn deep_nesting_is_refused_not_a_stack_overflow() {
        let xml = "<a>".repeat(100_000);
        assert!(matches!(
            parse_document(xml.as_bytes()),
            Err(SoapError::Malformed(_))
        ));
    }

    #[test]
    fn only_soap_11_and_the_providers_namespace_are_read() {
        let ok = br#"<S:Envelope xmlns:S="http://schemas.xmlsoap.org/soap/envelope/"><S:Body><p:r xmlns:p="urn:p"><c/></p:r></S:Body></S:Envelope>"#;
        assert_eq!(parse_body(ok, &["urn:p"]).map(|r| r.name), Ok("r".into()));
        let wrong = |xml: &[u8]| {
            matches!(
                parse_body(xml, &["urn:p"]),
                Err(SoapError::WrongNamespace(_))
            )
        };
        // SOAP 1.2: a version mismatch, not a reply (SOAP 1.1, 4.1.2).
        assert!(wrong(br#"<Envelope xmlns="http://www.w3.org/2003/05/soap-envelope"><Body><p:r xmlns:p="urn:p"/></Body></Envelope>"#));
        assert!(wrong(br#"<S:Envelope xmlns:S="urn:something-else"><S:Body><p:r xmlns:p="urn:p"/></S:Body></S:Envelope>"#));
        assert!(wrong(
            br#"<Envelope><Body><p:r xmlns:p="urn:p"/></Body></Envelope>"#
        ));
        // A Body in another namespace inside a SOAP Envelope.
        assert!(wrong(br#"<S:Envelope xmlns:S="http://schemas.xmlsoap.org/soap/envelope/"><x:Body xmlns:x="urn:x"><p:r xmlns:p="urn:p"/></x:Body></S:Envelope>"#));
        // The reply element outside the provider's namespace, or in none.
        assert!(wrong(br#"<S:Envelope xmlns:S="http://schemas.xmlsoap.org/soap/envelope/"><S:Body><q:r xmlns:q="urn:q"/></S:Body></S:Envelope>"#));
        assert!(wrong(br#"<S:Envelope xmlns:S="http://schemas.xmlsoap.org/soap/envelope/"><S:Body><r/></S:Body></S:Envelope>"#));
        // A Fault outside SOAP's namespace is no Fault.
        assert!(wrong(br#"<S:Envelope xmlns:S="http://schemas.xmlsoap.org/soap/envelope/"><S:Body><x:Fault xmlns:x="urn:x"><faultcode>S:Server</faultcode></x:Fault></S:Body></S:Envelope>"#));
        // A prefix nobody declared is unreadable.
        assert!(matches!(
            parse_body(br#"<S:Envelope xmlns:S="http://schemas.xmlsoap.org/soap/envelope/"><S:Body><p:r/></S:Body></S:Envelope>"#, &["urn:p"]),
            Err(SoapError::Malformed(_))
        ));
    }

    #[test]
    fn truncated_and_garbage_are_malformed() {
        let xml = b"<soapenv:Envelope xmlns:soapenv=\"x\"><soapenv:Body><a>1</a>";
        assert!(matches!(parse_body(xml, &[]), Err(SoapError::Malformed(_))));
        assert!(matches!(
            parse_body(b"<html>oops", &[]),
            Err(SoapError::Malformed(_))
        ));
        assert!(matches!(parse_body(b"", &[]), Err(SoapError::Malformed(_))));
        assert!(matches!(
            parse_body(b"<a></b>", &[]),
            Err(SoapError::Malformed(_))
        ));
        assert_eq!(parse_body(b"<html></html>", &[]), Err(SoapError::NoBody));
    }

    #[test]
    fn envelope_escapes_and_leaves_room_for_a_signer() {
        struct Sig;
        impl HeaderSigner for Sig {
            fn header_for(&self, body: &str) -> String {
                format!("<sig len=\"{}\"/>", body.len())
            }
        }
        let plain = envelope("ns", "urn:x", None, |w| {
            w.leaf("ns:a", "<&>");
        });
        assert!(plain.contains("<soapenv:Header/><soapenv:Body><ns:a>&lt;&amp;&gt;</ns:a>"));
        let signed = envelope("ns", "urn:x", Some(&Sig), |w| {
            w.leaf("ns:a", "b");
        });
        assert!(signed.contains("<soapenv:Header><sig len=\"14\"/></soapenv:Header>"));
    }
}
