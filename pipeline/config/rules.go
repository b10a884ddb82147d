package config

import (
	"fmt"
	"reflect"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/edgeguard/edgeguard/internal/geometry"
	"github.com/edgeguard/edgeguard/pipeline/internal/analysis/pattern"
	"github.com/edgeguard/edgeguard/policy/yamlstrict"
)

// Patterns are a camera's behaviour-pattern rules and the places they refer
// to. Zones and lines are named once and referred to by name, so that one
// doorway can carry several rules and the events say which doorway.
type Patterns struct {
	// Zones are polygons of normalised [x, y] points ((0,0) top-left,
	// (1,1) bottom-right), drawn where people walk.
	Zones map[string][][]float64 `yaml:"zones"`
	// Lines are tripwires for line_crossing.
	Lines map[string]LineSpec `yaml:"lines"`
	// Perspective, if set, makes sizes and speeds mean the same near and far.
	Perspective *Perspective `yaml:"perspective"`
	// Rules run in order on every analysed frame.
	Rules []Rule `yaml:"rules"`
	// PersonDetector decides what class: person means for this camera's
	// rules: "shape" ("" too; the box's shape and the perspective) or
	// "hog" (OpenCV's HOG people detector confirms people; see
	// docs/patterns.md for its cost).
	PersonDetector string `yaml:"person_detector"`
}

// Person detectors a camera can use.
const (
	PersonDetectorShape = "shape"
	PersonDetectorHOG   = "hog"
)

// PersonHOG reports whether the camera runs the HOG person detector.
func (p Patterns) PersonHOG() bool { return p.PersonDetector == PersonDetectorHOG }

// LineSpec is a named tripwire from From to To.
type LineSpec struct {
	From []float64 `yaml:"from"`
	To   []float64 `yaml:"to"`
	// Direction is both (default), left_to_right or right_to_left, seen
	// standing at From looking at To.
	Direction string `yaml:"direction"`
}

// Perspective gives the height of a standing person (fraction of the image
// height) with feet at two image rows.
type Perspective struct {
	Row1    float64 `yaml:"row1"`
	Height1 float64 `yaml:"height1"`
	Row2    float64 `yaml:"row2"`
	Height2 float64 `yaml:"height2"`
}

// Rule is one pattern detector. Type selects the detector; which other keys
// apply depends on it (see ruleFields); a key that does not apply is an
// error rather than silently ignored. Zero values mean the detector's
// default, which is why an explicit 0 is rejected.
type Rule struct {
	Type string `yaml:"type"`
	// Name is the rule's name in logs; default "<type>-<zone or line>".
	Name  string `yaml:"name"`
	Zone  string `yaml:"zone"`
	Line  string `yaml:"line"`
	Class string `yaml:"class"`

	MinSize     float64       `yaml:"min_size"`
	MinDuration time.Duration `yaml:"min_duration"`

	Dwell  time.Duration `yaml:"dwell"`
	Radius float64       `yaml:"radius"`

	MinCount     int           `yaml:"min_count"`
	MinOccupancy float64       `yaml:"min_occupancy"`
	Duration     time.Duration `yaml:"duration"`

	Speed  float64       `yaml:"speed"`
	Window time.Duration `yaml:"window"`

	Energy float64 `yaml:"energy"`
	Spread float64 `yaml:"spread"`

	DownTime   time.Duration `yaml:"down_time"`
	Aspect     float64       `yaml:"aspect"`
	HeightDrop float64       `yaml:"height_drop"`
	Upright    time.Duration `yaml:"upright"`

	DarkMean   float64       `yaml:"dark_mean"`
	FlatStdDev float64       `yaml:"flat_stddev"`
	BlurRatio  float64       `yaml:"blur_ratio"`
	Shift      float64       `yaml:"shift"`
	Learn      time.Duration `yaml:"learn"`

	QuietTime      time.Duration `yaml:"quiet_time"`
	UpdateInterval time.Duration `yaml:"update_interval"`
}

