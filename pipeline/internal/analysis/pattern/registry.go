package pattern

import (
	"fmt"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/edgeguard/edgeguard/internal/geometry"
	"github.com/edgeguard/edgeguard/pipeline/internal/analysis/lifecycle"
)

// The rule registry: every rule type is declared once, in the list below,
// with its type name (which is its event type), a line of help and its
// constructor. What else there is to know about a type is read once, by
// reflection, from the fields of its config struct:
//
//   - its own keys, from tagged fields of type float64 (a number), int (a
//     count) or time.Duration:
//     Dwell time.Duration `key:"dwell" default:"60s" range:"1s..24h" help:"…"`
//     A zero field takes the default (so 0 in a config file is refused as
//     "0 means the default"), unless the tag says zero:"what 0 means";
//     the key option negative_off (`key:"min_occupancy,negative_off"`)
//     lets a negative value switch the check off.
//   - what it watches: a field Zone Zone (tag key:"zone" or, when the
//     type needs one, key:"zone,required"), or the fields LineName string
//     and Line geometry.Line (it needs a line); neither: the whole frame.
//   - a field Class Class: the type takes class.
//   - a field Perspective geometry.Perspective: it uses the camera's
//     perspective.
//   - an embedded Timing: it takes quiet_time and update_interval.
//   - a field Name string, which every type has.
//
// Defaults, ranges and the required name, zone and line are then checked
// by Validate, which every constructor calls; the config file, policy
// event types, `make eval` and docs/patterns.md all read the registry.
var registry = []*Spec{
	spec(TypeMotion, "something moves in the picture", NewMotion),
	spec(TypeIntrusion, "an object is in the zone for the minimum duration", intrusion(Present)),
	spec(TypeZoneEnter, "an object came from outside the zone and stayed inside for the minimum duration", intrusion(Enter)),
	spec(TypeZoneExit, "an object that was inside the zone for the minimum duration left it", intrusion(Exit)),
	spec(TypeLineCrossing, "an object's foot point crossed the line (in its direction)", NewLineCrossing),
	spec(TypeLoitering, "an object stays within a small area for the dwell time", NewLoitering),
	spec(TypeCrowd, "many objects, or a well-filled zone, for the duration", NewCrowd),
	spec(TypeRunning, "an object moves faster than a person walks", NewRunning),
	spec(TypePersonDown, "a person who was upright is lying and stays down", NewPersonDown),
	spec(TypeTamper, "the camera is covered, blinded, defocused or moved (or its video is lost)", NewTamper),
	spec(TypeAbandonedObject, "an object was put down and left unattended", NewAbandonedObject),
	spec(TypeObjectRemoved, "a part of the scene is gone", NewObjectRemoved),
	spec(TypeViolentMotion, "fast motion changing direction all the time: a fight", NewViolent),
}

// Sections are the rule types configured by a camera section of their own
// rather than as an entry of rules:, by type.
var sections = map[string]string{TypeMotion: "motion"}

// Kind is what a key's value is.
type Kind int

const (
	// Number is a float64.
	Number Kind = iota
	// Count is a whole number (int).
	Count
	// Duration is a time.Duration.
	Duration
)

var kinds = map[reflect.Type]Kind{
	reflect.TypeFor[float64]():       Number,
	reflect.TypeFor[int]():           Count,
	reflect.TypeFor[time.Duration](): Duration,
}

// Type is the Go type of a value of this kind.
func (k Kind) Type() reflect.Type {
	switch k {
	case Count:
		return reflect.TypeFor[int]()
	case Duration:
		return reflect.TypeFor[time.Duration]()
	}
	return reflect.TypeFor[float64]()
}

// Key is one setting of a rule type.
type Key struct {
	// Name is the key in the config file.
	Name string
	Kind Kind
	// Default is the value a missing key (or a zero field) takes; Min and
	// Max bound it. Durations are in nanoseconds; Format prints a value.
	Default, Min, Max float64
	// Zero, if set, says what 0 means: then 0 is a setting of its own,
	// allowed besides Min..Max, and not the default.
	Zero string
	// NegativeOff: a negative value switches what the key sets off.
	NegativeOff bool
	// Help says what the key does, for the docs.
	Help string

	index int // of the field in the config struct
}

// Format writes v the way messages and docs show the key's values.
func (k Key) Format(v float64) string {
	switch k.Kind {
	case Count:
		return strconv.Itoa(int(v))
	case Duration:
		return time.Duration(v).String()
	}
	return strconv.FormatFloat(v, 'g', -1, 64)
}

