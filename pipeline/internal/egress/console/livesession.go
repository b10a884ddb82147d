package console

// Live-view sessions on record: every viewer who watched a camera's live
// picture is in the log (at start and end) and in the audit trail (at end,
// through the egress guard), so that an auditor can answer "who saw the
// cameras' pictures, which, and when". A session is one viewer (the
// login's user name, or "local" without one, and the remote address)
// watching one camera: it starts with the first picture delivered to them
// and ends when none was for SessionIdle, or when the console closes.

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"
)

// SessionRecorder records an ended live-view session (the egress guard
// writes the audit record; *egress.Guard implements it).
type SessionRecorder interface {
	LiveSession(camera, session, who string, from, to time.Time, pictures int)
}

// LiveSession defaults.
const (
	// defSessionIdle: a viewer who got no picture of a camera for this
	// long has stopped watching it (the page asks twice a second).
	defSessionIdle = 10 * time.Second
	// maxSessions bounds the sessions tracked; more viewers get no
	// picture (503) rather than one off the record.
	maxSessions = 64
)

// Errors of the session tracker, answered with 503.
var (
	errTooManySessions = fmt.Errorf("more than %d live-view sessions at once; no picture leaves off the record", maxSessions)
	errConsoleClosed   = errors.New("the console is shutting down; no picture leaves off the record")
)

type sessionKey struct{ who, camera string }

// liveSession is one viewer watching one camera.
type liveSession struct {
	id, who, camera string
	from, last      time.Time
	pictures        int
}

// stopper is a *time.Timer as the tracker needs it.
type stopper interface{ Stop() bool }

// sessions tracks the live-view sessions. A timer (not a goroutine of its
// own) ends idle sessions; it runs only while sessions are open, and Close
// stops it and ends all.
type sessions struct {
	idle   time.Duration
	max    int
	now    func() time.Time
	after  func(time.Duration, func()) stopper
	rec    SessionRecorder // nil: log only
	log    *slog.Logger
	mu     sync.Mutex
	open   map[sessionKey]*liveSession
	timer  stopper
	closed bool
}

func newSessions(idle time.Duration, rec SessionRecorder, log *slog.Logger) *sessions {
	if idle <= 0 {
		idle = defSessionIdle
	}
	return &sessions{
		idle: idle, max: maxSessions, now: time.Now, rec: rec, log: log,
		after: func(d time.Duration, f func()) stopper { return time.AfterFunc(d, f) },
		open:  map[sessionKey]*liveSession{},
	}
}

// viewer is who asks: the user name of the request's login ("local"
// without one) and the remote host, so that two browsers of one user are
// two sessions.
func viewer(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	name, _ := userOf(r)
	if name == "" {
		name = "local"
	}
	return name + " " + host
}

// delivered counts one picture of camera delivered to who, starting a
// session if there is none; an error means the picture must not leave.
func (s *sessions) delivered(who, camera string) error {
	s.mu.Lock()
	ended, err := s.deliveredLocked(who, camera)
	s.mu.Unlock()
	s.endAll(ended)
	return err
}

func (s *sessions) deliveredLocked(who, camera string) ([]*liveSession, error) {
	if s.closed {
		return nil, errConsoleClosed
	}
	now := s.now()
	ended := s.expireLocked(now)
	k := sessionKey{who, camera}
	if ls := s.open[k]; ls != nil {
		ls.last = now
		ls.pictures++
		return ended, nil
	}
	if len(s.open) >= s.max {
		return ended, errTooManySessions
	}
	ls := &liveSession{id: sessionID(), who: who, camera: camera, from: now, last: now, pictures: 1}
	s.open[k] = ls
	s.log.Info("live view session started", "session", ls.id, "who", who, "camera", camera, "from", now.UTC().Format(time.RFC3339Nano))
	if s.timer == nil {
		s.timer = s.after(s.idle, s.sweep)
	}
	return ended, nil
}

// expireLocked removes the sessions idle for s.idle at now and returns
// them, to be ended outside the lock.
func (s *sessions) expireLocked(now time.Time) []*liveSession {
	var ended []*liveSession
	for k, ls := range s.open {
		if now.Sub(ls.last) >= s.idle {
			ended = append(ended, ls)
			delete(s.open, k)
		}
	}
	return ended
}

// sweep ends the idle sessions and re-arms the timer for the next one to
// become idle, or stops when none is open.
func (s *sessions) sweep() {
	s.mu.Lock()
	now := s.now()
	ended := s.expireLocked(now)
	s.timer = nil
	if !s.closed && len(s.open) > 0 {
		next := s.idle
		for _, ls := range s.open {
			if d := s.idle - now.Sub(ls.last); d < next {
				next = d
			}
		}
		s.timer = s.after(max(next, time.Millisecond), s.sweep)
	}
	s.mu.Unlock()
	s.endAll(ended)
}

// Close ends every open session (recorded with its last picture as its
// end) and refuses pictures from then on.
func (s *sessions) Close() {
	s.mu.Lock()
	s.closed = true
	if s.timer != nil {
		s.timer.Stop()
		s.timer = nil
	}
	ended := make([]*liveSession, 0, len(s.open))
	for k, ls := range s.open {
		ended = append(ended, ls)
		delete(s.open, k)
	}
	s.mu.Unlock()
	s.endAll(ended)
}

func (s *sessions) endAll(ended []*liveSession) {
	for _, ls := range ended {
		s.log.Info("live view session ended", "session", ls.id, "who", ls.who, "camera", ls.camera,
			"from", ls.from.UTC().Format(time.RFC3339Nano), "to", ls.last.UTC().Format(time.RFC3339Nano), "pictures", ls.pictures)
		if s.rec != nil {
			s.rec.LiveSession(ls.camera, ls.id, ls.who, ls.from, ls.last, ls.pictures)
		}
	}
}

// sessionID is a random id: it names a session, not a person.
func sessionID() string {
	var b [8]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// Close ends the open live-view sessions (each recorded) and refuses live
// pictures from then on. The service calls it at shutdown.
func (c *Console) Close() error {
	c.sess.Close()
	return nil
}
