package app

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/edgeguard/edgeguard/pipeline/internal/egress/console"
)

// TestZoneEditorRefusesInvalid: a save the loader refuses is an
// ErrInvalidEdit with its message, and nothing is written (no backup, the
// file unchanged); one that changes nothing writes nothing either.
func TestZoneEditorRefusesInvalid(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "edgeguard.yaml")
	content := "# keep\ndevice: e1\ncameras:\n  - id: cam1\n    url: rtsp://192.0.2.1/s\n    zones:\n      door: [[0, 0], [1, 0], [1, 1]]\n"
	if err := os.WriteFile(path, []byte(content), 0o640); err != nil {
		t.Fatal(err)
	}
	e := &zoneEditor{path: path} // the refusals return before the app is asked
	for _, tt := range []struct {
		name string
		edit console.ZoneEdit
		want string
	}{
		{"a zone outside the picture", console.ZoneEdit{Zones: map[string][][2]float64{"z": {{0, 0}, {2, 0}, {1, 1}}}}, "cameras[0].zones.z"},
		{"a line with a bad direction", console.ZoneEdit{Lines: map[string]console.LineEdit{"l": {From: [2]float64{0, 0}, To: [2]float64{1, 1}, Direction: "up"}}}, "direction"},
	} {
		_, err := e.SaveZones(context.Background(), "cam1", tt.edit, "otto")
		if !errors.Is(err, console.ErrInvalidEdit) || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: err %v, want ErrInvalidEdit naming %q", tt.name, err, tt.want)
		}
	}
	res, err := e.SaveZones(context.Background(), "cam1", console.ZoneEdit{Zones: map[string][][2]float64{"door": {{0, 0}, {1, 0}, {1, 1}}}}, "otto")
	if err != nil || res.Outcome != "unchanged" || res.Backup != "" {
		t.Errorf("the same zone: %+v, %v", res, err)
	}
	if b, _ := os.ReadFile(path); string(b) != content {
		t.Errorf("the file changed:\n%s", b)
	}
	if bak, _ := filepath.Glob(path + ".*.bak"); len(bak) != 0 {
		t.Errorf("backups written: %v", bak)
	}
}

// TestPruneBackups keeps the newest keepBackups.
func TestPruneBackups(t *testing.T) {
	path := filepath.Join(t.TempDir(), "c.yaml")
	for i := range 13 {
		os.WriteFile(fmt.Sprintf("%s.20261205T0000%02d.000Z.bak", path, i), nil, 0o600)
	}
	pruneBackups(path, keepBackups)
	left, _ := filepath.Glob(path + ".*.bak")
	if len(left) != keepBackups || !strings.Contains(left[0], "T000003") {
		t.Errorf("left %v", left)
	}
}
