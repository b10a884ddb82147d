package main

import (
	"encoding/binary"
	"math"
)

// pb appends protocol buffer fields to a byte slice. ONNX needs only a
// handful of message types, so they are written by hand rather than with a
// generated protobuf library: the converter then has no dependency outside
// the standard library, and the bytes it writes depend only on the order in
// which it writes fields, which makes its output reproducible.
type pb []byte

func (b *pb) varint(v uint64) {
	*b = binary.AppendUvarint(*b, v)
}

func (b *pb) tag(field, wire int) { b.varint(uint64(field)<<3 | uint64(wire)) }

func (b *pb) int(field int, v int64) {
	b.tag(field, 0)
	b.varint(uint64(v))
}

func (b *pb) bytes(field int, v []byte) {
	b.tag(field, 2)
	b.varint(uint64(len(v)))
	*b = append(*b, v...)
}

func (b *pb) str(field int, v string) { b.bytes(field, []byte(v)) }

func (b *pb) float(field int, v float32) {
	b.tag(field, 5)
	*b = binary.LittleEndian.AppendUint32(*b, math.Float32bits(v))
}

// ONNX TensorProto.DataType values.
const (
	onnxFloat = 1
	onnxInt64 = 7
)

// ONNX AttributeProto.AttributeType values.
const (
	attrFloat  = 1
	attrInt    = 2
	attrString = 3
	attrFloats = 6
	attrInts   = 7
)

// attribute is one ONNX node attribute; exactly one value field is used.
type attribute struct {
	name  string
	kind  int
	f     float32
	i     int64
	s     string
	ints  []int64
	float []float32
}

func attrI(name string, v int64) attribute   { return attribute{name: name, kind: attrInt, i: v} }
func attrF(name string, v float32) attribute { return attribute{name: name, kind: attrFloat, f: v} }
func attrS(name, v string) attribute         { return attribute{name: name, kind: attrString, s: v} }
func attrIs(name string, v ...int64) attribute {
	return attribute{name: name, kind: attrInts, ints: v}
}

func (a attribute) encode() []byte {
	var b pb
	b.str(1, a.name)
	switch a.kind {
	case attrFloat:
		b.float(2, a.f)
	case attrInt:
		b.int(3, a.i)
	case attrString:
		b.str(4, a.s)
	case attrFloats:
		for _, f := range a.float {
			b.float(7, f)
		}
	case attrInts:
		for _, v := range a.ints {
			b.int(8, v)
		}
	}
	b.int(20, int64(a.kind))
	return b
}

// node is an ONNX NodeProto.
type node struct {
	op      string
	name    string
	inputs  []string
	outputs []string
	attrs   []attribute
}

func (n *node) encode() []byte {
	var b pb
	for _, in := range n.inputs {
		b.str(1, in)
	}
	for _, out := range n.outputs {
		b.str(2, out)
	}
	b.str(3, n.name)
	b.str(4, n.op)
	for _, a := range n.attrs {
		b.bytes(5, a.encode())
	}
	return b
}

// initializer is a constant tensor of the graph: float32 or int64.
type initializer struct {
	name  string
	dims  []int
	f     []float32
	i     []int64
	isInt bool
}

func (t *initializer) encode() []byte {
	var b pb
	for _, d := range t.dims {
		b.int(1, int64(d))
	}
	raw := make([]byte, 0, 8*(len(t.f)+len(t.i)))
	if t.isInt {
		b.int(2, onnxInt64)
		for _, v := range t.i {
			raw = binary.LittleEndian.AppendUint64(raw, uint64(v))
		}
	} else {
		b.int(2, onnxFloat)
		for _, v := range t.f {
			raw = binary.LittleEndian.AppendUint32(raw, math.Float32bits(v))
		}
	}
	b.str(8, t.name)
	b.bytes(9, raw)
	return b
}

// valueInfo declares a graph input or output: a float tensor whose
// dimensions are fixed (>0) or named (dimension parameters, any size).
type valueInfo struct {
	name string
	dims []any // int or string
}

func (v valueInfo) encode() []byte {
	var shape pb
	for _, d := range v.dims {
		var dim pb
		switch d := d.(type) {
		case int:
			dim.int(1, int64(d))
		case string:
			dim.str(2, d)
		}
		shape.bytes(1, dim)
	}
	var tensor pb
	tensor.int(1, onnxFloat)
	tensor.bytes(2, shape)
	var typ pb
	typ.bytes(1, tensor)
	var b pb
	b.str(1, v.name)
	b.bytes(2, typ)
	return b
}

// graph is everything encodeModel writes.
type graph struct {
	name         string
	doc          string
	nodes        []*node
	initializers []*initializer
	inputs       []valueInfo
	outputs      []valueInfo
}

// onnxOpset is the ONNX operator set the converter writes. 11 is the
// newest whose operators OpenCV 4.6's importer reads in their attribute
// forms (Split's sizes, for one, became an input in 13).
const onnxOpset = 11

func encodeModel(g *graph) []byte {
	var gb pb
	for _, n := range g.nodes {
		gb.bytes(1, n.encode())
	}
	gb.str(2, g.name)
	for _, t := range g.initializers {
		gb.bytes(5, t.encode())
	}
	if g.doc != "" {
		gb.str(10, g.doc)
	}
	for _, v := range g.inputs {
		gb.bytes(11, v.encode())
	}
	for _, v := range g.outputs {
		gb.bytes(12, v.encode())
	}
	var opset pb
	opset.str(1, "")
	opset.int(2, onnxOpset)
	var m pb
	m.int(1, 6) // IR version 6 goes with opset 11
	m.str(2, "edgeguard tfjs2onnx")
	m.bytes(7, gb)
	m.bytes(8, opset)
	return m
}
