"""IAM Access Analyzer stand-in: moto (5.2) has no Access Analyzer, so ListAnalyzers is served
here, on loopback, in the shape of the API reference (GET /analyzer?type=ACCOUNT →
``{"analyzers": [{"arn", "name", "type", "status", ...}]}``; Access Analyzer API Reference,
ListAnalyzers). kyeol reaches it through ``AWS_ENDPOINT_URL_ACCESSANALYZER``, the SDKs'
service-specific endpoint setting. Only the read kyeol makes is modelled."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit


class AccessAnalyzerStandIn:
    def __init__(self, account: str = "123456789012", region: str = "ap-northeast-1") -> None:
        self.account, self.region = account, region
        self.analyzers: list[dict[str, Any]] = []
        stand_in = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                parts = urlsplit(self.path)
                if parts.path != "/analyzer":
                    self._answer(404, {"message": f"not modelled: GET {parts.path}"})
                    return
                wanted = parse_qs(parts.query).get("type", [None])[0]
                self._answer(200, {"analyzers": [a for a in stand_in.analyzers if wanted in (None, a["type"])]})

            def _answer(self, code: int, body: dict[str, Any]) -> None:
                data = json.dumps(body).encode()
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"

    def add(self, name: str, type_: str = "ACCOUNT") -> None:
        self.analyzers.append(
            {
                "arn": f"arn:aws:access-analyzer:{self.region}:{self.account}:analyzer/{name}",
                "name": name,
                "type": type_,
                "status": "ACTIVE",
                "createdAt": "2026-01-01T00:00:00Z",
            }
        )

    def start(self) -> AccessAnalyzerStandIn:
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
