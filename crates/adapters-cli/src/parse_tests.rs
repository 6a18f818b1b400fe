//! Real stream-json lines (from `CLAUDE_CLI.md`, long values cut) and the events they become.

use super::*;

const LINES: &[&str] = &[
    r#"{"type":"system","subtype":"init","cwd":"/srv/app","session_id":"8d12e9c7-e912-49e2-87ad-7f5c8469e777","tools":["Task","Bash"],"mcp_servers":[],"model":"claude-opus-4-8[1m]","permissionMode":"default","apiKeySource":"ANTHROPIC_API_KEY","claude_code_version":"2.1.197","uuid":"d76fbb33-14b2-430b-b014-f23ff923fec1"}"#,
    r#"{"type":"assistant","message":{"id":"msg_e953","type":"message","role":"assistant","model":"claude-opus-4-8","content":[{"type":"text","text":"hello"}],"stop_reason":null},"parent_tool_use_id":null,"session_id":"8d12e9c7-e912-49e2-87ad-7f5c8469e777"}"#,
    r#"{"type":"assistant","message":{"id":"msg_98e1","content":[{"type":"thinking","thinking":"let me look","signature":"x"}]},"session_id":"s"}"#,
    r#"{"type":"assistant","message":{"id":"msg_98e1","content":[{"type":"tool_use","id":"toolu_b059","name":"Bash","input":{"command":"echo hi-from-bash","description":"say hi"}}]},"session_id":"s"}"#,
    r#"{"type":"user","message":{"role":"user","content":[{"tool_use_id":"toolu_b059","type":"tool_result","content":"hi-from-bash","is_error":false}]},"session_id":"s","tool_use_result":{"stdout":"hi-from-bash","interrupted":false}}"#,
    r#"{"type":"user","message":{"role":"user","content":[{"tool_use_id":"toolu_b059","type":"tool_result","content":[{"type":"text","text":"part one"},{"type":"text","text":"part two"}],"is_error":true}]},"session_id":"s"}"#,
    r#"{"type":"user","message":{"role":"user","content":[{"type":"text","text":"[Request interrupted by user]"}]},"session_id":"s"}"#,
    r#"{"type":"system","subtype":"api_retry","attempt":2,"max_retries":10,"retry_delay_ms":1200,"error_status":500,"error":"server_error","session_id":"s"}"#,
    r#"{"type":"result","subtype":"success","is_error":false,"api_error_status":null,"duration_ms":129,"num_turns":1,"result":"hello","session_id":"s","total_cost_usd":0.097315,"usage":{"input_tokens":3,"cache_creation_input_tokens":100,"cache_read_input_tokens":19355,"output_tokens":5},"terminal_reason":"completed"}"#,
    r#"{"subtype":"error_during_execution","duration_ms":0,"is_error":true,"num_turns":0,"session_id":"s","total_cost_usd":0,"errors":["No conversation found with session ID: 11111111-2222-4333-8444-555555555555"],"type":"result"}"#,
    r#"{"type":"system","subtype":"permission_denied","tool_name":"Bash","tool_use_id":"toolu_c1","message":"touch in '/srv/app/notes.md' needs approval.","session_id":"s"}"#,
    r#"{"type":"result","subtype":"success","is_error":false,"num_turns":2,"result":"I could not.","session_id":"s","total_cost_usd":0.02,"permission_denials":[{"tool_name":"Bash","tool_use_id":"toolu_c1","tool_input":{"command":"touch notes.md","description":"make it"}}],"terminal_reason":"completed"}"#,
    r#"{"type":"control_response","response":{"subtype":"success","request_id":"r1"}}"#,
    r#"{"type":"control_request","request_id":"3358a92f-3a01-47d3-8dc9-ffdaacd9fa32","request":{"subtype":"can_use_tool","tool_name":"Bash","display_name":"Bash","input":{"command":"touch M_allow && echo ran-allow","description":"mock-requested command"},"description":"mock-requested command","permission_suggestions":[{"type":"addRules","rules":[{"toolName":"Bash","ruleContent":"touch M_allow && echo ran-allow"}],"behavior":"allow","destination":"localSettings"}],"blocked_path":"/P/M_allow","tool_use_id":"toolu_ba90a50f8a454d479bd938bf"}}"#,
    r#"{"type":"control_request","request_id":"r2","request":{"subtype":"can_use_tool","tool_name":"Bash","input":{"command":"touch M && echo x"},"decision_reason_type":"subcommandResults"}}"#,
    r#"{"type":"control_cancel_request","request_id":"0095da44-f62d-4cc0-b228-d74050fb6c89"}"#,
    r#"{"type":"control_request","request_id":"r3","request":{"subtype":"hook_callback"}}"#,
    r#"{"type":"stream_event","event":{"type":"message_start"},"session_id":"s"}"#,
    r#"{"type":"system","subtype":"status","status":"requesting","session_id":"s"}"#,
    r#"{"type":"assistant","message":{"content":[{"type":"server_tool_use","id":"srv_1","name":"web_search"},{"type":"text","text":"found it"}]},"session_id":"s"}"#,
    r#"{"type":"assistant","message":{"content":[]},"session_id":"s"}"#,
    r#"{"type":"from_the_future","payload":[1,2,3]}"#,
    "[1,2,3]",
    r#"{"type":"assistant", this is not json"#,
    "",
];

