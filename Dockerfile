# One image for every Neurall process: api (`neurall serve`), worker (`neurall worker`) and
# gpu (`neurall gpu`, Triton via PyTriton). docker-compose.yml picks the command.
# GPU hosts install the CUDA build of the same torch version (TORCH_INDEX below).

# The playground web app, built with Node 18 (Debian 12's own version, the oldest it must
# build on) from the committed lock file. Only the built files reach the final image.
FROM node:18-bookworm-slim AS playground
ENV PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1
WORKDIR /src/playground
COPY playground/package.json playground/package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY docs/api-contract.graphql /src/docs/api-contract.graphql
COPY playground ./
RUN npm run build

FROM python:3.11-slim-bookworm

ARG TORCH_INDEX=https://download.pytorch.org/whl/cpu
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    NEURALL_DATA_DIR=/data

RUN apt-get update \
    && apt-get install -y --no-install-recommends curl libgomp1 \
    && rm -rf /var/lib/apt/lists/*

WORKDIR /app
COPY pyproject.toml README.md ./
COPY neurall ./neurall
COPY --from=playground /src/neurall/web/playground_dist ./neurall/web/playground_dist
RUN pip install --no-cache-dir --index-url "$TORCH_INDEX" --extra-index-url https://pypi.org/simple \
        "torch==2.13.0" \
    && pip install --no-cache-dir .

RUN useradd --create-home --uid 1000 neurall && mkdir -p /data && chown neurall /data
USER neurall
VOLUME ["/data"]
EXPOSE 8000
CMD ["neurall", "serve", "--host", "0.0.0.0", "--port", "8000"]
