// Package console is edgeguard's web console, served by the service itself
// on http.addr next to /metrics: the cameras' state, the recent events as
// the control room received them, the live picture where the policy allows
// it, and an editor that turns zones and lines drawn on the picture into
// the YAML of the configuration and the policy (docs/console.md).
//
// It is part of egress because it is a way out of the box: its handler is
// only ever served wrapped by the egress guard (Config.Gate, required), so
// every byte it sends passes the guard, and its data come only from what
// already passed it: events the guard published (Ring), pictures the
// snapshot path anonymised and the guard judged (LiveSource). The page and
// its assets are embedded: the browser loads nothing from any other host.
//
// With a users file (http.users_file) every request but the page itself
// needs a login (auth.go, session.go, users.go), and what changes the box
// needs a role; off loopback the service serves it only over TLS with a
// users file (pipeline/config refuses anything else).
package console

import (
	"context"
	"crypto/sha256"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/edgeguard/edgeguard/pipeline/event"
)

//go:embed assets
var assets embed.FS

// Errors a LiveSource returns; the console answers each with its status
// and the error's text as the JSON reason.
var (
	// ErrLiveViewNotAllowed → 403: the policy does not allow live view.
	ErrLiveViewNotAllowed = errors.New("live view is not allowed by the policy in force (egress.live_view: false)")
	// ErrNotReady → 503: the anonymiser (face detector) cannot anonymise
	// now; no picture leaves without it.
	ErrNotReady = errors.New("the anonymiser is not ready; no picture leaves without it")
	// ErrNoPicture → 503: the camera delivers no picture now.
	ErrNoPicture = errors.New("the camera delivers no picture now")
	// ErrUnknownCamera → 404.
	ErrUnknownCamera = errors.New("unknown camera")
)

// Gate is the egress guard as the console needs it: every response passes
// it (*egress.Guard implements it).
type Gate interface {
	HTTP(h http.Handler) http.Handler
}

// CameraSource lists the running cameras, sorted by id.
type CameraSource interface {
	Cameras() []Camera
}

// StatusSource is the device's health and the policy in force.
type StatusSource interface {
	Device() Device
}

// LiveSource makes one anonymised picture of a camera (JPEG without
// metadata, judged by the guard), or one of the errors above.
type LiveSource interface {
	LiveJPEG(ctx context.Context, camera string) ([]byte, error)
}

// Camera is one camera as /api/cameras shows it.
type Camera struct {
	ID     string `json:"id"`
	State  string `json:"state"`
	Codec  string `json:"codec,omitempty"`
	Width  int    `json:"width,omitempty"`
	Height int    `json:"height,omitempty"`
	// FPS is the stream's frame rate.
	FPS   float64 `json:"fps,omitempty"`
	Since string  `json:"since,omitempty"`
	Error string  `json:"error,omitempty"`
	// Drops are access units dropped because decoding fell behind and
	// analysis frames replaced before analysis took them.
	Drops      Drops  `json:"drops"`
	Reconnects uint64 `json:"reconnects"`
	Rules      Rules  `json:"rules"`
	// LastEvent is the newest event of the camera the guard published.
	LastEvent *EventRef `json:"last_event"`
	LiveView  LiveView  `json:"live_view"`
}

// Drops by where they happen.
type Drops struct {
	Decode   uint64 `json:"decode"`
	Analysis uint64 `json:"analysis"`
}

// Rules say whether the camera's rules judge its frames now.
type Rules struct {
	Active bool `json:"active"`
	// Suspended is why not (warmup, light_change, view_moved,
	// low_texture); "" while active.
	Suspended string `json:"suspended,omitempty"`
}

// EventRef is an event in brief.
type EventRef struct {
	Type  string `json:"type"`
	Phase string `json:"phase"`
	At    string `json:"at"`
}

