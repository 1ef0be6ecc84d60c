//! HTML parts to the text a reader sees, with the links and what they show.
//!
//! The tokenizer is html5gum (WHATWG tokenization, character references decoded). On top of
//! it: the contents of `script`, `style`, `head`, `template` and comments are dropped; block
//! elements end a line; runs of white space become one space. A link is written as its
//! visible text followed by its target in angle brackets (`Vietcombank <https://vcb.top/x>`)
//! unless the text already is the target, so that the engine's link checks see where it
//! goes; each link is also returned with its text for the mismatch check.

use chanrac_core::email::Link;
use html5gum::{DefaultEmitter, Token, Tokenizer};

/// At most this many links are kept per message (the rest are still written in the text).
pub const MAX_LINKS: usize = 256;

/// A link's text is kept up to this many bytes.
const MAX_LINK_TEXT: usize = 512;

/// Elements whose contents a reader never sees.
const HIDDEN: &[&[u8]] = &[b"script", b"style", b"head", b"template", b"title", b"noscript"];

/// Elements that start or end a line.
const BLOCKS: &[&[u8]] = &[
    b"p",
    b"div",
    b"br",
    b"tr",
    b"li",
    b"ul",
    b"ol",
    b"table",
    b"h1",
    b"h2",
    b"h3",
    b"h4",
    b"h5",
    b"h6",
    b"hr",
    b"blockquote",
    b"section",
    b"article",
    b"header",
    b"footer",
    b"td",
    b"th",
    b"center",
    b"pre",
];

/// Appends the visible text of `html` to `out` (stopping once `out` holds `max` bytes) and
/// its links to `links`.
pub fn to_text(html: &str, out: &mut String, links: &mut Vec<Link>, max: usize) {
    let mut emitter = DefaultEmitter::default();
    // Switch to raw text inside script and style, as a browser's tree builder would.
    emitter.naively_switch_states(true);
    let mut hidden_depth = 0usize;
    let mut anchor: Option<(String, usize)> = None; // (href, where its text starts in `out`)
    for token in Tokenizer::new_with_emitter(html, emitter) {
        if out.len() >= max {
            break;
        }
        let Ok(token) = token;
        match token {
            Token::StartTag(tag) => {
                let name: &[u8] = &tag.name;
                if HIDDEN.contains(&name) {
                    if !tag.self_closing {
                        hidden_depth += 1;
                    }
                    continue;
                }
                if BLOCKS.contains(&name) {
                    newline(out);
                }
                if name == b"a" {
                    finish_anchor(&mut anchor, out, links);
                    if let Some(href) = tag.attributes.get(b"href".as_slice()) {
                        let href = String::from_utf8_lossy(href).trim().to_string();
                        if !href.is_empty() {
                            anchor = Some((href, out.len()));
                        }
                    }
                } else if name == b"img"
                    && hidden_depth == 0
                    && let Some(alt) = tag.attributes.get(b"alt".as_slice())
                {
                    push_text(out, &String::from_utf8_lossy(alt));
                }
            }
            Token::EndTag(tag) => {
                let name: &[u8] = &tag.name;
                if HIDDEN.contains(&name) {
                    hidden_depth = hidden_depth.saturating_sub(1);
                    continue;
                }
                if name == b"a" {
                    finish_anchor(&mut anchor, out, links);
                }
                if BLOCKS.contains(&name) {
                    newline(out);
                }
            }
            Token::String(s) if hidden_depth == 0 => push_text(out, &String::from_utf8_lossy(&s)),
            _ => {}
        }
    }
    finish_anchor(&mut anchor, out, links);
    let trimmed = out.trim_end().len();
    out.truncate(trimmed);
}

/// Closes the open anchor: records the link and writes its target after its text when the
/// text is not the target itself.
fn finish_anchor(anchor: &mut Option<(String, usize)>, out: &mut String, links: &mut Vec<Link>) {
    let Some((href, start)) = anchor.take() else {
        return;
    };
    let text = out.get(start..).unwrap_or("").trim();
    let text = match text.char_indices().nth(MAX_LINK_TEXT) {
        Some((i, _)) => &text[..i],
        None => text,
    }
    .to_string();
    let web = {
        let l = href.get(..8).unwrap_or(&href).to_ascii_lowercase();
        l.starts_with("http://") || l.starts_with("https://") || l.starts_with("www.")
    };
    if !web {
        return;
    }
    if text != href && text.trim_end_matches('/') != href.trim_end_matches('/') {
        if !out.ends_with([' ', '\n']) && !out.is_empty() {
            out.push(' ');
        }
        out.push('<');
        out.push_str(&href);
        out.push_str("> ");
    }
    if links.len() < MAX_LINKS {
        links.push(Link { text, href });
    }
}

/// Appends text with white space collapsed.
fn push_text(out: &mut String, s: &str) {
    for c in s.chars() {
        if c.is_whitespace() || c == '\u{a0}' {
            if !out.is_empty() && !out.ends_with([' ', '\n']) {
                out.push(' ');
            }
        } else {
            out.push(c);
        }
    }
}

/// Ends the current line (at most one blank line in a row).
fn newline(out: &mut String) {
    while out.ends_with(' ') {
        out.pop();
    }
    if !out.is_empty() && !out.ends_with("\n\n") {
        out.push('\n');
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(html: &str) -> (String, Vec<Link>) {
        let mut out = String::new();
        let mut links = Vec::new();
        to_text(html, &mut out, &mut links, 1 << 20);
        (out, links)
    }

    #[test]
    fn visible_text_only() {
        let (t, _) = text(
            "<html><head><title>T</title><style>p{color:red}</style></head><body><p>Xin&nbsp;chào</p>\
             <script>var a = '<p>no</p>';</script><div>Quý   khách &amp; bạn</div><!-- hidden --></body></html>",
        );
        assert_eq!(t, "Xin chào\n\nQuý khách & bạn");
    }

    #[test]
    fn links_show_their_targets() {
        let (t, links) = text(
            "<p>Đăng nhập tại <a href=\"https://vcb-secure.top/login\">www.vietcombank.com.vn</a> ngay.</p>\
             <a href='https://shopee.vn/'>https://shopee.vn</a> <a href=mailto:x@y.vn>x@y.vn</a>",
        );
        assert_eq!(
            t,
            "Đăng nhập tại www.vietcombank.com.vn <https://vcb-secure.top/login> ngay.\nhttps://shopee.vn x@y.vn"
        );
        assert_eq!(links.len(), 2);
        assert_eq!(links[0].text, "www.vietcombank.com.vn");
        assert_eq!(links[0].href, "https://vcb-secure.top/login");
        assert_eq!(links[1].text, "https://shopee.vn");
    }

    #[test]
    fn broken_html_does_not_fail() {
        let (t, links) = text("<a href='https://x.top'>click <b>here<a href=\"https://y.top\">and here</p></div>");
        assert_eq!(links.len(), 2);
        assert!(t.contains("<https://x.top>") && t.contains("<https://y.top>"), "{t}");
        let (t, _) = text("<<<>>>&#xFFFFFF;&bogus;<a href");
        assert!(t.len() < 64);
    }

    #[test]
    fn stops_at_the_budget() {
        let html = "<p>spam spam spam</p>".repeat(100_000);
        let mut out = String::new();
        to_text(&html, &mut out, &mut Vec::new(), 1000);
        assert!(out.len() < 1100, "{}", out.len());
    }
}
