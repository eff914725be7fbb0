"""The deployment files agree with each other and with the project: versions, ports, env names.

`make cluster` (local/cluster.py), deploy/compose.yml, the Dockerfiles and the Helm values are
written by hand in different formats; these tests catch one of them drifting.
"""

from __future__ import annotations

import ast
import importlib.util
import re
from pathlib import Path
from typing import Dict, Iterable, List, Optional, Set
from urllib.parse import urlparse

import pytest
import yaml

from clinic.paths import CODE_PACKAGES, PROJECT_ROOT
from local.cluster import NGINX_TEMPLATE, PLACEHOLDER, ClusterPorts, render_nginx_conf
from local.services import PRODUCTION_ENV

DEPLOY = PROJECT_ROOT / "deploy"
DOCKER = DEPLOY / "docker"
# Images that are not ours: their settings are the image's business.
THIRD_PARTY = {"postgres", "redis", "nginx"}


def pin(package: str) -> str:
    text = (PROJECT_ROOT / "requirements.in").read_text()
    return re.search(rf"^{re.escape(package)}==(\S+)", text, re.MULTILINE).group(1)


def makefile_default(variable: str) -> int:
    text = (PROJECT_ROOT / "Makefile").read_text()
    return int(re.search(rf"^export {variable} \?= (\d+)$", text, re.MULTILINE).group(1))


def dockerfile(name: str) -> str:
    return (DOCKER / f"Dockerfile.{name}").read_text()


def dockerfile_env(name: str) -> Dict[str, str]:
    text = dockerfile(name).replace("\\\n", " ")
    found: Dict[str, str] = {}
    for line in text.splitlines():
        if line.startswith("ENV "):
            found.update(re.findall(r"(\w+)=(\S+)", line))
    return found


@pytest.fixture(scope="module")
def compose() -> Dict:
    return yaml.safe_load((DEPLOY / "compose.yml").read_text())


def helm(name: str) -> Dict:
    return yaml.safe_load((DEPLOY / "helm" / f"{name}-values.yaml").read_text())


def port_of(address: str) -> int:
    return int(urlparse(address if "//" in address else f"//{address}").port)


def test_versions_match_requirements():
    rasa, sdk = pin("rasa"), pin("rasa-sdk")
    assert re.search(rf"^FROM rasa/rasa:{re.escape(rasa)}$", dockerfile("rasa"), re.MULTILINE)
    assert re.search(rf"^FROM rasa/rasa-sdk:{re.escape(sdk)}$", dockerfile("actions"),
                     re.MULTILINE)
    assert helm("rasa")["image"]["tag"] == rasa
    assert helm("rasa-action-server")["image"]["tag"] == sdk


def test_cluster_ports_match_the_makefile():
    ports = ClusterPorts()
    assert ports.rasa[0] == makefile_default("RASA_PORT")
    assert ports.actions[0] == makefile_default("ACTION_SERVER_PORT")
    assert ports.webapp == makefile_default("WEBAPP_PORT")
    assert ClusterPorts.from_env({}) == ports


def test_compose_ports_match_the_cluster(compose):
    ports, services = ClusterPorts(), compose["services"]
    for name in ("rasa-1", "rasa-2"):
        env = services[name]["environment"]
        assert int(env["RASA_PORT"]) == ports.rasa[0]
        assert port_of(env["ACTION_ENDPOINT_URL"]) == ports.actions[0]
        assert urlparse(env["ACTION_ENDPOINT_URL"]).hostname == name.replace("rasa", "actions")
    for name in ("actions-1", "actions-2"):
        assert int(services[name]["environment"]["ACTION_SERVER_PORT"]) == ports.actions[0]
    assert int(services["webapp"]["environment"]["WEBAPP_PORT"]) == ports.webapp
    nginx = services["nginx"]["environment"]
    assert [port_of(nginx[f"RASA_{i}_ADDR"]) for i in (1, 2)] == [ports.rasa[0]] * 2
    assert port_of(nginx["WEBAPP_ADDR"]) == ports.webapp
    assert services["nginx"]["ports"] == [f"127.0.0.1:{ports.nginx}:{nginx['NGINX_LISTEN']}"]