// LiveView says whether the console can show the camera's picture, and if
// not, why.
type LiveView struct {
	Allowed bool   `json:"allowed"`
	Reason  string `json:"reason,omitempty"`
}

// Device is the box's health and policy.
type Device struct {
	ID string `json:"id"`
	// Status is observe's readiness ("ready" or "not_ready"), Reasons why.
	Status  string   `json:"status"`
	Reasons []string `json:"reasons,omitempty"`
	Policy  Policy   `json:"policy"`
	// FaceDetector anonymises pictures ("none" while none can leave).
	FaceDetector string `json:"face_detector"`
}

// Policy is the policy in force.
type Policy struct {
	Name     string `json:"name"`
	Version  string `json:"version"`
	SHA256   string `json:"sha256"`
	LiveView bool   `json:"live_view"`
}

// Config configures a Console.
type Config struct {
	Gate    Gate
	Cameras CameraSource
	Status  StatusSource
	Events  *Ring
	Live    LiveSource
	// LiveInterval is the shortest time between two pictures of a camera
	// (more requests get the last one); 0 → 500 ms (2 per second).
	LiveInterval time.Duration
	// Policy is the policy in force, for the policy page (policy.go);
	// nil → its API answers 503.
	Policy PolicySource
	// Sessions records each live-view session when it ends (livesession.go;
	// the egress guard); nil → the log only. SessionIdle ends a session
	// after no picture for that long; 0 → 10 s.
	Sessions    SessionRecorder
	SessionIdle time.Duration
	// UsersFile (http.users_file) lists who may log in; "": no logins,
	// the console only reads (auth.go). New reads it (an error refuses the
	// start), and the console reads it again when it changed (users.go).
	// Users, when set, are used instead of reading UsersFile first.
	UsersFile string
	Users     *Users
	// AllowEdit (http.allow_edit) lets operators save zones and lines
	// through Editor (edit.go); nil Editor: saving is refused.
	AllowEdit bool
	Editor    ZoneEditor
	Logger    *slog.Logger
}

// Console serves the page and /api/*.
type Console struct {
	cfg     Config
	log     *slog.Logger
	handler http.Handler

	mu   sync.Mutex
	live map[string]*liveCache
	sess *sessions

	// users are the logins in force (nil: none); logins their sessions,
	// fails the failed logins; processCSRF is the CSRF token without a
	// users file (and of the login request itself).
	users       atomic.Pointer[Users]
	usersFile   usersFile
	logins      *loginStore
	fails       *limiter
	processCSRF string
}

// liveCache is a camera's last picture: requests within LiveInterval share
// it, so no camera makes more than 2 pictures a second however many watch.
type liveCache struct {
	mu   sync.Mutex
	at   time.Time
	jpeg []byte
}

// Limits of the requests the console accepts.
const (
	maxBody     = 4 << 10 // GET and HEAD take no body
	maxURL      = 2 << 10
	maxLimit    = 500 // events per request
	defLimit    = 50
	liveTimeout = 3 * time.Second
)

// idPattern is a camera id as the configuration allows it.
var idPattern = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)

