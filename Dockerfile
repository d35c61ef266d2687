# syntax=docker/dockerfile:1
# Multi-stage build: compile q2api into one executable, then run it as a non-root user on a
# small glibc base with /data as the volume for SQLite, master.key and admin.key.

FROM oven/bun:1.4.5 AS build
WORKDIR /src
COPY package.json bun.lock ./
RUN bun install --frozen-lockfile
COPY . .
RUN bun run build

FROM gcr.io/distroless/base-debian12:nonroot
COPY --from=build /src/dist/q2api /usr/local/bin/q2api
ENV HOST=0.0.0.0 PORT=8000 DATA_DIR=/data
VOLUME /data
EXPOSE 8000
USER nonroot
ENTRYPOINT ["/usr/local/bin/q2api"]
CMD ["serve"]