// Value is v (a value of the key's Go type, or an int for a Number) as a
// float64, as Default, Min and Max are.
func (k Key) Value(v any) (float64, bool) {
	switch x := v.(type) {
	case float64:
		return x, k.Kind == Number
	case int:
		return float64(x), k.Kind == Number || k.Kind == Count
	case time.Duration:
		return float64(x), k.Kind == Duration
	}
	return 0, false
}

// Check reports v outside the key's range, as "v is outside min..max".
func (k Key) Check(v float64) error {
	switch {
	case k.Zero != "" && v == 0:
		return nil
	case k.NegativeOff && v < 0:
		return nil
	case !(v >= k.Min && v <= k.Max):
		return fieldErr(k.Name, "%s is outside %s..%s", k.Format(v), k.Format(k.Min), k.Format(k.Max))
	}
	return nil
}

// Place is what a rule type watches.
type Place int

const (
	// Frame: the whole frame; the type takes no zone.
	Frame Place = iota
	// OptionalZone: a zone if one is given, else the whole frame.
	OptionalZone
	// RequiredZone: the type needs a zone.
	RequiredZone
	// RequiredLine: the type needs a line.
	RequiredLine
)

// Spec is one rule type as the registry knows it.
type Spec struct {
	// Type is the type's name in the config file and its event type.
	Type string
	// Help says what it reports, in one line.
	Help string
	// Section is the camera section that configures the type instead of
	// an entry of rules: ("motion"); "" for a rule.
	Section     string
	Place       Place
	Class       bool // takes class
	Perspective bool // uses the camera's perspective
	Timing      bool // takes quiet_time and update_interval (TimingKeys)
	// Keys are the type's own keys, in the order of its config struct.
	Keys []Key

	layout  *layout
	newRule func(reflect.Value) (Rule, error)
}

// KeyNames are the keys a rule of this type may have in the config file
// besides type: name, quiet_time and update_interval, zone or line,
// class, then its own keys.
func (s *Spec) KeyNames() []string {
	out := []string{"name"}
	if s.Timing {
		for _, k := range TimingKeys {
			out = append(out, k.Name)
		}
	}
	switch s.Place {
	case OptionalZone, RequiredZone:
		out = append(out, "zone")
	case RequiredLine:
		out = append(out, "line")
	}
	if s.Class {
		out = append(out, "class")
	}
	for _, k := range s.Keys {
		out = append(out, k.Name)
	}
	return out
}

// Key returns the type's own key called name.
func (s *Spec) Key(name string) (Key, bool) {
	i := slices.IndexFunc(s.Keys, func(k Key) bool { return k.Name == name })
	if i < 0 {
		return Key{}, false
	}
	return s.Keys[i], true
}

// Lifecycle is how a rule of this type with every default turns signals
// into situations (its default quiet time is its type's own).
func (s *Spec) Lifecycle() lifecycle.Config {
	r, err := s.New(s.sample(), nil)
	if err != nil {
		panic("pattern: " + s.Type + " with its defaults: " + err.Error())
	}
	return r.Lifecycle()
}

// sample is the least a rule of this type needs: a name, and the whole
// frame as its zone or a line across it where it needs one.
func (s *Spec) sample() Common {
	c := Common{Name: s.Type}
	switch s.Place {
	case RequiredZone:
		c.Zone = Zone{Name: "all", Polygon: geometry.Polygon{{X: 0, Y: 0}, {X: 1, Y: 0}, {X: 1, Y: 1}, {X: 0, Y: 1}}}
	case RequiredLine:
		c.LineName, c.Line = "line", geometry.Line{A: geometry.Point{X: 0.5, Y: 0}, B: geometry.Point{X: 0.5, Y: 1}}
	}
	return c
}

// TimingKeys are quiet_time and update_interval, which every type with a
// Timing takes.
var TimingKeys = layoutOf(reflect.TypeFor[Timing]()).keys

// Specs are the registered types, in the registry's order.
func Specs() []*Spec { return slices.Clone(registry) }

// Lookup returns the type called typ.
func Lookup(typ string) (*Spec, bool) {
	i := slices.IndexFunc(registry, func(s *Spec) bool { return s.Type == typ })
	if i < 0 {
		return nil, false
	}
	return registry[i], true
}

// Types are every type's name (= the event types rules produce), in the
// registry's order.
func Types() []string {
	out := make([]string, len(registry))
	for i, s := range registry {
		out[i] = s.Type
	}
	return out
}

// RuleTypes are the types a camera's rules: may have (not those with a
// section of their own), in the registry's order.
func RuleTypes() []string {
	var out []string
	for _, s := range registry {
		if s.Section == "" {
			out = append(out, s.Type)
		}
	}
	return out
}

