package demo

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"image"
	"image/jpeg"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/edgeguard/edgeguard/models"
	"github.com/edgeguard/edgeguard/pipeline/app"
	"github.com/edgeguard/edgeguard/policy"
)

// watched is the transcript as the test reads it while the demo runs: it
// calls done once every pattern matches.
type watched struct {
	mu    sync.Mutex
	buf   bytes.Buffer
	wants []*regexp.Regexp
	done  func()
	once  sync.Once
}

func (w *watched) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf.Write(p)
	all := true
	for _, re := range w.wants {
		all = all && re.Match(w.buf.Bytes())
	}
	if all {
		w.once.Do(w.done)
	}
	return len(p), nil
}

func (w *watched) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.String()
}

// TestDemo runs the demo until a newcomer has seen what it promises — the
// camera streaming with its audio track offered but never set up, a line
// crossing, a loitering and a person down under the demo policy, an
// anonymised snapshot announced with its size (or, without the face model,
// the plain statement that images are withheld and why), the metrics URL
// answering and the console's URL — and then
// stops it; the square's situations start within its
// first 25 s, so 80 s leaves room for encoding the clip and for a loaded
// machine.
func TestDemo(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the demo for up to 80 s")
	}
	snap := `SNAPSHOT square-north +of \w+ +event \w+ +JPEG \d+x\d+, \d+\.\d kB +anonymised: faces fill \(BlazeFace\), moving persons filled; no metadata`
	if _, err := models.Locate(models.BlazeFace); err != nil {
		t.Logf("no BlazeFace (%v): expecting the demo to say images are withheld", err)
		snap = `images withheld: models: blazeface`
	}
	var wants []*regexp.Regexp
	for _, s := range []string{
		`CAMERA  square-north  streaming  h264 640x360 @ 25 fps`,
		`RTSP SETUP requests the camera saw: \[video\] \(audio offered, never set up\)`,
		`EVENT   square-north  motion +START .*policy demo`,
		`EVENT   square-north  line_crossing +START .*policy demo.*  class (person|object)`,
		`EVENT   square-north  loitering +START .*  zone door`,
		`EVENT   square-north  person_down +START `,
		snap,
		// A hint that works when pasted: mosquitto_sub -L wants mqtt://.
		`subscribe with: mosquitto_sub -L 'mqtt://127\.0\.0\.1:`,
		`metrics: http://127\.0\.0\.1:\d+/metrics`,
		`console: http://127\.0\.0\.1:\d+/`,
	} {
		wants = append(wants, regexp.MustCompile(s))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 80*time.Second)
	defer cancel()
	out := &watched{wants: wants, done: cancel}
	metrics := make(chan error, 1)
	go func() { metrics <- getMetrics(ctx, out) }()
	start := time.Now()
	if err := Run(ctx, Options{Out: out}); err != nil {
		t.Fatal(err)
	}
	got := out.String()
	if err := <-metrics; err != nil {
		t.Errorf("the metrics URL the demo printed: %v", err)
	}
	t.Logf("demo ran %v:\n%s", time.Since(start).Round(time.Second), got)
	for _, re := range wants {
		if !re.MatchString(got) {
			t.Errorf("demo output lacks %q", re)
		}
	}
	for _, want := range []string{"demo-box/status = offline", "demo stopped."} {
		if !strings.Contains(got, want) {
			t.Errorf("demo output lacks %q", want)
		}
	}
	for i, line := range strings.Split(got, "\n") {
		if strings.ContainsRune(line, '\uFFFD') || strings.ContainsAny(line, "\x00\xff") {
			t.Errorf("line %d is not text (an image printed?): %.80q", i+1, line)
		}
	}
}

// getMetrics waits until the service runs and gets the metrics URL the
// transcript printed.
func getMetrics(ctx context.Context, out *watched) error {
	re := regexp.MustCompile(`metrics: (http://\S+/metrics)`)
	for !strings.Contains(out.String(), "embedded MQTT broker at") {
		select {
		case <-ctx.Done():
			return errors.New("the service did not start")
		case <-time.After(100 * time.Millisecond):
		}
	}
	m := re.FindStringSubmatch(out.String())
	if m == nil {
		return errors.New("no metrics URL printed")
	}
	resp, err := http.Get(m[1])
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s", m[1], resp.Status)
	}
	return nil
}

