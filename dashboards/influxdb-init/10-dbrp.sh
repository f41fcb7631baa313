#!/bin/bash
# Runs once, inside the influxdb:2.7 container, right after its first setup
# (/docker-entrypoint-initdb.d). Maps the InfluxQL database/retention policy "kentongan/autogen"
# to the bucket, so Grafana's InfluxQL queries (and InfluxDB 1.x tools) find the data.
set -euo pipefail
influx v1 dbrp create \
  --org "${DOCKER_INFLUXDB_INIT_ORG}" \
  --bucket-id "${DOCKER_INFLUXDB_INIT_BUCKET_ID}" \
  --db kentongan \
  --rp autogen \
  --default
