// Package jpegtest makes JPEG images for tests.
package jpegtest

import (
	"bytes"
	"image"
	"image/jpeg"
	"testing"
)

// JFIF is a tiny grey JPEG with only a JFIF header (APP0), as libjpeg and
// so the anonymiser write it; Go's encoder writes no APP0 of its own.
func JFIF(t testing.TB) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := jpeg.Encode(&b, image.NewGray(image.Rect(0, 0, 16, 16)), nil); err != nil {
		t.Fatal(err)
	}
	jfif := []byte{0xFF, 0xE0, 0x00, 0x10, 'J', 'F', 'I', 'F', 0, 1, 1, 0, 0, 1, 0, 1, 0, 0}
	return append(append([]byte{0xFF, 0xD8}, jfif...), b.Bytes()[2:]...)
}
