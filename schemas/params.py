"""The ``sip_endpoint.save`` parameter table (SPEC.md section 3), once, as data.

The sheet schema, the local gateway, the template and the export all read this table.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .domains import (
    Address,
    Choice,
    CodecOrder,
    CodecSet,
    Domain,
    Flag,
    Integer,
    Milliseconds,
    Name,
    Text,
    Token,
    Transport,
)

__all__ = [
    "ID_COLUMNS",
    "PARAMETERS",
    "SECRET_FIELDS",
    "Param",
    "check_wire_value",
    "from_wire",
    "to_wire",
]


@dataclass(frozen=True)
class Param:
    """One ``sip_endpoint.save`` parameter."""

    name: str
    domain: Domain
    default: str | None
    help: str
    secret: bool = False
    #: A text identifier that Excel likes to turn into a number (leading zeros, 8.00556E+09).
    id_column: bool = False


_FLAG = Flag()
_NAME = Name()
#: chan_sip reads [general] and [authentication] as its own settings, never as a peer.
_RESERVED = ("general", "authentication")
# Free-text lengths, chan_sip's where it has one: AST_MAX_EXTENSION (80) bounds an extension, a
# realm and chan_sip's older fixed buffers (fromuser), the 80 SPEC.md gives name, defaultuser and
# secret; sip_auth keeps user and secret in 256 bytes each and the realm in 80, so
# 'user:secret@realm' is at most 255 + 1 + 255 + 1 + 80 characters.
_EXTENSION_CHARS = 80
_AUTH_CHARS = 255 + 1 + 255 + 1 + 80
# chan_sip keeps these timers in a C int.
_C_INT_MAX = 2_147_483_647
_TIMER_MS = Integer(minimum=200, maximum=_C_INT_MAX, unit="ms")
_SESSION_S = Integer(minimum=90, maximum=_C_INT_MAX, unit="s")

_TABLE: tuple[Param, ...] = (
    # The common ones first: the template and exports keep this order.
    Param(
        "name",
        Name(reserved=_RESERVED),
        None,
        "Endpoint name, the section name in sip.conf. Required.",
        id_column=True,
    ),
    Param(
        "host",
        Address(dynamic=True),
        None,
        "'dynamic' for phones that register, or the carrier's IP address or host name.",
    ),
    Param(
        "defaultuser",
        Token(min_len=1, max_len=80),
        None,
        "User name used to authenticate / reach the endpoint.",
        id_column=True,
    ),
    Param("secret", Text(min_len=1, max_len=80), None, "Password for this endpoint.", secret=True),
    Param(
        "registration",
        Choice(values=("in", "out", "none")),
        "none",
        "in: the endpoint registers to us; out: we register to it; none: IP-authenticated.",
    ),
    Param("transport", Transport(), "UDP", "Comma list of UDP, TCP, TLS."),
    Param(
        "nat",
        Choice(values=("no", "yes", "force_rport", "comedia")),
        "yes",
        "NAT handling for this endpoint.",
    ),
    Param("port", Integer(minimum=1, maximum=65535), None, "SIP port of the endpoint."),
    Param(
        "old_name",
        _NAME,
        None,
        "Previous name, to rename an endpoint. Leave empty otherwise.",
        id_column=True,
    ),
    Param(
        "object_id",
        Integer(minimum=1),
        None,
        "Gateway id of the endpoint, to rename it without old_name.",
    ),
    Param(
        "auth",
        Token(min_len=1, max_len=_AUTH_CHARS),
        None,
        "chan_sip auth line, user:secret@realm.",
        secret=True,
    ),
    Param(
        "fromuser",
        Token(min_len=1, max_len=_EXTENSION_CHARS),
        None,
        "User part of the From header.",
        id_column=True,
    ),
    Param("fromdomain", Address(), None, "Domain of the From header (IP or host name)."),
    Param(
        "remotesecret",
        Text(min_len=1, max_len=80),
        None,
        "Password we use towards the remote side.",
        secret=True,
    ),
    Param("qualify", _FLAG, "0", "Send OPTIONS to check the endpoint is alive."),
    Param(
        "qualifyfreq",
        Integer(minimum=1, maximum=86400, unit="s"),
        "60",
        "Seconds between qualify checks.",
    ),
    Param(
        "dtmfmode",
        Choice(values=("auto", "info", "rfc2833", "inband")),
        "auto",
        "How DTMF digits are sent.",
    ),
    Param("trustrpid", _FLAG, "0", "Trust Remote-Party-ID headers from the endpoint."),
    Param("sendrpid", _FLAG, "0", "Send Remote-Party-ID headers."),
    Param("rpid_format", Choice(values=("pass", "rpid")), "pass", "Remote-Party-ID format."),
    Param(
        "callingpres",
        Choice(
            values=(
                "allowed_not_screened",
                "allowed_passed_screen",
                "allowed_failed_screen",
                "allowed",
                "prohib_not_screened",
                "prohib_passed_screen",
                "prohib_failed_screen",
                "prohib",
                "unavailable",
            )
        ),
        "allowed_not_screened",
        "Calling presentation.",
    ),
    Param(
        "progressinband",
        Choice(values=("yes", "no", "never")),
        "never",
        "Early media / in-band progress.",
    ),
    Param("allowoverlap", _FLAG, "0", "Allow overlap dialing."),
    Param("usereqphone", _FLAG, "0", "Add ;user=phone to URIs that look like numbers."),
    Param("use_q850_reason", _FLAG, "0", "Use Q.850 Reason headers."),
    Param("registertrying", _FLAG, "0", "Send 100 Trying on REGISTER."),
    Param("honorsdpversion", _FLAG, "1", "Honour the SDP version number."),
    Param("max_forwards", Integer(minimum=1, maximum=255), "3", "Max-Forwards header value."),
    Param("outboundproxy", Address(), None, "Outbound proxy (IP or host name)."),
    Param(
        "timert1",
        _TIMER_MS,
        "500",
        "SIP timer T1 in milliseconds.",
    ),
    Param(
        "timerb",
        _TIMER_MS,
        "32000",
        "SIP timer B in milliseconds.",
    ),
    Param(
        "session-timers",
        Choice(values=("originate", "accept", "refuse")),
        "accept",
        "Session timer mode (RFC 4028).",
    ),
    Param(
        "session-minse",
        _SESSION_S,
        "90",
        "Minimum session refresh interval in seconds.",
    ),
    Param(
        "session-expires",
        _SESSION_S,
        "1800",
        "Session expiry in seconds; not below session-minse.",
    ),
    Param(
        "session-refresher",
        Choice(values=("uac", "uas")),
        "uas",
        "Which side refreshes the session.",
    ),
    Param(
        "audio_codecs",
        CodecSet(),
        "ulaw,alaw,g722,g726,g729,gsm",
        "Comma list of enabled codecs (ulaw, alaw, g722, g726, g729, gsm) or none.",
    ),
    Param(
        "codec_order",
        CodecOrder(),
        None,
        "Comma list of codecs by preference; each must be enabled.",
    ),
    Param(
        "alaw_pr",
        Integer(minimum=10, maximum=50, step=10, unit="ms"),
        "20",
        "alaw packetization in ms.",
    ),
    Param(
        "ulaw_pr",
        Integer(minimum=10, maximum=50, step=10, unit="ms"),
        "20",
        "ulaw packetization in ms.",
    ),
    Param("gsm_pr", Integer(minimum=20, maximum=20), "20", "gsm packetization (20 ms only)."),
    Param(
        "g722_pr",
        Integer(minimum=10, maximum=40, step=10, unit="ms"),
        "20",
        "g722 packetization in ms.",
    ),
    Param(
        "g726_pr",
        Integer(minimum=10, maximum=200, step=10, unit="ms"),
        "20",
        "g726 packetization in ms.",
    ),
    Param(
        "g729_pr",
        Integer(minimum=10, maximum=40, step=10, unit="ms"),
        "20",
        "g729 packetization in ms.",
    ),
    Param("g726nonstandard", _FLAG, "0", "Use the non-standard g726 packing (AAL2)."),
    Param("preferred_codec_only", _FLAG, "0", "Answer with only the preferred codec."),
    Param(
        "t38pt_udptl",
        Choice(values=("yes,fec", "yes,redundancy", "no")),
        None,
        "T.38 fax: yes,fec / yes,redundancy / no. Default depends on the codecs.",
    ),
    Param("t1min", Milliseconds(), "500ms", "Minimum roundtrip time, e.g. 500 or 500ms."),
    Param("allowtransfer", _FLAG, "1", "Allow transfers."),
    Param("promiscredir", _FLAG, "0", "Follow 302 redirects to other hosts."),
    Param("insecure", _FLAG, "0", "Accept calls without authentication (IP match)."),
    Param("enable_advanced", _FLAG, "0", "Show and use the advanced settings."),
    Param("rtptimeout", _FLAG, "0", "Hang up when RTP stops (0/1 as the vendor documents)."),
    Param("rtpholdtimeout", _FLAG, "0", "Hang up when RTP stops on hold (0/1)."),
    Param("t38transport", Choice(values=("udptl",)), None, "T.38 transport (udptl)."),
    Param(
        "extension",
        Text(max_len=_EXTENSION_CHARS),
        None,
        "Extension the endpoint is reached at.",
        id_column=True,
    ),
    Param(
        "rtpjittermode", Choice(values=("static", "adaptive")), "adaptive", "Jitter buffer mode."
    ),
    Param(
        "rtpjitterdelay",
        Integer(minimum=10, maximum=100, unit="ms"),
        "50",
        "Jitter buffer delay in ms.",
    ),
)

#: Every parameter by its SPEC.md spelling, in template order.
PARAMETERS: dict[str, Param] = {p.name: p for p in _TABLE}
SECRET_FIELDS: frozenset[str] = frozenset(p.name for p in _TABLE if p.secret)
ID_COLUMNS: frozenset[str] = frozenset(p.name for p in _TABLE if p.id_column)


def check_wire_value(name: str, value: Any) -> str | None:
    """Why ``value`` is not allowed for parameter ``name`` on the wire, or ``None``.

    The reason names the field and what is allowed, e.g.
    ``"transport: 'SCTP' is not one of UDP, TCP, TLS (allowed: one or more of UDP, TCP, TLS)"``.
    Raises ``KeyError`` for an unknown parameter.
    """
    param = PARAMETERS[name]
    reason = param.domain.wire_problem(value)
    if reason is None:
        return None
    return f"{name}: {reason} (allowed: {param.domain.allowed()})"


def to_wire(name: str, canonical: str) -> Any:
    """Canonical sheet text -> the value sent for ``name``."""
    return PARAMETERS[name].domain.to_wire(canonical)


def from_wire(name: str, value: Any) -> str:
    """A value as the gateway returns it -> canonical sheet text."""
    return PARAMETERS[name].domain.from_wire(value)