// Common is what a rule has besides its type's own keys: its name, what it
// watches, the class of objects, the camera's perspective and its timing.
// New copies each into the type's config field of the same name.
type Common struct {
	Name string
	Zone Zone
	// LineName and Line: the line of a line_crossing rule.
	LineName    string
	Line        geometry.Line
	Class       Class
	Perspective geometry.Perspective
	Timing
}

// Settings are values of a type's own keys, by key name: float64 for a
// Number (an int is taken too), int for a Count, time.Duration for a
// Duration. A key that is not set takes its default.
type Settings map[string]any

// New builds a rule of type typ; errors are FieldErrors naming the key.
func New(typ string, c Common, s Settings) (Rule, error) {
	sp, ok := Lookup(typ)
	if !ok {
		return nil, fieldErr("type", "unknown type %q", typ)
	}
	return sp.New(c, s)
}

// New builds a rule of this type.
func (s *Spec) New(c Common, set Settings) (Rule, error) {
	l := s.layout
	v := reflect.New(l.t).Elem()
	v.Field(l.name).SetString(c.Name)
	for _, f := range []struct {
		key   string
		given bool
		field int
		value any
	}{
		{"zone", len(c.Zone.Polygon) > 0 || c.Zone.Name != "", l.zone, c.Zone},
		{"line", c.LineName != "" || c.Line != (geometry.Line{}), l.line, c.Line},
		{"line", c.LineName != "", l.lineName, c.LineName},
		{"class", c.Class != Any, l.class, c.Class},
		{"perspective", !c.Perspective.Zero(), l.persp, c.Perspective},
		{"quiet_time", c.Timing != (Timing{}), l.timing, c.Timing},
	} {
		switch {
		case f.field >= 0:
			v.Field(f.field).Set(reflect.ValueOf(f.value))
		case f.given && f.key != "perspective":
			// A perspective is the camera's: types that do not use it
			// ignore it.
			return nil, fieldErr(f.key, "does not apply to type %s", s.Type)
		}
	}
	for name, x := range set {
		k, ok := s.Key(name)
		if !ok {
			return nil, fieldErr(name, "does not apply to type %s", s.Type)
		}
		f, ok := k.Value(x)
		if !ok {
			return nil, fieldErr(name, "%v is not a %s", x, k.Kind.Type())
		}
		switch fv := v.Field(k.index); k.Kind {
		case Number:
			fv.SetFloat(f)
		default:
			fv.SetInt(int64(f))
		}
	}
	return s.newRule(v)
}

// Validate applies cfg's defaults (cfg is a registered type's config
// struct, e.g. LoiterConfig) and reports the first field out of range or
// missing, as a FieldError relative to the rule.
func Validate(cfg any) error {
	v := reflect.New(reflect.TypeOf(cfg)).Elem()
	v.Set(reflect.ValueOf(cfg))
	return setup(v)
}

// setup applies the defaults of v, an addressable config struct, and
// validates it; constructors call it through prepare.
func setup(v reflect.Value) error {
	l, ok := layouts[v.Type()]
	if !ok || l.name < 0 {
		return fmt.Errorf("pattern: %s is not a registered rule config", v.Type())
	}
	l.defaults(v)
	if v.Field(l.name).String() == "" {
		return fieldErr("name", "required")
	}
	if l.zone >= 0 {
		if err := v.Field(l.zone).Interface().(Zone).validate("zone", l.place == RequiredZone); err != nil {
			return err
		}
	}
	if l.line >= 0 {
		if err := prefix("line", v.Field(l.line).Interface().(geometry.Line).Validate()); err != nil {
			return err
		}
	}
	if err := l.check(v); err != nil {
		return err
	}
	if l.class >= 0 {
		if err := v.Field(l.class).Interface().(Class).validate("class"); err != nil {
			return err
		}
	}
	if l.persp >= 0 {
		if err := v.Field(l.persp).Interface().(geometry.Perspective).Validate(); err != nil {
			return prefix("perspective", err)
		}
	}
	if l.timing >= 0 {
		tv := v.Field(l.timing)
		tl := layouts[tv.Type()]
		tl.defaults(tv)
		return tl.check(tv)
	}
	return nil
}

// prepare is what every constructor starts with: defaults applied to cfg,
// then validated.
func prepare[C any](cfg *C) error { return setup(reflect.ValueOf(cfg).Elem()) }

// layout is what the registry read from one config struct.
type layout struct {
	t     reflect.Type
	keys  []Key
	place Place
	// Field indexes; -1 where the struct has no such field.
	name, zone, line, lineName, class, persp, timing int
}

