package main

import (
	"fmt"
	"slices"
	"strings"
)

// value is one tfjs tensor as the converter tracks it. TensorFlow.js
// graphs converted from PyTorch (through onnx-tf) keep NCHW tensors and
// wrap every NHWC-only TensorFlow op (Conv2D, MaxPool, ResizeBilinear) in a
// pair of Transposes, and pad explicitly before each convolution. Emitting
// those literally would leave OpenCV 80-odd transposes to run; instead the
// converter tracks each tensor as an ONNX tensor seen through a
// permutation (perm[i] is the ONNX axis holding the tfjs axis i) with
// padding still to apply, and writes a Transpose or a Pad only where an op
// cannot absorb them. The usual pattern then collapses to one Conv.
type value struct {
	onnx  string // ONNX tensor name; "" for a constant
	konst *tensor
	perm  []int
	shape []int // ONNX (physical) shape
	// pads still to apply, per ONNX axis: begins then ends; nil if none.
	pads     []int
	padValue float32
	// conv is the Conv node that computes this value, while a bias can
	// still be folded into it.
	conv *node
}

type converter struct {
	g      graph
	values map[string]*value
	uses   map[string]int
	n      int // names made so far
}

// output is one ONNX output: tfjs outputs concatenated along axis 1.
type output struct {
	name    string
	sources []string
}

// convert translates the graph. input names the ONNX input; its height and
// width are left free (dimension parameters) so the network takes any size
// the model's strides divide. outputs concatenates tfjs outputs (each
// [1, N, C]) into one ONNX output each.
//
// join, if not empty, concatenates those outputs along C into one output
// of that name, so that one forward pass of OpenCV's dnn returns them all
// (each Net.forward(name) call runs the network again).
func convert(m *tfjsModel, consts map[string]*tensor, input string, outputs []output, join, doc string) ([]byte, error) {
	c := &converter{values: map[string]*value{}, uses: map[string]int{}}
	c.g.name = "tfjs2onnx"
	c.g.doc = doc
	for _, n := range m.ModelTopology.Node {
		for _, in := range n.Input {
			c.uses[tensorName(in)]++
		}
	}
	sawInput := false
	for k := range m.ModelTopology.Node {
		n := &m.ModelTopology.Node[k]
		if n.Op == "Placeholder" {
			if sawInput {
				return nil, fmt.Errorf("model.json: node %q: a second input; only one is supported", n.Name)
			}
			sawInput = true
			shape, err := n.placeholderShape()
			if err != nil {
				return nil, fmt.Errorf("model.json: %w", err)
			}
			if len(shape) != 4 {
				return nil, fmt.Errorf("model.json: input %q has shape %v; want 4 dimensions (NCHW)", n.Name, shape)
			}
			c.values[n.Name] = &value{onnx: input, perm: identity(4), shape: shape}
			c.g.inputs = append(c.g.inputs, valueInfo{name: input, dims: []any{shape[0], shape[1], "height", "width"}})
			continue
		}
		if err := c.node(n, consts); err != nil {
			return nil, fmt.Errorf("model.json: node %q (%s): %w", n.Name, n.Op, err)
		}
	}
	if !sawInput {
		return nil, fmt.Errorf("model.json: no Placeholder (input) node")
	}
	for _, o := range outputs {
		var parts []string
		var channels int
		for _, s := range o.sources {
			v, ok := c.values[tensorName(s)]
			if !ok || v.konst != nil {
				return nil, fmt.Errorf("output %s: %q is not a computed tensor of the graph", o.name, s)
			}
			if len(v.shape) != 3 {
				return nil, fmt.Errorf("output %s: %q has shape %v, want [1, N, C]", o.name, s, c.tfShape(v))
			}
			name, err := c.layout(v, identity(3))
			if err != nil {
				return nil, fmt.Errorf("output %s: %w", o.name, err)
			}
			if channels != 0 && c.tfShape(v)[2] != channels {
				return nil, fmt.Errorf("output %s: %q has %d channels, the others %d", o.name, s, c.tfShape(v)[2], channels)
			}
			channels = c.tfShape(v)[2]
			parts = append(parts, name)

		}
		c.emit("Concat", parts, []string{o.name}, attrI("axis", 1))
		c.g.outputs = append(c.g.outputs, valueInfo{name: o.name, dims: []any{1, "anchors", channels}})
	}
	if join != "" {
		var names []string
		total := 0
		for _, o := range c.g.outputs {
			names = append(names, o.name)
			total += o.dims[2].(int)
		}
		c.emit("Concat", names, []string{join}, attrI("axis", 2))
		c.g.outputs = []valueInfo{{name: join, dims: []any{1, "anchors", total}}}
	}
	return encodeModel(&c.g), nil
}

