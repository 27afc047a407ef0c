# One image for every service: the command picks which one runs.
FROM node:20-slim
WORKDIR /app
ENV NODE_ENV=production TURBO_TELEMETRY_DISABLED=1
COPY package.json package-lock.json .npmrc ./
COPY packages/ packages/
COPY services/ services/
RUN npm ci --no-audit --no-fund
COPY tsconfig.base.json tsconfig.json ./
USER node
# e.g. `node --import tsx services/gateway/src/main.ts`
CMD ["node", "--import", "tsx", "services/gateway/src/main.ts"]
