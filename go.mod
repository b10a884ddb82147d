module github.com/edgeguard/edgeguard

// Go 1.25 (sync.WaitGroup.Go, testing.B.Loop; gortsplib v4.16.2 needs 1.23). Any Go
// >= 1.21 fetches this toolchain through the module proxy when it is older.
go 1.25.0

require (
	// Exactly v4.16.2: v4.16.3 is an empty stub pointing to v5. Never `go get` it @latest.
	github.com/bluenviron/gortsplib/v4 v4.16.2
	github.com/bluenviron/mediacommon/v2 v2.4.1
	// Tests only: drives headless Chromium for the web console's browser test.
	github.com/chromedp/chromedp v0.23.1
	github.com/eclipse/paho.mqtt.golang v1.5.1
	github.com/google/uuid v1.6.0
	github.com/mochi-mqtt/server/v2 v2.7.9
	github.com/pion/rtp v1.8.21
	// v1.24.1: the newest whose go.mod asks for no newer Go than this module
	// (v1.25 needs Go 1.26).
	github.com/prometheus/client_golang v1.24.1
	github.com/prometheus/client_model v0.6.2
	github.com/prometheus/common v0.70.1
	// v0.31.0 is the last gocv that compiles against OpenCV 4.6, which Debian 12,
	// Ubuntu 24.04 and Raspberry Pi OS ship (libopencv-dev). Do not upgrade.
	gocv.io/x/gocv v0.31.0
	// v0.55.0 / v0.45.0: the newest whose go.mod asks for no newer Go than
	// this module (x/crypto v0.56.0 needs Go 1.26). The console's password
	// hashes (bcrypt, argon2id) and reading a password without echo.
	golang.org/x/crypto v0.55.0
	golang.org/x/term v0.45.0
	gopkg.in/yaml.v3 v3.0.1
)

require (
	github.com/beorn7/perks v1.0.1 // indirect
	github.com/cespare/xxhash/v2 v2.3.0 // indirect
	github.com/chromedp/cdproto v0.160.1 // indirect
	github.com/go-json-experiment/json v0.0.0-20260213210345-44df1a37e875 // indirect
	github.com/gorilla/websocket v1.5.3 // indirect
	github.com/munnerz/goautoneg v0.0.0-20191010083416-a7dc8b61c822 // indirect
	github.com/pion/logging v0.2.3 // indirect
	github.com/pion/randutil v0.1.0 // indirect
	github.com/pion/rtcp v1.2.15 // indirect
	github.com/pion/sdp/v3 v3.0.15 // indirect
	github.com/pion/srtp/v3 v3.0.6 // indirect
	github.com/pion/transport/v3 v3.0.7 // indirect
	github.com/prometheus/procfs v0.21.1 // indirect
	github.com/rs/xid v1.4.0 // indirect
	golang.org/x/net v0.57.0 // indirect
	golang.org/x/sync v0.21.0 // indirect
	golang.org/x/sys v0.47.0 // indirect
	google.golang.org/protobuf v1.36.11 // indirect
)
