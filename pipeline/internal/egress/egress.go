// Package egress is the one way data leaves an edgeguard box.
//
// Invariant 3 of the architecture: everything that leaves the device passes
// one egress guard that applies the active privacy policy. Guard is that
// guard, and this package is the only non-test package allowed to import the
// MQTT client (TestOnlyEgressImportsMQTTClient enforces it), so there is no
// other path to the network to forget a policy check on.
package egress

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"sync"
	"sync/atomic"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"
	"github.com/eclipse/paho.mqtt.golang/packets"

	"github.com/edgeguard/edgeguard/internal/redact"
	"github.com/edgeguard/edgeguard/pipeline/event"
	"github.com/edgeguard/edgeguard/pipeline/internal/audit"
)

// Rules is what the guard needs from a privacy policy; *policy.Policy
// implements it. Field names are "score", "zone", "count" and "boxes".
//
// Events are judged at the time they happened (Event.At), never at the time
// they are sent: an event the outbox delivers late gets the decision it
// would have got live.
type Rules interface {
	Identity() (name, sha256 string)
	// AllowsType: events of this type may leave at all.
	AllowsType(eventType string) bool
	// AllowsEventAt: the type is allowed and at is inside the schedule.
	AllowsEventAt(eventType string, at time.Time) bool
	AllowsField(field string) bool
	// MaxEventsPerMinute is the rate limit; see limiter for its scope.
	// Below 1 nothing leaves.
	MaxEventsPerMinute() int
}

// Errors callers can test with errors.Is.
var (
	// ErrSuppressed: the active rules do not let this event leave; it was
	// dropped on purpose and counted. The errors below say why; each of them
	// is also ErrSuppressed.
	ErrSuppressed = errors.New("egress: suppressed by policy")
	// ErrTypeNotAllowed: the policy does not allow the event type (or the
	// event belongs to a situation whose start was withheld for this reason).
	ErrTypeNotAllowed = fmt.Errorf("%w: event type not allowed", ErrSuppressed)
	// ErrOutsideSchedule: the event happened outside egress.schedule (or
	// belongs to a situation whose start did).
	ErrOutsideSchedule = fmt.Errorf("%w: outside the schedule", ErrSuppressed)
	// ErrRateLimited: over egress.max_events_per_minute (or the event
	// belongs to a situation whose start was).
	ErrRateLimited = fmt.Errorf("%w: over max_events_per_minute", ErrSuppressed)
	// ErrQueued: ctx ended before the broker acknowledged the message, but
	// the message stays queued and will be (re)sent after a reconnect. Do not
	// publish it again.
	ErrQueued = errors.New("egress: not acknowledged yet, message stays queued")
	// ErrBacklog: too many messages await the broker's acknowledgement
	// (Config.MaxPending); the message was dropped so memory stays bounded
	// during a long outage.
	ErrBacklog = errors.New("egress: too many unacknowledged messages, dropped")
	// ErrClosed: the guard was closed.
	ErrClosed = errors.New("egress: guard closed")
	// ErrNotConnected: with Config.CleanSession, nothing is accepted before
	// the first connection is up; publish again later.
	ErrNotConnected = errors.New("egress: not connected yet (clean session: nothing is queued before the first connect)")
	// ErrBadCredentials: the broker refused the user name and password, or
	// the client certificate. Connect returns it at once; the guard keeps
	// retrying in the background in case the broker side is fixed.
	ErrBadCredentials = errors.New("egress: the broker refused the credentials")
	// ErrUntrustedBroker: the broker's TLS certificate does not verify
	// against the configured CA (or the system's) or does not carry the
	// expected name. Connect returns it at once; nothing is sent to such a
	// broker, not even the password.
	ErrUntrustedBroker = errors.New("egress: the broker's TLS certificate is not trusted")
)

