"""deploy/k8s/ is valid Kubernetes and agrees with the code: workers, settings, topics, groups.

The core manifests are checked against the Kubernetes OpenAPI schemas shipped in
``kubernetes-validate`` (strict: an unknown or misspelt field fails). That package knows no
custom resources, so KEDA's ``ScaledObject`` (keda.sh/v1alpha1) gets a structural test here
instead: its required fields, and consumer groups and topics computed from the code
(``<topic_prefix><stage name>``, ``pipeline.config.TOPICS``, each stage's ``inputs``), so a
renamed topic or a new input breaks this test rather than the autoscaling.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

from pipeline.config import ENV_PREFIX, TOPICS, Settings
from pipeline.workers import WORKER_NAMES, stage_class
from tests.conftest import REPO

K8S = REPO / "deploy" / "k8s"
NAMESPACE = "hemicycle"
IMAGE = "hemicycle:latest"
CUSTOM_API_GROUPS = ("keda.sh/",)  # not in kubernetes-validate's schemas: checked structurally
# Oldest Kubernetes we claim to support, and the newest the installed validator ships.
KUBERNETES_VERSIONS = ("1.30.0", kubernetes_validate.utils.latest_version())
GPU_WORKERS = {"translator", "scorer"}
# Expected inputs of stages not registered yet (pipeline.workers._STAGES); once one is, its
# class's own ``inputs`` are used instead.
PLANNED_INPUTS: dict[str, tuple[str, ...]] = {"delivery": ("outcomes", "translated")}
WORKERS = tuple(dict.fromkeys([*WORKER_NAMES, *PLANNED_INPUTS]))


def manifest_files() -> list[Path]:
    return sorted(p for p in K8S.glob("*.yaml") if p.name != "kustomization.yaml")


def load_all() -> list[dict[str, Any]]:
    docs: list[dict[str, Any]] = []
    for path in manifest_files():
        docs.extend(doc for doc in yaml.safe_load_all(path.read_text()) if doc)
    return docs


RESOURCES = load_all()


def of_kind(kind: str) -> dict[str, dict[str, Any]]:
    return {r["metadata"]["name"]: r for r in RESOURCES if r["kind"] == kind}


def core_resources() -> Iterator[dict[str, Any]]:
    for resource in RESOURCES:
        if not resource["apiVersion"].startswith(CUSTOM_API_GROUPS):
            yield resource


def stage_inputs(worker: str) -> tuple[str, ...]:
    try:
        return stage_class(worker).inputs
    except ValueError:  # not registered yet
        return PLANNED_INPUTS[worker]


def container(deployment: dict[str, Any]) -> dict[str, Any]:
    containers = deployment["spec"]["template"]["spec"]["containers"]
    assert len(containers) == 1
    return containers[0]


def port_number(main: dict[str, Any], port: int | str) -> int:
    if isinstance(port, int):
        return port
    return next(p["containerPort"] for p in main["ports"] if p["name"] == port)


@pytest.fixture(scope="module")
def config() -> dict[str, str]:
    return of_kind("ConfigMap")["hemicycle-config"]["data"]


@pytest.fixture(scope="module")
def secret() -> dict[str, str]:
    return of_kind("Secret")["hemicycle-secrets"]["stringData"]


def test_kustomization_lists_every_manifest() -> None:
    kustomization = yaml.safe_load((K8S / "kustomization.yaml").read_text())
    assert kustomization["namespace"] == NAMESPACE
    assert sorted(kustomization["resources"]) == sorted(p.name for p in manifest_files())


def test_the_kustomize_image_override_reaches_every_container() -> None:
    """kustomize's ``images`` entry rewrites containers whose image is named ``hemicycle``:
    every Hemicycle container must use that name, or it would escape the override."""
    kustomization = yaml.safe_load((K8S / "kustomization.yaml").read_text())
    names = {entry["name"] for entry in kustomization["images"]}
    containers = [
        c
        for resource in RESOURCES
        if resource["kind"] == "Deployment"
        for c in resource["spec"]["template"]["spec"]["containers"]
    ]
    assert len(containers) >= 6
    assert {c["image"].split(":")[0] for c in containers} <= names


@pytest.mark.parametrize("version", KUBERNETES_VERSIONS)
def test_core_manifests_are_valid_kubernetes_strictly(version: str) -> None:
    checked = 0
    for resource in core_resources():
        name = f"{resource['kind']}/{resource['metadata']['name']}"
        try:
            kubernetes_validate.validate(resource, version, strict=True)
        except kubernetes_validate.ValidationError as exc:
            path = ".".join(str(p) for p in exc.path)
            pytest.fail(f"{name} is not valid Kubernetes {version}: {path}: {exc.message}")
        checked += 1
    assert checked >= 10


def test_everything_lives_in_the_namespace() -> None:
    assert set(of_kind("Namespace")) == {NAMESPACE}
    for resource in RESOURCES:
        if resource["kind"] != "Namespace":
            assert resource["metadata"]["namespace"] == NAMESPACE, resource["metadata"]["name"]


def test_configmap_and_secret_hold_only_real_settings_that_load(
    config: dict[str, str], secret: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    fields = set(Settings.model_fields)
    for key in [*config, *secret]:
        assert key.startswith(ENV_PREFIX), key
        assert key.removeprefix(ENV_PREFIX).lower() in fields, f"{key} is no setting"
    assert set(secret) == {
        "HEMICYCLE_REDIS_URL",
        "HEMICYCLE_KAFKA_SASL_PASSWORD",
        "HEMICYCLE_CORAL_SECRET",
    }
    assert all("REPLACE_ME" in value for value in secret.values()), "real secrets in git?"
    for key in list(__import__("os").environ):
        if key.startswith(ENV_PREFIX):
            monkeypatch.delenv(key)
    for key, value in {**config, **secret}.items():
        monkeypatch.setenv(key, value)
    settings = Settings()  # every value has the right type and passes validation
    assert (settings.bus, settings.store) == ("kafka", "redis")
    assert settings.partitions == 12
    assert settings.metrics_port == 9400
    assert (settings.http_host, settings.http_port) == ("0.0.0.0", 8080)
    assert len(settings.target_languages) == 24
    for path in (settings.models_dir, settings.toxicity_checkpoint, settings.toxicity_config_dir):
        assert path is not None and path.is_relative_to("/models")


def test_every_worker_has_a_deployment_run_as_the_image_expects(config: dict[str, str]) -> None:
    deployments = of_kind("Deployment")
    assert set(deployments) == {f"hemicycle-{w}" for w in WORKERS} | {"hemicycle-api"}
    metrics_port = int(config["HEMICYCLE_METRICS_PORT"])
    dockerfile = (REPO / "deploy" / "Dockerfile").read_text()
    assert 'ENTRYPOINT ["hemicycle"]' in dockerfile  # so `args` are the subcommand
    for worker in WORKERS:
        deployment = deployments[f"hemicycle-{worker}"]
        spec = deployment["spec"]
        pod = spec["template"]["spec"]
        main = container(deployment)
        assert main["image"] == IMAGE
        assert main["args"] == ["run", "--worker", worker]
        assert "replicas" not in spec, "KEDA sets the replicas: apply must not reset them"
        assert (
            spec["selector"]["matchLabels"].items()
            <= spec["template"]["metadata"]["labels"].items()
        )
        assert pod["terminationGracePeriodSeconds"] == 60
        assert pod["securityContext"]["runAsNonRoot"] is True
        assert isinstance(pod["securityContext"]["runAsUser"], int)  # verifiable non-root
        assert main["securityContext"]["allowPrivilegeEscalation"] is False
        assert {"cpu", "memory"} <= main["resources"]["requests"].keys()
        assert {"cpu", "memory"} <= main["resources"]["limits"].keys()
        for probe, path in (("livenessProbe", "/healthz"), ("readinessProbe", "/readyz")):
            get = main[probe]["httpGet"]
            assert get["path"] == path
            assert port_number(main, get["port"]) == metrics_port
        annotations = spec["template"]["metadata"]["annotations"]
        assert annotations["prometheus.io/scrape"] == "true"
        assert annotations["prometheus.io/port"] == str(metrics_port)
        assert {"configMapRef": {"name": "hemicycle-config"}} in main["envFrom"]


def test_gpu_workers_get_a_gpu_node_and_the_models_read_only() -> None:
    deployments = of_kind("Deployment")
    claims = of_kind("PersistentVolumeClaim")
    assert "hemicycle-models" in claims
    for worker in WORKERS:
        deployment = deployments[f"hemicycle-{worker}"]
        pod = deployment["spec"]["template"]["spec"]
        main = container(deployment)
        gpus = main["resources"]["limits"].get("nvidia.com/gpu")
        if worker not in GPU_WORKERS:
            assert gpus is None and "nodeSelector" not in pod, worker
            continue
        assert gpus == 1
        assert pod["nodeSelector"] == {"nvidia.com/gpu.present": "true"}
        assert {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"} in pod[
            "tolerations"
        ]
        volumes = {v["name"]: v for v in pod["volumes"]}
        mount = next(m for m in main["volumeMounts"] if m["mountPath"] == "/models")
        assert mount["readOnly"] is True
        claim = volumes[mount["name"]]["persistentVolumeClaim"]
        assert claim == {"claimName": "hemicycle-models", "readOnly": True}
        # A rollout must not need a spare GPU.
        assert deployment["spec"]["strategy"]["rollingUpdate"]["maxSurge"] == 0


def test_env_and_secret_references_resolve(secret: dict[str, str]) -> None:
    fields = set(Settings.model_fields)
    webhooks = of_kind("Secret")["hemicycle-webhooks"]
    for deployment in of_kind("Deployment").values():
        main = container(deployment)
        for env in main.get("env", []):
            if env["name"].startswith(ENV_PREFIX):
                assert env["name"].removeprefix(ENV_PREFIX).lower() in fields, env["name"]
            ref = env.get("valueFrom", {}).get("secretKeyRef")
            if ref:
                assert ref["name"] == "hemicycle-secrets" and ref["key"] in secret
        for volume in deployment["spec"]["template"]["spec"]["volumes"]:
            if "secret" in volume:
                assert volume["secret"]["secretName"] == webhooks["metadata"]["name"]
    delivery = container(of_kind("Deployment")["hemicycle-delivery"])
    env = {e["name"]: e.get("value") for e in delivery["env"]}
    assert env["HEMICYCLE_WEBHOOKS_FILE"] == "/etc/hemicycle/webhooks.toml"
    assert "webhooks.toml" in webhooks["stringData"]


def test_api_serves_two_replicas_behind_a_service(config: dict[str, str]) -> None:
    api = of_kind("Deployment")["hemicycle-api"]
    main = container(api)
    port = int(config["HEMICYCLE_HTTP_PORT"])
    assert main["args"] == ["serve", "--host", "0.0.0.0", "--port", str(port)]
    assert api["spec"]["replicas"] == 2
    for probe in ("livenessProbe", "readinessProbe"):
        assert port_number(main, main[probe]["httpGet"]["port"]) == port
    service = of_kind("Service")["hemicycle-api"]
    labels = api["spec"]["template"]["metadata"]["labels"]
    assert service["spec"]["selector"].items() <= labels.items()
    assert port_number(main, service["spec"]["ports"][0]["targetPort"]) == port


def test_every_deployment_has_a_disruption_budget_selecting_its_pods() -> None:
    budgets = of_kind("PodDisruptionBudget")
    for name, deployment in of_kind("Deployment").items():
        budget = budgets[name]["spec"]
        assert budget.get("minAvailable") == 1 or budget.get("maxUnavailable") == 1, name
        labels = deployment["spec"]["template"]["metadata"]["labels"]
        assert budget["selector"]["matchLabels"].items() <= labels.items()


def test_scaled_objects_scale_each_worker_on_the_lag_of_its_own_inputs(
    config: dict[str, str],
) -> None:
    scaled = of_kind("ScaledObject")
    deployments = of_kind("Deployment")
    prefix = Settings.model_fields["topic_prefix"].default
    assert config["HEMICYCLE_TOPIC_PREFIX"] == prefix
    partitions = int(config["HEMICYCLE_PARTITIONS"])
    assert set(scaled) == {f"hemicycle-{w}" for w in WORKERS}
    for worker in WORKERS:
        obj = scaled[f"hemicycle-{worker}"]
        assert obj["apiVersion"] == "keda.sh/v1alpha1"
        spec = obj["spec"]
        target = spec["scaleTargetRef"]
        assert target.get("kind", "Deployment") == "Deployment"
        assert target["name"] in deployments and target["name"] == f"hemicycle-{worker}"
        assert 1 <= spec["minReplicaCount"] <= spec["maxReplicaCount"] <= partitions
        topics = []
        for trigger in spec["triggers"]:
            assert trigger["type"] == "kafka"
            meta = trigger["metadata"]
            assert meta["bootstrapServers"] == config["HEMICYCLE_KAFKA_BOOTSTRAP_SERVERS"]
            assert meta["consumerGroup"] == f"{prefix}{worker}"  # Runner.group
            assert isinstance(meta["lagThreshold"], str) and int(meta["lagThreshold"]) > 0
            assert meta.get("offsetResetPolicy") == "earliest"  # as the consumers start
            topics.append(meta["topic"])
        expected = [prefix + TOPICS[name] for name in stage_inputs(worker)]
        assert sorted(topics) == sorted(expected), worker
