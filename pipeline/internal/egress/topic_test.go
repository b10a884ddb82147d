package egress_test

import (
	"strings"
	"testing"

	"github.com/edgeguard/edgeguard/pipeline/internal/egress"
)

func TestValidSegment(t *testing.T) {
	tests := []struct {
		in string
		ok bool
	}{
		{"cam1", true}, {"front-door_2", true}, {"Eingang Süd", true},
		{"", false}, {"a/b", false}, {"+", false}, {"cam#", false}, {"a\x00b", false},
		{"\xff", false}, {strings.Repeat("x", 129), false}, {strings.Repeat("x", 128), true},
	}
	for _, tc := range tests {
		if err := egress.ValidSegment(tc.in); (err == nil) != tc.ok {
			t.Errorf("ValidSegment(%q) = %v, want ok=%v", tc.in, err, tc.ok)
		}
	}
}

func TestValidPrefix(t *testing.T) {
	tests := []struct {
		in string
		ok bool
	}{
		{"edgeguard", true}, {"site1/edgeguard", true},
		{"", false}, {"/edgeguard", false}, {"edgeguard/", false}, {"a//b", false},
		{"$SYS", false}, {"a/+/b", false}, {"#", false},
	}
	for _, tc := range tests {
		if err := egress.ValidPrefix(tc.in); (err == nil) != tc.ok {
			t.Errorf("ValidPrefix(%q) = %v, want ok=%v", tc.in, err, tc.ok)
		}
	}
}

// FuzzValidPrefix checks the property the topic checks exist for: whatever
// they accept, joined with a valid device and camera, is a concrete topic
// with exactly the expected levels and no wildcard.
func FuzzValidPrefix(f *testing.F) {
	for _, s := range []string{"edgeguard", "a/b", "a/+", "#", "", "$SYS/x", "a\x00", "ü/ß"} {
		f.Add(s, "cam1")
	}
	f.Fuzz(func(t *testing.T, prefix, camera string) {
		if egress.ValidPrefix(prefix) != nil || egress.ValidSegment(camera) != nil {
			return
		}
		topic := prefix + "/box1/" + camera + "/events"
		if strings.ContainsAny(topic, "+#\x00") || strings.HasPrefix(topic, "$") {
			t.Fatalf("accepted topic %q contains a wildcard or reserved start", topic)
		}
		levels := strings.Split(topic, "/")
		if want := strings.Count(prefix, "/") + 4; len(levels) != want {
			t.Fatalf("topic %q has %d levels, want %d", topic, len(levels), want)
		}
		for _, l := range levels {
			if l == "" {
				t.Fatalf("topic %q has an empty level", topic)
			}
		}
	})
}