// New checks cfg and builds the console.
func New(cfg Config) (*Console, error) {
	if cfg.Gate == nil {
		return nil, errors.New("console: Gate (the egress guard) is required: nothing leaves past it")
	}
	if cfg.Cameras == nil || cfg.Status == nil || cfg.Events == nil || cfg.Live == nil {
		return nil, errors.New("console: Cameras, Status, Events and Live are required")
	}
	if cfg.LiveInterval <= 0 {
		cfg.LiveInterval = 500 * time.Millisecond
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	c := &Console{cfg: cfg, log: cfg.Logger, live: map[string]*liveCache{}, sess: newSessions(cfg.SessionIdle, cfg.Sessions, cfg.Logger),
		logins: newLoginStore(), fails: newLimiter(), processCSRF: token()}
	if cfg.UsersFile != "" && cfg.Users == nil {
		u, data, err := readUsers(cfg.UsersFile)
		if err != nil {
			return nil, err
		}
		cfg.Users = u
		c.usersFile.last = sha256.Sum256(data)
	}
	c.cfg.Users = cfg.Users
	c.usersFile.now = time.Now
	c.users.Store(cfg.Users)
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", c.asset("index.html", "text/html; charset=utf-8"))
	mux.HandleFunc("GET /static/console.js", c.asset("console.js", "text/javascript; charset=utf-8"))
	mux.HandleFunc("GET /static/console.css", c.asset("console.css", "text/css; charset=utf-8"))
	mux.HandleFunc("GET /api/cameras", c.cameras)
	mux.HandleFunc("GET /api/events", c.events)
	mux.HandleFunc("GET /api/cameras/{id}/latest.jpg", c.latest)
	c.policyRoutes(mux)
	c.authRoutes(mux)
	c.editRoutes(mux)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, "not found: "+strconv.Quote(r.URL.Path))
	})
	c.handler = cfg.Gate.HTTP(limits(c.authenticate(mux)))
	return c, nil
}

// Handler is the console, behind the egress guard.
func (c *Console) Handler() http.Handler { return c.handler }

// bodyLimit is how large a body the route of a non-GET request takes; ok
// false: the console answers no such request (405). GET and HEAD take none.
func bodyLimit(method, path string) (limit int64, ok bool) {
	if method != http.MethodPost {
		return 0, false
	}
	switch {
	case path == "/api/login":
		return maxLoginBody, true
	case path == "/api/logout":
		return maxBody, true
	case path == diffPath:
		return maxPolicyBody, true
	case strings.HasPrefix(path, "/api/cameras/") && strings.HasSuffix(path, "/zones"):
		return maxZonesBody, true
	}
	return 0, false
}

// traversal says whether a request path tries to leave its directory or
// hides separators or dots in escapes: such a path names nothing here.
func traversal(r *http.Request) bool {
	raw := strings.ToLower(r.URL.EscapedPath())
	if strings.Contains(raw, "%2e") || strings.Contains(raw, "%2f") || strings.Contains(raw, "%5c") || strings.Contains(raw, "\\") {
		return true
	}
	for _, seg := range strings.Split(r.URL.Path, "/") {
		if seg == ".." || seg == "." {
			return true
		}
	}
	return strings.Contains(r.URL.Path, "//")
}

// limits refuses what the console never takes: long URLs, paths that try
// to traverse, other methods than GET and HEAD except on the routes that
// take a body (bodyLimit), and bodies larger than their route's limit.
func limits(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if len(r.URL.RequestURI()) > maxURL {
			writeError(w, http.StatusRequestURITooLong, fmt.Sprintf("URL longer than %d bytes", maxURL))
			return
		}
		if traversal(r) {
			writeError(w, http.StatusNotFound, "not found: "+strconv.Quote(r.URL.Path))
			return
		}
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			limit, ok := bodyLimit(r.Method, r.URL.Path)
			if !ok {
				w.Header().Set("Allow", "GET, HEAD")
				writeError(w, http.StatusMethodNotAllowed, "the console answers only GET here")
				return
			}
			if r.ContentLength > limit {
				writeError(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("request body larger than %d bytes", limit))
				return
			}
			r.Body = http.MaxBytesReader(w, r.Body, limit)
			next.ServeHTTP(w, r)
			return
		}
		if r.ContentLength > maxBody {
			writeError(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("request body larger than %d bytes", maxBody))
			return
		}
		if r.Body != nil {
			r.Body = http.MaxBytesReader(w, r.Body, maxBody)
			if n, err := io.Copy(io.Discard, r.Body); err != nil {
				writeError(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("request body larger than %d bytes", maxBody))
				return
			} else if n > 0 {
				writeError(w, http.StatusBadRequest, "the console takes no request body with GET")
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}

func (c *Console) asset(name, contentType string) http.HandlerFunc {
	b, err := assets.ReadFile("assets/" + name)
	if err != nil {
		panic("console: embedded asset missing: " + name)
	}
	return func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", contentType)
		w.Write(b)
	}
}

