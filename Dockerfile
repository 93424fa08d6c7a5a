# syntax=docker/dockerfile:1
# The rater service. Build: docker build -t rater .   Run: see compose.yaml.
ARG NODE_VERSION=24

FROM node:${NODE_VERSION}-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
COPY patches ./patches
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build

FROM node:${NODE_VERSION}-bookworm-slim AS runtime
# The old generation is capped at 256 MB and the young generation's semi-spaces at 4 MB
# (docs/benchmarks.md, the rater at the heap cap): without them V8 sizes both by the host and
# lets garbage pile up to several hundred MB. The ENTRYPOINT lets the old generation grow to
# twice what survived a mark-compact before the next (--heap-growing-percent, which
# NODE_OPTIONS does not take): at the cap V8 allows 1.3 times only, which cost the rater a
# mark-compact every few MB and a quarter more CPU per CDR.
ENV NODE_ENV=production \
    NODE_OPTIONS="--max-old-space-size=256 --max-semi-space-size=4" \
    HTTP_HOST=0.0.0.0 \
    HTTP_PORT=8080
WORKDIR /app
COPY package.json package-lock.json ./
COPY patches ./patches
# Production dependencies only; patch-package (a dependency) applies patches/ on install.
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force
COPY --from=build /app/dist ./dist
COPY schemas ./schemas
COPY rates ./rates
USER node
EXPOSE 8080
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
  CMD node -e "fetch('http://127.0.0.1:'+process.env.HTTP_PORT+'/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"
ENTRYPOINT ["node", "--heap-growing-percent=100", "dist/cli.js"]
CMD ["serve"]
