# awnet-serve images.
#
#   docker build --target cpu       -t awnet-serve:cpu .        # Node 24 slim, onnxruntime CPU provider
#   docker build --target gpu       -t awnet-serve:gpu .        # CUDA 12 + cuDNN 9, onnxruntime CUDA provider
#   docker build --target gpu-train -t awnet-serve:gpu-train .  # gpu + TensorFlow.js training and the CUDA 11 libraries it needs
#
# (podman: add --format docker, or the HEALTHCHECK is dropped.) Behind a TLS-intercepting
# proxy, give npm the proxy's CA bundle as a build secret:
#   --secret id=npm-ca,src=/etc/ssl/certs/ca-certificates.crt
#
# The serving images (cpu, gpu) run as an unprivileged user and hold only what serving
# needs: the server's production dependencies for Linux x64, no TensorFlow.js, no
# training checkpoints. They carry the shipped ONNX models (their metadata is inside them)
# under /app/models; mount other ONNX files anywhere and point AWNET_MODELS at them.
# docs/deploy.md explains the choices.

ARG NODE_IMAGE=node:24.22.3-bookworm-slim
ARG CUDA_IMAGE=nvidia/cuda:12.9.1-cudnn-runtime-ubuntu22.04
ARG NPM_VERSION=11.19.1

# The Node.js runtime, copied into the CUDA image below so both images run the same Node.
FROM ${NODE_IMAGE} AS node

# ---------------------------------------------------------------------------------------
# build: compile the TypeScript. Install scripts are not needed to type-check and emit,
# so none run here (no libtensorflow or CUDA provider download in this stage).
FROM ${NODE_IMAGE} AS build
ARG NPM_VERSION
WORKDIR /src
COPY package.json package-lock.json ./
RUN --mount=type=secret,id=npm-ca \
    if [ -f /run/secrets/npm-ca ]; then export NODE_EXTRA_CA_CERTS=/run/secrets/npm-ca; fi \
    && { [ "$(npm --version)" = "${NPM_VERSION}" ] || npm install --global --no-audit --no-fund "npm@${NPM_VERSION}"; } \
    && npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json ./
COPY src ./src
COPY export ./export
RUN npx tsc -p tsconfig.json

# ---------------------------------------------------------------------------------------
# deps-cpu: the serving image's dependencies. The packages only training, evaluation and
# export use are struck from package.json first, so npm ci never fetches them (it
# installs the rest exactly as locked). onnxruntime-node bundles its CPU provider for
# every platform: all but Linux x64 are deleted (about 250 MB).
FROM ${NODE_IMAGE} AS deps-cpu
ARG NPM_VERSION
WORKDIR /app
COPY package.json package-lock.json ./
RUN --mount=type=secret,id=npm-ca \
    if [ -f /run/secrets/npm-ca ]; then export NODE_EXTRA_CA_CERTS=/run/secrets/npm-ca; fi \
    && { [ "$(npm --version)" = "${NPM_VERSION}" ] || npm install --global --no-audit --no-fund "npm@${NPM_VERSION}"; } \
    && npm pkg delete dependencies.@resvg/resvg-js dependencies.@tensorflow/tfjs dependencies.@tensorflow/tfjs-backend-wasm dependencies.cli-progress dependencies.commander optionalDependencies \
    && npm ci --omit=dev --strict-allow-scripts --no-audit --no-fund \
    && rm -rf node_modules/onnxruntime-node/bin/napi-v6/darwin node_modules/onnxruntime-node/bin/napi-v6/win32 node_modules/onnxruntime-node/bin/napi-v6/linux/arm64 \
    && test -f node_modules/onnxruntime-node/bin/napi-v6/linux/x64/onnxruntime_binding.node \
    && npm cache clean --force

