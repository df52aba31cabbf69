#!/usr/bin/env python3
"""A DynamoDB-compatible server for jada's tests: moto's server, made strict.

    .venv/bin/python scripts/dynamodb-test-server.py [--port N]

Prints `listening on PORT` once it accepts connections, and exits when its standard
input closes (so it dies with the test process that started it).

Why not `moto_server` as it is:
- moto handles requests on threads with no lock in its DynamoDB backend: two
  `attribute_not_exists` racers can both win. Real DynamoDB applies each request
  atomically, so this server serialises requests with one lock around the app.
- moto accepts requests the real service refuses. This server refuses them as DynamoDB
  does (HTTP 400, ValidationException): BatchWriteItem over 25 requests, BatchGetItem
  over 100 keys, TransactWriteItems/TransactGetItems over 100 items, and a transaction
  naming one item twice.
- moto never throttles nor leaves UnprocessedItems. A test can ask for faults:
  POST /_faults {"target": "PutItem", "error": "ProvisionedThroughputExceededException",
  "count": 2, "table": "t1"} makes the next 2 PutItem requests (on table t1, or a
  transaction writing it; any table without "table") fail that way; {"target":
  "BatchWriteItem", "unprocessed": 1} answers the next batch with all its items
  unprocessed (nothing written); {"target": "TransactWriteItems", "lost": 1, "count": 1}
  applies the next one and answers 500, as if the answer were lost on the way back.
  DELETE /_faults clears them.
- moto lets any index be added to any table. DynamoDB requires a new index on a table
  in provisioned mode to have its own ProvisionedThroughput, and refuses one on an
  on-demand table: this server keeps each table's billing mode (from CreateTable and
  UpdateTable) and refuses the wrong shape with DynamoDB's words.
- moto ignores TransactWriteItems' ClientRequestToken. DynamoDB makes a repeat of a
  successful call with the same token within 10 minutes a no-op success, and refuses the
  token with other parameters (IdempotentParameterMismatchException): this server does
  the same, so a retry of an applied transaction is tested as AWS answers it.
- moto's indexes are current at once; DynamoDB's GSIs are eventually consistent. POST
  /_faults {"gsi_lag_ms": 300, "table": "t1"} hides from every index query on t1 the
  items written less than 300 ms ago (a write is seen by an index only later; a
  `Select=COUNT` query still counts them).
- GET /_stats answers the number of requests served per operation (the benchmark reads
  a running daemon's idle traffic from it).
- S3: moto stores whatever part of a PutObject body arrived when the client vanishes;
  S3 keeps nothing of an upload it did not receive whole, and answers 400 IncompleteBody.
  This server reads each S3 body in full before moto sees it, and refuses a short one as
  S3 does. A test can hold an upload mid-way: POST /_faults {"target": "s3:PutObject",
  "stall_after_bytes": N, "key_contains": "jada-"} reads the first N bytes of the next
  matching PutObject, counts it in /_stats as "s3:PutObject stalled", and waits there
  (without holding up other requests) until DELETE /_faults, then reads the rest.
"""

import argparse
import json
import os
import sys
import threading
import time

from werkzeug.serving import make_server

from moto.moto_server.werkzeug_app import (
    DomainDispatcherApplication,
    MotoRequestHandler,
    create_backend_app,
)

PREFIX = "DynamoDB_20120810."
LOCK = threading.Lock()
FAULTS = []  # dicts: target, error | unprocessed, count
STATS = {}  # operation -> requests served (GET /_stats; for the benchmark)
MODES = {}  # table name -> "PROVISIONED" | "PAY_PER_REQUEST", as created or updated
TOKENS = {}  # ClientRequestToken -> (the request without it, when it succeeded)
TOKEN_WINDOW = 600  # seconds DynamoDB remembers a client request token
KEYS = {}  # table name -> its key attribute names (from CreateTable)
LAGS = {}  # table name -> seconds an index lags behind a write (POST /_faults gsi_lag_ms)
WRITTEN = {}  # (table, key as JSON) -> when it was last written
STALLS = []  # S3 uploads to hold mid-way: dicts with stall_after_bytes, key_contains
RELEASED = threading.Event()  # set by DELETE /_faults: held uploads go on
STALL_LIMIT = 300  # seconds an upload is held at most, should a test never release it


