# syntax=docker/dockerfile:1
# One image for every service; the command picks which one runs:
#   docker run hookstream:0.1.0 node services/audit/dist/main.js
# Stages: manifests (package files only, so dependency layers stay cached while
# sources change) → build (dev dependencies, `npm run build`) → runtime
# (production dependencies and the built dist/ folders, nothing else).
ARG NODE_IMAGE=node:20.20.2-bookworm-slim

FROM ${NODE_IMAGE} AS base
WORKDIR /app
ENV TURBO_TELEMETRY_DISABLED=1 \
    NPM_CONFIG_UPDATE_NOTIFIER=false
# the lockfile is written by the npm of package.json's packageManager
RUN npm install -g npm@11.19.1 && npm cache clean --force

# Every package.json of the workspace tree, the lockfile and .npmrc: the only input
# of the `npm ci` layers below, so a source change does not reinstall dependencies.
FROM base AS manifests
COPY . /src
WORKDIR /src
RUN mkdir /manifests \
 && find . -name package.json -not -path "*/node_modules/*" -exec cp --parents {} /manifests/ \; \
 && cp package-lock.json .npmrc /manifests/

FROM base AS build
COPY --from=manifests /manifests/ ./
RUN npm ci
COPY . .
# dist/ of every workspace (the console's built UI, packages/console/dist/ui, included) and the
# CLI's bin/ (the provisioning Job runs `node packages/cli/bin/hookstream.js provision`), gathered in /out
RUN npm run build \
 && mkdir /out \
 && for d in packages/*/dist packages/*/bin services/*/dist; do mkdir -p "/out/$d" && cp -R "$d/." "/out/$d/"; done

FROM base AS runtime
# tini as PID 1: forwards SIGTERM to node (graceful shutdown) and reaps children
RUN apt-get update \
 && apt-get install -y --no-install-recommends tini=0.19.0-1+b3 \
 && rm -rf /var/lib/apt/lists/*
# Node's defaults (tuned for load); two malloc arenas save idle memory at no measured
# cost. For many mostly idle copies, NODE_OPTIONS="--max-semi-space-size=1 --single-threaded"
# keeps each under 90 MiB RSS at a cost under load (BENCHMARKS.md, "Footprint").
# Add --enable-source-maps to NODE_OPTIONS to map stack traces to the sources.
ENV NODE_ENV=production \
    MALLOC_ARENA_MAX=2 \
    HEALTHCHECK_PORT=3000
COPY --from=manifests /manifests/ ./
RUN npm ci --omit=dev \
 && npm cache clean --force
COPY --from=build /out/ ./
# the `node` user of the official image (uid 1000); the files stay root-owned and read-only to it
USER node
# >>> generated: ports (npm run generate, from the catalog; edit the catalog, not these lines)
EXPOSE 3000 3001 3006 3002 3003 3004 3005 3007
# <<< generated: ports
# set HEALTHCHECK_PORT to the service's port (compose and Kubernetes define their own probes)
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch(`http://127.0.0.1:${process.env.HEALTHCHECK_PORT}/healthz`).then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
ENTRYPOINT ["/usr/bin/tini", "--"]
CMD ["node", "services/gateway/dist/main.js"]