// Config configures the guard's MQTT session.
type Config struct {
	// Broker is tcp://host:port (also mqtt://, or ssl://, tls://, mqtts://
	// for TLS). It must not carry credentials; use Username and Password.
	Broker string
	// ClientID must be stable across restarts (the broker keeps the session
	// under it); "" means "edgeguard-<Device>".
	ClientID string
	// TopicPrefix may have several levels ("site/edgeguard"); Device is one.
	TopicPrefix, Device string
	// Username and Password authenticate to the broker. The password is
	// sent only after the broker's certificate verified (with TLS) and is
	// never logged; the caller reads it from a file or the environment.
	Username, Password string
	// TLS is used for ssl://, tls:// and mqtts:// brokers (nil: verify
	// against the system's CAs) and must be nil for the others.
	// InsecureSkipVerify is honoured but logged as a warning by New.
	TLS *tls.Config
	// CleanSession false (the zero value) keeps a persistent session: the
	// broker keeps the session under ClientID, and unacknowledged messages
	// are resent after every reconnect, including those published before
	// the first connect succeeded. true asks the broker for a fresh session
	// on every connect; paho then discards what was queued before the first
	// connect, so until that connect PublishEvent refuses with
	// ErrNotConnected (retry later) instead of queueing into the void.
	CleanSession   bool
	KeepAlive      time.Duration // 0 → 30s
	ConnectTimeout time.Duration // 0 → 10s
	// ReconnectMax caps the back-off between reconnect attempts; 0 → 30s.
	ReconnectMax time.Duration
	// MaxPending bounds messages awaiting a broker acknowledgement (queued
	// while disconnected or in flight); 0 → 1000.
	MaxPending int
	Logger     *slog.Logger
	// Audit, if set, is told of every event admitted (once the broker
	// acknowledged it) or withheld, and of every image that left: the
	// audit trail (pipeline/internal/audit). It is called on the
	// publishing goroutine and must not block for long.
	Audit Auditor
}

// Auditor records what the guard decided; *audit.Log's adapter in
// pipeline/app implements it.
type Auditor interface {
	Record(audit.Record)
}

// LogValue keeps the password out of logs even if someone logs the Config.
func (c Config) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("broker", c.Broker),
		slog.String("client_id", c.ClientID),
		slog.String("topic_prefix", c.TopicPrefix),
		slog.String("device", c.Device),
		slog.Bool("auth", c.Username != "" || c.Password != ""),
		slog.Bool("tls", c.TLS != nil),
		slog.Bool("client_cert", c.TLS != nil && len(c.TLS.Certificates) > 0),
		slog.Bool("clean_session", c.CleanSession),
	)
}

// Stats are counters since New.
type Stats struct {
	Published  uint64 // acknowledged by the broker (see PublishEvent on reconnects)
	Suppressed uint64 // messages withheld by the rules (events and anything else)
	// Withheld events by reason. Messages of a situation whose start was
	// withheld count under the start's reason.
	SuppressedType, SuppressedSchedule, SuppressedRate uint64
	Stripped                                           uint64 // optional fields removed from published events
	Dropped                                            uint64 // refused with ErrBacklog
	Failed                                             uint64 // invalid messages and publish errors
	Pending                                            int    // awaiting acknowledgement, as last observed
	Connects                                           uint64 // successful (re)connections
	Connected                                          bool
	// Republished counts retained messages sent again after a reconnect
	// (see retainedState), acknowledged by the broker.
	Republished uint64
}

// Guard owns the MQTT session and applies the active Rules to every event.
// It is safe for concurrent use.
type Guard struct {
	cfg         Config
	log         *slog.Logger
	client      mqtt.Client
	statusTopic string
	rules       atomic.Pointer[rulesRef]
	dial        func(ctx context.Context, network, addr string) (net.Conn, error) // tests

	connectOnce sync.Once
	closeOnce   sync.Once
	closing     chan struct{}
	statusMu    sync.Mutex    // orders device status publishes (onConnect, Close)
	online      chan struct{} // closed once the first "online" was acknowledged
	onlineOnce  sync.Once
	connected   atomic.Bool // a connection has been up (see Config.CleanSession)

	waiting     atomic.Int64 // publishers waiting for their token
	mu          sync.Mutex
	abandoned   map[mqtt.Token]struct{} // tokens whose publisher's ctx ended
	lastConnErr error
	unreachable bool          // logged "unreachable" for the current outage
	attempt     chan struct{} // closed and replaced after each failed connect
	takeover    *takeoverWatch

	limMu sync.Mutex // orders the limiter's decisions
	lim   *limiter

	ret         retainedState // latest retained payloads, re-published after reconnects
	republished atomic.Uint64

	cmds atomic.Pointer[commandServer] // ServeCommands (commands.go)

	published, suppressed, stripped, dropped, failed, connects atomic.Uint64
	suppressedBy                                               [ReasonRate + 1]atomic.Uint64 // events, by Reason
}

