package console

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/argon2"
)

// fastHash is an argon2id hash with the smallest parameters a users file
// allows, so that tests (under -race too) log in quickly.
func fastHash(t testing.TB, password string) string {
	t.Helper()
	salt := []byte("saltsalt")
	sum := argon2.IDKey([]byte(password), salt, 1, 8, 1, 16)
	return fmt.Sprintf("$argon2id$v=19$m=8,t=1,p=1$%s$%s", base64.RawStdEncoding.EncodeToString(salt), base64.RawStdEncoding.EncodeToString(sum))
}

// testUsers: ann viewer, otto operator, olga officer; password "pw-<name>".
func testUsers(t testing.TB) []byte {
	t.Helper()
	var b strings.Builder
	for _, u := range [][2]string{{"ann", "viewer"}, {"otto", "operator"}, {"olga", "officer"}} {
		fmt.Fprintf(&b, "%s %s %s\n", u[0], u[1], fastHash(t, "pw-"+u[0]))
	}
	return []byte(b.String())
}

type authGate struct{}

func (authGate) HTTP(h http.Handler) http.Handler { return h }

type authCams struct{}

func (authCams) Cameras() []Camera { return []Camera{{ID: "cam1"}} }

type authStatus struct{}

func (authStatus) Device() Device { return Device{} }

type authLive struct{}

func (authLive) LiveJPEG(context.Context, string) ([]byte, error) { return nil, ErrNoPicture }

// authConsole is a console with testUsers in a users file in a temp dir.
func authConsole(t *testing.T) (*Console, string) {
	t.Helper()
	file := filepath.Join(t.TempDir(), "users")
	if err := os.WriteFile(file, testUsers(t), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := New(Config{Gate: authGate{}, Cameras: authCams{}, Status: authStatus{}, Events: NewRing(1), Live: authLive{}, UsersFile: file})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c, file
}

type authClient struct {
	t      *testing.T
	h      http.Handler
	cookie *http.Cookie
	csrf   string
	remote string
}

func (a *authClient) do(method, path, body string) *httptest.ResponseRecorder {
	a.t.Helper()
	r := httptest.NewRequest(method, path, strings.NewReader(body))
	r.RemoteAddr = a.remote
	if a.cookie != nil {
		r.AddCookie(a.cookie)
	}
	if method != "GET" {
		r.Header.Set(csrfHeader, a.csrf)
	}
	w := httptest.NewRecorder()
	a.h.ServeHTTP(w, r)
	return w
}

func (a *authClient) session() sessionBody {
	a.t.Helper()
	var s sessionBody
	w := a.do("GET", "/api/session", "")
	if err := json.Unmarshal(w.Body.Bytes(), &s); err != nil {
		a.t.Fatalf("session: %d %s", w.Code, w.Body)
	}
	return s
}

func (a *authClient) login(user, password string) *httptest.ResponseRecorder {
	a.t.Helper()
	a.csrf = a.session().CSRF
	w := a.do("POST", "/api/login", fmt.Sprintf(`{"user":%q,"password":%q}`, user, password))
	if w.Code == 200 {
		for _, ck := range w.Result().Cookies() {
			if ck.Name == cookieName {
				a.cookie = ck
			}
		}
		var s sessionBody
		json.Unmarshal(w.Body.Bytes(), &s)
		a.csrf = s.CSRF
	}
	return w
}

// TestRoles: viewer is in every role; operator and officer are separate.
func TestRoles(t *testing.T) {
	for _, tt := range []struct {
		have, need Role
		want       bool
	}{
		{RoleViewer, RoleViewer, true}, {RoleViewer, RoleOperator, false}, {RoleViewer, RoleOfficer, false},
		{RoleOperator, RoleViewer, true}, {RoleOperator, RoleOperator, true}, {RoleOperator, RoleOfficer, false},
		{RoleOfficer, RoleViewer, true}, {RoleOfficer, RoleOperator, false}, {RoleOfficer, RoleOfficer, true},
		{0, RoleViewer, false},
	} {
		if got := tt.have.may(tt.need); got != tt.want {
			t.Errorf("%s may act as %s = %v, want %v", tt.have, tt.need, got, tt.want)
		}
	}
	for _, n := range []string{"viewer", "operator", "officer"} {
		if r, ok := parseRole(n); !ok || r.String() != n {
			t.Errorf("parseRole(%q) = %v %v", n, r, ok)
		}
	}
	if _, ok := parseRole("admin"); ok {
		t.Error("admin is a role")
	}
}

// TestRequire: each role's route answers only its logins; without a users
// file only viewer routes answer, the others name http.users_file.
func TestRequire(t *testing.T) {
	ok := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		name, role := userOf(r)
		writeJSON(w, 200, map[string]string{"user": name, "role": role.String()})
	})
	c, _ := authConsole(t)
	mux := http.NewServeMux()
	mux.Handle("GET /v", c.require(RoleViewer, ok))
	mux.Handle("GET /op", c.require(RoleOperator, ok))
	mux.Handle("GET /off", c.require(RoleOfficer, ok))
	h := c.authenticate(mux)
	codes := map[string][3]int{ // /v, /op, /off
		"":     {401, 401, 401},
		"ann":  {200, 403, 403},
		"otto": {200, 200, 403},
		"olga": {200, 403, 200},
	}
	for user, want := range codes {
		a := &authClient{t: t, h: c.Handler(), remote: "192.0.2.1:1"}
		if user != "" {
			if w := a.login(user, "pw-"+user); w.Code != 200 {
				t.Fatalf("login %s: %d %s", user, w.Code, w.Body)
			}
		}
		a.h = h
		for i, p := range []string{"/v", "/op", "/off"} {
			w := a.do("GET", p, "")
			if w.Code != want[i] {
				t.Errorf("%q GET %s: %d, want %d: %s", user, p, w.Code, want[i], w.Body)
			}
			if w.Code == 200 && !strings.Contains(w.Body.String(), `"user":"`+user+`"`) {
				t.Errorf("%q GET %s: userOf = %s", user, p, w.Body)
			}
		}
	}

	// Without a users file.
	nc, err := New(Config{Gate: authGate{}, Cameras: authCams{}, Status: authStatus{}, Events: NewRing(1), Live: authLive{}})
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	mux = http.NewServeMux()
	mux.Handle("GET /v", nc.require(RoleViewer, ok))
	mux.Handle("GET /op", nc.require(RoleOperator, ok))
	mux.Handle("GET /off", nc.require(RoleOfficer, ok))
	h = nc.authenticate(mux)
	for p, want := range map[string]int{"/v": 200, "/op": 403, "/off": 403} {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest("GET", p, nil))
		if w.Code != want || (want == 403 && !strings.Contains(w.Body.String(), "http.users_file")) {
			t.Errorf("no logins, GET %s: %d %s, want %d", p, w.Code, w.Body, want)
		}
		if p == "/v" && (!strings.Contains(w.Body.String(), `"user":""`) || !strings.Contains(w.Body.String(), `"role":"viewer"`)) {
			t.Errorf("no logins: userOf = %s, want \"\" viewer", w.Body)
		}
	}
}

