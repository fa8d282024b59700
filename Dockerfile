# The local vault in a container: docker build -t keyvault-emulator .
#
# Configured with KEYVAULT_EMULATOR_* variables (every flag has one; a flag after the image name
# wins). The defaults below listen on all interfaces of the container (--host 0.0.0.0), serve
# HTTPS with a generated CA, and keep the state and the CA in the volume /data. See the README,
# "Containers", and docker-compose.yml.

# ---- build: compile the package (dev dependencies stay in this stage) -------------------------
FROM node:22-alpine AS build
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund --ignore-scripts
COPY tsconfig.json tsconfig.build.json tsconfig.cjs.json ./
COPY scripts/build.mjs scripts/bundle.mjs scripts/
COPY src src
RUN node scripts/build.mjs && npm prune --omit=dev --no-audit --no-fund --ignore-scripts

# ---- run: Node, the runtime dependencies and the compiled ES modules, as a non-root user -------
FROM node:22-alpine
ENV NODE_ENV=production \
    KEYVAULT_EMULATOR_HOST=0.0.0.0 \
    KEYVAULT_EMULATOR_PORT=8443 \
    KEYVAULT_EMULATOR_HTTPS=true \
    KEYVAULT_EMULATOR_LOCATION=/data
WORKDIR /app
COPY --from=build /src/package.json ./
COPY --from=build /src/node_modules ./node_modules
COPY --from=build /src/dist/esm ./dist/esm
# The state directory belongs to the vault's user and nobody else (the vault checks it is 0700).
RUN mkdir -p /data && chown node:node /data && chmod 700 /data
USER node
VOLUME ["/data"]
EXPOSE 8443
# Asks GET /healthz of the vault these same variables describe; exit 0 once it answers 200.
HEALTHCHECK --interval=5s --timeout=5s --start-period=10s --retries=3 \
  CMD ["node", "/app/dist/esm/emulator/bin.js", "healthcheck"]
ENTRYPOINT ["node", "/app/dist/esm/emulator/bin.js"]
