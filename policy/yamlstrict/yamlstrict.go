// Package yamlstrict decodes YAML that people write by hand (the operator's
// config, the privacy officer's policy) strictly, and reports every problem
// with its file position and field path, so that someone who is not a
// programmer can find and fix it.
//
// It walks gopkg.in/yaml.v3's node tree against Go structs (field names from
// `yaml:"name"` tags, `yaml:",inline"` for embedded structs). Unlike
// yaml.Unmarshal it
//   - rejects unknown keys (suggesting the closest known one),
//   - rejects wrong types instead of coercing them (true is not text, 1.5 is
//     not a whole number, 30 is not a duration),
//   - rejects duplicate keys, anchors, aliases, merge keys, explicit tags and
//     more than one document,
//   - collects all problems (sorted by line) instead of stopping at the first.
//
// Decoding writes only the keys that are present, so decoding into a value
// pre-filled with defaults applies the defaults. Validation of the decoded
// values belongs to the caller, which reports through Errorf so that its
// messages carry positions too.
package yamlstrict

import (
	"bytes"
	"encoding"
	"errors"
	"fmt"
	"io"
	"math"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"gopkg.in/yaml.v3"
)

// MaxSize is the largest file accepted. Hand-written configs are a few KiB;
// the cap bounds parser work on hostile input.
const MaxSize = 1 << 20

// maxStored bounds memory for pathological inputs; only the first
// Options.MaxErrors are shown anyway.
const maxStored = 1000

// Pos is a 1-based line and column.
type Pos struct{ Line, Col int }

// Options adapt the decoder to one kind of file.
type Options struct {
	// KeyCheck sees every mapping key anywhere in the file (also under
	// unknown keys) with its path. A non-empty result rejects the key with
	// that message instead of decoding it; used for keys that need an
	// explanation rather than "unknown field", such as an inline password.
	KeyCheck func(path, key string) string
	// Empty is the message for a file without content.
	Empty string
	// MaxErrors caps the problems reported; 0 means 20.
	MaxErrors int
}

// Raw captures a part of the document undecoded, to be decoded later with
// DecodeRaw (e.g. after the defaults it should start from are known).
type Raw struct {
	node *yaml.Node
	path string
}

// Path is the field path of the captured value.
func (r Raw) Path() string { return r.path }

// Decoder holds one parsed file, the problems found so far and the position
// of every key seen.
type Decoder struct {
	file    string
	opts    Options
	root    *yaml.Node
	errs    []*FieldError
	dropped int
	pos     map[string]Pos
	errAt   map[string]bool     // paths with a recorded problem
	skip    map[*yaml.Node]bool // keys already reported (duplicates, KeyCheck)
}

// Unmarshaler is implemented by a type that decodes itself: one whose keys
// depend on one of its values (a rule's keys on its type). It is given its
// part of the document, to decode with DecodeRaw into what it chooses.
type Unmarshaler interface {
	UnmarshalStrict(d *Decoder, r Raw)
}

var (
	unmarshalerType     = reflect.TypeFor[Unmarshaler]()
	rawType             = reflect.TypeFor[Raw]()
	durationType        = reflect.TypeFor[time.Duration]()
	textUnmarshalerType = reflect.TypeFor[encoding.TextUnmarshaler]()
)

// New parses data (named filename in messages) and checks its structure.
// Problems are recorded, not returned: see Err.
func New(filename string, data []byte, opts Options) *Decoder {
	if opts.MaxErrors <= 0 {
		opts.MaxErrors = 20
	}
	if opts.Empty == "" {
		opts.Empty = "the file is empty"
	}
	d := &Decoder{file: filename, opts: opts, pos: map[string]Pos{}, errAt: map[string]bool{}, skip: map[*yaml.Node]bool{}}
	d.pos[""] = Pos{1, 1}
	if len(data) > MaxSize {
		d.add(Pos{}, "", fmt.Sprintf("the file is too large (%d bytes; at most %d)", len(data), MaxSize))
		return d
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	err := safeDecode(dec, &doc)
	switch {
	case errors.Is(err, io.EOF):
		d.add(Pos{1, 1}, "", opts.Empty)
		return d
	case err != nil:
		d.syntax(err, data)
		return d
	}
	if doc.Kind == yaml.DocumentNode && len(doc.Content) == 1 {
		d.root = doc.Content[0]
	}
	var next yaml.Node
	switch err := safeDecode(dec, &next); {
	case err == nil:
		d.add(Pos{next.Line, next.Column}, "", "only one document is allowed; remove the line with --- and what follows it, or put it in a separate file")
	case !errors.Is(err, io.EOF):
		d.syntax(err, data)
	}
	if d.root == nil || (isNull(d.root) && d.root.Style&yaml.TaggedStyle == 0) {
		d.root = nil
		d.add(Pos{1, 1}, "", opts.Empty)
		return d
	}
	d.prepass(d.root, "")
	if d.root.Kind != yaml.MappingNode && d.root.Kind != yaml.AliasNode {
		d.add(Pos{d.root.Line, d.root.Column}, "", "expected settings as key: value lines at the top level, got "+describe(d.root))
		d.root = nil
	}
	return d
}

// safeDecode turns a panic inside the YAML library into an error: a bug
// there must not take the service down while it reads a file.
func safeDecode(dec *yaml.Decoder, n *yaml.Node) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("yaml: cannot parse this file (%v)", r)
		}
	}()
	return dec.Decode(n)
}

