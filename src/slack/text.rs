//! People's words as the bot repeats them. Slack's message format marks
//! mentions, channels and links with `<…>` (`<@U1>`, `<#C1|name>`,
//! `<https://x|text>`, `<!here>`) and escapes `&`, `<` and `>` elsewhere.
//!
//! - [`defuse`] is the one function that makes a text unable to ping a whole
//!   channel through the bot: every renderer that repeats what someone typed
//!   passes it through here (directly, or through [`plain`] for text typed in
//!   a form, which is not in Slack's format yet). User mentions and links
//!   keep working.
//! - [`Mrkdwn`] is text safe to send as Slack's mrkdwn. Only the
//!   constructors here build one, each from something made safe on the way
//!   in (defused, escaped, a template we wrote, a mention of an id), so a
//!   renderer cannot put raw text into a message: Block Kit text takes a
//!   `Mrkdwn`, not a `String`.
//! - [`to_markdown`] turns Slack's format into Markdown for the postmortem
//!   file, which is read outside Slack: names instead of ids, Markdown
//!   links, plain words for special mentions.

use crate::domain::{ChannelId, UserId};
use std::collections::BTreeMap;
use std::fmt;

/// Text safe to send as Slack's mrkdwn: nothing in it pings a channel or a
/// group, and whatever someone typed shows as typed. The field is private:
/// a `Mrkdwn` comes only from the constructors below.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Mrkdwn(String);

impl Mrkdwn {
    /// Text already in Slack's format (a message, a stored timeline line),
    /// defused: mentions of people, channel links, links and dates keep
    /// working.
    pub fn slack(text: &str) -> Self {
        // A `<` or `>` left outside a token (`a < b`, a cut-off `<!here`) is
        // escaped too, so that every bracket in a `Mrkdwn` belongs to a
        // safe token and no two parts put side by side can make a new one.
        let defused = defuse(text);
        let mut out = String::with_capacity(defused.len());
        for piece in pieces(&defused) {
            match piece {
                Piece::Text(t) => out.push_str(&t.replace('<', "&lt;").replace('>', "&gt;")),
                Piece::Token(t) => {
                    out.push('<');
                    out.push_str(t);
                    out.push('>');
                }
            }
        }
        Self(out)
    }

    /// Raw text someone typed (a form field), shown as typed and pinging
    /// nobody.
    pub fn typed(raw: &str) -> Self {
        Self(plain(raw))
    }

    /// Raw text from a source that does not write mentions (an alert, a
    /// setting), with `&`, `<` and `>` escaped.
    pub fn escaped(raw: &str) -> Self {
        Self(escape(raw))
    }

    /// Words and markup we wrote ourselves.
    pub fn literal(text: &'static str) -> Self {
        debug_assert!(!text.contains(['<', '>']), "tokens have builders: {text:?}");
        Self(text.to_string())
    }

    /// A number, as digits.
    pub fn number(n: impl Integer) -> Self {
        Self(n.to_string())
    }

    /// A template we wrote with each `{}` replaced by the next part, in
    /// order. Only `{}` is a placeholder: other braces stay as written, and
    /// the parts are not read again.
    pub fn fill<const N: usize>(template: &'static str, parts: [Mrkdwn; N]) -> Self {
        debug_assert!(
            !template.contains(['<', '>']),
            "tokens have builders: {template:?}"
        );
        debug_assert_eq!(
            template.matches("{}").count(),
            N,
            "placeholders in {template:?}"
        );
        let mut out =
            String::with_capacity(template.len() + parts.iter().map(Self::len).sum::<usize>());
        let mut parts = parts.into_iter();
        let mut pieces = template.split("{}");
        if let Some(first) = pieces.next() {
            out.push_str(first);
        }
        for piece in pieces {
            if let Some(part) = parts.next() {
                out.push_str(&part.0);
            }
            out.push_str(piece);
        }
        Self(out)
    }

    /// The parts with `separator` between them.
    pub fn join(parts: impl IntoIterator<Item = Mrkdwn>, separator: &'static str) -> Self {
        let mut out = String::new();
        for (i, part) in parts.into_iter().enumerate() {
            if i > 0 {
                out.push_str(separator);
            }
            out.push_str(&part.0);
        }
        Self(out)
    }