def test_dockerfile_ports_match_the_cluster():
    ports = ClusterPorts()
    for name, variable, port in (("rasa", "RASA_PORT", ports.rasa[0]),
                                 ("actions", "ACTION_SERVER_PORT", ports.actions[0]),
                                 ("webapp", "WEBAPP_PORT", ports.webapp)):
        assert int(dockerfile_env(name)[variable]) == port, name
        assert f"\nEXPOSE {port}\n" in dockerfile(name), name
    assert port_of(dockerfile_env("rasa")["ACTION_ENDPOINT_URL"]) == ports.actions[0]


def test_helm_ports_match_the_cluster():
    ports = ClusterPorts()
    rasa, actions = helm("rasa"), helm("rasa-action-server")
    assert rasa["applicationSettings"]["port"] == ports.rasa[0]
    assert rasa["args"][rasa["args"].index("--port") + 1] == str(ports.rasa[0])
    assert actions["applicationSettings"]["port"] == ports.actions[0]
    assert actions["service"]["port"] == ports.actions[0]
    action_url = rasa["rasa-action-server"]["external"]["url"]
    assert urlparse(action_url).hostname == actions["fullnameOverride"]
    assert port_of(action_url) == ports.actions[0]


def project_sources() -> str:
    """Everything that reads environment variables: code, endpoints, scripts, Dockerfiles."""
    paths: List[Path] = [PROJECT_ROOT / "endpoints.yml", PROJECT_ROOT / "credentials.yml",
                         *DOCKER.glob("Dockerfile.*"), *(PROJECT_ROOT / "scripts").glob("*.sh")]
    for package in CODE_PACKAGES:
        paths += (PROJECT_ROOT / package).rglob("*.py")
    # The cluster sets the variables; it does not count as reading them.
    paths.remove(PROJECT_ROOT / "local" / "cluster.py")
    return "\n".join(path.read_text() for path in paths)


def test_every_variable_compose_and_helm_set_is_read_by_the_project(compose):
    sources = project_sources()
    names = {name for service, spec in compose["services"].items()
             if service not in THIRD_PARTY for name in spec.get("environment", {})}
    for values in (helm("rasa"), helm("rasa-action-server")):
        names |= {entry["name"] for entry in values["extraEnv"]}
    # The contract with the lead's stores and the web app; a typo here is a silent default.
    assert {"TRACKER_DB_URL", "REDIS_URL", "ACTION_ENDPOINT_URL", "ESCALATION_DB_URL",
            "RASA_API_TOKEN", "RASA_CORS_ORIGINS"} <= names
    for name in sorted(names):
        assert re.search(rf"\b{name}\b", sources), f"{name} is set but nothing reads it"


def test_nginx_template_variables_match_compose_and_the_cluster(compose):
    placeholders = set(PLACEHOLDER.findall(NGINX_TEMPLATE.read_text()))
    assert set(compose["services"]["nginx"]["environment"]) == placeholders
    values = {name: "1" for name in placeholders}
    assert "${" not in render_nginx_conf(NGINX_TEMPLATE.read_text(), values)
    with pytest.raises(KeyError):
        render_nginx_conf("listen ${UNKNOWN};", values)
    # nginx's own variables are not placeholders.
    assert "$binary_remote_addr" in render_nginx_conf(NGINX_TEMPLATE.read_text(), values)


def test_helm_overrides_the_unsafe_chart_defaults():
    settings = helm("rasa")["applicationSettings"]
    assert settings["enableAPI"] is False
    assert "rasaToken" not in (DEPLOY / "helm" / "rasa-values.yaml").read_text()
    assert settings["cors"] not in ("*", "") and "*" not in helm("rasa")["args"]
    assert settings["initialModel"] == ""
    assert settings["endpoints"]["lockStore"]["enabled"] is True
    assert settings["endpoints"]["lockStore"]["type"] == "stores.locks.ClinicLockStore"
    assert settings["endpoints"]["trackerStore"]["enabled"] is True
    assert settings["endpoints"]["trackerStore"]["type"] == (
        "stores.tracker.ClinicTrackerStore")
    assert settings["telemetry"]["enabled"] is False
    assert "--enable-api" not in helm("rasa")["args"]


