package console_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/edgeguard/edgeguard/pipeline/internal/egress/console"
	"github.com/edgeguard/edgeguard/policy"
)

// zonedYAML is the built-in policy with camera cam1 and one privacy zone.
var zonedYAML = string(policy.DefaultYAML()) + `unlisted_cameras: allow
cameras:
  cam1:
    purpose: "Counting people at the entrance"
    privacy_zones:
      - name: shop-window
        polygon: [[0.1, 0.1], [0.4, 0.1], [0.4, 0.5], [0.1, 0.5]]
`

type fixedPolicy struct{ p *policy.Policy }

func (f fixedPolicy) Policy() *policy.Policy { return f.p }

func policyConsole(t testing.TB, p *policy.Policy) http.Handler {
	t.Helper()
	c, err := console.New(console.Config{
		Gate:    guard(t, p),
		Cameras: cameras{{ID: "cam1", State: "streaming", Width: 640, Height: 360}, {ID: "cam2", State: "connecting"}},
		Status:  status{}, Events: console.NewRing(10), Live: &live{},
		LiveInterval: time.Hour,
		Policy:       fixedPolicy{p},
	})
	if err != nil {
		t.Fatal(err)
	}
	return c.Handler()
}

func mustParsePolicy(t testing.TB, text string) *policy.Policy {
	t.Helper()
	p, err := policy.Parse("zoned.yaml", []byte(text))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestPolicyInForce(t *testing.T) {
	p := mustParsePolicy(t, zonedYAML)
	h := policyConsole(t, p)
	w := do(t, h, "GET", "/api/policy", nil)
	if w.Code != http.StatusOK {
		t.Fatalf("status %d: %s", w.Code, w.Body)
	}
	var got struct {
		Name, Version, SHA256 string
		Summary               policy.Summary
		Explain               map[string]string
		Cameras               []struct {
			ID            string
			Width, Height int
			Running       bool
			Zones         []struct {
				Name    string
				Polygon [][2]float64
			}
		}
	}
	if err := json.Unmarshal(w.Body.Bytes(), &got); err != nil {
		t.Fatal(err)
	}
	if got.Name != p.Name || got.SHA256 != p.SHA256 || got.Summary.Zones["cam1"] != 1 {
		t.Errorf("identity/summary %+v", got)
	}
	for _, l := range policy.Languages {
		want, _ := p.Explain(l)
		if got.Explain[l] != want {
			t.Errorf("explain %s:\n%s\nwant\n%s", l, got.Explain[l], want)
		}
	}
	if len(got.Cameras) != 2 || got.Cameras[0].ID != "cam1" || !got.Cameras[0].Running || got.Cameras[0].Width != 640 ||
		len(got.Cameras[0].Zones) != 1 || got.Cameras[0].Zones[0].Name != "shop-window" ||
		got.Cameras[0].Zones[0].Polygon[2] != [2]float64{0.4, 0.5} || got.Cameras[1].ID != "cam2" || len(got.Cameras[1].Zones) != 0 {
		t.Errorf("cameras %+v", got.Cameras)
	}

	w = do(t, h, "GET", "/api/policy?lang=de", nil)
	var one struct{ Explain map[string]string }
	json.Unmarshal(w.Body.Bytes(), &one)
	if w.Code != http.StatusOK || len(one.Explain) != 1 || one.Explain["de"] == "" {
		t.Errorf("?lang=de: %d %v", w.Code, one.Explain)
	}
	w = do(t, h, "GET", "/api/policy?lang=fr", nil)
	if w.Code != http.StatusBadRequest || !strings.Contains(w.Body.String(), "allowed: en, de") {
		t.Errorf("?lang=fr: %d %s", w.Code, w.Body)
	}
}

func TestPolicyWithoutSource(t *testing.T) {
	w := do(t, newConsole(t, policy.Default(), &live{}, nil), "GET", "/api/policy", nil)
	if w.Code != http.StatusServiceUnavailable || !strings.Contains(w.Body.String(), "not yet") {
		t.Errorf("no policy source: %d %s", w.Code, w.Body)
	}
}

// csrfToken is the console's CSRF token without logins (GET /api/session).
func csrfToken(t testing.TB, h http.Handler) string {
	t.Helper()
	var s struct{ CSRF string }
	w := do(t, h, "GET", "/api/session", nil)
	if err := json.Unmarshal(w.Body.Bytes(), &s); err != nil || s.CSRF == "" {
		t.Fatalf("GET /api/session: %d %s (%v)", w.Code, w.Body, err)
	}
	return s.CSRF
}

func diffRequest(t *testing.T, h http.Handler, body string, hdr map[string]string) *httptest.ResponseRecorder {
	t.Helper()
	r := httptest.NewRequest("POST", "/api/policy/diff?name=new.yaml", strings.NewReader(body))
	r.Header.Set("X-Requested-With", "edgeguard")
	r.Header.Set("X-CSRF-Token", csrfToken(t, h))
	for k, v := range hdr {
		if v == "" {
			r.Header.Del(k)
		} else {
			r.Header.Set(k, v)
		}
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

func TestPolicyDiff(t *testing.T) {
	p := mustParsePolicy(t, zonedYAML)
	h := policyConsole(t, p)
	wider := strings.Replace(zonedYAML, "events: [motion]", "events: [motion, tamper]", 1)

	tests := []struct {
		name string
		body string
		hdr  map[string]string
		code int
		want []string
	}{
		{"wider", wider, nil, 200, []string{`"path":"egress.events"`, `"effect":"more"`, `"en":"egress.events: adds tamper (MORE is seen, kept or sent)"`, `"de":"egress.events: fügt hinzu: tamper`, `"stored":false,"applied":false`}},
		{"narrower", strings.Replace(zonedYAML, "fields: [score]", "fields: []", 1), nil, 200, []string{`"effect":"less"`}},
		{"same", zonedYAML, nil, 200, []string{`"changes":[]`, `"no_change":{`, "identical byte for byte", "Byte für Byte"}},
		{"parse error names file and line", strings.Replace(zonedYAML, "events: [motion]", "events: [motion, faces]", 1), nil, 400, []string{`new.yaml:`, "egress.events"}},
		{"unknown field", zonedYAML + "egres: {}\n", nil, 400, []string{"new.yaml:", "egres"}},
		{"empty", "", nil, 400, []string{"empty request body"}},
		{"too large", strings.Repeat("#", 64<<10+1), nil, 413, []string{"larger than 65536 bytes"}},
		{"no X-Requested-With", wider, map[string]string{"X-Requested-With": ""}, 403, []string{"X-Requested-With"}},
		{"wrong X-Requested-With", wider, map[string]string{"X-Requested-With": "XMLHttpRequest"}, 403, []string{"X-Requested-With"}},
		{"cross-site origin", wider, map[string]string{"Origin": "http://evil.example"}, 403, []string{"origin", "evil.example"}},
		{"same origin", wider, map[string]string{"Origin": "http://example.com"}, 200, []string{`"effect":"more"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := diffRequest(t, h, tt.body, tt.hdr)
			if w.Code != tt.code {
				t.Fatalf("status %d, want %d: %s", w.Code, tt.code, w.Body)
			}
			if ct := w.Header().Get("Content-Type"); ct != "application/json" {
				t.Errorf("content type %q", ct)
			}
			for _, s := range tt.want {
				if !strings.Contains(w.Body.String(), s) {
					t.Errorf("body lacks %q:\n%s", s, w.Body)
				}
			}
		})
	}
	// Never applied: the policy in force is unchanged.
	w := do(t, h, "GET", "/api/policy", nil)
	if !strings.Contains(w.Body.String(), `"sha256":"`+p.SHA256+`"`) {
		t.Errorf("policy in force changed after diffs: %s", w.Body)
	}
}

// TestOnlyTheDiffTakesPOST: the diff's exception in limits is for its
// route only.
func TestOnlyTheDiffTakesPOST(t *testing.T) {
	h := policyConsole(t, mustParsePolicy(t, zonedYAML))
	for _, target := range []string{"/api/policy", "/api/cameras", "/api/policy/diff/x", "/"} {
		r := httptest.NewRequest("POST", target, strings.NewReader("x"))
		r.Header.Set("X-Requested-With", "edgeguard")
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if w.Code != http.StatusMethodNotAllowed {
			t.Errorf("POST %s: %d, want 405", target, w.Code)
		}
	}
	if w := diffRequest(t, h, "", map[string]string{}); w.Code == http.StatusMethodNotAllowed {
		t.Error("POST /api/policy/diff refused by limits")
	}
	r := httptest.NewRequest("PUT", "/api/policy/diff", strings.NewReader(zonedYAML))
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	if w.Code != http.StatusMethodNotAllowed {
		t.Errorf("PUT diff: %d", w.Code)
	}
}

// FuzzPolicyDiff: whatever file is uploaded, the diff answers 200 with the
// changes or 400/413 with the parser's message, always JSON, and never
// panics.
func FuzzPolicyDiff(f *testing.F) {
	for _, s := range []string{zonedYAML, strings.Replace(zonedYAML, "events: [motion]", "events: [motion, tamper]", 1), "", "egres: {}\n", "name: [\n"} {
		f.Add(s)
	}
	p := mustParsePolicy(f, zonedYAML)
	h := policyConsole(f, p)
	token := csrfToken(f, h)
	f.Fuzz(func(t *testing.T, body string) {
		r := httptest.NewRequest("POST", "/api/policy/diff", strings.NewReader(body))
		r.Header.Set("X-Requested-With", "edgeguard")
		r.Header.Set("X-CSRF-Token", token)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		switch w.Code {
		case http.StatusOK, http.StatusBadRequest, http.StatusRequestEntityTooLarge:
		default:
			t.Fatalf("status %d: %s", w.Code, w.Body)
		}
		if ct := w.Header().Get("Content-Type"); ct != "application/json" || !json.Valid(w.Body.Bytes()) {
			t.Fatalf("answer %q %s", ct, w.Body)
		}
	})
}

// TestPolicyRolesWithLogins: with a users file the policy in force is for
// every login, the diff for officers only; without a login neither.
func TestPolicyRolesWithLogins(t *testing.T) {
	hash, err := console.HashPassword([]byte("secret-pw"), console.HashArgon2id)
	if err != nil {
		t.Fatal(err)
	}
	users, err := console.ParseUsers("users", []byte("olga officer "+hash+"\nvic viewer "+hash+"\n"))
	if err != nil {
		t.Fatal(err)
	}
	p := mustParsePolicy(t, zonedYAML)
	c, err := console.New(console.Config{
		Gate: guard(t, p), Cameras: cameras{{ID: "cam1"}}, Status: status{}, Events: console.NewRing(10), Live: &live{},
		Policy: fixedPolicy{p}, Users: users,
	})
	if err != nil {
		t.Fatal(err)
	}
	h := c.Handler()
	// login returns the session cookie and CSRF token of user.
	login := func(user string) (*http.Cookie, string) {
		t.Helper()
		r := httptest.NewRequest("POST", "/api/login", strings.NewReader(`{"user":"`+user+`","password":"secret-pw"}`))
		r.Header.Set("X-Requested-With", "edgeguard")
		r.Header.Set("X-CSRF-Token", csrfToken(t, h))
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		var s struct{ CSRF string }
		if w.Code != 200 || json.Unmarshal(w.Body.Bytes(), &s) != nil || len(w.Result().Cookies()) == 0 {
			t.Fatalf("login %s: %d %s", user, w.Code, w.Body)
		}
		return w.Result().Cookies()[0], s.CSRF
	}
	request := func(method, target string, cookie *http.Cookie, csrf string) int {
		var body io.Reader
		if method == "POST" {
			body = strings.NewReader(zonedYAML)
		}
		r := httptest.NewRequest(method, target, body)
		r.Header.Set("X-Requested-With", "edgeguard")
		if cookie != nil {
			r.AddCookie(cookie)
			r.Header.Set("X-CSRF-Token", csrf)
		} else {
			r.Header.Set("X-CSRF-Token", csrfToken(t, h))
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		return w.Code
	}
	olga, olgaCSRF := login("olga")
	vic, vicCSRF := login("vic")
	for _, tt := range []struct {
		who            string
		cookie         *http.Cookie
		csrf           string
		policy, diffed int
	}{
		{"nobody", nil, "", 401, 401},
		{"viewer", vic, vicCSRF, 200, 403},
		{"officer", olga, olgaCSRF, 200, 200},
	} {
		if got := request("GET", "/api/policy", tt.cookie, tt.csrf); got != tt.policy {
			t.Errorf("%s GET /api/policy: %d, want %d", tt.who, got, tt.policy)
		}
		if got := request("POST", "/api/policy/diff", tt.cookie, tt.csrf); got != tt.diffed {
			t.Errorf("%s POST /api/policy/diff: %d, want %d", tt.who, got, tt.diffed)
		}
	}
}
