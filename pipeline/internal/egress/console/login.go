package console

// Log in, log out, and the session's state (docs/console.md "Login").

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"time"
)

// sessionBody is GET /api/session (and a login's answer).
type sessionBody struct {
	// User is "" when not logged in (or no logins are configured).
	User string `json:"user"`
	// Role is the role ("viewer" without a users file; "" when logins
	// are required and the request has none).
	Role string `json:"role"`
	// CSRF is the token every non-GET request sends as X-CSRF-Token.
	CSRF string `json:"csrf"`
	// Login says whether this console has logins (a users file).
	Login bool `json:"login"`
	// Can says what the page may offer: saving zones (an operator, with
	// http.allow_edit) and the policy tools (an officer, or anyone
	// without logins: they only compare).
	Can canBody `json:"can"`
	// SaveRefusal is why saving is not offered (for the page to say).
	SaveRefusal string `json:"save_refusal,omitempty"`
}

type canBody struct {
	Save   bool `json:"save"`
	Policy bool `json:"policy"`
}

// loginRequest is POST /api/login.
type loginRequest struct {
	User     string `json:"user"`
	Password string `json:"password"`
}

const maxLoginBody = 4 << 10

func (c *Console) authRoutes(mux *http.ServeMux) {
	mux.HandleFunc("GET /api/session", c.session)
	mux.HandleFunc("POST /api/login", c.loginHandler)
	mux.HandleFunc("POST /api/logout", c.logout)
}

func (c *Console) sessionOf(r *http.Request, l *login) sessionBody {
	body := sessionBody{Login: c.loginsOn(), CSRF: c.processCSRF}
	name, role := userOf(r)
	if l != nil {
		name, role, body.CSRF = l.user, l.role, l.csrf
	}
	body.User = name
	if !body.Login || name != "" {
		body.Role = role.String()
		body.Can.Policy = !body.Login || role.may(RoleOfficer)
	}
	body.SaveRefusal = c.saveRefusal(body.Login, name, role)
	body.Can.Save = body.SaveRefusal == ""
	return body
}

func (c *Console) session(w http.ResponseWriter, r *http.Request) {
	var l *login
	if c.loginsOn() {
		l = c.logins.get(r, c.users.Load())
	}
	writeJSON(w, http.StatusOK, c.sessionOf(r, l))
}

// remoteHost is the request's source address without the port.
func remoteHost(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

func (c *Console) loginHandler(w http.ResponseWriter, r *http.Request) {
	users := c.users.Load()
	if users == nil {
		writeError(w, http.StatusNotFound, "this console has no logins (http.users_file is not set)")
		return
	}
	var req loginRequest
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil || dec.Decode(&struct{}{}) != io.EOF {
		writeError(w, http.StatusBadRequest, `the body must be JSON {"user": "…", "password": "…"}`)
		return
	}
	host := remoteHost(r)
	name := req.User
	if len(name) > 64 || !userName.MatchString(name) {
		name = "(invalid name)"
	}
	// Both limits: one address trying many users, many addresses trying
	// one user.
	if d := max(c.fails.wait("addr "+host), c.fails.wait("user "+name)); d > 0 {
		secs := int((d + time.Second - 1) / time.Second)
		w.Header().Set("Retry-After", strconv.Itoa(secs))
		c.log.Warn("console: login refused: too many failed logins", "user", name, "remote", r.RemoteAddr, "retry_after_s", secs)
		writeError(w, http.StatusTooManyRequests, fmt.Sprintf("too many failed logins (%d a minute); try again in %d s", failLimit, secs))
		return
	}
	role, ok := users.check(req.User, []byte(req.Password))
	if !ok {
		c.fails.failed("addr " + host)
		c.fails.failed("user " + name)
		c.log.Warn("console: login failed", "user", name, "remote", r.RemoteAddr)
		writeError(w, http.StatusUnauthorized, "wrong user or password")
		return
	}
	// A login ends the session the browser had (no session fixation).
	c.logins.end(r)
	id, l, ok := c.logins.create(req.User, role)
	if !ok {
		writeError(w, http.StatusServiceUnavailable, fmt.Sprintf("more than %d sessions are open; try again later", maxLogins))
		return
	}
	http.SetCookie(w, cookie(id, int(loginLifetime/time.Second), r.TLS != nil))
	c.log.Info("console: login", "user", l.user, "role", l.role.String(), "remote", r.RemoteAddr)
	writeJSON(w, http.StatusOK, c.sessionOf(r, l))
}

func (c *Console) logout(w http.ResponseWriter, r *http.Request) {
	if name := c.logins.end(r); name != "" {
		c.log.Info("console: logout", "user", name, "remote", r.RemoteAddr)
	}
	http.SetCookie(w, cookie("", -1, r.TLS != nil))
	writeJSON(w, http.StatusOK, sessionBody{Login: c.loginsOn(), CSRF: c.processCSRF})
}
