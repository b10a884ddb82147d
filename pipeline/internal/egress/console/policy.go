package console

// The policy page: what the privacy officer needs to check a device
// against the policy they approved. The policy in force (identity,
// summary, the explain text in both languages, each camera's privacy zones
// as normalised polygons for the page to outline), and a diff of an
// uploaded policy file against it. The upload is parsed with the policy
// package's own parser and compared with its own Diff; it is never stored
// and never applied: the console does not edit the policy file.

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/edgeguard/edgeguard/policy"
)

// PolicySource is the policy in force (the one the guard enforces,
// swapped by every reload); nil before the first is loaded.
type PolicySource interface {
	Policy() *policy.Policy
}

// maxPolicyBody bounds an uploaded policy: a real one is a few KiB.
const maxPolicyBody = 64 << 10

// diffPath is the one route that takes a request body.
const diffPath = "/api/policy/diff"

// requestedWith is the header a diff request must carry: a cross-site form
// cannot set it, and a cross-site script can only with a CORS preflight,
// which the console never answers.
const requestedWith = "edgeguard"

// uploadName is a file name the page may give for an upload (error
// messages name it, as the CLI names the file).
var uploadName = regexp.MustCompile(`^[A-Za-z0-9._ -]{1,64}$`)

// policyRoutes registers the policy page's API. The policy in force is for
// every login (it is what the device tells everyone anyway: the retained
// policy topic); the diff is the officer's tool, for anyone when the
// console has no logins (it only compares: it reads nothing of the box's
// and changes nothing).
func (c *Console) policyRoutes(mux *http.ServeMux) {
	mux.HandleFunc("GET /static/policy.js", c.asset("policy.js", "text/javascript; charset=utf-8"))
	mux.Handle("GET /api/policy", c.require(RoleViewer, http.HandlerFunc(c.policyInForce)))
	mux.Handle("POST "+diffPath, c.officerWithLogins(http.HandlerFunc(c.policyDiff)))
}

// officerWithLogins lets h answer only officers when the console has
// logins, and anyone when it has none (the page's "can policy").
func (c *Console) officerWithLogins(h http.Handler) http.Handler {
	officer := c.require(RoleOfficer, h)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if c.loginsOn() {
			officer.ServeHTTP(w, r)
			return
		}
		h.ServeHTTP(w, r)
	})
}

// policyBody is /api/policy.
type policyBody struct {
	Name    string            `json:"name"`
	Version string            `json:"version"`
	SHA256  string            `json:"sha256"`
	Summary policy.Summary    `json:"summary"`
	Explain map[string]string `json:"explain"`
	// Cameras are the running cameras and those the policy names, sorted
	// by id, with their privacy zones.
	Cameras []policyCamera `json:"cameras"`
}

// policyCamera is a camera's privacy zones; Width and Height (0 when not
// known) give the picture's aspect ratio.
type policyCamera struct {
	ID      string       `json:"id"`
	Width   int          `json:"width,omitempty"`
	Height  int          `json:"height,omitempty"`
	Running bool         `json:"running"`
	Zones   []policyZone `json:"zones"`
}

// policyZone is one privacy zone; Polygon is normalised ([x, y] in 0..1 of
// the picture's width and height).
type policyZone struct {
	Name    string       `json:"name"`
	Polygon [][2]float64 `json:"polygon"`
}

// inForce is the policy in force, or an error answered with 503.
func (c *Console) inForce() (*policy.Policy, error) {
	if c.cfg.Policy == nil {
		return nil, errors.New("not yet: this console has no policy source")
	}
	p := c.cfg.Policy.Policy()
	if p == nil {
		return nil, errors.New("no policy is in force yet")
	}
	return p, nil
}

// langs is the ?lang= of a request: one of policy.Languages, or all.
func langs(r *http.Request) ([]string, error) {
	l := r.URL.Query().Get("lang")
	if l == "" {
		return policy.Languages, nil
	}
	for _, known := range policy.Languages {
		if l == known {
			return []string{l}, nil
		}
	}
	return nil, fmt.Errorf("lang %s: allowed: %s", strconv.Quote(l), strings.Join(policy.Languages, ", "))
}

