"""Inventory: a fleet's gateways from a TOML file, checked before any call, and selectors."""

from __future__ import annotations

from pathlib import Path

import pytest

from importer.errors import InputError
from importer.gateways.inventory import UnknownGateway, load_inventory, route

INVENTORY = """
[defaults]
concurrency = 8
user_env = "FLEET_USER"
password_env = "FLEET_PASSWORD"
read_timeout = 10

[gateways.lon-1]
url = "https://10.0.0.5/"
tags = ["London", "g400"]
password_env = "GW_LON1_PASSWORD"
ca_bundle = "certs/lon.pem"

[gateways.lon-2]
url = "http://10.0.0.6"
tags = ["london"]
concurrency = 4
fixed_concurrency = true

[gateways.par-1]
url = "http://10.0.1.5:8080"
tags = ["paris", "g400"]
max_rps = 50
"""


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FLEET_USER", "admin")
    monkeypatch.setenv("FLEET_PASSWORD", "fleet-pw")
    monkeypatch.setenv("GW_LON1_PASSWORD", "lon1-pw")


def write(tmp_path: Path, text: str = INVENTORY) -> Path:
    (tmp_path / "certs").mkdir(exist_ok=True)
    (tmp_path / "certs" / "lon.pem").write_text("a CA")
    path = tmp_path / "fleet.toml"
    path.write_text(text)
    return path


@pytest.mark.usefixtures("env")
def test_defaults_apply_and_each_gateway_overrides_them(tmp_path: Path) -> None:
    inventory = load_inventory(write(tmp_path))
    assert [g.name for g in inventory.gateways] == ["lon-1", "lon-2", "par-1"]
    lon1, lon2, par1 = inventory.gateways
    assert lon1.tags == {"london", "g400"}
    assert lon1.settings.url == "https://10.0.0.5"
    assert (lon1.settings.credentials.user, lon1.settings.credentials.password) == (
        "admin",
        "lon1-pw",
    )
    assert lon1.settings.verify == str(tmp_path / "certs" / "lon.pem")
    assert (lon1.settings.concurrency, lon1.settings.read_timeout) == (8, 10.0)
    assert lon2.settings.credentials.password == "fleet-pw"
    assert (lon2.settings.concurrency, lon2.settings.fixed_concurrency) == (4, True)
    assert lon2.settings.verify is True
    assert (par1.settings.max_rps, par1.settings.url) == (50.0, "http://10.0.1.5:8080")
    assert "fleet-pw" not in repr(inventory)


@pytest.mark.usefixtures("env")
@pytest.mark.parametrize(
    ("selector", "names"),
    [
        ("lon-1", ["lon-1"]),
        ("PAR-1, lon-1", ["lon-1", "par-1"]),
        ("tag:london", ["lon-1", "lon-2"]),
        ("tag:G400,lon-2", ["lon-1", "lon-2", "par-1"]),
        ("*", ["lon-1", "lon-2", "par-1"]),
        ("lon-1,lon-1", ["lon-1"]),
    ],
)
def test_selectors(tmp_path: Path, selector: str, names: list[str]) -> None:
    inventory = load_inventory(write(tmp_path))
    assert [g.name for g in inventory.select(selector)] == names


@pytest.mark.usefixtures("env")
@pytest.mark.parametrize(
    ("selector", "message"),
    [
        ("lon-3", "no gateway is named 'lon-3'"),
        ("lon-1,tag:berlin", "no gateway has the tag 'berlin'"),
        (" , ", "no gateway named (the selector is empty)"),
    ],
)
def test_a_selector_naming_nothing_says_what(tmp_path: Path, selector: str, message: str) -> None:
    inventory = load_inventory(write(tmp_path))
    with pytest.raises(UnknownGateway) as caught:
        inventory.select(selector)
    assert str(caught.value) == message


@pytest.mark.usefixtures("env")
def test_route_gives_each_cell_its_gateways_or_the_reason(tmp_path: Path) -> None:
    inventory = load_inventory(write(tmp_path))
    routes = route(["lon-1", "tag:paris", "nowhere", "lon-1"], inventory)
    assert [r if isinstance(r, str) else [g.name for g in r] for r in routes] == [
        ["lon-1"],
        ["par-1"],
        "no gateway is named 'nowhere'",
        ["lon-1"],
    ]