type rulesRef struct{ r Rules }

// New validates cfg and prepares the session; nothing is sent until Connect.
// rules must not be nil: the guard does not run without a policy.
func New(cfg Config, rules Rules) (*Guard, error) {
	return newGuard(cfg, rules, nil)
}

func newGuard(cfg Config, rules Rules, dial func(context.Context, string, string) (net.Conn, error)) (*Guard, error) {
	if rules == nil {
		return nil, errors.New("egress: no policy rules")
	}
	u, err := url.Parse(cfg.Broker)
	if err != nil {
		// url errors quote the input, which could hold a password.
		return nil, errors.New("egress: broker URL does not parse")
	}
	if u.User != nil || redact.HasCredentials(cfg.Broker) {
		return nil, errors.New("egress: broker URL must not contain credentials; use Username and Password")
	}
	switch u.Scheme {
	case "tcp", "mqtt":
		if cfg.TLS != nil {
			return nil, fmt.Errorf("egress: TLS settings given, but the broker URL scheme %q is not encrypted; use tls:// or ssl://", u.Scheme)
		}
	case "ssl", "tls", "mqtts":
		if cfg.TLS == nil {
			cfg.TLS = &tls.Config{MinVersion: tls.VersionTLS12} // system CAs
		} else {
			cfg.TLS = cfg.TLS.Clone() // the caller's value may change later
		}
	default:
		return nil, fmt.Errorf("egress: broker URL scheme %q not supported (tcp, mqtt, ssl, tls, mqtts)", u.Scheme)
	}
	if u.Host == "" {
		return nil, errors.New("egress: broker URL has no host")
	}
	if err := validPrefix(cfg.TopicPrefix); err != nil {
		return nil, fmt.Errorf("egress: topic prefix: %w", err)
	}
	if err := validSegment(cfg.Device); err != nil {
		return nil, fmt.Errorf("egress: device: %w", err)
	}
	if cfg.ClientID == "" {
		cfg.ClientID = "edgeguard-" + cfg.Device
	}
	if cfg.KeepAlive <= 0 {
		cfg.KeepAlive = 30 * time.Second
	}
	if cfg.ConnectTimeout <= 0 {
		cfg.ConnectTimeout = 10 * time.Second
	}
	if cfg.ReconnectMax <= 0 {
		cfg.ReconnectMax = 30 * time.Second
	}
	if cfg.MaxPending <= 0 {
		cfg.MaxPending = 1000
	}
	log := cfg.Logger
	if log == nil {
		log = slog.Default()
	}
	g := &Guard{
		cfg:         cfg,
		log:         log.With("component", "egress", "broker", redact.URL(cfg.Broker)),
		statusTopic: deviceTopic(cfg.TopicPrefix, cfg.Device, "status"),
		dial:        dial,
		closing:     make(chan struct{}),
		online:      make(chan struct{}),
		abandoned:   make(map[mqtt.Token]struct{}),
		attempt:     make(chan struct{}),
		lim:         newLimiter(),
		ret:         newRetainedState(),
		takeover:    newTakeoverWatch(cfg.ClientID, cfg.ReconnectMax),
	}
	if cfg.TLS != nil && cfg.TLS.InsecureSkipVerify {
		g.log.Warn("TLS certificate verification of the MQTT broker is OFF (insecure_skip_verify): " +
			"anyone on the network path can pose as the broker and read events and the MQTT password; use it for tests only")
	}
	g.rules.Store(&rulesRef{rules})
	g.client = mqtt.NewClient(g.clientOptions())
	return g, nil
}

