package console

// Login sessions: kept in memory only (a restart logs everyone out), named
// by a random 256-bit id in an HttpOnly, SameSite=Strict cookie (Secure
// under TLS), each ending 12 h after the login or 30 min after its last
// request, whichever comes first. A session is only as good as its user:
// every request looks the user up in the users file in force, so a user
// removed (or given another role) by a reload is out (or changed) at once.

import (
	"crypto/rand"
	"encoding/base64"
	"net/http"
	"sync"
	"time"
)

// Session limits.
const (
	loginLifetime = 12 * time.Hour
	loginIdle     = 30 * time.Minute
	maxLogins     = 1024
	cookieName    = "edgeguard_session"
)

// login is one logged-in session.
type login struct {
	user       string
	role       Role
	csrf       string
	start, use time.Time
}

// loginStore holds the sessions by id.
type loginStore struct {
	now  func() time.Time
	mu   sync.Mutex
	byID map[string]*login
}

func newLoginStore() *loginStore {
	return &loginStore{now: time.Now, byID: map[string]*login{}}
}

// token is a random 256-bit value, URL-safe.
func token() string {
	b := make([]byte, 32)
	rand.Read(b) // never fails (crypto/rand)
	return base64.RawURLEncoding.EncodeToString(b)
}

// create starts a session for user; false when maxLogins are open.
func (s *loginStore) create(user string, role Role) (id string, l *login, ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	if len(s.byID) >= maxLogins {
		s.expireLocked(now)
		if len(s.byID) >= maxLogins {
			return "", nil, false
		}
	}
	id = token()
	l = &login{user: user, role: role, csrf: token(), start: now, use: now}
	s.byID[id] = l
	return id, l, true
}

func (s *loginStore) expireLocked(now time.Time) {
	for id, l := range s.byID {
		if s.expired(l, now) {
			delete(s.byID, id)
		}
	}
}

func (s *loginStore) expired(l *login, now time.Time) bool {
	return now.Sub(l.start) >= loginLifetime || now.Sub(l.use) >= loginIdle
}

// get is the request's session, nil when it has none that is valid under
// users (expired, unknown, or its user gone). A valid one is touched, and
// its role follows users.
func (s *loginStore) get(r *http.Request, users *Users) *login {
	ck, err := r.Cookie(cookieName)
	if err != nil || ck.Value == "" {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	l := s.byID[ck.Value]
	if l == nil {
		return nil
	}
	now := s.now()
	role, ok := users.role(l.user)
	if s.expired(l, now) || !ok {
		delete(s.byID, ck.Value)
		return nil
	}
	l.use, l.role = now, role
	cp := *l
	return &cp
}

// end ends the request's session; the user's name, "" if there was none.
func (s *loginStore) end(r *http.Request) string {
	ck, err := r.Cookie(cookieName)
	if err != nil {
		return ""
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	l := s.byID[ck.Value]
	delete(s.byID, ck.Value)
	if l == nil {
		return ""
	}
	return l.user
}

// cookie is the session cookie for id; maxAge < 0 deletes it.
func cookie(id string, maxAge int, secure bool) *http.Cookie {
	return &http.Cookie{
		Name: cookieName, Value: id, Path: "/", MaxAge: maxAge,
		HttpOnly: true, Secure: secure, SameSite: http.SameSiteStrictMode,
	}
}

// Failed logins: at most failLimit per failWindow per source address and
// per user name; more are refused (429, Retry-After) without comparing a
// hash.
const (
	failLimit  = 5
	failWindow = time.Minute
	maxFailKey = 4096
)

// limiter counts failed logins by key.
type limiter struct {
	now  func() time.Time
	mu   sync.Mutex
	fail map[string][]time.Time
}

func newLimiter() *limiter { return &limiter{now: time.Now, fail: map[string][]time.Time{}} }

// wait is how long key must wait before its next try; 0: it may try now.
func (l *limiter) wait(key string) time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	ts := l.recentLocked(key, now)
	if len(ts) < failLimit {
		return 0
	}
	return ts[len(ts)-failLimit].Add(failWindow).Sub(now)
}

// failed counts a failed try of key.
func (l *limiter) failed(key string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	if len(l.fail) >= maxFailKey {
		for k := range l.fail {
			l.recentLocked(k, now)
		}
	}
	if len(l.fail) >= maxFailKey {
		// Full of recent failures: forget one key rather than grow; the
		// per-address limit still holds for the others.
		for k := range l.fail {
			delete(l.fail, k)
			break
		}
	}
	l.fail[key] = append(l.recentLocked(key, now), now)
}

// recentLocked drops key's failures older than failWindow.
func (l *limiter) recentLocked(key string, now time.Time) []time.Time {
	ts := l.fail[key]
	i := 0
	for i < len(ts) && now.Sub(ts[i]) >= failWindow {
		i++
	}
	ts = ts[i:]
	if len(ts) == 0 {
		delete(l.fail, key)
		return nil
	}
	l.fail[key] = ts
	return ts
}
