"""A small tile service that allows only a few requests in flight, as rate-limited
public data services do: one request too many gets `429 Too Many Requests`.

    python3 examples/rate-limit/server.py --port 8765 --max-in-flight 2 --hold-s 2

GET /tiles/N answers after --hold-s seconds (the download's time) with a little JSON;
GET /stats says how many requests it served and refused, and the most it saw in flight.
"""

import argparse
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Counters:
    def __init__(self, limit):
        self.limit, self.lock = limit, threading.Lock()
        self.in_flight = self.most_in_flight = self.served = self.refused = 0

    def enter(self):
        with self.lock:
            if self.in_flight >= self.limit:
                self.refused += 1
                return False
            self.in_flight += 1
            self.most_in_flight = max(self.most_in_flight, self.in_flight)
            return True

    def leave(self):
        with self.lock:
            self.in_flight -= 1
            self.served += 1

    def snapshot(self):
        with self.lock:
            return {"served": self.served, "refused": self.refused, "in_flight": self.in_flight,
                    "most_in_flight": self.most_in_flight, "limit": self.limit}


def handler(counters, hold_s):
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            if self.path == "/stats":
                return self.reply(200, counters.snapshot())
            if not self.path.startswith("/tiles/"):
                return self.reply(404, {"error": f"no such path {self.path}; try /tiles/1 or /stats"})
            if not counters.enter():
                return self.reply(429, {"error": f"more than {counters.limit} requests in flight"},
                                  {"Retry-After": "1"})
            try:
                time.sleep(hold_s)
                body = {"tile": self.path.rsplit("/", 1)[-1], "cells": 256 * 256}
            finally:
                # counted out before the reply is sent: the client's next request can never race it
                counters.leave()
            self.reply(200, body)

        def reply(self, status, body, headers=None):
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format, *args):
            pass  # quiet: /stats says what happened

    return Handler


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=8765, help="port on 127.0.0.1 (0: any free one)")
    parser.add_argument("--max-in-flight", type=int, default=2, help="requests served at once; more get 429")
    parser.add_argument("--hold-s", type=float, default=2.0, help="seconds each download takes")
    args = parser.parse_args()
    server = ThreadingHTTPServer(("127.0.0.1", args.port), handler(Counters(args.max_in_flight), args.hold_s))
    print(f"tile service on http://127.0.0.1:{server.server_address[1]} "
          f"(at most {args.max_in_flight} requests in flight)", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