func (g *Guard) clientOptions() *mqtt.ClientOptions {
	o := mqtt.NewClientOptions().
		AddBroker(g.cfg.Broker).
		SetClientID(g.cfg.ClientID).
		SetUsername(g.cfg.Username).
		SetPassword(g.cfg.Password).
		SetProtocolVersion(4).
		// See Config.CleanSession.
		SetCleanSession(g.cfg.CleanSession).
		SetKeepAlive(g.cfg.KeepAlive).
		SetConnectTimeout(g.cfg.ConnectTimeout).
		SetAutoReconnect(true).
		SetConnectRetry(true).
		SetConnectRetryInterval(time.Second).
		SetMaxReconnectInterval(g.cfg.ReconnectMax).
		SetWriteTimeout(g.cfg.ConnectTimeout).
		SetStore(newCopyStore()).
		SetBinaryWill(g.statusTopic, []byte(event.DeviceOffline), 1, true).
		SetOnConnectHandler(g.onConnect).
		SetConnectionLostHandler(g.onConnectionLost).
		SetConnectionNotificationHandler(g.onNotification)
	if g.cfg.TLS != nil {
		o.SetTLSConfig(g.cfg.TLS)
	}
	if g.dial != nil {
		o.SetCustomOpenConnectionFn(func(u *url.URL, _ mqtt.ClientOptions) (net.Conn, error) {
			ctx, cancel := context.WithTimeout(context.Background(), g.cfg.ConnectTimeout)
			defer cancel()
			conn, err := g.dial(ctx, "tcp", u.Host)
			if err != nil || g.cfg.TLS == nil {
				return conn, err
			}
			c := g.cfg.TLS.Clone()
			if c.ServerName == "" {
				c.ServerName = u.Hostname()
			}
			tc := tls.Client(conn, c)
			if err := tc.HandshakeContext(ctx); err != nil {
				conn.Close()
				return nil, err
			}
			return tc, nil
		})
	}
	return o
}

// Connect starts the session and returns once it is up and "online" is
// published (paho runs the connect handler asynchronously, so the token alone
// does not say the device status is out). If ctx ends first it
// returns an error, but the guard keeps connecting in the background and
// publishes queue meanwhile, so a broker that is down at boot does not stop
// the service; Close ends the attempts.
//
// An attempt that fails in a way waiting will not fix returns at once with
// ErrBadCredentials or ErrUntrustedBroker (the guard still retries in the
// background).
func (g *Guard) Connect(ctx context.Context) error {
	var tok mqtt.Token
	g.connectOnce.Do(func() {
		g.startRepublisher()
		tok = g.client.Connect()
	})
	if tok == nil {
		return errors.New("egress: Connect called twice")
	}
	if err := g.wait(ctx, tok.Done()); err != nil {
		return err
	}
	if err := tok.Error(); err != nil {
		return fmt.Errorf("egress: connect: %w", err)
	}
	return g.wait(ctx, g.online)
}

func (g *Guard) wait(ctx context.Context, done <-chan struct{}) error {
	for {
		g.mu.Lock()
		attempt := g.attempt
		g.mu.Unlock()
		select {
		case <-done:
			return nil
		case <-g.closing:
			return ErrClosed
		case <-attempt:
			g.mu.Lock()
			last := g.lastConnErr
			g.mu.Unlock()
			if err := refusal(last); err != nil {
				return err
			}
		case <-ctx.Done():
			g.mu.Lock()
			last := g.lastConnErr
			g.mu.Unlock()
			if last != nil {
				return fmt.Errorf("egress: broker not reachable yet (last attempt: %v), retrying in the background: %w", last, ctx.Err())
			}
			return fmt.Errorf("egress: broker not reachable yet, retrying in the background: %w", ctx.Err())
		}
	}
}