var syntaxLine = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

func (d *Decoder) syntax(err error, data []byte) {
	msg := err.Error()
	line := 0
	if m := syntaxLine.FindStringSubmatch(msg); m != nil {
		line, _ = strconv.Atoi(m[1])
		msg = m[2]
	} else {
		msg = strings.TrimPrefix(msg, "yaml: ")
	}
	hint := " (check indentation, colons and quotes)"
	if line > 0 {
		if l := lineOf(data, line); strings.HasPrefix(strings.TrimLeft(l, " "), "\t") || strings.HasPrefix(l, "\t") {
			hint = " (tabs are not allowed for indentation; use spaces)"
		}
	}
	d.add(Pos{Line: line}, "", "syntax error: "+msg+hint)
}

func lineOf(data []byte, n int) string {
	for i := 1; i < n; i++ {
		j := bytes.IndexByte(data, '\n')
		if j < 0 {
			return ""
		}
		data = data[j+1:]
	}
	if j := bytes.IndexByte(data, '\n'); j >= 0 {
		data = data[:j]
	}
	return string(data)
}

// prepass rejects the YAML features that make a hand-written file mean
// something other than what it looks like, anywhere in the tree.
func (d *Decoder) prepass(n *yaml.Node, path string) {
	at := Pos{n.Line, n.Column}
	if n.Anchor != "" {
		d.add(at, path, fmt.Sprintf("anchors (&%s) are not allowed; write the value out in full", n.Anchor))
	}
	if n.Style&yaml.TaggedStyle != 0 {
		d.add(at, path, fmt.Sprintf("type tags (%s) are not allowed; write the plain value (quote text)", n.Tag))
	}
	switch n.Kind {
	case yaml.AliasNode:
		d.add(at, path, fmt.Sprintf("aliases (*%s) are not allowed; write the value out in full", n.Value))
	case yaml.SequenceNode:
		for i, c := range n.Content {
			d.prepass(c, Index(path, i))
		}
	case yaml.MappingNode:
		first := map[string]*yaml.Node{}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			kat := Pos{k.Line, k.Column}
			if k.Kind != yaml.ScalarNode {
				d.skip[k] = true
				d.add(kat, path, "a key must be a plain name, got "+describe(k))
				continue
			}
			kp := Key(path, k.Value)
			switch {
			case k.Value == "<<" && k.Style == 0:
				d.skip[k] = true
				d.add(kat, kp, "merge keys (<<) are not allowed; write the values out in full")
				continue
			case k.Value == "":
				d.skip[k] = true
				d.add(kat, path, "empty key; write a name before the colon")
				continue
			}
			if f, dup := first[k.Value]; dup {
				d.skip[k] = true
				where := fmt.Sprintf("line %d", f.Line)
				if f.Line == k.Line {
					where += fmt.Sprintf(", column %d", f.Column)
				}
				d.add(kat, kp, "duplicate key (first at "+where+")")
				continue
			}
			first[k.Value] = k
			if d.opts.KeyCheck != nil {
				if msg := d.opts.KeyCheck(kp, k.Value); msg != "" {
					d.skip[k] = true
					d.add(kat, kp, msg)
					continue
				}
			}
			if k.Anchor != "" || k.Style&yaml.TaggedStyle != 0 {
				d.prepass(k, kp)
			}
			d.prepass(v, kp)
		}
	}
}

// HasDocument reports whether the file holds a mapping to decode. If not,
// Err already says why, and validating defaults would only add noise.
func (d *Decoder) HasDocument() bool { return d.root != nil }