func (l *layout) defaults(v reflect.Value) {
	for _, k := range l.keys {
		f := v.Field(k.index)
		if !f.IsZero() || k.Zero != "" || k.Default == 0 {
			continue
		}
		if k.Kind == Number {
			f.SetFloat(k.Default)
		} else {
			f.SetInt(int64(k.Default))
		}
	}
}

func (l *layout) check(v reflect.Value) error {
	for _, k := range l.keys {
		f := v.Field(k.index)
		x := 0.0
		if k.Kind == Number {
			x = f.Float()
		} else {
			x = float64(f.Int())
		}
		if err := k.Check(x); err != nil {
			return err
		}
	}
	return nil
}

// layouts are the config structs read, by type.
var layouts = map[reflect.Type]*layout{}

var (
	zoneType  = reflect.TypeFor[Zone]()
	lineType  = reflect.TypeFor[geometry.Line]()
	classType = reflect.TypeFor[Class]()
	perspType = reflect.TypeFor[geometry.Perspective]()
	timeType  = reflect.TypeFor[Timing]()
)

// layoutOf reads t's fields (see the registry's comment); a tag it cannot
// read is a programming error and panics when the package loads.
func layoutOf(t reflect.Type) *layout {
	if l, ok := layouts[t]; ok {
		return l
	}
	l := &layout{t: t, name: -1, zone: -1, line: -1, lineName: -1, class: -1, persp: -1, timing: -1}
	fail := func(f reflect.StructField, format string, a ...any) {
		panic(fmt.Sprintf("pattern: %s.%s: %s", t.Name(), f.Name, fmt.Sprintf(format, a...)))
	}
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		tag, tagged := f.Tag.Lookup("key")
		name, opts, _ := strings.Cut(tag, ",")
		switch {
		case f.Name == "Name" && f.Type.Kind() == reflect.String:
			l.name = i
		case f.Name == "LineName" && f.Type.Kind() == reflect.String:
			l.lineName = i
		case f.Type == zoneType:
			l.zone, l.place = i, OptionalZone
			if opts == "required" {
				l.place = RequiredZone
			}
		case f.Type == lineType:
			l.line, l.place = i, RequiredLine
		case f.Type == classType:
			l.class = i
		case f.Type == perspType:
			l.persp = i
		case f.Type == timeType && f.Anonymous:
			l.timing = i
			layoutOf(f.Type)
		case tagged:
			kind, ok := kinds[f.Type]
			if !ok {
				fail(f, "a key must be a float64, an int or a time.Duration")
			}
			k := Key{Name: name, Kind: kind, Zero: f.Tag.Get("zero"), NegativeOff: opts == "negative_off", Help: f.Tag.Get("help"), index: i}
			parse := func(s string) float64 {
				var x float64
				var err error
				switch kind {
				case Duration:
					var d time.Duration
					d, err = time.ParseDuration(s)
					x = float64(d)
				case Count:
					var n int
					n, err = strconv.Atoi(s)
					x = float64(n)
				default:
					x, err = strconv.ParseFloat(s, 64)
				}
				if err != nil {
					fail(f, "%v", err)
				}
				return x
			}
			if d := f.Tag.Get("default"); d != "" {
				k.Default = parse(d)
			}
			lo, hi, ok := strings.Cut(f.Tag.Get("range"), "..")
			if !ok {
				fail(f, `a key needs range:"min..max"`)
			}
			k.Min, k.Max = parse(lo), parse(hi)
			if k.Help == "" || (opts != "" && !k.NegativeOff) {
				fail(f, "a key needs help, and its only option is negative_off")
			}
			if k.Default != 0 && k.Check(k.Default) != nil {
				fail(f, "the default is out of range")
			}
			l.keys = append(l.keys, k)
		}
	}
	if l.line >= 0 && l.lineName < 0 {
		panic("pattern: " + t.Name() + " has a Line but no LineName")
	}
	layouts[t] = l
	return l
}

// spec declares a rule type: newRule takes the type's config struct C.
func spec[C any, R Rule](typ, help string, newRule func(C) (R, error)) *Spec {
	t := reflect.TypeFor[C]()
	l := layoutOf(t)
	if l.name < 0 {
		panic("pattern: " + t.Name() + " has no Name")
	}
	return &Spec{
		Type: typ, Help: help, Section: sections[typ], Place: l.place,
		Class: l.class >= 0, Perspective: l.persp >= 0, Timing: l.timing >= 0, Keys: l.keys, layout: l,
		newRule: func(v reflect.Value) (Rule, error) {
			r, err := newRule(v.Interface().(C))
			if err != nil {
				return nil, err
			}
			return r, nil
		},
	}
}