    /// Appends `part`.
    pub fn push(&mut self, part: Mrkdwn) {
        self.0.push_str(&part.0);
    }

    /// A mention of a person, as Slack renders it (`<@U…>`).
    pub fn mention(user: &UserId) -> Self {
        Self::token(format!("@{}", user.0))
    }

    /// A link to a channel, as Slack renders it (`<#C…>`).
    pub fn channel(channel: &ChannelId) -> Self {
        Self::token(format!("#{}", channel.0))
    }

    /// A link to `url` reading `label`. What would end the link early
    /// (`<`, `>`, `|`) is left out of the URL; a URL Slack would not open
    /// safely (not http, https, mailto or tel) shows as text.
    pub fn link(url: &str, label: &str) -> Self {
        let url = url.replace(['<', '>', '|'], "");
        Self::token(format!("{url}|{}", escape(label)))
    }

    /// A time each reader sees in their own zone: Slack's date `format`
    /// (`{time}`, `{date_short} {time}`), with `fallback` for clients that
    /// cannot.
    pub fn date(at: chrono::DateTime<chrono::Utc>, format: &'static str, fallback: &str) -> Self {
        Self::token(format!(
            "!date^{}^{format}|{}",
            at.timestamp(),
            escape(fallback)
        ))
    }

    /// `<inner>` when Slack renders it safely (a person, a channel, a
    /// link, a date), else the same shown as text.
    fn token(inner: String) -> Self {
        let token = format!("<{inner}>");
        if known_safe(&inner) && !inner.contains(['<', '>']) {
            Self(token)
        } else {
            Self::typed(&token)
        }
    }

    /// The operator's `alerts.notify` setting, sent as written: the one
    /// text that may mention a user group or a whole channel, because
    /// whoever runs warroom chose it.
    pub fn alerts_notify(settings: &crate::config::AlertSettings) -> Option<Self> {
        settings.notify.clone().map(Self)
    }

