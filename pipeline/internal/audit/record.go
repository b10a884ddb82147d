// Package audit is the box's signed, hash-chained audit trail: what the
// service did that a data protection authority or a court may ask about
// (starts and stops, the policy and configuration in force, camera states,
// every event published or withheld, every image that left, every
// command), kept on the box in append-only segments.
//
// Each record is one JSON line that carries the SHA-256 of the line before
// it (prev) and an Ed25519 signature (sig) over itself without the
// signature, made with a device key created at the first start and
// readable only by the service. Verify walks the chain: a changed byte, a
// deleted record or a deleted segment in the middle is found and named.
// It detects tampering after the fact; it cannot stop someone holding the
// key (root on the box) from writing a new, consistent history, which is
// why the public key and the chain head should also be kept off the box
// (docs/audit.md).
package audit

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// Kind says what a record records.
type Kind string

// The kinds of record. A new kind is added here, never reused for
// something else: exported trails are read years later.
const (
	KindStart          Kind = "start"           // the service started (Who: version)
	KindStop           Kind = "stop"            // the service stopped cleanly
	KindPolicyLoaded   Kind = "policy_loaded"   // File, SHA256 (what is in force now)
	KindPolicyRejected Kind = "policy_rejected" // File, SHA256 if readable, Detail: why
	KindConfigLoaded   Kind = "config_loaded"   // File, SHA256
	KindConfigRejected Kind = "config_rejected" // File, SHA256 if readable, Detail: why
	KindCameraState    Kind = "camera_state"    // Camera, State
	KindEventPublished Kind = "event_published" // EventID, EventType, Phase, Camera
	KindEventWithheld  Kind = "event_withheld"  // EventID, EventType, Phase, Camera, Reason
	KindImage          Kind = "image"           // Camera, EventID (snapshot) or Session (live view), Who
	KindCommand        Kind = "command"         // Who, What, Result; Camera, EventID, EventType, Detail (a review's note) as they apply (docs/oversight.md)
	KindPrune          Kind = "prune"           // Segments deleted, AnchorSeq/AnchorPrev: the chain's new start
	KindBrokenTail     Kind = "broken_tail"     // at open: Segment, Line, SHA256 of the bad bytes, Detail
	KindKeyPublished   Kind = "key_published"   // the public key was published off the box (SHA256: its fingerprint)
)

// Record is what a caller appends. Only the fields of its kind are set;
// events carry their id, type, phase, camera and the reason they were
// withheld, never more than the event itself.
type Record struct {
	Kind      Kind   `json:"kind"`
	Camera    string `json:"camera,omitempty"`
	EventID   string `json:"event_id,omitempty"`
	EventType string `json:"event_type,omitempty"`
	Phase     string `json:"phase,omitempty"`
	Reason    string `json:"reason,omitempty"`
	State     string `json:"state,omitempty"`
	File      string `json:"file,omitempty"`
	SHA256    string `json:"sha256,omitempty"`
	Session   string `json:"session,omitempty"`
	Who       string `json:"who,omitempty"`
	What      string `json:"what,omitempty"`
	Result    string `json:"result,omitempty"`
	Detail    string `json:"detail,omitempty"`
	// Segment and Line name a place in the trail (KindBrokenTail).
	Segment string `json:"segment,omitempty"`
	Line    int    `json:"line,omitempty"`
	// Segments are the segments a prune deleted; AnchorSeq and AnchorPrev
	// are the seq and prev of the first record left, which Verify then
	// accepts as the start of the chain.
	Segments   []string `json:"segments,omitempty"`
	AnchorSeq  uint64   `json:"anchor_seq,omitempty"`
	AnchorPrev string   `json:"anchor_prev,omitempty"`
}

// Entry is one line of the trail: a Record with its place in the chain.
// The JSON keys come in this order, so a line re-encodes to exactly its
// bytes (ParseLine insists on that: the signature covers those bytes).
type Entry struct {
	Seq  uint64    `json:"seq"`
	Time time.Time `json:"time"`
	Record
	// Prev is the SHA-256 (hex) of the previous line, "" for the first
	// record of a new trail.
	Prev string `json:"prev"`
	// Sig is the Ed25519 signature (standard base64) of the line without
	// its ,"sig":"..." part.
	Sig string `json:"sig,omitempty"`
}

// body is the entry's line without the signature: what is signed.
func (e Entry) body() ([]byte, error) {
	e.Sig = ""
	return json.Marshal(e)
}

// sign returns the full line (without the newline).
func (e Entry) sign(key ed25519.PrivateKey) ([]byte, error) {
	body, err := e.body()
	if err != nil {
		return nil, err
	}
	return withSig(body, base64.StdEncoding.EncodeToString(ed25519.Sign(key, body))), nil
}

func withSig(body []byte, sig string) []byte {
	out := make([]byte, 0, len(body)+len(sig)+10)
	out = append(out, body[:len(body)-1]...)
	out = append(out, `,"sig":"`...)
	out = append(out, sig...)
	return append(out, `"}`...)
}

// lineHash is what the next record's prev carries.
func lineHash(line []byte) string {
	h := sha256.Sum256(line)
	return hex.EncodeToString(h[:])
}

// ParseLine parses one line of a segment (without its newline). The line
// must be exactly the encoding of its entry: keys in order, no spaces, no
// unknown or repeated keys, time in UTC; otherwise the signed bytes would
// not be the bytes read. It does not check the signature (see Check).
func ParseLine(line []byte) (Entry, error) {
	var e Entry
	dec := json.NewDecoder(bytes.NewReader(line))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&e); err != nil {
		return Entry{}, fmt.Errorf("not a record: %w", err)
	}
	if dec.More() {
		return Entry{}, errors.New("not a record: data after the JSON object")
	}
	if e.Sig == "" {
		return Entry{}, errors.New("not signed (no sig)")
	}
	if e.Kind == "" {
		return Entry{}, errors.New("no kind")
	}
	if e.Seq == 0 {
		return Entry{}, errors.New("seq 0 (records count from 1)")
	}
	if e.Prev != "" {
		if b, err := hex.DecodeString(e.Prev); err != nil || len(b) != sha256.Size {
			return Entry{}, errors.New("prev is not a SHA-256 in hex")
		}
	}
	body, err := e.body()
	if err != nil {
		return Entry{}, fmt.Errorf("not a record: %w", err)
	}
	if !bytes.Equal(withSig(body, e.Sig), line) {
		return Entry{}, errors.New("not in canonical form (changed, reordered or repeated keys, spaces, or a time not in UTC)")
	}
	return e, nil
}

// Check verifies the entry's signature with pub.
func (e Entry) Check(pub ed25519.PublicKey) error {
	sig, err := base64.StdEncoding.DecodeString(e.Sig)
	if err != nil || len(sig) != ed25519.SignatureSize {
		return errors.New("sig is not an Ed25519 signature in base64")
	}
	body, err := e.body()
	if err != nil {
		return err
	}
	if !ed25519.Verify(pub, body, sig) {
		return errors.New("signature does not verify with the device's public key")
	}
	return nil
}
