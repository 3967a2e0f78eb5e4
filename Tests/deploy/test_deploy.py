"""Checks of deploy/: systemd units, container files, Kubernetes manifests,
the local run scripts, and docs/DEPLOYMENT.md against the executables' flags.

Run by Tests/deploy/run.sh (which installs the tools); each check that needs
a missing tool is skipped with the reason, never passed silently.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
import urllib.request
from pathlib import Path

import pytest
import yaml

from release_system import alive, as_from_a_terminal, free_port, http_json, release_bin

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
BACKENDS = {"trade": 7001, "logistics": 7002, "training": 7003}
SERVICES = {**BACKENDS, "gateway": 7000}
KUBERNETES_VERSION = "1.31.0"  # the schemas the manifests are validated against
DRAIN_GRACE_SECONDS = 10  # ServerConfiguration.shutdownGracePeriod's default


def run(command, **kwargs):
    kwargs.setdefault("capture_output", True)
    kwargs.setdefault("text", True)
    kwargs.setdefault("timeout", 120)
    return subprocess.run(command, **kwargs)


def need(tool: str) -> str:
    path = shutil.which(tool)
    if path is None:
        pytest.skip(f"{tool} is not installed (Tests/deploy/run.sh installs it)")
    return path


# --------------------------------------------------------------------- systemd

def unit_path(service: str) -> Path:
    return DEPLOY / "systemd" / f"caravan-{service}.service"


def parse_unit(path: Path) -> dict[str, list[str]]:
    """Key → every value (sections flattened; keys are unique enough here)."""
    values: dict[str, list[str]] = {}
    for line in path.read_text().splitlines():
        line = line.strip()
        if not line or line.startswith(("#", ";", "[")):
            continue
        key, _, value = line.partition("=")
        values.setdefault(key.strip(), []).append(value.strip())
    return values


def systemd_verify(unit_text: str, name: str, executable_exists: bool = True,
                   drop_ins: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    """`systemd-analyze verify` on UNIT_TEXT saved as NAME (with DROP_INS,
    file name → text, in NAME.d/ beside it, where systemd reads them), its
    ExecStart binary (under /usr/local/bin/) pointed at a real executable
    stub. Returns the process; a unit passes only with exit 0 and no output
    at all."""
    drop_ins = drop_ins or {}
    with tempfile.TemporaryDirectory() as directory:
        bin_dir = Path(directory, "bin")
        bin_dir.mkdir()
        for executable in re.findall(r"/usr/local/bin/([\w.-]+)", unit_text + "".join(drop_ins.values())):
            if executable_exists:
                stub = bin_dir / executable
                stub.write_text("#!/bin/sh\nexit 0\n")
                stub.chmod(0o755)
        unit = Path(directory, name)
        unit.write_text(unit_text.replace("/usr/local/bin/", f"{bin_dir}/"))
        if drop_ins:
            Path(directory, f"{name}.d").mkdir()
        for file_name, text in drop_ins.items():
            Path(directory, f"{name}.d", file_name).write_text(text.replace("/usr/local/bin/", f"{bin_dir}/"))
        return run(["systemd-analyze", "verify", "--man=no", "--generators=no", str(unit)])


def assert_verified(result: subprocess.CompletedProcess) -> None:
    output = (result.stdout + result.stderr).strip()
    assert result.returncode == 0 and not output, f"systemd-analyze verify: rc={result.returncode}\n{output}"


@pytest.mark.parametrize("service", SERVICES)
def test_systemd_unit_verifies(service):
    need("systemd-analyze")
    assert_verified(systemd_verify(unit_path(service).read_text(), unit_path(service).name))


def test_systemd_verify_catches_broken_units():
    """The check above must be able to fail: an unknown key, a bad value and
    a missing executable each make it fail."""
    need("systemd-analyze")
    good = unit_path("trade").read_text()
    name = unit_path("trade").name
    broken = {
        "unknown key": good.replace("[Service]\n", "[Service]\nProtectSystm=strict\n"),
        "bad value": good.replace("Restart=on-failure", "Restart=sometimes"),
        "bad section": good.replace("[Install]", "[Instal]"),
    }
    for what, text in broken.items():
        assert text != good, what
        with pytest.raises(AssertionError):
            assert_verified(systemd_verify(text, name))
    with pytest.raises(AssertionError):
        assert_verified(systemd_verify(good, name, executable_exists=False))


@pytest.mark.parametrize("service", SERVICES)
def test_systemd_unit_is_hardened(service):
    unit = parse_unit(unit_path(service))
    first = {key: values[-1] for key, values in unit.items()}
    assert first.get("DynamicUser") == "yes" or first.get("User") == "caravan"
    for key, value in {
        "ProtectSystem": "strict",
        "NoNewPrivileges": "yes",
        "PrivateTmp": "yes",
        "ProtectHome": "yes",
        "Restart": "on-failure",
        "KillSignal": "SIGTERM",
        "CapabilityBoundingSet": "",
    }.items():
        assert first.get(key) == value, f"{key}={first.get(key)!r}"
    assert set(first["RestrictAddressFamilies"].split()) <= {"AF_INET", "AF_INET6", "AF_UNIX"}
    stop = re.fullmatch(r"(\d+)s", first["TimeoutStopSec"])
    assert stop and int(stop.group(1)) > DRAIN_GRACE_SECONDS + 5
    assert f"-/etc/caravan/{service}.env" in unit["EnvironmentFile"]
    exec_start = first["ExecStart"]
    assert exec_start.startswith(f"/usr/local/bin/caravan-{service} ")
    if service in BACKENDS:
        assert first["StateDirectory"] == f"caravan/{service}"
        assert "--data-dir ${STATE_DIRECTORY}" in exec_start
    else:
        for backend in BACKENDS:
            assert f"--{backend} ${{CARAVAN_GATEWAY_{backend.upper()}}}" in exec_start


@pytest.mark.parametrize("service", SERVICES)
def test_systemd_exposure_is_low(service):
    """systemd's own hardening score (0 = locked down, 10 = exposed) stays
    at or under 2.0; a unit with no hardening scores 9.6 and fails this."""
    need("systemd-analyze")
    with tempfile.TemporaryDirectory() as directory:
        unit = Path(directory, unit_path(service).name)
        unit.write_text(unit_path(service).read_text())
        result = run(["systemd-analyze", "security", "--offline=yes", "--threshold=20", str(unit)])
        assert result.returncode == 0, result.stdout[-2000:] + result.stderr


def postgres_drop_in(service: str) -> Path:
    return DEPLOY / "systemd" / "postgres" / f"{service}.conf"


@pytest.mark.parametrize("service", BACKENDS)
def test_systemd_postgres_drop_in(service):
    """The drop-in that puts a backend on PostgreSQL verifies with its unit,
    keeps the unit's hardening score, and leaves ExecStart without
    --data-dir (the executable refuses it beside a database). Without its
    `ExecStart=` reset the unit would have two ExecStart lines: verify
    fails, so it does read the drop-in."""
    need("systemd-analyze")
    unit = unit_path(service)
    drop_in = postgres_drop_in(service).read_text()
    assert_verified(systemd_verify(unit.read_text(), unit.name, drop_ins={"postgres.conf": drop_in}))
    starts = [line.partition("=")[2].strip() for line in drop_in.splitlines() if line.startswith("ExecStart=")]
    assert starts[0] == "" and len(starts) == 2, starts
    assert starts[1].startswith(f"/usr/local/bin/caravan-{service} ") and "--data-dir" not in starts[1]
    assert f"$CARAVAN_{service.upper()}_ARGS" in starts[1]
    with pytest.raises(AssertionError):
        unreset = drop_in.replace("ExecStart=\n", "")
        assert_verified(systemd_verify(unit.read_text(), unit.name, drop_ins={"postgres.conf": unreset}))
    with tempfile.TemporaryDirectory() as directory:
        merged = Path(directory, unit.name)
        merged.write_text(unit.read_text() + "\n" + drop_in)
        result = run(["systemd-analyze", "security", "--offline=yes", "--threshold=20", str(merged)])
        assert result.returncode == 0, result.stdout[-2000:] + result.stderr


@pytest.mark.parametrize("service", SERVICES)
def test_systemd_environment_file_example(service):
    path = DEPLOY / "systemd" / "env" / f"{service}.env"
    prefix = f"CARAVAN_{service.upper()}_"
    names = set()
    for line in path.read_text().splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        name, equals, _ = line.partition("=")
        assert equals and re.fullmatch(r"[A-Z0-9_]+", name), f"not NAME=value: {line!r}"
        assert name.startswith(prefix), name
        names.add(name)
    assert {prefix + "HOST", prefix + "PORT", prefix + "LOG_LEVEL", prefix + "ARGS"} <= names
    port = re.search(rf"^{prefix}PORT=(\d+)$", path.read_text(), re.M)
    assert port and int(port.group(1)) == SERVICES[service]
    if service in BACKENDS:
        # PostgreSQL: commented examples, off by default (SQLite stays the default).
        for name in ("DATABASE_URL", "DATABASE_POOL_SIZE", "DATABASE_TIMEOUT"):
            assert re.search(rf"^#{prefix}{name}=\S", path.read_text(), re.M), name
        url = re.search(rf"^#{prefix}DATABASE_URL=(\S+)$", path.read_text(), re.M).group(1)
        assert url.startswith("postgres://") and f"/caravan_{service}?" in url and "CHANGE-ME" in url
        assert f"deploy/systemd/postgres/{service}.conf" in path.read_text()


# ------------------------------------------------------------------ containers

CONTAINER = DEPLOY / "container"


def test_dockerfile_shape():
    text = (CONTAINER / "Dockerfile").read_text()
    stages = re.findall(r"^FROM\s+(\S+)", text, re.M)
    assert len(stages) == 2
    assert re.fullmatch(r"swift:\$\{SWIFT_VERSION\}-bookworm", stages[0])
    assert re.search(r"^ARG SWIFT_VERSION=6\.\d+$", text, re.M)
    assert stages[1] == "debian:bookworm-slim"
    assert "libprotobuf-c1" in text and "libsqlite3-0" in text
    assert re.search(r"^ARG SERVICE=", text, re.M)
    user = re.findall(r"^USER\s+(\S+)", text, re.M)
    assert user and not user[-1].startswith(("root", "0"))
    assert re.search(r"^HEALTHCHECK .*caravan-healthcheck", text, re.M)
    assert "caravan health" in (CONTAINER / "healthcheck.sh").read_text()
    # The entry point's demo data: the repository's script, where the entry point looks for it.
    assert re.search(r"^COPY deploy/demo-data\.sh /usr/local/bin/caravan-demo-data$", text, re.M)
    assert '"$bin_dir/caravan-demo-data"' in (CONTAINER / "entrypoint.sh").read_text()


def test_hadolint():
    hadolint = need("hadolint")
    result = run([hadolint, str(CONTAINER / "Dockerfile")])
    assert result.returncode == 0, result.stdout + result.stderr


def make_fake(directory: Path, name: str, body: str) -> Path:
    path = directory / name
    path.write_text("#!/bin/sh\n" + body)
    path.chmod(0o755)
    return path


@pytest.mark.parametrize("service", SERVICES)
def test_container_entrypoint_and_healthcheck(service, tmp_path):
    """The entry point execs caravan-SERVICE with container defaults (every
    interface, /var/lib/caravan) that the service's variables override; the
    health check probes the service's port with `caravan health`."""
    make_fake(tmp_path, f"caravan-{service}", 'env | grep ^CARAVAN_ | sort; echo "args: $*"\n')
    make_fake(tmp_path, "caravan", 'echo "caravan $*"\n')
    prefix = f"CARAVAN_{service.upper()}_"
    env = {"PATH": os.environ["PATH"], "CARAVAN_SERVICE": service, "CARAVAN_BIN_DIR": str(tmp_path)}
    result = run(["sh", str(CONTAINER / "entrypoint.sh"), "--log-level", "debug"], env=env)
    assert result.returncode == 0, result.stderr
    assert f"{prefix}HOST=0.0.0.0" in result.stdout
    assert ("args: --log-level debug") in result.stdout
    assert (f"{prefix}DATA_DIR=/var/lib/caravan" in result.stdout) == (service in BACKENDS)
    result = run(["sh", str(CONTAINER / "entrypoint.sh")], env={**env, prefix + "HOST": "::"})
    assert f"{prefix}HOST=::" in result.stdout
    if service in BACKENDS:
        # On PostgreSQL no data directory default: the executable refuses
        # --data-dir (or its variable) beside a database.
        result = run(["sh", str(CONTAINER / "entrypoint.sh")], env={**env, prefix + "DATABASE_URL": "postgres://x@db/y"})
        assert f"{prefix}DATABASE_URL=postgres://x@db/y" in result.stdout and "DATA_DIR" not in result.stdout
        for arguments in (["--database", "postgres://x@db/y"], ["--database=postgres://x@db/y"]):
            result = run(["sh", str(CONTAINER / "entrypoint.sh"), *arguments], env=env)
            assert "DATA_DIR" not in result.stdout and f"args: {' '.join(arguments)}" in result.stdout
        result = run(["sh", str(CONTAINER / "entrypoint.sh"), "--database-pool-size", "3"], env=env)
        assert f"{prefix}DATA_DIR=/var/lib/caravan" in result.stdout
    result = run(["sh", str(CONTAINER / "healthcheck.sh")], env=env)
    assert result.stdout.strip() == f"caravan health --timeout 3s 127.0.0.1:{SERVICES[service]}"
    result = run(["sh", str(CONTAINER / "healthcheck.sh")], env={**env, prefix + "PORT": "9999"})
    assert result.stdout.strip().endswith("127.0.0.1:9999")