    /// Cut to at most `max` characters, `…` marking the cut.
    pub fn truncate(self, max: usize) -> Self {
        Self(truncate(&self.0, max))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Its length in bytes.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Display for Mrkdwn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<Mrkdwn> for String {
    fn from(m: Mrkdwn) -> Self {
        m.0
    }
}

/// The integers [`Mrkdwn::number`] writes.
pub trait Integer: fmt::Display + sealed::Sealed {}

mod sealed {
    pub trait Sealed {}
}

macro_rules! integers {
    ($($t:ty),*) => {$(
        impl sealed::Sealed for $t {}
        impl Integer for $t {}
    )*};
}
integers!(u8, u16, u32, u64, usize, i8, i16, i32, i64, isize);

/// Placed between `@` and a broadcast word so it reads the same but is no
/// mention: Slack pings only for `<!here>`-style tokens and, where it parses
/// plain text, the exact words `@here`, `@channel`, `@everyone`.
const JOINER: char = '\u{2060}';

/// Broadcast words Slack also recognises in plain text.
const BROADCAST_WORDS: [&str; 3] = ["here", "channel", "everyone"];

/// One `<…>` token of Slack's format, or the text between tokens.
enum Piece<'a> {
    Text(&'a str),
    /// The inside of `<…>`, without the brackets.
    Token(&'a str),
}

fn pieces(text: &str) -> Vec<Piece<'_>> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(open) = rest.find('<') {
        let Some(close) = rest[open..].find('>') else {
            break;
        };
        // `<a <!here>`: the token is the innermost `<…>`, as Slack reads it.
        if let Some(inner) = rest[open + 1..open + close].rfind('<') {
            let cut = open + 1 + inner;
            out.push(Piece::Text(&rest[..cut]));
            rest = &rest[cut..];
            continue;
        }
        if open > 0 {
            out.push(Piece::Text(&rest[..open]));
        }
        out.push(Piece::Token(&rest[open + 1..open + close]));
        rest = &rest[open + close + 1..];
    }
    if !rest.is_empty() {
        out.push(Piece::Text(rest));
    }
    out
}

/// A special mention (`<!…>`) that notifies many people, as the plain word
/// it stands for (`here`, `channel`, `everyone`, or a user group's handle
/// without its `@`); `None` for any other token.
fn broadcast(token: &str) -> Option<String> {
    let special = token.strip_prefix('!')?;
    let (name, label) = match special.split_once('|') {
        Some((n, l)) => (n, Some(l)),
        None => (special, None),
    };
    let lower = name.to_ascii_lowercase();
    if BROADCAST_WORDS.contains(&lower.as_str()) {
        return Some(lower);
    }
    if lower.starts_with("subteam^") {
        let handle = label
            .map(|l| l.trim_start_matches('@').to_string())
            .filter(|l| !l.is_empty())
            .unwrap_or_else(|| "group".to_string());
        return Some(handle);
    }
    None
}

/// Inserts the joiner after `@` in the plain words `@here`, `@channel` and
/// `@everyone`.
fn defuse_words(text: &str, out: &mut String) {
    let mut rest = text;
    while let Some(at) = rest.find('@') {
        out.push_str(&rest[..=at]);
        rest = &rest[at + 1..];
        let starts_word = BROADCAST_WORDS.iter().any(|w| {
            rest.len() >= w.len()
                && rest.is_char_boundary(w.len())
                && rest[..w.len()].eq_ignore_ascii_case(w)
                && !rest[w.len()..]
                    .chars()
                    .next()
                    .is_some_and(|c| c.is_alphanumeric() || c == '_')
        });
        if starts_word {
            out.push(JOINER);
        }
    }
    out.push_str(rest);
}

/// Text in Slack's format, made unable to notify a channel or a group, by
/// keeping only the tokens known to be safe: user mentions (`<@U…>`),
/// channel links (`<#C…>`), links (`<https://…|label>`, `mailto:`,
/// `tel:`) and dates (`<!date^…>`). `<!channel>`, `<!here>`,
/// `<!everyone>` and `<!subteam^…>` become the words `@channel`, `@here`,
/// `@everyone`, `@handle` that ping nobody (the plain words too); any
/// other `<!…>` becomes its words; any other token shows as typed. Used by
/// every renderer that repeats people's text.
pub fn defuse(text: &str) -> String {
    // Defusing an inner token can complete an outer one (`<!here|<!here>>`
    // leaves `<!here|@here>`): again until nothing changes. Each round that
    // changes something removes a `<`, so this ends.
    let mut out = defuse_once(text);
    loop {
        let again = defuse_once(&out);
        if again == out {
            return out;
        }
        out = again;
    }
}

/// Whether a token (the inside of `<…>`) is one Slack renders without
/// notifying anyone beyond the person mentioned.
fn known_safe(token: &str) -> bool {
    let target = token.split('|').next().unwrap_or(token);
    let id = |rest: &str| {
        !rest.is_empty()
            && rest
                .chars()
                .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
    };
    if let Some(user) = target.strip_prefix('@') {
        return user.starts_with(['U', 'W']) && id(user);
    }
    if let Some(channel) = target.strip_prefix('#') {
        return channel.starts_with(['C', 'G']) && id(channel);
    }
    target.starts_with("!date^")
        || ["http://", "https://", "mailto:", "tel:"]
            .iter()
            .any(|scheme| target.to_ascii_lowercase().starts_with(scheme))
}

fn defuse_once(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 8);
    for piece in pieces(text) {
        match piece {
            Piece::Text(t) => defuse_words(t, &mut out),
            Piece::Token(t) if known_safe(t) => {
                out.push('<');
                out.push_str(t);
                out.push('>');
            }
            Piece::Token(t) => match (broadcast(t), t.strip_prefix('!')) {
                (Some(word), _) => {
                    out.push('@');
                    out.push(JOINER);
                    out.push_str(&escape(&word));
                }
                // Another special form: its label, else its name, as words.
                (None, Some(special)) => {
                    let words = special.split_once('|').map_or(special, |(_, l)| l);
                    defuse_words(&escape(words), &mut out);
                }
                // Not a token Slack would render safely: shown as typed.
                (None, None) => out.push_str(&escape(&format!("<{t}>"))),
            },
        }
    }
    // An unclosed `<` stays as it was (Slack shows it as text).
    out
}

