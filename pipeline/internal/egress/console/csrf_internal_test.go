package console

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// fakeEditor records the saves it is asked for.
type fakeEditor struct {
	saves []string // camera by who
	err   error
}

func (e *fakeEditor) SaveZones(_ context.Context, cam string, _ ZoneEdit, who string) (SaveResult, error) {
	e.saves = append(e.saves, cam+" by "+who)
	return SaveResult{File: "/etc/edgeguard.yaml", Outcome: "applied"}, e.err
}

// TestCSRF: a non-GET request needs the session's token and, when the
// browser names an Origin, this console's; without a users file the
// per-process token. The login itself needs the token too.
func TestCSRF(t *testing.T) {
	c, _ := authConsole(t)
	a := &authClient{t: t, h: c.Handler(), remote: "192.0.2.1:1"}
	if w := a.login("otto", "pw-otto"); w.Code != 200 {
		t.Fatalf("login: %d %s", w.Code, w.Body)
	}
	for _, tt := range []struct {
		name, token, origin string
		want                int
	}{
		{"token", a.csrf, "", 200},
		{"token, own origin", a.csrf, "http://example.com", 200},
		{"no token", "", "", 403},
		{"wrong token", "x" + a.csrf, "", 403},
		{"other origin", a.csrf, "http://evil.example", 403},
		{"other scheme", a.csrf, "https://example.com", 403},
		{"origin null", a.csrf, "null", 403},
		{"process token instead of the session's", c.processCSRF, "", 403},
	} {
		r := httptest.NewRequest("POST", "/api/logout", nil)
		r.AddCookie(a.cookie)
		if tt.token != "" {
			r.Header.Set(csrfHeader, tt.token)
		}
		if tt.origin != "" {
			r.Header.Set("Origin", tt.origin)
		}
		w := httptest.NewRecorder()
		// The session must live on for the next row: check the CSRF
		// layer with a handler that does not log out.
		c.authenticate(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(200) })).ServeHTTP(w, r)
		if w.Code != tt.want {
			t.Errorf("%s: %d, want %d: %s", tt.name, w.Code, tt.want, w.Body)
		}
	}
	// A login without the token is refused before any hash is compared.
	b := &authClient{t: t, h: c.Handler(), remote: "192.0.2.2:1"}
	if w := b.do("POST", "/api/login", `{"user":"otto","password":"pw-otto"}`); w.Code != 403 {
		t.Errorf("login without token: %d", w.Code)
	}

	// Without a users file: the per-process token.
	nc, err := New(Config{Gate: authGate{}, Cameras: authCams{}, Status: authStatus{}, Events: NewRing(1), Live: authLive{}})
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	n := &authClient{t: t, h: nc.Handler(), remote: "127.0.0.1:1"}
	if w := n.do("POST", "/api/logout", ""); w.Code != 403 {
		t.Errorf("no logins, no token: %d", w.Code)
	}
	n.csrf = n.session().CSRF
	if w := n.do("POST", "/api/logout", ""); w.Code != 200 {
		t.Errorf("no logins, process token: %d %s", w.Code, w.Body)
	}
}

// TestSaveZones: only an operator saves, only with allow_edit and an
// editor; bodies are limited per route; the editor learns who saved.
func TestSaveZones(t *testing.T) {
	const zone = `{"zones":{"door":[[0,0],[1,0],[1,1]]}}`
	for _, tt := range []struct {
		name, user string
		allow      bool
		body       string
		want       int
		wantIn     string
	}{
		{"operator", "otto", true, zone, 200, `"outcome":"applied"`},
		{"viewer", "ann", true, zone, 403, "needs the role operator"},
		{"officer", "olga", true, zone, 403, "needs the role operator"},
		{"not logged in", "", true, zone, 401, "log in first"},
		{"allow_edit off", "otto", false, zone, 403, "http.allow_edit"},
		{"nothing to save", "otto", true, `{}`, 400, "allowed: 1 to 64"},
		{"unknown field", "otto", true, `{"zones":{},"privacy":{}}`, 400, "unknown field"},
		{"two objects", "otto", true, zone + zone, 400, "one JSON object"},
		{"too large", "otto", true, `{"zones":{"a":[` + strings.Repeat("[0,0],", 12<<10) + `[0,0]]}}`, 413, "larger than 65536"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c, _ := authConsole(t)
			ed := &fakeEditor{}
			c.cfg.AllowEdit, c.cfg.Editor = tt.allow, ed
			a := &authClient{t: t, h: c.Handler(), remote: "192.0.2.1:1"}
			a.csrf = a.session().CSRF
			if tt.user != "" {
				if w := a.login(tt.user, "pw-"+tt.user); w.Code != 200 {
					t.Fatalf("login: %d", w.Code)
				}
			}
			w := a.do("POST", "/api/cameras/cam1/zones", tt.body)
			if w.Code != tt.want || !strings.Contains(w.Body.String(), tt.wantIn) {
				t.Errorf("%d %s, want %d with %q", w.Code, w.Body, tt.want, tt.wantIn)
			}
			if wantSaves := tt.want == 200; (len(ed.saves) == 1) != wantSaves || (wantSaves && ed.saves[0] != "cam1 by otto") {
				t.Errorf("editor saves %v", ed.saves)
			}
		})
	}
	// An unknown camera, and a route that takes no body.
	c, _ := authConsole(t)
	c.cfg.AllowEdit, c.cfg.Editor = true, &fakeEditor{}
	a := &authClient{t: t, h: c.Handler(), remote: "192.0.2.1:1"}
	a.login("otto", "pw-otto")
	if w := a.do("POST", "/api/cameras/nope/zones", zone); w.Code != 404 {
		t.Errorf("unknown camera: %d", w.Code)
	}
	if w := a.do("POST", "/api/cameras", "{}"); w.Code != 405 {
		t.Errorf("POST /api/cameras: %d", w.Code)
	}
	if w := a.do("POST", "/api/login", `{"user":"`+strings.Repeat("a", 5<<10)+`"}`); w.Code != 413 && w.Code != 400 {
		t.Errorf("oversized login: %d", w.Code)
	}
}
