package app

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/edgeguard/edgeguard/internal/mosquittotest"
	"github.com/edgeguard/edgeguard/pipeline/internal/audit"
	"github.com/edgeguard/edgeguard/pipeline/internal/video/codec"
	"github.com/edgeguard/edgeguard/pipeline/tools/scene"
)

// TestConsolePolicyPageInBrowser (issue 16): the policy page in headless
// Chromium against the real service. It shows the explain text of the
// policy in force (English, then German), the camera's privacy zones
// outlined on a neutral canvas (the policy allows no live view), and an
// uploaded policy allowing one more event type gives a "wider" change.
func TestConsolePolicyPageInBrowser(t *testing.T) {
	browser := chromium(t)
	if testing.Short() {
		t.Skip("end-to-end")
	}
	mq := mosquittotest.Start(t)
	sim := startCamera(t, codec.H264, scene.Walker(640, 360, 25), 12)
	cfg := testConfig(t, mq.URL(), map[string]string{"cam1": sim.URL()})
	cfg.HTTP.Addr = freeAddr(t)
	cfg.Policy = examplePolicy(t, "[motion]", "[score]")
	text, err := os.ReadFile(cfg.Policy)
	if err != nil {
		t.Fatal(err)
	}

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- Run(ctx, Options{Config: cfg, Logger: testLogger(t)}) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	}()
	base := "http://" + cfg.HTTP.Addr

	bctx, poll := openBrowser(t, browser, 60*time.Second)
	if err := chromedp.Do(bctx, chromedp.Navigate(base+"/#policy-panel")); err != nil {
		t.Fatal(err)
	}
	poll("the explain text", `document.getElementById('policy-explain').textContent.includes('hansaplatz')`)
	explainEN, err := chromedp.Run(bctx, chromedp.Evaluate[string](`document.getElementById('policy-explain').textContent`))
	if err != nil || !strings.Contains(explainEN, "motion") {
		t.Errorf("explain text %q (%v)", explainEN, err)
	}
	poll("the no-live-view note", `document.getElementById('policy-zones-note').textContent.includes('No picture leaves the device')`)

	// The zones of cam1, outlined: a pixel on the right edge of "windows"
	// ([0.3, 0] to [0.3, 0.4]) is the outline's red, one inside the neutral
	// grey: no picture was drawn.
	poll("cam1's zones", `(() => { const f = document.querySelector('figure.policy-camera[data-camera="cam1"]'); return !!f && f.querySelector('figcaption').textContent.includes('windows [[0, 0], [0.3, 0], [0.3, 0.4], [0, 0.4]]') && f.querySelector('figcaption').textContent.includes('cafe-terrace'); })()`)
	px, err := chromedp.Run(bctx, chromedp.Evaluate[[]int](`(() => {
		const c = document.querySelector('figure.policy-camera[data-camera="cam1"] canvas'), g = c.getContext('2d');
		const at = (x, y) => Array.from(g.getImageData(Math.round(x * c.width), Math.round(y * c.height), 1, 1).data.slice(0, 3));
		return [c.width, c.height].concat(at(0.3, 0.2), at(0.15, 0.3)); })()`))
	if err != nil || len(px) != 8 || px[0] != 480 || px[1] != 270 || px[2] < 150 || px[3] > 60 || px[4] > 60 || px[5] != 0xd9 || px[6] != 0xdd || px[7] != 0xe3 {
		t.Errorf("canvas [w h edge(rgb) inside(rgb)] = %v (%v), want 480×270, red edge, neutral inside", px, err)
	}
	if n, err := chromedp.Run(bctx, chromedp.Evaluate[int](`document.querySelectorAll('button.policy-picture').length`)); err != nil || n != 0 {
		t.Errorf("%d picture buttons without live view (%v)", n, err)
	}

	// A changed policy, pasted: one more event type widens it.
	wider := strings.Replace(string(text), "events: [motion]", "events: [motion, tamper]", 1)
	if wider == string(text) {
		t.Fatal("the test policy has no events: [motion]")
	}
	js, _ := json.Marshal(wider)
	if _, err := chromedp.Run(bctx, chromedp.Evaluate[bool](`(() => { document.getElementById('policy-paste').value = `+string(js)+`; return true; })()`)); err != nil {
		t.Fatal(err)
	}
	if err := chromedp.Do(bctx, chromedp.Click(chromedp.CSS(`#policy-compare`))); err != nil {
		t.Fatal(err)
	}
	poll("the wider change", `(() => { const li = document.querySelector('#policy-diff li[data-path="egress.events"]'); return !!li && li.dataset.effect === 'more' && li.textContent.includes('[wider] egress.events: adds tamper'); })()`)
	if err := chromedp.Do(bctx, chromedp.ScrollIntoView(chromedp.CSS(`#policy-panel`))); err != nil {
		t.Fatal(err)
	}
	screenshot(t, bctx, "policy")

	// German: the explain text and the change in German.
	if _, err := chromedp.Run(bctx, chromedp.Evaluate[bool](`(() => { const s = document.getElementById('lang'); s.value = 'de'; s.dispatchEvent(new Event('change')); return true; })()`)); err != nil {
		t.Fatal(err)
	}
	poll("the German page", `document.getElementById('h-policy').textContent === 'Richtlinie (Datenschutz)' && document.getElementById('policy-explain').textContent.includes('Ereignis') && document.querySelector('#policy-diff li').textContent.includes('[erweitert] egress.events: fügt hinzu: tamper')`)

	// A broken file: the parser's message, naming the line.
	if _, err := chromedp.Run(bctx, chromedp.Evaluate[bool](`(() => { document.getElementById('policy-paste').value = 'egres: {}\n'; return true; })()`)); err != nil {
		t.Fatal(err)
	}
	if err := chromedp.Do(bctx, chromedp.Click(chromedp.CSS(`#policy-compare`))); err != nil {
		t.Fatal(err)
	}
	poll("the parse error", `(() => { const e = document.getElementById('policy-diff-error'); return !!e && e.textContent.startsWith('400: pasted.yaml:1:'); })()`)

	// Never applied: the policy in force is the one on disk.
	var pol struct{ SHA256 string }
	if err := json.Unmarshal(httpBody(t, base+"/api/policy"), &pol); err != nil || pol.SHA256 != fmt.Sprintf("%x", sha256.Sum256(text)) {
		t.Errorf("/api/policy sha256 %s (%v), want the file's", pol.SHA256, err)
	}
}

