# Roster as a container: the single binary on a small base image, as a non-root
# user, data in a volume. Build: docker build -t roster .
# Run:   docker run -d -p 3000:3000 -v roster-data:/data roster

# 1. Build the binary with the Bun version the project pins (package.json).
FROM oven/bun:1.4.5 AS build
WORKDIR /src
COPY package.json bun.lock ./
RUN bun install --frozen-lockfile
COPY . .
RUN bun run build \
 && mkdir -p /out/data \
 && cp dist/roster /out/roster

# 2. Run it. The binary needs only glibc; distroless "base" adds CA certificates
# and tzdata, and has no shell or package manager. "nonroot" is uid 65532.
FROM gcr.io/distroless/base-debian12:nonroot
COPY --from=build /out/roster /usr/local/bin/roster
# The volume's mount point must belong to the runtime user: a new named volume
# takes this ownership.
COPY --from=build --chown=65532:65532 /out/data /data
ENV HOST=0.0.0.0 \
    PORT=3000 \
    DATA_DIR=/data
USER 65532:65532
VOLUME ["/data"]
EXPOSE 3000
# No curl in the image: the binary checks its own /health.
HEALTHCHECK --interval=30s --timeout=5s --start-period=5s --retries=3 \
  CMD ["/usr/local/bin/roster", "healthcheck"]
# SIGTERM starts the graceful shutdown (drain, checkpoint, close).
STOPSIGNAL SIGTERM
ENTRYPOINT ["/usr/local/bin/roster"]
CMD ["serve"]
