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
	// rules: "dnn" (the NanoDet-g neural detector confirms people; the
	// default when its model is installed), "shape" (the box's shape and
	// the perspective; the default without the model) or "hog" (OpenCV's
	// HOG people detector; see docs/patterns.md for the costs).
	PersonDetector string `yaml:"person_detector"`
}

// Person detectors a camera can use.
const (
	PersonDetectorShape = "shape"
	PersonDetectorHOG   = "hog"
	PersonDetectorDNN   = "dnn"
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

// Rule is one pattern rule. Type selects the detector, a type of the rule
// registry (pattern.Lookup), which says which other keys apply; a key that
// does not apply is an error rather than silently ignored. Zero values
// mean the detector's default, which is why an explicit 0 is rejected.
type Rule struct {
	Type string
	// Name is the rule's name in logs; default "<type>-<zone or line>".
	Name  string
	Zone  string
	Line  string
	Class string
	// QuietTime and UpdateInterval are the common timing keys.
	QuietTime, UpdateInterval time.Duration
	// Settings are the type's own keys (pattern.Spec.Keys) that the file
	// sets, by key; the others take the type's default.
	Settings pattern.Settings
}

// ruleFile is how a rule is decoded: a struct, made once from the
// registry, with every key any rule type takes (the strict decoder checks
// the keys and their value types, and knows them all for "did you mean").
var ruleFile = func() (f struct {
	t    reflect.Type
	keys []string // by field
}) {
	var fields []reflect.StructField
	add := func(key string, t reflect.Type) {
		if i := slices.Index(f.keys, key); i >= 0 {
			if fields[i].Type != t {
				panic(fmt.Sprintf("config: rule key %s has two value types, %s and %s", key, fields[i].Type, t))
			}
			return
		}
		f.keys = append(f.keys, key)
		fields = append(fields, reflect.StructField{Name: fmt.Sprintf("K%d", len(fields)), Type: t, Tag: reflect.StructTag(`yaml:"` + key + `"`)})
	}
	str := reflect.TypeFor[string]()
	for _, k := range []string{"type", "name", "zone", "line", "class"} {
		add(k, str)
	}
	for _, s := range pattern.Specs() {
		if s.Section == "" {
			for _, k := range s.Keys {
				add(k.Name, k.Kind.Type())
			}
		}
	}
	for _, k := range pattern.TimingKeys {
		add(k.Name, k.Kind.Type())
	}
	f.t = reflect.StructOf(fields)
	return f
}()

// UnmarshalStrict decodes one rule of the file.
func (r *Rule) UnmarshalStrict(d *yamlstrict.Decoder, raw yamlstrict.Raw) {
	v := reflect.New(ruleFile.t)
	d.DecodeRaw(raw, v.Interface())
	e := v.Elem()
	*r = Rule{}
	for i, key := range ruleFile.keys {
		kp := raw.Path() + "." + key
		if !d.Has(kp) || d.HasError(kp) {
			continue
		}
		switch x := e.Field(i).Interface(); key {
		case "type":
			r.Type = x.(string)
		case "name":
			r.Name = x.(string)
		case "zone":
			r.Zone = x.(string)
		case "line":
			r.Line = x.(string)
		case "class":
			r.Class = x.(string)
		case "quiet_time":
			r.QuietTime = x.(time.Duration)
		case "update_interval":
			r.UpdateInterval = x.(time.Duration)
		default:
			if r.Settings == nil {
				r.Settings = pattern.Settings{}
			}
			r.Settings[key] = x
		}
	}
}

// RuleTypes are the pattern types a rule can have, in the order of
// messages: the registry's, without motion (the camera's motion: section).
var RuleTypes = pattern.RuleTypes()

// EventTypes are the event types the pattern rules produce (without
// motion, see Camera.AllEventTypes), each once, in rule order.
func (p Patterns) EventTypes() []string {
	var out []string
	for _, r := range p.Rules {
		if !slices.Contains(out, r.Type) {
			out = append(out, r.Type)
		}
	}
	return out
}

// motionRule is the motion section as the registry's rule of type motion.
func (m Motion) rule() Rule {
	return Rule{Type: pattern.TypeMotion, Name: pattern.TypeMotion, Settings: m.settings()}
}

// settings are the section's values of the motion rule's keys.
func (m Motion) settings() pattern.Settings {
	return pattern.Settings{"min_duration": m.MinDuration, "quiet_time": m.QuietTime, "update_interval": m.UpdateInterval}
}

// motionDefault is the registry's default of the motion rule's key.
func motionDefault(key string) time.Duration {
	s, _ := pattern.Lookup(pattern.TypeMotion)
	k, ok := s.Key(key)
	if !ok {
		panic("config: the motion rule has no key " + key)
	}
	return time.Duration(k.Default)
}

// AllRules are the rules the camera runs: motion (its motion: section as
// a rule of the registry's type motion), unless motion events are off,
// then its pattern rules.
func (c Camera) AllRules() []Rule {
	if !c.Motion.Enabled {
		return c.Rules
	}
	return append([]Rule{c.Motion.rule()}, c.Rules...)
}

// AllEventTypes are the event types the camera produces: those of
// AllRules, each once, in rule order.
func (c Camera) AllEventTypes() []string {
	return Patterns{Rules: c.AllRules()}.EventTypes()
}

// NewAllRules builds fresh instances of AllRules, for a camera session.
func (c Camera) NewAllRules() ([]pattern.Rule, error) {
	rules, err := c.NewRules()
	if err != nil || !c.Motion.Enabled {
		return rules, err
	}
	m, err := c.build(c.Motion.rule())
	if err != nil {
		return nil, fmt.Errorf("motion: %w", err)
	}
	return append([]pattern.Rule{m}, rules...), nil
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

// build turns one rule into its detector through the registry; errors
// name fields relative to the rule.
func (p Patterns) build(r Rule) (pattern.Rule, error) {
	class := pattern.Class(r.Class)
	if class == "any" {
		class = pattern.Any
	}
	c := pattern.Common{Name: ruleName(r), Zone: p.zone(r.Zone), Class: class, Perspective: p.perspective(),
		Timing: pattern.Timing{QuietTime: r.QuietTime, UpdateInterval: r.UpdateInterval}}
	if r.Line != "" {
		ls, ok := p.Lines[r.Line]
		if !ok {
			return nil, &pattern.FieldError{Field: "line", Msg: fmt.Sprintf("unknown line %q", r.Line)}
		}
		l, err := ls.line()
		if err != nil {
			return nil, &pattern.FieldError{Field: "line", Msg: err.Error()}
		}
		c.LineName, c.Line = r.Line, l
	}
	return pattern.New(r.Type, c, r.Settings)
}

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
	case "", PersonDetectorShape, PersonDetectorHOG, PersonDetectorDNN:
	default:
		d.Errorf(p+".person_detector", "unknown value %s; allowed: %s (default if its model is installed, else %s), %s, %s",
			yamlstrict.Quote(pt.PersonDetector), PersonDetectorDNN, PersonDetectorShape, PersonDetectorShape, PersonDetectorHOG)
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
// they refer to, all as the registry says; it reports whether the rule can
// be built.
func validateRule(d *yamlstrict.Decoder, rp string, r Rule, pt *Patterns, zoneNames, lineNames []string) bool {
	spec, ok := pattern.Lookup(r.Type)
	switch {
	case ok && spec.Section != "":
		d.Errorf(rp+".type", "%s is set in the camera's %s: section, not as a rule; rule types: %s", r.Type, spec.Section, strings.Join(RuleTypes, ", "))
		return false
	case ok:
	case r.Type == "":
		d.Errorf(rp+".type", "required; one of: %s", strings.Join(RuleTypes, ", "))
		return false
	default:
		d.Errorf(rp+".type", "unknown rule type %s; allowed: %s", yamlstrict.Quote(r.Type), strings.Join(RuleTypes, ", "))
		return false
	}
	good := true
	allowed := append([]string{"type"}, spec.KeyNames()...)
	for _, key := range ruleFile.keys {
		kp := rp + "." + key
		if !d.Has(kp) {
			continue
		}
		if !slices.Contains(allowed, key) {
			d.Errorf(kp, "does not apply to type %s; its settings: %s", r.Type, strings.Join(allowed, ", "))
			good = false
			continue
		}
		if isZero(r, key) && !d.HasError(kp) {
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
	switch {
	case r.Zone != "" && pt.Zones[r.Zone] == nil:
		d.Errorf(rp+".zone", "unknown zone %s; %s", yamlstrict.Quote(r.Zone), defined("zones", zoneNames))
		good = false
	case r.Zone == "" && spec.Place == pattern.RequiredZone:
		d.Errorf(rp+".zone", "required: the name of a zone under zones; %s", defined("zones", zoneNames))
		good = false
	}
	if spec.Place == pattern.RequiredLine {
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

// isZero reports whether the rule's numeric key is 0 (text keys never are).
func isZero(r Rule, key string) bool {
	switch key {
	case "quiet_time":
		return r.QuietTime == 0
	case "update_interval":
		return r.UpdateInterval == 0
	}
	x, ok := r.Settings[key]
	return ok && reflect.ValueOf(x).IsZero()
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
