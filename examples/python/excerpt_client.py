#!/usr/bin/python3
"""A minimal excerpt client in Python, written from proto/PROTOCOL.md alone.

It shows that the protocol needs nothing but ZeroMQ and protobuf:
Debian packages python3-zmq, python3-protobuf and protobuf-compiler.

    excerpt_client.py [--endpoint E] submit FILE...   # prints job ids
    excerpt_client.py [--endpoint E] get JOB_ID       # prints the result as JSON
    excerpt_client.py [--endpoint E] stats            # prints the counters as JSON
    excerpt_client.py [--endpoint E] since SEQ        # prints committed items

With --key-file F --broker-key-file B (or $EXCERPT_KEY_FILE and
$EXCERPT_BROKER_KEY_FILE) every socket runs CURVE: F is this client's
secret key file (`excerpt keygen NAME`: NAME.key, mode 0600) and B the
broker's public key file (broker.pub). The broker admits the key only if
its allow-list names it with a role that may use that socket.

Exit codes: 0 ok, 1 rejected or not found, 2 bad key files or the broker
refused the key, 3 no reply in time.
"""
import argparse
import hashlib
import importlib
import json
import os
import random
import struct
import subprocess
import sys
import tempfile
import time

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


class KeyFileError(Exception):
    """A key file that cannot be used (unreadable, malformed, too open)."""


class Denied(Exception):
    """The broker refused this key in the CURVE handshake."""


def read_key_file(path, want_secret):
    """The "public = Z85" (and with want_secret "secret = Z85") values of
    a key file written by `excerpt keygen`, as bytes. A secret key file
    that group or others may read is refused, as the C tools do."""
    try:
        st = os.stat(path)
        with open(path) as f:
            text = f.read(8192)
    except OSError as e:
        raise KeyFileError("cannot read key file %s: %s" % (path, e.strerror))
    if want_secret and st.st_mode & 0o077:
        raise KeyFileError("secret key file %s may be read by others (mode "
                        "%04o): chmod 600 it" % (path, st.st_mode & 0o7777))
    values = {}
    for line in text.splitlines():
        line = line.strip()   # '#' starts a comment line only: Z85 uses it
        if not line.startswith("#") and "=" in line:
            k, v = line.split("=", 1)
            values[k.strip()] = v.strip()
    out = {}
    for name in ("public", "secret") if want_secret else ("public",):
        v = values.get(name, "")
        if len(v) != 40:
            raise KeyFileError('%s has no valid "%s = " line' % (path, name))
        out[name] = v.encode("ascii")
    if want_secret and zmq.curve_public(out["secret"]) != out["public"]:
        raise KeyFileError("the public key in %s does not match its secret key"
                        % path)
    return out


class Keys:
    """This peer's key pair and the broker's public key, or CURVE off."""

    def __init__(self, key_file=None, broker_key_file=None):
        key_file = key_file or os.environ.get("EXCERPT_KEY_FILE", "")
        broker_key_file = (broker_key_file or
                           os.environ.get("EXCERPT_BROKER_KEY_FILE", ""))
        self.on = bool(key_file or broker_key_file)
        if not self.on:
            return
        if not key_file or not broker_key_file:
            raise KeyFileError("--key-file and --broker-key-file go together")
        if not zmq.has("curve"):
            raise KeyFileError("this libzmq has no CURVE support")
        mine = read_key_file(key_file, True)
        self.public, self.secret = mine["public"], mine["secret"]
        self.server = read_key_file(broker_key_file, False)["public"]

    def apply(self, sock):
        """Make sock a CURVE client of the broker (before connect)."""
        if self.on:
            sock.curve_secretkey = self.secret
            sock.curve_publickey = self.public
            sock.curve_serverkey = self.server

    @staticmethod
    def add_arguments(ap):
        ap.add_argument("--key-file", help="this client's CURVE secret key "
                        "file (default $EXCERPT_KEY_FILE)")
        ap.add_argument("--broker-key-file", help="the broker's public key "
                        "file (default $EXCERPT_BROKER_KEY_FILE)")


def handshake_watch(sock):
    """A PAIR socket that receives sock's failed handshakes."""
    return sock.get_monitor_socket(zmq.EVENT_HANDSHAKE_FAILED_AUTH |
                                   zmq.EVENT_HANDSHAKE_FAILED_PROTOCOL)


def check_handshake(mon, what):
    """Raise Denied if mon reports a refused handshake of sock."""
    while mon.poll(0):
        frames = mon.recv_multipart()
        event, status = struct.unpack("=HI", frames[0][:6])
        if event == zmq.EVENT_HANDSHAKE_FAILED_AUTH:
            raise Denied("the broker refused this key on the %s (ZAP status "
                         "%d): it is not in the allow-list or its role may "
                         "not use that socket" % (what, status))
        raise Denied("the CURVE handshake with the %s failed: is "
                     "--broker-key-file the broker's public key, and does "
                     "the broker run with keys?" % what)


class Client:
    def __init__(self, endpoint, timeout_ms=5000, keys=None):
        self.ctx = zmq.Context.instance()
        self.sock = self.ctx.socket(zmq.DEALER)
        self.sock.setsockopt(zmq.LINGER, 0)
        self.mon = None
        if keys is not None and keys.on:
            keys.apply(self.sock)
            self.mon = handshake_watch(self.sock)
        self.sock.connect(endpoint)
        self.timeout_ms = timeout_ms
        self.next_id = random.getrandbits(32)

    def close(self):
        if self.mon is not None:
            self.sock.disable_monitor()
            self.mon.close(0)
        self.sock.close(0)

    def call(self, **body):
        """Send one request (an Envelope with one body field), return the
        reply. Raises TimeoutError, or Denied when the broker refuses the
        key."""
        self.next_id += 1
        env = pb.Envelope(version=1, request_id=self.next_id, **body)
        self.sock.send(env.SerializeToString())
        poller = zmq.Poller()
        poller.register(self.sock, zmq.POLLIN)
        if self.mon is not None:
            poller.register(self.mon, zmq.POLLIN)
        deadline = time.monotonic() + self.timeout_ms / 1000.0
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                break
            ready = dict(poller.poll(int(left * 1000) + 1))
            if self.mon is not None and self.mon in ready:
                check_handshake(self.mon, "frontend")
            if self.sock not in ready:
                continue
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
    Keys.add_arguments(ap)
    ap.add_argument("command", choices=["submit", "get", "stats", "since"])
    ap.add_argument("args", nargs="*")
    a = ap.parse_args()
    try:
        keys = Keys(a.key_file, a.broker_key_file)
    except KeyFileError as e:
        print("excerpt_client: %s" % e, file=sys.stderr)
        return 2
    c = Client(a.endpoint, a.timeout_ms, keys)
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
    except Denied as e:
        print("excerpt_client: %s" % e, file=sys.stderr)
        return 2
    except TimeoutError as e:
        print("excerpt_client: %s" % e, file=sys.stderr)
        return 3
    finally:
        c.close()
    return status


if __name__ == "__main__":
    sys.exit(main())
