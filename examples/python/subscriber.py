#!/usr/bin/python3
"""Follow committed results from an excerpt broker, each once, in seq order.

Written from proto/PROTOCOL.md ("Publisher", the consumer recipe): it
subscribes to the publisher first, catches up from its cursor with Since,
reads the store again on each notification past the cursor and every
--check-s seconds without one (PUB may drop the last notifications), skips
seqs it has delivered, keeps the cursor in a file (temp file + fsync +
rename after each page), and survives any broker outage by reconnecting
with capped exponential backoff, for ever, resuming from the cursor.

    subscriber.py --endpoint FE --publisher PUB [--cursor FILE] [--from SEQ]
                  [--key-file F --broker-key-file B]

With key files (as for excerpt_client.py) both sockets, the DEALER to the
frontend and the SUB to the publisher, run CURVE; the key needs the
consumer role (the publisher admits consumer keys only). A key the broker
refuses on either socket, or no longer admits after an allow-list reload
(Rejected UNAUTHORIZED), stops the subscriber (exit 2): that is no outage
to wait out.

Prints one JSON line per result: {"seq", "job_id", "key"} (with --results
also "result", the decoded Result). Stops on SIGINT/SIGTERM, or once the
cursor reaches --until SEQ.
"""
import argparse
import json
import os
import signal
import sys
import time

import zmq
from google.protobuf import json_format

from excerpt_client import (Client, Denied, KeyFileError, Keys, check_handshake,
                            handshake_watch, pb)

stop = False


def on_signal(sig, frame):
    global stop
    stop = True


def load_cursor(path):
    try:
        with open(path) as f:
            return int(f.read().strip())
    except FileNotFoundError:
        return None


def save_cursor(path, seq):
    """Replace the cursor file atomically and durably."""
    tmp = path + ".tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.write(fd, b"%d\n" % seq)
        os.fsync(fd)
    finally:
        os.close(fd)
    os.rename(tmp, path)
    dfd = os.open(os.path.dirname(os.path.abspath(path)), os.O_RDONLY)
    try:
        os.fsync(dfd)
    finally:
        os.close(dfd)


def notified_past(sub, cursor):
    """Drain pending notifications; True if one names a seq past cursor."""
    newer = False
    while True:
        try:
            frames = sub.recv_multipart(zmq.NOBLOCK)
        except zmq.Again:
            return newer
        env = pb.Envelope()
        try:
            env.ParseFromString(frames[-1])
        except Exception:
            continue
        items = [env]
        if env.WhichOneof("body") == "batch":
            items = []
            for raw in env.batch.items:
                e = pb.Envelope()
                e.ParseFromString(raw)
                items.append(e)
        for e in items:
            if e.WhichOneof("body") == "committed" and e.committed.seq > cursor:
                newer = True


class Subscriber:
    def __init__(self, a):
        self.a = a
        self.ctx = zmq.Context.instance()
        # (1) subscribe before the first Since
        self.sub = self.ctx.socket(zmq.SUB)
        self.sub.setsockopt(zmq.LINGER, 0)
        self.sub.setsockopt(zmq.SUBSCRIBE, b"group")
        self.sub_mon = None
        if a.keys.on:
            a.keys.apply(self.sub)
            self.sub_mon = handshake_watch(self.sub)
        self.sub.connect(a.publisher)
        self.client = Client(a.endpoint, a.timeout_ms, a.keys)
        self.cursor = load_cursor(a.cursor) if a.cursor else None
        if self.cursor is None:
            self.cursor = a.from_seq
        self.backoff = 0.1
        self.down = False

    def catch_up(self):
        """(2) Since pages from the cursor until an empty one."""
        while True:
            reply = self.client.call(since=pb.Since(
                after_seq=self.cursor, limit=1000, with_result=self.a.results))
            body = reply.WhichOneof("body")
            if (body == "rejected" and
                    reply.rejected.code == pb.CODE_UNAUTHORIZED):
                raise Denied("the broker refused this key: %s"
                             % reply.rejected.reason)
            if body == "rejected":
                raise TimeoutError("rejected: %s: %s" % (
                    pb.Code.Name(reply.rejected.code), reply.rejected.reason))
            items = reply.since_reply.items
            for it in items:
                if it.seq <= self.cursor:
                    continue            # (4) delivered already
                out = {"seq": it.seq, "job_id": it.job_id, "key": it.key}
                if self.a.results:
                    res = pb.Result()
                    res.ParseFromString(it.result)
                    out["result"] = json_format.MessageToDict(res)
                print(json.dumps(out), flush=True)
                self.cursor = it.seq
            if self.a.cursor and items:
                save_cursor(self.a.cursor, self.cursor)
            if not items:
                return

    def outage(self, err):
        """(5) reconnect with capped exponential backoff, for ever."""
        if not self.down:
            print("subscriber: broker unavailable (%s); retrying, resuming "
                  "after seq %d" % (err, self.cursor), file=sys.stderr,
                  flush=True)
            self.down = True
        deadline = time.monotonic() + self.backoff
        while not stop and time.monotonic() < deadline:
            time.sleep(min(0.1, max(0.0, deadline - time.monotonic())))
        self.backoff = min(self.backoff * 2, self.a.max_backoff_s)
        self.client.close()
        self.client = Client(self.a.endpoint, self.a.timeout_ms, self.a.keys)

    def done(self):
        return stop or (self.a.until and self.cursor >= self.a.until)

    def run(self):
        due = True
        check_at = 0.0
        while not self.done():
            if self.sub_mon is not None:
                check_handshake(self.sub_mon, "publisher")
            if due:
                try:
                    self.catch_up()
                except TimeoutError as e:
                    self.outage(e)
                    continue
                if self.down:
                    print("subscriber: broker reachable again",
                          file=sys.stderr, flush=True)
                self.down = False
                self.backoff = 0.1
                due = False
                check_at = time.monotonic() + self.a.check_s
                continue
            # (3) a notification past the cursor, or the periodic check
            wait = check_at - time.monotonic()
            if wait <= 0:
                due = True
                continue
            if self.sub.poll(int(min(wait, 0.2) * 1000)):
                due = notified_past(self.sub, self.cursor)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--endpoint", default="tcp://127.0.0.1:7440")
    ap.add_argument("--publisher", default="tcp://127.0.0.1:7442")
    ap.add_argument("--cursor", help="file keeping the last delivered seq")
    ap.add_argument("--from", dest="from_seq", type=int, default=0,
                    help="start after this seq when there is no cursor file")
    ap.add_argument("--results", action="store_true")
    ap.add_argument("--until", type=int, default=0,
                    help="stop once this seq is delivered")
    ap.add_argument("--timeout-ms", type=int, default=2000)
    ap.add_argument("--check-s", type=float, default=2.0)
    ap.add_argument("--max-backoff-s", type=float, default=5.0)
    Keys.add_arguments(ap)
    a = ap.parse_args()
    try:
        a.keys = Keys(a.key_file, a.broker_key_file)
    except KeyFileError as e:
        print("subscriber: %s" % e, file=sys.stderr)
        return 2
    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    try:
        Subscriber(a).run()
    except Denied as e:
        print("subscriber: %s" % e, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