ENTRYPOINT_FAKE = textwrap.dedent(
    """\
    #!{python}
    # caravan-SERVICE in the image: as a generator it records its arguments
    # in the database it writes; as a server it says how it was started.
    import os, sys
    name = os.path.basename(sys.argv[0]).removeprefix("caravan-")
    arguments = sys.argv[1:]
    if any(argument.startswith("--generate-") for argument in arguments):
        data = arguments[arguments.index("--data-dir") + 1]
        with open(os.path.join(data, name + ".sqlite"), "a") as database:
            database.write(" ".join(arguments) + "\\n")
        sys.exit(0)
    print("serving:", " ".join(arguments))
    """
)


@pytest.mark.parametrize("service", BACKENDS)
def test_container_entrypoint_loads_demo_data_once(service, tmp_path):
    """With CARAVAN_DEMO_DATA=1 (compose's setting) a new volume gets the
    demo data before the server starts, and a restart does not load it
    again; the image alone, a backend on PostgreSQL and a tool's run load
    nothing."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / f"caravan-{service}").write_text(ENTRYPOINT_FAKE.format(python=sys.executable))
    (bin_dir / f"caravan-{service}").chmod(0o755)
    (bin_dir / "caravan-demo-data").symlink_to(DEMO_DATA_SH)
    volume = tmp_path / "volume"
    volume.mkdir()
    prefix = f"CARAVAN_{service.upper()}_"
    entrypoint = ["sh", str(CONTAINER / "entrypoint.sh")]
    env = {"PATH": os.environ["PATH"], "CARAVAN_SERVICE": service, "CARAVAN_BIN_DIR": str(bin_dir),
           prefix + "DATA_DIR": str(volume)}

    result = run(entrypoint, env=env)
    assert result.returncode == 0 and result.stdout.strip() == "serving:", result.stderr
    assert not any(volume.iterdir()), "the image alone (as Kubernetes runs it) loads no demo data"

    env["CARAVAN_DEMO_DATA"] = "1"
    result = run([*entrypoint, "--log-level", "info"], env=env)
    assert result.returncode == 0, result.stdout + result.stderr
    first, *_, last = result.stdout.strip().splitlines()
    assert first.startswith(f"{service}: loaded labelled synthetic demo data") and "CARAVAN_DEMO_DATA=0" in first
    assert last == "serving: --log-level info"
    database = (volume / f"{service}.sqlite").read_text()
    assert "--generate-synthetic-" in database and f"--data-dir {volume}/.demo-data-loading" in database
    assert (volume / "synthetic-demo-data").exists() and not (volume / ".demo-data-loading").exists()

    result = run(entrypoint, env=env)
    assert result.returncode == 0 and result.stdout.strip() == "serving:", result.stdout
    assert (volume / f"{service}.sqlite").read_text() == database, "a restart loaded the demo data again"

    # The data directory given by flag, as the Kubernetes manifests give it.
    for arguments in (["--data-dir", str(tmp_path / "flag")], [f"--data-dir={tmp_path / 'equals'}"]):
        directory = Path(arguments[-1].removeprefix("--data-dir="))
        directory.mkdir()
        result = run([*entrypoint, *arguments], env=env)
        assert result.returncode == 0 and (directory / "synthetic-demo-data").exists(), result.stderr

    fresh = tmp_path / "fresh"
    fresh.mkdir()
    postgres = {**{k: v for k, v in env.items() if k != prefix + "DATA_DIR"}, prefix + "DATABASE_URL": "postgres://x@db/y"}
    result = run(entrypoint, env=postgres)
    assert result.returncode == 0 and "no demo data loaded" in result.stderr and "serving:" in result.stdout
    result = run([*entrypoint, "--help"], env={**env, prefix + "DATA_DIR": str(fresh)})
    assert result.returncode == 0 and not any(fresh.iterdir()), "a tool's run loads no demo data"
    result = run(entrypoint, env={**env, prefix + "DATA_DIR": str(fresh), "CARAVAN_DEMO_DATA": "yes"})
    assert result.returncode == 2 and "CARAVAN_DEMO_DATA must be 1" in result.stderr and "serving" not in result.stdout


def load_compose() -> dict:
    return yaml.safe_load((CONTAINER / "compose.yaml").read_text())


def test_compose_shape():
    compose = load_compose()
    # Prometheus and Grafana run only with the observability profile
    # (test_observability.py checks them).
    services = {name: service for name, service in compose["services"].items()
                if "observability" not in service.get("profiles", [])}
    assert set(services) == set(SERVICES)
    for name, port in SERVICES.items():
        service = services[name]
        assert service["build"]["args"]["SERVICE"] == name
        assert service["build"]["dockerfile"] == "deploy/container/Dockerfile"
        test = service["healthcheck"]["test"]
        assert test[0] == "CMD" and test[1].endswith("/caravan") and test[2] == "health"
        assert test[-1] == f"127.0.0.1:{port}"
        if name in BACKENDS:
            volume = f"{name}-data"
            assert f"{volume}:/var/lib/caravan" in service["volumes"]
            assert volume in compose["volumes"]
            assert service["environment"][f"CARAVAN_{name.upper()}_PORT"] == str(port)
            # Demo data on a new volume unless the user's environment says 0.
            assert service["environment"]["CARAVAN_DEMO_DATA"] == "${CARAVAN_DEMO_DATA:-1}"
        else:
            assert "CARAVAN_DEMO_DATA" not in service["environment"]
    gateway = services["gateway"]
    for backend, port in BACKENDS.items():
        assert gateway["command"][gateway["command"].index(f"--{backend}") + 1] == f"{backend}:{port}"
        assert gateway["depends_on"][backend]["condition"] == "service_healthy"


def compose_command() -> list[str]:
    docker = shutil.which("docker")
    if docker and run([docker, "compose", "version"]).returncode == 0:
        return [docker, "compose"]
    if shutil.which("docker-compose"):
        return ["docker-compose"]
    pytest.skip("neither `docker compose` nor docker-compose is installed")


def test_docker_compose_config():
    """`compose config` parses, interpolates and validates the file against
    the Compose schema; it needs no Docker engine."""
    command = compose_command()
    result = run([*command, "-f", str(CONTAINER / "compose.yaml"), "config", "--quiet"], cwd=ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    broken = load_compose()
    broken["services"]["trade"]["healthcheck"]["retries"] = "many"
    with tempfile.NamedTemporaryFile("w", suffix=".yaml", dir=CONTAINER) as file:
        yaml.safe_dump(broken, file)
        file.flush()
        result = run([*command, "-f", file.name, "config", "--quiet"], cwd=ROOT)
        assert result.returncode != 0, "a broken compose file passed `config`"


def test_compose_demo_data_setting():
    """`compose config` interpolates CARAVAN_DEMO_DATA from the caller's
    environment into each backend: 1 when unset, 0 when told."""
    command = compose_command()
    for given, expected in ((None, "1"), ("0", "0")):
        env = {key: value for key, value in os.environ.items() if key != "CARAVAN_DEMO_DATA"}
        if given is not None:
            env["CARAVAN_DEMO_DATA"] = given
        result = run([*command, "-f", str(CONTAINER / "compose.yaml"), "config"], cwd=ROOT, env=env)
        assert result.returncode == 0, result.stderr
        services = yaml.safe_load(result.stdout)["services"]
        for backend in BACKENDS:
            assert str(services[backend]["environment"]["CARAVAN_DEMO_DATA"]) == expected, (given, backend)


# ------------------------------------------------------------------ Kubernetes

KUBERNETES = DEPLOY / "kubernetes"


def kustomize(directory: Path) -> list[dict]:
    kubectl = need("kubectl")
    result = run([kubectl, "kustomize", str(directory)])
    assert result.returncode == 0, result.stderr
    return [document for document in yaml.safe_load_all(result.stdout) if document]


def kubernetes_validate(documents: list[dict], tmp_path: Path) -> None:
    validator = need("kubernetes-validate")
    path = tmp_path / "manifests.yaml"
    path.write_text(yaml.safe_dump_all(documents))
    result = run([validator, "--strict", "--quiet", "-k", KUBERNETES_VERSION, str(path)])
    assert result.returncode == 0, result.stdout + result.stderr


def by_kind(documents: list[dict]) -> dict[tuple[str, str], dict]:
    return {(document["kind"], document["metadata"]["name"]): document for document in documents}


@pytest.mark.parametrize("overlay", ["base", "overlays/replicas", "overlays/postgres"])
def test_kustomize_builds_and_validates(overlay, tmp_path):
    documents = kustomize(KUBERNETES / overlay)
    kubernetes_validate(documents, tmp_path)
    assert all(document["metadata"].get("namespace", "caravan") == "caravan" for document in documents)


def test_kubernetes_validate_rejects_a_broken_manifest(tmp_path):
    documents = kustomize(KUBERNETES / "base")
    deployment = by_kind(documents)[("Deployment", "trade")]
    deployment["spec"]["template"]["spec"]["containers"][0]["readinessProbe"]["exec"]["comand"] = ["x"]
    with pytest.raises(AssertionError):
        kubernetes_validate(documents, tmp_path)


def test_kubernetes_base_shape():
    resources = by_kind(kustomize(KUBERNETES / "base"))
    for name, port in SERVICES.items():
        deployment = resources[("Deployment", name)]
        pod = deployment["spec"]["template"]["spec"]
        assert pod["securityContext"]["runAsNonRoot"] is True
        (container,) = pod["containers"]
        assert container["securityContext"]["readOnlyRootFilesystem"] is True
        assert container["securityContext"]["allowPrivilegeEscalation"] is False
        assert set(container["resources"]) == {"requests", "limits"}
        for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
            command = container[probe]["exec"]["command"]
            assert command[0].endswith("/caravan") and command[1] == "health", probe
            assert command[-1] == f"127.0.0.1:{port}", probe
        assert pod["terminationGracePeriodSeconds"] > DRAIN_GRACE_SECONDS + 5
        mounts = {mount["mountPath"]: mount["name"] for mount in container["volumeMounts"]}
        volumes = {volume["name"]: volume for volume in pod["volumes"]}
        if name in BACKENDS:
            data = volumes[mounts["/var/lib/caravan"]]
            claim = data["persistentVolumeClaim"]["claimName"]
            assert ("PersistentVolumeClaim", claim) in resources
            args = container["args"]
            assert args[args.index("--data-dir") + 1] == "/var/lib/caravan"
            assert args[args.index("--port") + 1] == str(port)
            assert deployment["spec"]["replicas"] == 1
            assert deployment["spec"]["strategy"]["type"] == "Recreate"
            headless = resources[("Service", f"{name}-replicas")]
            assert headless["spec"]["clusterIP"] == "None"
            assert headless["spec"]["selector"] == deployment["spec"]["selector"]["matchLabels"]
            assert resources[("Service", name)]["spec"]["ports"][0]["port"] == port
        else:
            args = container["args"]
            for backend, backend_port in BACKENDS.items():
                assert args[args.index(f"--{backend}") + 1] == f"{backend}-replicas:{backend_port}"
            service = resources[("Service", "gateway")]
            assert service["spec"]["type"] in ("LoadBalancer", "NodePort")
            assert {port["port"] for port in service["spec"]["ports"]} == {7000, 8080}


COREDNS_TTL_SECONDS = 5  # how long a cluster DNS answer may be cached (CoreDNS's default)


def gateway_resolve_seconds(gateway_args: list[str]) -> int:
    """How often the gateway re-resolves its backends' names: the manifest's
    --resolve-interval, else the pool's default in the source."""
    if "--resolve-interval" in gateway_args:
        text = gateway_args[gateway_args.index("--resolve-interval") + 1]
    else:
        source = ROOT / "Services" / "Gateway" / "CaravanGateway" / "Pool" / "BackendPoolConfiguration.swift"
        match = re.search(r"resolveInterval: Duration = \.seconds\((\d+)\)", source.read_text())
        assert match, "the pool's default resolve interval moved: update this test"
        text = f"{match.group(1)}s"
    match = re.fullmatch(r"(\d+)s", text)
    assert match, f"--resolve-interval {text}: whole seconds expected here"
    return int(match.group(1))