// tensorName strips the output index ":0" (and a control input's "^").
func tensorName(s string) string {
	s = strings.TrimPrefix(s, "^")
	if i := strings.LastIndexByte(s, ':'); i >= 0 && s[i+1:] == "0" {
		return s[:i]
	}
	return s
}

func identity(n int) []int {
	p := make([]int, n)
	for i := range p {
		p[i] = i
	}
	return p
}

// tfShape is v's shape in tfjs axis order.
func (c *converter) tfShape(v *value) []int {
	s := make([]int, len(v.perm))
	for i, p := range v.perm {
		s[i] = v.shape[p]
	}
	return s
}

func (c *converter) fresh(base string) string {
	c.n++
	return fmt.Sprintf("%s_%d", base, c.n)
}

func (c *converter) emit(op string, in, out []string, attrs ...attribute) *node {
	n := &node{op: op, name: c.fresh(strings.ToLower(op)), inputs: in, outputs: out, attrs: attrs}
	c.g.nodes = append(c.g.nodes, n)
	return n
}

func (c *converter) constFloat(base string, dims []int, f []float32) string {
	name := c.fresh(base)
	c.g.initializers = append(c.g.initializers, &initializer{name: name, dims: dims, f: f})
	return name
}

func (c *converter) constInt(base string, dims []int, i []int64) string {
	name := c.fresh(base)
	c.g.initializers = append(c.g.initializers, &initializer{name: name, dims: dims, i: i, isInt: true})
	return name
}

// applyPads writes a Pad for padding no op absorbed.
func (c *converter) applyPads(v *value) {
	if v.pads == nil {
		return
	}
	r := len(v.shape)
	pads := make([]int64, 2*r)
	for k, p := range v.pads {
		pads[k] = int64(p)
	}
	out := c.fresh("padded")
	c.emit("Pad", []string{v.onnx, c.constInt("pads", []int{2 * r}, pads), c.constFloat("pad_value", nil, []float32{v.padValue})},
		[]string{out}, attrS("mode", "constant"))
	v.onnx, v.pads, v.conv = out, nil, nil
}

// layout returns the name of an ONNX tensor holding v with its padding
// applied and its axes in the tfjs order want (want[j] is the tfjs axis
// that becomes ONNX axis j), writing a Transpose if needed.
func (c *converter) layout(v *value, want []int) (string, error) {
	if len(want) != len(v.perm) {
		return "", fmt.Errorf("tensor of rank %d where rank %d is needed", len(v.perm), len(want))
	}
	c.applyPads(v)
	perm := make([]int64, len(want))
	same := true
	for j, a := range want {
		perm[j] = int64(v.perm[a])
		same = same && perm[j] == int64(j)
	}
	if same {
		return v.onnx, nil
	}
	out := c.fresh("transposed")
	c.emit("Transpose", []string{v.onnx}, []string{out}, attrIs("perm", perm...))
	return out, nil
}