// Decode decodes the whole document into v, a pointer to a struct (or map).
func (d *Decoder) Decode(v any) {
	if d.root == nil {
		return
	}
	d.decode(d.root, "", reflect.ValueOf(v).Elem())
}

// DecodeRaw decodes a captured part into v, a pointer.
func (d *Decoder) DecodeRaw(r Raw, v any) {
	if r.node == nil {
		return
	}
	d.decode(r.node, r.path, reflect.ValueOf(v).Elem())
}

// Errorf records a problem with the value at path (as written in messages,
// e.g. "cameras[1].id"). It is located at that key, or at the closest
// enclosing key that is present in the file. Only the first problem per path
// is kept: a value that could not be decoded is not validated again.
func (d *Decoder) Errorf(path, format string, args ...any) {
	if d.errAt[path] && path != "" {
		return
	}
	d.add(d.Pos(path), path, fmt.Sprintf(format, args...))
}

// HasError reports whether a problem was recorded for exactly path.
func (d *Decoder) HasError(path string) bool { return d.errAt[path] }

// Pos is the position of the key at path or, if it is absent from the file,
// of its closest present ancestor (the top of the file at worst).
func (d *Decoder) Pos(path string) Pos {
	for {
		if p, ok := d.pos[path]; ok {
			return p
		}
		if path == "" {
			return Pos{1, 1}
		}
		path = parent(path)
	}
}

// Has reports whether the key at path is present in the file.
func (d *Decoder) Has(path string) bool {
	_, ok := d.pos[path]
	return ok && path != ""
}

// Failed reports whether any problem was recorded.
func (d *Decoder) Failed() bool { return len(d.errs) > 0 || d.dropped > 0 }

// Err returns the problems as Errors (sorted by position, capped), or nil.
func (d *Decoder) Err() error {
	if !d.Failed() {
		return nil
	}
	return sortAndCap(d.errs, d.opts.MaxErrors, d.file, d.dropped)
}

func (d *Decoder) add(at Pos, path, msg string) {
	d.errAt[path] = true
	if len(d.errs) >= maxStored {
		d.dropped++
		return
	}
	d.errs = append(d.errs, &FieldError{File: d.file, Line: at.Line, Col: at.Col, Path: path, Msg: msg})
}

func (d *Decoder) decode(n *yaml.Node, path string, v reflect.Value) {
	if n.Kind == yaml.AliasNode {
		return // reported by prepass
	}
	t := v.Type()
	switch t {
	case rawType:
		v.Set(reflect.ValueOf(Raw{node: n, path: path}))
		return
	case durationType:
		d.duration(n, path, v)
		return
	}
	if v.CanAddr() && reflect.PointerTo(t).Implements(unmarshalerType) {
		v.Addr().Interface().(Unmarshaler).UnmarshalStrict(d, Raw{node: n, path: path})
		return
	}
	if t.Kind() != reflect.Pointer && reflect.PointerTo(t).Implements(textUnmarshalerType) {
		if !d.scalar(n, path, "a value") {
			return
		}
		if err := v.Addr().Interface().(encoding.TextUnmarshaler).UnmarshalText([]byte(n.Value)); err != nil {
			d.Errorf(path, "%v", err)
		}
		return
	}
	switch t.Kind() {
	case reflect.Pointer:
		if isNull(n) {
			v.Set(reflect.Zero(t))
			return
		}
		p := reflect.New(t.Elem())
		d.decode(n, path, p.Elem())
		v.Set(p)
	case reflect.Struct:
		d.decodeStruct(n, path, v)
	case reflect.Map:
		d.decodeMap(n, path, v)
	case reflect.Slice:
		if isNull(n) {
			v.Set(reflect.Zero(t))
			return
		}
		if n.Kind != yaml.SequenceNode {
			d.Errorf(path, "expected a list, e.g. [a, b], got %s", describe(n))
			return
		}
		s := reflect.MakeSlice(t, len(n.Content), len(n.Content))
		for i, c := range n.Content {
			p := Index(path, i)
			d.pos[p] = Pos{c.Line, c.Column}
			d.decode(c, p, s.Index(i))
		}
		v.Set(s)
	case reflect.String:
		if !d.scalar(n, path, "text") {
			return
		}
		if n.ShortTag() == "!!bool" {
			d.Errorf(path, "expected text, got %s (if you mean the text, put it in quotes: \"%s\")", n.Value, n.Value)
			return
		}
		v.SetString(n.Value)
	case reflect.Bool:
		if !d.scalar(n, path, "true or false") {
			return
		}
		if n.ShortTag() != "!!bool" {
			d.Errorf(path, "expected true or false, got %s", describe(n))
			return
		}
		v.SetBool(strings.EqualFold(n.Value, "true"))
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		if !d.scalar(n, path, "a whole number") {
			return
		}
		var i int64
		if n.ShortTag() != "!!int" || n.Decode(&i) != nil {
			d.Errorf(path, "expected a whole number, got %s", describe(n))
			return
		}
		if v.OverflowInt(i) {
			d.Errorf(path, "the number %s is too large", n.Value)
			return
		}
		v.SetInt(i)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		if !d.scalar(n, path, "a whole number") {
			return
		}
		var i int64
		if n.ShortTag() != "!!int" || n.Decode(&i) != nil {
			d.Errorf(path, "expected a whole number, got %s", describe(n))
			return
		}
		if i < 0 || v.OverflowUint(uint64(i)) {
			d.Errorf(path, "the number %s is out of range", n.Value)
			return
		}
		v.SetUint(uint64(i))
	case reflect.Float32, reflect.Float64:
		if !d.scalar(n, path, "a number") {
			return
		}
		var f float64
		tag := n.ShortTag()
		if (tag != "!!int" && tag != "!!float") || n.Decode(&f) != nil || math.IsNaN(f) || math.IsInf(f, 0) {
			d.Errorf(path, "expected a number, got %s", describe(n))
			return
		}
		v.SetFloat(f)
	default:
		d.Errorf(path, "cannot be read (internal error: unsupported type %s)", t)
	}
}