func (c *Console) policyInForce(w http.ResponseWriter, r *http.Request) {
	ls, err := langs(r)
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	p, err := c.inForce()
	if err != nil {
		writeError(w, http.StatusServiceUnavailable, err.Error())
		return
	}
	body := policyBody{Name: p.Name, Version: p.Version, SHA256: p.SHA256, Summary: p.Summary(), Explain: map[string]string{}}
	for _, l := range ls {
		text, err := p.Explain(l)
		if err != nil {
			writeError(w, http.StatusInternalServerError, err.Error())
			return
		}
		body.Explain[l] = text
	}
	byID := map[string]*policyCamera{}
	var order []string
	camera := func(id string) *policyCamera {
		if pc := byID[id]; pc != nil {
			return pc
		}
		pc := &policyCamera{ID: id, Zones: []policyZone{}}
		byID[id] = pc
		order = append(order, id)
		return pc
	}
	for _, cam := range c.cfg.Cameras.Cameras() {
		pc := camera(cam.ID)
		pc.Running, pc.Width, pc.Height = true, cam.Width, cam.Height
	}
	for _, id := range p.CameraIDs() {
		camera(id)
	}
	for _, id := range order {
		for _, z := range p.Cameras[id].Zones {
			pz := policyZone{Name: z.Name, Polygon: make([][2]float64, len(z.Polygon))}
			for i, pt := range z.Polygon {
				pz.Polygon[i] = [2]float64{pt.X, pt.Y}
			}
			byID[id].Zones = append(byID[id].Zones, pz)
		}
	}
	slices.Sort(order)
	body.Cameras = make([]policyCamera, 0, len(order))
	for _, id := range order {
		body.Cameras = append(body.Cameras, *byID[id])
	}
	writeJSON(w, http.StatusOK, body)
}

// diffBody is POST /api/policy/diff's answer.
type diffBody struct {
	InForce  policyID     `json:"in_force"`
	Uploaded policyID     `json:"uploaded"`
	Changes  []diffChange `json:"changes"`
	// NoChange is NoChangeText per language when there are no changes.
	NoChange map[string]string `json:"no_change,omitempty"`
	// Stored and Applied are always false: the console only compares.
	Stored  bool `json:"stored"`
	Applied bool `json:"applied"`
}

type policyID struct {
	Name    string `json:"name"`
	Version string `json:"version"`
	SHA256  string `json:"sha256"`
}

// diffChange is one policy.Change; Effect is more, less, review or info.
type diffChange struct {
	Path   string            `json:"path"`
	Old    string            `json:"old"`
	New    string            `json:"new"`
	Effect string            `json:"effect"`
	Text   map[string]string `json:"text"`
}

// sameOrigin refuses a diff request a cross-site page could make: it must
// carry X-Requested-With (which needs a CORS preflight cross-site), and an
// Origin, when sent, must be this host.
func sameOrigin(r *http.Request) error {
	if r.Header.Get("X-Requested-With") != requestedWith {
		return fmt.Errorf("missing header X-Requested-With: %s (the console refuses requests other sites' pages could make)", requestedWith)
	}
	return checkOrigin(r)
}

func (c *Console) policyDiff(w http.ResponseWriter, r *http.Request) {
	if err := sameOrigin(r); err != nil {
		writeError(w, http.StatusForbidden, err.Error())
		return
	}
	name := "uploaded.yaml"
	if n := r.URL.Query().Get("name"); n != "" {
		if !uploadName.MatchString(n) {
			writeError(w, http.StatusBadRequest, "name "+strconv.Quote(n)+": allowed: 1 to 64 letters, digits, '.', '_', '-' or spaces")
			return
		}
		name = n
	}
	old, err := c.inForce()
	if err != nil {
		writeError(w, http.StatusServiceUnavailable, err.Error())
		return
	}
	data, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxPolicyBody))
	if err != nil {
		writeError(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("policy file larger than %d bytes", maxPolicyBody))
		return
	}
	if len(data) == 0 {
		writeError(w, http.StatusBadRequest, "empty request body: send the policy file's YAML")
		return
	}
	// The policy package's own parser: the same errors as `policy check`
	// (file:line:column: field: what is allowed).
	up, err := policy.Parse(name, data)
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	body := diffBody{
		InForce:  policyID{old.Name, old.Version, old.SHA256},
		Uploaded: policyID{up.Name, up.Version, up.SHA256},
		Changes:  []diffChange{},
	}
	for _, ch := range policy.Diff(old, up) {
		dc := diffChange{Path: ch.Path, Old: ch.Old, New: ch.New, Effect: ch.Effect.String(), Text: map[string]string{}}
		for _, l := range policy.Languages {
			if dc.Text[l], err = ch.Text(l); err != nil {
				writeError(w, http.StatusInternalServerError, err.Error())
				return
			}
		}
		body.Changes = append(body.Changes, dc)
	}
	if len(body.Changes) == 0 {
		body.NoChange = map[string]string{}
		for _, l := range policy.Languages {
			if body.NoChange[l], err = policy.NoChangeText(old, up, l); err != nil {
				writeError(w, http.StatusInternalServerError, err.Error())
				return
			}
		}
	}
	c.log.Info("console: policy diff", "uploaded_sha256", up.SHA256, "in_force_sha256", old.SHA256, "changes", len(body.Changes), "remote", r.RemoteAddr)
	writeJSON(w, http.StatusOK, body)
}
