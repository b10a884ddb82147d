package main

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
)

// tfjsModel is the part of a TensorFlow.js graph model (model.json) the
// converter reads.
type tfjsModel struct {
	Format        string `json:"format"`
	ModelTopology struct {
		Node []tfjsNode `json:"node"`
	} `json:"modelTopology"`
	WeightsManifest []struct {
		Paths   []string     `json:"paths"`
		Weights []tfjsWeight `json:"weights"`
	} `json:"weightsManifest"`
}

type tfjsNode struct {
	Name  string              `json:"name"`
	Op    string              `json:"op"`
	Input []string            `json:"input"`
	Attr  map[string]tfjsAttr `json:"attr"`
}

// tfjsAttr is a TensorFlow AttrValue in its JSON form: int64 values are
// strings, byte strings base64.
type tfjsAttr struct {
	F    *float64 `json:"f"`
	I    *string  `json:"i"`
	B    *bool    `json:"b"`
	S    []byte   `json:"s"`
	List *struct {
		I []string  `json:"i"`
		F []float64 `json:"f"`
	} `json:"list"`
	Shape *struct {
		Dim []struct {
			Size string `json:"size"`
		} `json:"dim"`
	} `json:"shape"`
}

type tfjsWeight struct {
	Name         string `json:"name"`
	Shape        []int  `json:"shape"`
	Dtype        string `json:"dtype"`
	Quantization *struct {
		Dtype string   `json:"dtype"`
		Scale *float64 `json:"scale"`
		Min   *float64 `json:"min"`
	} `json:"quantization"`
}

// tensor is a constant of the tfjs graph, decoded: floats or integers.
type tensor struct {
	shape []int
	f     []float32
	i     []int64
	isInt bool
}

func (t *tensor) size() int { return max(len(t.f), len(t.i)) }

// ints returns an integer constant's values; a float constant is an error.
func (t *tensor) ints(what string) ([]int64, error) {
	if !t.isInt {
		return nil, fmt.Errorf("%s: want an integer constant, have floats", what)
	}
	return t.i, nil
}

// maxElements bounds one weight (and so the memory a hostile model.json
// can make the converter allocate before it reads the weights file).
const maxElements = 1 << 28

// parseModel decodes model.json and slices the weights file (the manifest's
// files concatenated, in order) into named constants. Errors name the field
// and what is allowed.
func parseModel(modelJSON, weights []byte) (*tfjsModel, map[string]*tensor, error) {
	var m tfjsModel
	dec := json.NewDecoder(bytes.NewReader(modelJSON))
	if err := dec.Decode(&m); err != nil {
		return nil, nil, fmt.Errorf("model.json: %w", err)
	}
	if m.Format != "graph-model" {
		return nil, nil, fmt.Errorf("model.json: format %q, want \"graph-model\" (a layers model is not supported)", m.Format)
	}
	if len(m.ModelTopology.Node) == 0 {
		return nil, nil, fmt.Errorf("model.json: modelTopology.node is empty")
	}
	consts := map[string]*tensor{}
	off := 0
	for g, group := range m.WeightsManifest {
		for k, w := range group.Weights {
			where := fmt.Sprintf("model.json: weightsManifest[%d].weights[%d] (%q)", g, k, w.Name)
			n := 1
			for _, d := range w.Shape {
				if d < 0 || d > maxElements || (d > 0 && n > maxElements/d) {
					return nil, nil, fmt.Errorf("%s: shape %v is out of range (dimensions 0..%d, at most %d elements)", where, w.Shape, maxElements, maxElements)
				}
				n *= d
			}
			t, used, err := decodeWeight(w, n, weights[off:])
			if err != nil {
				return nil, nil, fmt.Errorf("%s: %w", where, err)
			}
			if _, dup := consts[w.Name]; dup {
				return nil, nil, fmt.Errorf("%s: name given twice", where)
			}
			off += used
			consts[w.Name] = t
		}
	}
	if off != len(weights) {
		return nil, nil, fmt.Errorf("weights: the manifest describes %d bytes, the file has %d", off, len(weights))
	}
	return &m, consts, nil
}

