package app

import (
	"bufio"
	"context"
	"encoding/json"
	"log/slog"
	"maps"
	"math/rand/v2"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/edgeguard/edgeguard/internal/testlog"

	"github.com/edgeguard/edgeguard/internal/mosquittotest"
	"github.com/edgeguard/edgeguard/pipeline/event"
	"github.com/edgeguard/edgeguard/pipeline/internal/video/codec"
	"github.com/edgeguard/edgeguard/pipeline/tools/scene"
	"github.com/edgeguard/edgeguard/pipeline/tools/simcam"
)

// syncBuffer collects what goroutines of the code under test log.
type syncBuffer = testlog.Buffer

func jsonLogger(w *syncBuffer) *slog.Logger { return slog.New(slog.NewJSONHandler(w, nil)) }

// produced lists the event messages the cameras created, from the
// service's JSON log ("motion start|update|end" lines carry id and seq).
func produced(t *testing.T, log string) map[string]string {
	ids := map[string]string{} // id → camera
	sc := bufio.NewScanner(strings.NewReader(log))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var l struct {
			Msg, ID, Camera string
		}
		if json.Unmarshal(sc.Bytes(), &l) == nil && strings.HasPrefix(l.Msg, "motion ") && l.ID != "" {
			ids[l.ID] = l.Camera
		}
	}
	return ids
}

// pacer is a short clip in which a person crosses every 6 s.
func pacer() scene.Config {
	sc := scene.Walker(320, 180, 25)
	sc.Objects[0].Appear, sc.Objects[0].Disappear = 500*time.Millisecond, 3500*time.Millisecond
	return sc
}

// TestChaos kills and restarts the broker and the cameras at random
// moments while people keep walking through; afterwards every event the
// pipeline produced was received, exactly once after de-duplication by id,
// and in order per camera.
func TestChaos(t *testing.T) {
	if testing.Short() {
		t.Skip("chaos run")
	}
	mq := mosquittotest.StartWith(t, mosquittotest.Options{Persistence: true})
	sub := mosquittotest.SubscribeWith(t, mq.URL(), "edgeguard/e2e/+/events", mosquittotest.ClientOptions{ClientID: "chaos-control-room"})

	type camServer struct {
		mu  sync.Mutex
		srv *simcam.Server
		cfg simcam.Config
	}
	start := func(cfg simcam.Config) *simcam.Server {
		s, err := simcam.Start(cfg)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	cams := map[string]*camServer{}
	urls := map[string]string{}
	for _, id := range []string{"north", "south"} {
		cfg := simcam.Config{Addr: "127.0.0.1:0", Path: "cam", Codec: codec.H264, Scene: pacer(), ClipSeconds: 6, Audio: true}
		s := start(cfg)
		u, _ := url.Parse(s.URL())
		cfg.Addr = u.Host // restarts come back on the same port
		cams[id] = &camServer{srv: s, cfg: cfg}
		urls[id] = s.URL()
	}
	defer func() {
		for _, c := range cams {
			c.mu.Lock()
			if c.srv != nil {
				c.srv.Close()
			}
			c.mu.Unlock()
		}
	}()

	cfg := testConfig(t, mq.URL(), urls)
	cfg.Outbox.Dir = t.TempDir()
	for i := range cfg.Cameras {
		cfg.Cameras[i].Motion.Warmup = time.Second
		cfg.Cameras[i].Motion.QuietTime = time.Second
		cfg.Cameras[i].Motion.UpdateInterval = time.Second
	}
	logs := &syncBuffer{}
	logger := jsonLogger(logs)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- Run(ctx, Options{Config: cfg, Logger: logger}) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	}()

	// Chaos: 40 s of seeded random outages of 0.5–3 s.
	rng := rand.New(rand.NewPCG(7, 11))
	end := time.Now().Add(40 * time.Second)
	outages := map[string]int{}
	for time.Now().Before(end) {
		time.Sleep(time.Duration(500+rng.IntN(2500)) * time.Millisecond)
		down := time.Duration(500+rng.IntN(2500)) * time.Millisecond
		switch rng.IntN(3) {
		case 0:
			mq.Stop()
			time.Sleep(down)
			mq.Restart()
			outages["broker"]++
		default:
			id := []string{"north", "south"}[rng.IntN(2)]
			c := cams[id]
			c.mu.Lock()
			c.srv.Close()
			c.srv = nil
			c.mu.Unlock()
			time.Sleep(down)
			c.mu.Lock()
			c.srv = start(c.cfg)
			c.mu.Unlock()
			outages[id]++
		}
	}
	t.Logf("outages: %v", outages)

	// Everything produced so far must arrive.
	want := produced(t, logs.String())
	if len(want) < 6 {
		t.Fatalf("only %d events produced during the chaos run", len(want))
	}
	msgs := sub.WaitFor(t, mosquittotest.HasIDs(slices.Collect(maps.Keys(want))...), 90*time.Second)

	seen := map[string]bool{}
	lastSeq := map[string]uint64{}
	dups := 0
	for _, m := range msgs {
		var ev event.Event
		if err := json.Unmarshal(m.Payload, &ev); err != nil {
			t.Fatalf("%s: %v", m.Topic, err)
		}
		if seen[ev.ID] {
			dups++
			continue
		}
		seen[ev.ID] = true
		if ev.Seq <= lastSeq[ev.Camera] {
			t.Errorf("%s: seq %d after %d: out of order", ev.Camera, ev.Seq, lastSeq[ev.Camera])
		}
		lastSeq[ev.Camera] = ev.Seq
	}
	t.Logf("%d events produced, %d received once, %d duplicates removed by id", len(want), len(seen), dups)
}