// ruleFields lists the keys each rule type takes besides the common ones
// (type, name, quiet_time, update_interval). The order is the order in
// messages.
var ruleFields = map[string][]string{
	pattern.TypeIntrusion:       {"zone", "class", "min_size", "min_duration"},
	pattern.TypeZoneEnter:       {"zone", "class", "min_size", "min_duration"},
	pattern.TypeZoneExit:        {"zone", "class", "min_size", "min_duration"},
	pattern.TypeLineCrossing:    {"line", "class"},
	pattern.TypeLoitering:       {"zone", "class", "dwell", "radius"},
	pattern.TypeCrowd:           {"zone", "class", "min_count", "min_occupancy", "duration"},
	pattern.TypeRunning:         {"zone", "class", "speed", "window", "min_duration"},
	pattern.TypePersonDown:      {"zone", "down_time", "aspect", "height_drop", "upright"},
	pattern.TypeTamper:          {"dark_mean", "flat_stddev", "blur_ratio", "shift", "duration", "learn"},
	pattern.TypeViolentMotion:   {"zone", "energy", "spread", "min_duration"},
	pattern.TypeAbandonedObject: {"zone", "min_size", "duration", "radius"},
	pattern.TypeObjectRemoved:   {"zone", "min_size", "duration"},
}

var commonRuleFields = []string{"type", "name", "quiet_time", "update_interval"}

// RuleTypes are the pattern types a rule can have, in the order of messages.
var RuleTypes = []string{
	pattern.TypeIntrusion, pattern.TypeZoneEnter, pattern.TypeZoneExit, pattern.TypeLineCrossing,
	pattern.TypeLoitering, pattern.TypeCrowd, pattern.TypeRunning, pattern.TypePersonDown, pattern.TypeTamper,
	pattern.TypeAbandonedObject, pattern.TypeObjectRemoved,
	pattern.TypeViolentMotion,
}

// EventTypes are the event types the camera's rules produce (without
// motion), each once, in rule order.
func (p Patterns) EventTypes() []string {
	var out []string
	for _, r := range p.Rules {
		if !slices.Contains(out, r.Type) {
			out = append(out, r.Type)
		}
	}
	return out
}

// NewRules builds fresh detector instances (they keep per-track state, so
// every camera session starts its own). The config was validated by Parse,
// so an error here means the Patterns were built by hand.
func (p Patterns) NewRules() ([]pattern.Rule, error) {
	out := make([]pattern.Rule, 0, len(p.Rules))
	names := p.ruleNames()
	for i, r := range p.Rules {
		r.Name = names[i]
		rule, err := p.build(r)
		if err != nil {
			return nil, fmt.Errorf("rules[%d]: %w", i, err)
		}
		out = append(out, rule)
	}
	return out, nil
}

func (p Patterns) perspective() geometry.Perspective {
	if p.Perspective == nil {
		return geometry.Perspective{}
	}
	q := *p.Perspective
	return geometry.Perspective{Row1: q.Row1, Height1: q.Height1, Row2: q.Row2, Height2: q.Height2}
}

func (p Patterns) zone(name string) pattern.Zone {
	if name == "" {
		return pattern.Zone{}
	}
	return pattern.Zone{Name: name, Polygon: polygon(p.Zones[name])}
}

func polygon(pts [][]float64) geometry.Polygon {
	out := make(geometry.Polygon, 0, len(pts))
	for _, q := range pts {
		if len(q) == 2 {
			out = append(out, geometry.Point{X: q[0], Y: q[1]})
		}
	}
	return out
}

func point(q []float64) geometry.Point {
	if len(q) != 2 {
		return geometry.Point{}
	}
	return geometry.Point{X: q[0], Y: q[1]}
}

func (l LineSpec) line() (geometry.Line, error) {
	dir, err := geometry.ParseDirection(l.Direction)
	return geometry.Line{A: point(l.From), B: point(l.To), Direction: dir}, err
}

// ruleNames are the rules' names, unique within the camera: the camera
// tells situations of different rules apart by name. Default names that
// collide get a suffix (-2, -3, ...); Parse rejects explicit duplicates.
func (p Patterns) ruleNames() []string {
	out := make([]string, len(p.Rules))
	used := map[string]bool{}
	for i, r := range p.Rules {
		if r.Name != "" {
			out[i] = r.Name
			used[r.Name] = true
		}
	}
	for i, r := range p.Rules {
		if r.Name != "" {
			continue
		}
		name := ruleName(r)
		for n := 2; used[name]; n++ {
			name = fmt.Sprintf("%s-%d", ruleName(r), n)
		}
		out[i] = name
		used[name] = true
	}
	return out
}

