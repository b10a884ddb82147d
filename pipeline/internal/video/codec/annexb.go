package codec

// NAL unit types the decoder treats specially. Parameter sets are remembered
// so a random-access AU that arrives without them (cameras that put them only
// in the SDP, or in a separate RTP timestamp) can still be decoded; SEI, AUD
// and filler carry nothing the analysis needs and are the most common source
// of non-conforming bytes in camera streams, so they are not passed on.
const (
	h264Slice  = 1 // coded slice of a non-IDR picture
	h264SEI    = 6
	h264SPS    = 7
	h264PPS    = 8
	h264AUD    = 9
	h264Filler = 12

	h265VPS       = 32
	h265SPS       = 33
	h265PPS       = 34
	h265AUD       = 35
	h265Filler    = 38
	h265PrefixSEI = 39
	h265SuffixSEI = 40
)

// naluKind classifies a non-empty NAL unit: drop reports units not passed to
// the decoder, ps is the parameter-set slot (0..2) or -1.
func naluKind(c Codec, n []byte) (drop bool, ps int) {
	if c == H265 {
		switch (n[0] >> 1) & 0x3f {
		case h265VPS:
			return false, 0
		case h265SPS:
			return false, 1
		case h265PPS:
			return false, 2
		case h265AUD, h265Filler, h265PrefixSEI, h265SuffixSEI:
			return true, -1
		}
		return false, -1
	}
	switch n[0] & 0x1f {
	case h264SPS:
		return false, 0
	case h264PPS:
		return false, 1
	case h264SEI, h264AUD, h264Filler:
		return true, -1
	}
	return false, -1
}

// splitAnnexB cuts an Annex-B byte stream into NAL units (sub-slices of buf,
// no copy). Leading/trailing zero bytes around start codes
// (trailing_zero_8bits) are not part of a NAL unit and are removed.
func splitAnnexB(buf []byte, out [][]byte) [][]byte {
	start := -1
	i := 0
	for i+2 < len(buf) {
		if buf[i] == 0 && buf[i+1] == 0 && buf[i+2] == 1 {
			if start >= 0 {
				out = appendNALU(out, buf[start:i])
			}
			i += 3
			start = i
			continue
		}
		i++
	}
	if start >= 0 {
		out = appendNALU(out, buf[start:])
	}
	return out
}

func appendNALU(out [][]byte, n []byte) [][]byte {
	for len(n) > 0 && n[len(n)-1] == 0 {
		n = n[:len(n)-1]
	}
	if len(n) == 0 {
		return out
	}
	return append(out, n)
}
