"""Checks of deploy/observability/: the Prometheus rules (`promtool check
rules` and the `promtool test rules` unit tests), the scrape configs against
the ports the deploy files give `--metrics-port`, the Grafana dashboards'
shape, the compose file's optional Prometheus and Grafana, and — against
the real executables — that every metric the dashboards and rules query is
one the executables export.

The executables are the release build's, or CARAVAN_BIN_DIR's (as the rest
of Tests/deploy). The metric check runs trade on PostgreSQL
(CARAVAN_TEST_POSTGRES_URL, which `.ci/run` sets) so that the pool's
metrics are exported too.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import urllib.request
import uuid
from pathlib import Path

import pytest
import yaml

from release_system import (
    SERVICE_NAMES,
    call,
    release_bin,
    servers,  # noqa: F401 (a fixture)
    wait_serving,
)

ROOT = Path(__file__).resolve().parents[2]
OBSERVABILITY = ROOT / "deploy" / "observability"
PROMETHEUS = OBSERVABILITY / "prometheus"
DASHBOARDS = OBSERVABILITY / "grafana" / "dashboards"
METRICS_PORTS = {"gateway": 9100, "trade": 9101, "logistics": 9102, "training": 9103}
# Series Prometheus makes itself rather than scraping them.
PROMETHEUS_OWN = {"up", "scrape_duration_seconds", "scrape_samples_scraped"}


def promtool() -> str:
    path = shutil.which("promtool")
    if path is None:
        pytest.skip("promtool is not installed (Debian's prometheus package; Tests/deploy/run.sh installs it)")
    return path


def run(command: list[str]) -> subprocess.CompletedProcess:
    return subprocess.run(command, capture_output=True, text=True, timeout=120)


# ------------------------------------------------------------------ promtool

def test_promtool_check_rules():
    result = run([promtool(), "check", "rules", str(PROMETHEUS / "alerts.yml")])
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("config", ["prometheus.yml", "prometheus-compose.yml"])
def test_promtool_check_config(config):
    result = run([promtool(), "check", "config", str(PROMETHEUS / config)])
    assert result.returncode == 0, result.stdout + result.stderr


def test_promtool_test_rules():
    """Each alert fires on its synthetic fault and stays quiet on the
    healthy series beside it (alerts_test.yml)."""
    result = run([promtool(), "test", "rules", str(PROMETHEUS / "alerts_test.yml")])
    assert result.returncode == 0, result.stdout + result.stderr


def test_promtool_test_rules_catches_a_broken_rule(tmp_path):
    """The unit tests fail when an alert's threshold is wrong."""
    rules = (PROMETHEUS / "alerts.yml").read_text()
    assert "caravan:rpc_server_errors:ratio_rate5m > 0.05" in rules
    (tmp_path / "alerts.yml").write_text(rules.replace("ratio_rate5m > 0.05", "ratio_rate5m > 0.5"))
    shutil.copy(PROMETHEUS / "alerts_test.yml", tmp_path)
    result = run([promtool(), "test", "rules", str(tmp_path / "alerts_test.yml")])
    assert result.returncode != 0, result.stdout
    assert "CaravanHighErrorRatio" in result.stdout + result.stderr


# ------------------------------------------------------------ scrape configs

def scrape_targets(config: str) -> dict[str, str]:
    """service label → target, from a scrape config's `caravan` job."""
    document = yaml.safe_load((PROMETHEUS / config).read_text())
    assert document["rule_files"] == ["alerts.yml"]
    (job,) = [job for job in document["scrape_configs"] if job["job_name"] == "caravan"]
    targets = {}
    for static in job["static_configs"]:
        (target,) = static["targets"]
        targets[static["labels"]["service"]] = target
    return targets


def env_value(path: Path, key: str) -> str:
    for line in path.read_text().splitlines():
        if line.startswith(f"{key}="):
            return line.split("=", 1)[1]
    raise AssertionError(f"{path} sets no {key}")


def test_local_scrape_config_matches_the_systemd_metrics_ports():
    targets = scrape_targets("prometheus.yml")
    assert set(targets) == set(METRICS_PORTS)
    for service, port in METRICS_PORTS.items():
        env = ROOT / "deploy" / "systemd" / "env" / f"{service}.env"
        assert env_value(env, f"CARAVAN_{service.upper()}_METRICS_PORT") == str(port)
        assert targets[service] == f"127.0.0.1:{port}"