// ruleName is the default name: the type and what it watches.
func ruleName(r Rule) string {
	switch {
	case r.Name != "":
		return r.Name
	case r.Zone != "":
		return r.Type + "-" + r.Zone
	case r.Line != "":
		return r.Type + "-" + r.Line
	}
	return r.Type
}

// build turns one rule into its detector; pattern's Validate reports fields
// relative to the rule.
func (p Patterns) build(r Rule) (pattern.Rule, error) {
	name, persp, zone := ruleName(r), p.perspective(), p.zone(r.Zone)
	class := pattern.Class(r.Class)
	if class == "any" {
		class = pattern.Any
	}
	tm := pattern.Timing{QuietTime: r.QuietTime, UpdateInterval: r.UpdateInterval}
	switch r.Type {
	case pattern.TypeIntrusion, pattern.TypeZoneEnter, pattern.TypeZoneExit:
		mode := map[string]pattern.IntrusionMode{pattern.TypeIntrusion: pattern.Present, pattern.TypeZoneEnter: pattern.Enter, pattern.TypeZoneExit: pattern.Exit}[r.Type]
		return pattern.NewIntrusion(pattern.IntrusionConfig{Name: name, Zone: zone, Mode: mode, MinSize: r.MinSize,
			MinDuration: r.MinDuration, Class: class, Perspective: persp, Timing: tm})
	case pattern.TypeLineCrossing:
		ls, ok := p.Lines[r.Line]
		if !ok {
			return nil, &pattern.FieldError{Field: "line", Msg: fmt.Sprintf("unknown line %q", r.Line)}
		}
		l, err := ls.line()
		if err != nil {
			return nil, &pattern.FieldError{Field: "line", Msg: err.Error()}
		}
		return pattern.NewLineCrossing(pattern.LineConfig{Name: name, LineName: r.Line, Line: l, Class: class, Perspective: persp, Timing: tm})
	case pattern.TypeLoitering:
		return pattern.NewLoitering(pattern.LoiterConfig{Name: name, Zone: zone, Dwell: r.Dwell, Radius: r.Radius,
			Class: class, Perspective: persp, Timing: tm})
	case pattern.TypeCrowd:
		return pattern.NewCrowd(pattern.CrowdConfig{Name: name, Zone: zone, MinCount: r.MinCount, MinOccupancy: r.MinOccupancy,
			Duration: r.Duration, Class: class, Perspective: persp, Timing: tm})
	case pattern.TypeRunning:
		return pattern.NewRunning(pattern.RunningConfig{Name: name, Zone: zone, Speed: r.Speed, Window: r.Window,
			MinDuration: r.MinDuration, Class: class, Perspective: persp, Timing: tm})
	case pattern.TypePersonDown:
		return pattern.NewPersonDown(pattern.PersonDownConfig{Name: name, Zone: zone, DownTime: r.DownTime, Aspect: r.Aspect,
			HeightDrop: r.HeightDrop, Upright: r.Upright, Perspective: persp, Timing: tm})
	case pattern.TypeViolentMotion:
		return pattern.NewViolent(pattern.ViolentConfig{Name: name, Zone: zone, Energy: r.Energy, Spread: r.Spread,
			MinDuration: r.MinDuration, Perspective: persp, Timing: tm})
	case pattern.TypeTamper:
		return pattern.NewTamper(pattern.TamperConfig{Name: name, DarkMean: r.DarkMean, FlatStdDev: r.FlatStdDev,
			BlurRatio: r.BlurRatio, Shift: r.Shift, Duration: r.Duration, Learn: r.Learn, Timing: tm})
	case pattern.TypeAbandonedObject:
		return pattern.NewAbandonedObject(pattern.AbandonedConfig{Name: name, Zone: zone, MinSize: r.MinSize, Duration: r.Duration,
			Radius: r.Radius, Perspective: persp, Timing: tm})
	case pattern.TypeObjectRemoved:
		return pattern.NewObjectRemoved(pattern.RemovedConfig{Name: name, Zone: zone, MinSize: r.MinSize, Duration: r.Duration, Timing: tm})
	}
	return nil, &pattern.FieldError{Field: "type", Msg: fmt.Sprintf("unknown type %q", r.Type)}
}

