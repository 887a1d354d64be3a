#!/usr/bin/env python3
"""Real processes on localhost: `seedgrid serve` clusters driven by `seedgrid client` and curl.

    real_cluster_test.py SEEDGRID_BINARY (cluster | http | offline)

Every test picks free ports, bounds every wait, and kills every process it started (also on
failure: the processes run in their own sessions and are killed by the finally block). Exit 0 on
success, 1 with the failed check and the servers' logs on failure.
"""
import json
import os
import select
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

TOKEN = "t0ken"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Check(Exception):
    pass


def check(cond, what):
    if not cond:
        raise Check(what)


class Harness:
    def __init__(self, binary, work):
        self.binary = binary
        self.work = work
        self.servers = {}  # name -> (Popen, port, args, log path)
        self.env = dict(os.environ, SEEDGRID_TOKEN=TOKEN)

    def start(self, name, port, peers, extra=()):
        data = os.path.join(self.work, name)
        log = os.path.join(self.work, name + ".log")
        args = [self.binary, "serve", "--listen", f"127.0.0.1:{port}", "--data", data,
                "--peers", ",".join(f"127.0.0.1:{p}" for p in peers), *extra]
        proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=open(log, "a"),
                                env=self.env, start_new_session=True)
        self.servers[name] = (proc, port, args, log)
        self.wait(lambda: self.healthy(port), f"{name} healthy", 30)

    def kill(self, name, sig=signal.SIGKILL, wait_s=60):
        proc = self.servers[name][0]
        proc.send_signal(sig)
        return proc.wait(timeout=wait_s)

    def restart(self, name):
        proc, port, args, log = self.servers[name]
        check(proc.poll() is not None, f"{name} still running")
        proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=open(log, "a"),
                                env=self.env, start_new_session=True)
        self.servers[name] = (proc, port, args, log)
        self.wait(lambda: self.healthy(port), f"{name} healthy again", 30)

    def cleanup(self):
        for proc, *_ in self.servers.values():
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()

    def logs(self):
        out = []
        for name, (proc, port, _, _) in self.servers.items():
            try:
                health = self.http(port, "/healthz")[1].strip() if proc.poll() is None else "down"
            except OSError as e:
                health = f"unreachable: {e}"
            out.append(f"{name} /healthz: {health}")
        for name, (_, _, _, log) in self.servers.items():
            with open(log, errors="replace") as f:
                out.append(f"--- {name} ---\n" + "".join(f.readlines()[-30:]))
        return "\n".join(out)

    def http(self, port, path, token=TOKEN, method="GET", body=None,
             content_type="application/json"):
        req = urllib.request.Request(f"http://127.0.0.1:{port}{path}", method=method, data=body)
        if body is not None:
            req.add_header("Content-Type", content_type)
        if token is not None:
            req.add_header("Authorization", f"Bearer {token}")
        try:
            with urllib.request.urlopen(req, timeout=30) as r:
                return r.status, r.read().decode()
        except urllib.error.HTTPError as e:
            return e.code, e.read().decode()

    def healthy(self, port):
        try:
            return self.http(port, "/healthz")[0] == 200
        except OSError:
            return False

    def client(self, *args, data=None, stdin=None, timeout_s=120):
        cmd = [self.binary, "client", "--timeout", "20s", "-q"]
        for _, port, _, _ in self.servers.values():
            cmd += ["--server", f"127.0.0.1:{port}"]
        if data:
            cmd += ["--data", data]
        r = subprocess.run(cmd + list(args), input=stdin, capture_output=True, text=True,
                           env=self.env, timeout=timeout_s)
        return r.returncode, r.stdout, r.stderr

    def metric(self, port, name):
        _, text = self.http(port, "/metrics")
        for line in text.splitlines():
            if line.startswith(name + " "):
                return int(line.split()[1])
        raise Check(f"metric {name} missing")

    @staticmethod
    def wait(cond, what, timeout_s):
        deadline = time.time() + timeout_s
        while time.time() < deadline:
            if cond():
                return
            time.sleep(0.1)
        raise Check(f"timed out waiting for {what}")


def read_line(stream, timeout_s):
    ready, _, _ = select.select([stream], [], [], timeout_s)
    check(ready, f"no line within {timeout_s} s")
    return stream.readline()


def records(n):
    return [{"key": f"k{i:05d}", "value": {"n": i, "city": ["Oslo", "Rome", "Lima"][i % 3]}}
            for i in range(n)]


