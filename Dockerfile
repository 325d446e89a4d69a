# bitriver-lint and nothing else: the package as `pip install .` installs it, run as a non-root
# user against the tree mounted at /src.
#   docker build -t bitriver-lint . && docker run --rm -v "$PWD:/src" bitriver-lint deploy/
FROM python:3.12-slim
COPY pyproject.toml README.md LICENSE /build/
COPY bitriver_lint /build/bitriver_lint
COPY rules /build/rules
RUN pip install --no-cache-dir /build && rm -rf /build \
    && useradd --create-home --uid 10001 lint
USER lint
WORKDIR /src
ENTRYPOINT ["bitriver-lint"]
CMD ["."]