def load_compose() -> dict:
    return yaml.safe_load((ROOT / "deploy" / "container" / "compose.yaml").read_text())


def test_compose_scrape_config_matches_the_compose_services():
    compose = load_compose()["services"]
    targets = scrape_targets("prometheus-compose.yml")
    assert set(targets) == set(METRICS_PORTS)
    for service, port in METRICS_PORTS.items():
        assert compose[service]["environment"][f"CARAVAN_{service.upper()}_METRICS_PORT"] == str(port)
        assert targets[service] == f"{service}:{port}"


def test_compose_observability_profile():
    """Prometheus and Grafana start only with the profile, and mount files
    that exist, at the paths the provisioning and the command expect."""
    compose = load_compose()
    services = compose["services"]
    container_dir = ROOT / "deploy" / "container"
    for name in ("prometheus", "grafana"):
        assert services[name]["profiles"] == ["observability"]
        for volume in services[name]["volumes"]:
            source = volume.split(":")[0]
            if source.startswith("."):
                assert (container_dir / source).resolve().is_dir(), volume
            else:
                assert source in compose["volumes"], volume
    prometheus = services["prometheus"]
    assert "../observability/prometheus:/etc/prometheus:ro" in prometheus["volumes"]
    assert "--config.file=/etc/prometheus/prometheus-compose.yml" in prometheus["command"]
    provider = yaml.safe_load((OBSERVABILITY / "grafana" / "provisioning" / "dashboards" / "caravan.yml").read_text())
    path = provider["providers"][0]["options"]["path"]
    assert f"../observability/grafana/dashboards:{path}:ro" in services["grafana"]["volumes"]
    assert "../observability/grafana/provisioning:/etc/grafana/provisioning:ro" in services["grafana"]["volumes"]
    datasource = yaml.safe_load(
        (OBSERVABILITY / "grafana" / "provisioning" / "datasources" / "caravan.yml").read_text())
    assert datasource["datasources"][0]["url"] == "http://prometheus:9090"
    assert datasource["datasources"][0]["type"] == "prometheus"


# ---------------------------------------------------------------- dashboards

def dashboards() -> dict[str, dict]:
    return {path.name: json.loads(path.read_text()) for path in sorted(DASHBOARDS.glob("*.json"))}


def panels(dashboard: dict) -> list[dict]:
    found = []
    for panel in dashboard["panels"]:
        found.append(panel)
        found.extend(panel.get("panels", []))
    return found


def test_dashboards_shape():
    """One dashboard for the services (chosen by $service), one for the
    gateway; unique uids and panel ids; every query panel asks Prometheus
    through the $datasource variable; the sections the issue asks for."""
    boards = dashboards()
    assert set(boards) == {"caravan-service.json", "caravan-gateway.json"}
    assert len({board["uid"] for board in boards.values()}) == len(boards)
    for name, board in boards.items():
        ids = [panel["id"] for panel in panels(board)]
        assert len(ids) == len(set(ids)), name
        variables = {variable["name"]: variable for variable in board["templating"]["list"]}
        assert variables["datasource"]["type"] == "datasource" and variables["datasource"]["query"] == "prometheus"
        for panel in panels(board):
            if panel["type"] == "row":
                continue
            assert panel["datasource"]["uid"] == "${datasource}", (name, panel["title"])
            assert panel["targets"] and all(target["expr"].strip() for target in panel["targets"]), panel["title"]
    service = boards["caravan-service.json"]
    assert "service" in {variable["name"] for variable in service["templating"]["list"]}
    for panel in panels(service):
        for target in panel.get("targets", []):
            assert 'service="$service"' in target["expr"], (panel["title"], target["expr"])
    exprs = {name: " ".join(target["expr"] for panel in panels(board) for target in panel.get("targets", []))
             for name, board in boards.items()}
    for name in boards:
        assert "histogram_quantile(0.99" in exprs[name] and "caravan_rpc_server_rejected_total" in exprs[name]
        assert "caravan_rpc_server_in_flight" in exprs[name] and "caravan_tcp_connections" in exprs[name]
    for metric in ("caravan_db_pool_connections_open", "caravan_db_pool_waiting", "caravan_db_pool_acquire_seconds_bucket",
                   "caravan_db_pool_connect_failures_total"):
        assert metric in exprs["caravan-service.json"], metric
    for metric in ("caravan_gateway_replica_healthy", "caravan_gateway_replica_ejected", "caravan_gateway_ejections_total",
                   "caravan_gateway_retries_total", "caravan_gateway_retry_budget_drops_total"):
        assert metric in exprs["caravan-gateway.json"], metric


