package egress

import (
	"maps"
	"slices"
	"sync"

	mqtt "github.com/eclipse/paho.mqtt.golang"
)

// retainedState is the latest payload of every retained topic the guard
// published (PublishRetained, PublishCameraStatus), so that it can publish
// them all again after a reconnect.
//
// Why: a broker without persistence, or one that was replaced, comes back
// empty. Without this a subscriber arriving after the reconnect sees only
// "online" and whatever changed since: not the policy in force (the
// auditors' topic), not a rejected edit, not the health, not a camera that
// keeps failing with "unauthorized" (it publishes nothing new), until the
// next change or a SIGHUP. The guard is the only path to the network, so it
// is the one place that knows every retained value. The map holds one
// payload per topic: bounded by the number of cameras and device topics,
// never by the number of messages.
type retainedState struct {
	// mu is held across recording a topic's value and handing it to paho,
	// in publish and in the re-publish alike, so paho gets the values of a
	// topic in the order they were recorded and the last one it sends is
	// the newest: a re-publish never puts an older value behind a newer
	// one. (paho's Publish only queues; the wait for the broker is outside.)
	mu     sync.Mutex
	latest map[string][]byte
	// kick asks the re-publisher for a round; one pending round covers any
	// number of reconnects, since each round sends the latest values.
	kick chan struct{}
	done chan struct{} // closed when the re-publisher has stopped; nil before Connect (under Guard.mu)
}

func newRetainedState() retainedState {
	return retainedState{latest: map[string][]byte{}, kick: make(chan struct{}, 1)}
}

// publishRetained records payload as topic's latest value and queues it
// with paho, both under ret.mu (see retainedState.mu).
func (g *Guard) publishRetained(topic string, payload []byte) mqtt.Token {
	g.ret.mu.Lock()
	defer g.ret.mu.Unlock()
	g.ret.latest[topic] = payload
	return g.client.Publish(topic, 1, true, payload)
}

// startRepublisher starts the goroutine that re-publishes the retained
// state, unless Close has begun. Close stops it.
func (g *Guard) startRepublisher() {
	g.mu.Lock()
	defer g.mu.Unlock()
	select {
	case <-g.closing:
		return
	default:
	}
	g.ret.done = make(chan struct{})
	go func() {
		defer close(g.ret.done)
		for {
			select {
			case <-g.closing:
				return
			case <-g.ret.kick:
			}
			g.republish()
		}
	}()
}

// requestRepublish asks for a round without waiting: onConnect runs on
// paho's goroutine, which must not be held up.
func (g *Guard) requestRepublish() {
	select {
	case g.ret.kick <- struct{}{}:
	default: // a round is already pending; it sends the latest values
	}
}

// republish publishes every remembered retained topic again with its latest
// value and waits for the broker's acknowledgements (or Close). One log line
// per round: rounds happen once per reconnect.
func (g *Guard) republish() {
	g.ret.mu.Lock()
	topics := slices.Sorted(maps.Keys(g.ret.latest))
	g.ret.mu.Unlock()
	if len(topics) == 0 {
		return
	}
	toks := make([]mqtt.Token, 0, len(topics))
	for _, topic := range topics {
		select {
		case <-g.closing:
			return
		default:
		}
		g.ret.mu.Lock()
		tok := g.client.Publish(topic, 1, true, g.ret.latest[topic])
		g.ret.mu.Unlock()
		toks = append(toks, tok)
	}
	failed := 0
	for _, tok := range toks {
		select {
		case <-tok.Done():
			if tok.Error() != nil {
				failed++
			}
		case <-g.closing:
			return
		}
	}
	g.republished.Add(uint64(len(toks) - failed))
	if failed > 0 {
		g.log.Warn("mqtt retained state re-published in part; the rest follows the next reconnect", "topics", len(toks), "failed", failed)
		return
	}
	g.log.Info("mqtt retained state re-published", "topics", len(toks))
}
