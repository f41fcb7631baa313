"""Delivery of the cloud outbox: commands, notifications, points, annotations, alerts."""