# ------------------------------------------- the names the executables export

METRIC_NAME = re.compile(r"(?<![\w:$])(caravan_[a-z0-9_]+|up)\b(?!\s*\()")


def referenced_metrics(expression: str) -> set[str]:
    """The metric names a PromQL expression reads: Caravan's (caravan_…)
    and Prometheus's own `up`. Label values, strings and recording rules
    (caravan:…) are not metric names of the executables."""
    without_strings = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expression)
    return set(METRIC_NAME.findall(without_strings))


def test_referenced_metrics_reads_names_not_labels():
    expression = ('histogram_quantile(0.99, sum by (le) (rate(caravan_rpc_server_duration_seconds_bucket'
                  '{service="$service", method!~"caravan_not_a_metric"}[5m]))) / up{job="caravan"} '
                  '+ caravan:rpc_server_errors:ratio_rate5m')
    assert referenced_metrics(expression) == {"caravan_rpc_server_duration_seconds_bucket", "up"}


def queried_metrics() -> dict[str, set[str]]:
    """Metric name → where it is queried (dashboard panel or rule)."""
    where: dict[str, set[str]] = {}
    for name, board in dashboards().items():
        for panel in panels(board):
            for target in panel.get("targets", []):
                for metric in referenced_metrics(target["expr"]):
                    where.setdefault(metric, set()).add(f"{name}: {panel['title']}")
        for variable in board["templating"]["list"]:
            if variable["type"] == "query":
                for metric in referenced_metrics(variable["definition"]):
                    where.setdefault(metric, set()).add(f"{name}: variable {variable['name']}")
    rules = yaml.safe_load((PROMETHEUS / "alerts.yml").read_text())
    for group in rules["groups"]:
        for rule in group["rules"]:
            for metric in referenced_metrics(rule["expr"]):
                where.setdefault(metric, set()).add(f"alerts.yml: {rule.get('alert') or rule.get('record')}")
    return where


def exposition_names(text: str) -> tuple[set[str], dict[str, str]]:
    """The sample names in a Prometheus text exposition, and each family's type."""
    samples, types = set(), {}
    for line in text.splitlines():
        if line.startswith("# TYPE "):
            _, _, family, kind = line.split(maxsplit=3)
            types[family] = kind
        elif line and not line.startswith("#"):
            samples.add(re.split(r"[{ ]", line, maxsplit=1)[0])
    return samples, types


def documented_metrics() -> dict[str, str]:
    """Metric name → type, from docs/OBSERVABILITY.md's table."""
    text = (ROOT / "docs" / "OBSERVABILITY.md").read_text()
    return dict(re.findall(r"^\| `(caravan_[a-z0-9_]+)` \| (counter|gauge|histogram) \|", text, re.M))


def scrape(address: str) -> str:
    with urllib.request.urlopen(f"http://{address}/metrics", timeout=10) as response:
        return response.read().decode()


def create_database(admin_url: str) -> str:
    """A fresh database on the test PostgreSQL; returns its URL."""
    name = f"caravan_metrics_{uuid.uuid4().hex[:12]}"
    psql = shutil.which("psql")
    if psql is None:
        pytest.skip("psql is not installed (Debian's postgresql-client)")
    result = run([psql, admin_url, "-v", "ON_ERROR_STOP=1", "-c", f"CREATE DATABASE {name}"])
    assert result.returncode == 0, result.stderr
    return admin_url.rsplit("/", 1)[0] + "/" + name, name


