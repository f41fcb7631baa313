-- What Grafana's PostgreSQL panels read: two relations the cloud core provides (as views over
-- its own tables). Names, columns and types here are the contract; the dashboards' SQL uses
-- nothing else. The tests create them as tables in a throw-away database, fill them and run
-- every panel's SQL against them.

-- One row per post (gateway) of the district.
CREATE TABLE grafana_posts (
    gateway_id      text PRIMARY KEY,           -- e.g. tb-poncowati-01
    post_name       text NOT NULL,              -- "Pos Kamling RT 05 Kampung Poncowati"
    district        text NOT NULL,              -- district id
    kecamatan       text NOT NULL,              -- kecamatan id
    kecamatan_name  text NOT NULL,
    kampung         text NOT NULL,              -- kampung id
    kampung_name    text NOT NULL,
    lat             double precision NOT NULL,  -- WGS84, at the post
    lon             double precision NOT NULL,
    online          boolean NOT NULL,           -- the fleet-health verdict now
    last_seen_at    timestamptz,                -- last birth or heartbeat; NULL if never seen
    on_duty         boolean NOT NULL            -- guards checked in and not yet out
);

-- One row per incident (also closed ones, also exercises and tests).
CREATE TABLE grafana_incidents (
    incident_id       text PRIMARY KEY,
    incident_type     text NOT NULL,            -- incident type id (pencurian, kebakaran, ...)
    type_label        text NOT NULL,            -- its display name
    state             text NOT NULL,            -- new|acknowledged|dispatched|resolved|false_alarm|cancelled
    status            text NOT NULL,            -- actual|exercise|test
    source            text NOT NULL,            -- button|sensor|phone|web|sms
    confirmed         boolean NOT NULL,
    district          text NOT NULL,
    kecamatan         text NOT NULL,
    kecamatan_name    text NOT NULL,
    kampung           text NOT NULL,
    kampung_name      text NOT NULL,
    gateway_id        text,                     -- NULL for phone and web reports
    post_name         text,                     -- NULL for phone and web reports
    lat               double precision NOT NULL,
    lon               double precision NOT NULL,
    opened_at         timestamptz NOT NULL,
    acknowledged_at   timestamptz,
    dispatched_at     timestamptz,
    closed_at         timestamptz,              -- resolved, false alarm or cancelled
    escalation_level  integer NOT NULL DEFAULT 0  -- highest tier reached; 0 = never escalated
);
