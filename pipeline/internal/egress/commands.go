package egress

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"

	mqtt "github.com/eclipse/paho.mqtt.golang"
)

// The command topics under <command prefix>/<device>/ (docs/oversight.md):
// the guard subscribes to these and nothing else, so only commands under
// the configured prefix and for this device reach the service.
var commandFilters = []string{
	"analysis/set",      // the whole device
	"+/analysis/set",    // one camera
	"+/events/+/review", // a review of an event
}

// IsCommandTopic reports whether topic is one of the command topics under
// prefix for device (what ServeCommands subscribes to); the embedded
// broker seals exactly these with their publisher's certificate.
func IsCommandTopic(prefix, device, topic string) bool {
	base := prefix + "/" + device + "/"
	rest, ok := strings.CutPrefix(topic, base)
	if !ok {
		return false
	}
	got := strings.Split(rest, "/")
	for _, f := range commandFilters {
		want := strings.Split(f, "/")
		if len(want) != len(got) {
			continue
		}
		match := true
		for i, w := range want {
			match = match && got[i] != "" && (w == "+" || w == got[i])
		}
		if match {
			return true
		}
	}
	return false
}

// resultSuffixes are the only reply topics PublishCommandResult accepts:
// a command's topic plus "/result".
var resultSuffixes = []string{"/analysis/set/result", "/review/result"}

// Command is one message received on a command topic.
type Command struct {
	// Levels are the topic's levels below <command prefix>/<device>, e.g.
	// ["cam1", "analysis", "set"].
	Levels  []string
	Payload []byte
}

// CommandsConfig configures ServeCommands.
type CommandsConfig struct {
	// Prefix is the command prefix (one or more topic levels); commands
	// are <Prefix>/<device>/...
	Prefix string
	// Handle is called for each command, one at a time, on a goroutine of
	// the guard's own, never on the MQTT client's.
	Handle func(Command)
	// QueueSize bounds the commands waiting for Handle; those over it are
	// dropped and counted (Dropped). 0 → 64.
	QueueSize int
}

// commandServer is the state of ServeCommands.
type commandServer struct {
	cfg     CommandsConfig
	queue   chan Command
	dropped atomic.Uint64
}

// ServeCommands subscribes to the command topics under cfg.Prefix for
// this device, on every (re)connect (a clean session forgets
// subscriptions; a persistent one keeps them, and subscribing again is
// harmless). Call it before Connect so that commands the broker kept for
// a persistent session are routed too. Payloads are handed to cfg.Handle
// through a bounded queue: the MQTT client's goroutine never waits on the
// service. What comes in never leaves: only PublishCommandResult's replies
// do, and they are the service's own words.
func (g *Guard) ServeCommands(cfg CommandsConfig) error {
	if cfg.Handle == nil {
		return errors.New("egress: commands: no handler")
	}
	if err := validPrefix(cfg.Prefix); err != nil {
		return fmt.Errorf("egress: command prefix: %w", err)
	}
	if cfg.QueueSize <= 0 {
		cfg.QueueSize = 64
	}
	s := &commandServer{cfg: cfg, queue: make(chan Command, cfg.QueueSize)}
	if !g.cmds.CompareAndSwap(nil, s) {
		return errors.New("egress: commands: ServeCommands called twice")
	}
	base := cfg.Prefix + "/" + g.cfg.Device + "/"
	for _, f := range commandFilters {
		g.client.AddRoute(base+f, func(_ mqtt.Client, m mqtt.Message) { g.receive(s, base, m) })
	}
	go g.handleCommands(s)
	if g.client.IsConnectionOpen() {
		g.subscribeCommands(g.client)
	}
	return nil
}

// receive runs on paho's goroutine: it only queues.
func (g *Guard) receive(s *commandServer, base string, m mqtt.Message) {
	if m.Retained() {
		// A retained command would be obeyed again on every reconnect.
		s.dropped.Add(1)
		g.log.Warn("mqtt command ignored: retained (publish commands without the retain flag)", "topic", m.Topic())
		return
	}
	topic := m.Topic()
	if !strings.HasPrefix(topic, base) {
		return
	}
	c := Command{Levels: strings.Split(strings.TrimPrefix(topic, base), "/"), Payload: append([]byte(nil), m.Payload()...)}
	select {
	case s.queue <- c:
	default:
		s.dropped.Add(1)
		g.log.Warn("mqtt command dropped: too many commands waiting", "topic", topic, "queue", cap(s.queue))
	}
}

func (g *Guard) handleCommands(s *commandServer) {
	for {
		select {
		case c := <-s.queue:
			s.cfg.Handle(c)
		case <-g.closing:
			return
		}
	}
}

// subscribeCommands is called by onConnect; it does not wait for the
// broker's SUBACK (onConnect runs on paho's goroutine).
func (g *Guard) subscribeCommands(c mqtt.Client) {
	s := g.cmds.Load()
	if s == nil {
		return
	}
	base := s.cfg.Prefix + "/" + g.cfg.Device + "/"
	filters := map[string]byte{}
	for _, f := range commandFilters {
		filters[base+f] = 1
	}
	tok := c.SubscribeMultiple(filters, nil) // routed by AddRoute
	go func() {
		select {
		case <-tok.Done():
			if err := tok.Error(); err != nil {
				g.log.Error("mqtt command topics not subscribed; commands are not received until the next connect", "prefix", s.cfg.Prefix, "err", err)
				return
			}
			g.log.Info("mqtt command topics subscribed", "prefix", s.cfg.Prefix)
		case <-g.closing:
		}
	}()
}

// CommandDropped is how many commands were dropped (queue full, retained).
func (g *Guard) CommandDropped() uint64 {
	if s := g.cmds.Load(); s != nil {
		return s.dropped.Load()
	}
	return 0
}

// PublishCommandResult publishes v as JSON at QoS 1, not retained, on
// <command prefix>/<device>/<sub>, where sub must be a command's topic
// below the device with "/result" appended (…/analysis/set/result,
// …/review/result): the reply to that command. Nothing else can be sent
// this way; v must be the service's own reply (ok, error, the state), never
// what the command carried.
func (g *Guard) PublishCommandResult(ctx context.Context, sub string, v any) error {
	s := g.cmds.Load()
	if s == nil {
		g.failed.Add(1)
		return errors.New("egress: command result without ServeCommands")
	}
	ok := false
	for _, suf := range resultSuffixes {
		ok = ok || strings.HasSuffix("/"+sub, suf)
	}
	levels := strings.Split(sub, "/")
	for _, l := range levels {
		if err := validSegment(l); err != nil {
			ok = false
		}
	}
	if !ok || len(levels) > 6 {
		g.failed.Add(1)
		return fmt.Errorf("egress: %q is not a command result topic", sub)
	}
	payload, err := json.Marshal(v)
	if err != nil {
		g.failed.Add(1)
		return fmt.Errorf("egress: encode command result: %w", err)
	}
	return g.publish(ctx, s.cfg.Prefix+"/"+g.cfg.Device+"/"+sub, payload, false)
}
