package egress

import (
	mqtt "github.com/eclipse/paho.mqtt.golang"
	"github.com/eclipse/paho.mqtt.golang/packets"
)

// copyStore is paho's ordered memory store (queued events are resent in the
// order they were published) with one change: PUBLISH packets are copied on
// the way in and out.
//
// Why: after a (re)connect paho's resume() takes each stored PUBLISH, sets
// its DUP flag and resends it. A message published just after the connection
// came up is both written by the network goroutine and found by resume, which
// then writes DUP on the very packet being serialised: a data race in paho
// (eclipse-paho/paho.mqtt.golang#703, open for v1.5.x). With copies the two
// goroutines never share a packet; the worst case is the QoS 1 duplicate the
// protocol allows anyway, and consumers de-duplicate on the event id.
type copyStore struct {
	*mqtt.OrderedMemoryStore
}

func newCopyStore() copyStore { return copyStore{mqtt.NewOrderedMemoryStore()} }

func (s copyStore) Put(key string, m packets.ControlPacket) {
	s.OrderedMemoryStore.Put(key, copyPublish(m))
}

func (s copyStore) Get(key string) packets.ControlPacket {
	return copyPublish(s.OrderedMemoryStore.Get(key))
}

// copyPublish copies the header and fields; the payload is shared because
// nothing writes to it after Publish.
func copyPublish(m packets.ControlPacket) packets.ControlPacket {
	p, ok := m.(*packets.PublishPacket)
	if !ok || p == nil {
		return m
	}
	c := *p
	return &c
}
