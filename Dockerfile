# syntax=docker/dockerfile:1
# The meterstream services: one image, the command chosen at run time
# (`docker run meterstream:local ingestor`; docker-compose.yml sets it per service).
#
#   docker build -t meterstream:local .
#
# Production use needs KAFKA_BROKERS and CLICKHOUSE_URL (the local broker and the embedded
# ClickHouse are for one machine without containers); see README "Configuration".

# Workspace manifests only, so that `npm ci` below is re-run when dependencies change and not
# on every source edit (the COPY of /manifests hits the cache while they are unchanged). The
# patches go with them: `npm ci` applies them to node_modules (patch-package, postinstall).
FROM node:20-bookworm-slim AS manifests
WORKDIR /src
COPY . .
RUN mkdir /manifests \
 && cp package.json package-lock.json /manifests/ \
 && cp -r patches /manifests/ \
 && find packages services cli benchmarks -name package.json -not -path '*/node_modules/*' -exec cp --parents {} /manifests/ \;

FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY --from=manifests /manifests/ ./
RUN npm ci --no-audit --no-fund
COPY . .
RUN npm run build \
 && npm prune --omit=dev --no-audit --no-fund \
 && find . -name '*.tsbuildinfo' -not -path './node_modules/*' -delete

FROM node:20-bookworm-slim AS runtime
ENV NODE_ENV=production \
    METERSTREAM_DATA_DIR=/var/lib/meterstream
WORKDIR /app
# Owned by root and read-only for the service user; only the data directory is writable
# (used by the embedded ClickHouse when CLICKHOUSE_URL is unset).
COPY --from=build /app /app
RUN mkdir -p /var/lib/meterstream && chown node:node /var/lib/meterstream
USER node
EXPOSE 8080
ENTRYPOINT ["node", "bin/meterstream.mjs"]
CMD ["help"]
