"""A real HTTP server on loopback that records the webhooks it receives (for tests)."""

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from webhooks import signing


def signed_with(secret: str, request: dict, *, body: bytes | None = None) -> bool:
    """Whether a recorded request's signature headers verify under ``secret`` (for ``body``, by default its own)."""
    headers = request["headers"]
    return signing.verify(
        secret,
        message_id=headers["webhook-id"],
        timestamp=int(headers["webhook-timestamp"]),
        body=request["body"] if body is None else body,
        signature_header=headers["webhook-signature"],
    )


class WebhookReceiver:
    """Collects requests; answers with ``status`` (settable, e.g. 500 to force retries).

    ``hold()`` makes it a stuck endpoint: each request is recorded, then answered only after ``release()``.
    """

    def __init__(self):
        self.requests: list[dict] = []
        self.status = 200
        self.released = threading.Event()
        self.released.set()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("content-length", 0)))
                receiver.requests.append({"headers": {k.lower(): v for k, v in self.headers.items()}, "body": body})
                receiver.released.wait(timeout=120)
                self.send_response(receiver.status)
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hooks"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def hold(self) -> None:
        self.released.clear()

    def release(self) -> None:
        self.released.set()

    def __exit__(self, *exc):
        self.release()
        self.server.shutdown()
        self.server.server_close()

    def events(self) -> list[dict]:
        return [json.loads(request["body"]) for request in self.requests]
