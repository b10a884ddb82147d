package app

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/edgeguard/edgeguard/pipeline/internal/video/codec"
)

// rssBytes reads the process's resident set (Go heap and C memory: gocv
// Mats, libavcodec buffers).
func rssBytes(t *testing.T) int64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Skip("no /proc")
	}
	for _, l := range strings.Split(string(b), "\n") {
		if f := strings.Fields(l); len(f) >= 2 && f[0] == "VmRSS:" {
			kb, _ := strconv.ParseInt(f[1], 10, 64)
			return kb << 10
		}
	}
	t.Fatal("no VmRSS")
	return 0
}

// TestMemoryFlatWithDeadBroker: 8 cameras with a person crossing every 6 s
// (time-compressed: about 10 situations a minute per camera, an hour's
// worth of a busy square in a minute) and a broker that never answers.
// Events pile up in the bounded durable outbox; frames keep flowing; the
// memory of the process must not grow with time.
func TestMemoryFlatWithDeadBroker(t *testing.T) {
	if testing.Short() {
		t.Skip("runs for a minute")
	}
	urls := map[string]string{}
	for i := range 8 {
		s := startCamera(t, codec.H264, pacer(), 6)
		urls[fmt.Sprintf("cam%d", i)] = s.URL()
	}
	cfg := testConfig(t, "tcp://127.0.0.1:1", urls) // nothing listens on port 1
	cfg.Outbox.Dir = t.TempDir()
	cfg.Outbox.MaxMB = 1
	for i := range cfg.Cameras {
		cfg.Cameras[i].Analysis.Width = 320
		cfg.Cameras[i].Motion.Warmup = time.Second
		cfg.Cameras[i].Motion.QuietTime = time.Second
		cfg.Cameras[i].Motion.UpdateInterval = time.Second
	}
	logs := &syncBuffer{}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- Run(ctx, Options{Config: cfg, Logger: jsonLogger(logs)}) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	}()

	sample := func() (int64, uint64) {
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		return rssBytes(t), ms.HeapInuse
	}
	// The clock starts when every camera streams: the start itself (the
	// connect attempt to the dead broker) is not the time being measured.
	for deadline := time.Now().Add(90 * time.Second); strings.Count(logs.String(), `"msg":"camera streaming"`) < len(urls); {
		if time.Now().After(deadline) {
			t.Fatalf("not every camera streams after 90 s:\n%s", logs.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
	time.Sleep(20 * time.Second) // warm-up: pools, decoder buffers, first events
	rss0, heap0 := sample()
	time.Sleep(40 * time.Second)
	rss1, heap1 := sample()
	events := len(produced(t, logs.String()))
	t.Logf("RSS %d → %d MiB, Go heap in use %d → %d MiB, %d events produced and held",
		rss0>>20, rss1>>20, heap0>>20, heap1>>20, events)
	if events < 40 {
		t.Fatalf("only %d events produced: the scene did not exercise the outbox", events)
	}
	// Flat: allow for allocator noise, not for growth with time.
	if grow := rss1 - rss0; grow > 24<<20 {
		t.Errorf("RSS grew by %d MiB in 40 s with a dead broker", grow>>20)
	}
	if grow := int64(heap1) - int64(heap0); grow > 16<<20 {
		t.Errorf("Go heap grew by %d MiB in 40 s with a dead broker", grow>>20)
	}
}