// ruleKeys maps a rule's YAML keys to its struct fields.
var ruleKeys = func() map[string]int {
	m := map[string]int{}
	t := reflect.TypeFor[Rule]()
	for i := 0; i < t.NumField(); i++ {
		m[t.Field(i).Tag.Get("yaml")] = i
	}
	return m
}()

// validatePatterns checks a camera's zones, lines, perspective and rules;
// p is the camera's path ("cameras[0]").
func validatePatterns(d *yamlstrict.Decoder, p string, pt *Patterns) {
	zoneNames := sortedKeys(pt.Zones)
	lineNames := sortedKeys(pt.Lines)
	badZone := map[string]bool{}
	for _, name := range zoneNames {
		zp := yamlstrict.Key(p+".zones", name)
		if !idPattern.MatchString(name) {
			d.Errorf(zp, "%s is not a valid zone name; allowed: 1 to 64 letters, digits, - and _ (it is sent as the event's zone)", yamlstrict.Quote(name))
			badZone[name] = true
			continue
		}
		pts := pt.Zones[name]
		ok := true
		for i, q := range pts {
			if len(q) != 2 {
				d.Errorf(yamlstrict.Index(zp, i), "expected a point [x, y], got %d numbers", len(q))
				ok = false
			}
		}
		if ok {
			if err := polygon(pts).Validate(); err != nil {
				d.Errorf(geomPath(zp, err), "%s", geomMsg(err))
				ok = false
			}
		}
		badZone[name] = !ok
	}
	badLine := map[string]bool{}
	for _, name := range lineNames {
		lp := yamlstrict.Key(p+".lines", name)
		ls := pt.Lines[name]
		ok := true
		switch {
		case !idPattern.MatchString(name):
			d.Errorf(lp, "%s is not a valid line name; allowed: 1 to 64 letters, digits, - and _ (it is sent as the event's zone)", yamlstrict.Quote(name))
			ok = false
		case pt.Zones[name] != nil:
			d.Errorf(lp, "%q is also a zone's name; events name both in the same field, so give the line another name", name)
			ok = false
		}
		for _, end := range []struct {
			key string
			v   []float64
		}{{"from", ls.From}, {"to", ls.To}} {
			if len(end.v) != 2 {
				d.Errorf(lp+"."+end.key, "required: a point [x, y] (fractions of the image, 0..1)")
				ok = false
			}
		}
		if ok {
			l, err := ls.line()
			switch {
			case err != nil:
				d.Errorf(lp+".direction", "%v", err)
				ok = false
			default:
				if err := l.Validate(); err != nil {
					at := lp
					if fe, isFE := err.(*geometry.FieldError); isFE && strings.HasPrefix(fe.Field, "points[") {
						at = lp + "." + map[string]string{"points[0]": "from", "points[1]": "to"}[fe.Field]
					}
					d.Errorf(at, "%s", geomMsg(err))
					ok = false
				}
			}
		}
		badLine[name] = !ok
	}
	perspOK := true
	if pt.Perspective != nil {
		if err := pt.perspective().Validate(); err != nil {
			d.Errorf(geomPath(p+".perspective", err), "%s", geomMsg(err))
			perspOK = false
		} else if pt.perspective().Zero() {
			d.Errorf(p+".perspective", "row1, height1, row2 and height2 are required")
			perspOK = false
		}
	}
	switch pt.PersonDetector {
	case "", PersonDetectorShape, PersonDetectorHOG:
	default:
		d.Errorf(p+".person_detector", "unknown value %s; allowed: %s (default), %s",
			yamlstrict.Quote(pt.PersonDetector), PersonDetectorShape, PersonDetectorHOG)
	}
	named := map[string]int{}
	for i, r := range pt.Rules {
		rp := yamlstrict.Index(p+".rules", i)
		if r.Name != "" {
			if j, dup := named[r.Name]; dup {
				d.Errorf(rp+".name", "duplicate rule name %q (first at line %d)", r.Name, d.Pos(yamlstrict.Index(p+".rules", j)+".name").Line)
			} else {
				named[r.Name] = i
			}
		}
		if !validateRule(d, rp, r, pt, zoneNames, lineNames) || badZone[r.Zone] || badLine[r.Line] || !perspOK {
			continue
		}
		if _, err := pt.build(r); err != nil {
			field, msg := "", err.Error()
			if fe, ok := err.(*pattern.FieldError); ok {
				field, msg = fe.Field, fe.Msg
			}
			d.Errorf(rp+"."+field, "%s", msg)
		}
	}
}