def test_kubernetes_replicas_overlay():
    resources = by_kind(kustomize(KUBERNETES / "overlays/replicas"))
    gateway = resources[("Deployment", "gateway")]
    assert gateway["spec"]["replicas"] >= 2
    resolve = gateway_resolve_seconds(gateway["spec"]["template"]["spec"]["containers"][0]["args"])
    for name in BACKENDS:
        deployment = resources[("Deployment", name)]
        assert deployment["spec"]["replicas"] == 2
        assert deployment["spec"]["strategy"]["type"] == "RollingUpdate"
        # A new pod must be in the gateway's replica set (its next lookup,
        # past the DNS cache) before the rollout takes the last old one down.
        assert deployment["spec"].get("minReadySeconds", 0) > resolve + COREDNS_TTL_SECONDS, name
        (term,) = deployment["spec"]["template"]["spec"]["affinity"]["podAffinity"][
            "requiredDuringSchedulingIgnoredDuringExecution"
        ]
        assert term["topologyKey"] == "kubernetes.io/hostname"
        assert term["labelSelector"]["matchLabels"] == deployment["spec"]["selector"]["matchLabels"]
        # The patch keeps the base's probes and security settings.
        container = deployment["spec"]["template"]["spec"]["containers"][0]
        assert container["readinessProbe"]["exec"]["command"][1] == "health"


