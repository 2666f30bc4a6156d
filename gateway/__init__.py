"""The local gateway: a Starlette + SQLite stand-in for the gateway's sip_endpoint API
(SPEC.md), with fault injection for tests and rehearsals. See README.md in this folder."""

from .app import create_app
from .config import DEFAULT_DB, Credentials, GatewayConfig, resolve_credentials
from .server import GatewayStartError, RunningGateway, serve, start_local_gateway
from .sipconf import UnsafeConfigValue, render_sip_conf

__all__ = [
    "DEFAULT_DB",
    "Credentials",
    "GatewayConfig",
    "GatewayStartError",
    "RunningGateway",
    "UnsafeConfigValue",
    "create_app",
    "render_sip_conf",
    "resolve_credentials",
    "serve",
    "start_local_gateway",
]