// input returns the k-th input of n.
func (c *converter) input(n *tfjsNode, k int) (*value, error) {
	if k >= len(n.Input) {
		return nil, fmt.Errorf("input %d missing (has %d)", k, len(n.Input))
	}
	v, ok := c.values[tensorName(n.Input[k])]
	if !ok {
		return nil, fmt.Errorf("input %q is not defined before it is used", n.Input[k])
	}
	return v, nil
}

func (c *converter) constInput(n *tfjsNode, k int) (*tensor, error) {
	v, err := c.input(n, k)
	if err != nil {
		return nil, err
	}
	if v.konst == nil {
		return nil, fmt.Errorf("input %d (%q) must be a constant", k, n.Input[k])
	}
	return v.konst, nil
}

// constInts is constant input k of n as integers (a permutation, sizes, a
// shape), what names it in errors.
func (c *converter) constInts(n *tfjsNode, k int, what string) ([]int64, error) {
	t, err := c.constInput(n, k)
	if err != nil {
		return nil, err
	}
	return t.ints(what)
}

func (c *converter) tensorInput(n *tfjsNode, k int) (*value, error) {
	v, err := c.input(n, k)
	if err != nil {
		return nil, err
	}
	if v.konst != nil {
		return nil, fmt.Errorf("input %d (%q) is a constant; only computed tensors are supported here", k, n.Input[k])
	}
	return v, nil
}

// nchw is the tfjs axis order of an NHWC tensor laid out as NCHW.
var nchw = []int{0, 3, 1, 2}

func (c *converter) node(n *tfjsNode, consts map[string]*tensor) error {
	switch n.Op {
	case "Const":
		t, ok := consts[n.Name]
		if !ok {
			return fmt.Errorf("constant has no weights in the manifest")
		}
		c.values[n.Name] = &value{konst: t}
	case "Identity":
		v, err := c.input(n, 0)
		if err != nil {
			return err
		}
		c.values[n.Name] = v
	case "Transpose":
		x, err := c.tensorInput(n, 0)
		if err != nil {
			return err
		}
		p, err := c.constInts(n, 1, "perm")
		if err != nil {
			return err
		}
		if !isPerm(p, len(x.perm)) {
			return fmt.Errorf("perm %v is not a permutation of %d axes", p, len(x.perm))
		}
		v := *x
		v.perm = make([]int, len(p))
		for i, a := range p {
			v.perm[i] = x.perm[a]
		}
		v.conv = nil
		c.values[n.Name] = &v
	case "Pad", "PadV2", "MirrorPad":
		if n.Op == "MirrorPad" {
			return fmt.Errorf("not supported")
		}
		return c.pad(n)
	case "Conv2D":
		return c.conv(n)
	case "MaxPool":
		return c.maxPool(n)
	case "Add", "AddV2":
		return c.add(n)
	case "LeakyRelu", "Sigmoid", "Relu":
		x, err := c.tensorInput(n, 0)
		if err != nil {
			return err
		}
		c.applyPads(x)
		out := c.fresh(strings.ToLower(n.Op))
		var attrs []attribute
		if n.Op == "LeakyRelu" {
			attrs = append(attrs, attrF("alpha", float32(n.attrFloat("alpha", 0.2))))
		}
		c.emit(n.Op, []string{x.onnx}, []string{out}, attrs...)
		c.values[n.Name] = &value{onnx: out, perm: x.perm, shape: x.shape}
	case "ConcatV2":
		return c.concat(n)
	case "ResizeBilinear":
		return c.resize(n)
	case "SplitV":
		return c.split(n)
	case "Reshape":
		return c.reshape(n)
	case "SparseToDense":
		return c.sparseToDense(n)
	default:
		return fmt.Errorf("op not supported by this converter; supported: Const, Identity, Transpose, Pad, PadV2, Conv2D, MaxPool, Add, AddV2, LeakyRelu, Sigmoid, Relu, ConcatV2, ResizeBilinear, SplitV, Reshape, SparseToDense (constant)")
	}
	return nil
}

