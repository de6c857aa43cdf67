# raydog-operator image: build on Debian bookworm with the packages of scripts/install-deps.sh, run on a slim
# bookworm as a non-root user with only the binary and the shared libraries it links.
# Build: make docker-build   (needs a Docker engine; none runs on the project's CI machines)

FROM debian:bookworm AS build
WORKDIR /src
COPY scripts/install-deps.sh scripts/install-deps.sh
RUN bash scripts/install-deps.sh && rm -rf /var/lib/apt/lists/*
COPY . .
RUN cmake -S . -B build/release -G Ninja -DCMAKE_BUILD_TYPE=Release -DRAYDOG_TESTS=OFF \
      -DRAYDOG_BIN_DIR=/src/build/bin \
 && cmake --build build/release --target raydog-operator \
 && strip build/bin/raydog-operator

FROM debian:bookworm-slim AS runtime
# Runtime libraries of the binary (test/unit/deploy checks this list against `ldd build/bin/raydog-operator`).
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates libssl3 libyaml-cpp0.7 zlib1g libprometheus-cpp-core1.0 libgrpc++1.51 libgrpc29 libprotobuf32 libabsl20220623 libc-ares2 libre2-9 libjemalloc2 \
 && rm -rf /var/lib/apt/lists/*
COPY --from=build /src/build/bin/raydog-operator /usr/local/bin/raydog-operator
USER 65532:65532
EXPOSE 8080 8081
ENTRYPOINT ["/usr/local/bin/raydog-operator"]
