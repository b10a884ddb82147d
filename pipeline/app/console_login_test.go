package app

import (
	"encoding/json"
	"net/http"
	"net/http/cookiejar"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"golang.org/x/crypto/bcrypt"

	"github.com/edgeguard/edgeguard/internal/mosquittotest"
	"github.com/edgeguard/edgeguard/pipeline/internal/video/codec"
	"github.com/edgeguard/edgeguard/pipeline/tools/scene"
)

// TestConsoleLoginAndSaveInBrowser (issue 16): the console with a users
// file (on loopback: TLS is not served yet, but a users file turns logins
// on wherever the console runs) against the real service reading its
// configuration file. The page asks for a login; a wrong password is
// refused; the operator draws a zone and saves it: the file is rewritten
// with a backup and the service applies it (the camera's zones in
// /api/cameras); a viewer's save is refused (403).
func TestConsoleLoginAndSaveInBrowser(t *testing.T) {
	browser := chromium(t)
	if testing.Short() {
		t.Skip("end-to-end")
	}
	mq := mosquittotest.Start(t)
	sim := startCamera(t, codec.H264, scene.Walker(640, 360, 25), 12)
	f := newConfigFile(t, mq.URL())
	users := filepath.Join(filepath.Dir(f.path), "users")
	var ul strings.Builder
	for _, u := range [][2]string{{"otto", "operator"}, {"vera", "viewer"}} {
		h, err := bcrypt.GenerateFromPassword([]byte("pw-"+u[0]), 10)
		if err != nil {
			t.Fatal(err)
		}
		ul.WriteString(u[0] + " " + u[1] + " " + string(h) + "\n")
	}
	if err := os.WriteFile(users, []byte(ul.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	content := f.yaml([]reloadCam{{id: "gatecam", url: sim.URL()}}, mq.URL())
	content = strings.Replace(content, "http:\n", "http:\n  users_file: users\n  allow_edit: true\n", 1)
	content = "# the operator's comment stays\n" + content
	f.write(t, content)
	logs := &syncBuffer{}
	runFile(t, f, Options{PolicyPollInterval: 100 * time.Millisecond, Logger: jsonLogger(logs)})
	base := "http://" + f.httpAddr

	bctx, poll := openBrowser(t, browser, 90*time.Second)
	deadline := time.Now().Add(30 * time.Second)
	for httpStatusOrZero(base+"/api/session") != http.StatusOK {
		if time.Now().After(deadline) {
			t.Fatal("the console did not answer")
		}
		time.Sleep(50 * time.Millisecond)
	}
	if got := httpStatus(t, base+"/api/cameras"); got != http.StatusUnauthorized {
		t.Errorf("/api/cameras without a login: %d, want 401", got)
	}
	if err := chromedp.Do(bctx, chromedp.Navigate(base+"/")); err != nil {
		t.Fatal(err)
	}
	poll("the login form, nothing else", `!document.getElementById('login-panel').hidden && getComputedStyle(document.getElementById('main')).display === 'none'`)
	screenshot(t, bctx, "login")

	login := func(user, pw string) {
		t.Helper()
		if err := chromedp.Do(bctx,
			chromedp.SetValue(chromedp.CSS(`#login-user`), user),
			chromedp.SetValue(chromedp.CSS(`#login-password`), pw),
			chromedp.Click(chromedp.CSS(`#login-submit`))); err != nil {
			t.Fatal(err)
		}
	}
	login("otto", "wrong")
	poll("the wrong password refused", `document.getElementById('login-error').textContent.includes('401')`)
	login("otto", "pw-otto")
	poll("logged in, the camera streaming", `document.getElementById('login-panel').hidden && !!document.querySelector('#cameras tr[data-camera="gatecam"] .state-streaming')`)
	poll("the Save button", `!document.getElementById('editor-save').hidden && document.getElementById('live-camera').value === 'gatecam'`)

	if err := chromedp.Do(bctx, chromedp.ScrollIntoView(chromedp.CSS(`#editor-canvas`))); err != nil {
		t.Fatal(err)
	}
	rect, err := chromedp.Run(bctx, chromedp.Evaluate[[]float64](`(() => { const c = document.getElementById('editor-canvas'), r = c.getBoundingClientRect(); return [r.left + c.clientLeft, r.top + c.clientTop, c.clientWidth, c.clientHeight]; })()`))
	if err != nil || len(rect) != 4 {
		t.Fatalf("canvas at %v (%v)", rect, err)
	}
	var clicks []chromedp.Action[chromedp.Void]
	for _, p := range [][2]float64{{0.1, 0.1}, {0.5, 0.1}, {0.5, 0.5}, {0.1, 0.5}} {
		clicks = append(clicks, chromedp.MouseClickXY(rect[0]+p[0]*rect[2], rect[1]+p[1]*rect[3]))
	}
	clicks = append(clicks, chromedp.Click(chromedp.CSS(`#editor-finish`)), chromedp.Click(chromedp.CSS(`#editor-save`)))
	if err := chromedp.Do(bctx, clicks...); err != nil {
		t.Fatal(err)
	}
	poll("the save applied", `document.getElementById('saving').dataset.outcome === 'applied'`)
	screenshot(t, bctx, "login-saved")

	saved, err := os.ReadFile(f.path)
	if err != nil {
		t.Fatal(err)
	}
	if s := string(saved); !strings.Contains(s, "zone-1: [[0.1, 0.1], [0.5, 0.1], [0.5, 0.5], [0.1, 0.5]]") || !strings.Contains(s, "# the operator's comment stays") {
		t.Errorf("the saved file:\n%s", s)
	}
	backups, _ := filepath.Glob(f.path + ".*.bak")
	if len(backups) != 1 {
		t.Fatalf("backups %v, want 1", backups)
	} else if b, _ := os.ReadFile(backups[0]); string(b) != content {
		t.Errorf("the backup is not the old file:\n%s", b)
	}

	// The service runs with it: the reload restarted the camera, and the
	// log says who saved what (never a password).
	poll("the camera streaming again", `!!document.querySelector('#cameras tr[data-camera="gatecam"] .state-streaming')`)
	logged := logs.String()
	if !regexp.MustCompile(`"msg":"configuration reloaded".*"restarted":\["gatecam"\]`).MatchString(logged) {
		t.Error("no \"configuration reloaded\" restarting gatecam in the log")
	}
	if !regexp.MustCompile(`"msg":"console: zones saved","user":"otto","camera":"gatecam","zones":\["zone-1"\]`).MatchString(logged) {
		t.Error("no \"console: zones saved\" by otto in the log")
	}
	if strings.Contains(logged, "pw-otto") || strings.Contains(logged, "\"wrong\"") {
		t.Error("a password in the log")
	}

	// A viewer may look but not save.
	vera := loginClient(t, base, "vera")
	if code := postZones(t, vera, base); code != http.StatusForbidden {
		t.Errorf("viewer's save: %d, want 403", code)
	}
}

func httpStatusOrZero(url string) int {
	r, err := http.Get(url)
	if err != nil {
		return 0
	}
	r.Body.Close()
	return r.StatusCode
}

// authed is a logged-in API client: its cookie jar and CSRF token.
type authed struct {
	c    *http.Client
	csrf string
}

func loginClient(t *testing.T, base, user string) authed {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	a := authed{c: &http.Client{Jar: jar, Timeout: 10 * time.Second}}
	var s struct {
		CSRF string `json:"csrf"`
	}
	if err := getJSON(a, base+"/api/session", &s); err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest("POST", base+"/api/login", strings.NewReader(`{"user":"`+user+`","password":"pw-`+user+`"}`))
	req.Header.Set("X-CSRF-Token", s.CSRF)
	r, err := a.c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Body.Close()
	if r.StatusCode != http.StatusOK {
		t.Fatalf("login %s: %d", user, r.StatusCode)
	}
	if err := json.NewDecoder(r.Body).Decode(&s); err != nil {
		t.Fatal(err)
	}
	a.csrf = s.CSRF
	return a
}

func getJSON(a authed, url string, v any) error {
	r, err := a.c.Get(url)
	if err != nil {
		return err
	}
	defer r.Body.Close()
	return json.NewDecoder(r.Body).Decode(v)
}

func postZones(t *testing.T, a authed, base string) int {
	t.Helper()
	req, _ := http.NewRequest("POST", base+"/api/cameras/gatecam/zones", strings.NewReader(`{"zones":{"z":[[0,0],[1,0],[1,1]]}}`))
	req.Header.Set("X-CSRF-Token", a.csrf)
	r, err := a.c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	r.Body.Close()
	return r.StatusCode
}
