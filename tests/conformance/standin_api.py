"""A loopback stand-in for the Anthropic Messages API, enough for `claude -p` conformance runs.

It streams a short text reply; a prompt containing SLOWAPI streams 60 ticks 250 ms apart (to be
interrupted mid-stream); a prompt containing TOOLAPI asks for the Bash tool to run `sleep 300`
(to be interrupted mid-tool); PERMITAPI <word> asks for `touch <word>.md && echo ran-<word>`, a
command that needs permission; RECALLAPI replies whether the request still carries the earlier
turn's KEEPOPENFIRST prompt. It listens on 127.0.0.1 only and prints its port on stdout.
"""
import json, re, sys, time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

def sse(kind, data):
    return f"event: {kind}\ndata: {json.dumps(data)}\n\n".encode()

class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.0"
    def log_message(self, *args):
        sys.stderr.write("standin: " + (args[0] % args[1:]) + "\n")
    def do_GET(self):
        self.send_response(200); self.send_header("content-type", "application/json"); self.end_headers(); self.wfile.write(b"{}")
    def do_HEAD(self):
        self.send_response(200); self.end_headers()
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("content-length", 0) or 0))
        try:
            request = json.loads(body or b"{}")
        except Exception:
            request = {}
        if not self.path.startswith("/v1/messages") or "count_tokens" in self.path:
            self.send_response(200); self.send_header("content-type", "application/json"); self.end_headers()
            self.wfile.write(json.dumps({"input_tokens": 10}).encode()); return
        slow = b"SLOWAPI" in body and b"tool_result" not in body
        text_parts = [f"tick {n}. " for n in range(1, 61)] if slow else ["hello ", "from the ", "stand-in"]
        if b"RECALLAPI" in body:
            recalled = "yes" if b"KEEPOPENFIRST" in body else "no"
            text_parts = ["earlier turn ", f"in the request: {recalled}"]
        usage = {"input_tokens": 12, "output_tokens": 1, "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0}
        message = {"id": "msg_standin", "type": "message", "role": "assistant", "model": request.get("model", "claude-x"),
                   "content": [], "stop_reason": None, "stop_sequence": None, "usage": usage}
        if not request.get("stream"):
            message["content"] = [{"type": "text", "text": "".join(text_parts)}]; message["stop_reason"] = "end_turn"
            self.send_response(200); self.send_header("content-type", "application/json"); self.end_headers()
            self.wfile.write(json.dumps(message).encode()); return
        self.send_response(200); self.send_header("content-type", "text/event-stream"); self.send_header("connection", "close"); self.end_headers()
        command = None
        if b"TOOLAPI" in body and b"tool_result" not in body:
            command = "sleep 300"
        permit = re.search(rb"PERMITAPI (\w+)", body)
        if permit and b"tool_result" not in body:
            word = permit.group(1).decode()
            command = f"touch {word}.md && echo ran-{word}"
        if command:
            tool = {"type": "tool_use", "id": "toolu_standin1", "name": "Bash", "input": {}}
            self.wfile.write(sse("message_start", {"type": "message_start", "message": message}))
            self.wfile.write(sse("content_block_start", {"type": "content_block_start", "index": 0, "content_block": tool}))
            arguments = json.dumps({"command": command, "description": "Run the requested command"})
            self.wfile.write(sse("content_block_delta", {"type": "content_block_delta", "index": 0, "delta": {"type": "input_json_delta", "partial_json": arguments}}))
            self.wfile.write(sse("content_block_stop", {"type": "content_block_stop", "index": 0}))
            self.wfile.write(sse("message_delta", {"type": "message_delta", "delta": {"stop_reason": "tool_use", "stop_sequence": None}, "usage": {"output_tokens": 9}}))
            self.wfile.write(sse("message_stop", {"type": "message_stop"}))
            self.wfile.flush()
            return
        try:
            self.wfile.write(sse("message_start", {"type": "message_start", "message": message}))
            self.wfile.write(sse("content_block_start", {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}}))
            self.wfile.flush()
            for part in text_parts:
                self.wfile.write(sse("content_block_delta", {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": part}}))
                self.wfile.flush()
                if slow:
                    time.sleep(0.25)
            self.wfile.write(sse("content_block_stop", {"type": "content_block_stop", "index": 0}))
            self.wfile.write(sse("message_delta", {"type": "message_delta", "delta": {"stop_reason": "end_turn", "stop_sequence": None}, "usage": {"output_tokens": len(text_parts)}}))
            self.wfile.write(sse("message_stop", {"type": "message_stop"}))
            self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError):
            pass

server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
print(server.server_address[1], flush=True)
server.serve_forever()
