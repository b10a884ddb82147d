package app

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/edgeguard/edgeguard/internal/mosquittotest"
	"github.com/edgeguard/edgeguard/internal/testlog"
	"github.com/edgeguard/edgeguard/pipeline/config"
	"github.com/edgeguard/edgeguard/pipeline/internal/audit"
)

// TestAuditTrail runs the service against a real Mosquitto and a camera
// with motion: the events it published are in the audit trail, with the
// start, the policy, the camera's state and the stop, the public key is
// published retained on audit/key, and the trail verifies.
func TestAuditTrail(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end")
	}
	mq := mosquittotest.Start(t)
	sub := mosquittotest.Subscribe(t, mq.URL(), "edgeguard/e2e/#")
	cfg := testConfig(t, mq.URL(), map[string]string{"cam1": walkerCamera(t).URL()})
	cfg.Audit.Dir = filepath.Join(t.TempDir(), "audit")

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- Run(ctx, Options{Config: cfg, Logger: testLogger(t)}) }()
	msgs := sub.WaitFor(t, func(m []mosquittotest.Message) bool { return len(events(m, "cam1")) > 0 }, 60*time.Second)
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Run: %v", err)
	}

	rep, err := VerifyAudit(cfg.Audit.Dir, "")
	if err != nil {
		t.Fatalf("verify: %v", err)
	}
	var out bytes.Buffer
	if err := ExportAudit(cfg.Audit.Dir, time.Time{}, time.Time{}, &out); err != nil {
		t.Fatal(err)
	}
	kinds := map[audit.Kind]bool{}
	published := map[string]bool{}
	for _, line := range strings.Split(strings.TrimSpace(out.String()), "\n") {
		e, err := audit.ParseLine([]byte(line))
		if err != nil {
			t.Fatalf("export line %q: %v", line, err)
		}
		kinds[e.Kind] = true
		if e.Kind == audit.KindEventPublished {
			published[e.EventID+"/"+e.Phase] = true
		}
	}
	if len(kinds) == 0 || rep.Records == 0 {
		t.Fatalf("empty trail: %+v", rep)
	}
	for _, k := range []audit.Kind{audit.KindStart, audit.KindPolicyLoaded, audit.KindKeyPublished, audit.KindCameraState, audit.KindEventPublished, audit.KindStop} {
		if !kinds[k] {
			t.Errorf("no %s record in the trail:\n%s", k, out.String())
		}
	}
	for _, ev := range events(msgs, "cam1") {
		if !published[ev.EventID+"/"+string(ev.Phase)] {
			t.Errorf("event %s (%s) was published but is not in the trail:\n%s", ev.EventID, ev.Phase, out.String())
		}
	}

	// The retained key is the trail's.
	pub, err := audit.ReadPublicKey(filepath.Join(cfg.Audit.Dir, audit.PublicKeyFile))
	if err != nil {
		t.Fatal(err)
	}
	var key auditKey
	for _, m := range sub.Messages() {
		if m.Topic == "edgeguard/e2e/audit/key" {
			if err := json.Unmarshal(m.Payload, &key); err != nil {
				t.Fatal(err)
			}
		}
	}
	if key.PublicKey != base64.StdEncoding.EncodeToString(pub) || key.Algorithm != "ed25519" || key.HeadSeq == 0 {
		t.Errorf("audit/key message %+v does not carry the trail's key %s", key, base64.StdEncoding.EncodeToString(pub))
	}
}

// TestAuditTrailReload: a configuration reload refused and one applied are
// both in the trail, with the file's SHA-256, and the chain holds across
// a restart on the same trail.
func TestAuditTrailReload(t *testing.T) {
	if testing.Short() {
		t.Skip("real broker and cameras")
	}
	mq := mosquittotest.Start(t)
	sub := mosquittotest.Subscribe(t, mq.URL(), "edgeguard/e2e/#")
	f := newConfigFile(t, mq.URL())
	good := []reloadCam{{id: "a", url: staticCamera(t).URL()}}
	f.write(t, f.yaml(good, f.broker))
	trail := filepath.Join(filepath.Dir(f.outbox), "audit")

	for run := range 2 {
		cfg, err := config.Load(f.path)
		if err != nil {
			t.Fatal(err)
		}
		logs := &testlog.Buffer{}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() {
			done <- Run(ctx, Options{Config: cfg, ConfigPath: f.path, Logger: jsonLogger(logs), PolicyPollInterval: 50 * time.Millisecond})
		}()
		sub.WaitFor(t, func(m []mosquittotest.Message) bool { return streamingCount(m, "a") == run+1 }, 60*time.Second)
		if run == 0 {
			f.write(t, f.yaml([]reloadCam{{id: "a", url: good[0].url, fps: 500}}, f.broker))
			waitLog(t, logs, 10*time.Second, "configuration reload rejected")
			f.write(t, f.yaml([]reloadCam{{id: "a", url: good[0].url, fps: 4}}, f.broker))
			waitLog(t, logs, 10*time.Second, "configuration reloaded")
		}
		cancel()
		if err := <-done; err != nil {
			t.Fatalf("Run: %v", err)
		}
	}

	rep, err := VerifyAudit(trail, "")
	if err != nil {
		t.Fatalf("verify: %v", err)
	}
	var out bytes.Buffer
	if err := ExportAudit(trail, time.Time{}, time.Time{}, &out); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, line := range strings.Split(strings.TrimSpace(out.String()), "\n") {
		e, err := audit.ParseLine([]byte(line))
		if err != nil {
			t.Fatal(err)
		}
		switch e.Kind {
		case audit.KindStart, audit.KindStop, audit.KindConfigLoaded, audit.KindConfigRejected:
			if e.Kind != audit.KindStart && e.Kind != audit.KindStop && (e.File != f.path || len(e.SHA256) != 64) {
				t.Errorf("%s record without the file and its sha256: %s", e.Kind, line)
			}
			got = append(got, string(e.Kind))
		}
	}
	want := "start config_loaded config_rejected config_loaded stop start config_loaded stop"
	if strings.Join(got, " ") != want || rep.FirstSeq != 1 {
		t.Errorf("trail has %q (from seq %d), want %q:\n%s", strings.Join(got, " "), rep.FirstSeq, want, out.String())
	}
}

