//! A HITL request's `body` as Markdown (CommonMark with tables and
//! strikethrough), made safe to put in a page: raw HTML in the text is
//! shown as text, never as markup, and a link or image whose address could
//! run script (`javascript:`, `data:`, `vbscript:`…) loses its address.

use pulldown_cmark::{CowStr, Event, Options, Parser, Tag, html};

/// The body as HTML that can be inserted unescaped.
pub fn to_html(markdown: &str) -> String {
    let mut options = Options::empty();
    options.insert(Options::ENABLE_TABLES);
    options.insert(Options::ENABLE_STRIKETHROUGH);
    let events = Parser::new_ext(markdown, options).map(|event| match event {
        // push_html writes Html events as they are; Text is escaped.
        Event::Html(raw) | Event::InlineHtml(raw) => Event::Text(raw),
        Event::Start(Tag::Link {
            link_type,
            dest_url,
            title,
            id,
        }) => Event::Start(Tag::Link {
            link_type,
            dest_url: safe_url(dest_url),
            title,
            id,
        }),
        Event::Start(Tag::Image {
            link_type,
            dest_url,
            title,
            id,
        }) => Event::Start(Tag::Image {
            link_type,
            dest_url: safe_url(dest_url),
            title,
            id,
        }),
        other => other,
    });
    let mut out = String::with_capacity(markdown.len() * 3 / 2);
    html::push_html(&mut out, events);
    out
}

/// The address when its scheme is http, https or mailto, or when it has
/// none (a path or a fragment); else empty. Browsers drop tabs, newlines
/// and leading spaces inside a scheme, so those are removed before looking.
fn safe_url(url: CowStr<'_>) -> CowStr<'_> {
    let squeezed: String = url
        .chars()
        .filter(|c| !c.is_ascii_whitespace() && !c.is_ascii_control())
        .collect::<String>()
        .to_ascii_lowercase();
    let scheme_end = squeezed.find(':');
    let before_path = squeezed.find(['/', '?', '#']).unwrap_or(usize::MAX);
    let allowed = match scheme_end {
        Some(i) if i < before_path => {
            matches!(&squeezed[..i], "http" | "https" | "mailto")
        }
        _ => true,
    };
    if allowed { url } else { CowStr::Borrowed("") }
}

#[cfg(test)]
mod tests {
    use super::to_html;

    #[test]
    fn renders_markdown() {
        let html = to_html("Ship **1.2**?\n\n- [notes](https://example.org/n)\n- `code`");
        assert!(html.contains("<strong>1.2</strong>"), "{html}");
        assert!(
            html.contains(r#"<a href="https://example.org/n">notes</a>"#),
            "{html}"
        );
        assert!(html.contains("<li><code>code</code></li>"), "{html}");
    }

    // Invariant: nothing in a body becomes markup that runs script.
    #[test]
    fn raw_html_is_escaped() {
        let html = to_html("Hi <script>alert(1)</script>\n\n<img src=x onerror=alert(2)>\n");
        assert!(!html.contains("<script"), "{html}");
        assert!(!html.contains("<img"), "{html}");
        assert!(
            html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"),
            "{html}"
        );
    }

    #[test]
    fn script_links_lose_their_address() {
        for bad in [
            "[x](javascript:alert(1))",
            "[x](JaVa\tScRiPt:alert(1))",
            "[x](<java\nscript:alert(1)>)",
            "![i](data:text/html;base64,PHNjcmlwdD4=)",
            "<javascript:alert(1)>",
            "[x](vbscript:msgbox)",
        ] {
            let html = to_html(bad);
            for attr in ["href=\"", "src=\""] {
                for value in html.split(attr).skip(1) {
                    let value = value.split('"').next().unwrap_or("").to_ascii_lowercase();
                    assert!(
                        !value.contains("script:") && !value.contains("data:"),
                        "{bad:?} -> {html}"
                    );
                }
            }
        }
        let ok = to_html("[rel](/dags/x) [mail](mailto:a@b.c) [frag](#top)");
        assert!(ok.contains(r#"href="/dags/x""#), "{ok}");
        assert!(ok.contains(r#"href="mailto:a@b.c""#), "{ok}");
    }
}