def error(kind, message):
    body = json.dumps({"__type": f"com.amazonaws.dynamodb.v20120810#{kind}", "message": message})
    return "400 Bad Request", body


def capacity_refusal(target, request):
    """DynamoDB's capacity-mode rule for indexes, which moto does not apply."""
    if target == "CreateTable":
        mode = request.get("BillingMode", "PROVISIONED")
        for index in request.get("GlobalSecondaryIndexes", []):
            refused = index_shape(mode, index)
            if refused:
                return refused
        return None
    if target != "UpdateTable":
        return None
    mode = request.get("BillingMode") or MODES.get(request.get("TableName"))
    if mode is None:
        return None
    for update in request.get("GlobalSecondaryIndexUpdates", []):
        if "Create" in update:
            refused = index_shape(mode, update["Create"])
            if refused:
                return refused
    return None


def index_shape(mode, index):
    name = index.get("IndexName")
    has = "ProvisionedThroughput" in index
    if mode == "PROVISIONED" and not has:
        return error(
            "ValidationException",
            f"One or more parameter values were invalid: ProvisionedThroughput is not specified for index: {name}",
        )
    if mode == "PAY_PER_REQUEST" and has:
        return error(
            "ValidationException",
            "One or more parameter values were invalid: ProvisionedThroughput should not be specified for "
            f"index: {name} when BillingMode is PAY_PER_REQUEST",
        )
    return None


def key_json(table, item):
    names = KEYS.get(table)
    if not names or not all(n in item for n in names):
        return None
    return json.dumps({n: item[n] for n in names}, sort_keys=True)


def remember_writes(target, request):
    """When each item was written, for the index lag (only on tables that lag)."""
    if not LAGS:
        return
    now = time.time()
    writes = []
    if target in ("PutItem", "UpdateItem", "DeleteItem"):
        writes.append((request.get("TableName"), request.get("Key") or request.get("Item") or {}))
    elif target == "TransactWriteItems":
        for item in request.get("TransactItems", []):
            for kind, op in item.items():
                if kind != "ConditionCheck":
                    writes.append((op.get("TableName"), op.get("Key") or op.get("Item") or {}))
    elif target == "BatchWriteItem":
        for table, reqs in request.get("RequestItems", {}).items():
            for r in reqs:
                put = r.get("PutRequest", {}).get("Item")
                delete = r.get("DeleteRequest", {}).get("Key")
                writes.append((table, put or delete or {}))
    for table, item in writes:
        if table in LAGS:
            key = key_json(table, item)
            if key:
                WRITTEN[(table, key)] = now


def lagging(target, request, body):
    """An index query's answer without the items its index has not caught up with."""
    table = request.get("TableName")
    if target != "Query" or not request.get("IndexName") or table not in LAGS:
        return body
    answer = json.loads(b"".join(body) or b"{}")
    cutoff = time.time() - LAGS[table]
    seen = [i for i in answer.get("Items", []) if WRITTEN.get((table, key_json(table, i)), 0) <= cutoff]
    if len(seen) != len(answer.get("Items", [])):
        answer["Items"] = seen
        answer["Count"] = len(seen)
    return [json.dumps(answer).encode()]


def remember_mode(target, request):
    if target == "CreateTable":
        MODES[request.get("TableName")] = request.get("BillingMode", "PROVISIONED")
        KEYS[request.get("TableName")] = [k["AttributeName"] for k in request.get("KeySchema", [])]
    elif target == "UpdateTable" and request.get("BillingMode"):
        MODES[request.get("TableName")] = request["BillingMode"]