func isPerm(p []int64, n int) bool {
	if len(p) != n {
		return false
	}
	seen := make([]bool, n)
	for _, a := range p {
		if a < 0 || int(a) >= n || seen[a] {
			return false
		}
		seen[a] = true
	}
	return true
}

func (c *converter) pad(n *tfjsNode) error {
	x, err := c.tensorInput(n, 0)
	if err != nil {
		return err
	}
	p, err := c.constInts(n, 1, "paddings")
	if err != nil {
		return err
	}
	r := len(x.perm)
	if len(p) != 2*r {
		return fmt.Errorf("paddings has %d values for a tensor of rank %d; want %d", len(p), r, 2*r)
	}
	var fill float32
	if n.Op == "PadV2" {
		vt, err := c.constInput(n, 2)
		if err != nil {
			return err
		}
		if vt.isInt || len(vt.f) != 1 {
			return fmt.Errorf("constant_values must be one float")
		}
		fill = vt.f[0]
	}
	if x.pads != nil && x.padValue != fill {
		c.applyPads(x)
	}
	v := &value{onnx: x.onnx, perm: x.perm, shape: slices.Clone(x.shape), pads: make([]int, 2*r), padValue: fill}
	if x.pads != nil {
		copy(v.pads, x.pads)
	}
	for i := range r {
		b, e := p[2*i], p[2*i+1]
		if b < 0 || e < 0 || b > 1<<12 || e > 1<<12 {
			return fmt.Errorf("paddings %v: want 0..4096 (cropping is not supported)", p)
		}
		a := x.perm[i]
		v.pads[a] += int(b)
		v.pads[r+a] += int(e)
		v.shape[a] += int(b + e)
	}
	c.values[n.Name] = v
	return nil
}

// spatialPads takes x's pending padding into an NCHW op's pads attribute
// (top, left, bottom, right) if it pads only height and width with fill
// values the op treats alike; otherwise it writes the Pad.
func (c *converter) spatialPads(x *value, ok func(float32) bool) []int64 {
	pads := []int64{0, 0, 0, 0}
	if x.pads == nil {
		return pads
	}
	// In ONNX order: the NCHW layout puts tfjs H, W at perm[1], perm[2].
	h, w := x.perm[1], x.perm[2]
	r := len(x.shape)
	clean := ok(x.padValue)
	for a := range r {
		if a != h && a != w && (x.pads[a] != 0 || x.pads[r+a] != 0) {
			clean = false
		}
	}
	if !clean {
		c.applyPads(x)
		return pads
	}
	pads = []int64{int64(x.pads[h]), int64(x.pads[w]), int64(x.pads[r+h]), int64(x.pads[r+w])}
	// The shape already includes the padding: undo it, the op re-adds it.
	x.shape = slices.Clone(x.shape)
	x.shape[h] -= int(pads[0] + pads[2])
	x.shape[w] -= int(pads[1] + pads[3])
	x.pads = nil
	return pads
}

// nhwcWindow reads the NHWC strides/ksize/dilations attribute as (h, w).
func nhwcWindow(n *tfjsNode, name string, def int64) (int64, int64, error) {
	if _, ok := n.Attr[name]; !ok {
		return def, def, nil
	}
	v, err := n.attrInts(name)
	if err != nil {
		return 0, 0, err
	}
	if len(v) != 4 || v[0] != 1 || v[3] != 1 || v[1] < 1 || v[2] < 1 || v[1] > 64 || v[2] > 64 {
		return 0, 0, fmt.Errorf("%s %v: want [1, h, w, 1] with h, w in 1..64", name, v)
	}
	return v[1], v[2], nil
}

func checkNHWC(n *tfjsNode) error {
	if f := n.attrString("data_format"); f != "" && f != "NHWC" {
		return fmt.Errorf("data_format %q; only NHWC is supported", f)
	}
	if p := n.attrString("padding"); p != "VALID" {
		return fmt.Errorf("padding %q; only VALID (with explicit Pad ops) is supported", p)
	}
	return nil
}