def dump(h, via):
    """The map as read through server `via` only."""
    saved = h.servers
    h.servers = {via: saved[via]}
    try:
        rc, out, err = h.client("dump", "users")
    finally:
        h.servers = saved
    check(rc == 0, f"dump via {via}: exit {rc}: {err}")
    return [json.loads(line) for line in out.splitlines()]


def formed(h, members):
    tables = set()
    for _, port, _, _ in h.servers.values():
        status, body = h.http(port, "/healthz")
        if status != 200:
            return False
        j = json.loads(body)
        tables.add((j["table_version"], tuple(j["members"])))
    return len(tables) == 1 and len(next(iter(tables))[1]) == members


def converged(h, replicas):
    views = {}
    for name, (_, port, _, _) in h.servers.items():
        status, body = h.http(port, "/v1/digests")
        if status != 200:
            return False
        views[name] = json.loads(body)["partitions"]
    parts = set().union(*views.values())
    for p in parts:
        digests = [v[p]["maps"].get("users") for v in views.values() if p in v]
        if len(digests) != replicas or len(set(digests)) != 1:
            return False
    return bool(parts)


def test_cluster(h):
    """3 servers, 10,000 REPLICATED writes with kill -9 of one in the middle; read all back from
    the survivors; restart it from its data; all three converge."""
    ports = [free_port() for _ in range(3)]
    for i, port in enumerate(ports):
        h.start(f"s{i + 1}", port, ports)
    h.wait(lambda: formed(h, 3), "one partition table with 3 members on every server", 30)
    rows = records(10_000)
    lines = "".join(json.dumps(r) + "\n" for r in rows)
    # The import runs while s2, the owner of about a third of the partitions, is killed: ops
    # forwarded to it are lost and must be resent to the new owners.
    cmd = [h.binary, "client", "--timeout", "30s", "-q"]
    for _, port, _, _ in h.servers.values():
        cmd += ["--server", f"127.0.0.1:{port}"]
    source = os.path.join(h.work, "records.jsonl")
    with open(source, "w") as f:
        f.write(lines)
    imp = subprocess.Popen(cmd + ["import", "users", source, "--concern", "replicated"],
                           stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                           env=h.env, start_new_session=True)
    try:
        h.wait(lambda: h.metric(ports[1], "seedgrid_ops_applied_total") >= 1000,
               "s2 applying writes", 120)
        h.kill("s2")
        _, err = imp.communicate(timeout=200)
        rc = imp.returncode
    finally:
        if imp.poll() is None:
            os.killpg(imp.pid, signal.SIGKILL)
            imp.wait()
    check(rc == 0, f"import through the kill: exit {rc}: {err}")
    for via in ("s1", "s3"):
        got = dump(h, via)
        check(got == rows, f"read back via {via}: {len(got)} records, expected {len(rows)}, "
                           f"first difference at {next((i for i, (a, b) in enumerate(zip(got, rows)) if a != b), min(len(got), len(rows)))}")
    h.restart("s2")
    h.wait(lambda: converged(h, replicas=2), "every partition on 2 servers with equal digests", 60)
    got = dump(h, "s2")
    check(got == rows, f"read back via the restarted s2: {len(got)} records, first difference "
                       f"{next(((a, b) for a, b in zip(got, rows) if a != b), None)}")
    page_through_a_kill(h, rows)


def query_page(h, query, cursor=None):
    """One page of `query` on users: its rows and the next cursor (None after the last page)."""
    args = ["query", "users", query] + (["--cursor", cursor] if cursor else [])
    rc, out, err = h.client(*args)
    check(rc == 0, f"query page: exit {rc}: {err}")
    rows = [json.loads(line) for line in out.splitlines()]
    nexts = [line.split(": ", 1)[1] for line in err.splitlines() if line.startswith("next cursor: ")]
    return rows, (nexts[0] if nexts else None)


