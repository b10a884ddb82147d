package egress

import (
	"errors"
	"testing"

	"github.com/edgeguard/edgeguard/internal/jpegtest"
)

// insert puts a segment right after SOI.
func insert(j []byte, marker byte, body string) []byte {
	n := len(body) + 2
	seg := append([]byte{0xFF, marker, byte(n >> 8), byte(n)}, body...)
	return append(append(append([]byte{}, j[:2]...), seg...), j[2:]...)
}

func TestBareJFIF(t *testing.T) {
	clean := jpegtest.JFIF(t)
	for _, tt := range []struct {
		name string
		b    []byte
		ok   bool
	}{
		{"clean", clean, true},
		{"exif", insert(clean, 0xE1, "Exif\x00\x00GPS..."), false},
		{"comment", insert(clean, 0xFE, "taken at Hansaplatz"), false},
		{"xmp", insert(clean, 0xE1, "http://ns.adobe.com/xap/1.0/\x00"), false},
		{"icc", insert(clean, 0xE2, "ICC_PROFILE\x00"), false},
		{"vendor", insert(clean, 0xEC, "Ducky"), false},
		{"not jpeg", []byte("GIF89a"), false},
		{"truncated", clean[:10], false},
		{"empty", nil, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			err := bareJFIF(tt.b)
			if (err == nil) != tt.ok || (err != nil && !errors.Is(err, ErrImageMetadata)) {
				t.Fatalf("bareJFIF = %v, want ok=%v", err, tt.ok)
			}
		})
	}
}

func FuzzBareJFIF(f *testing.F) {
	f.Add([]byte{0xFF, 0xD8, 0xFF, 0xDA, 0, 2})
	f.Add([]byte{0xFF, 0xD8, 0xFF, 0xE0, 0, 16, 'J', 'F', 'I', 'F', 0})
	f.Fuzz(func(t *testing.T, b []byte) { bareJFIF(b) })
}
