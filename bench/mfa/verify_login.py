# The cost of POST /mfa/verify-login next to a password login and a plain read, on a running
# server with an SQLite database (release build, started with --rate-limit-per-ip 0
# --rate-limit-per-account 0). Enrols TOTP for a fresh account, then N times: a password login
# (pending), and a timed verify-login with the current code. Between two verifications the
# spent step is forgotten in the database (as if 30 s had passed), so every code is accepted.
# Usage: verify_login.py PORT SERVER_BINARY DATABASE_FILE N
import hashlib, hmac, http.client, json, sqlite3, statistics, struct, subprocess, sys, time, base64
port = int(sys.argv[1]); bin_ = sys.argv[2]; db_file = sys.argv[3]; n = int(sys.argv[4])
c = http.client.HTTPConnection("127.0.0.1", port)
def req(method, path, body=None, token=None):
    h = {"content-type": "application/json"}
    if token: h["authorization"] = "Bearer " + token
    started = time.perf_counter()
    c.request(method, path, json.dumps(body) if body is not None else None, h)
    r = c.getresponse(); data = r.read()
    return r.status, (json.loads(data) if data else None), time.perf_counter() - started
def totp(secret):
    key = base64.b32decode(secret + "=" * (-len(secret) % 8))
    digest = hmac.new(key, struct.pack(">Q", int(time.time()) // 30), hashlib.sha1).digest()
    o = digest[19] & 15
    return "%06d" % ((struct.unpack(">I", digest[o:o + 4])[0] & 0x7fffffff) % 1000000)
email = f"mfa-{int(time.time())}@x.io"
s, _, _ = req("POST", "/user/register", {"email": email, "password": "Secret123", "firstName": "M", "lastName": "F", "companyName": "Acme", "isBusiness": True})
assert s == 201, s
subprocess.run([bin_, "--database-url", "sqlite://" + db_file, "user", "verify", email], check=True)
s, b, _ = req("POST", "/user/login", {"email": email, "password": "Secret123"}); tok = b["accessToken"]
s, b, _ = req("POST", "/mfa/setup", {"mfaType": "GOOGLE_AUTH"}, tok); assert s == 200, b
secret = b["data"]["secret"]
s, b, _ = req("POST", "/mfa/verify-setup", {"mfaType": "GOOGLE_AUTH", "code": totp(secret)}, tok); assert s == 200, b
db = sqlite3.connect(db_file, timeout=5)
logins, verifies, reads = [], [], []
for i in range(n):
    s, b, t = req("POST", "/user/login", {"email": email, "password": "Secret123"}); assert s == 200 and b.get("mfaRequired"), b
    logins.append(t); pending = b["accessToken"]
    db.execute("UPDATE mfa_methods SET last_step = -1"); db.commit()
    s, b, t = req("POST", "/mfa/verify-login", {"mfaType": "GOOGLE_AUTH", "code": totp(secret)}, pending); assert s == 200, b
    verifies.append(t)
    s, b, t = req("GET", "/mfa/status", None, pending); assert s == 200, b
    reads.append(t)
ms = lambda xs: statistics.median(xs) * 1000
print(f"n={n} median ms: login {ms(logins):.2f}, verify-login {ms(verifies):.2f}, GET /mfa/status {ms(reads):.2f}")