func outSize(in int, pb, pe, k, s, d int64) int {
	return int((int64(in)+pb+pe-((k-1)*d+1))/s + 1)
}

func (c *converter) conv(n *tfjsNode) error {
	if err := checkNHWC(n); err != nil {
		return err
	}
	x, err := c.tensorInput(n, 0)
	if err != nil {
		return err
	}
	w, err := c.constInput(n, 1)
	if err != nil {
		return err
	}
	if w.isInt || len(w.shape) != 4 {
		return fmt.Errorf("filter shape %v: want float [h, w, in, out]", w.shape)
	}
	if len(x.perm) != 4 {
		return fmt.Errorf("input of rank %d, want 4", len(x.perm))
	}
	sh, sw, err := nhwcWindow(n, "strides", 1)
	if err != nil {
		return err
	}
	dh, dw, err := nhwcWindow(n, "dilations", 1)
	if err != nil {
		return err
	}
	x2 := *x
	pads := c.spatialPads(&x2, func(f float32) bool { return f == 0 })
	in, err := c.layout(&x2, nchw)
	if err != nil {
		return err
	}
	kh, kw, ci, co := w.shape[0], w.shape[1], w.shape[2], w.shape[3]
	if xs := c.tfShape(&x2); xs[3] != ci {
		return fmt.Errorf("input has %d channels, the filter %d", xs[3], ci)
	}
	// HWIO → OIHW.
	oihw := make([]float32, len(w.f))
	for h := range kh {
		for ww := range kw {
			for i := range ci {
				for o := range co {
					oihw[((o*ci+i)*kh+h)*kw+ww] = w.f[((h*kw+ww)*ci+i)*co+o]
				}
			}
		}
	}
	out := c.fresh("conv")
	cn := c.emit("Conv", []string{in, c.constFloat("weight", []int{co, ci, kh, kw}, oihw)}, []string{out},
		attrIs("kernel_shape", int64(kh), int64(kw)), attrIs("strides", sh, sw),
		attrIs("dilations", dh, dw), attrIs("pads", pads...))
	xs := c.tfShape(&x2)
	shape := []int{xs[0], co,
		outSize(xs[1], pads[0], pads[2], int64(kh), sh, dh),
		outSize(xs[2], pads[1], pads[3], int64(kw), sw, dw)}
	if shape[2] < 1 || shape[3] < 1 {
		return fmt.Errorf("output would be empty (input %v)", xs)
	}
	c.values[n.Name] = &value{onnx: out, perm: []int{0, 2, 3, 1}, shape: shape, conv: cn}
	return nil
}

func (c *converter) maxPool(n *tfjsNode) error {
	if err := checkNHWC(n); err != nil {
		return err
	}
	x, err := c.tensorInput(n, 0)
	if err != nil {
		return err
	}
	if len(x.perm) != 4 {
		return fmt.Errorf("input of rank %d, want 4", len(x.perm))
	}
	kh, kw, err := nhwcWindow(n, "ksize", 0)
	if err != nil || kh == 0 {
		return fmt.Errorf("ksize: %v", err)
	}
	sh, sw, err := nhwcWindow(n, "strides", 1)
	if err != nil {
		return err
	}
	x2 := *x
	// ONNX MaxPool ignores its padding, as padding with -inf does.
	pads := c.spatialPads(&x2, func(f float32) bool { return f < -3e38 })
	in, err := c.layout(&x2, nchw)
	if err != nil {
		return err
	}
	out := c.fresh("maxpool")
	c.emit("MaxPool", []string{in}, []string{out},
		attrIs("kernel_shape", kh, kw), attrIs("strides", sh, sw), attrIs("pads", pads...))
	xs := c.tfShape(&x2)
	shape := []int{xs[0], xs[3], outSize(xs[1], pads[0], pads[2], kh, sh, 1), outSize(xs[2], pads[1], pads[3], kw, sw, 1)}
	c.values[n.Name] = &value{onnx: out, perm: []int{0, 2, 3, 1}, shape: shape}
	return nil
}

