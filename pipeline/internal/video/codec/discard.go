package codec

// Discardable reports whether au is a picture that no other picture uses as
// a reference, so that leaving it undecoded changes no later picture. In
// H.264 that is an AU whose every slice has nal_ref_idc 0: the enhancement
// layer of a camera's temporal scalability ("SVC" on Hikvision, Dahua and
// Axis cameras) and non-reference B-frames. Parameter sets or an IDR make
// an AU indispensable. H.265 answers false: a sub-layer non-reference
// picture may still be referenced by a higher temporal sub-layer.
//
// The camera decodes such a picture only when analysis or a snapshot wants
// it; at the default 5 of 25 frames that saves most of their decoding.
func Discardable(c Codec, au [][]byte) bool {
	if c != H264 {
		return false
	}
	slices := 0
	for _, n := range au {
		if len(n) == 0 {
			continue
		}
		switch n[0] & 0x1f {
		case h264Slice:
			if n[0]&0x60 != 0 { // nal_ref_idc
				return false
			}
			slices++
		case h264SEI, h264AUD, h264Filler:
		default: // IDR, parameter sets, data partitions, extensions
			return false
		}
	}
	return slices > 0
}
