package egress

import (
	"errors"
	"fmt"
	"io"
	"sync"
	"syscall"
	"time"
)

// takeoverLosses is how many connections in a row must end that way
// before the guard says a client-id takeover is the likely cause: one or
// two are what a broker restart or a network blip looks like.
const takeoverLosses = 3

// takeoverWatch recognises a client-id takeover. An MQTT broker allows one
// session per client id: when a second client connects with the same id
// (the same config started twice, two boxes with the same device id, or
// the same mqtt.client_id), the broker closes the first one's connection,
// which reconnects and closes the second's, and so on. Each client sees
// nothing but "connection lost: EOF" shortly after every connect, which
// reads like a flaky network; this turns the pattern into one error that
// names the cause.
type takeoverWatch struct {
	clientID string
	// window: a loss within it after the connect counts as "right after".
	// paho backs off between reconnects up to ReconnectMax, so in a
	// takeover loop a connection lives up to about that long.
	window time.Duration
	now    func() time.Time

	mu     sync.Mutex
	upAt   time.Time // the current connection came up
	short  int       // losses in a row that were EOF within window
	warned bool      // said so for the current run of such losses
}

func newTakeoverWatch(clientID string, reconnectMax time.Duration) *takeoverWatch {
	return &takeoverWatch{clientID: clientID, window: max(2*reconnectMax, 10*time.Second), now: time.Now}
}

// connected notes that a connection came up.
func (w *takeoverWatch) connected() {
	w.mu.Lock()
	w.upAt = w.now()
	w.mu.Unlock()
}

// lost notes that the connection was lost with err and returns the error
// message to log when the loss completes the pattern, once per run of such
// losses; "" otherwise.
func (w *takeoverWatch) lost(err error) string {
	w.mu.Lock()
	defer w.mu.Unlock()
	up := w.upAt
	w.upAt = time.Time{}
	if !closedByPeer(err) || up.IsZero() || w.now().Sub(up) >= w.window {
		w.short, w.warned = 0, false
		return ""
	}
	w.short++
	if w.short < takeoverLosses || w.warned {
		return ""
	}
	w.warned = true
	return fmt.Sprintf("the broker keeps closing the connection right after connecting: another client is probably using client id %s "+
		"(a second edgeguard with the same device or mqtt.client_id?)", w.clientID)
}

// closedByPeer: the broker closed the connection (EOF, or a reset), as it
// does to the older of two sessions with one client id.
func closedByPeer(err error) bool {
	return errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, syscall.ECONNRESET)
}