// validateRule checks the rule's type, which keys it may have and what
// they refer to; it reports whether the rule can be built.
func validateRule(d *yamlstrict.Decoder, rp string, r Rule, pt *Patterns, zoneNames, lineNames []string) bool {
	fields, ok := ruleFields[r.Type]
	if !ok {
		if r.Type == "" {
			d.Errorf(rp+".type", "required; one of: %s", strings.Join(RuleTypes, ", "))
		} else {
			d.Errorf(rp+".type", "unknown rule type %s; allowed: %s", yamlstrict.Quote(r.Type), strings.Join(RuleTypes, ", "))
		}
		return false
	}
	good := true
	allowed := append(slices.Clone(commonRuleFields), fields...)
	v := reflect.ValueOf(r)
	for key, i := range ruleKeys {
		kp := rp + "." + key
		if !d.Has(kp) {
			continue
		}
		if !slices.Contains(allowed, key) {
			d.Errorf(kp, "does not apply to type %s; its settings: %s", r.Type, strings.Join(allowed, ", "))
			good = false
			continue
		}
		if f := v.Field(i); f.Kind() != reflect.String && f.IsZero() && !d.HasError(kp) {
			d.Errorf(kp, "0 means the default here; remove the line to use the default")
			good = false
		}
	}
	if r.Name != "" && (len([]rune(r.Name)) > 100 || hasControl(r.Name)) {
		d.Errorf(rp+".name", "must be at most 100 characters on one line")
		good = false
	}
	switch r.Class {
	case "", "any", "person", "object":
	default:
		d.Errorf(rp+".class", "unknown value %s; allowed: any, person, object", yamlstrict.Quote(r.Class))
		good = false
	}
	needsZone := r.Type == pattern.TypeIntrusion || r.Type == pattern.TypeZoneEnter || r.Type == pattern.TypeZoneExit
	switch {
	case r.Zone != "" && pt.Zones[r.Zone] == nil:
		d.Errorf(rp+".zone", "unknown zone %s; %s", yamlstrict.Quote(r.Zone), defined("zones", zoneNames))
		good = false
	case r.Zone == "" && needsZone:
		d.Errorf(rp+".zone", "required: the name of a zone under zones; %s", defined("zones", zoneNames))
		good = false
	}
	if r.Type == pattern.TypeLineCrossing {
		_, known := pt.Lines[r.Line]
		switch {
		case r.Line == "":
			d.Errorf(rp+".line", "required: the name of a line under lines; %s", defined("lines", lineNames))
			good = false
		case !known:
			d.Errorf(rp+".line", "unknown line %s; %s", yamlstrict.Quote(r.Line), defined("lines", lineNames))
			good = false
		}
	}
	return good
}

func defined(what string, names []string) string {
	if len(names) == 0 {
		return "no " + what + " are defined for this camera"
	}
	return "defined: " + strings.Join(names, ", ")
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// geomPath puts a geometry field ("points[2]", "row1") under parent as a
// YAML path: a zone's points are the zone's list itself.
func geomPath(parent string, err error) string {
	fe, ok := err.(*geometry.FieldError)
	if !ok || fe.Field == "" || fe.Field == "points" {
		return parent
	}
	if rest, ok := strings.CutPrefix(fe.Field, "points"); ok {
		return parent + rest
	}
	return parent + "." + fe.Field
}

func geomMsg(err error) string {
	if fe, ok := err.(*geometry.FieldError); ok {
		return fe.Msg
	}
	return err.Error()
}
