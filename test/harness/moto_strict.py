"""Start moto_server with SigV4 checks that use the request's raw (still-encoded) URI.

moto 5.2.1 rebuilds the signed URL from werkzeug's decoded URL, so a correctly signed
request whose path or query holds percent-encoded bytes (space, %2F, =, +, UTF-8) fails
with SignatureDoesNotMatch.  This launcher (from the S3 test-tooling reference,
section B7) patches that one private method and then starts moto's normal server.
usage: python3 moto_strict.py -H 127.0.0.1 -p 5000   (same flags as moto_server)
"""
from urllib.parse import unquote
import flask
from botocore.awsrequest import AWSRequest
from moto.iam import access_control as ac
from moto import server


def _create_aws_request(self):
    signed = self._get_string_between("SignedHeaders=", ",", self._headers["Authorization"]).split(";")
    headers = self._create_headers_for_aws_request(signed, self._headers)
    url = self._path
    try:
        raw = flask.request.environ.get("RAW_URI") or flask.request.environ.get("REQUEST_URI")
    except RuntimeError:
        raw = None
    if raw:
        path, _, query = raw.partition("?")
        url = path
        params = {unquote(k): unquote(v) for k, _, v in (p.partition("=") for p in query.split("&") if p)}
    else:
        params = None
    req = AWSRequest(method=self._method, url=url, data=self._body or self._data, headers=headers, params=params)
    req.context["timestamp"] = headers["X-Amz-Date"]
    return req


ac.IAMRequestBase._create_aws_request = _create_aws_request
if __name__ == "__main__":
    server.main()
