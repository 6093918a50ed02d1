"""The TF Serving manifests of a deploy: resources asked only when given."""

from __future__ import annotations

import json
from pathlib import Path

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


def test_serving_pods_are_placed_like_the_targets_job_pods() -> None:
    from jupyter_mlplat.config import KubernetesTarget
    from jupyter_mlplat.models.deploy import placed

    target = KubernetesTarget(
        name="kube-node", kind="kubernetes", node_selector={"mlplat.io/node": "real"},
        tolerations=[{"key": "mlplat.io/dedicated", "operator": "Exists"}],
        pod_template={"spec": {"hostNetwork": True,
                               "containers": [{"name": "main", "env": [
                                   {"name": "HTTP_PROXY", "value": "http://proxy:3128"}]}]}})
    spec = ServingSpec(model="alice/churn", namespace="ml-alice", base_path="/store/alice/churn",
                       image="serving/folder:1")
    deployment, service = placed(render(spec), target)
    pod = deployment["spec"]["template"]["spec"]
    assert pod["nodeSelector"] == {"mlplat.io/node": "real"}
    assert pod["tolerations"] == [{"key": "mlplat.io/dedicated", "operator": "Exists"}]
    assert pod["hostNetwork"] is True
    assert [c["name"] for c in pod["containers"]] == ["tensorflow-serving"]
    assert pod["containers"][0]["env"] == [{"name": "HTTP_PROXY", "value": "http://proxy:3128"}]
    assert service == render(spec)[1]


def test_folder_serving_answers_tf_servings_status_api(tmp_path: Path) -> None:
    import threading
    import urllib.error
    import urllib.request

    from jupyter_mlplat.models.folder_serving import FolderServer

    base = tmp_path / "churn"
    base.mkdir()
    server = FolderServer(0, "churn", base)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}/v1/models/churn"

    def get(path: str = "") -> tuple[int, bytes]:
        try:
            with urllib.request.urlopen(url + path, timeout=5) as resp:
                return resp.status, resp.read()
        except urllib.error.HTTPError as err:
            return err.code, err.read()

    try:
        status, body = get()
        assert status == 404 and b"Could not find any versions" in body  # not ready yet
        for version, text in ((1, "w1"), (2, "w2")):
            (base / str(version)).mkdir()
            (base / str(version) / "weights.txt").write_text(text)
        status, body = get()
        assert status == 200 and json.loads(body)["model_version_status"] == [
            {"version": "2", "state": "AVAILABLE",
             "status": {"error_code": "OK", "error_message": ""}}]
        status, body = get("/metadata")
        assert json.loads(body)["metadata"]["files"] == [{"path": "weights.txt", "size": 2}]
        assert get("/versions/1/files/weights.txt") == (200, b"w1")
        assert get("/versions/1/files/../2/weights.txt")[0] == 404
        request = urllib.request.Request(url + ":predict", data=b"{}", method="POST")
        try:
            urllib.request.urlopen(request, timeout=5)
        except urllib.error.HTTPError as err:
            assert err.code == 501
    finally:
        server.shutdown()
        server.server_close()