// scalar checks that n is a single value that is not empty.
func (d *Decoder) scalar(n *yaml.Node, path, want string) bool {
	if n.Kind != yaml.ScalarNode {
		d.Errorf(path, "expected %s, got %s", want, describe(n))
		return false
	}
	if isNull(n) {
		d.Errorf(path, "has no value; write %s or delete the line", want)
		return false
	}
	return true
}

func (d *Decoder) duration(n *yaml.Node, path string, v reflect.Value) {
	const want = "a duration such as 30s, 500ms, 5m, 24h or 7d"
	if !d.scalar(n, path, want) {
		return
	}
	switch n.ShortTag() {
	case "!!int", "!!float":
		if n.Value == "0" {
			v.SetInt(0)
			return
		}
		d.Errorf(path, "expected %s, got %s (add a unit, e.g. %ss)", want, n.Value, n.Value)
		return
	case "!!str":
	default:
		d.Errorf(path, "expected %s, got %s", want, describe(n))
		return
	}
	dur, err := ParseDuration(n.Value)
	if err != nil {
		d.Errorf(path, "expected %s, got %s", want, describe(n))
		return
	}
	v.SetInt(int64(dur))
}

// ParseDuration is time.ParseDuration plus a leading whole number of days
// ("7d", "1d12h"), which people use for retention periods.
func ParseDuration(s string) (time.Duration, error) {
	if i := strings.IndexByte(s, 'd'); i > 0 && i <= 5 && allDigits(s[:i]) {
		days, _ := strconv.Atoi(s[:i])
		total := time.Duration(days) * 24 * time.Hour
		if rest := s[i+1:]; rest != "" {
			r, err := time.ParseDuration(rest)
			if err != nil || r < 0 || strings.HasPrefix(rest, "+") {
				return 0, fmt.Errorf("invalid duration %q", s)
			}
			total += r
		}
		return total, nil
	}
	return time.ParseDuration(s)
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

type fieldInfo struct {
	name  string
	index []int
}

// fields lists a struct's YAML keys in declaration order, following inline
// embedded structs.
func fields(t reflect.Type) []fieldInfo {
	var out []fieldInfo
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		tag, ok := f.Tag.Lookup("yaml")
		if !ok || tag == "-" {
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		if opts == "inline" && f.Type.Kind() == reflect.Struct && f.Anonymous {
			for _, sub := range fields(f.Type) {
				out = append(out, fieldInfo{sub.name, append([]int{i}, sub.index...)})
			}
			continue
		}
		if !f.IsExported() {
			continue
		}
		if name == "" {
			name = strings.ToLower(f.Name)
		}
		out = append(out, fieldInfo{name, []int{i}})
	}
	return out
}

func (d *Decoder) decodeStruct(n *yaml.Node, path string, v reflect.Value) {
	if isNull(n) {
		return // an empty section keeps its defaults
	}
	if n.Kind != yaml.MappingNode {
		d.Errorf(path, "expected key: value settings, got %s", describe(n))
		return
	}
	fs := fields(v.Type())
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, val := n.Content[i], n.Content[i+1]
		if d.skip[k] {
			continue
		}
		kp := Key(path, k.Value)
		d.pos[kp] = Pos{k.Line, k.Column}
		var f *fieldInfo
		for j := range fs {
			if fs[j].name == k.Value {
				f = &fs[j]
				break
			}
		}
		if f == nil {
			names := make([]string, len(fs))
			for j, f := range fs {
				names[j] = f.name
			}
			if s := Suggest(k.Value, names); s != "" {
				d.Errorf(kp, "unknown field; did you mean %q? allowed: %s", s, strings.Join(names, ", "))
			} else {
				d.Errorf(kp, "unknown field; allowed: %s", strings.Join(names, ", "))
			}
			continue
		}
		d.decode(val, kp, v.FieldByIndex(f.index))
	}
}