@pytest.mark.usefixtures("env")
@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            ("fixed_concurrency = true", "fixed_concurency = true"),
            "gateway 'lon-2': unknown key 'fixed_concurency' (known: api_path, body, "
            "breaker_threshold, ca_bundle, concurrency, connect_timeout, fixed_concurrency, "
            "insecure, login_path, max_rps, password_env, pool_timeout, read_timeout, "
            "retry_attempts, retry_timeout, tags, url, user_env)",
        ),
        (
            ('password_env = "GW_LON1_PASSWORD"', 'password_env = "GW_NOPE"'),
            "gateway 'lon-1': the environment variable GW_NOPE is not set",
        ),
        (
            ("[gateways.par-1]", "[gateways.LON-1]"),
            "gateway 'LON-1': the name is given twice (also as 'lon-1')",
        ),
        (
            ('url = "http://10.0.0.6"', 'url = "10.0.0.6"'),
            "gateway 'lon-2': gateway address '10.0.0.6' is not a URL such as https://10.0.0.5",
        ),
        (
            ('url = "http://10.0.0.6"', 'url = "http://admin:pw@10.0.0.6"'),
            "gateway 'lon-2': put the gateway credentials in environment variables, not in the URL",
        ),
        (('url = "http://10.0.0.6"', ""), "gateway 'lon-2': url is missing"),
        (("concurrency = 4", "concurrency = 0"), "gateway 'lon-2': concurrency must be at least 1"),
        (
            ("concurrency = 4", 'concurrency = "4"'),
            "gateway 'lon-2': concurrency must be a whole number",
        ),
        (("max_rps = 50", "max_rps = -1"), "gateway 'par-1': max_rps must be above 0"),
        (
            ('tags = ["london"]', 'tags = "london"'),
            "gateway 'lon-2': tags must be a list of names",
        ),
        (
            ('ca_bundle = "certs/lon.pem"', 'ca_bundle = "certs/none.pem"'),
            "gateway 'lon-1': CA bundle {tmp}/certs/none.pem does not exist",
        ),
        (
            ("[gateways.par-1]", "[gateways.'par 1']"),
            "gateway 'par 1': a gateway name may hold ASCII letters, digits and . _ - (64 at most)",
        ),
        (
            ("read_timeout = 10", 'url = "http://x"'),
            "[defaults]: unknown key 'url' (known: "
            "api_path, body, breaker_threshold, ca_bundle, concurrency, connect_timeout, "
            "fixed_concurrency, insecure, login_path, max_rps, password_env, pool_timeout, "
            "read_timeout, retry_attempts, retry_timeout, tags, url, user_env)",
        ),
    ],
)
def test_a_mistake_is_one_line_naming_the_file_and_gateway(
    tmp_path: Path, change: tuple[str, str], message: str
) -> None:
    old, new = change
    assert old in INVENTORY
    path = write(tmp_path, INVENTORY.replace(old, new, 1))
    with pytest.raises(InputError) as caught:
        load_inventory(path)
    assert str(caught.value) == f"inventory {path}: " + message.format(tmp=tmp_path)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[defaults]\nconcurrency = 8\n", "{path} lists no gateway (add a [gateways.NAME] table)"),
        (
            "[gateway.a]\nurl = 'http://x'\n",
            "{path}: unknown table 'gateway' (known: defaults, gateways)",
        ),
        (
            "[gateways.a\n",
            "{path} is not valid TOML: Expected ']' at the end of a table declaration (at line 1, column 12)",
        ),
    ],
)
def test_an_unusable_file_is_one_line(tmp_path: Path, text: str, message: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(InputError) as caught:
        load_inventory(path)
    assert str(caught.value) == message.format(path=f"inventory {path}")


def test_a_missing_file_is_one_line(tmp_path: Path) -> None:
    with pytest.raises(InputError) as caught:
        load_inventory(tmp_path / "none.toml")
    assert str(caught.value) == f"inventory {tmp_path / 'none.toml'} does not exist"
