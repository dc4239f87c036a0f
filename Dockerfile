# Production image for the API and the central worker (device workers run on the till machines).
FROM python:3.12-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
WORKDIR /app
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
RUN pip install --no-cache-dir . && useradd --system --uid 1000 tillflow
USER tillflow
EXPOSE 8000
CMD ["tillflow", "api"]