def database_secret_refs(container: dict) -> dict[str, dict]:
    """Variable name → its secretKeyRef, for the container's variables taken from Secrets."""
    return {
        variable["name"]: variable["valueFrom"]["secretKeyRef"]
        for variable in container.get("env", [])
        if "secretKeyRef" in variable.get("valueFrom", {})
    }


def test_kubernetes_postgres_overlay():
    """Every backend on PostgreSQL: two or more replicas spread over nodes,
    no volume or --data-dir, its own Secret for the database URL, rolling
    updates that never drop below the replica count; the gateway as in the
    replicas overlay; the base's probes and security settings kept."""
    documents = kustomize(KUBERNETES / "overlays/postgres")
    resources = by_kind(documents)
    assert not [name for kind, name in resources if kind == "PersistentVolumeClaim"]
    gateway = resources[("Deployment", "gateway")]
    replicas_gateway = by_kind(kustomize(KUBERNETES / "overlays/replicas"))[("Deployment", "gateway")]
    assert gateway["spec"] == replicas_gateway["spec"], "the gateway differs from overlays/replicas'"
    resolve = gateway_resolve_seconds(gateway["spec"]["template"]["spec"]["containers"][0]["args"])
    base = by_kind(kustomize(KUBERNETES / "base"))
    secrets = set()
    for name, port in BACKENDS.items():
        deployment = resources[("Deployment", name)]
        spec = deployment["spec"]
        pod = spec["template"]["spec"]
        labels = spec["selector"]["matchLabels"]
        assert spec["replicas"] >= 2, name
        assert spec["strategy"]["type"] == "RollingUpdate"
        assert spec["strategy"]["rollingUpdate"]["maxUnavailable"] == 0
        assert spec.get("minReadySeconds", 0) > resolve + COREDNS_TTL_SECONDS, name
        # Spread over nodes (a hard rule), and nothing ties replicas together.
        assert "podAffinity" not in pod.get("affinity", {})
        by_node = [c for c in pod["topologySpreadConstraints"] if c["topologyKey"] == "kubernetes.io/hostname"]
        assert len(by_node) == 1, pod["topologySpreadConstraints"]
        (by_node,) = by_node
        assert by_node["maxSkew"] == 1 and by_node["whenUnsatisfiable"] == "DoNotSchedule"
        assert by_node["labelSelector"]["matchLabels"] == labels
        # No data on the pod: no claim, no data volume, no --data-dir, no SQLite setting.
        assert all("persistentVolumeClaim" not in volume for volume in pod["volumes"])
        (container,) = pod["containers"]
        assert "/var/lib/caravan" not in {mount["mountPath"] for mount in container["volumeMounts"]}
        args = container["args"]
        assert "--data-dir" not in args and "--database" not in args, "the URL belongs in a Secret"
        assert args[args.index("--port") + 1] == str(port)
        prefix = f"CARAVAN_{name.upper()}_"
        variables = {variable["name"] for variable in container["env"]}
        assert not {prefix + "DATA_DIR", prefix + "SYNC"} & variables
        references = database_secret_refs(container)
        assert set(references) == {prefix + "DATABASE_URL"}, references
        reference = references[prefix + "DATABASE_URL"]
        assert reference["name"] == f"{name}-database" and reference["key"] == "url"
        assert reference.get("optional") is not True
        secrets.add(reference["name"])
        # The base's probes and security settings, unchanged.
        base_pod = base[("Deployment", name)]["spec"]["template"]["spec"]
        (base_container,) = base_pod["containers"]
        for key in ("startupProbe", "readinessProbe", "livenessProbe", "securityContext", "resources", "lifecycle"):
            assert container[key] == base_container[key], key
        assert pod["securityContext"] == base_pod["securityContext"]
        assert pod["terminationGracePeriodSeconds"] == base_pod["terminationGracePeriodSeconds"]
        # A drain evicts one replica at a time.
        budget = resources[("PodDisruptionBudget", name)]
        assert budget["spec"]["selector"]["matchLabels"] == labels and budget["spec"]["minAvailable"] == 1
    assert len(secrets) == len(BACKENDS), "each backend needs a database of its own"
    # The overlay ships no Secret: the real ones are supplied (with passwords) out of band.
    assert not [name for kind, name in resources if kind == "Secret"]


def test_kubernetes_postgres_secrets_example_and_copy_jobs(tmp_path):
    """The example Secrets (placeholders, kept out of the overlay) and the
    one-off SQLite → PostgreSQL copy Jobs validate, and name what the
    overlay's Deployments and the base's claims name."""
    example_path = KUBERNETES / "overlays" / "postgres" / "database-secrets.example.yaml"
    kustomization = yaml.safe_load((KUBERNETES / "overlays" / "postgres" / "kustomization.yaml").read_text())
    assert example_path.name not in kustomization["resources"], "placeholders must never be applied"
    example = [document for document in yaml.safe_load_all(example_path.read_text()) if document]
    jobs = [yaml.safe_load(path.read_text()) for path in sorted((KUBERNETES / "copy-from-sqlite").glob("*.yaml"))]
    kubernetes_validate(example + jobs, tmp_path)
    overlay = by_kind(kustomize(KUBERNETES / "overlays/postgres"))
    base = by_kind(kustomize(KUBERNETES / "base"))
    example_secrets = {document["metadata"]["name"]: document for document in example}
    assert {job["metadata"]["name"] for job in jobs} == {f"{name}-copy-from-sqlite" for name in BACKENDS}
    for name in BACKENDS:
        prefix = f"CARAVAN_{name.upper()}_"
        (container,) = overlay[("Deployment", name)]["spec"]["template"]["spec"]["containers"]
        reference = database_secret_refs(container)[prefix + "DATABASE_URL"]
        secret = example_secrets[reference["name"]]
        assert secret["metadata"]["namespace"] == "caravan"
        url = secret["stringData"][reference["key"]]
        assert url.startswith("postgres://") and "REPLACE-WITH-THE-PASSWORD" in url, "placeholders, clearly marked"
        assert url.split("?")[0].endswith(f"/caravan_{name}"), "a database per service"
        (job,) = [job for job in jobs if job["metadata"]["name"] == f"{name}-copy-from-sqlite"]
        assert job["metadata"]["namespace"] == "caravan" and job["spec"]["backoffLimit"] == 0
        job_pod = job["spec"]["template"]["spec"]
        (job_container,) = job_pod["containers"]
        assert job_container["image"].split(":")[0] == f"caravan-{name}"
        assert job_container["args"][:2] == ["--copy-from-sqlite", "/var/lib/caravan"]
        assert database_secret_refs(job_container) == {prefix + "DATABASE_URL": reference}
        mounts = {mount["mountPath"]: mount["name"] for mount in job_container["volumeMounts"]}
        claim = {volume["name"]: volume for volume in job_pod["volumes"]}[mounts["/var/lib/caravan"]]
        assert ("PersistentVolumeClaim", claim["persistentVolumeClaim"]["claimName"]) in base
        # Pod Security "restricted", as every pod in the namespace.
        assert job_pod["securityContext"]["runAsNonRoot"] is True
        assert job_container["securityContext"]["allowPrivilegeEscalation"] is False
        assert job_container["securityContext"]["capabilities"]["drop"] == ["ALL"]
        assert job_pod["securityContext"]["seccompProfile"]["type"] == "RuntimeDefault"


