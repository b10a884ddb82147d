package egress

import (
	"bytes"
	"errors"
	"image"
	"image/jpeg"
	"testing"
)

func testJPEG(t *testing.T) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := jpeg.Encode(&b, image.NewGray(image.Rect(0, 0, 16, 16)), nil); err != nil {
		t.Fatal(err)
	}
	// Go's encoder writes no APP0; add the JFIF header as libjpeg does.
	jfif := []byte{0xFF, 0xE0, 0x00, 0x10, 'J', 'F', 'I', 'F', 0, 1, 1, 0, 0, 1, 0, 1, 0, 0}
	return append(append([]byte{0xFF, 0xD8}, jfif...), b.Bytes()[2:]...)
}

// insert puts a segment right after SOI.
func insert(j []byte, marker byte, body string) []byte {
	n := len(body) + 2
	seg := append([]byte{0xFF, marker, byte(n >> 8), byte(n)}, body...)
	return append(append(append([]byte{}, j[:2]...), seg...), j[2:]...)
}

func TestBareJFIF(t *testing.T) {
	clean := testJPEG(t)
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
