package yamlstrict

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"
)

type day struct{ s string }

func (d *day) UnmarshalText(b []byte) error {
	if len(b) != 3 {
		return fmt.Errorf("%q is not a day; allowed: mon, tue", b)
	}
	d.s = string(b)
	return nil
}

type inner struct {
	N int     `yaml:"n"`
	F float64 `yaml:"f"`
}

type shared struct {
	Shared string `yaml:"shared"`
}

type doc struct {
	S      string            `yaml:"s"`
	B      bool              `yaml:"b"`
	I      int8              `yaml:"i"`
	U      uint16            `yaml:"u"`
	F      float64           `yaml:"f"`
	D      time.Duration     `yaml:"d"`
	L      []string          `yaml:"l"`
	M      map[string]inner  `yaml:"m"`
	In     inner             `yaml:"in"`
	P      *inner            `yaml:"p"`
	Day    day               `yaml:"day"`
	R      Raw               `yaml:"r"`
	Tags   map[string]string `yaml:"tags"`
	shared `yaml:",inline"`
	Hidden string `yaml:"-"`
}

func TestDecodeValues(t *testing.T) {
	in := `s: text
b: false
i: -12
u: 0x10
f: 1_000.5
d: 1d2h
l: [a, "b c"]
m:
  one: {n: 1}
  "two words": {f: 2}
in: {n: 3}
p: {f: 4}
day: mon
r: {anything: [1, 2]}
shared: yes
`
	d := New("t.yaml", []byte(in), Options{})
	v := doc{In: inner{F: 9}} // pre-filled defaults survive where keys are absent
	d.Decode(&v)
	if err := d.Err(); err != nil {
		t.Fatal(err)
	}
	want := doc{S: "text", I: -12, U: 16, F: 1000.5, D: 26 * time.Hour, L: []string{"a", "b c"},
		M: map[string]inner{"one": {N: 1}, "two words": {F: 2}}, In: inner{N: 3, F: 9}, P: &inner{F: 4},
		Day: day{"mon"}, shared: shared{"yes"}}
	r := v.R
	v.R = Raw{}
	if !reflect.DeepEqual(v, want) {
		t.Errorf("got %+v\nwant %+v", v, want)
	}
	if r.Path() != "r" {
		t.Errorf("raw path %q", r.Path())
	}
	var later struct {
		Anything []int `yaml:"anything"`
	}
	d.DecodeRaw(r, &later)
	if d.Err() != nil || !reflect.DeepEqual(later.Anything, []int{1, 2}) {
		t.Errorf("raw decoded to %+v, %v", later, d.Err())
	}
	for path, want := range map[string]Pos{"s": {1, 1}, "l[1]": {7, 8}, `m["two words"].f`: {10, 17}, "p.f": {12, 5}} {
		if got := d.Pos(path); got != want {
			t.Errorf("Pos(%q) = %v, want %v", path, got, want)
		}
	}
	if got := d.Pos("in.f"); got != (Pos{11, 1}) {
		t.Errorf("Pos of an absent key = %v, want its parent's position 11:1", got)
	}
	if !d.Has("in.n") || d.Has("in.f") {
		t.Errorf("Has: in.n present, in.f absent")
	}
}

