package anonymise

import (
	"fmt"
	"strings"
	"testing"

	"github.com/edgeguard/edgeguard/models"
	"github.com/edgeguard/edgeguard/policy"
)

type tally struct{ found, total, fp, dets int }

func (t tally) String() string {
	prec := "–"
	if t.dets > 0 {
		prec = fmt.Sprintf("%.0f%%", 100*float64(t.dets-t.fp)/float64(t.dets))
	}
	return fmt.Sprintf("%d/%d (%.0f%%), precision %s", t.found, t.total, 100*float64(t.found)/float64(t.total), prec)
}

// TestRecall measures how many annotated faces each detector covers (with
// the policy's minimum margin) on the photos and on far/small variants of
// them, and logs the table docs/privacy.md reports. It asserts the floor
// the anonymiser relies on: BlazeFace (tiled) covers every face of 32 px
// and wider.
func TestRecall(t *testing.T) {
	if testing.Short() {
		t.Skip("slow: runs every detector on 16 full-HD frames")
	}
	ds := loadDetectors(t)
	bd, _, err := models.Read(models.BlazeFace)
	if err != nil {
		t.Fatal(err)
	}
	whole, err := NewBlazeFace(BlazeFaceConfig{Model: bd, Levels: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer whole.Close()
	type named struct {
		name string
		det  FaceDetector
	}
	// Not the LBP cascade: its boxes cover only the inner face, so they
	// never cover the annotated face with any small margin.
	dets := []named{{"blazeface tiled", ds.blaze}, {"blazeface whole frame", whole}, {"haar", ds.haar}}

	rowKeys := []string{"photos (original size)"}
	rows := map[string][]tally{}
	score := func(key string, di int) *tally {
		if rows[key] == nil {
			rows[key] = make([]tally, len(dets))
			if key != rowKeys[0] {
				rowKeys = append(rowKeys, key)
			}
		}
		return &rows[key][di]
	}
	for _, p := range photos {
		img := loadPhoto(t, p)
		for di, d := range dets {
			boxes, err := d.det.Detect(img)
			if err != nil {
				t.Fatal(err)
			}
			tl := score(rowKeys[0], di)
			tl.dets += len(boxes)
			tl.total++
			if covered(p.faces[0], boxes, policy.MinMargin) {
				tl.found++
			}
			for _, b := range boxes {
				if !touchesAny(p.faces, b) {
					tl.fp++
				}
			}
		}
		img.Close()
	}
	var blazeMissed []string
	for _, v := range scenes() {
		frame, faces := v.render(t)
		key := fmt.Sprintf("%d px faces in 1920×1080", v.faceW)
		for di, d := range dets {
			boxes, err := d.det.Detect(frame)
			if err != nil {
				t.Fatal(err)
			}
			tl := score(key, di)
			tl.dets += len(boxes)
			for _, f := range faces {
				tl.total++
				if covered(f, boxes, policy.MinMargin) {
					tl.found++
				} else if di == 0 && v.faceW >= 32 {
					blazeMissed = append(blazeMissed, fmt.Sprintf("%v in %v", f, v))
				}
			}
			for _, b := range boxes {
				if !touchesAny(faces, b) {
					tl.fp++
				}
			}
		}
		frame.Close()
	}
	var b strings.Builder
	b.WriteString("\n| faces | " + dets[0].name)
	for _, d := range dets[1:] {
		b.WriteString(" | " + d.name)
	}
	b.WriteString(" |\n|---|---|---|---|\n")
	for _, k := range rowKeys {
		b.WriteString("| " + k)
		for _, tl := range rows[k] {
			b.WriteString(" | " + tl.String())
		}
		b.WriteString(" |\n")
	}
	t.Log(b.String())
	if len(blazeMissed) > 0 {
		t.Errorf("BlazeFace (tiled) missed faces of 32 px or more: %s", strings.Join(blazeMissed, "; "))
	}
}
