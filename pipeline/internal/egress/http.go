package egress

import (
	"bytes"
	"errors"
	"fmt"
	"mime"
	"net/http"
	"strconv"
	"time"

	"github.com/edgeguard/edgeguard/pipeline/event"
	"github.com/edgeguard/edgeguard/pipeline/internal/audit"
)

// The web console (pipeline/internal/egress/console) is the second way data
// leaves the box, next to MQTT: to a browser on the box itself. Its bytes
// pass the guard too: HTTP wraps its handler, so no response reaches the
// network before the guard has looked at it, and its events and images are
// what the guard lets leave.

// LiveViewRules is implemented by Rules that can allow the console's live
// picture (*policy.Policy does: egress.live_view). Rules without it allow
// none: fail closed.
type LiveViewRules interface {
	AllowsLiveView() bool
}

// Errors of the HTTP path, each also ErrSuppressed.
var (
	// ErrLiveViewNotAllowed: the policy in force does not allow the
	// console's live picture (egress.live_view).
	ErrLiveViewNotAllowed = fmt.Errorf("%w: live view not allowed (the policy's egress.live_view is false)", ErrSuppressed)
	// ErrHTTPContent: a console response of a kind the guard does not let
	// leave (see consoleTypes), or an image that is not a bare JFIF.
	ErrHTTPContent = fmt.Errorf("%w: console response refused", ErrSuppressed)
)

// maxHTTPBody bounds what one console response may be; the guard holds it
// whole before it lets it go.
const maxHTTPBody = 8 << 20

// consoleTypes are the media types a console response may have: the
// embedded page and its assets, JSON, and the anonymised picture.
var consoleTypes = map[string]bool{
	"text/html":        true,
	"text/css":         true,
	"text/javascript":  true,
	"application/json": true,
	"image/jpeg":       true,
	"text/plain":       true, // net/http's own error texts (404, 405)
}

// AllowsLiveView reports whether the rules in force allow the console's
// live picture.
func (g *Guard) AllowsLiveView() bool {
	lv, ok := g.rules.Load().r.(LiveViewRules)
	return ok && lv.AllowsLiveView()
}

// EventAsPublished is ev as PublishEvent lets it leave under the rules in
// force: the same filter (optional fields removed, the policy named). The
// console lists events with it, after PublishEvent accepted them, so it
// shows exactly what the control room received.
func (g *Guard) EventAsPublished(ev event.Event) (event.Event, error) {
	if ev.Device == "" {
		ev.Device = g.cfg.Device
	}
	out, _, err := filter(g.rules.Load().r, ev)
	return out, err
}

// LiveImage judges one live picture for camera before the console sends
// it: the policy must allow live view and the image must be a bare JFIF
// (no metadata), as for snapshots.
func (g *Guard) LiveImage(camera string, jpeg []byte) error {
	if err := validSegment(camera); err != nil {
		return fmt.Errorf("egress: camera: %w", err)
	}
	if !g.AllowsLiveView() {
		return ErrLiveViewNotAllowed
	}
	return bareJFIF(jpeg)
}

// LiveSession records one ended live-view session of the console (audit
// kind image, what live_view): who watched camera's anonymised live
// picture, from the first picture to the last, and how many they got. The
// pictures themselves are judged one by one by LiveImage; this is the
// record an auditor asks for ("who saw which camera, when").
func (g *Guard) LiveSession(camera, session, who string, from, to time.Time, pictures int) {
	g.audit(audit.Record{Kind: audit.KindImage, Camera: camera, Session: session, Who: who, What: "live_view",
		Detail: fmt.Sprintf("from %s to %s, %d pictures", from.UTC().Format(event.TimeFormat), to.UTC().Format(event.TimeFormat), pictures)})
}

// HTTP wraps the console's handler so that every response passes the
// guard: it is held until the handler returns, then let go only if its
// media type is one of the console's, an image is a bare JFIF and the
// policy allows live view, and it is at most 8 MiB; anything else is
// replaced by a 500 naming the refusal. It also sets the headers that keep
// the browser from loading anything from another host.
func (g *Guard) HTTP(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hw := &heldResponse{header: http.Header{}}
		h.ServeHTTP(hw, r)
		if err := g.judgeHTTP(hw); err != nil {
			g.log.Warn("console response refused by the egress guard", "path", r.URL.Path, "err", err)
			refuse(w, err)
			return
		}
		dst := w.Header()
		for k, v := range hw.header {
			dst[k] = v
		}
		consoleHeaders(dst)
		dst.Set("Content-Length", strconv.Itoa(hw.body.Len()))
		w.WriteHeader(hw.status())
		if r.Method != http.MethodHead {
			w.Write(hw.body.Bytes())
		}
	})
}

// consoleHeaders: nothing from another host (Content-Security-Policy), no
// sniffing, no framing, no referrer, nothing cached.
func consoleHeaders(h http.Header) {
	h.Set("Content-Security-Policy", "default-src 'self'; img-src 'self' blob:; connect-src 'self'; style-src 'self'; script-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Cache-Control", "no-store")
}

func (g *Guard) judgeHTTP(hw *heldResponse) error {
	if hw.tooLarge {
		return fmt.Errorf("%w: larger than %d bytes", ErrHTTPContent, maxHTTPBody)
	}
	if hw.body.Len() == 0 && hw.header.Get("Content-Type") == "" {
		return nil // a bare status (e.g. 304)
	}
	mt, _, err := mime.ParseMediaType(hw.header.Get("Content-Type"))
	if err != nil || !consoleTypes[mt] {
		return fmt.Errorf("%w: media type %q", ErrHTTPContent, hw.header.Get("Content-Type"))
	}
	if mt == "image/jpeg" {
		if !g.AllowsLiveView() {
			return ErrLiveViewNotAllowed
		}
		if err := bareJFIF(hw.body.Bytes()); err != nil {
			return fmt.Errorf("%w: %w", ErrHTTPContent, err)
		}
	}
	return nil
}

func refuse(w http.ResponseWriter, err error) {
	h := w.Header()
	consoleHeaders(h)
	h.Set("Content-Type", "application/json")
	status := http.StatusInternalServerError
	if errors.Is(err, ErrLiveViewNotAllowed) {
		status = http.StatusForbidden
	}
	w.WriteHeader(status)
	fmt.Fprintf(w, "{\"error\":%q}\n", err.Error())
}

// heldResponse holds a response until the guard has judged it.
type heldResponse struct {
	header   http.Header
	code     int
	body     bytes.Buffer
	tooLarge bool
}

func (h *heldResponse) Header() http.Header { return h.header }

func (h *heldResponse) WriteHeader(code int) {
	if h.code == 0 {
		h.code = code
	}
}

func (h *heldResponse) Write(b []byte) (int, error) {
	if h.code == 0 {
		h.code = http.StatusOK
	}
	if h.body.Len()+len(b) > maxHTTPBody {
		h.tooLarge = true
		return 0, ErrHTTPContent
	}
	return h.body.Write(b)
}

func (h *heldResponse) status() int {
	if h.code == 0 {
		return http.StatusOK
	}
	return h.code
}