/// Escapes the three characters Slack's format treats as control
/// characters: raw text becomes text that shows as typed. Markdown read
/// outside Slack needs the same three as entities, so a renderer that
/// passes inline HTML through shows `<img …>` as text (the postmortem file).
pub fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// Cuts `text` to at most `max` characters, marking the cut with `…`.
pub fn truncate(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_string();
    }
    let mut out: String = text.chars().take(max.saturating_sub(1)).collect();
    out.push('…');
    out
}

/// Text someone typed in a form (a title, a summary), which is raw: shown
/// as typed, and pinging nobody.
pub fn plain(raw: &str) -> String {
    defuse(&escape(raw))
}

fn unescape(text: &str) -> String {
    text.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

/// Display names for the ids a text mentions.
#[derive(Clone, Debug, Default)]
pub struct Names {
    pub users: BTreeMap<String, String>,
    pub channels: BTreeMap<String, String>,
}

impl Names {
    /// `@name` for a user id (the id itself when unknown).
    pub fn user(&self, id: &str) -> String {
        format!("@{}", self.users.get(id).map(String::as_str).unwrap_or(id))
    }

    /// `#name` for a channel id (the id itself when unknown).
    pub fn channel(&self, id: &str) -> String {
        format!(
            "#{}",
            self.channels.get(id).map(String::as_str).unwrap_or(id)
        )
    }
}

/// The user and channel ids a text mentions (`<@U…>`, `<#C…>`).
pub fn mentioned_ids(text: &str) -> (Vec<UserId>, Vec<ChannelId>) {
    let mut users = Vec::new();
    let mut channels = Vec::new();
    for piece in pieces(text) {
        if let Piece::Token(t) = piece {
            let id = |rest: &str| rest.split('|').next().unwrap_or(rest).to_string();
            if let Some(rest) = t.strip_prefix('@') {
                users.push(UserId(id(rest)));
            } else if let Some(rest) = t.strip_prefix('#') {
                channels.push(ChannelId(id(rest)));
            }
        }
    }
    (users, channels)
}

/// Escapes what would end a Markdown link's text early.
fn link_text(text: &str) -> String {
    text.replace('[', "\\[").replace(']', "\\]")
}

/// Text in Slack's format as Markdown for a document read outside Slack:
/// `<@U1>` → `@Ann` (from `names`, else the label Slack sent, else the
/// id), `<#C1>` → `#incidents`, `<https://x|text>` → `[text](https://x)`,
/// `<!here>` → `@here`, `<!subteam^S1|@oncall>` → `@oncall`, dates → their
/// fallback text; `&amp;`, `&lt;`, `&gt;` become the characters again.
pub fn to_markdown(text: &str, names: &Names) -> String {
    words(text, names, Out::Markdown)
}

/// Text in Slack's format as HTML for a web page: as [`to_markdown`], every
/// character escaped, and a link to http(s) or mailto an `<a>` (any other
/// link its text).
pub fn to_html(text: &str, names: &Names) -> String {
    words(text, names, Out::Html)
}

/// Text in Slack's format as the words a person reads, for a form's input
/// (a title or summary taken from a message): as [`to_markdown`], but a
/// link is its label (its address when it has none).
pub fn to_plain_words(text: &str) -> String {
    words(text, &Names::default(), Out::Plain)
}

/// What [`words`] writes.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Out {
    Plain,
    Markdown,
    Html,
}

