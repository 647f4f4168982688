# smrun: the runner, the KFP components and the SageMaker emulator, in one image.
#
#   docker build -t smrun .
#   docker run --rm smrun python -m components.<name> ...     (what KFP component specs run)
#   docker run --rm -p 4566:4566 smrun smrun emulator --host 0.0.0.0 --port 4566
#
# For KFP, tag it for a registry the cluster pulls from, push it, and generate the component
# files with it (README, "The component image"):
#
#   docker build -t "$IMAGE" --build-arg REVISION="$(git rev-parse HEAD)" .
#   docker push "$IMAGE"
#   python -m components.generate --image "$IMAGE" --out-dir my-components
#
# Two stages: the builder makes a wheel of the project and installs it, with the exact pins of
# constraints.txt, into a virtualenv at /opt/venv; the final image gets that virtualenv only
# (no compiler, no source tree, no pip cache) and runs as an unprivileged user.

ARG PYTHON_IMAGE=python:3.11-slim

FROM ${PYTHON_IMAGE} AS builder

ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1

WORKDIR /src

# What the wheel is built from: the package metadata, its readme, and the packages it ships.
COPY pyproject.toml constraints.txt README.md ./
COPY runner ./runner
COPY smrun ./smrun
COPY emulator ./emulator
COPY components ./components

# The wheel (pip builds it in an isolated environment with setuptools from PyPI), then the
# virtualenv with the wheel and its dependencies at the versions constraints.txt pins.
RUN pip wheel --no-deps --wheel-dir /wheels . \
 && python -m venv /opt/venv \
 && /opt/venv/bin/pip install --no-compile -c constraints.txt /wheels/smrun-*.whl \
 && /opt/venv/bin/python -m compileall -q /opt/venv/lib \
 && /opt/venv/bin/smrun --help > /dev/null


FROM ${PYTHON_IMAGE}

ARG SOURCE_URL=https://github.com/smrun/smrun
ARG REVISION=unknown
LABEL org.opencontainers.image.title="smrun" \
      org.opencontainers.image.description="Drives many Amazon SageMaker jobs from one asyncio core: KFP components, a batch launcher and a local SageMaker emulator" \
      org.opencontainers.image.source="${SOURCE_URL}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.licenses="Apache-2.0"

RUN useradd --no-log-init --create-home --home-dir /home/smrun --uid 10001 --user-group smrun

COPY --from=builder /opt/venv /opt/venv

ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1

WORKDIR /app
USER 10001

# No ENTRYPOINT: KFP component specs give the whole command (python -m components.<name>).
