"""Grafana: incident annotations (grafana-client) and the command-centre dashboards."""