func (d *Decoder) decodeMap(n *yaml.Node, path string, v reflect.Value) {
	t := v.Type()
	if isNull(n) {
		v.Set(reflect.Zero(t))
		return
	}
	if t.Key().Kind() != reflect.String {
		d.Errorf(path, "cannot be read (internal error: map key type %s)", t.Key())
		return
	}
	if n.Kind != yaml.MappingNode {
		d.Errorf(path, "expected key: value settings, got %s", describe(n))
		return
	}
	m := reflect.MakeMapWithSize(t, len(n.Content)/2)
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, val := n.Content[i], n.Content[i+1]
		if d.skip[k] {
			continue
		}
		kp := Key(path, k.Value)
		d.pos[kp] = Pos{k.Line, k.Column}
		e := reflect.New(t.Elem()).Elem()
		d.decode(val, kp, e)
		m.SetMapIndex(reflect.ValueOf(k.Value).Convert(t.Key()), e)
	}
	v.Set(m)
}

func isNull(n *yaml.Node) bool {
	return n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null"
}

// describe names what was found, for "expected X, got Y".
func describe(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "key: value settings"
	case yaml.SequenceNode:
		return "a list"
	case yaml.AliasNode:
		return "an alias"
	case yaml.DocumentNode:
		return "a document"
	}
	switch n.ShortTag() {
	case "!!null":
		return "nothing"
	case "!!bool", "!!int", "!!float":
		return shorten(n.Value)
	}
	return Quote(n.Value)
}

func shorten(s string) string {
	const max = 40
	if utf8.RuneCountInString(s) > max {
		s = string([]rune(s)[:max]) + "…"
	}
	return s
}

// Quote quotes a value for a message, shortened so that a pasted blob does
// not flood the terminal.
func Quote(s string) string {
	return strconv.Quote(shorten(s))
}

var plainKey = regexp.MustCompile(`^[A-Za-z0-9_-]+$`)

// Key is the path of key under parent: "a.b", or a["odd key"] for keys that
// are not plain names.
func Key(parent, key string) string {
	if !plainKey.MatchString(key) {
		return parent + "[" + strconv.Quote(key) + "]"
	}
	if parent == "" {
		return key
	}
	return parent + "." + key
}

// Index is the path of the i-th (0-based) list element under parent.
func Index(parent string, i int) string {
	return parent + "[" + strconv.Itoa(i) + "]"
}

// parent strips the last element of a path.
func parent(path string) string {
	if strings.HasSuffix(path, "]") {
		if i := strings.LastIndex(path, "["); i >= 0 {
			return path[:i]
		}
		return ""
	}
	if i := strings.LastIndexAny(path, ".]"); i >= 0 {
		if path[i] == ']' {
			return path[:i+1]
		}
		return path[:i]
	}
	return ""
}

// Suggest returns the name closest to key if it is close enough to be a
// likely typo (case, '-' vs '_', or one or two letters off), else "".
func Suggest(key string, names []string) string {
	nk := normKey(key)
	best, bestD := "", 3
	limit := 0 // short keys: only case and separator differences
	switch {
	case len(nk) > 4:
		limit = 2
	case len(nk) > 2:
		limit = 1
	}
	for _, name := range names {
		nn := normKey(name)
		if nn == nk {
			return name
		}
		if dist := levenshtein(nk, nn); dist <= limit && dist < bestD {
			best, bestD = name, dist
		}
	}
	return best
}

func normKey(s string) string {
	s = strings.ToLower(s)
	return strings.Map(func(r rune) rune {
		if r == '_' || r == '-' || r == ' ' {
			return -1
		}
		return r
	}, s)
}

func levenshtein(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	if len(ra) > 64 || len(rb) > 64 {
		return 1 << 30
	}
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(rb)]
}