func (c *converter) add(n *tfjsNode) error {
	a, err := c.input(n, 0)
	if err != nil {
		return err
	}
	b, err := c.input(n, 1)
	if err != nil {
		return err
	}
	if a.konst != nil && b.konst != nil {
		t, err := addConst(a.konst, b.konst)
		if err != nil {
			return err
		}
		c.values[n.Name] = &value{konst: t}
		return nil
	}
	if a.konst != nil {
		a, b = b, a
	}
	if b.konst == nil {
		c.applyPads(a)
		bn, err := c.layout(b, inverse(a.perm))
		if err != nil {
			return err
		}
		if !slices.Equal(c.tfShape(a), c.tfShape(b)) {
			return fmt.Errorf("adds shapes %v and %v; broadcasting is supported only for constants", c.tfShape(a), c.tfShape(b))
		}
		out := c.fresh("sum")
		c.emit("Add", []string{a.onnx, bn}, []string{out})
		c.values[n.Name] = &value{onnx: out, perm: a.perm, shape: a.shape}
		return nil
	}
	k := b.konst
	if k.isInt {
		return fmt.Errorf("adds an integer constant to a computed tensor")
	}
	r := len(a.perm)
	last := a.perm[r-1]
	switch {
	case len(k.f) == 1:
	case len(k.shape) == 1 && k.shape[0] == a.shape[last]:
	default:
		return fmt.Errorf("adds a constant of shape %v; only scalars and vectors along the last axis are supported", k.shape)
	}
	// A bias vector along the channels right after a convolution, which
	// nothing else reads, is the convolution's bias.
	src := tensorName(n.Input[0])
	if c.values[src] != a {
		src = tensorName(n.Input[1])
	}
	if a.conv != nil && len(a.conv.inputs) == 2 && len(k.f) > 1 && last == 1 && c.uses[src] == 1 {
		a.conv.inputs = append(a.conv.inputs, c.constFloat("bias", []int{len(k.f)}, slices.Clone(k.f)))
		c.values[n.Name] = &value{onnx: a.onnx, perm: a.perm, shape: a.shape}
		return nil
	}
	c.applyPads(a)
	dims := make([]int, r)
	for i := range dims {
		dims[i] = 1
	}
	if len(k.f) > 1 {
		dims[last] = len(k.f)
	}
	out := c.fresh("sum")
	c.emit("Add", []string{a.onnx, c.constFloat("addend", dims, slices.Clone(k.f))}, []string{out})
	c.values[n.Name] = &value{onnx: out, perm: a.perm, shape: a.shape}
	return nil
}

func inverse(p []int) []int {
	q := make([]int, len(p))
	for i, a := range p {
		q[a] = i
	}
	return q
}

func addConst(a, b *tensor) (*tensor, error) {
	if a.isInt != b.isInt || !slices.Equal(a.shape, b.shape) {
		return nil, fmt.Errorf("adds constants of shapes %v and %v; only equal shapes and types fold", a.shape, b.shape)
	}
	t := &tensor{shape: a.shape, isInt: a.isInt}
	if a.isInt {
		t.i = make([]int64, len(a.i))
		for k := range t.i {
			t.i[k] = a.i[k] + b.i[k]
		}
	} else {
		t.f = make([]float32, len(a.f))
		for k := range t.f {
			t.f[k] = a.f[k] + b.f[k]
		}
	}
	return t, nil
}

