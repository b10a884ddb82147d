package app

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/edgeguard/edgeguard/pipeline/config"
	"github.com/edgeguard/edgeguard/pipeline/event"
	"github.com/edgeguard/edgeguard/pipeline/internal/analysis/pattern"
	"github.com/edgeguard/edgeguard/pipeline/internal/camera"
	"github.com/edgeguard/edgeguard/pipeline/internal/egress"
	"github.com/edgeguard/edgeguard/pipeline/internal/egress/anonymise"
	"github.com/edgeguard/edgeguard/pipeline/internal/egress/console"
	"github.com/edgeguard/edgeguard/pipeline/internal/egress/snapshot"
	"github.com/edgeguard/edgeguard/pipeline/internal/observe"
	"github.com/edgeguard/edgeguard/policy"
)

// appConsole wires the web console (pipeline/internal/egress/console,
// docs/console.md) to the service: the events the guard published (a tap
// between the outbox and the guard), the running cameras, their live
// pictures through the snapshot path's anonymiser, and the device's health.
// nil when the console is off (http.console, or no http.addr).
type appConsole struct {
	ring *console.Ring
	cams *consoleCameras
	c    *console.Console
}

// consoleEvents is how many published events the console remembers.
const consoleEvents = 1000

// newAppConsole builds the console for a, or nil when cfg turns it off. On
// an address other than loopback it refuses without TLS and a users file,
// also for a Config built in code (a parsed file is refused by config
// validation already).
func newAppConsole(a *app, cfg *config.Config) (*appConsole, error) {
	if cfg.HTTP.Addr != "" && cfg.HTTP.Console != nil && *cfg.HTTP.Console && !config.LoopbackAddr(cfg.HTTP.Addr) && !cfg.HTTP.Secured() {
		return nil, fmt.Errorf("http.console: the web console on http.addr %q (not a loopback address) needs TLS and a users file: set http.tls.cert_file, http.tls.key_file and http.users_file, or bind http.addr to 127.0.0.1, or set http.console: false", cfg.HTTP.Addr)
	}
	if !cfg.HTTP.ConsoleOn() {
		if cfg.HTTP.Addr != "" {
			a.log.Info("web console off", "http_addr", cfg.HTTP.Addr, "why", consoleOffWhy(cfg.HTTP))
		}
		return nil, nil
	}
	ac := &appConsole{ring: console.NewRing(consoleEvents), cams: &consoleCameras{guard: a.guard, cams: map[string]*camera.Camera{}}}
	c, err := console.New(console.Config{
		Gate:    a.guard,
		Cameras: ac.cams,
		Status:  consoleStatus{a: a, device: cfg.Device},
		Events:  ac.ring,
		Live:    consoleLive{guard: a.guard, snaps: a.snaps, cams: ac.cams, over: a.over},
		Policy:  consolePolicy{snaps: a.snaps},
		// Each live-view session ends in the audit trail, written by the
		// guard; at shutdown the open ones end (after the HTTP server
		// stopped, before the guard and the trail close).
		Sessions: a.guard,
		// Logins (http.users_file, read again when it changes) and
		// saving zones into the configuration file (http.allow_edit).
		UsersFile: cfg.HTTP.UsersFile,
		AllowEdit: cfg.HTTP.AllowEdit,
		Editor:    newZoneEditor(a, ac.cams),
		Logger:    a.log,
	})
	if err != nil {
		return nil, err
	}
	a.stack.push("web console live-view sessions", c.Close)
	ac.c = c
	scheme := "http"
	if cfg.HTTP.TLS.On() {
		scheme = "https"
	}
	a.log.Info("web console on", "url", scheme+"://"+cfg.HTTP.Addr+"/", "live_view_allowed", a.guard.AllowsLiveView(),
		"users_file", cfg.HTTP.UsersFile, "allow_edit", cfg.HTTP.AllowEdit)
	return ac, nil
}