// TestSetup: the demo's configuration and policy are valid as files an
// operator and a privacy officer would write, and the app accepts the
// pair (every rule's type allowed by the policy).
func TestSetup(t *testing.T) {
	pol, err := Policy()
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := Config("rtsp://127.0.0.1:8554/Streaming/Channels/101", 19090)
	if err != nil {
		t.Fatal(err)
	}
	types := app.ConfigEventTypes(cfg)
	for _, typ := range []string{"line_crossing", "loitering", "person_down", "intrusion"} {
		if !strings.Contains(strings.Join(types, " "), typ) {
			t.Errorf("the demo camera has no %s rule: %v", typ, types)
		}
	}
	if _, err := pol.CheckAgainst([]string{CameraID}, types); err != nil {
		t.Errorf("the demo policy refuses the demo camera: %v", err)
	}
	for _, f := range []string{"zone", "count", "class"} {
		if !pol.AllowsField(f) {
			t.Errorf("the demo policy does not allow the field %s", f)
		}
	}
	if !pol.AllowsSnapshots() || !pol.Anonymisation.Persons {
		t.Error("the demo policy does not allow anonymised snapshots with persons covered")
	}
	if pol.Name == policy.DefaultName {
		t.Error("the demo runs the built-in policy")
	}
}

// TestTranscript: messages become one readable line each; an image is
// announced, never printed.
func TestTranscript(t *testing.T) {
	pol, err := Policy()
	if err != nil {
		t.Fatal(err)
	}
	var jp bytes.Buffer
	if err := jpeg.Encode(&jp, image.NewGray(image.Rect(0, 0, 64, 36)), nil); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		topic   string
		payload []byte
		want    string
	}{
		{"edgeguard/demo-box/square-north/events",
			[]byte(`{"event_id":"0190-aaaa-bbbbcccc","camera":"square-north","type":"loitering","phase":"start","score":0.9,"zone":"door","class":"person","policy":{"name":"demo"}}`),
			`EVENT   square-north  loitering     START  score 0.90  event bbbbcccc  policy demo  zone door  class person`},
		{"edgeguard/demo-box/square-north/snapshot/0190-aaaa-bbbbcccc", jp.Bytes(),
			`SNAPSHOT square-north  of loitering  event bbbbcccc  JPEG 64x36, `},
		{"edgeguard/demo-box/square-north/snapshot/other", []byte("\xff\xd8garbage\x00\nmore"),
			`SNAPSHOT square-north  of situation  event other  not a JPEG, 0.0 kB`},
		{"edgeguard/demo-box/health",
			[]byte(`{"face_detector":"none","snapshots_withheld":2,"snapshots_withheld_reason":"models: blazeface: model file missing:\n install it"}`),
			`HEALTH  face detector none, snapshots withheld 2, dropped 0  images withheld: models: blazeface: model file missing: install it`},
		{"edgeguard/demo-box/policy", []byte("{\"a\":\n1}"), `MQTT    edgeguard/demo-box/policy = {"a": 1}`},
	}
	missing := fmt.Errorf("models: blazeface-back-256: %w: looked for /x\n/y", models.ErrMissing)
	if got, want := snapshotNote("", missing), "snapshots: images withheld: models: blazeface-back-256: model file missing: looked for /x /y — events still leave"; !strings.HasPrefix(got, want) {
		t.Errorf("without the model: %q, want it to start with %q", got, want)
	}
	if got := snapshotNote("/m/blazeface.onnx", nil); !strings.Contains(got, "BlazeFace (/m/blazeface.onnx)") || strings.Contains(got, "withheld") {
		t.Errorf("with the model: %q", got)
	}
	var buf bytes.Buffer
	tr := &transcript{w: &buf, pol: pol, types: map[string]string{}}
	for _, tt := range tests {
		buf.Reset()
		tr.message(tt.topic, tt.payload)
		got := buf.String()
		if !strings.Contains(got, tt.want) || strings.Count(got, "\n") != 1 || !strings.HasSuffix(got, "\n") {
			t.Errorf("%s: got %q, want one line containing %q", tt.topic, got, tt.want)
		}
	}
}