// TestLoginRateLimit: after 5 failed logins a minute for a user, or from
// an address, the next is 429 with Retry-After, the right password too;
// a minute later it works again.
func TestLoginRateLimit(t *testing.T) {
	c, _ := authConsole(t)
	now := time.Date(2026, 12, 5, 10, 0, 0, 0, time.UTC)
	c.fails.now = func() time.Time { return now }

	a := &authClient{t: t, h: c.Handler(), remote: "192.0.2.1:1"}
	for i := range failLimit {
		if w := a.login("otto", "wrong"); w.Code != 401 {
			t.Fatalf("failure %d: %d %s", i+1, w.Code, w.Body)
		}
		now = now.Add(time.Second)
	}
	// Another address, the same user: limited by the user.
	b := &authClient{t: t, h: c.Handler(), remote: "198.51.100.9:2"}
	w := b.login("otto", "pw-otto")
	if w.Code != 429 || w.Header().Get("Retry-After") != "55" {
		t.Fatalf("6th try: %d Retry-After %q %s, want 429 and 55", w.Code, w.Header().Get("Retry-After"), w.Body)
	}
	// The same address, another user: limited by the address.
	if w := a.login("ann", "pw-ann"); w.Code != 429 {
		t.Fatalf("same address, other user: %d, want 429", w.Code)
	}
	// Another address and user: not limited.
	if w := b.login("ann", "pw-ann"); w.Code != 200 {
		t.Fatalf("other address and user: %d %s", w.Code, w.Body)
	}
	now = now.Add(time.Minute)
	if w := (&authClient{t: t, h: c.Handler(), remote: "192.0.2.1:1"}).login("otto", "pw-otto"); w.Code != 200 {
		t.Fatalf("a minute later: %d %s", w.Code, w.Body)
	}
	// Unknown users count as well (and cost a hash compare).
	d := &authClient{t: t, h: c.Handler(), remote: "203.0.113.5:1"}
	for range failLimit {
		d.login("nobody", "x")
	}
	if w := d.login("nobody", "x"); w.Code != 429 {
		t.Fatalf("unknown user after %d failures: %d", failLimit, w.Code)
	}
}

