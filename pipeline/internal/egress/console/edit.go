package console

// Saving zones and lines (http.allow_edit): an operator's drawing goes
// into the camera's zones: and lines: in the operator's configuration file.
// The console only takes the request and says who asked; the Editor (the
// app) validates the whole new file with the service's own loader before
// writing anything, keeps a backup, writes atomically and reports whether
// the service applied it. The policy file is never written: privacy zones
// stay a snippet for the officer.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"time"
)

// ZoneEdit is a camera's zones and lines to save: each replaces the one of
// its name, or is added; the others in the file stay.
type ZoneEdit struct {
	// Zones are polygons of normalised [x, y] points.
	Zones map[string][][2]float64 `json:"zones"`
	Lines map[string]LineEdit     `json:"lines"`
}

// LineEdit is a directed line; Direction as the configuration's lines
// (both, left_to_right, right_to_left).
type LineEdit struct {
	From      [2]float64 `json:"from"`
	To        [2]float64 `json:"to"`
	Direction string     `json:"direction"`
}

// SaveResult is what a save did.
type SaveResult struct {
	// File is the configuration file written, Backup the copy of what it
	// was before ("" when nothing was written).
	File   string `json:"file"`
	Backup string `json:"backup,omitempty"`
	// Outcome: "applied" (the service runs the camera with the new
	// zones), "rejected" (the file is written but the reload was refused:
	// Reason), "unchanged" (the file already said so), or "pending" (the
	// file is written; the service had not reloaded it yet: Reason).
	Outcome string `json:"outcome"`
	Reason  string `json:"reason,omitempty"`
}

// ErrInvalidEdit wraps why a save was refused before anything was written
// (the loader's error for the new file): 400.
var ErrInvalidEdit = errors.New("the configuration with these zones is not valid; nothing was written")

// ZoneEditor saves a camera's zones and lines for who.
type ZoneEditor interface {
	SaveZones(ctx context.Context, camera string, edit ZoneEdit, who string) (SaveResult, error)
}

// Limits of a save.
const (
	maxZonesBody = 64 << 10
	maxShapes    = 64 // zones and lines a save may name
	saveTimeout  = 30 * time.Second
)

func (c *Console) editRoutes(mux *http.ServeMux) {
	mux.Handle("POST /api/cameras/{id}/zones", c.require(RoleOperator, http.HandlerFunc(c.saveZones)))
}

// saveRefusal is why the page must not offer saving to name (role role),
// "" when it may.
func (c *Console) saveRefusal(loginsOn bool, name string, role Role) string {
	switch {
	case !c.cfg.AllowEdit:
		return "saving is off: set http.allow_edit: true in the configuration"
	case c.cfg.Editor == nil:
		return "not yet: this console has no editor for the configuration file"
	case !loginsOn:
		return "saving needs an operator login: set http.users_file"
	case name == "":
		return "log in as an operator to save"
	case !role.may(RoleOperator):
		return fmt.Sprintf("saving needs the role operator; %s is %s", strconv.Quote(name), role)
	}
	return ""
}

func (c *Console) saveZones(w http.ResponseWriter, r *http.Request) {
	name, role := userOf(r)
	if why := c.saveRefusal(c.loginsOn(), name, role); why != "" {
		writeError(w, http.StatusForbidden, why)
		return
	}
	id := r.PathValue("id")
	if !c.known(id) {
		writeError(w, http.StatusNotFound, "unknown camera "+strconv.Quote(id))
		return
	}
	var edit ZoneEdit
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&edit); err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			writeError(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("request body larger than %d bytes", maxZonesBody))
			return
		}
		writeError(w, http.StatusBadRequest, `the body must be JSON {"zones": {"name": [[x, y], …]}, "lines": {"name": {"from": [x, y], "to": [x, y], "direction": "both"}}}: `+err.Error())
		return
	}
	if dec.Decode(&struct{}{}) != io.EOF {
		writeError(w, http.StatusBadRequest, "the body must be one JSON object")
		return
	}
	if n := len(edit.Zones) + len(edit.Lines); n == 0 || n > maxShapes {
		writeError(w, http.StatusBadRequest, fmt.Sprintf("%d zones and lines: allowed: 1 to %d", n, maxShapes))
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), saveTimeout)
	defer cancel()
	res, err := c.cfg.Editor.SaveZones(ctx, id, edit, name)
	if err != nil {
		code := http.StatusInternalServerError
		if errors.Is(err, ErrInvalidEdit) {
			code = http.StatusBadRequest
		}
		c.log.Warn("console: zones not saved", "user", name, "camera", id, "remote", r.RemoteAddr, "err", err)
		writeError(w, code, err.Error())
		return
	}
	c.log.Info("console: zones saved", "user", name, "camera", id, "zones", sortedKeys(edit.Zones), "lines", sortedKeys(edit.Lines),
		"file", res.File, "backup", res.Backup, "outcome", res.Outcome, "reason", res.Reason, "remote", r.RemoteAddr)
	writeJSON(w, http.StatusOK, res)
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}