# ------------------------------------------------------------- local scripts

SERVICE_SH = DEPLOY / "local" / "service.sh"
RUN_SH = DEPLOY / "local" / "run.sh"
DEMO_DATA_SH = DEPLOY / "demo-data.sh"
DEMO_MARKER = "synthetic-demo-data"


def test_shellcheck():
    shellcheck = need("shellcheck")
    scripts = sorted(str(path.relative_to(ROOT)) for path in (DEPLOY / "local").glob("*.sh"))
    result = run([shellcheck, "-x", *scripts], cwd=ROOT)
    assert result.returncode == 0, result.stdout
    scripts = sorted(str(path) for path in [*CONTAINER.glob("*.sh"), DEMO_DATA_SH])
    result = run([shellcheck, "-s", "sh", *scripts])
    assert result.returncode == 0, result.stdout


@pytest.mark.parametrize(
    "arguments, message",
    [
        ([], "usage:"),
        (["stop"], "usage:"),
        (["stop", "trade", "extra"], "usage:"),
        (["halt", "trade"], "unknown command 'halt'"),
        (["stop", "warehouse"], "unknown service 'warehouse'"),
        (["start", ""], "unknown service ''"),
    ],
)
def test_service_sh_rejects_bad_arguments(arguments, message, tmp_path):
    result = run([str(SERVICE_SH), *arguments], env={**os.environ, "CARAVAN_STATE_DIR": str(tmp_path)})
    assert result.returncode == 2
    assert message in result.stderr
    assert not any(tmp_path.iterdir()), "a rejected command must not touch the state directory"


def test_service_sh_stop_and_status_when_nothing_runs(tmp_path):
    env = {**os.environ, "CARAVAN_STATE_DIR": str(tmp_path)}
    result = run([str(SERVICE_SH), "status", "trade"], env=env)
    assert result.returncode == 3 and "trade not running" in result.stdout
    result = run([str(SERVICE_SH), "stop", "trade"], env=env)
    assert result.returncode == 0 and "not running" in result.stdout
    # A stale pid file naming a process that is not caravan-trade is ignored.
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "trade.pid").write_text(f"{os.getpid()}\n")
    result = run([str(SERVICE_SH), "stop", "trade"], env=env)
    assert result.returncode == 0 and "not running" in result.stdout
    assert not (tmp_path / "run" / "trade.pid").exists()


FAKE_SERVER = textwrap.dedent(
    """\
    #!{python}
    # A stand-in for a Caravan executable: listens on its port, logs its
    # arguments, and on SIGTERM logs it and exits after a short drain.
    import os, signal, socket, sys, time
    name = os.path.basename(sys.argv[0]).removeprefix("caravan-")
    port = int(os.environ.get(f"CARAVAN_{{name.upper()}}_PORT", "0"))
    arguments = sys.argv[1:]
    data = os.environ.get(f"CARAVAN_{{name.upper()}}_DATA_DIR")
    if any(argument.startswith("--generate-") for argument in arguments):
        # A generator: records its arguments in the database it writes, and
        # exits (with FAKE_GENERATOR_EXIT's status).
        data = arguments[arguments.index("--data-dir") + 1]
        with open(os.path.join(data, f"{{name}}.sqlite"), "a") as database:
            database.write(" ".join(arguments) + "\\n")
        print("generated:", " ".join(arguments), flush=True)
        sys.exit(int(os.environ.get("FAKE_GENERATOR_EXIT", "0")))
    if data:
        open(os.path.join(data, f"{{name}}.sqlite"), "a").close()  # as a first start creates it
    print("args:", " ".join(arguments), "data:", data, flush=True)
    server = socket.socket()
    server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    server.bind(("127.0.0.1", port))
    server.listen()
    def stop(signum, frame):
        print("got", signal.Signals(signum).name, flush=True)
        time.sleep(0.3)
        sys.exit(0)
    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    while True:
        connection, _ = server.accept()
        connection.close()
    """
)

FAKE_HEALTH = textwrap.dedent(
    """\
    #!{python}
    # `caravan health [--timeout T] HOST:PORT`: exit 0 when something accepts.
    import socket, sys
    assert sys.argv[1] == "health", sys.argv
    host, _, port = sys.argv[-1].rpartition(":")
    try:
        socket.create_connection((host, int(port)), timeout=0.5).close()
    except OSError:
        sys.exit(1)
    print("SERVING")
    """
)


