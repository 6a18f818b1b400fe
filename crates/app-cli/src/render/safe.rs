//! The one neutraliser for text Lulu did not write itself: titles, directories, prompts,
//! agent text, tool output, errors. A terminal obeys control characters, so a stored
//! `ESC ] 0 ; … BEL` would retitle the window and `ESC [ 2 J` clear the screen; a U+202E
//! would reverse what follows. Here every such character becomes visible text instead:
//! C0 controls and DEL in caret notation (`^[`, `^G`, `^?`, as `cat -v` shows them), C1
//! controls and bidi formatting characters as `<U+202E>`. Which characters count is
//! [`lulu_domain::is_terminal_control`], the same rule that refuses them in titles.
//!
//! Lulu's own colours are added around neutralised text, never inside it. `--json`
//! output does not come here: it is byte-faithful, and JSON escapes controls itself.

use std::borrow::Cow;
use std::fmt::Write as _;

use lulu_domain::is_terminal_control;

/// `text` for a block of lines (agent replies, error messages): line breaks and tabs are
/// kept, every other control character is made visible.
pub fn safe_text(text: &str) -> Cow<'_, str> {
    neutralise(text, |c| matches!(c, '\n' | '\t'))
}

/// `text` for one line or a table cell: line breaks and tabs are made visible too.
pub fn safe_line(text: &str) -> Cow<'_, str> {
    neutralise(text, |_| false)
}

fn neutralise(text: &str, keep: impl Fn(char) -> bool) -> Cow<'_, str> {
    let harmful = |c: char| is_terminal_control(c) && !keep(c);
    if !text.chars().any(harmful) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 16);
    for c in text.chars() {
        if harmful(c) {
            push_visible(&mut out, c);
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// Appends the visible form of the control character `c`.
fn push_visible(out: &mut String, c: char) {
    match u32::from(c) {
        code @ 0..=0x1f => {
            out.push('^');
            out.push(char::from_u32(code + 0x40).expect("0x40..=0x5f are characters"));
        }
        0x7f => out.push_str("^?"),
        code => {
            let _ = write!(out, "<U+{code:04X}>");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_text_is_borrowed_unchanged() {
        let text = "fix the parser → ✓ «ok» 日本語\nnext\tline";
        assert!(matches!(safe_text(text), Cow::Borrowed(t) if t == text));
        assert!(matches!(safe_line("one line"), Cow::Borrowed("one line")));
    }

    #[test]
    fn c0_controls_and_del_show_in_caret_notation() {
        assert_eq!(
            safe_text("\u{1b}]0;pwned\u{7}\u{1b}[2J\r\0\u{8}\u{7f}"),
            "^[]0;pwned^G^[[2J^M^@^H^?"
        );
    }

    #[test]
    fn c1_controls_and_bidi_formatting_show_as_code_points() {
        assert_eq!(
            safe_line("\u{9b}31m\u{85}\u{80}\u{9f}"),
            "<U+009B>31m<U+0085><U+0080><U+009F>"
        );
        assert_eq!(
            safe_line("a\u{202a}\u{202e}\u{2066}\u{2069}\u{200e}\u{200f}\u{61c}b"),
            "a<U+202A><U+202E><U+2066><U+2069><U+200E><U+200F><U+061C>b"
        );
    }

    #[test]
    fn line_breaks_and_tabs_stay_in_text_but_not_in_a_line() {
        assert_eq!(safe_text("a\nb\tc"), "a\nb\tc");
        assert_eq!(safe_line("a\nb\tc"), "a^Jb^Ic");
    }

    #[test]
    fn neutralised_text_is_left_alone_the_second_time() {
        let once = safe_line("\u{1b}[2J\u{202e}").into_owned();
        assert_eq!(safe_line(&once), once);
    }
}
