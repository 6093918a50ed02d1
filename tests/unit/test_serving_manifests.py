"""The TF Serving manifests of a deploy: resources asked only when given."""

from __future__ import annotations

from jupyter_mlplat.models.serving import ServingSpec, render


def serving_container(spec: ServingSpec) -> dict:
    deployment, _service = render(spec)
    containers = deployment["spec"]["template"]["spec"]["containers"]
    return next(c for c in containers if c["name"] == "tensorflow-serving")


def test_resources_of_a_serving_replica() -> None:
    base = dict(model="alice/churn", namespace="ml-alice", base_path="/store/alice/churn",
                image="tensorflow/serving:2.14.1")
    assert "resources" not in serving_container(ServingSpec(**base))  # type: ignore[arg-type]
    sized = serving_container(ServingSpec(**base, cpu="500m", memory="1Gi", gpu=1))  # type: ignore[arg-type]
    assert sized["resources"] == {"requests": {"cpu": "500m", "memory": "1Gi"},
                                  "limits": {"nvidia.com/gpu": "1"}}