def refusal(target, request):
    """What the real service refuses and moto accepts: (status, body) or None."""
    refused = capacity_refusal(target, request)
    if refused:
        return refused
    if target == "BatchWriteItem":
        n = sum(len(v) for v in request.get("RequestItems", {}).values())
        if n > 25:
            return error(
                "ValidationException",
                "1 validation error detected: Value at 'requestItems' failed to satisfy "
                f"constraint: Member must have length less than or equal to 25 (got {n})",
            )
    if target == "BatchGetItem":
        n = sum(len(v.get("Keys", [])) for v in request.get("RequestItems", {}).values())
        if n > 100:
            return error("ValidationException", f"Too many items requested for the BatchGetItem call ({n})")
    if target in ("TransactWriteItems", "TransactGetItems"):
        items = request.get("TransactItems", [])
        if len(items) > 100:
            return error(
                "ValidationException",
                "1 validation error detected: Value at 'transactItems' failed to satisfy "
                f"constraint: Member must have length less than or equal to 100 (got {len(items)})",
            )
        seen = set()
        for item in items:
            (op,) = item.values()
            key = (op.get("TableName"), json.dumps(op.get("Key") or key_of(op), sort_keys=True))
            if key in seen:
                return error(
                    "ValidationException",
                    "Transaction request cannot include multiple operations on one item",
                )
            seen.add(key)
    return None


def key_of(op):
    # A Put names its item, not a key; the table's key attributes are not known here, so
    # the whole item stands in (two Puts of different items never compare equal).
    return op.get("Item")


def tables_of(request):
    """The tables a request names: its TableName, or those of a transaction's items."""
    names = {request.get("TableName")}
    for item in request.get("TransactItems", []):
        for op in item.values():
            names.add(op.get("TableName"))
    return names


def idempotent(target, request):
    """A repeat of a successful TransactWriteItems by its ClientRequestToken: (status,
    body) when DynamoDB would answer without applying it again, else None."""
    token = request.get("ClientRequestToken")
    if target != "TransactWriteItems" or not token:
        return None
    seen = TOKENS.get(token)
    if seen is None or time.time() - seen[1] > TOKEN_WINDOW:
        return None
    if seen[0] == without_token(request):
        return "200 OK", "{}"
    return error(
        "IdempotentParameterMismatchException",
        "The request uses the same client token as a previous, but non-identical request.",
    )


def without_token(request):
    return json.dumps({k: v for k, v in request.items() if k != "ClientRequestToken"}, sort_keys=True)


def remember_token(target, request):
    token = request.get("ClientRequestToken")
    if target == "TransactWriteItems" and token:
        TOKENS[token] = (without_token(request), time.time())


def lost_answer(target, request):
    """A fault {"target": OP, "lost": 1, "count": N}: apply the next N requests, then
    answer 500 as if the answer were lost."""
    for fault in FAULTS:
        if fault["target"] == target and fault.get("lost") and fault["count"] > 0:
            if fault.get("table") and fault["table"] not in tables_of(request):
                continue
            fault["count"] -= 1
            return True
    return False


def injected(target, request):
    for fault in FAULTS:
        if fault["target"] != target or fault["count"] <= 0 or fault.get("lost"):
            continue
        if fault.get("table") and fault["table"] not in tables_of(request):
            continue
        fault["count"] -= 1
        if "unprocessed" in fault:
            return "200 OK", json.dumps({"UnprocessedItems": request.get("RequestItems", {})})
        return error(fault["error"], "injected by the test")
    return None