@pytest.fixture
def fake_system(tmp_path):
    """A bin directory of stand-in executables, a state directory, and an
    environment giving every service a free port."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for service in SERVICES:
        path = bin_dir / f"caravan-{service}"
        path.write_text(FAKE_SERVER.format(python=sys.executable))
        path.chmod(0o755)
    (bin_dir / "caravan").write_text(FAKE_HEALTH.format(python=sys.executable))
    (bin_dir / "caravan").chmod(0o755)
    state = tmp_path / "state"
    env = {**os.environ, "CARAVAN_BIN": str(bin_dir), "CARAVAN_STATE_DIR": str(state), "CARAVAN_START_TIMEOUT": "20"}
    for service in SERVICES:
        env[f"CARAVAN_{service.upper()}_PORT"] = str(free_port())
    yield bin_dir, state, env
    for pid_file in (state / "run").glob("*.pid") if (state / "run").exists() else []:
        try:
            os.kill(int(pid_file.read_text()), signal.SIGKILL)
        except (ProcessLookupError, ValueError):
            pass


def healthy(bin_dir: Path, env: dict, service: str) -> bool:
    address = f"127.0.0.1:{env[f'CARAVAN_{service.upper()}_PORT']}"
    return run([str(bin_dir / "caravan"), "health", address]).returncode == 0


def test_service_sh_lifecycle_with_stand_ins(fake_system):
    bin_dir, state, env = fake_system
    for service in BACKENDS:
        result = run([str(SERVICE_SH), "start", service], env=env)
        assert result.returncode == 0, result.stdout + result.stderr
        assert "SERVING" in result.stdout
    log = (state / "logs" / "logistics.log").read_text()
    assert f"data: {state}/logistics" in log
    old_pid = (state / "run" / "logistics.pid").read_text().strip()
    result = run([str(SERVICE_SH), "start", "logistics"], env=env)
    assert result.returncode == 0 and "already running" in result.stdout

    result = run([str(SERVICE_SH), "restart", "logistics"], env=env)
    assert result.returncode == 0, result.stdout + result.stderr
    assert healthy(bin_dir, env, "trade") and healthy(bin_dir, env, "training")
    assert healthy(bin_dir, env, "logistics")
    assert (state / "run" / "logistics.pid").read_text().strip() != old_pid
    assert "got SIGTERM" in (state / "logs" / "logistics.log").read_text()

    result = run([str(SERVICE_SH), "stop", "trade"], env=env)
    assert result.returncode == 0 and "trade stopped" in result.stdout
    assert not healthy(bin_dir, env, "trade")
    assert healthy(bin_dir, env, "training") and healthy(bin_dir, env, "logistics")
    assert run([str(SERVICE_SH), "status", "trade"], env=env).returncode == 3
    assert run([str(SERVICE_SH), "status", "training"], env=env).returncode == 0
    for service in ("logistics", "training"):
        assert run([str(SERVICE_SH), "stop", service], env=env).returncode == 0
    assert not list((state / "run").glob("*.pid"))


def test_service_sh_gives_a_backend_on_postgres_no_data_directory(fake_system):
    """With CARAVAN_<SERVICE>_DATABASE_URL set, service.sh starts the backend
    without a data directory (the executable refuses one beside a database)."""
    bin_dir, state, env = fake_system
    env = {**env, "CARAVAN_TRADE_DATABASE_URL": "postgres://caravan_trade@db/caravan_trade"}
    try:
        result = run([str(SERVICE_SH), "start", "trade"], env=env)
        assert result.returncode == 0, result.stdout + result.stderr
        assert "data: None" in (state / "logs" / "trade.log").read_text()
        assert not (state / "trade").exists()
        # Whether the database is new is not guessed: no demo data, said so.
        assert "no demo data loaded" in result.stdout
        assert "--generate-" not in (state / "logs" / "trade.log").read_text()
    finally:
        run([str(SERVICE_SH), "stop", "trade"], env=env)


def test_service_sh_start_reports_a_crash(fake_system):
    bin_dir, state, env = fake_system
    (bin_dir / "caravan-trade").write_text("#!/bin/sh\necho 'cannot open the database' >&2\nexit 1\n")
    # The server's crash, not the demo data's generators (their failure has a test of its own).
    result = run([str(SERVICE_SH), "start", "trade"], env={**env, "CARAVAN_DEMO_DATA": "0"})
    assert result.returncode == 1
    assert "exited before SERVING" in result.stderr and "cannot open the database" in result.stderr
    assert not (state / "run" / "trade.pid").exists()


def test_run_sh_starts_everything_and_stops_on_ctrl_c(fake_system):
    """run.sh with already-built executables (CARAVAN_BIN): starts every
    service including the gateway, lets service.sh restart one, and on
    SIGINT (Ctrl-C) stops each with SIGTERM and exits 0."""
    bin_dir, state, env = fake_system
    process = subprocess.Popen(
        [str(RUN_SH)], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True,
        preexec_fn=as_from_a_terminal,
    )
    output = []
    try:
        deadline = time.monotonic() + 60
        for line in process.stdout:
            output.append(line)
            if "Ctrl-C stops everything" in line or time.monotonic() > deadline:
                break
        text = "".join(output)
        assert "Ctrl-C stops everything" in text, text
        assert "Loaded labelled synthetic demo data on first start (trade logistics training)" in text, text
        for service in SERVICES:
            assert f"{service} SERVING" in text
            assert healthy(bin_dir, env, service)
        gateway_args = (state / "logs" / "gateway.log").read_text()
        for backend in BACKENDS:
            assert f"--{backend} 127.0.0.1:{env[f'CARAVAN_{backend.upper()}_PORT']}" in gateway_args
        # Another run.sh refuses to start over a running system.
        second = run([str(RUN_SH)], env=env, timeout=30)
        assert second.returncode == 1 and "already running" in second.stderr

        result = run([str(SERVICE_SH), "restart", "training"], env=env)
        assert result.returncode == 0, result.stdout + result.stderr
        pids = {service: int((state / "run" / f"{service}.pid").read_text()) for service in SERVICES}

        os.killpg(process.pid, signal.SIGINT)  # what the terminal's Ctrl-C sends
        rest, _ = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
    assert process.returncode == 0, rest
    for service in SERVICES:
        assert f"{service} stopped" in rest
        assert not alive(pids[service]), service
        log = (state / "logs" / f"{service}.log").read_text()
        assert "got SIGTERM" in log and "got SIGINT" not in log, log
    # The gateway goes first, the backends after it.
    assert rest.index("gateway stopped") < min(rest.index(f"{b} stopped") for b in BACKENDS)
    assert not list((state / "run").glob("*.pid"))


def test_run_sh_reports_the_stop_when_ctrl_c_lands_in_a_check(fake_system, tmp_path):
    """Ctrl-C while run.sh's watch loop is inside a check of a service (a
    slowed grep keeps it there): the stop is still reported on its output.
    (Bash runs the trap inside the function it interrupts, under that
    function's redirections; a check whose output went to /dev/null took
    the report with it.)"""
    bin_dir, state, env = fake_system
    slow = tmp_path / "slow"
    slow.mkdir()
    make_fake(slow, "grep", f'sleep 1\nexec {shutil.which("grep")} "$@"\n')
    env = {**env, "PATH": f"{slow}:{env['PATH']}"}
    process = subprocess.Popen(
        [str(RUN_SH)], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True,
        preexec_fn=as_from_a_terminal,
    )
    try:
        for line in process.stdout:
            if "Ctrl-C stops everything" in line:
                break
        time.sleep(1.5)  # into the watch loop's first checks (a second each)
        os.killpg(process.pid, signal.SIGINT)
        rest, _ = process.communicate(timeout=90)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
    assert process.returncode == 0, rest
    assert "Stopping" in rest, rest
    for service in SERVICES:
        assert f"{service} stopped" in rest, rest


def test_service_sh_loads_demo_data_once_with_stand_ins(fake_system):
    """A backend's first start on a new store runs its generators into a
    staging directory, moves the database into place, leaves the marker and
    says so in one line with the way to start empty; a restart loads nothing."""
    bin_dir, state, env = fake_system
    try:
        result = run([str(SERVICE_SH), "start", "trade"], env=env)
        assert result.returncode == 0, result.stdout + result.stderr
        assert "trade: loaded labelled synthetic demo data" in result.stdout
        report = [line for line in result.stdout.splitlines() if line.startswith("Loaded labelled synthetic")]
        assert len(report) == 1 and "(trade)" in report[0], result.stdout
        assert "--empty" in report[0] and "CARAVAN_DEMO_DATA=0" in report[0]
        database = state / "trade" / "trade.sqlite"
        generated = database.read_text()
        staging = state / "trade" / ".demo-data-loading"
        assert f"--data-dir {staging} --generate-synthetic-flows" in generated
        assert f"--data-dir {staging} --generate-synthetic-sessions" in generated
        assert not staging.exists()
        assert "Labelled synthetic demo data" in (state / "trade" / DEMO_MARKER).read_text()
        assert "generated: --data-dir" in (state / "logs" / "trade.log").read_text()

        result = run([str(SERVICE_SH), "restart", "trade"], env=env)
        assert result.returncode == 0, result.stdout + result.stderr
        assert "demo data" not in result.stdout
        assert database.read_text() == generated
    finally:
        run([str(SERVICE_SH), "stop", "trade"], env=env)


def test_service_sh_starts_empty_when_demo_data_is_off(fake_system):
    """CARAVAN_DEMO_DATA=0: a new store starts with the seed alone, and the
    choice holds for that store (a later start with demo data on does not
    load it into a store that exists)."""
    bin_dir, state, env = fake_system
    try:
        result = run([str(SERVICE_SH), "start", "logistics"], env={**env, "CARAVAN_DEMO_DATA": "0"})
        assert result.returncode == 0, result.stdout + result.stderr
        assert "logistics: new store, started empty" in result.stdout and "Loaded" not in result.stdout
        assert (state / "logistics" / "logistics.sqlite").read_text() == ""
        assert not (state / "logistics" / DEMO_MARKER).exists()
        result = run([str(SERVICE_SH), "restart", "logistics"], env=env)
        assert result.returncode == 0 and "demo data" not in result.stdout, result.stdout
        assert (state / "logistics" / "logistics.sqlite").read_text() == ""
    finally:
        run([str(SERVICE_SH), "stop", "logistics"], env=env)


def test_demo_data_that_fails_to_load_leaves_no_store(fake_system):
    """A generator that fails stops the start with its output, leaves
    neither a half-filled store nor a marker, and the next start loads it."""
    bin_dir, state, env = fake_system
    try:
        result = run([str(SERVICE_SH), "start", "training"], env={**env, "FAKE_GENERATOR_EXIT": "1"})
        assert result.returncode == 1
        assert "loading the demo data failed" in result.stderr and "generated: --data-dir" in result.stderr
        assert "CARAVAN_DEMO_DATA=0" in result.stderr
        assert not list((state / "training").iterdir()), "a failed load left files behind"
        assert not (state / "run" / "training.pid").exists()
        result = run([str(SERVICE_SH), "start", "training"], env=env)
        assert result.returncode == 0 and "training: loaded labelled synthetic demo data" in result.stdout
        assert (state / "training" / DEMO_MARKER).exists()
    finally:
        run([str(SERVICE_SH), "stop", "training"], env=env)


def test_demo_data_setting_is_checked_before_anything_starts(fake_system):
    bin_dir, state, env = fake_system
    for command in ([str(RUN_SH)], [str(SERVICE_SH), "start", "trade"]):
        result = run(command, env={**env, "CARAVAN_DEMO_DATA": "yes"}, timeout=30)
        assert result.returncode == 2 and "CARAVAN_DEMO_DATA must be 1" in result.stderr, result.stderr
    result = run([str(RUN_SH), "--empty-please"], env=env, timeout=30)
    assert result.returncode == 2 and "unknown argument '--empty-please'" in result.stderr
    assert "usage:" in result.stderr and "--empty" in result.stderr
    assert not state.exists(), "a refused start touched the state directory"


class RunSh:
    """deploy/local/run.sh in a session of its own, its output read as it
    comes; `up` waits for its 'Ctrl-C stops everything' line (or its end)."""

    def __init__(self, arguments: list[str], env: dict):
        self.process = subprocess.Popen(
            [str(RUN_SH), *arguments], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
            start_new_session=True, preexec_fn=as_from_a_terminal)
        self.lines: list[str] = []
        self.ready = threading.Event()
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        for line in self.process.stdout:
            self.lines.append(line)
            if "Ctrl-C stops everything" in line:
                self.ready.set()
        self.ready.set()  # the end of its output: it exited

    @property
    def output(self) -> str:
        return "".join(self.lines)

    def up(self, timeout: float = 180) -> str:
        assert self.ready.wait(timeout), f"run.sh not up within {timeout} s:\n{self.output}"
        assert self.process.poll() is None, f"run.sh exited ({self.process.returncode}):\n{self.output}"
        return self.output

    def stop(self, timeout: float = 90) -> str:
        """Ctrl-C; waits for run.sh to stop every service and exit."""
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGINT)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        self.reader.join(10)
        assert self.process.returncode == 0, self.output
        return self.output


def release_system_env(bin_dir: Path, state: Path) -> tuple[dict, str]:
    """run.sh's environment for the release executables on free ports; the
    gateway's HTTP base URL."""
    env = {**os.environ, "CARAVAN_BIN": str(bin_dir), "CARAVAN_STATE_DIR": str(state),
           "CARAVAN_START_TIMEOUT": "120"}
    env.pop("CARAVAN_DEMO_DATA", None)
    for service in SERVICES:
        env[f"CARAVAN_{service.upper()}_PORT"] = str(free_port())
    env["CARAVAN_GATEWAY_HTTP_PORT"] = str(free_port())
    return env, f"http://127.0.0.1:{env['CARAVAN_GATEWAY_HTTP_PORT']}"