func consoleOffWhy(h config.HTTP) string {
	if h.Console != nil {
		return "http.console: false"
	}
	return "http.addr is not a loopback address, and the console off loopback needs http.tls and http.users_file"
}

// HashPassword makes a password hash for the console's users file
// (http.users_file): algo "bcrypt" (the default, "") or "argon2id".
func HashPassword(password []byte, algo string) (string, error) {
	return console.HashPassword(password, algo)
}

// CheckUsersFile reads a users file as the console does, and says how many
// users it lists or what is wrong with it (file, line, field, allowed).
func CheckUsersFile(path string) (int, error) {
	u, err := console.LoadUsers(path)
	if err != nil {
		return 0, err
	}
	return u.Len(), nil
}

// console is the console for observe's mux; nil when off.
func (ac *appConsole) console() *console.Console {
	if ac == nil {
		return nil
	}
	return ac.c
}

// publisher is the outbox's Publisher: the guard, and with the console a
// tap that remembers every event the guard published, as it published it.
func (ac *appConsole) publisher(g *egress.Guard) publisherWithSnapshots {
	if ac == nil {
		return g
	}
	return consoleTap{Guard: g, ring: ac.ring}
}

// publisherWithSnapshots is what the outbox takes from the guard.
type publisherWithSnapshots interface {
	PublishEvent(ctx context.Context, ev event.Event) error
	PublishCameraStatus(ctx context.Context, st event.CameraStatus) error
	PublishSnapshot(ctx context.Context, camera, eventID string, jpeg []byte) error
}

// consoleTap passes everything to the guard and records the events it
// published (not those it withheld or could not deliver).
type consoleTap struct {
	*egress.Guard
	ring *console.Ring
}

func (t consoleTap) PublishEvent(ctx context.Context, ev event.Event) error {
	err := t.Guard.PublishEvent(ctx, ev)
	if err == nil {
		if out, ferr := t.Guard.EventAsPublished(ev); ferr == nil {
			t.ring.Add(out)
		}
	}
	return err
}

// consoleCameras are the running cameras, as the camera set starts and
// stops them (cameraSet.start/stop call add and remove).
type consoleCameras struct {
	guard *egress.Guard
	mu    sync.Mutex
	cams  map[string]*camera.Camera
}

func (cc *consoleCameras) add(c *camera.Camera) {
	if cc == nil {
		return
	}
	cc.mu.Lock()
	cc.cams[c.ID()] = c
	cc.mu.Unlock()
}

func (cc *consoleCameras) remove(id string) {
	if cc == nil {
		return
	}
	cc.mu.Lock()
	delete(cc.cams, id)
	cc.mu.Unlock()
}

func (cc *consoleCameras) get(id string) *camera.Camera {
	cc.mu.Lock()
	defer cc.mu.Unlock()
	return cc.cams[id]
}

// Cameras implements console.CameraSource.
func (cc *consoleCameras) Cameras() []console.Camera {
	cc.mu.Lock()
	cams := make([]*camera.Camera, 0, len(cc.cams))
	for _, c := range cc.cams {
		cams = append(cams, c)
	}
	cc.mu.Unlock()
	slices.SortFunc(cams, func(a, b *camera.Camera) int { return strings.Compare(a.ID(), b.ID()) })
	live := console.LiveView{Allowed: cc.guard.AllowsLiveView()}
	if !live.Allowed {
		live.Reason = console.ErrLiveViewNotAllowed.Error()
	}
	out := make([]console.Camera, 0, len(cams))
	for _, c := range cams {
		st, ls := c.Stats(), c.LastStatus()
		state := string(ls.State)
		if state == "" {
			state = string(event.StateConnecting)
		}
		cam := console.Camera{
			ID: c.ID(), State: state, Codec: ls.Codec, Width: ls.Width, Height: ls.Height, FPS: ls.FPS,
			Error:      ls.Error,
			Drops:      console.Drops{Decode: st.DroppedAUs, Analysis: st.DroppedFrames},
			Reconnects: max(st.SessionsStarted, 1) - 1,
			Rules:      console.Rules{Active: st.RulesSuspended == pattern.NotSuspended},
			LiveView:   live,
		}
		if !ls.Since.IsZero() {
			cam.Since = ls.Since.UTC().Format(event.TimeFormat)
		}
		if !cam.Rules.Active {
			cam.Rules.Suspended = st.RulesSuspended.String()
		}
		out = append(out, cam)
	}
	return out
}