def page_through_a_kill(h, rows):
    """Pages of a sorted query: the first through s1, which is then killed with -9; the cursor
    is bound to the query and the position, so the survivors serve the rest of the pages."""
    query = 'eq(city, "Rome") sort(n desc) limit(1000)'
    want = sorted((r for r in rows if r["value"]["city"] == "Rome"), key=lambda r: -r["value"]["n"])
    saved = h.servers
    h.servers = {"s1": saved["s1"]}
    try:
        got, cursor = query_page(h, query)
    finally:
        h.servers = saved
    check(got == want[:1000] and cursor, f"first page: {len(got)} rows, cursor {cursor!r}")
    h.kill("s1")
    h.servers = {name: v for name, v in saved.items() if name != "s1"}
    try:
        for _ in range(10):
            if not cursor:
                break
            page, cursor = query_page(h, query, cursor)
            got += page
        bad = h.client("query", "users", query, "--cursor", "garbled!")
    finally:
        h.servers = saved
    check(got == want, f"pages through the kill: {len(got)} rows, expected {len(want)}")
    rc, _, err = bad
    check(rc != 0 and "--cursor: " in err, f"a garbled cursor: exit {rc}: {err}")


def test_http(h):
    """curl against one server: health, metrics, 401/404/405/413/400; the server stays up."""
    port = free_port()
    h.start("s1", port, [port], extra=("--frame-bytes-max", "4096"))
    curl = shutil.which("curl")
    check(curl is not None, "curl is not installed (ci/setup.sh installs it)")

    def curl_status(path, *extra):
        r = subprocess.run([curl, "-s", "-w", "\n%{http_code}", *extra, f"http://127.0.0.1:{port}{path}"],
                           capture_output=True, text=True, timeout=30)
        body, _, status = r.stdout.rpartition("\n")
        return int(status), body

    status, body = curl_status("/healthz")
    check(status == 200 and json.loads(body)["status"] == "ok", f"healthz: {status} {body}")
    status, body = curl_status("/metrics")
    check(status == 200 and "# TYPE seedgrid_ops_applied_total counter" in body, "metrics")
    status, body = curl_status("/v1/digests")
    check(status == 401 and "Bearer" in json.loads(body)["error"], f"no token: {status} {body}")
    status, body = curl_status("/v1/digests", "-H", "Authorization: Bearer wrong")
    check(status == 401 and "wrong token" in json.loads(body)["error"], f"bad token: {status}")
    status, _ = curl_status("/v1/digests", "-H", f"Authorization: Bearer {TOKEN}")
    check(status == 200, f"good token: {status}")
    status, body = curl_status("/nope")
    check(status == 404 and "no such path" in json.loads(body)["error"], f"404: {status}")
    status, body = curl_status("/metrics", "-X", "DELETE")
    check(status == 405, f"405: {status} {body}")
    status, body = curl_status("/v1/digests", "--data-binary", "x" * 10_000)
    check(status == 413 and "exceeds 4096 bytes" in json.loads(body)["error"], f"413: {status}")
    # Garbage that is not HTTP at all: 400, and the connection closes.
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall(b"\x00\x01garbage\r\n\r\n")
        answer = s.recv(4096).decode(errors="replace")
    check(answer.startswith("HTTP/1.1 400") and "malformed HTTP request" in answer, answer[:200])
    # A path that is not UTF-8 is named in the 404 without breaking the JSON answer.
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall(b"GET /\xff\xfe HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        answer = s.recv(4096).decode(errors="replace")
    check(answer.startswith("HTTP/1.1 404") and "no such path" in answer, answer[:200])
    # A WebSocket client with the wrong token is refused with a clear message.
    env = dict(h.env, SEEDGRID_TOKEN="wrong")
    r = subprocess.run([h.binary, "client", "--server", f"127.0.0.1:{port}", "--timeout", "2s",
                        "put", "m", "k", "{}"], capture_output=True, text=True, env=env, timeout=60)
    check(r.returncode == 1 and "wrong token" in r.stderr, f"wrong token client: {r.stderr}")
    # A document that is not a JSON object: exit 2 naming it.
    rc, _, err = h.client("put", "m", "k", "[1,2]")
    check(rc == 2 and "must be a JSON object" in err, f"bad document: {rc} {err}")
    check(h.healthy(port), "server still healthy after the bad input")
    rc, _, err = h.client("put", "m", "k", '{"ok": true}')
    check(rc == 0, f"a good write after the bad input: {err}")
    # A live query over the wire: ENTER for a matching write, then SIGINT ends it with exit 0.
    sub = subprocess.Popen([h.binary, "client", "--server", f"127.0.0.1:{port}", "subscribe", "m",
                            "eq(ok, true)"], stdout=subprocess.PIPE, text=True, env=h.env,
                           start_new_session=True)
    try:
        first = read_line(sub.stdout, 20)  # the existing row
        check(json.loads(first) == {"type": "ENTER", "reason": "changed", "key": "k",
                                    "value": {"ok": True}}, f"first delta: {first!r}")
        rc, _, err = h.client("put", "m", "k2", '{"ok": true, "n": 2}')
        check(rc == 0, f"put while subscribed: {err}")
        second = json.loads(read_line(sub.stdout, 20))
        check(second["type"] == "ENTER" and second["key"] == "k2", f"second delta: {second}")
        sub.send_signal(signal.SIGINT)
        check(sub.wait(timeout=10) == 0, "subscribe exits 0 on SIGINT")
    finally:
        if sub.poll() is None:
            os.killpg(sub.pid, signal.SIGKILL)
            sub.wait()


def sync(h, port, request, token=TOKEN):
    """POST /v1/sync with a JSON request: (status, parsed body)."""
    status, body = h.http(port, "/v1/sync", token=token, method="POST",
                          body=json.dumps(request).encode())
    return status, json.loads(body)


def push_all(h, port, ops, tries=20):
    """Sends ops until every one is acknowledged (an op without an ack goes again): the acks."""
    acks = {}
    for _ in range(tries):
        pending = [op for op in ops if op["seq"] not in acks]
        if not pending:
            return acks
        status, body = sync(h, port, {"client": "curl-1", "ops": pending[:4096]})
        check(status == 200, f"sync push: {status} {body}")
        for a in body["acks"]:
            acks[a["seq"]] = a
    raise Check(f"{len(ops) - len(acks)} ops never acknowledged")


def pull_all(h, port, marks):
    """Follows the cursor to the end: {(map, partition): change}."""
    changes, cursor = {}, None
    for _ in range(100):
        request = {"client": "curl-1", "marks": marks}
        if cursor:
            request["cursor"] = cursor
        status, body = sync(h, port, request)
        check(status == 200, f"sync pull: {status} {body}")
        for c in body["changes"]:
            changes[(c["map"], c["partition"])] = c
        cursor = body.get("cursor")
        if not cursor:
            return changes
    raise Check("the cursor never ended")


def test_http_sync(h):
    """curl-style HTTP sync against 3 servers: pushes apply once (acks routed back through the
    gateway from other owners), pulls page by cursor and honour marks, bad requests get 400/401/
    405/413/415 naming what is wrong, and the servers stay up. Prints the 10,000-op figures."""
    ports = [free_port() for _ in range(3)]
    for i, port in enumerate(ports):
        h.start(f"s{i + 1}", port, ports, extra=("--frame-bytes-max", str(8 << 20)))
    h.wait(lambda: formed(h, 3), "3 servers formed", 60)
    concerns = ["fire_and_forget", "applied", "replicated"]
    ops = [{"seq": i, "map": "users", "key": f"h{i}", "value": {"n": i},
            "concern": concerns[i % 3]} for i in range(1, 61)]
    acks = push_all(h, ports[0], ops)
    check(all(acks[i]["level"] == concerns[i % 3] for i in acks), "acks at each op's concern")
    check(all(not a["ts"].endswith(":curl-1") for a in acks.values()), "server-stamped acks")
    # The same ops again: acknowledged as duplicates, applied once in the whole cluster.
    _, again = sync(h, ports[1], {"client": "curl-1", "ops": ops})
    check(again["acks"] and all(a["duplicate"] for a in again["acks"]), f"resent: {again}")
    applied = sum(h.metric(p, "seedgrid_ops_applied_total") for p in ports)
    check(applied == 60, f"{applied} ops applied for 60 sent twice")
    # The interning pools hold the servers' and the client's ids and the field name: a handful.
    ids = h.metric(ports[0], "seedgrid_interned_node_ids")
    check(2 <= ids < 100, f"{ids} node ids interned")
    check(h.metric(ports[0], "seedgrid_interned_field_names") >= 1, "field names interned")
    # A pull with no marks pages through everything (as of the owners' last gossiped digests: a
    # moment after the writes); marks of what it got make it empty.
    want = {f"h{i}" for i in range(1, 61)}

    def pulled_keys():
        return {r["key"] for c in pull_all(h, ports[2], [{"map": "users"}]).values()
                for r in c["records"]}
    h.wait(lambda: pulled_keys() == want, "a pull with no marks returning all 60 keys", 20)
    changes = pull_all(h, ports[2], [{"map": "users"}])
    marks = {str(p): c["digest"] for (_, p), c in changes.items()}
    check(pull_all(h, ports[0], [{"map": "users", "digests": marks}]) == {}, "marks: nothing new")
    rc, _, err = h.client("put", "users", "ws-write", '{"by": "websocket"}')
    check(rc == 0, f"websocket put: {err}")
    h.wait(lambda: pull_all(h, ports[0], [{"map": "users", "digests": marks}]) != {},
           "the WebSocket write reaching a polling client", 20)
    later = pull_all(h, ports[0], [{"map": "users", "digests": marks}])
    check(any(r["key"] == "ws-write" for c in later.values() for r in c["records"]), "ws-write")
    # Bad requests: each named, nothing applied, servers up.
    status, body = sync(h, ports[0], {"client": "curl-1", "ops": ops}, token="wrong")
    check(status == 401 and "wrong token" in body["error"], f"bad token: {status} {body}")
    status, body = sync(h, ports[0], {"client": "curl-1", "cursor": "users:999", "marks": []})
    check(status == 400 and "cursor" in body["error"], f"bad cursor: {status} {body}")
    status, body = sync(h, ports[0], {"client": "curl-1", "opz": []})
    check(status == 400 and "opz" in body["error"], f"unknown field: {status} {body}")
    status, body = sync(h, ports[0], {"client": "curl-1", "ops": [dict(ops[0], seq=0)]})
    check(status == 400 and "ops[0].seq" in body["error"], f"seq 0: {status} {body}")
    status, body = h.http(ports[0], "/v1/sync", method="POST", body=b"{not json")
    check(status == 400 and "not JSON" in json.loads(body)["error"], f"garbage: {status} {body}")
    status, body = h.http(ports[0], "/v1/sync", method="POST", body=b"{}", content_type="text/csv")
    check(status == 415 and "Content-Type" in json.loads(body)["error"], f"415: {status} {body}")
    status, body = h.http(ports[0], "/v1/sync")
    check(status == 405, f"GET /v1/sync: {status} {body}")
    # Oversized: the server answers 413 before reading the body (curl reads the early answer).
    blob = os.path.join(h.work, "blob")
    with open(blob, "wb") as f:
        f.write(b"x" * (9 << 20))
    r = subprocess.run([shutil.which("curl"), "-s", "-o", "/dev/null", "-w", "%{http_code}",
                        "-H", f"Authorization: Bearer {TOKEN}", "-H",
                        "Content-Type: application/json", "--data-binary", f"@{blob}",
                        f"http://127.0.0.1:{ports[0]}/v1/sync"],
                       capture_output=True, text=True, timeout=60)
    check(r.stdout == "413", f"oversized: {r.stdout} {r.stderr}")
    check(all(h.healthy(p) for p in ports), "servers healthy after the bad requests")
    applied = sum(h.metric(p, "seedgrid_ops_applied_total") for p in ports)
    check(applied == 61, f"{applied} applied: the 60 and ws-write only")
    # OR-Maps in the JSON body: an add, pulled back with the owner's tag and its origin, read by a
    # WebSocket client, then a remove naming the origin, which the owner turns into a kill.
    add = {"seq": 61, "map": "tags", "key": "t1", "value": {"c": "red"}, "concern": "replicated",
           "or": {"kind": "add"}}
    acked = push_all(h, ports[0], [add])[61]
    check(not acked["ts"].startswith("0:") and not acked["duplicate"], f"OR add ack: {acked}")

    def or_entry():
        for c in pull_all(h, ports[2], [{"map": "tags"}]).values():
            for e in c.get("or_keys", []):
                if e["key"] == "t1":
                    return e
        return None
    h.wait(lambda: (or_entry() or {}).get("items"), "the OR add in a JSON pull", 20)
    item = or_entry()["items"][0]
    check(item["tag"] == acked["ts"] and item["origin"] == "0:61:curl-1" and
          item["value"] == {"c": "red"}, f"OR item: {item}")
    rc, out, err = h.client("items", "tags", "t1")
    check(rc == 0 and [json.loads(line) for line in out.splitlines()] == [{"c": "red"}],
          f"items of a JSON add over the WebSocket: exit {rc}: {out} {err}")
    remove = {"seq": 62, "map": "tags", "key": "t1", "or": {"kind": "remove",
                                                          "names": [item["origin"]]}}
    push_all(h, ports[1], [remove])
    h.wait(lambda: not (or_entry() or {}).get("items"), "the OR remove in a JSON pull", 20)
    kill = or_entry()["tombstones"]
    check(len(kill) == 1 and int(kill[0].split(":")[0]) >= 1 << 63 and
          kill[0].endswith(":61:curl-1"), f"the owner's kill of the origin: {kill}")
    status, body = sync(h, ports[0], {"client": "curl-1", "ops": [
        {"seq": 63, "map": "tags", "key": "t1", "or": {"kind": "add"}}]})
    check(status == 400 and body["error"] == "ops[0].or.kind: an OR add carries a value",
          f"an OR add without a value: {status} {body}")
    # 10,000 pending ops of a client that was offline: time and bytes (docs/performance.md).
    big = [{"seq": i, "map": "bulk", "key": f"b{i}", "value": {"n": i, "city": "Oslo"},
            "concern": "applied"} for i in range(1, 10_001)]
    started = time.time()
    sent = received = requests = 0
    acked = set()
    while len(acked) < len(big) and requests < 50:
        pending = [op for op in big if op["seq"] not in acked][:4096]
        body = json.dumps({"client": "bulk-1", "ops": pending}).encode()
        status, text = h.http(ports[0], "/v1/sync", method="POST", body=body)
        check(status == 200, f"bulk push: {status} {text[:200]}")
        sent, received, requests = sent + len(body), received + len(text), requests + 1
        acked.update(a["seq"] for a in json.loads(text)["acks"])
    elapsed = time.time() - started
    check(len(acked) == len(big), f"bulk: {len(acked)} of 10000 acknowledged")
    print(f"http sync of 10000 pending ops: {elapsed:.2f} s, {requests} requests, "
          f"{sent} bytes up, {received} bytes down")


def test_offline(h):
    """A client keeps writing while its server is stopped; all of it applies exactly once later."""
    port = free_port()
    h.start("s1", port, [port])
    data = os.path.join(h.work, "client")
    for i in range(20):
        rc, _, err = h.client("put", "users", f"u{i}", json.dumps({"v": i}), data=data)
        check(rc == 0, f"online put {i}: {err}")
    check(h.kill("s1", signal.SIGTERM) == 0, "graceful stop exits 0")
    for i in range(20, 50):
        rc, _, err = h.client("--no-wait", "put", "users", f"u{i}", json.dumps({"v": i}),
                              data=data)
        check(rc == 0, f"offline put {i}: exit {rc}: {err}")
    rc, _, err = h.client("--timeout", "1s", "put", "users", "late", "{}", data=data)
    check(rc == 1 and "stay in" in err, f"a waiting put names where the write waits: {err}")
    h.restart("s1")
    rc, _, err = h.client("sync", data=data)
    check(rc == 0, f"sync after restart: {err}")
    applied = h.metric(port, "seedgrid_ops_applied_total")
    check(applied == 31, f"after the restart {applied} ops applied, expected exactly 31")
    # The storage log's index, rebuilt by the restart, holds a page for every record at least.
    pages = h.metric(port, "seedgrid_storage_pages")
    check(pages >= 51, f"seedgrid_storage_pages {pages} after the restart, expected >= 51")
    got = {r["key"]: r["value"] for r in dump(h, "s1")}
    check(len(got) == 51 and all(got[f"u{i}"] == {"v": i} for i in range(50)), "read back")


def test_http_transport(h):
    """`seedgrid client --transport http` against 3 servers with a token: writes and reads agree
    with the WebSocket transport both ways; one --data directory switches transport between runs
    with offline writes pending at each switch, and every op applies exactly once."""
    ports = [free_port() for _ in range(3)]
    for i, port in enumerate(ports):
        h.start(f"s{i + 1}", port, ports)
    h.wait(lambda: formed(h, 3), "one partition table with 3 members on every server", 30)
    http = ("--transport", "http")
    rows = records(200)
    source = os.path.join(h.work, "records.jsonl")
    with open(source, "w") as f:
        f.write("".join(json.dumps(r) + "\n" for r in rows))
    rc, _, err = h.client(*http, "import", "users", source)
    check(rc == 0, f"http import: exit {rc}: {err}")
    expected = len(rows)
    for transport in (http, ()):
        rc, out, err = h.client(*transport, "dump", "users")
        check(rc == 0, f"dump {transport}: exit {rc}: {err}")
        got = [json.loads(line) for line in out.splitlines()]
        check(got == rows, f"dump {transport}: {len(got)} records, expected {len(rows)}")
    rc, out, err = h.client(*http, "get", "users", "k00042")
    check(rc == 0 and json.loads(out) == rows[42]["value"], f"http get: {rc} {out} {err}")

    def put(transport, key, value):
        rc, _, err = h.client(*transport, "put", "users", key, json.dumps(value))
        check(rc == 0, f"put {key} {transport}: exit {rc}: {err}")

    def get(transport, key):
        rc, out, err = h.client(*transport, "get", "users", key)
        check(rc in (0, 3), f"get {key} {transport}: exit {rc}: {err}")
        return json.loads(out) if rc == 0 else None

    put((), "by-ws", {"via": "websocket"})
    check(get(http, "by-ws") == {"via": "websocket"}, "a websocket write read over http")
    put(http, "by-http", {"via": "http"})
    check(get((), "by-http") == {"via": "http"}, "an http write read over websocket")
    rc, _, err = h.client(*http, "rm", "users", "by-ws")
    check(rc == 0, f"http rm: {err}")
    check(get((), "by-ws") is None and get(http, "by-ws") is None, "removed over http")
    expected += 3
    # A PN-Counter incremented over both transports (each command is a new client: three entries).
    for transport, delta in (((), "5"), (http, "-2"), ((), "-10")):
        rc, _, err = h.client(*transport, "incr", "users", "visits", "--", delta)
        check(rc == 0, f"incr {delta} {transport}: exit {rc}: {err}")
    expected += 3  # ops applied
    counted = sum(h.metric(p, "seedgrid_counter_ops_applied_total") for p in ports)
    check(counted == 3, f"seedgrid_counter_ops_applied_total: {counted}, expected 3")
    for transport in ((), http):
        rc, out, err = h.client(*transport, "counter", "users", "visits")
        check(rc == 0 and out.strip() == "-7", f"counter {transport}: exit {rc}: {out} {err}")
    rc, out, err = h.client(*http, "counter", "users")
    check(rc == 0 and [json.loads(line) for line in out.splitlines()] == [{"key": "visits", "value": -7}],
          f"counter users (all): exit {rc}: {out} {err}")
    # An OR-Map key: items added by three clients over both transports (two equal ones coexist),
    # then an observed remove of one value over HTTP, read back over the WebSocket.
    for transport, v in (((), 1), (http, 2), ((), 1)):
        rc, _, err = h.client(*transport, "add", "users", "tags", json.dumps({"v": v}))
        check(rc == 0, f"add {v} {transport}: exit {rc}: {err}")
    rc, out, err = h.client(*http, "items", "users", "tags")
    check(rc == 0 and sorted(json.loads(line)["v"] for line in out.splitlines()) == [1, 1, 2],
          f"items over http: exit {rc}: {out} {err}")
    rc, _, err = h.client(*http, "remove-item", "users", "tags", '{"v": 1}')
    check(rc == 0, f"remove-item over http: exit {rc}: {err}")
    rc, out, err = h.client("items", "users", "tags")
    check(rc == 0 and [json.loads(line) for line in out.splitlines()] == [{"v": 2}],
          f"items after remove-item: exit {rc}: {out} {err}")
    # A query over the OR items (--or): one row per (key, tag), with the tag; the LWW rows apart.
    rc, out, err = h.client("query", "users", "gte(v, 0)", "--or")
    rows = [json.loads(line) for line in out.splitlines()]
    check(rc == 0 and [(r["key"], r["value"]) for r in rows] == [("tags", {"v": 2})]
          and rows[0]["tag"].count(":") >= 2, f"query --or: exit {rc}: {out} {err}")
    rc, _, err = h.client("remove-item", "users", "tags", '{"v": 9}')
    check(rc == 3 and "holds no item" in err, f"remove-item of an absent value: {rc} {err}")
    rc, _, err = h.client("add", "users", "tags", "not json")
    check(rc == 2 and "add:" in err, f"add with bad JSON: {rc} {err}")
    expected += 4  # ops applied
    ored = sum(h.metric(p, "seedgrid_or_ops_applied_total") for p in ports)
    check(ored == 4, f"seedgrid_or_ops_applied_total: {ored}, expected 4")
    # Live queries need the WebSocket transport; a wrong token is named.
    rc, _, err = h.client(*http, "subscribe", "users", "eq(city, 'Oslo')")
    check(rc == 2 and "live queries need --transport websocket" in err, f"subscribe: {rc} {err}")
    env = dict(h.env, SEEDGRID_TOKEN="wrong")
    r = subprocess.run([h.binary, "client", "--server", f"127.0.0.1:{ports[0]}", *http,
                        "--timeout", "2s", "put", "m", "k", "{}"], capture_output=True,
                       text=True, env=env, timeout=60)
    check(r.returncode == 1 and "HTTP 401: wrong token" in r.stderr, f"wrong token: {r.stderr}")

    # One --data directory through s1 only, which goes down twice: http online, websocket
    # offline (--no-wait), http offline (a put that times out) then http sync, http offline, then
    # websocket sync. s1's counters restart with it: `base` keeps what it counted before.
    data = os.path.join(h.work, "client")
    base = 0

    def via_s1(*args):
        saved = h.servers
        h.servers = {"s1": saved["s1"]}
        try:
            return h.client(*args, data=data)
        finally:
            h.servers = saved

    def devices(transport, first, last, *extra):
        for i in range(first, last):
            rc, _, err = via_s1(*transport, *extra, "put", "devices", f"d{i}",
                                json.dumps({"v": i}))
            check(rc == 0, f"put d{i} {transport} {extra}: exit {rc}: {err}")

    def stop_s1():
        nonlocal base
        base += h.metric(ports[0], "seedgrid_ops_applied_total")
        check(h.kill("s1", signal.SIGTERM) == 0, "s1 stops gracefully")

    def restart_s1():
        h.restart("s1")
        h.wait(lambda: formed(h, 3), "s1 back in the partition table", 60)

    def applied():
        return base + sum(h.metric(p, "seedgrid_ops_applied_total") for p in ports)

    devices(http, 0, 5)
    stop_s1()
    devices((), 5, 10, "--no-wait")
    rc, _, err = via_s1(*http, "--timeout", "1s", "put", "devices", "late", "{}")
    check(rc == 1 and "stay in" in err and "cannot connect" in err,
          f"an http put with s1 down names the error and where the write waits: {rc} {err}")
    restart_s1()
    rc, _, err = via_s1(*http, "sync")
    check(rc == 0, f"http sync of websocket and http offline writes: exit {rc}: {err}")
    stop_s1()
    devices(http, 10, 15, "--no-wait")
    restart_s1()
    rc, _, err = via_s1("sync")
    check(rc == 0, f"websocket sync of http offline writes: exit {rc}: {err}")
    expected += 16
    want = {f"d{i}": {"v": i} for i in range(15)}
    want["late"] = {}
    for transport in (http, ()):
        rc, out, err = via_s1(*transport, "dump", "devices")
        check(rc == 0, f"dump devices {transport}: exit {rc}: {err}")
        got = {r["key"]: r["value"] for r in map(json.loads, out.splitlines())}
        check(got == want, f"devices via {transport}: {sorted(got)}")
    rc, out, err = h.client(*http, "dump", "devices")  # a fresh client, every server
    got = {r["key"]: r["value"] for r in map(json.loads, out.splitlines())}
    check(rc == 0 and got == want, f"devices via a fresh http client: {rc} {sorted(got)} {err}")
    check(applied() == expected, f"{applied()} ops applied, expected exactly {expected}")


def main():
    binary, which = sys.argv[1], sys.argv[2]
    tests = {"cluster": test_cluster, "http": test_http, "offline": test_offline,
             "http_sync": test_http_sync, "http_transport": test_http_transport}
    work = tempfile.mkdtemp(prefix=f"seedgrid-real-{which}-")
    h = Harness(binary, work)
    # ctest kills a test that overruns its timeout with SIGTERM: clean up then too.
    signal.signal(signal.SIGTERM, lambda *_: (h.cleanup(), sys.exit(1)))
    try:
        tests[which](h)
    except Exception as e:  # any failure: say what, with the servers' state and logs
        print(f"FAILED {which}: {type(e).__name__}: {e}\n{h.logs()}", file=sys.stderr)
        return 1
    finally:
        h.cleanup()
    shutil.rmtree(work, ignore_errors=True)
    print(f"ok {which}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