// sparseToDense folds the empty SparseToDense onnx-tf writes for a
// reshape's shape (all default values).
func (c *converter) sparseToDense(n *tfjsNode) error {
	var ts [4]*tensor
	for k := range ts {
		t, err := c.constInput(n, k)
		if err != nil {
			return err
		}
		ts[k] = t
	}
	if ts[0].size() != 0 {
		return fmt.Errorf("only an empty set of indices is supported")
	}
	shape, err := ts[1].ints("output_shape")
	if err != nil {
		return err
	}
	if ts[3].size() != 1 {
		return fmt.Errorf("default_value must be a scalar")
	}
	total := int64(1)
	dims := make([]int, len(shape))
	for k, d := range shape {
		if d < 0 || d > 1<<16 {
			return fmt.Errorf("output_shape %v: dimensions must be in 0..65536", shape)
		}
		total *= d
		dims[k] = int(d)
	}
	if len(shape) > 4 || total > 1<<16 {
		return fmt.Errorf("output_shape %v is too large to fold", shape)
	}
	t := &tensor{shape: dims, isInt: ts[3].isInt}
	for range total {
		if t.isInt {
			t.i = append(t.i, ts[3].i[0])
		} else {
			t.f = append(t.f, ts[3].f[0])
		}
	}
	c.values[n.Name] = &value{konst: t}
	return nil
}

func (c *converter) concat(n *tfjsNode) error {
	if len(n.Input) < 2 {
		return fmt.Errorf("needs at least one tensor and the axis")
	}
	at, err := c.constInput(n, len(n.Input)-1)
	if err != nil {
		return err
	}
	ax, err := at.ints("axis")
	if err != nil || len(ax) != 1 {
		return fmt.Errorf("axis must be one integer")
	}
	first, err := c.tensorInput(n, 0)
	if err != nil {
		return err
	}
	c.applyPads(first)
	r := len(first.perm)
	axis := int(ax[0])
	if axis < 0 {
		axis += r
	}
	if axis < 0 || axis >= r {
		return fmt.Errorf("axis %d outside a tensor of rank %d", ax[0], r)
	}
	phys := first.perm[axis]
	shape := slices.Clone(first.shape)
	names := []string{first.onnx}
	for k := 1; k < len(n.Input)-1; k++ {
		v, err := c.tensorInput(n, k)
		if err != nil {
			return err
		}
		name, err := c.layout(v, inverse(first.perm))
		if err != nil {
			return err
		}
		vs := c.tfShape(v)
		for i := range r {
			if i != axis && vs[i] != c.tfShape(first)[i] {
				return fmt.Errorf("input %d has shape %v, input 0 %v", k, vs, c.tfShape(first))
			}
		}
		shape[phys] += vs[axis]
		names = append(names, name)
	}
	out := c.fresh("concat")
	c.emit("Concat", names, []string{out}, attrI("axis", int64(phys)))
	c.values[n.Name] = &value{onnx: out, perm: first.perm, shape: shape}
	return nil
}

// resize writes ResizeBilinear's fixed output size as a scale, which is
// what lets the ONNX graph take other input sizes: every resize in an FPN
// doubles or halves.
func (c *converter) resize(n *tfjsNode) error {
	x, err := c.tensorInput(n, 0)
	if err != nil {
		return err
	}
	size, err := c.constInts(n, 1, "size")
	if err != nil || len(size) != 2 {
		return fmt.Errorf("size must be two integers")
	}
	in, err := c.layout(x, nchw)
	if err != nil {
		return err
	}
	xs := c.tfShape(x)
	if len(xs) != 4 {
		return fmt.Errorf("input of rank %d, want 4", len(xs))
	}
	scale := func(out int64, in int) (float32, error) {
		s := float64(out) / float64(in)
		for _, ok := range []float64{0.25, 0.5, 1, 2, 4, 8} {
			if s == ok {
				return float32(s), nil
			}
		}
		return 0, fmt.Errorf("resizes %d to %d: only 1/4, 1/2, 1, 2, 4 or 8 times can be written as a scale", in, out)
	}
	sy, err := scale(size[0], xs[1])
	if err != nil {
		return err
	}
	sx, err := scale(size[1], xs[2])
	if err != nil {
		return err
	}
	mode := "asymmetric"
	switch {
	case n.attrBool("align_corners"):
		mode = "align_corners"
	case n.attrBool("half_pixel_centers"):
		mode = "half_pixel"
	}
	out := c.fresh("resized")
	c.emit("Resize", []string{in, c.constFloat("roi", []int{0}, nil), c.constFloat("scales", []int{4}, []float32{1, 1, sy, sx})},
		[]string{out}, attrS("mode", "linear"), attrS("coordinate_transformation_mode", mode))
	c.values[n.Name] = &value{onnx: out, perm: []int{0, 2, 3, 1}, shape: []int{xs[0], xs[3], int(size[0]), int(size[1])}}
	return nil
}

