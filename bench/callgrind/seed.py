# Seeds one organization for bench/callgrind/count.sh: an OWNER, two verified members, 100
# workspaces each with the owner and both members. Usage: seed.py PORT SERVER_BINARY DATABASE_URL
# (the server must already run on PORT against DATABASE_URL). Writes the token to /tmp/pf/token.
import http.client, json, subprocess, sys
port = int(sys.argv[1]); bin_ = sys.argv[2]; db = sys.argv[3]
c = http.client.HTTPConnection("127.0.0.1", port)
def req(method, path, body=None, token=None):
    h = {"content-type": "application/json"}
    if token: h["authorization"] = "Bearer " + token
    c.request(method, path, json.dumps(body) if body is not None else None, h)
    r = c.getresponse(); data = r.read()
    return r.status, (json.loads(data) if data else None)
s, _ = req("POST", "/user/register", {"email": "own@x.io", "password": "Secret123", "firstName": "O", "lastName": "W", "companyName": "Acme", "isBusiness": True})
assert s == 201, s
subprocess.run([bin_, "--database-url", db, "user", "verify", "own@x.io"], check=True)
s, b = req("POST", "/user/login", {"email": "own@x.io", "password": "Secret123"}); tok = b["accessToken"]
members = []
for i in range(2):
    s, b = req("POST", "/organization/users", {"email": f"m{i}@x.io", "password": "Secret123", "firstName": f"M{i}", "lastName": "L", "orgRole": 0, "sendInvite": False}, tok)
    assert s == 201, (s, b)
    uid = b["data"]["id"]; members.append(uid)
    subprocess.run([bin_, "--database-url", db, "user", "verify", f"m{i}@x.io"], check=True)
for n in range(100):
    s, b = req("POST", "/workspace", {"name": f"ws-{n:03d}"}, tok); assert s == 201, (s, b)
    wid = b["workspace"]["id"]
    for uid in members:
        s, b = req("POST", f"/workspace/{wid}/users", {"userId": uid, "role": "READ"}, tok); assert s == 200, (s, b)
import os; os.makedirs("/tmp/pf", exist_ok=True); open(os.environ.get("TOKEN_FILE", "/tmp/pf/token"), "w").write(tok)
print("seeded")
