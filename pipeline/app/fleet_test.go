package app

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/edgeguard/edgeguard/internal/mosquittotest"
	"github.com/edgeguard/edgeguard/pipeline/event"
	"github.com/edgeguard/edgeguard/pipeline/internal/video/codec"
	"github.com/edgeguard/edgeguard/pipeline/tools/scene"
	"github.com/edgeguard/edgeguard/policy"
)

// TestFleetOnOneBroker runs what docs/deployment.md promises for a fleet:
// several boxes, each with its own device id, on one shared broker. Each
// publishes its status and its retained policy audit under its own device
// topic; a control room that subscribes later verifies every box's policy
// from the retained messages alone; consumers in a shared subscription
// group get each message once between them.
func TestFleetOnOneBroker(t *testing.T) {
	if testing.Short() {
		t.Skip("runs two services against a real Mosquitto")
	}
	mq := mosquittotest.Start(t)
	// Two control-room consumers sharing the load.
	room := sharedGroup(t, mq.URL(), "edgeguard/+/+/status")
	live := mosquittotest.Subscribe(t, mq.URL(), "edgeguard/#")

	boxes := []string{"box-a", "box-b"}
	stop := runFleet(t, boxes, func(string) string { return mq.URL() }, scene.Static(320, 180, 25), 2)
	defer stop()

	// Each box: online, its camera streaming, its policy audit, all under
	// its own device id.
	want := func(dev string) []string {
		return []string{"edgeguard/" + dev + "/status", "edgeguard/" + dev + "/cam1/status", "edgeguard/" + dev + "/policy"}
	}
	live.WaitFor(t, func(m []mosquittotest.Message) bool {
		for _, dev := range boxes {
			for _, topic := range want(dev) {
				if !slices.ContainsFunc(m, func(x mosquittotest.Message) bool {
					return x.Topic == topic && (!strings.HasSuffix(topic, "cam1/status") || strings.Contains(string(x.Payload), `"streaming"`))
				}) {
					return false
				}
			}
		}
		return true
	}, 60*time.Second)

	// The control room joins later and verifies the fleet from retained
	// messages only.
	approved := policy.Default()
	audit := mosquittotest.Subscribe(t, mq.URL(), "edgeguard/+/policy")
	msgs := audit.WaitFor(t, func(m []mosquittotest.Message) bool { return len(m) >= len(boxes) }, 10*time.Second)
	seen := map[string]bool{}
	for _, m := range msgs {
		var a struct {
			Name   string `json:"name"`
			SHA256 string `json:"sha256"`
		}
		if err := json.Unmarshal(m.Payload, &a); err != nil || !m.Retained {
			t.Errorf("%s: retained=%v %s (%v)", m.Topic, m.Retained, m.Payload, err)
			continue
		}
		dev := strings.Split(m.Topic, "/")[1]
		seen[dev] = true
		if a.SHA256 != approved.SHA256 || a.Name != approved.Name {
			t.Errorf("%s runs %s %s, approved is %s %s", dev, a.Name, a.SHA256, approved.Name, approved.SHA256)
		}
	}
	if len(seen) != len(boxes) {
		t.Errorf("audit from %v, want every box of %v", seen, boxes)
	}

	// Device status is retained too: a late subscriber sees both online.
	status := mosquittotest.Subscribe(t, mq.URL(), "edgeguard/+/status")
	status.WaitFor(t, func(m []mosquittotest.Message) bool {
		n := 0
		for _, x := range m {
			if x.Retained && string(x.Payload) == event.DeviceOnline {
				n++
			}
		}
		return n == len(boxes)
	}, 10*time.Second)

	// Shut both boxes down: each says offline on its own topic, and every
	// camera status went to exactly one member of the shared group.
	stop()
	waitOffline(t, live, boxes, 10*time.Second)
	published := map[string]int{}
	for _, m := range live.Messages() {
		if strings.HasSuffix(m.Topic, "/cam1/status") && !m.Retained {
			published[m.Topic+" "+string(m.Payload)]++
		}
	}
	wantShared := 0
	for _, n := range published {
		wantShared += n
	}
	waitShared(room, wantShared)
	got := map[string]int{}
	for i, sub := range room {
		for _, m := range sub.Messages() {
			if !strings.HasSuffix(m.Topic, "/cam1/status") {
				t.Errorf("shared member %d got %s", i, m.Topic)
			}
			got[m.Topic+" "+string(m.Payload)]++
		}
	}
	if fmt.Sprint(got) != fmt.Sprint(published) {
		t.Errorf("shared group received (message → times):\n%v\nwant each published status once:\n%v", got, published)
	}
	if t.Failed() {
		t.Log(mosquittotest.Dump(live.Messages()))
	}
}

