# syntax=docker/dockerfile:1
# The gateway image; the same image runs the core simulator (docker/compose.yaml).
# The steps are the README's: `npm ci` (which builds through `prepare`), then `npm start`.

FROM node:20-bookworm-slim AS build
WORKDIR /app
# The SQLite binding compiles from source when no prebuilt binary can be fetched.
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ \
 && rm -rf /var/lib/apt/lists/*
COPY package.json package-lock.json tsconfig.json ./
COPY src ./src
COPY web ./web
RUN npm ci && npm prune --omit=dev

FROM node:20-bookworm-slim
WORKDIR /app
ENV NODE_ENV=production \
    PORT=2012 \
    SIM_DATA_DIR=/data \
    GATEWAY_DATA_DIR=/data/gateway
COPY --from=build /app/package.json ./
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
# The console page's HTML, style and icon (its scripts are in dist/web).
COPY --from=build /app/web ./web
RUN mkdir -p /data && chown node:node /data
USER node
VOLUME ["/data"]
EXPOSE 2012
HEALTHCHECK --interval=15s --timeout=3s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.PORT || 2012) + '/livez').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
CMD ["npm", "start"]
