# AgentWatch service image: Node 20, TypeScript run through tsx (no build step).
FROM node:20-bookworm-slim
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund && npm install --no-save tsx@4
COPY schemas ./schemas
COPY detectors ./detectors
COPY src ./src
COPY bin ./bin
ENV NODE_ENV=production
EXPOSE 8080
ENTRYPOINT ["node", "--import", "tsx", "src/cli/main.ts"]
CMD ["serve"]
