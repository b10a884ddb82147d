package anonymise

import (
	"bytes"
	"fmt"
	"testing"

	"gocv.io/x/gocv"
)

// markers lists the segment markers of a JPEG up to the first scan and
// flags metadata: APPn other than a bare JFIF APP0, and COM.
func markers(t testing.TB, b []byte) (names []string, metadata []string) {
	t.Helper()
	if len(b) < 4 || b[0] != 0xFF || b[1] != mSOI {
		t.Fatalf("no SOI")
	}
	i := 2
	for i+4 <= len(b) {
		if b[i] != 0xFF {
			t.Fatalf("no marker at %d", i)
		}
		m := b[i+1]
		n := int(b[i+2])<<8 | int(b[i+3])
		names = append(names, fmt.Sprintf("%02X", m))
		seg := b[i+2 : i+2+n]
		if (m >= mAPP0 && m <= mAPPF && !keepSegment(m, seg)) || m == mCOM {
			metadata = append(metadata, fmt.Sprintf("%02X", m))
		}
		if m == mSOS {
			break
		}
		i += 2 + n
	}
	return names, metadata
}

func TestEncodeJPEGHasNoMetadata(t *testing.T) {
	img := loadPhoto(t, photos[0])
	defer img.Close()
	for _, q := range []int{1, 75, 100} {
		b, err := EncodeJPEG(img, q)
		if err != nil {
			t.Fatal(err)
		}
		names, meta := markers(t, b)
		if len(meta) > 0 {
			t.Errorf("quality %d: metadata segments %v in %v", q, meta, names)
		}
		if !bytes.HasSuffix(b, []byte{0xFF, mEOI}) {
			t.Errorf("quality %d: does not end with EOI", q)
		}
		d, err := gocv.IMDecode(b, gocv.IMReadColor)
		if err != nil || d.Cols() != img.Cols() || d.Rows() != img.Rows() {
			t.Errorf("quality %d: does not decode to the same size: %v", q, err)
		}
		d.Close()
		t.Logf("quality %d: %d bytes, markers %v", q, len(b), names)
	}
	if _, err := EncodeJPEG(gocv.NewMat(), 80); err == nil {
		t.Error("EncodeJPEG(empty) succeeded")
	}
	if _, err := EncodeJPEG(img, 0); err == nil {
		t.Error("EncodeJPEG(quality 0) succeeded")
	}
}

func segment(m byte, payload string) []byte {
	n := len(payload) + 2
	return append([]byte{0xFF, m, byte(n >> 8), byte(n)}, payload...)
}

// withMetadata inserts EXIF (with a GPS tag name), XMP, a comment, a JFIF
// thumbnail extension and trailing bytes into a real JPEG.
func withMetadata(t testing.TB, jpg []byte) []byte {
	t.Helper()
	var b []byte
	b = append(b, jpg[:2]...)
	b = append(b, segment(0xE1, "Exif\x00\x00MM\x00*GPSLatitude 52.52 N")...)
	b = append(b, segment(0xE0, "JFXX\x00\x10thumbnail")...)
	b = append(b, jpg[2:len(jpg)-2]...)
	// A comment and an APP13 after the headers, before the scan: find SOS.
	sos := bytes.Index(b, []byte{0xFF, mSOS})
	extra := append(segment(mCOM, "camera 7, Hauptstraße"), segment(0xED, "Photoshop 3.0\x00IPTC")...)
	b = append(b[:sos], append(extra, b[sos:]...)...)
	b = append(b, 0xFF, mEOI)
	return append(b, "trailing secrets"...)
}

func TestStripMetadata(t *testing.T) {
	img := loadPhoto(t, photos[1])
	defer img.Close()
	clean, err := EncodeJPEG(img, 80)
	if err != nil {
		t.Fatal(err)
	}
	dirty := withMetadata(t, clean)
	if _, meta := markers(t, dirty); len(meta) < 3 {
		t.Fatalf("test input has too little metadata: %v", meta)
	}
	got, err := StripMetadata(dirty)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, clean) {
		t.Errorf("stripping the added metadata does not give back the clean JPEG (%d vs %d bytes)", len(got), len(clean))
	}
	for _, s := range []string{"GPS", "Hauptstra", "IPTC", "thumbnail", "trailing"} {
		if bytes.Contains(got, []byte(s)) {
			t.Errorf("%q survived", s)
		}
	}
	for _, bad := range [][]byte{nil, {0xFF}, {0xFF, 0xD8}, {0xFF, 0xD8, 0xFF, 0xE1, 0x00}, {0xFF, 0xD8, 0xFF, 0xDA, 0x00, 0x02, 0x01}, clean[:len(clean)/2]} {
		if _, err := StripMetadata(bad); err == nil {
			t.Errorf("StripMetadata(%d bytes of garbage) succeeded", len(bad))
		}
	}
}

// FuzzStripMetadata: never panics, and whatever it accepts has no
// metadata and ends with EOI.
func FuzzStripMetadata(f *testing.F) {
	img := gocv.NewMatWithSizeFromScalar(gocv.NewScalar(10, 200, 30, 0), 16, 24, gocv.MatTypeCV8UC3)
	clean, err := EncodeJPEG(img, 90)
	img.Close()
	if err != nil {
		f.Fatal(err)
	}
	f.Add(clean)
	f.Add(withMetadata(f, clean))
	f.Add([]byte{0xFF, 0xD8, 0xFF, 0xD9})
	f.Add([]byte{0xFF, 0xD8, 0xFF, 0xFE, 0x00, 0x03, 'x', 0xFF, 0xD9})
	f.Fuzz(func(t *testing.T, in []byte) {
		out, err := StripMetadata(in)
		if err != nil {
			return
		}
		if !bytes.HasSuffix(out, []byte{0xFF, mEOI}) {
			t.Fatalf("output does not end with EOI")
		}
		// Every segment header before the first scan must be kept-only.
		i := 2
		for i+4 <= len(out) && out[i] == 0xFF {
			m := out[i+1]
			if m == mEOI {
				break
			}
			n := int(out[i+2])<<8 | int(out[i+3])
			if i+2+n > len(out) {
				t.Fatalf("segment overruns output")
			}
			if m == mCOM || (m >= mAPP0 && m <= mAPPF && !keepSegment(m, out[i+2:i+2+n])) {
				t.Fatalf("metadata segment %02X in output", m)
			}
			if m == mSOS {
				break
			}
			i += 2 + n
		}
		// Idempotent.
		again, err := StripMetadata(out)
		if err != nil || !bytes.Equal(again, out) {
			t.Fatalf("not idempotent: %v", err)
		}
	})
}