fn words(text: &str, names: &Names, mode: Out) -> String {
    let mut out = String::with_capacity(text.len());
    let put = |out: &mut String, s: &str| match mode {
        Out::Html => {
            let _ = pulldown_cmark_escape::escape_html_body_text(&mut *out, s);
        }
        Out::Plain | Out::Markdown => out.push_str(s),
    };
    for piece in pieces(text) {
        match piece {
            Piece::Text(t) => put(&mut out, &unescape(t)),
            Piece::Token(t) => {
                let (target, label) = match t.split_once('|') {
                    Some((a, l)) => (a, Some(unescape(l))),
                    None => (t, None),
                };
                if let Some(id) = target.strip_prefix('@') {
                    let name = match (names.users.get(id), label) {
                        (Some(name), _) => format!("@{name}"),
                        (None, Some(l)) if !l.is_empty() => {
                            format!("@{}", l.trim_start_matches('@'))
                        }
                        _ => names.user(id),
                    };
                    put(&mut out, &name);
                } else if let Some(id) = target.strip_prefix('#') {
                    let name = match (names.channels.get(id), label) {
                        (Some(name), _) => format!("#{name}"),
                        (None, Some(l)) if !l.is_empty() => format!("#{l}"),
                        _ => names.channel(id),
                    };
                    put(&mut out, &name);
                } else if let Some(word) = broadcast(t) {
                    put(&mut out, &format!("@{}", unescape(&word)));
                } else if let Some(special) = target.strip_prefix('!') {
                    // `<!date^…|fallback>` and anything else Slack may add.
                    put(&mut out, &label.unwrap_or_else(|| special.to_string()));
                } else {
                    let url = unescape(target);
                    let label = label.filter(|l| !l.is_empty());
                    match mode {
                        Out::Plain => out.push_str(label.as_deref().unwrap_or(&url)),
                        Out::Markdown => match label {
                            Some(l) if l != url => {
                                out.push_str(&format!("[{}]({url})", link_text(&l)));
                            }
                            _ => out.push_str(&format!("[{}]({url})", link_text(&url))),
                        },
                        Out::Html if web_link(&url) => {
                            out.push_str("<a href=\"");
                            let _ = pulldown_cmark_escape::escape_href(&mut out, &url);
                            out.push_str("\">");
                            put(&mut out, label.as_deref().unwrap_or(&url));
                            out.push_str("</a>");
                        }
                        Out::Html => put(&mut out, label.as_deref().unwrap_or(&url)),
                    }
                }
            }
        }
    }
    out
}

/// A link a web page may follow: http(s) or mailto.
pub fn web_link(url: &str) -> bool {
    let lower = url.trim().to_ascii_lowercase();
    ["https://", "http://", "mailto:"]
        .iter()
        .any(|scheme| lower.starts_with(scheme))
}