#[test]
fn documented_and_unknown_lines_become_these_events() {
    let parsed: Vec<(&str, Vec<AgentEvent>)> = LINES
        .iter()
        .map(|line| (*line, parse_line(&Line::Text((*line).to_owned()), 1024)))
        .collect();
    insta::assert_yaml_snapshot!(parsed);
}

#[test]
fn oversized_and_non_utf8_lines_become_diagnostics() {
    let events = [
        parse_line(
            &Line::Oversized {
                bytes: 16_777_216,
                result: None,
            },
            8_388_608,
        ),
        parse_line(&Line::NotUtf8 { bytes: 3 }, 8_388_608),
    ];
    insta::assert_yaml_snapshot!(events);
}

#[test]
fn a_top_level_text_delta_is_live_text_and_other_partials_are_nothing() {
    let output = |line: &str| parse_output(&Line::Text(line.to_owned()), 1024);
    assert_eq!(
        output(
            r#"{"type":"stream_event","event":{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Hel"}},"session_id":"s","parent_tool_use_id":null}"#
        ),
        Output::TextDelta("Hel".into())
    );
    // Escaped text, fields in another order, no `parent_tool_use_id` at all.
    assert_eq!(
        output(
            r#"{"session_id":"s","event":{"delta":{"text":"\"lo\"\n\u00e9","type":"text_delta"},"index":0,"type":"content_block_delta"},"type":"stream_event"}"#
        ),
        Output::TextDelta("\"lo\"\n\u{e9}".into())
    );
    for nothing in [
        r#"{"type":"stream_event","event":{"type":"message_delta","delta":{"stop_reason":"end_turn","stop_sequence":null},"usage":{"output_tokens":3}},"session_id":"s"}"#,
        r#"{"type":"stream_event","event":{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":""}},"session_id":"s"}"#,
        r#"{"type":"stream_event","event":{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":7}},"session_id":"s"}"#,
        r#"{"type":"stream_event","event":"not an object","session_id":"s"}"#,
        r#"{"type":"stream_event","event":{"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":"{\"com"}},"session_id":"s"}"#,
        r#"{"type":"stream_event","event":{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"sub"}},"session_id":"s","parent_tool_use_id":"toolu_1"}"#,
        r#"{"type":"stream_event","event":{"type":"content_block_stop","index":0},"session_id":"s"}"#,
        r#"{"type":"system","subtype":"status","status":"requesting","session_id":"s"}"#,
    ] {
        assert_eq!(output(nothing), Output::Events(Vec::new()), "{nothing}");
    }
    // A status line that says something else is kept.
    assert!(matches!(
        &output(r#"{"type":"system","subtype":"status","status":null,"permissionMode":"acceptEdits","session_id":"s"}"#),
        Output::Events(events) if events.len() == 1
    ));
}