// TestRefusedStartRecorded: a start refused because the policy does not
// load, and one refused by the configuration's checks, are each in the
// trail (the file, its sha256, why), and the trail still verifies.
func TestRefusedStartRecorded(t *testing.T) {
	dir := t.TempDir()
	cfg := testConfig(t, "tcp://127.0.0.1:1", map[string]string{"cam1": "rtsp://127.0.0.1:1/cam"})
	cfg.Audit.Dir = filepath.Join(dir, "audit")
	cfg.Policy = filepath.Join(dir, "policy.yaml")
	if err := os.WriteFile(cfg.Policy, []byte("version: 1\nno_such_field: x\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := Run(context.Background(), Options{Config: cfg, Logger: testLogger(t)}); err == nil {
		t.Fatal("started with a policy that does not load")
	}
	cfg.Policy = ""
	cfg.Cameras[0].Enabled = false // no enabled camera: refused by the checks
	if err := Run(context.Background(), Options{Config: cfg, Logger: testLogger(t)}); err == nil {
		t.Fatal("started without an enabled camera")
	}
	es := trail(cfg.Audit.Dir)
	if len(es) != 2 {
		t.Fatalf("trail after two refused starts: %+v; want two records", es)
	}
	if e := es[0]; e.Kind != audit.KindPolicyRejected || e.What != "start refused" || e.File != filepath.Join(dir, "policy.yaml") || e.SHA256 == "" || !strings.Contains(e.Detail, "no_such_field") {
		t.Errorf("first refusal %+v: want the policy rejected, with its file, sha256 and why", e)
	}
	if e := es[1]; e.Kind != audit.KindConfigRejected || e.What != "start refused" || !strings.Contains(e.Detail, "no enabled cameras") {
		t.Errorf("second refusal %+v: want the configuration rejected and why", e)
	}
	if _, err := VerifyAudit(cfg.Audit.Dir, ""); err != nil {
		t.Fatalf("verify: %v", err)
	}
}

// TestAuditHeadRepublished: the key message with the chain head goes out
// again while the box runs, each with a later head, so a copy off the box
// holds a recent one.
func TestAuditHeadRepublished(t *testing.T) {
	if testing.Short() {
		t.Skip("real broker and camera")
	}
	mq := mosquittotest.Start(t)
	sub := mosquittotest.Subscribe(t, mq.URL(), "edgeguard/e2e/audit/key")
	cfg := testConfig(t, mq.URL(), map[string]string{"cam1": staticCamera(t).URL()})
	cfg.Audit.Dir = filepath.Join(t.TempDir(), "audit")
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- Run(ctx, Options{Config: cfg, Logger: testLogger(t), auditHeadEvery: 200 * time.Millisecond})
	}()
	msgs := sub.WaitFor(t, func(m []mosquittotest.Message) bool { return len(m) >= 3 }, 60*time.Second)
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Run: %v", err)
	}
	var last uint64
	for i, m := range msgs[:3] {
		var k auditKey
		if err := json.Unmarshal(m.Payload, &k); err != nil || k.HeadHash == "" {
			t.Fatalf("message %d %s: %v", i, m.Payload, err)
		}
		if i > 0 && k.HeadSeq <= last {
			t.Errorf("message %d: head_seq %d not after %d", i, k.HeadSeq, last)
		}
		last = k.HeadSeq
	}
	if _, err := VerifyAudit(cfg.Audit.Dir, ""); err != nil {
		t.Fatalf("verify: %v", err)
	}
}
