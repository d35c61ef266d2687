# syntax=docker/dockerfile:1
# Multi-stage build: compile q2api (console, /docs assets and migrations inside) into one executable,
# then run it as a non-root user on a small glibc base with /data as the volume for the SQLite
# database, master.key and admin.key.
#
#   docker build -t q2api .
#   docker run -p 8000:8000 -v q2api-data:/data -e ADMIN_KEY=… -e MASTER_KEY=… q2api

FROM oven/bun:1.4.5 AS build
WORKDIR /src
# swagger-ui-dist's postinstall would phone home (Scarf) otherwise.
ENV SCARF_ANALYTICS=false
# Only what the build reads: no node_modules, dist or data/ from the host (data/ holds secrets).
COPY package.json bun.lock bunfig.toml tsconfig.json ./
# Runtime dependencies are all the compiler needs; the dev tools (tests, SDKs, browsers) stay out.
RUN bun install --frozen-lockfile --production
COPY src ./src
COPY console ./console
RUN bun run build
# The data directory, owned by the runtime user: a fresh named volume copies this ownership, so the
# non-root process can write to /data (distroless has no shell to mkdir/chown later).
RUN mkdir -p /out/data && chown 65532:65532 /out/data

FROM gcr.io/distroless/base-debian12:nonroot
# glibc is all the binary needs (ldd: libc, libpthread, libdl, libm).
COPY --from=build /src/dist/q2api /usr/local/bin/q2api
COPY --from=build --chown=65532:65532 /out/data /data
ENV HOST=0.0.0.0 PORT=8000 DATA_DIR=/data
# .env is read from the working directory: one can live in the volume next to the database.
WORKDIR /data
VOLUME /data
EXPOSE 8000
USER nonroot
ENTRYPOINT ["/usr/local/bin/q2api"]
CMD ["serve"]
