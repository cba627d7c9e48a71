# Sends N requests: page (GET /workspace?limit=50 following nextCursor), list (GET /workspace),
# create (POST /workspace, a name of its own per request, so every request creates), login
# (POST /user/login of the seeded owner) or a path.
# Usage: drive.py PORT N MODE
# One connection, one request at a time, unless CONNS=C (C > 1): then C connections, each on a
# thread of its own, send N/C requests each (N in all) at once, so the server works under concurrency (its
# write batches, its wake-ups) as under load, while callgrind still counts every instruction.
import http.client, json, os, sys, threading

port = int(sys.argv[1]); n = int(sys.argv[2]); mode = sys.argv[3]
tok = open(os.environ.get("TOKEN_FILE", "/tmp/pf/token")).read()
h = {"authorization": "Bearer " + tok}


def drive(count, tag):
    c = http.client.HTTPConnection("127.0.0.1", port)
    cursor = None
    for i in range(count):
        if mode == "page":
            path = "/workspace?limit=50" + (f"&cursor={cursor}" if cursor else "")
        elif mode == "list":
            path = "/workspace"
        else:
            path = mode
        if mode == "login":
            body = json.dumps({"email": "own@x.io", "password": "Secret123"})
            c.request("POST", "/user/login", body, {"content-type": "application/json"})
            r = c.getresponse(); data = r.read()
            assert r.status == 200, (r.status, data[:200])
            continue
        if mode == "create":
            body = json.dumps({"name": f"create-{os.getpid()}-{tag}-{i}"})
            c.request("POST", "/workspace", body, {**h, "content-type": "application/json"})
            r = c.getresponse(); data = r.read()
            assert r.status == 201, (r.status, data[:200])
            continue
        c.request("GET", path, None, h); r = c.getresponse(); data = r.read()
        assert r.status == 200, (r.status, data[:200])
        if mode == "page":
            cursor = json.loads(data).get("nextCursor")


conns = int(os.environ.get("CONNS", "1"))
if conns <= 1:
    drive(n, 0)
else:
    failures = []

    def guarded(count, tag):
        try:
            drive(count, tag)
        except Exception as error:  # a thread's failure must fail the run
            failures.append(repr(error))

    shares = [n // conns + (1 if t < n % conns else 0) for t in range(conns)]
    threads = [threading.Thread(target=guarded, args=(shares[t], t)) for t in range(conns)]
    for t in threads: t.start()
    for t in threads: t.join()
    if failures:
        sys.exit(f"{len(failures)} connections failed, first: {failures[0]}")
