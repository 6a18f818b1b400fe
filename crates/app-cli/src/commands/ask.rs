//! A foreground run asks the user inline when the agent wants permission (on a terminal),
//! or follows `--on-approval` (without one): deny at once, saying how to allow, or wait
//! for `lulu approve` / `lulu deny`.

use std::collections::{HashSet, VecDeque};
use std::future::Future;
use std::io::IsTerminal as _;
use std::pin::Pin;

use lulu_domain::{ApprovalAnswer, ApprovalRequest, Session, SessionId};

use super::Context;
use crate::args::OnApproval;
use crate::render::safe::{safe_line, safe_text};
use crate::render::style::{paint, DIM, WARN};

/// What the agent reads when a run without a terminal denied its request.
pub const NO_TERMINAL_DENIAL: &str =
    "Denied by Lulu: the run has no terminal to ask the user on. Do not retry this tool call.";

/// One request being asked or answered; it may end with a line to show (styled).
type Answering<'a> = Pin<Box<dyn Future<Output = Option<String>> + 'a>>;

/// The permission requests of a followed session: each asked (or answered) once, in order.
pub struct Approvals<'a> {
    context: &'a Context,
    id: SessionId,
    on_approval: OnApproval,
    on_terminal: bool,
    seen: HashSet<String>,
    queue: VecDeque<ApprovalRequest>,
    answering: Option<Answering<'a>>,
    /// Lines to show the user (styled), in order.
    notes: Vec<String>,
}

impl<'a> Approvals<'a> {
    /// For session `id`, asking on the terminal when stdin and stderr are one.
    pub fn new(context: &'a Context, id: SessionId, on_approval: OnApproval) -> Self {
        Self {
            context,
            id,
            on_approval,
            on_terminal: std::io::stdin().is_terminal() && std::io::stderr().is_terminal(),
            seen: HashSet::new(),
            queue: VecDeque::new(),
            answering: None,
            notes: Vec::new(),
        }
    }

    /// Takes note of the session's pending requests; new ones are asked in turn.
    pub fn saw(&mut self, session: &Session) {
        for request in &session.pending_approvals {
            if self.seen.insert(request.request_id.clone()) {
                self.queue.push_back(request.clone());
            }
        }
        self.next();
    }

    /// Whether a request is being asked or answered.
    pub fn busy(&self) -> bool {
        self.answering.is_some()
    }

    /// Whether the user is being asked on the terminal (nothing else may draw there).
    pub fn asking_on_terminal(&self) -> bool {
        self.on_terminal && self.busy()
    }

    /// What to tell the user since the last call: styled lines, in order.
    pub fn take_notes(&mut self) -> Vec<String> {
        std::mem::take(&mut self.notes)
    }

    /// Finishes the request in hand, then starts the next one.
    pub async fn finish_one(&mut self) {
        if let Some(answering) = self.answering.as_mut() {
            if let Some(note) = answering.await {
                self.notes.push(note);
            }
        }
        self.answering = None;
        self.next();
    }

    fn next(&mut self) {
        if self.answering.is_some() {
            return;
        }
        let Some(request) = self.queue.pop_front() else {
            return;
        };
        let (context, id) = (self.context, self.id);
        let asked = safe_line(&request.summary()).into_owned();
        let answering: Answering<'a> = if self.on_terminal {
            Box::pin(async move {
                let answer = ask_on_terminal(&asked).await;
                answer_now(context, id, request.request_id, answer).await
            })
        } else if self.on_approval == OnApproval::Wait {
            let short = id.short();
            self.notes.push(paint(
                WARN,
                &format!("needs approval: {asked}: answer with `lulu approve {short}` or `lulu deny {short}`"),
            ));
            Box::pin(std::future::ready(None))
        } else {
            let short = id.short();
            self.notes.push(paint(
                WARN,
                &format!(
                    "lulu: denied {asked}: there is no terminal to ask on (with --on-approval wait, \
                     the run waits for `lulu approve {short}`)"
                ),
            ));
            let answer = ApprovalAnswer::Deny {
                message: Some(NO_TERMINAL_DENIAL.to_owned()),
            };
            Box::pin(answer_now(context, id, request.request_id, answer))
        };
        self.answering = Some(answering);
    }
}

/// Sends the answer; a refusal (answered elsewhere meanwhile, the turn ended) is what
/// to say.
async fn answer_now(
    context: &Context,
    id: SessionId,
    request_id: String,
    answer: ApprovalAnswer,
) -> Option<String> {
    let error = super::approve::send_answer(context, id, Some(request_id), answer)
        .await
        .err()?;
    Some(paint(
        DIM,
        &format!(
            "lulu: the answer was not taken: {}",
            safe_text(&format!("{error:#}"))
        ),
    ))
}

/// Asks `Allow <asked>? [y]es / [a]lways / [n]o / [s]top` until one of them is typed; the
/// end of input denies.
async fn ask_on_terminal(asked: &str) -> ApprovalAnswer {
    loop {
        anstream::eprint!(
            "{} ",
            paint(
                WARN,
                &format!("Allow {asked}? [y]es / [a]lways / [n]o / [s]top")
            )
        );
        let line = tokio::task::spawn_blocking(|| {
            let mut line = String::new();
            std::io::stdin()
                .read_line(&mut line)
                .map(|read| (read, line))
        })
        .await;
        let Ok(Ok((read, line))) = line else {
            return ApprovalAnswer::Deny { message: None };
        };
        if read == 0 {
            return ApprovalAnswer::Deny { message: None };
        }
        if let Some(answer) = parse_answer(&line) {
            return answer;
        }
    }
}

/// The answer a typed line means, if any.
fn parse_answer(line: &str) -> Option<ApprovalAnswer> {
    match line.trim().to_ascii_lowercase().as_str() {
        "y" | "yes" => Some(ApprovalAnswer::Allow),
        "a" | "always" => Some(ApprovalAnswer::AllowAlways),
        "n" | "no" => Some(ApprovalAnswer::Deny { message: None }),
        "s" | "stop" => Some(ApprovalAnswer::DenyAndStop { message: None }),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typed_answers_and_their_short_forms() {
        assert_eq!(parse_answer("y\n"), Some(ApprovalAnswer::Allow));
        assert_eq!(parse_answer(" Always "), Some(ApprovalAnswer::AllowAlways));
        assert_eq!(
            parse_answer("n"),
            Some(ApprovalAnswer::Deny { message: None })
        );
        assert_eq!(
            parse_answer("S"),
            Some(ApprovalAnswer::DenyAndStop { message: None })
        );
        assert_eq!(parse_answer("maybe"), None);
        assert_eq!(parse_answer(""), None);
    }
}