// TestSessionLifetime: a session ends 30 min after its last request and
// 12 h after the login, whichever is first.
func TestSessionLifetime(t *testing.T) {
	c, _ := authConsole(t)
	now := time.Date(2026, 12, 5, 8, 0, 0, 0, time.UTC)
	c.logins.now = func() time.Time { return now }
	a := &authClient{t: t, h: c.Handler(), remote: "192.0.2.1:1"}
	if w := a.login("ann", "pw-ann"); w.Code != 200 {
		t.Fatal(w.Code)
	}
	for i := 0; i < 23; i++ { // 23 × 29 min ≈ 11 h 7 min, touched each time
		now = now.Add(29 * time.Minute)
		if w := a.do("GET", "/api/cameras", ""); w.Code != 200 {
			t.Fatalf("after %d × 29 min: %d", i+1, w.Code)
		}
	}
	now = now.Add(29 * time.Minute) // 11 h 36 min
	if w := a.do("GET", "/api/cameras", ""); w.Code != 200 {
		t.Fatalf("11h36: %d", w.Code)
	}
	now = now.Add(25 * time.Minute) // 12 h 01 min: absolute lifetime over
	if w := a.do("GET", "/api/cameras", ""); w.Code != 401 {
		t.Fatalf("after 12 h: %d, want 401", w.Code)
	}

	if w := a.login("ann", "pw-ann"); w.Code != 200 {
		t.Fatal(w.Code)
	}
	now = now.Add(30 * time.Minute)
	if w := a.do("GET", "/api/cameras", ""); w.Code != 401 {
		t.Fatalf("idle 30 min: %d, want 401", w.Code)
	}
}

// TestUsersFileReload: the console reads the users file again when it
// changed: a removed user's session ends, a role changed applies, an
// invalid file changes nothing.
func TestUsersFileReload(t *testing.T) {
	c, file := authConsole(t)
	now := time.Date(2026, 12, 5, 8, 0, 0, 0, time.UTC)
	c.usersFile.now = func() time.Time { return now }
	ann := &authClient{t: t, h: c.Handler(), remote: "192.0.2.1:1"}
	otto := &authClient{t: t, h: c.Handler(), remote: "192.0.2.2:1"}
	if ann.login("ann", "pw-ann").Code != 200 || otto.login("otto", "pw-otto").Code != 200 {
		t.Fatal("login")
	}
	write := func(s string) {
		if err := os.WriteFile(file, []byte(s), 0o600); err != nil {
			t.Fatal(err)
		}
		now = now.Add(usersCheck)
	}
	write("this is not a users file\n")
	if w := ann.do("GET", "/api/cameras", ""); w.Code != 200 {
		t.Fatalf("invalid users file: ann %d, want 200 (the users in force stay)", w.Code)
	}
	write("otto viewer " + fastHash(t, "pw-otto") + "\n")
	if w := ann.do("GET", "/api/cameras", ""); w.Code != 401 {
		t.Errorf("ann removed: %d, want 401", w.Code)
	}
	if s := otto.session(); s.User != "otto" || s.Role != "viewer" {
		t.Errorf("otto after the role change: %+v", s)
	}
}

// TestHashPassword: both algorithms make hashes the users file takes and
// the login accepts; the password itself is refused when empty or longer
// than bcrypt reads.
func TestHashPassword(t *testing.T) {
	for _, algo := range []string{HashBcrypt, HashArgon2id} {
		h, err := HashPassword([]byte("correct horse"), algo)
		if err != nil {
			t.Fatal(err)
		}
		u, err := ParseUsers("users", []byte("max operator "+h+"\n"))
		if err != nil {
			t.Fatalf("%s: %v", algo, err)
		}
		if r, ok := u.check("max", []byte("correct horse")); !ok || r != RoleOperator {
			t.Errorf("%s: right password refused", algo)
		}
		if _, ok := u.check("max", []byte("correct horsE")); ok {
			t.Errorf("%s: wrong password accepted", algo)
		}
	}
	for _, pw := range []string{"", strings.Repeat("x", 73)} {
		if _, err := HashPassword([]byte(pw), HashBcrypt); err == nil {
			t.Errorf("password of %d bytes hashed", len(pw))
		}
	}
	if _, err := HashPassword([]byte("x"), "md5"); err == nil || !strings.Contains(err.Error(), "allowed: bcrypt, argon2id") {
		t.Errorf("md5: %v", err)
	}
}

// TestLoginOverTLS: served over TLS the session cookie is Secure, so a
// browser never sends it back in the clear.
func TestLoginOverTLS(t *testing.T) {
	c, _ := authConsole(t)
	srv := httptest.NewTLSServer(c.Handler())
	defer srv.Close()
	client := srv.Client()
	resp, err := client.Get(srv.URL + "/api/session")
	if err != nil {
		t.Fatal(err)
	}
	var s sessionBody
	err = json.NewDecoder(resp.Body).Decode(&s)
	resp.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest("POST", srv.URL+"/api/login", strings.NewReader(`{"user":"otto","password":"pw-otto"}`))
	req.Header.Set(csrfHeader, s.CSRF)
	req.Header.Set("Content-Type", "application/json")
	resp, err = client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("login over TLS: %d", resp.StatusCode)
	}
	var found bool
	for _, ck := range resp.Cookies() {
		if ck.Name == cookieName {
			found = true
			if !ck.Secure || !ck.HttpOnly || ck.SameSite != http.SameSiteStrictMode {
				t.Errorf("cookie Secure %v HttpOnly %v SameSite %v, want Secure, HttpOnly, Strict", ck.Secure, ck.HttpOnly, ck.SameSite)
			}
		}
	}
	if !found {
		t.Fatal("no session cookie")
	}
}