func TestErrors(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"wrong types", "s: [x]\nb: 1\ni: 300\nu: -1\nf: .inf\nd: 5\nl: x\nm: [1]\nday: monday\n",
			"t.yaml:1:1: s: expected text, got a list\n" +
				"t.yaml:2:1: b: expected true or false, got 1\n" +
				"t.yaml:3:1: i: the number 300 is too large\n" +
				"t.yaml:4:1: u: the number -1 is out of range\n" +
				"t.yaml:5:1: f: expected a number, got .inf\n" +
				"t.yaml:6:1: d: expected a duration such as 30s, 500ms, 5m, 24h or 7d, got 5 (add a unit, e.g. 5s)\n" +
				"t.yaml:7:1: l: expected a list, e.g. [a, b], got \"x\"\n" +
				"t.yaml:8:1: m: expected key: value settings, got a list\n" +
				"t.yaml:9:1: day: \"monday\" is not a day; allowed: mon, tue"},
		{"case and separator typos", "In: {N: 1}\nta_gs: {}\n",
			"t.yaml:1:1: In: unknown field; did you mean \"in\"? allowed: s, b, i, u, f, d, l, m, in, p, day, r, tags, shared\n" +
				"t.yaml:2:1: ta_gs: unknown field; did you mean \"tags\"? allowed: s, b, i, u, f, d, l, m, in, p, day, r, tags, shared"},
		{"hidden fields are unknown", "Hidden: x\n", "t.yaml:1:1: Hidden: unknown field; allowed: s, b, i, u, f, d, l, m, in, p, day, r, tags, shared"},
		{"complex key", "? [a]\n: 1\n", "t.yaml:1:3: a key must be a plain name, got a list"},
		{"empty key", "\"\": 1\n", "t.yaml:1:1: empty key; write a name before the colon"},
		{"tag", "s: !!binary aGk=\n", "t.yaml:1:4: s: type tags (!!binary) are not allowed; write the plain value (quote text)"},
		{"custom tag", "s: !secret x\n", "t.yaml:1:4: s: type tags (!secret) are not allowed; write the plain value (quote text)"},
		{"alias in list", "l: &a [x]\ntags: {k: *a}\n",
			"t.yaml:1:4: l: anchors (&a) are not allowed; write the value out in full\n" +
				"t.yaml:2:11: tags.k: aliases (*a) are not allowed; write the value out in full"},
		{"billion laughs is rejected before expansion", "a: &a [x, x]\nb: &b [*a, *a]\nc: [*b, *b]\n",
			"t.yaml:1:4: a: anchors (&a) are not allowed; write the value out in full\n" +
				"t.yaml:2:4: b: anchors (&b) are not allowed; write the value out in full\n" +
				"t.yaml:2:8: b[0]: aliases (*a) are not allowed; write the value out in full\n" +
				"t.yaml:2:12: b[1]: aliases (*a) are not allowed; write the value out in full\n" +
				"t.yaml:3:1: c: unknown field; allowed: s, b, i, u, f, d, l, m, in, p, day, r, tags, shared\n" +
				"t.yaml:3:5: c[0]: aliases (*b) are not allowed; write the value out in full\n" +
				"t.yaml:3:9: c[1]: aliases (*b) are not allowed; write the value out in full"},
		{"duplicate map key", "m:\n  x: {}\n  x: {}\n", "t.yaml:3:3: m.x: duplicate key (first at line 2)"},
		{"root scalar", "42\n", "t.yaml:1:1: expected settings as key: value lines at the top level, got 42"},
		{"null root", "~\n", "t.yaml:1:1: the file is empty"},
		{"second document", "s: a\n---\ns: b\n", "t.yaml:2:1: only one document is allowed; remove the line with --- and what follows it, or put it in a separate file"},
		{"long value is shortened", "i: " + strings.Repeat("x", 60) + "\n", "t.yaml:1:1: i: expected a whole number, got \"" + strings.Repeat("x", 40) + "…\""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := New("t.yaml", []byte(tt.in), Options{})
			var v doc
			d.Decode(&v)
			err := d.Err()
			if err == nil {
				t.Fatalf("no error, decoded %+v", v)
			}
			if err.Error() != tt.want {
				t.Errorf("got\n%s\nwant\n%s", err, tt.want)
			}
		})
	}
}

func TestKeyCheckSeesKeysAnywhere(t *testing.T) {
	var seen []string
	d := New("t.yaml", []byte("s: x\nunknown:\n  secret: 1\nm: {k: {secret: 2}}\n"), Options{KeyCheck: func(path, key string) string {
		seen = append(seen, path)
		if key == "secret" {
			return "no secrets here"
		}
		return ""
	}})
	var v doc
	d.Decode(&v)
	want := "t.yaml:2:1: unknown: unknown field; allowed: s, b, i, u, f, d, l, m, in, p, day, r, tags, shared\n" +
		"t.yaml:3:3: unknown.secret: no secrets here\n" +
		"t.yaml:4:9: m.k.secret: no secrets here"
	if err := d.Err(); err == nil || err.Error() != want {
		t.Errorf("got\n%v\nwant\n%s", err, want)
	}
	if got := strings.Join(seen, " "); got != "s unknown unknown.secret m m.k m.k.secret" {
		t.Errorf("KeyCheck saw %s", got)
	}
}