def test_dockerfiles_copy_what_exists():
    generated = ("models/", "build/")  # made by `make train` before building the images
    for name in ("rasa", "actions", "webapp"):
        for line in dockerfile(name).splitlines():
            if line.startswith("COPY ") and "--from=" not in line:  # not another stage's
                sources = [s for s in line.split()[1:-1] if not s.startswith("--")]
                for source in sources:
                    if not source.startswith(generated):
                        assert (PROJECT_ROOT / source).exists(), f"Dockerfile.{name}: {source}"


def without_nulls(values: Dict) -> Dict:
    # Helm deletes a chart default set to null; `enabled` is the chart's switch, not Rasa's.
    return {k: v for k, v in values.items() if v is not None and k != "enabled"}


def test_helm_generated_endpoints_and_credentials_repeat_the_project_files():
    # The chart mounts files generated from these values over the image's own.
    endpoints = yaml.safe_load((PROJECT_ROOT / "endpoints.yml").read_text())
    credentials = yaml.safe_load((PROJECT_ROOT / "credentials.yml").read_text())
    settings = helm("rasa")["applicationSettings"]
    assert without_nulls(settings["endpoints"]["trackerStore"]) == endpoints["tracker_store"]
    assert without_nulls(settings["endpoints"]["lockStore"]) == endpoints["lock_store"]
    # All but the REST channel, which is not served publicly by default.
    rest = "channels.rest.ClinicRestInput"
    assert settings["credentials"]["additionalChannelCredentials"] == {
        name: value for name, value in credentials.items() if name != rest}

# ---------------------------------------------------------------- what each image must contain
# The project's top-level packages: directories at the root with an __init__.py (tests aside).
PROJECT_PACKAGES = frozenset(
    path.name for path in PROJECT_ROOT.iterdir()
    if (path / "__init__.py").is_file() and path.name != "tests"
)


def test_the_one_list_of_code_packages_names_every_package():
    # Lint, the warning filters and these walks read clinic.paths.CODE_PACKAGES.
    assert set(CODE_PACKAGES) == PROJECT_PACKAGES


