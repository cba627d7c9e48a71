# Sends N requests, one at a time on one connection: page (GET /workspace?limit=50 following
# nextCursor), list (GET /workspace), create (POST /workspace, a name of its own per request, so
# every request creates), login (POST /user/login of the seeded owner) or a path.
# Usage: drive.py PORT N MODE
import http.client, json, sys
port = int(sys.argv[1]); n = int(sys.argv[2]); mode = sys.argv[3]
import os; tok = open(os.environ.get("TOKEN_FILE", "/tmp/pf/token")).read()
c = http.client.HTTPConnection("127.0.0.1", port)
h = {"authorization": "Bearer " + tok}
cursor = None
for i in range(n):
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
        body = json.dumps({"name": f"create-{os.getpid()}-{i}"})
        c.request("POST", "/workspace", body, {**h, "content-type": "application/json"})
        r = c.getresponse(); data = r.read()
        assert r.status == 201, (r.status, data[:200])
        continue
    c.request("GET", path, None, h); r = c.getresponse(); data = r.read()
    assert r.status == 200, (r.status, data[:200])
    if mode == "page":
        cursor = json.loads(data).get("nextCursor")
