# The image of the API, the central workers and the one-shot migrations (docker-compose.yml).
# Device workers and till agents run on the till machines (`pip install` of the same wheel).
#
# Stage 1 builds tillflow's wheel, and the wheels of its dependencies, from the very pyproject.toml
# of this checkout; stage 2 installs only those wheels (no compiler, no source tree) and runs as
# uid 1000, which owns everything it writes (/app/var).
FROM python:3.11-slim-bookworm AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
COPY pyproject.toml README.md ./
COPY domain domain
COPY db db
COPY integrations integrations
COPY contracts contracts
COPY activities activities
COPY workflows workflows
COPY devices devices
COPY tills tills
COPY api api
COPY reports reports
COPY tillflow tillflow
RUN pip wheel --wheel-dir /wheels .

FROM python:3.11-slim-bookworm
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 TILLFLOW_VAR_DIR=/app/var
RUN groupadd --system --gid 1000 tillflow \
    && useradd --system --uid 1000 --gid 1000 --home-dir /app --shell /usr/sbin/nologin tillflow
COPY --from=build /wheels /wheels
RUN pip install --no-index --find-links /wheels tillflow && rm -rf /wheels
WORKDIR /app
RUN mkdir -p /app/var && chown -R 1000:1000 /app
USER 1000:1000
EXPOSE 8000 9464
CMD ["tillflow", "api"]