/// A Markdown table cell: `|` escaped and line breaks kept as `<br>`.
pub fn table_cell(text: &str) -> String {
    text.replace('|', "\\|")
        .replace("\r\n", "<br>")
        .replace(['\n', '\r'], "<br>")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn visible(s: &str) -> String {
        s.replace(JOINER, "")
    }

    #[test]
    fn broadcast_mentions_become_words_that_ping_nobody() {
        for (input, word) in [
            ("<!channel>", "@channel"),
            ("<!here>", "@here"),
            ("<!here|here>", "@here"),
            ("<!everyone>", "@everyone"),
            ("<!subteam^S0123|@oncall>", "@oncall"),
            ("<!subteam^S0123>", "@group"),
        ] {
            let out = defuse(&format!("hey {input} look"));
            assert!(!out.contains("<!"), "{input} -> {out}");
            assert_eq!(visible(&out), format!("hey {word} look"));
            assert!(out.contains(JOINER));
        }
    }

    #[test]
    fn plain_broadcast_words_are_broken_too() {
        let out = defuse("@here and @channel, @Everyone! but not @heresy or me@channels");
        assert_eq!(
            out,
            format!(
                "@{JOINER}here and @{JOINER}channel, @{JOINER}Everyone! but not @heresy or me@channels"
            )
        );
    }

    #[test]
    fn only_known_safe_tokens_are_kept() {
        for (input, shown) in [
            ("<!something^new|hello>", "hello"),
            ("<!foo>", "foo"),
            ("<@not-an-id>", "&lt;@not-an-id&gt;"),
            ("<#lowercase>", "&lt;#lowercase&gt;"),
            ("<javascript:alert(1)|x>", "&lt;javascript:alert(1)|x&gt;"),
            ("<weird>", "&lt;weird&gt;"),
        ] {
            let out = defuse(&format!("a {input} b"));
            assert_eq!(visible(&out), format!("a {shown} b"), "{input}");
            assert!(!out.contains('<'), "{input} -> {out}");
        }
        for kept in [
            "<mailto:a@b.io|mail>",
            "<tel:+441234|call>",
            "<@W123>",
            "<#G12|old>",
        ] {
            assert_eq!(defuse(kept), kept);
        }
    }

    #[test]
    fn user_mentions_channels_links_and_dates_are_kept() {
        let text = "ask <@U07ABC> in <#C123|ops>, see <https://x.io/a?b=1&amp;c|the doc> <!date^1700000000^{time}|12:00>";
        assert_eq!(defuse(text), text);
    }

    #[test]
    fn form_text_is_escaped_and_defused() {
        assert_eq!(
            visible(&plain("a <!channel> & <@U1> @here")),
            "a &lt;!channel&gt; &amp; &lt;@U1&gt; @here"
        );
        assert!(plain("@here").contains(JOINER));
        // An unclosed bracket stays text.
        assert_eq!(defuse("a < b"), "a < b");
    }

    #[test]
    fn markdown_names_people_and_channels_and_links() {
        let names = Names {
            users: [("U07ABC".to_string(), "Ann Lee".to_string())].into(),
            channels: [("C123".to_string(), "incidents".to_string())].into(),
        };
        let text = "<@U07ABC> and <@U999|bob> and <@U555> in <#C123> / <#C9|ops> / <#C8>: <https://x.io/a?b=1&amp;c|the [doc]> <https://y.io> <!channel> <!subteam^S1|@oncall> <!date^1700000000^{time}|12:00 UTC> a &lt;b&gt; &amp; c";
        assert_eq!(
            to_markdown(text, &names),
            "@Ann Lee and @bob and @U555 in #incidents / #ops / #C8: [the \\[doc\\]](https://x.io/a?b=1&c) [https://y.io](https://y.io) @channel @oncall 12:00 UTC a <b> & c"
        );
        let (users, channels) = mentioned_ids(text);
        assert_eq!(users, ["U07ABC", "U999", "U555"].map(UserId::new));
        assert_eq!(channels, ["C123", "C9", "C8"].map(ChannelId::new));
    }

    #[test]
    fn html_for_a_web_page_is_escaped_and_links_only_the_web() {
        let names = Names {
            users: [("U07ABC".to_string(), "Ann <Lee>".to_string())].into(),
            channels: BTreeMap::new(),
        };
        let text = "<@U07ABC> saw &lt;script&gt; at <https://x.io/a?b=1&amp;c|the \"doc\"> not <javascript:alert(1)|this> <mailto:a@b.c>";
        assert_eq!(
            to_html(text, &names),
            "@Ann &lt;Lee&gt; saw &lt;script&gt; at <a href=\"https://x.io/a?b=1&amp;c\">the \"doc\"</a> not this <a href=\"mailto:a@b.c\">mailto:a@b.c</a>"
        );
    }

    /// Whether `out` still holds a complete broadcast token.
    fn holds_broadcast(out: &str) -> bool {
        pieces(out)
            .iter()
            .any(|p| matches!(p, Piece::Token(t) if broadcast(t).is_some()))
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig { cases: 2000, ..Default::default() })]

        #[test]
        fn nothing_typed_survives_as_a_broadcast(parts in proptest::collection::vec(
            proptest::prop_oneof![
                proptest::strategy::Just("<!here>"),
                proptest::strategy::Just("<!CHANNEL|@channel>"),
                proptest::strategy::Just("<!everyone>"),
                proptest::strategy::Just("<!subteam^S1|@ops>"),
                proptest::strategy::Just("<@U1>"),
                proptest::strategy::Just("<https://x.io|x>"),
                proptest::strategy::Just("<"),
                proptest::strategy::Just(">"),
                proptest::strategy::Just("|"),
                proptest::strategy::Just("!"),
                proptest::strategy::Just("@"),
                proptest::strategy::Just("here"),
                proptest::strategy::Just("channel"),
                proptest::strategy::Just("é"),
                proptest::strategy::Just(" "),
            ],
            0..24,
        )) {
            let text = parts.concat();
            let out = defuse(&text);
            proptest::prop_assert!(!holds_broadcast(&out), "{text:?} -> {out:?}");
            // Defusing again finds nothing left (no token, no bare word),
            // and Markdown never panics.
            proptest::prop_assert_eq!(defuse(&out), out.clone());
            let _ = to_markdown(&text, &Names::default());
        }
    }

    #[test]
    fn nested_brackets_are_read_innermost_first() {
        // The outer `<a @here b>` is no token Slack renders: shown as typed.
        assert_eq!(visible(&defuse("<a <!here> b>")), "&lt;a @here b&gt;");
        assert!(!holds_broadcast(&defuse("<<!channel>>")));
        // Defusing the inner one must not complete the outer one.
        assert!(!holds_broadcast(&defuse("<!here|<!here>>")));
    }

    #[test]
    fn typed_text_is_inert_mrkdwn() {
        let m = Mrkdwn::typed("<!here> <script>");
        assert_eq!(m.as_str(), "&lt;!here&gt; &lt;script&gt;");
        assert!(!holds_broadcast(m.as_str()));
        assert_eq!(m.to_string(), m.as_str());
    }

    #[test]
    fn parts_put_together_make_no_token() {
        // Typed halves of a broadcast stay text, whatever the template.
        let m = Mrkdwn::fill("{}{}", [Mrkdwn::typed("<!"), Mrkdwn::typed("here>")]);
        assert_eq!(m.as_str(), "&lt;!here&gt;");
        // So do halves already in Slack's format: a bracket outside a
        // token is escaped, so it cannot pair with the next part's.
        let m = Mrkdwn::join([Mrkdwn::slack("a <!here"), Mrkdwn::slack("> b")], "");
        assert_eq!(m.as_str(), "a &lt;!here&gt; b");
        let mut m = Mrkdwn::slack("x <");
        m.push(Mrkdwn::escaped("!channel"));
        m.push(Mrkdwn::slack(">"));
        assert!(!holds_broadcast(m.as_str()), "{m}");
        // A placeholder in a part is not filled again.
        let m = Mrkdwn::fill("{} and {}", [Mrkdwn::typed("{}"), Mrkdwn::literal("b")]);
        assert_eq!(m.as_str(), "{} and b");
    }

    #[test]
    fn builders_write_slack_tokens() {
        assert_eq!(
            Mrkdwn::mention(&UserId::new("U07ABC")).as_str(),
            "<@U07ABC>"
        );
        assert_eq!(Mrkdwn::channel(&ChannelId::new("C123")).as_str(), "<#C123>");
        // An id that is no id is shown, not sent as a token.
        assert_eq!(
            Mrkdwn::mention(&UserId::new("U1><!here")).as_str(),
            "&lt;@U1&gt;&lt;!here&gt;"
        );
        assert_eq!(
            Mrkdwn::link("https://x.io/a?b=1&c=2", "the <doc>").as_str(),
            "<https://x.io/a?b=1&c=2|the &lt;doc&gt;>"
        );
        assert_eq!(
            Mrkdwn::link("https://x.io/a|<!here>", "x").as_str(),
            "<https://x.io/a!here|x>"
        );
        assert_eq!(
            Mrkdwn::link("javascript:alert(1)", "x").as_str(),
            "&lt;javascript:alert(1)|x&gt;"
        );
        let at = chrono::DateTime::from_timestamp(1_700_000_000, 0).unwrap_or_default();
        assert_eq!(
            Mrkdwn::date(at, "{time}", "22:13 UTC").as_str(),
            "<!date^1700000000^{time}|22:13 UTC>"
        );
        assert_eq!(Mrkdwn::number(-42_i64).as_str(), "-42");
    }

    #[test]
    fn truncating_marks_the_cut() {
        assert_eq!(Mrkdwn::literal("abcdef").truncate(4).as_str(), "abc…");
        assert_eq!(Mrkdwn::literal("abcd").truncate(4).as_str(), "abcd");
        assert_eq!(truncate("ééé", 2), "é…");
    }

    #[test]
    fn table_cells_escape_pipes_and_newlines() {
        assert_eq!(table_cell("a | b\nc\r\nd"), "a \\| b<br>c<br>d");
    }
}
