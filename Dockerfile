# The HTTP service (npm run serve) as a container image: docs/deploy.md.
# Its commands are the ones CI runs in test/server/production-install.test.ts:
# `npm ci --omit=dev` in a copy holding what this image copies, then the server started as below.

# Stage 1: run-time dependencies only
FROM node:26.12.1-bookworm-slim AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund

# Stage 2: the service, as an unprivileged user
FROM node:26.12.1-bookworm-slim
ENV NODE_ENV=production
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
COPY package.json ./
COPY server ./server
COPY src ./src
COPY public/models ./public/models
USER node
EXPOSE 5000
HEALTHCHECK --interval=10s --timeout=3s --start-period=60s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:5000/health').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
# node is PID 1 (exec form): SIGTERM from `docker stop` reaches it and drains the requests in flight
CMD ["node", "--import", "tsx", "server/cli.ts", "--host", "0.0.0.0", "--port", "5000"]
