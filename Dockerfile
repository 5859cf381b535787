# syntax=docker/dockerfile:1
# Deputy's production image: `docker build -t deputy .` at the repository root.
# Two stages: the build compiles TypeScript (dev dependencies); the runtime holds production
# dependencies, the compiled dist/ and the connector catalog, and runs as the unprivileged `node`.

ARG NODE_IMAGE=node:24.22.3-bookworm-slim

FROM ${NODE_IMAGE} AS build
WORKDIR /app
COPY package.json package-lock.json ./
# Install scripts are not needed to compile (and would fetch DynamoDB Local for the test suite).
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json connectors.yml ./
COPY scripts/copy-build-assets.mjs ./scripts/
COPY src ./src
# dist/src/main.js, with the workspace page's assets and the connector catalog beside it.
RUN npm run build

FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production
WORKDIR /app
COPY package.json package-lock.json ./
# Native modules (classic-level, under dynalite) ship prebuilt binaries, so no install script runs.
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund && npm cache clean --force
COPY --from=build /app/dist ./dist
# Without credentials the app refuses to start here (NODE_ENV=production), rather than run its sandbox.
ENV PORT=3000
USER node
EXPOSE 3000
# ECS uses the task definition's health check; this one serves `docker run` and other runtimes.
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:3000/healthz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
# SIGTERM goes straight to node (PID 1), which stops taking requests, drains and releases leases.
CMD ["node", "dist/src/main.js"]
