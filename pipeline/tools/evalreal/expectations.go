// Package evalreal measures the pattern detectors on real camera footage
// (make eval-real): recorded clips kept beside the checkout, never in it
// (../shared/realclips; their MANIFEST.md is the ground truth in words),
// and an expectations file in the repository that says, per clip, what an
// operator would configure for that camera and which situations a control
// room should receive and when. Every clip is decoded by the service's own
// decoder and scaler, sampled at the camera's analysis rate and width, and
// run through the same analysis step the service runs
// (pipeline/internal/analysis, built by analysis.ForCamera from the camera
// section at the shipped defaults). The rendered suite (make eval,
// pipeline/tools/eval) stays as the regression floor; this one measures.
package evalreal

import (
	"path"
	"slices"
	"strings"
	"time"

	"github.com/edgeguard/edgeguard/pipeline/config"
	"github.com/edgeguard/edgeguard/pipeline/tools/eval"
	"github.com/edgeguard/edgeguard/policy/yamlstrict"
)

// Expectations are the parsed expectations file.
type Expectations struct {
	Clips []Clip
}

// Clip is one recorded clip, the camera configuration it is analysed
// with and the situations it contains.
type Clip struct {
	// File is the clip's path relative to the clips directory.
	File string
	// Camera is the camera section as the service would run it: decoded
	// and validated by pipeline/config from Defaults.
	Camera config.Camera
	Expect []eval.Expected
}

// file is the document's shape.
type file struct {
	Clips []clipFile `yaml:"clips"`
}

type clipFile struct {
	File   string         `yaml:"file"`
	Camera yamlstrict.Raw `yaml:"camera"`
	Expect []expectFile   `yaml:"expect"`
}

type expectFile struct {
	Type string        `yaml:"type"`
	From time.Duration `yaml:"from"`
	To   time.Duration `yaml:"to"`
	// Optional: a start of this type in the window is neither found nor
	// a false alarm.
	Optional bool `yaml:"optional"`
}

// Parse decodes and validates an expectations file; filename is used in
// messages. exists, if not nil, says whether a clip named by a file: key
// exists in the clips directory (nil: not checked). On failure the error is
// yamlstrict.Errors, every problem as FILE:LINE:COL: PATH: message.
func Parse(filename string, data []byte, exists func(rel string) bool) (*Expectations, error) {
	d := yamlstrict.New(filename, data, yamlstrict.Options{
		Empty: "the file is empty; it needs clips: (see pipeline/tools/evalreal/testdata/realclips.yaml)",
	})
	if !d.HasDocument() {
		return nil, d.Err()
	}
	var f file
	d.Decode(&f)
	if len(f.Clips) == 0 && !d.HasError("clips") {
		d.Errorf("clips", "required: at least one clip with file:, camera: and expect:")
	}
	out := &Expectations{}
	seen := map[string]int{}
	for i, cf := range f.Clips {
		p := yamlstrict.Index("clips", i)
		c := Clip{File: cf.File}
		checkFile(d, p+".file", cf.File, exists)
		if j, dup := seen[cf.File]; dup && cf.File != "" {
			d.Errorf(p+".file", "clip %q is listed twice (first at line %d); give each clip one entry", cf.File, d.Pos(yamlstrict.Index("clips", j)+".file").Line)
		} else {
			seen[cf.File] = i
		}
		if !d.Has(p + ".camera") {
			d.Errorf(p+".camera", "required: the camera section an operator would write for this clip (rules:, zones:, motion: ... as in edgeguard.yaml)")
		} else {
			c.Camera = config.DecodeCamera(d, cf.Camera)
			if d.Has(p + ".camera.url") {
				d.Errorf(p+".camera.url", "the clip is the camera's video; remove url")
			}
			if c.Camera.ID == "" {
				c.Camera.ID = clipID(cf.File)
			}
		}
		produced := c.Camera.AllEventTypes()
		for k, ef := range cf.Expect {
			ep := yamlstrict.Index(p+".expect", k)
			checkExpect(d, ep, ef, produced)
			c.Expect = append(c.Expect, eval.Expected{Type: ef.Type, From: ef.From, To: ef.To, Optional: ef.Optional})
		}
		out.Clips = append(out.Clips, c)
	}
	if err := d.Err(); err != nil {
		return nil, err
	}
	return out, nil
}

// checkFile checks a clip's path: relative, inside the clips directory,
// and (with exists) there.
func checkFile(d *yamlstrict.Decoder, p, name string, exists func(string) bool) {
	switch {
	case name == "":
		d.Errorf(p, "required: the clip's path relative to the clips directory, e.g. fall/lounge_cam2_fall.avi")
	case strings.HasPrefix(name, "/") || strings.Contains(name, `\`) || path.Clean(name) != name || name == "." || strings.HasPrefix(name, "../") || name == "..":
		d.Errorf(p, "%s must be a clean relative path inside the clips directory, with / between folders", yamlstrict.Quote(name))
	case exists != nil && !exists(name):
		d.Errorf(p, "no clip %s in the clips directory", yamlstrict.Quote(name))
	}
}

// checkExpect checks one expected situation: a pattern the camera's rules
// report, and a window that makes sense.
func checkExpect(d *yamlstrict.Decoder, ep string, ef expectFile, produced []string) {
	switch {
	case ef.Type == "":
		d.Errorf(ep+".type", "required; one of: %s", strings.Join(eval.AllTypes, ", "))
	case !slices.Contains(eval.AllTypes, ef.Type):
		d.Errorf(ep+".type", "unknown pattern %s; allowed: %s", yamlstrict.Quote(ef.Type), strings.Join(eval.AllTypes, ", "))
	case !slices.Contains(produced, ef.Type):
		d.Errorf(ep+".type", "no rule of the camera reports %s; add a rule of that type under camera.rules", ef.Type)
	}
	if !d.Has(ep + ".to") {
		d.Errorf(ep+".to", "required: the end of the window in which the start must be reported, e.g. 12.5s")
	}
	switch {
	case ef.From < 0:
		d.Errorf(ep+".from", "%v is before the clip's start", ef.From)
	case d.Has(ep+".to") && ef.To < ef.From:
		d.Errorf(ep+".to", "%v is before from (%v)", ef.To, ef.From)
	}
}

// clipID is a camera id for the clip: its file name without extension,
// reduced to the characters ids allow.
func clipID(name string) string {
	base := strings.TrimSuffix(path.Base(name), path.Ext(name))
	id := strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' {
			return r
		}
		return '_'
	}, base)
	if len(id) > 64 {
		id = id[:64]
	}
	if id == "" {
		id = "clip"
	}
	return id
}
