package mosquittotest

import (
	"crypto/tls"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"
)

// Message is one message a Subscription received.
type Message struct {
	Topic    string
	Payload  []byte
	Retained bool // true when delivered from the broker's retained store
	Received time.Time
}

// Subscription records every message on a topic filter, in arrival order.
// It resubscribes after a reconnect, so it survives Broker.Restart; messages
// published while it was disconnected are missed (clean session).
type Subscription struct {
	client mqtt.Client
	filter string

	mu      sync.Mutex
	msgs    []Message
	changed chan struct{} // closed and replaced on every new message
}

var subscriberSeq atomic.Uint64

// Subscribe connects to url, subscribes to topicFilter at QoS 1 and returns
// once the broker acknowledged the subscription (so retained messages are on
// their way). The client is disconnected in t.Cleanup.
func Subscribe(t testing.TB, url, topicFilter string) *Subscription {
	t.Helper()
	return SubscribeWith(t, url, topicFilter, ClientOptions{})
}

// ClientOptions authenticate a subscriber to a broker started with
// StartWith.
type ClientOptions struct {
	TLS                *tls.Config // for ssl:// URLs, e.g. PKI.ClientTLS()
	Username, Password string
	// ClientID, if set, makes a persistent session (clean session off)
	// under this id: with a persistent broker, messages published while the
	// subscriber is reconnecting are queued for it, not lost.
	ClientID string
}

// SubscribeWith is Subscribe with TLS and/or a user name and password.
func SubscribeWith(t testing.TB, url, topicFilter string, co ClientOptions) *Subscription {
	t.Helper()
	s := &Subscription{filter: topicFilter, changed: make(chan struct{})}
	subscribed := make(chan error, 1)
	var once sync.Once

	opts := mqtt.NewClientOptions().
		AddBroker(url).
		SetClientID(fmt.Sprintf("mosquittotest-sub-%d-%d", os.Getpid(), subscriberSeq.Add(1))).
		SetProtocolVersion(4).
		SetCleanSession(co.ClientID == "").
		SetAutoReconnect(true).
		SetConnectRetry(true).
		SetConnectRetryInterval(100 * time.Millisecond).
		SetMaxReconnectInterval(250 * time.Millisecond).
		SetConnectTimeout(5 * time.Second).
		SetOnConnectHandler(func(c mqtt.Client) {
			// Runs on every (re)connect: a clean session forgets subscriptions.
			tok := c.Subscribe(topicFilter, 1, s.record)
			tok.Wait()
			once.Do(func() { subscribed <- tok.Error() })
		})
	if co.TLS != nil {
		opts.SetTLSConfig(co.TLS)
	}
	if co.ClientID != "" {
		opts.SetClientID(co.ClientID)
	}
	if co.Username != "" {
		opts.SetUsername(co.Username).SetPassword(co.Password)
	}
	s.client = mqtt.NewClient(opts)
	s.client.Connect()
	t.Cleanup(s.Close)

	select {
	case err := <-subscribed:
		if err != nil {
			t.Fatalf("mosquittotest: subscribe %q at %s: %v", topicFilter, url, err)
		}
	case <-time.After(readyTimeout):
		t.Fatalf("mosquittotest: no subscription to %q at %s within %v", topicFilter, url, readyTimeout)
	}
	return s
}

func (s *Subscription) record(_ mqtt.Client, m mqtt.Message) {
	msg := Message{
		Topic:    m.Topic(),
		Payload:  append([]byte(nil), m.Payload()...),
		Retained: m.Retained(),
		Received: time.Now(),
	}
	s.mu.Lock()
	s.msgs = append(s.msgs, msg)
	close(s.changed)
	s.changed = make(chan struct{})
	s.mu.Unlock()
}

// Messages returns a copy of everything received so far.
func (s *Subscription) Messages() []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Message(nil), s.msgs...)
}

// WaitFor blocks until pred accepts the messages received so far and returns
// them. timeout only guards against a hung test: reaching it fails the test
// and prints what was received, it is not an assertion on speed.
func (s *Subscription) WaitFor(t testing.TB, pred func([]Message) bool, timeout time.Duration) []Message {
	t.Helper()
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		s.mu.Lock()
		msgs := append([]Message(nil), s.msgs...)
		changed := s.changed
		s.mu.Unlock()
		if pred(msgs) {
			return msgs
		}
		select {
		case <-changed:
		case <-deadline.C:
			t.Fatalf("mosquittotest: condition on %q not met within %v; received:\n%s", s.filter, timeout, Dump(msgs))
			return nil
		}
	}
}

// Close disconnects the subscriber. It is idempotent.
func (s *Subscription) Close() {
	s.client.Disconnect(250)
}

// Dump formats messages for failure output.
func Dump(msgs []Message) string {
	var b strings.Builder
	for _, m := range msgs {
		fmt.Fprintf(&b, "  %s %s retained=%v %s\n", m.Received.Format("15:04:05.000"), m.Topic, m.Retained, m.Payload)
	}
	if len(msgs) == 0 {
		b.WriteString("  (nothing)\n")
	}
	return b.String()
}

// HasIDs is a WaitFor condition: among the messages are JSON payloads
// with every one of ids as their "id" (edgeguard's event messages; a
// redelivery counts once).
func HasIDs(ids ...string) func([]Message) bool {
	return func(msgs []Message) bool {
		got := map[string]bool{}
		for _, m := range msgs {
			var p struct {
				ID string `json:"id"`
			}
			if json.Unmarshal(m.Payload, &p) == nil {
				got[p.ID] = true
			}
		}
		for _, id := range ids {
			if !got[id] {
				return false
			}
		}
		return true
	}
}