def number(section: dict, field: str) -> float:
    """A figure of an answer (proto3 JSON leaves zeros out and writes 64-bit integers as strings)."""
    return float(section.get(field, 0))


DEMO_YEARS = range(2015, 2025)  # deploy/demo-data.sh: the flow generator's years
PARTNERS = ("KZ", "KG", "TJ", "TM", "UZ")
PROFILE_SECTIONS = ("trade", "logistics", "training", "hub", "energy")


def demo_counts(base: str) -> dict[str, float]:
    overview = http_json(f"{base}/v1/overview?year=2024")
    return {
        "trade synthetic USD": number(overview["trade"], "syntheticUsd"),
        "hub sessions": number(overview["hub"], "sessions"),
        "shipments under way": number(overview["logistics"], "shipmentsUnderWay"),
        "shipments delivered": number(overview["logistics"], "shipmentsDelivered"),
        "enrolled": number(overview["training"], "enrolled"),
        "wait-listed": number(overview["training"], "waitlisted"),
    }


def test_run_sh_loads_demo_data_once_with_the_release_executables(tmp_path):
    """The first run: run.sh loads the synthetic demo data, and through the
    gateway's HTTP door every partner has synthetic flows in every year and
    a profile whose every section has figures or says there are none;
    shipments are under way, trainees enrolled and wait-listed, all marked
    synthetic. A second start loads nothing: the counts stay as they were."""
    bin_dir = release_bin()
    env, base = release_system_env(bin_dir, tmp_path / "state")
    system = RunSh([], env)
    try:
        output = system.up()
        for backend in BACKENDS:
            assert f"{backend}: loaded labelled synthetic demo data" in output, output
        assert "Loaded labelled synthetic demo data on first start (trade logistics training)" in output
        assert "deploy/local/run.sh --empty" in output and "CARAVAN_DEMO_DATA=0" in output

        for year in DEMO_YEARS:
            trade = http_json(f"{base}/v1/overview?year={year}")["trade"]
            assert all(number(trade["byCountryUsd"], country) > 0 for country in PARTNERS), (year, trade)
            assert number(trade, "syntheticUsd") == pytest.approx(number(trade, "totalUsd")), year
        for country in PARTNERS:
            profile = http_json(f"{base}/v1/countries/{country}/profile?year=2024")
            for name in PROFILE_SECTIONS:
                section = profile[name]
                assert section["outcome"]["status"] == "SECTION_STATUS_OK", (country, name, section)
                if section.get("noData"):
                    assert section["noDataMessage"].strip(), (country, name)
                else:
                    assert set(section) - {"outcome"}, (country, name, section)
            trade = profile["trade"]
            assert number(trade, "totalUsd") > 0 and number(trade, "syntheticUsd") == pytest.approx(
                number(trade, "totalUsd")), (country, trade)
            assert number(profile["hub"], "syntheticSessions") == number(profile["hub"], "sessions") > 0, country
            logistics = profile["logistics"]
            assert number(logistics, "shipmentsUnderWay") + number(logistics, "shipmentsDelivered") > 0, country
        kazakhstan = http_json(f"{base}/v1/countries/KZ/profile?year=2024")
        assert number(kazakhstan["logistics"], "shipmentsUnderWay") > 0, kazakhstan["logistics"]
        # The seeded programs are all held in China: a partner's profile says so.
        assert kazakhstan["training"]["noDataMessage"] == "No training programs are hosted in KZ."
        training = http_json(f"{base}/v1/overview?year=2024")["training"]
        assert number(training, "enrolled") > 0 and number(training, "waitlisted") > 0, training
        assert number(training, "syntheticPrograms") == number(training, "programs") > 0, training
        request = urllib.request.Request(f"{base}/v1/caravan.logistics.v1.LogisticsService/ListShipments", data=b"{}",
                                         headers={"Content-Type": "application/json"}, method="POST")
        with urllib.request.urlopen(request, timeout=10) as response:
            shipments = json.load(response)["shipments"]
        assert shipments and all(shipment.get("synthetic") is True for shipment in shipments), shipments[:3]
        first = demo_counts(base)
        assert all(value > 0 for value in first.values()), first
    finally:
        system.stop()

    again = RunSh([], env)
    try:
        output = again.up()
        assert "demo data" not in output, output
        assert demo_counts(base) == first
    finally:
        again.stop()


@pytest.mark.parametrize("how", ["--empty", "CARAVAN_DEMO_DATA=0"])
def test_run_sh_starts_empty_with_the_release_executables(how, tmp_path):
    """--empty or CARAVAN_DEMO_DATA=0: every new store starts with the seed
    alone (the published facts and the seeded programs, nothing generated)."""
    bin_dir = release_bin()
    env, base = release_system_env(bin_dir, tmp_path / "state")
    arguments = [how] if how.startswith("--") else []
    if not arguments:
        env["CARAVAN_DEMO_DATA"] = "0"
    system = RunSh(arguments, env)
    try:
        output = system.up()
        for backend in BACKENDS:
            assert f"{backend}: new store, started empty" in output, output
            assert not (tmp_path / "state" / backend / DEMO_MARKER).exists()
        assert "Loaded labelled" not in output
        counts = demo_counts(base)
        assert all(value == 0 for value in counts.values()), counts
        overview = http_json(f"{base}/v1/overview?year=2024")
        assert number(overview["trade"], "publishedTotalUsd") > 0, "the seed's published total"
        assert number(overview["training"], "programs") > 0, "the seeded programs"
        profile = http_json(f"{base}/v1/countries/KZ/profile?year=2024")
        for name in PROFILE_SECTIONS:
            section = profile[name]
            assert not section.get("noData") or section["noDataMessage"].strip(), (name, section)
    finally:
        system.stop()


def built_executables() -> Path | None:
    """The debug build's bin directory when it has every backend (CI builds
    it in Tests/run.sh before this suite runs), or CARAVAN_BIN_DIR's (another
    build, as release_system.py takes it)."""
    given = [Path(os.environ["CARAVAN_BIN_DIR"])] if os.environ.get("CARAVAN_BIN_DIR") else []
    for candidate in (*given, ROOT / ".build" / "debug", ROOT / ".build" / "release"):
        if all((candidate / f"caravan-{name}").exists() for name in [*BACKENDS, ""] if name) and (
            candidate / "caravan"
        ).exists():
            return candidate
    return None


