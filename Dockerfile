# syntax=docker/dockerfile:1
#
# One image for every process of the issuer; the command picks the role:
#   docker run IMAGE gateway | worker | grpc | migrate | dev
# TypeScript runs through tsx (a runtime dependency) loaded into node, as in package.json's
# scripts and bin/issuer, so there is no build step.

# ---- dependencies -----------------------------------------------------------
FROM node:20-bookworm-slim AS deps
WORKDIR /app
COPY package.json package-lock.json ./
# Not `npm ci`: it rejects a lock file that lists per-platform optional packages
# (@swc/core-*, cbor-extract) some registries do not serve in full. `npm install`
# with the committed lock file installs the locked versions and the Linux
# binaries (CONTRIBUTING.md).
RUN npm install --no-audit --no-fund --omit=dev \
 && npm cache clean --force

# ---- runtime ----------------------------------------------------------------
FROM node:20-bookworm-slim AS runtime
ENV NODE_ENV=production
WORKDIR /app

# Dependencies and sources stay owned by root: the process cannot rewrite its own code.
COPY --from=deps /app/node_modules ./node_modules
COPY package.json package-lock.json tsconfig.json ./
COPY src ./src
COPY workflows ./workflows
COPY activities ./activities
COPY proto ./proto
COPY config ./config
COPY metadata ./metadata

# The only writable place (ISSUER_DATA_DIR); compose mounts a named volume here,
# which Docker initialises with this directory's owner.
RUN mkdir -p /app/.data && chown node:node /app/.data

# The unprivileged user that the official Node image ships (uid 1000).
USER node

# Gateway (PORT) and gRPC IssuerService (GRPC_PORT); see src/config/env.ts.
EXPOSE 8080 9090

# node itself is the process (no npm/npx wrapper and no tsx child process), so SIGTERM reaches
# the CLI's own shutdown handler directly; compose adds tini as PID 1 (`init: true`).
ENTRYPOINT ["node", "--import", "tsx", "src/cli.ts"]
CMD ["gateway"]