// refusal turns a failed connect that retrying cannot fix into
// ErrBadCredentials or ErrUntrustedBroker, with what the operator should
// check; nil for failures that may go away (network, broker down). The
// messages come from paho and crypto/tls, which never quote the password.
func refusal(err error) error {
	if err == nil {
		return nil
	}
	var (
		unknownCA x509.UnknownAuthorityError
		invalid   x509.CertificateInvalidError
		hostname  x509.HostnameError
		verify    *tls.CertificateVerificationError
	)
	switch {
	case errors.Is(err, packets.ErrorRefusedBadUsernameOrPassword), errors.Is(err, packets.ErrorRefusedNotAuthorised):
		return fmt.Errorf("%w: check mqtt.username and the password (%v)", ErrBadCredentials, err)
	case errors.As(err, &unknownCA), errors.As(err, &invalid), errors.As(err, &hostname), errors.As(err, &verify):
		return fmt.Errorf("%w: check mqtt.tls.ca_file and server_name (%v)", ErrUntrustedBroker, err)
	case clientCertRejected(err):
		return fmt.Errorf("%w: the broker rejected the client certificate; check mqtt.tls.cert_file and key_file (%v)", ErrBadCredentials, err)
	}
	return nil
}

// onConnect runs on every (re)connect: the broker published our Last Will
// ("offline") when the previous connection died, so say "online" again. If
// Close is under way (paho may finish a connection attempt that Close
// interrupted, then disconnect cleanly, which suppresses the Will) it says
// "offline" instead. statusMu orders this against Close's own "offline".
// After a reconnect it asks for the retained topics to be published again
// (see retainedState), once "online" is out.
func (g *Guard) onConnect(c mqtt.Client) {
	g.connected.Store(true)
	n := g.connects.Add(1)
	g.mu.Lock()
	g.lastConnErr, g.unreachable = nil, false
	g.mu.Unlock()
	g.takeover.connected()
	g.log.Info("mqtt connected", "client_id", g.cfg.ClientID)
	g.subscribeCommands(c) // commands.go; nothing without ServeCommands

	g.statusMu.Lock()
	state := event.DeviceOnline
	select {
	case <-g.closing:
		state = event.DeviceOffline
	default:
	}
	tok := c.Publish(g.statusTopic, 1, true, state)
	g.statusMu.Unlock()
	select {
	case <-tok.Done():
		if err := tok.Error(); err != nil {
			g.log.Warn("mqtt device status not published", "state", state, "err", err)
			return
		}
		g.onlineOnce.Do(func() { close(g.online) })
		if n > 1 && state == event.DeviceOnline {
			// The broker may have come back empty (no persistence):
			// every retained topic again, after "online", off this
			// goroutine.
			g.requestRepublish()
		}
	case <-g.closing:
	}
}

func (g *Guard) onConnectionLost(_ mqtt.Client, err error) {
	g.log.Warn("mqtt connection lost, reconnecting", "err", err)
	if msg := g.takeover.lost(err); msg != "" {
		g.log.Error(msg, "client_id", g.cfg.ClientID, "losses_in_a_row", takeoverLosses)
	}
}

// onNotification logs the first failed attempt of an outage only: paho
// retries forever and one line per attempt would flood the log.
func (g *Guard) onNotification(_ mqtt.Client, n mqtt.ConnectionNotification) {
	f, ok := n.(mqtt.ConnectionNotificationFailed)
	if !ok {
		return
	}
	g.mu.Lock()
	g.lastConnErr = f.Reason
	first := !g.unreachable
	g.unreachable = true
	close(g.attempt)
	g.attempt = make(chan struct{})
	g.mu.Unlock()
	if !first {
		return
	}
	if err := refusal(f.Reason); err != nil {
		g.log.Error("mqtt connection refused, retrying", "err", err)
	} else {
		g.log.Warn("mqtt broker unreachable, retrying", "err", f.Reason)
	}
}

// SetRules swaps the active rules. Each message is checked against one
// consistent set: a publish already past its check keeps the rules it read.
// nil rules suppress every event until real rules are set (fail closed).
func (g *Guard) SetRules(r Rules) {
	if r == nil {
		r = denyAll{}
	}
	g.rules.Store(&rulesRef{r})
	name, sum := r.Identity()
	g.log.Info("egress rules changed", "policy", name, "sha256", sum)
}

