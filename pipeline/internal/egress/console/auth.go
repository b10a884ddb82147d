package console

// Who may do what in the console. Three roles, not a ladder: every login
// may read what the console shows (viewer); an operator may also save
// zones and lines to the configuration; an officer may also use the policy
// tools. Operator and officer are separate on purpose: the one who tunes
// the detection is not the one who checks the privacy policy, and neither
// needs the other's power (a person who is both has two logins).
//
// Without a users file (http.users_file unset, loopback only) nobody logs
// in: every request is "" with the role viewer, so the console reads as it
// always did and nothing that changes the box is allowed.
//
// Every request that is not GET or HEAD must carry X-CSRF-Token (the
// session's token, or without a users file the per-process token GET
// /api/session hands out), and an Origin header, when the browser sends
// one, must be the console's own origin. A page of another site can make
// the browser send the cookie but can read neither token (no CORS), so it
// cannot forge a request.

import (
	"context"
	"crypto/subtle"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// Role is what a login may do.
type Role int

// The roles (users file: viewer, operator, officer).
const (
	RoleViewer   Role = iota + 1 // reads what the console shows
	RoleOperator                 // + saves zones and lines
	RoleOfficer                  // + the policy tools
)

// roleNames are the roles as the users file and the API spell them.
var roleNames = map[Role]string{RoleViewer: "viewer", RoleOperator: "operator", RoleOfficer: "officer"}

func (r Role) String() string {
	if n, ok := roleNames[r]; ok {
		return n
	}
	return "none"
}

// parseRole is a role by name.
func parseRole(s string) (Role, bool) {
	for r, n := range roleNames {
		if n == s {
			return r, true
		}
	}
	return 0, false
}

// may says whether a login of role r may do what needs role need: the
// same role, or viewer (which every role includes).
func (r Role) may(need Role) bool {
	return r == need || (need == RoleViewer && r >= RoleViewer)
}

// Header names of the CSRF check.
const (
	csrfHeader = "X-CSRF-Token"
)

type ctxKey struct{}

// who is the login a request was made with.
type who struct {
	name string
	role Role
}

// userOf is who made the request: the user name and role of its session,
// or ("", RoleViewer) without a users file.
func userOf(r *http.Request) (name string, role Role) {
	if w, ok := r.Context().Value(ctxKey{}).(who); ok {
		return w.name, w.role
	}
	return "", RoleViewer
}

// loginsOn says whether a users file is configured (logins required).
func (c *Console) loginsOn() bool { return c.users.Load() != nil }

// require lets h answer only a login that may act as role (401 without a
// session, 403 with one of another role). Without a users file only viewer
// routes answer; anything else is refused naming http.users_file.
func (c *Console) require(role Role, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		name, have := userOf(r)
		switch {
		case !c.loginsOn() && role != RoleViewer:
			writeError(w, http.StatusForbidden, fmt.Sprintf("this needs a login with the role %s, and this console has no logins: set http.users_file (docs/console.md)", role))
			return
		case c.loginsOn() && name == "":
			writeError(w, http.StatusUnauthorized, "log in first")
			return
		case !have.may(role):
			writeError(w, http.StatusForbidden, fmt.Sprintf("this needs the role %s; %s is %s", role, strconv.Quote(name), have))
			return
		}
		h.ServeHTTP(w, r)
	})
}

// public are the routes that answer without a login: the page itself (it
// shows the login form), its assets, the session state and login/logout.
func public(r *http.Request) bool {
	p := r.URL.Path
	switch {
	case p == "/" || strings.HasPrefix(p, "/static/"):
		return true
	case p == "/api/session" || p == "/api/login" || p == "/api/logout":
		return true
	}
	return false
}

// authenticate puts the request's login into its context, answers 401 for
// a non-public route without one (when logins are on), and refuses a
// non-GET request without the CSRF token or from another origin (403).
func (c *Console) authenticate(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var s *login
		c.refreshUsers()
		if c.loginsOn() {
			s = c.logins.get(r, c.users.Load())
			if s != nil {
				r = r.WithContext(context.WithValue(r.Context(), ctxKey{}, who{s.user, s.role}))
			} else if !public(r) {
				writeError(w, http.StatusUnauthorized, "log in first")
				return
			}
		}
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			want := c.processCSRF
			if s != nil {
				want = s.csrf
			}
			if err := checkCSRF(r, want); err != nil {
				c.log.Warn("console: request refused", "method", r.Method, "path", r.URL.Path, "remote", r.RemoteAddr, "why", err.Error())
				writeError(w, http.StatusForbidden, err.Error())
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}

// checkCSRF: the token must be want, and an Origin, when sent, this host.
func checkCSRF(r *http.Request, want string) error {
	got := r.Header.Get(csrfHeader)
	if got == "" || subtle.ConstantTimeCompare([]byte(got), []byte(want)) != 1 {
		return fmt.Errorf("missing or wrong %s header (get the token from GET /api/session; the console refuses requests other sites' pages could make)", csrfHeader)
	}
	return checkOrigin(r)
}

// checkOrigin: an Origin header, when a browser sends one, must be this
// console's own scheme and host.
func checkOrigin(r *http.Request) error {
	origin := r.Header.Get("Origin")
	if origin == "" {
		return nil
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	u, err := url.Parse(origin)
	if err != nil || u.Scheme != scheme || u.Host != r.Host || (u.Path != "" && u.Path != "/") {
		return fmt.Errorf("origin %s is not this console (%s://%s)", strconv.Quote(origin), scheme, r.Host)
	}
	return nil
}
