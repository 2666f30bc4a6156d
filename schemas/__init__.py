"""The sip_endpoint parameter table as code: domains, the table, and the sheet schema."""

from .domains import CODECS, MASK, Domain
from .params import (
    ID_COLUMNS,
    PARAMETERS,
    SECRET_FIELDS,
    Param,
    check_wire_value,
    from_wire,
    to_wire,
)

__all__ = [
    "CODECS",
    "ID_COLUMNS",
    "MASK",
    "PARAMETERS",
    "SECRET_FIELDS",
    "Domain",
    "Param",
    "check_wire_value",
    "from_wire",
    "to_wire",
]