// Stats returns the counters.
func (g *Guard) Stats() Stats {
	return Stats{
		Published:  g.published.Load(),
		Suppressed: g.suppressed.Load(),

		SuppressedType:     g.suppressedBy[ReasonType].Load(),
		SuppressedSchedule: g.suppressedBy[ReasonSchedule].Load(),
		SuppressedRate:     g.suppressedBy[ReasonRate].Load(),
		Stripped:           g.stripped.Load(),
		Dropped:            g.dropped.Load(),
		Failed:             g.failed.Load(),
		Pending:            g.prunePending(),
		Connects:           g.connects.Load(),
		Connected:          g.client.IsConnectionOpen(),
		Republished:        g.republished.Load(),
	}
}

// CloseTimeout bounds Close's wait for the broker to acknowledge "offline".
const CloseTimeout = 5 * time.Second

// Close is Drain bounded by CloseTimeout: for the paths that have no
// shutdown deadline of their own (a start that fails half-way, tests).
func (g *Guard) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), CloseTimeout)
	defer cancel()
	return g.Drain(ctx)
}

// Drain ends the session gracefully: it publishes "offline" on the device
// status topic (retained), then disconnects cleanly, which tells the broker
// not to send the Last Will. If the broker is unreachable the Will has
// already said "offline". Messages still queued are discarded. ctx bounds
// the wait for the broker; paho's own reconnect goroutine, if one is
// sleeping in its back-off, exits when it wakes (at most ReconnectMax
// later). The re-publisher of retained topics (see retainedState) stops
// before the disconnect. Drain and Close are idempotent: the first call
// closes the guard, later ones return nil.
func (g *Guard) Drain(ctx context.Context) error {
	var err error
	g.closeOnce.Do(func() {
		g.statusMu.Lock()
		close(g.closing)
		var tok mqtt.Token
		if g.client.IsConnectionOpen() {
			tok = g.client.Publish(g.statusTopic, 1, true, event.DeviceOffline)
		}
		g.statusMu.Unlock()
		if tok != nil {
			select {
			case <-tok.Done():
				err = tok.Error()
			case <-ctx.Done():
				err = ctx.Err()
			}
			if err != nil {
				err = fmt.Errorf("egress: offline status: %w", err)
			}
		}
		// The re-publisher sees closing and stops between two topics.
		g.mu.Lock()
		stopped := g.ret.done
		g.mu.Unlock()
		if stopped != nil {
			select {
			case <-stopped:
			case <-ctx.Done():
			}
		}
		quiesce := 250 * time.Millisecond
		if d, ok := ctx.Deadline(); ok {
			quiesce = min(quiesce, max(time.Until(d), time.Millisecond))
		}
		g.client.Disconnect(uint(quiesce / time.Millisecond))
		g.log.Info("mqtt disconnected")
	})
	return err
}

// clientCertRejected reports a TLS alert from the broker about our
// certificate. crypto/tls reports alerts received over TCP as a
// *net.OpError "remote error" around an unexported type, so only the text
// tells them apart.
func clientCertRejected(err error) bool {
	var op *net.OpError
	if !errors.As(err, &op) || op.Op != "remote error" {
		return false
	}
	switch op.Err.Error() {
	case "tls: bad certificate", "tls: certificate required", "tls: unknown certificate authority",
		"tls: certificate expired", "tls: certificate revoked", "tls: unsupported certificate":
		return true
	}
	return false
}

// denyAll stands in for missing rules: nothing may leave.
type denyAll struct{}

func (denyAll) Identity() (string, string)           { return "deny-all", "" }
func (denyAll) AllowsType(string) bool               { return false }
func (denyAll) AllowsEventAt(string, time.Time) bool { return false }
func (denyAll) AllowsField(string) bool              { return false }
func (denyAll) MaxEventsPerMinute() int              { return 0 }
