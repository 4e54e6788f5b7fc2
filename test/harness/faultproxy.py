"""Fault-injecting HTTP/1.1 proxy for btexport's tests.

A TEST DOUBLE: no real fault-injecting S3 proxy exists.  It forwards requests from 127.0.0.1
to an upstream S3 server (moto) and, per request, at a configurable rate (seeded, so runs are
reproducible), answers 500 InternalError or 503 SlowDown with S3's XML error body, resets the
connection, or stalls for a while before forwarding.  It understands request framing
(Content-Length bodies, keep-alive), answers HEAD/204 without bodies, and exits when its parent
does.

usage: python3 faultproxy.py LISTEN_PORT UPSTREAM_PORT RATE SEED [STALL_SECONDS]
       prints "ready" when listening; counts of injected faults go to stderr at exit.
       FAULT_MATCH=<regex>: only requests whose request line ("PUT /bucket/key HTTP/1.1") matches
       draw a fault (the others pass); FAULT_KINDS=500,503: only these kinds of fault;
       FAULT_REPORT=1: print "stall <request line>" on stdout when a stall begins.
"""
import os
import random
import re
import socket
import socketserver
import sys
import threading
import time

LISTEN, UPSTREAM, RATE, SEED = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4])
STALL = float(sys.argv[5]) if len(sys.argv) > 5 else 1.0
MATCH = re.compile(os.environ["FAULT_MATCH"].encode()) if os.environ.get("FAULT_MATCH") else None
KINDS = tuple(os.environ.get("FAULT_KINDS", "500,503,reset,stall").split(","))
rng = random.Random(SEED)
lock = threading.Lock()
counts = {"pass": 0, "500": 0, "503": 0, "reset": 0, "stall": 0}


def choose(start=b""):
    with lock:
        x = rng.random()
        if x >= RATE or (MATCH is not None and not MATCH.search(start)):
            counts["pass"] += 1
            return "pass"
        kind = KINDS[int(rng.random() * len(KINDS))]
        counts[kind] += 1
        return kind


def read_message(f, is_response=False, method=None):
    """(start line, header lines, body) or None at EOF."""
    start = f.readline()
    if not start:
        return None
    headers = []
    length = 0
    chunked = False
    while True:
        h = f.readline()
        if not h or h in (b"\r\n", b"\n"):
            break
        headers.append(h)
        name, _, value = h.decode("latin-1").partition(":")
        if name.strip().lower() == "content-length":
            length = int(value.strip())
        if name.strip().lower() == "transfer-encoding" and "chunked" in value.lower():
            chunked = True
    body = b""
    status = int(start.split()[1]) if is_response else 0
    if is_response and (method == "HEAD" or status in (204, 304) or 100 <= status < 200):
        return start, headers, body
    if chunked:
        out = []
        while True:
            size_line = f.readline()
            size = int(size_line.split(b";")[0], 16)
            chunk = f.read(size + 2)
            out.append(size_line + chunk)
            if size == 0:
                break
        body = b"".join(out)
    elif length:
        body = f.read(length)
    return start, headers, body


def error_response(code, s3code, message):
    body = (f'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>{s3code}</Code><Message>{message}</Message>'
            f'<RequestId>faultproxy</RequestId></Error>').encode()
    reason = {500: "Internal Server Error", 503: "Slow Down"}[code]
    return (f"HTTP/1.1 {code} {reason}\r\nContent-Type: application/xml\r\nContent-Length: {len(body)}\r\n"
            f"x-amz-request-id: faultproxy\r\n\r\n").encode() + body


class Handler(socketserver.StreamRequestHandler):
    def handle(self):
        up = None
        upf = None
        try:
            while True:
                msg = read_message(self.rfile)
                if msg is None:
                    return
                start, headers, body = msg
                method = start.split()[0].decode()
                action = choose(start)
                if action == "reset":
                    self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
                    return
                if action in ("500", "503"):
                    self.wfile.write(error_response(int(action), "InternalError" if action == "500" else "SlowDown",
                                                    "injected by faultproxy"))
                    self.wfile.flush()
                    continue
                if action == "stall":
                    if os.environ.get("FAULT_REPORT"):
                        print("stall " + start.decode("latin-1").strip(), flush=True)
                    time.sleep(STALL)
                if up is None:
                    up = socket.create_connection(("127.0.0.1", UPSTREAM))
                    upf = up.makefile("rwb")
                upf.write(start + b"".join(headers) + b"\r\n" + body)
                upf.flush()
                resp = read_message(upf, is_response=True, method=method)
                if resp is None:
                    return
                rstart, rheaders, rbody = resp
                self.wfile.write(rstart + b"".join(rheaders) + b"\r\n" + rbody)
                self.wfile.flush()
        except (ConnectionError, OSError, ValueError):
            return
        finally:
            if up is not None:
                up.close()


class Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True


def watch_parent(ppid):
    while True:
        if os.getppid() != ppid:
            os._exit(0)
        time.sleep(0.5)


if __name__ == "__main__":
    threading.Thread(target=watch_parent, args=(os.getppid(),), daemon=True).start()
    srv = Server(("127.0.0.1", LISTEN), Handler)
    print("ready", flush=True)
    try:
        srv.serve_forever()
    finally:
        sys.stderr.write(repr(counts) + "\n")
