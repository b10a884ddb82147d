package egress

import (
	"log/slog"
	"strconv"
	"sync"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"
)

// orderClient records the order in which payloads are handed to paho.
type orderClient struct {
	mqtt.Client // only Publish is used
	mu          sync.Mutex
	sent        map[string][]int
}

func (c *orderClient) Publish(topic string, _ byte, _ bool, payload any) mqtt.Token {
	n, _ := strconv.Atoi(string(payload.([]byte)))
	c.mu.Lock()
	c.sent[topic] = append(c.sent[topic], n)
	c.mu.Unlock()
	return doneToken{}
}

type doneToken struct{}

func (doneToken) Wait() bool                     { return true }
func (doneToken) WaitTimeout(time.Duration) bool { return true }
func (doneToken) Error() error                   { return nil }
func (doneToken) Done() <-chan struct{} {
	c := make(chan struct{})
	close(c)
	return c
}

// TestRepublishNeverSendsOlder: whatever the interleaving of publishes and
// re-publish rounds, paho receives each topic's values in the order they
// were published (a repeat of the latest is fine, an older value after a
// newer one is not), so the broker ends with the newest.
func TestRepublishNeverSendsOlder(t *testing.T) {
	oc := &orderClient{sent: map[string][]int{}}
	g := &Guard{client: oc, closing: make(chan struct{}), ret: newRetainedState()}
	g.log = slog.New(slog.DiscardHandler)
	topics := []string{"p/a", "p/b", "p/c"}
	const n = 2000
	stop, done := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		for {
			select {
			case <-stop:
				return
			default:
			}
			g.republish()
		}
	}()
	var wg sync.WaitGroup
	for _, topic := range topics {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range n {
				g.publishRetained(topic, []byte(strconv.Itoa(i)))
			}
		}()
	}
	wg.Wait()
	close(stop)
	<-done
	for _, topic := range topics {
		seq := oc.sent[topic]
		for i := 1; i < len(seq); i++ {
			if seq[i] < seq[i-1] {
				t.Fatalf("%s: %d handed to paho after %d", topic, seq[i], seq[i-1])
			}
		}
		if last := seq[len(seq)-1]; last != n-1 {
			t.Errorf("%s: last value sent %d, want %d", topic, last, n-1)
		}
	}
}
