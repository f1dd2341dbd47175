"""deploy/: the files parse, name this code location and sensor, and use only keys the tools know.

Kubernetes is not available here, so nothing is installed: the Helm values are checked against the key names of
the dagster/dagster chart (its values schema), the instance files against Dagster's own instance schema, and the
Dockerfile and the Job for what the deployment relies on.
"""

from __future__ import annotations

import re
import shutil
import tomllib
from pathlib import Path

import pytest
import yaml
from dagster._core.instance.config import dagster_instance_config

from migu_assets.definitions import defs

ROOT = Path(__file__).resolve().parents[1]
DEPLOY = ROOT / "deploy"
SECRET = "migu-warehouse"
SENSOR = "major_violation_sensor"

# Top-level keys of the dagster/dagster chart's values (helm/dagster/schema/.../values.py, DagsterHelmValues) and
# the daemon's (subschema/daemon.py): a misspelt key would be silently ignored by Helm.
CHART_KEYS = {
    "global", "nameOverride", "fullnameOverride", "rbacEnabled", "imagePullSecrets", "dagsterWebserver",
    "dagster-user-deployments", "postgresql", "generatePostgresqlPasswordSecret", "generateCeleryConfigSecret",
    "rabbitmq", "redis", "flower", "ingress", "computeLogManager", "scheduler", "runLauncher", "pythonLogs",
    "dagsterDaemon", "busybox", "migrate", "telemetry", "serviceAccount", "retention", "concurrency",
    "additionalInstanceConfig",
}  # fmt: skip
DAEMON_KEYS = {
    "enabled", "image", "runCoordinator", "heartbeatTolerance", "env", "envConfigMaps", "envSecrets",
    "deploymentLabels", "labels", "nodeSelector", "affinity", "tolerations", "podSecurityContext",
    "securityContext", "resources", "livenessProbe", "readinessProbe", "startupProbe", "annotations",
    "runMonitoring", "runRetries", "sensors", "schedules", "schedulerName", "volumeMounts", "volumes",
}  # fmt: skip
K8S_LAUNCHER_KEYS = {
    "image", "imagePullPolicy", "jobNamespace", "loadInclusterConfig", "kubeconfigFile", "envConfigMaps",
    "envSecrets", "envVars", "volumeMounts", "volumes", "labels", "failPodOnRunFailure", "resources",
    "schedulerName", "securityContext", "runK8sConfig",
}  # fmt: skip
POSTGRESQL_KEYS = {
    "postgresqlScheme", "image", "enabled", "postgresqlHost", "postgresqlUsername", "postgresqlPassword",
    "postgresqlDatabase", "postgresqlParams", "service",
}  # fmt: skip


def _yaml_files() -> list[Path]:
    return sorted(DEPLOY.rglob("*.yaml"))


