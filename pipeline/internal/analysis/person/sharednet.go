package person

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"sync"

	"gocv.io/x/gocv"
)

// sharedNet is one loaded NanoDet network used by every camera whose
// detector has the same model and input size. OpenCV keeps the weights and
// a buffer per layer output inside the network, tens of MiB for NanoDet at
// 320×256; one network per camera multiplied that by the cameras. Inference
// is serialised by mu: on a small box OpenCV's dnn already spreads one
// forward pass over the cores, so running two at once would not finish
// sooner, and the per-camera rate limit (Config.MaxPerSecond) bounds how
// long a camera waits.
type sharedNet struct {
	key  netKey
	mu   sync.Mutex // one forward pass, and the reading of its output, at a time
	net  gocv.Net
	refs int // guarded by netCache.mu
}

// netKey identifies a network: the model's bytes and the input size (the
// layer buffers OpenCV allocates follow the input shape).
type netKey struct {
	model [sha256.Size]byte
	w, h  int
}

// netCache holds the networks in use; a network is closed when its last
// detector closes.
var netCache = struct {
	mu   sync.Mutex
	nets map[netKey]*sharedNet
}{nets: map[netKey]*sharedNet{}}

// acquireNet returns the network for model at w×h, loading it when no
// detector holds one; release gives it back.
func acquireNet(model []byte, w, h int) (*sharedNet, error) {
	key := netKey{model: sha256.Sum256(model), w: w, h: h}
	netCache.mu.Lock()
	defer netCache.mu.Unlock()
	if sn := netCache.nets[key]; sn != nil {
		sn.refs++
		return sn, nil
	}
	net, err := gocv.ReadNetFromONNXBytes(model)
	if err != nil {
		return nil, fmt.Errorf("person: cannot load the NanoDet model: %w", err)
	}
	if net.Empty() {
		net.Close()
		return nil, errors.New("person: OpenCV built an empty network from the NanoDet model")
	}
	sn := &sharedNet{key: key, net: net, refs: 1}
	netCache.nets[key] = sn
	return sn, nil
}

// release gives the network back; the last holder closes it.
func (sn *sharedNet) release() {
	netCache.mu.Lock()
	defer netCache.mu.Unlock()
	sn.refs--
	if sn.refs > 0 {
		return
	}
	delete(netCache.nets, sn.key)
	sn.net.Close()
}

// loadedNets is how many networks are loaded (tests).
func loadedNets() int {
	netCache.mu.Lock()
	defer netCache.mu.Unlock()
	return len(netCache.nets)
}
