package outbox

import (
	"encoding/binary"
	"errors"
	"hash/crc32"
)

// On-disk format of one segment file:
//
//	header  8 bytes  "EGOBOX1\n"
//	record* 8-byte frame + body
//
//	frame   u32 LE  body length
//	        u32 LE  CRC-32C (Castagnoli) of the body
//	body    u8      kind (kindEvent, kindDone)
//	        u64 LE  seq: the event's sequence number; for kindDone the seq
//	                of the event that is done
//	        i64 LE  unix nanoseconds when the record was written
//	        ...     payload: the event's JSON (kindEvent) or one reason
//	                byte (kindDone)
//
// The CRC covers the whole body, so a torn write (frame written, body not,
// or a zero-filled tail after a power cut) is told apart from a complete
// record: scanning stops at the first record that is short or fails the
// check, and the file is truncated there.

const (
	segmentMagic = "EGOBOX1\n"
	frameLen     = 8
	bodyMin      = 1 + 8 + 8
	// maxBody bounds one record, so a corrupt length never makes the reader
	// allocate much. Events are a few hundred bytes.
	maxBody = 1 << 20
)

type recordKind uint8

const (
	kindEvent recordKind = 1
	kindDone  recordKind = 2
)

// doneReason says why an event left the outbox, kept in its done record.
type doneReason uint8

const (
	reasonAcked      doneReason = 1 // broker acknowledged (PUBACK)
	reasonSuppressed doneReason = 2 // the policy does not allow it
	reasonAge        doneReason = 3 // older than the retention
	reasonSize       doneReason = 4 // dropped to stay within MaxBytes
	reasonCorrupt    doneReason = 5 // intact record that is no event
)

var crcTable = crc32.MakeTable(crc32.Castagnoli)

type record struct {
	kind    recordKind
	seq     uint64
	at      int64 // unix ns
	payload []byte
}

// Errors of decodeRecord. errShort means the bytes end inside the record,
// which at the end of a file is a torn write.
var (
	errShort   = errors.New("outbox: record incomplete")
	errCorrupt = errors.New("outbox: record corrupt")
)

func recordSize(payload int) int { return frameLen + bodyMin + payload }

// appendRecord appends r's encoding to dst.
func appendRecord(dst []byte, r record) []byte {
	start := len(dst)
	body := bodyMin + len(r.payload)
	dst = binary.LittleEndian.AppendUint32(dst, uint32(body))
	dst = binary.LittleEndian.AppendUint32(dst, 0) // CRC, below
	dst = append(dst, byte(r.kind))
	dst = binary.LittleEndian.AppendUint64(dst, r.seq)
	dst = binary.LittleEndian.AppendUint64(dst, uint64(r.at))
	dst = append(dst, r.payload...)
	crc := crc32.Checksum(dst[start+frameLen:], crcTable)
	binary.LittleEndian.PutUint32(dst[start+4:], crc)
	return dst
}

// decodeRecord decodes the record at the start of b and returns it with its
// encoded length. The payload aliases b. It never panics on any input: b is
// a file on disk, which a power cut or a bad card can leave in any state.
func decodeRecord(b []byte) (record, int, error) {
	if len(b) < frameLen {
		return record{}, 0, errShort
	}
	n := binary.LittleEndian.Uint32(b)
	if n < bodyMin || n > maxBody {
		return record{}, 0, errCorrupt
	}
	if uint64(len(b)-frameLen) < uint64(n) {
		return record{}, 0, errShort
	}
	body := b[frameLen : frameLen+int(n)]
	if crc32.Checksum(body, crcTable) != binary.LittleEndian.Uint32(b[4:]) {
		return record{}, 0, errCorrupt
	}
	r := record{
		kind:    recordKind(body[0]),
		seq:     binary.LittleEndian.Uint64(body[1:]),
		at:      int64(binary.LittleEndian.Uint64(body[9:])),
		payload: body[bodyMin:],
	}
	switch {
	case r.kind == kindEvent && len(r.payload) > 0:
	case r.kind == kindDone && len(r.payload) == 1:
	default:
		return record{}, 0, errCorrupt
	}
	return r, frameLen + int(n), nil
}

// scanSegment decodes the records of one segment file's content and returns
// them with the length of the valid prefix; err says why scanning stopped
// early (nil if the whole content is valid). A bad header gives valid 0.
func scanSegment(b []byte) (recs []record, valid int, err error) {
	if len(b) < len(segmentMagic) {
		return nil, 0, errShort
	}
	if string(b[:len(segmentMagic)]) != segmentMagic {
		return nil, 0, errCorrupt
	}
	off := len(segmentMagic)
	for off < len(b) {
		r, n, err := decodeRecord(b[off:])
		if err != nil {
			return recs, off, err
		}
		recs = append(recs, r)
		off += n
	}
	return recs, off, nil
}
