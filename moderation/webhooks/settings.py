"""Webhook settings: names, defaults and parsers of the MODERATION_WEBHOOK_* configuration keys."""
from __future__ import annotations

import ipaddress
from dataclasses import dataclass

from moderation.config import PREFIX

DEFAULT_SCHEDULE = "0,5,300,1800,7200,18000,36000,36000"

@dataclass(frozen=True)
class WebhookSettings:
    allowed_networks: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...] = ()
    schedule: tuple[float, ...] = tuple(float(s) for s in DEFAULT_SCHEDULE.split(","))
    jitter: float = 0.1
    lease_seconds: float = 60
    connect_timeout: float = 5.0
    timeout: float = 15.0
    poll_seconds: float = 1.0
    coalesce_seconds: float = 0.05
    concurrency: int = 1
    rotation_grace_hours: int = 24


def parse_networks(value: str) -> tuple:
    return tuple(ipaddress.ip_network(part.strip(), strict=False) for part in value.split(",") if part.strip())


def parse_schedule(value: str) -> tuple[float, ...]:
    delays = tuple(float(part) for part in value.split(",") if part.strip())
    if not delays or any(delay < 0 for delay in delays):
        raise ValueError("MODERATION_WEBHOOK_SCHEDULE needs one or more non-negative delays in seconds")
    return delays


def raw_value(config, name: str):
    """The configured value (moderation.config reads MODERATION_WEBHOOK_* with their defaults)."""
    return config[PREFIX + name]


def load_settings(config) -> WebhookSettings:
    def value(name):
        return raw_value(config, name)

    return WebhookSettings(
        allowed_networks=parse_networks(str(value("WEBHOOK_ALLOWED_NETWORKS"))),
        schedule=parse_schedule(str(value("WEBHOOK_SCHEDULE"))),
        jitter=float(value("WEBHOOK_JITTER")),
        lease_seconds=float(value("WEBHOOK_LEASE_SECONDS")),
        connect_timeout=float(value("WEBHOOK_CONNECT_TIMEOUT_SECONDS")),
        timeout=float(value("WEBHOOK_TIMEOUT_SECONDS")),
        poll_seconds=float(value("WEBHOOK_POLL_SECONDS")),
        coalesce_seconds=float(value("WEBHOOK_COALESCE_MS")) / 1000,
        concurrency=max(1, int(value("WEBHOOK_CONCURRENCY"))),
        rotation_grace_hours=int(value("WEBHOOK_ROTATION_GRACE_HOURS")),
    )
