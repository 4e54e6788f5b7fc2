#!/usr/bin/env python3
"""A discarding S3 endpoint for the benchmark — a TEST DOUBLE, not an S3 implementation.

Why it exists: the JSON Lines throughput target compares btexport with `COPY (...) TO '/dev/null'`,
whose sink costs nothing.  No real S3 server costs that little: s3rver (one Node.js process) spends
more CPU per byte than the whole export on this 2-core machine, so an end-to-end time into s3rver
measures s3rver.  This endpoint is the /dev/null of S3: it speaks enough of the S3 REST API for a
btexport run (PutObject with If-None-Match, multipart create/upload part/complete/abort, HEAD,
DELETE, an empty ListObjectsV2/ListMultipartUploads) and throws every body byte away as it reads
it.  It keeps only each object's key and size, so write-once keys still behave (412 on a second
If-None-Match: * write).  It does not check signatures (moto and s3rver do that in the test
suites); it is used by test/bench/bench.py for the "into a discarding endpoint" row only.

usage: null_s3.py <port>   (prints "null-s3 listening <port>"; counts bytes, SIGTERM to stop)
"""
import hashlib
import http.server
import socketserver
import sys
import threading
import urllib.parse

OBJECTS = {}          # key -> size
UPLOADS = {}          # upload id -> (key, {part: size})
LOCK = threading.Lock()
COUNTER = [0]
SCRATCH = threading.local()   # one read buffer per connection thread
BUF = 4 << 20


def new_id():
    with LOCK:
        COUNTER[0] += 1
        return f"{COUNTER[0]:016x}"


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    rbufsize = 1 << 16

    def log_message(self, *a):
        pass

    def drain(self):
        """read and discard the request body; returns its length"""
        n = int(self.headers.get("Content-Length") or 0)
        left = n
        if not hasattr(SCRATCH, "buf"):
            SCRATCH.buf = memoryview(bytearray(BUF))
        view = SCRATCH.buf
        while left > 0:
            got = self.rfile.readinto(view[:min(left, BUF)])
            if not got:
                raise ConnectionError("short body")
            left -= got
        return n

    def reply(self, code, body=b"", headers=()):
        self.send_response(code)
        for k, v in headers:
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if body and self.command != "HEAD":
            self.wfile.write(body)

    def xml(self, code, body):
        self.reply(code, ('<?xml version="1.0" encoding="UTF-8"?>\n' + body).encode(),
                   [("Content-Type", "application/xml")])

    def error(self, code, s3code, msg):
        self.xml(code, f"<Error><Code>{s3code}</Code><Message>{msg}</Message></Error>")

    def target(self):
        u = urllib.parse.urlsplit(self.path)
        parts = u.path.lstrip("/").split("/", 1)
        return parts[0], urllib.parse.unquote(parts[1]) if len(parts) > 1 else "", urllib.parse.parse_qs(
            u.query, keep_blank_values=True)

    def etag(self, key, size):
        return '"' + hashlib.md5(f"{key}:{size}:{new_id()}".encode()).hexdigest() + '"'

    def do_PUT(self):
        bucket, key, q = self.target()
        size = self.drain()
        if "uploadId" in q:
            up = UPLOADS.get(q["uploadId"][0])
            if up is None:
                return self.error(404, "NoSuchUpload", "no such upload")
            up[1][int(q["partNumber"][0])] = size
            return self.reply(200, headers=[("ETag", self.etag(key, size))])
        with LOCK:
            if self.headers.get("If-None-Match") == "*" and key in OBJECTS:
                return self.error(412, "PreconditionFailed", "the key exists")
            OBJECTS[key] = size
        self.reply(200, headers=[("ETag", self.etag(key, size))])

    def do_POST(self):
        bucket, key, q = self.target()
        self.drain()
        if "uploads" in q:
            uid = new_id()
            UPLOADS[uid] = (key, {})
            return self.xml(200, f"<InitiateMultipartUploadResult><Bucket>{bucket}</Bucket><Key>{key}</Key>"
                                 f"<UploadId>{uid}</UploadId></InitiateMultipartUploadResult>")
        if "uploadId" in q:
            up = UPLOADS.pop(q["uploadId"][0], None)
            if up is None:
                return self.error(404, "NoSuchUpload", "no such upload")
            size = sum(up[1].values())
            with LOCK:
                if self.headers.get("If-None-Match") == "*" and key in OBJECTS:
                    return self.error(412, "PreconditionFailed", "the key exists")
                OBJECTS[key] = size
            return self.xml(200, f"<CompleteMultipartUploadResult><Bucket>{bucket}</Bucket><Key>{key}</Key>"
                                 f"<ETag>{self.etag(key, size)}</ETag></CompleteMultipartUploadResult>")
        self.error(501, "NotImplemented", "not implemented by the discarding endpoint")

    def do_DELETE(self):
        bucket, key, q = self.target()
        self.drain()
        if "uploadId" in q:
            UPLOADS.pop(q["uploadId"][0], None)
        else:
            with LOCK:
                OBJECTS.pop(key, None)
        self.reply(204)

    def do_HEAD(self):
        bucket, key, q = self.target()
        size = OBJECTS.get(key)
        if size is None:
            return self.reply(404)
        self.send_response(200)
        self.send_header("Content-Length", str(size))
        self.send_header("ETag", self.etag(key, size))
        self.end_headers()

    def do_GET(self):
        bucket, key, q = self.target()
        self.drain()
        if not key and "uploads" in q:
            return self.xml(200, f"<ListMultipartUploadsResult><Bucket>{bucket}</Bucket><IsTruncated>false"
                                 f"</IsTruncated></ListMultipartUploadsResult>")
        if not key:
            return self.xml(200, f"<ListBucketResult><Name>{bucket}</Name><KeyCount>0</KeyCount>"
                                 f"<IsTruncated>false</IsTruncated></ListBucketResult>")
        self.error(404, "NoSuchKey", "the discarding endpoint keeps no bytes")


class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True


def main():
    port = int(sys.argv[1])
    srv = Server(("127.0.0.1", port), Handler)
    print(f"null-s3 listening {port}", flush=True)
    srv.serve_forever()


if __name__ == "__main__":
    main()