# ---------------------------------------------------------------------------------------
# deps-gpu: the same for the GPU serving image, installed on the CUDA base so any native
# addon built from source links against the system libraries it runs with.
# `npm run install:cuda` runs onnxruntime-node's install script, which package.json's
# allowScripts keeps from a plain npm ci, to fetch its CUDA 12 provider libraries. It sets
# ONNXRUNTIME_NODE_INSTALL=true (what the package leaves out: on Linux x64, CUDA 12): the
# installer of onnxruntime-node 1.30 reads `cuda12` as no setting, and under npm run then exits
# without fetching anything.
FROM ${CUDA_IMAGE} AS cuda-node
ENV DEBIAN_FRONTEND=noninteractive
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates python3 make g++ \
    && rm -rf /var/lib/apt/lists/*
COPY --from=node /usr/local/bin/node /usr/local/bin/node
COPY --from=node /usr/local/lib/node_modules/npm /usr/local/lib/node_modules/npm
RUN ln -s /usr/local/lib/node_modules/npm/bin/npm-cli.js /usr/local/bin/npm \
    && ln -s /usr/local/lib/node_modules/npm/bin/npx-cli.js /usr/local/bin/npx
WORKDIR /app
COPY package.json package-lock.json ./

FROM cuda-node AS deps-gpu
ARG NPM_VERSION
RUN --mount=type=secret,id=npm-ca \
    if [ -f /run/secrets/npm-ca ]; then export NODE_EXTRA_CA_CERTS=/run/secrets/npm-ca; fi \
    && { [ "$(npm --version)" = "${NPM_VERSION}" ] || npm install --global --no-audit --no-fund "npm@${NPM_VERSION}"; } \
    && npm pkg delete dependencies.@resvg/resvg-js dependencies.@tensorflow/tfjs dependencies.@tensorflow/tfjs-backend-wasm dependencies.cli-progress dependencies.commander optionalDependencies \
    && npm ci --omit=dev --strict-allow-scripts --no-audit --no-fund \
    && npm run install:cuda \
    && rm -rf node_modules/onnxruntime-node/bin/napi-v6/darwin node_modules/onnxruntime-node/bin/napi-v6/win32 node_modules/onnxruntime-node/bin/napi-v6/linux/arm64 \
    && test -f node_modules/onnxruntime-node/bin/napi-v6/linux/x64/libonnxruntime_providers_cuda.so \
    && npm cache clean --force

# ---------------------------------------------------------------------------------------
# deps-gpu-train: every production dependency, for the training image. The install
# script of @tensorflow/tfjs-node-gpu is approved, so it fetches libtensorflow (GPU
# build) and its binding; @tensorflow/tfjs-node's is denied (the GPU build replaces it).
FROM cuda-node AS deps-gpu-train
ARG NPM_VERSION
RUN --mount=type=secret,id=npm-ca \
    if [ -f /run/secrets/npm-ca ]; then export NODE_EXTRA_CA_CERTS=/run/secrets/npm-ca; fi \
    && { [ "$(npm --version)" = "${NPM_VERSION}" ] || npm install --global --no-audit --no-fund "npm@${NPM_VERSION}"; } \
    && npm pkg set --json 'allowScripts.@tensorflow/tfjs-node-gpu=true' 'allowScripts.@tensorflow/tfjs-node=false' \
    && npm ci --omit=dev --strict-allow-scripts --no-audit --no-fund \
    && npm run install:cuda \
    && test -f node_modules/onnxruntime-node/bin/napi-v6/linux/x64/libonnxruntime_providers_cuda.so \
    && test -f node_modules/@tensorflow/tfjs-node-gpu/lib/napi-v8/tfjs_binding.node \
    && npm cache clean --force

# ---------------------------------------------------------------------------------------
# cpu: the CPU serving image.
FROM ${NODE_IMAGE} AS cpu
ENV NODE_ENV=production \
    AWNET_HOST=:: \
    AWNET_PORT=8080 \
    AWNET_ADMIN_PORT=9464 \
    AWNET_EXECUTION_PROVIDERS=cpu
RUN groupadd --system --gid 10001 awnet \
    && useradd --system --uid 10001 --gid awnet --home-dir /app --shell /usr/sbin/nologin awnet
WORKDIR /app
COPY --from=deps-cpu --chown=root:root /app/node_modules ./node_modules
COPY --from=build --chown=root:root /src/dist/src ./dist/src
COPY --chown=root:root package.json ./
COPY --chown=root:root models/*.onnx ./models/
USER 10001:10001
EXPOSE 8080 9464
HEALTHCHECK --interval=15s --timeout=3s --start-period=30s --retries=3 \
    CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.AWNET_PORT || 8080) + '/v2/health/ready').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
ENTRYPOINT ["node"]
CMD ["dist/src/main.js"]

# ---------------------------------------------------------------------------------------
# gpu: the GPU serving image (CUDA 12 + cuDNN 9 runtime). Needs the NVIDIA container
# runtime on the host (docker run --gpus all, or a Kubernetes nvidia.com/gpu limit).
FROM ${CUDA_IMAGE} AS gpu
ENV NODE_ENV=production \
    AWNET_HOST=:: \
    AWNET_PORT=8080 \
    AWNET_ADMIN_PORT=9464 \
    AWNET_EXECUTION_PROVIDERS=cuda,cpu
RUN groupadd --system --gid 10001 awnet \
    && useradd --system --uid 10001 --gid awnet --home-dir /app --shell /usr/sbin/nologin awnet
COPY --from=node /usr/local/bin/node /usr/local/bin/node
WORKDIR /app
COPY --from=deps-gpu --chown=root:root /app/node_modules ./node_modules
COPY --from=build --chown=root:root /src/dist/src ./dist/src
COPY --chown=root:root package.json ./
COPY --chown=root:root models/*.onnx ./models/
USER 10001:10001
EXPOSE 8080 9464
HEALTHCHECK --interval=15s --timeout=3s --start-period=60s --retries=3 \
    CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.AWNET_PORT || 8080) + '/v2/health/ready').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
ENTRYPOINT ["node"]
CMD ["dist/src/main.js"]

# ---------------------------------------------------------------------------------------
# gpu-train: the GPU image with every production dependency (TensorFlow.js, the exporter)
# plus what libtensorflow 2.9 (inside tfjs-node-gpu 4.22) needs to train on the GPU: the
# CUDA 11 runtime libraries and cuDNN 8, from the NVIDIA apt repository the CUDA base
# image already configures. Without them tfjs-node-gpu still loads but runs on the CPU.
#   docker run --gpus all awnet-serve:gpu-train dist/src/cli/index.js train --preset cifar10-resnet18 ...
FROM gpu AS gpu-train
USER root
ARG CUDNN8_VERSION=8.9.7.29-1+cuda11.8
RUN apt-get update \
    && apt-get install -y --no-install-recommends \
        cuda-cudart-11-8 libcublas-11-8 libcufft-11-8 libcurand-11-8 libcusolver-11-8 libcusparse-11-8 \
        "libcudnn8=${CUDNN8_VERSION}" \
    && rm -rf /var/lib/apt/lists/*
ENV LD_LIBRARY_PATH=/usr/local/cuda-11.8/targets/x86_64-linux/lib:${LD_LIBRARY_PATH}
RUN rm -rf /app/node_modules
COPY --from=deps-gpu-train --chown=root:root /app/node_modules ./node_modules
COPY --from=build --chown=root:root /src/dist/export ./dist/export
USER 10001:10001