// TestConsoleLiveViewSessionAudited (issue 16): watching a camera's live
// picture is a session on record. Under a policy allowing live view, a
// viewer gets a few pictures; at shutdown the open session ends: one line
// in the log at its start and one at its end, and one image record
// (what live_view) in the audit trail with the camera, a session id, who
// (local and the viewer's address), the times and the picture count.
func TestConsoleLiveViewSessionAudited(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end")
	}
	mq := mosquittotest.Start(t)
	sim := startCamera(t, codec.H264, scene.Walker(640, 360, 25), 12)
	cfg := testConfig(t, mq.URL(), map[string]string{"cam1": sim.URL()})
	cfg.HTTP.Addr = freeAddr(t)
	cfg.Audit.Dir = filepath.Join(t.TempDir(), "audit")
	path := examplePolicy(t, "[motion]", "[score]")
	text, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	live := strings.Replace(strings.Replace(string(text), "snapshots: false", "snapshots: true\n  live_view: true", 1), "persons: false", "persons: true", 1)
	if !strings.Contains(live, "live_view: true") || !strings.Contains(live, "persons: true") {
		t.Fatal("the example policy has no snapshots: false or no persons: false")
	}
	if err := os.WriteFile(path, []byte(live), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg.Policy = path
	logs := &syncBuffer{}

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- Run(ctx, Options{Config: cfg, Logger: jsonLogger(logs)}) }()
	stopped := false
	stop := func() {
		if !stopped {
			stopped = true
			cancel()
			if err := <-done; err != nil {
				t.Errorf("Run: %v", err)
			}
		}
	}
	defer stop()

	url := "http://" + cfg.HTTP.Addr + "/api/cameras/cam1/latest.jpg"
	pictures := 0
	deadline := time.Now().Add(60 * time.Second)
	for pictures < 3 && time.Now().Before(deadline) {
		resp, err := http.Get(url)
		if err == nil {
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				pictures++
			}
		}
		time.Sleep(200 * time.Millisecond)
	}
	if pictures < 3 {
		t.Fatalf("only %d live pictures in 60 s", pictures)
	}
	stop()

	var out bytes.Buffer
	if err := ExportAudit(cfg.Audit.Dir, time.Time{}, time.Time{}, &out); err != nil {
		t.Fatal(err)
	}
	var sessions []audit.Entry
	for _, line := range strings.Split(strings.TrimSpace(out.String()), "\n") {
		e, err := audit.ParseLine([]byte(line))
		if err != nil {
			t.Fatalf("export line %q: %v", line, err)
		}
		if e.Kind == audit.KindImage && e.What == "live_view" {
			sessions = append(sessions, e)
		}
	}
	if len(sessions) != 1 {
		t.Fatalf("%d live_view records, want 1:\n%s", len(sessions), out.String())
	}
	s := sessions[0]
	if s.Camera != "cam1" || len(s.Session) != 16 || s.Who != "local 127.0.0.1" || s.EventID != "" ||
		!strings.HasPrefix(s.Detail, "from ") || !strings.HasSuffix(s.Detail, fmt.Sprintf(", %d pictures", pictures)) {
		t.Errorf("live_view record %+v, want cam1, a session id, local 127.0.0.1, %d pictures", s.Record, pictures)
	}
	if _, err := VerifyAudit(cfg.Audit.Dir, ""); err != nil {
		t.Errorf("verify: %v", err)
	}
	log := logs.String()
	for _, msg := range []string{`"msg":"live view session started"`, `"msg":"live view session ended"`} {
		if n := strings.Count(log, msg); n != 1 {
			t.Errorf("%d log lines %s, want 1", n, msg)
		}
	}
	if !strings.Contains(log, `"session":"`+s.Session+`"`) || !strings.Contains(log, fmt.Sprintf(`"pictures":%d`, pictures)) {
		t.Errorf("the log does not name session %s with %d pictures", s.Session, pictures)
	}
}