func TestErrorfLocatesAndSorts(t *testing.T) {
	d := New("t.yaml", []byte("s: x\nin:\n  n: 1\nl: [a, b]\n"), Options{})
	var v doc
	d.Decode(&v)
	d.Errorf("l[1]", "second")
	d.Errorf("in.f", "absent key: at its parent")
	d.Errorf("in.n", "first")
	d.Errorf("in.n", "same path again is dropped")
	d.Errorf("", "whole file")
	want := "t.yaml:1:1: whole file\n" +
		"t.yaml:2:1: in.f: absent key: at its parent\n" +
		"t.yaml:3:3: in.n: first\n" +
		"t.yaml:4:8: l[1]: second"
	if err := d.Err(); err == nil || err.Error() != want {
		t.Errorf("got\n%v\nwant\n%s", err, want)
	}
	var errs Errors
	if !errors.As(d.Err(), &errs) || errs[2].Line != 3 || errs[2].Col != 3 || errs[2].Path != "in.n" || errs[2].Msg != "first" {
		t.Errorf("structured form: %#v", errs)
	}
}

func TestSyntaxErrorAndSize(t *testing.T) {
	d := New("t.yaml", []byte("s: [a\n"), Options{})
	if err := d.Err(); err == nil || err.Error() != "t.yaml:1: syntax error: did not find expected ',' or ']' (check indentation, colons and quotes)" {
		t.Errorf("got %v", err)
	}
	if d.HasDocument() {
		t.Error("HasDocument after a syntax error")
	}
	big := make([]byte, MaxSize+1)
	if err := New("t.yaml", big, Options{}).Err(); err == nil || err.Error() != fmt.Sprintf("t.yaml: the file is too large (%d bytes; at most %d)", MaxSize+1, MaxSize) {
		t.Errorf("got %v", err)
	}
}

func TestParseDuration(t *testing.T) {
	for in, want := range map[string]time.Duration{"0": 0, "5s": 5 * time.Second, "7d": 7 * 24 * time.Hour, "1d12h": 36 * time.Hour, "90m": 90 * time.Minute} {
		if got, err := ParseDuration(in); err != nil || got != want {
			t.Errorf("ParseDuration(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, in := range []string{"d", "1d-1h", "1d+1h", "1dx", "5 s", "1.5d", "123456d"} {
		if got, err := ParseDuration(in); err == nil {
			t.Errorf("ParseDuration(%q) = %v, want an error", in, got)
		}
	}
}

func TestSuggest(t *testing.T) {
	names := []string{"broker", "keepalive", "topic_prefix", "id"}
	for key, want := range map[string]string{"brokr": "broker", "KeepAlive": "keepalive", "topic-prefix": "topic_prefix", "topicprefx": "topic_prefix", "ip": "", "ID": "id", "colour": "", "x": ""} {
		if got := Suggest(key, names); got != want {
			t.Errorf("Suggest(%q) = %q, want %q", key, got, want)
		}
	}
}

func FuzzDecode(f *testing.F) {
	for _, s := range []string{"s: x\nl: [a]\nm: {a: {n: 1}}\n", "a: &a [x]\nb: *a\n", "? [a]\n: 1\n", "s: !!str 1\n", "---\n---\n", "{s: x, s: y}", "d: 1d1h\nday: mon\n"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		d := New("t.yaml", data, Options{MaxErrors: 5})
		var v doc
		d.Decode(&v)
		if v.R.node != nil {
			var any struct {
				X []map[string]doc `yaml:"x"`
			}
			d.DecodeRaw(v.R, &any)
		}
		err := d.Err()
		if err == nil {
			return
		}
		var errs Errors
		if !errors.As(err, &errs) || len(errs) == 0 || len(errs) > 6 {
			t.Fatalf("%d errors (max 5 + note): %v", len(errs), err)
		}
		for i := 1; i < len(errs); i++ {
			a, b := errs[i-1], errs[i]
			if b.Line != 0 && (a.Line == 0 || a.Line > b.Line || (a.Line == b.Line && a.Col > b.Col)) {
				t.Fatalf("not sorted: %v", err)
			}
		}
	})
}