def test_service_sh_with_the_real_executables(tmp_path):
    """The real thing: three backends started by service.sh on free ports;
    restarting logistics leaves trade and training SERVING throughout."""
    bin_dir = built_executables()
    if bin_dir is None:
        pytest.skip("no built caravan-trade/-logistics/-training (run swift build first)")
    env = {**os.environ, "CARAVAN_BIN": str(bin_dir), "CARAVAN_STATE_DIR": str(tmp_path), "CARAVAN_START_TIMEOUT": "60"}
    for service in BACKENDS:
        env[f"CARAVAN_{service.upper()}_PORT"] = str(free_port())
    try:
        for service in BACKENDS:
            result = run([str(SERVICE_SH), "start", service], env=env)
            assert result.returncode == 0, result.stdout + result.stderr + (
                tmp_path / "logs" / f"{service}.log").read_text()
        assert (tmp_path / "trade" / "trade.sqlite").exists()
        for service in BACKENDS:
            assert (tmp_path / service / DEMO_MARKER).exists(), service
        restart = subprocess.Popen([str(SERVICE_SH), "restart", "logistics"], env=env, stdout=subprocess.PIPE, text=True)
        while restart.poll() is None:
            assert healthy(bin_dir, env, "trade") and healthy(bin_dir, env, "training")
            time.sleep(0.1)
        assert restart.returncode == 0
        assert healthy(bin_dir, env, "logistics")
        assert "Draining" in (tmp_path / "logs" / "logistics.log").read_text()
    finally:
        for service in BACKENDS:
            run([str(SERVICE_SH), "stop", service], env=env)
    assert not list((tmp_path / "run").glob("*.pid"))


# ------------------------------------------------------------------------ docs

def swift_options(path: Path) -> list[str]:
    """The long flags an ArgumentParser file declares (camelCase → kebab),
    the attribute's arguments on one line or several."""
    text = path.read_text()
    flags = []
    for match in re.finditer(
        r"@(?:Option|Flag)\b(?:\((?:[^()]|\((?:[^()]|\([^()]*\))*\))*\))?\s*(?:public\s+)?var\s+(\w+)", text
    ):
        flags.append("--" + re.sub(r"(?<!^)(?=[A-Z])", "-", match.group(1)).lower())
    assert len(flags) == len(re.findall(r"@(?:Option|Flag)\b", text)), f"{path.name}: a declaration was not read"
    return flags


def test_deployment_doc_covers_every_flag_and_variable():
    doc = (ROOT / "docs" / "DEPLOYMENT.md").read_text()
    def shared(name):
        """A file of the shared modules, wherever the modules' layering put it."""
        [path] = sorted(ROOT.glob(f"Shared/*/{name}"))
        return path

    common = (swift_options(shared("ServiceOptions.swift")) + swift_options(shared("ServerLimitOptions.swift"))
              + swift_options(shared("ObservabilityOptions.swift")))
    assert "--metrics-port" in common and "--log-format" in common
    assert "--data-dir" in common and "--shutdown-grace" in common
    assert {"--database", "--database-pool-size", "--database-timeout", "--copy-from-sqlite", "--replace"} <= set(common)
    mains = sorted(ROOT.glob("Services/*/caravan-*/main.swift"))
    assert len(mains) >= 3
    missing = [flag for flag in common if f"`{flag}" not in doc]
    for main in mains:
        missing += [f"{main.parent.name} {flag}" for flag in swift_options(main) if f"`{flag}" not in doc]
    assert not missing, f"docs/DEPLOYMENT.md does not mention: {missing}"
    variables = re.findall(r'prefix \+ "(\w+)"|value\((?:[^()]|\([^()]*\))*?, "(\w+)"\)',
                           shared("ServiceOptions.swift").read_text() + shared("ObservabilityOptions.swift").read_text())
    names = {name for pair in variables for name in pair if name}
    assert names == {"PORT", "HOST", "DATA_DIR", "LOG_LEVEL", "SYNC", "LOG_FORMAT", "CALL_LOG_LEVEL", "LOG_REDACT",
                     "METRICS_PORT", "DATABASE_URL", "DATABASE_POOL_SIZE", "DATABASE_TIMEOUT"}
    for service in BACKENDS:
        for name in names:
            assert f"CARAVAN_{service.upper()}_{name}" in doc, f"CARAVAN_{service.upper()}_{name}"
    # The gateway takes the logging and metrics options too.
    for name in re.findall(r'value\((?:[^()]|\([^()]*\))*?, "(\w+)"\)', shared("ObservabilityOptions.swift").read_text()):
        assert f"CARAVAN_GATEWAY_{name}" in doc, f"CARAVAN_GATEWAY_{name}"
    for main in mains:
        text = main.read_text()
        if "CARAVAN_GATEWAY_" not in text:
            continue
        for name in re.findall(r'value\((?:[^()]|\([^()]*\))*?, "(\w+)"\)', text):
            assert f"CARAVAN_GATEWAY_{name}" in doc, f"CARAVAN_GATEWAY_{name}"
    for topic in ("VACUUM INTO", ".backup", "Not run here", "## Storage: SQLite or PostgreSQL", "max_connections",
                  "CREATE ROLE", "createdb", "overlays/postgres", "--copy-from-sqlite ./data/trade"):
        assert topic in doc, topic


def test_deployment_doc_covers_security_flags_and_variables():
    """The security options live in files of their own; every flag and
    variable they read is in docs/DEPLOYMENT.md, spelled out per service."""
    doc = (ROOT / "docs" / "DEPLOYMENT.md").read_text()
    server = ROOT / "Shared" / "CaravanServiceKit" / "SecurityOptions.swift"
    gateway = ROOT / "Services" / "Gateway" / "caravan-gateway" / "GatewaySecurityOptions.swift"
    cli = ROOT / "Tools" / "CaravanCLI" / "ClientSecurityOptions.swift"
    token = ROOT / "Tools" / "CaravanCLI" / "TokenCommand.swift"
    flags = [flag for path in (server, gateway, cli, token) for flag in swift_options(path)]
    assert {"--tls-cert", "--tls-client-ca", "--service-token-file", "--auth-key-file", "--rate-limit"} <= set(flags)
    missing = [flag for flag in flags if f"`{flag}" not in doc]
    assert not missing, f"docs/DEPLOYMENT.md does not mention: {missing}"
    server_names = set(re.findall(r'prefix \+ "(\w+)"', server.read_text()))
    assert {"TLS_CERT", "TLS_KEY", "TLS_CLIENT_CA", "SERVICE_TOKEN_FILE", "SERVICE_TOKEN"} <= server_names
    for service in SERVICES:
        for name in server_names:
            assert f"CARAVAN_{service.upper()}_{name}" in doc, f"CARAVAN_{service.upper()}_{name}"
    for name in re.findall(r'env\("(\w+)"\)', gateway.read_text()):
        assert f"CARAVAN_GATEWAY_{name}" in doc, f"CARAVAN_GATEWAY_{name}"
    for path in (cli, token):
        for name in re.findall(r'environment\["(CARAVAN_\w+)"\]', path.read_text()):
            assert name in doc, name


def test_make_dev_certs(tmp_path):
    """deploy/tls/make-dev-certs.sh: two CAs, each leaf verifying against the
    right one (and not the other), the SANs the gateway checks, private keys."""
    if shutil.which("openssl") is None:
        pytest.skip("openssl is not installed")
    out = tmp_path / "tls"
    result = run([str(DEPLOY / "tls" / "make-dev-certs.sh"), str(out), "3"])
    assert result.returncode == 0, result.stderr

    def verify(ca: str, leaf: str) -> bool:
        return run(["openssl", "verify", "-CAfile", str(out / ca), str(out / leaf)]).returncode == 0

    for leaf in ("trade.crt", "logistics.crt", "training.crt", "gateway.crt", "cli.crt"):
        assert verify("ca.crt", leaf) and not verify("service-client-ca.crt", leaf), leaf
    for leaf in ("gateway-client.crt", "probe.crt"):
        assert verify("service-client-ca.crt", leaf) and not verify("ca.crt", leaf), leaf
    sans = run(["openssl", "x509", "-in", str(out / "trade.crt"), "-noout", "-ext", "subjectAltName"]).stdout
    for name in ("DNS:localhost", "IP Address:127.0.0.1", "DNS:trade-replicas", "DNS:caravan-backend"):
        assert name in sans, sans
    for key in out.glob("*.key"):
        assert key.stat().st_mode & 0o077 == 0, key
    assert run([str(DEPLOY / "tls" / "make-dev-certs.sh")]).returncode == 64
