#!/usr/bin/python3
"""Submit transcript files to an excerpt broker, retrying until accepted.

Each file gets an idempotency key (--key-prefix + file name, or by default
"sha256:" + hex SHA-256 of the text), so resending after a timeout or a
reconnect can never make a second job (PROTOCOL.md "Frontend"). Refusals
that say when to come back (Rejected.retry_after_ms > 0: QUEUE_FULL,
STORE_FULL, SHUTTING_DOWN, INTERNAL) are retried after that delay plus
jitter; a timeout reconnects and resends with capped exponential backoff;
other refusals are reported and the file is skipped.

    scraper.py --endpoint FE [--key-file F --broker-key-file B]
               [--max-wait-s S] FILE...

With key files (as for excerpt_client.py) the connection runs CURVE; a key
the broker refuses (in the handshake, or Rejected UNAUTHORIZED after an
allow-list reload) stops the scraper at once (exit 2), it is not retried.

Prints one JSON line per file: {"file", "job_id", "duplicate", "retries"}.
Exit: 0 all accepted, 1 some refused for good or past --max-wait-s,
2 bad key files or the broker refused the key.
"""
import argparse
import hashlib
import json
import os
import random
import sys
import time

from excerpt_client import Client, Denied, KeyFileError, Keys, pb


def submit(a, client, path):
    """Returns (reply or None, retries, client, reason)."""
    text = open(path, "rb").read()
    if a.key_prefix:
        key = a.key_prefix + os.path.basename(path)
    else:
        key = "sha256:" + hashlib.sha256(text).hexdigest()
    job = pb.Job(key=key, text=text, source_url=path,
                 title=os.path.basename(path))
    deadline = time.monotonic() + a.max_wait_s
    retries = 0
    backoff = 0.1
    while True:
        try:
            reply = client.call(submit=pb.Submit(job=job))
        except TimeoutError:
            if time.monotonic() + backoff > deadline:
                return None, retries, client, "no reply"
            time.sleep(backoff)
            backoff = min(backoff * 2, 5.0)
            client.close()
            client = Client(a.endpoint, a.timeout_ms, a.keys)
            retries += 1
            continue
        if reply.WhichOneof("body") != "rejected":
            return reply, retries, client, ""
        r = reply.rejected
        if r.code == pb.CODE_UNAUTHORIZED:   # the key lost its right
            raise Denied("the broker refused this key: %s" % r.reason)
        reason = "%s: %s" % (pb.Code.Name(r.code), r.reason)
        if r.retry_after_ms == 0:
            return None, retries, client, reason
        delay = r.retry_after_ms / 1000.0 * random.uniform(1.0, 1.5)
        if time.monotonic() + delay > deadline:
            return None, retries, client, reason
        print("scraper: %s: %s, retry in %.2f s" % (path, reason, delay),
              file=sys.stderr, flush=True)
        time.sleep(delay)
        retries += 1


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--endpoint", default="tcp://127.0.0.1:7440")
    ap.add_argument("--timeout-ms", type=int, default=5000)
    ap.add_argument("--max-wait-s", type=float, default=300.0,
                    help="give up on a file after this long")
    ap.add_argument("--key-prefix", default="",
                    help="idempotency key = prefix + file name")
    Keys.add_arguments(ap)
    ap.add_argument("files", nargs="+")
    a = ap.parse_args()
    try:
        a.keys = Keys(a.key_file, a.broker_key_file)
    except KeyFileError as e:
        print("scraper: %s" % e, file=sys.stderr)
        return 2
    client = Client(a.endpoint, a.timeout_ms, a.keys)
    status = 0
    for path in a.files:
        try:
            reply, retries, client, reason = submit(a, client, path)
        except Denied as e:
            print("scraper: %s" % e, file=sys.stderr)
            client.close()
            return 2
        if reply is None:
            print("scraper: %s: %s" % (path, reason), file=sys.stderr)
            status = 1
            continue
        print(json.dumps({"file": path, "job_id": reply.accepted.job_id,
                          "duplicate": reply.accepted.duplicate,
                          "retries": retries}), flush=True)
    client.close()
    return status


if __name__ == "__main__":
    sys.exit(main())
