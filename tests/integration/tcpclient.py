#!/usr/bin/env python3
"""tcpclient.py — a hostile or honest TCP peer of resweepd, for the
remote-worker tests (standard library only).

  tcpclient.py ADDR noauth               a ping before authenticating
  tcpclient.py ADDR good TOKEN            handshake, then ping
  tcpclient.py ADDR wrong                 handshake with a random token
  tcpclient.py ADDR nohello TOKEN         auth without a hello
  tcpclient.py ADDR replay TOKEN          a recorded auth on a new connection
  tcpclient.py ADDR unknown TOKEN         handshake, register, an unknown op
  tcpclient.py ADDR stale TOKEN           handshake, register, finish of a run never leased
  tcpclient.py ADDR prefetch TOKEN        handshake, register with prefetch beyond threads
  tcpclient.py ADDR bigframe              a 5,000-byte ping before authenticating
  tcpclient.py ADDR bigauthed TOKEN       handshake, then a 5,000-byte ping
  tcpclient.py ADDR parts TOKEN           handshake, register, lease a run, then
                                          arrays_part out of order, of the wrong
                                          total, past PROTO_MAX_ARRAYS, a good
                                          one, and a finish naming an array not
                                          whole: the five codes, then "whole"
                                          when the last says it is not
Prints the error code of the reply that matters ("ok" when none), or
"closed" when the daemon hung up without one.
"""
import base64
import hashlib
import hmac
import json
import os
import socket
import struct
import sys


def connect(addr):
    host, port = addr.rsplit(":", 1)
    s = socket.create_connection((host.strip("[]"), int(port)), timeout=10)
    return s


def send(s, obj):
    data = json.dumps(obj).encode()
    s.sendall(struct.pack(">I", len(data)) + data)


def recv(s):
    hdr = b""
    while len(hdr) < 4:
        chunk = s.recv(4 - len(hdr))
        if not chunk:
            return None
        hdr += chunk
    (n,) = struct.unpack(">I", hdr)
    body = b""
    while len(body) < n:
        chunk = s.recv(n - len(body))
        if not chunk:
            return None
        body += chunk
    return json.loads(body)


def call(s, op, **kw):
    send(s, dict(v=1, id=op, op=op, **kw))
    return recv(s)


def code(reply):
    if reply is None:
        return "closed"
    return "ok" if reply.get("ok") else reply["error"]["code"]


def mac(key, label, sn, cn):
    return hmac.new(key, ("resweep-auth-v1 " + label).encode() + sn + cn,
                    hashlib.sha256).hexdigest()


def handshake(s, key, record=None):
    r = call(s, "hello")
    if code(r) != "ok":
        return r
    sn = bytes.fromhex(r["nonce"])
    cn = os.urandom(16)
    req = dict(nonce=cn.hex(), mac=mac(key, "client", sn, cn))
    if record is not None:
        record.update(req)
    r = call(s, "auth", **req)
    if code(r) == "ok" and r["mac"] != mac(key, "server", sn, cn):
        return {"ok": False, "error": {"code": "daemon_proof_wrong"}}
    return r


def main():
    addr, mode = sys.argv[1], sys.argv[2]
    key = bytes.fromhex(open(sys.argv[3]).read().strip()) if len(sys.argv) > 3 else os.urandom(32)
    s = connect(addr)
    if mode == "noauth":
        r = call(s, "ping")
    elif mode in ("good", "wrong"):
        r = handshake(s, key)
        if code(r) == "ok":
            r = call(s, "ping")
    elif mode == "nohello":
        r = call(s, "auth", nonce="00" * 16, mac="00" * 32)
    elif mode == "replay":
        rec = {}
        handshake(s, key, rec)
        s.close()
        s = connect(addr)
        call(s, "hello")
        r = call(s, "auth", **rec)
    elif mode == "bigframe":
        r = call(s, "ping", pad="x" * 5000)
    elif mode == "bigauthed":
        r = handshake(s, key)
        if code(r) == "ok":
            r = call(s, "ping", pad="x" * 5000)
    elif mode == "prefetch":
        r = handshake(s, key)
        if code(r) == "ok":
            r = call(s, "register", host="test", pid=1, threads=1, prefetch=2)
    elif mode in ("unknown", "stale"):
        r = handshake(s, key)
        if code(r) == "ok":
            r = call(s, "register", host="test", pid=1, threads=1)
        if code(r) == "ok" and mode == "unknown":
            r = call(s, "steal_results")
        elif code(r) == "ok":
            r = call(s, "finish", run=1, attempt=1, state="failed", error="x")
    elif mode == "parts":
        return print(parts(s, key))
    print(code(r))


def parts(s, key):
    r = handshake(s, key)
    if code(r) == "ok":
        r = call(s, "register", host="test", pid=1, threads=1)
    if code(r) == "ok":
        r = call(s, "lease")
    if code(r) != "ok" or not r.get("run"):
        return "no lease: %s" % code(r)
    lease = dict(run=r["run"]["run"], attempt=r["run"]["attempt"])
    eight = base64.b64encode(bytes(8)).decode()
    codes = [
        code(call(s, "arrays_part", name="P", shape=[2], offset=8, total=16, data=eight, **lease)),
        code(call(s, "arrays_part", name="P", shape=[2], offset=0, total=24, data=eight, **lease)),
        code(call(s, "arrays_part", name="P", shape=[(512 << 20) // 8 + 1], offset=0,
                  total=(512 << 20) + 8, data=eight, **lease)),
        code(call(s, "arrays_part", name="P", shape=[2], offset=0, total=16, data=eight, **lease)),
    ]
    r = call(s, "finish", state="done", arrays=[], arrays_parts=["P"], **lease)
    codes.append(code(r))
    if r and not r.get("ok") and "has not arrived whole" in r["error"]["message"]:
        codes.append("whole")
    return " ".join(codes)


if __name__ == "__main__":
    main()
