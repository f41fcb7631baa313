"""The command-centre dashboards, generated as code and committed as JSON in dashboards/.

Build them with `python -m kentongan_cloud.grafana.dashboards.build` (needs the `dashboards`
extra: grafana-foundation-sdk). A test fails when the committed JSON drifts from this code.
"""
