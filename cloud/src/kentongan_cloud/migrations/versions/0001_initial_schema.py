"""Initial schema: the tables `metadata.create_all` made before migrations existed.

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

# UtcDateTime of the store: timestamptz on PostgreSQL, naive UTC on SQLite.
UTC_TS = sa.DateTime(timezone=True)

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:  # noqa: PLR0915 - one statement per table and index
    op.create_table(
        "area_alarms",
        sa.Column("alarm_id", sa.String(length=36), nullable=False),
        sa.Column("action", sa.String(length=16), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("pattern", sa.String(length=32), nullable=False),
        sa.Column("duration_s", sa.Integer(), nullable=False),
        sa.Column("area_json", sa.Text(), nullable=False),
        sa.Column("started_by", sa.String(length=64), nullable=False),
        sa.Column("started_at", UTC_TS, nullable=False),
        sa.Column("stopped_by", sa.String(length=64), nullable=True),
        sa.Column("stopped_at", UTC_TS, nullable=True),
        sa.PrimaryKeyConstraint("alarm_id", name=op.f("pk_area_alarms")),
    )
    op.create_index("ix_area_alarms_started_at", "area_alarms", ["started_at"], unique=False)

    op.create_table(
        "command_acks",
        sa.Column("command_id", sa.String(length=36), nullable=False),
        sa.Column("gateway_id", sa.String(length=32), nullable=False),
        sa.Column("result", sa.String(length=16), nullable=False),
        sa.Column("detail", sa.Text(), nullable=True),
        sa.Column("at", UTC_TS, nullable=False),
        sa.PrimaryKeyConstraint("command_id", "gateway_id", name=op.f("pk_command_acks")),
    )
    op.create_table(
        "commands",
        sa.Column("command_id", sa.String(length=36), nullable=False),
        sa.Column("target", sa.String(length=32), nullable=False),
        sa.Column("action", sa.String(length=16), nullable=False),
        sa.Column("alarm_id", sa.String(length=36), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("created_at", UTC_TS, nullable=False),
        sa.Column("expires_at", UTC_TS, nullable=False),
        sa.Column("incident_id", sa.String(length=36), nullable=True),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("sent_at", UTC_TS, nullable=True),
        sa.PrimaryKeyConstraint("command_id", name=op.f("pk_commands")),
    )
    op.create_index(op.f("ix_commands_alarm_id"), "commands", ["alarm_id"], unique=False)
    op.create_index(op.f("ix_commands_incident_id"), "commands", ["incident_id"], unique=False)

    op.create_table(
        "dead_letters",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("topic", sa.Text(), nullable=False),
        sa.Column("payload", sa.LargeBinary(), nullable=False),
        sa.Column("error", sa.Text(), nullable=False),
        sa.Column("received_at", UTC_TS, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dead_letters")),
    )
    op.create_table(
        "events",
        sa.Column("event_id", sa.String(length=36), nullable=False),
        sa.Column("gateway_id", sa.String(length=32), nullable=True),
        sa.Column("district", sa.String(length=32), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("input", sa.String(length=32), nullable=False),
        sa.Column("incident_type", sa.String(length=32), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("historical", sa.Boolean(), nullable=False),
        sa.Column("session_id", sa.String(length=32), nullable=False),
        sa.Column("boot_id", sa.String(length=36), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("monotonic_ms", sa.BigInteger(), nullable=False),
        sa.Column("occurred_at", UTC_TS, nullable=False),
        sa.Column("clock_synced", sa.Boolean(), nullable=False),
        sa.Column("received_at", UTC_TS, nullable=False),
        sa.Column("incident_id", sa.String(length=36), nullable=True),
        sa.Column("outcome", sa.String(length=32), nullable=False),
        sa.Column("cancels", sa.String(length=36), nullable=True),
        sa.Column("value", sa.Float(), nullable=True),
        sa.Column("lat", sa.Float(), nullable=True),
        sa.Column("lon", sa.Float(), nullable=True),
        sa.Column("detail", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("event_id", name=op.f("pk_events")),
    )
    op.create_index(
        "ix_events_gateway_session_seq", "events", ["gateway_id", "session_id", "seq"], unique=False
    )
    op.create_index("ix_events_incident_id", "events", ["incident_id"], unique=False)

    op.create_table(
        "fleet_alarms",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("open_key", sa.String(length=64), nullable=True),
        sa.Column("gateway_id", sa.String(length=32), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("raised_at", UTC_TS, nullable=False),
        sa.Column("cleared_at", UTC_TS, nullable=True),
        sa.Column("alerted_at", UTC_TS, nullable=True),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_fleet_alarms")),
        sa.UniqueConstraint("open_key", name=op.f("uq_fleet_alarms_open_key")),
    )
    op.create_index(
        op.f("ix_fleet_alarms_gateway_id"), "fleet_alarms", ["gateway_id"], unique=False
    )

    op.create_table(
        "gateways",
        sa.Column("gateway_id", sa.String(length=32), nullable=False),
        sa.Column("post_name", sa.String(length=120), nullable=False),
        sa.Column("kecamatan", sa.String(length=32), nullable=False),
        sa.Column("kampung", sa.String(length=32), nullable=False),
        sa.Column("lat", sa.Float(), nullable=False),
        sa.Column("lon", sa.Float(), nullable=False),
        sa.Column("heartbeat_s", sa.Integer(), nullable=False),
        sa.Column("config_hash", sa.String(length=64), nullable=False),
        sa.Column("revoked", sa.Boolean(), nullable=False),
        sa.Column("revoked_reason", sa.Text(), nullable=True),
        sa.Column("retired", sa.Boolean(), nullable=False),
        sa.Column("online", sa.Boolean(), nullable=False),
        sa.Column("session_id", sa.String(length=32), nullable=True),
        sa.Column("firmware", sa.String(length=32), nullable=True),
        sa.Column("reported_config_hash", sa.String(length=64), nullable=True),
        sa.Column("state_since", UTC_TS, nullable=True),
        sa.Column("offline_reason", sa.String(length=32), nullable=True),
        sa.Column("last_seen_at", UTC_TS, nullable=True),
        sa.Column("deadline_at", UTC_TS, nullable=True),
        sa.Column("last_telemetry", sa.JSON(), nullable=True),
        sa.Column("last_telemetry_at", UTC_TS, nullable=True),
        sa.Column("on_duty", sa.Boolean(), nullable=False),
        sa.Column("duty_since", UTC_TS, nullable=True),
        sa.Column("alarms", sa.JSON(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("gateway_id", name=op.f("pk_gateways")),
    )
    op.create_index(op.f("ix_gateways_deadline_at"), "gateways", ["deadline_at"], unique=False)

    op.create_table(
        "guard_devices",
        sa.Column("device_id", sa.String(length=36), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("gateway_id", sa.String(length=32), nullable=False),
        sa.Column("guard_name", sa.String(length=80), nullable=False),
        sa.Column("pin_hash", sa.String(length=256), nullable=False),
        sa.Column("failed_pins", sa.Integer(), nullable=False),
        sa.Column("locked_at", UTC_TS, nullable=True),
        sa.Column("revoked", sa.Boolean(), nullable=False),
        sa.Column("created_at", UTC_TS, nullable=False),
        sa.PrimaryKeyConstraint("device_id", name=op.f("pk_guard_devices")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_guard_devices_token_hash")),
    )
    op.create_table(
        "guard_enrolments",
        sa.Column("code_hash", sa.String(length=64), nullable=False),
        sa.Column("gateway_id", sa.String(length=32), nullable=False),
        sa.Column("guard_name", sa.String(length=80), nullable=False),
        sa.Column("created_by", sa.String(length=80), nullable=False),
        sa.Column("created_at", UTC_TS, nullable=False),
        sa.Column("expires_at", UTC_TS, nullable=False),
        sa.Column("used_at", UTC_TS, nullable=True),
        sa.PrimaryKeyConstraint("code_hash", name=op.f("pk_guard_enrolments")),
    )
    op.create_table(
        "guest_reports",
        sa.Column("tracking_code", sa.String(length=64), nullable=False),
        sa.Column("kampung", sa.String(length=32), nullable=False),
        sa.Column("rt", sa.String(length=8), nullable=False),
        sa.Column("host_name", sa.String(length=120), nullable=True),
        sa.Column("host_phone", sa.String(length=24), nullable=True),
        sa.Column("guests", sa.Integer(), nullable=False),
        sa.Column("guest_names", sa.Text(), nullable=True),
        sa.Column("arrival", sa.String(length=10), nullable=False),
        sa.Column("departure", sa.String(length=10), nullable=True),
        sa.Column("created_at", UTC_TS, nullable=False),
        sa.Column("seen_by", sa.String(length=80), nullable=True),
        sa.PrimaryKeyConstraint("tracking_code", name=op.f("pk_guest_reports")),
    )
    op.create_index(
        op.f("ix_guest_reports_created_at"), "guest_reports", ["created_at"], unique=False
    )
    op.create_index(op.f("ix_guest_reports_kampung"), "guest_reports", ["kampung"], unique=False)

    op.create_table(
        "handover_log",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("at", UTC_TS, nullable=False),
        sa.Column("actor", sa.String(length=80), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_handover_log")),
    )
    op.create_index(op.f("ix_handover_log_at"), "handover_log", ["at"], unique=False)

    op.create_table(
        "incident_links",
        sa.Column("from_id", sa.String(length=36), nullable=False),
        sa.Column("to_id", sa.String(length=36), nullable=False),
        sa.Column("linked_by", sa.String(length=80), nullable=False),
        sa.Column("linked_at", UTC_TS, nullable=False),
        sa.PrimaryKeyConstraint("from_id", name=op.f("pk_incident_links")),
    )
    op.create_index(op.f("ix_incident_links_to_id"), "incident_links", ["to_id"], unique=False)

    op.create_table(
        "incidents",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("open_key", sa.String(length=120), nullable=True),
        sa.Column("district", sa.String(length=32), nullable=False),
        sa.Column("kecamatan", sa.String(length=32), nullable=False),
        sa.Column("kampung", sa.String(length=32), nullable=False),
        sa.Column("post", sa.String(length=64), nullable=False),
        sa.Column("gateway_id", sa.String(length=32), nullable=True),
        sa.Column("post_name", sa.String(length=120), nullable=True),
        sa.Column("incident_type", sa.String(length=32), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("confirmed", sa.Boolean(), nullable=False),
        sa.Column("confirmed_at", UTC_TS, nullable=True),
        sa.Column("historical", sa.Boolean(), nullable=False),
        sa.Column("age_s", sa.Float(), nullable=True),
        sa.Column("lat", sa.Float(), nullable=False),
        sa.Column("lon", sa.Float(), nullable=False),
        sa.Column("opened_at", UTC_TS, nullable=False),
        sa.Column("first_occurred_at", UTC_TS, nullable=True),
        sa.Column("last_activation_at", UTC_TS, nullable=False),
        sa.Column("opening_event_id", sa.String(length=36), nullable=False),
        sa.Column("acknowledged_at", UTC_TS, nullable=True),
        sa.Column("acknowledged_by", sa.String(length=64), nullable=True),
        sa.Column("dispatched_at", UTC_TS, nullable=True),
        sa.Column("dispatched_by", sa.String(length=64), nullable=True),
        sa.Column("closed_at", UTC_TS, nullable=True),
        sa.Column("closed_by", sa.String(length=64), nullable=True),
        sa.Column("alarm_id", sa.String(length=36), nullable=False),
        sa.Column("alarm_revision", sa.Integer(), nullable=False),
        sa.Column("sirens_on", sa.Boolean(), nullable=False),
        sa.Column("activations", sa.JSON(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_incidents")),
        sa.UniqueConstraint("open_key", name=op.f("uq_incidents_open_key")),
    )
    op.create_index("ix_incidents_opened_at", "incidents", ["opened_at"], unique=False)
    op.create_index(
        "ix_incidents_type_status_last",
        "incidents",
        ["incident_type", "status", "last_activation_at"],
        unique=False,
    )

    op.create_table(
        "intake_rejections",
        sa.Column("reason", sa.String(length=32), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("last_at", UTC_TS, nullable=False),
        sa.Column("last_detail", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("reason", name=op.f("pk_intake_rejections")),
    )
    op.create_table(
        "intake_sessions",
        sa.Column("gateway_id", sa.String(length=32), nullable=False),
        sa.Column("session_id", sa.String(length=32), nullable=False),
        sa.Column("first_seq", sa.BigInteger(), nullable=False),
        sa.Column("max_seq", sa.BigInteger(), nullable=False),
        sa.Column("received", sa.Integer(), nullable=False),
        sa.Column("last_at", UTC_TS, nullable=False),
        sa.PrimaryKeyConstraint("gateway_id", "session_id", name=op.f("pk_intake_sessions")),
    )
    op.create_table(
        "outbox",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("idempotency_key", sa.String(length=200), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("created_at", UTC_TS, nullable=False),
        sa.Column("next_attempt_at", UTC_TS, nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("lease_token", sa.String(length=32), nullable=True),
        sa.Column("lease_until", UTC_TS, nullable=True),
        sa.Column("delivered_at", UTC_TS, nullable=True),
        sa.Column("voided_at", UTC_TS, nullable=True),
        sa.Column("failed_at", UTC_TS, nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbox")),
        sa.UniqueConstraint("idempotency_key", name=op.f("uq_outbox_idempotency_key")),
    )
    op.create_index(
        "ix_outbox_pending",
        "outbox",
        ["delivered_at", "voided_at", "failed_at", "next_attempt_at"],
        unique=False,
    )

    op.create_table(
        "place_names",
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.PrimaryKeyConstraint("kind", "id", name=op.f("pk_place_names")),
    )
    op.create_table(
        "report_photos",
        sa.Column("tracking_code", sa.String(length=64), nullable=False),
        sa.Column("content_type", sa.String(length=32), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", UTC_TS, nullable=False),
        sa.PrimaryKeyConstraint("tracking_code", name=op.f("pk_report_photos")),
    )
    op.create_table(
        "responder_acks",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("incident_id", sa.String(length=64), nullable=False),
        sa.Column("page_id", sa.String(length=16), nullable=True),
        sa.Column("person_id", sa.String(length=64), nullable=False),
        sa.Column("agency_id", sa.String(length=32), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("at_ms", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_responder_acks")),
    )
    op.create_index(
        op.f("ix_responder_acks_incident_id"), "responder_acks", ["incident_id"], unique=False
    )

    op.create_table(
        "responder_deliveries",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("key", sa.String(length=400), nullable=False),
        sa.Column("incident_id", sa.String(length=64), nullable=False),
        sa.Column("page_id", sa.String(length=16), nullable=False),
        sa.Column("person_id", sa.String(length=32), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("content_json", sa.Text(), nullable=False),
        sa.Column("channels_json", sa.Text(), nullable=False),
        sa.Column("channel_index", sa.Integer(), nullable=False),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("next_attempt_ms", sa.BigInteger(), nullable=False),
        sa.Column("lease_until_ms", sa.BigInteger(), nullable=True),
        sa.Column("created_ms", sa.BigInteger(), nullable=False),
        sa.Column("sent_ms", sa.BigInteger(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_responder_deliveries")),
        sa.UniqueConstraint("key", name=op.f("uq_responder_deliveries_key")),
    )
    op.create_index(
        op.f("ix_responder_deliveries_incident_id"),
        "responder_deliveries",
        ["incident_id"],
        unique=False,
    )
    op.create_index(
        op.f("ix_responder_deliveries_next_attempt_ms"),
        "responder_deliveries",
        ["next_attempt_ms"],
        unique=False,
    )
    op.create_index(
        op.f("ix_responder_deliveries_status"), "responder_deliveries", ["status"], unique=False
    )

    op.create_table(
        "responder_delivery_log",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("delivery_id", sa.Integer(), nullable=False),
        sa.Column("incident_id", sa.String(length=64), nullable=False),
        sa.Column("person_id", sa.String(length=32), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("channel_type", sa.String(length=16), nullable=False),
        sa.Column("provider", sa.String(length=64), nullable=False),
        sa.Column("address", sa.String(length=200), nullable=False),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("status", sa.Integer(), nullable=True),
        sa.Column("provider_message_id", sa.String(length=200), nullable=True),
        sa.Column("response", sa.Text(), nullable=False),
        sa.Column("at_ms", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_responder_delivery_log")),
    )
    op.create_index(
        op.f("ix_responder_delivery_log_delivery_id"),
        "responder_delivery_log",
        ["delivery_id"],
        unique=False,
    )
    op.create_index(
        op.f("ix_responder_delivery_log_incident_id"),
        "responder_delivery_log",
        ["incident_id"],
        unique=False,
    )

    op.create_table(
        "responder_drills",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("district", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("kecamatan", sa.String(length=32), nullable=True),
        sa.Column("kampung", sa.String(length=32), nullable=True),
        sa.Column("starts_ms", sa.BigInteger(), nullable=False),
        sa.Column("ends_ms", sa.BigInteger(), nullable=False),
        sa.Column("participants_json", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_responder_drills")),
    )
    op.create_table(
        "responder_incidents",
        sa.Column("incident_id", sa.String(length=64), nullable=False),
        sa.Column("district", sa.String(length=32), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("next_due_ms", sa.BigInteger(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("notice_json", sa.Text(), nullable=False),
        sa.Column("state_json", sa.Text(), nullable=False),
        sa.Column("drill_id", sa.String(length=32), nullable=True),
        sa.Column("created_ms", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("incident_id", name=op.f("pk_responder_incidents")),
    )
    op.create_index(
        op.f("ix_responder_incidents_next_due_ms"),
        "responder_incidents",
        ["next_due_ms"],
        unique=False,
    )

    op.create_table(
        "responder_notices",
        sa.Column("key", sa.String(length=300), nullable=False),
        sa.Column("incident_id", sa.String(length=64), nullable=False),
        sa.Column("reason", sa.String(length=20), nullable=False),
        sa.Column("received_ms", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_responder_notices")),
    )
    op.create_index(
        op.f("ix_responder_notices_incident_id"), "responder_notices", ["incident_id"], unique=False
    )

    op.create_table(
        "responder_pages",
        sa.Column("id", sa.String(length=16), nullable=False),
        sa.Column("incident_id", sa.String(length=64), nullable=False),
        sa.Column("person_id", sa.String(length=32), nullable=False),
        sa.Column("agency_id", sa.String(length=32), nullable=False),
        sa.Column("reply_code", sa.String(length=8), nullable=False),
        sa.Column("created_ms", sa.BigInteger(), nullable=False),
        sa.Column("acked_ms", sa.BigInteger(), nullable=True),
        sa.Column("ack_channel", sa.String(length=16), nullable=True),
        sa.Column("ack_device", sa.String(length=64), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_responder_pages")),
        sa.UniqueConstraint(
            "incident_id", "person_id", name=op.f("uq_responder_pages_incident_id_person_id")
        ),
        sa.UniqueConstraint("reply_code", name=op.f("uq_responder_pages_reply_code")),
    )
    op.create_index(
        op.f("ix_responder_pages_incident_id"), "responder_pages", ["incident_id"], unique=False
    )
    op.create_index(
        op.f("ix_responder_pages_person_id"), "responder_pages", ["person_id"], unique=False
    )

    op.create_table(
        "responder_provider_rates",
        sa.Column("provider", sa.String(length=64), nullable=False),
        sa.Column("tat_ms", sa.BigInteger(), nullable=False),
        sa.Column("backoff_until_ms", sa.BigInteger(), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("provider", name=op.f("pk_responder_provider_rates")),
    )
    op.create_table(
        "users",
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("password_hash", sa.String(length=256), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("gateway_id", sa.String(length=32), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", UTC_TS, nullable=False),
        sa.PrimaryKeyConstraint("username", name=op.f("pk_users")),
    )
    op.create_table(
        "web_hits",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("bucket", sa.String(length=64), nullable=False),
        sa.Column("at", UTC_TS, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_web_hits")),
    )
    op.create_index("ix_web_hits_bucket_at", "web_hits", ["bucket", "at"], unique=False)

    op.create_table(
        "api_sessions",
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("csrf_token", sa.String(length=64), nullable=False),
        sa.Column("created_at", UTC_TS, nullable=False),
        sa.Column("expires_at", UTC_TS, nullable=False),
        sa.ForeignKeyConstraint(
            ["username"], ["users.username"], name=op.f("fk_api_sessions_username_users")
        ),
        sa.PrimaryKeyConstraint("token_hash", name=op.f("pk_api_sessions")),
    )
    op.create_index(op.f("ix_api_sessions_username"), "api_sessions", ["username"], unique=False)

    op.create_table(
        "incident_audit",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("incident_id", sa.String(length=36), nullable=False),
        sa.Column("at", UTC_TS, nullable=False),
        sa.Column("actor", sa.String(length=64), nullable=False),
        sa.Column("action", sa.String(length=32), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["incident_id"], ["incidents.id"], name=op.f("fk_incident_audit_incident_id_incidents")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_incident_audit")),
    )
    op.create_index(
        op.f("ix_incident_audit_incident_id"), "incident_audit", ["incident_id"], unique=False
    )

    op.create_table(
        "reports",
        sa.Column("tracking_code", sa.String(length=40), nullable=False),
        sa.Column("incident_id", sa.String(length=36), nullable=True),
        sa.Column("event_id", sa.String(length=36), nullable=False),
        sa.Column("created_at", UTC_TS, nullable=False),
        sa.Column("name", sa.String(length=120), nullable=True),
        sa.Column("phone", sa.String(length=40), nullable=True),
        sa.Column("description", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["incident_id"], ["incidents.id"], name=op.f("fk_reports_incident_id_incidents")
        ),
        sa.PrimaryKeyConstraint("tracking_code", name=op.f("pk_reports")),
        sa.UniqueConstraint("event_id", name=op.f("uq_reports_event_id")),
    )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        # Grafana's views read these tables (Database.migrate makes them, PostgreSQL only).
        op.execute("DROP VIEW IF EXISTS grafana_posts, grafana_incidents")
    op.drop_table("reports")
    op.drop_table("incident_audit")
    op.drop_table("api_sessions")
    op.drop_table("web_hits")
    op.drop_table("users")
    op.drop_table("responder_provider_rates")
    op.drop_table("responder_pages")
    op.drop_table("responder_notices")
    op.drop_table("responder_incidents")
    op.drop_table("responder_drills")
    op.drop_table("responder_delivery_log")
    op.drop_table("responder_deliveries")
    op.drop_table("responder_acks")
    op.drop_table("report_photos")
    op.drop_table("place_names")
    op.drop_table("outbox")
    op.drop_table("intake_sessions")
    op.drop_table("intake_rejections")
    op.drop_table("incidents")
    op.drop_table("incident_links")
    op.drop_table("handover_log")
    op.drop_table("guest_reports")
    op.drop_table("guard_enrolments")
    op.drop_table("guard_devices")
    op.drop_table("gateways")
    op.drop_table("fleet_alarms")
    op.drop_table("events")
    op.drop_table("dead_letters")
    op.drop_table("commands")
    op.drop_table("command_acks")
    op.drop_table("area_alarms")
