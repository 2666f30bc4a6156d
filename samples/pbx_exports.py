"""Deterministic exports of other PBXs, as their own tools write them (for samples and tests).

- ``freepbx_rows``: FreePBX 13+ Bulk Handler "Export Extensions" (chan_pjsip and chan_sip rows,
  plus DAHDI, IAX2, custom and virtual extensions); its sample output repeats a column
  (``chanunavail_cid``), and so does this one.
- ``freepbx2_rows``: FreePBX 2.x Bulk Extensions, device settings as ``devinfo_*`` columns.
- ``switchvox_rows``: Switchvox Setup > Extensions > Manage > Export Extensions.

Each returns (header, rows) for ``csv.writer``; the values are the ones these systems write
(``allow=ulaw&alaw``, ``dtmfmode=rfc4733``, ``sendrpid=pai``, ``transport=0.0.0.0-udp``, ...).
"""

from __future__ import annotations

import csv
import random
from collections.abc import Iterator
from pathlib import Path

__all__ = ["freepbx2_rows", "freepbx_rows", "switchvox_rows", "write"]

FREEPBX_HEADER = [
    "extension", "name", "description", "tech", "cid_masquerade", "sipname", "outboundcid",
    "ringtimer", "callwaiting", "call_screen", "pinless", "password", "emergency_cid",
    "recording_in_external", "recording_out_external", "concurrency_limit", "accountcode",
    "aggregate_mwi", "allow", "avpf", "callerid", "context", "defaultuser", "direct_media",
    "disallow", "dtmfmode", "force_rport", "host", "icesupport", "mailbox", "max_contacts",
    "media_encryption", "nat", "qualify", "qualifyfreq", "rtp_symmetric", "rtp_timeout",
    "rtp_timeout_hold", "secret", "sendrpid", "sipdriver", "timers",
    "timers_min_se", "transport", "trustrpid", "user_eq_phone", "deny", "permit",
    "noanswer_cid", "busy_cid", "chanunavail_cid", "noanswer_dest", "busy_dest",
    "chanunavail_dest", "chanunavail_cid", "voicemail", "vmpwd", "email",
]  # fmt: skip

FREEPBX2_HEADER = [
    "action", "extension", "name", "cid_masq", "sipname", "outboundcid", "ringtimer",
    "callwaiting", "call_screen", "pinless", "password", "noanswer_dest", "noanswer_cid",
    "busy_dest", "busy_cid", "chanunavail_dest", "chanunavail_cid", "emergency_cid", "tech",
    "hardware", "devinfo_channel", "devinfo_secret", "devinfo_notransfer", "devinfo_dtmfmode",
    "devinfo_canreinvite", "devinfo_context", "devinfo_immediate", "devinfo_signalling",
    "devinfo_echocancel", "devinfo_echocancelwhenbrdiged", "devinfo_echotraining",
    "devinfo_busydetect", "devinfo_busycount", "devinfo_callprogress", "devinfo_host",
    "devinfo_type", "devinfo_nat", "devinfo_port", "devinfo_qualify", "devinfo_callgroup",
    "devinfo_pickupgroup", "devinfo_disallow", "devinfo_allow", "devinfo_dial",
    "devinfo_accountcode", "devinfo_mailbox", "devicetype", "deviceid", "deviceuser",
    "description", "dictenabled", "dictformat", "dictemail", "langcode", "record_in",
    "record_out", "vm", "vmpwd", "email", "pager", "attach", "saycid", "envelope", "delete",
    "options", "vmcontext",
]  # fmt: skip

SWITCHVOX_HEADER = [
    "ext", "fname", "lname", "login_email", "title", "location", "password",
    "voicemail_password", "phone_password", "digium_phone_mac_address", "extension_type",
]  # fmt: skip

_FIRST = ["Ana", "Ben", "Chloé", "Dmitri", "Eva", "Farid", "Grace", "Hiro", "Inès", "José"]
_LAST = ["Alvarez", "Brown", "Chen", "Dubois", "Evans", "Fischer", "García", "Haddad", "Ito"]


def _secret(rng: random.Random) -> str:
    alphabet = "abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"
    return "".join(rng.choice(alphabet) for _ in range(rng.choice((12, 16, 32))))


def _person(rng: random.Random) -> tuple[str, str]:
    return rng.choice(_FIRST), rng.choice(_LAST)


def _tech(rng: random.Random, i: int) -> str:
    # About one extension in ten is no SIP device: analog lines, IAX2 peers, custom, virtual.
    if i % 10 == 7:
        return rng.choice(("dahdi", "iax2", "custom", "virtual"))
    return "sip" if i % 5 == 3 else "pjsip"


def _extensions(
    count: int, seed: int, first_ext: int
) -> Iterator[tuple[random.Random, int, str, str, str, str]]:
    """(the generator, index, extension, first name, last name, tech) of each extension."""
    rng = random.Random(seed)
    for i in range(count):
        first, last = _person(rng)
        yield rng, i, str(first_ext + i), first, last, _tech(rng, i)


