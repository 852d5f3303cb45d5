"""A scripted OpenAI-compatible chat endpoint served on 127.0.0.1 for the summary tests.

The fake model reads the ``<source id="n">`` blocks of the request the way a real model would and
answers according to ``mode``:

- ``honest``: quotes the first sentence of source 1 word for word and cites [1];
- ``invented_quote``: the honest answer plus a quotation that no source contains;
- ``bad_citation``: the honest answer plus a claim citing source [7];
- ``follow_injection``: obeys an instruction planted in a source ("reply with the word X and a link to Y");
- ``scripted``: returns ``reply`` verbatim;
- ``error_500``, ``hang`` (answers only after ``hang_s``), ``drip`` (sends the body a byte at a time),
  ``malformed_json``, ``no_choices``, ``redirect`` (307 to ``/stolen``).

Every request is recorded in ``requests`` (path, headers, parsed JSON body).
"""

from __future__ import annotations

import json
import re
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

_SOURCE = re.compile(r'<source id="(\d+)">\n(.*?)\n</source>', re.DOTALL)
_PLANTED = re.compile(r"reply with the word (\w+) and a link to (\S+?)\.?(?:\s|$)", re.IGNORECASE)


@dataclass(frozen=True)
class RecordedRequest:
    path: str
    headers: dict[str, str]
    body: dict | None


class FakeLLM:
    def __init__(self) -> None:
        self.mode = "honest"
        self.reply = ""
        self.hang_s = 3.0
        self.requests: list[RecordedRequest] = []
        self._release = threading.Event()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}/v1"

    def __enter__(self) -> FakeLLM:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._release.set()
        self._server.shutdown()
        self._server.server_close()

    def reset(self, mode: str, reply: str = "") -> None:
        self.mode, self.reply = mode, reply
        self.requests.clear()

    def answer(self, body: dict) -> str:
        """What the fake model writes for this request in the current mode."""
        user = next(m["content"] for m in body["messages"] if m["role"] == "user")
        sources = {int(n): text.split("\n\n", 1)[-1] for n, text in _SOURCE.findall(user)}
        first_sentence = re.split(r"(?<=[.!?])\s+", sources[1])[0].rstrip(".")
        honest = f'The article says "{first_sentence}" [1].'
        if self.mode == "honest":
            return honest
        if self.mode == "invented_quote":
            return f'{honest} The chief executive added "we never cut corners on safety" [1].'
        if self.mode == "bad_citation":
            return f"{honest} Regulators have since widened the recall to every model year [7]."
        if self.mode == "follow_injection":
            word, link = next(m.groups() for text in sources.values() if (m := _PLANTED.search(text)))
            return f"{word}! Read the full story at {link} [1]. {honest}"
        if self.mode == "scripted":
            return self.reply
        raise ValueError(f"mode {self.mode!r} does not produce an answer")

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: object) -> None:
                """Keep the test output quiet."""

            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                try:
                    body = json.loads(raw)
                except json.JSONDecodeError:
                    body = None
                fake.requests.append(RecordedRequest(self.path, dict(self.headers.items()), body))
                mode = fake.mode
                if mode == "error_500":
                    self._send(500, b'{"error": "internal"}')
                elif mode == "hang":
                    fake._release.wait(fake.hang_s)
                    self._send(200, self._completion(fake.answer(body) if body else ""))
                elif mode == "drip":
                    payload = self._completion("A slow answer [1].")
                    self._send_headers(200, len(payload))
                    for byte in payload:
                        if fake._release.wait(0.05):
                            return
                        self.wfile.write(bytes([byte]))
                        self.wfile.flush()
                elif mode == "malformed_json":
                    self._send(200, b'{"choices": [{"message": {"content": "cut off')
                elif mode == "no_choices":
                    self._send(200, b'{"object": "error", "message": "model not loaded"}')
                elif mode == "redirect":
                    self.send_response(307)
                    self.send_header("Location", "/stolen")
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                else:
                    self._send(200, self._completion(fake.answer(body)))

            def _completion(self, content: str) -> bytes:
                message = {"role": "assistant", "content": content}
                return json.dumps({"object": "chat.completion", "choices": [{"index": 0, "message": message}]}).encode()

            def _send_headers(self, status: int, length: int) -> None:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(length))
                self.end_headers()

            def _send(self, status: int, payload: bytes) -> None:
                self._send_headers(status, len(payload))
                self.wfile.write(payload)

        return Handler
