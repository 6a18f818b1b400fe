//! The partial-message lines the real CLI prints with `--include-partial-messages`: per
//! API request a `system/status` (`requesting`) and a `stream_event` `message_start`;
//! per content block `content_block_start`, its deltas, then (after the block's complete
//! `assistant` line) `content_block_stop`; per message `message_delta` and
//! `message_stop`. Nothing at all without the flag.

use std::sync::atomic::Ordering;

use serde_json::{json, Value};

use crate::emit::{new_uuid, usage, Out};

impl Out {
    /// Starts an API message (once; later calls add nothing until it is closed).
    pub fn open_message(&self, message_id: &str, model: &str) {
        if !self.partials || self.message_open.swap(true, Ordering::SeqCst) {
            return;
        }
        self.block.store(0, Ordering::SeqCst);
        self.line(&json!({
            "type": "system", "subtype": "status", "status": "requesting",
            "uuid": new_uuid(), "session_id": self.session_id,
        }));
        self.partial(&json!({"type": "message_start", "message": {
            "id": message_id, "type": "message", "role": "assistant", "model": model,
            "content": [], "stop_reason": null, "stop_sequence": null, "usage": usage(),
        }}));
    }

    /// Starts a content block; `empty` is its shape before any delta.
    pub fn block_start(&self, empty: &Value) {
        let index = self.block.load(Ordering::SeqCst);
        self.partial(
            &json!({"type": "content_block_start", "index": index, "content_block": empty}),
        );
    }

    /// One piece of the current block: `{"type":"text_delta","text":…}` or
    /// `{"type":"input_json_delta","partial_json":…}`.
    pub fn delta(&self, delta: &Value) {
        let index = self.block.load(Ordering::SeqCst);
        self.partial(&json!({"type": "content_block_delta", "index": index, "delta": delta}));
    }

    /// Text of the current block, a few words per delta, as the API streams it.
    pub fn text_deltas(&self, text: &str) {
        let mut piece = String::new();
        for (count, word) in text.split_inclusive(' ').enumerate() {
            piece.push_str(word);
            if count % 3 == 2 {
                self.delta(&json!({"type": "text_delta", "text": piece}));
                piece.clear();
            }
        }
        if !piece.is_empty() {
            self.delta(&json!({"type": "text_delta", "text": piece}));
        }
    }

    /// Ends the current block (after its `assistant` line).
    pub fn block_stop(&self) {
        let index = self.block.fetch_add(1, Ordering::SeqCst);
        self.partial(&json!({"type": "content_block_stop", "index": index}));
    }

    /// Ends the open API message, if any, for `stop_reason`.
    pub fn close_message(&self, stop_reason: &str) {
        if !self.partials || !self.message_open.swap(false, Ordering::SeqCst) {
            return;
        }
        self.partial(&json!({"type": "message_delta",
            "delta": {"stop_reason": stop_reason, "stop_sequence": null}, "usage": usage()}));
        self.partial(&json!({"type": "message_stop"}));
    }
}