// camerasBody is /api/cameras.
type camerasBody struct {
	Device  Device   `json:"device"`
	Cameras []Camera `json:"cameras"`
}

func (c *Console) cameras(w http.ResponseWriter, _ *http.Request) {
	cams := c.cfg.Cameras.Cameras()
	for i := range cams {
		if ev, ok := c.cfg.Events.Last(cams[i].ID); ok {
			cams[i].LastEvent = &EventRef{Type: ev.Type, Phase: string(ev.Phase), At: ev.At.UTC().Format(event.TimeFormat)}
		}
	}
	if cams == nil {
		cams = []Camera{}
	}
	writeJSON(w, http.StatusOK, camerasBody{Device: c.cfg.Status.Device(), Cameras: cams})
}

// eventsBody is /api/events.
type eventsBody struct {
	Events []event.Event `json:"events"`
}

func (c *Console) events(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	limit := defLimit
	if s := q.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > maxLimit {
			writeError(w, http.StatusBadRequest, fmt.Sprintf("limit %s: allowed 1 to %d", strconv.Quote(s), maxLimit))
			return
		}
		limit = n
	}
	cam := q.Get("camera")
	if cam != "" && !c.known(cam) {
		writeError(w, http.StatusNotFound, "unknown camera "+strconv.Quote(cam))
		return
	}
	evs := c.cfg.Events.Recent(cam, q.Get("type"), limit)
	if evs == nil {
		evs = []event.Event{}
	}
	writeJSON(w, http.StatusOK, eventsBody{Events: evs})
}

func (c *Console) known(id string) bool {
	if !idPattern.MatchString(id) {
		return false
	}
	for _, cam := range c.cfg.Cameras.Cameras() {
		if cam.ID == id {
			return true
		}
	}
	return false
}

func (c *Console) latest(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	if !c.known(id) {
		writeError(w, http.StatusNotFound, "unknown camera "+strconv.Quote(id))
		return
	}
	c.mu.Lock()
	lc := c.live[id]
	if lc == nil {
		lc = &liveCache{}
		c.live[id] = lc
	}
	c.mu.Unlock()

	lc.mu.Lock()
	defer lc.mu.Unlock()
	if lc.jpeg == nil || time.Since(lc.at) >= c.cfg.LiveInterval {
		lc.jpeg = nil
		ctx, cancel := context.WithTimeout(r.Context(), liveTimeout)
		b, err := c.cfg.Live.LiveJPEG(ctx, id)
		cancel()
		if err != nil {
			writeError(w, liveStatus(err), err.Error())
			return
		}
		lc.jpeg, lc.at = b, time.Now()
	}
	// On record before it leaves: no session tracked, no picture.
	if err := c.sess.delivered(viewer(r), id); err != nil {
		writeError(w, http.StatusServiceUnavailable, err.Error())
		return
	}
	w.Header().Set("Content-Type", "image/jpeg")
	w.Write(lc.jpeg)
}

func liveStatus(err error) int {
	switch {
	case errors.Is(err, ErrLiveViewNotAllowed):
		return http.StatusForbidden
	case errors.Is(err, ErrUnknownCamera):
		return http.StatusNotFound
	default:
		// Not ready, no picture, anything else: nothing leaves now.
		return http.StatusServiceUnavailable
	}
}

// errorBody is every error's JSON.
type errorBody struct {
	Error string `json:"error"`
}

func writeError(w http.ResponseWriter, code int, msg string) {
	writeJSON(w, code, errorBody{Error: msg})
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	if err := json.NewEncoder(w).Encode(v); err != nil {
		slog.Debug("console: write", "err", err)
	}
}
