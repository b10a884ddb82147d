package config

// Editing a camera's zones and lines in the operator's file, for the web
// console's Save (http.allow_edit). The file is edited as a YAML node tree,
// so its comments and every other setting stay; only the named zones and
// lines of the one camera are replaced or added. The result is not
// validated here: the caller parses it with Parse, the service's loader,
// before writing it anywhere.

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// ZoneLine is a directed line to save (as LineSpec, with fixed points).
type ZoneLine struct {
	From, To  [2]float64
	Direction string
}

// SetCameraZones returns data with the camera id's zones and lines set:
// each one named replaces the one of that name or is added, the others
// stay. filename names the file in errors.
func SetCameraZones(filename string, data []byte, id string, zones map[string][][2]float64, lines map[string]ZoneLine) ([]byte, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("%s: %w", filename, err)
	}
	if doc.Kind != yaml.DocumentNode || len(doc.Content) != 1 || doc.Content[0].Kind != yaml.MappingNode {
		return nil, fmt.Errorf("%s: not a YAML mapping", filename)
	}
	cams := mapValue(doc.Content[0], "cameras")
	if cams == nil || cams.Kind != yaml.SequenceNode {
		return nil, fmt.Errorf("%s: cameras: not a list", filename)
	}
	var cam *yaml.Node
	for _, c := range cams.Content {
		if c.Kind == yaml.MappingNode {
			if v := mapValue(c, "id"); v != nil && v.Kind == yaml.ScalarNode && v.Value == id {
				cam = c
				break
			}
		}
	}
	if cam == nil {
		return nil, fmt.Errorf("%s: cameras: no camera with id %s", filename, strconv.Quote(id))
	}
	if len(zones) > 0 {
		m, err := ensureMap(cam, "zones")
		if err != nil {
			return nil, fmt.Errorf("%s: cameras[id=%s].zones: %w", filename, id, err)
		}
		for _, name := range sortedNames(zones) {
			poly := flowSeq()
			for _, p := range zones[name] {
				poly.Content = append(poly.Content, yamlPoint(p))
			}
			setMapValue(m, name, poly)
		}
	}
	if len(lines) > 0 {
		m, err := ensureMap(cam, "lines")
		if err != nil {
			return nil, fmt.Errorf("%s: cameras[id=%s].lines: %w", filename, id, err)
		}
		for _, name := range sortedNames(lines) {
			l := lines[name]
			v := &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map", Style: yaml.FlowStyle}
			v.Content = append(v.Content, scalar("from"), yamlPoint(l.From), scalar("to"), yamlPoint(l.To))
			if l.Direction != "" {
				v.Content = append(v.Content, scalar("direction"), scalar(l.Direction))
			}
			setMapValue(m, name, v)
		}
	}
	var out bytes.Buffer
	enc := yaml.NewEncoder(&out)
	enc.SetIndent(2)
	if err := enc.Encode(&doc); err != nil {
		return nil, fmt.Errorf("%s: %w", filename, err)
	}
	if err := enc.Close(); err != nil {
		return nil, fmt.Errorf("%s: %w", filename, err)
	}
	return out.Bytes(), nil
}

func sortedNames[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// mapValue is the value of key in the mapping m, nil if absent.
func mapValue(m *yaml.Node, key string) *yaml.Node {
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return m.Content[i+1]
		}
	}
	return nil
}

// ensureMap is the mapping under key in m, added (block style) if absent;
// an explicit null becomes an empty mapping.
func ensureMap(m *yaml.Node, key string) (*yaml.Node, error) {
	v := mapValue(m, key)
	switch {
	case v == nil:
		v = &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}
		m.Content = append(m.Content, scalar(key), v)
	case v.Kind == yaml.ScalarNode && v.Tag == "!!null":
		*v = yaml.Node{Kind: yaml.MappingNode, Tag: "!!map", LineComment: v.LineComment, HeadComment: v.HeadComment}
	case v.Kind != yaml.MappingNode:
		return nil, errors.New("not a mapping of names")
	}
	return v, nil
}

// setMapValue replaces key's value in m (keeping its comments) or adds it.
func setMapValue(m *yaml.Node, key string, v *yaml.Node) {
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			old := m.Content[i+1]
			v.LineComment, v.HeadComment, v.FootComment = old.LineComment, old.HeadComment, old.FootComment
			m.Content[i+1] = v
			return
		}
	}
	m.Content = append(m.Content, scalar(key), v)
}

func scalar(s string) *yaml.Node { return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: s} }

func flowSeq() *yaml.Node {
	return &yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq", Style: yaml.FlowStyle}
}

// yamlPoint is [x, y] with at most 4 decimals (a 10 000th of the picture).
func yamlPoint(p [2]float64) *yaml.Node {
	s := flowSeq()
	for _, f := range p {
		v := strconv.FormatFloat(math.Round(f*1e4)/1e4, 'f', -1, 64)
		// A whole number as such: tagged !!float, yaml.v3 would write
		// "!!float 0", which the strict loader refuses.
		tag := "!!float"
		if !strings.ContainsAny(v, ".eE") {
			tag = "!!int"
		}
		s.Content = append(s.Content, &yaml.Node{Kind: yaml.ScalarNode, Tag: tag, Value: v})
	}
	return s
}
