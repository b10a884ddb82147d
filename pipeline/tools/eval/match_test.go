package eval

import (
	"testing"
	"time"
)

func TestMatchAndTable(t *testing.T) {
	s := time.Second
	sc := Scenario{Name: "x", Expect: []Expected{
		{Type: "running", From: 5 * s, To: 10 * s},
		{Type: "crowd", From: 20 * s, To: 25 * s},
		{Type: "line_crossing", From: 0, To: 60 * s, Optional: true},
	}}
	starts := []Start{
		{Type: "running", Reported: 6 * s},       // hit, 1 s delay
		{Type: "running", Reported: 7 * s},       // duplicate in the window: false alarm
		{Type: "crowd", Reported: 30 * s},        // outside its window: false alarm (and a miss)
		{Type: "line_crossing", Reported: 3 * s}, // optional: ignored
	}
	o := Match(sc, starts)
	if o.Hit[0] == nil || o.Hit[1] != nil {
		t.Fatalf("hits %v", o.Hit)
	}
	if len(o.False) != 2 {
		t.Fatalf("false alarms %v", o.False)
	}
	rows := Table([]Scenario{sc}, []Outcome{o})
	get := func(typ string) Row {
		for _, r := range rows {
			if r.Type == typ {
				return r
			}
		}
		t.Fatalf("no row %s", typ)
		return Row{}
	}
	if r := get("running"); r.Precision != 0.5 || r.Recall != 1 || r.MeanDelay != s {
		t.Errorf("running %+v", r)
	}
	if r := get("crowd"); r.Precision != 0 || r.Recall != 0 {
		t.Errorf("crowd %+v", r)
	}
	if r := get("line_crossing"); r.Precision != 1 || r.Recall != 1 || r.Expected != 0 {
		t.Errorf("line_crossing %+v", r)
	}
}
