package ingest

import (
	"testing"

	"github.com/bluenviron/gortsplib/v4/pkg/description"
	"github.com/bluenviron/gortsplib/v4/pkg/format"
	"github.com/bluenviron/gortsplib/v4/pkg/sdp"
)

// FuzzSDP feeds camera-provided session descriptions (the DESCRIBE answer
// is outside input) through our handling of them: choosing the video
// media, listing what was offered, building the depacketiser. None of it
// may panic, and audio is never chosen.
func FuzzSDP(f *testing.F) {
	f.Add([]byte("v=0\r\no=- 0 0 IN IP4 127.0.0.1\r\ns=cam\r\nt=0 0\r\n" +
		"m=video 0 RTP/AVP 96\r\na=rtpmap:96 H264/90000\r\n" +
		"a=fmtp:96 packetization-mode=1; sprop-parameter-sets=Z2QAH6zZQFAFuwEQAAADABAAAAMDKPGDGWA=,aOvssiw=\r\na=control:trackID=0\r\n" +
		"m=audio 0 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\na=control:trackID=1\r\n"))
	f.Add([]byte("v=0\r\no=- 0 0 IN IP4 127.0.0.1\r\ns=cam\r\nt=0 0\r\n" +
		"m=video 0 RTP/AVP 96\r\na=rtpmap:96 H265/90000\r\na=fmtp:96 sprop-vps=QAEMAf//AWAAAAMAAAMAAAMAAAMAlqwJ; sprop-sps=QgEBAWAAAAMAAAMAAAMAAAMAlqAFAgFx8uWuSTK8BcBAAAADAEAAAAZC; sprop-pps=RAHA8vAiQA==\r\n"))
	f.Add([]byte("v=0\r\no=- 0 0 IN IP4 127.0.0.1\r\ns=cam\r\nt=0 0\r\nm=video 0 RTP/AVP 26\r\na=rtpmap:26 JPEG/90000\r\n"))
	f.Add([]byte("v=0\r\no=- 0 0 IN IP4 127.0.0.1\r\ns=cam\r\nt=0 0\r\nm=audio 0 RTP/AVP 0\r\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		var ssd sdp.SessionDescription
		if err := ssd.Unmarshal(b); err != nil {
			return
		}
		var desc description.Session
		if err := desc.Unmarshal(&ssd); err != nil {
			return
		}
		offered(&desc)
		m, f, err := pickVideo(&desc)
		if err != nil {
			return
		}
		if m.Type != description.MediaTypeVideo {
			t.Fatalf("picked a %s media", m.Type)
		}
		s := &Session{}
		if err := s.setDepacketizer(f); err != nil {
			return
		}
		switch f := f.(type) {
		case *format.H264:
			paramSets(f.SPS, f.PPS)
		case *format.H265:
			paramSets(f.VPS, f.SPS, f.PPS)
		}
	})
}
