"""Grafana: dashboards as code, the ClickHouse query type, publishing, provisioning."""