def _load(path: Path):
    return yaml.safe_load(path.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def values() -> dict:
    return _load(DEPLOY / "helm" / "values.yaml")


def test_every_yaml_file_parses():
    files = _yaml_files()
    assert {p.relative_to(DEPLOY).as_posix() for p in files} >= {
        "dagster.yaml",
        "helm/values.yaml",
        "k8s/dagster-instance.yaml",
        "k8s/migu-init-job.yaml",
    }
    for path in files:
        assert isinstance(_load(path), dict), path


def test_helm_values_use_only_chart_keys(values):
    assert set(values) <= CHART_KEYS, set(values) - CHART_KEYS
    assert set(values["dagsterDaemon"]) <= DAEMON_KEYS, set(values["dagsterDaemon"]) - DAEMON_KEYS
    assert set(values["postgresql"]) <= POSTGRESQL_KEYS, set(values["postgresql"]) - POSTGRESQL_KEYS
    launcher = values["runLauncher"]["config"]["k8sRunLauncher"]
    assert set(launcher) <= K8S_LAUNCHER_KEYS, set(launcher) - K8S_LAUNCHER_KEYS


def test_helm_values_deploy_this_code_location_with_k8s_runs_and_one_daemon(values):
    user = values["dagster-user-deployments"]
    assert user["enabled"] and user["enableSubchart"]
    (deployment,) = user["deployments"]
    assert deployment["dagsterApiGrpcArgs"] == ["-m", "migu_assets.definitions"]
    assert deployment["image"]["tag"] not in ("", "latest")
    assert {"name": SECRET} in deployment["envSecrets"]  # the sensor reads the warehouse in this server

    assert values["runLauncher"]["type"] == "K8sRunLauncher"
    assert {"name": SECRET} in values["runLauncher"]["config"]["k8sRunLauncher"]["envSecrets"]

    daemon = values["dagsterDaemon"]
    assert daemon["enabled"] and daemon["runCoordinator"]["type"] == "QueuedRunCoordinator"
    assert values["scheduler"]["type"] == "DagsterDaemonScheduler"
    limits = daemon["runCoordinator"]["config"]["queuedRunCoordinator"]["tagConcurrencyLimits"]
    assert {"key": "dagster/sensor_name", "value": SENSOR, "limit": 1} in limits

    pg = values["postgresql"]
    assert pg["postgresqlScheme"] == "postgresql+psycopg2"  # SQLAlchemy 2.1 would pick psycopg 3 otherwise
    assert pg["postgresqlHost"] and pg["postgresqlDatabase"] and not pg["postgresqlPassword"]
    assert values["generatePostgresqlPasswordSecret"] is False
    assert values["telemetry"]["enabled"] is False


def test_the_names_in_deploy_match_the_code_location():
    assert SENSOR in {sensor.name for sensor in defs.sensors}
    for path in [DEPLOY / "dagster.yaml", DEPLOY / "k8s" / "dagster-instance.yaml"]:
        assert f"value: {SENSOR}" in path.read_text(encoding="utf-8"), path


@pytest.mark.parametrize("name", ["dagster.yaml", "k8s/dagster-instance.yaml"])
def test_instance_files_pass_dagsters_instance_schema(name, tmp_path):
    shutil.copy(DEPLOY / name, tmp_path / "dagster.yaml")
    config, custom_class = dagster_instance_config(str(tmp_path))
    assert custom_class is None
    storage = config["storage"]
    # deploy/dagster.yaml: dagster-postgres' storage with its connections pooled (migu_assets.instance); the Helm
    # chart renders its own `storage: postgres:` block for Kubernetes
    db = storage["custom"]["config"]["postgres_db"] if "custom" in storage else storage["postgres"]["postgres_db"]
    assert db["scheme"] == "postgresql+psycopg2"
    assert config["telemetry"]["enabled"] is False


def test_k8s_instance_launches_runs_as_jobs_with_the_warehouse_secret():
    config = _load(DEPLOY / "k8s" / "dagster-instance.yaml")
    launcher = config["run_launcher"]
    assert (launcher["module"], launcher["class"]) == ("dagster_k8s", "K8sRunLauncher")
    assert SECRET in launcher["config"]["env_secrets"]
    assert config["scheduler"]["class"] == "DagsterDaemonScheduler"


def test_dockerfile_builds_the_package_with_the_pinned_dagster_family():
    text = (DEPLOY / "Dockerfile").read_text(encoding="utf-8")
    assert re.search(r"^FROM python:3\.11-slim$", text, re.M)
    assert re.search(r"pip install \. ", text)
    pins = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["dependencies"]
    postgres_pin = next(p for p in pins if p.startswith("dagster-postgres=="))
    k8s = re.search(r'"dagster-k8s==([^"]+)"', text)
    assert k8s and k8s.group(1) == postgres_pin.split("==")[1]  # libraries share one version line
    assert '"-m", "migu_assets.definitions"' in text
    ignore = (DEPLOY / "Dockerfile.dockerignore").read_text(encoding="utf-8")
    for needed in ("!pyproject.toml", "!README.md", "!migu_assets/"):
        assert needed in ignore


def test_schema_job_runs_init_with_the_warehouse_secret():
    job = _load(DEPLOY / "k8s" / "migu-init-job.yaml")
    assert (job["apiVersion"], job["kind"]) == ("batch/v1", "Job")
    (container,) = job["spec"]["template"]["spec"]["containers"]
    assert container["command"] == ["migu-assets", "init"]
    assert {"secretRef": {"name": SECRET}} in container["envFrom"]


def test_readme_explains_the_deployment_and_says_kubernetes_was_not_run_here():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "## Beyond one machine" in readme
    guide = (DEPLOY / "README.md").read_text(encoding="utf-8")
    for text in (readme, guide):
        assert "helm repo add dagster https://dagster-io.github.io/helm" in text
        assert "helm upgrade --install" in text
    assert "not been run on a Kubernetes cluster" in guide


# ---------------------------------------------------------------- retries and the reports volume (issue 15)
def test_run_retries_and_monitoring_are_on_everywhere(values, tmp_path):
    for name in ("dagster.yaml", "k8s/dagster-instance.yaml"):
        shutil.copy(DEPLOY / name, tmp_path / "dagster.yaml")
        config, _ = dagster_instance_config(str(tmp_path))
        assert config["run_retries"]["enabled"] and config["run_retries"]["max_retries"] >= 1, name
        assert config["run_retries"]["retry_on_asset_or_op_failure"] is False, name  # steps retry themselves
        assert config["run_monitoring"]["enabled"], name
    daemon = values["dagsterDaemon"]
    assert set(daemon["runRetries"]) <= {"enabled", "maxRetries", "retryOnAssetOrOpFailure"}
    assert daemon["runRetries"]["enabled"] and daemon["runRetries"]["maxRetries"] >= 1
    assert daemon["runRetries"]["retryOnAssetOrOpFailure"] is False
    assert daemon["runMonitoring"]["enabled"]


def test_workbooks_go_to_a_persistent_volume_in_every_run(values):
    launcher = values["runLauncher"]["config"]["k8sRunLauncher"]
    (volume,) = launcher["volumes"]
    claim = volume["persistentVolumeClaim"]["claimName"]
    (mount,) = launcher["volumeMounts"]
    assert mount["name"] == volume["name"] and f"MIGU_REPORTS_DIR={mount['mountPath']}" in launcher["envVars"]
    (deployment,) = values["dagster-user-deployments"]["deployments"]
    assert deployment["env"]["MIGU_REPORTS_DIR"] == mount["mountPath"]
    pvc = _load(DEPLOY / "k8s" / "migu-reports-pvc.yaml")
    assert (pvc["kind"], pvc["metadata"]["name"]) == ("PersistentVolumeClaim", claim)
    assert pvc["spec"]["accessModes"] == ["ReadWriteMany"]  # runs land on any node


def test_reports_dir_follows_migu_reports_dir(monkeypatch, tmp_path):
    import datetime as dt

    from migu_assets.report import default_report_path

    monkeypatch.setenv("MIGU_REPORTS_DIR", str(tmp_path / "reports"))
    assert default_report_path(dt.date(2024, 3, 1)) == tmp_path / "reports" / "migu-report-2024-03.xlsx"