def drop_database(admin_url: str, name: str) -> None:
    run([shutil.which("psql"), admin_url, "-c", f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"])


def test_dashboards_and_rules_query_only_exported_metrics(servers, tmp_path):
    """Starts the system (trade on PostgreSQL), makes calls through the
    gateway over RPC and HTTP, scrapes every /metrics endpoint, and fails
    naming any metric a dashboard or rule queries that no executable
    exports — `_bucket`, `_sum` and `_count` as the samples of a histogram.
    Every metric docs/OBSERVABILITY.md lists is exported too, as the type
    it says."""
    bin_dir = release_bin()
    admin_url = os.environ.get("CARAVAN_TEST_POSTGRES_URL")
    if not admin_url:
        pytest.skip("no PostgreSQL for trade's pool metrics: set CARAVAN_TEST_POSTGRES_URL "
                    "(eval \"$(Tests/postgres/start.sh)\"; .ci/run does)")
    database_url, database = create_database(admin_url)
    try:
        backends = {}
        for name in SERVICE_NAMES:
            storage = ["--database", database_url] if name == "trade" else ["--data-dir", str(tmp_path / name)]
            server = servers.start(name, [str(bin_dir / f"caravan-{name}"), "--port", "0", "--metrics-port", "0",
                                          "--log-level", "info", *storage])
            backends[name] = (server.announced(), server.announced("metrics on"))
            wait_serving(bin_dir, server, backends[name][0])
        gateway = servers.start("gateway", [
            str(bin_dir / "caravan-gateway"), "--port", "0", "--http-port", "0", "--metrics-port", "0",
            "--log-level", "info", *[arg for name, (address, _) in backends.items() for arg in (f"--{name}", address)]])
        gateway_address = gateway.announced()
        http = gateway.announced("HTTP on")
        gateway_metrics = gateway.announced("metrics on")
        wait_serving(bin_dir, gateway, gateway_address)

        answer = call(bin_dir, gateway_address, "caravan.trade.v1.TradeService/GetSummary", {"year": 2024})
        assert answer.returncode == 0, answer.stderr
        request = urllib.request.Request(
            f"http://{http}/v1/caravan.trade.v1.TradeService/GetSummary", data=b'{"year":2024}',
            headers={"Content-Type": "application/json"}, method="POST")
        with urllib.request.urlopen(request, timeout=10) as response:
            assert response.status == 200
        answer = call(bin_dir, gateway_address, "caravan.logistics.v1.LogisticsService/FindRoute",
                      {"fromCityId": "xian", "toCityId": "duisburg"})
        assert answer.returncode == 0, answer.stderr

        exported: set[str] = set()
        types: dict[str, str] = {}
        endpoints = {"gateway": gateway_metrics, **{name: metrics for name, (_, metrics) in backends.items()}}
        for name, address in endpoints.items():
            samples, kinds = exposition_names(scrape(address))
            assert samples, f"{name} exported nothing at {address}"
            exported |= samples
            types.update(kinds)
    finally:
        servers.stop_all()
        drop_database(admin_url, database)

    queried = queried_metrics()
    assert any(name.startswith("caravan_db_pool_") for name in queried)
    missing = {name: sorted(where) for name, where in queried.items()
               if name not in exported and name not in PROMETHEUS_OWN}
    assert not missing, "queried but not exported by any executable:\n" + "\n".join(
        f"  {name}: {', '.join(where)}" for name, where in sorted(missing.items()))
    documented = documented_metrics()
    assert "caravan_db_pool_waiting" in documented and "caravan_rpc_server_started_total" in documented
    undocumented_exports = {name for name, kind in documented.items()
                            if (f"{name}_bucket" if kind == "histogram" else name) not in exported}
    assert not undocumented_exports, f"docs/OBSERVABILITY.md lists metrics no executable exports: {undocumented_exports}"
    for name, kind in documented.items():
        assert types.get(name) == kind, f"docs/OBSERVABILITY.md calls {name} a {kind}; it is exported as {types.get(name)}"
    for name in queried:
        for suffix in ("_bucket", "_sum", "_count"):
            if name.endswith(suffix):
                family = name[: -len(suffix)]
                assert types.get(family) == "histogram", f"{name} is queried as a histogram's; {family} is {types.get(family)}"