def _module_file(name: str, roots: Dict[str, Path]) -> Optional[Path]:
    """The source file of module `name` under the directory that holds its top-level package."""
    base = roots.get(name.split(".")[0])
    if base is None:
        return None
    path = base.joinpath(*name.split("."))
    for candidate in (path.with_suffix(".py"), path / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def imported_project_packages(entries: Iterable[str], frameworks: Iterable[str] = ()) -> Set[str]:
    """The project's top-level packages that importing `entries` loads, transitively.

    Follows every import statement (also those inside functions) through the project's modules
    and through the `frameworks` packages (the server that imports project code by name).
    """
    roots = {name: PROJECT_ROOT for name in PROJECT_PACKAGES}
    for framework in frameworks:
        roots[framework] = Path(importlib.util.find_spec(framework).origin).parent.parent
    seen: Set[str] = set()
    todo = list(entries)
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        path = _module_file(name, roots)
        if path is None:
            continue
        parts = name.split(".")
        todo += [".".join(parts[:i]) for i in range(1, len(parts))]  # parents run first
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                todo += [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                module = node.module or ""
                if node.level:
                    base = package.rsplit(".", node.level - 1)[0]
                    module = f"{base}.{module}" if module else base
                # `from package import module` imports a module too.
                todo += [module, *(f"{module}.{alias.name}" for alias in node.names)]
    return {name.split(".")[0] for name in seen} & PROJECT_PACKAGES


def _class_module(path: str) -> Optional[str]:
    return path.rpartition(".")[0] if "." in path else None


def rasa_server_entries() -> List[str]:
    """Project modules the Rasa server loads by name: config.yml, endpoints.yml,
    credentials.yml, and channels.credentials (run before it, as scripts/run_services.sh does)."""
    config = yaml.safe_load((PROJECT_ROOT / "config.yml").read_text())
    endpoints = yaml.safe_load((PROJECT_ROOT / "endpoints.yml").read_text())
    credentials = yaml.safe_load((PROJECT_ROOT / "credentials.yml").read_text())
    names = [item["name"] for item in config.get("pipeline", []) + config.get("policies", [])]
    names += [spec["type"] for spec in endpoints.values()
              if isinstance(spec, dict) and "type" in spec]
    names += list(credentials)
    return [m for m in map(_class_module, names) if m] + ["channels.credentials"]


def action_server_entries() -> List[str]:
    """rasa-sdk's entry point and every module of the actions package (it imports them all)."""
    modules = [
        "actions." + ".".join(path.relative_to(PROJECT_ROOT / "actions").with_suffix("").parts)
        for path in (PROJECT_ROOT / "actions").rglob("*.py")
    ]
    return ["rasa_sdk.__main__", *(m.removesuffix(".__init__") for m in modules)]


def copied_packages(name: str) -> Set[str]:
    """Top-level directories the Dockerfile copies from the build context into the image."""
    copied: Set[str] = set()
    for line in dockerfile(name).splitlines():
        if line.startswith("COPY ") and "--from=" not in line:
            sources = [s for s in line.split()[1:-1] if not s.startswith("--")]
            copied |= {s.rstrip("/").split("/")[0] for s in sources}
    return copied


def test_the_import_walk_follows_frameworks_and_relative_imports():
    # rasa-sdk loads the plugin package itself (rasa_sdk/plugin.py imports it by name).
    assert "rasa_sdk_plugins" in imported_project_packages(["rasa_sdk.__main__"], ["rasa_sdk"])
    assert imported_project_packages(["rasa_sdk.__main__"]) == set()
    # rasa_sdk_plugins imports safety (log redaction).
    assert imported_project_packages(["rasa_sdk_plugins"]) == {"rasa_sdk_plugins", "safety"}


@pytest.mark.parametrize("image, entries, frameworks", [
    ("rasa", rasa_server_entries(), ()),
    ("actions", action_server_entries(), ("rasa_sdk",)),
    ("webapp", ["webapp.__main__"], ()),
])
def test_every_image_holds_the_packages_its_service_loads(image, entries, frameworks):
    # Without rasa_sdk_plugins the action server ran without its request checks and log
    # redaction, and rasa-sdk's error handler sent the tracker back to Rasa, which logged it.
    loaded = imported_project_packages(entries, frameworks)
    missing = loaded - copied_packages(image)
    assert not missing, f"Dockerfile.{image} lacks {sorted(missing)}, which its service loads"


def test_rest_channel_is_not_public_by_default(compose):
    # A REST client names its own conversation: the entry points route it only when asked.
    assert compose["services"]["nginx"]["environment"]["REST_CHANNEL_PUBLIC"] == (
        "${REST_CHANNEL_PUBLIC:-off}")
    assert "channels.rest.ClinicRestInput" not in (
        helm("rasa")["applicationSettings"]["credentials"]["additionalChannelCredentials"])
    conf = render_nginx_conf(NGINX_TEMPLATE.read_text(), {
        name: "off" if name == "REST_CHANNEL_PUBLIC" else "1"
        for name in PLACEHOLDER.findall(NGINX_TEMPLATE.read_text())})
    # Only "on" opens it (tests/integration/test_nginx_routing.py runs nginx on both).
    assert re.search(r'map "off" \$clinic_rest_closed \{\s*default 1;\s*on\s+0;', conf)


def test_deployments_serve_signed_texts_only(compose):
    # `make run` serves every text (the default); production only what a clinician signed.
    assert compose["services"]["actions-1"]["environment"]["CONTENT_POLICY"] == "signed"
    assert compose["services"]["actions-2"]["environment"]["CONTENT_POLICY"] == "signed"
    assert {"name": "CONTENT_POLICY", "value": "signed"} in helm("rasa-action-server")["extraEnv"]
    assert "CONTENT_POLICY" in PRODUCTION_ENV