// TestFleetThroughBridges runs the bridged topology of docs/deployment.md:
// each box publishes to its own box-local Mosquitto, which bridges only the
// box's subtree ("topic edgeguard/<device>/# out 1") to a central broker.
// At the centre, control-room consumers in one shared-subscription group
// split the events of both boxes, each event reaching exactly one of them,
// and a late subscriber still verifies both policies from the retained
// audit the bridges forwarded.
func TestFleetThroughBridges(t *testing.T) {
	if testing.Short() {
		t.Skip("runs two services and three Mosquittos")
	}
	central := mosquittotest.Start(t)
	room := sharedGroup(t, central.URL(), "edgeguard/+/+/events")
	all := mosquittotest.Subscribe(t, central.URL(), "edgeguard/#")

	// A figure crosses each camera between 2.5 s and 5.5 s of a 7 s loop.
	walker := scene.Walker(320, 180, 25)
	walker.Objects[0].Appear, walker.Objects[0].Disappear = 2500*time.Millisecond, 5500*time.Millisecond

	boxes := []string{"box-a", "box-b"}
	// Each box publishes to a Mosquitto of its own that bridges its subtree.
	stop := runFleet(t, boxes, func(dev string) string {
		return mosquittotest.StartWith(t, mosquittotest.Options{ExtraConfig: fmt.Sprintf(
			"connection city\naddress %s\nremote_clientid edgeguard-bridge-%s\ncleansession false\n"+
				"restart_timeout 1 5\ntopic edgeguard/%s/# out 1\n", central.Addr(), dev, dev)}).URL()
	}, walker, 7)
	defer stop()

	// Wait until the centre has a start event from each box.
	all.WaitFor(t, func(m []mosquittotest.Message) bool {
		for _, dev := range boxes {
			if !slices.ContainsFunc(events(m, "cam1"), func(ev event.Event) bool {
				return ev.Device == dev && ev.Phase == event.PhaseStart
			}) {
				return false
			}
		}
		return true
	}, 60*time.Second)

	// A control room joining now gets both boxes' policy audits, retained
	// across the bridges.
	approved := policy.Default()
	audit := mosquittotest.Subscribe(t, central.URL(), "edgeguard/+/policy")
	for _, m := range audit.WaitFor(t, func(m []mosquittotest.Message) bool { return len(m) >= len(boxes) }, 10*time.Second) {
		var a struct {
			SHA256 string `json:"sha256"`
		}
		if err := json.Unmarshal(m.Payload, &a); err != nil || !m.Retained || a.SHA256 != approved.SHA256 {
			t.Errorf("%s: retained=%v %s, approved sha256 %s", m.Topic, m.Retained, m.Payload, approved.SHA256)
		}
	}

	// Stop the boxes (open situations end), then every event that reached
	// the centre went to exactly one member of the group.
	stop()
	waitOffline(t, all, boxes, 20*time.Second)
	want := map[string]int{}
	devices := map[string]bool{}
	for _, ev := range events(all.Messages(), "cam1") {
		want[ev.ID]++
		devices[ev.Device] = true
	}
	waitShared(room, len(want))
	got := map[string]int{}
	for _, sub := range room {
		for _, ev := range events(sub.Messages(), "cam1") {
			got[ev.ID]++
		}
	}
	if len(devices) != len(boxes) || fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("events from %v; shared group received (id → times) %v, want each of %v once", devices, got, want)
	}
	if t.Failed() {
		t.Log(mosquittotest.Dump(all.Messages()))
	}
}

// sharedGroup is two control-room consumers sharing the load of filter
// ($share needs no broker configuration in Mosquitto 2).
func sharedGroup(t *testing.T, url, filter string) []*mosquittotest.Subscription {
	const group = "$share/control-room/"
	return []*mosquittotest.Subscription{
		mosquittotest.Subscribe(t, url, group+filter),
		mosquittotest.Subscribe(t, url, group+filter),
	}
}

// runFleet runs a service per device, each with a camera cam1 showing sc
// (a clip of clip seconds) and publishing to the broker brokerFor(device)
// returns, until stop, which waits for them (and may be called again).
func runFleet(t *testing.T, devices []string, brokerFor func(device string) string, sc scene.Config, clip int) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, len(devices))
	for _, dev := range devices {
		broker := brokerFor(dev)
		cam := startCamera(t, codec.H264, sc, clip)
		cfg := testConfig(t, broker, map[string]string{"cam1": cam.URL()})
		cfg.Device = dev              // client id follows: edgeguard-<device>
		cfg.HTTP.Addr = "127.0.0.1:0" // several boxes on one host: no fixed metrics port
		go func() { done <- Run(ctx, Options{Config: cfg, Logger: testLogger(t), PolicyPollInterval: -1}) }()
	}
	stopped := false
	return func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		for range devices {
			if err := <-done; err != nil {
				t.Errorf("Run: %v", err)
			}
		}
	}
}

// waitOffline waits until sub has the last status "offline" of every
// device.
func waitOffline(t *testing.T, sub *mosquittotest.Subscription, devices []string, timeout time.Duration) {
	t.Helper()
	sub.WaitFor(t, func(m []mosquittotest.Message) bool {
		for _, dev := range devices {
			if p, ok := lastPayload(m, "edgeguard/"+dev+"/status"); !ok || p != event.DeviceOffline {
				return false
			}
		}
		return true
	}, timeout)
}

// waitShared polls until the members of room together have n messages:
// they are separate clients (the deadline only guards a hang).
func waitShared(room []*mosquittotest.Subscription, n int) {
	for deadline := time.Now().Add(10 * time.Second); len(room[0].Messages())+len(room[1].Messages()) < n && time.Now().Before(deadline); {
		time.Sleep(20 * time.Millisecond)
	}
}