func decodeWeight(w tfjsWeight, n int, data []byte) (*tensor, int, error) {
	t := &tensor{shape: append([]int(nil), w.Shape...)}
	stored := w.Dtype
	if w.Quantization != nil {
		stored = w.Quantization.Dtype
	}
	width := map[string]int{"float32": 4, "int32": 4, "float16": 2, "uint16": 2, "uint8": 1}[stored]
	if width == 0 {
		return nil, 0, fmt.Errorf("stored dtype %q; allowed: float32, int32, float16, uint16, uint8", stored)
	}
	if len(data) < n*width {
		return nil, 0, fmt.Errorf("needs %d bytes, the weights file has %d left", n*width, len(data))
	}
	data = data[:n*width]
	switch w.Dtype {
	case "float32":
	case "int32":
		if w.Quantization != nil {
			return nil, 0, fmt.Errorf("quantized int32 weights are not supported")
		}
		t.isInt = true
		t.i = make([]int64, n)
		for k := range t.i {
			t.i[k] = int64(int32(binary.LittleEndian.Uint32(data[4*k:])))
		}
		return t, len(data), nil
	default:
		return nil, 0, fmt.Errorf("dtype %q; allowed: float32, int32", w.Dtype)
	}
	t.f = make([]float32, n)
	switch stored {
	case "float32":
		for k := range t.f {
			t.f[k] = math.Float32frombits(binary.LittleEndian.Uint32(data[4*k:]))
		}
	case "float16":
		for k := range t.f {
			t.f[k] = half(binary.LittleEndian.Uint16(data[2*k:]))
		}
	case "uint8", "uint16":
		q := w.Quantization
		if q.Scale == nil || q.Min == nil {
			return nil, 0, fmt.Errorf("%s quantization needs scale and min", stored)
		}
		for k := range t.f {
			var v float64
			if stored == "uint8" {
				v = float64(data[k])
			} else {
				v = float64(binary.LittleEndian.Uint16(data[2*k:]))
			}
			t.f[k] = float32(v**q.Scale + *q.Min)
		}
	default:
		return nil, 0, fmt.Errorf("float32 weights stored as %q; allowed: float32, float16, uint16, uint8", stored)
	}
	return t, len(data), nil
}

// half converts an IEEE 754 binary16 value to float32 exactly.
func half(h uint16) float32 {
	sign := uint32(h>>15) << 31
	exp := uint32(h>>10) & 0x1f
	frac := uint32(h) & 0x3ff
	switch {
	case exp == 0x1f: // infinity, NaN
		return math.Float32frombits(sign | 0xff<<23 | frac<<13)
	case exp == 0 && frac == 0:
		return math.Float32frombits(sign)
	case exp == 0: // subnormal: normalise
		e := uint32(127 - 15 + 1)
		for frac&0x400 == 0 {
			frac <<= 1
			e--
		}
		return math.Float32frombits(sign | e<<23 | (frac&0x3ff)<<13)
	}
	return math.Float32frombits(sign | (exp+127-15)<<23 | frac<<13)
}

// attrInts is a list-of-int attribute.
func (n *tfjsNode) attrInts(name string) ([]int64, error) {
	a, ok := n.Attr[name]
	if !ok || a.List == nil {
		return nil, fmt.Errorf("node %q (%s): attribute %s missing", n.Name, n.Op, name)
	}
	out := make([]int64, len(a.List.I))
	for k, s := range a.List.I {
		v, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return nil, fmt.Errorf("node %q (%s): attribute %s[%d] %q is not an integer", n.Name, n.Op, name, k, s)
		}
		out[k] = v
	}
	return out, nil
}

// attrString is a byte-string attribute ("" if absent).
func (n *tfjsNode) attrString(name string) string { return string(n.Attr[name].S) }

// attrBool is a bool attribute (false if absent).
func (n *tfjsNode) attrBool(name string) bool {
	b := n.Attr[name].B
	return b != nil && *b
}

// attrFloat is a float attribute (def if absent).
func (n *tfjsNode) attrFloat(name string, def float64) float64 {
	if f := n.Attr[name].F; f != nil {
		return *f
	}
	return def
}

// placeholderShape is a Placeholder's shape attribute.
func (n *tfjsNode) placeholderShape() ([]int, error) {
	a, ok := n.Attr["shape"]
	if !ok || a.Shape == nil {
		return nil, fmt.Errorf("input %q: attribute shape missing", n.Name)
	}
	var out []int
	for k, d := range a.Shape.Dim {
		v, err := strconv.Atoi(d.Size)
		if err != nil || v < 1 || v > 1<<16 {
			return nil, fmt.Errorf("input %q: shape dimension %d %q is not a size in 1..65536", n.Name, k, d.Size)
		}
		out = append(out, v)
	}
	return out, nil
}
