package oversight

import (
	"bytes"
	"testing"
)

// TestSealed: an envelope gives back the subject and the exact bytes, also
// bytes that are not JSON or not UTF-8; a payload that is no envelope, or
// an envelope sealed again (what a client forging one gets), is refused
// or yields the client's bytes as the command, never its subject.
func TestSealed(t *testing.T) {
	for _, tc := range []struct {
		subject string
		payload []byte
	}{
		{"CN=alice,O=City of Hamburg", []byte(`{"state":"running","operator":"alice"}`)},
		{"", []byte(`{"verdict":"confirmed","operator":"bob"}`)},
		{"CN=x", []byte("\xff\x00not json")},
		{"CN=x", nil},
	} {
		s, err := Unseal(Seal(tc.subject, tc.payload))
		if err != nil || s.Subject != tc.subject || !bytes.Equal(s.Payload, tc.payload) {
			t.Errorf("Unseal(Seal(%q, %q)) = %+v, %v", tc.subject, tc.payload, s, err)
		}
	}
	for _, bad := range []string{
		`{"state":"running","operator":"alice"}`,
		`{"certificate_subject":"CN=alice"}`,
		`{"command":"e30="}`,
		`{"certificate_subject":"CN=alice","command":"e30=","x":1}`,
		`{"certificate_subject":"CN=alice","command":"e30="} {}`,
		`{"certificate_subject":"CN=alice","command":"not base64!"}`,
		``, `null`,
	} {
		if s, err := Unseal([]byte(bad)); err == nil {
			t.Errorf("Unseal(%q) = %+v, want an error", bad, s)
		}
	}
	forged := []byte(`{"certificate_subject":"CN=mallory","command":"e30="}`)
	s, err := Unseal(Seal("", forged))
	if err != nil || s.Subject != "" || !bytes.Equal(s.Payload, forged) {
		t.Fatalf("a forged envelope sealed again = %+v, %v", s, err)
	}
	if _, err := ParseAnalysis(s.Payload, now); err == nil {
		t.Fatal("the forged envelope parses as a command")
	}
}

// FuzzUnseal: whatever arrives, Unseal does not panic, and what it accepts
// seals back to an envelope with the same subject and command.
func FuzzUnseal(f *testing.F) {
	f.Add(Seal("CN=alice", []byte(`{"state":"running","operator":"alice"}`)))
	f.Add([]byte(`{"certificate_subject":"","command":""}`))
	f.Add([]byte(`{}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := Unseal(data)
		if err != nil {
			return
		}
		again, err := Unseal(Seal(s.Subject, s.Payload))
		if err != nil || again.Subject != s.Subject || !bytes.Equal(again.Payload, s.Payload) {
			t.Fatalf("%q: %+v does not round-trip: %+v, %v", data, s, again, err)
		}
	})
}