class Strict:
    def __init__(self, app):
        self.app = app

    def __call__(self, environ, start_response):
        if environ.get("PATH_INFO") == "/_faults":
            return self.faults(environ, start_response)
        if environ.get("PATH_INFO") == "/_stats":
            with LOCK:
                body = json.dumps(STATS).encode()
            start_response("200 OK", [("Content-Type", "application/json")])
            return [body]
        target = environ.get("HTTP_X_AMZ_TARGET", "")
        if target.startswith(PREFIX):
            length = int(environ.get("CONTENT_LENGTH") or 0)
            raw = environ["wsgi.input"].read(length)
            request = json.loads(raw or b"{}")
            op = target[len(PREFIX):]
            with LOCK:
                STATS[op] = STATS.get(op, 0) + 1
            answer = refusal(op, request)
            if answer is None:
                with LOCK:
                    answer = injected(op, request) or idempotent(op, request)
            if answer is not None:
                status, body = answer
                start_response(status, [("Content-Type", "application/x-amz-json-1.0")])
                return [body.encode()]
            environ["wsgi.input"] = _Body(raw)
            answered = []

            def remember(status, headers, *rest):
                answered.append((status, headers))
                return lambda _data: None  # moto's app returns its body; it never writes

            with LOCK:
                lost = lost_answer(op, request)
                body = list(self.app(environ, remember))
                status, headers = answered[0]
                if status.startswith("200"):
                    remember_mode(op, request)
                    remember_token(op, request)
                    remember_writes(op, request)
                    body = lagging(op, request, body)
                    headers = [(k, v) for k, v in headers if k.lower() != "content-length"]
                    headers.append(("Content-Length", str(sum(len(b) for b in body))))
            if lost:
                # Applied, but the answer is lost on the way back: the client sees a 500
                # and retries (with the same client request token).
                status, text = error("InternalServerError", "injected by the test after applying the request")
                status, headers, body = "500 Internal Server Error", [("Content-Type", "application/x-amz-json-1.0")], [text.encode()]
            start_response(status, headers)
            return body
        if environ.get("REQUEST_METHOD") in ("PUT", "POST") and environ.get("CONTENT_LENGTH"):
            raw = read_s3_body(environ)
            if raw is None:
                body = (
                    b'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>IncompleteBody</Code>'
                    b"<Message>You did not provide the number of bytes specified by the "
                    b"Content-Length HTTP header.</Message></Error>"
                )
                start_response("400 Bad Request", [("Content-Type", "application/xml")])
                return [body]
            environ["wsgi.input"] = _Body(raw)
        with LOCK:
            return list(self.app(environ, start_response))

    def faults(self, environ, start_response):
        with LOCK:
            if environ["REQUEST_METHOD"] == "DELETE":
                FAULTS.clear()
                LAGS.clear()
                STALLS.clear()
                RELEASED.set()
            else:
                length = int(environ.get("CONTENT_LENGTH") or 0)
                fault = json.loads(environ["wsgi.input"].read(length))
                if "gsi_lag_ms" in fault:
                    LAGS[fault["table"]] = fault["gsi_lag_ms"] / 1000
                elif "stall_after_bytes" in fault:
                    RELEASED.clear()
                    STALLS.append(fault)
                else:
                    FAULTS.append(fault)
        start_response("204 No Content", [])
        return [b""]


def read_s3_body(environ):
    """An S3 request's whole body, or None when the client sent less than its
    Content-Length (it went away mid-upload); held mid-way by a stall fault."""
    length = int(environ["CONTENT_LENGTH"])
    stall = None
    if environ["REQUEST_METHOD"] == "PUT":
        with LOCK:
            for fault in STALLS:
                if fault.get("key_contains", "") in environ.get("PATH_INFO", ""):
                    stall = fault
                    STALLS.remove(fault)
                    break
    chunks, got = [], 0
    try:
        if stall is not None:
            first = read_exactly(environ["wsgi.input"], min(stall["stall_after_bytes"], length))
            chunks.append(first)
            got += len(first)
            with LOCK:
                STATS["s3:PutObject stalled"] = STATS.get("s3:PutObject stalled", 0) + 1
            RELEASED.wait(STALL_LIMIT)
        rest = read_exactly(environ["wsgi.input"], length - got)
        chunks.append(rest)
        got += len(rest)
    except OSError:
        return None
    if got < length:
        return None
    return b"".join(chunks)


def read_exactly(stream, n):
    """Up to n bytes: fewer only when the client closed the connection."""
    parts, left = [], n
    while left > 0:
        part = stream.read(min(left, 1 << 20))
        if not part:
            break
        parts.append(part)
        left -= len(part)
    return b"".join(parts)


class QuietHandler(MotoRequestHandler):
    def log_request(self, *args, **kwargs):
        pass


class _Body:
    def __init__(self, raw):
        import io

        self.buf = io.BytesIO(raw)

    def read(self, *a):
        return self.buf.read(*a)

    def readline(self, *a):
        return self.buf.readline(*a)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args()
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    app = Strict(DomainDispatcherApplication(create_backend_app))
    server = make_server("127.0.0.1", args.port, app, threaded=True, request_handler=QuietHandler)
    os.environ["MOTO_PORT"] = str(server.port)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    print(f"listening on {server.port}", flush=True)
    sys.stdin.read()  # until the parent closes it (or dies)
    os._exit(0)


if __name__ == "__main__":
    main()
