package evalreal

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
)

// recipe names how a clip becomes the H.264 elementary stream the
// decoder reads; it is part of the cache key, so changing how streams are
// made (the ffmpeg arguments below) must change it.
const recipe = "annexb-aud-v2"

// stream is a clip as a camera would send it: H.264 access units, each
// beginning with an access unit delimiter, at the clip's own frame rate.
type stream struct {
	path string
	fps  float64
	// transcoded is false when the clip's own H.264 was copied.
	transcoded bool
}

// CacheDir is where the streams made from clips are kept, outside the
// repository: $EDGEGUARD_EVALREAL_CACHE, else the user's cache directory
// (edgeguard/evalreal), else the temporary directory.
func CacheDir() string {
	if d := os.Getenv("EDGEGUARD_EVALREAL_CACHE"); d != "" {
		return d
	}
	if d, err := os.UserCacheDir(); err == nil {
		return filepath.Join(d, "edgeguard", "evalreal")
	}
	return filepath.Join(os.TempDir(), "edgeguard-evalreal")
}

// prepare makes (or finds in cache) the H.264 stream of the clip at src.
// Clips already in H.264 are copied without re-encoding; others (MPEG-4
// part 2, Cinepak, MJPEG) are encoded at high quality (CRF 12, no B
// frames) at a constant rate, their own: an AVI's empty packets (the
// picture repeated) become the repeated pictures a camera would send.
func prepare(ctx context.Context, src, cache string) (stream, error) {
	codecName, rate, err := probe(ctx, src)
	if err != nil {
		return stream{}, err
	}
	sum, err := fileSHA256(src)
	if err != nil {
		return stream{}, err
	}
	key := sha256.Sum256([]byte(recipe + "\x00" + sum))
	out := filepath.Join(cache, hex.EncodeToString(key[:16])+".h264")
	st := stream{path: out, fps: ratio(rate), transcoded: codecName != "h264"}
	if fi, err := os.Stat(out); err == nil && fi.Size() > 0 {
		return st, nil
	}
	if err := os.MkdirAll(cache, 0o755); err != nil {
		return stream{}, err
	}
	tmp, err := os.CreateTemp(cache, ".part-*.h264")
	if err != nil {
		return stream{}, err
	}
	tmp.Close()
	defer os.Remove(tmp.Name())
	args := []string{"-nostdin", "-v", "error", "-y", "-i", src, "-map", "0:v:0", "-an", "-sn"}
	if st.transcoded {
		args = append(args, "-c:v", "libx264", "-preset", "veryfast", "-crf", "12", "-bf", "0",
			"-pix_fmt", "yuv420p", "-fps_mode", "cfr", "-r", rate, "-bsf:v", "h264_metadata=aud=insert")
	} else {
		args = append(args, "-c:v", "copy", "-bsf:v", "h264_mp4toannexb,h264_metadata=aud=insert")
	}
	args = append(args, "-f", "h264", tmp.Name())
	var stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, "ffmpeg", args...)
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		return stream{}, fmt.Errorf("ffmpeg %s: %w: %s", src, err, strings.TrimSpace(stderr.String()))
	}
	if err := os.Rename(tmp.Name(), out); err != nil {
		return stream{}, err
	}
	return st, nil
}

// probe returns the clip's video codec and average frame rate (as
// ffprobe writes it, e.g. 30000/1001).
func probe(ctx context.Context, src string) (string, string, error) {
	var stdout, stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, "ffprobe", "-v", "error", "-select_streams", "v:0",
		"-show_entries", "stream=codec_name,avg_frame_rate", "-of", "default=noprint_wrappers=1", src)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return "", "", fmt.Errorf("ffprobe %s: %w: %s", src, err, strings.TrimSpace(stderr.String()))
	}
	var name, rate string
	for _, line := range strings.Split(stdout.String(), "\n") {
		k, v, _ := strings.Cut(strings.TrimSpace(line), "=")
		switch k {
		case "codec_name":
			name = v
		case "avg_frame_rate":
			rate = v
		}
	}
	if fps := ratio(rate); name == "" || !(fps > 0 && fps <= 240) {
		return "", "", fmt.Errorf("ffprobe %s: no video stream with a frame rate (%q)", src, strings.TrimSpace(stdout.String()))
	}
	return name, rate, nil
}

// ratio parses ffprobe's "30000/1001"; 0 if it is not one.
func ratio(s string) float64 {
	n, d, ok := strings.Cut(s, "/")
	num, err1 := strconv.ParseFloat(n, 64)
	den := 1.0
	var err2 error
	if ok {
		den, err2 = strconv.ParseFloat(d, 64)
	}
	if err1 != nil || err2 != nil || den == 0 {
		return 0
	}
	return num / den
}

func fileSHA256(name string) (string, error) {
	f, err := os.Open(name)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// accessUnits splits an Annex-B stream whose access units each begin with
// an access unit delimiter into access units of NAL units (without start
// codes), as RTSP delivers them to the camera.
func accessUnits(buf []byte) ([][][]byte, error) {
	var aus [][][]byte
	var cur [][]byte
	for _, n := range nalUnits(buf) {
		if n[0]&0x1f == 9 { // access unit delimiter
			if len(cur) > 0 {
				aus = append(aus, cur)
			}
			cur = nil
			continue
		}
		cur = append(cur, n)
	}
	if len(cur) > 0 {
		aus = append(aus, cur)
	}
	if len(aus) == 0 {
		return nil, errors.New("no H.264 access units in the stream")
	}
	return aus, nil
}

// nalUnits are the NAL units between the start codes of buf.
func nalUnits(buf []byte) [][]byte {
	var out [][]byte
	start := -1
	emit := func(end int) {
		for end > start && buf[end-1] == 0 {
			end-- // the zero byte of a four-byte start code, trailing zeros
		}
		if end > start {
			out = append(out, buf[start:end])
		}
	}
	for i := 0; i+2 < len(buf); {
		if buf[i] == 0 && buf[i+1] == 0 && buf[i+2] == 1 {
			if start >= 0 {
				emit(i)
			}
			i += 3
			start = i
			continue
		}
		i++
	}
	if start >= 0 {
		emit(len(buf))
	}
	return out
}