// consoleStatus is the device's health (observe's readiness) and the
// policy in force (the one the snapshots follow, swapped by every reload).
type consoleStatus struct {
	a      *app
	device string
}

func (s consoleStatus) Device() console.Device {
	d := console.Device{ID: s.device, FaceDetector: anonymise.DetectorNone}
	if s.a.obs != nil {
		r := s.a.obs.Readiness()
		d.Status, d.Reasons = r.Status, r.Reasons
	} else {
		d.Status = observe.StatusNotReady
	}
	if p := s.a.snaps.pol.Load(); p != nil {
		d.Policy = console.Policy{Name: p.Name, Version: p.Version, SHA256: p.SHA256, LiveView: p.AllowsLiveView()}
	}
	if anon := s.a.snaps.anonymiser(); anon != nil {
		d.FaceDetector, _ = anon.Detector()
	}
	return d
}

// consolePolicy is the policy in force for the console's policy page: the
// one the snapshots follow, swapped by every reload (as consoleStatus).
type consolePolicy struct{ snaps *snapshots }

func (p consolePolicy) Policy() *policy.Policy { return p.snaps.pol.Load() }

// consoleLive makes a camera's live picture: the camera's current frame
// (zones filled at its decoder), anonymised and encoded by the snapshot
// path (snapshot.Render: faces covered, with anonymisation.persons the
// moving areas too, JPEG without metadata), judged by the guard. Without a
// ready anonymiser there is no picture (fail closed).
type consoleLive struct {
	guard *egress.Guard
	snaps *snapshots
	cams  *consoleCameras
	over  *oversightCtl // a paused camera shows no picture (oversight.go)
}

func (l consoleLive) LiveJPEG(ctx context.Context, id string) ([]byte, error) {
	if !l.guard.AllowsLiveView() {
		return nil, console.ErrLiveViewNotAllowed
	}
	cam := l.cams.get(id)
	if cam == nil {
		return nil, console.ErrUnknownCamera
	}
	if err := l.over.liveRefusal(id); err != nil {
		return nil, err
	}
	anon := l.snaps.anonymiser()
	if anon == nil || !anon.Ready() {
		why := "snapshots are off"
		if anon != nil {
			_, why = anon.Detector()
		}
		return nil, fmt.Errorf("%w: %s", console.ErrNotReady, why)
	}
	f, err := cam.LiveFrame(ctx)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", console.ErrNoPicture, err)
	}
	defer f.Frame.Close()
	if p := l.snaps.pol.Load(); (p == nil || p.Anonymisation.Persons) && !f.BlobsKnown {
		// Persons are covered by their moving areas; until analysis has
		// said where they are, no picture (the next request gets one).
		return nil, fmt.Errorf("%w: the moving areas to cover are not known yet", console.ErrNotReady)
	}
	jpeg, err := snapshot.Render(anon, &f.Frame, f.Blobs, snapshot.DefaultQuality)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", console.ErrNotReady, err)
	}
	if err := l.guard.LiveImage(id, jpeg); err != nil {
		if errors.Is(err, egress.ErrLiveViewNotAllowed) {
			return nil, console.ErrLiveViewNotAllowed
		}
		return nil, fmt.Errorf("%w: %w", console.ErrNotReady, err)
	}
	return jpeg, nil
}
