#!/usr/bin/python3
"""A minimal excerpt client in Python, written from proto/PROTOCOL.md alone.

It shows that the protocol needs nothing but ZeroMQ and protobuf:
Debian packages python3-zmq, python3-protobuf and protobuf-compiler.

    excerpt_client.py [--endpoint E] submit FILE...   # prints job ids
    excerpt_client.py [--endpoint E] get JOB_ID       # prints the result as JSON
    excerpt_client.py [--endpoint E] stats            # prints the counters as JSON
    excerpt_client.py [--endpoint E] since SEQ        # prints committed items

Exit codes: 0 ok, 1 rejected or not found, 3 no reply in time.
"""
import argparse
import hashlib
import importlib
import json
import os
import random
import subprocess
import sys
import tempfile

import zmq
from google.protobuf import json_format

HERE = os.path.dirname(os.path.abspath(__file__))
PROTO_DIR = os.path.join(HERE, "..", "..", "proto")


def load_schema():
    """Compile proto/excerpt.proto with protoc into a temporary module."""
    out = tempfile.mkdtemp(prefix="excerpt-pb-")
    subprocess.run(["protoc", "--proto_path=" + PROTO_DIR, "--python_out=" + out,
                    "excerpt.proto"], check=True)
    sys.path.insert(0, out)
    return importlib.import_module("excerpt_pb2")


pb = load_schema()


class Client:
    def __init__(self, endpoint, timeout_ms=5000):
        self.ctx = zmq.Context.instance()
        self.sock = self.ctx.socket(zmq.DEALER)
        self.sock.setsockopt(zmq.LINGER, 0)
        self.sock.connect(endpoint)
        self.timeout_ms = timeout_ms
        self.next_id = random.getrandbits(32)

    def call(self, **body):
        """Send one request (an Envelope with one body field), return the reply."""
        self.next_id += 1
        env = pb.Envelope(version=1, request_id=self.next_id, **body)
        self.sock.send(env.SerializeToString())
        while self.sock.poll(self.timeout_ms):
            frames = self.sock.recv_multipart()
            reply = pb.Envelope()
            reply.ParseFromString(frames[-1])   # last frame is the Envelope
            if reply.request_id == self.next_id:
                return reply
        raise TimeoutError("no reply within %d ms" % self.timeout_ms)


def rejected(reply):
    if reply.WhichOneof("body") == "rejected":
        r = reply.rejected
        print("rejected: %s: %s" % (pb.Code.Name(r.code), r.reason), file=sys.stderr)
        return True
    return False


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--endpoint", default="tcp://127.0.0.1:7440")
    ap.add_argument("--timeout-ms", type=int, default=5000)
    ap.add_argument("command", choices=["submit", "get", "stats", "since"])
    ap.add_argument("args", nargs="*")
    a = ap.parse_args()
    c = Client(a.endpoint, a.timeout_ms)
    status = 0
    try:
        if a.command == "submit":
            for path in a.args:
                text = open(path, "rb").read()
                key = "sha256:" + hashlib.sha256(text).hexdigest()
                job = pb.Job(key=key, text=text, title=os.path.basename(path))
                reply = c.call(submit=pb.Submit(job=job))
                if rejected(reply):
                    status = 1
                    continue
                print(json.dumps({"file": path, "job_id": reply.accepted.job_id,
                                  "duplicate": reply.accepted.duplicate,
                                  "text_differs": reply.accepted.text_differs}))
        elif a.command == "get":
            reply = c.call(get=pb.Get(job_id=int(a.args[0])))
            if rejected(reply):
                return 1
            out = {"job": json_format.MessageToDict(reply.get_reply.job)}
            if reply.get_reply.result:
                res = pb.Result()
                res.ParseFromString(reply.get_reply.result)
                out["result"] = json_format.MessageToDict(res)
            print(json.dumps(out))
        elif a.command == "stats":
            reply = c.call(stats=pb.Stats())
            if rejected(reply):
                return 1
            print(json.dumps(json_format.MessageToDict(
                reply.stats_reply, including_default_value_fields=True)))
        elif a.command == "since":
            after = int(a.args[0]) if a.args else 0
            reply = c.call(since=pb.Since(after_seq=after, limit=1000))
            if rejected(reply):
                return 1
            for item in reply.since_reply.items:
                print(json.dumps({"seq": item.seq, "job_id": item.job_id, "key": item.key}))
    except TimeoutError as e:
        print("excerpt_client: %s" % e, file=sys.stderr)
        return 3
    return status


if __name__ == "__main__":
    sys.exit(main())
