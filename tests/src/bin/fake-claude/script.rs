//! Keywords in the last user text choose what the fake does in a turn.

/// What a turn does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Script {
    /// `SAY <text>` (or no keyword: a short default reply).
    Reply(String),
    /// `SLOW [ticks]`: one `tick N. ` text block per tick (default 60).
    Slow(u32),
    /// `BASH <cmd>`: run `/bin/bash -c <cmd>` under `setsid` as a tool.
    Bash(String),
    /// `PERMIT <cmd>`: a Bash tool call that needs permission (see `permit.rs`); `ASK <cmd>`
    /// is another name for it.
    Permit(String),
    /// `FAIL`: API retries, then an API error result.
    Fail,
    /// `ECHO`: reply with the whole prompt, verbatim.
    Echo,
    /// `ARGV`: reply with the fake's command line, as a JSON array of strings.
    Argv,
    /// `HISTORY`: reply with how many earlier turns the conversation holds.
    History,
    /// `MALFORMED`: print a line that is not JSON, then reply.
    Malformed,
    /// `HUGE <MiB>`: print one assistant line of that size, then reply.
    Huge(u32),
    /// `STDERR <MB>`: write that much to stderr, then reply.
    Stderr(u32),
    /// `CRASH`: abort without a result.
    Crash,
    /// `DUMP <KB>`: write a crash dump of about that size to stderr, then abort.
    Dump(u32),
}

/// The default reply.
pub const DEFAULT_REPLY: &str = "Hello from fake-claude.";
/// `SLOW` without a count.
const DEFAULT_TICKS: u32 = 60;

/// The turn's script and whether it ignores interrupts (`IGNORE_INT` anywhere).
pub fn choose(prompt: &str) -> (Script, bool) {
    let words: Vec<&str> = prompt.split_whitespace().collect();
    let ignore_int = words.contains(&"IGNORE_INT");
    let number_after = |index: usize| words.get(index + 1).and_then(|word| word.parse().ok());
    let script = words
        .iter()
        .enumerate()
        .find_map(|(index, word)| match *word {
            "SAY" => Some(Script::Reply(text_after(prompt, "SAY"))),
            "SLOW" => Some(Script::Slow(number_after(index).unwrap_or(DEFAULT_TICKS))),
            "BASH" => Some(Script::Bash(text_after(prompt, "BASH"))),
            "PERMIT" => Some(Script::Permit(text_after(prompt, "PERMIT"))),
            "ASK" => Some(Script::Permit(text_after(prompt, "ASK"))),
            "FAIL" => Some(Script::Fail),
            "ECHO" => Some(Script::Echo),
            "ARGV" => Some(Script::Argv),
            "HISTORY" => Some(Script::History),
            "MALFORMED" => Some(Script::Malformed),
            "HUGE" => Some(Script::Huge(number_after(index).unwrap_or(1))),
            "STDERR" => Some(Script::Stderr(number_after(index).unwrap_or(1))),
            "CRASH" => Some(Script::Crash),
            "DUMP" => Some(Script::Dump(number_after(index).unwrap_or(8))),
            _ => None,
        })
        .unwrap_or_else(|| Script::Reply(DEFAULT_REPLY.to_owned()));
    (script, ignore_int)
}

/// The text after the first whole-word `keyword` (trimmed).
fn text_after(prompt: &str, keyword: &str) -> String {
    let mut offset = 0;
    for word in prompt.split_whitespace() {
        let start = offset + prompt[offset..].find(word).unwrap_or(0);
        offset = start + word.len();
        if word == keyword {
            return prompt[offset..].trim().to_owned();
        }
    }
    String::new()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keywords_pick_scripts_and_ignore_int_combines() {
        assert_eq!(
            choose("SAY hi there"),
            (Script::Reply("hi there".into()), false)
        );
        assert_eq!(choose("IGNORE_INT SLOW 5"), (Script::Slow(5), true));
        assert_eq!(
            choose("please BASH sleep 300; echo done"),
            (Script::Bash("sleep 300; echo done".into()), false)
        );
        assert_eq!(choose("HUGE 16").0, Script::Huge(16));
        assert_eq!(
            choose("nothing special").0,
            Script::Reply(DEFAULT_REPLY.into())
        );
        assert_eq!(choose("SAYING SAY ok").0, Script::Reply("ok".into()));
    }
}
