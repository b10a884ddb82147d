package outbox

import (
	"bufio"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/edgeguard/edgeguard/internal/testlog"
	"github.com/edgeguard/edgeguard/pipeline/event"
)

const (
	crashDirEnv  = "EDGEGUARD_OUTBOX_CRASH_DIR"
	crashSyncEnv = "EDGEGUARD_OUTBOX_CRASH_SYNC"
)

// TestCrashChild is the process TestKill9LosesNothing kills: it appends
// events as fast as it can and prints "stored <id>" once each is on disk
// (and synced, in the "always" rounds), and "sent <id>" when its publisher acknowledges one (after
// up to 2 ms, so the log holds a mix of delivered and waiting events when
// the kill comes).
func TestCrashChild(t *testing.T) {
	dir := os.Getenv(crashDirEnv)
	if dir == "" {
		t.Skip("only run as the child of TestKill9LosesNothing")
	}
	out := bufio.NewWriter(os.Stdout)
	var mu sync.Mutex
	say := func(s string) {
		mu.Lock()
		fmt.Fprintln(out, s)
		out.Flush() // every line reaches the parent before the next step
		mu.Unlock()
	}
	mode, err := ParseSync(os.Getenv(crashSyncEnv))
	if err != nil {
		t.Fatal(err)
	}
	o, err := New(Config{Publisher: &crashPublisher{say: say}, Dir: dir, Sync: mode, Logger: testlog.Discard(), SegmentBytes: 8 << 10})
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; ; i++ {
		id := fmt.Sprintf("e%07d", i)
		if err := o.Event(context.Background(), ev(id)); err != nil {
			t.Fatal(err)
		}
		// Event returns before the disk has the event (the writer writes
		// it in its next batch): "stored" is said once it has.
		if err := o.flush(context.Background()); err != nil {
			t.Fatal(err)
		}
		say("stored " + id)
	}
}

type crashPublisher struct{ say func(string) }

func (p *crashPublisher) PublishEvent(ctx context.Context, ev event.Event) error {
	time.Sleep(time.Duration(rand.IntN(2000)) * time.Microsecond)
	p.say("sent " + ev.ID)
	return nil
}

func (p *crashPublisher) PublishCameraStatus(context.Context, event.CameraStatus) error { return nil }

// TestKill9LosesNothing kills the child at a random moment and checks that
// a reopened outbox delivers every event the child was told was stored and
// that its publisher had not acknowledged, in order, each once. Half the
// rounds run without fsync: a killed process loses nothing the kernel
// already has (fsync is for power cuts, which a test cannot make).
func TestKill9LosesNothing(t *testing.T) {
	if testing.Short() {
		t.Skip("spawns processes")
	}
	seed := time.Now().UnixNano()
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(uint64(seed), 0))
	for round := range 4 {
		dir := t.TempDir()
		killAfter := 1 + rng.IntN(400)
		cmd := exec.Command(os.Args[0], "-test.run=^TestCrashChild$", "-test.count=1")
		mode := []string{"always", "never"}[round%2]
		cmd.Env = append(os.Environ(), crashDirEnv+"="+dir, crashSyncEnv+"="+mode)
		stdout, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		stored, sent := map[string]bool{}, map[string]bool{}
		var order []string
		sc := bufio.NewScanner(stdout)
		killed := false
		for sc.Scan() {
			kind, id, _ := strings.Cut(sc.Text(), " ")
			switch kind {
			case "stored":
				stored[id] = true
				order = append(order, id)
			case "sent":
				sent[id] = true
			}
			if !killed && len(order) == killAfter {
				cmd.Process.Kill() // SIGKILL; keep reading what it printed before
				killed = true
			}
		}
		cmd.Wait()
		if !killed {
			t.Fatalf("round %d: child ended before the kill after %d events", round, len(order))
		}

		pub := &recorder{}
		o := newOutbox(t, Config{Publisher: pub, Dir: dir})
		drain(t, o)
		got := pub.delivered()
		seen := map[string]bool{}
		for i, id := range got {
			if seen[id] {
				t.Fatalf("round %d: %s replayed twice", round, id)
			}
			seen[id] = true
			if i > 0 && id <= got[i-1] {
				t.Fatalf("round %d: replay out of order: %s after %s", round, id, got[i-1])
			}
		}
		missing := 0
		for _, id := range order {
			if !sent[id] && !seen[id] {
				missing++
				t.Errorf("round %d: %s was stored, never acknowledged, and not replayed", round, id)
			}
		}
		t.Logf("round %d (sync %s): killed after %d stored events (%d printed in all); %d acknowledged before the kill, %d replayed, %d lost",
			round, mode, killAfter, len(order), len(sent), len(got), missing)
	}
}