func (c *converter) split(n *tfjsNode) error {
	x, err := c.tensorInput(n, 0)
	if err != nil {
		return err
	}
	sizes, err := c.constInts(n, 1, "size_splits")
	if err != nil {
		return err
	}
	dim, err := c.constInts(n, 2, "split_dim")
	if err != nil || len(dim) != 1 {
		return fmt.Errorf("split_dim must be one integer")
	}
	c.applyPads(x)
	r := len(x.perm)
	axis := int(dim[0])
	if axis < 0 {
		axis += r
	}
	if axis < 0 || axis >= r {
		return fmt.Errorf("split_dim %d outside a tensor of rank %d", dim[0], r)
	}
	phys := x.perm[axis]
	var total int64
	for _, s := range sizes {
		if s < 1 {
			return fmt.Errorf("size_splits %v: every size must be positive (-1 is not supported)", sizes)
		}
		total += s
	}
	if total != int64(x.shape[phys]) {
		return fmt.Errorf("size_splits %v add up to %d, the axis has %d", sizes, total, x.shape[phys])
	}
	outs := make([]string, len(sizes))
	for k, s := range sizes {
		outs[k] = c.fresh("split")
		shape := slices.Clone(x.shape)
		shape[phys] = int(s)
		name := n.Name
		if k > 0 {
			name = fmt.Sprintf("%s:%d", n.Name, k)
		}
		c.values[name] = &value{onnx: outs[k], perm: x.perm, shape: shape}
	}
	c.emit("Split", []string{x.onnx}, outs, attrI("axis", int64(phys)), attrIs("split", sizes...))
	return nil
}

func (c *converter) reshape(n *tfjsNode) error {
	x, err := c.tensorInput(n, 0)
	if err != nil {
		return err
	}
	shape, err := c.constInts(n, 1, "shape")
	if err != nil {
		return err
	}
	in, err := c.layout(x, identity(len(x.perm)))
	if err != nil {
		return err
	}
	total := 1
	for _, d := range x.shape {
		total *= d
	}
	known, free := 1, -1
	dims := make([]int, len(shape))
	for k, d := range shape {
		switch {
		case d == -1 && free < 0:
			free = k
		case d >= 1 && d <= 1<<24:
			known *= int(d)
			dims[k] = int(d)
		default:
			return fmt.Errorf("shape %v: dimensions must be positive, with at most one -1", shape)
		}
	}
	if free >= 0 {
		if known == 0 || total%known != 0 {
			return fmt.Errorf("shape %v does not divide %d elements", shape, total)
		}
		dims[free] = total / known
	} else if known != total {
		return fmt.Errorf("shape %v has %d elements, the input %d", shape, known, total)
	}
	out := c.fresh("reshaped")
	// The batch stays 1 and the free dimension grows with the input, so
	// only one dimension may be -1 in the written shape too.
	c.emit("Reshape", []string{in, c.constInt("shape", []int{len(shape)}, slices.Clone(shape))}, []string{out})
	c.values[n.Name] = &value{onnx: out, perm: identity(len(dims)), shape: dims}
	return nil
}