def freepbx_rows(count: int, seed: int = 13) -> tuple[list[str], list[list[str]]]:
    rows = []
    for rng, i, ext, first, last, tech in _extensions(count, seed, 1000):
        row = dict.fromkeys(FREEPBX_HEADER, "")
        row.update(
            extension=ext, name=f"{first} {last}", tech=tech, ringtimer="0",
            callwaiting="enabled", pinless="disabled", password="", concurrency_limit="3",
            outboundcid=f'"{first} {last}" <+1555{rng.randrange(10**6, 10**7)}>',
            voicemail="default" if i % 3 else "novm", vmpwd=str(rng.randrange(1000, 9999)),
            email=f"{first.lower()}.{last.lower()}@example.com",
            noanswer_dest="", busy_dest="", chanunavail_dest="",
        )  # fmt: skip
        if tech in ("pjsip", "sip"):
            row.update(
                callerid=f"device <{ext}>", context="from-internal", secret=_secret(rng),
                allow=rng.choice(("ulaw&alaw", "ulaw&alaw&g722", "g722&ulaw", "", "g729&ulaw")),
                disallow="all", mailbox=f"{ext}@device", qualifyfreq="60",
                trustrpid="yes", deny="0.0.0.0/0.0.0.0", permit="0.0.0.0/0.0.0.0",
                dtmfmode=rng.choice(("rfc4733", "rfc4733", "inband", "info", "auto")),
                sendrpid=rng.choice(("pai", "pai", "no", "yes")),
            )  # fmt: skip
        if tech == "pjsip":
            row.update(
                sipdriver="chan_pjsip", max_contacts=str(rng.choice((1, 1, 3))),
                timers=rng.choice(("yes", "yes", "no", "always")), timers_min_se="90",
                transport=rng.choice(("", "0.0.0.0-udp", "0.0.0.0-udp", "0.0.0.0-tcp")),
                force_rport="yes", rtp_symmetric="yes", rtp_timeout="0", rtp_timeout_hold="0",
                direct_media="no", icesupport="no", media_encryption="no", aggregate_mwi="yes",
                user_eq_phone="no", avpf="no",
            )  # fmt: skip
        elif tech == "sip":
            row.update(
                sipdriver="chan_sip", host="dynamic", qualify="yes", port="5060",
                nat=rng.choice(("force_rport,comedia", "no", "yes")),
                dtmfmode=rng.choice(("rfc2833", "info", "auto")),
                timers=rng.choice(("accept", "originate", "refuse")),
                transport=rng.choice(("udp", "udp,tcp,tls", "tcp,udp")),
            )  # fmt: skip
        elif tech == "dahdi":
            row.update(dial=f"DAHDI/{i % 24 + 1}", callerid=f"device <{ext}>")
        rows.append(row)
    # Real exports carry mistakes a gateway refuses: a codec it does not have, a phone with
    # no password left open to anyone who registers.
    if count > 20:
        rows[4].update(allow="opus&ulaw")
        rows[9].update(secret="")
        rows[9].update(tech="sip", sipdriver="chan_sip", host="dynamic")
    # The repeated column: the csv module writes the same value under both headers.
    return FREEPBX_HEADER, [[row[h] for h in FREEPBX_HEADER] for row in rows]


def freepbx2_rows(count: int, seed: int = 2) -> tuple[list[str], list[list[str]]]:
    rows = []
    for rng, i, ext, first, last, tech_now in _extensions(count, seed, 200):
        tech = {"pjsip": "sip", "dahdi": "zap"}.get(tech_now, tech_now)
        row = dict.fromkeys(FREEPBX2_HEADER, "")
        row.update(
            action="edit", extension=ext, name=f"{first} {last}", ringtimer="0",
            callwaiting="enabled", tech=tech, devicetype="fixed", deviceid=ext,
            deviceuser=ext, description=f"{first} {last}", vm="enabled" if i % 2 else "disabled",
            vmpwd=str(rng.randrange(1000, 9999)), vmcontext="default", record_in="Adhoc",
            record_out="Adhoc",
        )  # fmt: skip
        if tech == "sip":
            row.update(
                devinfo_secret=_secret(rng), devinfo_dtmfmode=rng.choice(("rfc2833", "info")),
                devinfo_canreinvite="no", devinfo_context="from-internal", devinfo_host="dynamic",
                devinfo_type="friend", devinfo_nat=rng.choice(("yes", "no", "never", "route")),
                devinfo_port="5060", devinfo_qualify=rng.choice(("yes", "no")),
                devinfo_disallow="", devinfo_allow=rng.choice(("", "ulaw&alaw", "gsm&ulaw")),
                devinfo_dial=f"SIP/{ext}", devinfo_mailbox=f"{ext}@default",
            )  # fmt: skip
        elif tech == "zap":
            row.update(devinfo_channel=str(i % 24 + 1), devinfo_dial=f"ZAP/{i % 24 + 1}")
        elif tech == "iax2":
            row.update(devinfo_secret=_secret(rng), devinfo_dial=f"IAX2/{ext}")
        rows.append(row)
    if count > 20:
        rows[3].update(action="del")
        rows[6].update(devinfo_port="5O60")  # a typo: the letter O
    return FREEPBX2_HEADER, [[row[h] for h in FREEPBX2_HEADER] for row in rows]


def switchvox_rows(count: int, seed: int = 8) -> tuple[list[str], list[list[str]]]:
    rng = random.Random(seed)
    rows = []
    for i in range(count):
        first, last = _person(rng)
        virtual = i % 12 == 5
        rows.append(
            [
                str(100 + i), first, last, f"{first[0].lower()}{last.lower()}@example.com",
                rng.choice(("Sales", "Support", "Engineer", "")), rng.choice(("HQ", "Remote")),
                _secret(rng), str(rng.randrange(1000, 9999)), "" if virtual else _secret(rng),
                "" if virtual else f"000FD30{rng.randrange(16**5):05X}",
                "virtual" if virtual else "sip",
            ]
        )  # fmt: skip
    if count > 20:
        rows[3][0] = rows[2][0]  # edited by hand: one extension number twice
    return SWITCHVOX_HEADER, rows


def write(path: Path, header: list[str], rows: list[list[str]]) -> Path:
    """Write as these systems do: UTF-8 CSV, every field as the csv module quotes it."""
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)
    return path
